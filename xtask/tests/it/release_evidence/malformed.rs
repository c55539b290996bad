//! The malformed bundles: one row per way a bundle can be broken, built from a good one.

use xtask::release_evidence::verify::{Limits, VerifyError};

use super::fixture::{Raw, TOP, edit_evidence, file, regular, resum, set_file};
use tar::EntryType;

pub(crate) type Mutation = fn(&mut Vec<Raw>);

pub(crate) struct Case {
    pub(crate) name: &'static str,
    /// Applied to the entries, then re-packed (`None`: `bytes` mutates the gzip instead).
    pub(crate) entries: Option<Mutation>,
    pub(crate) bytes: fn(&mut Vec<u8>),
    pub(crate) limits: Limits,
    pub(crate) expect: fn(&VerifyError) -> bool,
    pub(crate) message: &'static str,
}

pub(crate) const MANIFEST: &str = "contracts/integration/v1/producer-contract-manifest.json";

pub(crate) fn no_bytes(_: &mut Vec<u8>) {}

pub(crate) fn case(
    name: &'static str,
    entries: Mutation,
    expect: fn(&VerifyError) -> bool,
    message: &'static str,
) -> Case {
    Case {
        name,
        entries: Some(entries),
        bytes: no_bytes,
        limits: Limits::default(),
        expect,
        message,
    }
}

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "one changed byte in an artifact",
            |e| {
                let mut data = file(e, MANIFEST);
                data[10] ^= 1;
                set_file(e, MANIFEST, data);
            },
            |err| matches!(err, VerifyError::SumsMismatch { path, .. } if path == MANIFEST),
            "does not match SHA256SUMS",
        ),
        case(
            "a missing file",
            |e| e.retain(|r| !r.path.ends_with(MANIFEST.as_bytes())),
            |err| matches!(err, VerifyError::SumsMissingFile(path) if path == MANIFEST),
            "missing file: SHA256SUMS lists",
        ),
        case(
            "an extra file",
            |e| e.push(regular(&format!("{TOP}/extra.txt"), b"x\n")),
            |err| matches!(err, VerifyError::SumsUnlisted(path) if path == "extra.txt"),
            "extra file: extra.txt",
        ),
        case(
            "a path traversal entry",
            |e| e.push(regular("../x", b"x\n")),
            |err| matches!(err, VerifyError::PathTraversal(path) if path == "../x"),
            "`..` component",
        ),
        case(
            "a symlink entry",
            |e| {
                e.push(Raw {
                    link: Some("/etc/passwd"),
                    kind: EntryType::Symlink,
                    ..regular(&format!("{TOP}/link"), b"")
                });
            },
            |err| {
                matches!(
                    err,
                    VerifyError::Link {
                        kind: "symlink",
                        ..
                    }
                )
            },
            "is a symlink: links are refused",
        ),
        case(
            "a wrong digest in evidence.json",
            |e| {
                edit_evidence(e, |v| {
                    v["artifacts"][0]["sha256"] = serde_json::json!("0".repeat(64));
                });
                resum(e);
            },
            |err| matches!(err, VerifyError::ArtifactDigestMismatch { path, .. } if path == "CHANGELOG.md"),
            "evidence.json gives CHANGELOG.md sha256 0000",
        ),
        Case {
            name: "a truncated gzip",
            entries: None,
            bytes: |b| b.truncate(b.len() / 2),
            limits: Limits::default(),
            expect: |err| matches!(err, VerifyError::TruncatedGzip),
            message: "the gzip stream is truncated",
        },
        case(
            "an absolute path",
            |e| e.push(regular("/tmp/x", b"x\n")),
            |err| matches!(err, VerifyError::AbsolutePath(_)),
            "absolute path",
        ),
        case(
            "a duplicate entry",
            |e| {
                let copy = e[0].clone();
                e.push(copy);
            },
            |err| matches!(err, VerifyError::DuplicateEntry(_)),
            "appears twice",
        ),
        case(
            "an entry outside the top folder",
            |e| e.push(regular("elsewhere/x", b"x\n")),
            |err| matches!(err, VerifyError::OutsideTopFolder { .. }),
            "outside the single top folder",
        ),
        case(
            "a fifo",
            |e| {
                e.push(Raw {
                    kind: EntryType::Fifo,
                    ..regular(&format!("{TOP}/pipe"), b"")
                });
            },
            |err| matches!(err, VerifyError::SpecialFile { kind: "fifo", .. }),
            "special files are refused",
        ),
        case(
            "a directory entry",
            |e| {
                e.insert(
                    0,
                    Raw {
                        kind: EntryType::Directory,
                        ..regular(&format!("{TOP}/"), b"")
                    },
                );
            },
            |err| matches!(err, VerifyError::NotAFile { .. }),
            "not a regular file",
        ),
        case(
            "no evidence.json",
            |e| {
                e.retain(|r| !r.path.ends_with(b"/evidence.json"));
                resum(e);
            },
            |err| matches!(err, VerifyError::MissingBundleFile("evidence.json")),
            "has no evidence.json",
        ),
        case(
            "in-toto subjects that are not the artifacts",
            |e| {
                let mut value: serde_json::Value =
                    serde_json::from_slice(&file(e, "provenance.intoto.json")).unwrap();
                value["subject"].as_array_mut().unwrap().pop();
                set_file(
                    e,
                    "provenance.intoto.json",
                    serde_json::to_vec(&value).unwrap(),
                );
                resum(e);
            },
            |err| matches!(err, VerifyError::ProvenanceSubjects(_)),
            "in-toto subjects differ",
        ),
        Case {
            name: "bytes after the gzip stream",
            entries: None,
            bytes: |b| b.extend_from_slice(b"junk"),
            limits: Limits::default(),
            expect: |err| matches!(err, VerifyError::TrailingData(4)),
            message: "4 unexpected bytes follow",
        },
        Case {
            name: "not gzip at all",
            entries: None,
            bytes: |b| b[0] = b'P',
            limits: Limits::default(),
            expect: |err| matches!(err, VerifyError::NotGzip(_)),
            message: "not a gzip file",
        },
        Case {
            name: "a corrupt gzip checksum",
            entries: None,
            bytes: |b| {
                let crc = b.len() - 8;
                b[crc] ^= 0xff;
            },
            limits: Limits::default(),
            expect: |err| matches!(err, VerifyError::CorruptGzip(_)),
            message: "the gzip stream is corrupt",
        },
        Case {
            name: "an entry over the cap",
            entries: None,
            bytes: no_bytes,
            limits: Limits {
                entry: 64,
                ..Limits::default()
            },
            expect: |err| matches!(err, VerifyError::EntryTooLarge { .. }),
            message: "over the per-entry cap of 64",
        },
    ]
}
