//! Sorted-set commands that pick elements at random or walk a set: ZRANDMEMBER
//! and ZSCAN.
//!
//! ZSCAN returns the whole set in one call, with cursor 0, whatever its
//! encoding. Redis does so for a listpack; for a skiplist it walks its hash
//! table in steps of about COUNT. Our big encoding keeps members in a `HashMap`
//! and a skiplist ordered by score, and neither offers a position that stays
//! valid while elements come and go (a rank shifts when an element before it
//! leaves, which would skip another), so one reply is the only way to keep
//! SCAN's promise that an element present for the whole scan is returned.
//! COUNT is therefore only validated; MATCH filters as usual.

use bytes::{Bytes, BytesMut};

use super::args;
use super::zset::{elements_reply, read_zset};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::glob;
use crate::resp::{format_double, Frame};

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[("zrandmember", zrandmember), ("zscan", zscan)];

/// Most elements a negative ZRANDMEMBER count may ask for. Redis builds a reply
/// of any size the client names and can run out of memory; this bound (about
/// 40 MiB of reply frames) keeps a client from doing that to the process.
const MAX_REPEATED_PICKS: u64 = 1 << 20;

/// What a ZRANDMEMBER count asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Picks {
    /// A count ≥ 0: that many distinct elements at most.
    Distinct(u64),
    /// A count < 0: exactly that many, repeats allowed.
    Repeated(u64),
}

