//! From YAML text to a [`Config`], collecting every problem on the way.
//!
//! Why not `#[derive(Deserialize)]` on `Pool`: serde stops at the first error, and
//! a config should report everything that is wrong at once. So the text is parsed
//! into a YAML value tree (syntax errors come back from the parser with their
//! line), and each pool key is decoded on its own by the table in `apply_key`
//! (values read by `scalar`); a bad key is reported and the rest of the pool is
//! still read.

use std::num::NonZeroU32;

use serde_yaml_ng::{Mapping, Value};

use super::addr::{Listen, Server};
use super::error::{ConfigError, ConfigErrors, Problem};
use super::locate::Locator;
use super::names::{Distribution, Hash, HashTag};
use super::pool::{Damaged, Pool};
use super::range::{self, Ranges};
use super::scalar::{closest_key, flag, hash_tag_text, kind, list, millis, number, password, text};
use super::Config;

/// Every key a pool may have: twemproxy's, then shardcar's.
pub const POOL_KEYS: &[&str] = &[
    "listen",
    "hash",
    "hash_tag",
    "distribution",
    "timeout",
    "backlog",
    "preconnect",
    "redis",
    "redis_auth",
    "redis_db",
    "server_connections",
    "auto_eject_hosts",
    "server_retry_timeout",
    "server_failure_limit",
    "tcpkeepalive",
    "reuseport",
    "client_connections",
    "servers",
    "allow_flush",
    "requirepass",
    "ranges",
    "cache",
];

/// Parses and validates a whole config.
pub(crate) fn parse(src: &str) -> Result<Config, ConfigErrors> {
    let root: Value = serde_yaml_ng::from_str(src).map_err(|e| yaml_errors(src, e))?;
    let mut errors = Vec::new();
    let pools = match root {
        Value::Mapping(map) => decode_pools(map, &mut errors),
        Value::Null => Vec::new(),
        other => {
            errors.push(ConfigError::file(Problem::WrongType {
                expected: "a mapping of pool names to pools",
                found: kind(&other),
            }));
            Vec::new()
        }
    };
    let config = super::check_config(pools, &mut errors);
    if errors.is_empty() {
        return Ok(config);
    }
    let locator = Locator::new(src);
    for error in &mut errors {
        if let (None, Some(pool)) = (error.line, &error.pool) {
            error.line = locator.line(pool, error.key.as_deref(), error.item);
        }
    }
    Err(ConfigErrors::new(errors))
}

/// Turns a YAML parser error into config errors. The parser reports a duplicate
/// key at the start of its mapping, without naming the pool; when the text shows
/// where the duplicates are, report each with its pool, key and line instead.
fn yaml_errors(src: &str, error: serde_yaml_ng::Error) -> ConfigErrors {
    let locator = Locator::new(src);
    let duplicates = locator.duplicates();
    if error.to_string().contains("duplicate entry") && !duplicates.is_empty() {
        let errors = duplicates.into_iter().map(|(pool, key, line, first_line)| {
            let problem = Problem::Duplicate { first_line };
            let mut error = match key {
                Some(key) => ConfigError::key(pool, key, problem),
                None => ConfigError::pool(pool, problem),
            };
            error.line = Some(line);
            error
        });
        return ConfigErrors::new(errors.collect());
    }
    let line = error.location().map(|l| l.line());
    let mut error = ConfigError::file(Problem::Yaml(error));
    error.line = line;
    ConfigErrors::new(vec![error])
}

/// A decoded pool, with what the whole-config checks need to know about it.
pub(crate) struct Decoded {
    pub(crate) pool: Pool,
    /// Whether `listen` was given and parsed (else it takes no part in the
    /// duplicate-address check).
    pub(crate) listen_ok: bool,
    pub(crate) damaged: Damaged,
    /// For each entry of `pool.servers`, its index in the file's list.
    pub(crate) server_items: Vec<usize>,
}

fn decode_pools(map: Mapping, errors: &mut Vec<ConfigError>) -> Vec<Decoded> {
    let mut pools = Vec::new();
    for (name, body) in map {
        match text(&name) {
            Ok(name) => pools.extend(decode_pool(name, &body, errors)),
            Err(_) => errors.push(ConfigError::file(Problem::WrongType {
                expected: "a pool name",
                found: kind(&name),
            })),
        }
    }
    pools
}

fn decode_pool(name: String, body: &Value, errors: &mut Vec<ConfigError>) -> Option<Decoded> {
    let Value::Mapping(map) = body else {
        let found = kind(body);
        let expected = "a mapping of pool keys (listen, servers, …)";
        errors.push(ConfigError::pool(
            &name,
            Problem::WrongType { expected, found },
        ));
        return None;
    };
    let mut d = Decoded {
        pool: Pool {
            name,
            ..Pool::default()
        },
        listen_ok: false,
        damaged: Damaged::default(),
        server_items: Vec::new(),
    };
    let (mut seen, mut redis, mut ranges) = (Vec::new(), None, None);
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            let problem = Problem::WrongType {
                expected: "a key name",
                found: kind(key),
            };
            errors.push(ConfigError::pool(&d.pool.name, problem));
            continue;
        };
        let result = match key {
            "servers" => decode_servers(&mut d, value, errors),
            "ranges" => {
                ranges = Some(value);
                Ok(())
            }
            "redis" => flag(value).map(|b| redis = Some(b)),
            "cache" => {
                d.pool.cache = super::cache::decode(&d.pool.name, value, errors);
                Ok(())
            }
            _ => apply_key(&mut d.pool, key, value),
        };
        seen.push(key);
        d.listen_ok |= key == "listen" && result.is_ok();
        if let Err(problem) = result {
            d.damaged.distribution |= key == "distribution";
            errors.push(ConfigError::key(&d.pool.name, key, problem));
        }
    }
    if !seen.contains(&"listen") {
        errors.push(ConfigError::key(&d.pool.name, "listen", Problem::Missing));
    }
    // A `redis:` value that is not a boolean has been reported already.
    let memcache = match redis {
        Some(is_redis) => !is_redis,
        None => !seen.contains(&"redis"),
    };
    if memcache {
        let problem = Problem::Memcache {
            explicit: redis.is_some(),
        };
        errors.push(ConfigError::key(&d.pool.name, "redis", problem));
    }
    if let Some(value) = ranges {
        decode_ranges(&mut d, value, errors);
    }
    Some(d)
}

