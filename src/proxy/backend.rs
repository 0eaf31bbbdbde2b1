//! Connections to one backend server, shared by every client of a pool.
//!
//! A connection is a task pair: the writer drains a queue of requests into one
//! write per batch and hands each request's reply slot, in order, to the reader;
//! the reader decodes replies and fills the slots in the same order. Requests of
//! many clients are thus multiplexed and pipelined on few connections, as
//! twemproxy does. A connection that fails answers every request it holds with the
//! error and is replaced, lazily, by the next request.

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify};

use super::stats::{self, ServerStats};
use crate::resp::{Decoder, Frame};

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
}

impl BackendError {
    fn from_io(err: &io::Error) -> BackendError {
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
    /// `host:port` to connect to.
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
}

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
            let handle = match current.as_ref().filter(|h| h.alive.load(Ordering::Acquire)) {
                Some(handle) => handle.clone(),
                None => {
                    let handle = open(self.endpoint.clone());
                    *current = Some(handle.clone());
                    handle
                }
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
    let handle = Handle {
        jobs,
        alive: Arc::clone(&alive),
        close: Arc::clone(&close),
    };
    tokio::spawn(async move {
        let err = run(&endpoint, queue, &close).await;
        alive.store(false, Ordering::Release);
        if let Err(err) = err {
            tracing::debug!(server = %endpoint.addr, cause = %err, "backend connection closed");
        }
    });
    handle
}

/// Connects, prepares, then pumps requests and replies until something fails;
/// every request still held then gets the error.
async fn run(
    endpoint: &Endpoint,
    mut queue: mpsc::UnboundedReceiver<Job>,
    close: &Notify,
) -> Result<(), BackendError> {
    let socket = match connect(endpoint).await {
        Ok(socket) => socket,
        Err(err) => {
            fail_queue(&mut queue, &err);
            return Err(err);
        }
    };
    stats::incr(&endpoint.stats.server_connections);
    let (reader, writer) = socket.into_split();
    let (slots_tx, mut slots_rx) = mpsc::unbounded_channel::<oneshot::Sender<Reply>>();
    // A reset (after a timeout) both notifies `close` and drops the link's
    // sender, which ends `write_loop` too: `close` is polled first so that
    // every request still held fails as timed out, not as "closed".
    let result = tokio::select! {
        biased;
        _ = close.notified() => Err(BackendError::Timeout),
        r = write_loop(writer, &mut queue, slots_tx) => r,
        r = read_loop(reader, &mut slots_rx, &endpoint.stats) => r,
    };
    endpoint
        .stats
        .server_connections
        .fetch_sub(1, Ordering::Relaxed);
    let err = result
        .err()
        .unwrap_or_else(|| BackendError::Io("Connection closed".into()));
    while let Ok(slot) = slots_rx.try_recv() {
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

async fn connect(endpoint: &Endpoint) -> Result<TcpStream, BackendError> {
    let connecting = TcpStream::connect(&endpoint.addr);
    let socket = match endpoint.connect_timeout {
        Some(limit) => tokio::time::timeout(limit, connecting)
            .await
            .map_err(|_| BackendError::Timeout)?,
        None => connecting.await,
    }
    .map_err(|e| BackendError::from_io(&e))?;
    let _ = socket.set_nodelay(true);
    if endpoint.keepalive {
        let _ = socket2::SockRef::from(&socket).set_keepalive(true);
    }
    handshake(socket, endpoint).await
}

/// AUTH and SELECT, as twemproxy sends them on every new server connection.
async fn handshake(mut socket: TcpStream, endpoint: &Endpoint) -> Result<TcpStream, BackendError> {
    let mut commands: Vec<Vec<&[u8]>> = Vec::new();
    if let Some(password) = &endpoint.auth {
        commands.push(vec![b"AUTH", password.as_bytes()]);
    }
    let db = endpoint.db.to_string();
    if endpoint.db != 0 {
        commands.push(vec![b"SELECT", db.as_bytes()]);
    }
    if commands.is_empty() {
        return Ok(socket);
    }
    let mut out = BytesMut::new();
    for args in &commands {
        encode_command(args, &mut out);
    }
    socket
        .write_all(&out)
        .await
        .map_err(|e| BackendError::from_io(&e))?;
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::new();
    for args in &commands {
        let reply = read_frame(&mut socket, &mut decoder, &mut buf).await?;
        if let Frame::Error(text) = reply {
            let what = String::from_utf8_lossy(args[0]).to_string();
            return Err(BackendError::Handshake(format!(
                "server refused the proxy's {what}: {}",
                String::from_utf8_lossy(&text)
            )));
        }
    }
    Ok(socket)
}

async fn read_frame(
    socket: &mut TcpStream,
    decoder: &mut Decoder,
    buf: &mut BytesMut,
) -> Result<Frame, BackendError> {
    loop {
        match decoder.decode(buf) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(err) => return Err(BackendError::Protocol(err.to_string())),
        }
        let n = socket
            .read_buf(buf)
            .await
            .map_err(|e| BackendError::from_io(&e))?;
        if n == 0 {
            return Err(BackendError::Io("Connection closed by server".into()));
        }
    }
}

async fn write_loop(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    queue: &mut mpsc::UnboundedReceiver<Job>,
    slots: mpsc::UnboundedSender<oneshot::Sender<Reply>>,
) -> Result<(), BackendError> {
    let mut batch = BytesMut::with_capacity(16 * 1024);
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            batch.extend_from_slice(&job.request);
            // The slot goes to the reader before the bytes go out, so a reply can
            // never arrive before its slot.
            if slots.send(job.reply).is_err() {
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

async fn read_loop(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    slots: &mut mpsc::UnboundedReceiver<oneshot::Sender<Reply>>,
    counters: &ServerStats,
) -> Result<(), BackendError> {
    let mut decoder = Decoder::default();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        let n = reader
            .read_buf(&mut buf)
            .await
            .map_err(|e| BackendError::from_io(&e))?;
        if n == 0 {
            stats::incr(&counters.server_eof);
            return Err(BackendError::Io("Connection closed by server".into()));
        }
        loop {
            let before = buf.len();
            let decoded = decoder.decode(&mut buf);
            stats::add(&counters.response_bytes, (before - buf.len()) as u64);
            let frame = match decoded {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(err) => return Err(BackendError::Protocol(err.to_string())),
            };
            let Ok(slot) = slots.try_recv() else {
                return Err(BackendError::Protocol("a reply nobody asked for".into()));
            };
            // The requester may have given up (timeout): the reply is dropped.
            let _ = slot.send(Ok(frame));
        }
    }
}

/// Writes a command as a RESP multibulk.
pub fn encode_command(args: &[&[u8]], out: &mut BytesMut) {
    use bytes::BufMut;
    out.put_u8(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        out.put_u8(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(arg.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}
