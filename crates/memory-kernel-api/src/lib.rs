//! MemoryKernel's stable application API (`api.v1`): one `MemoryKernel` handle over the store,
//! with one typed error enum whose every variant maps to exactly one contract error code.
//!
//! The CLI and the HTTP service are thin surfaces over this crate; they never touch the store.
