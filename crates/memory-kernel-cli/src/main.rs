//! `mk`: the MemoryKernel command-line interface (`cli.v1`). Every successful command prints
//! one flat JSON object, its own keys at top level and `contract_version: "cli.v1"` last; a
//! failure prints a JSON object with a contract error code on stderr and exits 2 for a usage
//! error, 1 for anything else. The binary is thin glue over `memory-kernel-api`; it never
//! touches the store.

mod cli;
mod commands;
mod diagnostics;
mod failure;
mod mcp;
mod output;
mod shapes;

use std::io;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use memory_kernel_api::ErrorCode;

use crate::cli::Cli;
use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            // Help and version are answers, not failures: printed as clap formats them.
            return match error.print() {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
        Err(error) => return fail(&Failure::usage(&error)),
    };
    // The kernel lives only inside `run`, so it is dropped before the output is printed.
    let result = commands::run(&cli.command, &cli.db).and_then(|output| {
        let exit_code = output.exit_code();
        if matches!(output, output::Output::Served) {
            return Ok(exit_code);
        }
        let text = output.render(cli.pretty).map_err(|e| {
            Failure::new(
                ErrorCode::InternalError,
                format!("cannot render output: {e}"),
            )
        })?;
        output::write_line(io::stdout().lock(), &text).map_err(|e| {
            Failure::new(
                ErrorCode::InternalError,
                format!("cannot write output: {e}"),
            )
        })?;
        Ok(exit_code)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => fail(&failure),
    }
}

fn fail(failure: &Failure) -> ExitCode {
    // Nothing more can be reported when stderr itself is closed; the exit code still is.
    let _ = output::write_line(io::stderr().lock(), &failure.render());
    ExitCode::from(failure.exit_code())
}
