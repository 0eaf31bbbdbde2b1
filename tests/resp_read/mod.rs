//! Reading whole RESP values off a raw connection, whatever their size, for
//! tests that compare exact bytes of replies whose length is not known up front.
#![allow(dead_code)]

use crate::support::Raw;

/// Reads one complete RESP2/RESP3 value and returns its bytes as text.
pub(crate) async fn read_value(raw: &mut Raw) -> String {
    let mut out = String::new();
    let mut pending = 1u64;
    while pending > 0 {
        pending -= 1;
        let line = raw.read_line().await;
        let count = || -> i64 { line[1..line.len() - 2].parse().expect("a length") };
        match line.as_bytes()[0] {
            b'$' | b'=' | b'!' if count() >= 0 => {
                let body = raw.read_exact_len(count() as usize + 2).await;
                out.push_str(&line);
                out.push_str(&String::from_utf8_lossy(&body));
                continue;
            }
            b'*' | b'~' | b'>' if count() > 0 => pending += count() as u64,
            b'%' | b'|' if count() > 0 => pending += 2 * count() as u64,
            _ => {}
        }
        out.push_str(&line);
    }
    out
}
