//! MULTI/EXEC/DISCARD/WATCH/UNWATCH through the proxy.
//!
//! A transaction runs on one server, over a connection of the client's own (the
//! shared connections interleave clients, and a server's MULTI state belongs to
//! its connection). Which server is not known at MULTI: the proxy answers `+OK`
//! itself and answers `+QUEUED` for keyless commands (PING, ECHO…) while it
//! keeps them. The first keyed command — or an earlier WATCH — pins the server:
//! MULTI and the kept commands go there first (their replies, already given, are
//! swallowed), then every later command of the transaction. While pinned, the
//! client's other requests for that server take the same connection too, so they
//! stay in order with the transaction.
//!
//! A command whose keys live on another server than the pinned one gets a
//! `-CROSSSLOT` error naming the servers, and marks the transaction failed: EXEC
//! then answers `-EXECABORT` (and the server's half-made transaction is
//! discarded), as Redis does for a command it refused to queue. EXEC, DISCARD and
//! UNWATCH release the private connection, which closes once it has delivered
//! their replies. A transaction with only keyless commands runs on any live server.

use bytes::{Bytes, BytesMut};

use super::super::backend::encode_command;
use super::super::route::{self, Plan};
use super::writer::Pending;
use super::{End, Session};
use crate::command::CommandSpec;
use crate::resp::{Frame, Request};

/// Proxy-answered commands a transaction may queue: the server runs them too.
const QUEUEABLE_LOCAL: &[&str] = &["ping", "echo", "time"];

/// A client's transaction state.
#[derive(Debug, Default)]
pub(super) struct Txn {
    /// The server of the transaction's private connection (WATCH or MULTI).
    pinned: Option<usize>,
    /// Inside MULTI.
    multi: Option<Multi>,
}

#[derive(Debug, Default)]
struct Multi {
    /// Commands answered QUEUED before a server was pinned.
    buffered: Vec<Bytes>,
    /// MULTI went to the pinned server.
    sent: bool,
    /// A command could not be queued: EXEC aborts.
    failed: bool,
}

impl Txn {
    /// True between MULTI and EXEC/DISCARD.
    pub(super) fn is_queuing(&self) -> bool {
        self.multi.is_some()
    }

    /// The transaction's server, if one is pinned.
    pub(super) fn pinned(&self) -> Option<usize> {
        self.pinned
    }

    /// Forgets the pinned server; returns it.
    pub(super) fn unpin(&mut self) -> Option<usize> {
        self.pinned.take()
    }
}

/// Commands that act on the transaction, or the connection, rather than being
/// queued inside MULTI.
pub(super) fn is_control(plan: &Plan) -> bool {
    match plan {
        Plan::Stateful(spec) => matches!(spec.name, "multi" | "exec" | "discard" | "watch"),
        Plan::Local(spec) => matches!(spec.name, "quit" | "reset"),
        _ => false,
    }
}

fn command(args: &[&[u8]]) -> Bytes {
    let mut out = BytesMut::new();
    encode_command(args, &mut out);
    out.freeze()
}

impl Session {
    /// MULTI, EXEC, DISCARD, WATCH, UNWATCH.
    pub(super) async fn transaction(
        &mut self,
        spec: &CommandSpec,
        request: &Request,
    ) -> Result<(), End> {
        match spec.name {
            "multi" => self.multi(request).await,
            "exec" => self.exec(request).await,
            "discard" => self.discard(request).await,
            "watch" => self.watch(spec, request).await,
            _ => self.unwatch(request).await,
        }
    }

    async fn multi(&mut self, request: &Request) -> Result<(), End> {
        if self.txn.multi.is_some() {
            return self
                .reply(Frame::error("ERR MULTI calls can not be nested"))
                .await;
        }
        self.txn.multi = Some(Multi {
            sent: self.txn.pinned.is_some(),
            ..Multi::default()
        });
        match self.txn.pinned {
            Some(server) => self.forward_pinned(server, request).await,
            None => self.reply(Frame::ok()).await,
        }
    }

    async fn exec(&mut self, request: &Request) -> Result<(), End> {
        let Some(multi) = self.txn.multi.take() else {
            return self.reply(Frame::error("ERR EXEC without MULTI")).await;
        };
        if multi.failed {
            if let (true, Some(server)) = (multi.sent, self.txn.pinned) {
                self.swallow(server, command(&[b"DISCARD"])).await?;
            }
            self.unpin();
            return self
                .reply(Frame::error(
                    "EXECABORT Transaction discarded because of previous errors.",
                ))
                .await;
        }
        if !multi.sent && multi.buffered.is_empty() {
            return self.reply(Frame::Array(Vec::new())).await;
        }
        if !multi.sent {
            let Some(server) = self.client.pool.any_server() else {
                return self.reply(route::no_server(&self.client.pool)).await;
            };
            self.txn.multi = Some(multi);
            self.pin(server).await?;
            self.txn.multi = None;
        }
        if let Some(server) = self.txn.pinned {
            self.forward_pinned(server, request).await?;
        }
        self.unpin();
        Ok(())
    }

    async fn discard(&mut self, request: &Request) -> Result<(), End> {
        let Some(multi) = self.txn.multi.take() else {
            return self.reply(Frame::error("ERR DISCARD without MULTI")).await;
        };
        match (multi.sent, self.txn.pinned) {
            (true, Some(server)) => self.forward_pinned(server, request).await?,
            _ => self.reply(Frame::ok()).await?,
        }
        self.unpin();
        Ok(())
    }

