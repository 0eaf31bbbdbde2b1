//! Per-connection state, and the registry CLIENT LIST / CLIENT KILL read.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::{mpsc, Notify};

use super::keyspace::DbKey;
use crate::resp::{Frame, Protocol};

/// State of one client connection, owned by its task.
#[derive(Debug)]
pub struct Client {
    /// Unique, increasing id (CLIENT ID).
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// Protocol spoken (HELLO switches it).
    pub protocol: Protocol,
    /// Passed AUTH, or no password is required.
    pub authenticated: bool,
    /// Commands queued since MULTI; `None` outside a transaction.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command queued after MULTI was rejected: EXEC will abort.
    pub multi_failed: bool,
    /// Keys this client WATCHes.
    pub watched: Vec<DbKey>,
    /// Channels subscribed to.
    pub channels: Vec<Bytes>,
    /// Patterns subscribed to.
    pub patterns: Vec<Bytes>,
    /// Shard channels subscribed to (SSUBSCRIBE), counted apart as in Redis.
    pub shard_channels: Vec<Bytes>,
    /// CLIENT REPLY: whether replies are written.
    pub reply_mode: ReplyMode,
    /// Where out-of-band frames (pub/sub messages, MONITOR lines) are sent.
    pub push: mpsc::UnboundedSender<Frame>,
    /// What CLIENT LIST shows; shared with the registry.
    pub handle: Arc<ClientHandle>,
}

/// CLIENT REPLY's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    /// Replies are written.
    #[default]
    On,
    /// No reply is written until CLIENT REPLY ON.
    Off,
    /// Set by CLIENT REPLY SKIP: that command and the next one go unanswered.
    SkipNext,
    /// The command being run goes unanswered.
    Skip,
}

impl Client {
    /// A fresh client: database 0, RESP2, no subscriptions or transaction.
    /// Messages pushed to it (pub/sub, MONITOR) go to `push`.
    pub fn new(
        id: u64,
        authenticated: bool,
        push: mpsc::UnboundedSender<Frame>,
        handle: Arc<ClientHandle>,
    ) -> Client {
        Client {
            id,
            db: 0,
            protocol: Protocol::Resp2,
            authenticated,
            multi: None,
            multi_failed: false,
            watched: Vec::new(),
            channels: Vec::new(),
            patterns: Vec::new(),
            shard_channels: Vec::new(),
            reply_mode: ReplyMode::On,
            push,
            handle,
        }
    }

    /// A client with no connection behind it (the AOF loader, tests), already
    /// authenticated; what is pushed to it is dropped.
    pub fn detached(id: u64) -> Client {
        let (push, _) = mpsc::unbounded_channel();
        Client::new(id, true, push, Arc::new(ClientHandle::new(id, None, None)))
    }

    /// True while subscribed to any channel, pattern or shard channel.
    pub fn is_subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty() || !self.shard_channels.is_empty()
    }

    /// Whether the reply of the command just run is dropped (CLIENT REPLY OFF or
    /// SKIP); moves SKIP on to the next command.
    pub fn take_reply_muted(&mut self) -> bool {
        match self.reply_mode {
            ReplyMode::On => false,
            ReplyMode::Off => true,
            ReplyMode::SkipNext => {
                self.reply_mode = ReplyMode::Skip;
                true
            }
            ReplyMode::Skip => {
                self.reply_mode = ReplyMode::On;
                true
            }
        }
    }

    /// Number of subscriptions (the count in (un)subscribe replies).
    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// The part of a client other tasks may see or act on.
#[derive(Debug)]
pub struct ClientHandle {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address.
    pub addr: Option<SocketAddr>,
    /// Local address.
    pub local: Option<SocketAddr>,
    /// The socket's file descriptor (-1 where there is none).
    pub fd: i64,
    /// When the connection was accepted.
    pub created: SystemTime,
    /// Fields that change as the client works.
    pub info: Mutex<ClientInfo>,
    /// Notified by CLIENT KILL.
    pub kill: Notify,
    /// Bytes of pub/sub messages queued for this client and not yet written.
    pending_push: AtomicU64,
}

/// Mutable client facts for CLIENT LIST / INFO.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// Selected database.
    pub db: usize,
    /// Last command's full name.
    pub last_cmd: String,
    /// Time of the last command.
    pub last_active: SystemTime,
    /// Subscription counts.
    pub sub: usize,
    /// Pattern subscription counts.
    pub psub: usize,
    /// Shard channel subscription counts.
    pub ssub: usize,
    /// Inside MULTI: queued commands, else -1.
    pub multi: i64,
    /// "N" normal, "P" pub/sub, "b" blocked, "x" MULTI, "O" monitor.
    pub flags: String,
    /// Protocol version.
    pub resp: u8,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
}

impl ClientHandle {
    /// A handle for a new connection (its file descriptor unknown: see [`with_fd`]).
    ///
    /// [`with_fd`]: ClientHandle::with_fd
    pub fn new(id: u64, addr: Option<SocketAddr>, local: Option<SocketAddr>) -> ClientHandle {
        let now = SystemTime::now();
        ClientHandle {
            id,
            addr,
            local,
            fd: -1,
            created: now,
            info: Mutex::new(ClientInfo {
                name: None,
                db: 0,
                last_cmd: "NULL".into(),
                last_active: now,
                sub: 0,
                psub: 0,
                ssub: 0,
                multi: -1,
                flags: "N".into(),
                resp: 2,
                no_evict: false,
            }),
            kill: Notify::new(),
            pending_push: AtomicU64::new(0),
        }
    }

    /// The handle with the socket's file descriptor, for CLIENT LIST.
    pub fn with_fd(mut self, fd: i64) -> ClientHandle {
        self.fd = fd;
        self
    }

    /// Counts `bytes` of messages queued for this client; returns the new total.
    pub fn queue_push(&self, bytes: u64) -> u64 {
        self.pending_push.fetch_add(bytes, Ordering::Relaxed) + bytes
    }

    /// Counts `bytes` of queued messages taken off the queue to be written.
    pub fn unqueue_push(&self, bytes: u64) {
        let _ = self
            .pending_push
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(bytes))
            });
    }

    /// Bytes of messages queued and not yet written.
    pub fn pending_push(&self) -> u64 {
        self.pending_push.load(Ordering::Relaxed)
    }
}

/// Every connected client, by id.
#[derive(Debug, Default)]
pub struct Registry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl Registry {
    /// Adds a client.
    pub fn add(&self, handle: Arc<ClientHandle>) {
        self.clients.lock().insert(handle.id, handle);
    }

    /// Removes a client.
    pub fn remove(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// A snapshot of the connected clients, by id.
    pub fn list(&self) -> Vec<Arc<ClientHandle>> {
        self.clients.lock().values().cloned().collect()
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// True when no client is connected.
    pub fn is_empty(&self) -> bool {
        self.clients.lock().is_empty()
    }
}
