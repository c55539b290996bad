//! `cargo xtask`: MemoryKernel's gates and release steps in portable Rust.

fn main() {}
