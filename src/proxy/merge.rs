//! How the replies of several servers become the one reply a client expects:
//! MGET values put back in key order, counts summed, OKs agreed, SCAN pages
//! chained, and the pub/sub and script fan-outs (PUBSUB CHANNELS/NUMSUB/NUMPAT,
//! SCRIPT LOAD/EXISTS/KILL) combined as one server would have answered.
//!
//! A part that failed (an error, or a reply of the wrong shape) makes the whole
//! reply that error, as twemproxy does for fragments, except MGET, whose failed
//! keys alone carry it.

use super::route::Part;
use crate::resp::Frame;

/// Bits of a composite SCAN cursor given to the server index.
pub const SCAN_SERVER_SHIFT: u32 = 48;

/// How per-server replies become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// MGET: values placed back at their keys' positions; `len` keys in all.
    Values {
        /// Number of keys.
        len: usize,
    },
    /// DEL, UNLINK, EXISTS, TOUCH, DBSIZE: integers summed.
    Sum,
    /// MSET, FLUSHDB, SCRIPT FLUSH…: OK when every part said OK.
    AllOk,
    /// SCAN: one server's page, cursor rewritten to carry the server index.
    Scan {
        /// The server that was scanned.
        server: usize,
        /// Number of servers in the pool.
        servers: usize,
    },
    /// PUBSUB CHANNELS: every server's list, each name once, first seen first.
    Union,
    /// PUBSUB NUMSUB: `[name, count, …]` from each server, counts summed per name.
    PairsSum,
    /// PUBSUB NUMPAT: the largest count. Patterns subscribed through the proxy are
    /// on every server, so each server counts all of them: summing would count
    /// each pattern once per server.
    Max,
    /// SCRIPT LOAD: every server must give the same answer (the script's SHA1).
    Same,
    /// SCRIPT EXISTS: per position, 1 only when every server has the script.
    And,
    /// SCRIPT KILL: OK if some server killed a script, else the first error
    /// (NOTBUSY when none was running).
    AnyOk,
}

/// Combines the per-part replies (in part order) into the client's reply.
pub fn merge(merge: Merge, parts: &[Part], replies: Vec<Frame>) -> Frame {
    match merge {
        Merge::Values { len } => values(len, parts, replies),
        Merge::Sum => sum(replies),
        Merge::AllOk => replies
            .into_iter()
            .find(Frame::is_error)
            .unwrap_or_else(Frame::ok),
        Merge::Scan { server, servers } => scan_reply(server, servers, replies),
        Merge::Union => union(replies),
        Merge::PairsSum => pairs_sum(replies),
        Merge::Max => max(replies),
        Merge::Same => same(replies),
        Merge::And => and(replies),
        Merge::AnyOk => any_ok(replies),
    }
}

fn values(len: usize, parts: &[Part], replies: Vec<Frame>) -> Frame {
    let mut out = vec![Frame::Null; len];
    for (part, reply) in parts.iter().zip(replies) {
        match reply {
            Frame::Array(values) => {
                for (&pos, value) in part.positions.iter().zip(values) {
                    out[pos] = value;
                }
            }
            other => {
                // A failed fragment answers its own keys' slots with the error.
                for &pos in &part.positions {
                    out[pos] = other.clone();
                }
            }
        }
    }
    Frame::Array(out)
}

fn sum(replies: Vec<Frame>) -> Frame {
    let mut total = 0i64;
    for reply in replies {
        match reply {
            Frame::Integer(n) => total = total.saturating_add(n),
            other => return other,
        }
    }
    Frame::Integer(total)
}

/// The error a reply of an unexpected shape becomes.
fn unexpected(reply: Frame, what: &str) -> Frame {
    if reply.is_error() {
        return reply;
    }
    Frame::error(format!(
        "ERR shardcar: unexpected {what} reply from a server"
    ))
}

