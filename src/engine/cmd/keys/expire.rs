//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX|XX|GT|LT), TTL,
//! PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.
//!
//! Expiry itself happens elsewhere: lazily when a key is looked up (`Db`), and
//! actively in the server's background cycle. A time already past deletes the key
//! at once, as Redis does.

use bytes::Bytes;

use super::count_lookup;
use crate::engine::cmd::args;
use crate::engine::cmd::{CmdError, CmdResult, Ctx};
use crate::engine::db::UnixMs;
use crate::resp::Frame;

/// How the time argument of an EXPIRE-family command reads.
#[derive(Debug, Clone, Copy)]
struct Form {
    /// The command's name, for the overflow error.
    name: &'static str,
    /// Milliseconds per unit of the argument.
    unit_ms: i64,
    /// Relative to now (EXPIRE) or absolute (EXPIREAT).
    relative: bool,
}

/// # Format
/// `EXPIRE key seconds [NX | XX | GT | LT]` → 1 if the timeout was set, else 0.
pub(super) fn expire(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_expiry(
        cx,
        args,
        Form {
            name: "expire",
            unit_ms: 1000,
            relative: true,
        },
    )
}

/// # Format
/// `PEXPIRE key milliseconds [NX | XX | GT | LT]` → 1 if the timeout was set, else 0.
pub(super) fn pexpire(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_expiry(
        cx,
        args,
        Form {
            name: "pexpire",
            unit_ms: 1,
            relative: true,
        },
    )
}

/// # Format
/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]` → 1 if set, else 0.
pub(super) fn expireat(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_expiry(
        cx,
        args,
        Form {
            name: "expireat",
            unit_ms: 1000,
            relative: false,
        },
    )
}

/// # Format
/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]` → 1 if set, else 0.
pub(super) fn pexpireat(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_expiry(
        cx,
        args,
        Form {
            name: "pexpireat",
            unit_ms: 1,
            relative: false,
        },
    )
}

