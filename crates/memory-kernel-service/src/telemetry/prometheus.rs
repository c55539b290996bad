//! `GET /metrics`: the snapshot in the Prometheus text exposition format, version 0.0.4.
//!
//! Three families, every series present from the start (zeros included) so a scraper never
//! sees one appear mid-way:
//! - `mk_requests_total{endpoint,code}` (counter): finished requests; `code` is `ok` for a 2xx
//!   response, the error code otherwise, `other` for a failure without one;
//! - `mk_request_duration_seconds{endpoint}` (histogram): `_bucket{le}` (cumulative, ending with
//!   `+Inf`), `_sum`, `_count`;
//! - `mk_timeouts_total{endpoint}` (counter): requests whose operation ran out of time (also
//!   counted under their code in `mk_requests_total`).
//!
//! `endpoint` is the route template, or `unmatched` for a path no route has.

use std::fmt::Write;

use super::{CODE_LABELS, DURATION_BUCKETS, TelemetrySnapshot};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

impl TelemetrySnapshot {
    /// The exposition text; every line ends with `\n`.
    #[must_use]
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(32 * 1024);
        family(
            &mut out,
            "mk_requests_total",
            "counter",
            "Finished requests by endpoint (route template) and code (ok, or the error code).",
        );
        for e in &self.endpoints {
            let endpoint = escape(e.endpoint);
            for (code, count) in CODE_LABELS.iter().zip(e.codes) {
                line(
                    &mut out,
                    format_args!(
                        "mk_requests_total{{endpoint=\"{endpoint}\",code=\"{code}\"}} {count}"
                    ),
                );
            }
        }
        family(
            &mut out,
            "mk_request_duration_seconds",
            "histogram",
            "Request latency by endpoint, from routing to the response head.",
        );
        for e in &self.endpoints {
            let endpoint = escape(e.endpoint);
            let mut cumulative = 0_u64;
            let bounds = DURATION_BUCKETS.iter().map(|(_, le)| *le).chain(["+Inf"]);
            for (le, count) in bounds.zip(e.buckets) {
                cumulative += count;
                line(
                    &mut out,
                    format_args!(
                        "mk_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{le}\"}} \
                         {cumulative}"
                    ),
                );
            }
            let seconds = seconds(e.duration_sum_nanos);
            line(
                &mut out,
                format_args!(
                    "mk_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {seconds}"
                ),
            );
            line(
                &mut out,
                format_args!(
                    "mk_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {cumulative}"
                ),
            );
        }
        family(
            &mut out,
            "mk_timeouts_total",
            "counter",
            "Requests whose operation did not finish within the operation timeout.",
        );
        for e in &self.endpoints {
            let endpoint = escape(e.endpoint);
            let timeouts = e.timeouts();
            line(
                &mut out,
                format_args!("mk_timeouts_total{{endpoint=\"{endpoint}\"}} {timeouts}"),
            );
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    line(out, format_args!("# HELP {name} {help}"));
    line(out, format_args!("# TYPE {name} {kind}"));
}

fn line(out: &mut String, text: std::fmt::Arguments<'_>) {
    // Writing into a String cannot fail.
    let _ = out.write_fmt(text);
    out.push('\n');
}

/// Nanoseconds as seconds, in the shortest decimal that reads back as the same value.
#[allow(clippy::cast_precision_loss)]
fn seconds(nanos: u64) -> String {
    format!("{}", nanos as f64 / 1e9)
}

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::telemetry::{Outcome, OutcomeClass, Telemetry};

    #[test]
    fn a_histogram_is_cumulative_and_ends_with_its_count() {
        let telemetry = Telemetry::default();
        let health = Telemetry::endpoint_index(Some("/v1/health"));
        let ok = Outcome {
            class: OutcomeClass::Success,
            code: 0,
        };
        telemetry.record(health, ok, Duration::from_micros(100));
        telemetry.record(health, ok, Duration::from_millis(20));
        let text = telemetry.snapshot().to_prometheus();
        for expected in [
            "mk_requests_total{endpoint=\"/v1/health\",code=\"ok\"} 2\n",
            "mk_request_duration_seconds_bucket{endpoint=\"/v1/health\",le=\"0.00025\"} 1\n",
            "mk_request_duration_seconds_bucket{endpoint=\"/v1/health\",le=\"0.01\"} 1\n",
            "mk_request_duration_seconds_bucket{endpoint=\"/v1/health\",le=\"0.025\"} 2\n",
            "mk_request_duration_seconds_bucket{endpoint=\"/v1/health\",le=\"+Inf\"} 2\n",
            "mk_request_duration_seconds_sum{endpoint=\"/v1/health\"} 0.0201\n",
            "mk_request_duration_seconds_count{endpoint=\"/v1/health\"} 2\n",
            "mk_timeouts_total{endpoint=\"unmatched\"} 0\n",
            "# TYPE mk_request_duration_seconds histogram\n",
        ] {
            assert!(text.contains(expected), "{expected}");
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn seconds_never_use_an_exponent() {
        assert_eq!(seconds(1), "0.000000001");
        assert_eq!(seconds(2_500_000_000), "2.5");
        assert_eq!(seconds(0), "0");
    }
}
