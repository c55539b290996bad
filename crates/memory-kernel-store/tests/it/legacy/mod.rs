//! Files made by the original MemoryKernel: its database (carried whole by `migrate`) and its
//! snapshot folders (accepted by `import`). The database fixture was written by the original's
//! own binaries; its expected answers are the ones the original computed.

mod database;
mod fixture;
mod outcome;
mod snapshots;
