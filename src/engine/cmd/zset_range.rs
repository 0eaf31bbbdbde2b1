//! Sorted-set ranges: ZRANGE with BYSCORE, BYLEX, REV, LIMIT and WITHSCORES,
//! ZRANGESTORE, the older ZRANGEBYSCORE, ZREVRANGE, ZREVRANGEBYSCORE,
//! ZRANGEBYLEX and ZREVRANGEBYLEX (ZRANGE with some options fixed), the counts
//! ZCOUNT and ZLEXCOUNT, and the removals ZREMRANGEBYRANK, ZREMRANGEBYSCORE
//! and ZREMRANGEBYLEX.
//!
//! Every form goes through [`RangeRequest::parse`], which follows Redis's
//! `zrangeGenericCommand`: options first (so a syntax error wins over a bad
//! bound), then the conflicts, then the bounds, and only then the key. A
//! negative LIMIT offset selects nothing and a negative count means "all", as
//! in Redis.

use bytes::Bytes;

use super::args;
use super::members::{edit_existing, read};
use super::zset::{elements_reply, store};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::zset::{LexBound, Range, ScoreBound, ZSet};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("zrange", zrange),
    ("zrangestore", zrangestore),
    ("zrangebyscore", zrangebyscore),
    ("zrevrange", zrevrange),
    ("zrevrangebyscore", zrevrangebyscore),
    ("zrangebylex", zrangebylex),
    ("zrevrangebylex", zrevrangebylex),
    ("zcount", zcount),
    ("zlexcount", zlexcount),
    ("zremrangebyrank", zremrangebyrank),
    ("zremrangebyscore", zremrangebyscore),
    ("zremrangebylex", zremrangebylex),
];

/// How a range is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// What a command fixes in advance (ZRANGEBYSCORE fixes BYSCORE and the
/// direction, so those keywords are syntax errors there) and whether it stores.
#[derive(Debug, Clone, Copy)]
struct Form {
    by: Option<By>,
    rev: Option<bool>,
    store: bool,
}

impl Form {
    const fn fixed(by: By, rev: bool) -> Form {
        Form {
            by: Some(by),
            rev: Some(rev),
            store: false,
        }
    }
}

