//! CLIENT KILL: closes other connections (or this one), in the old form
//! `CLIENT KILL ip:port` (`+OK`, or an error when nobody matched) and the
//! filter form `CLIENT KILL ID 7 SKIPME no …` (how many were closed).
//!
//! A killed connection is told through its handle's `kill` notifier; its task
//! finishes writing what it was writing and closes.

use bytes::Bytes;

use super::client::{flags, snapshot, ClientType};
use super::{args, CmdError, CmdResult, Ctx};
use crate::engine::client::ClientHandle;
use crate::resp::Frame;

/// What the filter form matches; every given filter must match.
#[derive(Debug, Default)]
struct Filter {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<String>,
    laddr: Option<String>,
    /// Leave the calling client alone (the default in the filter form).
    skip_me: bool,
}

/// `args` are what follows `CLIENT KILL`.
pub(super) fn kill(cx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if let [addr] = args {
        let filter = Filter {
            addr: Some(String::from_utf8_lossy(addr).into_owned()),
            ..Filter::default()
        };
        return match kill_matching(cx, &filter) {
            0 => Err(CmdError::msg("ERR No such client")),
            _ => Ok(Frame::ok()),
        };
    }
    let filter = parse(args)?;
    Ok(Frame::Integer(kill_matching(cx, &filter) as i64))
}

fn parse(args: &[Bytes]) -> Result<Filter, CmdError> {
    if args.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    let mut filter = Filter {
        skip_me: true,
        ..Filter::default()
    };
    let text = |v: &Bytes| String::from_utf8_lossy(v).into_owned();
    for pair in args.chunks(2) {
        let (option, value) = (&pair[0], &pair[1]);
        match option.to_ascii_lowercase().as_slice() {
            b"id" => {
                let id = args::parse_i64(value)
                    .filter(|&n| n > 0)
                    .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?;
                filter.id = Some(id as u64);
            }
            b"type" => filter.kind = Some(ClientType::parse(value)?),
            b"addr" => filter.addr = Some(text(value)),
            b"laddr" => filter.laddr = Some(text(value)),
            // The only user there is, without ACLs.
            b"user" if value.as_ref() == b"default" => {}
            b"user" => return Err(CmdError::msg(format!("ERR No such user '{}'", text(value)))),
            b"skipme" if args::is(value, "yes") => filter.skip_me = true,
            b"skipme" if args::is(value, "no") => filter.skip_me = false,
            _ => return Err(CmdError::Syntax),
        }
    }
    Ok(filter)
}

/// Notifies every matching client; returns how many.
fn kill_matching(cx: &mut Ctx<'_>, filter: &Filter) -> usize {
    let mut killed = 0;
    for handle in cx.shared.clients.list() {
        let own = handle.id == cx.client.id;
        if (own && filter.skip_me) || !matches(cx, &handle, own, filter) {
            continue;
        }
        handle.kill.notify_one();
        killed += 1;
    }
    killed
}

fn matches(cx: &Ctx<'_>, handle: &ClientHandle, own: bool, filter: &Filter) -> bool {
    let addr = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    if filter.id.is_some_and(|id| id != handle.id)
        || filter
            .addr
            .as_ref()
            .is_some_and(|a| *a != addr(handle.addr))
        || filter
            .laddr
            .as_ref()
            .is_some_and(|a| *a != addr(handle.local))
    {
        return false;
    }
    let Some(kind) = filter.kind else { return true };
    let subscribed = if own {
        cx.client.is_subscribed()
    } else {
        flags(&snapshot(handle)).contains('P')
    };
    kind.matches_flags(if subscribed { "P" } else { "N" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn filters_parse_as_redis_reads_them() {
        let filter = parse(&args(&["ID", "7", "skipme", "NO", "type", "PubSub"])).unwrap();
        assert_eq!(filter.id, Some(7));
        assert!(!filter.skip_me);
        assert_eq!(filter.kind, Some(ClientType::PubSub));
        let err = |a: &[&str]| parse(&args(a)).unwrap_err().to_string();
        assert_eq!(
            err(&["ID", "abc"]),
            "ERR client-id should be greater than 0"
        );
        assert_eq!(err(&["ID", "0"]), "ERR client-id should be greater than 0");
        assert_eq!(err(&["TYPE", "bogus"]), "ERR Unknown client type 'bogus'");
        assert_eq!(err(&["USER", "nobody"]), "ERR No such user 'nobody'");
        assert_eq!(err(&["SKIPME", "maybe"]), "ERR syntax error");
        assert_eq!(err(&["MAXAGE", "1"]), "ERR syntax error");
        assert_eq!(err(&["ID", "1", "SKIPME"]), "ERR syntax error");
        assert!(parse(&args(&["USER", "default"])).is_ok());
    }
}
