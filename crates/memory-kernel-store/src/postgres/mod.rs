//! The PostgreSQL engine (see `docs/spec/storage-engines.md`): the same store contract as the
//! embedded SQLite file, for several service replicas sharing one database.
//!
//! Writes take one transaction-scoped advisory lock, so writers of every process and replica
//! run one at a time, as SQLite's single writer does: version numbers, recall document numbers
//! and running counts are assigned exactly as on SQLite, and a writer that dies mid-transaction
//! leaves nothing behind. Reads run without the lock, on a consistent snapshot when they take
//! more than one statement.

mod browse;
mod packages;
mod queries;
mod records;
mod schema;
mod session;
mod snapshot;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{IsolationLevel, NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;
pub(crate) use session::Cached;
use session::{Conn, Manager, Session};

use crate::error::{Result, StoreError};
use crate::migrations::{MigrationReport, SchemaStatus};
use crate::rows::Cells;
use crate::sql::Sql;

type Pool = r2d2::Pool<Manager>;
type Client = r2d2::PooledConnection<Manager>;

/// A transaction with its connection's prepared statements.
pub(crate) type Tx<'a, 'c> = Session<'a, Transaction<'c>>;

/// The key of the advisory lock every write transaction takes (any constant that no other
/// application sharing the database uses; "MKWRITE" in ASCII).
const WRITER_LOCK: i64 = 0x004D_4B57_5249_5445;

/// The engine's name in messages.
pub(crate) const ENGINE: &str = "postgresql";

/// Connections one process keeps open to the server at most (see
/// `docs/operations/scaling.md`, "Connection budgets").
pub const POOL_SIZE: u32 = 8;

/// How long opening a connection may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL URL a store location names, if it names one: `postgres://…` or
/// `postgresql://…`. Anything else is a SQLite file.
pub(crate) fn url_of(path: &Path) -> Option<&str> {
    let text = path.to_str()?;
    (text.starts_with("postgres://") || text.starts_with("postgresql://")).then_some(text)
}

/// The URL with any password replaced, for messages and logs.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// Makes every connection of a read-only store refuse writes on the server too.
#[derive(Debug)]
struct ReadOnlySessions;

impl r2d2::CustomizeConnection<Conn, postgres::Error> for ReadOnlySessions {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client()
            .batch_execute("SET default_transaction_read_only = on")
    }
}

/// The engine's state, shared by every clone of a store.
pub(crate) struct PgShared {
    url: String,
    pool: Pool,
    read_only: bool,
    /// Set once the schema has been seen current.
    schema_current: AtomicBool,
}

impl PgShared {
    /// Connects to the database at `url` (which must exist) and keeps a pool of up to
    /// [`POOL_SIZE`] connections.
    pub(crate) fn connect(url: &str, read_only: bool) -> Result<Self> {
        let unreachable = |detail: String| StoreError::Unreachable {
            location: redact(url),
            detail,
        };
        let mut config: postgres::Config =
            url.parse()
                .map_err(|e: postgres::Error| StoreError::InvalidLocation {
                    location: redact(url),
                    detail: e.to_string(),
                })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("memory-kernel");
        }
        let manager = Manager(PostgresConnectionManager::new(config, NoTls));
        let mut builder = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CONNECT_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler));
        if read_only {
            builder = builder.connection_customizer(Box::new(ReadOnlySessions));
        }
        let pool = builder.build_unchecked(manager);
        // Fail at open, not at the first operation, when the server cannot be reached.
        let mut probe = pool.get().map_err(|e| unreachable(e.to_string()))?;
        probe.client().simple_query("SELECT 1")?;
        drop(probe);
        Ok(Self {
            url: url.to_owned(),
            pool,
            read_only,
            schema_current: AtomicBool::new(false),
        })
    }

    /// The URL without its password.
    pub(crate) fn display_url(&self) -> String {
        redact(&self.url)
    }

    pub(crate) const fn read_only(&self) -> bool {
        self.read_only
    }
}

