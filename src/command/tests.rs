//! Unit tests of the command table and its API (no server needed).

use bytes::Bytes;

use super::*;
use crate::resp::Frame;

fn args(line: &str) -> Vec<Bytes> {
    line.split(' ')
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

fn spec(name: &str) -> &'static CommandSpec {
    lookup(name.as_bytes()).unwrap_or_else(|| panic!("{name} is in the table"))
}

fn keys(line: &str) -> Vec<usize> {
    let args = args(line);
    spec(line.split(' ').next().unwrap()).key_indexes(&args)
}

fn every_spec() -> impl Iterator<Item = &'static CommandSpec> {
    commands()
        .iter()
        .flat_map(|c| std::iter::once(c).chain(c.subcommands))
}

fn error_text(frame: Frame) -> String {
    match frame {
        Frame::Error(text) => String::from_utf8_lossy(&text).into_owned(),
        other => panic!("not an error: {other:?}"),
    }
}

#[test]
fn lookup_ignores_case_and_rejects_unknown_names() {
    assert_eq!(spec("get").name, "get");
    assert_eq!(lookup(b"GeT").map(|s| s.name), Some("get"));
    assert_eq!(
        lookup(b"RESTORE-ASKING").map(|s| s.name),
        Some("restore-asking")
    );
    assert!(lookup(b"").is_none());
    assert!(lookup(b"nope").is_none());
    assert!(lookup(b"get ").is_none());
    assert!(lookup(&[b'g'; 1000]).is_none(), "longer than any name");
    assert!(
        lookup(b"config|get").is_none(),
        "subcommands need lookup_sub"
    );
    assert!(
        lookup(b"cluster").is_none(),
        "the cluster group is left out"
    );
}

#[test]
fn subcommands_are_found_by_their_own_name() {
    let config = spec("config");
    assert_eq!(
        lookup_sub(config, b"GET").map(|s| s.name),
        Some("config|get")
    );
    assert_eq!(
        lookup_sub(config, b"get").map(|s| s.full_name()),
        Some("config|get".into())
    );
    assert!(lookup_sub(config, b"nope").is_none());
    assert!(lookup_sub(spec("get"), b"get").is_none());
    assert_eq!(
        lookup_full(b"CLIENT|No-Evict").map(|s| s.name),
        Some("client|no-evict")
    );
    assert!(lookup_full(b"config|").is_none());
    assert!(lookup_full(b"get|x").is_none());
    assert!(lookup_full(b"config|get|x").is_none());
}

#[test]
fn arity_exact_and_minimum() {
    let get = spec("get");
    assert!(!get.check_arity(1));
    assert!(get.check_arity(2));
    assert!(!get.check_arity(3));
    let mget = spec("mget");
    assert!(!mget.check_arity(1));
    assert!(mget.check_arity(2));
    assert!(mget.check_arity(10_000));
    assert!(spec("command").check_arity(1));
    assert!(!spec("config").check_arity(1));
    let config_get = lookup_full(b"config|get").unwrap();
    assert!(!config_get.check_arity(2));
    assert!(config_get.check_arity(3));
    assert!(!get.check_arity(0));
    assert!(mget.check_arity(usize::MAX));
}

#[test]
fn key_indexes_of_fixed_position_commands() {
    assert_eq!(keys("get k"), [1]);
    assert_eq!(keys("mset a 1 b 2 c 3"), [1, 3, 5]);
    assert_eq!(keys("mset a 1 b"), [1, 3], "a dangling key still counts");
    assert_eq!(keys("del a b c"), [1, 2, 3]);
    assert_eq!(keys("blpop a b c 0"), [1, 2, 3], "the timeout is not a key");
    assert_eq!(keys("blpop 0"), Vec::<usize>::new());
    assert_eq!(keys("lmove a b left right"), [1, 2]);
    assert_eq!(keys("bitop and d a b"), [2, 3, 4]);
    assert!(
        keys("get").is_empty(),
        "a short line gives no key, no panic"
    );
    assert!(keys("ping").is_empty());
    let usage = lookup_full(b"memory|usage").unwrap();
    assert_eq!(usage.key_indexes(&args("memory usage k samples 5")), [2]);
    assert!(spec("get").key_indexes(&[]).is_empty());
}

