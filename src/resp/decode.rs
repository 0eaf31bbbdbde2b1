//! Incremental decoding (placeholder until the decoder lands).

/// Limits on what a peer may declare.
#[derive(Debug, Clone)]
pub struct Limits;

/// Incremental RESP decoder.
#[derive(Debug)]
pub struct Decoder;
