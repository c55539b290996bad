//! The application API end to end over a temporary database: each operation's success path
//! and the contract code of each failure a caller can cause.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use memory_kernel_api::{
    AddConstraintRequest, AddSummaryRequest, ApiError, AskRequest, ContextPackage, ErrorCode,
    LinkRequest, ListRequest, MemoryKernel, Operation, RecallRequest, RecordMetadata,
};
use memory_kernel_core::package::AnswerResult;
use memory_kernel_core::{Authority, Effect, RecordType, Relation, TruthStatus};
use tempfile::TempDir;

fn migrated() -> (TempDir, MemoryKernel) {
    let dir = TempDir::new().unwrap();
    let kernel = MemoryKernel::open(dir.path().join("mk.sqlite3")).unwrap();
    kernel.migrate(false).unwrap();
    (dir, kernel)
}

fn constraint(effect: Effect) -> AddConstraintRequest {
    AddConstraintRequest {
        actor: "user".into(),
        action: "use".into(),
        resource: "usb_drive".into(),
        effect,
        note: None,
        metadata: RecordMetadata {
            confidence: Some(0.9),
            created_at: Some("2026-01-01T00:00:00Z".into()),
            ..RecordMetadata::new(
                "security-team",
                "removable media policy",
                "file:///policy.md",
                TruthStatus::Asserted,
                Authority::Authoritative,
            )
        },
    }
}

fn ask() -> AskRequest {
    AskRequest {
        text: "Am I allowed to use a USB drive?".into(),
        actor: "User".into(),
        action: " use ".into(),
        resource: "usb_drive".into(),
        as_of: Some("2026-06-01T00:00:00Z".into()),
        ..AskRequest::default()
    }
}

fn code(result: Result<impl std::fmt::Debug, ApiError>) -> ErrorCode {
    result.unwrap_err().code()
}

#[test]
fn deny_constraint_answers_deny_and_the_package_is_stored() {
    let (_dir, kernel) = migrated();
    let record = kernel
        .add_constraint(&constraint(Effect::Deny), None)
        .unwrap();
    assert_eq!(record.version, 1);
    let package = kernel.ask(&ask(), None).unwrap();
    assert_eq!(package.answer.result, AnswerResult::Deny);
    assert_eq!(package.selected_items.len(), 1);
    let again = kernel.ask(&ask(), None).unwrap();
    assert_eq!(again.to_canonical_json(), package.to_canonical_json());
    let shown = kernel.context_show(&package.context_package_id).unwrap();
    assert_eq!(shown.to_json(), package.to_canonical_json());
}

#[test]
fn confidence_keeps_its_decimal_form() {
    let (_dir, kernel) = migrated();
    kernel
        .add_constraint(&constraint(Effect::Deny), None)
        .unwrap();
    let listed = kernel.list(&ListRequest::default()).unwrap();
    let json = serde_json::to_string(&listed[0]).unwrap();
    assert!(json.contains("\"confidence\":0.9"), "{json}");
}

#[test]
fn versions_follow_the_memory_and_a_stale_version_conflicts() {
    let (_dir, kernel) = migrated();
    let first = kernel
        .add_constraint(&constraint(Effect::Deny), None)
        .unwrap();
    let mut next = constraint(Effect::Allow);
    next.metadata.memory_id = Some(first.memory_id.to_string());
    next.metadata.supersedes = vec![first.memory_version_id.to_string()];
    let second = kernel.add_constraint(&next, None).unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(
        kernel.ask(&ask(), None).unwrap().answer.result,
        AnswerResult::Allow
    );
    next.metadata.version = Some(2);
    assert_eq!(
        code(kernel.add_constraint(&next, None)),
        ErrorCode::WriteConflict
    );
}

