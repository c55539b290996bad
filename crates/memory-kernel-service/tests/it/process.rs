//! The real binary: start-up rules, the README flow over HTTP on an ephemeral port, graceful
//! shutdown on SIGTERM, and the `openapi` / `contract` subcommands.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use memory_kernel_api::{ListRequest, MemoryKernel};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::prometheus_text;

const BIN: &str = env!("CARGO_BIN_EXE_memory-kernel-service");

/// A running service and everything it wrote to stderr.
struct Server {
    child: Child,
    address: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        let mut command = Command::new(BIN);
        command.args(["--bind", "127.0.0.1:0"]).args(args);
        Self::spawn(command)
    }

    /// Starts `command` and waits for its listening line (text or JSON log format).
    fn spawn(mut command: Command) -> Self {
        if !command.get_envs().any(|(name, _)| name == "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let address: String = line[at + "listening on http://".len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    let _ = tx.send(address);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no listening line: {:?}", stderr.lock().unwrap()));
        Self {
            child,
            address,
            stderr,
        }
    }

    /// Sends one HTTP/1.1 request and returns the status and the JSON (or text) body.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// [`Server::call`], with a connection that fails or is cut (a killed server) as an
    /// error instead of a panic.
    fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, Value)> {
        let mut stream = TcpStream::connect(&self.address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let payload = body.map(Value::to_string).unwrap_or_default();
        let content_type = if body.is_some() {
            "Content-Type: application/json\r\n"
        } else {
            ""
        };
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{content_type}Content-Length: {}\r\n\
             Connection: close\r\n\r\n{payload}",
            self.address,
            payload.len()
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("the answer was cut before its body"))?;
        assert!(
            !head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{head}"
        );
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
        let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
        Ok((status, body))
    }

    fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            thread::sleep(Duration::from_millis(50));
        };
        thread::sleep(Duration::from_millis(100));
        let lines = self.stderr.lock().unwrap().clone();
        (status, lines)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn db_in(dir: &TempDir) -> String {
    dir.path()
        .join("memory_kernel.sqlite3")
        .to_string_lossy()
        .into_owned()
}

#[cfg(unix)]
#[test]
fn readme_flow_over_http_then_sigterm_leaves_an_intact_database() {
    let dir = TempDir::new().unwrap();
    let db = db_in(&dir);
    let server = Server::start(&["--db", &db]);
    assert!(server.address.starts_with("127.0.0.1:"));
    assert!(
        !server.address.ends_with(":0"),
        "the actual port is printed"
    );

    let (status, ready) = server.call("GET", "/v1/ready", None);
    assert_eq!((status, &ready["data"]["status"]), (200, &json!("ready")));
    let constraint = json!({"actor": "user", "action": "use", "resource": "usb_drive",
        "effect": "deny", "writer": "readme", "justification": "USB drives are banned",
        "source_uri": "file:///policy.md", "truth_status": "asserted",
        "authority": "authoritative", "confidence": 0.9});
    let (status, record) = server.call("POST", "/v1/memory/add/constraint", Some(&constraint));
    assert_eq!(status, 200, "{record:#}");
    let ask = json!({"text": "Can the user use a USB drive?", "actor": "user",
        "action": "use", "resource": "usb_drive"});
    let (status, answer) = server.call("POST", "/v1/query/ask", Some(&ask));
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(answer["data"]["answer"]["result"], "deny");
    let id = answer["data"]["context_package_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, shown) = server.call("GET", &format!("/v1/context/{id}"), None);
    assert_eq!(status, 200);
    assert_eq!(shown["data"], answer["data"]);
    let (status, error) = server.call("POST", "/v1/query/ask", None);
    assert_eq!(status, 400);
    assert_eq!(error["error"]["code"], "invalid_json");
    assert!(error.get("api_contract_version").is_none());
    let (status, metrics) = server.call("GET", "/metrics", None);
    assert_eq!(status, 200);
    let families = prometheus_text::parse(metrics.as_str().unwrap()).unwrap();
    let asked = families[0].value(
        "mk_requests_total",
        &[("endpoint", "/v1/query/ask"), ("code", "ok")],
    );
    assert_eq!(asked, Some(1.0));

    let (exit, stderr) = server.terminate();
    assert!(exit.success(), "{exit:?}\n{stderr:#?}");
    let access = stderr
        .iter()
        .find(|l| l.contains("path=/v1/query/ask") && l.contains("status=200"))
        .unwrap_or_else(|| panic!("no access log line: {stderr:#?}"));
    assert!(access.contains("method=POST") && access.contains("duration_ms="));
    assert!(stderr.iter().any(|l| l.contains("SIGTERM received")));

    let kernel = MemoryKernel::open(&db).unwrap();
    assert!(kernel.schema_status().unwrap().up_to_date);
    let records = kernel.list(&ListRequest::default()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].memory_version_id.to_string(),
        record["data"]["memory_version_id"].as_str().unwrap()
    );
    assert_eq!(
        kernel
            .context_show(&id)
            .unwrap()
            .context_package_id()
            .as_deref(),
        Some(id.as_str())
    );
}