    async fn watch(&mut self, spec: &CommandSpec, request: &Request) -> Result<(), End> {
        if self.txn.multi.is_some() {
            return self
                .reply(Frame::error("ERR WATCH inside MULTI is not allowed"))
                .await;
        }
        let mut servers = Vec::new();
        for i in spec.key_indexes(&request.args) {
            match self.client.pool.server_for(&request.args[i]) {
                Some(s) if !servers.contains(&s) => servers.push(s),
                Some(_) => {}
                None => return self.reply(route::no_server(&self.client.pool)).await,
            }
        }
        let server = match (servers.as_slice(), self.txn.pinned) {
            ([s], None) => *s,
            ([s], Some(pinned)) if *s == pinned => pinned,
            _ => return self.reply(self.crossslot(b"WATCH", &servers)).await,
        };
        self.pin(server).await?;
        self.forward_pinned(server, request).await
    }

    async fn unwatch(&mut self, request: &Request) -> Result<(), End> {
        match self.txn.pinned {
            Some(server) => {
                self.forward_pinned(server, request).await?;
                self.unpin();
                Ok(())
            }
            None => self.reply(Frame::ok()).await,
        }
    }

    /// A command between MULTI and EXEC: queued on the pinned server, kept until
    /// a server is known, or refused (and the transaction failed).
    pub(super) async fn queue_in_multi(
        &mut self,
        plan: Plan,
        request: &Request,
    ) -> Result<(), End> {
        let target = match plan {
            Plan::Reply(frame) => return self.fail_multi(frame).await,
            Plan::Forward(s) | Plan::Private(s) => Some(s),
            Plan::Local(spec) if QUEUEABLE_LOCAL.contains(&spec.name) => None,
            Plan::Stateful(spec) if spec.name == "unwatch" => None,
            Plan::Local(spec) | Plan::Stateful(spec) => {
                let text = format!(
                    "ERR shardcar: {} inside MULTI is not supported by the proxy",
                    spec.name.to_uppercase().replace('|', " ")
                );
                return self.fail_multi(Frame::error(text)).await;
            }
            Plan::Split(split) => {
                let servers: Vec<usize> = split.parts.iter().map(|p| p.server).collect();
                let refusal = self.crossslot(&request.args[0], &servers);
                return self.fail_multi(refusal).await;
            }
        };
        match (target, self.txn.pinned) {
            (Some(server), Some(pinned)) if server != pinned => {
                let refusal = self.crossslot(&request.args[0], &[server]);
                return self.fail_multi(refusal).await;
            }
            (Some(server), None) => self.pin(server).await?,
            _ => {}
        }
        match (self.txn.pinned, self.txn.multi.as_mut()) {
            (Some(server), _) => self.forward_pinned(server, request).await,
            (None, Some(multi)) => {
                multi.buffered.push(request.to_resp());
                self.reply(Frame::simple("QUEUED")).await
            }
            (None, None) => Ok(()),
        }
    }

    async fn fail_multi(&mut self, refusal: Frame) -> Result<(), End> {
        if let Some(multi) = self.txn.multi.as_mut() {
            multi.failed = true;
        }
        self.reply(refusal).await
    }

    /// The error for a transaction command (or WATCH) that would leave its server.
    fn crossslot(&self, name: &[u8], servers: &[usize]) -> Frame {
        let pool = &self.client.pool;
        let names: Vec<&str> = servers
            .iter()
            .map(|&s| pool.servers[s].name.as_str())
            .collect();
        let pinned = match self.txn.pinned {
            Some(p) => format!(" but the transaction runs on {}", pool.servers[p].name),
            None => String::new(),
        };
        Frame::error(format!(
            "CROSSSLOT shardcar: {} goes to {}{pinned}; a transaction runs on one server, use a hash tag to keep its keys together",
            String::from_utf8_lossy(name).to_uppercase(),
            names.join(", "),
        ))
    }

    /// Pins the transaction to `server`; MULTI and the kept commands go there.
    async fn pin(&mut self, server: usize) -> Result<(), End> {
        self.txn.pinned = Some(server);
        let Some(multi) = self.txn.multi.as_mut().filter(|m| !m.sent) else {
            return Ok(());
        };
        multi.sent = true;
        let buffered = std::mem::take(&mut multi.buffered);
        self.swallow(server, command(&[b"MULTI"])).await?;
        for request in buffered {
            self.swallow(server, request).await?;
        }
        Ok(())
    }

    /// Sends on the private connection; the reply goes to the client.
    async fn forward_pinned(&mut self, server: usize, request: &Request) -> Result<(), End> {
        let reply = self.send(server, request.to_resp(), true).await?;
        self.push(Pending::Backend {
            server,
            reply,
            sent: self.client.pool.metrics.start(&request.args[0], false),
            timed: false,
        })
        .await
    }

    /// Sends on the private connection; the client has had its reply already.
    async fn swallow(&mut self, server: usize, bytes: Bytes) -> Result<(), End> {
        let reply = self.send(server, bytes, true).await?;
        self.push(Pending::Swallow { server, reply }).await
    }
}
