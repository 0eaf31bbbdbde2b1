//! Addresses as twemproxy writes them: `listen:` values and `servers:` lines.
//!
//! Both are parsed from the right, as twemproxy does, so a host may itself hold
//! colons (`::1:6379:1`). shardcar also accepts a bracketed IPv6 host
//! (`[::1]:6379:1`), which twemproxy fails to resolve. Host names are kept as
//! written: they are resolved when the proxy binds or connects, not here.

use std::fmt;
use std::path::PathBuf;

use super::error::Problem;
use super::scalar::parse_count;

/// The port twemproxy leaves out of a server's ketama name, for libmemcached
/// compatibility.
const KETAMA_LEGACY_PORT: u16 = 11211;

/// Where a pool accepts clients.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Listen {
    /// `host:port`; the host is an IP address or a name resolved at bind time.
    Tcp {
        /// The host, without IPv6 brackets.
        host: String,
        /// The port, never 0.
        port: u16,
    },
    /// `/absolute/path [mode]`: a unix socket, with optional octal permissions.
    Unix {
        /// The socket path.
        path: PathBuf,
        /// The file mode to set on the socket (`0666`), at most `0777`.
        mode: Option<u32>,
    },
}

impl Listen {
    /// Parses a `listen:` value.
    ///
    /// # Errors
    /// [`Problem::Invalid`] saying which part is wrong.
    pub fn parse(text: &str) -> Result<Self, Problem> {
        let invalid = |reason: &str| Problem::Invalid {
            value: text.to_string(),
            reason: reason.to_string(),
        };
        if !text.starts_with('/') {
            let (host, port) = parse_host_port(text).map_err(|r| invalid(&r))?;
            return Ok(Listen::Tcp { host, port });
        }
        let Some((path, mode)) = text.rsplit_once(' ') else {
            return Ok(Listen::Unix {
                path: PathBuf::from(text),
                mode: None,
            });
        };
        let mode = u32::from_str_radix(mode, 8)
            .ok()
            .filter(|m| *m <= 0o777 && !mode.starts_with('+'))
            .ok_or_else(|| invalid("the socket permissions must be octal, 0 to 0777"))?;
        Ok(Listen::Unix {
            path: PathBuf::from(path.trim_end()),
            mode: Some(mode),
        })
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp { host, port } => write_host_port(f, host, *port),
            Listen::Unix { path, mode: None } => write!(f, "{}", path.display()),
            Listen::Unix {
                path,
                mode: Some(mode),
            } => write!(f, "{} {mode:04o}", path.display()),
        }
    }
}

/// A backend server's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerAddr {
    /// `host:port`; the host is resolved at connect time (and again on reconnect).
    Tcp {
        /// The host, without IPv6 brackets.
        host: String,
        /// The port, never 0.
        port: u16,
    },
    /// An absolute unix socket path.
    Unix {
        /// The socket path.
        path: PathBuf,
    },
    /// `embedded`: a bundled engine shard started in the same process (the
    /// `shardcar up` default); it must be named, the name placing it on the ring.
    Embedded,
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp { host, port } => write_host_port(f, host, *port),
            ServerAddr::Unix { path } => write!(f, "{}", path.display()),
            ServerAddr::Embedded => f.write_str(EMBEDDED),
        }
    }
}

/// The host word that names a bundled engine shard in a `servers:` line.
pub(crate) const EMBEDDED: &str = "embedded";

/// One `servers:` line: `host:port:weight [name]` or `/unix/path:weight [name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Where the server is.
    pub addr: ServerAddr,
    /// Its share of the keys relative to the pool's other servers; 0 is refused by
    /// validation.
    pub weight: u32,
    /// The optional node name; when set it, not the address, places the server on
    /// the ketama continuum, so the server can move without moving keys.
    pub name: Option<String>,
}

impl Server {
    /// Parses a `servers:` line.
    ///
    /// # Errors
    /// [`Problem::Invalid`] saying which part is wrong. A weight of 0 parses; the
    /// pool's validation refuses it.
    pub fn parse(text: &str) -> Result<Self, Problem> {
        let invalid = |reason: &str| Problem::Invalid {
            value: text.to_string(),
            reason: format!(
                "{reason}; expected 'host:port:weight [name]' or '/unix/path:weight [name]'"
            ),
        };
        let (rest, name) = match text.rsplit_once(' ') {
            Some((_, "")) => return Err(invalid("the name after the space is empty")),
            Some((rest, name)) => (rest, Some(name.to_string())),
            None => (text, None),
        };
        let (addr, weight) = rest
            .rsplit_once(':')
            .ok_or_else(|| invalid("there is no ':weight'"))?;
        let weight = parse_count(weight).map_err(|r| invalid(&format!("the weight {r}")))?;
        let addr = if addr.starts_with('/') {
            ServerAddr::Unix {
                path: PathBuf::from(addr),
            }
        } else if addr == EMBEDDED {
            ServerAddr::Embedded
        } else if !addr.contains(':') {
            return Err(invalid("the port or the weight is missing"));
        } else {
            let (host, port) = parse_host_port(addr).map_err(|r| invalid(&r))?;
            ServerAddr::Tcp { host, port }
        };
        Ok(Server { addr, weight, name })
    }

