//! List commands (Redis's `t_list.c`): pushes, pops, ranges and indexes.
//!
//! A list is a `VecDeque<Bytes>`: O(1) at both ends, O(1) by index, which covers
//! what Redis's quicklist offers; OBJECT ENCODING derives listpack/quicklist from
//! the size thresholds ([`crate::engine::value`]). As in Redis, an emptied list is
//! deleted at once. Searching and editing in the middle (LINSERT, LREM, LPOS) live
//! in `list_edit.rs`; moves and blocking pops in `list_blocking.rs`. The helpers
//! here ([`End`], [`push`], [`pop`], [`read_list`]) are shared by those files.

use bytes::Bytes;
use std::collections::VecDeque;

use super::args;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::db::{Db, UnixMs};
use crate::engine::value::Value;
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lrange", lrange),
    ("lindex", lindex),
    ("lset", lset),
    ("ltrim", ltrim),
];

/// One end of a list: LEFT is the head (index 0), RIGHT the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Left,
    Right,
}

impl End {
    /// Parses `LEFT` / `RIGHT` (any case); anything else is a syntax error.
    pub(super) fn parse(arg: &[u8]) -> Result<End, CmdError> {
        if args::is(arg, "left") {
            Ok(End::Left)
        } else if args::is(arg, "right") {
            Ok(End::Right)
        } else {
            Err(CmdError::Syntax)
        }
    }

    pub(super) fn take(self, list: &mut VecDeque<Bytes>) -> Option<Bytes> {
        match self {
            End::Left => list.pop_front(),
            End::Right => list.pop_back(),
        }
    }

    pub(super) fn put(self, list: &mut VecDeque<Bytes>, value: Bytes) {
        match self {
            End::Left => list.push_front(value),
            End::Right => list.push_back(value),
        }
    }
}

/// The list at `key` for reading, counting a keyspace hit or miss as Redis's
/// `lookupKeyRead` does. `None` when the key does not exist.
pub(super) fn read_list<'c>(
    cx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'c VecDeque<Bytes>>, CmdError> {
    let (index, now) = (cx.client.db, cx.now);
    let ks = &mut *cx.ks;
    match ks.dbs[index].get(key, now) {
        Some(value) => {
            ks.stats.keyspace_hits += 1;
            value.as_list().map(Some)
        }
        None => {
            ks.stats.keyspace_misses += 1;
            Ok(None)
        }
    }
}

/// The list at `key` for modification; `None` when the key does not exist.
pub(super) fn list_mut<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: UnixMs,
) -> Result<Option<&'d mut VecDeque<Bytes>>, CmdError> {
    db.get_mut(key, now).map(Value::as_list_mut).transpose()
}

/// Fails with WRONGTYPE if `key` holds something other than a list.
pub(super) fn check_list(db: &mut Db, key: &[u8], now: UnixMs) -> Result<(), CmdError> {
    list_mut(db, key, now).map(drop)
}

/// Deletes `key` if it holds an empty list: Redis never keeps one.
pub(super) fn remove_if_empty(db: &mut Db, key: &[u8], now: UnixMs) {
    if matches!(db.get(key, now), Some(Value::List(list)) if list.is_empty()) {
        db.remove(key, now);
    }
}

/// Pushes copies of `values` at `end` of the list at `key`, creating it when
/// absent; returns the new length.
pub(super) fn push<'v>(
    db: &mut Db,
    now: UnixMs,
    key: &Bytes,
    end: End,
    values: impl IntoIterator<Item = &'v Bytes>,
) -> Result<usize, CmdError> {
    let values = values.into_iter().map(|v| Bytes::copy_from_slice(v));
    if let Some(list) = list_mut(db, key, now)? {
        values.for_each(|v| end.put(list, v));
        return Ok(list.len());
    }
    let mut list = VecDeque::new();
    values.for_each(|v| end.put(&mut list, v));
    let len = list.len();
    db.insert(key.clone(), Value::List(list), now);
    Ok(len)
}

