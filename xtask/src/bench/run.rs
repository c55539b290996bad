//! One `cargo xtask bench service` run: build the service, then for each record count seed a
//! fresh database, measure how much recalls grow it, and drive every endpoint row.
//!
//! Per record count the service is started three times over the same temporary database:
//! seeding; the database-growth recalls, between two clean shutdowns so the file sizes are
//! read with the WAL checkpointed; and the measured rows. Every phase is bounded in requests
//! and time, and a [`Service`] is killed whenever it goes out of scope, errors included.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use xshell::Shell;

use super::ServiceBench;
use super::corpus;
use super::drive::{self, CellResult};
use super::report::{GrowthRow, Latency, Machine, Report, Row, SeedRow, Settings};
use crate::slo::requests::HttpRequest;
use crate::slo::service::{self, Service};

/// Client threads of the seeding phase.
const POOL_THREADS: usize = 4;
/// Client threads of the database-growth phase: one recall at a time.
const GROWTH_THREADS: usize = 1;
/// The service's operation timeout during the database-growth phase, in milliseconds. A
/// recall the service answers with a timeout may still store its package afterwards, which
/// would make the bytes per answered recall wrong; with this much time every recall is
/// answered and counted. The measured rows run with the service's default.
const GROWTH_OPERATION_TIMEOUT_MS: &str = "120000";
/// Before each row, and before each clean stop, the run waits until the service is idle:
/// its CPU time grew by at most [`IDLE_TICKS`] clock ticks over one [`SETTLE_STEP`].
/// Work the service started for requests it already answered with a timeout goes on in the
/// background, and would otherwise land in the next row's figures.
const SETTLE_STEP: Duration = Duration::from_millis(500);
/// See [`SETTLE_STEP`]: 2 ticks are 20 ms at the usual 100 ticks per second.
const IDLE_TICKS: u64 = 2;
/// The longest wait for the service to go idle; the row then runs anyway.
const SETTLE_LIMIT: Duration = Duration::from_secs(300);
/// How often seeding sends a record again that the service failed (a write lock held past
/// the service's operation timeout on a busy machine), before the run gives up.
const SEED_RETRIES: u32 = 3;
/// Requests one row may start at most, whatever its duration.
const MAX_REQUESTS_PER_ROW: usize = 2_000_000;
/// Seeding may take this long, plus [`SEED_TIME_PER_RECORD`] per record.
const SEED_TIME_BASE: Duration = Duration::from_secs(120);
/// See [`SEED_TIME_BASE`].
const SEED_TIME_PER_RECORD: Duration = Duration::from_millis(10);
/// The database-growth recalls stop after this long, finished or not (the row says so).
const GROWTH_TIME_LIMIT: Duration = Duration::from_secs(600);
/// The database-growth recalls stop once their answers total this many bytes (each answer
/// is the package the service stores, so this bounds the disk the phase fills).
const GROWTH_BYTE_LIMIT: u64 = 4 << 30;

/// The endpoints of a row, in the order they are driven: the writers last, so the records
/// they add do not change what the reading rows see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Ask,
    Recall,
    Context,
    Health,
    Write,
}

impl Endpoint {
    const ALL: [Self; 5] = [
        Self::Ask,
        Self::Recall,
        Self::Context,
        Self::Health,
        Self::Write,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Ask => "POST /v1/query/ask",
            Self::Recall => "POST /v1/query/recall",
            Self::Context => "GET /v1/context/{id}",
            Self::Health => "GET /v1/health",
            Self::Write => "POST /v1/memory/add/constraint",
        }
    }

    /// The `k`-th request of client `client` in row number `row`.
    fn request(self, row: usize, client: usize, k: usize, package_id: &str) -> HttpRequest {
        match self {
            Self::Ask => corpus::ask(client, k),
            Self::Recall => corpus::recall(client, k),
            Self::Context => corpus::context(package_id),
            Self::Health => corpus::health(),
            Self::Write => corpus::write(row, client, k),
        }
    }
}

/// The labels of every endpoint a run drives, in order.
#[must_use]
pub fn endpoint_labels() -> Vec<&'static str> {
    Endpoint::ALL.iter().map(|e| e.label()).collect()
}

/// An empty report for `args`.
pub(super) fn new_report(args: &ServiceBench) -> Report {
    Report {
        report_version: "service-bench.v1",
        command: args.command_line(),
        complete: false,
        error: None,
        settings: Settings {
            records: args.records.0.clone(),
            connections: args.connections.0.clone(),
            duration_ms: u64::try_from(args.duration.as_millis()).unwrap_or(u64::MAX),
            growth_queries: args.growth_queries,
            profile: if args.debug { "debug" } else { "release" },
        },
        machine: Machine {
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
        },
        seeding: Vec::new(),
        rows: Vec::new(),
        db_growth: Vec::new(),
    }
}

