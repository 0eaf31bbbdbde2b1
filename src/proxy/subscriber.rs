//! A subscribed client's own connection to one server.
//!
//! A subscription changes the connection it is made on, so a subscribed client
//! cannot share the pool's multiplexed connections: it gets one connection of its
//! own per server it has subscriptions on, opened on its first subscription there
//! and released when it has none left there. The session decides which servers
//! (see `session/pubsub.rs`); this file runs one such connection.
//!
//! The connection speaks RESP3 (`HELLO 3` after the pool's AUTH and SELECT), so
//! confirmations and messages arrive as pushes and ordinary commands still get
//! ordinary replies on the same connection: the client's PUBLISH to a server it
//! is subscribed on goes here, in order with its subscriptions. A server that
//! refuses `HELLO 3` (Redis before 6) cannot serve pub/sub through the proxy.
//!
//! What comes back goes to the session's writer as [`Event`]s, in the order the
//! server sent it: one `Ack` per confirmation, each message, or `Lost` when the
//! connection fails (the client's subscriptions there are gone; the session then
//! closes the client's connection so that its library reconnects and resubscribes).
//!
//! # CLIENT NOECHO
//! A client with NOECHO on publishes on this connection with an [`Echo`]: the
//! channel, the payload and the deliveries its own subscriptions make of it —
//! `message` if it is subscribed to the channel, one `pmessage` per pattern of its
//! own that matches. The server handles this connection's commands in order, so
//! those are exactly the copies of that PUBLISH this connection receives; the
//! first message matching each expected delivery is dropped. Should another
//! client publish the very same payload on the same channel at the same moment,
//! one of the two identical copies is dropped, which the client cannot tell apart.

use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::backend::{BackendError, Endpoint, Reply};
use super::connect::{self, encode_command};
use super::stats::{self, ServerStats};
use super::stream::Stream;
use crate::resp::{Decoder, Frame};

/// What a subscriber connection tells the session's writer.
#[derive(Debug)]
pub enum Event {
    /// The server confirmed one subscription or unsubscription.
    Ack {
        /// The server's index in the pool.
        server: usize,
    },
    /// A message for the client.
    Message {
        /// The session epoch the connection was opened in (RESET starts a new one).
        epoch: u64,
        /// The message, as a push.
        frame: Frame,
    },
    /// The connection failed; the client's subscriptions on that server are gone.
    Lost {
        /// The session epoch the connection was opened in.
        epoch: u64,
        /// The server's name, for the error.
        server: String,
        /// Why.
        error: BackendError,
    },
}

/// One delivery a published message makes to its publisher's own subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `message`, `pmessage` or `smessage`.
    pub kind: &'static str,
    /// The matching pattern, for `pmessage`.
    pub pattern: Option<Bytes>,
}

/// A message its publisher must not receive back (CLIENT NOECHO ON).
#[derive(Debug, Clone)]
pub struct Echo {
    /// The channel published on.
    pub channel: Bytes,
    /// The payload.
    pub payload: Bytes,
    /// The copies the publisher's own subscriptions will receive.
    pub expected: Vec<Delivery>,
}

#[derive(Debug)]
enum Command {
    /// (Un)subscribe; the server answers with `acks` confirmations.
    Subscription { request: Bytes, acks: usize },
    /// A command with an ordinary reply (PUBLISH), maybe with an echo to drop.
    Call {
        request: Bytes,
        reply: oneshot::Sender<Reply>,
        echo: Option<Echo>,
    },
    /// Close once every confirmation and reply owed has arrived.
    Release,
}

/// The handle of one subscriber connection. Dropping it closes the connection at
/// once; [`Subscriber::release`] closes it after what is owed.
#[derive(Debug)]
pub struct Subscriber {
    commands: mpsc::UnboundedSender<Command>,
}

impl Subscriber {
    /// Starts connecting to `endpoint` (server `server`, called `name`), reporting
    /// to `events`.
    pub fn open(
        endpoint: Endpoint,
        server: (usize, String),
        epoch: u64,
        events: mpsc::Sender<Box<Event>>,
    ) -> Subscriber {
        let (commands, queue) = mpsc::unbounded_channel();
        let task = Task {
            server: server.0,
            name: server.1,
            epoch,
            events,
            acks_owed: 0,
            replies: VecDeque::new(),
            echoes: Vec::new(),
            releasing: false,
        };
        tokio::spawn(task.run(endpoint, queue));
        Subscriber { commands }
    }