    /// The string twemproxy hashes to place this server on the ketama continuum
    /// (and shows in its stats): the name if there is one; otherwise `host:port`,
    /// just `host` when the port is 11211, and for a unix socket the path followed
    /// by `:` (a quirk of twemproxy's parser, kept so that keys map identically).
    pub fn ketama_name(&self) -> String {
        match (&self.name, &self.addr) {
            (Some(name), _) => name.clone(),
            (None, ServerAddr::Tcp { host, port }) if *port == KETAMA_LEGACY_PORT => host.clone(),
            (None, ServerAddr::Tcp { host, port }) => format!("{host}:{port}"),
            (None, ServerAddr::Unix { path }) => format!("{}:", path.display()),
            (None, ServerAddr::Embedded) => EMBEDDED.to_string(),
        }
    }
}

impl fmt::Display for Server {
    /// The line as it would be written in `servers:`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.addr, self.weight)?;
        if let Some(name) = &self.name {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

/// Splits `host:port` at the last colon; `[v6]:port` loses its brackets.
fn parse_host_port(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or("expected 'host:port' or an absolute unix socket path")?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("the host is empty or contains a space".to_string());
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0 && port.bytes().all(|b| b.is_ascii_digit()))
        .ok_or("the port must be a number from 1 to 65535")?;
    Ok((host.to_string(), port))
}

fn write_host_port(f: &mut fmt::Formatter<'_>, host: &str, port: u16) -> fmt::Result {
    if host.contains(':') {
        write!(f, "[{host}]:{port}")
    } else {
        write!(f, "{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> ServerAddr {
        ServerAddr::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn listen_forms() {
        let cases = [
            ("127.0.0.1:22121", "127.0.0.1", 22121),
            ("localhost:1", "localhost", 1),
            ("::1:22121", "::1", 22121),
            ("[::1]:22121", "::1", 22121),
        ];
        for (text, host, port) in cases {
            let expected = Listen::Tcp {
                host: host.into(),
                port,
            };
            assert_eq!(Listen::parse(text).unwrap(), expected, "{text}");
        }
        assert_eq!(
            Listen::parse("/tmp/gamma 0666").unwrap(),
            Listen::Unix {
                path: "/tmp/gamma".into(),
                mode: Some(0o666)
            }
        );
        assert_eq!(
            Listen::parse("/var/run/nc.sock").unwrap(),
            Listen::Unix {
                path: "/var/run/nc.sock".into(),
                mode: None
            }
        );
        assert_eq!(
            Listen::parse("/tmp/x 0600").unwrap().to_string(),
            "/tmp/x 0600"
        );
        assert_eq!(Listen::parse("[::1]:80").unwrap().to_string(), "[::1]:80");
    }

    #[test]
    fn bad_listen_values() {
        for (text, reason) in [
            ("22121", "expected 'host:port'"),
            ("tmp/x.sock", "expected 'host:port'"),
            (":22121", "host is empty"),
            ("127.0.0.1:0", "1 to 65535"),
            ("127.0.0.1:65536", "1 to 65535"),
            ("127.0.0.1:+80", "1 to 65535"),
            ("127.0.0.1:http", "1 to 65535"),
            ("/tmp/x.sock 0999", "octal"),
            ("/tmp/x.sock 1777", "octal"),
            ("/tmp/x.sock rw", "octal"),
        ] {
            let err = Listen::parse(text).unwrap_err().to_string();
            assert!(err.contains(reason), "{text}: {err}");
            assert!(err.starts_with(&format!("invalid value '{text}'")), "{err}");
        }
    }

    #[test]
    fn server_lines() {
        let s = Server::parse("127.0.0.1:6380:1 server1").unwrap();
        assert_eq!(s.addr, tcp("127.0.0.1", 6380));
        assert_eq!((s.weight, s.name.as_deref()), (1, Some("server1")));
        assert_eq!(s.to_string(), "127.0.0.1:6380:1 server1");

        let s = Server::parse("redis-0.redis:6379:100000").unwrap();
        assert_eq!(
            (s.addr.clone(), s.weight, s.name),
            (tcp("redis-0.redis", 6379), 100000, None)
        );

        let s = Server::parse("::1:6379:2").unwrap();
        assert_eq!(s.addr, tcp("::1", 6379));

        let s = Server::parse("/tmp/redis.sock:3 local").unwrap();
        assert_eq!(
            s.addr,
            ServerAddr::Unix {
                path: "/tmp/redis.sock".into()
            }
        );
        assert_eq!((s.weight, s.name.as_deref()), (3, Some("local")));

        // A zero weight parses; validation refuses it with its own message.
        assert_eq!(Server::parse("10.0.0.1:6379:0").unwrap().weight, 0);
    }

    #[test]
    fn bad_server_lines() {
        for (text, reason) in [
            ("127.0.0.1:6379", "the port or the weight is missing"),
            ("127.0.0.1", "no ':weight'"),
            ("127.0.0.1:6379:-1", "the weight must be"),
            ("127.0.0.1:6379:x", "the weight must be"),
            ("127.0.0.1:6379:1 my server", "the weight must be"),
            ("127.0.0.1:6379:1 ", "name after the space is empty"),
            ("127.0.0.1:0:1", "1 to 65535"),
            (":6379:1", "host is empty"),
        ] {
            let err = Server::parse(text).unwrap_err().to_string();
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn ketama_names_follow_twemproxy() {
        let name = |line: &str| Server::parse(line).unwrap().ketama_name();
        assert_eq!(name("127.0.0.1:6379:1"), "127.0.0.1:6379");
        assert_eq!(name("127.0.0.1:11211:1"), "127.0.0.1");
        assert_eq!(name("127.0.0.1:6379:1 server1"), "server1");
        assert_eq!(name("/tmp/r.sock:1"), "/tmp/r.sock:");
    }
}
