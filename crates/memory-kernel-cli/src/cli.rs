//! The `mk` command tree (clap derive). Every doc comment here is the `--help` text of its
//! command or flag, so it says what the command does and shows an example.

use std::error::Error;
use std::path::PathBuf;
use std::str::FromStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use memory_kernel_api::{ListOrder, RecordMetadata};
use memory_kernel_core::{Authority, Effect, ExclusionMode, RecordType, Relation, TruthStatus};
use memory_kernel_outcome::GateMode;

/// mk: a local, auditable memory store for AI agents (cli.v1)
///
/// Every command prints one flat JSON object on stdout: the command's own keys at top level
/// (the same keys as the original mk's cli.v1, no wrapper object), then
/// `"contract_version": "cli.v1"` as the last key. A failure prints
/// `{"contract_version", "code", "message"}` on stderr and exits 2 for a usage error (a
/// command line that does not parse), 1 for anything else.
///
/// Quick start (the writing commands also create and migrate a missing database):
///   mk --db ./mk.sqlite3 db migrate
///   mk --db ./mk.sqlite3 memory add constraint --actor user --action use \
///     --resource usb_drive --effect deny --writer security-team \
///     --justification "Removable media is banned" --source-uri file:///policy.md \
///     --truth-status asserted --authority authoritative
///   mk --db ./mk.sqlite3 query ask --text "Am I allowed to use a USB drive?" \
///     --actor user --action use --resource usb_drive | jq .answer.result
#[derive(Debug, Parser)]
#[command(name = "mk", version, verbatim_doc_comment)]
pub struct Cli {
    /// The SQLite database file. `db migrate`, `db restore`, `memory add`, `memory link`,
    /// `query ask` and `query recall` create and migrate it when missing; the other commands
    /// never create or change it.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "MK_DB",
        default_value = "./memory_kernel.sqlite3",
        display_order = 1000
    )]
    pub db: PathBuf,

    /// Pretty-print the JSON output (compact by default).
    // Global flags come after each command's own flags in `--help`.
    #[arg(long, global = true, display_order = 1001)]
    pub pretty: bool,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Database schema, migrations, snapshots, backups and integrity.
    #[command(subcommand)]
    Db(DbCommand),
    /// Add, link and list memory records.
    #[command(subcommand)]
    Memory(MemoryCommand),
    /// Ask policy questions and recall records; each answer is a stored context package.
    #[command(subcommand)]
    Query(QueryCommand),
    /// Show stored context packages.
    #[command(subcommand)]
    Context(ContextCommand),
    /// Check a running MemoryKernel service.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Outcome events, trust replay, projector health and gate decisions (OutcomeMemory).
    #[command(subcommand)]
    Outcome(crate::commands::outcome::OutcomeCommand),
    /// Print a shell completion script for mk
    ///
    /// Prints the script on stdout (not JSON); the database is not opened.
    ///
    /// Examples:
    ///   mk completions bash > ~/.local/share/bash-completion/completions/mk
    ///   mk completions zsh > "${fpath[1]}/_mk"
    ///   mk completions fish > ~/.config/fish/completions/mk.fish
    #[command(verbatim_doc_comment)]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Serve the memory to an agent host over the Model Context Protocol (stdio)
    ///
    /// An MCP host (a desktop assistant, an IDE agent) starts `mk mcp` itself as a child
    /// process and speaks JSON-RPC with it over stdin and stdout until it closes stdin. Give
    /// the host the command `mk`, the arguments `mcp --db PATH`, or set MK_DB in the
    /// environment the host passes. The writing tools create and migrate a missing database,
    /// as `memory add` does.
    ///
    /// stdout carries protocol messages only; anything else (a failure to start) goes to
    /// stderr, as a failure JSON object.
    ///
    /// Tools (input schemas derived from the API's request types; each result is the JSON
    /// the matching command prints; a failure is a tool error whose JSON carries the contract
    /// error `code`):
    ///   remember  memory add (record_type constraint|decision|preference|event|outcome)
    ///   ask       query ask
    ///   recall    query recall
    ///   get       memory get
    ///   history   memory history
    ///   link      memory link
    ///
    /// Host configuration (mcpServers entry):
    ///   {"mcpServers": {"memory-kernel": {"command": "mk",
    ///     "args": ["mcp", "--db", "/home/me/.local/share/mk/memory.sqlite3"]}}}
    #[command(verbatim_doc_comment)]
    Mcp,
}

