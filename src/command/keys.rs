//! Where a command's keys are: Redis 7 key specifications (reported by `COMMAND INFO`
//! and used for `COMMAND GETKEYSANDFLAGS`) and the key-extraction functions of the
//! commands whose keys move with their arguments (`MOVABLE_KEYS`).
//!
//! Every function here takes the whole argument vector (`args[0]` is the command
//! name), returns positions into it, never panics and never allocates more than the
//! number of arguments it was given. When the arguments cannot be right (a `numkeys`
//! that is not a number or points past the end) they return no keys: the server
//! itself will answer with the precise error.

use bytes::Bytes;

use super::flags::KeySpecFlags;

/// A key-extraction function for a `MOVABLE_KEYS` command.
pub type KeysFn = fn(&[Bytes]) -> Vec<usize>;

/// One Redis 7 key specification: where a search for keys begins, how keys are
/// found from there, and what the command does with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// How the command uses these keys.
    pub flags: KeySpecFlags,
    /// Where the search starts.
    pub begin: BeginSearch,
    /// Which arguments from the start are keys.
    pub find: FindKeys,
}

/// Where a key search starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginSearch {
    /// At a fixed argument index.
    Index(i32),
    /// After the first `keyword` found scanning from `start_from` (negative: that
    /// far from the end, scanning backwards).
    Keyword {
        /// The keyword, matched case-insensitively.
        keyword: &'static str,
        /// First index to look at.
        start_from: i32,
    },
    /// Only the command's own parser knows.
    Unknown,
}

/// Which arguments, counted from the start of the search, are keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindKeys {
    /// `last_key` relative to the start (negative: from the end); when `limit > 1`
    /// and `last_key` is -1, only `1/limit` of the remaining arguments.
    Range {
        /// Last key position.
        last_key: i32,
        /// Distance between keys.
        step: i32,
        /// Divides the remaining arguments (0: no limit).
        limit: i32,
    },
    /// An argument holds the number of keys that follow.
    KeyNum {
        /// Position of the count, relative to the start.
        num_keys_index: i32,
        /// Position of the first key, relative to the start.
        first_key: i32,
        /// Distance between keys.
        step: i32,
    },
    /// Only the command's own parser knows.
    Unknown,
}

/// Table shorthand: the search begins at index `pos`.
pub(super) const fn idx(pos: i32) -> BeginSearch {
    BeginSearch::Index(pos)
}

/// Table shorthand: the search begins after `keyword`.
pub(super) const fn kw(keyword: &'static str, start_from: i32) -> BeginSearch {
    BeginSearch::Keyword {
        keyword,
        start_from,
    }
}

/// Table shorthand: an unknown beginning.
pub(super) const fn bs_unknown() -> BeginSearch {
    BeginSearch::Unknown
}

/// Table shorthand: a range of keys.
pub(super) const fn range(last_key: i32, step: i32, limit: i32) -> FindKeys {
    FindKeys::Range {
        last_key,
        step,
        limit,
    }
}

/// Table shorthand: a counted run of keys.
pub(super) const fn keynum(num_keys_index: i32, first_key: i32, step: i32) -> FindKeys {
    FindKeys::KeyNum {
        num_keys_index,
        first_key,
        step,
    }
}

/// Table shorthand: unknown key positions.
pub(super) const fn fk_unknown() -> FindKeys {
    FindKeys::Unknown
}

impl KeySpec {
    /// The key positions this spec finds in `args`: `None` when the spec cannot say
    /// (an unknown search, or arguments that do not fit it), empty when a keyword
    /// search finds nothing.
    pub fn positions(&self, args: &[Bytes]) -> Option<Vec<usize>> {
        let argc = args.len() as i64;
        let Some(start) = self.begin.start(args) else {
            return Some(Vec::new());
        };
        let start = start?;
        let (first, last, step) = match self.find {
            FindKeys::Range {
                last_key,
                step,
                limit,
            } => {
                let last = match (last_key, limit) {
                    (l, _) if l >= 0 => start + i64::from(l),
                    (l, lim) if lim > 1 => start + (argc - start) / i64::from(lim) + i64::from(l),
                    (l, _) => argc + i64::from(l),
                };
                (start, last, step)
            }
            FindKeys::KeyNum {
                num_keys_index,
                first_key,
                step,
            } => {
                let at = usize::try_from(start + i64::from(num_keys_index)).ok()?;
                let count = parse_count(args.get(at)?)?;
                let first = start + i64::from(first_key);
                (first, first.saturating_add(count - 1), step)
            }
            FindKeys::Unknown => return None,
        };
        positions_in(first, last, step, argc)
    }
}

