//! The cache's own commands to the pool's backends: cached values live there,
//! routed like any key.
//!
//! Every cache command goes over the same connection of a server
//! ([`Server::cache_link`](crate::proxy::pool::Server::cache_link)), whatever
//! worker thread queues it, so commands the cache queues in some order reach
//! the server in that order. Refills and invalidations rely on it: both are
//! queued under one lock, so a refill queued before an invalidation is also
//! applied before it; so do write-back writes, queued to the journal and to
//! the backend in one order.

use bytes::{Bytes, BytesMut};
use std::time::Duration;
use tokio::sync::oneshot;

use crate::proxy::backend::{encode_command, Reply};
use crate::proxy::pool::Pool;
use crate::resp::Frame;

/// A command queued to a backend, its reply to come.
#[derive(Debug)]
pub(crate) struct Sent {
    reply: Option<oneshot::Receiver<Reply>>,
    server: usize,
    timeout: Option<Duration>,
}

/// Queues `args` to the server owning `key`; does not wait.
pub(crate) fn send(pool: &Pool, key: &[u8], args: &[&[u8]]) -> Sent {
    let mut out = BytesMut::new();
    encode_command(args, &mut out);
    match pool.server_for(key) {
        Some(server) => Sent {
            reply: Some(pool.servers[server].cache_link().send(out.freeze())),
            server,
            timeout: pool.timeout(),
        },
        None => Sent {
            reply: None,
            server: 0,
            timeout: None,
        },
    }
}

impl Sent {
    /// The server's reply; an unreachable server gives an error frame.
    pub(crate) async fn reply(self, pool: &Pool) -> Frame {
        let Some(rx) = self.reply else {
            return Frame::error(format!(
                "ERR shardcar: no live server in pool '{}' (Connection refused)",
                pool.cfg.name
            ));
        };
        let outcome = match self.timeout {
            Some(t) => tokio::time::timeout(t, rx)
                .await
                .unwrap_or(Ok(Err(crate::proxy::backend::BackendError::Timeout))),
            None => rx.await,
        };
        match outcome {
            Ok(Ok(frame)) => {
                pool.record_success(self.server);
                frame
            }
            Ok(Err(err)) => {
                pool.record_failure(self.server);
                err.to_frame()
            }
            Err(_) => Frame::error("ERR shardcar: backend connection closed"),
        }
    }
}

/// Sends and waits.
pub(crate) async fn call(pool: &Pool, key: &[u8], args: &[&[u8]]) -> Frame {
    send(pool, key, args).reply(pool).await
}

/// A cached value as the backend holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cached {
    /// A string key's value.
    String(Bytes),
    /// A hash key's fields, in the order read.
    Hash(Vec<(Bytes, Bytes)>),
}

impl Cached {
    /// Queues the commands that store this value under `key` for `ttl`.
    pub(crate) fn store(&self, pool: &Pool, key: &[u8], ttl: Duration) -> Vec<Sent> {
        let ms = ttl.as_millis().max(1).to_string();
        match self {
            Cached::String(v) => vec![send(pool, key, &[b"SET", key, v, b"PX", ms.as_bytes()])],
            Cached::Hash(fields) if fields.is_empty() => Vec::new(),
            Cached::Hash(fields) => {
                let mut args: Vec<&[u8]> = vec![b"HSET", key];
                for (f, v) in fields {
                    args.push(f);
                    args.push(v);
                }
                vec![
                    send(pool, key, &args),
                    send(pool, key, &[b"PEXPIRE", key, ms.as_bytes()]),
                ]
            }
        }
    }
}

/// The read that tells whether a cached key is in the backend: `GET` for
/// string rules, `HGETALL` for hash rules (an HGET's nil could be a column
/// without a value).
pub(crate) fn read_command(hash: bool) -> &'static [u8] {
    if hash {
        b"HGETALL"
    } else {
        b"GET"
    }
}

/// The value in the backend's reply to [`read_command`]: `Ok(None)` is a
/// miss; `Err` is the backend's error frame.
pub(crate) fn to_cached(frame: Frame, hash: bool) -> Result<Option<Cached>, Frame> {
    match frame {
        Frame::Bulk(v) => Ok(Some(Cached::String(v))),
        Frame::Null => Ok(None),
        Frame::Array(items) if hash => Ok((!items.is_empty()).then(|| Cached::Hash(pairs(items)))),
        Frame::Map(pairs) if hash => Ok((!pairs.is_empty()).then(|| {
            Cached::Hash(
                pairs
                    .into_iter()
                    .filter_map(|(f, v)| Some((bulk(f)?, bulk(v)?)))
                    .collect(),
            )
        })),
        Frame::Error(e) => Err(Frame::Error(e)),
        other => Err(Frame::error(format!(
            "ERR shardcar: unexpected backend reply {other:?}"
        ))),
    }
}

fn bulk(frame: Frame) -> Option<Bytes> {
    match frame {
        Frame::Bulk(b) | Frame::Simple(b) => Some(b),
        _ => None,
    }
}

fn pairs(items: Vec<Frame>) -> Vec<(Bytes, Bytes)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter().filter_map(bulk);
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        out.push((f, v));
    }
    out
}
