//! The packed blobs RDB embeds as strings: listpacks (written and read),
//! intsets (written and read), and the older ziplists and zipmaps (read only).
//!
//! Readers return the elements as bytes (integers in decimal, as Redis hands
//! them out) and treat every length and offset as untrusted: a malformed blob is
//! an error naming what is wrong, never a panic or an oversized allocation.

use bytes::Bytes;

use crate::engine::value::parse_canonical_int;

/// Builds a listpack, Redis's compact list of strings and integers.
#[derive(Debug)]
pub struct ListpackBuilder {
    buf: Vec<u8>,
    count: usize,
}

/// Header: total bytes (u32) and element count (u16).
const LP_HEADER: usize = 6;
const LP_END: u8 = 0xFF;

impl Default for ListpackBuilder {
    fn default() -> Self {
        ListpackBuilder::new()
    }
}

impl ListpackBuilder {
    /// An empty listpack.
    pub fn new() -> ListpackBuilder {
        ListpackBuilder {
            buf: vec![0; LP_HEADER],
            count: 0,
        }
    }

    /// Appends an element, as an integer when it is the canonical form of one.
    pub fn push(&mut self, element: &[u8]) {
        match parse_canonical_int(element) {
            Some(n) => self.push_int(n),
            None => self.push_str(element),
        }
    }

    /// Appends an integer element.
    pub fn push_int(&mut self, n: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        match n {
            0..=127 => b.push(n as u8),
            -4096..=4095 => {
                let u = (n as u16) & 0x1FFF;
                b.extend_from_slice(&[0xC0 | (u >> 8) as u8, u as u8]);
            }
            -32768..=32767 => {
                b.push(0xF1);
                b.extend_from_slice(&(n as i16).to_le_bytes());
            }
            -8_388_608..=8_388_607 => {
                b.push(0xF2);
                b.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
            }
            _ if i32::try_from(n).is_ok() => {
                b.push(0xF3);
                b.extend_from_slice(&(n as i32).to_le_bytes());
            }
            _ => {
                b.push(0xF4);
                b.extend_from_slice(&n.to_le_bytes());
            }
        }
        self.close_entry(start);
    }

    fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf
                .extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.close_entry(start);
    }

    /// Appends the back-length: the entry's size, 7 bits per byte, read from the
    /// end (the last byte holds the low bits; a set high bit means "more before").
    fn close_entry(&mut self, start: usize) {
        let mut len = self.buf.len() - start;
        let mut tail = [0u8; 5];
        let mut n = 0;
        loop {
            tail[n] = (len & 127) as u8 | if n > 0 { 128 } else { 0 };
            n += 1;
            len >>= 7;
            if len == 0 {
                break;
            }
        }
        self.buf.extend(tail[..n].iter().rev());
        self.count += 1;
    }

    /// Number of elements so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size in bytes the finished listpack will have.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(LP_END);
        let total = self.buf.len() as u32;
        let count = self.count.min(u16::MAX as usize) as u16;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// A bounds-checked cursor over a blob.
struct Cursor<'a> {
    blob: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.blob.len());
        let end = end.ok_or_else(|| format!("{what} runs past the end of its blob"))?;
        let bytes = &self.blob[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn int_le(&mut self, n: usize, what: &'static str) -> Result<i64, String> {
        let bytes = self.take(n, what)?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(bytes);
        let shift = 64 - 8 * n as u32;
        Ok(i64::from_le_bytes(buf) << shift >> shift)
    }
}

fn int_bytes(n: i64) -> Bytes {
    Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes())
}

/// Signed value of the low `bits` bits of `u`.
fn sign_extend(u: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((u << shift) as i64) >> shift
}

