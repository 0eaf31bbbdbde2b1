//! One client of a pool: read requests, route each, and write the replies back in
//! request order, however many servers answered them and in whatever order.
//!
//! The reading half parses every complete request in its buffer and, for each,
//! queues a [`Pending`] reply: ready at once (local commands, errors) or a slot a
//! backend connection will fill. The writing half resolves them strictly in order,
//! encoding into one buffer that it writes whenever it would otherwise wait.

use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::backend::{BackendError, Link, Reply};
use super::local::{self, Effect};
use super::pool::Pool;
use super::route::{self, Plan, Split};
use super::stats::{self, ProcessStats};
use crate::resp::{self, Decoder, Frame, Protocol, Request};

/// Replies a client may have outstanding before the proxy stops reading from it.
const MAX_PENDING: usize = 16 * 1024;

/// A reply on its way to the client.
#[derive(Debug)]
enum Pending {
    /// Known already.
    Ready(Frame),
    /// From one server.
    Backend {
        server: usize,
        reply: oneshot::Receiver<Reply>,
        sent: Instant,
        /// Private connections (blocking commands) have no timeout.
        timed: bool,
    },
    /// From several servers, to merge.
    Split {
        split: Split,
        replies: Vec<oneshot::Receiver<Reply>>,
        sent: Instant,
    },
    /// Encode later replies with this protocol (HELLO).
    Protocol(Protocol),
    /// Close the connection after the replies before this one.
    Close,
    /// From the pool's SQL cache.
    Cache(oneshot::Receiver<Frame>),
}

/// What a session knows about its client.
#[derive(Debug)]
pub struct Client {
    /// Unique id (CLIENT ID), also the key for choosing a server connection.
    pub id: u64,
    /// The pool this client connected to.
    pub pool: Arc<Pool>,
    /// Protocol spoken to the client.
    pub protocol: Protocol,
    /// Passed AUTH, or the pool needs none.
    pub authenticated: bool,
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// Process-wide counters (INFO).
    pub process: Arc<ProcessStats>,
}

/// Serves one client until it leaves.
pub async fn serve(socket: TcpStream, id: u64, pool: Arc<Pool>, process: Arc<ProcessStats>) {
    let _ = socket.set_nodelay(true);
    let (mut reader, writer) = socket.into_split();
    let (queue, pending) = mpsc::channel(MAX_PENDING);
    let writing = tokio::spawn(write_replies(writer, pending, Arc::clone(&pool), id));
    let authenticated = pool.cfg.requirepass.is_none() && pool.cfg.redis_auth.is_none();
    let mut session = Session {
        client: Client {
            id,
            pool,
            protocol: Protocol::Resp2,
            authenticated,
            name: None,
            process,
        },
        queue,
        private: HashMap::new(),
        cache: crate::cache::SessionCache::default(),
    };
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let pool = Arc::clone(&session.client.pool);
    loop {
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                stats::incr(&pool.stats.client_eof);
                break;
            }
            Ok(_) => {}
            Err(_) => {
                stats::incr(&pool.stats.client_err);
                break;
            }
        }
        if !session.drain(&mut decoder, &mut buf).await {
            break;
        }
    }
    drop(session);
    let _ = writing.await;
}

struct Session {
    client: Client,
    queue: mpsc::Sender<Pending>,
    /// The client's own connections, for blocking commands.
    private: HashMap<usize, Link>,
    /// Requests on cached keys, run in order.
    cache: crate::cache::SessionCache,
}