impl BeginSearch {
    /// The index the key search starts from: `None` when a keyword is absent,
    /// `Some(None)` when the start is unknown.
    fn start(&self, args: &[Bytes]) -> Option<Option<i64>> {
        match *self {
            BeginSearch::Index(pos) => Some(Some(i64::from(pos))),
            BeginSearch::Keyword {
                keyword,
                start_from,
            } => find_keyword(args, keyword, start_from).map(|at| Some(at as i64 + 1)),
            BeginSearch::Unknown => Some(None),
        }
    }
}

/// The index of `keyword` scanning forwards from `start_from`, or backwards from
/// `len + start_from` when that is negative. A forward scan never looks at the last
/// argument: a keyword there has no key after it.
fn find_keyword(args: &[Bytes], keyword: &str, start_from: i32) -> Option<usize> {
    let is_keyword = |i: &usize| is(&args[*i], keyword);
    if start_from > 0 {
        (start_from as usize..args.len().saturating_sub(1)).find(is_keyword)
    } else {
        let from = args.len() as i64 + i64::from(start_from);
        if from < 1 || from >= args.len() as i64 {
            return None;
        }
        (1..=from as usize).rev().find(is_keyword)
    }
}

/// Positions `first..=last` by `step`, or `None` when any falls outside the
/// arguments (the arguments do not match the spec).
fn positions_in(first: i64, last: i64, step: i32, argc: i64) -> Option<Vec<usize>> {
    if last < first {
        return Some(Vec::new());
    }
    if first < 1 || last >= argc || step < 1 {
        return None;
    }
    let (first, last) = (first as usize, last as usize);
    Some((first..=last).step_by(step as usize).collect())
}

/// A key count argument: a positive integer in plain decimal (no sign, no leading
/// zero), as the server parses it.
fn parse_count(arg: &Bytes) -> Option<i64> {
    match arg.first() {
        Some(b'1'..=b'9') if arg.iter().all(u8::is_ascii_digit) => {
            std::str::from_utf8(arg).ok()?.parse().ok()
        }
        _ => None,
    }
}

/// `count` keys from `first` when a valid count sits at `at` and they all fit.
fn counted_keys(args: &[Bytes], at: usize) -> Vec<usize> {
    let Some(count) = args.get(at).and_then(parse_count) else {
        return Vec::new();
    };
    let first = at as i64 + 1;
    positions_in(first, first.saturating_add(count - 1), 1, args.len() as i64).unwrap_or_default()
}

/// `CMD numkeys key… …` (ZUNION, ZINTER, ZDIFF, ZINTERCARD, SINTERCARD, LMPOP, ZMPOP).
pub(super) fn numkeys_at_1(args: &[Bytes]) -> Vec<usize> {
    counted_keys(args, 1)
}

/// `CMD x numkeys key… …` (EVAL, EVALSHA, FCALL and their `_RO` forms, BLMPOP, BZMPOP).
pub(super) fn numkeys_at_2(args: &[Bytes]) -> Vec<usize> {
    counted_keys(args, 2)
}

/// `CMD destination numkeys key… …` (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE).
pub(super) fn dest_and_numkeys(args: &[Bytes]) -> Vec<usize> {
    let sources = counted_keys(args, 2);
    if sources.is_empty() {
        return sources;
    }
    std::iter::once(1).chain(sources).collect()
}

/// True when `arg` is `word`, ignoring ASCII case.
fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// `SORT key [BY p] [LIMIT o c] [GET p]… [ASC|DESC] [ALPHA] [STORE dest]`: the key
/// and the last STORE destination.
pub(super) fn sort_keys(args: &[Bytes]) -> Vec<usize> {
    let mut keys = sort_ro_keys(args);
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "limit") {
            i += 2;
        } else if is(arg, "get") || is(arg, "by") {
            i += 1;
        } else if is(arg, "store") && i + 1 < args.len() {
            store = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// `SORT_RO key …`: the key alone (the BY and GET patterns name keys only at run time).
pub(super) fn sort_ro_keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() > 1 {
        vec![1]
    } else {
        Vec::new()
    }
}