#[test]
fn refused_values_are_validation_errors() {
    let (_dir, kernel) = migrated();
    type Mutation = fn(&mut AddConstraintRequest);
    let cases: [(&str, Mutation); 6] = [
        ("blank writer", |r| r.metadata.writer = "  ".into()),
        ("confidence above one", |r| {
            r.metadata.confidence = Some(1.5)
        }),
        ("non-UTC time", |r| {
            r.metadata.created_at = Some("2026-01-01T00:00:00+02:00".into());
        }),
        ("bad source hash", |r| {
            r.metadata.source_hash = Some("sha256:ABC".into())
        }),
        ("not a ULID", |r| {
            r.metadata.supersedes = vec!["nope".into()]
        }),
        ("version zero", |r| r.metadata.version = Some(0)),
    ];
    for (name, mutate) in cases {
        let mut request = constraint(Effect::Deny);
        mutate(&mut request);
        assert_eq!(
            code(kernel.add_constraint(&request, None)),
            ErrorCode::ValidationError,
            "{name}"
        );
    }
    assert!(kernel.list(&ListRequest::default()).unwrap().is_empty());
}

#[test]
fn a_link_to_a_memory_id_is_refused() {
    let (_dir, kernel) = migrated();
    let record = kernel
        .add_constraint(&constraint(Effect::Deny), None)
        .unwrap();
    let other = kernel
        .add_constraint(&constraint(Effect::Allow), None)
        .unwrap();
    let link = LinkRequest {
        from: other.memory_version_id.to_string(),
        to: record.memory_id.to_string(),
        relation: Relation::Supersedes,
        writer: "w".into(),
        justification: "j".into(),
        created_at: None,
    };
    assert_eq!(
        code(kernel.add_link(&link, None)),
        ErrorCode::ValidationError
    );
}

#[test]
fn wildcard_in_a_question_is_refused() {
    let (_dir, kernel) = migrated();
    let mut request = ask();
    request.resource = "*".into();
    assert_eq!(code(kernel.ask(&request, None)), ErrorCode::ValidationError);
}

