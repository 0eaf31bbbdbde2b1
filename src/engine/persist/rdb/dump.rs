//! DUMP and RESTORE payloads: one value as an RDB file encodes it (its type
//! byte, then the value), followed by the RDB version in two little-endian
//! bytes and a CRC-64 of everything before, in eight. The same layout as
//! redis-server's, so a payload moves between the two either way.

use super::decode::MAX_VERSION;
use super::{Decoder, Encoder, CRC64, RDB_VERSION};
use crate::engine::value::{EncodingLimits, Value};

/// Bytes after the value: the version and the checksum.
const FOOTER: usize = 10;

/// Why a payload cannot be restored; each is one of Redis's error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Too short, from a newer RDB version, or a checksum that does not match.
    #[error("DUMP payload version or checksum are wrong")]
    Footer,
    /// The footer is right but the value cannot be decoded.
    #[error("Bad data format")]
    Format,
}

/// The payload DUMP answers for `value`.
pub fn dump(value: &Value, compress: bool, limits: &EncodingLimits) -> Vec<u8> {
    let mut enc = Encoder::new(compress, limits.clone());
    enc.value_with_type(value);
    let mut payload = enc.take();
    payload.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = CRC64.checksum(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    payload
}

/// The value a RESTORE payload holds, encoded as `limits` choose.
///
/// # Errors
/// The footer is wrong, or the bytes before it are not exactly one value.
pub fn restore(payload: &[u8], limits: EncodingLimits) -> Result<Value, PayloadError> {
    let Some(body_len) = payload.len().checked_sub(FOOTER) else {
        return Err(PayloadError::Footer);
    };
    let (body, footer) = payload.split_at(body_len);
    let version = u32::from(u16::from_le_bytes([footer[0], footer[1]]));
    let crc = u64::from_le_bytes(footer[2..].try_into().expect("eight bytes"));
    if version > MAX_VERSION || CRC64.checksum(&payload[..body_len + 2]) != crc {
        return Err(PayloadError::Footer);
    }
    let mut decoder = Decoder::bare(body, body.len() as u64, limits, version);
    match decoder.object() {
        Ok(Some(value)) if decoder.offset() == body.len() as u64 => Ok(value),
        _ => Err(PayloadError::Format),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::value::Str;
    use bytes::Bytes;

    fn limits() -> EncodingLimits {
        EncodingLimits::default()
    }

    #[test]
    fn a_string_payload_is_laid_out_as_redis_lays_it_out() {
        // redis-server 7.0: DUMP of "hello" is \x00\x05hello\x0a\x00 + CRC.
        let value = Value::Str(Str::Raw(Bytes::from_static(b"hello")));
        let payload = dump(&value, true, &limits());
        assert_eq!(&payload[..9], b"\x00\x05hello\x0a\x00");
        assert_eq!(payload.len(), 17);
        let back = restore(&payload, limits()).unwrap();
        assert_eq!(
            dump(&back, true, &limits()),
            payload,
            "round trip changes nothing"
        );
    }

    #[test]
    fn damaged_payloads_are_refused_with_redis_errors() {
        let value = Value::Str(Str::Int(42));
        let payload = dump(&value, true, &limits());
        assert_eq!(
            restore(&payload[..9], limits()).err(),
            Some(PayloadError::Footer)
        );
        assert_eq!(restore(b"", limits()).err(), Some(PayloadError::Footer));
        let mut flipped = payload.clone();
        flipped[1] ^= 1;
        assert_eq!(
            restore(&flipped, limits()).err(),
            Some(PayloadError::Footer)
        );
        let mut newer = payload[..payload.len() - 10].to_vec();
        newer.extend_from_slice(&99u16.to_le_bytes());
        let crc = CRC64.checksum(&newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(restore(&newer, limits()).err(), Some(PayloadError::Footer));
        // A right footer over bytes that are not one value.
        for body in [&b"\x63junk"[..], b"\x00\x05hel", b"\x00\x02hello"] {
            let mut bad = body.to_vec();
            bad.extend_from_slice(&10u16.to_le_bytes());
            let crc = CRC64.checksum(&bad);
            bad.extend_from_slice(&crc.to_le_bytes());
            assert_eq!(
                restore(&bad, limits()).err(),
                Some(PayloadError::Format),
                "{body:?}"
            );
        }
    }
}
