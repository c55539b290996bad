//! The README's CLI quick start, run for real: migrate, record a deny constraint, ask the
//! question it answers, then fetch the same package again by id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{Mk, assert_valid};

#[test]
fn readme_quick_start_denies_usb_drives_and_shows_the_same_package() {
    let mk = Mk::new();
    let migrated = mk.ok(&["db", "migrate"]);
    assert_valid("db-migrate.schema.json", &migrated);

    let added = mk.ok(&[
        "memory",
        "add",
        "constraint",
        "--actor",
        "user",
        "--action",
        "use",
        "--resource",
        "usb_drive",
        "--effect",
        "deny",
        "--writer",
        "security-team",
        "--justification",
        "Removable media is banned by policy",
        "--source-uri",
        "file:///policy.md",
        "--truth-status",
        "asserted",
        "--authority",
        "authoritative",
    ]);
    assert_valid("memory-add.schema.json", &added);

    let ask = mk.run(&[
        "query",
        "ask",
        "--text",
        "Am I allowed to use a USB drive?",
        "--actor",
        "user",
        "--action",
        "use",
        "--resource",
        "usb_drive",
    ]);
    assert_eq!(ask.code, Some(0), "{}", ask.stderr);
    let asked = ask.json();
    assert_valid("query-ask.schema.json", &asked);
    // The README's `jq .answer.result`: the package's keys are at top level.
    assert_eq!(asked["answer"]["result"], "deny");
    assert_eq!(
        asked["selected_items"][0]["memory_version_id"],
        added["memory_version_id"]
    );

    let id = asked["context_package_id"].as_str().unwrap();
    let show = mk.run(&["context", "show", "--context-package-id", id]);
    assert_eq!(show.code, Some(0), "{}", show.stderr);
    assert_valid("context-show.schema.json", &show.json());
    // Identical to the byte: the stored package is the package ask printed.
    assert_eq!(show.stdout, ask.stdout);
}
