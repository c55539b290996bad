//! Test services over temporary databases, a request builder driving the router in-process with
//! `tower::ServiceExt::oneshot`, and envelope assertions against the contract schemas.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use memory_kernel_api::{
    AddConstraintRequest, AskRequest, LinkRequest, MemoryKernel, OutcomeEventRequest,
};
use memory_kernel_service::server::open_database;
use memory_kernel_service::telemetry::Telemetry;
use memory_kernel_service::{AppState, Settings, router};
use memory_kernel_testkit::postgres::TempDatabase;
use memory_kernel_testkit::{ContractSchemas, FaultInjector};
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

/// The token of [`Variant::Token`].
pub const TOKEN: &str = "s3cret-token";
/// The body limit of [`Variant::TinyBodyLimit`].
pub const TINY_BODY_LIMIT: usize = 256;
/// The operation timeout of [`Variant::ShortTimeout`].
pub const SHORT_TIMEOUT: Duration = Duration::from_millis(150);

/// How a test service is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// A new database, created and migrated at start, then seeded.
    Migrated,
    /// An existing, empty file: opened without migrating, so every migration is pending.
    Unmigrated,
    /// Seeded, with `--operation-timeout-ms 0`: every operation's deadline has passed.
    ZeroTimeout,
    /// Seeded, with a bearer token configured.
    Token,
    /// Seeded, with a small `--max-body-bytes`.
    TinyBodyLimit,
    /// Seeded, with a short operation timeout ([`SHORT_TIMEOUT`]) that a delayed operation
    /// overruns.
    ShortTimeout,
}

/// Ids of the records written before the test request runs.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// A deny constraint user/use/usb_drive.
    pub old_version: String,
    /// Its memory id.
    pub memory_id: String,
    /// A second constraint, linked: it supersedes `old_version`.
    pub new_version: String,
    /// When the link was written (sending the same link again returns this one).
    pub link_created_at: String,
    /// The package of asking user/use/usb_drive.
    pub context_package_id: String,
}

/// A router over its own temporary database (`<temp dir>/data/memory_kernel.sqlite3`).
pub struct TestService {
    pub app: Router,
    pub seed: Seed,
    pub db: PathBuf,
    /// The API handle the router serves (clones share its pool and its fault injector).
    pub kernel: MemoryKernel,
    /// Arms a fault for the next operation of [`TestService::kernel`] (and the router's clone).
    pub faults: FaultInjector,
    /// The router's request counters.
    pub telemetry: Arc<Telemetry>,
    pub variant: Variant,
    pub dir: TempDir,
    /// The PostgreSQL database served instead of the file, dropped (with the database) after
    /// the service.
    _postgres: Option<TempDatabase>,
}

impl TestService {
    pub fn start(variant: Variant) -> Self {
        let dir = TempDir::new().unwrap();
        fs::create_dir(dir.path().join("data")).unwrap();
        let db = dir.path().join("data").join("memory_kernel.sqlite3");
        if variant == Variant::Unmigrated {
            fs::File::create(&db).unwrap();
        }
        Self::serve(variant, dir, db, None)
    }

