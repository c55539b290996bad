//! Conventional configuration: flags that name a resource read an `MK_*` environment variable
//! (a flag still wins), `--help` names the variables, and `mk completions SHELL` prints a
//! completion script for each supported shell.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use crate::support::{self, Mk, assert_failure};

fn mk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mk"));
    command.env_remove("MK_DB");
    command
}

#[test]
fn mk_db_names_the_database_unless_db_is_given() {
    let chosen = Mk::migrated();
    let output = mk()
        .env("MK_DB", chosen.db())
        .args(["db", "schema-version"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A flag wins over the variable: the missing file is reported, not the migrated one.
    let other = chosen.dir().join("absent.sqlite3");
    let output = mk()
        .env("MK_DB", chosen.db())
        .arg("--db")
        .arg(&other)
        .args(["db", "schema-version"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("absent.sqlite3"), "{stderr}");
    assert!(stderr.contains("schema_unavailable"), "{stderr}");
}

#[test]
fn help_names_the_environment_variables() {
    let help = |args: &[&str]| {
        let output = mk().args(args).output().unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(help(&["--help"]).contains("[env: MK_DB="));
    let diagnostics = help(&["service", "diagnostics", "--help"]);
    for env in ["MK_SERVICE_URL", "MK_SLO_POLICY", "MK_AUTH_TOKEN_FILE"] {
        assert!(diagnostics.contains(&format!("[env: {env}")), "{env}");
    }
}

#[test]
fn completions_are_printed_for_every_supported_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _mk"),
        ("zsh", "#compdef mk"),
        ("fish", "complete -c mk"),
        ("elvish", "edit:completion:arg-completer[mk]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = mk().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["memory", "history", "completions"] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    let run = support::run_raw(&["completions", "tcsh"]);
    assert_failure(&run, 2, "validation_error");
}
