//! Redis 7's multi-part AOF layout: in `appenddirname`, a base file (a snapshot,
//! as RDB or as commands), incremental files of commands written since, and a
//! manifest naming them, one per line:
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! Names and syntax are those redis-server 7.0 writes and reads, so either
//! server can load the other's directory. The manifest is replaced atomically
//! (written aside, fsynced, renamed over), so a crash leaves the old one or
//! the new one, never half of either.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::Path;

/// The role of a file in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The snapshot the log starts from (`type b`).
    Base,
    /// Commands since the base (`type i`).
    Incr,
    /// Left over from before a rewrite, to delete (`type h`).
    History,
}

/// One file of the AOF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// File name, inside the AOF directory.
    pub name: String,
    /// Its sequence number.
    pub seq: u64,
    /// Its role.
    pub kind: Kind,
}

/// The manifest: which files make up the AOF, in load order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base, if any.
    pub base: Option<Part>,
    /// Incremental files, oldest first.
    pub incrs: Vec<Part>,
    /// Files no longer part of the AOF, not yet deleted.
    pub history: Vec<Part>,
}

/// The longest manifest line read, as Redis limits it.
const MAX_LINE: usize = 1024;

impl Manifest {
    /// Parses a manifest's text.
    ///
    /// # Errors
    /// A line that is not `file NAME seq N type b|i|h`, or two bases; the text
    /// names the line.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.len() > MAX_LINE {
                return Err(format!("line {} is too long", number + 1));
            }
            let part = parse_line(line)
                .ok_or_else(|| format!("invalid AOF manifest line {}: '{line}'", number + 1))?;
            match part.kind {
                Kind::Base if manifest.base.is_some() => {
                    return Err(format!("a second base file at line {}", number + 1))
                }
                Kind::Base => manifest.base = Some(part),
                Kind::Incr => manifest.incrs.push(part),
                Kind::History => manifest.history.push(part),
            }
        }
        if manifest.base.is_none() && manifest.incrs.is_empty() {
            return Err("the AOF manifest names no file".into());
        }
        Ok(manifest)
    }

    /// The manifest's text, as Redis writes it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for part in self.base.iter().chain(&self.history).chain(&self.incrs) {
            let kind = match part.kind {
                Kind::Base => 'b',
                Kind::Incr => 'i',
                Kind::History => 'h',
            };
            let _ = writeln!(out, "file {} seq {} type {kind}", part.name, part.seq);
        }
        out
    }

    /// The sequence number the next incremental file gets.
    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.iter().map(|p| p.seq).max().unwrap_or(0) + 1
    }

    /// Adds a new incremental file named after `prefix` (appendfilename).
    pub fn add_incr(&mut self, prefix: &str) -> Part {
        let seq = self.next_incr_seq();
        let part = Part {
            name: format!("{prefix}.{seq}.incr.aof"),
            seq,
            kind: Kind::Incr,
        };
        self.incrs.push(part.clone());
        part
    }

    /// Every file in load order: the base, then the incremental files.
    pub fn parts(&self) -> impl Iterator<Item = &Part> {
        self.base.iter().chain(&self.incrs)
    }

    /// Writes the manifest into `dir` as `{prefix}.manifest`, atomically.
    ///
    /// # Errors
    /// The file cannot be written, synced or renamed.
    pub fn store(&self, dir: &Path, prefix: &str) -> std::io::Result<()> {
        let path = dir.join(manifest_name(prefix));
        let temp = dir.join(format!("temp-{}", manifest_name(prefix)));
        let mut file = File::create(&temp)?;
        file.write_all(self.to_text().as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, &path)?;
        File::open(dir)?.sync_all()
    }
}

/// The manifest's file name for `prefix` (appendfilename).
pub fn manifest_name(prefix: &str) -> String {
    format!("{prefix}.manifest")
}

/// The name of base number `seq`: `.rdb` when it is an RDB snapshot.
pub fn base_name(prefix: &str, seq: u64, rdb: bool) -> String {
    let ext = if rdb { "rdb" } else { "aof" };
    format!("{prefix}.{seq}.base.{ext}")
}

fn parse_line(line: &str) -> Option<Part> {
    let words = split_words(line)?;
    if words.len() % 2 != 0 {
        return None;
    }
    let (mut name, mut seq, mut kind) = (None, None, None);
    for pair in words.chunks(2) {
        match pair[0].as_str() {
            "file" => name = Some(pair[1].clone()),
            "seq" => seq = pair[1].parse::<u64>().ok(),
            "type" => {
                kind = match pair[1].as_str() {
                    "b" => Some(Kind::Base),
                    "i" => Some(Kind::Incr),
                    "h" => Some(Kind::History),
                    _ => return None,
                }
            }
            _ => {} // a field a later Redis added: ignored, as Redis does
        }
    }
    let name = name.filter(|n| !n.is_empty() && !n.contains('/'))?;
    Some(Part {
        name,
        seq: seq?,
        kind: kind?,
    })
}

/// Splits on spaces, honouring `"…"` quoting (Redis quotes names with spaces).
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => word.push(chars.next()?),
                    c => word.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_redis_syntax() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let manifest = Manifest::parse(text).unwrap();
        assert_eq!(
            manifest.base.as_ref().unwrap().name,
            "appendonly.aof.1.base.rdb"
        );
        assert_eq!(manifest.incrs.len(), 2);
        assert_eq!(manifest.to_text(), text);
        assert_eq!(manifest.next_incr_seq(), 3);
    }

    #[test]
    fn fields_in_any_order_quoted_names_and_comments() {
        let text = "# comment\ntype i seq 4 file \"my file.aof\" newfield x\n";
        let manifest = Manifest::parse(text).unwrap();
        assert_eq!(manifest.incrs[0].name, "my file.aof");
        assert_eq!(manifest.incrs[0].seq, 4);
    }

    #[test]
    fn bad_manifests_are_named() {
        for (text, why) in [
            ("", "names no file"),
            ("file a seq x type i", "line 1"),
            ("file a seq 1 type z", "line 1"),
            ("file a seq 1", "line 1"),
            ("file ../a seq 1 type i", "line 1"),
            ("file a seq 1 type b\nfile b seq 2 type b", "second base"),
            ("file \"a seq 1 type i", "line 1"),
        ] {
            let err = Manifest::parse(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