#[cfg(unix)]
#[test]
fn an_existing_unmigrated_database_is_migrated_only_with_the_flag() {
    let dir = TempDir::new().unwrap();
    let db = db_in(&dir);
    std::fs::File::create(&db).unwrap();

    let server = Server::start(&["--db", &db]);
    let (status, body) = server.call("GET", "/v1/ready", None);
    assert_eq!(status, 503, "{body:#}");
    assert_eq!(body["error"]["code"], "schema_unavailable");
    assert_eq!(body["error"]["details"]["current_schema_version"], 0);
    assert!(server.terminate().0.success());
    assert!(!MemoryKernel::inspect(&db).unwrap().up_to_date);

    let server = Server::start(&["--db", &db, "--migrate"]);
    let (status, body) = server.call("GET", "/v1/ready", None);
    assert_eq!(status, 200, "{body:#}");
    assert!(server.terminate().0.success());
}

#[test]
fn a_non_loopback_bind_without_a_token_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let db = db_in(&dir);
    let output = Command::new(BIN)
        .args(["--bind", "0.0.0.0:0", "--db", &db])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--auth-token-file"), "{stderr}");
    assert!(
        !Path::new(&db).exists(),
        "refused before touching the database"
    );
}

#[test]
fn configuration_comes_from_the_environment_a_loopback_name_and_json_logs() {
    let dir = TempDir::new().unwrap();
    let db = db_in(&dir);
    let mut command = Command::new(BIN);
    command
        .env("MK_BIND", "localhost:0")
        .env("MK_DB", &db)
        .env("MK_LOG_FORMAT", "json");
    let server = Server::spawn(command);
    assert!(
        server.address.starts_with("127.0.0.1:") || server.address.starts_with("[::1]:"),
        "{}",
        server.address
    );
    let (status, _) = server.call("GET", "/v1/health", None);
    assert_eq!(status, 200);
    assert!(Path::new(&db).is_file(), "MK_DB names the database");
    let (status, body) = server.call("GET", "/v1/memory", None);
    assert_eq!(status, 200, "{body}");
    let (status, lines) = server.terminate();
    assert!(status.success());
    let logs: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        logs.iter().any(|log| log["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("listening on"))),
        "{lines:?}"
    );
}

#[test]
fn probes_log_at_debug_and_other_requests_at_info() {
    for (filter, probes_logged) in [
        ("info", false),
        ("info,memory_kernel_service::access=debug", true),
    ] {
        let dir = TempDir::new().unwrap();
        let db = db_in(&dir);
        let mut command = Command::new(BIN);
        command
            .args(["--bind", "127.0.0.1:0", "--db", &db])
            .env("RUST_LOG", filter);
        let server = Server::spawn(command);
        for path in ["/v1/health", "/v1/ready", "/metrics", "/v1/memory"] {
            let (status, _) = server.call("GET", path, None);
            assert_eq!(status, 200, "{path}");
        }
        let (status, lines) = server.terminate();
        assert!(status.success());
        let logged = |path: &str| {
            lines
                .iter()
                .any(|line| line.contains(&format!("path={path} ")) && line.contains("status=200"))
        };
        for probe in ["/v1/health", "/v1/ready", "/metrics"] {
            assert_eq!(
                logged(probe),
                probes_logged,
                "{filter}: {probe}: {lines:#?}"
            );
        }
        assert!(logged("/v1/memory"), "{filter}: {lines:#?}");
    }
}

#[test]
fn a_flag_overrides_its_environment_variable() {
    let dir = TempDir::new().unwrap();
    let db = db_in(&dir);
    let output = Command::new(BIN)
        .args(["--bind", "0.0.0.0:0", "--db", &db])
        .env("MK_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success(), "the flag's exposed address wins");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("0.0.0.0:0"), "{stderr}");
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for env in [
        "MK_DB",
        "MK_BIND",
        "MK_AUTH_TOKEN_FILE",
        "MK_LOG_FORMAT",
        "MK_ALLOWED_HOSTS",
    ] {
        assert!(help.contains(&format!("[env: {env}")), "{env}: {help}");
    }
}

#[test]
fn a_database_in_a_missing_directory_stops_the_start_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("gone").join("memory_kernel.sqlite3");
    let output = Command::new(BIN)
        .args(["--bind", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&*db.to_string_lossy()), "{stderr}");
    assert!(!dir.path().join("gone").exists());
}

#[test]
fn subcommands_print_the_generated_documents() {
    let openapi = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(openapi.status.success());
    assert_eq!(
        String::from_utf8(openapi.stdout).unwrap(),
        memory_kernel_service::openapi::yaml().unwrap()
    );
    let contract = Command::new(BIN).arg("contract").output().unwrap();
    assert!(contract.status.success());
    let printed: Value = serde_json::from_slice(&contract.stdout).unwrap();
    assert_eq!(
        printed,
        serde_json::to_value(memory_kernel_service::contract::runtime_contract()).unwrap()
    );
}

/// Reads from `stream` until the peer closes it (or `limit` passes); returns the bytes and
/// whether the peer closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&bytes).into_owned(), true),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&bytes).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&bytes).into_owned(), false),
        }
    }
}

