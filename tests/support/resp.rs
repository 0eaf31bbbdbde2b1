//! Reading RESP2/RESP3 values off a raw connection, independently of the
//! crate's own decoder, for tests that check what the proxy really sends.

use std::time::Duration;

use super::{cmd, Raw};

/// One RESP2/RESP3 value as a test reads it off the wire (independent of the
/// crate's own decoder).
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Resp>),
    Push(Vec<Resp>),
    Map(Vec<(Resp, Resp)>),
}

impl Resp {
    /// A bulk string from text.
    pub fn bulk(text: &str) -> Resp {
        Resp::Bulk(text.as_bytes().to_vec())
    }

    /// The items of an array or a push.
    pub fn items(&self) -> &[Resp] {
        match self {
            Resp::Array(items) | Resp::Push(items) => items,
            other => panic!("not an array: {other:?}"),
        }
    }

    /// The text of a bulk or simple string.
    pub fn text(&self) -> String {
        match self {
            Resp::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Resp::Simple(s) | Resp::Error(s) => s.clone(),
            other => panic!("not a string: {other:?}"),
        }
    }
}

impl Raw {
    /// Reads one whole value (5 s per piece at most).
    pub async fn read_value(&mut self) -> Resp {
        let line = self.read_line().await;
        let (kind, rest) = line.trim_end_matches("\r\n").split_at(1);
        let count = || rest.parse::<i64>().expect("a length");
        match kind {
            "+" => Resp::Simple(rest.to_string()),
            "-" => Resp::Error(rest.to_string()),
            ":" => Resp::Int(count()),
            "_" => Resp::Null,
            "$" if count() < 0 => Resp::Null,
            "$" => {
                let body = self.read_exact_len(count() as usize + 2).await;
                Resp::Bulk(body[..body.len() - 2].to_vec())
            }
            "*" if count() < 0 => Resp::Null,
            "*" | ">" => {
                let mut items = Vec::new();
                for _ in 0..count() {
                    items.push(Box::pin(self.read_value()).await);
                }
                if kind == "*" {
                    Resp::Array(items)
                } else {
                    Resp::Push(items)
                }
            }
            "%" => {
                let mut pairs = Vec::new();
                for _ in 0..count() {
                    let key = Box::pin(self.read_value()).await;
                    let value = Box::pin(self.read_value()).await;
                    pairs.push((key, value));
                }
                Resp::Map(pairs)
            }
            other => panic!("unexpected RESP type {other:?} in {line:?}"),
        }
    }

    /// Sends a command and reads its one reply.
    pub async fn call(&mut self, args: &[&str]) -> Resp {
        self.send(&cmd(args)).await;
        self.read_value().await
    }

    /// True if nothing arrives within `wait` (for asserting silence).
    pub async fn is_silent_for(&mut self, wait: Duration) -> bool {
        use tokio::io::AsyncReadExt;
        let mut byte = [0u8; 1];
        tokio::time::timeout(wait, self.stream.read(&mut byte))
            .await
            .is_err()
    }
}
