//! What the append-only file logs: every executed write, turned into a command
//! whose replay has the same effect (Redis's "propagation").
//!
//! By default a write is logged as it was received, when it changed something.
//! Where replaying the command as received could do something else, it is
//! logged by its effect, as Redis does:
//!
//! - relative expiries (EXPIRE, SET EX, SETEX, GETEX…) become the absolute
//!   `PEXPIREAT` / `SET … PXAT`, or `DEL` when the key is gone, or `PERSIST`;
//! - RESTORE's relative TTL becomes an absolute one (`ABSTTL`), or `DEL`
//!   when the value was already expired;
//! - random effects (SPOP) become the `SREM` of what was popped;
//! - float arithmetic (INCRBYFLOAT, HINCRBYFLOAT) becomes the `SET KEEPTTL` /
//!   `HSET` of the result, so rounding cannot drift on replay;
//! - a served blocking command becomes its non-blocking form;
//! - keys deleted by expiry or eviction become `DEL`;
//! - a `SELECT` is written whenever the database changes, and the writes of a
//!   transaction are wrapped in `MULTI` / `EXEC`.
//!
//! The [`Feed`] lives in the keyspace, so it is appended to under the keyspace
//! lock, in execution order; the lock's holder hands its bytes to the writer
//! before releasing the lock.

use bytes::Bytes;

use crate::engine::cmd::Ctx;
use crate::resp::Frame;

/// The commands to log since the last [`Feed::take`], encoded in RESP.
#[derive(Debug, Default)]
pub struct Feed {
    /// Logging is on (appendonly yes).
    on: bool,
    /// The database the log's reader has selected; None at the start of a file.
    db: Option<usize>,
    /// Inside EXEC: whether MULTI was written yet (it is, before the first write).
    exec: Option<bool>,
    buf: Vec<u8>,
    /// Under `always`, an offset handed to the writer early (a rewrite started
    /// mid-batch) that the batch's replies must still wait for.
    owed: Option<u64>,
}

impl Feed {
    /// Turns logging on or off.
    pub fn set_on(&mut self, on: bool) {
        self.on = on;
    }

    /// True when writes are logged.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// A new file starts: its reader is in database 0 until told otherwise.
    pub fn restart(&mut self) {
        self.db = None;
    }

    /// Logs `args` as run in database `db`.
    pub fn command<A: AsRef<[u8]>>(&mut self, db: usize, args: &[A]) {
        if !self.on {
            return;
        }
        if self.exec == Some(false) {
            self.exec = Some(true);
            encode(&mut self.buf, &[b"MULTI".as_slice()]);
        }
        if self.db != Some(db) {
            self.db = Some(db);
            let mut index = itoa::Buffer::new();
            encode(
                &mut self.buf,
                &[b"SELECT".as_slice(), index.format(db).as_bytes()],
            );
        }
        encode(&mut self.buf, args);
    }

    /// Logs the deletion of `key` (expired, evicted).
    pub fn delete(&mut self, db: usize, key: &[u8]) {
        self.command(db, &[b"DEL".as_slice(), key]);
    }

    /// True inside EXEC once MULTI is logged: the log must not switch files.
    pub fn in_transaction(&self) -> bool {
        self.exec == Some(true)
    }

    /// Remembers an offset the current batch must wait for.
    pub fn owe(&mut self, offset: Option<u64>) {
        self.owed = self.owed.max(offset);
    }

    /// The offset remembered by [`Feed::owe`], once.
    pub fn take_owed(&mut self) -> Option<u64> {
        self.owed.take()
    }

    /// EXEC starts running its queue.
    pub fn begin_exec(&mut self) {
        self.exec = Some(false);
    }

    /// EXEC is done: closes the transaction if a write was logged in it.
    pub fn end_exec(&mut self) {
        if self.exec.take() == Some(true) {
            encode(&mut self.buf, &[b"EXEC".as_slice()]);
        }
    }

