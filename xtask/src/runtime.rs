//! Runtime truth: what the service build actually serves, taken from the product binary.
//!
//! xtask depends on no product crate but the contract facts (`memory-kernel-contract`, whose
//! `RuntimeContract` reads the contract document). It runs `memory-kernel-service contract`
//! and `memory-kernel-service openapi` once per xtask process, and hands the two documents to
//! the pure checks as a [`RuntimeTruth`]. Tests build a `RuntimeTruth` in memory and never run
//! cargo from a check.
//!
//! The binary is run directly when it is provably current, and through `cargo run` (which
//! builds it) otherwise. Current means: cargo's own dep-info file beside it
//! (`memory-kernel-service.d`, which cargo rewrites each time it builds the binary or finds
//! it fresh) names this tree's `crates/memory-kernel-service/src/main.rs` (so a target
//! folder shared by several checkouts cannot hand over another checkout's build), and
//! neither any file it names nor any workspace `Cargo.toml` or `Cargo.lock` is newer than
//! that file: cargo last vouched for the binary after the last edit. Nothing is cached by
//! xtask: the check is made from the files every time, and anything it cannot read sends the
//! run through cargo. Starting cargo costs 0.3 to 0.9 s even when nothing is built; the
//! check costs a few milliseconds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow};
use memory_kernel_contract::RuntimeContract;
use serde_json::Value;
use xshell::{Shell, cmd};

use crate::cargo_program;

/// The two documents the service binary prints about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeTruth {
    /// `memory-kernel-service contract`: the runtime contract, JSON.
    pub contract_json: String,
    /// `memory-kernel-service openapi`: the OpenAPI 3.1 document, YAML.
    pub openapi_yaml: String,
}

impl RuntimeTruth {
    /// Runs the service binary (`cargo run -q -p memory-kernel-service -- contract|openapi`)
    /// in the shell's directory.
    ///
    /// # Errors
    /// When cargo cannot build or run the service.
    pub fn fetch(sh: &Shell) -> Result<Self> {
        let root = sh.current_dir();
        if let Some(binary) = current_binary(&root) {
            return Self::from_binary(&binary);
        }
        let run = |document: &str| -> Result<String> {
            let cargo = cargo_program();
            cmd!(sh, "{cargo} run -q -p memory-kernel-service -- {document}")
                .quiet()
                .read()
                .map(|mut text| {
                    // `read` trims the final newline; the documents end with one.
                    text.push('\n');
                    text
                })
                .with_context(|| {
                    format!(
                        "cannot get the runtime truth from `memory-kernel-service {document}`: \
                         fix the build error above, then re-run"
                    )
                })
        };
        Ok(Self {
            contract_json: run("contract")?,
            openapi_yaml: run("openapi")?,
        })
    }

    /// Runs a current service binary for both documents, side by side.
    fn from_binary(binary: &Path) -> Result<Self> {
        let run = |document: &'static str| {
            let binary = binary.to_path_buf();
            std::thread::spawn(move || -> Result<String> {
                let output = Command::new(&binary)
                    .arg(document)
                    .output()
                    .with_context(|| format!("cannot run {}", binary.display()))?;
                anyhow::ensure!(
                    output.status.success(),
                    "`memory-kernel-service {document}` failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                String::from_utf8(output.stdout)
                    .with_context(|| format!("`memory-kernel-service {document}` printed no UTF-8"))
            })
        };
        let join = |handle: std::thread::JoinHandle<Result<String>>| {
            handle
                .join()
                .map_err(|_| anyhow!("the thread running the service binary panicked"))?
        };
        let contract = run("contract");
        let openapi = run("openapi");
        Ok(Self {
            contract_json: join(contract)?,
            openapi_yaml: join(openapi)?,
        })
    }

    /// [`fetch`](Self::fetch), once per process: every governance gate of one `cargo xtask`
    /// run shares the same documents.
    ///
    /// # Errors
    /// When the first fetch failed (every later call reports the same failure).
    pub fn shared(sh: &Shell) -> Result<&'static Self> {
        static TRUTH: OnceLock<std::result::Result<RuntimeTruth, String>> = OnceLock::new();
        TRUTH
            .get_or_init(|| Self::fetch(sh).map_err(|error| format!("{error:#}")))
            .as_ref()
            .map_err(|message| anyhow!("{message}"))
    }

    /// The runtime contract, parsed.
    ///
    /// # Errors
    /// When the JSON does not have the runtime contract's shape.
    pub fn contract(&self) -> Result<RuntimeContract> {
        RuntimeContract::parse(&self.contract_json)
            .context("the runtime contract (`memory-kernel-service contract`) is not readable")
    }

    /// The OpenAPI document, parsed from YAML into a JSON value.
    ///
    /// # Errors
    /// When the YAML does not parse.
    pub fn openapi(&self) -> Result<Value> {
        serde_norway::from_str(&self.openapi_yaml)
            .context("the OpenAPI document (`memory-kernel-service openapi`) is not valid YAML")
    }
}