/// Pops up to `count` elements from `end` of the list at `key`, deleting the key
/// when emptied. `None` when the key does not exist.
pub(super) fn pop(
    db: &mut Db,
    now: UnixMs,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Option<Vec<Bytes>>, CmdError> {
    let Some(list) = list_mut(db, key, now)? else {
        return Ok(None);
    };
    let popped: Vec<Bytes> = std::iter::from_fn(|| end.take(list)).take(count).collect();
    remove_if_empty(db, key, now);
    Ok(Some(popped))
}

/// Resolves a Redis index (negative counts from the tail) against `len`.
pub(super) fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 {
        index.checked_add(len as i64)?
    } else {
        index
    };
    usize::try_from(index).ok().filter(|&i| i < len)
}

/// Clamps an inclusive `start..=stop` range (negative = from the tail) to a list
/// of `len` elements, as LRANGE and LTRIM do; `None` when it selects nothing.
pub(super) fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// # Format
/// `LPUSH key element [element ...]`
///
/// Prepends each element in turn (the last one ends up first); replies the new length.
fn lpush(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_command(cx, args, End::Left, false)
}

/// # Format
/// `RPUSH key element [element ...]`
fn rpush(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_command(cx, args, End::Right, false)
}

/// # Format
/// `LPUSHX key element [element ...]`
///
/// As LPUSH, but only onto an existing list: replies 0 otherwise.
fn lpushx(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_command(cx, args, End::Left, true)
}

/// # Format
/// `RPUSHX key element [element ...]`
fn rpushx(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    push_command(cx, args, End::Right, true)
}

fn push_command(cx: &mut Ctx<'_>, args: &[Bytes], end: End, existing_only: bool) -> CmdResult {
    let (db, now) = cx.db_now();
    if existing_only && list_mut(db, &args[1], now)?.is_none() {
        cx.no_change();
        return Ok(Frame::Integer(0));
    }
    let len = push(db, now, &args[1], end, &args[2..])?;
    Ok(Frame::Integer(len as i64))
}

/// # Format
/// `LPOP key [count]`
///
/// Without count: the first element, or null. With count: an array of up to
/// count elements (empty for count 0), or a null array when the key is missing.
fn lpop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop_command(cx, args, End::Left)
}

/// # Format
/// `RPOP key [count]`
fn rpop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    pop_command(cx, args, End::Right)
}

fn pop_command(cx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity(
            String::from_utf8_lossy(&args[0]).to_lowercase(),
        ));
    }
    let count = match args.get(2) {
        Some(arg) => Some(pop_count(arg)?),
        None => None,
    };
    let (db, now) = cx.db_now();
    let popped = match count {
        Some(0) => list_mut(db, &args[1], now)?.map(|_| Vec::new()),
        _ => pop(db, now, &args[1], end, count.unwrap_or(1))?,
    };
    if popped.as_ref().is_none_or(Vec::is_empty) {
        cx.no_change();
    }
    Ok(match (popped, count) {
        (None, Some(_)) => Frame::NullArray,
        (None, None) => Frame::Null,
        (Some(values), Some(_)) => Frame::bulks(values),
        (Some(mut values), None) => values.pop().map_or(Frame::Null, Frame::Bulk),
    })
}

/// LPOP/RPOP's count: any non-integer or negative value gets the same error.
fn pop_count(arg: &[u8]) -> Result<usize, CmdError> {
    match args::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(CmdError::msg("ERR value is out of range, must be positive")),
    }
}

/// # Format
/// `LLEN key`
fn llen(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_list(cx, &args[1])?.map_or(0, VecDeque::len);
    Ok(Frame::Integer(len as i64))
}