/// The items of every reply, which must all be arrays (or sets, from RESP3).
fn arrays(replies: Vec<Frame>, what: &str) -> Result<Vec<Vec<Frame>>, Frame> {
    replies
        .into_iter()
        .map(|reply| match reply {
            Frame::Array(items) | Frame::Set(items) => Ok(items),
            other => Err(unexpected(other, what)),
        })
        .collect()
}

fn union(replies: Vec<Frame>) -> Frame {
    let lists = match arrays(replies, "PUBSUB CHANNELS") {
        Ok(lists) => lists,
        Err(err) => return err,
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for item in lists.into_iter().flatten() {
        let fresh = match &item {
            Frame::Bulk(name) => seen.insert(name.clone()),
            _ => true,
        };
        if fresh {
            out.push(item);
        }
    }
    Frame::Array(out)
}

fn pairs_sum(replies: Vec<Frame>) -> Frame {
    let mut lists = match arrays(replies, "PUBSUB NUMSUB") {
        Ok(lists) => lists.into_iter(),
        Err(err) => return err,
    };
    let Some(mut out) = lists.next() else {
        return Frame::Array(Vec::new());
    };
    for list in lists {
        if list.len() != out.len() {
            return unexpected(Frame::Null, "PUBSUB NUMSUB");
        }
        for (total, count) in out.iter_mut().zip(list).skip(1).step_by(2) {
            match (total, count) {
                (Frame::Integer(total), Frame::Integer(n)) => *total = total.saturating_add(n),
                (_, other) => return unexpected(other, "PUBSUB NUMSUB"),
            }
        }
    }
    Frame::Array(out)
}

fn max(replies: Vec<Frame>) -> Frame {
    let mut best = 0i64;
    for reply in replies {
        match reply {
            Frame::Integer(n) => best = best.max(n),
            other => return unexpected(other, "PUBSUB NUMPAT"),
        }
    }
    Frame::Integer(best)
}

fn same(replies: Vec<Frame>) -> Frame {
    let mut replies = replies.into_iter();
    let Some(first) = replies.next() else {
        return Frame::error("ERR shardcar: no server answered");
    };
    for reply in replies {
        if reply.is_error() {
            return reply;
        }
        if reply != first {
            return Frame::error("ERR shardcar: the servers gave different answers");
        }
    }
    first
}

fn and(replies: Vec<Frame>) -> Frame {
    let mut lists = match arrays(replies, "SCRIPT EXISTS") {
        Ok(lists) => lists.into_iter(),
        Err(err) => return err,
    };
    let Some(mut out) = lists.next() else {
        return Frame::Array(Vec::new());
    };
    for list in lists {
        if list.len() != out.len() {
            return unexpected(Frame::Null, "SCRIPT EXISTS");
        }
        for (all, this) in out.iter_mut().zip(list) {
            match (all, this) {
                (Frame::Integer(all), Frame::Integer(n)) => *all = i64::from(*all != 0 && n != 0),
                (_, other) => return unexpected(other, "SCRIPT EXISTS"),
            }
        }
    }
    Frame::Array(out)
}

fn any_ok(replies: Vec<Frame>) -> Frame {
    let mut first_error = None;
    for reply in replies {
        if !reply.is_error() {
            return reply;
        }
        first_error.get_or_insert(reply);
    }
    first_error.unwrap_or_else(Frame::ok)
}

fn scan_reply(server: usize, servers: usize, replies: Vec<Frame>) -> Frame {
    let Some(Frame::Array(mut page)) = replies.into_iter().next() else {
        return Frame::error("ERR shardcar: unexpected SCAN reply");
    };
    if page.len() != 2 {
        return Frame::error("ERR shardcar: unexpected SCAN reply");
    }
    let inner = match &page[0] {
        Frame::Bulk(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|c| c.parse::<u64>().ok()),
        _ => None,
    };
    let Some(inner) = inner else {
        return Frame::error("ERR shardcar: unexpected SCAN cursor");
    };
    let next = match (inner, server + 1 < servers) {
        (0, true) => ((server as u64 + 1) << SCAN_SERVER_SHIFT).to_string(),
        (0, false) => "0".to_string(),
        (c, _) => ((server as u64) << SCAN_SERVER_SHIFT | c).to_string(),
    };
    page[0] = Frame::bulk(next);
    Frame::Array(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: &[i64]) -> Frame {
        Frame::Array(values.iter().map(|&n| Frame::Integer(n)).collect())
    }

    #[test]
    fn union_keeps_each_name_once_in_first_seen_order() {
        let a = Frame::bulks(["x", "y"]);
        let b = Frame::bulks(["y", "z"]);
        assert_eq!(
            merge(Merge::Union, &[], vec![a, b]),
            Frame::bulks(["x", "y", "z"])
        );
    }

    #[test]
    fn numsub_counts_add_up_per_channel() {
        let one = Frame::Array(vec![
            Frame::bulk("a"),
            Frame::Integer(1),
            Frame::bulk("b"),
            Frame::Integer(0),
        ]);
        let two = Frame::Array(vec![
            Frame::bulk("a"),
            Frame::Integer(2),
            Frame::bulk("b"),
            Frame::Integer(3),
        ]);
        let want = Frame::Array(vec![
            Frame::bulk("a"),
            Frame::Integer(3),
            Frame::bulk("b"),
            Frame::Integer(3),
        ]);
        assert_eq!(merge(Merge::PairsSum, &[], vec![one, two]), want);
    }

    #[test]
    fn numsub_of_different_lengths_is_an_error() {
        let one = Frame::Array(vec![Frame::bulk("a"), Frame::Integer(1)]);
        let reply = merge(Merge::PairsSum, &[], vec![one, Frame::Array(vec![])]);
        assert!(reply.is_error());
    }

    #[test]
    fn numpat_is_the_largest_count() {
        let replies = vec![Frame::Integer(2), Frame::Integer(3), Frame::Integer(1)];
        assert_eq!(merge(Merge::Max, &[], replies), Frame::Integer(3));
    }

    #[test]
    fn script_load_answers_once_and_disagreement_is_an_error() {
        let sha = Frame::bulk("abc");
        assert_eq!(merge(Merge::Same, &[], vec![sha.clone(), sha.clone()]), sha);
        let reply = merge(Merge::Same, &[], vec![sha, Frame::bulk("def")]);
        assert!(reply.is_error());
        let err = Frame::error("ERR Error compiling script");
        assert_eq!(merge(Merge::Same, &[], vec![err.clone(), err.clone()]), err);
    }

    #[test]
    fn script_exists_ands_per_position() {
        let replies = vec![ints(&[1, 1, 0]), ints(&[1, 0, 0])];
        assert_eq!(merge(Merge::And, &[], replies), ints(&[1, 0, 0]));
        let short = vec![ints(&[1, 1]), ints(&[1])];
        assert!(merge(Merge::And, &[], short).is_error());
    }

    #[test]
    fn script_kill_is_ok_if_one_server_killed() {
        let notbusy = Frame::error("NOTBUSY No scripts in execution right now.");
        let replies = vec![notbusy.clone(), Frame::ok(), notbusy.clone()];
        assert_eq!(merge(Merge::AnyOk, &[], replies), Frame::ok());
        assert_eq!(merge(Merge::AnyOk, &[], vec![notbusy.clone()]), notbusy);
    }

    #[test]
    fn an_error_part_becomes_the_reply() {
        let err = Frame::error("ERR Connection refused");
        assert_eq!(
            merge(Merge::Union, &[], vec![Frame::bulks(["a"]), err.clone()]),
            err
        );
        assert_eq!(merge(Merge::Max, &[], vec![err.clone()]), err);
        assert_eq!(
            merge(Merge::Sum, &[], vec![Frame::Integer(1), err.clone()]),
            err
        );
    }
}
