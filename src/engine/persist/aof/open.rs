//! Opening the AOF at start: load it if present, else create the directory and
//! manifest; then start the writer and logging.

use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::atomic::Ordering;

use super::manifest::{self, Manifest};
use super::writer::{Fsync, Writer};
use super::{load, rewrite, AofError, Files};
use crate::engine::server::Shared;

/// True when the AOF is on and its manifest exists: recovery then loads the
/// AOF, not the RDB snapshot, as Redis does.
pub fn present(cfg: &crate::engine::EngineConfig) -> bool {
    cfg.appendonly
        && Path::new(&cfg.dir)
            .join(&cfg.appenddirname)
            .join(manifest::manifest_name(&cfg.appendfilename))
            .exists()
}

/// Loads the AOF if `appendonly yes` and it exists, then opens it for appending
/// (creating the directory and manifest if needed) and starts logging. When
/// the AOF is new and data was loaded from the RDB snapshot, that data is
/// written as its base first.
///
/// # Errors
/// The AOF cannot be read, is damaged, or cannot be created.
pub fn start(shared: &Shared) -> Result<(), AofError> {
    let cfg = shared.config.read().clone();
    if !cfg.appendonly {
        return Ok(());
    }
    let dir = Path::new(&cfg.dir).join(&cfg.appenddirname);
    let prefix = cfg.appendfilename.as_str();
    let manifest_path = dir.join(manifest::manifest_name(prefix));
    let mut manifest = match fs::read_to_string(&manifest_path) {
        Ok(text) => {
            let manifest = Manifest::parse(&text).map_err(|why| AofError::Manifest {
                path: manifest_path.clone(),
                why,
            })?;
            load::load(shared, &dir, &manifest, cfg.aof_load_truncated)?;
            manifest
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(&dir).map_err(AofError::io(&dir))?;
            Manifest::default()
        }
        Err(err) => return Err(AofError::io(&manifest_path)(err)),
    };
    let part = match manifest.incrs.last() {
        Some(part) => part.clone(),
        None => {
            let part = manifest.add_incr(prefix);
            manifest
                .store(&dir, prefix)
                .map_err(AofError::io(&manifest_path))?;
            part
        }
    };
    let path = dir.join(&part.name);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(AofError::io(&path))?;
    let size = file.metadata().map_err(AofError::io(&path))?.len();
    let sizes = |parts: &mut dyn Iterator<Item = &manifest::Part>| -> u64 {
        parts
            .filter_map(|p| fs::metadata(dir.join(&p.name)).ok())
            .map(|m| m.len())
            .sum()
    };
    let older = manifest.incrs.len().saturating_sub(1);
    shared
        .aof
        .base_size
        .store(sizes(&mut manifest.base.iter()), Ordering::Relaxed);
    shared.aof.incr_size.store(
        sizes(&mut manifest.incrs.iter().take(older)),
        Ordering::Relaxed,
    );
    let writer = Writer::start(file, size, Fsync::from_name(&cfg.appendfsync))
        .map_err(AofError::io(&path))?;
    let _ = shared.aof.writer.set(writer);
    shared.ks.lock().aof.set_on(true);
    let aof = &shared.aof;
    aof.rewrite_base_size
        .store(aof.current_size(), Ordering::Relaxed);
    let fresh = manifest.base.is_none() && size == 0 && manifest.incrs.len() == 1;
    *aof.files.lock() = Some(Files {
        dir: dir.clone(),
        prefix: prefix.to_string(),
        manifest,
    });
    let job = {
        let mut ks = shared.ks.lock();
        let loaded = ks.dbs.iter().any(|db| !db.is_empty());
        // Data loaded from elsewhere (an RDB) and a new AOF: write it as the
        // base now, before anything relies on the AOF alone.
        (fresh && loaded)
            .then(|| rewrite::begin(shared, &mut ks))
            .transpose()
            .map_err(|err| AofError::io(&dir)(std::io::Error::other(err.to_string())))?
            .flatten()
    };
    if let Some(job) = job {
        tracing::info!("creating the AOF base file from the data loaded");
        job.run(shared);
    }
    tracing::info!(dir = %dir.display(), file = %part.name, fsync = %cfg.appendfsync, "appending to the AOF");
    Ok(())
}
