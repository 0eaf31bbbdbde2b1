//! Reading one YAML value as a pool key's type, the way twemproxy reads it.
//!
//! twemproxy sees every value as its text, whatever YAML's type: `timeout: "400"`
//! is 400 ms and `preconnect: "true"` is true. These helpers do the same and turn
//! anything else into a [`Problem`] that says what was expected.

use std::time::Duration;

use serde_yaml_ng::Value;

use super::error::Problem;
use super::parse::POOL_KEYS;

/// The largest number a key takes: twemproxy stores them in a C `int`.
const MAX_NUMBER: u32 = i32::MAX as u32;

/// Parses a whole number from 0 to `i32::MAX`, digits only (no sign, no
/// fraction), as twemproxy's `nc_atoi` accepts them.
pub(crate) fn parse_count(text: &str) -> Result<u32, String> {
    Some(text)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u32>().ok())
        .filter(|n| *n <= MAX_NUMBER)
        .ok_or_else(|| format!("must be a whole number from 0 to {MAX_NUMBER}"))
}

/// The hash tag's text; an unquoted `{}` reads as an empty YAML mapping, so say
/// to quote it rather than "found a mapping".
pub(crate) fn hash_tag_text(v: &Value) -> Result<String, Problem> {
    match v {
        Value::Mapping(m) if m.is_empty() => Err(Problem::Invalid {
            value: "{}".into(),
            reason: "YAML reads an unquoted {} as an empty mapping: write hash_tag: \"{}\"".into(),
        }),
        _ => text(v),
    }
}

pub(crate) fn number(v: &Value) -> Result<u32, Problem> {
    let value = text(v)?;
    parse_count(&value).map_err(|reason| Problem::Invalid { value, reason })
}

pub(crate) fn millis(v: &Value) -> Result<Duration, Problem> {
    let value = text(v)?;
    match parse_count(&value) {
        Ok(ms) => Ok(Duration::from_millis(ms.into())),
        Err(_) => Err(Problem::Invalid {
            value,
            reason: format!("must be a whole number of milliseconds from 0 to {MAX_NUMBER}"),
        }),
    }
}

pub(crate) fn flag(v: &Value) -> Result<bool, Problem> {
    match text(v)?.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(Problem::Invalid {
            value: other.to_string(),
            reason: "expected true or false".into(),
        }),
    }
}

pub(crate) fn password(v: &Value) -> Result<String, Problem> {
    let value = text(v)?;
    if value.is_empty() {
        return Err(Problem::Invalid {
            value,
            reason: "a password cannot be empty (leave the key out for none)".into(),
        });
    }
    Ok(value)
}

pub(crate) fn list(v: &Value) -> Result<&[Value], Problem> {
    match v {
        Value::Sequence(items) => Ok(items),
        other => Err(Problem::WrongType {
            expected: "a list ('- item' lines)",
            found: kind(other),
        }),
    }
}

/// A scalar's text as written (quoted or not); errors for anything else.
pub(crate) fn text(v: &Value) -> Result<String, Problem> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(Problem::WrongType {
            expected: "a single value",
            found: kind(other),
        }),
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The known key within two edits of `key`, if any.
pub(crate) fn closest_key(key: &str) -> Option<&'static str> {
    POOL_KEYS
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.bytes().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_plain_digits_within_a_c_int() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("2147483647"), Ok(i32::MAX as u32));
        for bad in [
            "",
            "-1",
            "+1",
            "1.5",
            "0x10",
            "2147483648",
            "99999999999",
            " 1",
        ] {
            assert!(parse_count(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn suggestions_for_misspelled_keys() {
        assert_eq!(closest_key("hash_tags"), Some("hash_tag"));
        assert_eq!(closest_key("severs"), Some("servers"));
        assert_eq!(closest_key("timeout_ms"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn values_read_as_their_text() {
        let yaml = |src: &str| serde_yaml_ng::from_str::<Value>(src).unwrap();
        assert!(flag(&yaml("true")).unwrap());
        assert!(!flag(&yaml("'false'")).unwrap());
        assert!(flag(&yaml("yes")).is_err());
        assert_eq!(number(&yaml("'400'")).unwrap(), 400);
        assert_eq!(millis(&yaml("400")).unwrap(), Duration::from_millis(400));
        assert!(millis(&yaml("1.5")).is_err());
        assert_eq!(text(&yaml("12")).unwrap(), "12");
        let err = text(&yaml("[1]")).unwrap_err().to_string();
        assert_eq!(err, "expected a single value, found a list");
        assert!(password(&yaml("''")).is_err());
    }
}
