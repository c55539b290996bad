//! Pooled connections that keep their prepared statements. A statement sent with
//! `query_typed` is parsed and planned by the server on every run; one prepared once per
//! connection is only bound and executed, and after a few runs the server reuses a generic
//! plan. For the store's short queries planning was most of the server's time (see
//! `docs/testing/performance.md`, "PostgreSQL statements").

use std::collections::HashMap;

use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, NoTls, Row, Statement};
use r2d2::ManageConnection;
use r2d2_postgres::PostgresConnectionManager;

/// Statements one connection keeps at most. The store's statement texts are a bounded set
/// (browsing filters combine into a few dozen); past the limit the cache starts again.
const STATEMENT_LIMIT: usize = 256;

/// Statements prepared on one connection, by text, then by declared parameter types (the
/// same text may be sent with a NULL of undeclared type in one call and a value in another).
/// A statement run again is found without building a key.
pub(crate) type Statements = HashMap<String, Vec<(Vec<Type>, Statement)>>;

/// A pooled connection and the statements prepared on it.
pub(crate) struct Conn {
    /// Always `Some` while the connection lives; taken only by `Drop`.
    client: Option<postgres::Client>,
    statements: Statements,
}

impl Conn {
    /// The client and the statements, borrowed apart, so a transaction of the one can use
    /// the other.
    pub(crate) fn split(&mut self) -> (&mut postgres::Client, &mut Statements) {
        match self.client.as_mut() {
            Some(client) => (client, &mut self.statements),
            None => unreachable!("a connection's client is taken only when it is dropped"),
        }
    }

    /// The connection outside any transaction.
    pub(crate) fn session(&mut self) -> Session<'_, postgres::Client> {
        let (client, statements) = self.split();
        Session { client, statements }
    }

    /// The client, for what is not cached (transactions, migrations, `SET`).
    pub(crate) fn client(&mut self) -> &mut postgres::Client {
        self.split().0
    }
}

impl Drop for Conn {
    /// The blocking client closes its connection on a runtime of its own, which panics on a
    /// thread that drives another runtime (the service's, when its last store handle goes
    /// away there), so it is closed on a plain thread.
    fn drop(&mut self) {
        self.statements.clear();
        if let Some(client) = self.client.take() {
            // A panic there would only be the close failing; the connection is gone either
            // way. Without a thread to spare the client is closed here, as a last resort.
            if let Ok(closing) = std::thread::Builder::new()
                .name("mk-postgres-close".to_owned())
                .spawn(move || drop(client))
            {
                let _ = closing.join();
            }
        }
    }
}

/// Opens [`Conn`]s with `r2d2_postgres`'s manager.
#[derive(Debug)]
pub(crate) struct Manager(pub(crate) PostgresConnectionManager<NoTls>);

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: Some(self.0.connect()?),
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        self.0.is_valid(conn.client())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        self.0.has_broken(conn.client())
    }
}

/// A connection or transaction with its connection's statements.
pub(crate) struct Session<'a, C> {
    pub(crate) client: &'a mut C,
    pub(crate) statements: &'a mut Statements,
}

/// A statement's parameters with their declared types.
pub(crate) type Params<'p> = [(&'p (dyn ToSql + Sync), Type)];

/// Runs statements through the connection's prepared statements; the same calls as
/// `postgres::GenericClient`'s `query_typed*`.
pub(crate) trait Cached {
    /// Every result row of `sql`.
    fn query_typed(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error>;

    /// The one result row of `sql`, if any (more than one is an error).
    fn query_typed_opt(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, postgres::Error>;

    /// The one result row of `sql` (none, or more than one, is an error).
    fn query_typed_one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row, postgres::Error>;
}

impl<C: GenericClient> Session<'_, C> {
    /// The prepared statement of `sql` with `params`' declared types, prepared now when this
    /// connection has not yet.
    fn statement(&mut self, sql: &str, params: &Params<'_>) -> Result<Statement, postgres::Error> {
        let prepared = self.statements.get(sql).and_then(|variants| {
            variants
                .iter()
                .find(|(declared, _)| declared.iter().eq(params.iter().map(|(_, ty)| ty)))
        });
        if let Some((_, statement)) = prepared {
            return Ok(statement.clone());
        }
        let types: Vec<Type> = params.iter().map(|(_, ty)| ty.clone()).collect();
        let statement = self.client.prepare_typed(sql, &types)?;
        if self.statements.len() >= STATEMENT_LIMIT {
            self.statements.clear();
        }
        self.statements
            .entry(sql.to_owned())
            .or_default()
            .push((types, statement.clone()));
        Ok(statement)
    }

    /// Runs `run` on the prepared statement of `sql` with the parameters' values.
    fn run<T>(
        &mut self,
        sql: &str,
        params: &Params<'_>,
        run: impl FnOnce(&mut C, &Statement, &[&(dyn ToSql + Sync)]) -> Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        let statement = self.statement(sql, params)?;
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(value, _)| *value).collect();
        run(self.client, &statement, &values).inspect_err(|error| {
            // A schema change under the statement, or a pooler that dropped it: prepare it
            // again next time.
            if matches!(
                error.code(),
                Some(&SqlState::FEATURE_NOT_SUPPORTED | &SqlState::INVALID_SQL_STATEMENT_NAME)
            ) {
                self.statements.remove(sql);
            }
        })
    }
}

impl<C: GenericClient> Cached for Session<'_, C> {
    fn query_typed(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        self.run(sql, params, |client, statement, values| {
            client.query(statement, values)
        })
    }

    fn query_typed_opt(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        self.run(sql, params, |client, statement, values| {
            client.query_opt(statement, values)
        })
    }

    fn query_typed_one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row, postgres::Error> {
        self.run(sql, params, |client, statement, values| {
            client.query_one(statement, values)
        })
    }
}