/// The service binary of the tree at `root` when it is current (see the module docs), else
/// `None` (the caller builds through cargo).
#[must_use]
pub fn current_binary(root: &Path) -> Option<PathBuf> {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    current_binary_in(root, &root.join(target))
}

/// [`current_binary`] with the target folder given.
fn current_binary_in(root: &Path, target: &Path) -> Option<PathBuf> {
    let debug = target.join("debug");
    let binary = debug.join(format!(
        "memory-kernel-service{}",
        std::env::consts::EXE_SUFFIX
    ));
    modified(&binary)?;
    let dep_info_path = debug.join("memory-kernel-service.d");
    let vouched = modified(&dep_info_path)?;
    let dep_info = fs::read_to_string(&dep_info_path).ok()?;
    let sources = dep_info_sources(&dep_info)?;
    let main = root.join("crates/memory-kernel-service/src/main.rs");
    if !sources.contains(&main) {
        return None;
    }
    let manifests = workspace_manifests(root)?;
    sources
        .iter()
        .chain(manifests.iter())
        .all(|file| modified(file).is_some_and(|time| time <= vouched))
        .then_some(binary)
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|meta| meta.modified()).ok()
}

/// The files a Makefile-style dep-info file makes its first target depend on (`\ ` is an
/// escaped space).
fn dep_info_sources(text: &str) -> Option<Vec<PathBuf>> {
    let line = text.lines().find(|line| !line.trim().is_empty())?;
    let (_, rest) = line.split_once(": ")?;
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        out.push(PathBuf::from(current));
    }
    (!out.is_empty()).then_some(out)
}

/// `Cargo.lock`, the root `Cargo.toml` and every `crates/*/Cargo.toml`: what the dep-info
/// file does not list but a build depends on.
fn workspace_manifests(root: &Path) -> Option<Vec<PathBuf>> {
    let mut out = vec![root.join("Cargo.lock"), root.join("Cargo.toml")];
    for entry in fs::read_dir(root.join("crates")).ok()? {
        out.push(entry.ok()?.path().join("Cargo.toml"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_its_sources_with_escaped_spaces() {
        let text = "/t/debug/mk: /a/src/main.rs /b\\ c/lib.rs\n\n/a/src/main.rs:\n";
        assert_eq!(
            dep_info_sources(text).unwrap(),
            [
                PathBuf::from("/a/src/main.rs"),
                PathBuf::from("/b c/lib.rs")
            ]
        );
        assert_eq!(dep_info_sources("garbage"), None);
    }

    #[test]
    fn a_binary_is_current_only_beside_a_dep_info_naming_this_tree_and_older_sources() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let main = root.join("crates/memory-kernel-service/src/main.rs");
        fs::create_dir_all(main.parent().unwrap()).unwrap();
        for file in [&main, &root.join("Cargo.toml"), &root.join("Cargo.lock")] {
            fs::write(file, "x").unwrap();
        }
        fs::write(root.join("crates/memory-kernel-service/Cargo.toml"), "x").unwrap();
        let debug = root.join("target/debug");
        fs::create_dir_all(&debug).unwrap();
        let binary = debug.join(format!(
            "memory-kernel-service{}",
            std::env::consts::EXE_SUFFIX
        ));
        let later = |path: &Path| {
            let file = fs::File::options().write(true).open(path).unwrap();
            file.set_modified(SystemTime::now() + std::time::Duration::from_secs(60))
                .unwrap();
        };
        fs::write(&binary, "bin").unwrap();
        let dep_info = debug.join("memory-kernel-service.d");
        fs::write(
            &dep_info,
            format!("{}: {}\n", binary.display(), main.display()),
        )
        .unwrap();
        later(&dep_info);
        assert_eq!(
            current_binary_in(root, &root.join("target")),
            Some(binary.clone())
        );
        // Another checkout's build.
        fs::write(
            &dep_info,
            format!("{}: /elsewhere/src/main.rs\n", binary.display()),
        )
        .unwrap();
        later(&dep_info);
        assert_eq!(current_binary_in(root, &root.join("target")), None);
        // A source edited after cargo last vouched for the binary.
        fs::write(
            &dep_info,
            format!("{}: {}\n", binary.display(), main.display()),
        )
        .unwrap();
        later(&dep_info);
        let edited = fs::File::options().write(true).open(&main).unwrap();
        edited
            .set_modified(SystemTime::now() + std::time::Duration::from_secs(120))
            .unwrap();
        assert_eq!(current_binary_in(root, &root.join("target")), None);
    }
}
