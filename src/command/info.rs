//! The `COMMAND` command's replies, shaped as Redis 7.0 shapes them: flags and ACL
//! categories as sets of simple strings, key specs as maps, documentation as maps
//! (RESP2 connections get them flattened to arrays by the encoder).
//!
//! `COMMAND`, `COMMAND COUNT`, `INFO`, `DOCS`, `LIST [FILTERBY …]`, `GETKEYS`,
//! `GETKEYSANDFLAGS` and `HELP`. Only facts are given: the documentation has group,
//! version and deprecation but no summaries, and key specs have no `notes`.

use bytes::Bytes;

use super::glob::glob_match;
use super::keys::{bitfield_key_flags, set_key_flags};
use super::{
    commands, lookup, lookup_full, lookup_sub, unknown_subcommand_error, wrong_arity_error,
    AclCategories, BeginSearch, CommandSpec, DocStatus, FindKeys, KeySpec, KeySpecFlags,
};
use crate::resp::Frame;

/// Our own `COMMAND HELP` text.
const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> ...]. Subcommands are:",
    "(no subcommand)",
    "    Every command's details.",
    "COUNT",
    "    How many commands there are.",
    "LIST [FILTERBY (MODULE <name>|ACLCAT <category>|PATTERN <pattern>)]",
    "    Command names, subcommands included, optionally filtered.",
    "INFO [<command-name> ...]",
    "    Details of the named commands (all when none is named).",
    "DOCS [<command-name> ...]",
    "    Group, version and status of the named commands (all when none is named).",
    "GETKEYS <full-command>",
    "    The keys a command line would touch.",
    "GETKEYSANDFLAGS <full-command>",
    "    The keys and how the command would use each.",
    "HELP",
    "    This text.",
];

/// The reply to `COMMAND …`: `args[0]` is `COMMAND` itself.
pub fn command_reply(args: &[Bytes]) -> Frame {
    let Some(command) = lookup(b"command") else {
        return super::unknown_command_error(args);
    };
    let Some(sub) = args.get(1) else {
        return all_info();
    };
    let Some(spec) = lookup_sub(command, sub) else {
        return unknown_subcommand_error(command, sub);
    };
    if !spec.check_arity(args.len()) {
        return wrong_arity_error(spec);
    }
    match spec.short_name() {
        "count" => Frame::Integer(commands().len() as i64),
        "info" if args.len() == 2 => all_info(),
        "info" => Frame::Array(args[2..].iter().map(|name| info_or_null(name)).collect()),
        "docs" => docs(&args[2..]),
        "list" => list(&args[2..]),
        "getkeys" => get_keys(&args[2..], false),
        "getkeysandflags" => get_keys(&args[2..], true),
        "help" => Frame::Array(HELP.iter().map(|line| Frame::simple(line)).collect()),
        _ => unknown_subcommand_error(command, sub),
    }
}

/// `COMMAND` and `COMMAND INFO`: every top-level command's entry.
fn all_info() -> Frame {
    Frame::Array(commands().iter().map(info_entry).collect())
}

/// One `COMMAND INFO` entry, or null for an unknown name.
fn info_or_null(name: &[u8]) -> Frame {
    lookup_full(name).map_or(Frame::Null, info_entry)
}

/// The ten-element `COMMAND INFO` entry: name, arity, flags, first key, last key,
/// step, ACL categories, tips, key specs, subcommands.
fn info_entry(spec: &CommandSpec) -> Frame {
    let subcommands = if spec.subcommands.is_empty() {
        Frame::Set(Vec::new())
    } else {
        Frame::Array(spec.subcommands.iter().map(info_entry).collect())
    };
    Frame::Array(vec![
        Frame::bulk(spec.name),
        Frame::Integer(spec.arity.into()),
        Frame::Set(spec.flags.reported().names().map(Frame::simple).collect()),
        Frame::Integer(spec.first_key.into()),
        Frame::Integer(spec.last_key.into()),
        Frame::Integer(spec.step.into()),
        Frame::Set(acl_names(spec.acl)),
        Frame::Set(spec.tips.iter().map(|tip| Frame::bulk(*tip)).collect()),
        Frame::Set(spec.key_specs.iter().map(key_spec_map).collect()),
        subcommands,
    ])
}

