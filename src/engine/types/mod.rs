pub mod hll;
