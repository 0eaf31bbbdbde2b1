//! The writing half of a session: resolves pending replies strictly in request
//! order and writes them, and meanwhile writes the pub/sub messages of the
//! client's subscriber connections as they come.
//!
//! Replies are encoded into one buffer, written whenever the writer would
//! otherwise wait. Messages are written at once: between replies, or while a reply
//! is awaited. Subscription confirmations are the proxy's own (with the client's
//! counts) and are written only once every server involved confirmed, so a client
//! that saw `subscribe` can rely on the subscription being in place.

use bytes::BytesMut;
use futures_util::FutureExt;
use std::future::Future;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::telemetry::proxy::Timer;

use super::super::backend::{BackendError, Reply};
use super::super::pool::Pool;
use super::super::route::{self, Split};
use super::super::stats;
use super::super::stream::WriteHalf;
use super::super::subscriber::Event;
use crate::cache::CachedRead;
use crate::resp::{self, Frame, Protocol};

/// Bytes buffered before the writer writes without waiting for a pause.
const FLUSH_BYTES: usize = 64 * 1024;

/// A reply on its way to the client, or an instruction for the writer.
#[derive(Debug)]
pub(super) enum Pending {
    /// Known already.
    Ready(Frame),
    /// From one server.
    Backend {
        server: usize,
        reply: oneshot::Receiver<Reply>,
        sent: Timer,
        /// Private connections (blocking commands, transactions) have no timeout.
        timed: bool,
    },
    /// From several servers, to merge.
    Split {
        split: Split,
        replies: Vec<oneshot::Receiver<Reply>>,
        sent: Timer,
    },
    /// A reply the client must not see: the MULTI and QUEUED of commands the proxy
    /// had already answered while it did not know the transaction's server.
    Swallow {
        server: usize,
        reply: oneshot::Receiver<Reply>,
    },
    /// (Un)subscription confirmations, written once each `(server, count)` has
    /// confirmed `count` times.
    Subscribed {
        frames: Vec<Frame>,
        acks: Vec<(usize, usize)>,
    },
    /// Tell the reader every earlier reply is in.
    Fence(oneshot::Sender<()>),
    /// Messages of subscriber connections opened before this epoch are stale (RESET).
    Epoch(u64),
    /// Encode later replies with this protocol (HELLO).
    Protocol(Protocol),
    /// Later replies come from this snapshot of the pool (a reload).
    Pool(Arc<Pool>),
    /// Close the connection after the replies before this one.
    Close,
    /// From the pool's SQL cache.
    Cache(crate::cache::CacheReply),
    /// A read of a cached key, sent to one server as a plain read; a miss
    /// is resolved here, from pending writes or SQL, in its turn.
    CacheRead {
        server: usize,
        reply: oneshot::Receiver<Reply>,
        sent: Timer,
        read: CachedRead,
    },
}

/// Why the writer stops early.
#[derive(Debug)]
struct Stop;

struct Writer {
    socket: WriteHalf,
    out: BytesMut,
    protocol: Protocol,
    pool: Arc<Pool>,
    client: u64,
    events: mpsc::Receiver<Box<Event>>,
    events_open: bool,
    /// Confirmations received per server and not yet matched to a `Subscribed`.
    acks: Vec<usize>,
    epoch: u64,
}

/// Writes the client's replies and messages until the session ends.
pub(super) async fn run(
    socket: WriteHalf,
    pending: mpsc::Receiver<Box<Pending>>,
    events: mpsc::Receiver<Box<Event>>,
    pool: Arc<Pool>,
    client: u64,
) {
    let servers = pool.servers.len();
    let mut writer = Writer {
        socket,
        out: BytesMut::new(),
        protocol: Protocol::Resp2,
        pool,
        client,
        events,
        events_open: true,
        acks: vec![0; servers],
        epoch: 0,
    };
    if writer.serve(pending).await.is_ok() {
        let _ = writer.flush().await;
    }
    let _ = writer.socket.shutdown().await;
}

