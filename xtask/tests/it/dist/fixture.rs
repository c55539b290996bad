//! The fixture workspace, releases built from it, and helpers that edit a release directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use tempfile::TempDir;
use xshell::{Shell, cmd};
use xtask::dist::build::BinarySpec;
use xtask::dist::dsse::Envelope;
use xtask::dist::slsa::Statement;
use xtask::dist::{ENVELOPE_FILE, Plan, Release, build_release, write_release};
use xtask::release_evidence::artifacts::{self, sha256_hex};

/// The fixture's commit date: 2024-01-02T03:04:05Z.
pub(crate) const COMMIT_DATE: &str = "2024-01-02T03:04:05Z";
pub(crate) const COMMIT_EPOCH: u64 = 1_704_164_645;

const ROOT_MANIFEST: &str = r#"[workspace]
members = ["greeting"]

[package]
name = "hello"
version = "0.1.0"
edition = "2021"
license = "Apache-2.0"
publish = false

[dependencies]
greeting = { path = "greeting" }

# Line tables put the build folder into the binary: without the remapping, two checkouts at
# different paths give different bytes (the test checks that too).
[profile.release]
debug = "line-tables-only"
"#;

const GREETING_MANIFEST: &str = r#"[package]
name = "greeting"
version = "0.1.0"
edition = "2021"
license = "MIT OR Apache-2.0"
publish = false
"#;

const GREETING_LIB: &str = "//! The greeting.\n\n/// The greeting and the file it is in.\n\
#[inline(never)]\npub fn greeting() -> String {\n    format!(\"hello from {}\", file!())\n}\n";

const MAIN: &str = "fn main() {\n    println!(\"{}\", greeting::greeting());\n}\n";

/// A git repository holding a one-binary workspace (`hello`, with the path crate `greeting`
/// and no registry dependency), its `Cargo.lock`, and a copy of the real repository's
/// governed files (the contract pack is built from them); one commit at a fixed date.
pub(crate) fn source_repo() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for artifact in artifacts::collect(&xtask::project_root(), &BTreeMap::new()).unwrap() {
        let to = root.join(&artifact.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, &artifact.bytes).unwrap();
    }
    for (path, text) in [
        ("Cargo.toml", ROOT_MANIFEST),
        ("src/main.rs", MAIN),
        ("greeting/Cargo.toml", GREETING_MANIFEST),
        ("greeting/src/lib.rs", GREETING_LIB),
        (".gitignore", "/target\n"),
    ] {
        let to = root.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
    }
    let sh = Shell::new().unwrap();
    sh.change_dir(root);
    let cargo = xtask::cargo_program();
    cmd!(sh, "{cargo} generate-lockfile --offline --quiet")
        .quiet()
        .run()
        .unwrap();
    cmd!(sh, "git init -q -b main").quiet().run().unwrap();
    cmd!(sh, "git add -A").quiet().run().unwrap();
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

pub(crate) fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

pub(crate) fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[43; 32])
}

pub(crate) fn binaries() -> Vec<BinarySpec> {
    vec![BinarySpec {
        package: "hello".to_owned(),
        bin: "hello".to_owned(),
    }]
}

/// The release of the checkout at `root`, built in its own `target/dist`, signed with
/// `signing_key`.
pub(crate) fn release(root: &Path, signing_key: Option<SigningKey>) -> Release {
    build_release(
        root,
        &Plan {
            binaries: binaries(),
            target_dir: root.join("target").join("dist"),
            signing_key,
            gates: Vec::new(),
            source_date_epoch: None,
            quiet: true,
        },
    )
    .unwrap()
}

/// One clone of a fresh fixture, its signed release written to `<tmp>/release`.
pub(crate) struct Fixture {
    pub(crate) dir: TempDir,
    pub(crate) root: PathBuf,
    pub(crate) out: PathBuf,
    pub(crate) release: Release,
}

pub(crate) fn fixture() -> Fixture {
    let source = source_repo();
    let dir = tempfile::tempdir().unwrap();
    let root = clone(source.path(), &dir.path().join("clone"));
    let release = release(&root, Some(key()));
    let out = dir.path().join("release");
    write_release(&out, &release).unwrap();
    Fixture {
        dir,
        root,
        out,
        release,
    }
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub(crate) fn envelope(dir: &Path) -> Envelope {
    Envelope::parse(&std::fs::read(dir.join(ENVELOPE_FILE)).unwrap()).unwrap()
}

pub(crate) fn statement(dir: &Path) -> Statement {
    serde_json::from_slice(&envelope(dir).payload_bytes().unwrap()).unwrap()
}

pub(crate) fn write_envelope(dir: &Path, envelope: &Envelope) {
    std::fs::write(dir.join(ENVELOPE_FILE), envelope.render().unwrap()).unwrap();
}

/// Replaces file `name` of the release, updates its subject digest and signs the new
/// statement with `key`: what a pipeline that produced a bad file would publish.
pub(crate) fn replace_and_resign(dir: &Path, name: &str, bytes: &[u8], key: &SigningKey) {
    std::fs::write(dir.join(name), bytes).unwrap();
    let mut statement = statement(dir);
    let subject = statement
        .subject
        .iter_mut()
        .find(|s| s.name == name)
        .unwrap();
    subject
        .digest
        .insert("sha256".to_owned(), sha256_hex(bytes));
    let payload = serde_json::to_vec_pretty(&statement).unwrap();
    write_envelope(dir, &Envelope::signed(&payload, key));
}
