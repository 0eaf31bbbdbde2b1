//! Small bitsets for the command table: command flags, ACL categories and key-spec
//! flags, each bit paired with the name Redis 7 uses for it in `COMMAND` replies.
//!
//! The bits are declared in the order Redis lists them, so iterating a set by bit
//! order reproduces Redis's reply order exactly.

/// Declares a `u32` bitset with named constants and their wire names, in bit order.
macro_rules! bitset {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$fmeta:meta])* $flag:ident = $bit:literal, $wire:literal; )* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(u32);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: $name = $name(1 << $bit); )*

            /// The empty set.
            pub const NONE: $name = $name(0);

            /// Every member with its wire name, in bit order.
            const NAMED: &'static [($name, &'static str)] = &[$(($name::$flag, $wire)),*];

            /// The union of two sets (usable in constants).
            pub const fn union(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }

            /// The members of `self` that are not in `other`.
            pub const fn without(self, other: $name) -> $name {
                $name(self.0 & !other.0)
            }

            /// True when every member of `other` is in `self`.
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when the sets share a member.
            pub const fn intersects(self, other: $name) -> bool {
                self.0 & other.0 != 0
            }

            /// True for the empty set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// The wire names of the members, in Redis's order.
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                Self::NAMED
                    .iter()
                    .filter(move |(bit, _)| self.contains(*bit))
                    .map(|(_, wire)| *wire)
            }

            /// The member whose wire name is `name` (ASCII case-insensitive).
            pub fn from_name(name: &[u8]) -> Option<$name> {
                Self::NAMED
                    .iter()
                    .find(|(_, wire)| wire.as_bytes().eq_ignore_ascii_case(name))
                    .map(|(bit, _)| *bit)
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, other: $name) -> $name {
                self.union(other)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_set().entries(self.names()).finish()
            }
        }
    };
}

bitset! {
    /// Command flags as `COMMAND INFO` reports them (plus `MAY_REPLICATE`, which Redis
    /// keeps but does not report).
    Flags {
        /// May modify the dataset.
        WRITE = 0, "write";
        /// Only reads data.
        READONLY = 1, "readonly";
        /// May grow memory use: refused when over `maxmemory`.
        DENYOOM = 2, "denyoom";
        /// Implemented by a module.
        MODULE = 3, "module";
        /// Administrative: needs `@admin` rights and is dangerous.
        ADMIN = 4, "admin";
        /// A pub/sub command.
        PUBSUB = 5, "pubsub";
        /// Refused inside scripts.
        NOSCRIPT = 6, "noscript";
        /// May block the client.
        BLOCKING = 8, "blocking";
        /// Allowed while the dataset is loading.
        LOADING = 9, "loading";
        /// Allowed on a replica with stale data.
        STALE = 10, "stale";
        /// Not shown in `MONITOR`.
        SKIP_MONITOR = 11, "skip_monitor";
        /// Not recorded in the slow log.
        SKIP_SLOWLOG = 12, "skip_slowlog";
        /// Cluster: allowed on an importing slot after `ASKING`.
        ASKING = 13, "asking";
        /// Runs in O(1) or O(log N); never delays the server.
        FAST = 14, "fast";
        /// Allowed before authentication.
        NO_AUTH = 15, "no_auth";
        /// May run with no key at all, although it takes keys.
        NO_MANDATORY_KEYS = 19, "no_mandatory_keys";
        /// Refused while a replica loads asynchronously.
        NO_ASYNC_LOADING = 23, "no_async_loading";
        /// Refused inside `MULTI`.
        NO_MULTI = 24, "no_multi";
        /// Key positions depend on the arguments: see `CommandSpec::keys_fn`.
        MOVABLE_KEYS = 25, "movablekeys";
        /// Allowed while a script or function is busy.
        ALLOW_BUSY = 26, "allow_busy";
        /// May be propagated to replicas and the AOF although it is not a write.
        /// Redis does not report it in `COMMAND` replies.
        MAY_REPLICATE = 16, "may_replicate";
    }
}