fn summary_body() -> String {
    json!({"record_type": "decision", "summary": "slow upload", "writer": "ops",
           "justification": "probe", "source_uri": "file:///probe.md",
           "truth_status": "asserted", "authority": "derived"})
    .to_string()
}

#[test]
fn item_06_half_sent_requests_time_out_slow_bodies_are_not_latency_and_shutdown_is_bounded() {
    let dir = TempDir::new().unwrap();
    let db = db_in(&dir);
    let server = Server::start(&[
        "--db",
        &db,
        "--header-read-timeout-ms",
        "300",
        "--body-read-timeout-ms",
        "800",
    ]);

    // Headers without the blank line: the connection is closed once the header timeout ends.
    let mut half_head = TcpStream::connect(&server.address).unwrap();
    write!(half_head, "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut half_head, Duration::from_secs(10));
    assert!(closed, "a half-sent header section held the connection");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A body shorter than its Content-Length: 408 with the envelope, then the connection ends.
    let mut short_body = TcpStream::connect(&server.address).unwrap();
    write!(
        short_body,
        "POST /v1/memory/add/summary HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"record"
    )
    .unwrap();
    let (response, closed) = read_until_closed(&mut short_body, Duration::from_secs(10));
    assert!(closed, "{response}");
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"validation_error\""), "{response}");

    // A slow but complete upload: the write succeeds, and its 600 ms of upload are not
    // counted as the endpoint's latency.
    let body = summary_body();
    let mut slow = TcpStream::connect(&server.address).unwrap();
    write!(
        slow,
        "POST /v1/memory/add/summary HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    thread::sleep(Duration::from_millis(600));
    write!(slow, "{}", &body[10..]).unwrap();
    let (response, _) = read_until_closed(&mut slow, Duration::from_secs(10));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (status, metrics) = server.call("GET", "/metrics", None);
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap().to_owned();
    let sum: f64 = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                "mk_request_duration_seconds_sum{endpoint=\"/v1/memory/add/summary\"} ",
            )
        })
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        sum < 0.5,
        "slow uploads counted as latency: {sum} s\n{metrics}"
    );

    // A connection stuck mid-body does not hold up shutdown past the drain bound.
    let mut stuck = TcpStream::connect(&server.address).unwrap();
    write!(
        stuck,
        "POST /v1/memory/add/summary HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    )
    .unwrap();
    thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let (status, _) = server.terminate();
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(12));
}

