//! The closed sets of a pool: key hash functions, distributions, and the hash tag.
//!
//! These are config's own types. The proxy's hash module maps each variant to an
//! implementation; config only knows the names, spelled exactly as twemproxy spells
//! them (case-sensitive, as twemproxy compares them).

use std::fmt;

use super::error::Problem;

/// Declares a fieldless enum whose variants are spelled as config names, with
/// `ALL`, `name()`, `from_name()` and `Display`.
macro_rules! named_enum {
    ($(#[$doc:meta])* $ty:ident { $($(#[$vdoc:meta])* $variant:ident => $name:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $ty {
            $($(#[$vdoc])* $variant,)+
        }

        impl $ty {
            /// Every variant, in the order twemproxy's documentation lists them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant,)+];

            /// The name as written in a config file.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// Looks a name up exactly as written in a config file.
            ///
            /// # Errors
            /// [`Problem::UnknownValue`] listing the accepted names.
            pub fn from_name(name: &str) -> Result<Self, Problem> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name() == name)
                    .ok_or_else(|| Problem::UnknownValue {
                        value: name.to_string(),
                        expected: Self::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", "),
                    })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum! {
    /// The function that turns a key (or its hash-tagged part) into a 32-bit hash.
    /// twemproxy's default is [`Hash::Fnv1a64`].
    Hash {
        /// Bob Jenkins' one-at-a-time.
        OneAtATime => "one_at_a_time",
        /// The first four bytes of the MD5 digest.
        Md5 => "md5",
        /// CRC-16.
        Crc16 => "crc16",
        /// CRC-32 as libmemcached computes it.
        Crc32 => "crc32",
        /// CRC-32 as the standard defines it.
        Crc32a => "crc32a",
        /// FNV-1, 64-bit constants.
        Fnv164 => "fnv1_64",
        /// FNV-1a, 64-bit constants (twemproxy's default).
        #[default]
        Fnv1a64 => "fnv1a_64",
        /// FNV-1, 32-bit.
        Fnv132 => "fnv1_32",
        /// FNV-1a, 32-bit.
        Fnv1a32 => "fnv1a_32",
        /// Paul Hsieh's SuperFastHash.
        Hsieh => "hsieh",
        /// MurmurHash2.
        Murmur => "murmur",
        /// Bob Jenkins' lookup3.
        Jenkins => "jenkins",
    }
}

named_enum! {
    /// How a key's hash picks a server. twemproxy's default is [`Distribution::Ketama`].
    Distribution {
        /// Consistent hashing on a continuum of 160 points per server.
        #[default]
        Ketama => "ketama",
        /// Hash modulo the total weight of the live servers.
        Modula => "modula",
        /// A random server per key (the hash is ignored).
        Random => "random",
        /// shardcar only: explicit spans of the hash space, or key prefixes, each
        /// bound to a named server (the pool's `ranges:` list).
        Range => "range",
    }
}

/// Two ASCII characters (such as `{}`) that delimit the part of a key to hash.
///
/// twemproxy counts bytes; shardcar requires two ASCII characters so that "two
/// characters" and "two bytes" mean the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashTag {
    open: u8,
    close: u8,
}

impl HashTag {
    /// Parses the `hash_tag` value.
    ///
    /// # Errors
    /// [`Problem::HashTag`] unless `text` is exactly two ASCII characters.
    pub fn parse(text: &str) -> Result<Self, Problem> {
        match text.as_bytes() {
            [open, close] if open.is_ascii() && close.is_ascii() => Ok(HashTag {
                open: *open,
                close: *close,
            }),
            _ => Err(Problem::HashTag {
                value: text.to_string(),
            }),
        }
    }

    /// The byte that opens the tag.
    pub fn open(self) -> u8 {
        self.open
    }

    /// The byte that closes the tag.
    pub fn close(self) -> u8 {
        self.close
    }
}

impl fmt::Display for HashTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.open as char, self.close as char)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hash_name_round_trips() {
        assert_eq!(Hash::ALL.len(), 12);
        for hash in Hash::ALL {
            assert_eq!(Hash::from_name(hash.name()).unwrap(), *hash);
        }
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let err = Distribution::from_name("modulo").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown value 'modulo' (expected one of ketama, modula, random, range)"
        );
        assert!(
            Hash::from_name("FNV1A_64").is_err(),
            "names are case-sensitive"
        );
    }

    #[test]
    fn hash_tag_is_two_ascii_characters() {
        let tag = HashTag::parse("{}").unwrap();
        assert_eq!((tag.open(), tag.close()), (b'{', b'}'));
        assert_eq!(tag.to_string(), "{}");
        for bad in ["", "{", "{}}", "é", "«»"] {
            assert!(HashTag::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
