//! Moves between lists and pops across keys, each with its blocking form:
//! LMOVE/BLMOVE, RPOPLPUSH/BRPOPLPUSH, LMPOP/BLMPOP, BLPOP, BRPOP.
//!
//! A blocking command first tries to serve itself like its plain form. With no
//! data it asks the connection to block on its keys ([`Action::Block`]); the
//! core retries the whole command, oldest waiter first, after any command that
//! touched one of those keys, and replies a null array on timeout. Inside EXEC
//! (`cx.nested`) nothing may wait, so the command answers null at once, as Redis
//! does. A served BLMOVE pushes onto its destination, which the dispatcher
//! touches, so clients blocked there are served in turn.

use bytes::Bytes;
use std::time::Duration;

use super::args;
use super::list::{check_list, list_mut, pop, push, remove_if_empty, End};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
    ("blpop", blpop),
    ("brpop", brpop),
    ("blmove", blmove),
    ("brpoplpush", brpoplpush),
    ("blmpop", blmpop),
];

/// Pops one element from `src`'s `from` end and pushes it at `dst`'s `to` end;
/// `None` when `src` does not exist (then `dst`'s type is not checked, as in Redis).
fn move_element(
    cx: &mut Ctx<'_>,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> Result<Option<Bytes>, CmdError> {
    let (db, now) = cx.db_now();
    if list_mut(db, src, now)?.is_none() {
        return Ok(None);
    }
    check_list(db, dst, now)?;
    // Pop without deleting, push, then delete: rotating a one-element list onto
    // itself keeps the key (and its TTL), as Redis does.
    let Some(value) = list_mut(db, src, now)?.and_then(|list| from.take(list)) else {
        return Ok(None);
    };
    push(db, now, dst, to, [&value])?;
    remove_if_empty(db, src, now);
    Ok(Some(value))
}

/// # Format
/// `LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>`
///
/// The element moved, or null when source is missing.
fn lmove(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (from, to) = (End::parse(&args[3])?, End::parse(&args[4])?);
    move_command(cx, &args[1], &args[2], from, to, None)
}

/// # Format
/// `RPOPLPUSH source destination`
fn rpoplpush(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    move_command(cx, &args[1], &args[2], End::Right, End::Left, None)
}

/// # Format
/// `BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout`
///
/// As LMOVE, waiting up to timeout seconds for source to have an element.
fn blmove(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (from, to) = (End::parse(&args[3])?, End::parse(&args[4])?);
    let wait = args::timeout(&args[5])?;
    move_command(cx, &args[1], &args[2], from, to, Some(wait))
}

/// # Format
/// `BRPOPLPUSH source destination timeout`
fn brpoplpush(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let wait = args::timeout(&args[3])?;
    move_command(cx, &args[1], &args[2], End::Right, End::Left, Some(wait))
}

/// Moves one element; with `wait` (a blocking form), blocks on `src` when missing.
fn move_command(
    cx: &mut Ctx<'_>,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
    wait: Option<Option<Duration>>,
) -> CmdResult {
    match (move_element(cx, src, dst, from, to)?, wait) {
        (Some(value), _) => Ok(Frame::Bulk(value)),
        (None, Some(timeout)) => cx.block(std::slice::from_ref(src), timeout, Frame::Null),
        (None, None) => {
            cx.no_change();
            Ok(Frame::Null)
        }
    }
}

/// Pops up to `count` elements from the first non-empty list among `keys`:
/// `(key, elements)`, or `None` when all are missing. WRONGTYPE for any key met
/// before it that holds another type.
fn pop_first(
    cx: &mut Ctx<'_>,
    keys: &[Bytes],
    end: End,
    count: usize,
) -> Result<Option<(Bytes, Vec<Bytes>)>, CmdError> {
    let (db, now) = cx.db_now();
    for key in keys {
        match pop(db, now, key, end, count)? {
            Some(values) if !values.is_empty() => return Ok(Some((key.clone(), values))),
            _ => {}
        }
    }
    Ok(None)
}

/// # Format
/// `BLPOP key [key ...] timeout`
///
/// `[key, element]` from the first non-empty list, else waits; null array on timeout.
fn blpop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bpop(cx, args, End::Left)
}

/// # Format
/// `BRPOP key [key ...] timeout`
fn brpop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bpop(cx, args, End::Right)
}

fn bpop(cx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    let (keys, last) = args[1..].split_at(args.len() - 2);
    let wait = args::timeout(&last[0])?;
    match pop_first(cx, keys, end, 1)? {
        Some((key, values)) => {
            // One element was asked for: the reply is [key, element].
            let mut reply = vec![Frame::Bulk(key)];
            reply.extend(values.into_iter().map(Frame::Bulk));
            Ok(Frame::Array(reply))
        }
        None => cx.block(keys, wait, Frame::NullArray),
    }
}

/// LMPOP's arguments.
type MpopArgs<'a> = args::Mpop<'a, End>;

/// `[key, [elements]]`, or a null array when nothing was popped.
fn mpop_reply(popped: Option<(Bytes, Vec<Bytes>)>) -> Frame {
    match popped {
        Some((key, values)) => Frame::Array(vec![Frame::Bulk(key), Frame::bulks(values)]),
        None => Frame::NullArray,
    }
}

/// # Format
/// `LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
///
/// Pops up to count (default 1) elements from the first non-empty list.
fn lmpop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let parsed = MpopArgs::parse(args, 1, End::parse)?;
    let popped = pop_first(cx, parsed.keys, parsed.end, parsed.count)?;
    if popped.is_none() {
        cx.no_change();
    }
    Ok(mpop_reply(popped))
}

/// # Format
/// `BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
fn blmpop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let parsed = MpopArgs::parse(args, 2, End::parse)?;
    let wait = args::timeout(&args[1])?;
    match pop_first(cx, parsed.keys, parsed.end, parsed.count)? {
        Some(popped) => Ok(mpop_reply(Some(popped))),
        None => cx.block(parsed.keys, wait, Frame::NullArray),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn mpop_arguments() {
        let args = argv("lmpop 2 a b right count 3");
        let parsed = MpopArgs::parse(&args, 1, End::parse).unwrap();
        assert_eq!(
            (parsed.keys.len(), parsed.end, parsed.count),
            (2, End::Right, 3)
        );
        let numkeys = Err(CmdError::msg("ERR numkeys should be greater than 0"));
        let count = Err(CmdError::msg("ERR count should be greater than 0"));
        let cases = [
            ("lmpop 0 a left", numkeys.clone()),
            ("lmpop x a left", numkeys),
            ("lmpop 2 a left", Err(CmdError::Syntax)),
            ("lmpop 9223372036854775807 a left", Err(CmdError::Syntax)),
            ("lmpop 1 a middle", Err(CmdError::Syntax)),
            ("lmpop 1 a left count", Err(CmdError::Syntax)),
            ("lmpop 1 a left count 1 count 2", Err(CmdError::Syntax)),
            ("lmpop 1 a left limit 1", Err(CmdError::Syntax)),
            ("lmpop 1 a left count 0", count.clone()),
            ("lmpop 1 a left count -1", count),
        ];
        for (line, expected) in cases {
            assert_eq!(
                MpopArgs::parse(&argv(line), 1, End::parse).map(|p| p.count),
                expected,
                "{line}"
            );
        }
    }
}
