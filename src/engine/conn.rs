//! One client connection: read, parse every complete request in the buffer, run
//! them all under one acquisition of the keyspace lock, then encode and write all
//! replies with one write. Parsing, encoding and I/O happen outside the lock, so
//! several connections use several cores while each command stays atomic.

use bytes::{Bytes, BytesMut};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::client::{Client, ClientHandle};
use super::cmd::{Action, Ctx};
use super::keyspace::Waiter;
use super::pubsub::push_size;
use super::server::{now_ms, Shared};
use super::session;
use crate::resp::{self, Decoder, Frame, Limits, Protocol, Request};

/// Initial read buffer size; it grows as large requests need.
const READ_BUFFER: usize = 16 * 1024;

/// Replies `text` as an error and closes (maxclients reached).
pub(super) async fn refuse(mut socket: TcpStream, text: &'static str) {
    let _ = socket.write_all(format!("-{text}\r\n").as_bytes()).await;
}

/// Serves one client until it quits, disconnects or is killed.
///
/// # Errors
/// Socket errors; protocol errors are answered and end the connection normally.
pub(super) async fn serve(
    socket: TcpStream,
    addr: Option<SocketAddr>,
    shared: Arc<Shared>,
) -> io::Result<()> {
    let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed) + 1;
    let local = socket.local_addr().ok();
    let handle = Arc::new(ClientHandle::new(id, addr, local).with_fd(raw_fd(&socket)));
    shared.clients.add(Arc::clone(&handle));
    let (push, pushes) = mpsc::unbounded_channel();
    let (limits, authenticated) = {
        let cfg = shared.config.read();
        let limits = Limits {
            max_bulk_len: cfg.proto_max_bulk_len as usize,
            ..Limits::default()
        };
        (limits, cfg.requirepass.is_empty())
    };
    let client = Client::new(id, authenticated, push, handle);
    let mut conn = Connection {
        socket,
        shared: Arc::clone(&shared),
        client,
        pushes,
        decoder: Decoder::new(limits),
        rbuf: BytesMut::with_capacity(READ_BUFFER),
        wbuf: BytesMut::with_capacity(READ_BUFFER),
        waiter: None,
    };
    let result = conn.run().await;
    conn.cleanup();
    result
}

struct Connection {
    socket: TcpStream,
    shared: Arc<Shared>,
    client: Client,
    pushes: mpsc::UnboundedReceiver<Frame>,
    decoder: Decoder,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// The waiter of a command that just blocked, and where its reply will come.
    /// It is registered under the lock the command ran under: registering it
    /// later would miss a push made by another client in between.
    waiter: Option<(u64, oneshot::Receiver<Frame>)>,
}

/// Whether the connection goes on after a batch.
#[derive(Debug, PartialEq)]
enum Next {
    Continue,
    Close,
}

impl Connection {
    async fn run(&mut self) -> io::Result<()> {
        loop {
            let idle = self.idle_timeout();
            tokio::select! {
                read = self.socket.read_buf(&mut self.rbuf) => {
                    let n = read?;
                    if n == 0 {
                        return Ok(());
                    }
                    self.shared.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                    if self.process_input().await? == Next::Close {
                        return Ok(());
                    }
                }
                Some(frame) = self.pushes.recv() => {
                    self.client.handle.unqueue_push(push_size(&frame));
                    self.encode(&frame);
                    self.flush().await?;
                }
                _ = self.client.handle.kill.notified() => return Ok(()),
                _ = sleep_or_never(idle) => return Ok(()),
            }
        }
    }

    /// Redis closes idle clients after `timeout` seconds, but never subscribers.
    fn idle_timeout(&self) -> Option<Duration> {
        let secs = self.shared.config.read().timeout;
        (secs > 0 && !self.client.is_subscribed()).then(|| Duration::from_secs(secs))
    }

    /// Runs every complete request in the read buffer and writes the replies.
    /// Requests that arrived while a command was blocked are in the buffer too:
    /// they run before the next read, which might never come.
    async fn process_input(&mut self) -> io::Result<Next> {
        let mut next = Next::Continue;
        while next == Next::Continue {
            let mut requests = Vec::new();
            let mut protocol_error = None;
            loop {
                match self.decoder.decode_request(&mut self.rbuf) {
                    Ok(Some(request)) => requests.push(request),
                    Ok(None) => break,
                    Err(err) => {
                        protocol_error = Some(err);
                        break;
                    }
                }
            }
            if requests.is_empty() && protocol_error.is_none() {
                break;
            }
            next = self.execute(requests).await?;
            if let Some(err) = protocol_error {
                self.encode(&err.to_frame());
                self.drain_pushes();
                self.flush().await?;
                linger(&mut self.socket).await;
                return Ok(Next::Close);
            }
        }
        self.drain_pushes();
        self.flush().await?;
        Ok(next)
    }

