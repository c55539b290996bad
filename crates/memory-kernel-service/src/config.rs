//! Command-line flags (docs/spec/service-contract.md) and the settings the router runs with.

use std::fmt;
use std::fs;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

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
    #[arg(long, env = "MK_DB", default_value = "./memory_kernel.sqlite3")]
    pub db: PathBuf,
    /// Address to listen on: IP:PORT or HOST:PORT (`localhost:4010`; `127.0.0.1:0` picks a
    /// free port). A host name is resolved at start; an address or a name that resolves to
    /// anything but loopback requires `--auth-token-file`.
    #[arg(long, env = "MK_BIND", default_value = "127.0.0.1:4010")]
    pub bind: BindAddress,
    /// Log line format on stderr: `text` for people, `json` (one object per line) for log
    /// collectors. The level comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "MK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
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
    #[arg(
        long = "allowed-host",
        value_name = "HOST",
        env = "MK_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Free bytes the file system holding the database must have for `/v1/ready` to answer 200;
    /// below it readiness answers 503
    /// [`ErrorCode::StorageUnavailable`](memory_kernel_api::ErrorCode::StorageUnavailable).
    #[arg(long, default_value_t = DEFAULT_MIN_FREE_BYTES)]
    pub min_free_bytes: u64,
    /// Apply pending migrations to an existing database at start.
    #[arg(long)]
    pub migrate: bool,
    /// File holding a bearer token of at least 32 bytes; every request except
    /// `GET /v1/health` must then send `Authorization: Bearer <token>` (scheme in any case).
    #[arg(long, env = "MK_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Delete context packages once they are this many hours old (checked hourly, and at
    /// start). Packages are derived data; records and links are never deleted. 0 (the
    /// default) keeps every package.
    #[arg(long, value_name = "HOURS", default_value_t = 0)]
    pub prune_packages_after: u64,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A listen address as given: an IP address or a host name, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddress {
    host: String,
    port: u16,
}

impl BindAddress {
    /// Every address the host resolves to, with the port (an IP address resolves to itself).
    ///
    /// # Errors
    /// When the name cannot be resolved, or resolves to nothing.
    pub fn resolve(&self) -> anyhow::Result<Vec<SocketAddr>> {
        let addresses: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("resolving --bind {self}"))?
            .collect();
        if addresses.is_empty() {
            bail!("--bind {self} resolves to no address");
        }
        Ok(addresses)
    }
}