/// The two ends of a range, in ascending order whatever the direction.
#[derive(Debug, Clone, PartialEq)]
enum Bounds {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

/// A parsed range request.
#[derive(Debug, Clone, PartialEq)]
struct RangeRequest {
    bounds: Bounds,
    rev: bool,
    /// LIMIT's offset (0 without LIMIT); negative selects nothing.
    offset: i64,
    /// LIMIT's count; negative (and the default) means all.
    count: i64,
    withscores: bool,
}

const LIMIT_NEEDS_SCORE_OR_LEX: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const NO_WITHSCORES_BY_LEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";

impl RangeRequest {
    /// Parses `min max [options…]`, the first bound at `args[at]`.
    fn parse(args: &[Bytes], at: usize, form: Form) -> Result<RangeRequest, CmdError> {
        let (mut by, mut rev) = (form.by, form.rev);
        let (mut limit, mut withscores) = (None, false);
        let mut j = at + 2;
        while let Some(option) = args.get(j) {
            let left = args.len() - j - 1;
            if !form.store && args::is(option, "withscores") {
                withscores = true;
            } else if args::is(option, "limit") && left >= 2 {
                limit = Some((args::int(&args[j + 1])?, args::int(&args[j + 2])?));
                j += 2;
            } else if rev.is_none() && args::is(option, "rev") {
                rev = Some(true);
            } else if by.is_none() && args::is(option, "bylex") {
                by = Some(By::Lex);
            } else if by.is_none() && args::is(option, "byscore") {
                by = Some(By::Score);
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        let (by, rev) = (by.unwrap_or(By::Rank), rev.unwrap_or(false));
        if limit.is_some() && by == By::Rank {
            return Err(CmdError::msg(LIMIT_NEEDS_SCORE_OR_LEX));
        }
        if withscores && by == By::Lex {
            return Err(CmdError::msg(NO_WITHSCORES_BY_LEX));
        }
        let (offset, count) = limit.unwrap_or((0, -1));
        Ok(RangeRequest {
            bounds: Bounds::parse(by, &args[at], &args[at + 1], rev)?,
            rev,
            offset,
            count,
            withscores,
        })
    }

    /// The elements the request selects from `zset`, in reply order.
    fn select<'a>(&self, zset: &'a ZSet) -> Range<'a> {
        let offset = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let count = usize::try_from(self.count).ok();
        match &self.bounds {
            Bounds::Rank(start, stop) => zset.range_by_rank(*start, *stop, self.rev),
            Bounds::Score(min, max) => zset.range_by_score(min, max, self.rev, offset, count),
            Bounds::Lex(min, max) => zset.range_by_lex(min, max, self.rev, offset, count),
        }
    }
}

impl Bounds {
    /// Parses the two bounds; by score or lex, a reverse range gives them as
    /// `max min`.
    fn parse(by: By, first: &Bytes, second: &Bytes, rev: bool) -> Result<Bounds, CmdError> {
        let (min, max) = if rev && by != By::Rank {
            (second, first)
        } else {
            (first, second)
        };
        Ok(match by {
            By::Rank => Bounds::Rank(args::int(min)?, args::int(max)?),
            By::Score => Bounds::Score(ScoreBound::parse(min)?, ScoreBound::parse(max)?),
            By::Lex => Bounds::Lex(LexBound::parse(min)?, LexBound::parse(max)?),
        })
    }
}

/// Runs a range read: `args[1]` is the key, the bounds follow.
fn range_command(cx: &mut Ctx<'_>, args: &[Bytes], form: Form) -> CmdResult {
    let request = RangeRequest::parse(args, 2, form)?;
    let protocol = cx.client.protocol;
    let Some(zset) = read::<ZSet>(cx, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    let elements = request.select(zset).map(|(m, s)| (m.clone(), s));
    Ok(elements_reply(elements, request.withscores, protocol))
}

/// # Format
/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
fn zrange(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let form = Form {
        by: None,
        rev: None,
        store: false,
    };
    range_command(cx, args, form)
}

/// # Format
/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`
///
/// The number of elements stored in dst; dst is deleted when none is.
fn zrangestore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let form = Form {
        by: None,
        rev: None,
        store: true,
    };
    let request = RangeRequest::parse(args, 3, form)?;
    let elements = match read::<ZSet>(cx, &args[2])? {
        Some(zset) => request.select(zset).map(|(m, s)| (m.clone(), s)).collect(),
        None => Vec::new(),
    };
    store(cx, &args[1], elements)
}

/// # Format
/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
fn zrangebyscore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_command(cx, args, Form::fixed(By::Score, false))
}

/// # Format
/// `ZREVRANGE key start stop [WITHSCORES]`
fn zrevrange(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_command(cx, args, Form::fixed(By::Rank, true))
}

/// # Format
/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
fn zrevrangebyscore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_command(cx, args, Form::fixed(By::Score, true))
}

/// # Format
/// `ZRANGEBYLEX key min max [LIMIT offset count]`
fn zrangebylex(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_command(cx, args, Form::fixed(By::Lex, false))
}

/// # Format
/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
fn zrevrangebylex(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_command(cx, args, Form::fixed(By::Lex, true))
}

/// # Format
/// `ZCOUNT key min max`
///
/// The number of elements with scores between min and max.
fn zcount(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (min, max) = (ScoreBound::parse(&args[2])?, ScoreBound::parse(&args[3])?);
    let count = read::<ZSet>(cx, &args[1])?.map_or(0, |z| z.count_in_score(&min, &max));
    Ok(Frame::Integer(count as i64))
}

/// # Format
/// `ZLEXCOUNT key min max`
///
/// The number of elements with members between min and max.
fn zlexcount(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (min, max) = (LexBound::parse(&args[2])?, LexBound::parse(&args[3])?);
    let count = read::<ZSet>(cx, &args[1])?.map_or(0, |z| z.count_in_lex(&min, &max));
    Ok(Frame::Integer(count as i64))
}

/// Removes what `remove` selects from the set at `args[1]`; replies how many went.
fn remove_range(
    cx: &mut Ctx<'_>,
    args: &[Bytes],
    remove: impl FnOnce(&mut ZSet) -> usize,
) -> CmdResult {
    let removed = edit_existing(cx, &args[1], |zset: &mut ZSet, _| Ok(remove(zset)))?.unwrap_or(0);
    if removed == 0 {
        cx.no_change();
    }
    Ok(Frame::Integer(removed as i64))
}

/// # Format
/// `ZREMRANGEBYRANK key start stop`
fn zremrangebyrank(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (args::int(&args[2])?, args::int(&args[3])?);
    remove_range(cx, args, |z| z.remove_range_by_rank(start, stop))
}

/// # Format
/// `ZREMRANGEBYSCORE key min max`
fn zremrangebyscore(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (min, max) = (ScoreBound::parse(&args[2])?, ScoreBound::parse(&args[3])?);
    remove_range(cx, args, |z| z.remove_range_by_score(&min, &max))
}

/// # Format
/// `ZREMRANGEBYLEX key min max`
fn zremrangebylex(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (min, max) = (LexBound::parse(&args[2])?, LexBound::parse(&args[3])?);
    remove_range(cx, args, |z| z.remove_range_by_lex(&min, &max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn zrange_form() -> Form {
        Form {
            by: None,
            rev: None,
            store: false,
        }
    }

    fn parse(line: &str, form: Form) -> Result<RangeRequest, CmdError> {
        RangeRequest::parse(&words(line), 2, form)
    }

    #[test]
    fn options_and_defaults() {
        let r = parse("zrange k 0 -1", zrange_form()).unwrap();
        assert_eq!(
            (r.bounds, r.rev, r.offset, r.count, r.withscores),
            (Bounds::Rank(0, -1), false, 0, -1, false)
        );
        let r = parse(
            "zrange k (5 1 BYSCORE rev limit 1 -2 WithScores",
            zrange_form(),
        )
        .unwrap();
        assert_eq!(
            r.bounds,
            Bounds::Score(ScoreBound::Inclusive(1.0), ScoreBound::Exclusive(5.0))
        );
        assert_eq!(
            (r.rev, r.offset, r.count, r.withscores),
            (true, 1, -2, true)
        );
        let r = parse("zrange k + [a bylex rev", zrange_form()).unwrap();
        assert_eq!(
            r.bounds,
            Bounds::Lex(LexBound::Inclusive(Bytes::from("a")), LexBound::Max)
        );
        // The last LIMIT wins, as in Redis.
        let r = parse("zrange k 0 1 limit 0 1 limit 3 4 byscore", zrange_form()).unwrap();
        assert_eq!((r.offset, r.count), (3, 4));
    }

    #[test]
    fn errors_in_redis_order() {
        let err = |line, form| parse(line, form).unwrap_err().to_string();
        let syntax = "ERR syntax error";
        assert_eq!(err("zrange k 0 1 byscore bylex", zrange_form()), syntax);
        assert_eq!(err("zrange k 0 1 rev rev", zrange_form()), syntax);
        assert_eq!(err("zrange k 0 1 limit 0", zrange_form()), syntax);
        assert_eq!(err("zrange k x 1 foo", zrange_form()), syntax);
        assert_eq!(
            err("zrange k 0 1 limit x 1", zrange_form()),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err("zrange k 0 1 limit 0 1", zrange_form()),
            LIMIT_NEEDS_SCORE_OR_LEX
        );
        assert_eq!(
            err("zrange k - + bylex withscores", zrange_form()),
            NO_WITHSCORES_BY_LEX
        );
        assert_eq!(
            err("zrange k x 1", zrange_form()),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err("zrange k x 1 byscore", zrange_form()),
            "ERR min or max is not a float"
        );
        assert_eq!(
            err("zrange k a b bylex", zrange_form()),
            "ERR min or max not valid string range item"
        );
        assert_eq!(
            err("zrangebyscore k 0 1 rev", Form::fixed(By::Score, false)),
            syntax
        );
        assert_eq!(
            err("zrevrange k 0 1 bylex", Form::fixed(By::Rank, true)),
            syntax
        );
        assert_eq!(
            err("zrevrange k 0 1 limit 0 1", Form::fixed(By::Rank, true)),
            LIMIT_NEEDS_SCORE_OR_LEX
        );
        let store = Form {
            store: true,
            ..zrange_form()
        };
        assert_eq!(err("zrange k 0 1 withscores", store), syntax);
    }
}