/// Builds the service and measures every record count of `args` into `report`; on an error,
/// `report` keeps what was measured before it.
pub(super) fn run(sh: &Shell, root: &Path, args: &ServiceBench, report: &mut Report) -> Result<()> {
    if args.postgres.is_some() && args.records.0.len() != 1 {
        bail!(
            "--postgres takes one empty database, so it needs exactly one --records count \
             (got {})",
            args.records.0.len()
        );
    }
    let release = !args.debug;
    eprintln!(
        "bench: building memory-kernel-service ({})…",
        report.settings.profile
    );
    let bin_dir = service::build(sh, root, release, &["memory-kernel-service"])?;
    let bin = service::executable(&bin_dir, "memory-kernel-service");
    for &records in &args.records.0 {
        measure(&bin, records, args, report)?;
        if let Some(url) = &args.postgres {
            measure_postgres(&bin, url, records, args, report)?;
        }
    }
    Ok(())
}

/// Seeds the empty PostgreSQL database at `url` with `records` records and measures every
/// endpoint on it, as [`measure`] does on SQLite (without the growth phase, which weighs the
/// SQLite file).
fn measure_postgres(
    bin: &Path,
    url: &str,
    records: usize,
    args: &ServiceBench,
    report: &mut Report,
) -> Result<()> {
    let db = PathBuf::from(url);
    let running = Running::start_with(bin, &db, POOL_THREADS, &["--migrate"])?;
    eprintln!(
        "bench: seeding {records} records on PostgreSQL through {}…",
        running.base
    );
    let mut seeded = seed(&running, records)?;
    seeded.engine = "postgresql";
    report.seeding.push(seeded);
    settle(running.service.pid());
    running.service.stop()?;
    load(bin, &db, records, args, report, "postgresql")
}

/// A service over `db` with its own HTTP agent.
struct Running {
    service: Service,
    agent: ureq::Agent,
    base: String,
}

impl Running {
    fn start(bin: &Path, db: &Path, clients: usize) -> Result<Self> {
        Self::start_with(bin, db, clients, &[])
    }

    fn start_with(bin: &Path, db: &Path, clients: usize, flags: &[&str]) -> Result<Self> {
        let service = Service::start_with(bin, db, flags)?;
        let base = format!("http://{}", service.address);
        Ok(Self {
            service,
            agent: service::agent(clients),
            base,
        })
    }
}

/// Seeds a fresh database with `records` records and measures it.
fn measure(bin: &Path, records: usize, args: &ServiceBench, report: &mut Report) -> Result<()> {
    let temp = tempfile::Builder::new()
        .prefix("mk-bench-")
        .tempdir()
        .context("creating a temporary folder")?;
    let db = temp.path().join("bench.sqlite3");

    let running = Running::start(bin, &db, POOL_THREADS)?;
    eprintln!("bench: seeding {records} records on {}…", running.base);
    report.seeding.push(seed(&running, records)?);

    settle(running.service.pid());
    let checkpointed_before = running.service.stop()?;
    let (bytes_before, _) = database_bytes(&db)?;
    let running = Running::start_with(
        bin,
        &db,
        GROWTH_THREADS,
        &["--operation-timeout-ms", GROWTH_OPERATION_TIMEOUT_MS],
    )?;
    let queries = args.growth_queries;
    eprintln!("bench: {queries} distinct recalls over {records} records, one at a time…");
    let outcome = drive::pool(
        &running.agent,
        &running.base,
        GROWTH_THREADS,
        queries,
        drive::Limits {
            deadline: Instant::now() + GROWTH_TIME_LIMIT,
            response_bytes: GROWTH_BYTE_LIMIT,
            stop_on_failure: false,
            retries: 0,
        },
        &format!("database growth at {records} records"),
        &corpus::growth_recall,
    );
    if let Some(failure) = &outcome.first_failure {
        eprintln!(
            "bench: {} of the growth recalls failed; the first: {}",
            outcome.failed,
            shorten(failure)
        );
    }
    settle(running.service.pid());
    let checkpointed_after = running.service.stop()?;
    let (bytes_after, wal_bytes_after) = database_bytes(&db)?;
    report.db_growth.push(GrowthRow {
        records,
        queries: outcome.succeeded,
        failed: outcome.failed,
        cut_short: outcome.cut_short,
        bytes_before,
        bytes_after,
        wal_bytes_after,
        bytes_per_query: GrowthRow::bytes_per_query(bytes_before, bytes_after, outcome.succeeded),
        checkpointed: checkpointed_before && checkpointed_after,
    });

    load(bin, &db, records, args, report, "sqlite")
}