/// `mk db …`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Report the schema status of the database, strictly read-only
    ///
    /// Never creates or changes the file: a missing file is reported as
    /// [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable), not
    /// created.
    ///
    /// Prints: current_version, target_version, pending_versions, up_to_date,
    /// inferred_from_legacy, contract_version.
    ///
    /// Example:
    ///   mk --db ./mk.sqlite3 db schema-version
    #[command(verbatim_doc_comment)]
    SchemaVersion,
    /// Apply pending schema migrations (creates the database when missing)
    ///
    /// With --dry-run, report the plan without creating or touching the file.
    ///
    /// Prints with --dry-run: dry_run (true), current_version, target_version,
    /// would_apply_versions, inferred_from_legacy, contract_version.
    /// Prints without: dry_run (false), before_version, applied_versions, after_version,
    /// target_version, up_to_date, contract_version.
    ///
    /// Examples:
    ///   mk --db ./mk.sqlite3 db migrate --dry-run
    ///   mk --db ./mk.sqlite3 db migrate
    #[command(verbatim_doc_comment)]
    Migrate {
        /// Only report what would be applied; the file is left byte-identical.
        #[arg(long)]
        dry_run: bool,
    },
    /// Export every record, link and context package to a snapshot folder
    ///
    /// Writes memory_records.ndjson, memory_links.ndjson, context_packages.ndjson and
    /// manifest.json (counts and sha256 per file) into a new or empty folder. With a signing
    /// key the manifest is signed (manifest.sig); with an encryption key the NDJSON files are
    /// encrypted (manifest.security.json). Key files hold 32 bytes as 64 hex digits.
    ///
    /// Prints: out_dir (as given), manifest (the manifest.json written), contract_version.
    ///
    /// Example:
    ///   mk --db ./mk.sqlite3 db export --out ./snapshot --signing-key-file ./sign.key
    #[command(verbatim_doc_comment)]
    Export {
        /// The snapshot folder to write.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Sign the manifest with this HMAC-SHA256 key file.
        #[arg(long, value_name = "FILE")]
        signing_key_file: Option<PathBuf>,
        /// Encrypt the NDJSON files with this ChaCha20-Poly1305 key file.
        #[arg(long, value_name = "FILE")]
        encrypt_key_file: Option<PathBuf>,
    },
    /// Import a snapshot folder in one transaction
    ///
    /// Verifies digests and the signature (a signed snapshot needs --verify-key-file; an
    /// unsigned one needs --allow-unsigned), decrypts, validates every record and commits
    /// all or nothing. Records already stored are skipped and counted unless
    /// --skip-existing false. The database must exist and be current.
    ///
    /// Prints: in_dir (as given), skip_existing, summary {imported_records,
    /// skipped_existing_records, imported_context_packages, skipped_existing_context_packages,
    /// imported_links, skipped_existing_links}, contract_version.
    ///
    /// Example:
    ///   mk --db ./copy.sqlite3 db import --in ./snapshot --verify-key-file ./sign.key
    #[command(verbatim_doc_comment)]
    Import {
        /// The snapshot folder to read.
        #[arg(long = "in", value_name = "DIR")]
        input: PathBuf,
        /// Skip (and count) records that are already stored; `false` refuses them.
        #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
        skip_existing: bool,
        /// Verify the manifest signature with this key file.
        #[arg(long, value_name = "FILE")]
        verify_key_file: Option<PathBuf>,
        /// Decrypt the NDJSON files with this key file.
        #[arg(long, value_name = "FILE")]
        decrypt_key_file: Option<PathBuf>,
        /// Accept a snapshot that carries no signature.
        #[arg(long)]
        allow_unsigned: bool,
    },
    /// Copy the database to a backup file with SQLite's online backup
    ///
    /// Prints: backup_path (as given), status ("ok"), contract_version.
    ///
    /// An existing --out is refused unless --force is given; the live
    /// database itself is always refused.
    ///
    /// Example:
    ///   mk --db ./mk.sqlite3 db backup --out ./mk.backup.sqlite3
    #[command(verbatim_doc_comment)]
    Backup {
        /// The backup file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace --out when it exists (never the live database).
        #[arg(long)]
        force: bool,
    },
    /// Copy a whole store into a new, empty database of either engine
    ///
    /// Moves a store between SQLite and PostgreSQL (or between two files or two servers):
    /// every record, link, stored context package and outcome event, with the trust
    /// snapshots, in one pass. The target is migrated first and must be empty. After the copy
    /// both sides are counted and digested and must match; the report prints: from, to
    /// (passwords hidden), records, links, context_packages, outcome_events, digest,
    /// contract_version. Everything is written in one transaction of the target: a copy
    /// that fails leaves it empty. A SQLite source of an older layout (a file of the original
    /// MemoryKernel included) is migrated in a temporary copy; the source is never changed.
    /// On a terminal, stderr shows the progress of each stage. --db is not used.
    ///
    /// Example:
    ///   mk db copy --from ./memory_kernel.sqlite3 --to postgres://mk@db.internal/memory
    #[command(verbatim_doc_comment)]
    Copy {
        /// The store to copy: a SQLite file or a postgres:// URL.
        #[arg(long, value_name = "DB")]
        from: PathBuf,
        /// The empty database to copy into: a SQLite file (created when missing) or a
        /// postgres:// URL of an existing database.
        #[arg(long, value_name = "DB")]
        to: PathBuf,
    },
    /// Replace the database with a backup file, atomically
    ///
    /// Prints: restored_from (as given), current_version, target_version, pending_versions
    /// (of the restored database), contract_version.
    ///
    /// Example:
    ///   mk --db ./mk.sqlite3 db restore --in ./mk.backup.sqlite3
    #[command(verbatim_doc_comment)]
    Restore {
        /// The backup file to restore from.
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
    },
    /// Check the database: SQLite quick_check, foreign keys and schema status
    ///
    /// Read-only: never creates or changes the file; the database must be current.
    ///
    /// Prints: quick_check_ok, quick_check_message, foreign_key_violations [{table, rowid,
    /// parent, fk_index}], schema_status {current_version, target_version, pending_versions,
    /// up_to_date, inferred_from_legacy}, contract_version.
    ///
    /// Example:
    ///   mk --db ./mk.sqlite3 db integrity-check
    #[command(verbatim_doc_comment)]
    IntegrityCheck,
    /// Delete context packages stored before an instant
    ///
    /// Packages are derived data: records, links and every index stay; a query re-run at the
    /// same --as-of stores its package again. `context show` of a pruned package answers
    /// context_package_not_found.
    ///
    /// Prints: pruned_packages, remaining_packages, contract_version.
    ///
    /// Example:
    ///   mk --db ./mk.sqlite3 db prune-packages --before 2026-01-01T00:00:00Z
    #[command(verbatim_doc_comment)]
    PrunePackages {
        /// Delete packages stored before this instant, RFC 3339 UTC with `Z`.
        #[arg(long, value_name = "RFC3339")]
        before: String,
    },
}

