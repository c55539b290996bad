//! Endpoint handlers, each: extract, call the API under the deadline, map into an envelope.
//! An endpoint's wire types (bodies and data the API does not define) live next to it.

pub mod context;
pub mod db;
pub mod memory;
pub mod outcome;
pub mod probes;
pub mod query;
