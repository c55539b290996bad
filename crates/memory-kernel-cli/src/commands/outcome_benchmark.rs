//! `mk outcome benchmark run`: times outcome appends, a full replay and a gate decision over
//! fresh temporary databases and checks the p95 figures against budgets — by default those of
//! `outcome_benchmark` in the SLO policy (`contracts/integration/v1/service-slo-policy.json`),
//! the one place they are written. See `docs/spec/outcome.md`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use memory_kernel_api::{AddSummaryRequest, ErrorCode, MemoryKernel, RecordMetadata};
use memory_kernel_core::{Authority, RecordType, Timestamp, TruthStatus};
use memory_kernel_outcome::{Candidate, EventType, GateMode, NewOutcomeEvent};
use serde::Serialize;

use crate::diagnostics::SloPolicy;
use crate::failure::Failure;
use crate::output::Output;

/// The version of the benchmark report.
pub const BENCHMARK_REPORT_CONTRACT: &str = "benchmark_report.v1";

/// `mk outcome benchmark …`
#[derive(Debug, Subcommand)]
pub enum BenchmarkCommand {
    /// Time appends, a full replay and a gate decision per event volume; exit 1 when a p95
    /// exceeds its budget (the report is still printed and written)
    Run(BenchmarkArgs),
}

/// Flags of `outcome benchmark run`.
#[derive(Debug, Args)]
pub struct BenchmarkArgs {
    /// An event volume to run (repeatable; default: the SLO policy's, 100, 500 and 2000).
    #[arg(long = "volume", value_name = "N")]
    volumes: Vec<u64>,
    /// Runs per volume, each on a fresh database (>= 1; default: the SLO policy's, 3).
    #[arg(long, value_name = "R")]
    repetitions: Option<u32>,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Print the JSON report instead of a table.
    #[arg(long)]
    json: bool,
    /// Budget of one append's p95, ms (with the other two; default: the SLO policy's).
    #[arg(long, value_name = "MS")]
    append_p95_max_ms: Option<f64>,
    /// Budget of one full replay's p95, ms (with the other two).
    #[arg(long, value_name = "MS")]
    replay_p95_max_ms: Option<f64>,
    /// Budget of one gate decision's p95, ms (with the other two).
    #[arg(long, value_name = "MS")]
    gate_p95_max_ms: Option<f64>,
}

/// The p95 budgets a report is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Largest append p95, ms.
    pub append_p95_ms_max: f64,
    /// Largest replay p95, ms.
    pub replay_p95_ms_max: f64,
    /// Largest gate p95, ms.
    pub gate_p95_ms_max: f64,
}

/// The figures of one volume, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VolumeFigures {
    /// Events appended per repetition.
    pub event_count: u64,
    /// Median append.
    pub append_p50_ms: f64,
    /// 95th percentile append (all repetitions' appends pooled).
    pub append_p95_ms: f64,
    /// Median replay.
    pub replay_p50_ms: f64,
    /// 95th percentile replay (one per repetition).
    pub replay_p95_ms: f64,
    /// Median gate decision.
    pub gate_p50_ms: f64,
    /// 95th percentile gate decision (one per repetition).
    pub gate_p95_ms: f64,
}

/// `benchmark_report.v1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkReport {
    /// `benchmark_report.v1`.
    pub contract_version: &'static str,
    /// When the run finished.
    pub generated_at: Timestamp,
    /// Runs per volume.
    pub repetitions: u32,
    /// One entry per volume, in the order given.
    pub volumes: Vec<VolumeFigures>,
    /// The budgets checked.
    pub thresholds: Option<Thresholds>,
    /// Whether no p95 exceeds its budget.
    pub within_thresholds: bool,
    /// One line per p95 above its budget.
    pub violations: Vec<String>,
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(ErrorCode::ValidationError, message)
}

fn internal(message: impl Into<String>) -> Failure {
    Failure::new(ErrorCode::InternalError, message)
}