/// `mk memory …`
#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Add a record (a new memory, or a new version of one with --memory-id)
    ///
    /// Creates and migrates the database when it is missing. Prints the stored record:
    /// memory_version_id, memory_id, version, created_at, effective_at, truth_status,
    /// authority, confidence, writer, justification, provenance {source_uri, source_hash,
    /// evidence}, supersedes, contradicts, payload {record_type, payload}, contract_version.
    #[command(subcommand, verbatim_doc_comment)]
    Add(Box<AddCommand>),
    /// Link two stored versions: `--from` supersedes or contradicts `--to`
    ///
    /// Both ends are memory_version_id values (a memory_id is refused). Creates and migrates
    /// the database when it is missing.
    ///
    /// Prints: from_memory_version_id, to_memory_version_id, relation, writer, justification,
    /// contract_version.
    ///
    /// Example:
    ///   mk memory link --from 01J0000000000000000000000B --to 01J0000000000000000000000A \
    ///     --relation supersedes --writer alice --justification "Policy revised"
    #[command(verbatim_doc_comment)]
    Link(LinkArgs),
    /// List stored records, oldest first (or newest first with --order newest)
    ///
    /// Read-only: never creates or changes the file. Without --limit every matching record
    /// is printed; with --limit N at most N, and next_cursor resumes after them (pass it as
    /// --cursor with the same --order). Time bounds are RFC 3339 UTC: --*-from is inclusive,
    /// --*-before exclusive.
    ///
    /// Prints: records (each as `memory add` prints it, without contract_version),
    /// next_cursor (null when nothing follows), contract_version.
    ///
    /// Examples:
    ///   mk memory list --record-type constraint --limit 20
    ///   mk memory list --order newest --writer security-team --limit 20 --cursor <next_cursor>
    #[command(verbatim_doc_comment)]
    List(ListArgs),
    /// Show one stored record by its memory_version_id
    ///
    /// Read-only. Prints the record as `memory add` printed it; fails with
    /// [`ErrorCode::MemoryNotFound`](memory_kernel_api::ErrorCode::MemoryNotFound) when no version
    /// has the id.
    ///
    /// Example:
    ///   mk memory get --memory-version-id 01J0000000000000000000000A
    #[command(verbatim_doc_comment)]
    Get {
        /// The memory_version_id.
        #[arg(long, value_name = "VERSION_ID", value_parser = canonical_ulid)]
        memory_version_id: String,
    },
    /// Show every version of a memory, its lineage in and out, and the current version
    ///
    /// Read-only. The current version is the highest version that exists at --as-of (default
    /// now) and that no supersedes claim visible at --as-of targets.
    ///
    /// Prints: memory_id, as_of, current_memory_version_id (null when none), versions (each
    /// {record, lineage_out, lineage_in}; a lineage entry is {memory_version_id, relation,
    /// visible_from}), contract_version.
    ///
    /// Example:
    ///   mk memory history --memory-id 01J0000000000000000000000M --as-of 2026-02-01T00:00:00Z
    #[command(verbatim_doc_comment)]
    History {
        /// The memory_id (not a version id).
        #[arg(long, value_name = "ULID", value_parser = canonical_ulid)]
        memory_id: String,
        /// RFC 3339 UTC instant the current version is judged at; defaults to now.
        #[arg(long, value_name = "RFC3339")]
        as_of: Option<String>,
    },
}

