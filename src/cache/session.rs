//! A session's link to the cache: which requests on cached keys it sends to
//! the backends itself and which go to a task, and the order between them.

use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::oneshot;

use super::{command, keyspace, look_aside, write_back, Cache};
use crate::config::Policy;
use crate::proxy::backend::encode_command;
use crate::proxy::pool::Pool;
use crate::proxy::route::no_server;
use crate::resp::{Frame, Request};

/// A session's link to the cache. Its requests start in the order they came
/// and reach the backends (and the journal) in that order: each task starts
/// once the one before it has queued its backend commands. Reads then overlap,
/// so a pipelining client is not held to one round trip per request.
///
/// A read goes to the backend as a plain read does, on the session's shared
/// connection, with no task ([`Taken::Read`]), unless a write of the session
/// is still under way: its backend commands go on the cache's connection, and
/// a read on another connection could overtake them. A write waits for every
/// reply before it when reads were taken since the last write, so that none of
/// them sees it (a read that missed may be filling from SQL).
///
/// An INCR whose value no pending write holds reads it in its task before its
/// turn (see `write_back::prepare`), so a pipeline's INCRs read together.
///
/// A write-back write whose turn has come (no task of the session still
/// queuing, no read since the last write) is queued to the journal and the
/// backend by the session itself, with no task and no hand-off: under a
/// pipelined load a read of many writes is then one batch for the backend
/// and one for the journal.
#[derive(Debug, Default)]
pub struct SessionCache {
    /// Passed when the last task has queued its backend commands.
    queued: Option<oneshot::Receiver<()>>,
    /// Passed when the last write, and every write before it, is done.
    writes: Option<oneshot::Receiver<()>>,
    /// A read was taken since the last write.
    read_since_write: bool,
}

impl SessionCache {
    /// True once the last task has queued its backend commands.
    fn tasks_queued(&mut self) -> bool {
        passed(&mut self.queued)
    }

    /// True once every write taken so far is done.
    fn writes_done(&mut self) -> bool {
        passed(&mut self.writes)
    }
}

