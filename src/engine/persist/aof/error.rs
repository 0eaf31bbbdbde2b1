//! Why the AOF cannot be loaded or opened: errors that name the file and,
//! for damage, the offset.

use std::path::{Path, PathBuf};

/// Why the AOF cannot be loaded or opened.
#[derive(Debug, thiserror::Error)]
pub enum AofError {
    /// A file operation failed.
    #[error("AOF {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest cannot be understood.
    #[error("AOF manifest {path}: {why}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A file holds something other than commands.
    #[error("Bad file format reading the append only file {path} at offset {offset}: {why}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the bad bytes start.
        offset: u64,
        /// What is wrong.
        why: String,
    },
    /// A file ends mid-command where that is not allowed (not the last file,
    /// or aof-load-truncated no).
    #[error("Unexpected end of file reading the append only file {path}: the last complete command ends at offset {offset} (with aof-load-truncated yes the tail of the last file is cut off)")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// End of the last complete command.
        offset: u64,
    },
    /// A command the engine does not know.
    #[error("Unknown command '{name}' reading the append only file {path} at offset {offset}")]
    UnknownCommand {
        /// The file.
        path: PathBuf,
        /// Where the command starts.
        offset: u64,
        /// Its name.
        name: String,
    },
}

impl AofError {
    pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AofError + '_ {
        move |source| AofError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