/// Every endpoint under every connection count, on the seeded database `db`.
fn load(
    bin: &Path,
    db: &Path,
    records: usize,
    args: &ServiceBench,
    report: &mut Report,
    engine: &'static str,
) -> Result<()> {
    let clients = args.connections.0.iter().copied().max().unwrap_or(1);
    let mut running = Running::start(bin, db, clients)?;
    let package_id = recall_package(&running)?;
    let pid = running.service.pid();
    for (endpoint, connections) in Endpoint::ALL
        .iter()
        .flat_map(|e| args.connections.0.iter().map(move |c| (*e, *c)))
    {
        let row_number = report.rows.len();
        let settle_seconds = settle(pid);
        let reset = reset_peak_rss(pid);
        let result = drive::closed_loop(
            &running.agent,
            &running.base,
            connections,
            args.duration,
            MAX_REQUESTS_PER_ROW,
            &|client, k| endpoint.request(row_number, client, k, &package_id),
        );
        running.service.ensure_running()?;
        let peak_rss_kib = peak_rss_kib(pid);
        let mut row = row(endpoint, records, connections, &result, peak_rss_kib, reset);
        row.engine = engine;
        row.settle_seconds = settle_seconds;
        print_progress(&row, &result);
        report.rows.push(row);
    }
    Ok(())
}

/// Writes `records` records with [`POOL_THREADS`] clients; fails on the first refusal.
fn seed(running: &Running, records: usize) -> Result<SeedRow> {
    let limit = SEED_TIME_BASE + SEED_TIME_PER_RECORD * u32::try_from(records).unwrap_or(u32::MAX);
    let outcome = drive::pool(
        &running.agent,
        &running.base,
        POOL_THREADS,
        records,
        drive::Limits {
            deadline: Instant::now() + limit,
            response_bytes: u64::MAX,
            stop_on_failure: true,
            retries: SEED_RETRIES,
        },
        &format!("seeding {records} records"),
        &corpus::record,
    );
    if let Some(failure) = outcome.first_failure {
        bail!("seeding: the service did not store a record ({SEED_RETRIES} retries): {failure}");
    }
    if outcome.cut_short {
        bail!(
            "seeding {records} records did not finish within {limit:?} ({} written)",
            outcome.succeeded
        );
    }
    let seconds = outcome.elapsed.as_secs_f64();
    eprintln!("bench: seeded {records} records in {seconds:.1} s");
    if outcome.retried > 0 {
        eprintln!(
            "bench: seeding sent {} records again after a 5xx or no answer",
            outcome.retried
        );
    }
    Ok(SeedRow {
        engine: "sqlite",
        records,
        threads: POOL_THREADS,
        retries: outcome.retried,
        seconds,
        records_per_second: records as f64 / seconds.max(0.001),
    })
}

/// Stores one recall package and returns its id, for the `context` rows; a recall the
/// service fails is sent again, [`SEED_RETRIES`] times at most.
fn recall_package(running: &Running) -> Result<String> {
    let request = corpus::package_recall();
    let mut answer = service::send(&running.agent, &running.base, &request);
    for _ in 0..SEED_RETRIES {
        if answer.status != 0 && answer.status < 500 {
            break;
        }
        answer = service::send(&running.agent, &running.base, &request);
    }
    if !(200..300).contains(&answer.status) {
        bail!(
            "the recall for the context rows was answered {}: {}",
            answer.status,
            shorten(&answer.body)
        );
    }
    let value: Value = serde_json::from_str(&answer.body)
        .context("the recall for the context rows did not answer JSON")?;
    value["data"]["context_package_id"]
        .as_str()
        .map(str::to_owned)
        .context("the recall for the context rows answered no data.context_package_id")
}

fn row(
    endpoint: Endpoint,
    records: usize,
    connections: usize,
    result: &CellResult,
    peak_rss_kib: Option<u64>,
    reset: bool,
) -> Row {
    Row {
        engine: "sqlite",
        endpoint: endpoint.label(),
        records,
        connections,
        requests: result.requests,
        seconds: result.elapsed.as_secs_f64(),
        requests_per_second: result.requests_per_second(),
        latency_ms: Latency {
            p50: result.latency_ms(0.50),
            p95: result.latency_ms(0.95),
            p99: result.latency_ms(0.99),
            max: result.latency_ms(1.0),
        },
        non_2xx: result.non_2xx,
        transport_errors: result.transport_errors,
        mean_response_bytes: result.mean_response_bytes(),
        peak_rss_kib,
        peak_rss_scope: peak_rss_kib.map(|_| if reset { "row" } else { "service" }),
        settle_seconds: None,
    }
}

