//! `cargo xtask dist` and the release-directory verifier, on a tiny fixture workspace.
//!
//! The fixture (see `fixture.rs`) is a git repository holding a one-binary workspace with no
//! registry dependency and a copy of the real governed files, committed at a fixed date and
//! cloned to temporary folders. Its release builds take a second or two, so the whole
//! mechanism is exercised here: reproducibility across checkout paths, the statement against
//! the in-toto and SLSA rules, the envelope against the DSSE rules, the SBOMs against the
//! CycloneDX 1.5 JSON schema, the signature round trip and every refusal of the verifier.
//! Nothing here writes to the real repository.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod fixture;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signature;
use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};
use xshell::{Shell, cmd};
use xtask::dist::build::BinarySpec;
use xtask::dist::dsse::{self, DsseError, Envelope};
use xtask::dist::graphs;
use xtask::dist::lockfile::Lock;
use xtask::dist::sbom::{self, SbomProblem};
use xtask::dist::verify::{Options, ReleaseError, Signing, verify_release};
use xtask::dist::{ENVELOPE_FILE, write_release};
use xtask::release_evidence::artifacts::sha256_hex;

use fixture::{
    COMMIT_EPOCH, clone, copy_dir, envelope, fixture, key, other_key, release, replace_and_resign,
    source_repo, statement, write_envelope,
};

fn bin_name() -> String {
    format!("bin/hello{}", std::env::consts::EXE_SUFFIX)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn options(repo: &Path) -> Options {
    Options {
        public_key: Some(key().verifying_key()),
        allow_unsigned: false,
        repo: repo.to_path_buf(),
        rebuild: None,
        quiet: true,
    }
}

fn rustc_vv() -> String {
    let sh = Shell::new().unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    format!(
        "{}\n",
        cmd!(sh, "{rustc} -vV").quiet().read().unwrap().trim_end()
    )
}

/// A plain `cargo build --release` of the checkout (no remapping), for contrast.
fn plain_build(root: &Path) -> Vec<u8> {
    let sh = Shell::new().unwrap();
    sh.change_dir(root);
    let cargo = xtask::cargo_program();
    let target = root.join("target").join("plain");
    cmd!(
        sh,
        "{cargo} build --release --locked --quiet --target-dir {target}"
    )
    .env_remove("CARGO_ENCODED_RUSTFLAGS")
    .env_remove("RUSTFLAGS")
    .quiet()
    .run()
    .unwrap();
    std::fs::read(
        target
            .join("release")
            .join(format!("hello{}", std::env::consts::EXE_SUFFIX)),
    )
    .unwrap()
}

// ---- reproducibility ------------------------------------------------------------------------

#[test]
fn two_checkouts_at_different_paths_give_identical_binaries_sboms_and_pack() {
    let source = source_repo();
    let dir = tempfile::tempdir().unwrap();
    let a = clone(source.path(), &dir.path().join("a"));
    let b = clone(
        source.path(),
        &dir.path().join("a much/longer path/to the second checkout"),
    );
    let (first, second) = (release(&a, None), release(&b, None));
    let paths: Vec<&str> = first.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            bin_name().as_str(),
            "memorykernel-evidence-v0.1.0.tar.gz",
            "sbom/hello.cdx.json"
        ]
    );
    for (one, two) in first.files.iter().zip(&second.files) {
        assert_eq!(one.path, two.path);
        assert!(
            one.bytes == two.bytes,
            "{} differs between checkouts",
            one.path
        );
    }
    assert_eq!(first.statement.subject, second.statement.subject);
    let parameters = &first
        .statement
        .predicate
        .build_definition
        .internal_parameters;
    assert_eq!(parameters.source_date_epoch, COMMIT_EPOCH);
    assert!(
        parameters
            .rustflags
            .iter()
            .all(|flag| !flag.contains(&*dir.path().to_string_lossy())),
        "{:?}",
        parameters.rustflags
    );
    let binary = &first.files[0].bytes;
    for root in [&a, &b] {
        assert!(!contains(binary, root.to_string_lossy().as_bytes()));
    }
    // The fixture does carry the checkout path without the remapping, so the equality above
    // is the remapping's doing.
    let (plain_a, plain_b) = (plain_build(&a), plain_build(&b));
    assert_ne!(plain_a, plain_b);
    assert!(contains(&plain_a, a.to_string_lossy().as_bytes()));
}