    /// The bytes logged since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// True when nothing was logged since the last [`Feed::take`].
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Appends one command as a RESP array of bulk strings.
pub fn encode<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    let mut n = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(n.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        let arg = arg.as_ref();
        out.push(b'$');
        out.extend_from_slice(n.format(arg.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Logs a write command that ran and changed something (`name` is its table
/// name, `reply` what it answered).
pub fn written(cx: &mut Ctx<'_>, name: &str, args: &[Bytes], reply: &Frame) {
    if !cx.ks.aof.is_on() {
        return;
    }
    let db = cx.client.db;
    let logged = by_effect(cx, name, args, reply);
    match logged {
        Some(logged) => cx.ks.aof.command(db, &logged),
        None => cx.ks.aof.command(db, args),
    }
}

/// The command that replays `args`'s effect, where that is not `args` itself.
fn by_effect(cx: &mut Ctx<'_>, name: &str, args: &[Bytes], reply: &Frame) -> Option<Vec<Bytes>> {
    let word = |w: &'static str| Bytes::from_static(w.as_bytes());
    let expiry = || {
        let db = cx.client.db;
        cx.ks.dbs[db].peek(&args[1]).map(|e| e.expire_at())
    };
    Some(match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" => match expiry() {
            Some(Some(at)) => vec![word("PEXPIREAT"), args[1].clone(), number(at)],
            Some(None) => return None,
            None => vec![word("DEL"), args[1].clone()],
        },
        "getex" => match expiry()? {
            Some(at) => vec![word("PEXPIREAT"), args[1].clone(), number(at)],
            None => vec![word("PERSIST"), args[1].clone()],
        },
        "set" | "setex" | "psetex" => {
            let value = if name == "set" { &args[2] } else { &args[3] };
            match expiry() {
                Some(Some(at)) => {
                    vec![
                        word("SET"),
                        args[1].clone(),
                        value.clone(),
                        word("PXAT"),
                        number(at),
                    ]
                }
                Some(None) => return None,
                None => vec![word("DEL"), args[1].clone()],
            }
        }
        // Without IDLETIME/FREQ, and REPLACE in case the log already has the key.
        "restore" => match expiry() {
            Some(at) => vec![
                word("RESTORE"),
                args[1].clone(),
                number(at.unwrap_or(0)),
                args[3].clone(),
                word("REPLACE"),
                word("ABSTTL"),
            ],
            None => vec![word("DEL"), args[1].clone()],
        },
        "incrbyfloat" => vec![word("SET"), args[1].clone(), bulk(reply)?, word("KEEPTTL")],
        "hincrbyfloat" => vec![word("HSET"), args[1].clone(), args[2].clone(), bulk(reply)?],
        "spop" => {
            let mut srem = vec![word("SREM"), args[1].clone()];
            match reply {
                Frame::Bulk(member) => srem.push(member.clone()),
                Frame::Array(members) | Frame::Set(members) => {
                    srem.extend(members.iter().filter_map(bulk))
                }
                _ => return None,
            }
            srem
        }
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            let Frame::Array(items) = reply else {
                return None;
            };
            let key = bulk(items.first()?)?;
            vec![word(non_blocking(name)), key]
        }
        "blmpop" | "bzmpop" => {
            let mut rest = vec![word(non_blocking(name))];
            rest.extend_from_slice(&args[2..]);
            rest
        }
        "blmove" | "brpoplpush" => {
            let mut rest = vec![word(non_blocking(name))];
            rest.extend_from_slice(&args[1..args.len() - 1]);
            rest
        }
        _ => return None,
    })
}

/// A blocking command's non-blocking form.
fn non_blocking(name: &str) -> &'static str {
    match name {
        "blpop" => "LPOP",
        "brpop" => "RPOP",
        "bzpopmin" => "ZPOPMIN",
        "bzpopmax" => "ZPOPMAX",
        "blmpop" => "LMPOP",
        "bzmpop" => "ZMPOP",
        "blmove" => "LMOVE",
        _ => "RPOPLPUSH",
    }
}

fn number(n: i64) -> Bytes {
    Bytes::from(n.to_string())
}

fn bulk(frame: &Frame) -> Option<Bytes> {
    match frame {
        Frame::Bulk(bytes) => Some(bytes.clone()),
        _ => None,
    }
}
