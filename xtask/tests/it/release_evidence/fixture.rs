//! The fixture repository and the helpers that read, mutate and re-pack a bundle.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};
use tempfile::TempDir;
use xshell::{Shell, cmd};
use xtask::release_evidence::artifacts;
use xtask::release_evidence::bundle::{self, Inputs};
use xtask::release_evidence::document::{GateRun, GateStatus};

/// The fixture's commit date (and so every entry's mtime): 2024-01-02T03:04:05Z.
pub(crate) const COMMIT_DATE: &str = "2024-01-02T03:04:05Z";
pub(crate) const COMMIT_EPOCH: u64 = 1_704_164_645;
pub(crate) const TOP: &str = "memorykernel-evidence-v0.1.0";

/// A git repository holding a copy of the real governed files, one commit at a fixed date;
/// `CHANGELOG.md` is recorded as executable (mode 100755) to exercise the 0755 rule.
pub(crate) fn source_repo() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let real = xtask::project_root();
    for artifact in artifacts::collect(&real, &BTreeMap::new()).unwrap() {
        let to = dir.path().join(&artifact.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, &artifact.bytes).unwrap();
    }
    let sh = Shell::new().unwrap();
    sh.change_dir(dir.path());
    cmd!(sh, "git init -q -b main").quiet().run().unwrap();
    cmd!(sh, "git add -A").quiet().run().unwrap();
    cmd!(sh, "git update-index --chmod=+x CHANGELOG.md")
        .quiet()
        .run()
        .unwrap();
    cmd!(
        sh,
        "git -c user.name=fixture -c user.email=fixture@example.invalid -c commit.gpgsign=false commit -q -m fixture"
    )
    .env("GIT_AUTHOR_DATE", COMMIT_DATE)
    .env("GIT_COMMITTER_DATE", COMMIT_DATE)
    .quiet()
    .run()
    .unwrap();
    dir
}

pub(crate) fn clone(source: &Path, to: &Path) -> PathBuf {
    let sh = Shell::new().unwrap();
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    cmd!(sh, "git clone -q {source} {to}")
        .quiet()
        .run()
        .unwrap();
    to.to_path_buf()
}

pub(crate) fn inputs() -> Inputs {
    Inputs {
        gates: vec![
            GateRun {
                gate: "fmt".to_owned(),
                status: GateStatus::Skipped,
            },
            GateRun {
                gate: "tidy".to_owned(),
                status: GateStatus::Passed,
            },
        ],
        toolchain: "rustc 1.0.0 (fixture)".to_owned(),
        source_date_epoch: None,
    }
}

/// One clone of a fresh fixture, and the temp dir holding both.
pub(crate) fn fixture() -> (TempDir, PathBuf) {
    let source = source_repo();
    let dir = tempfile::tempdir().unwrap();
    let root = clone(source.path(), &dir.path().join("clone"));
    (dir, root)
}

// ---- reading and re-packing tarballs --------------------------------------------------------

#[derive(Clone)]
pub(crate) struct Raw {
    pub(crate) path: Vec<u8>,
    pub(crate) kind: EntryType,
    pub(crate) data: Vec<u8>,
    pub(crate) link: Option<&'static str>,
}

pub(crate) fn unpack(gz: &[u8]) -> Vec<Raw> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut tar)
        .unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            Raw {
                path: entry.path_bytes().into_owned(),
                kind: entry.header().entry_type(),
                data,
                link: None,
            }
        })
        .collect()
}

/// Writes the entries as given (names too: `../x` included), gzipped.
pub(crate) fn repack(entries: &[Raw]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for raw in entries {
        let mut header = Header::new_gnu();
        header.set_entry_type(raw.kind);
        header.set_size(raw.data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(COMMIT_EPOCH);
        if let Some(target) = raw.link {
            header.set_link_name(target).unwrap();
        }
        if raw.path.len() < 100 {
            header.as_gnu_mut().unwrap().name[..raw.path.len()].copy_from_slice(&raw.path);
            header.set_cksum();
            builder.append(&header, raw.data.as_slice()).unwrap();
        } else {
            let path = String::from_utf8(raw.path.clone()).unwrap();
            builder
                .append_data(&mut header, path, raw.data.as_slice())
                .unwrap();
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

pub(crate) fn file(entries: &[Raw], name: &str) -> Vec<u8> {
    let path = format!("{TOP}/{name}").into_bytes();
    entries
        .iter()
        .find(|e| e.path == path)
        .unwrap()
        .data
        .clone()
}

pub(crate) fn set_file(entries: &mut [Raw], name: &str, data: Vec<u8>) {
    let path = format!("{TOP}/{name}").into_bytes();
    entries.iter_mut().find(|e| e.path == path).unwrap().data = data;
}

pub(crate) fn regular(path: &str, data: &[u8]) -> Raw {
    Raw {
        path: path.as_bytes().to_vec(),
        kind: EntryType::Regular,
        data: data.to_vec(),
        link: None,
    }
}

/// Rewrites SHA256SUMS so it matches the (mutated) files again.
pub(crate) fn resum(entries: &mut [Raw]) {
    let prefix = format!("{TOP}/");
    let files: Vec<(String, Vec<u8>)> = entries
        .iter()
        .filter_map(|e| {
            let path = String::from_utf8(e.path.clone()).ok()?;
            let name = path.strip_prefix(&prefix)?.to_owned();
            (name != "SHA256SUMS").then(|| (name, e.data.clone()))
        })
        .collect();
    let sums = bundle::sha256sums(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    set_file(entries, "SHA256SUMS", sums.into_bytes());
}

pub(crate) fn edit_evidence(entries: &mut [Raw], edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_slice(&file(entries, "evidence.json")).unwrap();
    edit(&mut value);
    set_file(
        entries,
        "evidence.json",
        serde_json::to_vec_pretty(&value).unwrap(),
    );
}
