//! Key patterns of cache rules: literal text with named captures, `user:{id}`.
//!
//! A capture matches one or more bytes; the literal after it is found at its
//! leftmost place (so `order:{user}:{n}` reads `order:7:3` as user 7, n 3), and a
//! capture at the end takes the rest of the key. Two captures may not touch
//! (`{a}{b}` has no single reading), and a capture name appears once.
//!
//! Whether two patterns can match one key is decided exactly ([`Pattern::overlaps`])
//! so that rule order never silently matters.

use std::fmt;

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Bytes the key must contain here.
    Literal(Vec<u8>),
    /// A named capture: one or more bytes.
    Capture(String),
}

/// A parsed key pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    segments: Vec<Segment>,
}

impl Pattern {
    /// Parses `user:{id}`.
    ///
    /// # Errors
    /// An unclosed or empty `{}`, a repeated capture name, two adjacent
    /// captures, a name that is not `[A-Za-z_][A-Za-z0-9_]*`, or no capture.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                segments.push(Segment::Literal(rest.as_bytes().to_vec()));
                break;
            };
            if open > 0 {
                segments.push(Segment::Literal(rest.as_bytes()[..open].to_vec()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("unclosed '{{' in pattern '{text}'"))?;
            let name = &rest[open + 1..open + close];
            check_capture(text, name, &segments)?;
            segments.push(Segment::Capture(name.to_string()));
            rest = &rest[open + close + 1..];
        }
        if !segments.iter().any(|s| matches!(s, Segment::Capture(_))) {
            return Err(format!(
                "pattern '{text}' has no capture: name the key part, as in 'user:{{id}}'"
            ));
        }
        Ok(Pattern {
            text: text.to_string(),
            segments,
        })
    }

    /// The capture names, in pattern order.
    pub fn captures(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Capture(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The literal bytes every matching key starts with.
    pub fn prefix(&self) -> &[u8] {
        match self.segments.first() {
            Some(Segment::Literal(bytes)) => bytes,
            _ => b"",
        }
    }

    /// The captured values, in pattern order, if `key` matches.
    pub fn matches<'k>(&self, key: &'k [u8]) -> Option<Vec<&'k [u8]>> {
        let mut values = Vec::new();
        self.walk(key, |value| values.push(value)).then_some(values)
    }

    /// Whether `key` matches, without collecting the captures.
    pub fn is_match(&self, key: &[u8]) -> bool {
        self.walk(key, |_| {})
    }

    /// Matches `key` segment by segment, handing each captured value to
    /// `capture`; false when it does not match.
    fn walk<'k>(&self, key: &'k [u8], mut capture: impl FnMut(&'k [u8])) -> bool {
        let mut pos = 0;
        let mut segments = self.segments.iter().peekable();
        while let Some(segment) = segments.next() {
            match segment {
                Segment::Literal(lit) => {
                    if !key[pos..].starts_with(lit) {
                        return false;
                    }
                    pos += lit.len();
                }
                Segment::Capture(_) => {
                    if pos >= key.len() {
                        return false;
                    }
                    let end = match segments.peek() {
                        Some(Segment::Literal(lit)) => match find(&key[pos + 1..], lit) {
                            Some(at) => pos + 1 + at,
                            None => return false,
                        },
                        _ => key.len(),
                    };
                    if end <= pos {
                        return false;
                    }
                    capture(&key[pos..end]);
                    pos = end;
                }
            }
        }
        pos == key.len()
    }

    /// Whether some key matches both patterns.
    pub fn overlaps(&self, other: &Pattern) -> bool {
        let (a, b) = (self.atoms(), other.atoms());
        // can[i][j]: the suffixes a[i..] and b[j..] match a common string.
        let mut can = vec![vec![false; b.len() + 1]; a.len() + 1];
        for i in (0..=a.len()).rev() {
            for j in (0..=b.len()).rev() {
                can[i][j] = match (a.get(i), b.get(j)) {
                    (None, None) => true,
                    (Some(Atom::Star), _) if can[i + 1][j] => true,
                    (_, Some(Atom::Star)) if can[i][j + 1] => true,
                    (Some(Atom::Star), Some(_)) => can[i][j + 1],
                    (Some(_), Some(Atom::Star)) => can[i + 1][j],
                    (Some(x), Some(y)) => x.meets(y) && can[i + 1][j + 1],
                    _ => false,
                };
            }
        }
        can[0][0]
    }

    /// The pattern as one-byte atoms: a capture is "any byte, then any bytes".
    fn atoms(&self) -> Vec<Atom> {
        let mut atoms = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(lit) => atoms.extend(lit.iter().map(|&b| Atom::Byte(b))),
                Segment::Capture(_) => atoms.extend([Atom::Any, Atom::Star]),
            }
        }
        atoms
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    Byte(u8),
    Any,
    Star,
}