/// `mk memory add …`
#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// Add a constraint: a scoped allow or deny answered by `query ask`
    ///
    /// `*` in --actor, --action or --resource matches anything.
    ///
    /// Example:
    ///   mk memory add constraint --actor user --action use --resource usb_drive \
    ///     --effect deny --writer security-team --justification "Removable media is banned" \
    ///     --source-uri file:///policy.md --truth-status asserted --authority authoritative
    #[command(verbatim_doc_comment)]
    Constraint(ConstraintArgs),
    /// Add a decision that was taken
    ///
    /// Example:
    ///   mk memory add decision --summary "Backups go to the encrypted NAS" \
    ///     --writer ops --justification "Agreed in the 2026-01 review" \
    ///     --source-uri https://wiki.example/backups --truth-status asserted --authority derived
    #[command(verbatim_doc_comment)]
    Decision(SummaryArgs),
    /// Add a stated preference
    ///
    /// Example:
    ///   mk memory add preference --summary "Prefers short answers" --writer agent \
    ///     --justification "Said so twice" --source-uri chat://session/42 \
    ///     --truth-status inferred --confidence 0.7 --authority note
    #[command(verbatim_doc_comment)]
    Preference(SummaryArgs),
    /// Add an event: something that happened
    ///
    /// Example:
    ///   mk memory add event --summary "Laptop reimaged" --writer it --justification "Ticket 812" \
    ///     --source-uri https://tickets.example/812 --truth-status observed --authority derived
    #[command(verbatim_doc_comment)]
    Event(SummaryArgs),
    /// Add an outcome: the result of something
    ///
    /// Example:
    ///   mk memory add outcome --summary "Restore drill succeeded" --writer ops \
    ///     --justification "Drill log" --source-uri file:///drill.log --truth-status observed \
    ///     --authority authoritative
    #[command(verbatim_doc_comment)]
    Outcome(SummaryArgs),
}

