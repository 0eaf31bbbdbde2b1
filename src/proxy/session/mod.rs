//! One client of a pool: read requests, route each, and write the replies back in
//! request order, however many servers answered them and in whatever order.
//!
//! The reading half (this file) parses every complete request in its buffer and,
//! for each, queues a [`Pending`] reply for the writing half ([`writer`]): ready
//! at once (local commands, errors) or a slot a backend connection will fill.
//!
//! # Lanes
//! A request reaches a server on one of three kinds of connection: the pool's
//! shared, multiplexed ones; the client's own private one (blocking commands,
//! transactions, see [`txn`]); or its subscriber connection ([`pubsub`]). Each
//! keeps the client's requests in order, but two of them do not keep order
//! between each other. So when the client's next request for a server goes on a
//! different kind of connection than its last one there, the session first waits
//! for every earlier reply (a fence): the server then sees the client's commands
//! in the order the client sent them, as Redis would. While it waits it still
//! watches the client's socket, so a client that leaves is noticed.
//!
//! # Reloads
//! Before each request the session checks the routing state's generation (one
//! atomic load). When its pool has a new snapshot, the session moves to it
//! behind a fence, so every request sent on the old snapshot is answered first
//! and the client's commands stay in order even where a server's connections
//! changed. Its private connections close then (they reopen on demand). A
//! client in a transaction or with subscriptions stays on its snapshot until
//! it has neither: their connections belong to the old servers.

mod pubsub;
mod subscriptions;
mod txn;
mod writer;

use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot};

use super::backend::Link;
use super::drain::Registered;
use super::local::{self, Effect};
use super::pool::{Pool, Server};
use super::reload::{self, Table};
use super::route::{self, Plan, Split};
use super::stats::{self, ProcessStats};
use super::stream::{ReadHalf, Stream};
use crate::cache::Taken;
use crate::command::CommandSpec;
use crate::resp::{Decoder, Frame, Protocol, Request};
use crate::telemetry::proxy::ErrorKind;
use subscriptions::Subscriptions;
use txn::Txn;
use writer::Pending;

/// How much a read asks for at once.
const READ_CHUNK: usize = 16 * 1024;

/// Replies a client may have outstanding before the proxy stops reading from it.
const MAX_PENDING: usize = 16 * 1024;

/// Pub/sub events buffered for the writer before subscriber connections stop
/// reading (and their servers hold the messages, or drop a too slow subscriber).
const MAX_EVENTS: usize = 4 * 1024;

/// Bytes a client may send while the session waits at a fence; more waits too.
const MAX_READ_AHEAD: usize = 1024 * 1024;

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
    /// CLIENT NOECHO: the client's own publications do not come back to it.
    pub noecho: bool,
    /// Channels, shard channels and patterns the client is subscribed to.
    pub subscriptions: usize,
}

/// The kind of connection a request went to a server on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Shared,
    Private,
    Subscriber,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// QUIT or a protocol error: replies owed are still delivered.
    Quit,
    /// The client left: its own connections close at once.
    Gone,
}

/// Serves one client until it leaves.
pub async fn serve(
    socket: Stream,
    id: u64,
    pool: Arc<Pool>,
    routing: Table,
    process: Arc<ProcessStats>,
    registered: &Registered,
) {
    socket.tune(false);
    let (reader, writer) = socket.into_split();
    let (queue, pending) = mpsc::channel(MAX_PENDING);
    let (events_tx, events) = mpsc::channel(MAX_EVENTS);
    let writing = tokio::spawn(writer::run(writer, pending, events, Arc::clone(&pool), id));
    registered.spawned(writing.abort_handle());
    let authenticated = pool.cfg.requirepass.is_none() && pool.cfg.redis_auth.is_none();
    let servers = pool.servers.len();
    let mut session = Session {
        client: Client {
            id,
            pool,
            protocol: Protocol::Resp2,
            authenticated,
            name: None,
            process,
            noecho: false,
            subscriptions: 0,
        },
        queue,
        reader,
        routing,
        generation: 0,
        buf: BytesMut::new(),
        decoder: Decoder::default(),
        private: HashMap::new(),
        cache: crate::cache::SessionCache::default(),
        lanes: vec![None; servers],
        txn: Txn::default(),
        subs: Subscriptions::new(servers, events_tx),
    };
    let end = session.run(registered.stopped()).await;
    // Draining, the end of input is the proxy's doing, not the client leaving:
    // the client's own connections must outlive the replies they owe.
    let end = if end == End::Gone && session.client.pool.is_draining() {
        End::Quit
    } else {
        end
    };
    let private = session
        .client
        .pool
        .lingering(std::mem::take(&mut session.private));
    session.finish(end);
    drop(session);
    let _ = writing.await;
    drop(private);
}

