//! `cargo xtask bench service`: a load benchmark of the real HTTP service; `cargo xtask
//! bench gates`: the governance gates timed as the built binary ([`gates`]).
//!
//! It builds `memory-kernel-service` (release by default), runs it on a free loopback port
//! over a temporary database, seeds records through the HTTP API and drives each endpoint
//! with closed-loop clients; see [`ServiceBench`] for what it measures. The service pieces
//! (building, starting, stopping, sending) are the ones `cargo xtask slo` uses. Not a gate:
//! the figures depend on the machine, so nothing is enforced.

mod corpus;
mod drive;
pub mod gates;
pub mod report;
mod run;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use xshell::Shell;

pub use run::endpoint_labels;

/// Benchmarks of the whole product.
#[derive(Debug, Clone, clap::Args)]
pub struct Bench {
    /// What to benchmark.
    #[command(subcommand)]
    pub target: BenchTarget,
}

/// What `cargo xtask bench` can measure.
// No variant docs: clap would show them instead of the Args struct's doc (the help text).
#[allow(missing_docs)]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchTarget {
    Service(ServiceBench),
    Gates(gates::GatesBench),
}

/// Load the HTTP service and report throughput, latency, errors and database growth
///
/// Builds memory-kernel-service (release; --debug for the dev profile), then for each
/// --records count:
///   1. starts the service on 127.0.0.1 (free port) over a fresh temporary database and
///      seeds that many records over HTTP with 4 client threads (one in five a constraint,
///      the rest decisions, preferences, events and outcomes with skewed topic words, so
///      recalls match many or few records; deterministic, progress on stderr);
///   2. stops it cleanly (SIGTERM, so SQLite checkpoints the WAL), reads the database size,
///      sends --growth-queries recalls with distinct texts one at a time (with a 120 s
///      operation timeout, so each is answered; at most 10 minutes and 4 GiB of answers),
///      stops it again and reports the bytes added per answered recall (file plus WAL);
///   3. restarts it, stores one recall package, and for each endpoint and each
///      --connections count drives the endpoint for --duration with one closed-loop client
///      per connection: POST /v1/query/ask, POST /v1/query/recall (limit 20),
///      GET /v1/context/{id} (that package), GET /v1/health, POST /v1/memory/add/constraint.
///      Before each row it waits (up to 5 minutes) until the service is idle, since work
///      for requests it already answered with a timeout goes on in the background.
///
/// Prints one row per endpoint × records × connections: requests, req/s, client-side
/// p50/p95/p99 latency, non-2xx answers, transport errors, mean response bytes and the
/// service's peak RSS during the row (VmHWM on Linux, "n/a" elsewhere). --json PATH also
/// writes the report (service-bench.v1) atomically. The service is killed on every way out;
/// Ctrl-C in a terminal reaches it too (same process group), and it shuts down on its own.
/// Not a gate: nothing is enforced.
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ServiceBench {
    /// Record counts, comma-separated; each is seeded into a fresh database (1 to 1000000).
    #[arg(long, value_name = "N,…", default_value = "10000,100000", value_parser = parse_records)]
    pub records: Counts,
    /// Client connection counts, comma-separated (1 to 64).
    #[arg(long, value_name = "N,…", default_value = "1,16", value_parser = parse_connections)]
    pub connections: Counts,
    /// How long each row's load runs: a whole number with `ms`, `s` or `m` (100ms to 60m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Distinct recalls of the database-growth phase (1 to 100000).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = parse_growth_queries)]
    pub growth_queries: usize,
    /// Also write the report as JSON to PATH (relative to the current folder).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Build and run the dev profile instead of release (for trying the command out).
    #[arg(long)]
    pub debug: bool,
    /// Also measure the service on this PostgreSQL database, after SQLite, in the same run
    /// (rows say which engine). The database must exist and be empty; it needs exactly one
    /// --records count. The growth phase is SQLite's only (it weighs the file).
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

/// A list of distinct counts, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub Vec<usize>);

impl ServiceBench {
    /// The command line that repeats this run (without `--json`).
    #[must_use]
    pub fn command_line(&self) -> String {
        let list = |counts: &Counts| {
            counts
                .0
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut line = format!(
            "cargo xtask bench service --records {} --connections {} --duration {} \
             --growth-queries {}",
            list(&self.records),
            list(&self.connections),
            format_duration(self.duration),
            self.growth_queries
        );
        if self.debug {
            line.push_str(" --debug");
        }
        if let Some(url) = &self.postgres {
            line.push_str(&format!(" --postgres {url}"));
        }
        line
    }
}

/// Runs `cargo xtask bench`.
///
/// # Errors
/// A `--json` path that cannot be written, a build or start failure, a seeding failure, or
/// the service exiting during the run.
pub fn run(sh: &Shell, args: &Bench) -> Result<()> {
    match &args.target {
        BenchTarget::Service(args) => run_service(sh, args),
        BenchTarget::Gates(args) => {
            let json = args.json.as_deref().map(json_path).transpose()?;
            gates::run(&sh.current_dir(), args, json.as_deref())
        }
    }
}

fn run_service(sh: &Shell, args: &ServiceBench) -> Result<()> {
    let json = args.json.as_deref().map(json_path).transpose()?;
    let root = sh.current_dir();
    let mut report = run::new_report(args);
    let result = run::run(sh, &root, args, &mut report);
    match &result {
        Ok(()) => report.complete = true,
        Err(error) => report.error = Some(format!("{error:#}")),
    }
    // A run that stopped after seeding something still reports what it measured.
    if result.is_ok() || !report.seeding.is_empty() {
        print!("{}", report::render(&report));
        if let Some(path) = json {
            crate::atomic_file::write_json(&path, &report)?;
            println!("bench: wrote {}", path.display());
        }
    }
    result
}

/// `path` made absolute against the current folder, checked before anything runs: its
/// folder must exist and it must not be a folder itself.
fn json_path(path: &Path) -> Result<PathBuf> {
    let path = std::env::current_dir()
        .context("cannot read the current directory")?
        .join(path);
    if path.is_dir() {
        bail!("--json {}: is a folder, not a file", path.display());
    }
    match path.parent() {
        Some(parent) if parent.is_dir() => Ok(path),
        _ => bail!(
            "--json {}: its folder does not exist; create it first",
            path.display()
        ),
    }
}

fn parse_counts(text: &str, min: usize, max: usize) -> Result<Counts, String> {
    let mut counts = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let count: usize = part
            .parse()
            .map_err(|_| format!("`{part}` is not a whole number"))?;
        if !(min..=max).contains(&count) {
            return Err(format!("{count} is not between {min} and {max}"));
        }
        if counts.contains(&count) {
            return Err(format!("{count} is listed twice"));
        }
        counts.push(count);
    }
    if counts.len() > 8 {
        return Err("at most 8 values".to_owned());
    }
    Ok(Counts(counts))
}

fn parse_records(text: &str) -> Result<Counts, String> {
    parse_counts(text, 1, 1_000_000)
}

fn parse_connections(text: &str) -> Result<Counts, String> {
    parse_counts(text, 1, 64)
}

fn parse_growth_queries(text: &str) -> Result<usize, String> {
    let count: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number"))?;
    if !(1..=100_000).contains(&count) {
        return Err(format!("{count} is not between 1 and 100000"));
    }
    Ok(count)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. 10s, 500ms or 2m"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => return Err(format!("`{unit}` is not a unit: use ms, s or m")),
    };
    if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&duration) {
        return Err(format!("{text} is not between 100ms and 60m"));
    }
    Ok(duration)
}

fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_lists_are_distinct_bounded_whole_numbers() {
        assert_eq!(
            parse_records("10000,100000"),
            Ok(Counts(vec![10_000, 100_000]))
        );
        assert_eq!(parse_connections(" 1, 16"), Ok(Counts(vec![1, 16])));
        for (bad, message) in [
            ("0", "0 is not between 1 and 1000000"),
            ("2000000", "not between"),
            ("abc", "`abc` is not a whole number"),
            ("", "`` is not a whole number"),
            ("10,", "`` is not a whole number"),
            ("-5", "`-5` is not a whole number"),
            ("10,10", "10 is listed twice"),
            ("1,2,3,4,5,6,7,8,9", "at most 8 values"),
        ] {
            let error = parse_records(bad).err().unwrap_or_default();
            assert!(error.contains(message), "{bad}: {error}");
        }
        assert!(parse_connections("65").is_err());
    }

    #[test]
    fn durations_need_a_unit_and_a_sane_size() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "10",
            "s",
            "1.5s",
            "10x",
            "0s",
            "50ms",
            "61m",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn growth_queries_are_bounded() {
        assert_eq!(parse_growth_queries("1000"), Ok(1000));
        assert!(parse_growth_queries("0").is_err());
        assert!(parse_growth_queries("100001").is_err());
        assert!(parse_growth_queries("many").is_err());
    }

    #[test]
    fn the_command_line_repeats_the_settings() {
        let args = ServiceBench {
            records: Counts(vec![200]),
            connections: Counts(vec![1, 2]),
            duration: Duration::from_millis(1500),
            growth_queries: 50,
            json: Some(PathBuf::from("x.json")),
            debug: true,
            postgres: None,
        };
        assert_eq!(
            args.command_line(),
            "cargo xtask bench service --records 200 --connections 1,2 --duration 1500ms \
             --growth-queries 50 --debug"
        );
        let on_postgres = ServiceBench {
            postgres: Some("postgres://mk@127.0.0.1/bench".to_owned()),
            debug: false,
            ..args
        };
        assert!(
            on_postgres
                .command_line()
                .ends_with("--growth-queries 50 --postgres postgres://mk@127.0.0.1/bench")
        );
    }

    #[test]
    fn the_json_path_must_be_a_file_in_an_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(json_path(&dir.path().join("report.json")).is_ok());
        let missing = json_path(&dir.path().join("no/such/report.json"));
        assert!(missing.is_err_and(|e| e.to_string().contains("its folder does not exist")),);
        let folder = json_path(dir.path());
        assert!(folder.is_err_and(|e| e.to_string().contains("is a folder")));
    }
}
