//! `distribution: range`: shardcar's explicit key placement.
//!
//! A pool with `distribution: range` lists, under `ranges:`, which server owns
//! which keys, in one of two forms (one per pool; they do not mix):
//!
//! ```yaml
//! ranges:                       # spans of the 32-bit hash space, inclusive
//!   - 0-2147483647: shard-a
//!   - 2147483648-4294967295: shard-b
//! ```
//!
//! ```yaml
//! ranges:                       # key prefixes (quoted: `*` is special in YAML)
//!   - "user:*": shard-a
//!   - "*": shard-b              # the catch-all, required
//! ```
//!
//! A target is a server's name, or its ketama name when it has none
//! (`host:port`). Spans must cover the whole hash space with no gap and no
//! overlap. Prefixes must be distinct and include the catch-all `*`; the longest
//! matching prefix wins, so `user:admin:*` may refine `user:*`.

use super::addr::Server;

/// Which server owns which keys, for a pool with `distribution: range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranges {
    /// Spans of the hash space; after validation sorted and covering `0..=u32::MAX`.
    Hash(Vec<HashSpan>),
    /// Key prefixes; the longest match wins, `""` (written `*`) matches every key.
    Prefix(Vec<PrefixRule>),
}

/// The hashes `start..=end` belong to `servers[server]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashSpan {
    /// First hash of the span.
    pub start: u32,
    /// Last hash of the span (inclusive).
    pub end: u32,
    /// Index into the pool's `servers`.
    pub server: usize,
}

/// Keys starting with `prefix` belong to `servers[server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixRule {
    /// The prefix, without the trailing `*`.
    pub prefix: String,
    /// Index into the pool's `servers`.
    pub server: usize,
}

/// One parsed `ranges:` item, before the list is checked as a whole.
#[derive(Debug)]
pub(crate) enum Rule {
    Span(HashSpan),
    Prefix(PrefixRule),
}

impl Ranges {
    /// The index of the server that owns a key, given the key and its hash.
    /// Returns `None` only for a list that failed validation.
    pub fn server_for(&self, key: &[u8], hash: u32) -> Option<usize> {
        match self {
            Ranges::Hash(spans) => spans
                .iter()
                .find(|s| s.start <= hash && hash <= s.end)
                .map(|s| s.server),
            Ranges::Prefix(rules) => rules
                .iter()
                .filter(|r| key.starts_with(r.prefix.as_bytes()))
                .max_by_key(|r| r.prefix.len())
                .map(|r| r.server),
        }
    }

    /// Builds the list from parsed items; fails when the two forms are mixed.
    pub(crate) fn from_rules(rules: Vec<Rule>) -> Result<Self, String> {
        let mut spans = Vec::new();
        let mut prefixes = Vec::new();
        for rule in rules {
            match rule {
                Rule::Span(s) => spans.push(s),
                Rule::Prefix(p) => prefixes.push(p),
            }
        }
        match (spans.is_empty(), prefixes.is_empty()) {
            (_, true) => Ok(Ranges::Hash(spans)),
            (true, false) => Ok(Ranges::Prefix(prefixes)),
            (false, false) => {
                Err("hash spans and key prefixes cannot be mixed in one pool; use one form".into())
            }
        }
    }

    /// Sorts spans and returns every problem with the list as a whole: gaps,
    /// overlaps, a missing catch-all, duplicate prefixes, unknown server indexes.
    pub(crate) fn check(&mut self, servers: &[Server]) -> Vec<String> {
        let mut problems = match self {
            Ranges::Hash(spans) => check_spans(spans),
            Ranges::Prefix(rules) => check_prefixes(rules),
        };
        let targets: Vec<usize> = match self {
            Ranges::Hash(spans) => spans.iter().map(|s| s.server).collect(),
            Ranges::Prefix(rules) => rules.iter().map(|r| r.server).collect(),
        };
        if let Some(bad) = targets.iter().find(|i| **i >= servers.len()) {
            problems.push(format!("server index {bad} is out of range"));
        }
        problems
    }
}

/// Parses one `ranges:` item: `SPAN_OR_PREFIX: TARGET`, with TARGET resolved
/// against the pool's servers.
pub(crate) fn parse_rule(rule: &str, target: &str, servers: &[Server]) -> Result<Rule, String> {
    let server = servers
        .iter()
        .position(|s| s.name.as_deref() == Some(target) || s.ketama_name() == target)
        .ok_or_else(|| format!("'{rule}: {target}': no server named '{target}' in this pool"))?;
    if let Some(prefix) = rule.strip_suffix('*') {
        return Ok(Rule::Prefix(PrefixRule {
            prefix: prefix.to_string(),
            server,
        }));
    }
    let span = rule
        .split_once('-')
        .and_then(|(a, b)| Some((parse_hash(a)?, parse_hash(b)?)))
        .ok_or_else(|| {
            format!(
                "'{rule}' is neither a hash span 'START-END' (0 to {}) nor a key prefix 'PREFIX*'",
                u32::MAX
            )
        })?;
    match span {
        (start, end) if start <= end => Ok(Rule::Span(HashSpan { start, end, server })),
        _ => Err(format!("'{rule}': the span ends before it starts")),
    }
}