#[test]
fn recall_selects_overlapping_summaries() {
    let (_dir, kernel) = migrated();
    let summary = AddSummaryRequest {
        record_type: RecordType::Decision,
        summary: "Adopt SQLite for local storage".into(),
        metadata: RecordMetadata {
            created_at: Some("2026-01-01T00:00:00Z".into()),
            ..RecordMetadata::new(
                "w",
                "j",
                "file:///adr.md",
                TruthStatus::Asserted,
                Authority::Derived,
            )
        },
    };
    kernel.add_summary(&summary, None).unwrap();
    let package = kernel
        .recall(
            &RecallRequest {
                text: "which storage do we use".into(),
                record_types: None,
                as_of: Some("2026-02-01T00:00:00Z".into()),
                ..RecallRequest::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(package.selected_items.len(), 1);
}

#[test]
fn unknown_context_package_is_not_found() {
    let (_dir, kernel) = migrated();
    assert_eq!(
        code(kernel.context_show("cp_00000000000000000000000000000000")),
        ErrorCode::ContextPackageNotFound
    );
}

#[test]
fn an_unmigrated_database_is_schema_unavailable() {
    let dir = TempDir::new().unwrap();
    let kernel = MemoryKernel::open(dir.path().join("mk.sqlite3")).unwrap();
    assert_eq!(
        code(kernel.add_constraint(&constraint(Effect::Deny), None)),
        ErrorCode::SchemaUnavailable
    );
    assert_eq!(code(kernel.ask(&ask(), None)), ErrorCode::SchemaUnavailable);
}

#[test]
fn a_passed_deadline_commits_nothing() {
    let (_dir, kernel) = migrated();
    let past = Instant::now().checked_sub(Duration::from_millis(1));
    let error = kernel
        .add_constraint(&constraint(Effect::Deny), past)
        .unwrap_err();
    assert!(matches!(
        error,
        ApiError::DeadlineExceeded {
            operation: Operation::Write
        }
    ));
    assert!(kernel.list(&ListRequest::default()).unwrap().is_empty());
    assert_eq!(code(kernel.ask(&ask(), past)), ErrorCode::OperationTimeout);
}

#[test]
fn item_09_a_missed_deadline_is_a_typed_timeout_not_a_store_failure() {
    let (_dir, kernel) = migrated();
    let past = Instant::now().checked_sub(Duration::from_millis(1));
    for error in [
        kernel
            .add_constraint(&constraint(Effect::Deny), past)
            .unwrap_err(),
        kernel.ask(&ask(), past).unwrap_err(),
    ] {
        assert_eq!(error.code(), ErrorCode::OperationTimeout, "{error:?}");
        assert!(!error.code().is_caller_error());
    }
}

#[test]
fn item_05_context_ids_are_checked_for_form_before_lookup() {
    let (_dir, kernel) = migrated();
    let huge = "x".repeat(60 * 1024);
    for id in [huge.as_str(), "", "cp_../../etc", "cp_\u{0}", "has space"] {
        let error = kernel.context_show(id).unwrap_err();
        assert_eq!(error.code(), ErrorCode::ValidationError, "{id:.40}");
        assert!(error.to_string().len() < 400, "{}", error.to_string().len());
    }
    let missing = kernel
        .context_show("cp_0123456789abcdef0123456789abcdef")
        .unwrap_err();
    assert_eq!(missing.code(), ErrorCode::ContextPackageNotFound);
    let carried = kernel
        .context_show("cpkg_2026-02-01T00:00:00Z_txn_48a001dbc85dfdb5")
        .unwrap_err();
    assert_eq!(carried.code(), ErrorCode::ContextPackageNotFound);
}

#[test]
fn read_only_operations_never_create_the_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("missing.sqlite3");
    assert_eq!(
        code(MemoryKernel::inspect(&path)),
        ErrorCode::SchemaUnavailable
    );
    let _ = MemoryKernel::migration_plan(&path);
    assert!(!path.exists());
}

#[test]
fn read_only_operations_leave_an_unmigrated_file_byte_identical() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("fresh.sqlite3");
    drop(MemoryKernel::open(&path).unwrap());
    let before = std::fs::read(&path).unwrap();
    let status = MemoryKernel::inspect(&path).unwrap();
    assert!(!status.up_to_date);
    let plan = MemoryKernel::migration_plan(&path).unwrap();
    assert!(plan.dry_run);
    MemoryKernel::backup(&path, dir.path().join("copy.sqlite3"), false).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn backup_then_restore_round_trips() {
    let (dir, kernel) = migrated();
    kernel
        .add_constraint(&constraint(Effect::Deny), None)
        .unwrap();
    let copy = dir.path().join("backup.sqlite3");
    MemoryKernel::backup(kernel.path(), &copy, false).unwrap();
    kernel
        .add_constraint(&constraint(Effect::Allow), None)
        .unwrap();
    kernel.restore(&copy).unwrap();
    assert_eq!(kernel.list(&ListRequest::default()).unwrap().len(), 1);
    assert!(kernel.integrity_check().unwrap().is_healthy());
}

#[test]
fn export_then_import_into_a_fresh_database_reproduces_the_records() {
    let (dir, kernel) = migrated();
    kernel
        .add_constraint(&constraint(Effect::Deny), None)
        .unwrap();
    let key = dir.path().join("sign.key");
    std::fs::write(&key, "ab".repeat(32)).unwrap();
    let snapshot = dir.path().join("snapshot");
    let exported = kernel
        .export(
            &snapshot,
            &memory_kernel_api::ExportRequest {
                signing_key_file: Some(key.clone()),
                encrypt_key_file: None,
            },
        )
        .unwrap();
    assert!(exported.signed);
    let (_other_dir, other) = migrated();
    let unsigned = memory_kernel_api::ImportRequest::default();
    assert_eq!(
        code(other.import(&snapshot, &unsigned)),
        ErrorCode::ValidationError
    );
    let verified = memory_kernel_api::ImportRequest {
        verify_key_file: Some(key),
        ..memory_kernel_api::ImportRequest::default()
    };
    let report = other.import(&snapshot, &verified).unwrap();
    assert_eq!(report.records_imported, 1);
    assert_eq!(
        other.list(&ListRequest::default()).unwrap(),
        kernel.list(&ListRequest::default()).unwrap()
    );
}

#[test]
fn concurrent_adds_to_one_memory_without_a_version_all_land() {
    let (_dir, kernel) = migrated();
    let first = kernel
        .add_constraint(&constraint(Effect::Deny), None)
        .unwrap();
    let memory_id = first.memory_id.to_string();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let kernel = kernel.clone();
            let memory_id = memory_id.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let mut next = constraint(Effect::Deny);
                    next.metadata.memory_id = Some(memory_id.clone());
                    kernel.add_constraint(&next, None).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let mut versions: Vec<u32> = kernel
        .list(&ListRequest::default())
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=21).collect::<Vec<_>>());
}

