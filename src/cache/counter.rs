//! INCR and its kin on a write-back key: the cache adds to the latest value
//! itself and writes the sum as a SET would, so that the journal, the backend
//! and SQL see a value, never an operation (as the AOF logs INCRBYFLOAT).
//! The arithmetic and the error texts are the engine's, hence Redis's.

use bytes::Bytes;

use crate::engine::cmd::args::parse_i64;
use crate::engine::cmd::long_double::LongDouble;
use crate::engine::cmd::CmdError;
use crate::resp::Frame;

/// What to add, and how the command that asked for it words its errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Addend {
    by: Number,
    /// HINCRBY / HINCRBYFLOAT: their errors speak of a hash value.
    hash: bool,
}

#[derive(Debug, Clone, Copy)]
enum Number {
    Int(i64),
    Float(LongDouble),
}

impl Addend {
    /// INCRBY's or HINCRBY's increment (`negate`: DECRBY's decrement).
    pub(crate) fn int(arg: &[u8], negate: bool, hash: bool) -> Result<Addend, Frame> {
        let by = parse_i64(arg).ok_or_else(not_integer)?;
        let by = match negate {
            true => by
                .checked_neg()
                .ok_or_else(|| Frame::error("ERR decrement would overflow"))?,
            false => by,
        };
        Ok(Addend {
            by: Number::Int(by),
            hash,
        })
    }

    /// INCR (1) or DECR (-1).
    pub(crate) fn step(by: i64) -> Addend {
        Addend {
            by: Number::Int(by),
            hash: false,
        }
    }

    /// INCRBYFLOAT's or HINCRBYFLOAT's increment.
    pub(crate) fn float(arg: &[u8], hash: bool) -> Result<Addend, Frame> {
        let by = LongDouble::parse(arg).ok_or_else(|| CmdError::NotFloat.to_frame())?;
        if hash && !by.is_finite() {
            return Err(Frame::error("ERR value is NaN or Infinity"));
        }
        Ok(Addend {
            by: Number::Float(by),
            hash,
        })
    }

    /// The new value, as stored text, and the client's reply; `current` is
    /// the value now (`None`: no such key or field, counted as 0).
    ///
    /// # Errors
    /// The reply when `current` is not a number or the sum does not fit.
    pub(crate) fn add_to(&self, current: Option<&[u8]>) -> Result<(Bytes, Frame), Frame> {
        match self.by {
            Number::Int(by) => {
                let now = match current {
                    Some(text) => parse_i64(text).ok_or_else(|| self.not_a("an integer"))?,
                    None => 0,
                };
                let sum = now
                    .checked_add(by)
                    .ok_or_else(|| CmdError::Overflow.to_frame())?;
                let text = Bytes::copy_from_slice(itoa::Buffer::new().format(sum).as_bytes());
                Ok((text, Frame::Integer(sum)))
            }
            Number::Float(by) => {
                let now = match current {
                    Some(text) => LongDouble::parse(text).ok_or_else(|| self.not_a("a float"))?,
                    None => LongDouble::from_i64(0),
                };
                let sum = now.add(by);
                if !sum.is_finite() {
                    return Err(Frame::error("ERR increment would produce NaN or Infinity"));
                }
                let text = Bytes::from(sum.to_human());
                Ok((text.clone(), Frame::Bulk(text)))
            }
        }
    }

    /// The error for a current value that is not a number of `kind`.
    fn not_a(&self, kind: &str) -> Frame {
        match (self.hash, kind) {
            (true, _) => Frame::error(format!("ERR hash value is not {kind}")),
            (false, "a float") => CmdError::NotFloat.to_frame(),
            (false, _) => not_integer(),
        }
    }
}

fn not_integer() -> Frame {
    CmdError::NotInteger.to_frame()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: Result<(Bytes, Frame), Frame>) -> Result<String, String> {
        match r {
            Ok((v, _)) => Ok(String::from_utf8_lossy(&v).into_owned()),
            Err(Frame::Error(e)) => Err(String::from_utf8_lossy(&e).into_owned()),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn integers_add_as_redis_does() {
        assert_eq!(text(Addend::step(1).add_to(None)), Ok("1".into()));
        assert_eq!(text(Addend::step(-1).add_to(Some(b"10"))), Ok("9".into()));
        let by = Addend::int(b"-5", true, false).unwrap();
        assert_eq!(text(by.add_to(Some(b"1"))), Ok("6".into()));
        assert_eq!(
            text(Addend::step(1).add_to(Some(b"9223372036854775807"))),
            Err("ERR increment or decrement would overflow".into())
        );
        assert_eq!(
            text(Addend::step(1).add_to(Some(b" 1"))),
            Err("ERR value is not an integer or out of range".into())
        );
        let hash = Addend::int(b"2", false, true).unwrap();
        assert_eq!(
            text(hash.add_to(Some(b"x"))),
            Err("ERR hash value is not an integer".into())
        );
    }

    #[test]
    fn bad_increments_are_refused() {
        let err = |r: Result<Addend, Frame>| match r {
            Err(Frame::Error(e)) => String::from_utf8_lossy(&e).into_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err(Addend::int(b"1.5", false, false)),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(Addend::int(b"-9223372036854775808", true, false)),
            "ERR decrement would overflow"
        );
        assert_eq!(
            err(Addend::float(b"abc", false)),
            "ERR value is not a valid float"
        );
        assert_eq!(
            err(Addend::float(b"inf", true)),
            "ERR value is NaN or Infinity"
        );
    }

    #[test]
    fn floats_print_as_redis_does() {
        let by = Addend::float(b"0.1", false).unwrap();
        assert_eq!(text(by.add_to(Some(b"10.5"))), Ok("10.6".into()));
        assert_eq!(text(by.add_to(Some(b"0.2"))), Ok("0.3".into()));
        let inf = Addend::float(b"inf", false).unwrap();
        assert_eq!(
            text(inf.add_to(None)),
            Err("ERR increment would produce NaN or Infinity".into())
        );
        let hash = Addend::float(b"1", true).unwrap();
        assert_eq!(
            text(hash.add_to(Some(b"x"))),
            Err("ERR hash value is not a float".into())
        );
    }
}