#[test]
fn key_indexes_of_movable_key_commands() {
    assert_eq!(keys("zunionstore d 2 a b weights 1 2"), [1, 3, 4]);
    assert!(
        keys("zunionstore d 3 a b").is_empty(),
        "numkeys past the end"
    );
    assert_eq!(keys("eval s 2 a b x y"), [3, 4]);
    assert!(keys("eval s 0").is_empty());
    assert!(keys("eval s -1").is_empty());
    assert_eq!(keys("lmpop 2 a b left count 3"), [2, 3]);
    assert!(keys("lmpop x a left").is_empty());
    assert_eq!(keys("blmpop 0 2 a b left"), [3, 4]);
    assert_eq!(keys("xread count 2 block 0 streams a b 0 0"), [6, 7]);
    assert_eq!(keys("xreadgroup group g c streams a 0"), [5]);
    assert_eq!(keys("sort k by w get # limit 0 1 store d"), [1, 10]);
    assert_eq!(keys("sort k"), [1]);
    assert_eq!(keys("georadius k 0 0 1 m storedist e store d"), [1, 9, 7]);
    assert_eq!(keys("migrate h p k 0 5 copy"), [3]);
    assert_eq!(keys("sintercard 2 a b limit 1"), [2, 3]);
    assert_eq!(keys("fcall f 1 a x"), [3]);
}

#[test]
fn names_are_lowercase_sorted_and_unique() {
    fn check(table: &[CommandSpec], prefix: &str) {
        for pair in table.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for spec in table {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(
                spec.name.starts_with(prefix),
                "{} under {prefix}",
                spec.name
            );
            assert!(spec.short_name().len() <= MAX_NAME_LEN);
            check(spec.subcommands, &format!("{}|", spec.name));
        }
    }
    check(commands(), "");
    assert_eq!(commands().len(), 236);
    assert_eq!(every_spec().count(), 335);
}

#[test]
fn routed_commands_have_keys() {
    for spec in every_spec() {
        let needs_keys = matches!(spec.route, Route::Single | Route::PerKey | Route::SameShard);
        if needs_keys && spec.name != "publish" {
            assert!(
                spec.has_keys(),
                "{} is {:?} without keys",
                spec.name,
                spec.route
            );
        }
        if !spec.subcommands.is_empty() {
            assert_eq!(spec.route, Route::Local, "container {}", spec.name);
        }
    }
    for name in ["mget", "mset", "del", "unlink", "exists", "touch"] {
        assert_eq!(spec(name).route, Route::PerKey, "{name}");
    }
    assert_eq!(spec("publish").route, Route::Single);
    assert_eq!(spec("rename").route, Route::SameShard);
    assert_eq!(spec("blpop").route, Route::SameShard);
    assert_eq!(spec("dbsize").route, Route::AllShards);
    assert_eq!(spec("ping").route, Route::Local);
    assert!(matches!(spec("keys").route, Route::Unsupported(_)));
}

#[test]
fn movable_keys_commands_and_only_they_have_a_keys_fn() {
    for spec in every_spec() {
        let movable = spec.flags.contains(Flags::MOVABLE_KEYS);
        assert_eq!(movable, spec.keys_fn.is_some(), "{}", spec.name);
    }
}

#[test]
fn fixed_key_positions_agree_with_the_key_specs() {
    for spec in every_spec().filter(|s| s.first_key > 0 && s.keys_fn.is_none()) {
        let argc = spec.arity.unsigned_abs().max(9) as usize;
        let mut line: Vec<Bytes> = (0..argc).map(|i| Bytes::from(format!("a{i}"))).collect();
        if spec.arity > 0 {
            line.truncate(spec.arity as usize);
        }
        let mut from_specs: Vec<usize> = spec
            .key_specs
            .iter()
            .flat_map(|ks| ks.positions(&line).unwrap_or_default())
            .collect();
        from_specs.sort_unstable();
        assert_eq!(spec.key_indexes(&line), from_specs, "{}", spec.name);
    }
}

#[test]
fn hidden_flags_are_kept_but_not_reported() {
    for name in ["eval", "evalsha", "fcall", "pfcount", "publish", "spublish"] {
        assert!(spec(name).flags.contains(Flags::MAY_REPLICATE), "{name}");
    }
    assert!(!spec("eval_ro").flags.contains(Flags::MAY_REPLICATE));
    assert_eq!(
        every_spec()
            .filter(|s| s.flags.contains(Flags::MAY_REPLICATE))
            .count(),
        6
    );
}