fn print_progress(row: &Row, result: &CellResult) {
    eprintln!(
        "bench: {} records, {}, {} connections: {} requests, {:.1} req/s, p95 {} ms, \
         {} non-2xx, {} transport errors",
        row.records,
        row.endpoint,
        row.connections,
        row.requests,
        row.requests_per_second,
        row.latency_ms
            .p95
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}")),
        row.non_2xx,
        row.transport_errors
    );
    if row.non_2xx + row.transport_errors > 0
        && let Some(error) = &result.first_error
    {
        eprintln!("bench:   first error: {}", shorten(error));
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The database file's size plus its WAL's, and the WAL's alone (a missing file is 0).
fn database_bytes(db: &Path) -> Result<(u64, u64)> {
    let mut wal = OsString::from(db.as_os_str());
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let size = |path: &Path| -> Result<u64> {
        match std::fs::metadata(path) {
            Ok(metadata) => Ok(metadata.len()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(0),
            Err(error) => {
                Err(error).with_context(|| format!("reading the size of {}", path.display()))
            }
        }
    };
    let (main, wal) = (size(db)?, size(&wal)?);
    Ok((main + wal, wal))
}

/// Waits until the service is idle (see [`SETTLE_STEP`]), at most [`SETTLE_LIMIT`]; returns
/// the seconds waited, or `None` where its CPU time cannot be read (no `/proc`).
fn settle(pid: u32) -> Option<f64> {
    let start = Instant::now();
    let mut before = cpu_ticks(pid)?;
    loop {
        std::thread::sleep(SETTLE_STEP);
        let now = cpu_ticks(pid)?;
        if now.saturating_sub(before) <= IDLE_TICKS {
            return Some(start.elapsed().as_secs_f64());
        }
        if start.elapsed() >= SETTLE_LIMIT {
            eprintln!("bench: the service was still busy after {SETTLE_LIMIT:?}; going on");
            return Some(start.elapsed().as_secs_f64());
        }
        before = now;
    }
}

/// The process's user plus system CPU time in clock ticks (`/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat_cpu_ticks(&stat))
}

/// Fields 14 and 15 (utime, stime) of a `/proc/<pid>/stat` line, summed. The command name
/// (field 2) is in parentheses and may hold spaces, so fields are counted after its `)`.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) has index 0, so field n has index n - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Resets the process's peak resident set to its current one (Linux: `5` into
/// `/proc/<pid>/clear_refs`); `false` where that is refused or unavailable.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The process's peak resident set in KiB (VmHWM of `/proc/<pid>/status`); `None` where
/// there is no such file.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| vm_hwm_kib(&status))
}

/// The `VmHWM:` line of a `/proc/<pid>/status` text, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|number| number.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_from_the_status_text() {
        let status =
            "Name:\tmemory-kernel-s\nVmPeak:\t  200000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(12_345));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
        assert_eq!(vm_hwm_kib("VmHWM:\t lots kB\n"), None);
    }

    #[test]
    fn cpu_ticks_are_read_after_the_command_name() {
        let stat = "4242 (memory kernel) S 1 4242 4242 0 -1 4194560 500 0 0 0 170 30 0 0 20 0 7";
        assert_eq!(stat_cpu_ticks(stat), Some(200));
        assert_eq!(stat_cpu_ticks("4242 (x) S 1"), None);
        assert_eq!(stat_cpu_ticks("no name at all"), None);
        if cfg!(target_os = "linux") {
            assert!(cpu_ticks(std::process::id()).is_some());
            // An idle process settles after one step.
            let idle = std::process::Command::new("sleep")
                .arg("5")
                .spawn()
                .unwrap();
            let waited = settle(idle.id());
            let _ = { idle }.kill();
            assert!(waited.is_some_and(|s| s < 2.0), "{waited:?}");
        }
    }

    #[test]
    fn this_process_has_a_peak_rss_on_linux_and_none_elsewhere() {
        let peak = peak_rss_kib(std::process::id());
        if cfg!(target_os = "linux") {
            assert!(peak.is_some_and(|kib| kib > 0), "{peak:?}");
        } else {
            assert_eq!(peak, None);
        }
    }

    #[test]
    fn database_bytes_add_the_wal_and_treat_missing_files_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.sqlite3");
        assert_eq!(database_bytes(&db).unwrap(), (0, 0));
        std::fs::write(&db, [0_u8; 100]).unwrap();
        assert_eq!(database_bytes(&db).unwrap(), (100, 0));
        std::fs::write(dir.path().join("x.sqlite3-wal"), [0_u8; 30]).unwrap();
        assert_eq!(database_bytes(&db).unwrap(), (130, 30));
    }

    #[test]
    fn writers_come_last_and_every_endpoint_has_a_distinct_label() {
        let labels = endpoint_labels();
        assert_eq!(labels.last(), Some(&"POST /v1/memory/add/constraint"));
        let mut unique = labels.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), labels.len());
    }

    #[test]
    fn long_texts_are_shortened_on_a_char_boundary() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(400);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), 301);
        assert!(short.ends_with('…'));
    }
}
