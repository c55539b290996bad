//! The deterministic `.tar.gz` writer.
//!
//! Same entries, same mtime → same bytes, on every OS and from every checkout path
//! (docs/spec/release-evidence.md on `tar` and `flate2`): regular files only (no directory entries), sorted by path
//! bytes; each header built by hand as a GNU header with mode 0644 (or 0755 for a file git
//! records as executable), uid/gid 0, empty user and group names and the one given mtime; no
//! PAX records. A path longer than the 100-byte name field gets the GNU long-name record
//! (`././@LongLink`, itself fixed: mode 0644, mtime 0), which every tar reads. The gzip header
//! carries no file name, mtime 0 and OS 255 (unknown), at the fixed level [`GZIP_LEVEL`], with
//! the default (miniz_oxide) backend that Cargo.lock pins.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, Result, bail};
use flate2::{Compression, GzBuilder};
use tar::{Builder, EntryType, Header};

/// The gzip level: fixed, since another level gives other bytes.
pub const GZIP_LEVEL: u32 = 9;

/// One file of the tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the tarball, `/`-separated, relative.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// 0755 instead of 0644.
    pub executable: bool,
}

/// The uncompressed tar of `entries` (sorted here), every header dated `mtime` (Unix seconds).
///
/// # Errors
/// When two entries share a path, or a path is not a relative path without `..`.
pub fn tar(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut seen = BTreeSet::new();
    let mut builder = Builder::new(Vec::new());
    for entry in sorted {
        if !seen.insert(entry.path.as_str()) {
            bail!("two tarball entries are named {}", entry.path);
        }
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_size(entry.bytes.len() as u64);
        header.set_mode(if entry.executable { 0o755 } else { 0o644 });
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header
            .set_username("")
            .context("cannot clear the tar user name")?;
        header
            .set_groupname("")
            .context("cannot clear the tar group name")?;
        builder
            .append_data(&mut header, &entry.path, entry.bytes.as_slice())
            .with_context(|| format!("cannot add {} to the tarball", entry.path))?;
    }
    builder.into_inner().context("cannot finish the tarball")
}

/// `tar` bytes, gzipped with the fixed header and level.
///
/// # Errors
/// Never in practice (writes go to memory).
pub fn gzip(tar: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(GZIP_LEVEL));
    encoder.write_all(tar).context("cannot gzip the tarball")?;
    encoder.finish().context("cannot gzip the tarball")
}

/// [`tar()`] then [`gzip`].
///
/// # Errors
/// As [`tar()`].
pub fn tar_gz(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    gzip(&tar(entries, mtime)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, bytes: &[u8]) -> Entry {
        Entry {
            path: path.to_owned(),
            bytes: bytes.to_vec(),
            executable: false,
        }
    }

    #[test]
    fn order_of_input_does_not_matter() {
        let a = [entry("t/b", b"2"), entry("t/a", b"1")];
        let b = [entry("t/a", b"1"), entry("t/b", b"2")];
        assert_eq!(tar_gz(&a, 7).unwrap(), tar_gz(&b, 7).unwrap());
    }

    #[test]
    fn duplicates_are_refused() {
        let error = tar(&[entry("t/a", b"1"), entry("t/a", b"2")], 0).unwrap_err();
        assert!(error.to_string().contains("two tarball entries"), "{error}");
    }

    #[test]
    fn gzip_header_has_no_name_no_time_and_os_unknown() {
        let bytes = gzip(b"x").unwrap();
        // magic, CM=8, FLG=0 (no FNAME/FCOMMENT/FEXTRA), MTIME=0, XFL, OS=255.
        assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
        assert_eq!(bytes[9], 255);
    }

    #[test]
    fn long_paths_round_trip_and_headers_are_canonical() {
        let long = format!("top/{}/file.json", "d".repeat(120));
        let bytes = tar(&[entry(&long, b"{}"), entry("top/x", b"x")], 1_700_000_000).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for item in archive.entries().unwrap() {
            let item = item.unwrap();
            let header = item.header();
            assert_eq!(header.mode().unwrap(), 0o644);
            assert_eq!(header.uid().unwrap(), 0);
            assert_eq!(header.gid().unwrap(), 0);
            assert_eq!(header.mtime().unwrap(), 1_700_000_000);
            assert_eq!(header.username_bytes(), Some(&b""[..]));
            assert!(header.as_gnu().is_some());
            seen.push(String::from_utf8(item.path_bytes().into_owned()).unwrap());
        }
        assert_eq!(seen, [long, "top/x".to_owned()]);
    }
}