#[test]
fn unknown_command_error_text() {
    let text = |line: &[&[u8]]| {
        let args: Vec<Bytes> = line.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        error_text(unknown_command_error(&args))
    };
    assert_eq!(
        text(&[b"foo"]),
        "ERR unknown command 'foo', with args beginning with: "
    );
    assert_eq!(
        text(&[b"FOO", b"a b", b"it's"]),
        "ERR unknown command 'FOO', with args beginning with: 'a b' 'it's' "
    );
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut line: Vec<&[u8]> = vec![b"foo"];
    line.extend(many.iter().map(|s| s.as_bytes()));
    let expected: String = (0..28).map(|i| format!("'{i}' ")).collect();
    assert_eq!(
        text(&line),
        format!("ERR unknown command 'foo', with args beginning with: {expected}")
    );
    let long = vec![b'a'; 200];
    assert_eq!(
        text(&[b"foo", &long, b"b"]),
        format!(
            "ERR unknown command 'foo', with args beginning with: '{}' ",
            "a".repeat(128)
        )
    );
    assert_eq!(
        text(&[&long]),
        format!(
            "ERR unknown command '{}', with args beginning with: ",
            "a".repeat(128)
        )
    );
    assert_eq!(
        text(&[b"fo\0o", b"a\r\nb", b"c\0d"]),
        "ERR unknown command 'fo', with args beginning with: 'a  b' 'c' "
    );
    assert_eq!(
        text(&[]),
        "ERR unknown command '', with args beginning with: "
    );
}

#[test]
fn subcommand_and_arity_error_texts() {
    let config = spec("config");
    assert_eq!(
        error_text(unknown_subcommand_error(config, b"NoPe")),
        "ERR unknown subcommand 'NoPe'. Try CONFIG HELP."
    );
    assert_eq!(
        error_text(unknown_subcommand_error(config, b"a\r\nb\0c")),
        "ERR unknown subcommand 'a  b'. Try CONFIG HELP."
    );
    assert_eq!(
        error_text(wrong_arity_error(spec("get"))),
        "ERR wrong number of arguments for 'get' command"
    );
    let config_get = lookup_full(b"config|get").unwrap();
    assert_eq!(
        error_text(wrong_arity_error(config_get)),
        "ERR wrong number of arguments for 'config|get' command"
    );
    assert_eq!(
        unsupported_error(spec("keys")).map(error_text).as_deref(),
        Some("ERR shardcar: KEYS is not supported across shards; use SCAN")
    );
    let config_set = lookup_full(b"config|set").unwrap();
    assert!(error_text(unsupported_error(config_set).unwrap())
        .starts_with("ERR shardcar: CONFIG SET is"));
    assert!(unsupported_error(spec("get")).is_none());
}

fn simple(s: &'static str) -> Frame {
    Frame::simple(s)
}

fn bulk(s: &'static str) -> Frame {
    Frame::bulk(s)
}

fn command(line: &str) -> Frame {
    command_reply(&args(line))
}

