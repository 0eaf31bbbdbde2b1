//! Connections to one backend server, shared by every client of a pool.
//!
//! A connection is a task pair: the writer drains a queue of requests into one
//! write per batch and hands each request's reply slot, in order, to the reader;
//! the reader decodes replies and fills the slots in the same order. Requests of
//! many clients are thus multiplexed and pipelined on few connections, as
//! twemproxy does. A connection that fails answers every request it holds with the
//! error and is replaced, lazily, by the next request.
//!
//! A client's private links (blocking commands, transactions) end in one of two
//! ways: dropped, the connection still delivers the replies it owes and then closes
//! (EXEC's reply arrives although the transaction is over); [`Link::abort`]ed, it
//! closes at once, which is how a client that leaves while blocked unblocks its
//! server.

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Notify};

pub use super::connect::{connect, encode_command};
use super::stats::{self, ServerStats};
use super::stream::{ReadHalf, WriteHalf};
use crate::resp::{Decoder, Frame};
use crate::telemetry::proxy::{Pipelined, ServerMetrics};

/// Largest batch written at once; more waits for the next write.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Why a backend could not answer a request. Rendered as twemproxy renders errno:
/// `-ERR Connection refused`, `-ERR Connection timed out`…
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// Could not connect, or the connection broke.
    #[error("{0}")]
    Io(String),
    /// No reply within the pool's `timeout`.
    #[error("Connection timed out")]
    Timeout,
    /// The server sent something that is not RESP.
    #[error("Protocol error from server: {0}")]
    Protocol(String),
    /// The server refused the proxy's AUTH or SELECT.
    #[error("{0}")]
    Handshake(String),
    /// The client left and its private connection was closed on purpose: not the
    /// server's fault, so no failure is counted.
    #[error("Connection aborted")]
    Aborted,
}

impl BackendError {
    /// The error for a failed socket operation, worded as twemproxy words errno.
    pub(super) fn from_io(err: &io::Error) -> BackendError {
        let text = match err.kind() {
            io::ErrorKind::ConnectionRefused => "Connection refused".to_string(),
            io::ErrorKind::ConnectionReset => "Connection reset by peer".to_string(),
            io::ErrorKind::TimedOut => "Connection timed out".to_string(),
            io::ErrorKind::UnexpectedEof => "Connection closed by server".to_string(),
            _ => err.to_string(),
        };
        BackendError::Io(text)
    }

    /// The reply a client gets for this failure.
    pub fn to_frame(&self) -> Frame {
        Frame::error(format!("ERR {self}"))
    }
}

/// A reply, or why there is none.
pub type Reply = Result<Frame, BackendError>;

/// One request on its way to a backend.
#[derive(Debug)]
pub struct Job {
    /// The request as RESP bytes.
    pub request: Bytes,
    /// Where the reply goes.
    pub reply: oneshot::Sender<Reply>,
}

/// How to open and prepare a connection.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host:port` to connect to, or a unix socket's path.
    pub addr: String,
    /// Password for AUTH after connecting (`redis_auth`).
    pub auth: Option<String>,
    /// Database to SELECT after connecting (`redis_db`).
    pub db: u32,
    /// Bound on connecting (the pool's `timeout`).
    pub connect_timeout: Option<Duration>,
    /// SO_KEEPALIVE (`tcpkeepalive`).
    pub keepalive: bool,
    /// The server's counters: open connections, EOFs, reply bytes.
    pub stats: Arc<ServerStats>,
    /// The server's metrics.
    pub metrics: Arc<ServerMetrics>,
}

/// A reply slot, in request order, with the request's place in the pipeline.
type Slot = (oneshot::Sender<Reply>, Pipelined);

/// A lazily (re)connected, shared connection to one server.
#[derive(Debug)]
pub struct Link {
    endpoint: Endpoint,
    current: Mutex<Option<Handle>>,
}

#[derive(Debug, Clone)]
struct Handle {
    jobs: mpsc::UnboundedSender<Job>,
    alive: Arc<AtomicBool>,
    close: Arc<Notify>,
    /// Set before `close` is notified when the close is an abort, not a timeout.
    aborted: Arc<AtomicBool>,
}