/// # Format
/// `LRANGE key start stop`
///
/// Inclusive indexes, negative ones counting from the tail; out-of-range
/// indexes are clamped, so an empty array rather than an error.
fn lrange(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (args::int(&args[2])?, args::int(&args[3])?);
    let Some(list) = read_list(cx, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    Ok(match resolve_range(start, stop, list.len()) {
        Some((from, to)) => Frame::bulks(list.range(from..=to).cloned()),
        None => Frame::Array(Vec::new()),
    })
}

/// # Format
/// `LINDEX key index`
///
/// The element at index (negative from the tail), or null. A missing key answers
/// null before the index is even parsed, as in Redis.
fn lindex(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(list) = read_list(cx, &args[1])? else {
        return Ok(Frame::Null);
    };
    let index = args::int(&args[2])?;
    Ok(resolve_index(index, list.len()).map_or(Frame::Null, |i| Frame::Bulk(list[i].clone())))
}

/// # Format
/// `LSET key index element`
///
/// Errors, in Redis's order: `ERR no such key`, WRONGTYPE, not an integer,
/// `ERR index out of range`.
fn lset(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now) = cx.db_now();
    let list = list_mut(db, &args[1], now)?.ok_or(CmdError::NoSuchKey)?;
    let index = args::int(&args[2])?;
    let slot = resolve_index(index, list.len()).ok_or(CmdError::msg("ERR index out of range"))?;
    list[slot] = Bytes::copy_from_slice(&args[3]);
    Ok(Frame::ok())
}

/// # Format
/// `LTRIM key start stop`
///
/// Keeps only the inclusive range (as LRANGE selects it); an empty range deletes the key.
fn ltrim(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (args::int(&args[2])?, args::int(&args[3])?);
    let (db, now) = cx.db_now();
    let Some(list) = list_mut(db, &args[1], now)? else {
        cx.no_change();
        return Ok(Frame::ok());
    };
    match resolve_range(start, stop, list.len()) {
        Some((from, to)) => {
            list.truncate(to + 1);
            list.drain(..from);
        }
        None => list.clear(),
    }
    remove_if_empty(db, &args[1], now);
    Ok(Frame::ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_resolve_from_either_end() {
        assert_eq!(resolve_index(0, 3), Some(0));
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-3, 3), Some(0));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
        assert_eq!(resolve_index(0, 0), None);
    }

    #[test]
    fn ranges_clamp_as_lrange_does() {
        assert_eq!(resolve_range(0, -1, 5), Some((0, 4)));
        assert_eq!(resolve_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(resolve_range(i64::MIN, i64::MAX, 5), Some((0, 4)));
        assert_eq!(resolve_range(3, 1, 5), None);
        assert_eq!(resolve_range(5, 10, 5), None);
        assert_eq!(resolve_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(resolve_range(0, -6, 5), None);
        assert_eq!(resolve_range(0, 0, 0), None);
    }

    #[test]
    fn push_then_pop_from_both_ends() {
        let mut db = Db::new();
        let key = Bytes::from_static(b"k");
        let values = [Bytes::from_static(b"a"), Bytes::from_static(b"b")];
        assert_eq!(push(&mut db, 0, &key, End::Left, &values).unwrap(), 2);
        assert_eq!(push(&mut db, 0, &key, End::Right, &values[..1]).unwrap(), 3);
        // b a a
        assert_eq!(
            pop(&mut db, 0, b"k", End::Left, 1).unwrap(),
            Some(vec![values[1].clone()])
        );
        assert_eq!(
            pop(&mut db, 0, b"k", End::Right, 10)
                .unwrap()
                .map(|v| v.len()),
            Some(2)
        );
        assert!(db.get(b"k", 0).is_none(), "emptied list is deleted");
        assert_eq!(pop(&mut db, 0, b"k", End::Left, 1).unwrap(), None);
    }

    #[test]
    fn wrong_type_is_refused() {
        let mut db = Db::new();
        db.insert(
            Bytes::from_static(b"s"),
            Value::from_bytes(Bytes::from_static(b"x")),
            0,
        );
        let key = Bytes::from_static(b"s");
        assert_eq!(
            push(&mut db, 0, &key, End::Left, std::slice::from_ref(&key)),
            Err(CmdError::WrongType)
        );
        assert_eq!(
            pop(&mut db, 0, b"s", End::Left, 1),
            Err(CmdError::WrongType)
        );
    }
}
