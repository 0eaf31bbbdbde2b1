pub mod zset;