impl Atom {
    /// Whether two one-byte atoms accept a common byte.
    fn meets(&self, other: &Atom) -> bool {
        match (self, other) {
            (Atom::Byte(x), Atom::Byte(y)) => x == y,
            _ => true,
        }
    }
}

fn check_capture(text: &str, name: &str, before: &[Segment]) -> Result<(), String> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "capture '{{{name}}}' in pattern '{text}' must be a name such as {{id}}"
        ));
    }
    if matches!(before.last(), Some(Segment::Capture(_))) {
        return Err(format!(
            "captures in pattern '{text}' touch: put literal text between them, as in '{{a}}:{{b}}'"
        ));
    }
    if before
        .iter()
        .any(|s| matches!(s, Segment::Capture(n) if n == name))
    {
        return Err(format!(
            "capture '{{{name}}}' appears twice in pattern '{text}'"
        ));
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Pattern {
        Pattern::parse(text).unwrap()
    }

    #[test]
    fn matches_and_captures() {
        let cases: &[(&str, &str, Option<&[&str]>)] = &[
            ("user:{id}", "user:42", Some(&["42"])),
            ("user:{id}", "user:", None),
            ("user:{id}", "users:1", None),
            ("order:{user}:{n}", "order:7:3", Some(&["7", "3"])),
            ("order:{user}:{n}", "order:7:3:9", Some(&["7", "3:9"])),
            ("order:{user}:{n}", "order:7", None),
            ("{id}:profile", "9:profile", Some(&["9"])),
            ("{id}:profile", "9:profile:x", None),
            ("{id}:profile", ":profile", None),
        ];
        for (pattern, key, expected) in cases {
            let got = p(pattern).matches(key.as_bytes());
            assert_eq!(
                p(pattern).is_match(key.as_bytes()),
                got.is_some(),
                "{pattern} ~ {key}"
            );
            let expected: Option<Vec<&[u8]>> =
                expected.map(|v| v.iter().map(|s| s.as_bytes()).collect());
            assert_eq!(got, expected, "{pattern} ~ {key}");
        }
    }

    #[test]
    fn bad_patterns_say_why() {
        let cases = [
            ("user:{id", "unclosed"),
            ("user:{}", "must be a name"),
            ("user:{1x}", "must be a name"),
            ("user:{a}{b}", "touch"),
            ("{a}:{a}", "appears twice"),
            ("user:1", "no capture"),
        ];
        for (text, expected) in cases {
            let err = Pattern::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn overlap_is_exact() {
        let cases = [
            ("user:{id}", "user:{id}:profile", true),
            ("user:{id}", "users:{id}", false),
            ("user:{id}", "session:{id}", false),
            ("a:{x}:b", "a:{y}", true),
            ("{x}:b", "a:{y}", true),
            ("log:{s}", "log:{s}x", true),
            ("x{a}y", "x{b}z", false),
            ("k:{a}", "k:{b}", true),
        ];
        for (a, b, expected) in cases {
            assert_eq!(p(a).overlaps(&p(b)), expected, "{a} vs {b}");
            assert_eq!(p(b).overlaps(&p(a)), expected, "{b} vs {a}");
        }
    }
}
