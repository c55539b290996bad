//! The service under load, shared by `cargo xtask slo` and `cargo xtask bench service`:
//! building the release (or dev) binaries, running the service as a child process on an
//! ephemeral loopback port over a given database, and sending it HTTP requests.
//!
//! A [`Service`] is killed when dropped, so it stops on every path out of a run, failures
//! included. [`Service::stop`] asks it to shut down cleanly first (SIGTERM on Unix): the
//! service then closes its connections, which checkpoints SQLite's WAL into the main file.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use super::requests::HttpRequest;

/// How long one request may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the service may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a clean shutdown may take before the service is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How many of the service's most recent stderr lines an error message quotes.
const KEPT_LINES: usize = 40;
/// The largest error body kept for a message.
const KEPT_ERROR_BYTES: u64 = 64 * 1024;

/// Builds `packages` with `$CARGO` (release, or the dev profile) and returns the folder the
/// binaries were written to.
pub(crate) fn build(sh: &Shell, root: &Path, release: bool, packages: &[&str]) -> Result<PathBuf> {
    let cargo = crate::cargo_program();
    let release_flag: &[&str] = if release { &["--release"] } else { &[] };
    let package_flags: Vec<&str> = packages.iter().flat_map(|p| ["-p", p]).collect();
    cmd!(sh, "{cargo} build {release_flag...} {package_flags...}")
        .run()
        .with_context(|| format!("building {}", packages.join(", ")))?;
    Ok(target_dir(root).join(if release { "release" } else { "debug" }))
}

/// The path of binary `name` in `bin_dir`.
pub(crate) fn executable(bin_dir: &Path, name: &str) -> PathBuf {
    bin_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The cargo target directory: `CARGO_TARGET_DIR`, or `target/` under the root.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// An HTTP agent that keeps one idle connection per client thread, never treats a status as
/// an error, and gives every request [`REQUEST_TIMEOUT`].
pub(crate) fn agent(concurrency: usize) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        .http_status_as_error(false)
        .max_idle_connections(concurrency.max(1))
        .max_idle_connections_per_host(concurrency.max(1))
        .build()
        .into()
}

/// A running service; killed (and reaped) when dropped.
pub(crate) struct Service {
    child: Child,
    /// `host:port` it listens on.
    pub(crate) address: String,
    recent: Arc<Mutex<VecDeque<String>>>,
}

impl Service {
    /// Starts the binary on an ephemeral loopback port over `db` and waits for the line
    /// naming the address it bound.
    pub(crate) fn start(bin: &Path, db: &Path) -> Result<Self> {
        Self::start_with(bin, db, &[])
    }

