//! Statements written once for both engines. A statement's text uses SQLite's numbered
//! `?N` parameters (PostgreSQL's `$N`) and its values are SQLite [`Value`]s, which go to
//! PostgreSQL with their types declared, so each statement is one round trip there. Rows come
//! back as [`Cells`], read by the same decoders on both engines.

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use rusqlite::types::Value;

use crate::error::Result;
use crate::postgres::Cached;
use crate::rows::Cells;

/// Which engine a [`Sql`] session talks to, for the few statements whose text differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

/// One open session (a connection or transaction) of either engine.
pub(crate) trait Sql {
    /// The engine behind the session.
    fn engine(&self) -> Engine;
    /// Runs `sql` and hands each result row to `row`, in order.
    fn each_row(
        &mut self,
        sql: &str,
        values: &[Value],
        row: &mut dyn FnMut(&dyn Cells) -> Result<()>,
    ) -> Result<()>;
    /// Runs a statement that returns no rows.
    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<()>;
}

impl dyn Sql + '_ {
    /// Every result row, decoded by `map`.
    pub(crate) fn rows<T>(
        &mut self,
        sql: &str,
        values: &[Value],
        map: impl Fn(&dyn Cells) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each_row(sql, values, &mut |row| {
            out.push(map(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first result row, decoded by `map`, if there is one.
    pub(crate) fn first<T>(
        &mut self,
        sql: &str,
        values: &[Value],
        map: impl Fn(&dyn Cells) -> Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.rows(sql, values, map)?.into_iter().next())
    }

    /// The integer in the first column of the first row (0 without rows).
    pub(crate) fn int(&mut self, sql: &str, values: &[Value]) -> Result<i64> {
        Ok(self.first(sql, values, |row| row.int(0))?.unwrap_or(0))
    }
}

/// A SQLite connection (or transaction, through `Deref`) as a [`Sql`] session.
pub(crate) struct Lite<'c>(pub(crate) &'c rusqlite::Connection);

impl Sql for Lite<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn each_row(
        &mut self,
        sql: &str,
        values: &[Value],
        row: &mut dyn FnMut(&dyn Cells) -> Result<()>,
    ) -> Result<()> {
        let mut statement = self.0.prepare_cached(sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values))?;
        while let Some(next) = rows.next()? {
            row(next)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<()> {
        self.0
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(values))?;
        Ok(())
    }
}

/// SQL NULL for a parameter of any type. Sent with the type `unknown`, so the server infers
/// the parameter's type from where it stands, as for a NULL literal.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// `values` as typed PostgreSQL parameters.
pub(crate) fn typed(values: &[Value]) -> Vec<(Box<dyn ToSql + Sync>, Type)> {
    values
        .iter()
        .map(|value| -> (Box<dyn ToSql + Sync>, Type) {
            match value {
                Value::Integer(n) => (Box::new(*n), Type::INT8),
                Value::Text(text) => (Box::new(text.clone()), Type::TEXT),
                Value::Null => (Box::new(Null), Type::UNKNOWN),
                Value::Real(x) => (Box::new(*x), Type::FLOAT8),
                Value::Blob(bytes) => (Box::new(bytes.clone()), Type::BYTEA),
            }
        })
        .collect()
}

/// `?N` placeholders as `$N`. Shared statements write no other `?`.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    sql.replace('?', "$")
}

/// Runs a shared statement on a PostgreSQL session.
pub(crate) fn pg_query(
    client: &mut impl Cached,
    sql: &str,
    values: &[Value],
) -> Result<Vec<postgres::Row>> {
    let params = typed(values);
    let params: Vec<(&(dyn ToSql + Sync), Type)> = params
        .iter()
        .map(|(value, ty)| (value.as_ref(), ty.clone()))
        .collect();
    Ok(client.query_typed(&dollar_placeholders(sql), &params)?)
}

impl Sql for crate::postgres::Tx<'_, '_> {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn each_row(
        &mut self,
        sql: &str,
        values: &[Value],
        row: &mut dyn FnMut(&dyn Cells) -> Result<()>,
    ) -> Result<()> {
        for next in pg_query(self, sql, values)? {
            row(&next)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<()> {
        // `query_typed` is the typed, single-round-trip call; such a statement yields no rows.
        pg_query(self, sql, values)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollar_parameters() {
        assert_eq!(
            dollar_placeholders("SELECT x FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT x FROM t WHERE a = $1 AND b = $12"
        );
    }
}
