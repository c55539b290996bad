//! Command-line flags (docs/spec/service-contract.md) and the settings the router runs with.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

/// Default `--operation-timeout-ms`.
pub const DEFAULT_OPERATION_TIMEOUT_MS: u64 = 2500;
/// Default `--max-body-bytes` (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default `--header-read-timeout-ms`: how long a connection may take to send a request's
/// header section (and how long an idle keep-alive connection is kept).
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Default `--body-read-timeout-ms`: how long a request body may take to arrive.
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 30_000;
/// Default `--shutdown-drain-ms`: how long a shutdown waits for requests in flight.
pub const DEFAULT_SHUTDOWN_DRAIN_MS: u64 = 10_000;
/// Default `--min-free-bytes` (8 MiB): below it, `/v1/ready` answers 503.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 8 * 1024 * 1024;
/// The shortest accepted bearer token, in bytes.
pub const MIN_TOKEN_BYTES: usize = 32;

/// The MemoryKernel HTTP service (`service.v3`): serves the application API over JSON
/// envelopes on a local address.
#[derive(Debug, Parser)]
#[command(
    name = "memory-kernel-service",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct ServiceArgs {
    /// Print a contract document instead of serving.
    #[command(subcommand)]
    pub command: Option<ServiceCommand>,
    /// How to serve.
    #[command(flatten)]
    pub config: ServiceConfig,
}

/// Documents the binary prints without serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ServiceCommand {
    /// Print the OpenAPI 3.1 document (YAML) generated from the endpoint table.
    Openapi,
    /// Print the runtime contract (JSON): versions, endpoints, error codes and statuses,
    /// envelope policy, telemetry counters.
    Contract,
}

/// Where and how to serve.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ServiceConfig {
    /// Database file. A file that does not exist is created and migrated at start; an
    /// existing one with pending migrations is left alone unless `--migrate` is given.
    #[arg(long, default_value = "./memory_kernel.sqlite3")]
    pub db: PathBuf,
    /// Address to listen on (`127.0.0.1:0` picks a free port). A non-loopback address
    /// requires `--auth-token-file`.
    #[arg(long, default_value = "127.0.0.1:4010")]
    pub bind: SocketAddr,
    /// Time budget of each operation, in milliseconds; past it the request fails with the
    /// endpoint's default failure code and `details.timeout_ms`.
    #[arg(long, default_value_t = DEFAULT_OPERATION_TIMEOUT_MS)]
    pub operation_timeout_ms: u64,
    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's header section, in milliseconds; a
    /// connection that has not finished by then is closed. Also bounds how long an idle
    /// keep-alive connection waits for its next request.
    #[arg(long, default_value_t = DEFAULT_HEADER_READ_TIMEOUT_MS)]
    pub header_read_timeout_ms: u64,
    /// How long a request body may take to arrive, in milliseconds; past it the request
    /// fails with 408 and the connection is closed. Body reading never counts as endpoint
    /// latency.
    #[arg(long, default_value_t = DEFAULT_BODY_READ_TIMEOUT_MS)]
    pub body_read_timeout_ms: u64,
    /// How long SIGTERM/SIGINT wait for requests in flight before the process exits anyway,
    /// in milliseconds.
    #[arg(long, default_value_t = DEFAULT_SHUTDOWN_DRAIN_MS)]
    pub shutdown_drain_ms: u64,
    /// A host name (without port) accepted in the Host header besides the loopback ones
    /// (`localhost`, `127.0.0.1`, `[::1]`, `*.localhost`) when no token is configured.
    /// Repeatable.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Free bytes the file system holding the database must have for `/v1/ready` to answer
    /// 200; below it readiness answers 503 `storage_unavailable`.
    #[arg(long, default_value_t = DEFAULT_MIN_FREE_BYTES)]
    pub min_free_bytes: u64,
    /// Apply pending migrations to an existing database at start.
    #[arg(long)]
    pub migrate: bool,
    /// File holding a bearer token of at least 32 bytes; every request except
    /// `GET /v1/health` must then send `Authorization: Bearer <token>` (scheme in any case).
    #[arg(long)]
    pub auth_token_file: Option<PathBuf>,
    /// Delete context packages once they are this many hours old (checked hourly, and at
    /// start). Packages are derived data; records and links are never deleted. 0 (the
    /// default) keeps every package.
    #[arg(long, value_name = "HOURS", default_value_t = 0)]
    pub prune_packages_after: u64,
}