/// The keys after a `STREAMS` keyword searched from `start_from`: the first half of
/// what follows it (the second half are IDs).
fn stream_keys(args: &[Bytes], start_from: i32) -> Vec<usize> {
    let Some(at) = find_keyword(args, "streams", start_from) else {
        return Vec::new();
    };
    let first = at + 1;
    (first..first + (args.len() - first) / 2).collect()
}

/// `XREAD [COUNT n] [BLOCK ms] STREAMS key… id…`.
pub(super) fn xread_keys(args: &[Bytes]) -> Vec<usize> {
    stream_keys(args, 1)
}

/// `XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS key… id…`.
pub(super) fn xreadgroup_keys(args: &[Bytes]) -> Vec<usize> {
    stream_keys(args, 4)
}

/// The key, then the keys after the first `STORE` and the first `STOREDIST`
/// searched from `start_from`, in that order.
fn geo_store_keys(args: &[Bytes], start_from: i32) -> Vec<usize> {
    let mut keys = sort_ro_keys(args);
    for word in ["store", "storedist"] {
        keys.extend(find_keyword(args, word, start_from).map(|at| at + 1));
    }
    keys
}

/// `GEORADIUS key lon lat radius unit … [STORE k] [STOREDIST k]`.
pub(super) fn georadius_keys(args: &[Bytes]) -> Vec<usize> {
    geo_store_keys(args, 6)
}

/// `GEORADIUSBYMEMBER key member radius unit … [STORE k] [STOREDIST k]`.
pub(super) fn georadiusbymember_keys(args: &[Bytes]) -> Vec<usize> {
    geo_store_keys(args, 5)
}

/// `MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw]
/// [KEYS key…]`: the key at 3, or the keys after `KEYS` when the key is empty
/// (none when both are given: the server refuses that).
pub(super) fn migrate_keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() < 4 {
        return Vec::new();
    }
    let mut i = 6;
    while i + 1 < args.len() {
        let arg = &args[i];
        if is(arg, "keys") {
            return if args[3].is_empty() {
                (i + 1..args.len()).collect()
            } else {
                Vec::new()
            };
        }
        i += match arg {
            a if is(a, "auth") => 2,
            a if is(a, "auth2") => 3,
            _ => 1,
        };
    }
    vec![3]
}

/// The flags of the key SET writes: it reads the old value only with `GET`.
pub(super) fn set_key_flags(args: &[Bytes]) -> KeySpecFlags {
    if args.iter().skip(3).any(|a| is(a, "get")) {
        KeySpecFlags::RW | KeySpecFlags::ACCESS | KeySpecFlags::UPDATE
    } else {
        KeySpecFlags::OW | KeySpecFlags::UPDATE
    }
}

