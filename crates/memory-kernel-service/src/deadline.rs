//! Runs one API operation on a blocking thread under the operation timeout.
//!
//! The deadline is handed to the API, which checks it before committing and rolls back when it has
//! passed, so a timeout response is the truth and a retry is safe (docs/spec/requirements.md). The
//! service also stops waiting once the deadline (plus a short grace for a commit already under way)
//! has passed, so a stuck operation cannot hold a request open.

use std::time::{Duration, Instant};

use memory_kernel_api::{ApiError, Deadline, Operation};

use crate::error::ServiceError;

/// How long past the deadline the service still waits, so a commit that began just before the
/// deadline is reported as the success it is rather than as a timeout.
pub const COMMIT_GRACE: Duration = Duration::from_millis(50);

/// Runs `op` with a deadline `timeout` from now. A zero timeout has passed before the operation
/// could start, so the operation is not started at all.
///
/// # Errors
/// The operation's [`ServiceError`]; on a timeout (service-side or a missed API deadline) 503
/// [`ErrorCode::OperationTimeout`](memory_kernel_api::ErrorCode::OperationTimeout) with
/// `details.timeout_ms`; [`ErrorCode::InternalError`](memory_kernel_api::ErrorCode::InternalError)
/// when the operation panicked.
pub async fn run_with_deadline<T, F>(
    timeout: Duration,
    operation: Operation,
    op: F,
) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: FnOnce(Deadline) -> Result<T, ApiError> + Send + 'static,
{
    let timeout_ms = millis(timeout);
    if timeout.is_zero() {
        return Err(ServiceError::timeout(operation, timeout_ms));
    }
    let deadline = Instant::now().checked_add(timeout);
    let task = tokio::task::spawn_blocking(move || op(deadline));
    match tokio::time::timeout(timeout.saturating_add(COMMIT_GRACE), task).await {
        Err(_elapsed) => Err(ServiceError::timeout(operation, timeout_ms)),
        Ok(Err(join_error)) => Err(ServiceError::internal(format!(
            "the operation stopped unexpectedly: {join_error}"
        ))),
        Ok(Ok(result)) => result.map_err(|error| ServiceError::from_api(error, timeout_ms)),
    }
}

/// A duration in whole milliseconds, saturating.
#[must_use]
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use memory_kernel_api::ErrorCode;

    use super::*;

    #[tokio::test]
    async fn a_slow_operation_times_out_with_the_timeout_code() {
        let result: Result<(), ServiceError> =
            run_with_deadline(Duration::from_millis(10), Operation::Query, |_| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
            .await;
        let error = result.err();
        assert_eq!(
            error.as_ref().map(ServiceError::code),
            Some(ErrorCode::OperationTimeout)
        );
        assert!(error.is_some_and(|e| e.message().contains("within 10 ms")));
    }

    #[tokio::test]
    async fn a_zero_timeout_never_starts_the_operation() {
        let result: Result<(), ServiceError> =
            run_with_deadline(Duration::ZERO, Operation::Write, |_| {
                panic!("must not run");
            })
            .await;
        assert_eq!(
            result.err().map(|e| e.code()),
            Some(ErrorCode::OperationTimeout)
        );
    }

    #[tokio::test]
    async fn the_operation_sees_the_deadline() {
        let result = run_with_deadline(Duration::from_secs(5), Operation::Write, |deadline| {
            Ok(deadline.is_some_and(|d| d > Instant::now()))
        })
        .await;
        assert_eq!(result, Ok(true));
    }

    #[tokio::test]
    async fn a_missed_api_deadline_is_a_timeout() {
        let result: Result<(), ServiceError> =
            run_with_deadline(Duration::from_secs(5), Operation::Write, |_| {
                Err(ApiError::DeadlineExceeded {
                    operation: Operation::Write,
                })
            })
            .await;
        assert_eq!(
            result.err().map(|e| e.code()),
            Some(ErrorCode::OperationTimeout)
        );
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error() {
        let result: Result<(), ServiceError> =
            run_with_deadline(Duration::from_secs(5), Operation::Query, |_| panic!("boom")).await;
        assert_eq!(
            result.err().map(|e| e.code()),
            Some(ErrorCode::InternalError)
        );
    }
}