impl ServiceConfig {
    /// The router settings these flags describe, reading the token file when given.
    ///
    /// # Errors
    /// A non-loopback bind without a token file, or a token file that cannot be read or holds
    /// fewer than [`MIN_TOKEN_BYTES`] bytes.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let auth_token = match &self.auth_token_file {
            Some(path) => {
                let text = fs::read_to_string(path)
                    .with_context(|| format!("reading --auth-token-file {}", path.display()))?;
                let token = text.trim();
                if token.len() < MIN_TOKEN_BYTES {
                    bail!(
                        "--auth-token-file {} holds a token of {} bytes; at least {MIN_TOKEN_BYTES} are required",
                        path.display(),
                        token.len()
                    );
                }
                Some(token.to_owned())
            }
            None if !self.bind.ip().is_loopback() => bail!(
                "refusing to listen on non-loopback address {} without --auth-token-file",
                self.bind
            ),
            None => None,
        };
        Ok(Settings {
            operation_timeout: Duration::from_millis(self.operation_timeout_ms),
            max_body_bytes: self.max_body_bytes,
            auth_token,
            body_read_timeout: Duration::from_millis(self.body_read_timeout_ms),
            allowed_hosts: self
                .allowed_hosts
                .iter()
                .map(|host| host.trim().to_ascii_lowercase())
                .collect(),
            min_free_bytes: self.min_free_bytes,
        })
    }
}

/// What the router needs besides the API handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Time budget of each operation.
    pub operation_timeout: Duration,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// The bearer token every request except `GET /v1/health` must carry, when set.
    pub auth_token: Option<String>,
    /// How long a request body may take to arrive.
    pub body_read_timeout: Duration,
    /// Host names accepted besides the loopback ones when no token is set (lower case).
    pub allowed_hosts: Vec<String>,
    /// Free bytes under the database below which readiness answers 503.
    pub min_free_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            operation_timeout: Duration::from_millis(DEFAULT_OPERATION_TIMEOUT_MS),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            auth_token: None,
            body_read_timeout: Duration::from_millis(DEFAULT_BODY_READ_TIMEOUT_MS),
            allowed_hosts: Vec::new(),
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> ServiceArgs {
        let mut all = vec!["memory-kernel-service"];
        all.extend_from_slice(args);
        match ServiceArgs::try_parse_from(all) {
            Ok(args) => args,
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn defaults_follow_the_spec() {
        let args = parse(&[]);
        assert_eq!(args.command, None);
        assert_eq!(args.config.db, PathBuf::from("./memory_kernel.sqlite3"));
        assert_eq!(args.config.bind.to_string(), "127.0.0.1:4010");
        assert_eq!(args.config.operation_timeout_ms, 2500);
        assert_eq!(args.config.max_body_bytes, 1_048_576);
        assert!(!args.config.migrate);
        assert_eq!(args.config.settings().ok(), Some(Settings::default()));
    }

    #[test]
    fn non_loopback_bind_needs_a_token_file() {
        let args = parse(&["--bind", "0.0.0.0:4010"]);
        let error = args.config.settings().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "refusing to listen on non-loopback address 0.0.0.0:4010 without --auth-token-file"
            )
        );
    }

    #[test]
    fn item_14_short_tokens_are_refused() {
        let dir = tempfile::tempdir().ok();
        let root = dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default();
        let short = root.join("short");
        let long = root.join("long");
        assert!(fs::write(&short, "s3cret\n").is_ok());
        assert!(fs::write(&long, format!("{}\n", "k".repeat(MIN_TOKEN_BYTES))).is_ok());
        let with = |path: &std::path::Path| {
            let path = path.to_string_lossy().into_owned();
            parse(&["--auth-token-file", &path]).config.settings()
        };
        let refused = with(&short)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("at least 32"), "{refused}");
        assert_eq!(
            with(&long).ok().and_then(|s| s.auth_token),
            Some("k".repeat(MIN_TOKEN_BYTES))
        );
    }

    #[test]
    fn subcommands_parse() {
        assert_eq!(parse(&["openapi"]).command, Some(ServiceCommand::Openapi));
        assert_eq!(parse(&["contract"]).command, Some(ServiceCommand::Contract));
    }
}
