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
use super::members::{parse_cursor, read, scan_reply, Picks, ScanOptions};
use super::zset::elements_reply;
use super::{CmdError, CmdResult, Ctx, Handler};
use crate::engine::types::zset::ZSet;
use crate::resp::{format_double, Frame};

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[("zrandmember", zrandmember), ("zscan", zscan)];

/// Parses ZRANDMEMBER's `[count [WITHSCORES]]`: the picks (None without a
/// count) and whether WITHSCORES was given.
fn parse_picks(args: &[Bytes]) -> Result<(Option<Picks>, bool), CmdError> {
    let Some(count) = args.first() else {
        return Ok((None, false));
    };
    let picks = Picks::parse(count)?;
    let withscores = match &args[1..] {
        [] => false,
        [option] if args::is(option, "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    let (Picks::Distinct(n) | Picks::Repeated(n)) = picks;
    // Redis doubles the count for a flat WITHSCORES reply, so refuses half the range.
    if withscores && n > (i64::MAX / 2) as u64 {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    Ok((Some(picks), withscores))
}

/// # Format
/// `ZRANDMEMBER key [count [WITHSCORES]]`
///
/// Without a count: one random member, or null. With a count ≥ 0: that many
/// distinct elements at most; below 0: exactly |count| elements, repeats
/// allowed, in random order.
fn zrandmember(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (picks, withscores) = parse_picks(&args[2..])?;
    let protocol = cx.client.protocol;
    let zset = read::<ZSet>(cx, &args[1])?;
    let mut rng = rand::thread_rng();
    let Some(picks) = picks else {
        let member = zset.and_then(|z| z.random_entry(&mut rng));
        return Ok(member.map_or(Frame::Null, |(m, _)| Frame::Bulk(m.clone())));
    };
    let Some(zset) = zset else {
        return Ok(Frame::Array(Vec::new()));
    };
    let len = picks.reply_len(zset.len())?;
    let chosen: Vec<(&Bytes, f64)> = match picks {
        Picks::Repeated(_) => (0..len)
            .filter_map(|_| zset.random_entry(&mut rng))
            .collect(),
        Picks::Distinct(_) => zset.random_distinct(len, &mut rng),
    };
    let chosen = chosen.into_iter().map(|(m, s)| (m.clone(), s));
    Ok(elements_reply(chosen, withscores, protocol))
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
    let Some(zset) = read::<ZSet>(cx, &args[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let options = ScanOptions::parse(&args[3..])?;
    let mut elements = Vec::new();
    for (member, score) in zset.iter().filter(|(member, _)| options.matches(member)) {
        elements.extend([Frame::Bulk(member.clone()), score_text(score)]);
    }
    Ok(scan_reply(0, elements))
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
        assert_eq!(parse_picks(&[]), Ok((None, false)));
        assert_eq!(
            parse_picks(&words("3")),
            Ok((Some(Picks::Distinct(3)), false))
        );
        let repeated = Ok((Some(Picks::Repeated(3)), true));
        assert_eq!(parse_picks(&words("-3 WithScores")), repeated);
        assert_eq!(parse_picks(&words("x")), Err(CmdError::NotInteger));
        assert_eq!(parse_picks(&words("1 foo")), Err(CmdError::Syntax));
        assert_eq!(parse_picks(&words("1 withscores x")), Err(CmdError::Syntax));
        assert!(parse_picks(&words("-9223372036854775808")).is_err());
        assert!(parse_picks(&words("-9223372036854775807")).is_ok());
        let out_of_range = Err(CmdError::msg("ERR value is out of range"));
        assert_eq!(
            parse_picks(&words("4611686018427387904 withscores")),
            out_of_range
        );
        assert_eq!(
            parse_picks(&words("-4611686018427387904 withscores")),
            out_of_range
        );
        assert!(parse_picks(&words("4611686018427387903 withscores")).is_ok());
    }

    #[test]
    fn scan_scores_are_redis_text() {
        assert_eq!(score_text(1.5), Frame::bulk("1.5"));
        assert_eq!(score_text(f64::NEG_INFINITY), Frame::bulk("-inf"));
        assert_eq!(score_text(3.0), Frame::bulk("3"));
    }
}
