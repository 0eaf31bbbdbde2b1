//! Pool configurations: the `nutcracker.yml` for a pool, and the ring and
//! hash shardcar builds for the same pool.

use std::fmt::Write as _;

use shardcar::proxy::hash::{hash_tagged_key, HashKind};
use shardcar::proxy::ring::{Distribution, Ring, ServerSpec};

use crate::children::Redis;

/// One `servers:` entry.
#[derive(Clone)]
pub(crate) struct Backend {
    /// `host:port`.
    pub(crate) addr: String,
    pub(crate) weight: u32,
    pub(crate) name: Option<String>,
    /// Index of the redis behind it; `None` for an address nobody serves.
    pub(crate) redis: Option<usize>,
}

impl Backend {
    pub(crate) fn live(redis: &[Redis], i: usize, weight: u32, name: Option<&str>) -> Backend {
        Backend {
            addr: format!("127.0.0.1:{}", redis[i].port),
            weight,
            name: name.map(str::to_owned),
            redis: Some(i),
        }
    }

    pub(crate) fn dead(addr: &str, weight: u32) -> Backend {
        Backend {
            addr: addr.to_owned(),
            weight,
            name: None,
            redis: None,
        }
    }

    /// The identity twemproxy hashes: the name, else `host:port`, or just
    /// `host` for port 11211.
    fn identity(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match self.addr.strip_suffix(":11211") {
            Some(host) => host.to_owned(),
            None => self.addr.clone(),
        }
    }

    fn yaml_line(&self) -> String {
        let name = self.name.as_deref().map(|n| format!(" {n}"));
        format!(
            "   - {}:{}{}\n",
            self.addr,
            self.weight,
            name.unwrap_or_default()
        )
    }
}

#[derive(Clone)]
pub(crate) struct Pool {
    pub(crate) hash: HashKind,
    pub(crate) dist: Distribution,
    pub(crate) tag: Option<[u8; 2]>,
    pub(crate) auto_eject: bool,
    pub(crate) servers: Vec<Backend>,
}

impl Pool {
    pub(crate) fn new(hash: HashKind, dist: Distribution, servers: Vec<Backend>) -> Pool {
        Pool {
            hash,
            dist,
            tag: None,
            auto_eject: false,
            servers,
        }
    }

    pub(crate) fn yaml(&self, listen: u16) -> String {
        let mut yaml = format!(
            "pool:\n  listen: 127.0.0.1:{listen}\n  redis: true\n  hash: {}\n  distribution: {}\n  timeout: 5000\n",
            self.hash, self.dist
        );
        if let Some(tag) = self.tag {
            let tag = String::from_utf8(tag.to_vec()).expect("ascii tag");
            writeln!(yaml, "  hash_tag: \"{tag}\"").expect("write");
        }
        if self.auto_eject {
            yaml.push_str("  auto_eject_hosts: true\n  server_failure_limit: 1\n");
            yaml.push_str("  server_retry_timeout: 600000\n");
        }
        yaml.push_str("  servers:\n");
        for server in &self.servers {
            yaml.push_str(&server.yaml_line());
        }
        yaml
    }

    pub(crate) fn label(&self) -> String {
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("{}*{}", s.identity(), s.weight))
            .collect();
        format!(
            "{} {} tag={:?} [{}]",
            self.hash,
            self.dist,
            self.tag,
            servers.join(", ")
        )
    }

    /// Our ring over the servers for which `live` holds.
    pub(crate) fn ring(&self, live: impl Fn(usize) -> bool) -> Ring {
        let names: Vec<String> = self.servers.iter().map(Backend::identity).collect();
        let specs: Vec<ServerSpec<'_>> = names
            .iter()
            .zip(&self.servers)
            .map(|(name, s)| ServerSpec {
                name,
                weight: s.weight,
            })
            .collect();
        Ring::with_live(self.dist, &specs, live)
    }

    pub(crate) fn expected(&self, ring: &Ring, key: &[u8]) -> Option<usize> {
        let hashed = hash_tagged_key(key, self.tag);
        ring.server_for(self.hash.dispatch_hash(hashed))
    }
}