#[test]
fn item_06_the_shutdown_drain_is_bounded() {
    let dir = TempDir::new().unwrap();
    let db = db_in(&dir);
    let server = Server::start(&[
        "--db",
        &db,
        "--body-read-timeout-ms",
        "60000",
        "--shutdown-drain-ms",
        "300",
    ]);
    // A request whose body never finishes would keep a drain without bound waiting a minute.
    let mut stuck = TcpStream::connect(&server.address).unwrap();
    write!(
        stuck,
        "POST /v1/memory/add/summary HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    )
    .unwrap();
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let (status, lines) = server.terminate();
    assert!(status.success(), "{lines:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn item_07_parser_refusals_carry_the_error_envelope() {
    let dir = TempDir::new().unwrap();
    let db = db_in(&dir);
    let server = Server::start(&["--db", &db]);
    let long_url = format!("/v1/context/{}", "a".repeat(70_000));
    let huge_header = "x".repeat(200_000);
    let cases = [
        (
            format!("GET {long_url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
            "HTTP/1.1 414",
        ),
        (
            format!("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {huge_header}\r\n\r\n"),
            "HTTP/1.1 431",
        ),
        (
            "POST /v1/query/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
                .to_owned(),
            "HTTP/1.1 400",
        ),
    ];
    for (request, status_line) in cases {
        let mut stream = TcpStream::connect(&server.address).unwrap();
        // The server may answer and close before it has read everything.
        let _ = stream.write_all(request.as_bytes());
        let (response, _) = read_until_closed(&mut stream, Duration::from_secs(10));
        assert!(response.starts_with(status_line), "{:.200}", response);
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(body["service_contract_version"], "service.v3", "{body}");
        assert_eq!(body["error"]["code"], "validation_error", "{body}");
    }
}

/// A PostgreSQL database without the store's tables is set up at start, as a new file is; one
/// the store already uses is left as it is without `--migrate` (see `docs/spec/service-contract.md`).
#[test]
fn an_empty_postgresql_database_is_set_up_and_a_used_one_left_alone() {
    use memory_kernel_testkit::postgres::TempDatabase;

    let Some(db) =
        TempDatabase::create("an_empty_postgresql_database_is_set_up_and_a_used_one_left_alone")
    else {
        return;
    };
    let server = Server::start(&["--db", &db.url]);
    let (status, body) = server.call("GET", "/v1/ready", None);
    assert_eq!(status, 200, "{body:#}");
    assert!(server.terminate().0.success());

    // An older build's layout: the newest migration's record is taken away.
    let mut client = db.client();
    client
        .batch_execute(
            "ALTER TABLE mk_schema_migrations DISABLE TRIGGER USER;
             DELETE FROM mk_schema_migrations
              WHERE version = (SELECT max(version) FROM mk_schema_migrations);
             ALTER TABLE mk_schema_migrations ENABLE TRIGGER USER;",
        )
        .unwrap();
    let server = Server::start(&["--db", &db.url]);
    let (status, body) = server.call("GET", "/v1/ready", None);
    assert_eq!(status, 503, "{body:#}");
    assert_eq!(body["error"]["code"], "schema_unavailable");
    assert!(server.terminate().0.success());
}

/// Several replicas on one PostgreSQL database (see `docs/operations/scaling.md`): 16
/// writers spread over two service processes add versions of one memory at once, then one
/// replica is killed with SIGKILL while the writers go on. Every acknowledged write is stored,
/// the versions are gap-free, no request timed out, and the surviving replica stays ready.
#[test]
fn replicas_on_one_postgresql_database_lose_no_acknowledged_write() {
    use memory_kernel_testkit::postgres::TempDatabase;

    const WRITERS: usize = 16;
    const EACH: usize = 4;
    let Some(db) =
        TempDatabase::create("replicas_on_one_postgresql_database_lose_no_acknowledged_write")
    else {
        return;
    };
    let servers = Arc::new(vec![
        Server::start(&["--db", &db.url, "--migrate"]),
        Server::start(&["--db", &db.url, "--migrate"]),
    ]);
    for server in servers.iter() {
        let (status, ready) = server.call("GET", "/v1/ready", None);
        assert_eq!(status, 200, "{ready:#}");
    }
    let first = json!({"record_type": "event", "summary": "replica write 0", "writer": "replicas",
        "justification": "concurrency test", "source_uri": "file:///replicas.md",
        "truth_status": "observed", "authority": "derived"});
    let (status, record) = servers[0].call("POST", "/v1/memory/add/summary", Some(&first));
    assert_eq!(status, 200, "{record:#}");
    let memory_id = record["data"]["memory_id"].as_str().unwrap().to_owned();
    let acknowledged = Arc::new(Mutex::new(vec![
        record["data"]["memory_version_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    ]));
    let conflicts = Arc::new(Mutex::new(0_usize));

    // One round of writers; `only` pins every writer to one replica.
    let round = |label: &'static str, only: Option<usize>| {
        let threads: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let servers = Arc::clone(&servers);
                let acknowledged = Arc::clone(&acknowledged);
                let conflicts = Arc::clone(&conflicts);
                let memory_id = memory_id.clone();
                thread::spawn(move || {
                    let server = &servers[only.unwrap_or(writer % 2)];
                    for n in 0..EACH {
                        let body = json!({"record_type": "event",
                            "summary": format!("{label} writer {writer} write {n}"),
                            "memory_id": memory_id, "writer": "replicas",
                            "justification": "concurrency test", "source_uri": "file:///replicas.md",
                            "truth_status": "observed", "authority": "derived"});
                        loop {
                            let (status, reply) = server.call("POST", "/v1/memory/add/summary", Some(&body));
                            match status {
                                200 => {
                                    acknowledged.lock().unwrap().push(
                                        reply["data"]["memory_version_id"].as_str().unwrap().to_owned(),
                                    );
                                    break;
                                }
                                409 => *conflicts.lock().unwrap() += 1,
                                other => panic!("{label}: {other} {reply:#}"),
                            }
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    };
    round("both replicas", None);

    // Kill one replica in the middle of writes through it; only acknowledged writes count.
    let victims = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let victim_writes = {
        let victims = Arc::clone(&victims);
        let servers = Arc::clone(&servers);
        let acknowledged = Arc::clone(&acknowledged);
        let memory_id = memory_id.clone();
        thread::spawn(move || {
            for n in 0.. {
                let body = json!({"record_type": "event", "summary": format!("doomed write {n}"),
                    "memory_id": memory_id, "writer": "replicas", "justification": "kill test",
                    "source_uri": "file:///replicas.md", "truth_status": "observed",
                    "authority": "derived"});
                let Ok((status, reply)) =
                    servers[1].try_call("POST", "/v1/memory/add/summary", Some(&body))
                else {
                    return n;
                };
                if status == 200 {
                    victims.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    acknowledged.lock().unwrap().push(
                        reply["data"]["memory_version_id"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    );
                }
            }
            unreachable!()
        })
    };
    thread::sleep(Duration::from_millis(300));
    let pid = servers[1].child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap()
            .success()
    );
    let attempted = victim_writes.join().unwrap();
    let victims = victims.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        attempted > 0 && victims > 0,
        "the killed replica acknowledged no write before it died"
    );
    round("after the kill", Some(0));

    let (status, ready) = servers[0].call("GET", "/v1/ready", None);
    assert_eq!(status, 200, "the surviving replica is ready: {ready:#}");
    let kernel = MemoryKernel::open(&db.url).unwrap();
    let stored = kernel
        .list(&ListRequest {
            memory_id: Some(memory_id),
            ..ListRequest::default()
        })
        .unwrap();
    let mut versions: Vec<u32> = stored.iter().map(|r| r.version).collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=stored.len() as u32).collect::<Vec<_>>(),
        "gap-free versions"
    );
    let ids: std::collections::BTreeSet<String> = stored
        .iter()
        .map(|r| r.memory_version_id.to_string())
        .collect();
    let acknowledged = acknowledged.lock().unwrap();
    for id in acknowledged.iter() {
        assert!(ids.contains(id), "acknowledged write {id} is lost");
    }
    assert!(acknowledged.len() > 2 * WRITERS * EACH);
    eprintln!(
        "replicas: {} acknowledged writes ({victims} by the killed replica), {} stored, {} version conflicts retried",
        acknowledged.len(),
        stored.len(),
        conflicts.lock().unwrap()
    );
}
