//! Sending the load: closed-loop clients for a measured cell, and a worker pool for the
//! seeding and database-growth phases. Every loop is bounded by a request count and by time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::slo::requests::HttpRequest;
use crate::slo::service::{Counted, send_counting};

/// How often a [`pool`] reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What one measured cell gave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CellResult {
    /// Requests finished (answered or failed).
    pub(crate) requests: u64,
    /// From the first request's start to the last client's end.
    pub(crate) elapsed: Duration,
    /// Every request's latency, in microseconds, sorted.
    pub(crate) latencies_us: Vec<u64>,
    /// Requests answered with a status outside 2xx.
    pub(crate) non_2xx: u64,
    /// Requests that failed below HTTP (connection, timeout, a body cut short).
    pub(crate) transport_errors: u64,
    /// Body bytes of every answer.
    pub(crate) response_bytes: u64,
    /// The first error seen, for the progress line.
    pub(crate) first_error: Option<String>,
}

impl CellResult {
    /// Finished requests per second.
    pub(crate) fn requests_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.requests as f64 / seconds
        } else {
            0.0
        }
    }

    /// The latency quantile `q` (nearest rank), in milliseconds; `None` without requests.
    pub(crate) fn latency_ms(&self, q: f64) -> Option<f64> {
        quantile(&self.latencies_us, q).map(|us| us as f64 / 1000.0)
    }

    /// Mean body bytes per request; `None` without requests.
    pub(crate) fn mean_response_bytes(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.response_bytes as f64 / self.requests as f64)
    }
}

/// The nearest-rank quantile `q` of sorted `values`.
pub(crate) fn quantile(values: &[u64], q: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len()) - 1).copied()
}

/// One client's tally.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    non_2xx: u64,
    transport_errors: u64,
    response_bytes: u64,
    first_error: Option<String>,
}

impl Tally {
    fn add(&mut self, answer: &Counted, latency: Duration) {
        self.latencies_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        self.response_bytes += answer.bytes;
        if answer.status == 0 {
            self.transport_errors += 1;
        } else if !answer.is_success() {
            self.non_2xx += 1;
        }
        if self.first_error.is_none() {
            self.first_error.clone_from(&answer.error);
        }
    }
}

