//! The fixture tree: a temporary copy of the governed files, the real runtime truth, git
//! history for the cases that need it, and the helpers the mutations are written with.

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Value, json};
use tempfile::TempDir;
use xshell::{Shell, cmd};
use xtask::runtime::RuntimeTruth;

/// What the copy holds besides every generated artifact (`codegen::ARTIFACTS`) and the
/// normative docs the release evidence summary digests (`release_evidence::artifacts::
/// NORMATIVE_DOCS`): the contracts folder whole and the changelog.
pub(crate) const GOVERNED: [&str; 2] = ["contracts", "CHANGELOG.md"];

/// The tag the `contracts diff` cases compare with.
pub(crate) const BASE_TAG: &str = "v0.1.0";

pub(crate) fn truth() -> &'static RuntimeTruth {
    static TRUTH: OnceLock<RuntimeTruth> = OnceLock::new();
    TRUTH.get_or_init(|| {
        let sh = Shell::new().unwrap();
        sh.change_dir(xtask::project_root());
        RuntimeTruth::fetch(&sh).expect("the service binary prints its contract and OpenAPI")
    })
}

/// A temporary copy of the governed files.
pub(crate) fn fixture_tree() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = xtask::project_root();
    let artifacts = xtask::codegen::ARTIFACTS
        .iter()
        .map(|artifact| artifact.path);
    let docs = xtask::release_evidence::artifacts::NORMATIVE_DOCS;
    for path in GOVERNED.into_iter().chain(artifacts).chain(docs) {
        let from = root.join(path);
        if from.exists() {
            copy(&from, &dir.path().join(path));
        }
    }
    dir
}

pub(crate) fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(from, to).unwrap();
    }
}

/// Makes the tree a git repository with one commit, tagged [`BASE_TAG`].
pub(crate) fn git_base(root: &Path) {
    let sh = Shell::new().unwrap();
    sh.change_dir(root);
    cmd!(sh, "git init -q -b main").quiet().run().unwrap();
    cmd!(sh, "git add -A").quiet().run().unwrap();
    git_commit(&sh, "base");
    cmd!(sh, "git tag {BASE_TAG}").quiet().run().unwrap();
}

pub(crate) fn git_commit(sh: &Shell, message: &str) {
    cmd!(
        sh,
        "git -c user.name=fixture -c user.email=fixture@example.invalid -c commit.gpgsign=false commit -q -m {message}"
    )
    .quiet()
    .run()
    .unwrap();
}

// ---- mutation helpers -------------------------------------------------------------------

pub(crate) fn read(root: &Path, path: &str) -> String {
    fs::read_to_string(root.join(path)).unwrap()
}

pub(crate) fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, text).unwrap();
}

/// Replaces the first occurrence of `from`, which must be there.
pub(crate) fn replace(root: &Path, path: &str, from: &str, to: &str) {
    let text = read(root, path);
    assert!(text.contains(from), "{path} does not contain {from:?}");
    write(root, path, &text.replacen(from, to, 1));
}

pub(crate) fn edit_json(root: &Path, path: &str, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_str(&read(root, path)).unwrap();
    edit(&mut value);
    write(
        root,
        path,
        &(serde_json::to_string_pretty(&value).unwrap() + "\n"),
    );
}

pub(crate) fn edit_yaml(root: &Path, path: &str, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_norway::from_str(&read(root, path)).unwrap();
    edit(&mut value);
    write(root, path, &serde_norway::to_string(&value).unwrap());
}

pub(crate) fn changelog(root: &Path, line: &str) {
    let text = read(root, "CHANGELOG.md");
    write(root, "CHANGELOG.md", &format!("{text}- {line}\n"));
}

/// Copies the canonical pack to `mirrors/consumer-a/` and registers it.
pub(crate) fn mirror(root: &Path, commands: &[&str]) -> String {
    copy(&root.join(PACK), &root.join("mirrors/consumer-a"));
    register_mirror(root, "mirrors/consumer-a", commands);
    "mirrors/consumer-a".to_owned()
}

/// Where a case builds a consumer checkout.
pub(crate) const CONSUMER: &str = "consumer-a";

/// A consumer checkout pinned to the newest recorded release: its pin file and a copy of the
/// integration pack.
pub(crate) fn consumer(root: &Path) {
    use sha2::Digest;
    let release = xtask::release::newest(root).unwrap().unwrap();
    let manifest = fs::read(root.join(MANIFEST)).unwrap();
    copy(
        &root.join(PACK),
        &root.join(CONSUMER).join("vendor/memorykernel"),
    );
    let versions = &release.record.contracts;
    write(
        root,
        &format!("{CONSUMER}/{}", xtask::parity::PIN_FILE),
        &serde_json::to_string_pretty(&json!({
            "release": release.version,
            "commit_sha": release.record.commit_sha,
            "service_contract_version": versions.service,
            "api_contract_version": versions.api,
            "integration_baseline": versions.integration,
            "manifest_sha256": hex::encode(sha2::Sha256::digest(&manifest)),
            "pack_dir": "vendor/memorykernel",
        }))
        .unwrap(),
    );
}

pub(crate) fn register_mirror(root: &Path, path: &str, commands: &[&str]) {
    write(
        root,
        MIRRORS,
        &serde_json::to_string_pretty(&json!({"mirrors": [{
            "name": "consumer-a", "path": path, "consumer": "agent-a",
            "validation_commands": commands,
        }]}))
        .unwrap(),
    );
}

pub(crate) const PACK: &str = "contracts/integration/v1";
pub(crate) const MIRRORS: &str = "contracts/integration/mirrors.json";
pub(crate) const SOT: &str = "contracts/integration/v1/service-contract-source-of-truth.json";
pub(crate) const MANIFEST: &str = "contracts/integration/v1/producer-contract-manifest.json";
pub(crate) const OPENAPI: &str = "contracts/openapi/service.v3.yaml";
pub(crate) const CORRECTIONS: &str = xtask::contracts::corrections::CORRECTIONS_PATH;
pub(crate) const HANDOFF: &str = "docs/implementation/PRODUCER_RELEASE_HANDOFF_LATEST.json";
pub(crate) const SERVICE_DOC: &str = "docs/spec/service-contract.md";
pub(crate) const STATUS_DOC: &str = "docs/implementation/ACTIVE_RUNTIME_STATUS.md";
pub(crate) const TRUST: &str = "contracts/integration/v1/schemas/trust-gate-attachment.schema.json";
pub(crate) const PROPOSED: &str =
    "contracts/integration/v1/schemas/proposed-memory-write.schema.json";
pub(crate) const ENVELOPE: &str = "contracts/integration/v1/schemas/error-envelope.schema.json";

pub(crate) fn swap_first_codes(value: &mut Value) {
    value["error_code_enum"].as_array_mut().unwrap().swap(0, 1);
}

/// A commit of the tree's repository that is not an ancestor of its HEAD.
pub(crate) fn side_commit(root: &Path) -> String {
    let sh = Shell::new().unwrap();
    sh.change_dir(root);
    cmd!(sh, "git switch -q -c side").quiet().run().unwrap();
    write(root, "side.txt", "side\n");
    cmd!(sh, "git add side.txt").quiet().run().unwrap();
    git_commit(&sh, "side");
    let sha = cmd!(sh, "git rev-parse HEAD").quiet().read().unwrap();
    cmd!(sh, "git switch -q main").quiet().run().unwrap();
    sha
}
