//! Redis-style glob matching on bytes: `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` and `\`
//! escapes, with the server's quirks (a reversed range still matches, an unclosed
//! `[` runs to the end of the pattern, `[]` matches nothing).
//!
//! Used by `COMMAND LIST FILTERBY PATTERN`; the same rules serve `KEYS`, `SCAN MATCH`,
//! `PSUBSCRIBE` and `CONFIG GET`. Matching keeps a single backtrack point for the last
//! `*`, so it takes at most `pattern × text` steps whatever the input.

/// True when `text` matches `pattern`; `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if pattern.get(p) == Some(&b'*') {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            star = Some((p, t));
            continue;
        }
        if p < pattern.len() {
            let (matched, next) = match_token(pattern, p, text[t], nocase);
            if matched {
                p = next;
                t += 1;
                continue;
            }
        }
        let Some((after_star, from)) = star else {
            return false;
        };
        star = Some((after_star, from + 1));
        p = after_star;
        t = from + 1;
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Whether the token at `pattern[p]` (not a `*`) matches byte `c`, and where the
/// next token starts.
fn match_token(pattern: &[u8], p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let same = |a: u8, b: u8| a == b || (nocase && a.eq_ignore_ascii_case(&b));
    match pattern[p] {
        b'?' => (true, p + 1),
        b'[' => match_class(pattern, p + 1, c, nocase),
        b'\\' if p + 1 < pattern.len() => (same(pattern[p + 1], c), p + 2),
        literal => (same(literal, c), p + 1),
    }
}

/// A `[…]` class starting at `pattern[p]` (just after the `[`): whether it matches
/// `c`, and the index after its closing `]` (or the pattern's end when unclosed).
fn match_class(pattern: &[u8], mut p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let c = fold(c);
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    while p < pattern.len() && pattern[p] != b']' {
        if pattern[p] == b'\\' && p + 1 < pattern.len() {
            matched |= fold(pattern[p + 1]) == c;
            p += 2;
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' {
            let (a, b) = (fold(pattern[p]), fold(pattern[p + 2]));
            matched |= (a.min(b)..=a.max(b)).contains(&c);
            p += 3;
        } else {
            matched |= fold(pattern[p]) == c;
            p += 1;
        }
    }
    let next = (p + 1).min(pattern.len());
    (matched != negate, next)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(pattern: &str, text: &str) -> bool {
        glob_match(pattern.as_bytes(), text.as_bytes(), true)
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("*", "get"));
        assert!(m("g?t", "get"));
        assert!(!m("g?t", "gt"));
        assert!(m("*|g?t", "config|get"));
        assert!(m("zrange*", "zrangebyscore"));
        assert!(!m("get*a", "getex"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("**a", "ba"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(m("g[a-e]t", "get"));
        assert!(m("g[e-a]t", "get"), "a reversed range still matches");
        assert!(m("g[^a]t", "get"));
        assert!(!m("g[^e]t", "get"));
        assert!(!m("h*[!a]", "hget"), "! is not a negation");
        assert!(!m("g[]t", "get"), "[] matches nothing");
        assert!(m("hse[tt", "hset"), "an unclosed class runs to the end");
        assert!(!m("[", "x"));
        assert!(m("ge\\t", "get"));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("x[\\]]", "x]"));
        assert!(m("\\", "\\"), "a trailing backslash is literal");
    }

    #[test]
    fn case_folding_is_optional() {
        assert!(m("GET", "get"));
        assert!(m("[A-Z]ET", "get"));
        assert!(!glob_match(b"GET", b"get", false));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(5000);
        let pattern = "a*".repeat(100) + "b";
        assert!(!m(&pattern, &text));
    }
}
