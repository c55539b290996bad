//! Whole-file writes that never leave a half-written file: the bytes go to a temporary file in
//! the destination's folder (same filesystem, so the rename is atomic) and replace the
//! destination only once complete.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use tempfile::NamedTempFile;

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// When the temporary file cannot be created, written or renamed; `path` is then untouched.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let context = || format!("cannot write {}", path.display());
    let mut file = NamedTempFile::new_in(dir).with_context(context)?;
    file.write_all(bytes).with_context(context)?;
    file.persist(path).with_context(context)?;
    Ok(())
}

/// Writes `value` as pretty JSON with a final newline to `path` atomically.
///
/// # Errors
/// As [`write`], or when `value` does not serialize.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .with_context(|| format!("cannot render {}", path.display()))?;
    text.push('\n');
    write(path, text.as_bytes())
}
