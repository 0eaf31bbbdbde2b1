//! Set commands that pick members at random or walk a set in steps: SPOP,
//! SRANDMEMBER and SSCAN.
//!
//! SSCAN's cursor is the table's insertion id ([`crate::engine::types::hash::table`]
//! explains why every member present for the whole scan is returned); an intset is
//! returned whole in one call with cursor 0, as Redis does.

use bytes::Bytes;

use super::members::{edit_existing, parse_cursor, scan_reply, Picks, ScanOptions};
use super::set::{member_frames, read_set};
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::set::{Member, SetValue};
use crate::resp::Frame;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[
    ("spop", spop),
    ("srandmember", srandmember),
    ("sscan", sscan),
];

/// # Format
/// `SPOP key [count]`
///
/// Without a count: removes and replies one random member, or null. With one:
/// up to `count` distinct members (a RESP3 set). The key goes with its last member.
fn spop(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = match args {
        [_, _] => None,
        [_, _, count] => Some(positive(count)?),
        _ => return Err(CmdError::Syntax),
    };
    let wanted = count.unwrap_or(1);
    let popped = edit_existing(cx, &args[1], |set: &mut SetValue, _| {
        Ok(if wanted == 0 {
            Vec::new()
        } else {
            set.pop(wanted, &mut rand::thread_rng())
        })
    })?
    .unwrap_or_default();
    if popped.is_empty() {
        cx.no_change();
    }
    Ok(match count {
        None => popped.into_iter().next().map_or(Frame::Null, Frame::Bulk),
        Some(_) => Frame::Set(popped.into_iter().map(Frame::Bulk).collect()),
    })
}

/// A count that must be ≥ 0, with SPOP's error for anything else.
fn positive(arg: &[u8]) -> Result<usize, CmdError> {
    match super::args::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(CmdError::msg("ERR value is out of range, must be positive")),
    }
}

/// # Format
/// `SRANDMEMBER key [count]`
///
/// Without a count: one random member, or null. With a count ≥ 0: that many
/// distinct members at most; below 0: exactly |count| members, repeats allowed.
fn srandmember(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let picks = match args {
        [_, _] => None,
        [_, _, count] => Some(Picks::parse(count)?),
        _ => return Err(CmdError::Syntax),
    };
    let set = read_set(cx, &args[1])?;
    let mut rng = rand::thread_rng();
    let Some(picks) = picks else {
        let member = set.and_then(|s| s.random(&mut rng));
        return Ok(member.map_or(Frame::Null, |m| Frame::Bulk(m.to_bytes())));
    };
    let Some(set) = set else {
        return Ok(Frame::Array(Vec::new()));
    };
    let len = picks.reply_len(set.len())?;
    let chosen: Vec<Member<'_>> = match picks {
        Picks::Distinct(_) => set.sample(len, &mut rng),
        Picks::Repeated(_) => (0..len).filter_map(|_| set.random(&mut rng)).collect(),
    };
    Ok(Frame::Array(member_frames(chosen)))
}

/// # Format
/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// Replies `[next cursor, [member, …]]`.
fn sscan(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(set) = read_set(cx, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let options = ScanOptions::parse(&args[3..])?;
    let mut found = Vec::new();
    let next = set.scan(cursor, options.count, |member| {
        if member.with_bytes(|bytes| options.matches(bytes)) {
            found.push(Frame::Bulk(member.to_bytes()));
        }
    });
    Ok(scan_reply(next, found))
}