/// True when `signal` is absent or was sent (or dropped); a passed signal is
/// forgotten.
fn passed(signal: &mut Option<oneshot::Receiver<()>>) -> bool {
    let passed = signal
        .as_mut()
        .is_none_or(|s| !matches!(s.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
    if passed {
        *signal = None;
    }
    passed
}

/// A request's turn in its session: passing it (or dropping it) lets the
/// next request start.
#[derive(Debug, Default)]
pub(crate) struct Turn(Option<oneshot::Sender<()>>);

impl Turn {
    /// Lets the next request start.
    pub(crate) fn pass(&mut self) {
        if let Some(next) = self.0.take() {
            let _ = next.send(());
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.pass();
    }
}

/// The reply to a request the cache took, to await in request order.
pub struct CacheReply(Pin<Box<dyn Future<Output = Frame> + Send>>);

impl CacheReply {
    fn new(reply: impl Future<Output = Frame> + Send + 'static) -> CacheReply {
        CacheReply(Box::pin(reply))
    }
}

impl std::fmt::Debug for CacheReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheReply")
    }
}

impl Future for CacheReply {
    type Output = Frame;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Frame> {
        self.0.as_mut().poll(cx)
    }
}

/// What the session does with a request the cache took.
#[derive(Debug)]
pub enum Taken {
    /// The cache answers with `reply`: known at once, from a task, or from a
    /// write-back write the session queued itself. With `after`, the task
    /// starts once every reply before it is in: the session queues `after` to
    /// its writer as a fence, just before `reply`.
    Task {
        /// The reply, in its turn.
        reply: CacheReply,
        /// Resolved by the writer when the replies before this one are in.
        after: Option<oneshot::Sender<()>>,
    },
    /// A read the session sends to `server` as it sends a plain read; the
    /// backend's reply then goes to [`CachedRead::answer`].
    Read {
        /// The server owning the key.
        server: usize,
        /// The backend read: the client's GET as it came, or an HGETALL.
        request: Bytes,
        /// What to make of the backend's reply.
        read: CachedRead,
    },
}

/// A read of a cached key sent to the backend by the session itself.
#[derive(Debug)]
pub struct CachedRead {
    target: command::Target,
    read: command::Read,
}

/// A [`CachedRead`] the backend did not hold the key for.
#[derive(Debug)]
pub struct Miss(CachedRead);

impl CachedRead {
    /// The client's reply, from the backend's reply to the read: at once on a
    /// hit or an error, else the [`Miss`] to resolve.
    ///
    /// # Errors
    /// A miss: the value must come from pending writes or SQL.
    pub fn answer(self, pool: &Pool, reply: Frame) -> Result<Frame, Miss> {
        let Some(cache) = &pool.cache else {
            return Ok(no_cache());
        };
        let state = &cache.rules[self.target.rule];
        match look_aside::hit(state, reply) {
            Ok(None) => Err(Miss(self)),
            outcome => Ok(command::answer(self.read, outcome, &state.rule.value)),
        }
    }
}

impl Miss {
    /// The client's reply once the value is read from pending writes or SQL:
    /// one query however many clients missed the key, "no row" remembered,
    /// and the row stored unless a write came in meanwhile.
    pub async fn resolve(self, pool: &Arc<Pool>) -> Frame {
        let Some(cache) = &pool.cache else {
            return no_cache();
        };
        let CachedRead { target, read } = self.0;
        let outcome = look_aside::missed(cache, pool, &target).await;
        command::answer(read, outcome, &cache.rules[target.rule].rule.value)
    }
}

/// The reply when a read outlived its pool's cache (cannot happen: a pool
/// keeps its cache across reloads, and the writer resolves a read against
/// the snapshot it was sent on).
fn no_cache() -> Frame {
    Frame::error("ERR shardcar: the pool has no cache")
}

/// Takes the request if it touches a cached key. `None`: the request is not
/// the cache's business. Inside MULTI (`in_multi`) cached keys are refused:
/// the transaction would run on a backend, out of SQL's sight.
pub fn intercept(
    pool: &Arc<Pool>,
    session: &mut SessionCache,
    request: &Request,
    in_multi: bool,
) -> Option<Taken> {
    let cache = pool.cache.as_ref()?;
    let mut op = command::classify(cache, &request.args)?;
    if in_multi {
        op = command::Op::Refuse(Frame::error(
            "ERR shardcar: cached keys cannot be used inside MULTI (SQL could not follow the transaction)",
        ));
    }
    if let command::Op::Refuse(frame) = op {
        return Some(ready(frame));
    }
    if op.reads() {
        session.read_since_write = true;
    }
    Some(match op {
        command::Op::Read { target, read } if session.writes_done() => {
            match pool.server_for(&target.key) {
                Some(server) => direct_read(cache, request, server, target, read),
                None => ready(no_server(pool)),
            }
        }
        command::Op::Write { target, write }
            if cache.rules[target.rule].rule.policy == Policy::WriteBack
                && !session.read_since_write
                && session.tasks_queued()
                && write_back::has_room(cache, &target) =>
        {
            let queued = match write_back::queue(cache, pool, &target, write, None) {
                Ok(queued) => queued,
                Err(write_back::Unqueued::Refused(frame)) => return Some(ready(frame)),
                Err(write_back::Unqueued::Unknown(op)) => {
                    let op = command::Op::Write { target, write: op };
                    return Some(spawn(cache, pool, session, op));
                }
            };
            // Done (for the reads after it) once its backend write is in,
            // and every write before it is done too.
            let (done, writes_done) = oneshot::channel();
            let earlier = session.writes.replace(writes_done);
            let reply = async move {
                let frame = queued.reply().await;
                if let Some(earlier) = earlier {
                    let _ = earlier.await;
                }
                let _ = done.send(());
                frame
            };
            Taken::Task {
                reply: CacheReply::new(reply),
                after: None,
            }
        }
        op => spawn(cache, pool, session, op),
    })
}

/// A reply known already.
fn ready(frame: Frame) -> Taken {
    Taken::Task {
        reply: CacheReply::new(std::future::ready(frame)),
        after: None,
    }
}

/// A read the session sends itself to `server`.
fn direct_read(
    cache: &Cache,
    request: &Request,
    server: usize,
    target: command::Target,
    read: command::Read,
) -> Taken {
    let request = if cache.rules[target.rule].is_hash() {
        let mut out = BytesMut::new();
        encode_command(&[keyspace::read_command(true), &target.key], &mut out);
        out.freeze()
    } else {
        request.to_resp() // GET key, as the client sent it
    };
    Taken::Read {
        server,
        request,
        read: CachedRead { target, read },
    }
}

/// Runs `op` in a task of its own, in the session's order (see [`SessionCache`]).
fn spawn(
    cache: &Arc<Cache>,
    pool: &Arc<Pool>,
    session: &mut SessionCache,
    op: command::Op,
) -> Taken {
    let (reply, rx) = oneshot::channel();
    let (turn, queued) = oneshot::channel();
    let before = session.queued.replace(queued);
    // A write waits for the reads taken since the last write, and is done
    // once the writes before it are too: "the last write is done" then says
    // it of every write.
    let (mut after, mut replies_in, mut write) = (None, None, None);
    if !op.reads() {
        if std::mem::take(&mut session.read_since_write) {
            let (fence, resolved) = oneshot::channel();
            (after, replies_in) = (Some(fence), Some(resolved));
        }
        let (done, writes_done) = oneshot::channel();
        write = Some((session.writes.replace(writes_done), done));
    }
    let (pool, cache) = (Arc::clone(pool), Arc::clone(cache));
    tokio::spawn(async move {
        let mut turn = Turn(Some(turn));
        let prepared = command::prepare(&cache, &pool, &op).await;
        if let Some(before) = before {
            let _ = before.await;
        }
        if let Some(replies_in) = replies_in {
            let _ = replies_in.await;
        }
        let frame = command::run(&cache, &pool, op, prepared, &mut turn).await;
        let _ = reply.send(frame);
        if let Some((earlier, done)) = write {
            if let Some(earlier) = earlier {
                let _ = earlier.await;
            }
            let _ = done.send(());
        }
    });
    let reply = async move {
        rx.await
            .unwrap_or_else(|_| Frame::error("ERR shardcar: cache request failed"))
    };
    Taken::Task {
        reply: CacheReply::new(reply),
        after,
    }
}
