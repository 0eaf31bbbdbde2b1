//! Compares the table and the `COMMAND` replies with a live redis-server 7.0 on
//! 127.0.0.1:6379. Each test prints a note and passes when no such server answers.
//!
//! Only read-only introspection is sent (`COMMAND …`, unknown commands, wrong
//! arities), so sharing the server with other tests is safe.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::resp::Frame;

const ADDR: &str = "127.0.0.1:6379";

/// Commands Redis 7.0 has that the table leaves out on purpose.
const LEFT_OUT: &[&str] = &["asking", "cluster", "readonly", "readwrite"];

/// A RESP3 connection to the live server.
struct Live {
    reader: BufReader<TcpStream>,
}

impl Live {
    /// Connects and switches to RESP3, or explains why not.
    fn connect() -> Result<Live, String> {
        let addr: SocketAddr = ADDR.parse().map_err(|e| format!("{e}"))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .map_err(|e| format!("no server on {ADDR}: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let mut live = Live {
            reader: BufReader::new(stream),
        };
        let hello = live.call(&["HELLO", "3"]);
        let version = map_get(&hello, "version").ok_or(format!("HELLO 3 failed: {hello:?}"))?;
        match version {
            Frame::Bulk(v) if v.starts_with(b"7.0.") => Ok(live),
            other => Err(format!("the server on {ADDR} is not Redis 7.0 ({other:?})")),
        }
    }

    /// Sends one command and reads its reply.
    fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            let arg = arg.as_ref();
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.reader
            .get_mut()
            .write_all(&out)
            .expect("write to redis");
        read_frame(&mut self.reader).expect("read from redis")
    }
}

/// Reads one RESP3 frame (the kinds `COMMAND` replies use, and errors).
fn read_frame(r: &mut dyn BufRead) -> io::Result<Frame> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.len() < 3 || !line.ends_with(b"\r\n") {
        return Err(io::Error::other(format!("bad line {line:?}")));
    }
    let (kind, rest) = (line[0], &line[1..line.len() - 2]);
    let text = String::from_utf8_lossy(rest).into_owned();
    let int = || text.parse::<i64>().map_err(io::Error::other);
    Ok(match kind {
        b'+' => Frame::Simple(Bytes::copy_from_slice(rest)),
        b'-' => Frame::Error(Bytes::copy_from_slice(rest)),
        b':' => Frame::Integer(int()?),
        b'_' => Frame::Null,
        b'#' => Frame::Boolean(rest == b"t"),
        b'$' | b'=' => {
            let mut data = vec![0; usize::try_from(int()?).map_err(io::Error::other)? + 2];
            r.read_exact(&mut data)?;
            data.truncate(data.len() - 2);
            Frame::Bulk(Bytes::from(data))
        }
        b'*' => Frame::Array(read_frames(r, int()?)?),
        b'~' => Frame::Set(read_frames(r, int()?)?),
        b'%' => {
            let flat = read_frames(r, int()? * 2)?;
            let mut it = flat.into_iter();
            let mut pairs = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Frame::Map(pairs)
        }
        other => {
            return Err(io::Error::other(format!(
                "unexpected kind {}",
                other as char
            )))
        }
    })
}

/// `n` frames in a row.
fn read_frames(r: &mut dyn BufRead, n: i64) -> io::Result<Vec<Frame>> {
    (0..n).map(|_| read_frame(r)).collect()
}

/// The value under bulk key `key` of a map frame.
fn map_get<'a>(frame: &'a Frame, key: &str) -> Option<&'a Frame> {
    match frame {
        Frame::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| *k == Frame::bulk(key.to_owned()))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// Connects, or prints why the test is skipped.
fn live_or_skip(test: &str) -> Option<Live> {
    match Live::connect() {
        Ok(live) => Some(live),
        Err(why) => {
            eprintln!("note: {test} skipped: {why}");
            None
        }
    }
}

fn every_spec() -> impl Iterator<Item = &'static CommandSpec> {
    commands()
        .iter()
        .flat_map(|c| std::iter::once(c).chain(c.subcommands))
}

fn ours(line: &[&str]) -> Frame {
    let args: Vec<Bytes> = line.iter().map(|a| Bytes::from(a.to_string())).collect();
    command_reply(&args)
}

