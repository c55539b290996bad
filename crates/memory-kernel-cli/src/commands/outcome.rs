//! `mk outcome …`: the trust layer's commands, with the original `mk outcome` flags and
//! output shapes (`docs/spec/outcome.md`). Each command works on an existing database whose
//! schema is current and never migrates it; reading commands write nothing.

use std::path::Path;
use std::str::FromStr;

use clap::{Args, Subcommand, ValueEnum};
use memory_kernel_api::outcome::{PROJECTOR_CHECK_CONTRACT, PROJECTOR_STATUS_CONTRACT};
use memory_kernel_api::{ErrorCode, ProjectorCheck, ProjectorStatus, StaleKey};
use memory_kernel_core::{MemoryId, Timestamp, ValidationError};
use memory_kernel_outcome::{
    EventType, GateMode, NewOutcomeEvent, OutcomeError, Severity, parse_candidate,
};
use serde::Serialize;

use super::open_current;
use crate::failure::Failure;
use crate::output::Output;

/// `mk outcome …`
#[derive(Debug, Subcommand)]
pub enum OutcomeCommand {
    /// Log the outcome of using a memory version (success, failure, ignored, unknown)
    Log(LogArgs),
    /// Manual trust decisions: set a confidence, promote, retire
    #[command(subcommand)]
    Manual(ManualCommand),
    /// System events: an authoritative contradiction, inherited trust
    #[command(subcommand)]
    System(SystemCommand),
    /// Show trust snapshots
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Rebuild trust snapshots from the events (all keys, or keys with an event at or after
    /// --from-event-seq)
    Replay {
        /// Only keys with an event at or after this sequence number (their whole stream).
        #[arg(long)]
        from_event_seq: Option<i64>,
    },
    /// List outcome events
    #[command(subcommand)]
    Events(EventsCommand),
    /// Projector health: status, check, stale keys
    #[command(subcommand)]
    Projector(ProjectorCommand),
    /// Gate decisions (safe or exploration) for memory versions
    #[command(subcommand)]
    Gate(GateCommand),
    /// Latency benchmark of appends, replay and gate decisions against the SLO budgets
    #[command(subcommand)]
    Benchmark(super::outcome_benchmark::BenchmarkCommand),
}

/// The flags every outcome write takes.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The memory (a ULID, any case).
    #[arg(long)]
    memory_id: String,
    /// The memory version (>= 1).
    #[arg(long)]
    version: u32,
    /// Who records the event.
    #[arg(long)]
    writer: String,
    /// Why the event is recorded.
    #[arg(long)]
    justification: String,
    /// The context (run, task, package) the memory was used in.
    #[arg(long)]
    context_id: Option<String>,
    /// When it happened (RFC 3339, UTC `Z`); now by default.
    #[arg(long)]
    occurred_at: Option<String>,
    /// The ruleset that scores the event.
    #[arg(long, default_value_t = 1)]
    ruleset_version: u32,
    /// Opaque JSON stored with the event.
    #[arg(long, default_value = "{}")]
    payload_json: String,
}

/// An outcome of use.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LoggedEvent {
    /// The memory helped.
    Success,
    /// The memory misled.
    Failure,
    /// The memory was offered and not used.
    Ignored,
    /// The result is not known.
    Unknown,
}

/// A severity.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SeverityArg {
    /// Low.
    Low,
    /// Medium.
    Med,
    /// High.
    High,
}

impl From<SeverityArg> for Severity {
    fn from(value: SeverityArg) -> Self {
        match value {
            SeverityArg::Low => Self::Low,
            SeverityArg::Med => Self::Med,
            SeverityArg::High => Self::High,
        }
    }
}

/// A gate mode.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Validated versions only.
    Safe,
    /// Also active versions and a probe share.
    Exploration,
}

/// `mk outcome log`
#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    write: WriteArgs,
    /// What happened.
    #[arg(long, value_enum)]
    event: LoggedEvent,
    /// The content was edited before use (a success counts half).
    #[arg(long)]
    edited: bool,
    /// The event is escalated (its severity multiplies its weight).
    #[arg(long)]
    escalated: bool,
    /// Severity of an escalated event.
    #[arg(long, value_enum)]
    severity: Option<SeverityArg>,
}

/// `mk outcome manual …`
#[derive(Debug, Subcommand)]
pub enum ManualCommand {
    /// Set the confidence (write negative numbers as --value=-0.1)
    SetConfidence {
        #[command(flatten)]
        write: WriteArgs,
        /// The confidence, in [0, 1].
        #[arg(long)]
        value: f32,
        /// Let the value pass a contradiction cap.
        #[arg(long)]
        override_cap: bool,
    },
    /// Make the version active again; validation must be re-earned
    Promote(WriteArgs),
    /// Retire the version (sticky until promoted or inherited)
    Retire(WriteArgs),
}