/// A store of `count` decisions that all share the query's terms, written in one batch
/// through the store (the API's one-record adds would make the test slow, not better).
fn store_of(count: usize) -> (TempDir, MemoryKernel) {
    let (dir, kernel) = migrated();
    let created_at: memory_kernel_core::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let records: Vec<memory_kernel_core::MemoryRecord> = (0..count)
        .map(|i| memory_kernel_core::MemoryRecord {
            memory_version_id: memory_kernel_core::MemoryVersionId::generate(),
            memory_id: memory_kernel_core::MemoryId::generate(),
            version: 1,
            created_at,
            effective_at: created_at,
            truth_status: TruthStatus::Asserted,
            authority: Authority::Derived,
            confidence: None,
            writer: "w".into(),
            justification: "j".into(),
            provenance: memory_kernel_core::Provenance {
                source_uri: "file:///adr.md".into(),
                source_hash: None,
                evidence: vec![],
            },
            supersedes: vec![],
            contradicts: vec![],
            payload: memory_kernel_core::Payload::summary(
                RecordType::Decision,
                &format!("Deploy the billing service {} in region {}", i % 97, i % 13),
            )
            .unwrap(),
        })
        .collect();
    memory_kernel_store::Store::open(dir.path().join("mk.sqlite3"))
        .unwrap()
        .insert_records(&records, None)
        .unwrap();
    (dir, kernel)
}

fn billing_recall(exclusion_offset: Option<u32>) -> RecallRequest {
    RecallRequest {
        text: "billing service region".into(),
        as_of: Some("2026-02-01T00:00:00Z".into()),
        exclusion_offset,
        ..RecallRequest::default()
    }
}

#[test]
fn a_recall_is_as_large_at_5000_records_as_at_1000() {
    let sizes: Vec<(usize, ContextPackage, String)> = [1_000, 5_000]
        .into_iter()
        .map(|count| {
            let (dir, kernel) = store_of(count);
            let package = kernel.recall(&billing_recall(None), None).unwrap();
            let json = package.to_canonical_json();
            // What `context show` serves is the bytes the query returned.
            let shown = kernel.context_show(&package.context_package_id).unwrap();
            assert_eq!(shown.to_json(), json);
            drop(dir);
            (count, package, json)
        })
        .collect();
    for (count, package, json) in &sizes {
        assert_eq!(package.selected_items.len(), 20, "{count}");
        assert_eq!(package.excluded_items.len(), 10, "{count}");
        let counted: u64 = package.answer.excluded_summary.values().sum();
        assert_eq!(counted, *count as u64 - 20, "{count}");
        assert!(json.len() < 64 * 1024, "{count}: {} bytes", json.len());
    }
    // Only the digits of the counts and scores may differ.
    let (small, large) = (sizes[0].2.len(), sizes[1].2.len());
    assert!(small.abs_diff(large) < 200, "{small} vs {large} bytes");
}

#[test]
fn every_exclusion_is_reachable_page_by_page_and_a_repeat_stores_nothing() {
    let (dir, kernel) = store_of(60);
    let mut seen = std::collections::BTreeSet::new();
    let mut offset = 0;
    loop {
        let page = kernel.recall(&billing_recall(Some(offset)), None).unwrap();
        if page.excluded_items.is_empty() {
            break;
        }
        for item in &page.excluded_items {
            assert_eq!(
                item.rank as usize,
                seen.len() + 1,
                "ranks run on across pages"
            );
            assert!(seen.insert(item.memory_version_id));
        }
        offset += page.excluded_items.len() as u32;
    }
    assert_eq!(seen.len(), 40);
    let rows = || -> i64 {
        rusqlite::Connection::open(dir.path().join("mk.sqlite3"))
            .unwrap()
            .query_row("SELECT COUNT(*) FROM mk_stored_packages", [], |r| r.get(0))
            .unwrap()
    };
    let before = rows();
    kernel.recall(&billing_recall(Some(0)), None).unwrap();
    kernel.recall(&billing_recall(None), None).unwrap();
    assert_eq!(rows(), before, "an identical query adds no package row");
}
