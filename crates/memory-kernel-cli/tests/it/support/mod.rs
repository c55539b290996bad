//! Shared test support: run the real `mk` binary against a temporary database, validate
//! outputs against the contract schemas, seed the fixed golden scenario, and normalise
//! generated values (ULIDs, package and snapshot ids, wall-clock timestamps) to placeholders.
//! The `support` module of the crate's one integration-test binary (`tests/it/main.rs`).

mod scenario;

pub use scenario::{AS_OF, SCENARIO_INSTANTS, ask_args, recall_args, seed_scenario};

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use memory_kernel_testkit::ContractSchemas;
use serde_json::Value;
use tempfile::TempDir;

/// A finished `mk` process.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl Run {
    /// stdout parsed as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// stderr parsed as one JSON document (the error object).
    pub fn error(&self) -> Value {
        serde_json::from_str(&self.stderr)
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}):\n{}", self.stderr))
    }
}

/// A temporary folder with a database path in it.
pub struct Mk {
    dir: TempDir,
    db: PathBuf,
}

impl Mk {
    /// A fresh folder; the database file does not exist yet.
    pub fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("mk.sqlite3");
        Self { dir, db }
    }

    /// A fresh folder with a migrated database.
    pub fn migrated() -> Self {
        let mk = Self::new();
        mk.ok(&["db", "migrate"]);
        mk
    }

    /// The temporary folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The database path.
    pub fn db(&self) -> &Path {
        &self.db
    }

    /// Runs `mk --db <db> <args…>`.
    pub fn run(&self, args: &[&str]) -> Run {
        run_with_db(&self.db, args)
    }

    /// Runs `mk --db <db> <args…>`, asserts success and an empty stderr, returns stdout's JSON.
    pub fn ok(&self, args: &[&str]) -> Value {
        let run = self.run(args);
        assert_eq!(run.code, Some(0), "mk {args:?} failed:\n{}", run.stderr);
        assert!(
            run.stderr.is_empty(),
            "mk {args:?} wrote to stderr:\n{}",
            run.stderr
        );
        run.json()
    }
}

/// Runs `mk --db <db> <args…>` without a temporary folder of its own.
pub fn run_with_db(db: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mk"));
    command.arg("--db").arg(db).args(args);
    run_command(&mut command)
}

/// Runs `mk <args…>` exactly as given.
pub fn run_raw(args: &[&str]) -> Run {
    run_command(Command::new(env!("CARGO_BIN_EXE_mk")).args(args))
}

fn run_command(command: &mut Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Every contract schema of the repository, loaded once per test binary.
pub fn schemas() -> &'static ContractSchemas {
    static SCHEMAS: OnceLock<ContractSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| ContractSchemas::load().unwrap())
}

/// Asserts `value` validates against `contracts/…/schemas/<schema>`.
pub fn assert_valid(schema: &str, value: &Value) {
    if let Err(errors) = schemas().validate(schema, value) {
        panic!(
            "{errors}\ninstance:\n{}",
            serde_json::to_string_pretty(value).unwrap()
        );
    }
}

/// Asserts a failed run: the exit code, the contract code, and an error object that
/// validates against `error.schema.json`. Returns the message.
pub fn assert_failure(run: &Run, exit_code: i32, code: &str) -> String {
    assert!(
        run.stdout.is_empty(),
        "a failure printed on stdout:\n{}",
        run.stdout
    );
    let error = run.error();
    assert_valid("error.schema.json", &error);
    assert_eq!(error["code"], code, "stderr: {}", run.stderr);
    assert_eq!(run.code, Some(exit_code), "stderr: {}", run.stderr);
    error["message"].as_str().unwrap().to_owned()
}