/// `mk outcome system …`
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// An authoritative source contradicted the version: degrade and cap
    Contradiction {
        #[command(flatten)]
        write: WriteArgs,
        /// Mark the event escalated.
        #[arg(long)]
        escalated: bool,
        /// Severity of an escalated event.
        #[arg(long, value_enum)]
        severity: Option<SeverityArg>,
    },
    /// Pass trust on from a source confidence (resets baseline, cap and window)
    Inherit {
        #[command(flatten)]
        write: WriteArgs,
        /// The confidence of the source, in [0, 1].
        #[arg(long)]
        source_confidence: f32,
    },
}

/// `mk outcome trust …`
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Show one version's trust snapshot, decayed to --as-of when given
    Show {
        /// The memory.
        #[arg(long)]
        memory_id: String,
        /// The memory version.
        #[arg(long)]
        version: u32,
        /// Read trust as of this instant (RFC 3339, UTC).
        #[arg(long)]
        as_of: Option<String>,
    },
}

/// `mk outcome events …`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List one version's events, oldest first (--limit keeps the newest n)
    List {
        /// The memory.
        #[arg(long)]
        memory_id: String,
        /// The memory version.
        #[arg(long)]
        version: u32,
        /// Keep only the newest n events.
        #[arg(long)]
        limit: Option<u32>,
    },
}