/// ACL categories as `@name` simple strings.
fn acl_names(acl: AclCategories) -> Vec<Frame> {
    acl.names()
        .map(|name| Frame::Simple(Bytes::from(format!("@{name}"))))
        .collect()
}

/// A map with static bulk-string keys.
fn map(pairs: Vec<(&'static str, Frame)>) -> Frame {
    Frame::Map(
        pairs
            .into_iter()
            .map(|(key, value)| (Frame::bulk(key), value))
            .collect(),
    )
}

/// A key spec as `COMMAND INFO` shows it.
fn key_spec_map(spec: &KeySpec) -> Frame {
    map(vec![
        ("flags", key_flags_set(spec.flags)),
        ("begin_search", begin_search_map(&spec.begin)),
        ("find_keys", find_keys_map(&spec.find)),
    ])
}

/// Key-spec flags as a set of simple strings.
fn key_flags_set(flags: KeySpecFlags) -> Frame {
    Frame::Set(flags.names().map(Frame::simple).collect())
}

/// `{type, spec}` for a key search's beginning.
fn begin_search_map(begin: &BeginSearch) -> Frame {
    let (kind, spec) = match *begin {
        BeginSearch::Index(pos) => ("index", vec![("index", Frame::Integer(pos.into()))]),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => (
            "keyword",
            vec![
                ("keyword", Frame::bulk(keyword)),
                ("startfrom", Frame::Integer(start_from.into())),
            ],
        ),
        BeginSearch::Unknown => ("unknown", Vec::new()),
    };
    map(vec![("type", Frame::bulk(kind)), ("spec", map(spec))])
}

/// `{type, spec}` for how keys are found.
fn find_keys_map(find: &FindKeys) -> Frame {
    let int = |n: i32| Frame::Integer(n.into());
    let (kind, spec) = match *find {
        FindKeys::Range {
            last_key,
            step,
            limit,
        } => (
            "range",
            vec![
                ("lastkey", int(last_key)),
                ("keystep", int(step)),
                ("limit", int(limit)),
            ],
        ),
        FindKeys::KeyNum {
            num_keys_index,
            first_key,
            step,
        } => (
            "keynum",
            vec![
                ("keynumidx", int(num_keys_index)),
                ("firstkey", int(first_key)),
                ("keystep", int(step)),
            ],
        ),
        FindKeys::Unknown => ("unknown", Vec::new()),
    };
    map(vec![("type", Frame::bulk(kind)), ("spec", map(spec))])
}

/// `COMMAND DOCS [name…]`: a map from name to documentation; unknown names are
/// skipped, no names means every top-level command.
fn docs(names: &[Bytes]) -> Frame {
    let specs: Vec<&CommandSpec> = if names.is_empty() {
        commands().iter().collect()
    } else {
        names.iter().filter_map(|name| lookup_full(name)).collect()
    };
    Frame::Map(specs.into_iter().map(doc_entry).collect())
}

/// One command's documentation: since, group, status, subcommands.
fn doc_entry(spec: &CommandSpec) -> (Frame, Frame) {
    let mut fields = vec![
        ("since", Frame::bulk(spec.since)),
        ("group", Frame::bulk(spec.group.as_str())),
    ];
    match spec.doc {
        DocStatus::Normal => {}
        DocStatus::Deprecated(since) => {
            fields.push(("doc_flags", Frame::Set(vec![Frame::simple("deprecated")])));
            fields.push(("deprecated_since", Frame::bulk(since)));
        }
        DocStatus::SysCmd => fields.push(("doc_flags", Frame::Set(vec![Frame::simple("syscmd")]))),
    }
    if !spec.subcommands.is_empty() {
        let subs = spec.subcommands.iter().map(doc_entry).collect();
        fields.push(("subcommands", Frame::Map(subs)));
    }
    (Frame::bulk(spec.name), map(fields))
}

/// `COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]`: names, each
/// container followed by its subcommands.
fn list(filter: &[Bytes]) -> Frame {
    let keep: Box<dyn Fn(&CommandSpec) -> bool> = match filter {
        [] => Box::new(|_| true),
        [by, kind, arg] if by.eq_ignore_ascii_case(b"filterby") => {
            if kind.eq_ignore_ascii_case(b"module") {
                Box::new(|_| false)
            } else if kind.eq_ignore_ascii_case(b"aclcat") {
                let category = AclCategories::from_name(arg);
                Box::new(move |spec| category.is_some_and(|c| spec.acl.contains(c)))
            } else if kind.eq_ignore_ascii_case(b"pattern") {
                let pattern = arg.clone();
                Box::new(move |spec| glob_match(&pattern, spec.name.as_bytes(), true))
            } else {
                return syntax_error();
            }
        }
        _ => return syntax_error(),
    };
    let names = commands()
        .iter()
        .flat_map(|spec| std::iter::once(spec).chain(spec.subcommands))
        .filter(|spec| keep(spec))
        .map(|spec| Frame::bulk(spec.name))
        .collect();
    Frame::Array(names)
}

/// `ERR syntax error`.
fn syntax_error() -> Frame {
    Frame::error("ERR syntax error")
}

/// `COMMAND GETKEYS` / `GETKEYSANDFLAGS` on the command line `line`.
fn get_keys(line: &[Bytes], with_flags: bool) -> Frame {
    let Some(spec) = resolve(line) else {
        return Frame::error("ERR Invalid command specified");
    };
    if !takes_keys(spec) {
        return Frame::error("ERR The command has no key arguments");
    }
    if !spec.check_arity(line.len()) {
        return Frame::error("ERR Invalid number of arguments specified for command");
    }
    let positions = spec.key_indexes(line);
    if positions.is_empty() && !spec.flags.contains(super::Flags::NO_MANDATORY_KEYS) {
        return Frame::error("ERR Invalid arguments specified for command");
    }
    let entry = |at: usize| {
        let key = Frame::Bulk(line[at].clone());
        if with_flags {
            Frame::Array(vec![key, key_flags_set(key_flags(spec, line, at))])
        } else {
            key
        }
    };
    Frame::Array(positions.into_iter().map(entry).collect())
}

/// The command a command line runs: the container's subcommand when it has
/// subcommands and an argument names one.
fn resolve(line: &[Bytes]) -> Option<&'static CommandSpec> {
    let spec = lookup(line.first()?)?;
    match line.get(1) {
        Some(sub) if !spec.subcommands.is_empty() => lookup_sub(spec, sub),
        _ => Some(spec),
    }
}

/// True when some key spec names real keys (not channels), or keys move.
fn takes_keys(spec: &CommandSpec) -> bool {
    spec.keys_fn.is_some()
        || spec
            .key_specs
            .iter()
            .any(|ks| !ks.flags.contains(KeySpecFlags::NOT_KEY))
}

/// How the command uses the key at `at`: the flags of the first key spec that finds
/// it, without the markers about the spec itself; worked out from the arguments for
/// the commands whose flags vary or whose keys no spec describes.
pub(super) fn key_flags(spec: &CommandSpec, line: &[Bytes], at: usize) -> KeySpecFlags {
    match spec.name {
        "set" => return set_key_flags(line),
        "bitfield" => return bitfield_key_flags(line),
        "sort" if at != 1 => return KeySpecFlags::OW.union(KeySpecFlags::UPDATE),
        _ => {}
    }
    let found = spec
        .key_specs
        .iter()
        .find(|ks| ks.positions(line).is_some_and(|p| p.contains(&at)));
    found.map_or(KeySpecFlags::NONE, |ks| {
        ks.flags
            .without(KeySpecFlags::INCOMPLETE.union(KeySpecFlags::VARIABLE_FLAGS))
    })
}
