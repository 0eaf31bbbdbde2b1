//! RDB files on disk: atomic writes, and the load at start.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::rdb::{Decoder, Encoder, RdbError, RdbWriter, Record};
use crate::engine::cmd::REDIS_VERSION;
use crate::engine::db::UnixMs;
use crate::engine::keyspace::Keyspace;
use crate::engine::value::EncodingLimits;
use crate::engine::{memory, EngineConfig};

/// How one RDB file is written, from the engine's settings.
#[derive(Debug, Clone)]
pub struct SaveOptions {
    /// `dir`/`dbfilename`.
    pub path: PathBuf,
    /// `rdbcompression`.
    pub compress: bool,
    /// `rdbchecksum`.
    pub checksum: bool,
    /// Sizes list nodes as the engine does.
    pub limits: EncodingLimits,
    /// Marks the file as an AOF base (the `aof-base` aux field).
    pub aof_base: bool,
}

impl SaveOptions {
    /// The snapshot file the config names.
    pub fn from_config(cfg: &EngineConfig) -> SaveOptions {
        SaveOptions {
            path: Path::new(&cfg.dir).join(&cfg.dbfilename),
            compress: cfg.rdbcompression,
            checksum: cfg.rdbchecksum,
            limits: cfg.encoding_limits(),
            aof_base: false,
        }
    }
}

/// Distinguishes the temporary files of saves in one process.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Writes an RDB file at `opts.path` without ever leaving a partial one there:
/// into a temporary file in the same directory, fsynced, renamed over the old
/// file, then the directory fsynced. `fill` appends the next chunk of records
/// to the encoder and says whether it was the last; the chunk is written after
/// it returns (so `fill` may lock, and the write happens unlocked). Returns the
/// file's size.
///
/// # Errors
/// The failed step and its path; the temporary file is removed.
pub fn write_atomically(
    opts: &SaveOptions,
    now: UnixMs,
    mut fill: impl FnMut(&mut Encoder) -> io::Result<bool>,
) -> io::Result<u64> {
    let dir = opts.path.parent().unwrap_or(Path::new("."));
    let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!("temp-{}-{seq}.rdb", std::process::id()));
    let written = (|| {
        let file = File::create(&temp).map_err(|e| context(e, "create", &temp))?;
        let mut out = RdbWriter::new(BufWriter::with_capacity(1 << 16, file));
        let mut enc = Encoder::new(opts.compress, opts.limits.clone());
        let aux = aux_fields(now, opts.aof_base);
        let aux: Vec<(&str, &str)> = aux.iter().map(|(k, v)| (*k, v.as_str())).collect();
        enc.header(&aux);
        loop {
            let done = fill(&mut enc)?;
            out.write(&enc.take())
                .map_err(|e| context(e, "write", &temp))?;
            if done {
                break;
            }
        }
        let size = out.written() + 9; // EOF and checksum to come
        let file = out
            .finish(opts.checksum)
            .and_then(|buf| buf.into_inner().map_err(io::IntoInnerError::into_error))
            .map_err(|e| context(e, "write", &temp))?;
        file.sync_all().map_err(|e| context(e, "fsync", &temp))?;
        fs::rename(&temp, &opts.path).map_err(|e| context(e, "rename", &opts.path))?;
        // The rename is durable once the directory is; not every platform can say.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(size)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

fn context(err: io::Error, step: &str, path: &Path) -> io::Error {
    io::Error::new(
        err.kind(),
        format!("cannot {step} {}: {err}", path.display()),
    )
}

fn aux_fields(now: UnixMs, aof_base: bool) -> Vec<(&'static str, String)> {
    vec![
        ("redis-ver", REDIS_VERSION.to_string()),
        ("redis-bits", "64".to_string()),
        ("ctime", (now / 1000).to_string()),
        ("used-mem", memory::used_memory().to_string()),
        ("aof-base", u8::from(aof_base).to_string()),
    ]
}

/// What a load found.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadStats {
    /// Keys loaded.
    pub keys: u64,
    /// Keys skipped because they had expired.
    pub expired: u64,
}

/// A snapshot that cannot be loaded: the engine refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file exists but cannot be opened.
    #[error("cannot open the RDB file {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not valid RDB.
    #[error("bad RDB file {path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What and where.
        #[source]
        source: RdbError,
    },
}

/// Loads the RDB file at `path` into `ks` (which should be empty), skipping
/// keys expired at `now`. `Ok(None)` when there is no such file.
///
/// # Errors
/// An unreadable or invalid file, naming it and the offset of the problem; a
/// key twice in one database or a database index beyond `databases` count as
/// invalid, as in Redis.
pub fn load_rdb(
    path: &Path,
    ks: &mut Keyspace,
    now: UnixMs,
) -> Result<Option<LoadStats>, LoadError> {
    let file = match File::open(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        opened => opened.map_err(|source| LoadError::Open {
            path: path.into(),
            source,
        })?,
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let format = |source| LoadError::Format {
        path: path.into(),
        source,
    };
    let input = BufReader::with_capacity(1 << 16, file);
    let mut decoder = Decoder::new(input, size, ks.limits.clone()).map_err(format)?;
    let mut stats = LoadStats::default();
    while let Some(record) = decoder.next_record().map_err(format)? {
        let invalid = |what: String| {
            let kind = super::rdb::RdbErrorKind::Corrupt(what);
            format(RdbError {
                offset: decoder.offset(),
                kind,
            })
        };
        match record {
            Record::Aux(key, value) => tracing::debug!(
                key = %String::from_utf8_lossy(&key),
                value = %String::from_utf8_lossy(&value),
                "RDB aux field"
            ),
            Record::Function(_) => {
                tracing::warn!("RDB holds a function library: functions are not supported, skipped")
            }
            Record::Key {
                db,
                key,
                value,
                expire_at,
            } => {
                let Some(target) = ks.dbs.get_mut(db) else {
                    return Err(invalid(format!(
                        "database {db} beyond the {} configured",
                        ks.dbs.len()
                    )));
                };
                if expire_at.is_some_and(|at| at <= now) {
                    stats.expired += 1;
                    continue;
                }
                if target.peek(&key).is_some() {
                    let key = String::from_utf8_lossy(&key);
                    return Err(invalid(format!("duplicate key '{key}' in database {db}")));
                }
                target.insert_with_expiry(key, value, expire_at, now);
                stats.keys += 1;
            }
        }
    }
    Ok(Some(stats))
}

/// Loads the snapshot the config names, logging as Redis does.
///
/// # Errors
/// See [`load_rdb`].
pub fn load_at_start(shared: &crate::engine::server::Shared) -> Result<(), LoadError> {
    let path = SaveOptions::from_config(&shared.config.read()).path;
    let started = Instant::now();
    let mut ks = shared.ks.lock();
    let loaded = load_rdb(&path, &mut ks, crate::engine::server::now_ms())?;
    drop(ks);
    if let Some(stats) = loaded {
        tracing::info!(
            path = %path.display(),
            keys = stats.keys,
            expired = stats.expired,
            "DB loaded from disk: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
        *shared.persist.loaded.lock() = stats;
    }
    Ok(())
}