/// Runs `clients` closed-loop clients against `base` for `duration`: each sends
/// `request(client, k)` for `k = 0, 1, …`, the next as soon as the previous one is answered,
/// until the time is up or `max_requests` requests were started in all.
pub(crate) fn closed_loop(
    agent: &ureq::Agent,
    base: &str,
    clients: usize,
    duration: Duration,
    max_requests: usize,
    request: &(dyn Fn(usize, usize) -> HttpRequest + Sync),
) -> CellResult {
    let started = AtomicUsize::new(0);
    let begin = Instant::now();
    let tallies: Vec<Tally> = thread::scope(|scope| {
        let workers: Vec<_> = (0..clients.max(1))
            .map(|client| {
                let started = &started;
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    for k in 0.. {
                        if begin.elapsed() >= duration
                            || started.fetch_add(1, Ordering::Relaxed) >= max_requests
                        {
                            break;
                        }
                        let request = request(client, k);
                        let sent = Instant::now();
                        let answer = send_counting(agent, base, &request);
                        tally.add(&answer, sent.elapsed());
                    }
                    tally
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    let elapsed = begin.elapsed();
    let mut result = CellResult {
        requests: 0,
        elapsed,
        latencies_us: Vec::new(),
        non_2xx: 0,
        transport_errors: 0,
        response_bytes: 0,
        first_error: None,
    };
    for tally in tallies {
        result.requests += tally.latencies_us.len() as u64;
        result.latencies_us.extend(tally.latencies_us);
        result.non_2xx += tally.non_2xx;
        result.transport_errors += tally.transport_errors;
        result.response_bytes += tally.response_bytes;
        if result.first_error.is_none() {
            result.first_error = tally.first_error;
        }
    }
    result.latencies_us.sort_unstable();
    result
}

/// What a pool run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolOutcome {
    /// Requests answered 2xx.
    pub(crate) succeeded: usize,
    /// Requests that were not, after their retries.
    pub(crate) failed: usize,
    /// Repeated sends of a request the service failed (see [`Limits::retries`]).
    pub(crate) retried: usize,
    /// The first failure's status and body (or transport error).
    pub(crate) first_failure: Option<String>,
    /// How long it took.
    pub(crate) elapsed: Duration,
    /// Body bytes received.
    pub(crate) response_bytes: u64,
    /// Whether the deadline or the byte budget stopped it before every request was sent.
    pub(crate) cut_short: bool,
}

/// When a [`pool`] stops starting requests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Requests not started by then are not sent.
    pub(crate) deadline: Instant,
    /// No request is started once this many body bytes were received.
    pub(crate) response_bytes: u64,
    /// Whether a failure stops it.
    pub(crate) stop_on_failure: bool,
    /// How often a request is sent again when the service failed it (5xx, or no answer)
    /// before it counts as failed; a client error (4xx) is never retried.
    pub(crate) retries: u32,
}

/// Whether an answer is worth sending the request again: the service failed it or no
/// answer came. The service commits nothing for a request it fails (its errors say a retry is
/// safe); after a transport error the write may have landed, and the retry adds a near-copy.
fn retryable(answer: &Counted) -> bool {
    answer.status == 0 || answer.status >= 500
}

/// Sends `request(i)` for `i` in `0..total` with `threads` workers until `limits` stop it.
/// Prints `label: done/total` on stderr every [`PROGRESS_EVERY`].
pub(crate) fn pool(
    agent: &ureq::Agent,
    base: &str,
    threads: usize,
    total: usize,
    limits: Limits,
    label: &str,
    request: &(dyn Fn(usize) -> HttpRequest + Sync),
) -> PoolOutcome {
    let next = AtomicUsize::new(0);
    let succeeded = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let retried = AtomicUsize::new(0);
    let received = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let first_failure = Mutex::new(None);
    let begin = Instant::now();
    thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        if stop.load(Ordering::Relaxed)
                            || Instant::now() >= limits.deadline
                            || received.load(Ordering::Relaxed) >= limits.response_bytes
                        {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            break;
                        }
                        let request = request(i);
                        let mut answer = send_counting(agent, base, &request);
                        for attempt in 1..=limits.retries {
                            if answer.is_success() || !retryable(&answer) {
                                break;
                            }
                            retried.fetch_add(1, Ordering::Relaxed);
                            thread::sleep(Duration::from_millis(100) * attempt);
                            received.fetch_add(answer.bytes, Ordering::Relaxed);
                            answer = send_counting(agent, base, &request);
                        }
                        received.fetch_add(answer.bytes, Ordering::Relaxed);
                        if answer.is_success() {
                            succeeded.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        failed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = first_failure.lock()
                            && first.is_none()
                        {
                            *first = answer.error;
                        }
                        if limits.stop_on_failure {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let mut last_report = Instant::now();
        while workers.iter().any(|worker| !worker.is_finished()) {
            thread::sleep(Duration::from_millis(50));
            if last_report.elapsed() >= PROGRESS_EVERY {
                let done = succeeded.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed);
                let rate = done as f64 / begin.elapsed().as_secs_f64().max(0.001);
                eprintln!("bench: {label}: {done}/{total} ({rate:.1}/s)");
                last_report = Instant::now();
            }
        }
    });
    let succeeded = succeeded.into_inner();
    let failed = failed.into_inner();
    PoolOutcome {
        succeeded,
        failed,
        retried: retried.into_inner(),
        first_failure: first_failure.into_inner().unwrap_or_default(),
        elapsed: begin.elapsed(),
        response_bytes: received.into_inner(),
        cut_short: succeeded + failed < total && !(limits.stop_on_failure && failed > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), Some(50));
        assert_eq!(quantile(&values, 0.95), Some(95));
        assert_eq!(quantile(&values, 0.99), Some(99));
        assert_eq!(quantile(&values, 1.0), Some(100));
        assert_eq!(quantile(&values, 0.0), Some(1));
        assert_eq!(quantile(&[7], 0.99), Some(7));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn a_cell_without_requests_has_no_latency_or_mean() {
        let empty = CellResult {
            requests: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
            non_2xx: 0,
            transport_errors: 0,
            response_bytes: 0,
            first_error: None,
        };
        assert_eq!(empty.latency_ms(0.5), None);
        assert_eq!(empty.mean_response_bytes(), None);
        assert!(empty.requests_per_second().abs() < f64::EPSILON);
    }

    #[test]
    fn nothing_listening_counts_as_transport_errors_and_stays_bounded() {
        // A port that was just free: nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or(9);
        let base = format!("http://127.0.0.1:{port}");
        let agent = crate::slo::service::agent(2);
        let result = closed_loop(&agent, &base, 2, Duration::from_secs(5), 10, &|_, _| {
            crate::bench::corpus::health()
        });
        assert_eq!(result.requests, 10);
        assert_eq!(result.transport_errors, 10);
        assert_eq!(result.non_2xx, 0);
        assert!(result.first_error.is_some());

        let limits = Limits {
            deadline: Instant::now() + Duration::from_secs(5),
            response_bytes: u64::MAX,
            stop_on_failure: true,
            retries: 0,
        };
        let outcome = pool(&agent, &base, 2, 50, limits, "test", &|_| {
            crate::bench::corpus::health()
        });
        assert_eq!(outcome.succeeded, 0);
        assert!(outcome.failed >= 1 && outcome.failed <= 2, "{outcome:?}");
        assert!(!outcome.cut_short);

        let keep_going = Limits {
            stop_on_failure: false,
            ..limits
        };
        let outcome = pool(&agent, &base, 2, 20, keep_going, "test", &|_| {
            crate::bench::corpus::health()
        });
        assert_eq!((outcome.succeeded, outcome.failed), (0, 20), "{outcome:?}");
        assert_eq!(outcome.retried, 0);
        assert!(!outcome.cut_short);

        let retrying = Limits {
            retries: 2,
            ..keep_going
        };
        let outcome = pool(&agent, &base, 2, 3, retrying, "test", &|_| {
            crate::bench::corpus::health()
        });
        assert_eq!((outcome.failed, outcome.retried), (3, 6), "{outcome:?}");

        let past = Limits {
            deadline: Instant::now(),
            ..keep_going
        };
        let outcome = pool(&agent, &base, 2, 20, past, "test", &|_| {
            crate::bench::corpus::health()
        });
        assert_eq!((outcome.succeeded, outcome.failed), (0, 0), "{outcome:?}");
        assert!(outcome.cut_short);
    }
}