/// Brings a live `COMMAND INFO` entry to the form we reply: subcommands sorted by
/// name (Redis lists them in hash order) and key-spec `notes` dropped (prose, which
/// we do not copy).
fn sorted_subcommands(entry: Frame) -> Frame {
    let Frame::Array(mut fields) = entry else {
        return entry;
    };
    if let Some(Frame::Set(specs)) = fields.get_mut(8) {
        for spec in specs {
            if let Frame::Map(pairs) = spec {
                pairs.retain(|(key, _)| *key != Frame::bulk("notes"));
            }
        }
    }
    if let Some(Frame::Array(subs)) = fields.get_mut(9) {
        let taken = std::mem::take(subs);
        *subs = taken.into_iter().map(sorted_subcommands).collect();
        subs.sort_by_key(|sub| match sub {
            Frame::Array(f) => format!("{:?}", f.first()),
            other => format!("{other:?}"),
        });
    }
    Frame::Array(fields)
}

fn single_entry(reply: Frame) -> Frame {
    match reply {
        Frame::Array(mut entries) if entries.len() == 1 => sorted_subcommands(entries.remove(0)),
        other => other,
    }
}

#[test]
fn table_matches_live_command_info() {
    let Some(mut live) = live_or_skip("table_matches_live_command_info") else {
        return;
    };
    let mut wrong = Vec::new();
    for spec in every_spec() {
        let theirs = single_entry(live.call(&["COMMAND", "INFO", spec.name]));
        let Frame::Array(fields) = &theirs else {
            wrong.push(format!("{}: live reply {theirs:?}", spec.name));
            continue;
        };
        let live_numbers = &fields[1..2]
            .iter()
            .chain(&fields[3..6])
            .cloned()
            .collect::<Vec<_>>();
        let our_numbers = [spec.arity, spec.first_key, spec.last_key, spec.step]
            .map(|n| Frame::Integer(n.into()));
        if live_numbers[..] != our_numbers[..] {
            wrong.push(format!(
                "{}: arity/first/last/step {live_numbers:?}, ours {our_numbers:?}",
                spec.name
            ));
        }
        let mine = single_entry(ours(&["COMMAND", "INFO", spec.name]));
        if mine != theirs {
            wrong.push(format!(
                "{}:\n  live {theirs:?}\n  ours {mine:?}",
                spec.name
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differences:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn table_has_every_live_command_but_the_cluster_group() {
    let Some(mut live) = live_or_skip("table_has_every_live_command_but_the_cluster_group") else {
        return;
    };
    let Frame::Array(names) = live.call(&["COMMAND", "LIST"]) else {
        panic!("COMMAND LIST is an array");
    };
    let missing: Vec<String> = names
        .iter()
        .filter_map(|name| match name {
            Frame::Bulk(name) if lookup_full(name).is_none() => {
                Some(String::from_utf8_lossy(name).into_owned())
            }
            _ => None,
        })
        .filter(|name| !LEFT_OUT.contains(&name.split('|').next().unwrap_or_default()))
        .collect();
    assert!(missing.is_empty(), "not in the table: {missing:?}");
    let Frame::Integer(count) = live.call(&["COMMAND", "COUNT"]) else {
        panic!("COMMAND COUNT is an integer");
    };
    assert_eq!(
        ours(&["COMMAND", "COUNT"]),
        Frame::Integer(count - LEFT_OUT.len() as i64)
    );
}

#[test]
fn docs_match_live() {
    let Some(mut live) = live_or_skip("docs_match_live") else {
        return;
    };
    let fields = ["since", "group", "doc_flags", "deprecated_since"];
    let mut wrong = Vec::new();
    for spec in every_spec() {
        let theirs = live.call(&["COMMAND", "DOCS", spec.name]);
        let mine = ours(&["COMMAND", "DOCS", spec.name]);
        let (Some(theirs), Some(mine)) = (map_get(&theirs, spec.name), map_get(&mine, spec.name))
        else {
            wrong.push(format!("{}: no docs", spec.name));
            continue;
        };
        for field in fields {
            if map_get(theirs, field) != map_get(mine, field) {
                wrong.push(format!(
                    "{} {field}: live {theirs:?}, ours {mine:?}",
                    spec.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Command lines whose keys `COMMAND GETKEYS` and `GETKEYSANDFLAGS` must report as
/// Redis does, bad ones included.
const KEY_LINES: &[&str] = &[
    "get k",
    "get",
    "get a b",
    "set k v",
    "set k v nx get",
    "mset a 1 b 2",
    "mset a 1 b",
    "del a b c",
    "exists a b",
    "blpop a b 0",
    "brpop a 0",
    "bzpopmin a b 1",
    "lmove a b left right",
    "blmove a b left right 0",
    "rename a b",
    "smove a b m",
    "copy a b",
    "bitop and d a b",
    "bitfield k get u8 0",
    "bitfield k incrby u8 0 1",
    "pfcount a b",
    "pfmerge d a b",
    "sinterstore d a b",
    "zrangestore d s 0 1",
    "lcs a b",
    "zunionstore d 2 a b weights 1 2",
    "zunionstore d 0 a",
    "zunionstore d 3 a b",
    "zinterstore d 1 a",
    "zdiffstore d 2 a b",
    "zunion 2 a b",
    "zinter 1 a withscores",
    "zdiff 2 a b",
    "zintercard 2 a b limit 1",
    "sintercard 1 a",
    "sintercard x a",
    "lmpop 2 a b left",
    "lmpop 5 a b left",
    "lmpop 0 a left",
    "zmpop 1 a min",
    "blmpop 0 2 a b left",
    "bzmpop 0 1 a min count 2",
    "eval s 0",
    "eval s 2 a b c",
    "eval s 3 a b",
    "eval s x a",
    "evalsha_ro s 1 a",
    "fcall f 1 a",
    "fcall_ro f 2 a b",
    "xread streams a b 0 0",
    "xread count 5 block 0 streams a 0",
    "xread streams a b 0",
    "xread count 1 streams",
    "xread streams streams a 0 0",
    "xreadgroup group g c streams a b 0 0",
    "xreadgroup group streams c noack streams a 0",
    "sort k",
    "sort k limit 0 1 store d",
    "sort k get # store d store e",
    "sort k by store store d",
    "sort k STORE d limit 0",
    "sort k store",
    "sort_ro k by w get #",
    "georadius k 0 0 1 m store d storedist e",
    "georadius k 0 0 1 m storedist e store d",
    "georadius k 0 0 1 m store",
    "georadiusbymember k m 1 m store d",
    "georadius_ro k 0 0 1 m",
    "geosearchstore d s frommember m byradius 1 m",
    "migrate h p k 0 5",
    "migrate h p  0 5 keys a b",
    "migrate h p  0 5 auth pw keys a b",
    "migrate h p  0 5 auth2 u keys keys a",
    "migrate h p k 0 5 keys a",
    "migrate h p  0 5 copy replace keys a",
    "migrate h p  0 5 keys",
    "object encoding k",
    "object help",
    "memory usage k samples 5",
    "memory nope k",
    "xinfo stream k full",
    "xgroup create k g 0",
    "config get x",
    "spublish c m",
    "publish c m",
    "ssubscribe a b",
    "watch a b",
    "restore-asking k 0 v",
    "pfdebug getreg k",
    "nope x",
    "ping",
];

#[test]
fn getkeys_match_live() {
    let Some(mut live) = live_or_skip("getkeys_match_live") else {
        return;
    };
    let mut wrong = Vec::new();
    for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
        for line in KEY_LINES {
            let mut args = vec!["COMMAND", sub];
            args.extend(line.split(' '));
            let (theirs, mine) = (live.call(&args), ours(&args));
            if theirs != mine {
                wrong.push(format!("{sub} {line}:\n  live {theirs:?}\n  ours {mine:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn errors_match_live() {
    let Some(mut live) = live_or_skip("errors_match_live") else {
        return;
    };
    let long = "x".repeat(300);
    let many: Vec<String> = (0..50).map(|i| format!("arg{i}")).collect();
    let mut lines: Vec<Vec<&[u8]>> = vec![
        vec![b"foo"],
        vec![b"foo", b"a", b"b"],
        vec![b"FOO", b"a b", b"it's", b""],
        vec![long.as_bytes(), long.as_bytes()],
        vec![b"foo", b"a\r\nb", b"c\0d"],
        vec![b"fo\0o", b"x"],
        vec![b"config|get", b"x"],
    ];
    let mut line: Vec<&[u8]> = vec![b"nope"];
    line.extend(many.iter().map(|s| s.as_bytes()));
    lines.push(line);
    let mut wrong = Vec::new();
    for line in &lines {
        let args: Vec<Bytes> = line.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let (theirs, mine) = (live.call(line), unknown_command_error(&args));
        if theirs != mine {
            wrong.push(format!("{line:?}: live {theirs:?}, ours {mine:?}"));
        }
    }
    for (line, name) in [
        (&["GET"][..], "get"),
        (&["get", "a", "b"], "get"),
        (&["mget"], "mget"),
        (&["CONFIG", "GET"], "config|get"),
        (&["config"], "config"),
        (&["object", "encoding"], "object|encoding"),
    ] {
        let spec = lookup_full(name.as_bytes()).expect("in the table");
        let (theirs, mine) = (live.call(line), wrong_arity_error(spec));
        if theirs != mine {
            wrong.push(format!("{line:?}: live {theirs:?}, ours {mine:?}"));
        }
    }
    for (line, container) in [
        (&["CoNfIg", "NoPe"][..], "config"),
        (&["client", &long], "client"),
        (&["object", "a\r\nb"], "object"),
        (&["xinfo", "x"], "xinfo"),
    ] {
        let spec = lookup(container.as_bytes()).expect("in the table");
        let (theirs, mine) = (
            live.call(line),
            unknown_subcommand_error(spec, line[1].as_bytes()),
        );
        if theirs != mine {
            wrong.push(format!("{line:?}: live {theirs:?}, ours {mine:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn command_subcommand_replies_match_live() {
    let Some(mut live) = live_or_skip("command_subcommand_replies_match_live") else {
        return;
    };
    let lines: &[&[&str]] = &[
        &["COMMAND", "NOPE"],
        &["COMMAND", "COUNT", "x"],
        &[
            "COMMAND",
            "INFO",
            "nope",
            "get",
            "CONFIG|GET",
            "config|",
            "|get",
        ],
        &["COMMAND", "DOCS", "nope"],
        &["COMMAND", "LIST", "FILTERBY"],
        &["COMMAND", "LIST", "FILTERBY", "nope", "x"],
        &["COMMAND", "LIST", "x"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "*", "extra"],
        &["COMMAND", "LIST", "FILTERBY", "aclcat", "@read"],
        &["COMMAND", "LIST", "FILTERBY", "module", "x"],
        &["COMMAND", "GETKEYS"],
    ];
    let mut wrong = Vec::new();
    for line in lines {
        let (theirs, mine) = (live.call(line), ours(line));
        let (theirs, mine) = (sorted_subcommands_all(theirs), sorted_subcommands_all(mine));
        if theirs != mine {
            wrong.push(format!("{line:?}:\n  live {theirs:?}\n  ours {mine:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Sorts the subcommands of every entry of a `COMMAND INFO` reply.
fn sorted_subcommands_all(reply: Frame) -> Frame {
    match reply {
        Frame::Array(entries) => {
            Frame::Array(entries.into_iter().map(sorted_subcommands).collect())
        }
        other => other,
    }
}

#[test]
fn list_filters_match_live() {
    let Some(mut live) = live_or_skip("list_filters_match_live") else {
        return;
    };
    let names = |reply: Frame| -> Vec<String> {
        let Frame::Array(items) = reply else {
            return vec![format!("{reply:?}")];
        };
        let mut names: Vec<String> = items
            .iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            })
            .filter(|n| !LEFT_OUT.contains(&n.split('|').next().unwrap_or_default()))
            .collect();
        names.sort();
        names
    };
    let mut filters: Vec<[&str; 2]> = [
        "*", "GET", "g[a-e]t", "g[^a]t", "ge\\t", "*|G?T", "[", "x[", "h*[!a]", "hse[tt", "\\",
        "g[e-a]t", "g[]t", "zrange*", "*-*", "?",
    ]
    .iter()
    .map(|p| ["PATTERN", *p])
    .collect();
    let categories = AclCategories::NONE;
    let all = commands()
        .iter()
        .fold(categories, |acc, c| acc.union(c.acl));
    filters.extend(all.names().map(|c| ["ACLCAT", c]));
    filters.push(["aclcat", "READ"]);
    filters.push(["ACLCAT", "nope"]);
    let mut wrong = Vec::new();
    for [kind, arg] in filters {
        let line = ["COMMAND", "LIST", "FILTERBY", kind, arg];
        let (theirs, mine) = (names(live.call(&line)), names(ours(&line)));
        if theirs != mine {
            wrong.push(format!("{kind} {arg}: live {theirs:?}, ours {mine:?}"));
        }
    }
    let (theirs, mine) = (
        names(live.call(&["COMMAND", "LIST"])),
        names(ours(&["COMMAND", "LIST"])),
    );
    assert_eq!(theirs, mine);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
