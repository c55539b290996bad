//! One record builder and store helpers shared by every integration test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use memory_kernel_core::{
    Authority, Confidence, ConstraintPayload, Effect, Link, MemoryId, MemoryRecord,
    MemoryVersionId, Payload, Provenance, RecordType, Relation, Scope, Timestamp, TruthStatus,
};
use memory_kernel_store::Store;
use memory_kernel_testkit::postgres::TempDatabase;
use tempfile::TempDir;

/// Parses an RFC 3339 `Z` timestamp.
pub fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A fresh temporary directory and a database path inside it.
pub fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memory.sqlite3");
    (dir, path)
}

/// Answers a policy question about `user use usb_drive` over the store and stores its package.
pub fn stored_ask(store: &Store, text: &str) -> memory_kernel_core::ContextPackage {
    let query = memory_kernel_core::AskQuery::from_triple(
        text,
        "user",
        "use",
        "usb_drive",
        ts("2027-01-01T00:00:00Z"),
    )
    .unwrap();
    let set = store.ask_candidates(query.scope(), query.as_of()).unwrap();
    let package = memory_kernel_core::ask(&set, &query);
    store
        .put_context_package(&package, &set.records, "ask")
        .unwrap();
    package
}

/// Recalls `text` over the store and stores the package.
pub fn stored_recall(store: &Store, text: &str) -> memory_kernel_core::ContextPackage {
    let query = memory_kernel_core::RecallQuery::new(text, ts("2027-01-01T00:00:00Z")).unwrap();
    let set = store
        .recall_candidates(query.terms(), query.record_types(), query.as_of(), false)
        .unwrap();
    let package = memory_kernel_core::recall(&set, &query);
    store
        .put_context_package(&package, &set.records, "recall")
        .unwrap();
    package
}

/// A store at `path`, migrated to the current schema.
pub fn migrated_store(path: &Path) -> Store {
    let store = Store::open(path).unwrap();
    store.migrate(false).unwrap();
    store
}

/// Builds valid records with sensible defaults; every test builds records through it.
#[derive(Debug, Clone)]
pub struct RecordBuilder {
    record: MemoryRecord,
}

impl RecordBuilder {
    fn new(payload: Payload) -> Self {
        let at = ts("2026-01-01T00:00:00Z");
        Self {
            record: MemoryRecord {
                memory_version_id: MemoryVersionId::generate(),
                memory_id: MemoryId::generate(),
                version: 1,
                created_at: at,
                effective_at: at,
                truth_status: TruthStatus::Asserted,
                authority: Authority::Authoritative,
                confidence: None,
                writer: "tester".to_owned(),
                justification: "integration test".to_owned(),
                provenance: Provenance {
                    source_uri: "file:///policy.md".to_owned(),
                    source_hash: None,
                    evidence: vec!["line 1".to_owned()],
                },
                supersedes: Vec::new(),
                contradicts: Vec::new(),
                payload,
            },
        }
    }

    /// A constraint on the given scope.
    pub fn constraint(actor: &str, action: &str, resource: &str, effect: Effect) -> Self {
        Self::new(Payload::Constraint(ConstraintPayload {
            scope: Scope::new(actor, action, resource).unwrap(),
            effect,
            note: None,
        }))
    }

    /// A summary record of a non-constraint type.
    pub fn summary(record_type: RecordType, text: &str) -> Self {
        Self::new(Payload::summary(record_type, text).unwrap())
    }

    /// Sets created_at and effective_at.
    pub fn at(mut self, text: &str) -> Self {
        self.record.created_at = ts(text);
        self.record.effective_at = ts(text);
        self
    }

    /// Sets effective_at only.
    pub fn effective(mut self, text: &str) -> Self {
        self.record.effective_at = ts(text);
        self
    }

    /// Makes this the `version`th version of `memory_id`.
    pub fn version_of(mut self, memory_id: MemoryId, version: u32) -> Self {
        self.record.memory_id = memory_id;
        self.record.version = version;
        self
    }

    /// Sets the truth status (adding a confidence when the status needs one).
    pub fn truth(mut self, truth_status: TruthStatus) -> Self {
        self.record.truth_status = truth_status;
        if truth_status.requires_confidence() && self.record.confidence.is_none() {
            self.record.confidence = Some(Confidence::new(0.5).unwrap());
        }
        self
    }

    /// Sets the authority.
    pub fn authority(mut self, authority: Authority) -> Self {
        self.record.authority = authority;
        self
    }

    /// Sets the confidence.
    pub fn confidence(mut self, value: f64) -> Self {
        self.record.confidence = Some(Confidence::new(value).unwrap());
        self
    }

    /// Adds a note to a constraint.
    pub fn note(mut self, text: &str) -> Self {
        if let Payload::Constraint(c) = &mut self.record.payload {
            c.note = Some(text.to_owned());
        }
        self
    }

    /// Adds a `supersedes` target.
    pub fn supersedes(mut self, id: MemoryVersionId) -> Self {
        self.record.supersedes.push(id);
        self
    }

    /// Adds a `contradicts` target.
    pub fn contradicts(mut self, id: MemoryVersionId) -> Self {
        self.record.contradicts.push(id);
        self
    }

    /// The finished record.
    pub fn build(self) -> MemoryRecord {
        self.record
    }
}

/// A link between two versions.
pub fn link(from: MemoryVersionId, to: MemoryVersionId, relation: Relation, at: &str) -> Link {
    Link {
        from,
        to,
        relation,
        writer: "tester".to_owned(),
        justification: "linked in a test".to_owned(),
        created_at: ts(at),
    }
}

/// The names of the files in a directory, sorted.
pub fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One store per engine, each with what keeps its database alive.
pub struct Engines {
    pub stores: Vec<(&'static str, Store)>,
    _sqlite: TempDir,
    pub postgres: Option<TempDatabase>,
}

impl Engines {
    /// Where `store` lives (its SQLite file, or its PostgreSQL URL), to open another handle on
    /// the same database.
    pub fn location(&self, store: &Store) -> PathBuf {
        match store.path() {
            Some(path) => path.to_owned(),
            None => PathBuf::from(&self.postgres.as_ref().unwrap().url),
        }
    }
}

pub fn engines(test: &str) -> Engines {
    let (dir, path) = temp_db();
    let mut stores = vec![("sqlite", Store::open(&path).unwrap())];
    let postgres = TempDatabase::create(test);
    if let Some(db) = &postgres {
        stores.push(("postgresql", Store::open(&db.url).unwrap()));
    }
    Engines {
        stores,
        _sqlite: dir,
        postgres,
    }
}

pub fn migrated(test: &str) -> Engines {
    let engines = engines(test);
    for (_, store) in &engines.stores {
        store.migrate(false).unwrap();
    }
    engines
}

/// Asserts every engine gave the same value, naming the engines that differ.
pub fn same<T: PartialEq + std::fmt::Debug>(results: &[(&str, T)]) {
    for pair in results.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].1,
            "{} and {} differ",
            pair[0].0, pair[1].0
        );
    }
}