#[test]
fn command_info_entry_for_get() {
    let spec_map = |pairs: Vec<(&'static str, Frame)>| {
        Frame::Map(pairs.into_iter().map(|(k, v)| (bulk(k), v)).collect())
    };
    let key_spec = spec_map(vec![
        ("flags", Frame::Set(vec![simple("RO"), simple("access")])),
        (
            "begin_search",
            spec_map(vec![
                ("type", bulk("index")),
                ("spec", spec_map(vec![("index", Frame::Integer(1))])),
            ]),
        ),
        (
            "find_keys",
            spec_map(vec![
                ("type", bulk("range")),
                (
                    "spec",
                    spec_map(vec![
                        ("lastkey", Frame::Integer(0)),
                        ("keystep", Frame::Integer(1)),
                        ("limit", Frame::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ]);
    let expected = Frame::Array(vec![Frame::Array(vec![
        bulk("get"),
        Frame::Integer(2),
        Frame::Set(vec![simple("readonly"), simple("fast")]),
        Frame::Integer(1),
        Frame::Integer(1),
        Frame::Integer(1),
        Frame::Set(vec![simple("@read"), simple("@string"), simple("@fast")]),
        Frame::Set(vec![]),
        Frame::Set(vec![key_spec]),
        Frame::Set(vec![]),
    ])]);
    assert_eq!(command("COMMAND INFO GET"), expected);
}

#[test]
fn command_info_entry_for_config() {
    let Frame::Array(entries) = command("command info config nope") else {
        panic!("an array");
    };
    assert_eq!(entries[1], Frame::Null, "unknown names are null");
    let Frame::Array(config) = &entries[0] else {
        panic!("an entry");
    };
    assert_eq!(config.len(), 10);
    assert_eq!(config[0], bulk("config"));
    assert_eq!(config[1], Frame::Integer(-2));
    assert_eq!(config[2], Frame::Set(vec![]));
    assert_eq!(config[6], Frame::Set(vec![simple("@slow")]));
    let Frame::Array(subs) = &config[9] else {
        panic!("subcommands are an array");
    };
    let names: Vec<&Frame> = subs
        .iter()
        .map(|s| match s {
            Frame::Array(entry) => &entry[0],
            other => other,
        })
        .collect();
    let expected = [
        "config|get",
        "config|help",
        "config|resetstat",
        "config|rewrite",
        "config|set",
    ];
    assert_eq!(names, expected.map(bulk).iter().collect::<Vec<_>>());
    let Frame::Array(get) = &subs[0] else {
        panic!()
    };
    assert_eq!(get[1], Frame::Integer(-3));
    assert_eq!(
        get[2],
        Frame::Set(vec![
            simple("admin"),
            simple("noscript"),
            simple("loading"),
            simple("stale")
        ])
    );
}

#[test]
fn command_count_list_and_docs() {
    assert_eq!(command("command count"), Frame::Integer(236));
    let Frame::Array(all) = command("command") else {
        panic!()
    };
    assert_eq!(all.len(), 236);
    assert_eq!(
        command("command list filterby pattern *|G?T"),
        Frame::Array(vec![bulk("config|get"), bulk("slowlog|get")])
    );
    assert_eq!(
        command("command list filterby aclcat @read"),
        Frame::Array(vec![])
    );
    assert_eq!(
        command("command list filterby module x"),
        Frame::Array(vec![])
    );
    let Frame::Array(listed) = command("command list") else {
        panic!()
    };
    assert_eq!(listed.len(), 335);
    for bad in [
        "command list filterby",
        "command list x",
        "command list filterby nope x",
    ] {
        assert_eq!(error_text(command(bad)), "ERR syntax error", "{bad}");
    }
    let docs = command("command docs getset nope config|get");
    let Frame::Map(entries) = docs else { panic!() };
    assert_eq!(entries.len(), 2, "unknown names are skipped");
    assert_eq!(entries[0].0, bulk("getset"));
    let fields = Frame::Map(vec![
        (bulk("since"), bulk("1.0.0")),
        (bulk("group"), bulk("string")),
        (bulk("doc_flags"), Frame::Set(vec![simple("deprecated")])),
        (bulk("deprecated_since"), bulk("6.2.0")),
    ]);
    assert_eq!(entries[0].1, fields);
    assert_eq!(entries[1].0, bulk("config|get"));
}

#[test]
fn command_errors() {
    assert_eq!(
        error_text(command("command nope")),
        "ERR unknown subcommand 'nope'. Try COMMAND HELP."
    );
    assert_eq!(
        error_text(command("command count x")),
        "ERR wrong number of arguments for 'command|count' command"
    );
    assert_eq!(
        error_text(command("command getkeys get")),
        "ERR wrong number of arguments for 'command|getkeys' command"
    );
    assert!(matches!(command("command help"), Frame::Array(lines) if !lines.is_empty()));
}

#[test]
fn command_getkeys() {
    assert_eq!(
        command("command getkeys mset a 1 b 2"),
        Frame::Array(vec![bulk("a"), bulk("b")])
    );
    assert_eq!(
        command("command getkeys memory usage k"),
        Frame::Array(vec![bulk("k")])
    );
    assert_eq!(command("command getkeys eval s 0"), Frame::Array(vec![]));
    let cases = [
        ("command getkeys nope x", "ERR Invalid command specified"),
        (
            "command getkeys memory nope k",
            "ERR Invalid command specified",
        ),
        (
            "command getkeys config get x",
            "ERR The command has no key arguments",
        ),
        (
            "command getkeys spublish c m",
            "ERR The command has no key arguments",
        ),
        (
            "command getkeys get a b",
            "ERR Invalid number of arguments specified for command",
        ),
        (
            "command getkeys zunionstore d 3 a b",
            "ERR Invalid arguments specified for command",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(error_text(command(line)), expected, "{line}");
    }
    let flags = |f: &[&'static str]| Frame::Set(f.iter().map(|s| simple(s)).collect());
    assert_eq!(
        command("command getkeysandflags sort k store d"),
        Frame::Array(vec![
            Frame::Array(vec![bulk("k"), flags(&["RO", "access"])]),
            Frame::Array(vec![bulk("d"), flags(&["OW", "update"])]),
        ])
    );
    assert_eq!(
        command("command getkeysandflags set k v get"),
        Frame::Array(vec![Frame::Array(vec![
            bulk("k"),
            flags(&["RW", "access", "update"])
        ])])
    );
}

#[test]
fn position_is_the_index_in_the_table_and_none_for_subcommands() {
    for (index, spec) in commands().iter().enumerate() {
        assert_eq!(position(spec), Some(index), "{}", spec.name);
    }
    let get = lookup_full(b"config|get").unwrap();
    assert_eq!(position(get), None);
}