/// The elements of a listpack.
///
/// # Errors
/// A malformed listpack, described.
pub fn listpack_entries(blob: &[u8]) -> Result<Vec<Bytes>, String> {
    let mut c = Cursor { blob, at: 0 };
    let total = c.int_le(4, "listpack header")? as u32 as usize;
    if total != blob.len() {
        return Err(format!(
            "listpack declares {total} bytes but has {}",
            blob.len()
        ));
    }
    c.take(2, "listpack header")?;
    let mut out = Vec::new();
    loop {
        let start = c.at;
        let head = c.byte("listpack entry")?;
        let element = match head {
            LP_END => break,
            0x00..=0x7F => int_bytes(i64::from(head)),
            0x80..=0xBF => Bytes::copy_from_slice(c.take(usize::from(head & 0x3F), "string")?),
            0xC0..=0xDF => {
                let low = c.byte("13-bit integer")?;
                int_bytes(sign_extend(
                    u64::from(head & 0x1F) << 8 | u64::from(low),
                    13,
                ))
            }
            0xE0..=0xEF => {
                let len = usize::from(head & 0x0F) << 8 | usize::from(c.byte("string length")?);
                Bytes::copy_from_slice(c.take(len, "string")?)
            }
            0xF0 => {
                let len = c.int_le(4, "string length")? as u32 as usize;
                Bytes::copy_from_slice(c.take(len, "string")?)
            }
            0xF1..=0xF4 => {
                let width = [2, 3, 4, 8][usize::from(head - 0xF1)];
                int_bytes(c.int_le(width, "integer")?)
            }
            _ => return Err(format!("unknown listpack encoding 0x{head:02x}")),
        };
        let entry_len = c.at - start;
        c.take(backlen_size(entry_len), "listpack back-length")?;
        out.push(element);
    }
    if c.at != blob.len() {
        return Err("bytes after the listpack's end marker".into());
    }
    Ok(out)
}

fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// The elements of a ziplist (RDB before version 10).
///
/// # Errors
/// A malformed ziplist, described.
pub fn ziplist_entries(blob: &[u8]) -> Result<Vec<Bytes>, String> {
    let mut c = Cursor { blob, at: 0 };
    let total = c.int_le(4, "ziplist header")? as u32 as usize;
    if total != blob.len() {
        return Err(format!(
            "ziplist declares {total} bytes but has {}",
            blob.len()
        ));
    }
    c.take(6, "ziplist header")?;
    let mut out = Vec::new();
    loop {
        let prev = c.byte("ziplist entry")?;
        if prev == 0xFF {
            break;
        }
        if prev == 0xFE {
            c.take(4, "ziplist previous length")?;
        }
        let head = c.byte("ziplist encoding")?;
        let element = match head >> 6 {
            0 => Bytes::copy_from_slice(c.take(usize::from(head & 0x3F), "string")?),
            1 => {
                let len = usize::from(head & 0x3F) << 8 | usize::from(c.byte("string length")?);
                Bytes::copy_from_slice(c.take(len, "string")?)
            }
            2 => {
                let len =
                    u32::from_be_bytes(c.take(4, "string length")?.try_into().unwrap_or_default());
                Bytes::copy_from_slice(c.take(len as usize, "string")?)
            }
            _ => int_bytes(match head {
                0xC0 => c.int_le(2, "integer")?,
                0xD0 => c.int_le(4, "integer")?,
                0xE0 => c.int_le(8, "integer")?,
                0xF0 => c.int_le(3, "integer")?,
                0xFE => c.int_le(1, "integer")?,
                0xF1..=0xFD => i64::from(head & 0x0F) - 1,
                _ => return Err(format!("unknown ziplist encoding 0x{head:02x}")),
            }),
        };
        out.push(element);
    }
    if c.at != blob.len() {
        return Err("bytes after the ziplist's end marker".into());
    }
    Ok(out)
}

/// The field/value pairs of a zipmap (hashes in RDB version 2 and before).
///
/// # Errors
/// A malformed zipmap, described.
pub fn zipmap_entries(blob: &[u8]) -> Result<Vec<Bytes>, String> {
    let mut c = Cursor { blob, at: 0 };
    c.byte("zipmap header")?;
    let mut out = Vec::new();
    let len = |c: &mut Cursor<'_>| -> Result<Option<usize>, String> {
        match c.byte("zipmap length")? {
            0xFF => Ok(None),
            0xFE => Ok(Some(c.int_le(4, "zipmap length")? as u32 as usize)),
            n => Ok(Some(usize::from(n))),
        }
    };
    while let Some(key_len) = len(&mut c)? {
        out.push(Bytes::copy_from_slice(c.take(key_len, "zipmap key")?));
        let value_len = len(&mut c)?.ok_or("zipmap key without a value")?;
        let free = usize::from(c.byte("zipmap free byte")?);
        out.push(Bytes::copy_from_slice(c.take(value_len, "zipmap value")?));
        c.take(free, "zipmap free space")?;
    }
    Ok(out)
}

