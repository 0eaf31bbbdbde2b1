//! The command table: every command of Redis 7.0's string, bitmap, list, hash, set,
//! sorted-set, hyperloglog, geo, stream, pubsub, transactions, connection, generic,
//! server and scripting groups, one line each.
//!
//! The facts (arity, flags, key positions, ACL categories, tips, key specs, group,
//! version) were read off a live redis-server 7.0.15 with `COMMAND INFO` and
//! `COMMAND DOCS`; `MAY_REPLICATE`, which Redis does not report, from its binary.
//! `live_tests.rs` compares the table with a running server. Redis's prose (summaries,
//! key-spec notes) is not copied. The routes are shardcar's own decisions.
//!
//! Left out: the cluster group (CLUSTER, ASKING, READONLY, READWRITE), since
//! shardcar is not a cluster node.
//!
//! Line format: `c!(name, arity, [flags], first, last, step, [acl], group, since,
//! route; ks[key specs]; tips[…]; doc …; subs TABLE; keys function)`, the parts after
//! the route being optional. A key spec reads `[flags] begin find`.

use super::keys::{
    bs_unknown, dest_and_numkeys, fk_unknown, georadius_keys, georadiusbymember_keys, idx, keynum,
    kw, migrate_keys, numkeys_at_1, numkeys_at_2, range, sort_keys, sort_ro_keys, xread_keys,
    xreadgroup_keys,
};
use super::DocStatus::{Deprecated, SysCmd};
use super::Route::{AllShards, Local, PerKey, SameShard, Single, Unsupported};
use super::{AclCategories, CommandSpec, DocStatus, Flags, Group, KeySpec, KeySpecFlags, KeysFn};

/// Why KEYS is refused: it would have to walk every key of every shard.
const KEYS: &str = "not supported across shards; use SCAN";
/// Why MIGRATE is refused.
const MIGRATE: &str = "not supported through the proxy; run it on a server";
/// Why MOVE and SWAPDB are refused.
const ONE_DB: &str = "not supported through the proxy, which serves database 0 only";
/// Why cluster-internal commands are refused.
const CLUSTER: &str = "a Redis Cluster internal command";
/// Why client-side caching commands are refused.
const TRACKING: &str =
    "not supported through the proxy; client-side caching needs a direct connection";
/// Why WAIT is refused.
const WAIT: &str = "not supported through the proxy; replication is per server";
/// Why per-server administration is refused.
const ADMIN: &str = "a per-server administration command; send it to a server directly";
/// Why MONITOR is refused.
const MONITOR: &str = "not supported through the proxy; monitor a server directly";
/// Why replication commands are refused.
const REPLICATION: &str = "a replication command; send it to a server directly";
/// Why SCRIPT DEBUG is refused.
const SCRIPT_DEBUG: &str = "not supported through the proxy; debug scripts on a server directly";

/// One table line to a `CommandSpec` (see the module docs for the format).
macro_rules! c {
    (@or $default:expr) => { $default };
    (@or $default:expr, $value:expr) => { $value };
    (
        $name:literal, $arity:literal, [$($flag:ident)*], $first:literal, $last:literal,
        $step:literal, [$($acl:ident)*], $group:ident, $since:literal, $route:expr
        $(; ks[$([$($ksf:ident)*] $bs:ident($($ba:expr),*) $fk:ident($($fa:expr),*));*])?
        $(; tips[$($tip:literal)*])?
        $(; doc $doc:expr)?
        $(; subs $subs:ident)?
        $(; keys $keys:ident)?
    ) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: Flags::NONE$(.union(Flags::$flag))*,
            first_key: $first,
            last_key: $last,
            step: $step,
            acl: AclCategories::NONE$(.union(AclCategories::$acl))*,
            group: Group::$group,
            since: $since,
            doc: c!(@or DocStatus::Normal $(, $doc)?),
            tips: &[$($($tip),*)?],
            key_specs: &[$($(KeySpec {
                flags: KeySpecFlags::NONE$(.union(KeySpecFlags::$ksf))*,
                begin: $bs($($ba),*),
                find: $fk($($fa),*),
            }),*)?],
            route: $route,
            subcommands: c!(@or &[] $(, $subs)?),
            keys_fn: c!(@or None $(, Some($keys as KeysFn))?),
        }
    };
}

