//! A key and its value as the commands that recreate it: the base file of a
//! rewrite when `aof-use-rdb-preamble no`. Large aggregates are split into
//! commands of [`ITEMS_PER_COMMAND`] elements, as Redis splits them, so no
//! single command in the file is huge.

use bytes::Bytes;

use super::feed::encode;
use crate::engine::db::UnixMs;
use crate::engine::value::Value;

/// Elements per RPUSH / SADD / HSET / ZADD.
pub const ITEMS_PER_COMMAND: usize = 64;

/// Appends `SELECT db`.
pub fn select(out: &mut Vec<u8>, db: usize) {
    encode(out, &[b"SELECT".as_slice(), db.to_string().as_bytes()]);
}

/// Appends the commands that recreate `key` (and its expiry).
pub fn entry(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_at: Option<UnixMs>) {
    let key = Bytes::copy_from_slice(key);
    match value {
        Value::Str(s) => encode(
            out,
            &[Bytes::from_static(b"SET"), key.clone(), s.to_bytes()],
        ),
        Value::List(items) => batched(out, "RPUSH", &key, items.iter().map(|i| vec![i.clone()])),
        Value::Set(set) => batched(out, "SADD", &key, set.iter().map(|m| vec![m.to_bytes()])),
        Value::Hash(hash) => batched(
            out,
            "HSET",
            &key,
            hash.iter().map(|(f, v)| vec![f.clone(), v.clone()]),
        ),
        Value::ZSet(zset) => batched(
            out,
            "ZADD",
            &key,
            zset.iter()
                .map(|(m, score)| vec![Bytes::from(score_text(score)), m.clone()]),
        ),
    }
    if let Some(at) = expire_at {
        encode(
            out,
            &[
                Bytes::from_static(b"PEXPIREAT"),
                key,
                Bytes::from(at.to_string()),
            ],
        );
    }
}

/// `name key item…` per [`ITEMS_PER_COMMAND`] items.
fn batched(
    out: &mut Vec<u8>,
    name: &'static str,
    key: &Bytes,
    items: impl Iterator<Item = Vec<Bytes>>,
) {
    let head = [Bytes::from_static(name.as_bytes()), key.clone()];
    let mut args = head.to_vec();
    let mut count = 0;
    for item in items {
        args.extend(item);
        count += 1;
        if count == ITEMS_PER_COMMAND {
            encode(out, &args);
            args.truncate(2);
            count = 0;
        }
    }
    if count > 0 {
        encode(out, &args);
    }
}

/// A score as text that parses back to the same f64.
fn score_text(score: f64) -> String {
    if score.is_infinite() {
        return if score > 0.0 { "+inf" } else { "-inf" }.into();
    }
    // Rust's shortest round-trip formatting.
    format!("{score}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::client::Client;
    use crate::engine::cmd::Ctx;
    use crate::engine::config::EngineConfig;
    use crate::engine::keyspace::Keyspace;
    use crate::engine::server::Shared;
    use crate::engine::session;

    fn run(ks: &mut Keyspace, shared: &Shared, client: &mut Client, line: &[&str]) {
        let args: Vec<Bytes> = line
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut cx = Ctx::new(ks, client, shared, 1_000);
        session::process(&mut cx, &args);
    }

    /// Each type, written out as commands and replayed into an empty
    /// keyspace, comes back equal (large aggregates over several commands).
    #[test]
    fn every_type_round_trips() {
        let shared = Shared::new(EngineConfig::default());
        let mut client = Client::detached(1);
        let mut ks = Keyspace::new(16);
        let many: Vec<String> = (0..150).map(|i| format!("m{i}")).collect();
        let mut rpush = vec!["RPUSH", "l"];
        rpush.extend(many.iter().map(String::as_str));
        let mut sadd = vec!["SADD", "s"];
        sadd.extend(many.iter().map(String::as_str));
        for line in [
            &["SET", "str", "v"][..],
            &["SET", "int", "12"],
            &rpush,
            &sadd,
            &["SADD", "ints", "1", "2"],
            &["HSET", "h", "a", "1", "b", "2"],
            &["ZADD", "z", "1.5", "x", "-inf", "y", "0.1", "w"],
            &["SET", "ttl", "v"],
            &["PEXPIREAT", "ttl", "99999999999"],
        ] {
            run(&mut ks, &shared, &mut client, line);
        }
        let mut out = Vec::new();
        select(&mut out, 0);
        for (key, entry) in ks.dbs[0].iter(1_000) {
            entry_of(&mut out, key, entry);
        }
        let mut copy = Keyspace::new(16);
        let mut decoder = crate::resp::Decoder::new(crate::resp::Limits::default());
        let mut buf = bytes::BytesMut::from(&out[..]);
        let mut commands = 0;
        while let Some(request) = decoder.decode_request(&mut buf).unwrap() {
            let mut cx = Ctx::new(&mut copy, &mut client, &shared, 1_000);
            session::process(&mut cx, &request.args);
            commands += 1;
        }
        assert!(buf.is_empty());
        assert_eq!(commands, 14, "150 items take 3 commands");
        for (key, entry) in ks.dbs[0].iter(1_000) {
            let other = copy.dbs[0].peek(key).expect("key copied");
            assert_eq!(items(key, other), items(key, entry), "{key:?}");
            assert_eq!(other.expire_at(), entry.expire_at());
        }
        assert_eq!(copy.dbs[0].len(), ks.dbs[0].len());
    }

    /// The arguments that recreate an entry, sorted (sets and hashes iterate
    /// in their table's order).
    fn items(key: &Bytes, e: &crate::engine::db::Entry) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        entry_of(&mut out, key, e);
        let mut args: Vec<Vec<u8>> = out.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        args.sort();
        args
    }

    fn entry_of(out: &mut Vec<u8>, key: &Bytes, e: &crate::engine::db::Entry) {
        entry(out, key, &e.value, e.expire_at());
    }
}
