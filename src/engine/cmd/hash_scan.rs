//! Hash commands that walk a hash in steps or at random: HSCAN and HRANDFIELD.
//!
//! HSCAN's cursor is the table's insertion id ([`crate::engine::types::hash::table`]
//! explains why every field present for the whole scan is returned); a listpack is
//! returned whole in one call with cursor 0, as Redis does.

use bytes::Bytes;

use super::hash::read_hash;
use super::members::{parse_cursor, scan_reply, Picks, ScanOptions};
use super::{args, CmdError, CmdResult, Ctx, Handler};
use crate::resp::{Frame, Protocol};

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[("hscan", hscan), ("hrandfield", hrandfield)];

/// # Format
/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// Replies `[next cursor, [field, value, …]]`; MATCH filters on the field.
fn hscan(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(hash) = read_hash(cx, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let options = ScanOptions::parse(&args[3..])?;
    let mut found = Vec::new();
    let next = hash.scan(cursor, options.count, |field, value| {
        if options.matches(field) {
            found.push(Frame::Bulk(field.clone()));
            found.push(Frame::Bulk(value.clone()));
        }
    });
    Ok(scan_reply(next, found))
}

/// # Format
/// `HRANDFIELD key [count [WITHVALUES]]`
///
/// Without a count: one random field, or null. With a count ≥ 0: that many
/// distinct fields at most; below 0: exactly |count| fields, repeats allowed.
/// WITHVALUES pairs each field with its value (RESP3: as two-element arrays).
fn hrandfield(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(count) = args.get(2) else {
        let field = read_hash(cx, &args[1])?.and_then(|hash| hash.random(&mut rand::thread_rng()));
        return Ok(field.map_or(Frame::Null, |(f, _)| Frame::Bulk(f.clone())));
    };
    let picks = Picks::parse(count)?;
    let with_values = match &args[3..] {
        [] => false,
        [option] if args::is(option, "withvalues") => true,
        _ => return Err(CmdError::Syntax),
    };
    let (Picks::Distinct(n) | Picks::Repeated(n)) = picks;
    if with_values && n > i64::MAX as u64 / 2 {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let resp3 = cx.client.protocol == Protocol::Resp3;
    let Some(hash) = read_hash(cx, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    let len = picks.reply_len(hash.len())?;
    let mut rng = rand::thread_rng();
    let chosen: Vec<(&Bytes, &Bytes)> = match picks {
        Picks::Distinct(_) => hash.sample(len, &mut rng),
        Picks::Repeated(_) => (0..len).filter_map(|_| hash.random(&mut rng)).collect(),
    };
    Ok(Frame::Array(pick_frames(chosen, with_values, resp3)))
}

/// The reply elements for the chosen pairs: fields, or fields and values (flat in
/// RESP2, as pairs in RESP3).
fn pick_frames(chosen: Vec<(&Bytes, &Bytes)>, with_values: bool, resp3: bool) -> Vec<Frame> {
    let bulk = |b: &Bytes| Frame::Bulk(b.clone());
    match (with_values, resp3) {
        (false, _) => chosen.into_iter().map(|(f, _)| bulk(f)).collect(),
        (true, true) => chosen
            .into_iter()
            .map(|(f, v)| Frame::Array(vec![bulk(f), bulk(v)]))
            .collect(),
        (true, false) => chosen
            .into_iter()
            .flat_map(|(f, v)| [bulk(f), bulk(v)])
            .collect(),
    }
}