impl Picks {
    /// Parses `[count [WITHSCORES]]`: the picks (None without a count) and
    /// whether WITHSCORES was given.
    fn parse(args: &[Bytes]) -> Result<(Option<Picks>, bool), CmdError> {
        let Some(count) = args.first() else {
            return Ok((None, false));
        };
        let count = args::int(count)?;
        if count == i64::MIN {
            return Err(CmdError::msg(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        let withscores = match &args[1..] {
            [] => false,
            [option] if args::is(option, "withscores") => true,
            _ => return Err(CmdError::Syntax),
        };
        // Redis doubles the count for a flat WITHSCORES reply, so refuses half the range.
        if withscores && count.unsigned_abs() > (i64::MAX / 2) as u64 {
            return Err(CmdError::msg("ERR value is out of range"));
        }
        let picks = if count >= 0 {
            Picks::Distinct(count as u64)
        } else {
            Picks::Repeated(count.unsigned_abs())
        };
        Ok((Some(picks), withscores))
    }
}

/// # Format
/// `ZRANDMEMBER key [count [WITHSCORES]]`
///
/// Without a count: one random member, or null. With a count ≥ 0: that many
/// distinct elements at most; below 0: exactly |count| elements, repeats
/// allowed, in random order.
fn zrandmember(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (picks, withscores) = Picks::parse(&args[2..])?;
    let protocol = cx.client.protocol;
    let zset = read_zset(cx, &args[1])?;
    let mut rng = rand::thread_rng();
    let Some(picks) = picks else {
        let member = zset.and_then(|z| z.random_entry(&mut rng));
        return Ok(member.map_or(Frame::Null, |(m, _)| Frame::Bulk(m.clone())));
    };
    let Some(zset) = zset else {
        return Ok(Frame::Array(Vec::new()));
    };
    let chosen: Vec<(&Bytes, f64)> = match picks {
        Picks::Repeated(n) if n > MAX_REPEATED_PICKS => {
            return Err(CmdError::msg(format!(
                "ERR value is out of range, at most {MAX_REPEATED_PICKS} repeated picks are served"
            )));
        }
        Picks::Repeated(n) => (0..n).filter_map(|_| zset.random_entry(&mut rng)).collect(),
        Picks::Distinct(n) => {
            zset.random_distinct(usize::try_from(n).unwrap_or(usize::MAX), &mut rng)
        }
    };
    let chosen = chosen.into_iter().map(|(m, s)| (m.clone(), s));
    Ok(elements_reply(chosen, withscores, protocol))
}

/// Parses a `*SCAN` cursor as Redis does (`strtoul`): an unsigned decimal with
/// an optional sign, nothing else.
fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::msg("ERR invalid cursor");
    let (negative, digits) = match arg.split_first() {
        None => return Ok(0),
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        Some(_) => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let text = std::str::from_utf8(digits).map_err(|_| invalid())?;
    let value: u64 = text.parse().map_err(|_| invalid())?;
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Parses ZSCAN's `[MATCH pattern] [COUNT count]`, in any order, the last of
/// each winning; returns the pattern (None for none or `*`).
fn parse_scan_options(mut rest: &[Bytes]) -> Result<Option<&Bytes>, CmdError> {
    let mut pattern = None;
    while let [name, value, tail @ ..] = rest {
        if args::is(name, "count") {
            if args::int(value)? < 1 {
                return Err(CmdError::Syntax);
            }
        } else if args::is(name, "match") {
            pattern = (value.as_ref() != b"*").then_some(value);
        } else {
            return Err(CmdError::Syntax);
        }
        rest = tail;
    }
    match rest {
        [] => Ok(pattern),
        _ => Err(CmdError::Syntax),
    }
}

/// A score as Redis writes it into a ZSCAN reply: a bulk string in any protocol.
fn score_text(score: f64) -> Frame {
    let mut text = BytesMut::with_capacity(24);
    format_double(score, &mut text);
    Frame::Bulk(text.freeze())
}

/// # Format
/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// Replies `[next cursor, [member, score, …]]`; the whole set at once with
/// cursor 0 (see the module docs).
fn zscan(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    parse_cursor(&args[2])?;
    let reply = |elements| Frame::Array(vec![Frame::bulk("0"), Frame::Array(elements)]);
    let Some(zset) = read_zset(cx, &args[1])? else {
        return Ok(reply(Vec::new()));
    };
    let pattern = parse_scan_options(&args[3..])?;
    let mut elements = Vec::new();
    for (member, score) in zset.iter() {
        if pattern.is_none_or(|p| glob::matches(p, member, false)) {
            elements.extend([Frame::Bulk(member.clone()), score_text(score)]);
        }
    }
    Ok(reply(elements))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Bytes> {
        line.split_whitespace()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn pick_arguments() {
        assert_eq!(Picks::parse(&[]), Ok((None, false)));
        assert_eq!(
            Picks::parse(&words("3")),
            Ok((Some(Picks::Distinct(3)), false))
        );
        assert_eq!(
            Picks::parse(&words("-3 WithScores")),
            Ok((Some(Picks::Repeated(3)), true))
        );
        assert_eq!(Picks::parse(&words("x")), Err(CmdError::NotInteger));
        assert_eq!(Picks::parse(&words("1 foo")), Err(CmdError::Syntax));
        assert_eq!(
            Picks::parse(&words("1 withscores x")),
            Err(CmdError::Syntax)
        );
        assert!(Picks::parse(&words("-9223372036854775808")).is_err());
        assert!(Picks::parse(&words("-9223372036854775807")).is_ok());
        let out_of_range = Err(CmdError::msg("ERR value is out of range"));
        assert_eq!(
            Picks::parse(&words("4611686018427387904 withscores")),
            out_of_range
        );
        assert_eq!(
            Picks::parse(&words("-4611686018427387904 withscores")),
            out_of_range
        );
        assert!(Picks::parse(&words("4611686018427387903 withscores")).is_ok());
    }

    #[test]
    fn cursors_and_scan_options() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        for bad in [
            &b"x"[..],
            b" 1",
            b"1 ",
            b"18446744073709551616",
            b"-",
            b"1.0",
        ] {
            assert_eq!(
                parse_cursor(bad),
                Err(CmdError::msg("ERR invalid cursor")),
                "{bad:?}"
            );
        }
        let args = words("MATCH a* COUNT 5");
        assert_eq!(parse_scan_options(&args), Ok(Some(&args[1])));
        assert_eq!(parse_scan_options(&words("match *")), Ok(None));
        assert_eq!(parse_scan_options(&words("count 0")), Err(CmdError::Syntax));
        assert_eq!(
            parse_scan_options(&words("count x")),
            Err(CmdError::NotInteger)
        );
        assert_eq!(parse_scan_options(&words("count")), Err(CmdError::Syntax));
        assert_eq!(
            parse_scan_options(&words("novalues")),
            Err(CmdError::Syntax)
        );
    }

    #[test]
    fn scan_scores_are_redis_text() {
        assert_eq!(score_text(1.5), Frame::bulk("1.5"));
        assert_eq!(score_text(f64::NEG_INFINITY), Frame::bulk("-inf"));
        assert_eq!(score_text(3.0), Frame::bulk("3"));
    }
}