#[rustfmt::skip]
pub(super) static COMMANDS: &[CommandSpec] = &[
    c!("acl", -2, [], 0, 0, 0, [SLOW], Server, "6.0.0", Local; subs ACL_SUBCOMMANDS),
    c!("append", 3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STRING FAST], String, "2.0.0", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("auth", -2, [NOSCRIPT LOADING STALE FAST NO_AUTH ALLOW_BUSY], 0, 0, 0, [FAST CONNECTION], Connection, "1.0.0", Local),
    c!("bgrewriteaof", 1, [ADMIN NOSCRIPT NO_ASYNC_LOADING], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "1.0.0", AllShards),
    c!("bgsave", -1, [ADMIN NOSCRIPT NO_ASYNC_LOADING], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "1.0.0", AllShards),
    c!("bitcount", -2, [READONLY], 1, 1, 1, [READ BITMAP SLOW], Bitmap, "2.6.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("bitfield", -2, [WRITE DENYOOM], 1, 1, 1, [WRITE BITMAP SLOW], Bitmap, "3.2.0", Single; ks[[RW ACCESS UPDATE VARIABLE_FLAGS] idx(1) range(0, 1, 0)]),
    c!("bitfield_ro", -2, [READONLY FAST], 1, 1, 1, [READ BITMAP FAST], Bitmap, "6.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("bitop", -4, [WRITE DENYOOM], 2, -1, 1, [WRITE BITMAP SLOW], Bitmap, "2.6.0", SameShard; ks[[OW UPDATE] idx(2) range(0, 1, 0); [RO ACCESS] idx(3) range(-1, 1, 0)]),
    c!("bitpos", -3, [READONLY], 1, 1, 1, [READ BITMAP SLOW], Bitmap, "2.8.7", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("blmove", 6, [WRITE DENYOOM NOSCRIPT BLOCKING], 1, 2, 1, [WRITE LIST SLOW BLOCKING], List, "6.2.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0); [RW INSERT] idx(2) range(0, 1, 0)]),
    c!("blmpop", -5, [WRITE BLOCKING MOVABLE_KEYS], 0, 0, 0, [WRITE LIST SLOW BLOCKING], List, "7.0.0", SameShard; ks[[RW ACCESS DELETE] idx(2) keynum(0, 1, 1)]; keys numkeys_at_2),
    c!("blpop", -3, [WRITE NOSCRIPT BLOCKING], 1, -2, 1, [WRITE LIST SLOW BLOCKING], List, "2.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(-2, 1, 0)]),
    c!("brpop", -3, [WRITE NOSCRIPT BLOCKING], 1, -2, 1, [WRITE LIST SLOW BLOCKING], List, "2.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(-2, 1, 0)]),
    c!("brpoplpush", 4, [WRITE DENYOOM NOSCRIPT BLOCKING], 1, 2, 1, [WRITE LIST SLOW BLOCKING], List, "2.2.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0); [RW INSERT] idx(2) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("bzmpop", -5, [WRITE BLOCKING MOVABLE_KEYS], 0, 0, 0, [WRITE SORTEDSET SLOW BLOCKING], SortedSet, "7.0.0", SameShard; ks[[RW ACCESS DELETE] idx(2) keynum(0, 1, 1)]; keys numkeys_at_2),
    c!("bzpopmax", -3, [WRITE NOSCRIPT BLOCKING FAST], 1, -2, 1, [WRITE SORTEDSET FAST BLOCKING], SortedSet, "5.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(-2, 1, 0)]),
    c!("bzpopmin", -3, [WRITE NOSCRIPT BLOCKING FAST], 1, -2, 1, [WRITE SORTEDSET FAST BLOCKING], SortedSet, "5.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(-2, 1, 0)]),
    c!("client", -2, [], 0, 0, 0, [SLOW], Connection, "2.4.0", Local; subs CLIENT_SUBCOMMANDS),
    c!("command", -1, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Server, "2.8.13", Local; tips["nondeterministic_output_order"]; subs COMMAND_SUBCOMMANDS),
    c!("config", -2, [], 0, 0, 0, [SLOW], Server, "2.0.0", Local; subs CONFIG_SUBCOMMANDS),
    c!("copy", -3, [WRITE DENYOOM], 1, 2, 1, [KEYSPACE WRITE SLOW], Generic, "6.2.0", SameShard; ks[[RO ACCESS] idx(1) range(0, 1, 0); [OW UPDATE] idx(2) range(0, 1, 0)]),
    c!("dbsize", 1, [READONLY FAST], 0, 0, 0, [KEYSPACE READ FAST], Server, "1.0.0", AllShards; tips["request_policy:all_shards" "response_policy:agg_sum"]),
    c!("debug", -2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "1.0.0", Unsupported(ADMIN); doc SysCmd),
    c!("decr", 2, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STRING FAST], String, "1.0.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("decrby", 3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STRING FAST], String, "1.0.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("del", -2, [WRITE], 1, -1, 1, [KEYSPACE WRITE SLOW], Generic, "1.0.0", PerKey; ks[[RM DELETE] idx(1) range(-1, 1, 0)]; tips["request_policy:multi_shard" "response_policy:agg_sum"]),
    c!("discard", 1, [NOSCRIPT LOADING STALE FAST ALLOW_BUSY], 0, 0, 0, [FAST TRANSACTION], Transactions, "2.0.0", Local),
    c!("dump", 2, [READONLY], 1, 1, 1, [KEYSPACE READ SLOW], Generic, "2.6.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("echo", 2, [LOADING STALE FAST], 0, 0, 0, [FAST CONNECTION], Connection, "1.0.0", Local),
    c!("eval", -3, [NOSCRIPT STALE SKIP_MONITOR NO_MANDATORY_KEYS MOVABLE_KEYS MAY_REPLICATE], 0, 0, 0, [SLOW SCRIPTING], Scripting, "2.6.0", SameShard; ks[[RW ACCESS UPDATE] idx(2) keynum(0, 1, 1)]; keys numkeys_at_2),
    c!("eval_ro", -3, [READONLY NOSCRIPT STALE SKIP_MONITOR NO_MANDATORY_KEYS MOVABLE_KEYS], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", SameShard; ks[[RO ACCESS] idx(2) keynum(0, 1, 1)]; keys numkeys_at_2),
    c!("evalsha", -3, [NOSCRIPT STALE SKIP_MONITOR NO_MANDATORY_KEYS MOVABLE_KEYS MAY_REPLICATE], 0, 0, 0, [SLOW SCRIPTING], Scripting, "2.6.0", SameShard; ks[[RW ACCESS UPDATE] idx(2) keynum(0, 1, 1)]; keys numkeys_at_2),
    c!("evalsha_ro", -3, [READONLY NOSCRIPT STALE SKIP_MONITOR NO_MANDATORY_KEYS MOVABLE_KEYS], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", SameShard; ks[[RO ACCESS] idx(2) keynum(0, 1, 1)]; keys numkeys_at_2),
    c!("exec", 1, [NOSCRIPT LOADING STALE SKIP_SLOWLOG], 0, 0, 0, [SLOW TRANSACTION], Transactions, "1.2.0", Local),
    c!("exists", -2, [READONLY FAST], 1, -1, 1, [KEYSPACE READ FAST], Generic, "1.0.0", PerKey; ks[[RO] idx(1) range(-1, 1, 0)]; tips["request_policy:multi_shard" "response_policy:agg_sum"]),
    c!("expire", -3, [WRITE FAST], 1, 1, 1, [KEYSPACE WRITE FAST], Generic, "1.0.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("expireat", -3, [WRITE FAST], 1, 1, 1, [KEYSPACE WRITE FAST], Generic, "1.2.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("expiretime", 2, [READONLY FAST], 1, 1, 1, [KEYSPACE READ FAST], Generic, "7.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("failover", -1, [ADMIN NOSCRIPT STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.2.0", Unsupported(REPLICATION)),
    c!("fcall", -3, [NOSCRIPT STALE SKIP_MONITOR NO_MANDATORY_KEYS MOVABLE_KEYS MAY_REPLICATE], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", SameShard; ks[[RW ACCESS UPDATE] idx(2) keynum(0, 1, 1)]; keys numkeys_at_2),
    c!("fcall_ro", -3, [READONLY NOSCRIPT STALE SKIP_MONITOR NO_MANDATORY_KEYS MOVABLE_KEYS], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", SameShard; ks[[RO ACCESS] idx(2) keynum(0, 1, 1)]; keys numkeys_at_2),
    c!("flushall", -1, [WRITE], 0, 0, 0, [KEYSPACE WRITE SLOW DANGEROUS], Server, "1.0.0", AllShards; tips["request_policy:all_shards" "response_policy:all_succeeded"]),
    c!("flushdb", -1, [WRITE], 0, 0, 0, [KEYSPACE WRITE SLOW DANGEROUS], Server, "1.0.0", AllShards; tips["request_policy:all_shards" "response_policy:all_succeeded"]),
    c!("function", -2, [], 0, 0, 0, [SLOW], Scripting, "7.0.0", Local; subs FUNCTION_SUBCOMMANDS),
    c!("geoadd", -5, [WRITE DENYOOM], 1, 1, 1, [WRITE GEO SLOW], Geo, "3.2.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("geodist", -4, [READONLY], 1, 1, 1, [READ GEO SLOW], Geo, "3.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("geohash", -2, [READONLY], 1, 1, 1, [READ GEO SLOW], Geo, "3.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("geopos", -2, [READONLY], 1, 1, 1, [READ GEO SLOW], Geo, "3.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("georadius", -6, [WRITE DENYOOM MOVABLE_KEYS], 1, 1, 1, [WRITE GEO SLOW], Geo, "3.2.0", SameShard; ks[[RO ACCESS] idx(1) range(0, 1, 0); [OW UPDATE] kw("STORE", 6) range(0, 1, 0); [OW UPDATE] kw("STOREDIST", 6) range(0, 1, 0)]; doc Deprecated("6.2.0"); keys georadius_keys),
    c!("georadius_ro", -6, [READONLY], 1, 1, 1, [READ GEO SLOW], Geo, "3.2.10", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("georadiusbymember", -5, [WRITE DENYOOM MOVABLE_KEYS], 1, 1, 1, [WRITE GEO SLOW], Geo, "3.2.0", SameShard; ks[[RO ACCESS] idx(1) range(0, 1, 0); [OW UPDATE] kw("STORE", 5) range(0, 1, 0); [OW UPDATE] kw("STOREDIST", 5) range(0, 1, 0)]; doc Deprecated("6.2.0"); keys georadiusbymember_keys),
    c!("georadiusbymember_ro", -5, [READONLY], 1, 1, 1, [READ GEO SLOW], Geo, "3.2.10", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("geosearch", -7, [READONLY], 1, 1, 1, [READ GEO SLOW], Geo, "6.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("geosearchstore", -8, [WRITE DENYOOM], 1, 2, 1, [WRITE GEO SLOW], Geo, "6.2.0", SameShard; ks[[OW UPDATE] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) range(0, 1, 0)]),
    c!("get", 2, [READONLY FAST], 1, 1, 1, [READ STRING FAST], String, "1.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("getbit", 3, [READONLY FAST], 1, 1, 1, [READ BITMAP FAST], Bitmap, "2.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("getdel", 2, [WRITE FAST], 1, 1, 1, [WRITE STRING FAST], String, "6.2.0", Single; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0)]),
    c!("getex", -2, [WRITE FAST], 1, 1, 1, [WRITE STRING FAST], String, "6.2.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("getrange", 4, [READONLY], 1, 1, 1, [READ STRING SLOW], String, "2.4.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("getset", 3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STRING FAST], String, "1.0.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("hdel", -3, [WRITE FAST], 1, 1, 1, [WRITE HASH FAST], Hash, "2.0.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("hello", -1, [NOSCRIPT LOADING STALE FAST NO_AUTH ALLOW_BUSY], 0, 0, 0, [FAST CONNECTION], Connection, "6.0.0", Local),
    c!("hexists", 3, [READONLY FAST], 1, 1, 1, [READ HASH FAST], Hash, "2.0.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("hget", 3, [READONLY FAST], 1, 1, 1, [READ HASH FAST], Hash, "2.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("hgetall", 2, [READONLY], 1, 1, 1, [READ HASH SLOW], Hash, "2.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output_order"]),
    c!("hincrby", 4, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE HASH FAST], Hash, "2.0.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("hincrbyfloat", 4, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE HASH FAST], Hash, "2.6.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("hkeys", 2, [READONLY], 1, 1, 1, [READ HASH SLOW], Hash, "2.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output_order"]),
    c!("hlen", 2, [READONLY FAST], 1, 1, 1, [READ HASH FAST], Hash, "2.0.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("hmget", -3, [READONLY FAST], 1, 1, 1, [READ HASH FAST], Hash, "2.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("hmset", -4, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE HASH FAST], Hash, "2.0.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]; doc Deprecated("4.0.0")),
    c!("hrandfield", -2, [READONLY], 1, 1, 1, [READ HASH SLOW], Hash, "6.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("hscan", -3, [READONLY], 1, 1, 1, [READ HASH SLOW], Hash, "2.8.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("hset", -4, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE HASH FAST], Hash, "2.0.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("hsetnx", 4, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE HASH FAST], Hash, "2.0.0", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("hstrlen", 3, [READONLY FAST], 1, 1, 1, [READ HASH FAST], Hash, "3.2.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("hvals", 2, [READONLY], 1, 1, 1, [READ HASH SLOW], Hash, "2.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output_order"]),
    c!("incr", 2, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STRING FAST], String, "1.0.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("incrby", 3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STRING FAST], String, "1.0.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("incrbyfloat", 3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STRING FAST], String, "2.6.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("info", -1, [LOADING STALE], 0, 0, 0, [SLOW DANGEROUS], Server, "1.0.0", Local; tips["nondeterministic_output" "request_policy:all_shards" "response_policy:special"]),
    c!("keys", 2, [READONLY], 0, 0, 0, [KEYSPACE READ SLOW DANGEROUS], Generic, "1.0.0", Unsupported(KEYS); tips["request_policy:all_shards" "nondeterministic_output_order"]),
    c!("lastsave", 1, [LOADING STALE FAST], 0, 0, 0, [ADMIN FAST DANGEROUS], Server, "1.0.0", AllShards; tips["nondeterministic_output"]),
    c!("latency", -2, [], 0, 0, 0, [SLOW], Server, "2.8.13", Local; subs LATENCY_SUBCOMMANDS),
    c!("lcs", -3, [READONLY], 1, 2, 1, [READ STRING SLOW], String, "7.0.0", SameShard; ks[[RO ACCESS] idx(1) range(1, 1, 0)]),
    c!("lindex", 3, [READONLY], 1, 1, 1, [READ LIST SLOW], List, "1.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("linsert", 5, [WRITE DENYOOM], 1, 1, 1, [WRITE LIST SLOW], List, "2.2.0", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("llen", 2, [READONLY FAST], 1, 1, 1, [READ LIST FAST], List, "1.0.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("lmove", 5, [WRITE DENYOOM], 1, 2, 1, [WRITE LIST SLOW], List, "6.2.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0); [RW INSERT] idx(2) range(0, 1, 0)]),
    c!("lmpop", -4, [WRITE MOVABLE_KEYS], 0, 0, 0, [WRITE LIST SLOW], List, "7.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) keynum(0, 1, 1)]; keys numkeys_at_1),
    c!("lolwut", -1, [READONLY FAST], 0, 0, 0, [READ FAST], Server, "5.0.0", Local),
    c!("lpop", -2, [WRITE FAST], 1, 1, 1, [WRITE LIST FAST], List, "1.0.0", Single; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0)]),
    c!("lpos", -3, [READONLY], 1, 1, 1, [READ LIST SLOW], List, "6.0.6", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("lpush", -3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE LIST FAST], List, "1.0.0", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("lpushx", -3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE LIST FAST], List, "2.2.0", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("lrange", 4, [READONLY], 1, 1, 1, [READ LIST SLOW], List, "1.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("lrem", 4, [WRITE], 1, 1, 1, [WRITE LIST SLOW], List, "1.0.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("lset", 4, [WRITE DENYOOM], 1, 1, 1, [WRITE LIST SLOW], List, "1.0.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("ltrim", 4, [WRITE], 1, 1, 1, [WRITE LIST SLOW], List, "1.0.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("memory", -2, [], 0, 0, 0, [SLOW], Server, "4.0.0", Local; subs MEMORY_SUBCOMMANDS),
    c!("mget", -2, [READONLY FAST], 1, -1, 1, [READ STRING FAST], String, "1.0.0", PerKey; ks[[RO ACCESS] idx(1) range(-1, 1, 0)]; tips["request_policy:multi_shard"]),
    c!("migrate", -6, [WRITE MOVABLE_KEYS], 3, 3, 1, [KEYSPACE WRITE SLOW DANGEROUS], Generic, "2.6.0", Unsupported(MIGRATE); ks[[RW ACCESS DELETE] idx(3) range(0, 1, 0); [RW ACCESS DELETE INCOMPLETE] kw("KEYS", -2) range(-1, 1, 0)]; tips["nondeterministic_output"]; keys migrate_keys),
    c!("module", -2, [], 0, 0, 0, [SLOW], Server, "4.0.0", Local; subs MODULE_SUBCOMMANDS),
    c!("monitor", 1, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "1.0.0", Unsupported(MONITOR)),
    c!("move", 3, [WRITE FAST], 1, 1, 1, [KEYSPACE WRITE FAST], Generic, "1.0.0", Unsupported(ONE_DB); ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("mset", -3, [WRITE DENYOOM], 1, -1, 2, [WRITE STRING SLOW], String, "1.0.1", PerKey; ks[[OW UPDATE] idx(1) range(-1, 2, 0)]; tips["request_policy:multi_shard" "response_policy:all_succeeded"]),
    c!("msetnx", -3, [WRITE DENYOOM], 1, -1, 2, [WRITE STRING SLOW], String, "1.0.1", SameShard; ks[[OW INSERT] idx(1) range(-1, 2, 0)]; tips["request_policy:multi_shard" "response_policy:agg_min"]),
    c!("multi", 1, [NOSCRIPT LOADING STALE FAST ALLOW_BUSY], 0, 0, 0, [FAST TRANSACTION], Transactions, "1.2.0", Local),
    c!("object", -2, [], 0, 0, 0, [SLOW], Generic, "2.2.3", Local; subs OBJECT_SUBCOMMANDS),
    c!("persist", 2, [WRITE FAST], 1, 1, 1, [KEYSPACE WRITE FAST], Generic, "2.2.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("pexpire", -3, [WRITE FAST], 1, 1, 1, [KEYSPACE WRITE FAST], Generic, "2.6.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("pexpireat", -3, [WRITE FAST], 1, 1, 1, [KEYSPACE WRITE FAST], Generic, "2.6.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("pexpiretime", 2, [READONLY FAST], 1, 1, 1, [KEYSPACE READ FAST], Generic, "7.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("pfadd", -2, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE HYPERLOGLOG FAST], HyperLogLog, "2.8.9", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("pfcount", -2, [READONLY MAY_REPLICATE], 1, -1, 1, [READ HYPERLOGLOG SLOW], HyperLogLog, "2.8.9", SameShard; ks[[RW ACCESS] idx(1) range(-1, 1, 0)]),
    c!("pfdebug", 3, [WRITE DENYOOM ADMIN], 2, 2, 1, [WRITE HYPERLOGLOG ADMIN SLOW DANGEROUS], HyperLogLog, "2.8.9", Single; ks[[RW ACCESS] idx(2) range(0, 1, 0)]; doc SysCmd),
    c!("pfmerge", -2, [WRITE DENYOOM], 1, -1, 1, [WRITE HYPERLOGLOG SLOW], HyperLogLog, "2.8.9", SameShard; ks[[RW ACCESS INSERT] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) range(-1, 1, 0)]),
    c!("pfselftest", 1, [ADMIN], 0, 0, 0, [HYPERLOGLOG ADMIN SLOW DANGEROUS], HyperLogLog, "2.8.9", AllShards; doc SysCmd),
    c!("ping", -1, [FAST], 0, 0, 0, [FAST CONNECTION], Connection, "1.0.0", Local; tips["request_policy:all_shards" "response_policy:all_succeeded"]),
    c!("psetex", 4, [WRITE DENYOOM], 1, 1, 1, [WRITE STRING SLOW], String, "2.6.0", Single; ks[[OW UPDATE] idx(1) range(0, 1, 0)]),
    c!("psubscribe", -2, [PUBSUB NOSCRIPT LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "2.0.0", AllShards),
    c!("psync", -3, [ADMIN NOSCRIPT NO_ASYNC_LOADING NO_MULTI], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.8.0", Unsupported(REPLICATION)),
    c!("pttl", 2, [READONLY FAST], 1, 1, 1, [KEYSPACE READ FAST], Generic, "2.6.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("publish", 3, [PUBSUB LOADING STALE FAST MAY_REPLICATE], 0, 0, 0, [PUBSUB FAST], PubSub, "2.0.0", Single),
    c!("pubsub", -2, [], 0, 0, 0, [SLOW], PubSub, "2.8.0", Local; subs PUBSUB_SUBCOMMANDS),
    c!("punsubscribe", -1, [PUBSUB NOSCRIPT LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "2.0.0", AllShards),
    c!("quit", -1, [NOSCRIPT LOADING STALE FAST NO_AUTH ALLOW_BUSY], 0, 0, 0, [FAST CONNECTION], Connection, "1.0.0", Local),
    c!("randomkey", 1, [READONLY], 0, 0, 0, [KEYSPACE READ SLOW], Generic, "1.0.0", AllShards; tips["request_policy:all_shards" "nondeterministic_output"]),
    c!("rename", 3, [WRITE], 1, 2, 1, [KEYSPACE WRITE SLOW], Generic, "1.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0); [OW UPDATE] idx(2) range(0, 1, 0)]),
    c!("renamenx", 3, [WRITE FAST], 1, 2, 1, [KEYSPACE WRITE FAST], Generic, "1.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0); [OW INSERT] idx(2) range(0, 1, 0)]),
    c!("replconf", -1, [ADMIN NOSCRIPT LOADING STALE ALLOW_BUSY], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "3.0.0", Unsupported(REPLICATION); doc SysCmd),
    c!("replicaof", 3, [ADMIN NOSCRIPT STALE NO_ASYNC_LOADING], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "5.0.0", Unsupported(REPLICATION)),
    c!("reset", 1, [NOSCRIPT LOADING STALE FAST NO_AUTH ALLOW_BUSY], 0, 0, 0, [FAST CONNECTION], Connection, "6.2.0", Local),
    c!("restore", -4, [WRITE DENYOOM], 1, 1, 1, [KEYSPACE WRITE SLOW DANGEROUS], Generic, "2.6.0", Single; ks[[OW UPDATE] idx(1) range(0, 1, 0)]),
    c!("restore-asking", -4, [WRITE DENYOOM ASKING], 1, 1, 1, [KEYSPACE WRITE SLOW DANGEROUS], Server, "3.0.0", Unsupported(CLUSTER); ks[[OW UPDATE] idx(1) range(0, 1, 0)]; doc SysCmd),
    c!("role", 1, [NOSCRIPT LOADING STALE FAST], 0, 0, 0, [ADMIN FAST DANGEROUS], Server, "2.8.12", Unsupported(REPLICATION)),
    c!("rpop", -2, [WRITE FAST], 1, 1, 1, [WRITE LIST FAST], List, "1.0.0", Single; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0)]),
    c!("rpoplpush", 3, [WRITE DENYOOM], 1, 2, 1, [WRITE LIST SLOW], List, "1.2.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0); [RW INSERT] idx(2) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("rpush", -3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE LIST FAST], List, "1.0.0", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("rpushx", -3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE LIST FAST], List, "2.2.0", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("sadd", -3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE SET FAST], Set, "1.0.0", Single; ks[[RW INSERT] idx(1) range(0, 1, 0)]),
    c!("save", 1, [ADMIN NOSCRIPT NO_ASYNC_LOADING NO_MULTI], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "1.0.0", AllShards),
    c!("scan", -2, [READONLY], 0, 0, 0, [KEYSPACE READ SLOW], Generic, "2.8.0", AllShards; tips["nondeterministic_output" "request_policy:special"]),
    c!("scard", 2, [READONLY FAST], 1, 1, 1, [READ SET FAST], Set, "1.0.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("script", -2, [], 0, 0, 0, [SLOW], Scripting, "2.6.0", Local; subs SCRIPT_SUBCOMMANDS),
    c!("sdiff", -2, [READONLY], 1, -1, 1, [READ SET SLOW], Set, "1.0.0", SameShard; ks[[RO ACCESS] idx(1) range(-1, 1, 0)]; tips["nondeterministic_output_order"]),
    c!("sdiffstore", -3, [WRITE DENYOOM], 1, -1, 1, [WRITE SET SLOW], Set, "1.0.0", SameShard; ks[[OW UPDATE] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) range(-1, 1, 0)]),
    c!("select", 2, [LOADING STALE FAST], 0, 0, 0, [FAST CONNECTION], Connection, "1.0.0", Local),
    c!("set", -3, [WRITE DENYOOM], 1, 1, 1, [WRITE STRING SLOW], String, "1.0.0", Single; ks[[RW ACCESS UPDATE VARIABLE_FLAGS] idx(1) range(0, 1, 0)]),
    c!("setbit", 4, [WRITE DENYOOM], 1, 1, 1, [WRITE BITMAP SLOW], Bitmap, "2.2.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("setex", 4, [WRITE DENYOOM], 1, 1, 1, [WRITE STRING SLOW], String, "2.0.0", Single; ks[[OW UPDATE] idx(1) range(0, 1, 0)]),
    c!("setnx", 3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STRING FAST], String, "1.0.0", Single; ks[[OW INSERT] idx(1) range(0, 1, 0)]),
    c!("setrange", 4, [WRITE DENYOOM], 1, 1, 1, [WRITE STRING SLOW], String, "2.2.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("shutdown", -1, [ADMIN NOSCRIPT LOADING STALE NO_MULTI ALLOW_BUSY], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "1.0.0", Unsupported(ADMIN)),
    c!("sinter", -2, [READONLY], 1, -1, 1, [READ SET SLOW], Set, "1.0.0", SameShard; ks[[RO ACCESS] idx(1) range(-1, 1, 0)]; tips["nondeterministic_output_order"]),
    c!("sintercard", -3, [READONLY MOVABLE_KEYS], 0, 0, 0, [READ SET SLOW], Set, "7.0.0", SameShard; ks[[RO ACCESS] idx(1) keynum(0, 1, 1)]; keys numkeys_at_1),
    c!("sinterstore", -3, [WRITE DENYOOM], 1, -1, 1, [WRITE SET SLOW], Set, "1.0.0", SameShard; ks[[RW UPDATE] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) range(-1, 1, 0)]),
    c!("sismember", 3, [READONLY FAST], 1, 1, 1, [READ SET FAST], Set, "1.0.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("slaveof", 3, [ADMIN NOSCRIPT STALE NO_ASYNC_LOADING], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "1.0.0", Unsupported(REPLICATION); doc Deprecated("5.0.0")),
    c!("slowlog", -2, [], 0, 0, 0, [SLOW], Server, "2.2.12", Local; subs SLOWLOG_SUBCOMMANDS),
    c!("smembers", 2, [READONLY], 1, 1, 1, [READ SET SLOW], Set, "1.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output_order"]),
    c!("smismember", -3, [READONLY FAST], 1, 1, 1, [READ SET FAST], Set, "6.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("smove", 4, [WRITE FAST], 1, 2, 1, [WRITE SET FAST], Set, "1.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0); [RW INSERT] idx(2) range(0, 1, 0)]),
    c!("sort", -2, [WRITE DENYOOM MOVABLE_KEYS], 1, 1, 1, [WRITE SET SORTEDSET LIST SLOW DANGEROUS], Generic, "1.0.0", SameShard; ks[[RO ACCESS] idx(1) range(0, 1, 0); [RO ACCESS] bs_unknown() fk_unknown(); [OW UPDATE] bs_unknown() fk_unknown()]; keys sort_keys),
    c!("sort_ro", -2, [READONLY MOVABLE_KEYS], 1, 1, 1, [READ SET SORTEDSET LIST SLOW DANGEROUS], Generic, "7.0.0", SameShard; ks[[RO ACCESS] idx(1) range(0, 1, 0); [RO ACCESS] bs_unknown() fk_unknown()]; keys sort_ro_keys),
    c!("spop", -2, [WRITE FAST], 1, 1, 1, [WRITE SET FAST], Set, "1.0.0", Single; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("spublish", 3, [PUBSUB LOADING STALE FAST MAY_REPLICATE], 1, 1, 1, [PUBSUB FAST], PubSub, "7.0.0", Single; ks[[NOT_KEY] idx(1) range(0, 1, 0)]),
    c!("srandmember", -2, [READONLY], 1, 1, 1, [READ SET SLOW], Set, "1.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("srem", -3, [WRITE FAST], 1, 1, 1, [WRITE SET FAST], Set, "1.0.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("sscan", -3, [READONLY], 1, 1, 1, [READ SET SLOW], Set, "2.8.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("ssubscribe", -2, [PUBSUB NOSCRIPT LOADING STALE], 1, -1, 1, [PUBSUB SLOW], PubSub, "7.0.0", SameShard; ks[[NOT_KEY] idx(1) range(-1, 1, 0)]),
    c!("strlen", 2, [READONLY FAST], 1, 1, 1, [READ STRING FAST], String, "2.2.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("subscribe", -2, [PUBSUB NOSCRIPT LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "2.0.0", AllShards),
    c!("substr", 4, [READONLY], 1, 1, 1, [READ STRING SLOW], String, "1.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; doc Deprecated("2.0.0")),
    c!("sunion", -2, [READONLY], 1, -1, 1, [READ SET SLOW], Set, "1.0.0", SameShard; ks[[RO ACCESS] idx(1) range(-1, 1, 0)]; tips["nondeterministic_output_order"]),
    c!("sunionstore", -3, [WRITE DENYOOM], 1, -1, 1, [WRITE SET SLOW], Set, "1.0.0", SameShard; ks[[OW UPDATE] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) range(-1, 1, 0)]),
    c!("sunsubscribe", -1, [PUBSUB NOSCRIPT LOADING STALE], 1, -1, 1, [PUBSUB SLOW], PubSub, "7.0.0", SameShard; ks[[NOT_KEY] idx(1) range(-1, 1, 0)]),
    c!("swapdb", 3, [WRITE FAST], 0, 0, 0, [KEYSPACE WRITE FAST DANGEROUS], Server, "4.0.0", Unsupported(ONE_DB)),
    c!("sync", 1, [ADMIN NOSCRIPT NO_ASYNC_LOADING NO_MULTI], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "1.0.0", Unsupported(REPLICATION)),
    c!("time", 1, [LOADING STALE FAST], 0, 0, 0, [FAST], Server, "2.6.0", Local; tips["nondeterministic_output"]),
    c!("touch", -2, [READONLY FAST], 1, -1, 1, [KEYSPACE READ FAST], Generic, "3.2.1", PerKey; ks[[RO] idx(1) range(-1, 1, 0)]; tips["request_policy:multi_shard" "response_policy:agg_sum"]),
    c!("ttl", 2, [READONLY FAST], 1, 1, 1, [KEYSPACE READ FAST], Generic, "1.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("type", 2, [READONLY FAST], 1, 1, 1, [KEYSPACE READ FAST], Generic, "1.0.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("unlink", -2, [WRITE FAST], 1, -1, 1, [KEYSPACE WRITE FAST], Generic, "4.0.0", PerKey; ks[[RM DELETE] idx(1) range(-1, 1, 0)]; tips["request_policy:multi_shard" "response_policy:agg_sum"]),
    c!("unsubscribe", -1, [PUBSUB NOSCRIPT LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "2.0.0", AllShards),
    c!("unwatch", 1, [NOSCRIPT LOADING STALE FAST ALLOW_BUSY], 0, 0, 0, [FAST TRANSACTION], Transactions, "2.2.0", Local),
    c!("wait", 3, [NOSCRIPT], 0, 0, 0, [SLOW CONNECTION], Generic, "3.0.0", Unsupported(WAIT); tips["request_policy:all_shards" "response_policy:agg_min"]),
    c!("watch", -2, [NOSCRIPT LOADING STALE FAST ALLOW_BUSY], 1, -1, 1, [FAST TRANSACTION], Transactions, "2.2.0", Local; ks[[RO] idx(1) range(-1, 1, 0)]),
    c!("xack", -4, [WRITE FAST], 1, 1, 1, [WRITE STREAM FAST], Stream, "5.0.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("xadd", -5, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STREAM FAST], Stream, "5.0.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("xautoclaim", -6, [WRITE FAST], 1, 1, 1, [WRITE STREAM FAST], Stream, "6.2.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("xclaim", -6, [WRITE FAST], 1, 1, 1, [WRITE STREAM FAST], Stream, "5.0.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("xdel", -3, [WRITE FAST], 1, 1, 1, [WRITE STREAM FAST], Stream, "5.0.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("xgroup", -2, [], 0, 0, 0, [SLOW], Stream, "5.0.0", Local; subs XGROUP_SUBCOMMANDS),
    c!("xinfo", -2, [], 0, 0, 0, [SLOW], Stream, "5.0.0", Local; subs XINFO_SUBCOMMANDS),
    c!("xlen", 2, [READONLY FAST], 1, 1, 1, [READ STREAM FAST], Stream, "5.0.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("xpending", -3, [READONLY], 1, 1, 1, [READ STREAM SLOW], Stream, "5.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("xrange", -4, [READONLY], 1, 1, 1, [READ STREAM SLOW], Stream, "5.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("xread", -4, [READONLY BLOCKING MOVABLE_KEYS], 0, 0, 0, [READ STREAM SLOW BLOCKING], Stream, "5.0.0", SameShard; ks[[RO ACCESS] kw("STREAMS", 1) range(-1, 1, 2)]; keys xread_keys),
    c!("xreadgroup", -7, [WRITE BLOCKING MOVABLE_KEYS], 0, 0, 0, [WRITE STREAM SLOW BLOCKING], Stream, "5.0.0", SameShard; ks[[RO ACCESS] kw("STREAMS", 4) range(-1, 1, 2)]; keys xreadgroup_keys),
    c!("xrevrange", -4, [READONLY], 1, 1, 1, [READ STREAM SLOW], Stream, "5.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("xsetid", -3, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE STREAM FAST], Stream, "5.0.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("xtrim", -4, [WRITE], 1, 1, 1, [WRITE STREAM SLOW], Stream, "5.0.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("zadd", -4, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE SORTEDSET FAST], SortedSet, "1.2.0", Single; ks[[RW UPDATE] idx(1) range(0, 1, 0)]),
    c!("zcard", 2, [READONLY FAST], 1, 1, 1, [READ SORTEDSET FAST], SortedSet, "1.2.0", Single; ks[[RO] idx(1) range(0, 1, 0)]),
    c!("zcount", 4, [READONLY FAST], 1, 1, 1, [READ SORTEDSET FAST], SortedSet, "2.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("zdiff", -3, [READONLY MOVABLE_KEYS], 0, 0, 0, [READ SORTEDSET SLOW], SortedSet, "6.2.0", SameShard; ks[[RO ACCESS] idx(1) keynum(0, 1, 1)]; keys numkeys_at_1),
    c!("zdiffstore", -4, [WRITE DENYOOM MOVABLE_KEYS], 1, 1, 1, [WRITE SORTEDSET SLOW], SortedSet, "6.2.0", SameShard; ks[[OW UPDATE] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) keynum(0, 1, 1)]; keys dest_and_numkeys),
    c!("zincrby", 4, [WRITE DENYOOM FAST], 1, 1, 1, [WRITE SORTEDSET FAST], SortedSet, "1.2.0", Single; ks[[RW ACCESS UPDATE] idx(1) range(0, 1, 0)]),
    c!("zinter", -3, [READONLY MOVABLE_KEYS], 0, 0, 0, [READ SORTEDSET SLOW], SortedSet, "6.2.0", SameShard; ks[[RO ACCESS] idx(1) keynum(0, 1, 1)]; keys numkeys_at_1),
    c!("zintercard", -3, [READONLY MOVABLE_KEYS], 0, 0, 0, [READ SORTEDSET SLOW], SortedSet, "7.0.0", SameShard; ks[[RO ACCESS] idx(1) keynum(0, 1, 1)]; keys numkeys_at_1),
    c!("zinterstore", -4, [WRITE DENYOOM MOVABLE_KEYS], 1, 1, 1, [WRITE SORTEDSET SLOW], SortedSet, "2.0.0", SameShard; ks[[OW UPDATE] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) keynum(0, 1, 1)]; keys dest_and_numkeys),
    c!("zlexcount", 4, [READONLY FAST], 1, 1, 1, [READ SORTEDSET FAST], SortedSet, "2.8.9", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("zmpop", -4, [WRITE MOVABLE_KEYS], 0, 0, 0, [WRITE SORTEDSET SLOW], SortedSet, "7.0.0", SameShard; ks[[RW ACCESS DELETE] idx(1) keynum(0, 1, 1)]; keys numkeys_at_1),
    c!("zmscore", -3, [READONLY FAST], 1, 1, 1, [READ SORTEDSET FAST], SortedSet, "6.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("zpopmax", -2, [WRITE FAST], 1, 1, 1, [WRITE SORTEDSET FAST], SortedSet, "5.0.0", Single; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0)]),
    c!("zpopmin", -2, [WRITE FAST], 1, 1, 1, [WRITE SORTEDSET FAST], SortedSet, "5.0.0", Single; ks[[RW ACCESS DELETE] idx(1) range(0, 1, 0)]),
    c!("zrandmember", -2, [READONLY], 1, 1, 1, [READ SORTEDSET SLOW], SortedSet, "6.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("zrange", -4, [READONLY], 1, 1, 1, [READ SORTEDSET SLOW], SortedSet, "1.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("zrangebylex", -4, [READONLY], 1, 1, 1, [READ SORTEDSET SLOW], SortedSet, "2.8.9", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("zrangebyscore", -4, [READONLY], 1, 1, 1, [READ SORTEDSET SLOW], SortedSet, "1.0.5", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("zrangestore", -5, [WRITE DENYOOM], 1, 2, 1, [WRITE SORTEDSET SLOW], SortedSet, "6.2.0", SameShard; ks[[OW UPDATE] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) range(0, 1, 0)]),
    c!("zrank", 3, [READONLY FAST], 1, 1, 1, [READ SORTEDSET FAST], SortedSet, "2.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("zrem", -3, [WRITE FAST], 1, 1, 1, [WRITE SORTEDSET FAST], SortedSet, "1.2.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("zremrangebylex", 4, [WRITE], 1, 1, 1, [WRITE SORTEDSET SLOW], SortedSet, "2.8.9", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("zremrangebyrank", 4, [WRITE], 1, 1, 1, [WRITE SORTEDSET SLOW], SortedSet, "2.0.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("zremrangebyscore", 4, [WRITE], 1, 1, 1, [WRITE SORTEDSET SLOW], SortedSet, "1.2.0", Single; ks[[RW DELETE] idx(1) range(0, 1, 0)]),
    c!("zrevrange", -4, [READONLY], 1, 1, 1, [READ SORTEDSET SLOW], SortedSet, "1.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("zrevrangebylex", -4, [READONLY], 1, 1, 1, [READ SORTEDSET SLOW], SortedSet, "2.8.9", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("zrevrangebyscore", -4, [READONLY], 1, 1, 1, [READ SORTEDSET SLOW], SortedSet, "2.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; doc Deprecated("6.2.0")),
    c!("zrevrank", 3, [READONLY FAST], 1, 1, 1, [READ SORTEDSET FAST], SortedSet, "2.0.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("zscan", -3, [READONLY], 1, 1, 1, [READ SORTEDSET SLOW], SortedSet, "2.8.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("zscore", 3, [READONLY FAST], 1, 1, 1, [READ SORTEDSET FAST], SortedSet, "1.2.0", Single; ks[[RO ACCESS] idx(1) range(0, 1, 0)]),
    c!("zunion", -3, [READONLY MOVABLE_KEYS], 0, 0, 0, [READ SORTEDSET SLOW], SortedSet, "6.2.0", SameShard; ks[[RO ACCESS] idx(1) keynum(0, 1, 1)]; keys numkeys_at_1),
    c!("zunionstore", -4, [WRITE DENYOOM MOVABLE_KEYS], 1, 1, 1, [WRITE SORTEDSET SLOW], SortedSet, "2.0.0", SameShard; ks[[OW UPDATE] idx(1) range(0, 1, 0); [RO ACCESS] idx(2) keynum(0, 1, 1)]; keys dest_and_numkeys),
];

#[rustfmt::skip]
static ACL_SUBCOMMANDS: &[CommandSpec] = &[
    c!("acl|cat", -2, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW], Server, "6.0.0", Local),
    c!("acl|deluser", -3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.0.0", Unsupported(ADMIN)),
    c!("acl|dryrun", -4, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "7.0.0", Unsupported(ADMIN)),
    c!("acl|genpass", -2, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW], Server, "6.0.0", Local),
    c!("acl|getuser", 3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.0.0", Unsupported(ADMIN)),
    c!("acl|help", 2, [LOADING STALE], 0, 0, 0, [SLOW], Server, "6.0.0", Local),
    c!("acl|list", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.0.0", Unsupported(ADMIN)),
    c!("acl|load", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.0.0", Unsupported(ADMIN)),
    c!("acl|log", -2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.0.0", Unsupported(ADMIN)),
    c!("acl|save", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.0.0", Unsupported(ADMIN)),
    c!("acl|setuser", -3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.0.0", Unsupported(ADMIN)),
    c!("acl|users", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "6.0.0", Unsupported(ADMIN)),
    c!("acl|whoami", 2, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW], Server, "6.0.0", Local),
];

#[rustfmt::skip]
static CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    c!("client|caching", 3, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "6.0.0", Unsupported(TRACKING)),
    c!("client|getname", 2, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "2.6.9", Local),
    c!("client|getredir", 2, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "6.0.0", Unsupported(TRACKING)),
    c!("client|help", 2, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "5.0.0", Local),
    c!("client|id", 2, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "5.0.0", Local),
    c!("client|info", 2, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "6.2.0", Local; tips["nondeterministic_output"]),
    c!("client|kill", -3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS CONNECTION], Connection, "2.4.0", Local),
    c!("client|list", -2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS CONNECTION], Connection, "2.4.0", Local; tips["nondeterministic_output"]),
    c!("client|no-evict", 3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS CONNECTION], Connection, "7.0.0", Local),
    c!("client|pause", -3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS CONNECTION], Connection, "2.9.50", Local),
    c!("client|reply", 3, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "3.2.0", Local),
    c!("client|setname", 3, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "2.6.9", Local),
    c!("client|tracking", -3, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "6.0.0", Unsupported(TRACKING)),
    c!("client|trackinginfo", 2, [NOSCRIPT LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Connection, "6.2.0", Unsupported(TRACKING)),
    c!("client|unblock", -3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS CONNECTION], Connection, "5.0.0", Local),
    c!("client|unpause", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS CONNECTION], Connection, "6.2.0", Local),
];

#[rustfmt::skip]
static COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    c!("command|count", 2, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Server, "2.8.13", Local),
    c!("command|docs", -2, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Server, "7.0.0", Local; tips["nondeterministic_output_order"]),
    c!("command|getkeys", -4, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Server, "2.8.13", Local),
    c!("command|getkeysandflags", -4, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Server, "7.0.0", Local),
    c!("command|help", 2, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Server, "5.0.0", Local),
    c!("command|info", -2, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Server, "2.8.13", Local; tips["nondeterministic_output_order"]),
    c!("command|list", -2, [LOADING STALE], 0, 0, 0, [SLOW CONNECTION], Server, "7.0.0", Local; tips["nondeterministic_output_order"]),
];

#[rustfmt::skip]
static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    c!("config|get", -3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.0.0", Local),
    c!("config|help", 2, [LOADING STALE], 0, 0, 0, [SLOW], Server, "5.0.0", Local),
    c!("config|resetstat", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.0.0", Local),
    c!("config|rewrite", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.8.0", Unsupported(ADMIN)),
    c!("config|set", -4, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.0.0", Unsupported(ADMIN); tips["request_policy:all_nodes" "response_policy:all_succeeded"]),
];

#[rustfmt::skip]
static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    c!("function|delete", 3, [WRITE NOSCRIPT], 0, 0, 0, [WRITE SLOW SCRIPTING], Scripting, "7.0.0", AllShards; tips["request_policy:all_shards" "response_policy:all_succeeded"]),
    c!("function|dump", 2, [NOSCRIPT], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", AllShards),
    c!("function|flush", -2, [WRITE NOSCRIPT], 0, 0, 0, [WRITE SLOW SCRIPTING], Scripting, "7.0.0", AllShards; tips["request_policy:all_shards" "response_policy:all_succeeded"]),
    c!("function|help", 2, [LOADING STALE], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", Local),
    c!("function|kill", 2, [NOSCRIPT ALLOW_BUSY], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", AllShards; tips["request_policy:all_shards" "response_policy:one_succeeded"]),
    c!("function|list", -2, [NOSCRIPT], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", AllShards; tips["nondeterministic_output_order"]),
    c!("function|load", -3, [WRITE DENYOOM NOSCRIPT], 0, 0, 0, [WRITE SLOW SCRIPTING], Scripting, "7.0.0", AllShards; tips["request_policy:all_shards" "response_policy:all_succeeded"]),
    c!("function|restore", -3, [WRITE DENYOOM NOSCRIPT], 0, 0, 0, [WRITE SLOW SCRIPTING], Scripting, "7.0.0", AllShards; tips["request_policy:all_shards" "response_policy:all_succeeded"]),
    c!("function|stats", 2, [NOSCRIPT ALLOW_BUSY], 0, 0, 0, [SLOW SCRIPTING], Scripting, "7.0.0", AllShards; tips["nondeterministic_output" "request_policy:all_shards" "response_policy:special"]),
];

#[rustfmt::skip]
static LATENCY_SUBCOMMANDS: &[CommandSpec] = &[
    c!("latency|doctor", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.8.13", Unsupported(ADMIN); tips["nondeterministic_output" "request_policy:all_nodes" "response_policy:special"]),
    c!("latency|graph", 3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.8.13", Unsupported(ADMIN); tips["nondeterministic_output" "request_policy:all_nodes" "response_policy:special"]),
    c!("latency|help", 2, [LOADING STALE], 0, 0, 0, [SLOW], Server, "2.8.13", Local),
    c!("latency|histogram", -2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "7.0.0", Unsupported(ADMIN); tips["nondeterministic_output" "request_policy:all_nodes" "response_policy:special"]),
    c!("latency|history", 3, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.8.13", Unsupported(ADMIN); tips["nondeterministic_output" "request_policy:all_nodes" "response_policy:special"]),
    c!("latency|latest", 2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.8.13", Unsupported(ADMIN); tips["nondeterministic_output" "request_policy:all_nodes" "response_policy:special"]),
    c!("latency|reset", -2, [ADMIN NOSCRIPT LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.8.13", Unsupported(ADMIN); tips["request_policy:all_nodes" "response_policy:all_succeeded"]),
];

#[rustfmt::skip]
static MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    c!("memory|doctor", 2, [], 0, 0, 0, [SLOW], Server, "4.0.0", Unsupported(ADMIN); tips["nondeterministic_output" "request_policy:all_shards" "response_policy:special"]),
    c!("memory|help", 2, [LOADING STALE], 0, 0, 0, [SLOW], Server, "4.0.0", Local),
    c!("memory|malloc-stats", 2, [], 0, 0, 0, [SLOW], Server, "4.0.0", Unsupported(ADMIN); tips["nondeterministic_output" "request_policy:all_shards" "response_policy:special"]),
    c!("memory|purge", 2, [], 0, 0, 0, [SLOW], Server, "4.0.0", AllShards; tips["request_policy:all_shards" "response_policy:all_succeeded"]),
    c!("memory|stats", 2, [], 0, 0, 0, [SLOW], Server, "4.0.0", Unsupported(ADMIN); tips["nondeterministic_output" "request_policy:all_shards" "response_policy:special"]),
    c!("memory|usage", -3, [READONLY], 2, 2, 1, [READ SLOW], Server, "4.0.0", Single; ks[[RO] idx(2) range(0, 1, 0)]),
];

#[rustfmt::skip]
static MODULE_SUBCOMMANDS: &[CommandSpec] = &[
    c!("module|help", 2, [LOADING STALE], 0, 0, 0, [SLOW], Server, "5.0.0", Local),
    c!("module|list", 2, [ADMIN NOSCRIPT], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "4.0.0", Unsupported(ADMIN); tips["nondeterministic_output_order"]),
    c!("module|load", -3, [ADMIN NOSCRIPT NO_ASYNC_LOADING], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "4.0.0", Unsupported(ADMIN)),
    c!("module|loadex", -3, [ADMIN NOSCRIPT NO_ASYNC_LOADING], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "7.0.0", Unsupported(ADMIN)),
    c!("module|unload", 3, [ADMIN NOSCRIPT NO_ASYNC_LOADING], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "4.0.0", Unsupported(ADMIN)),
];

#[rustfmt::skip]
static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    c!("object|encoding", 3, [READONLY], 2, 2, 1, [KEYSPACE READ SLOW], Generic, "2.2.3", Single; ks[[RO] idx(2) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("object|freq", 3, [READONLY], 2, 2, 1, [KEYSPACE READ SLOW], Generic, "4.0.0", Single; ks[[RO] idx(2) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("object|help", 2, [LOADING STALE], 0, 0, 0, [KEYSPACE SLOW], Generic, "6.2.0", Local),
    c!("object|idletime", 3, [READONLY], 2, 2, 1, [KEYSPACE READ SLOW], Generic, "2.2.3", Single; ks[[RO] idx(2) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("object|refcount", 3, [READONLY], 2, 2, 1, [KEYSPACE READ SLOW], Generic, "2.2.3", Single; ks[[RO] idx(2) range(0, 1, 0)]; tips["nondeterministic_output"]),
];

#[rustfmt::skip]
static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    c!("pubsub|channels", -2, [PUBSUB LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "2.8.0", AllShards),
    c!("pubsub|help", 2, [LOADING STALE], 0, 0, 0, [SLOW], PubSub, "6.2.0", Local),
    c!("pubsub|numpat", 2, [PUBSUB LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "2.8.0", AllShards),
    c!("pubsub|numsub", -2, [PUBSUB LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "2.8.0", AllShards),
    c!("pubsub|shardchannels", -2, [PUBSUB LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "7.0.0", AllShards),
    c!("pubsub|shardnumsub", -2, [PUBSUB LOADING STALE], 0, 0, 0, [PUBSUB SLOW], PubSub, "7.0.0", AllShards),
];

#[rustfmt::skip]
static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    c!("script|debug", 3, [NOSCRIPT], 0, 0, 0, [SLOW SCRIPTING], Scripting, "3.2.0", Unsupported(SCRIPT_DEBUG)),
    c!("script|exists", -3, [NOSCRIPT], 0, 0, 0, [SLOW SCRIPTING], Scripting, "2.6.0", AllShards; tips["request_policy:all_shards" "response_policy:agg_logical_and"]),
    c!("script|flush", -2, [NOSCRIPT], 0, 0, 0, [SLOW SCRIPTING], Scripting, "2.6.0", AllShards; tips["request_policy:all_nodes" "response_policy:all_succeeded"]),
    c!("script|help", 2, [LOADING STALE], 0, 0, 0, [SLOW SCRIPTING], Scripting, "5.0.0", Local),
    c!("script|kill", 2, [NOSCRIPT ALLOW_BUSY], 0, 0, 0, [SLOW SCRIPTING], Scripting, "2.6.0", AllShards; tips["request_policy:all_shards" "response_policy:one_succeeded"]),
    c!("script|load", 3, [NOSCRIPT STALE], 0, 0, 0, [SLOW SCRIPTING], Scripting, "2.6.0", AllShards; tips["request_policy:all_nodes" "response_policy:all_succeeded"]),
];

#[rustfmt::skip]
static SLOWLOG_SUBCOMMANDS: &[CommandSpec] = &[
    c!("slowlog|get", -2, [ADMIN LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.2.12", AllShards; tips["request_policy:all_nodes" "nondeterministic_output"]),
    c!("slowlog|help", 2, [LOADING STALE], 0, 0, 0, [SLOW], Server, "6.2.0", Local),
    c!("slowlog|len", 2, [ADMIN LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.2.12", AllShards; tips["request_policy:all_nodes" "response_policy:agg_sum" "nondeterministic_output"]),
    c!("slowlog|reset", 2, [ADMIN LOADING STALE], 0, 0, 0, [ADMIN SLOW DANGEROUS], Server, "2.2.12", AllShards; tips["request_policy:all_nodes" "response_policy:all_succeeded"]),
];

#[rustfmt::skip]
static XGROUP_SUBCOMMANDS: &[CommandSpec] = &[
    c!("xgroup|create", -5, [WRITE DENYOOM], 2, 2, 1, [WRITE STREAM SLOW], Stream, "5.0.0", Single; ks[[RW INSERT] idx(2) range(0, 1, 0)]),
    c!("xgroup|createconsumer", 5, [WRITE DENYOOM], 2, 2, 1, [WRITE STREAM SLOW], Stream, "6.2.0", Single; ks[[RW INSERT] idx(2) range(0, 1, 0)]),
    c!("xgroup|delconsumer", 5, [WRITE], 2, 2, 1, [WRITE STREAM SLOW], Stream, "5.0.0", Single; ks[[RW DELETE] idx(2) range(0, 1, 0)]),
    c!("xgroup|destroy", 4, [WRITE], 2, 2, 1, [WRITE STREAM SLOW], Stream, "5.0.0", Single; ks[[RW DELETE] idx(2) range(0, 1, 0)]),
    c!("xgroup|help", 2, [LOADING STALE], 0, 0, 0, [STREAM SLOW], Stream, "5.0.0", Local),
    c!("xgroup|setid", -5, [WRITE], 2, 2, 1, [WRITE STREAM SLOW], Stream, "5.0.0", Single; ks[[RW UPDATE] idx(2) range(0, 1, 0)]),
];

#[rustfmt::skip]
static XINFO_SUBCOMMANDS: &[CommandSpec] = &[
    c!("xinfo|consumers", 4, [READONLY], 2, 2, 1, [READ STREAM SLOW], Stream, "5.0.0", Single; ks[[RO ACCESS] idx(2) range(0, 1, 0)]; tips["nondeterministic_output"]),
    c!("xinfo|groups", 3, [READONLY], 2, 2, 1, [READ STREAM SLOW], Stream, "5.0.0", Single; ks[[RO ACCESS] idx(2) range(0, 1, 0)]),
    c!("xinfo|help", 2, [LOADING STALE], 0, 0, 0, [STREAM SLOW], Stream, "5.0.0", Local),
    c!("xinfo|stream", -3, [READONLY], 2, 2, 1, [READ STREAM SLOW], Stream, "5.0.0", Single; ks[[RO ACCESS] idx(2) range(0, 1, 0)]),
];