impl Flags {
    /// Flags Redis keeps to itself: left out of `COMMAND` replies.
    pub const HIDDEN: Flags = Flags::MAY_REPLICATE;

    /// The flags a `COMMAND INFO` reply lists.
    pub fn reported(self) -> Flags {
        self.without(Flags::HIDDEN)
    }
}

bitset! {
    /// ACL categories; wire names are without the leading `@`.
    AclCategories {
        /// Touches keys generically (names, types, expiry).
        KEYSPACE = 0, "keyspace";
        /// Reads data.
        READ = 1, "read";
        /// Writes data.
        WRITE = 2, "write";
        /// Set commands.
        SET = 3, "set";
        /// Sorted-set commands.
        SORTEDSET = 4, "sortedset";
        /// List commands.
        LIST = 5, "list";
        /// Hash commands.
        HASH = 6, "hash";
        /// String commands.
        STRING = 7, "string";
        /// Bitmap commands.
        BITMAP = 8, "bitmap";
        /// HyperLogLog commands.
        HYPERLOGLOG = 9, "hyperloglog";
        /// Geospatial commands.
        GEO = 10, "geo";
        /// Stream commands.
        STREAM = 11, "stream";
        /// Pub/sub commands.
        PUBSUB = 12, "pubsub";
        /// Administration.
        ADMIN = 13, "admin";
        /// Fast commands.
        FAST = 14, "fast";
        /// Every command that is not fast.
        SLOW = 15, "slow";
        /// May block the client.
        BLOCKING = 16, "blocking";
        /// Potentially dangerous.
        DANGEROUS = 17, "dangerous";
        /// Connection handling.
        CONNECTION = 18, "connection";
        /// Transactions.
        TRANSACTION = 19, "transaction";
        /// Scripts and functions.
        SCRIPTING = 20, "scripting";
    }
}

bitset! {
    /// Flags of one key specification: how a command uses the keys it finds.
    KeySpecFlags {
        /// Read-only access.
        RO = 0, "RO";
        /// Read and write.
        RW = 1, "RW";
        /// Overwrite: the old value is not read.
        OW = 2, "OW";
        /// Remove the key.
        RM = 3, "RM";
        /// Returns, copies or uses the value.
        ACCESS = 4, "access";
        /// Updates the value.
        UPDATE = 5, "update";
        /// Adds data without changing what is there.
        INSERT = 6, "insert";
        /// Deletes data.
        DELETE = 7, "delete";
        /// Not a key (a channel name) though routed like one.
        NOT_KEY = 8, "not_key";
        /// May miss some keys (they need a command-specific search).
        INCOMPLETE = 9, "incomplete";
        /// The flags depend on the arguments.
        VARIABLE_FLAGS = 10, "variable_flags";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_in_bit_order_and_skip_hidden() {
        let flags = Flags::MOVABLE_KEYS | Flags::WRITE | Flags::DENYOOM | Flags::MAY_REPLICATE;
        let reported: Vec<_> = flags.reported().names().collect();
        assert_eq!(reported, ["write", "denyoom", "movablekeys"]);
        assert!(flags.contains(Flags::MAY_REPLICATE));
    }

    #[test]
    fn from_name_is_case_insensitive_and_rejects_unknown() {
        assert_eq!(AclCategories::from_name(b"READ"), Some(AclCategories::READ));
        assert_eq!(AclCategories::from_name(b"@read"), None);
        assert_eq!(KeySpecFlags::from_name(b"ro"), Some(KeySpecFlags::RO));
        assert_eq!(Flags::from_name(b"nope"), None);
    }

    #[test]
    fn set_operations() {
        let rw = KeySpecFlags::RW.union(KeySpecFlags::ACCESS);
        assert!(rw.intersects(KeySpecFlags::ACCESS));
        assert!(!rw.contains(KeySpecFlags::RO));
        assert!(rw.without(rw).is_empty());
        assert_eq!(format!("{rw:?}"), r#"{"RW", "access"}"#);
    }
}
