//! Loading the AOF at start: the base, then every incremental file, replayed
//! through the same dispatcher clients use, each file by a fresh client (in
//! database 0), as Redis does.
//!
//! A file must hold nothing but RESP arrays. The last file may end in the middle
//! of a command, or of a transaction (a crash mid-write): with
//! `aof-load-truncated yes` what is complete is kept, the tail cut off and a
//! warning logged; anything else out of place is an error naming the file and
//! the offset, and the engine does not start.

use bytes::BytesMut;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::manifest::Manifest;
use super::AofError;
use crate::engine::client::Client;
use crate::engine::cmd::{self, Ctx};
use crate::engine::persist::rdb;
use crate::engine::server::{now_ms, Shared};
use crate::engine::session;
use crate::resp::{Decoder, Limits};

/// Bytes read from a file at a time.
const CHUNK: usize = 256 * 1024;

/// How a load went.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Commands replayed.
    pub commands: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Replays every file of `manifest` in `dir` into the keyspace.
///
/// # Errors
/// A file cannot be read, or is damaged (see the module doc).
pub fn load(
    shared: &Shared,
    dir: &Path,
    manifest: &Manifest,
    truncated_ok: bool,
) -> Result<Loaded, AofError> {
    let parts: Vec<PathBuf> = manifest.parts().map(|p| dir.join(&p.name)).collect();
    let total: u64 = parts
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let mut progress = Progress {
        total,
        started: Instant::now(),
        last_log: Instant::now(),
        loaded: Loaded::default(),
    };
    for (i, path) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if is_rdb(path)? {
            load_rdb(shared, path, &mut progress)?;
        } else {
            replay(shared, path, last && truncated_ok, &mut progress)?;
        }
    }
    let secs = progress.started.elapsed().as_secs_f64();
    tracing::info!(
        commands = progress.loaded.commands,
        bytes = progress.loaded.bytes,
        seconds = format!("{secs:.3}"),
        "DB loaded from append only file"
    );
    Ok(progress.loaded)
}

/// True when the file starts as an RDB snapshot does.
fn is_rdb(path: &Path) -> Result<bool, AofError> {
    let mut head = [0u8; 5];
    let mut file = File::open(path).map_err(AofError::io(path))?;
    let n = file.read(&mut head).map_err(AofError::io(path))?;
    Ok(n == 5 && &head == b"REDIS")
}

/// Loads a base in RDB format (`aof-use-rdb-preamble yes`, Redis's default):
/// its keys go into the keyspace, those already expired are skipped.
fn load_rdb(shared: &Shared, path: &Path, progress: &mut Progress) -> Result<(), AofError> {
    let file = File::open(path).map_err(AofError::io(path))?;
    let len = file.metadata().map_err(AofError::io(path))?.len();
    let input = std::io::BufReader::new(file.take(len));
    let limits = shared.ks.lock().limits.clone();
    let bad = |err: rdb::RdbError| corrupt(path, err.offset, &err.kind.to_string());
    let mut decoder = rdb::Decoder::new(input, len, limits).map_err(bad)?;
    let databases = shared.ks.lock().dbs.len();
    while let Some(record) = decoder.next_record().map_err(bad)? {
        let rdb::Record::Key {
            db,
            key,
            value,
            expire_at,
        } = record
        else {
            continue;
        };
        if db >= databases {
            let why = format!("database {db} is out of range (databases {databases})");
            return Err(corrupt(path, decoder.offset(), &why));
        }
        let now = now_ms();
        if expire_at.is_some_and(|at| at <= now) {
            continue;
        }
        shared.ks.lock().dbs[db].insert_with_expiry(key, value, expire_at, now);
        progress.loaded.commands += 1;
        progress.loaded.bytes = decoder.offset();
        progress.tick(shared);
    }
    Ok(())
}

struct Progress {
    total: u64,
    started: Instant,
    last_log: Instant,
    loaded: Loaded,
}

impl Progress {
    /// Logs how far the load got, once a second.
    fn tick(&mut self, shared: &Shared) {
        if self.last_log.elapsed().as_secs() < 1 {
            return;
        }
        self.last_log = Instant::now();
        let percent = self.loaded.bytes as f64 * 100.0 / self.total.max(1) as f64;
        let rate = self.loaded.commands as f64 / self.started.elapsed().as_secs_f64();
        let keys: usize = shared.ks.lock().dbs.iter().map(|db| db.len()).sum();
        tracing::info!(
            percent = format!("{percent:.1}"),
            keys,
            commands_per_sec = rate as u64,
            "loading the append only file"
        );
    }
}

