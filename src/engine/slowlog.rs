//! The slow log (SLOWLOG): the latest commands that ran longer than
//! `slowlog-log-slower-than` microseconds, newest first, at most
//! `slowlog-max-len` of them.
//!
//! Arguments are kept as Redis keeps them: at most [`MAX_ARGS`], each cut to
//! [`MAX_ARG_LEN`] bytes, with passwords redacted, so a huge MSET does not make the
//! log huge and AUTH does not leak.

use bytes::Bytes;
use std::collections::VecDeque;

/// Arguments kept per entry; the last one kept says how many more there were.
pub const MAX_ARGS: usize = 32;
/// Bytes kept per argument; the rest is summarised.
pub const MAX_ARG_LEN: usize = 128;

/// One logged command.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    /// Unique, increasing id.
    pub id: u64,
    /// When it was logged, in Unix seconds.
    pub time: u64,
    /// How long it ran, in microseconds.
    pub usec: u64,
    /// Its arguments, trimmed and redacted.
    pub args: Vec<Bytes>,
    /// The client's address (`ip:port`).
    pub addr: String,
    /// The client's name (CLIENT SETNAME), empty if none.
    pub name: Bytes,
}

/// The log itself.
#[derive(Debug, Default)]
pub struct SlowLog {
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

impl SlowLog {
    /// Adds an entry (its id is assigned here), dropping the oldest past `max_len`.
    pub fn push(&mut self, mut entry: SlowEntry, max_len: usize) {
        entry.id = self.next_id;
        self.next_id += 1;
        self.entries.push_front(entry);
        self.entries.truncate(max_len);
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is logged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every entry (ids keep increasing, as in Redis).
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Keeps at most `max_len` entries (after CONFIG SET slowlog-max-len).
    pub fn truncate(&mut self, max_len: usize) {
        self.entries.truncate(max_len);
    }

    /// The newest `count` entries, newest first.
    pub fn latest(&self, count: usize) -> impl Iterator<Item = &SlowEntry> {
        self.entries.iter().take(count)
    }
}

/// Arguments as the log keeps them: redacted, at most [`MAX_ARGS`], each at most
/// [`MAX_ARG_LEN`] bytes.
pub fn trimmed_args(args: &[Bytes]) -> Vec<Bytes> {
    let args = redacted(args);
    let keep = if args.len() > MAX_ARGS {
        MAX_ARGS - 1
    } else {
        args.len()
    };
    let mut out: Vec<Bytes> = args[..keep].iter().map(trimmed).collect();
    if args.len() > keep {
        out.push(Bytes::from(format!(
            "... ({} more arguments)",
            args.len() - keep
        )));
    }
    out
}

fn trimmed(arg: &Bytes) -> Bytes {
    if arg.len() <= MAX_ARG_LEN {
        return arg.clone();
    }
    let mut cut = arg[..MAX_ARG_LEN].to_vec();
    cut.extend_from_slice(format!("... ({} more bytes)", arg.len() - MAX_ARG_LEN).as_bytes());
    Bytes::from(cut)
}

/// The arguments with secrets replaced by `(redacted)`: every argument of AUTH,
/// the user and password of `HELLO … AUTH user pass`.
pub fn redacted(args: &[Bytes]) -> Vec<Bytes> {
    let hidden = Bytes::from_static(b"(redacted)");
    let mut out = args.to_vec();
    let name = args.first().map_or(&b""[..], |a| a);
    if name.eq_ignore_ascii_case(b"auth") {
        out.iter_mut().skip(1).for_each(|a| *a = hidden.clone());
    } else if name.eq_ignore_ascii_case(b"hello") {
        if let Some(at) = args.iter().position(|a| a.eq_ignore_ascii_case(b"auth")) {
            out.iter_mut()
                .skip(at + 1)
                .take(2)
                .for_each(|a| *a = hidden.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(usec: u64) -> SlowEntry {
        SlowEntry {
            id: 0,
            time: 0,
            usec,
            args: vec![Bytes::from("GET")],
            addr: "127.0.0.1:1".into(),
            name: Bytes::new(),
        }
    }

    #[test]
    fn newest_first_and_bounded() {
        let mut log = SlowLog::default();
        for usec in 0..5 {
            log.push(entry(usec), 3);
        }
        let ids: Vec<u64> = log.latest(10).map(|e| e.id).collect();
        assert_eq!(ids, vec![4, 3, 2]);
        assert_eq!(log.latest(1).next().map(|e| e.usec), Some(4));
        log.reset();
        assert!(log.is_empty());
        log.push(entry(9), 3);
        assert_eq!(log.latest(1).next().map(|e| e.id), Some(5));
    }

    #[test]
    fn long_commands_are_summarised() {
        let args: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        let kept = trimmed_args(&args);
        assert_eq!(kept.len(), MAX_ARGS);
        assert_eq!(kept[31], Bytes::from("... (9 more arguments)"));
        let long = vec![Bytes::from("SET"), Bytes::from(vec![b'x'; 200])];
        let kept = trimmed_args(&long);
        assert_eq!(kept[1].len(), MAX_ARG_LEN + "... (72 more bytes)".len());
        assert!(kept[1].ends_with(b"... (72 more bytes)"));
    }

    #[test]
    fn secrets_are_redacted() {
        let auth = redacted(&[Bytes::from("AUTH"), Bytes::from("user"), Bytes::from("pw")]);
        assert_eq!(
            auth,
            vec![
                Bytes::from("AUTH"),
                Bytes::from("(redacted)"),
                Bytes::from("(redacted)")
            ]
        );
        let hello: Vec<Bytes> = ["HELLO", "3", "auth", "u", "p", "SETNAME", "n"]
            .map(Bytes::from)
            .to_vec();
        let hello = redacted(&hello);
        assert_eq!(hello[3], Bytes::from("(redacted)"));
        assert_eq!(hello[4], Bytes::from("(redacted)"));
        assert_eq!(hello[6], Bytes::from("n"));
        let get = [Bytes::from("GET"), Bytes::from("k")];
        assert_eq!(redacted(&get), get.to_vec());
    }
}