impl Writer {
    async fn serve(&mut self, mut pending: mpsc::Receiver<Box<Pending>>) -> Result<(), Stop> {
        loop {
            let next = match pending.try_recv() {
                Ok(next) => next,
                Err(mpsc::error::TryRecvError::Empty) => {
                    self.flush().await?;
                    match self.idle(&mut pending).await? {
                        Some(next) => next,
                        None => return Ok(()),
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => return Ok(()),
            };
            // Boxed, as the session's request handling: idle writers stay small.
            if !Box::pin(self.resolve(*next)).await? {
                return Ok(());
            }
            if self.out.len() > FLUSH_BYTES {
                self.flush().await?;
            }
        }
    }

    /// Waits for the next pending reply, writing messages meanwhile.
    async fn idle(
        &mut self,
        pending: &mut mpsc::Receiver<Box<Pending>>,
    ) -> Result<Option<Box<Pending>>, Stop> {
        loop {
            tokio::select! {
                next = pending.recv() => return Ok(next),
                event = self.events.recv(), if self.events_open => self.on_event(event.map(|e| *e)).await?,
            }
        }
    }

    /// Awaits `future`, writing messages meanwhile.
    async fn wait<F: Future>(&mut self, future: F) -> Result<F::Output, Stop> {
        tokio::pin!(future);
        loop {
            tokio::select! {
                biased;
                output = &mut future => return Ok(output),
                event = self.events.recv(), if self.events_open => self.on_event(event.map(|e| *e)).await?,
            }
        }
    }

    async fn on_event(&mut self, event: Option<Event>) -> Result<(), Stop> {
        match event {
            None => self.events_open = false,
            Some(Event::Ack { server }) => self.acks[server] += 1,
            Some(Event::Message { epoch, frame }) => {
                if epoch == self.epoch {
                    resp::encode(&frame, self.protocol, &mut self.out);
                    if self.events.is_empty() {
                        self.flush().await?;
                    }
                }
            }
            Some(Event::Lost {
                epoch,
                server,
                error,
            }) => {
                if epoch == self.epoch {
                    let text = format!(
                        "ERR shardcar: lost the subscription connection to server {server} ({error}); reconnect and subscribe again"
                    );
                    resp::encode(&Frame::error(text), self.protocol, &mut self.out);
                    let _ = self.flush().await;
                    return Err(Stop);
                }
            }
        }
        Ok(())
    }

    /// Handles one pending entry; false when the connection must close.
    async fn resolve(&mut self, next: Pending) -> Result<bool, Stop> {
        let frame = match next {
            Pending::Ready(frame) => frame,
            Pending::Backend {
                server,
                reply,
                sent,
                timed,
            } => {
                let deadline = self.pool.timeout().filter(|_| timed).map(|t| sent.at() + t);
                let outcome = self.reply(reply, deadline).await?;
                settle(&self.pool, server, self.client, outcome)
            }
            Pending::Split {
                split,
                replies,
                sent,
            } => self.split(split, replies, sent).await?,
            Pending::Swallow { server, reply } => {
                let outcome = self.reply(reply, None).await?;
                settle(&self.pool, server, self.client, outcome);
                return Ok(true);
            }
            Pending::Subscribed { frames, acks } => {
                self.confirmations(&acks).await?;
                for frame in &frames {
                    resp::encode(frame, self.protocol, &mut self.out);
                }
                return Ok(true);
            }
            Pending::Fence(done) => {
                let _ = done.send(());
                return Ok(true);
            }
            Pending::Epoch(epoch) => {
                self.epoch = epoch;
                return Ok(true);
            }
            Pending::Protocol(protocol) => {
                self.protocol = protocol;
                return Ok(true);
            }
            Pending::Pool(pool) => {
                self.acks = vec![0; pool.servers.len()];
                self.pool = pool;
                return Ok(true);
            }
            Pending::Close => return Ok(false),
            Pending::CacheRead {
                server,
                reply,
                sent,
                read,
            } => self.cached(server, reply, sent, read).await?,
            Pending::Cache(mut reply) => match (&mut reply).now_or_never() {
                Some(frame) => frame,
                None => {
                    self.flush().await?;
                    reply.await
                }
            },
        };
        let before = self.out.len();
        resp::encode(&frame, self.protocol, &mut self.out);
        self.pool.metrics.client_sent(self.out.len() - before);
        Ok(true)
    }

    /// One server's reply: at once if it is there, else after writing what is
    /// buffered, within `deadline`.
    async fn reply(
        &mut self,
        mut reply: oneshot::Receiver<Reply>,
        deadline: Option<Instant>,
    ) -> Result<Reply, Stop> {
        match reply.try_recv() {
            Ok(ready) => Ok(ready),
            Err(oneshot::error::TryRecvError::Closed) => {
                Ok(Err(BackendError::Io("Connection closed".into())))
            }
            Err(oneshot::error::TryRecvError::Empty) => {
                self.flush().await?;
                self.wait(await_reply(reply, deadline)).await
            }
        }
    }

    /// The reply to a read of a cached key: the backend's, shaped, on a hit;
    /// on a miss, once the cache has it from pending writes or SQL (later
    /// replies wait meanwhile, so none overtakes it).
    async fn cached(
        &mut self,
        server: usize,
        reply: oneshot::Receiver<Reply>,
        sent: Timer,
        read: CachedRead,
    ) -> Result<Frame, Stop> {
        let deadline = self.pool.timeout().map(|t| sent.at() + t);
        let outcome = self.reply(reply, deadline).await?;
        let frame = settle(&self.pool, server, self.client, outcome);
        match read.answer(&self.pool, frame) {
            Ok(frame) => Ok(frame),
            Err(miss) => {
                self.flush().await?;
                let pool = Arc::clone(&self.pool);
                // Boxed: the SQL path's state is large, and inline it would
                // be moved with every reply the writer resolves.
                self.wait(Box::pin(miss.resolve(&pool))).await
            }
        }
    }

    async fn split(
        &mut self,
        split: Split,
        replies: Vec<oneshot::Receiver<Reply>>,
        sent: Timer,
    ) -> Result<Frame, Stop> {
        let deadline = self.pool.timeout().map(|t| sent.at() + t);
        let mut frames = Vec::with_capacity(replies.len());
        for (part, reply) in split.parts.iter().zip(replies) {
            let outcome = self.reply(reply, deadline).await?;
            frames.push(settle(&self.pool, part.server, self.client, outcome));
        }
        Ok(route::merge(split.merge, &split.parts, frames))
    }

    /// Waits until each server in `acks` confirmed as many times as it owes.
    async fn confirmations(&mut self, acks: &[(usize, usize)]) -> Result<(), Stop> {
        while !acks.iter().all(|&(server, n)| self.acks[server] >= n) {
            self.flush().await?;
            if !self.events_open {
                return Err(Stop);
            }
            let event = self.events.recv().await;
            self.on_event(event.map(|e| *e)).await?;
        }
        for &(server, n) in acks {
            self.acks[server] -= n;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        if !self.out.is_empty() {
            self.socket.write_all(&self.out).await.map_err(|_| Stop)?;
            self.out.clear();
        }
        Ok(())
    }
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
        // The client left: not the server's failure.
        Err(err @ BackendError::Aborted) => err.to_frame(),
        Err(err) => {
            pool.metrics.backend_error(&server.metrics, &err);
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
