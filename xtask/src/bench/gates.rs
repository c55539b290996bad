//! `cargo xtask bench gates`: each governance gate of `cargo xtask verify`, run as the built
//! xtask binary (no cargo in between), timed over several runs after a warm-up.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// Time each governance gate as the built binary
///
/// Runs the running xtask binary itself (`target/debug/xtask`, not `cargo xtask`, so
/// cargo's own start-up is not counted) once per gate to warm the file cache, then --runs
/// times more, and prints per gate the command, the fastest and the median run in
/// milliseconds, the mean CPU time of a run (Linux), the budget (50 ms per gate, 200 ms for
/// `contracts`, judged on the median) and whether the gate passed. The gates are verify's, without fmt, clippy and test (cargo tools, not
/// governance checks). --json PATH also writes the report (`gate-bench.v1`) atomically.
/// Not a gate: the figures depend on the machine and its load, so nothing is enforced.
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct GatesBench {
    /// Timed runs per gate, after one untimed warm-up run (1 to 100).
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// Time only this gate (repeatable; default: every governance gate).
    #[arg(long = "gate", value_name = "NAME")]
    pub gates: Vec<String>,
    /// Also write the report as JSON to PATH (relative to the current folder).
    #[arg(long, value_name = "PATH")]
    pub json: Option<std::path::PathBuf>,
}

/// One governance gate: its `verify` name, the xtask arguments that run it alone, and its
/// budget in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateCommand {
    /// The gate's name in `cargo xtask verify`.
    pub gate: &'static str,
    /// The xtask arguments that run it.
    pub args: &'static [&'static str],
    /// The target wall time of one run, in milliseconds.
    pub budget_ms: u64,
}

/// Every governance gate of `verify`, in verify's order.
pub const GATE_COMMANDS: [GateCommand; 10] = [
    gate("tidy", &["tidy"], 50),
    gate("codegen", &["codegen", "--check"], 50),
    gate("contracts", &["contracts"], 200),
    gate("manifest", &["manifest"], 50),
    gate("handoff", &["handoff", "verify"], 50),
    gate("parity", &["parity"], 50),
    gate("slo-policy", &["slo", "--check-policy"], 50),
    gate("boundaries", &["boundaries"], 50),
    gate("contracts-diff", &["contracts", "diff"], 50),
    gate(
        "evidence-summary",
        &["release-evidence", "check-summary"],
        50,
    ),
];

const fn gate(gate: &'static str, args: &'static [&'static str], budget_ms: u64) -> GateCommand {
    GateCommand {
        gate,
        args,
        budget_ms,
    }
}

/// The report (`--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateBenchReport {
    /// `gate-bench.v1`.
    pub format: &'static str,
    /// The command line that repeats the run.
    pub command: String,
    /// Timed runs per gate.
    pub runs: u32,
    /// One row per gate.
    pub gates: Vec<GateTiming>,
}

/// One gate's timings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateTiming {
    /// The gate's name in `verify`.
    pub gate: String,
    /// What was run, `xtask …`.
    pub command: String,
    /// Every timed run, milliseconds.
    pub runs_ms: Vec<f64>,
    /// The fastest run.
    pub min_ms: f64,
    /// The median run.
    pub median_ms: f64,
    /// Mean CPU time (user + system) of one timed run, from the children's times in
    /// `/proc/self/stat` (Linux; `None` elsewhere). Less sensitive than wall time to other
    /// work on the machine.
    pub cpu_ms: Option<f64>,
    /// The target.
    pub budget_ms: u64,
    /// The median is within the target.
    pub within_budget: bool,
    /// Every run exited 0 (the gate passed, or skipped).
    pub passed: bool,
}

/// Times the selected gates with the running binary, rooted at `root`.
///
/// # Errors
/// An unknown gate name, a binary that cannot be started, or a report that cannot be
/// written.
pub fn run(root: &Path, args: &GatesBench, json: Option<&Path>) -> Result<()> {
    let selected = select(&args.gates)?;
    let exe = std::env::current_exe().context("cannot locate the running xtask")?;
    let mut report = GateBenchReport {
        format: "gate-bench.v1",
        command: command_line(args),
        runs: args.runs,
        gates: Vec::new(),
    };
    for gate in selected {
        report.gates.push(time_gate(&exe, root, gate, args.runs)?);
    }
    print!("{}", render(&report));
    if let Some(path) = json {
        crate::atomic_file::write_json(path, &report)?;
        println!("bench: wrote {}", path.display());
    }
    Ok(())
}