/// `mk outcome projector …`
#[derive(Debug, Subcommand)]
pub enum ProjectorCommand {
    /// Projector status (projector_status.v1)
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Projector check (projector_check.v1); exits 1 when unhealthy
    Check {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Keys whose snapshot is missing or out of date
    StaleKeys {
        /// At most this many keys.
        #[arg(long)]
        limit: Option<u32>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `mk outcome gate …`
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Gate decisions for candidates (gate_preview.v1)
    Preview {
        /// The gate mode.
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// The instant to read trust at (RFC 3339, UTC).
        #[arg(long)]
        as_of: String,
        /// The context the exploration probe is keyed by.
        #[arg(long)]
        context_id: Option<String>,
        /// A candidate `<memory_id>:<version>` (repeatable).
        #[arg(long)]
        candidate: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn invalid(message: String) -> Failure {
    Failure::new(ErrorCode::ValidationError, message)
}

fn memory_id(raw: &str) -> Result<MemoryId, Failure> {
    MemoryId::from_str(raw).map_err(|_| invalid(format!("invalid ULID: {raw}")))
}

fn timestamp(raw: &str) -> Result<Timestamp, ValidationError> {
    raw.parse::<Timestamp>()
}

fn occurred_at(raw: Option<&str>) -> Result<Timestamp, Failure> {
    raw.map_or_else(
        || Ok(Timestamp::now()),
        |raw| timestamp(raw).map_err(|e| invalid(format!("invalid timestamp: {e}"))),
    )
}

fn as_of(raw: &str) -> Result<Timestamp, Failure> {
    timestamp(raw).map_err(|e| invalid(format!("invalid --as-of value: {e}")))
}

fn outcome_failure(error: &OutcomeError) -> Failure {
    invalid(error.to_string())
}

fn pretty<T: Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value).map_err(|e| {
        Failure::new(
            ErrorCode::InternalError,
            format!("cannot render output: {e}"),
        )
    })
}

fn text(text: String) -> Output {
    Output::Text { text, exit_code: 0 }
}

fn new_event(write: &WriteArgs, event_type: EventType) -> Result<NewOutcomeEvent, Failure> {
    let payload_json = serde_json::from_str(&write.payload_json).map_err(|_| {
        invalid(format!(
            "payload_json must be valid JSON: {}",
            write.payload_json
        ))
    })?;
    Ok(NewOutcomeEvent {
        event_id: None,
        ruleset_version: write.ruleset_version,
        memory_id: memory_id(&write.memory_id)?,
        version: write.version,
        event_type,
        occurred_at: occurred_at(write.occurred_at.as_deref())?,
        writer: write.writer.clone(),
        justification: write.justification.clone(),
        context_id: write.context_id.clone(),
        edited: false,
        escalated: false,
        severity: None,
        manual_confidence: None,
        override_cap: false,
        payload_json,
    })
}

/// The write a command makes, or `None` for a reading command.
fn write_of(command: &OutcomeCommand) -> Result<Option<NewOutcomeEvent>, Failure> {
    let event = match command {
        OutcomeCommand::Log(args) => {
            let event_type = match args.event {
                LoggedEvent::Success => EventType::Success,
                LoggedEvent::Failure => EventType::Failure,
                LoggedEvent::Ignored => EventType::Ignored,
                LoggedEvent::Unknown => EventType::Unknown,
            };
            NewOutcomeEvent {
                edited: args.edited,
                escalated: args.escalated,
                severity: args.severity.map(Severity::from),
                ..new_event(&args.write, event_type)?
            }
        }
        OutcomeCommand::Manual(ManualCommand::SetConfidence {
            write,
            value,
            override_cap,
        }) => NewOutcomeEvent {
            manual_confidence: Some(*value),
            override_cap: *override_cap,
            ..new_event(write, EventType::ManualSetConfidence)?
        },
        OutcomeCommand::Manual(ManualCommand::Promote(write)) => {
            new_event(write, EventType::ManualPromote)?
        }
        OutcomeCommand::Manual(ManualCommand::Retire(write)) => {
            new_event(write, EventType::ManualRetire)?
        }
        OutcomeCommand::System(SystemCommand::Contradiction {
            write,
            escalated,
            severity,
        }) => NewOutcomeEvent {
            escalated: *escalated,
            severity: severity.map(Severity::from),
            ..new_event(write, EventType::AuthoritativeContradiction)?
        },
        OutcomeCommand::System(SystemCommand::Inherit {
            write,
            source_confidence,
        }) => NewOutcomeEvent {
            manual_confidence: Some(*source_confidence),
            ..new_event(write, EventType::Inherited)?
        },
        _ => return Ok(None),
    };
    Ok(Some(event))
}

/// Runs an `outcome` command against the database at `db`.
///
/// # Errors
/// [`ErrorCode::ValidationError`] for a bad flag value, a refused event, a missing snapshot or
/// candidate; [`ErrorCode::SchemaUnavailable`] for a missing or unmigrated file; store failures.
pub fn run(command: &OutcomeCommand, db: &Path) -> Result<Output, Failure> {
    // The benchmark works on its own temporary databases and never touches `db`.
    if let OutcomeCommand::Benchmark(benchmark) = command {
        return super::outcome_benchmark::run(benchmark);
    }
    // Arguments are checked before the database is opened, so a bad flag reads nothing.
    let write = write_of(command)?;
    let kernel = open_current(db)?;
    if let Some(event) = write {
        let stored = kernel.log_outcome(event, None)?;
        return Ok(text(pretty(&stored)?));
    }
    match command {
        OutcomeCommand::Trust(TrustCommand::Show {
            memory_id: id,
            version,
            as_of: at,
        }) => {
            let at = at.as_deref().map(as_of).transpose()?;
            let snapshot = kernel.trust_snapshot(memory_id(id)?, *version, at)?;
            Ok(text(pretty(&snapshot)?))
        }
        OutcomeCommand::Replay { from_event_seq } => Ok(text(pretty(
            &kernel.replay_outcomes(*from_event_seq, None)?,
        )?)),
        OutcomeCommand::Events(EventsCommand::List {
            memory_id: id,
            version,
            limit,
        }) => Ok(text(pretty(&kernel.outcome_events(
            memory_id(id)?,
            *version,
            *limit,
        )?)?)),
        OutcomeCommand::Projector(ProjectorCommand::Status { json }) => {
            let status = kernel.projector_status()?;
            Ok(text(if *json {
                pretty(&StatusOutput::new(&status))?
            } else {
                status_lines(&status)
            }))
        }
        OutcomeCommand::Projector(ProjectorCommand::Check { json }) => {
            let check = kernel.projector_check()?;
            let body = if *json {
                pretty(&CheckOutput::new(&check))?
            } else {
                check_text(&check)
            };
            Ok(Output::Text {
                text: body,
                exit_code: u8::from(!check.healthy),
            })
        }
        OutcomeCommand::Projector(ProjectorCommand::StaleKeys { limit, json }) => {
            let keys = kernel.stale_trust_keys(*limit)?;
            Ok(text(if *json {
                pretty(&keys)?
            } else {
                stale_table(&keys)
            }))
        }
        OutcomeCommand::Gate(GateCommand::Preview {
            mode,
            as_of: at,
            context_id,
            candidate,
            json,
        }) => {
            let mode = match mode {
                ModeArg::Safe => GateMode::Safe,
                ModeArg::Exploration => GateMode::Exploration,
            };
            let at = as_of(at)?;
            let candidates = candidate
                .iter()
                .map(|raw| parse_candidate(raw).map_err(|e| outcome_failure(&e)))
                .collect::<Result<Vec<_>, _>>()?;
            let preview = kernel.gate_preview(mode, at, context_id.clone(), candidates)?;
            Ok(text(if *json {
                pretty(&preview)?
            } else {
                gate_table(&preview)
            }))
        }
        _ => Err(Failure::new(
            ErrorCode::InternalError,
            "outcome command without a handler",
        )),
    }
}

/// `projector_status.v1`: the version first, then the status.
#[derive(Serialize)]
struct StatusOutput<'a> {
    contract_version: &'static str,
    #[serde(flatten)]
    status: &'a ProjectorStatus,
}

impl<'a> StatusOutput<'a> {
    const fn new(status: &'a ProjectorStatus) -> Self {
        Self {
            contract_version: PROJECTOR_STATUS_CONTRACT,
            status,
        }
    }
}

/// `projector_check.v1`.
#[derive(Serialize)]
struct CheckOutput<'a> {
    contract_version: &'static str,
    healthy: bool,
    status: StatusOutput<'a>,
    issues: &'a [memory_kernel_api::ProjectorIssue],
    stale_key_sample: &'a [StaleKey],
}

