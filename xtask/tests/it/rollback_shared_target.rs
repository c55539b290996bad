//! A rehearsal with a shared `CARGO_TARGET_DIR` leaves the caller's `cargo xtask` working.
//!
//! A real build, of a small workspace whose `xtask` prints the project root compiled into
//! it: the caller builds it into a shared target folder, a rehearsal to an older commit
//! builds that commit's `xtask` with the real runner, and afterwards the caller's binary is
//! byte-for-byte the same and `cargo xtask` from the caller's checkout still answers with the
//! caller's root, not the removed worktree's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use xtask::boundaries::Governance;
use xtask::boundaries::governance::StepId;
use xtask::rollback::report::StepStatus;
use xtask::rollback::runner::{CargoXtask, RunResult, XtaskRunner};
use xtask::rollback::{self, Options};

fn run(dir: &Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> (i32, String) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

fn git(dir: &Path, args: &[&str]) {
    let mut full = vec![
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "tag.gpgsign=false",
    ];
    full.extend(args);
    let (code, output) = run(dir, "git", &full);
    assert_eq!(code, 0, "git {args:?}: {output}");
}

fn write(root: &Path, path: &str, contents: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// An `xtask` that prints `<label> <compiled-in root>`, exits 2 for `handoff` (a command it
/// lacks, as clap would) and 0 otherwise.
fn xtask_main(label: &str) -> String {
    format!(
        "fn main() {{\n    let first = std::env::args().nth(1).unwrap_or_default();\n    \
         println!(\"{label} {{}}\", env!(\"CARGO_MANIFEST_DIR\"));\n    \
         std::process::exit(if first == \"handoff\" {{ 2 }} else {{ 0 }});\n}}\n"
    )
}

/// A workspace with the `cargo xtask` alias, the real governance file, and two commits:
/// `v1` (xtask says "old") and HEAD (xtask says "new").
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for path in [
        "contracts/governance/boundaries.json",
        "contracts/governance/schemas/governance.schema.json",
    ] {
        write(root, path, &fs::read_to_string(real.join(path)).unwrap());
    }
    write(
        root,
        "Cargo.toml",
        "[workspace]\nmembers = [\"xtask\"]\nresolver = \"2\"\n",
    );
    write(
        root,
        ".cargo/config.toml",
        "[alias]\nxtask = \"run --quiet --package xtask --\"\n",
    );
    write(
        root,
        "xtask/Cargo.toml",
        "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(root, "xtask/src/main.rs", &xtask_main("old"));
    write(root, ".gitignore", "/target\n");
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "old"]);
    git(root, &["tag", "v1"]);
    write(root, "xtask/src/main.rs", &xtask_main("new"));
    git(root, &["commit", "-q", "-am", "new"]);
    dir
}

/// The real runner, except that the caller's own commands run the caller's built `xtask`
/// (the real runner runs the running binary, which in this test is the test itself).
struct Caller {
    real: CargoXtask,
    exe: PathBuf,
}

impl XtaskRunner for Caller {
    fn xtask(&self, checkout: &Path, args: &[String], capture: bool) -> Result<RunResult> {
        if checkout == self.real.current_root {
            let output = Command::new(&self.exe).args(args).output()?;
            return Ok(RunResult {
                code: output.status.code(),
                output: String::from_utf8_lossy(&output.stdout).into_owned(),
            });
        }
        self.real.xtask(checkout, args, capture)
    }

    fn build_mk(&self, checkout: &Path) -> Result<Option<PathBuf>> {
        self.real.build_mk(checkout)
    }

    fn mk(&self, binary: &Path, args: &[String]) -> Result<RunResult> {
        self.real.mk(binary, args)
    }
}

#[test]
fn after_a_rehearsal_with_a_shared_target_dir_the_callers_xtask_still_works() {
    let workspace = workspace();
    let root = workspace.path().canonicalize().unwrap();
    let shared = tempfile::tempdir().unwrap();
    let shared = shared.path();
    let cargo = xtask::cargo_program();

    // The caller builds its xtask into the shared folder.
    let status = Command::new(&cargo)
        .args(["build", "--quiet", "-p", "xtask"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", shared)
        .status()
        .unwrap();
    assert!(status.success());
    let exe = shared
        .join("debug")
        .join(format!("xtask{}", std::env::consts::EXE_SUFFIX));
    let before = fs::read(&exe).unwrap();
    let caller_says = format!("new {}", root.join("xtask").display());
    assert_eq!(run(&root, &exe, &["where"]).1.trim(), caller_says);

    let runner = Caller {
        real: CargoXtask {
            current_root: root.clone(),
            target_dir: rollback::rehearsal_target_dir(shared),
            current_target_dir: shared.to_path_buf(),
        },
        exe: exe.clone(),
    };
    let governance = Governance::load(&root).unwrap();
    let options = Options {
        reference: "v1".to_owned(),
        quick: true,
    };
    let report = rollback::rehearse(&root, &governance, &options, &runner).unwrap();
    assert!(report.passed, "{report:#?}");
    let gates = report
        .steps
        .iter()
        .find(|step| step.id == StepId::RunGates)
        .unwrap();
    assert_eq!(
        gates.status,
        StepStatus::Passed,
        "REF's xtask was built and run"
    );

    // REF's xtask went to the rehearsal's own folder, with the (now removed) worktree as its
    // root; the caller's binary is untouched and `cargo xtask` still answers as the caller.
    assert_eq!(
        fs::read(&exe).unwrap(),
        before,
        "the caller's xtask was replaced"
    );
    let rehearsal_exe = rollback::rehearsal_target_dir(shared)
        .join("debug")
        .join(format!("xtask{}", std::env::consts::EXE_SUFFIX));
    let (_, ref_says) = run(&root, &rehearsal_exe, &["where"]);
    assert!(ref_says.starts_with("old "), "{ref_says}");
    assert!(!ref_says.contains(&caller_says), "{ref_says}");
    let output = Command::new(&cargo)
        .args(["xtask", "where"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", shared)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        caller_says,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
