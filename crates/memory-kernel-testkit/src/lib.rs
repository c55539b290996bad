//! Test support shared by the product crates' tests, used only as a dev-dependency: nothing
//! here ships in a product binary or appears in a product API.
//!
//! [`postgres`] gives each test its own PostgreSQL database on the server the environment
//! names (see `docs/testing/postgres.md`).

pub mod postgres;
