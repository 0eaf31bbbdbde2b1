//! Finds the line of a pool, a pool key, or a list item in the YAML text.
//!
//! The YAML parser reports positions only for its own errors; the values it
//! returns carry none. So after parsing, this module scans the text the way people
//! write `nutcracker.yml` (block style: pools at column 0, keys indented below,
//! `- item` lines under a key) and records where each pool, key and item starts.
//! It is best effort: for text it cannot follow (flow style `{...}`, multi-line
//! scalars) it finds the pool or nothing, and errors are reported without a line.

/// Line numbers (1-based) of each pool, its keys, and their list items.
#[derive(Debug, Default)]
pub(crate) struct Locator {
    pools: Vec<PoolLines>,
}

#[derive(Debug)]
struct PoolLines {
    name: String,
    line: usize,
    key_indent: Option<usize>,
    keys: Vec<KeyLines>,
}

#[derive(Debug)]
struct KeyLines {
    key: String,
    line: usize,
    item_indent: Option<usize>,
    items: Vec<usize>,
}

impl Locator {
    /// Scans `src` once.
    pub(crate) fn new(src: &str) -> Self {
        let mut locator = Locator::default();
        for (i, raw) in src.lines().enumerate() {
            let text = raw.trim_start_matches(' ');
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            locator.add_line(i + 1, raw.len() - text.len(), text);
        }
        locator
    }

    fn add_line(&mut self, line: usize, indent: usize, text: &str) {
        if indent == 0 && !text.starts_with('-') {
            if let Some(name) = mapping_key(text) {
                self.pools.push(PoolLines {
                    name,
                    line,
                    key_indent: None,
                    keys: Vec::new(),
                });
            }
            return;
        }
        let Some(pool) = self.pools.last_mut() else {
            return;
        };
        if text == "-" || text.starts_with("- ") {
            if let Some(key) = pool.keys.last_mut() {
                let item_indent = *key.item_indent.get_or_insert(indent);
                if indent == item_indent {
                    key.items.push(line);
                }
            }
            return;
        }
        let key_indent = *pool.key_indent.get_or_insert(indent);
        if indent == key_indent {
            if let Some(key) = mapping_key(text) {
                pool.keys.push(KeyLines {
                    key,
                    line,
                    item_indent: None,
                    items: Vec::new(),
                });
            }
        }
    }

    /// Pools and pool keys written twice, as `(pool, key, line, first line)`; the
    /// key is None for a pool.
    pub(crate) fn duplicates(&self) -> Vec<(&str, Option<&str>, usize, usize)> {
        let mut found = Vec::new();
        for (i, pool) in self.pools.iter().enumerate() {
            if let Some(first) = self.pools[..i].iter().find(|p| p.name == pool.name) {
                found.push((pool.name.as_str(), None, pool.line, first.line));
            }
            for (j, key) in pool.keys.iter().enumerate() {
                if let Some(first) = pool.keys[..j].iter().find(|k| k.key == key.key) {
                    found.push((
                        pool.name.as_str(),
                        Some(key.key.as_str()),
                        key.line,
                        first.line,
                    ));
                }
            }
        }
        found
    }

    /// The line of the most precise place found: the item, else the key, else the
    /// pool. The last pool and key of a name win, as they do in the parsed map.
    pub(crate) fn line(&self, pool: &str, key: Option<&str>, item: Option<usize>) -> Option<usize> {
        let pool = self.pools.iter().rev().find(|p| p.name == pool)?;
        let Some(key) = key.and_then(|k| pool.keys.iter().rev().find(|kl| kl.key == k)) else {
            return Some(pool.line);
        };
        Some(
            item.and_then(|i| key.items.get(i).copied())
                .unwrap_or(key.line),
        )
    }
}

/// The key of a `key:` or `key: value` line, unquoted; None if the line is not one.
fn mapping_key(text: &str) -> Option<String> {
    let text = text.trim_end();
    for quote in ['"', '\''] {
        if let Some(rest) = text.strip_prefix(quote) {
            let (key, after) = rest.split_once(quote)?;
            return after.trim_start().starts_with(':').then(|| key.to_string());
        }
    }
    let end = text
        .match_indices(':')
        .map(|(i, _)| i)
        .find(|&i| matches!(text.as_bytes().get(i + 1), None | Some(b' ')))?;
    Some(text[..end].trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "\
# a comment
alpha:
  listen: 127.0.0.1:22121
  hash: fnv1a_64

  servers:
   - 127.0.0.1:6379:1
   # between items
   - 127.0.0.1:6380:1 b
\"beta\":
    listen: /tmp/beta 0666
    servers:
    - 10.0.0.1:6379:1
    ranges:
      - \"user:*\": a
";

    #[test]
    fn finds_pools_keys_and_items() {
        let l = Locator::new(SRC);
        assert_eq!(l.line("alpha", None, None), Some(2));
        assert_eq!(l.line("alpha", Some("hash"), None), Some(4));
        assert_eq!(l.line("alpha", Some("servers"), Some(1)), Some(9));
        assert_eq!(l.line("beta", Some("listen"), None), Some(11));
        assert_eq!(l.line("beta", Some("servers"), Some(0)), Some(13));
        assert_eq!(l.line("beta", Some("ranges"), Some(0)), Some(15));
    }

    #[test]
    fn falls_back_to_the_closest_known_place() {
        let l = Locator::new(SRC);
        assert_eq!(l.line("alpha", Some("timeout"), None), Some(2));
        assert_eq!(l.line("alpha", Some("servers"), Some(7)), Some(6));
        assert_eq!(l.line("gamma", Some("hash"), None), None);
        let flow = Locator::new("a: {listen: '1.2.3.4:5', hash: md6}\n");
        assert_eq!(flow.line("a", Some("hash"), None), Some(1));
    }

    #[test]
    fn finds_what_is_written_twice() {
        let l = Locator::new("a:\n  hash: md5\n  hash: crc16\nb:\n  x: 1\na:\n  y: 2\n");
        assert_eq!(
            l.duplicates(),
            vec![("a", Some("hash"), 3, 2), ("a", None, 6, 1)]
        );
    }

    #[test]
    fn keys_may_hold_colons_in_values() {
        assert_eq!(
            mapping_key("listen: 127.0.0.1:22121").as_deref(),
            Some("listen")
        );
        assert_eq!(mapping_key("0-1000: a").as_deref(), Some("0-1000"));
        assert_eq!(mapping_key("'a: b': c").as_deref(), Some("a: b"));
        assert_eq!(mapping_key("just text"), None);
    }
}
