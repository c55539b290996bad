//! MemoryKernel core: the typed, append-only memory record model, its validation rules, the
//! policy (`ask`) and recall resolvers, and context-package assembly.
//!
//! This crate performs no I/O. Every resolver is a pure function of a records snapshot and a
//! query, so identical inputs give byte-identical JSON. Persistence lives in
//! `memory-kernel-store-sqlite`; the stable application surface in `memory-kernel-api`.
