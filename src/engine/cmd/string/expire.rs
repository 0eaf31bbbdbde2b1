//! The options SET and GETEX share (NX XX GET KEEPTTL PERSIST, EX PX EXAT PXAT),
//! and expiry arguments turned into absolute times, with Redis's rules for which
//! options may be combined and which times are valid.

use bytes::Bytes;

use crate::engine::cmd::args::{self, Args};
use crate::engine::cmd::CmdError;
use crate::engine::db::UnixMs;

/// The four ways to give an expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expire {
    /// Seconds from now.
    Ex,
    /// Milliseconds from now.
    Px,
    /// A Unix time in seconds.
    ExAt,
    /// A Unix time in milliseconds.
    PxAt,
}

/// Which command is parsing: SET and GETEX accept different options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command {
    Set,
    GetEx,
}

/// Options as given.
#[derive(Debug, Default)]
pub(super) struct Options<'a> {
    pub(super) nx: bool,
    pub(super) xx: bool,
    pub(super) get: bool,
    pub(super) keepttl: bool,
    pub(super) persist: bool,
    /// The expiry kind and its (not yet parsed) argument.
    pub(super) expire: Option<(Expire, &'a Bytes)>,
}

/// Parses the options after the first `skip` arguments. Repeating an option is
/// allowed (the last expiry wins); combining exclusive ones is a syntax error.
pub(super) fn parse(
    args: &[Bytes],
    skip: usize,
    command: Command,
) -> Result<Options<'_>, CmdError> {
    let set = command == Command::Set;
    let mut opts = Options::default();
    let mut rest = Args::new(args, skip);
    while let Some(arg) = rest.next() {
        let kind = expire_kind(arg);
        if args::is(arg, "nx") && set && !opts.xx {
            opts.nx = true;
        } else if args::is(arg, "xx") && set && !opts.nx {
            opts.xx = true;
        } else if args::is(arg, "get") && set {
            opts.get = true;
        } else if args::is(arg, "keepttl") && set && !opts.persist && opts.expire.is_none() {
            opts.keepttl = true;
        } else if args::is(arg, "persist") && !set && !opts.keepttl && opts.expire.is_none() {
            opts.persist = true;
        } else if let Some(kind) = kind.filter(|&k| opts.accepts(k) && !rest.is_empty()) {
            opts.expire = Some((kind, rest.value()?));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(opts)
}

impl Options<'_> {
    /// An expiry option is accepted unless another kind, KEEPTTL or PERSIST was given.
    fn accepts(&self, kind: Expire) -> bool {
        !self.keepttl && !self.persist && self.expire.is_none_or(|(k, _)| k == kind)
    }
}

fn expire_kind(arg: &[u8]) -> Option<Expire> {
    [
        ("ex", Expire::Ex),
        ("px", Expire::Px),
        ("exat", Expire::ExAt),
        ("pxat", Expire::PxAt),
    ]
    .into_iter()
    .find(|(name, _)| args::is(arg, name))
    .map(|(_, kind)| kind)
}

/// The absolute expiry time an argument means, or Redis's errors: "not an integer"
/// for garbage, "invalid expire time in '<command>'" for ≤ 0 or an overflow.
pub(super) fn deadline(
    kind: Expire,
    arg: &[u8],
    now: UnixMs,
    command: &str,
) -> Result<UnixMs, CmdError> {
    let n = args::int(arg)?;
    let seconds = matches!(kind, Expire::Ex | Expire::ExAt);
    let relative = matches!(kind, Expire::Ex | Expire::Px);
    let ms = if seconds {
        n.checked_mul(1000)
    } else {
        Some(n)
    };
    let at = ms.filter(|&ms| n > 0 && ms > 0).and_then(|ms| {
        if relative {
            ms.checked_add(now)
        } else {
            Some(ms)
        }
    });
    at.ok_or_else(|| invalid_expire(command))
}

/// "ERR invalid expire time in '<command>' command".
pub(super) fn invalid_expire(command: &str) -> CmdError {
    CmdError::msg(format!("ERR invalid expire time in '{command}' command"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(words: &[&str], command: Command) -> Result<Options<'static>, CmdError> {
        let args: Vec<Bytes> = words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        let args: &'static [Bytes] = Box::leak(args.into_boxed_slice());
        parse(args, 0, command)
    }

    #[test]
    fn exclusive_options_are_syntax_errors() {
        for bad in [
            &["nx", "xx"][..],
            &["ex", "1", "px", "1"],
            &["keepttl", "ex", "1"],
            &["ex", "1", "keepttl"],
            &["persist"],
            &["ex"],
            &["foo"],
        ] {
            assert_eq!(
                opts(bad, Command::Set).err(),
                Some(CmdError::Syntax),
                "{bad:?}"
            );
        }
        for bad in [
            &["nx"][..],
            &["get"],
            &["keepttl"],
            &["persist", "ex", "1"],
            &["ex", "1", "persist"],
        ] {
            assert_eq!(
                opts(bad, Command::GetEx).err(),
                Some(CmdError::Syntax),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn accepted_combinations() {
        let o = opts(&["NX", "get", "EX", "1", "ex", "2"], Command::Set).unwrap();
        assert!(o.nx && o.get);
        assert_eq!(
            o.expire.map(|(k, a)| (k, a.clone())),
            Some((Expire::Ex, Bytes::from("2")))
        );
        assert!(opts(&["persist"], Command::GetEx).unwrap().persist);
    }

    #[test]
    fn deadlines() {
        assert_eq!(deadline(Expire::Ex, b"2", 1000, "set"), Ok(3000));
        assert_eq!(deadline(Expire::PxAt, b"5", 1000, "set"), Ok(5));
        assert_eq!(
            deadline(Expire::Ex, b"x", 0, "set"),
            Err(CmdError::NotInteger)
        );
        for bad in [&b"0"[..], b"-1", b"9223372036854775"] {
            assert_eq!(
                deadline(Expire::Ex, bad, 1_700_000_000_000, "set"),
                Err(CmdError::msg("ERR invalid expire time in 'set' command"))
            );
        }
        assert!(deadline(Expire::Px, b"9223372036854775807", 1, "getex").is_err());
        assert!(deadline(Expire::ExAt, b"9223372036854776", 0, "set").is_err());
    }
}