struct Session {
    client: Client,
    /// Boxed entries: the channel's slots stay small for idle clients.
    queue: mpsc::Sender<Box<Pending>>,
    reader: ReadHalf,
    /// The routing state, and the generation of it the session last checked.
    routing: Table,
    generation: u64,
    buf: BytesMut,
    decoder: Decoder,
    /// The client's own connections: blocking commands, transactions.
    private: HashMap<usize, Link>,
    /// The lane of the client's last request to each server.
    lanes: Vec<Option<Lane>>,
    txn: Txn,
    subs: Subscriptions,
    /// Requests on cached keys, run in order.
    cache: crate::cache::SessionCache,
}

impl Session {
    /// Reads and handles requests until the client leaves or `stopped` resolves
    /// (the drain: what was read is still answered).
    async fn run(&mut self, stopped: impl std::future::Future<Output = ()>) -> End {
        let pool = Arc::clone(&self.client.pool);
        tokio::pin!(stopped);
        loop {
            // The read buffer is allocated when the first bytes arrive, so an idle
            // client costs no buffer (10,000 idle connections are common).
            let ready = tokio::select! {
                ready = self.reader.readable() => ready,
                () = &mut stopped => return End::Gone,
            };
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK);
            }
            let read = match ready {
                Ok(()) => read_ready(&mut self.reader, &mut self.buf).await,
                Err(err) => Err(err),
            };
            if matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock) {
                continue;
            }
            match read {
                Ok(0) => {
                    stats::incr(&pool.stats.client_eof);
                    return End::Gone;
                }
                Ok(n) => pool.metrics.client_received(n),
                Err(_) => {
                    stats::incr(&pool.stats.client_err);
                    pool.metrics.error(ErrorKind::Client);
                    return End::Gone;
                }
            }
            if let Err(end) = self.drain().await {
                return end;
            }
        }
    }

    /// Closes the client's own connections: gently after QUIT, at once when the
    /// client is gone (so a server unblocks a BLPOP nobody waits for).
    fn finish(&mut self, end: End) {
        if end == End::Gone {
            for link in self.private.values() {
                link.abort();
            }
            self.subs.abort_all();
        } else {
            self.subs.release_all();
        }
        self.private.clear();
    }

    /// Handles every complete request in the buffer.
    async fn drain(&mut self) -> Result<(), End> {
        loop {
            match self.decoder.decode_request(&mut self.buf) {
                // Boxed: handling's state is large and exists only while a
                // request is handled, not for the life of an idle session.
                Ok(Some(request)) => Box::pin(self.handle(request)).await?,
                Ok(None) => return Ok(()),
                Err(err) => {
                    stats::incr(&self.client.pool.stats.client_err);
                    self.client.pool.metrics.error(ErrorKind::Protocol);
                    self.reply(err.to_frame()).await?;
                    self.push(Pending::Close).await?;
                    return Err(End::Quit);
                }
            }
        }
    }

    async fn push(&self, pending: Pending) -> Result<(), End> {
        self.queue
            .send(Box::new(pending))
            .await
            .map_err(|_| End::Gone)
    }

    async fn reply(&self, frame: Frame) -> Result<(), End> {
        self.push(Pending::Ready(frame)).await
    }

    async fn handle(&mut self, request: Request) -> Result<(), End> {
        if let Some(next) = reload::newer(&self.routing, &mut self.generation, &self.client.pool) {
            self.move_to(next).await?;
        }
        self.client.pool.metrics.request(&request.args[0]);
        if !self.client.authenticated && !local::allowed_before_auth(&request.args[0]) {
            self.client.pool.metrics.error(ErrorKind::Client);
            return self
                .reply(Frame::error("NOAUTH Authentication required."))
                .await;
        }
        if let Some(refusal) = self.subs.refuses(&self.client, &request.args) {
            return self.reply(refusal).await;
        }
        let in_multi = self.txn.is_queuing();
        let pool = &self.client.pool;
        if let Some(taken) = crate::cache::intercept(pool, &mut self.cache, &request, in_multi) {
            return self.cached(taken, &request.args[0]).await;
        }
        let plan = route::plan(&self.client.pool, &request.args);
        if self.txn.is_queuing() && !txn::is_control(&plan) {
            return self.queue_in_multi(plan, &request).await;
        }
        match plan {
            Plan::Reply(frame) => {
                let frame = self.client.pool.metrics.immediate(frame);
                self.reply(frame).await
            }
            Plan::Local(spec) => self.local(spec, &request.args).await,
            Plan::Stateful(spec) => self.stateful(spec, &request).await,
            Plan::Forward(server) => self.forward(server, &request, false).await,
            Plan::Private(server) => self.forward(server, &request, true).await,
            Plan::Split(split) => self.split(split, &request.args[0]).await,
        }
    }

    async fn local(&mut self, spec: &'static CommandSpec, args: &[Bytes]) -> Result<(), End> {
        if spec.name == "reset" {
            self.reset().await?;
        }
        let (frame, effect) = local::handle(&mut self.client, spec, args);
        self.reply(frame).await?;
        match effect {
            None => Ok(()),
            Some(Effect::Protocol(p)) => self.push(Pending::Protocol(p)).await,
            Some(Effect::Close) => {
                self.push(Pending::Close).await?;
                Err(End::Quit)
            }
        }
    }

    /// RESET: out of any transaction, unsubscribed from everything.
    async fn reset(&mut self) -> Result<(), End> {
        self.txn = Txn::default();
        self.unpin();
        let epoch = self.subs.reset();
        self.client.subscriptions = 0;
        self.client.noecho = false;
        self.push(Pending::Epoch(epoch)).await
    }

    async fn stateful(&mut self, spec: &'static CommandSpec, request: &Request) -> Result<(), End> {
        match spec.name {
            "multi" | "exec" | "discard" | "watch" | "unwatch" => {
                self.transaction(spec, request).await
            }
            _ => self.subscription(spec, &request.args).await,
        }
    }

    async fn forward(
        &mut self,
        server: usize,
        request: &Request,
        private: bool,
    ) -> Result<(), End> {
        if self.subs.is_connected(server) && subscriptions::is_publish(&request.args[0]) {
            return self.publish(server, request).await;
        }
        let bytes = request.to_resp();
        let private = private || self.txn.pinned() == Some(server);
        let reply = self.send(server, bytes, private).await?;
        self.push(Pending::Backend {
            server,
            reply,
            sent: self.client.pool.metrics.start(&request.args[0], !private),
            timed: !private,
        })
        .await
    }

    /// Queues a request the cache took: its task's reply, or its read, sent
    /// as a plain read is.
    async fn cached(&mut self, taken: Taken, command: &Bytes) -> Result<(), End> {
        match taken {
            Taken::Task { reply, after } => {
                if let Some(after) = after {
                    self.push(Pending::Fence(after)).await?;
                }
                self.push(Pending::Cache(reply)).await
            }
            Taken::Read {
                server,
                request,
                read,
            } => {
                let reply = self.send(server, request, false).await?;
                self.push(Pending::CacheRead {
                    server,
                    reply,
                    sent: self.client.pool.metrics.start(command, true),
                    read,
                })
                .await
            }
        }
    }

    async fn split(&mut self, split: Split, command: &Bytes) -> Result<(), End> {
        let pool = Arc::clone(&self.client.pool);
        stats::add(&pool.stats.fragments, split.parts.len() as u64);
        let mut replies = Vec::with_capacity(split.parts.len());
        for part in &split.parts {
            let private = self.txn.pinned() == Some(part.server);
            replies.push(
                self.send(part.server, part.request.clone(), private)
                    .await?,
            );
        }
        self.push(Pending::Split {
            split,
            replies,
            sent: pool.metrics.start(command, true),
        })
        .await
    }

    /// Sends `bytes` to `server` on the client's private connection or a shared one.
    async fn send(
        &mut self,
        server: usize,
        bytes: Bytes,
        private: bool,
    ) -> Result<oneshot::Receiver<super::backend::Reply>, End> {
        let lane = if private { Lane::Private } else { Lane::Shared };
        self.enter(server, lane).await?;
        let target = &self.client.pool.servers[server];
        count_request(target, bytes.len());
        Ok(if private {
            self.private
                .entry(server)
                .or_insert_with(|| Link::new(target.endpoint()))
                .send(bytes)
        } else {
            target.link(self.client.id).send(bytes)
        })
    }

    /// Moves the client to its pool's new snapshot (see the module doc), unless
    /// a transaction or subscriptions hold it to the old one for now.
    async fn move_to(&mut self, next: Arc<Pool>) -> Result<(), End> {
        if self.txn.is_queuing() || self.txn.pinned().is_some() || !self.subs.is_idle() {
            return Ok(());
        }
        self.fence().await?;
        self.private.clear();
        self.lanes = vec![None; next.servers.len()];
        self.subs.rebase(next.servers.len());
        self.push(Pending::Pool(Arc::clone(&next))).await?;
        self.client.pool = next;
        Ok(())
    }

    /// Drops the transaction's private connection; it closes after its replies.
    fn unpin(&mut self) {
        if let Some(server) = self.txn.unpin() {
            self.private.remove(&server);
        }
    }

    /// Notes that the next request for `server` goes on `lane`, after a fence if
    /// the last one went on another.
    async fn enter(&mut self, server: usize, lane: Lane) -> Result<(), End> {
        let last = self.lanes[server].replace(lane);
        if last.is_some_and(|last| last != lane) {
            self.fence().await?;
        }
        Ok(())
    }

    /// Waits until every reply queued so far is in, noticing if the client leaves.
    async fn fence(&mut self) -> Result<(), End> {
        let (done, resolved) = oneshot::channel();
        self.push(Pending::Fence(done)).await?;
        tokio::pin!(resolved);
        loop {
            if self.buf.len() >= MAX_READ_AHEAD {
                return resolved.await.map_err(|_| End::Gone);
            }
            tokio::select! {
                result = &mut resolved => return result.map_err(|_| End::Gone),
                read = self.reader.read_buf(&mut self.buf) => match read {
                    Ok(0) | Err(_) => return Err(End::Gone),
                    Ok(_) => {}
                },
            }
        }
    }
}

fn count_request(server: &Server, bytes: usize) {
    stats::incr(&server.stats.requests);
    stats::add(&server.stats.request_bytes, bytes as u64);
    server.metrics.request(bytes);
}

/// Reads what a readable socket holds, without waiting. Unlike `try_read_buf`,
/// a short read clears the socket's readiness, so the next wait goes to epoll
/// rather than to a read that fails with EAGAIN: one system call less per request.
async fn read_ready(reader: &mut ReadHalf, buf: &mut BytesMut) -> std::io::Result<usize> {
    let mut read = std::pin::pin!(reader.read_buf(buf));
    std::future::poll_fn(|cx| match std::future::Future::poll(read.as_mut(), cx) {
        std::task::Poll::Pending => {
            std::task::Poll::Ready(Err(std::io::ErrorKind::WouldBlock.into()))
        }
        done => done,
    })
    .await
}
