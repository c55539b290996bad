//! The contract facts that more than one part of MemoryKernel reads, written once: the SLO
//! policy document ([`slo`]), the runtime contract the service prints about itself
//! ([`runtime`]) and the loader of the contract JSON Schemas ([`schemas`]).
//!
//! The crate is pure data and parsing (serde, serde_json, thiserror only), so the surfaces and
//! `cargo xtask` can all depend on it. It compiles no JSON Schema: [`schemas::load`] returns
//! the parsed documents and each user builds its own validators.

pub mod runtime;
pub mod schemas;
pub mod slo;

pub use runtime::{EnvelopePolicy, RuntimeContract, RuntimeEndpoint, RuntimeErrorCode};
pub use schemas::{SchemaFile, SchemaLoadError};
pub use slo::{SloPolicy, SloPolicyError};
