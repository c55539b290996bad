//! A PostgreSQL database per test, on the server `MK_TEST_POSTGRES_URL` names (see
//! `docs/testing/postgres.md`). Without that variable a test prints a visible SKIP and runs
//! on SQLite only, unless `MK_REQUIRE_POSTGRES` is set (CI sets it): then a missing server
//! fails the test.
// Test support: a failure to set up is the test's failure, reported where it happens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use postgres::{Client, NoTls};

/// The variable naming the server's administrative URL.
pub const URL_VARIABLE: &str = "MK_TEST_POSTGRES_URL";
/// The variable that turns a missing server into a failure.
pub const REQUIRE_VARIABLE: &str = "MK_REQUIRE_POSTGRES";

/// How to get a server (see `docs/testing/postgres.md`).
const START_HINT: &str = "start one with `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15` \
     and export MK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test and dropped after it.
pub struct TempDatabase {
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

/// The server to use: `url` when set; otherwise `None` after a visible SKIP line, or a panic
/// when the server is `required` (CI): a missing server never passes silently there.
fn server_url(url: Option<String>, required: bool, test: &str) -> Option<String> {
    match url {
        Some(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !required,
                "{REQUIRE_VARIABLE} is set but {URL_VARIABLE} is not: {START_HINT}"
            );
            eprintln!("SKIP {test} on PostgreSQL: {URL_VARIABLE} is not set; {START_HINT}");
            None
        }
    }
}

impl TempDatabase {
    /// A fresh, empty database, or `None` (after printing SKIP) when no server is configured.
    ///
    /// # Panics
    /// When `MK_REQUIRE_POSTGRES` is set without a server, or the server refuses the new
    /// database.
    #[must_use]
    pub fn create(test: &str) -> Option<Self> {
        let admin_url = server_url(
            std::env::var(URL_VARIABLE).ok(),
            std::env::var_os(REQUIRE_VARIABLE).is_some(),
            test,
        )?;
        let name = format!("mk_test_{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut admin = Client::connect(&admin_url, NoTls)
            .unwrap_or_else(|e| panic!("{URL_VARIABLE}={admin_url}: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = admin_url
            .split('?')
            .next()
            .unwrap()
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base)
            .to_owned();
        let url = format!("{base}/{name}");
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The database's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A plain client on the database, for what the store never does (raw statements).
    ///
    /// # Panics
    /// When the database cannot be reached.
    #[must_use]
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&self.admin_url, NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_server_is_used() {
        let url = "postgres://postgres@127.0.0.1:5432/postgres".to_owned();
        assert_eq!(server_url(Some(url.clone()), true, "t"), Some(url));
    }

    #[test]
    fn without_a_server_a_test_skips_unless_one_is_required() {
        assert_eq!(server_url(None, false, "t"), None);
        assert_eq!(server_url(Some(String::new()), false, "t"), None);
    }

    #[test]
    #[should_panic(expected = "MK_REQUIRE_POSTGRES is set but MK_TEST_POSTGRES_URL is not")]
    fn a_required_server_that_is_missing_fails() {
        let _ = server_url(None, true, "t");
    }
}