/// Flags of `memory add constraint`.
#[derive(Debug, Args)]
pub struct ConstraintArgs {
    /// The acting party, e.g. `user` (`*` for any).
    #[arg(long)]
    pub actor: String,
    /// The action, e.g. `use` (`*` for any).
    #[arg(long)]
    pub action: String,
    /// The resource, e.g. `usb_drive` (`*` for any).
    #[arg(long)]
    pub resource: String,
    /// Whether the constraint allows or denies the action.
    #[arg(long, value_parser = wire_enum(Effect::ALL, Effect::as_str))]
    pub effect: Effect,
    /// An optional free-text note.
    #[arg(long)]
    pub note: Option<String>,
    /// Provenance, accountability and lineage.
    #[command(flatten)]
    pub record: RecordFlags,
}

/// Flags of `memory add decision|preference|event|outcome`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The summary text (non-empty).
    #[arg(long)]
    pub summary: String,
    /// Provenance, accountability and lineage.
    #[command(flatten)]
    pub record: RecordFlags,
}

/// Provenance, accountability and lineage flags shared by every `memory add` command.
#[derive(Debug, Args)]
pub struct RecordFlags {
    /// Who is accountable for the record (required, non-empty).
    #[arg(long)]
    pub writer: String,
    /// Why the record is written (required, non-empty).
    #[arg(long)]
    pub justification: String,
    /// Where the claim comes from, a URI with a scheme (e.g. file:///policy.md).
    #[arg(long, value_name = "URI")]
    pub source_uri: String,
    /// How the claim is known (inferred and speculative need --confidence).
    #[arg(long, value_parser = wire_enum(TruthStatus::ALL, TruthStatus::as_str))]
    pub truth_status: TruthStatus,
    /// How much weight the source carries.
    #[arg(long, value_parser = wire_enum(Authority::ALL, Authority::as_str))]
    pub authority: Authority,
    /// Add a new version of this memory (a ULID) instead of a new memory.
    #[arg(long, value_name = "ULID", value_parser = canonical_ulid)]
    pub memory_id: Option<String>,
    /// The expected version; refused unless it is the next version of --memory-id.
    #[arg(long = "version", id = "record_version", value_name = "N")]
    pub version: Option<u32>,
    /// `sha256:` followed by 64 lowercase hex digits of the source.
    #[arg(long, value_name = "sha256:HEX")]
    pub source_hash: Option<String>,
    /// An evidence reference (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub evidence: Vec<String>,
    /// Confidence in [0, 1], separate from --truth-status.
    #[arg(long, value_name = "0..1")]
    pub confidence: Option<f64>,
    /// When the record was written, RFC 3339 UTC with `Z` (default: now).
    #[arg(long, value_name = "RFC3339")]
    pub created_at: Option<String>,
    /// When the record takes effect, RFC 3339 UTC with `Z` (default: --created-at).
    #[arg(long, value_name = "RFC3339")]
    pub effective_at: Option<String>,
    /// A memory_version_id this record replaces (repeatable).
    #[arg(long, value_name = "VERSION_ID", value_parser = canonical_ulid)]
    pub supersedes: Vec<String>,
    /// A memory_version_id this record contradicts (repeatable).
    #[arg(long, value_name = "VERSION_ID", value_parser = canonical_ulid)]
    pub contradicts: Vec<String>,
}

