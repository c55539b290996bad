//! `memory-kernel-service`: serves the `service.v3` HTTP contract, or prints its documents
//! (`openapi`, `contract`).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use memory_kernel_service::config::{LogFormat, ServiceArgs, ServiceCommand};
use memory_kernel_service::{contract, openapi, server};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args = ServiceArgs::parse();
    let result = match args.command {
        Some(ServiceCommand::Openapi) => openapi::yaml().and_then(|yaml| print(&yaml)),
        Some(ServiceCommand::Contract) => {
            // Through a JSON value, so the keys print in their sorted order.
            serde_json::to_value(contract::runtime_contract())
                .and_then(|value| serde_json::to_string_pretty(&value))
                .map_err(anyhow::Error::from)
                .and_then(|json| print(&format!("{json}\n")))
        }
        None => serve(&args.config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("memory-kernel-service: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes a document to stdout; a closed pipe is an error, not a panic.
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn serve(config: &memory_kernel_service::ServiceConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Lines go through a bounded queue to a writer thread: a request never takes the stderr
    // lock or waits on a slow reader of it. Nothing is dropped (a full queue makes the logging
    // request wait); the guard flushes what is queued when serving ends.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("mk-log-writer")
        .finish(std::io::stderr());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match config.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(server::serve(config));
    // Dropping a runtime waits for every blocking operation still running; the drain bound
    // holds for those too.
    runtime.shutdown_timeout(std::time::Duration::from_millis(config.shutdown_drain_ms));
    result
}
