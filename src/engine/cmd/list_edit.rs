//! List commands that search by value: LINSERT, LREM, LPOS.
//!
//! Each is a linear scan, as in Redis; LPOS's MAXLEN bounds it.

use bytes::Bytes;
use std::collections::VecDeque;

use super::args::{self, Args};
use super::list::{list_mut, read_list, remove_if_empty};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] =
    &[("linsert", linsert), ("lrem", lrem), ("lpos", lpos)];

/// # Format
/// `LINSERT key <BEFORE | AFTER> pivot element`
///
/// Inserts next to the first occurrence of pivot; replies the new length, -1
/// when pivot is absent, 0 when the key is.
fn linsert(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let after = if args::is(&args[2], "after") {
        true
    } else if args::is(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (db, now) = cx.db_now();
    let found = list_mut(db, &args[1], now)?.map(|list| {
        let at = list.iter().position(|e| e == &args[3])?;
        list.insert(at + usize::from(after), Bytes::copy_from_slice(&args[4]));
        Some(list.len())
    });
    match found {
        Some(Some(len)) => Ok(Frame::Integer(len as i64)),
        Some(None) => {
            cx.no_change();
            Ok(Frame::Integer(-1))
        }
        None => {
            cx.no_change();
            Ok(Frame::Integer(0))
        }
    }
}

/// # Format
/// `LREM key count element`
///
/// Removes the first count occurrences (count > 0), the last -count ones
/// (count < 0) or all of them (0); replies how many went.
fn lrem(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = args::int(&args[2])?;
    let (db, now) = cx.db_now();
    let removed = match list_mut(db, &args[1], now)? {
        Some(list) => remove_matches(list, &args[3], count),
        None => 0,
    };
    if removed == 0 {
        cx.no_change();
    } else {
        remove_if_empty(db, &args[1], now);
    }
    Ok(Frame::Integer(removed as i64))
}

/// Removes up to |count| occurrences of `element` (all for 0), scanning from the
/// tail when count is negative; returns how many were removed.
fn remove_matches(list: &mut VecDeque<Bytes>, element: &[u8], count: i64) -> usize {
    let limit = match count.unsigned_abs() {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let mut removed = 0;
    if count >= 0 {
        list.retain(|e| {
            let drop = removed < limit && e == element;
            removed += usize::from(drop);
            !drop
        });
    } else {
        // retain visits front to back: find the cut-off from the tail first.
        let mut keep_before = list.len();
        for (i, e) in list.iter().enumerate().rev() {
            if removed == limit {
                break;
            }
            if e == element {
                removed += 1;
                keep_before = i;
            }
        }
        let mut i = 0;
        list.retain(|e| {
            i += 1;
            !(i > keep_before && e == element)
        });
    }
    removed
}

/// LPOS's options.
#[derive(Debug, PartialEq)]
struct PosOptions {
    /// Which match to start from: 1 the first, -1 the last.
    rank: i64,
    /// None: reply one index; Some(0): all matches; Some(n): up to n.
    count: Option<usize>,
    /// Compare at most this many elements (0 = all).
    maxlen: usize,
}

impl PosOptions {
    fn parse(args: &[Bytes]) -> Result<PosOptions, CmdError> {
        let mut options = PosOptions {
            rank: 1,
            count: None,
            maxlen: 0,
        };
        let mut rest = Args::new(args, 3);
        while let Some(option) = rest.next() {
            if args::is(option, "rank") {
                options.rank = parse_rank(rest.value()?)?;
            } else if args::is(option, "count") {
                options.count = Some(positive(rest.value()?, "ERR COUNT can't be negative")?);
            } else if args::is(option, "maxlen") {
                options.maxlen = positive(rest.value()?, "ERR MAXLEN can't be negative")?;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(options)
    }
}

fn parse_rank(arg: &[u8]) -> Result<i64, CmdError> {
    match args::int(arg)? {
        0 => Err(CmdError::msg(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        )),
        // Its negation overflows; Redis 7.0 misbehaves, 7.2 refuses it so.
        i64::MIN => Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        )),
        rank => Ok(rank),
    }
}

/// A non-negative integer whose parse failure and negative value share `err`.
fn positive(arg: &[u8], err: &'static str) -> Result<usize, CmdError> {
    match args::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(CmdError::msg(err)),
    }
}

/// # Format
/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
///
/// The index of a matching element (null if none), or with COUNT an array of
/// indexes (empty if none). Indexes always count from the head.
fn lpos(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let options = PosOptions::parse(args)?;
    let matches = match read_list(cx, &args[1])? {
        Some(list) => positions(list, &args[2], &options),
        None => Vec::new(),
    };
    let index = |i: usize| Frame::Integer(i as i64);
    Ok(match options.count {
        Some(_) => Frame::Array(matches.into_iter().map(index).collect()),
        None => matches.first().copied().map_or(Frame::Null, index),
    })
}

/// Indexes of the matches LPOS selects.
fn positions(list: &VecDeque<Bytes>, element: &[u8], options: &PosOptions) -> Vec<usize> {
    let scanned = match options.maxlen {
        0 => list.len(),
        n => n.min(list.len()),
    };
    let skip = usize::try_from(options.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
    let wanted = match options.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n,
    };
    let matching = |&(_, e): &(usize, &Bytes)| e == element;
    let found: Box<dyn Iterator<Item = (usize, &Bytes)>> = if options.rank > 0 {
        Box::new(list.iter().enumerate().take(scanned).filter(matching))
    } else {
        Box::new(list.iter().enumerate().rev().take(scanned).filter(matching))
    };
    found.skip(skip).take(wanted).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &str) -> VecDeque<Bytes> {
        items
            .split(' ')
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn joined(list: &VecDeque<Bytes>) -> String {
        let items: Vec<_> = list
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        items.join(" ")
    }

    #[test]
    fn remove_from_head_tail_or_everywhere() {
        let mut l = list("a b a c a");
        assert_eq!(remove_matches(&mut l, b"a", 2), 2);
        assert_eq!(joined(&l), "b c a");
        let mut l = list("a b a c a");
        assert_eq!(remove_matches(&mut l, b"a", -2), 2);
        assert_eq!(joined(&l), "a b c");
        let mut l = list("a b a c a");
        assert_eq!(remove_matches(&mut l, b"a", 0), 3);
        assert_eq!(joined(&l), "b c");
        let mut l = list("a b a c a");
        assert_eq!(remove_matches(&mut l, b"a", i64::MIN), 3);
        assert_eq!(remove_matches(&mut l, b"z", -1), 0);
        assert_eq!(joined(&l), "b c");
    }

    #[test]
    fn positions_honour_rank_count_maxlen() {
        let l = list("a b a b a");
        let opts = |rank, count, maxlen| PosOptions {
            rank,
            count,
            maxlen,
        };
        assert_eq!(positions(&l, b"a", &opts(1, None, 0)), vec![0]);
        assert_eq!(positions(&l, b"a", &opts(2, None, 0)), vec![2]);
        assert_eq!(positions(&l, b"a", &opts(-1, None, 0)), vec![4]);
        assert_eq!(positions(&l, b"a", &opts(-2, Some(0), 0)), vec![2, 0]);
        assert_eq!(positions(&l, b"a", &opts(1, Some(0), 2)), vec![0]);
        assert_eq!(positions(&l, b"a", &opts(-1, Some(0), 2)), vec![4]);
        assert_eq!(
            positions(&l, b"a", &opts(i64::MAX, None, 0)),
            Vec::<usize>::new()
        );
        assert_eq!(
            positions(&l, b"z", &opts(1, Some(0), 0)),
            Vec::<usize>::new()
        );
    }
}