/// Runs the benchmark: no database of the caller's is read or written.
///
/// # Errors
/// [`ErrorCode::ValidationError`] for partial thresholds or zero repetitions;
/// [`ErrorCode::InternalError`] when the policy cannot be read, a temporary database fails or the
/// report cannot be written.
pub fn run(command: &BenchmarkCommand) -> Result<Output, Failure> {
    let BenchmarkCommand::Run(args) = command;
    let policy = SloPolicy::load(None)
        .map_err(|e| internal(e.to_string()))?
        .outcome_benchmark
        .ok_or_else(|| internal("the SLO policy has no outcome_benchmark budgets"))?;
    let thresholds = match (
        args.append_p95_max_ms,
        args.replay_p95_max_ms,
        args.gate_p95_max_ms,
    ) {
        (None, None, None) => Thresholds {
            append_p95_ms_max: policy.append_p95_ms,
            replay_p95_ms_max: policy.replay_p95_ms,
            gate_p95_ms_max: policy.gate_p95_ms,
        },
        (Some(append), Some(replay), Some(gate)) => Thresholds {
            append_p95_ms_max: append,
            replay_p95_ms_max: replay,
            gate_p95_ms_max: gate,
        },
        _ => {
            return Err(invalid(
                "benchmark thresholds require all of --append-p95-max-ms, --replay-p95-max-ms, --gate-p95-max-ms",
            ));
        }
    };
    let budgets = [
        thresholds.append_p95_ms_max,
        thresholds.replay_p95_ms_max,
        thresholds.gate_p95_ms_max,
    ];
    if budgets.iter().any(|b| b.is_nan() || *b < 0.0) {
        return Err(invalid("benchmark thresholds must be numbers >= 0"));
    }
    let repetitions = args.repetitions.unwrap_or(policy.repetitions);
    if repetitions == 0 {
        return Err(invalid("benchmark repetitions must be >= 1"));
    }
    let volumes = if args.volumes.is_empty() {
        policy.volumes
    } else {
        args.volumes.clone()
    };
    let figures = volumes
        .iter()
        .map(|&volume| measure(volume, repetitions))
        .collect::<Result<Vec<_>, _>>()?;
    let violations = violations(&figures, &thresholds);
    let report = BenchmarkReport {
        contract_version: BENCHMARK_REPORT_CONTRACT,
        generated_at: Timestamp::now(),
        repetitions,
        volumes: figures,
        thresholds: Some(thresholds),
        within_thresholds: violations.is_empty(),
        violations,
    };
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| internal(format!("cannot render output: {e}")))?;
    if let Some(path) = &args.output {
        write_report(path, &json)?;
    }
    let text = if args.json { json } else { table(&report) };
    Ok(Output::Text {
        text,
        exit_code: u8::from(!report.within_thresholds),
    })
}

