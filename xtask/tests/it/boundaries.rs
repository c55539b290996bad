//! `cargo xtask boundaries` on temporary trees: a clean fixture passes, then each row of the
//! negative table (a forbidden edge, an unowned or twice-owned file, a stale generated block,
//! a broken governance file …) fails with its own message. The fixture is a copy of the real
//! governance file, its schema and the three generated documents, plus one file per
//! ownership area, with `cargo metadata` output built in memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use tempfile::TempDir;
use xtask::boundaries::render::{
    BOUNDARY_MAP_PATH, OWNERSHIP_MATRIX_PATH, ROLLBACK_CHECKLIST_PATH,
};
use xtask::boundaries::{self, Governance, Metadata};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn write(root: &Path, path: &str, contents: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// The real governance documents, and one file in every folder pattern of every area.
fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for path in [
        boundaries::GOVERNANCE_PATH,
        boundaries::governance::GOVERNANCE_SCHEMA_PATH,
        BOUNDARY_MAP_PATH,
        OWNERSHIP_MATRIX_PATH,
        ROLLBACK_CHECKLIST_PATH,
    ] {
        write(
            root,
            path,
            &fs::read_to_string(repo_root().join(path)).unwrap(),
        );
    }
    for path in [
        "Cargo.toml",
        "README.md",
        "CHANGELOG.md",
        ".cargo/config.toml",
        ".ci/run",
        "crates/memory-kernel-core/src/lib.rs",
        "crates/memory-kernel-outcome/src/lib.rs",
        "crates/memory-kernel-store/src/lib.rs",
        "crates/memory-kernel-api/src/lib.rs",
        "crates/memory-kernel-contract/src/lib.rs",
        "crates/memory-kernel-cli/src/main.rs",
        "crates/memory-kernel-service/src/lib.rs",
        "crates/memory-kernel-testkit/src/lib.rs",
        "contracts/integration/v1/service-contract-source-of-truth.json",
        "docs/spec/governance.md",
        "xtask/src/main.rs",
    ] {
        write(root, path, "x\n");
    }
    dir
}

/// `cargo metadata --no-deps` for the real crate graph (dev-dependencies included), rooted
/// at `/w`.
fn metadata() -> Value {
    let deps = |list: &[(&str, Option<&str>)]| -> Vec<Value> {
        list.iter()
            .map(|(name, kind)| json!({"name": name, "kind": kind, "path": format!("/w/crates/{name}")}))
            .chain(std::iter::once(json!({"name": "serde", "kind": null})))
            .collect()
    };
    let package = |name: &str, dir: &str, list: &[(&str, Option<&str>)]| {
        json!({
            "name": name,
            "id": format!("path+file:///w/{dir}#0.1.0"),
            "manifest_path": format!("/w/{dir}/Cargo.toml"),
            "dependencies": deps(list),
        })
    };
    let packages = vec![
        package("memory-kernel-core", "crates/memory-kernel-core", &[]),
        package(
            "memory-kernel-contract",
            "crates/memory-kernel-contract",
            &[],
        ),
        package(
            "memory-kernel-outcome",
            "crates/memory-kernel-outcome",
            &[("memory-kernel-core", None)],
        ),
        package(
            "memory-kernel-store",
            "crates/memory-kernel-store",
            &[
                ("memory-kernel-core", None),
                ("memory-kernel-outcome", None),
                ("memory-kernel-testkit", Some("dev")),
            ],
        ),
        package(
            "memory-kernel-api",
            "crates/memory-kernel-api",
            &[
                ("memory-kernel-core", None),
                ("memory-kernel-store", None),
                ("memory-kernel-testkit", Some("dev")),
            ],
        ),
        package(
            "memory-kernel-cli",
            "crates/memory-kernel-cli",
            &[
                ("memory-kernel-api", None),
                ("memory-kernel-contract", None),
                ("memory-kernel-core", None),
                ("memory-kernel-testkit", Some("dev")),
            ],
        ),
        package(
            "memory-kernel-service",
            "crates/memory-kernel-service",
            &[
                ("memory-kernel-api", None),
                ("memory-kernel-contract", None),
                ("memory-kernel-core", None),
                ("memory-kernel-testkit", Some("dev")),
            ],
        ),
        package(
            "memory-kernel-testkit",
            "crates/memory-kernel-testkit",
            &[
                ("memory-kernel-api", None),
                ("memory-kernel-contract", None),
            ],
        ),
        package("xtask", "xtask", &[("memory-kernel-contract", None)]),
    ];
    let members: Vec<Value> = packages.iter().map(|p| p["id"].clone()).collect();
    json!({"packages": packages, "workspace_members": members, "workspace_root": "/w"})
}