/// What "the database did not change" means: the main file's bytes, the write-ahead log's
/// bytes (empty when absent: an empty log holds no pending change), and the names of every
/// other file beside it (so a stray `-journal` or copy counts). The `-wal` and `-shm` files
/// themselves may come and go: the store's connection pool can still hold a connection when
/// the process exits, which leaves an empty log and its index behind.
pub fn db_state(db: &Path) -> (Vec<u8>, Vec<u8>, Vec<String>) {
    let bytes = fs::read(db).unwrap();
    let mut wal_path = db.as_os_str().to_owned();
    wal_path.push("-wal");
    let wal = fs::read(&wal_path).unwrap_or_default();
    let mut names: Vec<String> = fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with("-wal") && !name.ends_with("-shm"))
        .collect();
    names.sort();
    (bytes, wal, names)
}

/// Replaces generated values in `text` with numbered placeholders, keeping the layout:
/// ULIDs become `<ULID-n>`, `cp_…` ids `<CONTEXT_PACKAGE_ID-n>`, `snap_…` ids
/// `<SNAPSHOT_ID-n>` (n counts distinct values by first appearance), and every RFC 3339
/// timestamp not in `fixed_timestamps` (the instants the test chose) becomes `<TIMESTAMP>`.
pub fn normalise(text: &str, fixed_timestamps: &[&str]) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_boundary = i == 0 || !is_word(bytes[i - 1]);
        if at_boundary && is_word(bytes[i]) {
            if let Some(len) = timestamp_len(&bytes[i..]) {
                let stamp = &text[i..i + len];
                let kept = fixed_timestamps.contains(&stamp);
                out.extend_from_slice(if kept { stamp } else { "<TIMESTAMP>" }.as_bytes());
                i += len;
                continue;
            }
            let end = i + bytes[i..].iter().take_while(|b| is_word(**b)).count();
            let word = &text[i..end];
            match generated_kind(word) {
                Some(kind) => {
                    let name = names.entry(word.to_owned()).or_insert_with(|| {
                        let n = counts.entry(kind).or_insert(0);
                        *n += 1;
                        format!("<{kind}-{n}>")
                    });
                    out.extend_from_slice(name.as_bytes());
                }
                None => out.extend_from_slice(word.as_bytes()),
            }
            i = end;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn generated_kind(word: &str) -> Option<&'static str> {
    let is_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let is_crockford =
        |b: u8| (b.is_ascii_digit() || b.is_ascii_uppercase()) && !b"ILOU".contains(&b);
    if word.len() == 26 && word.as_bytes()[0] <= b'7' && word.bytes().all(is_crockford) {
        Some("ULID")
    } else if word.strip_prefix("cp_").is_some_and(|hex| is_hex(hex, 32)) {
        Some("CONTEXT_PACKAGE_ID")
    } else if word
        .strip_prefix("snap_")
        .is_some_and(|hex| is_hex(hex, 64))
    {
        Some("SNAPSHOT_ID")
    } else {
        None
    }
}

/// The length of an RFC 3339 UTC timestamp (`YYYY-MM-DDTHH:MM:SS[.fff…]Z`) starting at
/// `bytes[0]` and not followed by a word character.
fn timestamp_len(bytes: &[u8]) -> Option<usize> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    if bytes.len() < SHAPE.len() {
        return None;
    }
    let shape_ok = SHAPE.iter().zip(bytes).all(|(want, got)| match want {
        b'd' => got.is_ascii_digit(),
        other => other == got,
    });
    if !shape_ok {
        return None;
    }
    let mut len = SHAPE.len();
    if bytes.get(len) == Some(&b'.') {
        let digits = bytes[len + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        len += 1 + digits;
    }
    if bytes.get(len) != Some(&b'Z') {
        return None;
    }
    len += 1;
    match bytes.get(len) {
        Some(next) if is_word(*next) => None,
        _ => Some(len),
    }
}

/// The top-level keys of the JSON object `text`, in the order they are written (a parsed
/// `Value` keeps them sorted, which would hide where `contract_version` is).
pub fn top_level_keys(text: &str) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_map(Visitor)
        }
    }
    serde_json::from_str::<Keys>(text)
        .unwrap_or_else(|e| panic!("not a JSON object ({e}):\n{text}"))
        .0
}