fn parse_hash(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn check_spans(spans: &mut [HashSpan]) -> Vec<String> {
    spans.sort_by_key(|s| (s.start, s.end));
    let mut problems = Vec::new();
    // The first hash no span has covered yet (u64: it reaches u32::MAX + 1), and the
    // span that reaches furthest so far.
    let mut next: u64 = 0;
    let mut furthest: Option<&HashSpan> = None;
    for span in spans.iter() {
        let start = u64::from(span.start);
        if start > next {
            problems.push(format!(
                "hashes {next}-{} are not assigned to any server",
                start - 1
            ));
        } else if let Some(f) = furthest.filter(|_| start < next) {
            problems.push(format!(
                "spans {}-{} and {}-{} overlap",
                f.start, f.end, span.start, span.end
            ));
        }
        if furthest.is_none_or(|f| span.end > f.end) {
            furthest = Some(span);
        }
        next = next.max(u64::from(span.end) + 1);
    }
    if next <= u64::from(u32::MAX) {
        problems.push(format!(
            "hashes {next}-{} are not assigned to any server",
            u32::MAX
        ));
    }
    problems
}

fn check_prefixes(rules: &[PrefixRule]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if rules[..i].iter().any(|r| r.prefix == rule.prefix) {
            problems.push(format!("the prefix '{}*' is listed twice", rule.prefix));
        }
    }
    if !rules.iter().any(|r| r.prefix.is_empty()) {
        problems
            .push("keys matching no prefix have no server: add a catch-all '\"*\": SERVER'".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> Vec<Server> {
        ["10.0.0.1:6379:1 a", "10.0.0.2:6379:1 b", "10.0.0.3:6379:1"]
            .iter()
            .map(|s| Server::parse(s).unwrap())
            .collect()
    }

    fn ranges(items: &[(&str, &str)]) -> Result<Ranges, Vec<String>> {
        let servers = servers();
        let rules = items
            .iter()
            .map(|(r, t)| parse_rule(r, t, &servers))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| vec![e])?;
        let mut ranges = Ranges::from_rules(rules).map_err(|e| vec![e])?;
        let problems = ranges.check(&servers);
        if problems.is_empty() {
            Ok(ranges)
        } else {
            Err(problems)
        }
    }

    #[test]
    fn spans_tile_the_hash_space_in_any_order() {
        let r = ranges(&[
            ("2000000001-4294967295", "10.0.0.3:6379"),
            ("0-1000", "a"),
            ("1001-2000000000", "b"),
        ])
        .unwrap();
        assert_eq!(r.server_for(b"k", 0), Some(0));
        assert_eq!(r.server_for(b"k", 1001), Some(1));
        assert_eq!(r.server_for(b"k", u32::MAX), Some(2));
        let Ranges::Hash(spans) = &r else {
            panic!("{r:?}")
        };
        assert_eq!(spans[0].start, 0, "sorted");
    }

    #[test]
    fn span_problems() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("0-1000", "a"), ("2000-4294967295", "b")],
                "hashes 1001-1999 are not assigned",
            ),
            (&[("1-4294967295", "a")], "hashes 0-0 are not assigned"),
            (
                &[("0-1000", "a")],
                "hashes 1001-4294967295 are not assigned",
            ),
            (
                &[("0-1000", "a"), ("500-4294967295", "b")],
                "spans 0-1000 and 500-4294967295 overlap",
            ),
            (
                &[("0-4294967295", "a"), ("7-7", "b")],
                "spans 0-4294967295 and 7-7 overlap",
            ),
            (&[("0-4294967296", "a")], "neither a hash span"),
            (&[("10-5", "a")], "ends before it starts"),
            (&[("0-4294967295", "c")], "no server named 'c'"),
            (&[("0-100", "a"), ("user:*", "b")], "cannot be mixed"),
        ];
        for (items, expected) in cases {
            let problems = ranges(items).unwrap_err();
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{items:?}: {problems:?}"
            );
        }
    }

    #[test]
    fn prefixes_take_the_longest_match() {
        let r = ranges(&[
            ("user:*", "a"),
            ("user:admin:*", "b"),
            ("*", "10.0.0.3:6379"),
        ])
        .unwrap();
        assert_eq!(r.server_for(b"user:42", 0), Some(0));
        assert_eq!(r.server_for(b"user:admin:1", 0), Some(1));
        assert_eq!(r.server_for(b"order:1", 0), Some(2));
    }

    #[test]
    fn prefix_problems() {
        let no_catch_all = ranges(&[("user:*", "a")]).unwrap_err();
        assert!(no_catch_all[0].contains("catch-all"), "{no_catch_all:?}");
        let twice = ranges(&[("user:*", "a"), ("user:*", "b"), ("*", "a")]).unwrap_err();
        assert!(twice[0].contains("'user:*' is listed twice"), "{twice:?}");
    }
}