fn problems(root: &Path, metadata: &Value) -> Vec<String> {
    let metadata = Metadata::parse(&metadata.to_string()).unwrap();
    boundaries::check(root, &metadata, &xtask::verify::gate_list())
        .unwrap()
        .problems
}

/// Adds a dependency `to` (of `kind`) to package `from` of the metadata.
fn add_dependency(metadata: &mut Value, from: &str, to: &str, kind: Option<&str>) {
    let package = metadata["packages"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["name"] == from)
        .unwrap();
    package["dependencies"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": to, "kind": kind, "path": format!("/w/crates/{to}")}));
}

/// Rewrites the governance file of the fixture through `edit`.
fn edit_governance(root: &Path, edit: impl FnOnce(&mut Value)) {
    let path = root.join(boundaries::GOVERNANCE_PATH);
    let mut value: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut value);
    fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// One row of the negative table: a mutation of the clean fixture, and a text every
/// reported problem list must contain.
struct Case {
    name: &'static str,
    mutate: fn(&Path, &mut Value),
    expected: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "service depends on the store crate",
        mutate: |_, metadata| {
            add_dependency(
                metadata,
                "memory-kernel-service",
                "memory-kernel-store",
                None,
            );
        },
        expected: &[
            "forbidden dependency edge memory-kernel-service -> memory-kernel-store \
             (normal dependency in crates/memory-kernel-service/Cargo.toml)",
            "cli and service depend on api and core, never on storage directly",
        ],
    },
    Case {
        name: "service dev-depends on the store crate",
        mutate: |_, metadata| {
            add_dependency(
                metadata,
                "memory-kernel-service",
                "memory-kernel-store",
                Some("dev"),
            );
        },
        expected: &["memory-kernel-service -> memory-kernel-store (dev dependency"],
    },
    Case {
        name: "core depends on the api",
        mutate: |_, metadata| {
            add_dependency(
                metadata,
                "memory-kernel-core",
                "memory-kernel-api",
                Some("build"),
            );
        },
        expected: &[
            "memory-kernel-core -> memory-kernel-api (build dependency",
            "core depends on no crate of ours (allowed: no workspace crate)",
        ],
    },
    Case {
        name: "xtask depends on a product crate",
        mutate: |_, metadata| add_dependency(metadata, "xtask", "memory-kernel-core", None),
        expected: &["forbidden dependency edge xtask -> memory-kernel-core"],
    },
    Case {
        name: "the contract facts depend on the api",
        mutate: |_, metadata| {
            add_dependency(
                metadata,
                "memory-kernel-contract",
                "memory-kernel-api",
                None,
            );
        },
        expected: &[
            "forbidden dependency edge memory-kernel-contract -> memory-kernel-api",
            "the contract facts depend on no crate of ours",
        ],
    },
    Case {
        name: "new file under an unowned path",
        mutate: |root, _| write(root, "stray/notes.md", "x\n"),
        expected: &["unowned file `stray/notes.md`"],
    },
    Case {
        name: "new file in docs/implementation/ without an owner",
        mutate: |root, _| write(root, "docs/implementation/NEW_PLAN.md", "x\n"),
        expected: &["unowned file `docs/implementation/NEW_PLAN.md`"],
    },
    Case {
        name: "file owned twice",
        mutate: |root, _| {
            edit_governance(root, |g| {
                g["ownership"][1]["paths"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("crates/memory-kernel-core/src/lib.rs"));
            });
        },
        expected: &[
            "file `crates/memory-kernel-core/src/lib.rs` is owned by 2 areas: `api` (pattern \
             `crates/memory-kernel-core/src/lib.rs`), `core` (pattern `crates/memory-kernel-core/`)",
        ],
    },
    Case {
        name: "stale generated block",
        mutate: |root, _| {
            let path = root.join(OWNERSHIP_MATRIX_PATH);
            let text = fs::read_to_string(&path).unwrap();
            fs::write(
                path,
                text.replace(
                    "| Producer Storage | Producer Runtime |",
                    "| Nobody | Nobody |",
                ),
            )
            .unwrap();
        },
        expected: &[
            "docs/implementation/PRODUCER_OWNERSHIP_MATRIX.md#ownership-matrix has drifted",
            "+| storage (`storage`) | `crates/memory-kernel-store/` | Nobody | Nobody |",
            "fix: run `cargo xtask codegen`",
        ],
    },
    Case {
        name: "generated block renamed away",
        mutate: |root, _| {
            let path = root.join(ROLLBACK_CHECKLIST_PATH);
            let text = fs::read_to_string(&path).unwrap();
            fs::write(
                path,
                text.replace("generated:rollback-steps", "generated:steps"),
            )
            .unwrap();
        },
        expected: &["no generated block `rollback-steps`"],
    },
    Case {
        name: "evidence names a gate verify does not have",
        mutate: |root, _| {
            edit_governance(root, |g| {
                g["ownership"][0]["required_evidence"][0] = json!("lint")
            });
        },
        expected: &["ownership area `service-runtime` requires gate `lint`"],
    },
    Case {
        name: "workspace crate without a rule or domain",
        mutate: |_, metadata| {
            let extra = json!({
                "name": "memory-kernel-extra",
                "id": "path+file:///w/crates/memory-kernel-extra#0.1.0",
                "manifest_path": "/w/crates/memory-kernel-extra/Cargo.toml",
                "dependencies": [],
            });
            metadata["workspace_members"]
                .as_array_mut()
                .unwrap()
                .push(extra["id"].clone());
            metadata["packages"].as_array_mut().unwrap().push(extra);
        },
        expected: &[
            "workspace crate `memory-kernel-extra` is in no boundary domain",
            "workspace crate `memory-kernel-extra` has no dependency rule",
        ],
    },
    Case {
        name: "governance file breaks its schema",
        mutate: |root, _| edit_governance(root, |g| g["owners"] = json!([])),
        expected: &["does not match contracts/governance/schemas/governance.schema.json"],
    },
    Case {
        name: "glob in an ownership pattern",
        mutate: |root, _| {
            edit_governance(root, |g| {
                g["ownership"][9]["paths"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("docs/*.md"));
            });
        },
        // The pushed pattern is the last entry of area 9, whatever its length.
        expected: &["/ownership/9/paths/", ": \"docs/*.md\" does not match"],
    },
    Case {
        name: "ownership pattern escaping the repository",
        mutate: |root, _| {
            edit_governance(root, |g| {
                g["ownership"][9]["paths"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("docs/../secrets/"));
            });
        },
        expected: &["path pattern `docs/../secrets/` has an empty, `.` or `..` segment"],
    },
    Case {
        name: "rollback step listed twice",
        mutate: |root, _| {
            edit_governance(root, |g| {
                let steps = g["rollback_steps"].as_array_mut().unwrap();
                let first = steps[0].clone();
                steps.push(first);
            });
        },
        expected: &["rollback step `revert-to-tag` appears 2 times"],
    },
];