impl Link {
    /// A link that connects on first use.
    pub fn new(endpoint: Endpoint) -> Link {
        Link {
            endpoint,
            current: Mutex::new(None),
        }
    }

    /// Where this link connects.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Queues a request; the reply (or the failure) arrives on the returned receiver.
    pub fn send(&self, request: Bytes) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        let mut job = Job { request, reply: tx };
        let mut current = self.current.lock();
        for _ in 0..2 {
            // Sent by reference under the lock (sending never waits): cloning the
            // handle would bounce its reference counts between cores per request.
            if !current
                .as_ref()
                .is_some_and(|h| h.alive.load(Ordering::Acquire))
            {
                *current = Some(open(self.endpoint.clone()));
            }
            let Some(handle) = current.as_ref() else {
                break;
            };
            match handle.jobs.send(job) {
                Ok(()) => return rx,
                Err(mpsc::error::SendError(back)) => {
                    handle.alive.store(false, Ordering::Release);
                    job = back;
                }
            }
        }
        let _ = job
            .reply
            .send(Err(BackendError::Io("Connection closed by server".into())));
        rx
    }

    /// Closes the current connection (after a timeout, as twemproxy does): its
    /// pending requests fail and the next request reconnects.
    pub fn reset(&self) {
        if let Some(handle) = self.current.lock().take() {
            handle.alive.store(false, Ordering::Release);
            handle.close.notify_one();
        }
    }

    /// Closes the current connection at once: requests it holds fail with
    /// [`BackendError::Aborted`], and the server sees the client leave (a blocked
    /// BLPOP is dropped, a WATCH forgotten).
    pub fn abort(&self) {
        if let Some(handle) = self.current.lock().take() {
            handle.alive.store(false, Ordering::Release);
            handle.aborted.store(true, Ordering::Release);
            handle.close.notify_one();
        }
    }

    /// True while a connection is established or being established.
    pub fn is_connected(&self) -> bool {
        self.current
            .lock()
            .as_ref()
            .is_some_and(|h| h.alive.load(Ordering::Acquire))
    }
}

fn open(endpoint: Endpoint) -> Handle {
    let (jobs, queue) = mpsc::unbounded_channel();
    let alive = Arc::new(AtomicBool::new(true));
    let close = Arc::new(Notify::new());
    let aborted = Arc::new(AtomicBool::new(false));
    let handle = Handle {
        jobs,
        alive: Arc::clone(&alive),
        close: Arc::clone(&close),
        aborted: Arc::clone(&aborted),
    };
    tokio::spawn(async move {
        let closed = async {
            close.notified().await;
            if aborted.load(Ordering::Acquire) {
                BackendError::Aborted
            } else {
                BackendError::Timeout
            }
        };
        let err = run(&endpoint, queue, closed).await;
        alive.store(false, Ordering::Release);
        if let Err(err) = err {
            tracing::debug!(server = %endpoint.addr, cause = %err, "backend connection closed");
        }
    });
    handle
}

/// Connects, prepares, then pumps requests and replies until something fails or
/// every handle is gone and every reply delivered; requests still held then get
/// the error.
async fn run(
    endpoint: &Endpoint,
    mut queue: mpsc::UnboundedReceiver<Job>,
    closed: impl std::future::Future<Output = BackendError>,
) -> Result<(), BackendError> {
    let socket = match connect(endpoint).await {
        Ok(socket) => socket,
        Err(err) => {
            fail_queue(&mut queue, &err);
            return Err(err);
        }
    };
    stats::incr(&endpoint.stats.server_connections);
    let _open = endpoint.metrics.connected();
    let (reader, writer) = socket.into_split();
    let (slots_tx, mut slots_rx) = mpsc::unbounded_channel::<Slot>();
    let mut waiting = VecDeque::new();
    // A reset (after a timeout) both notifies `close` and may drop the link's
    // last sender, which ends `write_loop` too: `closed` is polled first so that
    // every request still held fails as timed out (or aborted), not as "closed".
    let result = {
        let reading = read_loop(
            reader,
            &mut slots_rx,
            &mut waiting,
            &endpoint.stats,
            &endpoint.metrics,
        );
        tokio::pin!(reading, closed);
        tokio::select! {
            biased;
            err = &mut closed => Err(err),
            // The queue closed: the reader still delivers what is owed, then ends.
            r = write_loop(writer, &mut queue, slots_tx, &endpoint.metrics) => match r {
                Ok(()) => tokio::select! {
                    biased;
                    err = &mut closed => Err(err),
                    r = &mut reading => r,
                },
                Err(err) => Err(err),
            },
            r = &mut reading => r,
        }
    };
    endpoint
        .stats
        .server_connections
        .fetch_sub(1, Ordering::Relaxed);
    let Err(err) = result else {
        return Ok(());
    };
    for (slot, _) in waiting {
        let _ = slot.send(Err(err.clone()));
    }
    while let Ok((slot, _)) = slots_rx.try_recv() {
        let _ = slot.send(Err(err.clone()));
    }
    fail_queue(&mut queue, &err);
    Err(err)
}

