//! Start-up and serving: open (and when new, create and migrate) the database, bind, serve
//! until SIGINT or SIGTERM, then drain in-flight requests for at most `--shutdown-drain-ms`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use memory_kernel_api::MemoryKernel;
use memory_kernel_core::Timestamp;
use tokio::net::TcpListener;

use crate::config::ServiceConfig;
use crate::connection::{ConnectionLimits, serve_connections};
use crate::state::AppState;

/// Opens the database for serving. A new store (a file that does not exist, or a PostgreSQL
/// database without any of the store's tables) is created and migrated; an existing one is
/// migrated only when `migrate` is set (otherwise `/v1/ready` answers 503 until it is), so a
/// replica of a newer build never migrates a database that older replicas still serve.
///
/// # Errors
/// When the file cannot be opened as a database or a migration fails.
pub fn open_database(path: &Path, migrate: bool) -> anyhow::Result<MemoryKernel> {
    let (kernel, created) = MemoryKernel::open_or_create(path)
        .with_context(|| format!("opening database {}", path.display()))?;
    let is_new = created.is_some();
    let migrated = match created {
        Some(report) => Some(report),
        None if migrate => Some(
            kernel
                .migrate(false)
                .with_context(|| format!("migrating database {}", path.display()))?,
        ),
        None => None,
    };
    if let Some(report) = migrated {
        tracing::info!(
            db = %path.display(),
            created = is_new,
            applied = ?report.would_apply_versions,
            "database schema is current"
        );
    } else {
        let status = kernel
            .schema_status()
            .with_context(|| format!("reading the schema of {}", path.display()))?;
        if !status.up_to_date {
            tracing::warn!(
                db = %path.display(),
                current = status.current_version,
                target = status.target_version,
                "database has pending migrations; /v1/ready answers 503 until they are applied \
                 (restart with --migrate or POST /v1/db/migrate)"
            );
        }
    }
    Ok(kernel)
}

/// Serves `config` until a shutdown signal.
///
/// # Errors
/// Invalid settings (see [`ServiceConfig::settings`]), a database that cannot be opened, an
/// address that cannot be bound, or a server failure.
pub async fn serve(config: &ServiceConfig) -> anyhow::Result<()> {
    let settings = config.settings()?;
    let db = config.db.clone();
    let migrate = config.migrate;
    let kernel = tokio::task::spawn_blocking(move || open_database(&db, migrate)).await??;
    let bind = config.listen_address()?;
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {} ({bind})", config.bind))?;
    let address = listener.local_addr()?;
    tracing::info!("memory-kernel-service listening on http://{address}");
    if config.prune_packages_after > 0 {
        tokio::spawn(prune_packages_periodically(
            kernel.clone(),
            Duration::from_secs(config.prune_packages_after.saturating_mul(3600)),
        ));
    }
    let app = crate::router(AppState::new(kernel, settings));
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
        shutdown_drain: Duration::from_millis(config.shutdown_drain_ms),
    };
    serve_connections(listener, app, limits, shutdown_signal()).await;
    tracing::info!("memory-kernel-service stopped");
    Ok(())
}

/// How often the retention setting is applied.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Deletes packages older than `retention`, now and then every [`PRUNE_INTERVAL`], off the
/// async workers. A failure is logged and retried at the next round.
async fn prune_packages_periodically(kernel: MemoryKernel, retention: Duration) {
    let mut ticks = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        ticks.tick().await;
        let kernel = kernel.clone();
        let pruned = tokio::task::spawn_blocking(move || {
            let now = Timestamp::now().as_offset_date_time();
            let before = Timestamp::from_offset_date_time(now - retention)?;
            kernel.prune_context_packages(&before.to_string())
        })
        .await;
        match pruned {
            Ok(Ok(report)) => tracing::info!(
                pruned = report.pruned_packages,
                remaining = report.remaining_packages,
                "pruned context packages"
            ),
            Ok(Err(error)) => tracing::warn!(%error, "pruning context packages failed"),
            Err(error) => tracing::warn!(%error, "pruning context packages did not finish"),
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