fn select(names: &[String]) -> Result<Vec<GateCommand>> {
    if names.is_empty() {
        return Ok(GATE_COMMANDS.to_vec());
    }
    let mut out = Vec::new();
    for name in names {
        let Some(gate) = GATE_COMMANDS.iter().find(|gate| gate.gate == name) else {
            bail!(
                "`{name}` is not a governance gate; the gates are: {}",
                GATE_COMMANDS
                    .iter()
                    .map(|gate| gate.gate)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        if !out.contains(gate) {
            out.push(*gate);
        }
    }
    Ok(out)
}

fn command_line(args: &GatesBench) -> String {
    let mut line = format!("cargo xtask bench gates --runs {}", args.runs);
    for gate in &args.gates {
        line.push_str(" --gate ");
        line.push_str(gate);
    }
    line
}

fn time_gate(exe: &Path, root: &Path, gate: GateCommand, runs: u32) -> Result<GateTiming> {
    let once = || -> Result<(f64, bool)> {
        let started = Instant::now();
        let status = Command::new(exe)
            .args(gate.args)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        Ok((started.elapsed().as_secs_f64() * 1000.0, status.success()))
    };
    let (_, mut passed) = once()?;
    let mut runs_ms = Vec::new();
    let cpu_before = children_cpu_ms();
    for _ in 0..runs {
        let (ms, ok) = once()?;
        passed &= ok;
        runs_ms.push((ms * 10.0).round() / 10.0);
    }
    let cpu_ms = cpu_before
        .zip(children_cpu_ms())
        .map(|(before, after)| ((after - before) / f64::from(runs) * 10.0).round() / 10.0);
    let mut sorted = runs_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let min_ms = sorted.first().copied().unwrap_or_default();
    let median_ms = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    Ok(GateTiming {
        gate: gate.gate.to_owned(),
        command: format!("xtask {}", gate.args.join(" ")),
        runs_ms,
        min_ms,
        median_ms,
        cpu_ms,
        budget_ms: gate.budget_ms,
        #[allow(clippy::cast_precision_loss)]
        within_budget: median_ms <= gate.budget_ms as f64,
        passed,
    })
}

/// CPU milliseconds (user + system) of every waited-for child so far: fields 16 and 17 of
/// `/proc/self/stat`, in the kernel's fixed 100 ticks per second. `None` off Linux.
fn children_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it follow its `)`.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3, so field N is at index N - 3.
    let ticks = |field: usize| fields.get(field - 3)?.parse::<f64>().ok();
    Some((ticks(16)? + ticks(17)?) * 10.0)
}

/// The report as a text table.
#[must_use]
pub fn render(report: &GateBenchReport) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{} ({} timed runs per gate, after one warm-up)\n\n{:<17} {:<36} {:>8} {:>10} {:>7} {:>7}  result\n",
        report.command, report.runs, "gate", "command", "min ms", "median ms", "cpu ms", "budget"
    );
    for row in &report.gates {
        let _ = writeln!(
            out,
            "{:<17} {:<36} {:>8.1} {:>10.1} {:>7} {:>7}  {}{}",
            row.gate,
            row.command,
            row.min_ms,
            row.median_ms,
            row.cpu_ms
                .map_or_else(|| "n/a".to_owned(), |cpu| format!("{cpu:.1}")),
            row.budget_ms,
            if row.within_budget { "within" } else { "OVER" },
            if row.passed { "" } else { ", gate FAILED" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_are_selected_by_name_once_and_unknown_names_are_refused() {
        let names = |list: &[&str]| {
            select(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .map(|gates| gates.iter().map(|g| g.gate).collect::<Vec<_>>())
        };
        assert_eq!(names(&[]).unwrap().len(), GATE_COMMANDS.len());
        assert_eq!(
            names(&["contracts", "tidy", "contracts"]).unwrap(),
            ["contracts", "tidy"]
        );
        let error = names(&["clippy"]).unwrap_err().to_string();
        assert!(
            error.contains("`clippy` is not a governance gate"),
            "{error}"
        );
    }
}
