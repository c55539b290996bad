//! `import` of snapshot folders as the original's `db export` wrote them, built here from its
//! format: `manifest.json` {schema_version: 2, exported_at, files: [{path, sha256, records}]},
//! NDJSON data files, optional `MKENC1` || 24-byte nonce || XChaCha20-Poly1305 ciphertext (no
//! associated data), optional `manifest.sig` (HMAC-SHA256 hex of manifest.json, no newline)
//! and `manifest.security.json`.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use memory_kernel_store::{ImportOptions, ImportReport, SnapshotError, Store, StoreError};
use rusqlite::Connection;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::fixture::{FIXTURE_DB, FIXTURE_EXPECTED, FIXTURE_LIST, answer, fixture_copy, read_json};
use crate::support::{self, temp_db};

const SIGNING_KEY: [u8; 32] = [0x5a; 32];
const ENCRYPTION_KEY: [u8; 32] = [0xc3; 32];

/// The original's record lines: `memory list` printed its record JSON, newest first, so a
/// superseding version comes before the version it supersedes.
fn original_record_lines() -> Vec<String> {
    read_json(FIXTURE_LIST)["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect()
}

/// The original's package lines: each stored package JSON, as its export wrote them.
fn original_package_lines() -> Vec<String> {
    let conn = Connection::open(FIXTURE_DB).unwrap();
    let mut stmt = conn
        .prepare("SELECT package_json FROM context_packages ORDER BY context_package_id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn write_original_snapshot(
    dir: &Path,
    records: &[String],
    packages: &[String],
    signing: Option<&[u8; 32]>,
    encryption: Option<&[u8; 32]>,
) {
    std::fs::create_dir_all(dir).unwrap();
    let mut files = Vec::new();
    for (index, (path, lines)) in [
        ("memory_records.ndjson", records),
        ("context_packages.ndjson", packages),
    ]
    .into_iter()
    .enumerate()
    {
        let plaintext: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let bytes = match encryption {
            Some(key) => {
                let nonce = [u8::try_from(index).unwrap() + 1; 24];
                let ciphertext = XChaCha20Poly1305::new(key.into())
                    .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
                    .unwrap();
                [b"MKENC1".as_slice(), &nonce, &ciphertext].concat()
            }
            None => plaintext.into_bytes(),
        };
        std::fs::write(dir.join(path), &bytes).unwrap();
        files.push(serde_json::json!({
            "path": path,
            "sha256": hex::encode(Sha256::digest(&bytes)),
            "records": lines.len(),
        }));
    }
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "schema_version": 2,
        "exported_at": "2026-12-01T00:16:40.279121033Z",
        "files": files,
    }))
    .unwrap();
    std::fs::write(dir.join("manifest.json"), &manifest).unwrap();
    if let Some(key) = signing {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(&manifest);
        std::fs::write(
            dir.join("manifest.sig"),
            hex::encode(mac.finalize().into_bytes()),
        )
        .unwrap();
    }
    let security = serde_json::json!({
        "encrypted_files": if encryption.is_some() {
            vec!["memory_records.ndjson", "context_packages.ndjson"]
        } else {
            Vec::new()
        },
        "encryption_algorithm": encryption.map(|_| "xchacha20poly1305"),
        "signature_file": signing.map(|_| "manifest.sig"),
        "signature_algorithm": signing.map(|_| "hmac-sha256"),
    });
    std::fs::write(
        dir.join("manifest.security.json"),
        serde_json::to_vec_pretty(&security).unwrap(),
    )
    .unwrap();
}

fn keyed() -> ImportOptions {
    ImportOptions {
        verify_key: Some(SIGNING_KEY),
        decrypt_key: Some(ENCRYPTION_KEY),
        allow_unsigned: false,
        skip_existing: true,
    }
}

fn empty_store() -> (tempfile::TempDir, Store) {
    let (dir, path) = temp_db();
    let store = support::migrated_store(&path);
    (dir, store)
}

#[test]
fn an_original_signed_and_encrypted_snapshot_imports_as_the_database_migrates() {
    let folder = tempfile::tempdir().unwrap();
    let snapshot = folder.path().join("export");
    write_original_snapshot(
        &snapshot,
        &original_record_lines(),
        &original_package_lines(),
        Some(&SIGNING_KEY),
        Some(&ENCRYPTION_KEY),
    );
    let (_dir, store) = empty_store();
    let report = store.import(&snapshot, &keyed()).unwrap();
    assert_eq!(
        report,
        ImportReport {
            records_imported: 10,
            packages_imported: 4,
            ..ImportReport::default()
        }
    );

    // The same content as the original's database carried by migrate.
    let (_db_dir, db) = fixture_copy();
    let migrated = Store::open_existing(&db).unwrap();
    migrated.migrate(false).unwrap();
    assert_eq!(
        store.all_records().unwrap(),
        migrated.all_records().unwrap()
    );
    assert_eq!(
        store.all_context_packages().unwrap(),
        migrated.all_context_packages().unwrap()
    );
    let expected = read_json(FIXTURE_EXPECTED);
    for (name, case) in expected["answers_as_computed_by_upstream"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            answer(&store, name, &case["query"]),
            answer(&migrated, name, &case["query"]),
            "{name}"
        );
    }

    // Importing it again over the migrated database finds every item already stored.
    let again = migrated.import(&snapshot, &keyed()).unwrap();
    assert_eq!((again.records_skipped, again.packages_skipped), (10, 4));
    assert_eq!((again.records_imported, again.packages_imported), (0, 0));
}

