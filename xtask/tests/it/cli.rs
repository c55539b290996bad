//! The real `xtask` binary: root discovery from a sub-folder, the `verify` JSON report and
//! its usage errors. No test here runs the `test` gate, so `cargo test` never recurses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn xtask(current_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(current_dir)
        .output()
        .unwrap()
}

fn describe(output: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn tidy_passes_when_run_from_a_sub_folder() {
    let output = xtask(&repo_root().join("crates"), &["tidy"]);
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn verify_writes_a_json_report_listing_every_gate() {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("reports").join("verify.json");
    std::fs::create_dir(report_path.parent().unwrap()).unwrap();
    let output = xtask(
        &repo_root().join("crates"),
        &[
            "verify",
            "--skip",
            "fmt",
            "--skip",
            "clippy",
            "--skip",
            "test",
            "--json",
            report_path.to_str().unwrap(),
        ],
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();

    let gates = report["gates"].as_array().unwrap();
    let rows: Vec<(&str, &str)> = gates
        .iter()
        .map(|gate| {
            (
                gate["gate"].as_str().unwrap(),
                gate["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows[..4],
        [
            ("fmt", "skipped"),
            ("clippy", "skipped"),
            ("test", "skipped"),
            ("tidy", "passed")
        ],
        "{}",
        describe(&output)
    );
    // Every later gate ran and passed, except parity, which has no consumer to compare with
    // and says so (SKIP, never PASS); the governance gates are there, in order.
    assert!(
        rows[4..].iter().all(|(gate, status)| *status
            == if *gate == "parity" {
                "skipped"
            } else {
                "passed"
            }),
        "{}",
        describe(&output)
    );
    let names: Vec<&str> = rows.iter().map(|(name, _)| *name).collect();
    // Every gate of verify's table after the three cargo gates, in the table's order.
    let governance: Vec<&str> = xtask::verify::gate_list()
        .into_iter()
        .filter(|gate| !["fmt", "clippy", "test"].contains(gate))
        .collect();
    let positions: Vec<usize> = governance
        .iter()
        .map(|gate| names.iter().position(|name| name == gate).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{names:?}");
    for gate in gates {
        assert!(gate["duration_ms"].is_u64(), "{gate}");
        assert!(gate.get("message").is_some(), "{gate}");
    }
    assert_eq!(report["passed"], true);
    assert!(output.status.success(), "{}", describe(&output));

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("==> [4/{}] tidy", rows.len())),
        "{stdout}"
    );
    assert!(stdout.contains("<== tidy PASS"), "{stdout}");
}

#[test]
fn verify_rejects_an_unknown_gate_and_lists_the_valid_ones() {
    let output = xtask(repo_root(), &["verify", "--skip", "fmtt"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for gate in ["fmt", "clippy", "test", "tidy"] {
        assert!(stderr.contains(gate), "{stderr}");
    }
}