impl<'a> CheckOutput<'a> {
    fn new(check: &'a ProjectorCheck) -> Self {
        Self {
            contract_version: PROJECTOR_CHECK_CONTRACT,
            healthy: check.healthy,
            status: StatusOutput::new(&check.status),
            issues: &check.issues,
            stale_key_sample: &check.stale_key_sample,
        }
    }
}

fn status_lines(s: &ProjectorStatus) -> String {
    format!(
        "contract={PROJECTOR_STATUS_CONTRACT} projector={} ruleset={} projected_event_seq={} \
         latest_event_seq={} lag_events={} lag_delta={}\ntracked_keys={} trust_rows={} \
         stale_trust_rows={} keys_with_events_no_trust_row={} trust_rows_without_events={} \
         max_stale_seq_gap={} updated_at={}",
        s.projector_name,
        s.ruleset_version,
        s.projected_event_seq,
        s.latest_event_seq,
        s.lag_events,
        s.lag_delta_events,
        s.tracked_keys,
        s.trust_rows,
        s.stale_trust_rows,
        s.keys_with_events_no_trust_row,
        s.trust_rows_without_events,
        s.max_stale_seq_gap,
        s.updated_at.as_deref().unwrap_or("n/a"),
    )
}

fn check_text(check: &ProjectorCheck) -> String {
    let mut out = format!(
        "contract={PROJECTOR_CHECK_CONTRACT}\n{}\nhealthy={}",
        status_lines(&check.status),
        if check.healthy { "yes" } else { "no" }
    );
    if !check.issues.is_empty() {
        let issues: Vec<String> = check
            .issues
            .iter()
            .map(|i| format!("{}:{}:{}", i.severity, i.code, i.message))
            .collect();
        out.push_str(&format!(
            "\nissues={}\nhint=run `mk outcome projector stale-keys --json` for affected keys",
            issues.join(" | ")
        ));
    }
    out
}

fn stale_table(keys: &[StaleKey]) -> String {
    let mut out = format!(
        "memory_id version max_event_seq projected_event_seq\n{}",
        "-".repeat(80)
    );
    for k in keys {
        out.push_str(&format!(
            "\n{} {} {} {}",
            k.memory_id,
            k.version,
            k.max_event_seq,
            k.projected_event_seq
                .map_or_else(|| "none".to_owned(), |s| s.to_string())
        ));
    }
    out
}

fn gate_table(preview: &memory_kernel_api::GatePreview) -> String {
    let mode = match preview.mode {
        GateMode::Safe => "Safe",
        GateMode::Exploration => "Exploration",
    };
    let mut out = format!(
        "mode: {mode}\n{:<32} {:<7} {:<8} {:<10} {:<7} reasons\n{}",
        "memory_id",
        "version",
        "include",
        "confidence",
        "capped",
        "-".repeat(110)
    );
    for d in &preview.decisions {
        out.push_str(&format!(
            "\n{:<32} {:<7} {:<8} {:<10.3} {:<7} {}",
            d.memory_id.to_string(),
            d.version,
            if d.include { "yes" } else { "no" },
            d.confidence_effective,
            if d.capped { "yes" } else { "no" },
            d.reason_codes.join(",")
        ));
    }
    out
}