// ---- the documents against their specifications ---------------------------------------------

fn lower_hex(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn rfc3339_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 20
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

/// The in-toto Statement v1 rules: `_type`, a non-empty `subject` list of descriptors with a
/// name and a non-empty digest set of lowercase hex values, `predicateType` a URI, `predicate`
/// an object.
fn in_toto_v1_violations(statement: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if statement["_type"] != "https://in-toto.io/Statement/v1" {
        problems.push("_type".to_owned());
    }
    match statement["subject"].as_array() {
        Some(subjects) if !subjects.is_empty() => {
            for subject in subjects {
                if subject["name"].as_str().is_none_or(str::is_empty) {
                    problems.push(format!("subject without name: {subject}"));
                }
                match subject["digest"].as_object() {
                    Some(digest) if !digest.is_empty() => {
                        for (algorithm, value) in digest {
                            if !value.as_str().is_some_and(lower_hex) {
                                problems.push(format!("{algorithm} digest not lowercase hex"));
                            }
                        }
                    }
                    _ => problems.push(format!("subject without digest: {subject}")),
                }
            }
        }
        _ => problems.push("subject must be a non-empty list".to_owned()),
    }
    if !statement["predicateType"]
        .as_str()
        .is_some_and(|t| t.starts_with("https://"))
    {
        problems.push("predicateType".to_owned());
    }
    if !statement["predicate"].is_object() {
        problems.push("predicate".to_owned());
    }
    problems
}

/// The SLSA provenance v1 rules: `buildDefinition` with `buildType` (a URI),
/// `externalParameters` (an object) and `resolvedDependencies` (descriptors with a uri, a
/// digest or content); `runDetails` with `builder.id` (a URI) and timestamps in RFC 3339.
fn slsa_v1_violations(predicate: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let definition = &predicate["buildDefinition"];
    if !definition["buildType"]
        .as_str()
        .is_some_and(|t| t.starts_with("https://"))
    {
        problems.push("buildType".to_owned());
    }
    if !definition["externalParameters"].is_object() {
        problems.push("externalParameters".to_owned());
    }
    for dependency in definition["resolvedDependencies"]
        .as_array()
        .unwrap_or(&Vec::new())
    {
        if dependency.get("uri").is_none()
            && dependency.get("digest").is_none()
            && dependency.get("content").is_none()
        {
            problems.push(format!(
                "resolved dependency without uri/digest: {dependency}"
            ));
        }
    }
    let details = &predicate["runDetails"];
    if !details["builder"]["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("https://"))
    {
        problems.push("builder.id".to_owned());
    }
    for field in ["startedOn", "finishedOn"] {
        if !details["metadata"][field].as_str().is_some_and(rfc3339_utc) {
            problems.push(format!("metadata.{field}"));
        }
    }
    problems
}

fn cyclonedx_validator() -> Validator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cyclonedx-1.5");
    let load = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let schema = load("bom-1.5.SNAPSHOT.schema.json");
    let mut resources = Vec::new();
    for name in ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"] {
        let document = load(name);
        let id = document["$id"].as_str().unwrap().to_owned();
        resources.push((
            format!("http://cyclonedx.org/schema/{name}"),
            document.clone(),
        ));
        resources.push((id, document));
    }
    let registry = Registry::new()
        .draft(Draft::Draft7)
        .extend(resources)
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .with_registry(&registry)
        .build(&schema)
        .unwrap()
}