impl From<&RecordFlags> for RecordMetadata {
    /// The flags as the API's record metadata: the one place they are copied.
    fn from(flags: &RecordFlags) -> Self {
        Self {
            memory_id: flags.memory_id.clone(),
            version: flags.version,
            writer: flags.writer.clone(),
            justification: flags.justification.clone(),
            source_uri: flags.source_uri.clone(),
            source_hash: flags.source_hash.clone(),
            evidence: flags.evidence.clone(),
            confidence: flags.confidence,
            truth_status: flags.truth_status,
            authority: flags.authority,
            created_at: flags.created_at.clone(),
            effective_at: flags.effective_at.clone(),
            supersedes: flags.supersedes.clone(),
            contradicts: flags.contradicts.clone(),
        }
    }
}

/// Flags of `memory link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The claiming memory_version_id.
    #[arg(long, value_name = "VERSION_ID", value_parser = canonical_ulid)]
    pub from: String,
    /// The memory_version_id claimed about.
    #[arg(long, value_name = "VERSION_ID", value_parser = canonical_ulid)]
    pub to: String,
    /// How --from relates to --to.
    #[arg(long, value_parser = wire_enum(Relation::ALL, Relation::as_str))]
    pub relation: Relation,
    /// Who is accountable for the link (required, non-empty).
    #[arg(long)]
    pub writer: String,
    /// Why the link is written (required, non-empty).
    #[arg(long)]
    pub justification: String,
    /// When the link was written, RFC 3339 UTC with `Z` (default: now).
    #[arg(long, value_name = "RFC3339")]
    pub created_at: Option<String>,
}

/// Flags of `memory list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only records of this type.
    #[arg(long, value_parser = wire_enum(RecordType::ALL, RecordType::as_str))]
    pub record_type: Option<RecordType>,
    /// Only versions of this memory (a ULID).
    #[arg(long, value_name = "ULID", value_parser = canonical_ulid)]
    pub memory_id: Option<String>,
    /// Only records by this writer (exact match).
    #[arg(long, value_name = "WRITER")]
    pub writer: Option<String>,
    /// Only records in this truth status.
    #[arg(long, value_parser = wire_enum(TruthStatus::ALL, TruthStatus::as_str))]
    pub truth_status: Option<TruthStatus>,
    /// Only records created at or after this instant.
    #[arg(long, value_name = "RFC3339")]
    pub created_from: Option<String>,
    /// Only records created strictly before this instant.
    #[arg(long, value_name = "RFC3339")]
    pub created_before: Option<String>,
    /// Only records in effect at or after this instant.
    #[arg(long, value_name = "RFC3339")]
    pub effective_from: Option<String>,
    /// Only records in effect strictly before this instant.
    #[arg(long, value_name = "RFC3339")]
    pub effective_before: Option<String>,
    /// Oldest (default) or newest first, by creation instant.
    #[arg(long, value_parser = wire_enum(ListOrder::ALL, ListOrder::as_str))]
    pub order: Option<ListOrder>,
    /// Resume after a previous listing: its next_cursor, with the same --order.
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
    /// At most this many records.
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}

/// `mk query …`
#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Ask a policy question: may ACTOR do ACTION to RESOURCE?
    ///
    /// Resolves the matching constraints to allow, deny or inconclusive and prints the
    /// context package: the answer, the records selected and excluded, and why. The package
    /// is stored; `context show` returns it again by id. Creates and migrates the database
    /// when it is missing.
    ///
    /// Prints the package's keys at top level: context_package_id, generated_at, query,
    /// determinism, answer {result, why}, selected_items, excluded_items, ordering_trace,
    /// contract_version.
    ///
    /// Example:
    ///   mk query ask --text "Am I allowed to use a USB drive?" \
    ///     --actor user --action use --resource usb_drive --as-of 2026-02-01T00:00:00Z
    #[command(verbatim_doc_comment)]
    Ask(AskArgs),
    /// Recall the records whose text overlaps the query
    ///
    /// Searches decision, preference, event and outcome records unless --record-type is
    /// given, and prints the stored context package, its keys at top level as for `query
    /// ask` (plus excluded_summary with --exclusions summary). Creates and migrates the
    /// database when it is missing.
    ///
    /// Example:
    ///   mk query recall --text "usb backups" --record-type decision --limit 5 \
    ///     --exclusions summary
    #[command(verbatim_doc_comment)]
    Recall(RecallArgs),
}