    /// [`start`](Self::start) with more service flags (e.g. `--operation-timeout-ms`).
    pub(crate) fn start_with(bin: &Path, db: &Path, flags: &[&str]) -> Result<Self> {
        let child = Command::new(bin)
            .args(["--bind", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(flags)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let recent = Arc::new(Mutex::new(VecDeque::new()));
        let mut service = Self {
            child,
            address: String::new(),
            recent: Arc::clone(&recent),
        };
        let stderr = service.child.stderr.take().context("no stderr pipe")?;
        let (tx, rx) = mpsc::channel();
        // Drains stderr for the service's whole life (access lines included), so the pipe
        // never fills; keeps the last lines for an error message.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                const MARK: &str = "listening on http://";
                if let Some(at) = line.find(MARK) {
                    let _ = tx.send(line[at + MARK.len()..].trim().to_owned());
                }
                if let Ok(mut lines) = recent.lock() {
                    if lines.len() == KEPT_LINES {
                        lines.pop_front();
                    }
                    lines.push_back(line);
                }
            }
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(address) => service.address = address,
            Err(_) => bail!(
                "the service printed no listening address within {START_TIMEOUT:?}:\n{}",
                service.recent_lines()
            ),
        }
        Ok(service)
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The service's last stderr lines, for an error message.
    pub(crate) fn recent_lines(&self) -> String {
        self.recent
            .lock()
            .map(|lines| lines.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Fails when the process has exited, quoting its last stderr lines.
    pub(crate) fn ensure_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!(
                "the service exited unexpectedly ({status}):\n{}",
                self.recent_lines()
            ),
            Err(error) => Err(error).context("cannot check whether the service still runs"),
        }
    }

    /// Asks the service to shut down cleanly and waits for it (at most [`STOP_TIMEOUT`],
    /// then it is killed). Returns whether it exited on its own, i.e. closed its database
    /// connections; on platforms without SIGTERM it is killed straight away (`false`).
    pub(crate) fn stop(mut self) -> Result<bool> {
        if !self.terminate() {
            self.kill();
            return Ok(false);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status.success()),
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(error) => {
                    return Err(error).context("cannot wait for the service to stop");
                }
            }
        }
        self.kill();
        Ok(false)
    }

    /// Sends SIGTERM through the system's `kill` program; `false` when that is not possible.
    fn terminate(&self) -> bool {
        if !cfg!(unix) {
            return false;
        }
        Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One finished request with its body.
pub(crate) struct Answer {
    /// The HTTP status; 0 when the request failed below HTTP.
    pub(crate) status: u16,
    /// The body, or the transport error.
    pub(crate) body: String,
}

/// One finished request whose body was counted, not kept.
pub(crate) struct Counted {
    /// The HTTP status; 0 when the request failed below HTTP (connection, timeout, a body
    /// cut short).
    pub(crate) status: u16,
    /// Body bytes received.
    pub(crate) bytes: u64,
    /// The start of a non-2xx body, or the transport error.
    pub(crate) error: Option<String>,
}

impl Counted {
    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn dispatch(
    agent: &ureq::Agent,
    base: &str,
    request: &HttpRequest,
) -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let url = format!("{base}{}", request.path);
    match (&request.body, request.method) {
        (Some(body), _) => agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.as_str()),
        (None, "POST") => agent.post(&url).send_empty(),
        (None, _) => agent.get(&url).call(),
    }
}

/// Sends `request` to `base` (`http://host:port`) and keeps the whole body.
pub(crate) fn send(agent: &ureq::Agent, base: &str, request: &HttpRequest) -> Answer {
    let read = dispatch(agent, base, request).and_then(|mut response| {
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().read_to_string()?;
        Ok((status, body))
    });
    match read {
        Ok((status, body)) => Answer { status, body },
        Err(error) => Answer {
            status: 0,
            body: error.to_string(),
        },
    }
}

/// Sends `request` to `base` and counts the body's bytes without keeping them (a non-2xx
/// body's start is kept as the error).
pub(crate) fn send_counting(agent: &ureq::Agent, base: &str, request: &HttpRequest) -> Counted {
    let mut response = match dispatch(agent, base, request) {
        Ok(response) => response,
        Err(error) => {
            return Counted {
                status: 0,
                bytes: 0,
                error: Some(error.to_string()),
            };
        }
    };
    let status = response.status().as_u16();
    let mut reader = response.body_mut().as_reader();
    if (200..300).contains(&status) {
        return match std::io::copy(&mut reader, &mut std::io::sink()) {
            Ok(bytes) => Counted {
                status,
                bytes,
                error: None,
            },
            Err(error) => Counted {
                status: 0,
                bytes: 0,
                error: Some(format!("reading the body of a {status} answer: {error}")),
            },
        };
    }
    let mut kept = Vec::new();
    match reader
        .by_ref()
        .take(KEPT_ERROR_BYTES)
        .read_to_end(&mut kept)
    {
        Ok(_) => {
            let rest = std::io::copy(&mut reader, &mut std::io::sink()).unwrap_or(0);
            Counted {
                status,
                bytes: kept.len() as u64 + rest,
                error: Some(format!("{status}: {}", String::from_utf8_lossy(&kept))),
            }
        }
        Err(error) => Counted {
            status: 0,
            bytes: 0,
            error: Some(format!("reading the body of a {status} answer: {error}")),
        },
    }
}