fn fail_queue(queue: &mut mpsc::UnboundedReceiver<Job>, err: &BackendError) {
    queue.close();
    while let Ok(job) = queue.try_recv() {
        let _ = job.reply.send(Err(err.clone()));
    }
}

async fn write_loop(
    mut writer: WriteHalf,
    queue: &mut mpsc::UnboundedReceiver<Job>,
    slots: mpsc::UnboundedSender<Slot>,
    metrics: &Arc<ServerMetrics>,
) -> Result<(), BackendError> {
    let mut batch = BytesMut::with_capacity(16 * 1024);
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            batch.extend_from_slice(&job.request);
            // The slot goes to the reader before the bytes go out, so a reply can
            // never arrive before its slot.
            if slots.send((job.reply, metrics.pipelined())).is_err() {
                return Err(BackendError::Io("Connection closed".into()));
            }
            if batch.len() < MAX_BATCH_BYTES {
                next = queue.try_recv().ok();
            }
        }
        writer
            .write_all(&batch)
            .await
            .map_err(|e| BackendError::from_io(&e))?;
        batch.clear();
    }
    Ok(())
}

/// Reads replies and hands each to the oldest waiting slot. Slots move from the
/// channel to `waiting` as they come; once the channel is closed (the link was
/// dropped) and nothing is owed, the connection is done.
async fn read_loop(
    mut reader: ReadHalf,
    slots: &mut mpsc::UnboundedReceiver<Slot>,
    waiting: &mut VecDeque<Slot>,
    counters: &ServerStats,
    metrics: &ServerMetrics,
) -> Result<(), BackendError> {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut open = true;
    while open || !waiting.is_empty() {
        tokio::select! {
            slot = slots.recv(), if open => match slot {
                Some(slot) => waiting.push_back(slot),
                None => open = false,
            },
            read = reader.read_buf(&mut buf) => {
                let n = read.map_err(|e| BackendError::from_io(&e))?;
                if n == 0 {
                    stats::incr(&counters.server_eof);
                    return Err(BackendError::Io("Connection closed by server".into()));
                }
                metrics.received(n);
                let before = buf.len();
                let delivered = deliver(&mut decoder, &mut buf, slots, waiting);
                stats::add(&counters.response_bytes, (before - buf.len()) as u64);
                delivered?;
            }
        }
    }
    Ok(())
}

/// Hands every complete reply in `buf` to its slot, in order.
fn deliver(
    decoder: &mut Decoder,
    buf: &mut BytesMut,
    slots: &mut mpsc::UnboundedReceiver<Slot>,
    waiting: &mut VecDeque<Slot>,
) -> Result<(), BackendError> {
    loop {
        let frame = match decoder.decode(buf) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(()),
            Err(err) => return Err(BackendError::Protocol(err.to_string())),
        };
        // The writer queues a slot before its request goes out, so the slot is
        // either waiting already or still in the channel.
        let Some((slot, pipelined)) = waiting.pop_front().or_else(|| slots.try_recv().ok()) else {
            return Err(BackendError::Protocol("a reply nobody asked for".into()));
        };
        pipelined.answered();
        // The requester may have given up (timeout): the reply is dropped.
        let _ = slot.send(Ok(frame));
    }
}
