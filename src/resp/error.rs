//! Protocol errors: malformed or over-limit input. Each one ends the connection.

/// A violation of RESP or of a configured limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Placeholder until the decoder lands.
    #[error("{0}")]
    Other(String),
}