/// Flags of `query ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question as asked, kept in the package.
    #[arg(long)]
    pub text: String,
    /// The acting party (a concrete value, not `*`).
    #[arg(long)]
    pub actor: String,
    /// The action (a concrete value, not `*`).
    #[arg(long)]
    pub action: String,
    /// The resource (a concrete value, not `*`).
    #[arg(long)]
    pub resource: String,
    /// Answer as of this instant, RFC 3339 UTC with `Z` (default: now).
    #[arg(long, value_name = "RFC3339")]
    pub as_of: Option<String>,
    /// Gate the selected items by trust: `safe` keeps validated, uncapped items above the
    /// safe threshold; `exploration` also keeps active ones and a probe share. Each selected
    /// item carries the gate's verdict; refused items move to the exclusions.
    #[arg(long, value_name = "MODE", value_parser = wire_enum(&[GateMode::Safe, GateMode::Exploration], GateMode::as_str))]
    pub trust_gate: Option<GateMode>,
    /// How large the package may grow.
    #[command(flatten)]
    pub bounds: BoundsArgs,
}

/// Flags that bound a context package, shared by `query ask` and `query recall`.
#[derive(Debug, Args)]
pub struct BoundsArgs {
    /// At most this many selected items (1 to 1000; default 20).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// List at most this many exclusions, best first (0 to 1000; default 10). Every exclusion
    /// is still counted by reason in `excluded_summary`.
    #[arg(long, value_name = "N")]
    pub exclusion_limit: Option<u32>,
    /// Start the listed exclusions at this position of the ranked list (default 0): page
    /// through every exclusion with --exclusion-limit.
    #[arg(long, value_name = "N")]
    pub exclusion_offset: Option<u32>,
}

/// Flags of `query recall`.
#[derive(Debug, Args)]
pub struct RecallArgs {
    /// Free text; its words are matched against record text.
    #[arg(long)]
    pub text: String,
    /// A record type to search (repeatable; default: decision, preference, event, outcome).
    #[arg(long, value_parser = wire_enum(RecordType::ALL, RecordType::as_str))]
    pub record_type: Vec<RecordType>,
    /// Answer as of this instant, RFC 3339 UTC with `Z` (default: now).
    #[arg(long, value_name = "RFC3339")]
    pub as_of: Option<String>,
    /// Which exclusions are listed: `nearest` (default) lists records that share a term but
    /// were set aside; `full` also lists records sharing no term (scans every record);
    /// `summary` lists none. All are counted in `excluded_summary`.
    #[arg(long, value_parser = wire_enum(ExclusionMode::ALL, ExclusionMode::as_str))]
    pub exclusions: Option<ExclusionMode>,
    /// Gate the selected items by trust: `safe` keeps validated, uncapped items above the
    /// safe threshold; `exploration` also keeps active ones and a probe share. Each selected
    /// item carries the gate's verdict; refused items move to the exclusions.
    #[arg(long, value_name = "MODE", value_parser = wire_enum(&[GateMode::Safe, GateMode::Exploration], GateMode::as_str))]
    pub trust_gate: Option<GateMode>,
    /// How large the package may grow.
    #[command(flatten)]
    pub bounds: BoundsArgs,
}