/// The NX | XX | GT | LT conditions.
#[derive(Debug, Default, Clone, Copy)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Conditions {
    /// Parses the options after the time, in Redis's order of checks.
    fn parse(options: &[Bytes]) -> Result<Conditions, CmdError> {
        let mut c = Conditions::default();
        for option in options {
            let flag = match option.to_ascii_lowercase().as_slice() {
                b"nx" => &mut c.nx,
                b"xx" => &mut c.xx,
                b"gt" => &mut c.gt,
                b"lt" => &mut c.lt,
                _ => {
                    return Err(CmdError::msg(format!(
                        "ERR Unsupported option {}",
                        String::from_utf8_lossy(option)
                    )))
                }
            };
            *flag = true;
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CmdError::msg(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(CmdError::msg(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// True if a new expiry `at` may replace `current` (None = no TTL, which GT
    /// and LT treat as infinite).
    fn allow(self, current: Option<UnixMs>, at: UnixMs) -> bool {
        match current {
            None => !(self.xx || self.gt),
            Some(current) => !(self.nx || (self.gt && at <= current) || (self.lt && at >= current)),
        }
    }
}

fn set_expiry(cx: &mut Ctx<'_>, args: &[Bytes], form: Form) -> CmdResult {
    let conditions = Conditions::parse(&args[3..])?;
    let base = if form.relative { cx.now } else { 0 };
    let at = absolute_ms(args::int(&args[2])?, form.unit_ms, base).ok_or_else(|| {
        CmdError::msg(format!(
            "ERR invalid expire time in '{}' command",
            form.name
        ))
    })?;
    let (db, now) = cx.db_now();
    let key = &args[1];
    let current = db.entry_mut(key, now).map(|entry| entry.expire_at());
    let allowed = current.is_some_and(|current| conditions.allow(current, at));
    if !allowed {
        cx.no_change();
        return Ok(Frame::Integer(0));
    }
    if at <= now {
        db.remove(key, now);
    } else {
        db.set_expiry(key, Some(at), now);
    }
    Ok(Frame::Integer(1))
}

/// `time` in units of `unit_ms` after `base`, in milliseconds, or None where Redis
/// reports an overflow (the unit conversion, then the addition).
fn absolute_ms(time: i64, unit_ms: i64, base: UnixMs) -> Option<UnixMs> {
    let ms = time.checked_mul(unit_ms)?;
    if ms > i64::MAX - base {
        return None;
    }
    Some(ms + base)
}

/// # Format
/// `TTL key` → seconds to live (rounded), -1 without a TTL, -2 if no such key.
pub(super) fn ttl(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    time_to_live(cx, &args[1], false, false)
}

/// # Format
/// `PTTL key` → milliseconds to live, -1 without a TTL, -2 if no such key.
pub(super) fn pttl(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    time_to_live(cx, &args[1], true, false)
}

/// # Format
/// `EXPIRETIME key` → the expiry as a Unix time in seconds, -1 without a TTL, -2 if
/// no such key.
pub(super) fn expiretime(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    time_to_live(cx, &args[1], false, true)
}

/// # Format
/// `PEXPIRETIME key` → the expiry as a Unix time in milliseconds, -1 without a
/// TTL, -2 if no such key.
pub(super) fn pexpiretime(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    time_to_live(cx, &args[1], true, true)
}

fn time_to_live(cx: &mut Ctx<'_>, key: &[u8], in_ms: bool, absolute: bool) -> CmdResult {
    let (db, now) = cx.db_now();
    let expiry = db.expiry(key, now);
    count_lookup(cx, expiry.is_some());
    let reply = match expiry {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => {
            let ms = if absolute { at } else { at.saturating_sub(now) }.max(0);
            if in_ms {
                ms
            } else {
                round_to_secs(ms)
            }
        }
    };
    Ok(Frame::Integer(reply))
}

/// Milliseconds to seconds, half up, without overflow near i64::MAX.
fn round_to_secs(ms: i64) -> i64 {
    ms / 1000 + i64::from(ms % 1000 >= 500)
}

/// # Format
/// `PERSIST key` → 1 if a TTL was removed, 0 if the key has none or is missing.
pub(super) fn persist(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now) = cx.db_now();
    let key = &args[1];
    let volatile = db
        .entry_mut(key, now)
        .is_some_and(|e| e.expire_at().is_some());
    if !volatile {
        cx.no_change();
        return Ok(Frame::Integer(0));
    }
    db.set_expiry(key, None, now);
    Ok(Frame::Integer(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_detected_as_redis_does() {
        assert_eq!(absolute_ms(10, 1000, 5), Some(10_005));
        assert_eq!(absolute_ms(i64::MAX, 1, 0), Some(i64::MAX));
        assert_eq!(absolute_ms(i64::MAX, 1, 1), None);
        assert_eq!(absolute_ms(i64::MAX / 1000 + 1, 1000, 0), None);
        assert_eq!(absolute_ms(i64::MIN / 1000 - 1, 1000, 0), None);
        assert_eq!(absolute_ms(i64::MIN, 1, 1_000), Some(i64::MIN + 1_000));
        assert_eq!(absolute_ms(i64::MAX / 1000, 1000, 1_000_000), None);
    }

    #[test]
    fn seconds_round_half_up() {
        assert_eq!(round_to_secs(0), 0);
        assert_eq!(round_to_secs(499), 0);
        assert_eq!(round_to_secs(500), 1);
        assert_eq!(round_to_secs(1_999_999_999_499), 1_999_999_999);
        assert_eq!(round_to_secs(1_999_999_999_500), 2_000_000_000);
        assert_eq!(round_to_secs(i64::MAX), 9_223_372_036_854_776);
    }

    #[test]
    fn conditions() {
        let parse = |opts: &[&str]| {
            let opts: Vec<Bytes> = opts
                .iter()
                .map(|o| Bytes::copy_from_slice(o.as_bytes()))
                .collect();
            Conditions::parse(&opts)
        };
        let nx = parse(&["NX"]).unwrap();
        assert!(nx.allow(None, 5) && !nx.allow(Some(1), 5));
        let xx = parse(&["xx"]).unwrap();
        assert!(!xx.allow(None, 5) && xx.allow(Some(1), 5));
        let gt = parse(&["gt"]).unwrap();
        assert!(!gt.allow(None, 5) && gt.allow(Some(4), 5) && !gt.allow(Some(5), 5));
        let lt = parse(&["lt"]).unwrap();
        assert!(lt.allow(None, 5) && lt.allow(Some(6), 5) && !lt.allow(Some(5), 5));
        let xx_lt = parse(&["xx", "lt"]).unwrap();
        assert!(!xx_lt.allow(None, 5) && xx_lt.allow(Some(6), 5));
        assert!(parse(&["nx", "nx"]).is_ok());
        for bad in [&["nx", "xx"][..], &["gt", "nx"], &["nx", "lt"]] {
            assert_eq!(
                parse(bad).unwrap_err().to_string(),
                "ERR NX and XX, GT or LT options at the same time are not compatible"
            );
        }
        assert_eq!(
            parse(&["lt", "gt", "xx"]).unwrap_err().to_string(),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(
            parse(&["Foo"]).unwrap_err().to_string(),
            "ERR Unsupported option Foo"
        );
    }
}