    /// Executes requests in order, taking the lock once per run of commands that
    /// need nothing from outside; a blocking command or a sleep splits the batch.
    async fn execute(&mut self, requests: Vec<Request>) -> io::Result<Next> {
        let mut rest = requests.as_slice();
        while !rest.is_empty() {
            let (done, action, logged) = self.execute_locked(rest);
            rest = &rest[done..];
            if let Some(offset) = logged {
                self.wait_durable(offset).await?;
            }
            match action {
                None => {}
                Some(Action::Close | Action::Disconnect) => return Ok(Next::Close),
                Some(Action::Sleep(duration)) => {
                    // The reply goes out after the pause, as Redis answers DEBUG
                    // SLEEP once it has slept.
                    tokio::time::sleep(duration).await;
                }
                Some(Action::Block { timeout, .. }) => match self.block(timeout).await? {
                    Next::Close => return Ok(Next::Close),
                    Next::Continue => {}
                },
            }
        }
        self.note_activity(requests.last());
        Ok(Next::Continue)
    }

    /// Under `appendfsync always`: no reply goes out before the fsync that
    /// covers the writes it acknowledges. If that fails, the connection closes
    /// unanswered: the client must not take the writes for durable.
    async fn wait_durable(&self, offset: u64) -> io::Result<()> {
        self.shared.aof.durable(offset).await.map_err(|err| {
            io::Error::other(format!("closed unanswered: the AOF fsync failed: {err}"))
        })
    }

    /// Runs requests under the lock until one asks for an action; returns how
    /// many ran, the action, and under `appendfsync always` the AOF offset their
    /// writes end at.
    fn execute_locked(&mut self, requests: &[Request]) -> (usize, Option<Action>, Option<u64>) {
        let shared = Arc::clone(&self.shared);
        let mut ks = shared.ks.lock();
        let mut cx = Ctx::new(&mut ks, &mut self.client, &shared, 0);
        for (i, request) in requests.iter().enumerate() {
            cx.now = now_ms();
            let reply = session::process(&mut cx, &request.args);
            // CLIENT REPLY OFF/SKIP silence this command's output.
            let muted = cx.client.take_reply_muted();
            // Messages published before this reply was made (by this very command
            // too: PUBLISH to a channel we subscribe) go first, as in Redis.
            while let Ok(frame) = self.pushes.try_recv() {
                cx.client.handle.unqueue_push(push_size(&frame));
                resp::encode(&frame, cx.client.protocol, &mut self.wbuf);
            }
            for frame in std::mem::take(&mut cx.emitted) {
                if !muted {
                    resp::encode(&frame, cx.client.protocol, &mut self.wbuf);
                }
            }
            if let Some(action) = cx.action.take() {
                match &action {
                    Action::Block { keys, .. } => {
                        let (tx, rx) = oneshot::channel();
                        let id = cx.ks.blocked.block(Waiter {
                            // Copies: the request's arguments pin the whole read buffer.
                            args: request
                                .args
                                .iter()
                                .map(|a| Bytes::copy_from_slice(a))
                                .collect(),
                            db: cx.client.db,
                            keys: keys.clone(),
                            reply: tx,
                        });
                        self.waiter = Some((id, rx));
                    }
                    Action::Disconnect => {}
                    _ if muted => {}
                    _ => resp::encode(&reply, cx.client.protocol, &mut self.wbuf),
                }
                let logged = shared.aof.submit(&mut cx.ks.aof);
                return (i + 1, Some(action), logged);
            }
            if !muted {
                resp::encode(&reply, cx.client.protocol, &mut self.wbuf);
            }
        }
        let logged = shared.aof.submit(&mut cx.ks.aof);
        (requests.len(), None, logged)
    }

    /// Waits until the command that blocked (its waiter registered by
    /// `execute_locked`) is served, times out, or the client leaves.
    async fn block(&mut self, timeout: Option<Duration>) -> io::Result<Next> {
        let Some((id, mut rx)) = self.waiter.take() else {
            return Ok(Next::Continue);
        };
        if let Err(err) = self.flush().await {
            self.shared.ks.lock().blocked.unblock(id);
            return Err(err);
        }
        let outcome = tokio::select! {
            reply = &mut rx => reply.ok(),
            _ = sleep_or_never(timeout) => None,
            _ = self.client.handle.kill.notified() => {
                self.shared.ks.lock().blocked.unblock(id);
                return Ok(Next::Close);
            }
            closed = wait_for_eof(&mut self.socket, &mut self.rbuf) => {
                self.shared.ks.lock().blocked.unblock(id);
                closed?;
                return Ok(Next::Close);
            }
        };
        let reply = match outcome {
            Some(reply) => {
                // Served by another client's write, whose batch (our pop
                // included) was submitted before it released the lock.
                let logged = {
                    let _ks = self.shared.ks.lock();
                    self.shared.aof.pending_always()
                };
                if let Some(offset) = logged {
                    self.wait_durable(offset).await?;
                }
                reply
            }
            None => {
                // Timed out, unless it was served just before we took the lock.
                let gone = self.shared.ks.lock().blocked.unblock(id).is_none();
                match (gone, rx.try_recv()) {
                    (true, Ok(reply)) => reply,
                    _ => Frame::NullArray,
                }
            }
        };
        self.encode(&reply);
        Ok(Next::Continue)
    }