/// `mk context …`
#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// Show a stored context package by id, exactly as ask or recall returned it
    ///
    /// Read-only: never creates or changes the file. Prints the same object, byte for byte,
    /// that ask or recall printed.
    ///
    /// Example:
    ///   mk context show --context-package-id cp_0123456789abcdef0123456789abcdef
    #[command(verbatim_doc_comment)]
    Show {
        /// The package id (`cp_` + 32 hex digits).
        #[arg(long, value_name = "ID")]
        context_package_id: String,
    },
    /// List stored context packages, one page at a time
    ///
    /// Read-only. Lists committed packages by when they were stored: id, kind (ask, recall,
    /// or a carried kind) and stored_at (null for packages carried over from a layout that
    /// did not record it); `context show` prints one in full.
    ///
    /// Prints: context_packages, next_cursor (null on the last page), contract_version.
    ///
    /// Example:
    ///   mk context list --order newest --limit 20
    #[command(verbatim_doc_comment)]
    List {
        /// Oldest (default) or newest first.
        #[arg(long, value_parser = wire_enum(ListOrder::ALL, ListOrder::as_str))]
        order: Option<ListOrder>,
        /// The next_cursor of the previous page, with the same --order.
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,
        /// Page size, 1 to 1000 (default 50).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
}

/// `mk service …`
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Read a running service's /metrics and check it against the SLO policy
    ///
    /// Fetches URL/metrics, derives per endpoint the requests, failure % (the service's own
    /// failures: 5xx codes and timeouts; caller errors do not count), timeout % and p50/p95/p99
    /// latency (interpolated inside the histogram buckets), checks them against the SLO
    /// policy, and prints a table ending with `verdict: OK|WARNING|CRITICAL`. With --json it
    /// prints `{"service_metrics": …, "contract_version": "cli.v1"}`: the metrics artifact
    /// (service-metrics.v1) stays whole under `service_metrics`, as it is a contract of its
    /// own. Needs no database; --db is ignored.
    ///
    /// Verdict: WARNING for any breach (a p95 over its budget, a timeout or failure rate over
    /// its threshold, schema_unavailable per 1000 requests over its maximum); CRITICAL for a
    /// failure-rate breach together with the schema_unavailable breach.
    ///
    /// Exit code: 0 OK, 3 WARNING, 4 CRITICAL (the report is printed either way); 1 when the
    /// service cannot be read or the URL or policy file is refused, 2 for a usage error.
    ///
    /// Examples:
    ///   mk service diagnostics --url http://127.0.0.1:4010
    ///   mk service diagnostics --url http://127.0.0.1:4010 --json --policy ./slo.json
    #[command(verbatim_doc_comment)]
    Diagnostics {
        /// The service's base URL (plain http://); /metrics is appended unless present.
        #[arg(long, value_name = "URL", env = "MK_SERVICE_URL")]
        url: String,
        /// Print the metrics artifact as JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// The SLO policy file (default: the checked-in
        /// contracts/integration/v1/service-slo-policy.json, built into mk).
        #[arg(long, value_name = "PATH", env = "MK_SLO_POLICY")]
        policy: Option<PathBuf>,
        /// A file holding the service's bearer token (when it runs with --auth-token-file).
        #[arg(long, value_name = "FILE", env = "MK_AUTH_TOKEN_FILE")]
        auth_token_file: Option<PathBuf>,
    },
}

/// A value parser for one of core's wire enums: the allowed values (listed in `--help` and in
/// the usage error for an unknown value) come from the enum's `ALL`, and the value is parsed
/// with the enum's own `FromStr`, so the CLI accepts exactly what every other surface does.
/// A ULID in its canonical spelling (26 upper-case Crockford characters that print back the
/// same); an alias that decodes to another id is a usage error, so it never names a different
/// record than the one typed.
fn canonical_ulid(text: &str) -> Result<String, memory_kernel_core::ValidationError> {
    text.parse::<memory_kernel_core::MemoryId>()
        .map(|_| text.to_owned())
}

fn wire_enum<T>(all: &'static [T], name: fn(T) -> &'static str) -> impl TypedValueParser<Value = T>
where
    T: Copy + FromStr + Send + Sync + 'static,
    T::Err: Error + Send + Sync + 'static,
{
    PossibleValuesParser::new(all.iter().map(|value| PossibleValue::new(name(*value))))
        .try_map(|text| text.parse::<T>())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