#[test]
fn an_unsigned_original_snapshot_needs_allow_unsigned() {
    let folder = tempfile::tempdir().unwrap();
    let snapshot = folder.path().join("export");
    write_original_snapshot(
        &snapshot,
        &original_record_lines(),
        &original_package_lines(),
        None,
        None,
    );
    let (_dir, store) = empty_store();
    let strict = ImportOptions {
        allow_unsigned: false,
        ..ImportOptions::default()
    };
    assert!(matches!(
        store.import(&snapshot, &strict).unwrap_err(),
        StoreError::Snapshot(SnapshotError::UnsignedRefused)
    ));
    let lenient = ImportOptions {
        allow_unsigned: true,
        ..ImportOptions::default()
    };
    assert_eq!(
        store.import(&snapshot, &lenient).unwrap().records_imported,
        10
    );
}

/// How a refused snapshot was tampered with, and the error it must give.
struct Tamper {
    name: &'static str,
    apply: fn(&Path),
    options: ImportOptions,
    refused: fn(&StoreError) -> bool,
}

fn flip_last_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_tampered_original_snapshot_or_a_wrong_key_is_refused_and_nothing_is_written() {
    let cases = [
        Tamper {
            name: "flipped byte in an encrypted data file",
            apply: |dir| flip_last_byte(&dir.join("memory_records.ndjson")),
            options: keyed(),
            refused: |e| {
                matches!(
                    e,
                    StoreError::Snapshot(SnapshotError::DigestMismatch { .. })
                )
            },
        },
        Tamper {
            name: "flipped byte in the signed manifest",
            apply: |dir| {
                let path = dir.join("manifest.json");
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(&path, text.replace("\"records\": 10", "\"records\": 11")).unwrap();
            },
            options: keyed(),
            refused: |e| matches!(e, StoreError::Snapshot(SnapshotError::SignatureMismatch)),
        },
        Tamper {
            name: "signature removed",
            apply: |dir| std::fs::remove_file(dir.join("manifest.sig")).unwrap(),
            options: ImportOptions {
                allow_unsigned: true,
                ..keyed()
            },
            // Either refusal is right: a verify key demands a signature, and the sidecar
            // names the missing file.
            refused: |e| {
                matches!(e, StoreError::Snapshot(SnapshotError::SignatureMissing))
                    || matches!(
                        e,
                        StoreError::Snapshot(SnapshotError::MissingFile { name }) if name == "manifest.sig"
                    )
            },
        },
        Tamper {
            name: "wrong verify key",
            apply: |_| {},
            options: ImportOptions {
                verify_key: Some([0x11; 32]),
                ..keyed()
            },
            refused: |e| matches!(e, StoreError::Snapshot(SnapshotError::SignatureMismatch)),
        },
        Tamper {
            name: "wrong decrypt key",
            apply: |_| {},
            options: ImportOptions {
                decrypt_key: Some([0x22; 32]),
                ..keyed()
            },
            refused: |e| {
                matches!(
                    e,
                    StoreError::Snapshot(SnapshotError::DecryptionFailed { .. })
                )
            },
        },
        Tamper {
            name: "no decrypt key",
            apply: |_| {},
            options: ImportOptions {
                decrypt_key: None,
                ..keyed()
            },
            refused: |e| matches!(e, StoreError::Snapshot(SnapshotError::DecryptKeyRequired)),
        },
    ];
    for case in cases {
        let folder = tempfile::tempdir().unwrap();
        let snapshot = folder.path().join("export");
        write_original_snapshot(
            &snapshot,
            &original_record_lines(),
            &original_package_lines(),
            Some(&SIGNING_KEY),
            Some(&ENCRYPTION_KEY),
        );
        (case.apply)(&snapshot);
        let (_dir, store) = empty_store();
        let err = store.import(&snapshot, &case.options).unwrap_err();
        assert!((case.refused)(&err), "{}: {err:?}", case.name);
        assert!(store.all_records().unwrap().is_empty(), "{}", case.name);
        assert!(
            store.all_context_packages().unwrap().is_empty(),
            "{}",
            case.name
        );
    }
}

