//! Journal records and their framing: `len u32 | crc32 u32 | payload`,
//! little-endian, the CRC over the payload. A frame that is cut short, too
//! large or fails its CRC reads as `None`: the journal decides whether that is
//! a torn tail (cut) or damage (refused).

use bytes::Bytes;
use std::sync::Arc;

/// A record larger than this is damage, not data (Redis caps a value at 512 MB).
const MAX_RECORD_BYTES: usize = 1 << 30;

/// One journaled write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its place in the journal; also its version in SQL.
    pub seq: u64,
    /// The rule it belongs to (shared: every write of a rule names it).
    pub rule: Arc<str>,
    /// The Redis key.
    pub key: Bytes,
    /// The row is deleted before `fields` are set (DEL, or a whole-value SET).
    pub replace: bool,
    /// Column name → value.
    pub fields: Vec<(Bytes, Bytes)>,
}

impl Record {
    /// The record as journal bytes, framed.
    #[cfg(test)]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the record to `out`, framed: the header filled in once the
    /// payload is written, so that nothing is copied twice.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let fields: usize = self.fields.iter().map(|(n, v)| 8 + n.len() + v.len()).sum();
        let start = out.len();
        out.reserve(8 + 8 + 4 + self.rule.len() + 1 + 4 + self.key.len() + 4 + fields);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&self.seq.to_le_bytes());
        put(out, self.rule.as_bytes());
        out.push(u8::from(self.replace));
        put(out, &self.key);
        out.extend_from_slice(&(self.fields.len() as u32).to_le_bytes());
        for (name, value) in &self.fields {
            put(out, name);
            put(out, value);
        }
        let len = (out.len() - start - 8) as u32;
        let crc = crc32fast::hash(&out[start + 8..]);
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    /// Reads a payload (after its length and CRC were checked).
    fn decode(mut p: &[u8]) -> Option<Record> {
        let seq = u64::from_le_bytes(take(&mut p, 8)?.try_into().ok()?);
        let rule = Arc::from(std::str::from_utf8(get(&mut p)?).ok()?);
        let replace = take(&mut p, 1)?[0] == 1;
        let key = Bytes::copy_from_slice(get(&mut p)?);
        let n = u32::from_le_bytes(take(&mut p, 4)?.try_into().ok()?) as usize;
        let mut fields = Vec::with_capacity(n.min(p.len() / 8));
        for _ in 0..n {
            let name = Bytes::copy_from_slice(get(&mut p)?);
            fields.push((name, Bytes::copy_from_slice(get(&mut p)?)));
        }
        p.is_empty().then_some(Record {
            seq,
            rule,
            key,
            replace,
            fields,
        })
    }
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take<'a>(p: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if p.len() < n {
        return None;
    }
    let (head, rest) = p.split_at(n);
    *p = rest;
    Some(head)
}

fn get<'a>(p: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = u32::from_le_bytes(take(p, 4)?.try_into().ok()?) as usize;
    take(p, n)
}

/// The record framed at the start of `data`, and the bytes it takes.
pub(super) fn frame_at(data: &[u8]) -> Option<(Record, usize)> {
    let len = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(data.get(4..8)?.try_into().ok()?);
    if len > MAX_RECORD_BYTES {
        return None;
    }
    let payload = data.get(8..8 + len)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    Some((Record::decode(payload)?, 8 + len))
}