fn corrupt(path: &Path, offset: u64, why: &str) -> AofError {
    AofError::Corrupt {
        path: path.to_path_buf(),
        offset,
        why: why.to_string(),
    }
}

/// One file's replay state.
struct Replay<'a> {
    shared: &'a Shared,
    path: &'a Path,
    client: Client,
    decoder: Decoder,
    /// File offset of the start of the unparsed bytes.
    offset: u64,
    /// Where the open transaction's MULTI starts.
    multi_at: Option<u64>,
    commands: u64,
}

fn replay(
    shared: &Shared,
    path: &Path,
    truncated_ok: bool,
    progress: &mut Progress,
) -> Result<(), AofError> {
    let file = File::open(path).map_err(AofError::io(path))?;
    // Read no further than the length now: a device or a growing file ends here.
    let len = file.metadata().map_err(AofError::io(path))?.len();
    let mut reader = file.take(len);
    let limits = Limits {
        max_bulk_len: shared.config.read().proto_max_bulk_len as usize,
        ..Limits::default()
    };
    let mut state = Replay {
        shared,
        path,
        client: Client::detached(0),
        decoder: Decoder::new(limits),
        offset: 0,
        multi_at: None,
        commands: 0,
    };
    let mut buf = BytesMut::with_capacity(CHUNK);
    loop {
        buf.reserve(CHUNK);
        let mut chunk = vec![0u8; CHUNK];
        let n = reader.read(&mut chunk).map_err(AofError::io(path))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let (offset, commands) = (state.offset, state.commands);
        state.run(&mut buf)?;
        progress.loaded.commands += state.commands - commands;
        progress.loaded.bytes += state.offset - offset;
        progress.tick(shared);
    }
    state.finish(&buf, truncated_ok)
}

impl Replay<'_> {
    /// Runs every complete command in `buf`, under one hold of the lock.
    fn run(&mut self, buf: &mut BytesMut) -> Result<(), AofError> {
        let shared = self.shared;
        let mut ks = shared.ks.lock();
        let mut cx = Ctx::new(&mut ks, &mut self.client, shared, now_ms());
        while let Some(&first) = buf.first() {
            if first != b'*' {
                return Err(corrupt(self.path, self.offset, "expected '*'"));
            }
            let before = buf.len();
            let request = match self.decoder.decode_request(buf) {
                Ok(Some(request)) => request,
                Ok(None) => {
                    self.offset += (before - buf.len()) as u64;
                    break;
                }
                Err(err) => return Err(corrupt(self.path, self.offset, &err.to_string())),
            };
            let at = self.offset;
            self.offset += (before - buf.len()) as u64;
            let Some(name) = request.args.first() else {
                continue;
            };
            if cmd::lookup(name).is_none() {
                return Err(AofError::UnknownCommand {
                    path: self.path.to_path_buf(),
                    offset: at,
                    name: String::from_utf8_lossy(name).into_owned(),
                });
            }
            if name.eq_ignore_ascii_case(b"multi") {
                self.multi_at = Some(at);
            } else if name.eq_ignore_ascii_case(b"exec") {
                self.multi_at = None;
            }
            cx.now = now_ms();
            session::process(&mut cx, &request.args);
            self.commands += 1;
        }
        Ok(())
    }

    /// At the end of the file: a command or transaction left open is a
    /// truncated tail, cut off when allowed.
    fn finish(&mut self, rest: &[u8], truncated_ok: bool) -> Result<(), AofError> {
        if rest.is_empty() && self.multi_at.is_none() {
            return Ok(());
        }
        let good = self.multi_at.unwrap_or(self.offset);
        if !truncated_ok {
            return Err(AofError::Truncated {
                path: self.path.to_path_buf(),
                offset: good,
            });
        }
        tracing::warn!(
            path = %self.path.display(),
            offset = good,
            "!!! Warning: short read while loading the AOF file: the tail after the last complete command was cut off (a crash mid-write?) !!!"
        );
        let file = OpenOptions::new()
            .write(true)
            .open(self.path)
            .map_err(AofError::io(self.path))?;
        file.set_len(good)
            .and_then(|()| file.sync_all())
            .map_err(AofError::io(self.path))
    }
}