#[test]
fn a_flipped_ciphertext_byte_fails_authentication_even_with_a_matching_digest() {
    let folder = tempfile::tempdir().unwrap();
    let snapshot = folder.path().join("export");
    write_original_snapshot(
        &snapshot,
        &original_record_lines(),
        &original_package_lines(),
        None,
        Some(&ENCRYPTION_KEY),
    );
    let data = snapshot.join("context_packages.ndjson");
    let before = hex::encode(Sha256::digest(std::fs::read(&data).unwrap()));
    flip_last_byte(&data);
    let after = hex::encode(Sha256::digest(std::fs::read(&data).unwrap()));
    let manifest = snapshot.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace(&before, &after)).unwrap();

    let (_dir, store) = empty_store();
    let options = ImportOptions {
        allow_unsigned: true,
        verify_key: None,
        ..keyed()
    };
    let err = store.import(&snapshot, &options).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Snapshot(SnapshotError::DecryptionFailed { file }) if file == "context_packages.ndjson"
        ),
        "{err:?}"
    );
    assert!(store.all_records().unwrap().is_empty());
}

#[test]
fn an_original_snapshot_imports_whatever_order_its_lineage_is_in() {
    let lines = original_record_lines();
    // The original's import failed when a newer record superseded an older one. Here the
    // superseding version comes first, then last; and an older record also claims about a
    // newer one (its lists showed links written later, to records added after it).
    let usb_deny = "01M8QFBV8A1HYAGHWGC3T7NVVJ";
    let outage = "01M8QFBVZE59K3FTQBVT85Q8GJ";
    let lines: Vec<String> = lines
        .into_iter()
        .map(|line| {
            let mut record: Value = serde_json::from_str(&line).unwrap();
            if record["memory_version_id"] == usb_deny {
                record["contradicts"] = serde_json::json!([outage]);
            }
            serde_json::to_string(&record).unwrap()
        })
        .collect();
    let mut reversed = lines.clone();
    reversed.reverse();
    for (order, lines) in [("newest first", lines), ("oldest first", reversed)] {
        let folder = tempfile::tempdir().unwrap();
        let snapshot = folder.path().join("export");
        write_original_snapshot(&snapshot, &lines, &[], None, None);
        let (_dir, store) = empty_store();
        let options = ImportOptions {
            allow_unsigned: true,
            ..ImportOptions::default()
        };
        let report = store.import(&snapshot, &options).unwrap();
        assert_eq!(report.records_imported, 10, "{order}");
        let superseding = store
            .get_record("01M8QFBVXN5R3XHW2GFQ9P1B20".parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            superseding.supersedes,
            vec!["01M8QFBVG633WXHG53QVD3PSXQ".parse().unwrap()],
            "{order}"
        );
        let links = store.all_links().unwrap();
        assert_eq!(links.len(), 1, "{order}");
        assert_eq!(
            (links[0].from.to_string(), links[0].to.to_string()),
            (usb_deny.to_owned(), outage.to_owned()),
            "{order}: the claim about a newer record is kept as a link"
        );
        assert_eq!(links[0].writer, "security-team");
        assert_eq!(links[0].created_at.to_string(), "2026-01-05T09:00:00Z");
    }
}

#[test]
fn original_package_lines_are_accepted_in_three_shapes() {
    let lines = vec![
        r#"{"context_package_id":"cpkg_a","answer":{"result":"deny"}}"#.to_owned(),
        r#"{"context_package_id":"cpkg_b","generated_at":"2026-02-01T00:00:00Z","package_json":"{\"context_package_id\":\"cpkg_b\"}"}"#.to_owned(),
        r#"{"context_package_id":"cpkg_c","kind":"ask","package_json":"{\"context_package_id\":\"cpkg_c\"}"}"#.to_owned(),
    ];
    let folder = tempfile::tempdir().unwrap();
    let snapshot = folder.path().join("export");
    write_original_snapshot(&snapshot, &[], &lines, None, None);
    let (_dir, store) = empty_store();
    let options = ImportOptions {
        allow_unsigned: true,
        ..ImportOptions::default()
    };
    assert_eq!(
        store.import(&snapshot, &options).unwrap().packages_imported,
        3
    );
    let stored: Vec<(String, String, String)> = store
        .all_context_packages()
        .unwrap()
        .into_iter()
        .map(|p| (p.context_package_id, p.kind, p.package_json))
        .collect();
    assert_eq!(
        stored,
        vec![
            ("cpkg_a".into(), "upstream".into(), lines[0].clone()),
            (
                "cpkg_b".into(),
                "upstream".into(),
                r#"{"context_package_id":"cpkg_b"}"#.into()
            ),
            (
                "cpkg_c".into(),
                "ask".into(),
                r#"{"context_package_id":"cpkg_c"}"#.into()
            ),
        ]
    );

    let folder = tempfile::tempdir().unwrap();
    let snapshot = folder.path().join("export");
    write_original_snapshot(&snapshot, &[], &[r#"{"answer":{}}"#.to_owned()], None, None);
    assert!(matches!(
        store.import(&snapshot, &options).unwrap_err(),
        StoreError::Snapshot(SnapshotError::MalformedLine { line: 1, .. })
    ));
}