/// An intset: sorted integers of one width (2, 4 or 8 bytes).
pub fn intset(sorted: &[i64]) -> Vec<u8> {
    let (min, max) = (
        sorted.first().copied().unwrap_or(0),
        sorted.last().copied().unwrap_or(0),
    );
    let width: usize = if min >= i64::from(i16::MIN) && max <= i64::from(i16::MAX) {
        2
    } else if min >= i64::from(i32::MIN) && max <= i64::from(i32::MAX) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * sorted.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for n in sorted {
        out.extend_from_slice(&n.to_le_bytes()[..width]);
    }
    out
}

/// The members of an intset.
///
/// # Errors
/// A bad width, a length that disagrees with the blob, or unsorted members.
pub fn intset_members(blob: &[u8]) -> Result<Vec<i64>, String> {
    let mut c = Cursor { blob, at: 0 };
    let width = c.int_le(4, "intset header")? as usize;
    if ![2, 4, 8].contains(&width) {
        return Err(format!("intset width {width} is not 2, 4 or 8"));
    }
    let count = c.int_le(4, "intset header")? as u32 as usize;
    if count.checked_mul(width) != Some(blob.len() - 8) {
        return Err(format!(
            "intset of {count} members does not fit its {} bytes",
            blob.len()
        ));
    }
    let members: Vec<i64> = (0..count)
        .map(|_| c.int_le(width, "intset member"))
        .collect::<Result<_, _>>()?;
    if members.windows(2).any(|w| w[0] >= w[1]) {
        return Err("intset members are not sorted and unique".into());
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn listpack_round_trip_of_every_encoding() {
        let long = "x".repeat(5000);
        let mid = "y".repeat(300);
        let elements = [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-32768",
            "32767",
            "8388607",
            "-8388608",
            "2147483647",
            "-2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "",
            "a",
            "01",
            "1.5",
            &mid,
            &long,
        ];
        let mut lp = ListpackBuilder::new();
        for e in elements {
            lp.push(e.as_bytes());
        }
        let size = lp.bytes();
        let blob = lp.finish();
        assert_eq!(blob.len(), size);
        let back = listpack_entries(&blob).unwrap();
        assert_eq!(back, elements.iter().map(|e| b(e)).collect::<Vec<_>>());
    }

    #[test]
    fn small_listpack_matches_redis_bytes() {
        // RPUSH l a 1 -1, laid out as redis-server 7.0 does.
        let mut lp = ListpackBuilder::new();
        for e in ["a", "1", "-1"] {
            lp.push(e.as_bytes());
        }
        assert_eq!(
            lp.finish(),
            [15, 0, 0, 0, 3, 0, 0x81, b'a', 2, 1, 1, 0xDF, 0xFF, 2, 0xFF]
        );
    }

    #[test]
    fn intset_round_trip_and_widths() {
        for set in [
            vec![1, 2, 3],
            vec![-70000, 5],
            vec![i64::MIN, 0, i64::MAX],
            vec![],
        ] {
            assert_eq!(intset_members(&intset(&set)).unwrap(), set);
        }
        assert_eq!(intset(&[1]).len(), 10);
        assert!(intset_members(&[3, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(intset_members(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0]).is_err());
        // unsorted
    }

    #[test]
    fn ziplist_of_redis_3() {
        // RPUSH l aa 12 -2 300 as redis 3.2 stored it.
        let mut zl = vec![0, 0, 0, 0, 0, 0, 0, 0, 4, 0];
        zl.extend_from_slice(&[
            0, 2, b'a', b'a', 4, 0xFD, 2, 0xFE, 0xFE, 3, 0xC0, 0x2C, 0x01, 0xFF,
        ]);
        let len = zl.len() as u32;
        zl[..4].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            ziplist_entries(&zl).unwrap(),
            [b("aa"), b("12"), b("-2"), b("300")]
        );
    }

    proptest! {
        #[test]
        fn listpack_round_trip(elements in proptest::collection::vec(
            prop_oneof![any::<i64>().prop_map(|n| n.to_string().into_bytes()),
                        proptest::collection::vec(any::<u8>(), 0..200)], 0..50)) {
            let mut lp = ListpackBuilder::new();
            for e in &elements {
                lp.push(e);
            }
            let back = listpack_entries(&lp.finish()).unwrap();
            prop_assert_eq!(back.iter().map(|e| e.to_vec()).collect::<Vec<_>>(), elements);
        }

        #[test]
        fn readers_never_panic(blob in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = listpack_entries(&blob);
            let _ = ziplist_entries(&blob);
            let _ = zipmap_entries(&blob);
            let _ = intset_members(&blob);
        }
    }
}
