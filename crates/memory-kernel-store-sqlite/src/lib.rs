//! MemoryKernel's embedded SQLite store: schema, forward-only migrations, append-only
//! persistence of records, links and context packages, snapshot export/import, online
//! backup/restore and integrity reports.
//!
//! It owns storage only: record validation and resolution live in `memory-kernel-core`, and
//! callers reach the store through `memory-kernel-api`, never directly.