/// One store handle's view of the engine: the shared state and the handle's deadline.
pub(crate) struct Pg<'a> {
    shared: &'a PgShared,
    deadline: Option<Instant>,
}

impl<'a> Pg<'a> {
    pub(crate) const fn new(shared: &'a PgShared, deadline: Option<Instant>) -> Self {
        Self { shared, deadline }
    }

    /// A pooled connection, waited for no later than the deadline.
    fn client(&self, deadline: Option<Instant>) -> Result<Client> {
        let wait = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(StoreError::DeadlineExceeded);
                }
                left.min(CONNECT_TIMEOUT)
            }
            None => CONNECT_TIMEOUT,
        };
        self.shared.pool.get_timeout(wait).map_err(|e| {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                StoreError::DeadlineExceeded
            } else {
                StoreError::Unreachable {
                    location: self.shared.display_url(),
                    detail: e.to_string(),
                }
            }
        })
    }

    /// A connection on a database whose schema is current.
    fn current(&self, deadline: Option<Instant>) -> Result<Client> {
        let mut client = self.client(deadline)?;
        if !self.shared.schema_current.load(Ordering::Acquire) {
            schema::read_status(client.client())?.require_current()?;
            self.shared.schema_current.store(true, Ordering::Release);
        }
        Ok(client)
    }

    /// Runs `f` in one read-only transaction on a consistent snapshot.
    fn read<T>(&self, f: impl FnOnce(&mut Tx<'_, '_>) -> Result<T>) -> Result<T> {
        let mut conn = self.current(self.deadline)?;
        let (client, statements) = conn.split();
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let value = f(&mut Session {
            client: &mut tx,
            statements,
        })?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in one write transaction holding the writer lock. A deadline bounds the wait
    /// for the lock and every statement; when it has passed just before commit the
    /// transaction is rolled back and [`StoreError::DeadlineExceeded`] returned.
    fn write<T>(
        &self,
        deadline: Option<Instant>,
        f: impl FnOnce(&mut Tx<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        if self.shared.read_only {
            return Err(StoreError::ReadOnly);
        }
        let deadline = deadline.or(self.deadline);
        let mut conn = self.current(deadline)?;
        let (client, statements) = conn.split();
        let mut tx = client.transaction()?;
        if let Some(deadline) = deadline {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_millis();
            if left == 0 {
                return Err(StoreError::DeadlineExceeded);
            }
            tx.batch_execute(&format!(
                "SET LOCAL lock_timeout = {left}; SET LOCAL statement_timeout = {left}"
            ))
            .map_err(|e| deadline_error(e, true))?;
        }
        Session {
            client: &mut tx,
            statements: &mut *statements,
        }
        .query_typed(
            "SELECT pg_advisory_xact_lock($1)",
            &[(&WRITER_LOCK, postgres::types::Type::INT8)],
        )
        .map_err(|e| deadline_error(e, deadline.is_some()))?;
        let mut session = Session {
            client: &mut tx,
            statements,
        };
        let value = f(&mut session).map_err(|e| match e {
            StoreError::Postgres(e) => deadline_error(e, deadline.is_some()),
            other => other,
        })?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            tx.rollback()?;
            return Err(StoreError::DeadlineExceeded);
        }
        tx.commit()?;
        Ok(value)
    }

    /// [`Pg::read`] for statements shared with SQLite (`crate::sql`).
    pub(crate) fn read_sql<T>(&self, f: impl FnOnce(&mut dyn Sql) -> Result<T>) -> Result<T> {
        self.read(|tx| f(tx))
    }

    /// [`Pg::write`] for statements shared with SQLite (`crate::sql`).
    pub(crate) fn write_sql<T>(
        &self,
        deadline: Option<Instant>,
        f: impl FnOnce(&mut dyn Sql) -> Result<T>,
    ) -> Result<T> {
        self.write(deadline, |tx| f(tx))
    }

    pub(crate) fn schema_status(&self) -> Result<SchemaStatus> {
        schema::read_status(self.client(self.deadline)?.client())
    }

    pub(crate) fn migrate(&self, dry_run: bool) -> Result<MigrationReport> {
        if !dry_run && self.shared.read_only {
            return Err(StoreError::ReadOnly);
        }
        let mut client = self.client(self.deadline)?;
        let report = schema::migrate(client.client(), dry_run)?;
        self.shared.schema_current.store(false, Ordering::Release);
        Ok(report)
    }

    /// PostgreSQL's counterpart of SQLite's quick_check: every table of the store (outcome
    /// memory's included) is read in full (a damaged page, or one failing its checksum, fails the read). Foreign keys are
    /// enforced by the server on every write, so none can dangle.
    pub(crate) fn integrity_check(&self) -> Result<crate::IntegrityReport> {
        let mut conn = self.client(self.deadline)?;
        let client = conn.client();
        let schema_status = schema::read_status(&mut *client)?;
        let tables: Vec<String> = client
            .query(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind = 'r' AND n.nspname = current_schema()
                   AND (c.relname LIKE 'mk\\_%' OR c.relname = ANY($1))
                 ORDER BY c.relname",
                &[&crate::outcome::TABLES.as_slice()],
            )?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut findings = Vec::new();
        for table in &tables {
            if let Err(error) = client.query_one(&format!("SELECT count(*) FROM {table}"), &[]) {
                findings.push(format!("{table}: {error}"));
            }
        }
        Ok(crate::IntegrityReport {
            quick_check_ok: findings.is_empty(),
            quick_check_message: if findings.is_empty() {
                "ok".to_owned()
            } else {
                findings.join("\n")
            },
            foreign_key_violations: Vec::new(),
            schema_status,
        })
    }

    /// Whether the server takes writes now: not a standby, not a read-only session.
    pub(crate) fn check_writable(&self) -> Result<()> {
        let mut conn = self.client(self.deadline)?;
        let row = conn.client().query_one(
            "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'",
            &[],
        )?;
        if row.try_get::<_, bool>(0)? {
            return Err(StoreError::ReadOnly);
        }
        Ok(())
    }
}

