//! The aggregate value types, each with its compact and its large encoding.

pub mod hash;
pub mod hll;
pub mod set;
pub mod zset;