/// Writes the report through a temporary file renamed into place, so a failed write never
/// leaves half a report.
fn write_report(path: &Path, json: &str) -> Result<(), Failure> {
    let failed = |e: std::io::Error| {
        internal(format!(
            "failed writing benchmark report to {}: {e}",
            path.display()
        ))
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let temp = path.with_file_name(name);
    let written = std::fs::File::create(&temp)
        .and_then(|mut file| {
            file.write_all(json.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        // The temporary file may not exist; the write's own error is the one reported.
        let _ = std::fs::remove_file(&temp);
        return Err(failed(e));
    }
    Ok(())
}

/// The event type of the benchmark's `index`-th event.
const fn event_type(index: u64) -> EventType {
    if index.is_multiple_of(17) {
        EventType::Failure
    } else if index.is_multiple_of(11) {
        EventType::Ignored
    } else if index.is_multiple_of(13) {
        EventType::Unknown
    } else {
        EventType::Success
    }
}

fn millis(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// Times `repetitions` runs of `volume` events, each on a fresh temporary database.
fn measure(volume: u64, repetitions: u32) -> Result<VolumeFigures, Failure> {
    let mut appends = Vec::new();
    let mut replays = Vec::new();
    let mut gates = Vec::new();
    for repetition in 0..repetitions {
        let path = std::env::temp_dir().join(format!(
            "outcome-bench-{volume}-{repetition}-{}-{}.sqlite3",
            std::process::id(),
            Timestamp::now().unix_nanos()
        ));
        let measured = measure_once(&path, volume, &mut appends, &mut replays, &mut gates);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_os_string();
            name.push(suffix);
            // Files SQLite did not create are absent; nothing else can fail here that matters.
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
        measured?;
    }
    Ok(VolumeFigures {
        event_count: volume,
        append_p50_ms: percentile(&mut appends, 0.50),
        append_p95_ms: percentile(&mut appends, 0.95),
        replay_p50_ms: percentile(&mut replays, 0.50),
        replay_p95_ms: percentile(&mut replays, 0.95),
        gate_p50_ms: percentile(&mut gates, 0.50),
        gate_p95_ms: percentile(&mut gates, 0.95),
    })
}

fn measure_once(
    path: &Path,
    volume: u64,
    appends: &mut Vec<f64>,
    replays: &mut Vec<f64>,
    gates: &mut Vec<f64>,
) -> Result<(), Failure> {
    let kernel = MemoryKernel::open(path)?;
    kernel.migrate(false)?;
    let record = kernel.add_summary(
        &AddSummaryRequest {
            record_type: RecordType::Decision,
            summary: "benchmark memory".to_owned(),
            metadata: RecordMetadata::new(
                "benchmark",
                "benchmark run",
                "file:///benchmark",
                TruthStatus::Asserted,
                Authority::Authoritative,
            ),
        },
        None,
    )?;
    let candidate = Candidate {
        memory_id: record.memory_id,
        version: record.version,
    };
    for index in 0..volume {
        let event = NewOutcomeEvent {
            event_id: None,
            ruleset_version: 1,
            memory_id: candidate.memory_id,
            version: candidate.version,
            event_type: event_type(index),
            occurred_at: Timestamp::now(),
            writer: "benchmark".to_owned(),
            justification: "benchmark run".to_owned(),
            context_id: Some("bench".to_owned()),
            edited: false,
            escalated: false,
            severity: None,
            manual_confidence: None,
            override_cap: false,
            payload_json: serde_json::Value::Object(serde_json::Map::new()),
        };
        let start = Instant::now();
        kernel.log_outcome(event, None)?;
        appends.push(millis(start));
    }
    let start = Instant::now();
    kernel.replay_outcomes(None, None)?;
    replays.push(millis(start));
    let start = Instant::now();
    kernel.gate_preview(
        GateMode::Safe,
        Timestamp::now(),
        Some("bench".to_owned()),
        vec![candidate],
    )?;
    gates.push(millis(start));
    Ok(())
}

/// Nearest-rank percentile: the sample at index ceil(p·n) − 1 of the sorted samples; 0.0
/// without samples.
fn percentile(samples: &mut [f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = (p * samples.len() as f64).ceil() as usize;
    let index = rank.saturating_sub(1).min(samples.len() - 1);
    samples[index]
}

/// Every p95 strictly above its budget, per volume, in the order append, replay, gate.
fn violations(figures: &[VolumeFigures], thresholds: &Thresholds) -> Vec<String> {
    let mut out = Vec::new();
    for f in figures {
        for (name, value, max) in [
            (
                "append_p95_ms",
                f.append_p95_ms,
                thresholds.append_p95_ms_max,
            ),
            (
                "replay_p95_ms",
                f.replay_p95_ms,
                thresholds.replay_p95_ms_max,
            ),
            ("gate_p95_ms", f.gate_p95_ms, thresholds.gate_p95_ms_max),
        ] {
            if value > max {
                out.push(format!(
                    "volume={} {name}={value} exceeds max={max}",
                    f.event_count
                ));
            }
        }
    }
    out
}

/// The text form: a header line, the table, the violations and, on a violation, the
/// failure line.
fn table(report: &BenchmarkReport) -> String {
    let mut out = format!(
        "contract={} generated_at={} repetitions={} within_thresholds={}\n",
        report.contract_version,
        report.generated_at,
        report.repetitions,
        if report.within_thresholds {
            "yes"
        } else {
            "no"
        }
    );
    out.push_str(&format!(
        "{:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n{}\n",
        "events",
        "append_p50",
        "append_p95",
        "replay_p50",
        "replay_p95",
        "gate_p50",
        "gate_p95",
        "-".repeat(90)
    ));
    for f in &report.volumes {
        out.push_str(&format!(
            "{:>8} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3}\n",
            f.event_count,
            f.append_p50_ms,
            f.append_p95_ms,
            f.replay_p50_ms,
            f.replay_p95_ms,
            f.gate_p50_ms,
            f.gate_p95_ms
        ));
    }
    if report.violations.is_empty() {
        out.push_str("violations=none");
    } else {
        out.push_str(&format!(
            "violations={}\nbenchmark thresholds violated: {}",
            report.violations.join(" | "),
            report.violations.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples = vec![5.0, 1.0, 4.0, 2.0, 3.0];
        assert!((percentile(&mut samples, 0.50) - 3.0).abs() < f64::EPSILON);
        assert!((percentile(&mut samples, 0.95) - 5.0).abs() < f64::EPSILON);
        assert!(percentile(&mut [], 0.95).abs() < f64::EPSILON);
    }

    #[test]
    fn violations_name_the_volume_the_figure_and_the_budget() {
        let figures = [VolumeFigures {
            event_count: 25,
            append_p50_ms: 0.5,
            append_p95_ms: 1.5,
            replay_p50_ms: 0.0,
            replay_p95_ms: 0.0,
            gate_p50_ms: 0.1,
            gate_p95_ms: 8.0,
        }];
        let thresholds = Thresholds {
            append_p95_ms_max: 1.0,
            replay_p95_ms_max: 0.0,
            gate_p95_ms_max: 8.0,
        };
        assert_eq!(
            violations(&figures, &thresholds),
            vec!["volume=25 append_p95_ms=1.5 exceeds max=1".to_owned()]
        );
    }

    #[test]
    fn the_policy_holds_the_outcome_budgets() {
        let policy = SloPolicy::load(None).ok().and_then(|p| p.outcome_benchmark);
        let budgets = policy.map(|p| {
            (
                p.append_p95_ms,
                p.replay_p95_ms,
                p.gate_p95_ms,
                p.repetitions,
            )
        });
        assert_eq!(budgets, Some((8.0, 250.0, 8.0, 3)));
    }
}