    fn encode(&mut self, frame: &Frame) {
        resp::encode(frame, self.client.protocol, &mut self.wbuf);
    }

    fn drain_pushes(&mut self) {
        while let Ok(frame) = self.pushes.try_recv() {
            self.client.handle.unqueue_push(push_size(&frame));
            self.encode(&frame);
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        self.socket.write_all(&self.wbuf).await?;
        self.shared
            .net_output_bytes
            .fetch_add(self.wbuf.len() as u64, Ordering::Relaxed);
        self.wbuf.clear();
        Ok(())
    }

    fn note_activity(&self, last: Option<&Request>) {
        let mut info = self.client.handle.info.lock();
        info.last_active = SystemTime::now();
        info.db = self.client.db;
        info.sub = self.client.channels.len();
        info.psub = self.client.patterns.len();
        info.ssub = self.client.shard_channels.len();
        info.multi = self.client.multi.as_ref().map_or(-1, |q| q.len() as i64);
        info.resp = match self.client.protocol {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        };
        if let Some(args) = last.map(|r| &r.args) {
            info.last_cmd = full_command_name(args);
        }
    }

    /// Releases what the client held: watches, subscriptions, its registry entry.
    fn cleanup(&mut self) {
        let id = self.client.id;
        let watched = std::mem::take(&mut self.client.watched);
        self.shared.ks.lock().watches.unwatch(id, &watched);
        self.shared.pubsub.lock().remove_client(id);
        self.shared.clients.remove(id);
    }
}

/// How long a connection closed for a protocol error keeps reading.
const LINGER: Duration = Duration::from_millis(200);

/// After the error reply of a protocol error: stop writing and discard what the
/// client still sends, for a moment, so that closing does not reset the connection
/// (and destroy the reply in flight) while the client's bytes sit unread.
async fn linger(socket: &mut TcpStream) {
    let _ = socket.shutdown().await;
    let mut scratch = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(n) = socket.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Reads until the peer closes, keeping what it sends for later.
async fn wait_for_eof(socket: &mut TcpStream, rbuf: &mut BytesMut) -> io::Result<()> {
    loop {
        if socket.read_buf(rbuf).await? == 0 {
            return Ok(());
        }
    }
}

async fn sleep_or_never(duration: Option<Duration>) {
    match duration {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// The name CLIENT LIST shows for a command: `get`, `client|list`; as sent when
/// the command is unknown.
fn full_command_name(args: &[Bytes]) -> String {
    let Some(spec) = args.first().and_then(|name| crate::command::lookup(name)) else {
        return args.first().map_or_else(String::new, |n| {
            String::from_utf8_lossy(n).to_ascii_lowercase()
        });
    };
    args.get(1)
        .filter(|_| !spec.subcommands.is_empty())
        .and_then(|sub| crate::command::lookup_sub(spec, sub))
        .unwrap_or(spec)
        .name
        .to_string()
}

/// The socket's file descriptor, for CLIENT LIST.
fn raw_fd(socket: &TcpStream) -> i64 {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        i64::from(socket.as_raw_fd())
    }
    #[cfg(not(unix))]
    {
        let _ = socket;
        -1
    }
}

/// Sends a command that ran to every MONITOR client, formatted as Redis does:
/// `+1339518083.107412 [0 127.0.0.1:60866] "set" "key" "value"`, with passwords
/// redacted.
pub(super) fn feed_monitors(shared: &Shared, client: &Client, args: &[Bytes]) {
    use std::fmt::Write as _;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let addr = client
        .handle
        .addr
        .map_or_else(|| "?".to_string(), |a| a.to_string());
    let mut line = format!(
        "{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        client.db,
        addr
    );
    for arg in &super::slowlog::redacted(args) {
        line.push(' ');
        let _ = write!(line, "{}", quoted(arg));
    }
    let frame = Frame::Simple(Bytes::from(line));
    let mut monitors = shared.monitors.lock();
    monitors.retain(|m| m.send(frame.clone()).is_ok());
    shared
        .monitor_count
        .store(monitors.len(), Ordering::Relaxed);
}

/// A byte string quoted and escaped as Redis's `sdscatrepr` prints it.
pub(super) fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}
