//! The aggregate value types, each with its compact and its large encoding.

pub mod hash;
pub mod set;
pub mod zset;
