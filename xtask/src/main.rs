//! `cargo xtask`: MemoryKernel's gates and release steps in portable Rust.
//!
//! A thin dispatcher over the library: each command is a module named after it with one
//! `run` entry point, and its `clap::Args` doc comment is its `--help` text. Every command runs in a shell
//! rooted at the workspace root, whichever folder it was started from.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xshell::Shell;
use xtask::{
    boundaries, changed_areas, clippy, codegen, contracts, fmt, handoff, manifest, parity,
    rollback, test, tidy, verify,
};

/// MemoryKernel's quality gates and release steps. `cargo xtask verify` runs every gate.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Fmt(fmt::Fmt),
    Clippy(clippy::Clippy),
    Test(test::Test),
    Tidy(tidy::Tidy),
    Codegen(codegen::Codegen),
    Contracts(contracts::Contracts),
    Manifest(manifest::Manifest),
    Handoff(handoff::Handoff),
    Parity(parity::Parity),
    Boundaries(boundaries::Boundaries),
    ChangedAreas(changed_areas::ChangedAreas),
    Rollback(rollback::Rollback),
    Slo(xtask::slo::Slo),
    Bench(xtask::bench::Bench),
    ReleaseEvidence(xtask::release_evidence::ReleaseEvidence),
    Release(xtask::release::Release),
    Dist(xtask::dist::Dist),
    Verify(verify::Verify),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: &Command) -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(xtask::project_root());
    match command {
        Command::Fmt(args) => fmt::run(&sh, args),
        Command::Clippy(args) => clippy::run(&sh, args),
        Command::Test(args) => test::run(&sh, args),
        Command::Tidy(args) => tidy::run(&sh, args),
        Command::Codegen(args) => codegen::run(&sh, args),
        Command::Contracts(args) => contracts::run(&sh, args),
        Command::Manifest(args) => manifest::run(&sh, args),
        Command::Handoff(args) => handoff::run(&sh, args),
        Command::Parity(args) => parity::run(&sh, args),
        Command::Boundaries(args) => boundaries::run(&sh, args, &verify::gate_list()),
        Command::ChangedAreas(args) => changed_areas::run(&sh, args, &verify::gate_catalogue()),
        Command::Rollback(args) => rollback::run(&sh, args),
        Command::Slo(args) => xtask::slo::run(&sh, args),
        Command::Bench(args) => xtask::bench::run(&sh, args),
        Command::ReleaseEvidence(args) => {
            xtask::release_evidence::run(&sh, args, &verify::release_gates)
        }
        Command::Release(args) => xtask::release::run(&sh, args),
        Command::Dist(args) => xtask::dist::run(&sh, args, &verify::release_gates),
        Command::Verify(args) => verify::run(&sh, args),
    }
}