fn schema_errors(validator: &Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

#[test]
fn envelope_statement_and_sbom_follow_dsse_in_toto_slsa_and_cyclonedx() {
    let fixture = fixture();
    let out = &fixture.out;

    // DSSE: exactly payload, payloadType, signatures; base64 payload; each signature an
    // Ed25519 signature over PAE(payloadType, payload), computed here independently.
    let envelope: Value =
        serde_json::from_slice(&std::fs::read(out.join(ENVELOPE_FILE)).unwrap()).unwrap();
    let mut keys: Vec<&str> = envelope
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["payload", "payloadType", "signatures"]);
    let payload_type = envelope["payloadType"].as_str().unwrap();
    assert_eq!(payload_type, "application/vnd.in-toto+json");
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let signatures = envelope["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1);
    let mut pae = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    pae.extend_from_slice(&payload);
    let sig = STANDARD
        .decode(signatures[0]["sig"].as_str().unwrap())
        .unwrap();
    let signature = Signature::from_slice(&sig).unwrap();
    key()
        .verifying_key()
        .verify_strict(&pae, &signature)
        .unwrap();
    assert!(
        other_key()
            .verifying_key()
            .verify_strict(&pae, &signature)
            .is_err()
    );
    assert_eq!(signatures[0]["keyid"], dsse::keyid(&key().verifying_key()));

    // in-toto Statement v1 and SLSA provenance v1.
    let statement: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(in_toto_v1_violations(&statement), Vec::<String>::new());
    assert_eq!(statement["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(
        slsa_v1_violations(&statement["predicate"]),
        Vec::<String>::new()
    );
    // The controls: the checkers do refuse broken documents.
    let mut broken = statement.clone();
    broken["subject"][0]["digest"]["sha256"] = json!("ABC");
    broken["_type"] = json!("https://in-toto.io/Statement/v0.1");
    assert_eq!(in_toto_v1_violations(&broken).len(), 2);
    broken["predicate"]["runDetails"]["metadata"]["startedOn"] = json!("yesterday");
    assert_eq!(slsa_v1_violations(&broken["predicate"]).len(), 1);

    // Subjects: every release file, each digest that of the file.
    let subjects = statement["subject"].as_array().unwrap();
    let names: Vec<&str> = subjects
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            bin_name().as_str(),
            "memorykernel-evidence-v0.1.0.tar.gz",
            "sbom/hello.cdx.json"
        ]
    );
    for subject in subjects {
        let bytes = std::fs::read(out.join(subject["name"].as_str().unwrap())).unwrap();
        assert_eq!(subject["digest"]["sha256"], sha256_hex(&bytes));
    }

    // The predicate's content: commit, features, profile, Cargo.lock digest, rustc -vV.
    let sh = Shell::new().unwrap();
    let root = &fixture.root;
    let head = cmd!(sh, "git -C {root} rev-parse HEAD")
        .quiet()
        .read()
        .unwrap();
    let definition = &statement["predicate"]["buildDefinition"];
    let external = &definition["externalParameters"];
    assert_eq!(external["commit"], head.as_str());
    assert_eq!(external["profile"], "release");
    assert_eq!(external["features"], json!(["default"]));
    assert_eq!(external["tree_dirty"], false);
    let lock = sha256_hex(&std::fs::read(root.join("Cargo.lock")).unwrap());
    let dependencies = definition["resolvedDependencies"].as_array().unwrap();
    assert!(
        dependencies
            .iter()
            .any(|d| d["name"] == "Cargo.lock" && d["digest"]["sha256"] == lock.as_str())
    );
    assert!(
        dependencies
            .iter()
            .any(|d| d["digest"]["gitCommit"] == head.as_str())
    );
    assert_eq!(
        definition["internalParameters"]["rustc_version_verbose"],
        rustc_vv().as_str()
    );
    assert_eq!(
        definition["internalParameters"]["source_date_epoch"],
        COMMIT_EPOCH
    );

    // The SBOM: valid CycloneDX 1.5, the path crate listed with purl and license.
    let validator = cyclonedx_validator();
    let bom: Value =
        serde_json::from_slice(&std::fs::read(out.join("sbom/hello.cdx.json")).unwrap()).unwrap();
    assert_eq!(schema_errors(&validator, &bom), Vec::<String>::new());
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(
        bom["metadata"]["component"]["purl"],
        "pkg:cargo/hello@0.1.0"
    );
    assert_eq!(bom["metadata"]["component"]["type"], "application");
    assert_eq!(
        bom["components"],
        json!([{
            "type": "library",
            "bom-ref": "pkg:cargo/greeting@0.1.0",
            "name": "greeting",
            "version": "0.1.0",
            "scope": "required",
            "purl": "pkg:cargo/greeting@0.1.0",
            "licenses": [{"expression": "MIT OR Apache-2.0"}],
            "properties": [{"name": "memorykernel:workspace-member", "value": "true"}]
        }])
    );
    // The control: the schema does refuse a broken SBOM.
    let mut broken = bom.clone();
    broken["components"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    broken["bomFormat"] = json!("SPDX");
    assert!(schema_errors(&validator, &broken).len() >= 2);
}

#[test]
fn the_product_binaries_sboms_are_valid_and_carry_cargo_lock_checksums() {
    let root = xtask::project_root();
    let host = rustc_vv()
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap()
        .to_owned();
    let lock = Lock::read(&root).unwrap();
    let validator = cyclonedx_validator();
    let graphs = graphs(&root, &host, &BinarySpec::product()).unwrap();
    for (graph, (package, bin)) in graphs.iter().zip(xtask::dist::build::PRODUCT_BINARIES) {
        let bom = sbom::generate(graph, &lock);
        let value: Value = serde_json::from_slice(&bom.render().unwrap()).unwrap();
        assert_eq!(
            schema_errors(&validator, &value),
            Vec::<String>::new(),
            "{bin}"
        );
        assert_eq!(bom.metadata.component.name, package);
        assert_eq!(bom.components.len(), graph.crates.len());
        assert!(bom.components.len() > 20, "{bin}: {}", bom.components.len());
        for component in &bom.components {
            assert_eq!(
                component.purl,
                format!("pkg:cargo/{}@{}", component.name, component.version)
            );
            let source = component
                .properties
                .iter()
                .find(|p| p.name == sbom::SOURCE_PROPERTY)
                .map(|p| p.value.as_str());
            let locked = lock
                .find(&component.name, &component.version, source)
                .unwrap_or_else(|| panic!("{} not in Cargo.lock", component.purl));
            match &locked.checksum {
                Some(checksum) => {
                    assert_eq!(component.hashes.len(), 1, "{}", component.purl);
                    assert_eq!(component.hashes[0].alg, "SHA-256");
                    assert_eq!(&component.hashes[0].content, checksum);
                }
                None => assert!(component.hashes.is_empty(), "{}", component.purl),
            }
            assert!(
                !component.licenses.is_empty(),
                "{} has no license",
                component.purl
            );
        }
        // Our crates are listed as workspace members; the store reaches both binaries.
        let store = bom
            .components
            .iter()
            .find(|c| c.name == "memory-kernel-store")
            .unwrap();
        assert!(
            store
                .properties
                .iter()
                .any(|p| p.name == sbom::MEMBER_PROPERTY)
        );
        assert_eq!(store.scope.as_deref(), Some("required"));
        assert!(sbom::check(&bom, graph, &lock).is_empty());
    }
}

// ---- verification ---------------------------------------------------------------------------

#[test]
fn a_signed_release_verifies_and_rebuilds_byte_for_byte() {
    let fixture = fixture();
    let verified = verify_release(&fixture.out, &options(&fixture.root)).unwrap();
    assert_eq!(
        verified.signing,
        Signing::Verified(dsse::keyid(&key().verifying_key()))
    );
    assert_eq!(verified.statement, fixture.release.statement);
    let rebuilt = verify_release(
        &fixture.out,
        &Options {
            rebuild: Some(fixture.dir.path().join("rebuild-target")),
            ..options(&fixture.root)
        },
    )
    .unwrap();
    assert!(rebuilt.rebuilt);

    // A release without a signature passes only with --allow-unsigned, and says so.
    let unsigned = fixture.dir.path().join("unsigned");
    write_release(&unsigned, &release(&fixture.root, None)).unwrap();
    let verified = verify_release(
        &unsigned,
        &Options {
            allow_unsigned: true,
            ..options(&fixture.root)
        },
    )
    .unwrap();
    assert_eq!(verified.signing, Signing::UnsignedAllowed);
    let line = verified.signing.describe();
    assert!(
        line.contains("UNSIGNED") && line.contains("--allow-unsigned"),
        "{line}"
    );
    let errors = verify_release(&unsigned, &options(&fixture.root))
        .unwrap_err()
        .0;
    assert_eq!(errors, [ReleaseError::Envelope(DsseError::Unsigned)]);
}

struct Row {
    name: &'static str,
    edit: fn(&Path),
    options: fn(&mut Options),
    expect: fn(&ReleaseError) -> bool,
    message: &'static str,
}

fn keep(_: &mut Options) {}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "binary swapped",
            edit: |dir| {
                std::fs::write(dir.join(bin_name()), b"\x7fELF not the built binary").unwrap()
            },
            options: keep,
            expect: |e| matches!(e, ReleaseError::SubjectDigest { name, .. } if *name == bin_name()),
            message: "was replaced or changed after the release was built",
        },
        Row {
            name: "SBOM missing a crate present in Cargo.lock (re-signed)",
            edit: |dir| {
                let path = dir.join("sbom/hello.cdx.json");
                let mut bom: Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                bom["components"] = json!([]);
                let bytes = serde_json::to_vec_pretty(&bom).unwrap();
                replace_and_resign(dir, "sbom/hello.cdx.json", &bytes, &key());
            },
            options: keep,
            expect: |e| {
                matches!(
                    e,
                    ReleaseError::Sbom { problem: SbomProblem::MissingCrate(key), .. }
                        if key == "greeting@0.1.0"
                )
            },
            message: "lacks crate greeting@0.1.0, which Cargo.lock resolves",
        },
        Row {
            name: "signature by another key",
            edit: |dir| {
                let payload = envelope(dir).payload_bytes().unwrap();
                write_envelope(dir, &Envelope::signed(&payload, &other_key()));
            },
            options: keep,
            expect: |e| matches!(e, ReleaseError::Envelope(DsseError::BadSignature { .. })),
            message: "none of the envelope's 1 signature(s) verifies",
        },
        Row {
            name: "envelope payload edited",
            edit: |dir| {
                let mut envelope = envelope(dir);
                let mut statement = statement(dir);
                statement
                    .predicate
                    .build_definition
                    .external_parameters
                    .commit = "0".repeat(40);
                envelope.payload = STANDARD.encode(serde_json::to_vec_pretty(&statement).unwrap());
                write_envelope(dir, &envelope);
            },
            options: keep,
            expect: |e| matches!(e, ReleaseError::Envelope(DsseError::BadSignature { .. })),
            message: "the payload was changed after signing",
        },
        Row {
            name: "unsigned bundle without --allow-unsigned",
            edit: |dir| {
                let mut envelope = envelope(dir);
                envelope.signatures.clear();
                write_envelope(dir, &envelope);
            },
            options: keep,
            expect: |e| matches!(e, ReleaseError::Envelope(DsseError::Unsigned)),
            message: "the release is unsigned (pass --allow-unsigned",
        },
        Row {
            name: "signed, but no public key given",
            edit: |_| {},
            options: |o| o.public_key = None,
            expect: |e| matches!(e, ReleaseError::NoPublicKey),
            message: "no --public-key was given",
        },
        Row {
            name: "a file that is not a subject",
            edit: |dir| std::fs::write(dir.join("bin/helper"), b"extra").unwrap(),
            options: keep,
            expect: |e| matches!(e, ReleaseError::Unlisted(name) if name == "bin/helper"),
            message: "is not a subject of the provenance",
        },
        Row {
            name: "a subject missing",
            edit: |dir| std::fs::remove_file(dir.join("sbom/hello.cdx.json")).unwrap(),
            options: keep,
            expect: |e| matches!(e, ReleaseError::SubjectMissing(name) if name == "sbom/hello.cdx.json"),
            message: "is missing from the release directory",
        },
        Row {
            name: "contract pack corrupted (re-signed)",
            edit: |dir| {
                let name = "memorykernel-evidence-v0.1.0.tar.gz";
                let mut bytes = std::fs::read(dir.join(name)).unwrap();
                bytes.truncate(bytes.len() / 2);
                replace_and_resign(dir, name, &bytes, &key());
            },
            options: keep,
            expect: |e| matches!(e, ReleaseError::ContractPack(_)),
            message: "the contract pack: the bundle failed verification",
        },
        Row {
            name: "unsafe subject name (re-signed)",
            edit: |dir| {
                let mut statement = statement(dir);
                statement.subject[0].name = "../outside".to_owned();
                let payload = serde_json::to_vec_pretty(&statement).unwrap();
                write_envelope(dir, &Envelope::signed(&payload, &key()));
            },
            options: keep,
            expect: |e| matches!(e, ReleaseError::UnsafeSubjectName(_)),
            message: "is not a plain relative path",
        },
        Row {
            name: "another predicate type (re-signed)",
            edit: |dir| {
                let mut statement = statement(dir);
                statement.predicate_type = "https://slsa.dev/provenance/v0.2".to_owned();
                let payload = serde_json::to_vec_pretty(&statement).unwrap();
                write_envelope(dir, &Envelope::signed(&payload, &key()));
            },
            options: keep,
            expect: |e| matches!(e, ReleaseError::Statement(_)),
            message: "predicateType is",
        },
    ]
}

