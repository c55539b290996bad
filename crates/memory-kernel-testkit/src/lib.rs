//! Test support for MemoryKernel's crates, used only as a dev-dependency: nothing here ships in
//! a product build, and the product API carries no test-only feature or type.
//!
//! - [`schemas`]: every contract JSON Schema of the repository, registered by `$id`, so a
//!   surface's tests validate its output against the very files consumers pin.
//! - [`fault`]: fault injection through the API's general extension point,
//!   [`OperationInterceptor`](memory_kernel_api::OperationInterceptor): a test arms a delay or
//!   a failure for the next operation of a kernel and checks the degraded path.
//! - [`postgres`]: a PostgreSQL database per test on the server the environment names (see
//!   `docs/testing/postgres.md`).

pub mod fault;
pub mod postgres;
pub mod schemas;

pub use fault::{Fault, FaultInjector, FaultKind};
pub use schemas::{ContractSchemas, contracts_dir};