/// A lock or statement timeout under a deadline is the deadline passing.
fn deadline_error(error: postgres::Error, under_deadline: bool) -> StoreError {
    let timed_out = matches!(
        error.code(),
        Some(&SqlState::LOCK_NOT_AVAILABLE | &SqlState::QUERY_CANCELED)
    );
    if under_deadline && timed_out {
        StoreError::DeadlineExceeded
    } else {
        StoreError::from(error)
    }
}

/// Whether the error is a PRIMARY KEY or UNIQUE violation.
pub(crate) fn is_uniqueness_violation(error: &postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl Cells for postgres::Row {
    fn text(&self, column: usize) -> Result<String> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: usize) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: usize) -> Result<i64> {
        Ok(self.try_get(column)?)
    }
    fn opt_int(&self, column: usize) -> Result<Option<i64>> {
        Ok(self.try_get(column)?)
    }
    fn real(&self, column: usize) -> Result<f64> {
        Ok(self.try_get(column)?)
    }
    fn opt_real(&self, column: usize) -> Result<Option<f64>> {
        Ok(self.try_get(column)?)
    }
}

/// Decodes every row through a fallible mapper.
fn collect<T>(rows: &[postgres::Row], map: impl Fn(&postgres::Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(map).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgres_urls_select_the_engine() {
        assert!(url_of(Path::new("postgres://u@localhost/db")).is_some());
        assert!(url_of(Path::new("postgresql://localhost:5432/db")).is_some());
        assert!(url_of(Path::new("./memory_kernel.sqlite3")).is_none());
        assert!(url_of(Path::new("postgres.sqlite3")).is_none());
        assert!(url_of(Path::new("/tmp/postgres://x")).is_none());
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://mk:secret@db.internal:5432/memory"),
            "postgres://mk:***@db.internal:5432/memory"
        );
        assert_eq!(redact("postgres://mk@db/memory"), "postgres://mk@db/memory");
        assert_eq!(redact("postgresql://db/memory"), "postgresql://db/memory");
    }
}