impl FromStr for BindAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(address) = SocketAddr::from_str(text) {
            return Ok(Self {
                host: address.ip().to_string(),
                port: address.port(),
            });
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(format!(
                "{text:?} is not HOST:PORT (for example localhost:4010)"
            ));
        };
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("{port:?} in {text:?} is not a port number (0 to 65535)"))?;
        let valid_name = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid_name || host.parse::<IpAddr>().is_ok() {
            return Err(format!(
                "{host:?} in {text:?} is neither an IP address nor a host name (IPv6 goes in \
                 brackets: [::1]:4010)"
            ));
        }
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl fmt::Display for BindAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl ServiceConfig {
    /// The address to listen on: `--bind` resolved, its first address. Without a token file
    /// every address it resolves to must be loopback, so a name cannot smuggle an exposed
    /// listener past the rule.
    ///
    /// # Errors
    /// A name that does not resolve; a non-loopback address without `--auth-token-file`.
    pub fn listen_address(&self) -> anyhow::Result<SocketAddr> {
        let addresses = self.bind.resolve()?;
        refuse_exposed(&self.bind, &addresses, self.auth_token_file.is_some())?;
        addresses
            .first()
            .copied()
            .with_context(|| format!("--bind {} resolves to no address", self.bind))
    }

    /// The router settings these flags describe, reading the token file when given.
    ///
    /// # Errors
    /// A non-loopback bind without a token file, or a token file that cannot be read or holds
    /// fewer than [`MIN_TOKEN_BYTES`] bytes.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        self.listen_address()?;
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

/// Refuses a listener on any non-loopback address unless a token is configured; `addresses`
/// are what `bind` resolved to.
fn refuse_exposed(
    bind: &BindAddress,
    addresses: &[SocketAddr],
    has_token: bool,
) -> anyhow::Result<()> {
    let exposed: Vec<String> = addresses
        .iter()
        .filter(|address| !address.ip().is_loopback())
        .map(ToString::to_string)
        .collect();
    if has_token || exposed.is_empty() {
        return Ok(());
    }
    let resolved = if bind.host.parse::<IpAddr>().is_ok() {
        String::new()
    } else {
        format!(" (resolves to {})", exposed.join(", "))
    };
    bail!("refusing to listen on non-loopback address {bind}{resolved} without --auth-token-file")
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
    use clap::CommandFactory;

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
    fn bind_accepts_loopback_names_and_refuses_exposed_ones_without_a_token() {
        let localhost = parse(&["--bind", "localhost:4010"]).config;
        let address = localhost.listen_address().ok();
        assert!(
            address.is_some_and(|a| a.ip().is_loopback() && a.port() == 4010),
            "{address:?}"
        );
        assert!(localhost.settings().is_ok());
        let ipv6 = parse(&["--bind", "[::1]:0"]).config;
        assert_eq!(ipv6.bind.to_string(), "[::1]:0");
        // A documentation-range address stands in for a name that resolves off the machine.
        for exposed in ["192.0.2.1:4010", "0.0.0.0:4010"] {
            let error = parse(&["--bind", exposed]).config.settings().err();
            let text = error.map(|e| e.to_string()).unwrap_or_default();
            assert!(
                text.contains("without --auth-token-file"),
                "{exposed}: {text}"
            );
        }
        for bad in [
            "localhost",
            "localhost:http",
            ":4010",
            "local_host:4010",
            "[::1]:x",
        ] {
            let parsed = ServiceArgs::try_parse_from(["memory-kernel-service", "--bind", bad]);
            assert!(parsed.is_err(), "{bad}");
        }
    }

    #[test]
    fn a_name_resolving_off_the_machine_is_refused_without_a_token() {
        let Ok(bind) = BindAddress::from_str("db.example:4010") else {
            panic!("a host name parses");
        };
        let loopback = [SocketAddr::from(([127, 0, 0, 1], 4010))];
        let mixed = [loopback[0], SocketAddr::from(([192, 0, 2, 1], 4010))];
        assert!(refuse_exposed(&bind, &loopback, false).is_ok());
        assert!(refuse_exposed(&bind, &mixed, true).is_ok());
        let text = refuse_exposed(&bind, &mixed, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            text,
            "refusing to listen on non-loopback address db.example:4010 (resolves to \
             192.0.2.1:4010) without --auth-token-file"
        );
    }

    #[test]
    fn flags_naming_resources_read_their_environment_variables() {
        let names: Vec<(String, Option<String>)> = ServiceArgs::command()
            .get_arguments()
            .map(|arg| {
                (
                    arg.get_id().to_string(),
                    arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                )
            })
            .collect();
        for (flag, env) in [
            ("db", "MK_DB"),
            ("bind", "MK_BIND"),
            ("auth_token_file", "MK_AUTH_TOKEN_FILE"),
            ("allowed_hosts", "MK_ALLOWED_HOSTS"),
            ("log_format", "MK_LOG_FORMAT"),
        ] {
            assert!(
                names.contains(&(flag.to_owned(), Some(env.to_owned()))),
                "{flag}: {names:?}"
            );
        }
    }

    #[test]
    fn subcommands_parse() {
        assert_eq!(parse(&["openapi"]).command, Some(ServiceCommand::Openapi));
        assert_eq!(parse(&["contract"]).command, Some(ServiceCommand::Contract));
    }
}