/// Decodes one scalar pool key into its field.
fn apply_key(pool: &mut Pool, key: &str, v: &Value) -> Result<(), Problem> {
    match key {
        "listen" => pool.listen = Listen::parse(&text(v)?)?,
        "hash" => pool.hash = Hash::from_name(&text(v)?)?,
        "hash_tag" => pool.hash_tag = Some(HashTag::parse(&hash_tag_text(v)?)?),
        "distribution" => pool.distribution = Distribution::from_name(&text(v)?)?,
        "timeout" => pool.timeout = Some(millis(v)?).filter(|t| !t.is_zero()),
        "backlog" => pool.backlog = number(v)?,
        "preconnect" => pool.preconnect = flag(v)?,
        "redis_auth" => pool.redis_auth = Some(password(v)?),
        "redis_db" => pool.redis_db = number(v)?,
        "server_connections" => {
            pool.server_connections = NonZeroU32::new(number(v)?).ok_or(Problem::Invalid {
                value: "0".into(),
                reason: "a pool needs at least 1 connection per server".into(),
            })?
        }
        "auto_eject_hosts" => pool.auto_eject_hosts = flag(v)?,
        "server_retry_timeout" => pool.server_retry_timeout = millis(v)?,
        "server_failure_limit" => pool.server_failure_limit = number(v)?,
        "tcpkeepalive" => pool.tcpkeepalive = flag(v)?,
        "reuseport" => pool.reuseport = flag(v)?,
        "client_connections" => pool.client_connections = NonZeroU32::new(number(v)?),
        "allow_flush" => pool.allow_flush = flag(v)?,
        "requirepass" => pool.requirepass = Some(password(v)?),
        _ => {
            return Err(Problem::UnknownKey {
                suggestion: closest_key(key),
            })
        }
    }
    Ok(())
}

/// Decodes `servers:`; each bad line is its own error. Returns an error only when
/// the value is not a list at all.
fn decode_servers(
    d: &mut Decoded,
    v: &Value,
    errors: &mut Vec<ConfigError>,
) -> Result<(), Problem> {
    let items = list(v).inspect_err(|_| d.damaged.servers = true)?;
    for (i, item) in items.iter().enumerate() {
        match text(item).and_then(|line| Server::parse(&line)) {
            Ok(server) => {
                d.pool.servers.push(server);
                d.server_items.push(i);
            }
            Err(problem) => {
                d.damaged.servers = true;
                errors.push(ConfigError::item(&d.pool.name, "servers", i, problem));
            }
        }
    }
    Ok(())
}

/// Decodes `ranges:`, a list of one-entry mappings `SPAN_OR_PREFIX: SERVER`.
/// Skipped when `servers` had errors: every target would look unknown.
fn decode_ranges(d: &mut Decoded, v: &Value, errors: &mut Vec<ConfigError>) {
    d.damaged.ranges = true;
    if d.damaged.servers {
        return;
    }
    let name = d.pool.name.clone();
    let items = match list(v) {
        Ok(items) => items,
        Err(problem) => return errors.push(ConfigError::key(&name, "ranges", problem)),
    };
    let mut rules = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match range_rule(item, &d.pool.servers) {
            Ok(rule) => rules.push(rule),
            Err(problem) => errors.push(ConfigError::item(&name, "ranges", i, problem)),
        }
    }
    if rules.len() < items.len() {
        return;
    }
    match Ranges::from_rules(rules) {
        Ok(ranges) => {
            d.pool.ranges = Some(ranges);
            d.damaged.ranges = false;
        }
        Err(reason) => errors.push(ConfigError::key(&name, "ranges", Problem::Range(reason))),
    }
}

fn range_rule(item: &Value, servers: &[Server]) -> Result<range::Rule, Problem> {
    let entry = match item {
        Value::Mapping(m) if m.len() == 1 => m.iter().next(),
        _ => None,
    };
    let (rule, target) = entry.ok_or(Problem::WrongType {
        expected: "one 'SPAN_OR_PREFIX: SERVER' entry",
        found: kind(item),
    })?;
    range::parse_rule(&text(rule)?, &text(target)?, servers).map_err(Problem::Range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_key_is_decoded() {
        // A key listed in POOL_KEYS but missing from the decoder would be reported
        // as unknown; this keeps the list and the decoder in step.
        let mut pool = Pool::default();
        for key in POOL_KEYS {
            if let Err(Problem::UnknownKey { .. }) = apply_key(&mut pool, key, &Value::Null) {
                assert!(
                    ["servers", "ranges", "redis", "cache"].contains(key),
                    "{key} not decoded"
                );
            }
        }
    }
}