    /// Runs `scenario` against a migrated, seeded service on a new PostgreSQL database, when
    /// a server is configured (see `memory-kernel-testkit`). The `postgres` client blocks on
    /// its own runtime, so setting up and dropping the database happen outside the runtime
    /// that drives the requests (the router runs store calls on blocking threads, as served).
    pub fn on_postgres(test: &str, scenario: impl AsyncFnOnce(&TestService)) {
        let Some(service) = Self::start_postgres(test) else {
            return;
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(scenario(&service));
    }

    fn start_postgres(test: &str) -> Option<Self> {
        let database = TempDatabase::create(test)?;
        let db = PathBuf::from(&database.url);
        Some(Self::serve(
            Variant::Migrated,
            TempDir::new().unwrap(),
            db,
            Some(database),
        ))
    }

    fn serve(variant: Variant, dir: TempDir, db: PathBuf, postgres: Option<TempDatabase>) -> Self {
        let faults = FaultInjector::new();
        let kernel = open_database(&db, false)
            .unwrap()
            .with_interceptor(faults.interceptor());
        let seed = if variant == Variant::Unmigrated {
            Seed::default()
        } else {
            seed(&kernel)
        };
        let mut settings = Settings::default();
        match variant {
            Variant::ZeroTimeout => settings.operation_timeout = Duration::ZERO,
            Variant::Token => settings.auth_token = Some(TOKEN.to_owned()),
            Variant::TinyBodyLimit => settings.max_body_bytes = TINY_BODY_LIMIT,
            Variant::ShortTimeout => settings.operation_timeout = SHORT_TIMEOUT,
            Variant::Migrated | Variant::Unmigrated => {}
        }
        let state = AppState::new(kernel.clone(), settings);
        Self {
            telemetry: state.telemetry(),
            app: router(state),
            seed,
            db,
            kernel,
            faults,
            variant,
            dir,
            _postgres: postgres,
        }
    }

    /// Serves the same database with default settings from now on (a restart with a sane
    /// configuration).
    pub fn restart_with_defaults(&mut self) {
        let state = AppState::new(self.kernel.clone(), Settings::default());
        self.telemetry = state.telemetry();
        self.app = router(state);
        self.variant = Variant::Migrated;
    }

    /// Migrates the database and writes the seed records (for a service started unmigrated).
    pub fn migrate_and_seed(&mut self) {
        self.kernel.migrate(false).unwrap();
        self.seed = seed(&self.kernel);
    }

    pub async fn send(&self, request: TestRequest) -> TestResponse {
        let mut builder = Request::builder().method(request.method).uri(request.path);
        if let Some(content_type) = request.content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(token) = request.bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(host) = request.host {
            builder = builder.header(header::HOST, host);
        }
        let mut built = builder.body(Body::from(request.body)).unwrap();
        if let Some(peer) = request.peer {
            built
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        let response = self.app.clone().oneshot(built).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        TestResponse {
            status,
            content_type,
            body,
        }
    }
}

/// The constraint of the README flow, as a service.v3 client sends it (docs/spec/service-contract.md example).
pub fn deny_usb_body() -> Value {
    json!({
        "actor": "user", "action": "use", "resource": "usb_drive", "effect": "deny",
        "note": null, "memory_id": null, "version": 1, "writer": "w", "justification": "j",
        "source_uri": "file:///p.md", "source_hash": null, "evidence": [], "confidence": 0.9,
        "truth_status": "asserted", "authority": "authoritative", "created_at": null,
        "effective_at": null, "supersedes": [], "contradicts": []
    })
}

/// A minimal add-summary body.
pub fn decision_body() -> Value {
    json!({
        "record_type": "decision", "summary": "Ship the release on Fridays",
        "writer": "ops", "justification": "retro outcome", "source_uri": "file:///retro.md",
        "truth_status": "asserted", "authority": "derived"
    })
}

/// The ask of the README flow.
pub fn ask_usb_body() -> Value {
    json!({"text": "may the user use a usb drive?", "actor": "user", "action": "use",
           "resource": "usb_drive"})
}

fn seed(kernel: &MemoryKernel) -> Seed {
    let old: AddConstraintRequest = serde_json::from_value(deny_usb_body()).unwrap();
    let old = kernel.add_constraint(&old, None).unwrap();
    let mut newer = deny_usb_body();
    newer["version"] = Value::Null;
    newer["resource"] = json!("usb_stick");
    let newer: AddConstraintRequest = serde_json::from_value(newer).unwrap();
    let newer = kernel.add_constraint(&newer, None).unwrap();
    let link = LinkRequest {
        from: newer.memory_version_id.to_string(),
        to: old.memory_version_id.to_string(),
        relation: memory_kernel_core::Relation::Supersedes,
        writer: "w".to_owned(),
        justification: "renamed".to_owned(),
        created_at: None,
    };
    let link = kernel.add_link(&link, None).unwrap();
    let ask: AskRequest = serde_json::from_value(ask_usb_body()).unwrap();
    let package = kernel.ask(&ask, None).unwrap();
    // One outcome of the first constraint, replayed, so its trust snapshot can be read.
    let outcome: OutcomeEventRequest = serde_json::from_value(json!({
        "memory_id": old.memory_id.to_string(), "version": 1, "event_type": "success",
        "writer": "agent", "justification": "the answer held"}))
    .unwrap();
    kernel.record_outcome(&outcome, None).unwrap();
    kernel.replay_outcomes(None, None).unwrap();
    Seed {
        old_version: old.memory_version_id.to_string(),
        memory_id: old.memory_id.to_string(),
        new_version: newer.memory_version_id.to_string(),
        link_created_at: link.created_at.to_string(),
        context_package_id: package.context_package_id,
    }
}

/// A request under construction.
#[derive(Debug, Clone)]
pub struct TestRequest {
    method: &'static str,
    path: String,
    content_type: Option<String>,
    body: String,
    bearer: Option<String>,
    host: Option<String>,
    peer: Option<std::net::SocketAddr>,
}

pub fn get(path: &str) -> TestRequest {
    TestRequest {
        method: "GET",
        path: path.to_owned(),
        content_type: None,
        body: String::new(),
        bearer: None,
        host: None,
        peer: None,
    }
}

pub fn post(path: &str) -> TestRequest {
    TestRequest {
        method: "POST",
        ..get(path)
    }
}

impl TestRequest {
    pub fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    pub fn json(self, value: &Value) -> Self {
        self.raw(Some("application/json"), &value.to_string())
    }

    pub fn raw(mut self, content_type: Option<&str>, body: &str) -> Self {
        self.content_type = content_type.map(str::to_owned);
        self.body = body.to_owned();
        self
    }

    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// Sends the request as if it came over a connection from `peer`.
    pub fn peer(mut self, peer: &str) -> Self {
        self.peer = Some(peer.parse().unwrap());
        self
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_owned());
        self
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub content_type: String,
    /// The JSON body, or the text as a JSON string when it is not JSON.
    pub body: Value,
}

impl TestResponse {
    /// Asserts a 200 whose envelope validates against `schema`; returns `data`.
    pub fn success(&self, schema: &str) -> &Value {
        assert_eq!(self.status, 200, "{:#}", self.body);
        validate(schema, &self.body);
        &self.body["data"]
    }

    /// Asserts the error envelope with `status` and `code`; returns `error`.
    pub fn failure(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_error_envelope(&self.body);
        assert_eq!(self.body["error"]["code"], code, "{:#}", self.body);
        &self.body["error"]
    }
}

/// Validates `instance` against the contract schema file `schema`.
pub fn validate(schema: &str, instance: &Value) {
    let schemas = ContractSchemas::load().unwrap();
    if let Err(errors) = schemas.validate(schema, instance) {
        panic!("{errors}\n{instance:#}");
    }
}

/// A non-2xx body: the error envelope, without `api_contract_version` or `legacy_error`.
pub fn assert_error_envelope(body: &Value) {
    validate("error-envelope.schema.json", body);
    let object = body.as_object().unwrap();
    assert!(!object.contains_key("api_contract_version"), "{body:#}");
    assert!(!object.contains_key("legacy_error"), "{body:#}");
    assert_eq!(object["service_contract_version"], "service.v3");
}