    /// Sends a (P|S)SUBSCRIBE or (P|S)UNSUBSCRIBE whose confirmations number `acks`.
    pub fn subscription(&self, request: Bytes, acks: usize) {
        let _ = self.commands.send(Command::Subscription { request, acks });
    }

    /// Sends a command with an ordinary reply (PUBLISH); `echo` names the copies of
    /// the message to drop.
    pub fn call(&self, request: Bytes, echo: Option<Echo>) -> oneshot::Receiver<Reply> {
        let (reply, rx) = oneshot::channel();
        let command = Command::Call {
            request,
            reply,
            echo,
        };
        if let Err(mpsc::error::SendError(Command::Call { reply, .. })) =
            self.commands.send(command)
        {
            let _ = reply.send(Err(BackendError::Io("Connection closed".into())));
        }
        rx
    }

    /// Closes the connection once everything owed has arrived.
    pub fn release(self) {
        let _ = self.commands.send(Command::Release);
    }
}

/// Opens the connection: the pool's handshake, then `HELLO 3`.
async fn open_resp3(endpoint: &Endpoint) -> Result<(Stream, BytesMut), BackendError> {
    let mut socket = connect::connect(endpoint).await?;
    let mut hello = BytesMut::new();
    encode_command(&[b"HELLO", b"3"], &mut hello);
    socket
        .write_all(&hello)
        .await
        .map_err(|e| BackendError::Io(e.to_string()))?;
    let mut buf = BytesMut::new();
    let reply = connect::read_frame(&mut socket, &mut Decoder::default(), &mut buf).await?;
    if let Frame::Error(text) = reply {
        return Err(BackendError::Handshake(format!(
            "server refused HELLO 3 (pub/sub through shardcar needs RESP3, Redis 6 or later): {}",
            String::from_utf8_lossy(&text)
        )));
    }
    Ok((socket, buf))
}

/// What arrived from the server.
enum Incoming {
    Ack,
    Message(Vec<Frame>),
    Reply(Frame),
    Ignored,
}

fn classify(frame: Frame) -> Incoming {
    let Frame::Push(items) = frame else {
        return Incoming::Reply(frame);
    };
    let kind = match items.first() {
        Some(Frame::Bulk(kind) | Frame::Simple(kind)) => kind.to_ascii_lowercase(),
        _ => return Incoming::Ignored,
    };
    match kind.as_slice() {
        b"subscribe" | b"psubscribe" | b"ssubscribe" | b"unsubscribe" | b"punsubscribe"
        | b"sunsubscribe" => Incoming::Ack,
        b"message" | b"pmessage" | b"smessage" => Incoming::Message(items),
        _ => Incoming::Ignored,
    }
}

/// The delivery a message is, and its channel and payload.
fn delivery_of(items: &[Frame]) -> Option<(Delivery, &Bytes, &Bytes)> {
    let bulk = |i: usize| match items.get(i) {
        Some(Frame::Bulk(b)) => Some(b),
        _ => None,
    };
    let kind = bulk(0)?;
    if kind.eq_ignore_ascii_case(b"pmessage") {
        let delivery = Delivery {
            kind: "pmessage",
            pattern: Some(bulk(1)?.clone()),
        };
        return Some((delivery, bulk(2)?, bulk(3)?));
    }
    let kind = if kind.eq_ignore_ascii_case(b"smessage") {
        "smessage"
    } else {
        "message"
    };
    let delivery = Delivery {
        kind,
        pattern: None,
    };
    Some((delivery, bulk(1)?, bulk(2)?))
}

/// Counts a subscriber connection in its server's `server_connections` while
/// it is open, as the pool's own connections are counted.
struct OpenConnection(std::sync::Arc<ServerStats>);