impl Session {
    /// Handles every complete request in `buf`; false when the connection must end.
    async fn drain(&mut self, decoder: &mut Decoder, buf: &mut BytesMut) -> bool {
        loop {
            match decoder.decode_request(buf) {
                Ok(Some(request)) => {
                    if !self.handle(request).await {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(err) => {
                    stats::incr(&self.client.pool.stats.client_err);
                    self.push(Pending::Ready(err.to_frame())).await;
                    self.push(Pending::Close).await;
                    return false;
                }
            }
        }
    }

    async fn push(&self, pending: Pending) -> bool {
        self.queue.send(pending).await.is_ok()
    }

    async fn handle(&mut self, request: Request) -> bool {
        if !self.client.authenticated && !local::allowed_before_auth(&request.args[0]) {
            return self
                .push(Pending::Ready(Frame::error(
                    "NOAUTH Authentication required.",
                )))
                .await;
        }
        let pool = Arc::clone(&self.client.pool);
        if let Some(reply) = crate::cache::intercept(&pool, &mut self.cache, &request.args) {
            return self.push(Pending::Cache(reply)).await;
        }
        let pending = match route::plan(&pool, &request.args) {
            Plan::Reply(frame) => Pending::Ready(frame),
            Plan::Local(spec) => {
                let (frame, effect) = local::handle(&mut self.client, spec, &request.args);
                self.push(Pending::Ready(frame)).await;
                return match effect {
                    None => true,
                    Some(Effect::Protocol(p)) => self.push(Pending::Protocol(p)).await,
                    Some(Effect::Close) => {
                        self.push(Pending::Close).await;
                        false
                    }
                };
            }
            Plan::Forward(server) => self.forward(&pool, server, &request, false),
            Plan::Private(server) => self.forward(&pool, server, &request, true),
            Plan::Split(split) => {
                stats::add(&pool.stats.fragments, split.parts.len() as u64);
                let replies = split
                    .parts
                    .iter()
                    .map(|part| {
                        let server = &pool.servers[part.server];
                        count_request(server, part.request.len());
                        server.link(self.client.id).send(part.request.clone())
                    })
                    .collect();
                Pending::Split {
                    split,
                    replies,
                    sent: Instant::now(),
                }
            }
        };
        self.push(pending).await
    }

    fn forward(&mut self, pool: &Pool, server: usize, request: &Request, private: bool) -> Pending {
        let bytes = if request.inline {
            request.to_resp()
        } else {
            request.raw.clone()
        };
        let target = &pool.servers[server];
        count_request(target, bytes.len());
        let reply = if private {
            self.private
                .entry(server)
                .or_insert_with(|| Link::new(target.endpoint()))
                .send(bytes)
        } else {
            target.link(self.client.id).send(bytes)
        };
        Pending::Backend {
            server,
            reply,
            sent: Instant::now(),
            timed: !private,
        }
    }
}

fn count_request(server: &super::pool::Server, bytes: usize) {
    stats::incr(&server.stats.requests);
    stats::add(&server.stats.request_bytes, bytes as u64);
}

/// Resolves pending replies in order and writes them.
async fn write_replies(
    mut writer: OwnedWriteHalf,
    mut pending: mpsc::Receiver<Pending>,
    pool: Arc<Pool>,
    id: u64,
) {
    let mut out = BytesMut::with_capacity(16 * 1024);
    let mut protocol = Protocol::Resp2;
    loop {
        let next = match pending.try_recv() {
            Ok(next) => next,
            Err(mpsc::error::TryRecvError::Empty) => {
                if flush(&mut writer, &mut out).await.is_err() {
                    return;
                }
                match pending.recv().await {
                    Some(next) => next,
                    None => break,
                }
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
        };
        let frame = match next {
            Pending::Ready(frame) => frame,
            Pending::Protocol(p) => {
                protocol = p;
                continue;
            }
            Pending::Close => break,
            Pending::Cache(mut reply) => {
                if reply.is_empty() && flush(&mut writer, &mut out).await.is_err() {
                    return;
                }
                (&mut reply)
                    .await
                    .unwrap_or_else(|_| Frame::error("ERR shardcar: cache request failed"))
            }
            Pending::Backend {
                server,
                mut reply,
                sent,
                timed,
            } => {
                let outcome = match reply.try_recv() {
                    Ok(ready) => ready,
                    Err(oneshot::error::TryRecvError::Closed) => {
                        Err(BackendError::Io("Connection closed".into()))
                    }
                    Err(oneshot::error::TryRecvError::Empty) => {
                        if flush(&mut writer, &mut out).await.is_err() {
                            return;
                        }
                        let deadline = pool.timeout().filter(|_| timed).map(|t| sent + t);
                        await_reply(reply, deadline).await
                    }
                };
                settle(&pool, server, id, outcome)
            }
            Pending::Split {
                split,
                replies,
                sent,
            } => {
                if flush(&mut writer, &mut out).await.is_err() {
                    return;
                }
                let deadline = pool.timeout().map(|t| sent + t);
                let mut frames = Vec::with_capacity(replies.len());
                for (part, reply) in split.parts.iter().zip(replies) {
                    frames.push(settle(
                        &pool,
                        part.server,
                        id,
                        await_reply(reply, deadline).await,
                    ));
                }
                route::merge(split.merge, &split.parts, frames)
            }
        };
        resp::encode(&frame, protocol, &mut out);
        if out.len() > 64 * 1024 && flush(&mut writer, &mut out).await.is_err() {
            return;
        }
    }
    let _ = flush(&mut writer, &mut out).await;
    let _ = writer.shutdown().await;
}

async fn flush(writer: &mut OwnedWriteHalf, out: &mut BytesMut) -> std::io::Result<()> {
    if !out.is_empty() {
        writer.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

async fn await_reply(reply: oneshot::Receiver<Reply>, deadline: Option<Instant>) -> Reply {
    let outcome = match deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, reply).await {
            Ok(outcome) => outcome,
            Err(_) => return Err(BackendError::Timeout),
        },
        None => reply.await,
    };
    outcome.unwrap_or_else(|_| Err(BackendError::Io("Connection closed".into())))
}

/// Turns a backend outcome into the client's frame, keeping health and stats.
fn settle(pool: &Pool, index: usize, client: u64, reply: Reply) -> Frame {
    let server = &pool.servers[index];
    match reply {
        Ok(frame) => {
            pool.record_success(index);
            stats::incr(&server.stats.responses);
            frame
        }
        Err(err) => {
            match err {
                BackendError::Timeout => {
                    stats::incr(&server.stats.server_timedout);
                    server.link(client).reset();
                }
                _ => stats::incr(&server.stats.server_err),
            }
            stats::incr(&pool.stats.forward_error);
            pool.record_failure(index);
            err.to_frame()
        }
    }
}