/// The flags of BITFIELD's key: read-only when every operation is a `GET`
/// (or `OVERFLOW`), read-write as soon as one is not.
pub(super) fn bitfield_key_flags(args: &[Bytes]) -> KeySpecFlags {
    let mut i = 2;
    while i < args.len() {
        let left = args.len() - i - 1;
        let arg = &args[i];
        if is(arg, "get") && left >= 2 {
            i += 3;
        } else if is(arg, "overflow") && left >= 1 {
            i += 2;
        } else {
            return KeySpecFlags::RW | KeySpecFlags::ACCESS | KeySpecFlags::UPDATE;
        }
    }
    KeySpecFlags::RO | KeySpecFlags::ACCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn counted_keys_reject_bad_counts() {
        assert_eq!(numkeys_at_1(&args("zunion 2 a b withscores")), [2, 3]);
        assert!(numkeys_at_1(&args("zunion 0 a")).is_empty());
        assert!(numkeys_at_1(&args("zunion -1 a")).is_empty());
        assert!(numkeys_at_1(&args("zunion x a")).is_empty());
        assert!(numkeys_at_1(&args("zunion +1 a")).is_empty());
        assert!(numkeys_at_1(&args("zunion 01 a")).is_empty());
        assert!(numkeys_at_1(&args("zunion 3 a b")).is_empty());
        assert!(numkeys_at_1(&args("zunion 99999999999999999999 a")).is_empty());
        assert!(numkeys_at_1(&args("zunion 9223372036854775807 a")).is_empty());
        assert!(numkeys_at_2(&args("eval")).is_empty());
    }

    #[test]
    fn store_variants_put_the_destination_first() {
        assert_eq!(dest_and_numkeys(&args("zunionstore d 2 a b")), [1, 3, 4]);
        assert!(dest_and_numkeys(&args("zunionstore d 0")).is_empty());
    }

    #[test]
    fn sort_takes_the_last_store_and_skips_option_arguments() {
        assert_eq!(sort_keys(&args("sort k get # store d store e")), [1, 7]);
        assert_eq!(sort_keys(&args("sort k by store store d")), [1, 5]);
        assert_eq!(sort_keys(&args("sort k limit store d")), [1]);
        assert_eq!(sort_keys(&args("sort k store")), [1]);
        assert_eq!(sort_ro_keys(&args("sort_ro k store d")), [1]);
    }

    #[test]
    fn streams_take_half_of_what_follows_the_keyword() {
        assert_eq!(xread_keys(&args("xread count 1 streams a b 0 0")), [4, 5]);
        assert_eq!(xread_keys(&args("xread streams a b 0")), [2]);
        assert_eq!(xread_keys(&args("xread streams streams a 0 0")), [2, 3]);
        assert!(xread_keys(&args("xread count 1 streams")).is_empty());
        assert_eq!(
            xreadgroup_keys(&args("xreadgroup group streams c streams a 0")),
            [5]
        );
    }

    #[test]
    fn migrate_single_key_or_keys_list() {
        assert_eq!(migrate_keys(&args("migrate h p k 0 5")), [3]);
        assert_eq!(
            migrate_keys(&args("migrate h p  0 5 auth pw keys a b")),
            [9, 10]
        );
        assert_eq!(
            migrate_keys(&args("migrate h p  0 5 auth2 u keys keys a")),
            [10]
        );
        assert!(migrate_keys(&args("migrate h p k 0 5 keys a")).is_empty());
        assert_eq!(migrate_keys(&args("migrate h p  0 5 keys")), [3]);
    }

    #[test]
    fn spec_positions_follow_redis_rules() {
        let xread = KeySpec {
            flags: KeySpecFlags::RO,
            begin: kw("STREAMS", 1),
            find: range(-1, 1, 2),
        };
        assert_eq!(
            xread.positions(&args("xread streams a b 1 2")),
            Some(vec![2, 3])
        );
        assert_eq!(xread.positions(&args("xread count 1")), Some(vec![]));
        let keys = KeySpec {
            flags: KeySpecFlags::RW,
            begin: kw("KEYS", -2),
            find: range(-1, 1, 0),
        };
        assert_eq!(
            keys.positions(&args("migrate h p  0 5 keys a b")),
            Some(vec![7, 8])
        );
        let counted = KeySpec {
            flags: KeySpecFlags::RO,
            begin: idx(2),
            find: keynum(0, 1, 1),
        };
        assert_eq!(counted.positions(&args("eval s 2 a")), None);
        assert_eq!(counted.positions(&args("eval s 1 a")), Some(vec![3]));
        let unknown = KeySpec {
            flags: KeySpecFlags::OW,
            begin: bs_unknown(),
            find: fk_unknown(),
        };
        assert_eq!(unknown.positions(&args("sort k")), None);
        let blpop = KeySpec {
            flags: KeySpecFlags::RW,
            begin: idx(1),
            find: range(-2, 1, 0),
        };
        assert_eq!(blpop.positions(&args("blpop a b 0")), Some(vec![1, 2]));
        assert_eq!(blpop.positions(&args("blpop")), Some(vec![]));
    }

    #[test]
    fn variable_key_flags() {
        assert_eq!(
            set_key_flags(&args("set k v")),
            KeySpecFlags::OW | KeySpecFlags::UPDATE
        );
        assert!(set_key_flags(&args("set k v nx GET")).contains(KeySpecFlags::RW));
        let ro = bitfield_key_flags(&args("bitfield k get u8 0 overflow wrap"));
        assert_eq!(ro, KeySpecFlags::RO | KeySpecFlags::ACCESS);
        assert!(
            bitfield_key_flags(&args("bitfield k get u8 0 set u8 0 1")).contains(KeySpecFlags::RW)
        );
        assert!(bitfield_key_flags(&args("bitfield k get u8")).contains(KeySpecFlags::RW));
    }
}