#[test]
fn clean_fixture_passes() {
    let fixture = fixture();
    assert_eq!(problems(fixture.path(), &metadata()), Vec::<String>::new());
}

#[test]
fn every_negative_case_fails_with_its_message() {
    for case in CASES {
        let fixture = fixture();
        let mut metadata = metadata();
        (case.mutate)(fixture.path(), &mut metadata);
        let problems = problems(fixture.path(), &metadata).join("\n");
        for expected in case.expected {
            assert!(
                problems.contains(expected),
                "case `{}`: expected {expected:?} in:\n{problems}",
                case.name
            );
        }
    }
}

#[test]
fn the_real_workspace_has_only_allowed_edges() {
    let governance = Governance::load(repo_root()).unwrap();
    let metadata = Metadata::load(repo_root()).unwrap();
    let findings = boundaries::check_edges(&governance, &metadata);
    assert_eq!(findings.problems, Vec::<String>::new());
    // The service's dev-dependency on the testkit is seen, so dev edges are really checked.
    let edges: Vec<String> = metadata
        .workspace_edges()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        edges
            .iter()
            .any(|edge| edge.starts_with("memory-kernel-service -> memory-kernel-testkit (dev")),
        "{edges:#?}"
    );
}

#[test]
fn renderers_are_pure_functions_of_the_governance_file() {
    let governance = Governance::load(repo_root()).unwrap();
    let matrix = boundaries::render_ownership_matrix(&governance);
    assert!(
        matrix.starts_with("| area | paths | primary owner | backup owner | required gates |\n")
    );
    assert_eq!(matrix.lines().count(), governance.ownership.len() + 2);
    let steps = boundaries::render_rollback_steps(&governance);
    assert!(steps.starts_with("1. **Revert to the last-known-good tag** (`revert-to-tag`)\n"));
    assert_eq!(
        boundaries::render_domains(&governance),
        boundaries::render_domains(&governance)
    );
}

#[test]
fn the_manifests_give_the_edges_cargo_metadata_gives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let read = xtask::boundaries::Metadata::from_manifests(root).unwrap();
    let cargo = xtask::boundaries::Metadata::load(root).unwrap();
    assert_eq!(read.member_names(), cargo.member_names());
    assert_eq!(read.workspace_edges(), cargo.workspace_edges());
    assert!(!read.workspace_edges().is_empty());
}