#[test]
fn every_tampered_release_is_refused_with_its_own_message() {
    let fixture = fixture();
    let mut failures = Vec::new();
    for (index, row) in rows().into_iter().enumerate() {
        let dir = fixture.dir.path().join(format!("row-{index}"));
        copy_dir(&fixture.out, &dir);
        (row.edit)(&dir);
        let mut options = options(&fixture.root);
        (row.options)(&mut options);
        match verify_release(&dir, &options) {
            Ok(_) => failures.push(format!("{}: passed", row.name)),
            Err(failure) => {
                let found = failure.0.iter().find(|e| (row.expect)(e));
                match found {
                    Some(error) if error.to_string().contains(row.message) => {}
                    _ => failures.push(format!(
                        "{}: wanted {:?}, got:\n{failure}",
                        row.name, row.message
                    )),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn another_lock_file_and_a_rebuild_at_another_commit_are_refused() {
    let fixture = fixture();
    let lock_path = fixture.root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    std::fs::write(&lock_path, format!("{lock}# edited\n")).unwrap();
    let errors = verify_release(&fixture.out, &options(&fixture.root))
        .unwrap_err()
        .0;
    assert!(
        matches!(errors.as_slice(), [ReleaseError::LockMismatch { .. }]),
        "{errors:?}"
    );
    std::fs::write(&lock_path, lock).unwrap();

    let sh = Shell::new().unwrap();
    let root = &fixture.root;
    cmd!(
        sh,
        "git -C {root} -c user.name=fixture -c user.email=fixture@example.invalid -c commit.gpgsign=false commit -q --allow-empty -m later"
    )
    .quiet()
    .run()
    .unwrap();
    let errors = verify_release(
        &fixture.out,
        &Options {
            rebuild: Some(fixture.dir.path().join("rebuild-target")),
            ..options(&fixture.root)
        },
    )
    .unwrap_err()
    .0;
    assert!(
        matches!(errors.as_slice(), [ReleaseError::RebuildSource { .. }]),
        "{errors:?}"
    );
}

#[test]
fn a_release_is_written_whole_into_a_new_or_empty_folder_only() {
    let fixture = fixture();
    let busy = fixture.dir.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("old.txt"), "old").unwrap();
    let error = write_release(&busy, &fixture.release)
        .unwrap_err()
        .to_string();
    assert!(error.contains("is not empty"), "{error}");
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);
    let empty = fixture.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    write_release(&empty, &fixture.release).unwrap();
    verify_release(&empty, &options(&fixture.root)).unwrap();
    // No staging folder is left beside the releases.
    let leftovers: Vec<String> = std::fs::read_dir(fixture.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".dist-"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(empty.join(bin_name()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }
}

// ---- the command line -------------------------------------------------------------------------

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn keygen_and_verify_on_the_command_line() {
    let fixture = fixture();
    let keys = fixture.dir.path().join("keys");
    let keys_arg = keys.to_string_lossy().into_owned();
    let output = xtask(&["release-evidence", "keygen", "--out", &keys_arg]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let public = keys.join(dsse::PUBLIC_KEY_FILE);
    let keyid = dsse::keyid(&dsse::read_public_key(&public).unwrap());
    assert!(stdout.contains(&keyid), "{stdout}");
    dsse::read_signing_key(&keys.join(dsse::PRIVATE_KEY_FILE)).unwrap();
    // A second run never replaces the pair.
    assert!(
        !xtask(&["release-evidence", "keygen", "--out", &keys_arg])
            .status
            .success()
    );

    // The fixture's release, checked from the real repository: the new key did not sign it,
    // and this checkout's Cargo.lock is not the fixture's; both are reported.
    let out = fixture.out.to_string_lossy().into_owned();
    let public_arg = public.to_string_lossy().into_owned();
    let output = xtask(&[
        "release-evidence",
        "verify",
        &out,
        "--public-key",
        &public_arg,
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("none of the envelope's 1 signature(s) verifies"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the release was built from a Cargo.lock"),
        "{stderr}"
    );
    // Without a key the signed release is refused unless --allow-unsigned.
    let output = xtask(&["release-evidence", "verify", &out]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no --public-key was given"));
    // Tarball-only and directory-only flags are not mixed up.
    let pack = fixture.out.join("memorykernel-evidence-v0.1.0.tar.gz");
    let output = xtask(&[
        "release-evidence",
        "verify",
        &pack.to_string_lossy(),
        "--allow-unsigned",
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("apply to a release directory"));
}