impl OpenConnection {
    fn count(endpoint: &Endpoint) -> OpenConnection {
        stats::incr(&endpoint.stats.server_connections);
        OpenConnection(std::sync::Arc::clone(&endpoint.stats))
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .server_connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

struct Task {
    server: usize,
    name: String,
    epoch: u64,
    events: mpsc::Sender<Box<Event>>,
    /// Confirmations the server still owes.
    acks_owed: usize,
    /// Reply slots of calls, in order.
    replies: VecDeque<oneshot::Sender<Reply>>,
    /// Copies of NOECHO publications still to drop.
    echoes: Vec<Echo>,
    releasing: bool,
}

impl Task {
    async fn run(mut self, endpoint: Endpoint, mut queue: mpsc::UnboundedReceiver<Command>) {
        let (socket, mut buf) = match open_resp3(&endpoint).await {
            Ok(connected) => connected,
            Err(err) => return self.lost(err).await,
        };
        let _open = OpenConnection::count(&endpoint);
        let (mut reader, mut writer) = socket.into_split();
        let mut decoder = Decoder::default();
        let result = loop {
            // Frames read (the first time: with the handshake's reply) come first.
            if let Err(err) = self.deliver(&mut decoder, &mut buf).await {
                break Err(err);
            }
            if self.releasing && self.acks_owed == 0 && self.replies.is_empty() {
                break Ok(());
            }
            tokio::select! {
                command = queue.recv(), if !self.releasing => {
                    let Some(command) = command else {
                        return; // the session is gone: close at once
                    };
                    if let Some(request) = self.accept(command) {
                        if let Err(e) = writer.write_all(&request).await {
                            break Err(BackendError::Io(e.to_string()));
                        }
                    }
                }
                read = reader.read_buf(&mut buf) => match read {
                    Ok(0) => break Err(BackendError::Io("Connection closed by server".into())),
                    Ok(_) => {}
                    Err(e) => break Err(BackendError::Io(e.to_string())),
                },
            }
        };
        if let Err(err) = result {
            self.lost(err).await;
        }
    }

    /// Books what a command makes the server owe; the bytes to write, if any.
    fn accept(&mut self, command: Command) -> Option<Bytes> {
        match command {
            Command::Subscription { request, acks } => {
                self.acks_owed += acks;
                Some(request)
            }
            Command::Call {
                request,
                reply,
                echo,
            } => {
                self.replies.push_back(reply);
                self.echoes.extend(echo.filter(|e| !e.expected.is_empty()));
                Some(request)
            }
            Command::Release => {
                self.releasing = true;
                None
            }
        }
    }

    /// Handles every complete frame in `buf`.
    async fn deliver(
        &mut self,
        decoder: &mut Decoder,
        buf: &mut BytesMut,
    ) -> Result<(), BackendError> {
        loop {
            let frame = match decoder.decode(buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(err) => return Err(BackendError::Protocol(err.to_string())),
            };
            match classify(frame) {
                Incoming::Ack => {
                    self.acks_owed = self.acks_owed.saturating_sub(1);
                    self.send(Event::Ack {
                        server: self.server,
                    })
                    .await?;
                }
                Incoming::Message(items) => {
                    if !self.is_echo(&items) {
                        let frame = Frame::Push(items);
                        self.send(Event::Message {
                            epoch: self.epoch,
                            frame,
                        })
                        .await?;
                    }
                }
                Incoming::Reply(frame) => self.reply(frame)?,
                Incoming::Ignored => {}
            }
        }
    }

    fn reply(&mut self, frame: Frame) -> Result<(), BackendError> {
        match self.replies.pop_front() {
            Some(slot) => {
                let _ = slot.send(Ok(frame));
                Ok(())
            }
            // A subscription the server refused (ACL, …): its confirmations never come.
            None => Err(BackendError::Protocol(match frame {
                Frame::Error(text) => String::from_utf8_lossy(&text).into_owned(),
                _ => "a reply nobody asked for".into(),
            })),
        }
    }

    /// True (and forgotten) when the message is a copy of a NOECHO publication.
    fn is_echo(&mut self, items: &[Frame]) -> bool {
        if self.echoes.is_empty() {
            return false;
        }
        let Some((delivery, channel, payload)) = delivery_of(items) else {
            return false;
        };
        for i in 0..self.echoes.len() {
            let echo = &mut self.echoes[i];
            if echo.channel != channel || echo.payload != payload {
                continue;
            }
            if let Some(at) = echo.expected.iter().position(|d| *d == delivery) {
                echo.expected.swap_remove(at);
                if echo.expected.is_empty() {
                    self.echoes.remove(i);
                }
                return true;
            }
        }
        false
    }

    async fn send(&self, event: Event) -> Result<(), BackendError> {
        // The writer is gone only when the client is: nothing left to do.
        self.events
            .send(Box::new(event))
            .await
            .map_err(|_| BackendError::Aborted)
    }

    async fn lost(mut self, error: BackendError) {
        for slot in self.replies.drain(..) {
            let _ = slot.send(Err(error.clone()));
        }
        if error == BackendError::Aborted {
            return;
        }
        let lost = Event::Lost {
            epoch: self.epoch,
            server: std::mem::take(&mut self.name),
            error,
        };
        let _ = self.events.send(Box::new(lost)).await;
    }
}
