//! Command errors, rendered with Redis's exact texts.

use std::borrow::Cow;

use crate::resp::Frame;

/// Why a command failed. The connection carries on after any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    /// The key holds another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// An argument that must be an integer is not one (or overflows i64).
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// An argument that must be a float is not one.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// Unknown or misplaced options.
    #[error("ERR syntax error")]
    Syntax,
    /// The key does not exist where the command needs it.
    #[error("ERR no such key")]
    NoSuchKey,
    /// INCR and friends would leave the i64 range.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// Wrong number of arguments for a command or subcommand (its full name).
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// Any other error: the full text, code included (`ERR …`, `NOAUTH …`).
    #[error("{0}")]
    Msg(Cow<'static, str>),
}

impl CmdError {
    /// An error with a full text of its own.
    pub fn msg(text: impl Into<Cow<'static, str>>) -> CmdError {
        CmdError::Msg(text.into())
    }

    /// The error as a RESP reply.
    pub fn to_frame(&self) -> Frame {
        Frame::error(self.to_string())
    }
}

/// Result of a command handler.
pub type CmdResult = Result<Frame, CmdError>;
