//! Reads the service's `GET /metrics` text (Prometheus exposition 0.0.4) into one
//! [`EndpointReading`] per `endpoint` label.
//!
//! The reader is strict about the lines it reads — every line is a `# HELP`/`# TYPE` comment
//! or a well-formed sample, label values escape only `\\`, `\"` and `\n`, counters are
//! non-negative integers, histogram buckets are cumulative and end with `+Inf` equal to
//! `_count` — and tolerant about content: families other than the service's three are skipped,
//! so a newer service that adds one still reads.

use std::collections::BTreeMap;

/// The service's families.
const REQUESTS: &str = "mk_requests_total";
const DURATION: &str = "mk_request_duration_seconds";
const TIMEOUTS: &str = "mk_timeouts_total";

/// What the exposition says about one endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointReading {
    /// The route template, or `unmatched`.
    pub endpoint: String,
    /// `mk_requests_total` per `code` label.
    pub codes: BTreeMap<String, u64>,
    /// The histogram's `(le, cumulative count)` pairs, ascending, ending with `+Inf`.
    pub buckets: Vec<(f64, u64)>,
    /// `_sum`, in seconds.
    pub duration_sum_seconds: f64,
    /// `mk_timeouts_total`.
    pub timeouts: u64,
}

impl EndpointReading {
    /// Every finished request (the histogram's count).
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.buckets.last().map_or(0, |(_, count)| *count)
    }
}

/// One sample line.
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Reads `text`, keeping endpoints in the order they first appear.
///
/// # Errors
/// A message naming the line and what is wrong with it.
pub fn read(text: &str) -> Result<Vec<EndpointReading>, String> {
    let mut endpoints: Vec<EndpointReading> = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let at = |message: String| format!("/metrics line {}: {message}", index + 1);
        if line.is_empty() || line.starts_with("# HELP ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            check_type(rest).map_err(at)?;
            continue;
        }
        if line.starts_with('#') {
            return Err(at(format!("unexpected comment {line:?}")));
        }
        let sample = sample(line).map_err(at)?;
        let ours = [REQUESTS, TIMEOUTS].contains(&sample.name.as_str())
            || sample
                .name
                .strip_prefix(DURATION)
                .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix));
        if !ours {
            continue;
        }
        let endpoint = sample
            .labels
            .get("endpoint")
            .ok_or_else(|| at("no endpoint label".into()))?;
        let slot = match endpoints.iter().position(|e| &e.endpoint == endpoint) {
            Some(slot) => slot,
            None => {
                endpoints.push(EndpointReading {
                    endpoint: endpoint.clone(),
                    ..EndpointReading::default()
                });
                endpoints.len() - 1
            }
        };
        let reading = &mut endpoints[slot];
        match sample.name.as_str() {
            REQUESTS => {
                let code = sample
                    .labels
                    .get("code")
                    .ok_or_else(|| at("no code label".into()))?;
                reading
                    .codes
                    .insert(code.clone(), counter(sample.value).map_err(at)?);
            }
            TIMEOUTS => reading.timeouts = counter(sample.value).map_err(at)?,
            name if name == format!("{DURATION}_bucket") => {
                let le = sample
                    .labels
                    .get("le")
                    .ok_or_else(|| at("no le label".into()))?;
                let le = float(le).map_err(at)?;
                let count = counter(sample.value).map_err(at)?;
                if let Some((previous_le, previous)) = reading.buckets.last()
                    && (le <= *previous_le || count < *previous)
                {
                    return Err(at("buckets are not ascending and cumulative".into()));
                }
                reading.buckets.push((le, count));
            }
            name if name == format!("{DURATION}_sum") => {
                reading.duration_sum_seconds = sample.value
            }
            name if name == format!("{DURATION}_count") => {
                counts.insert(endpoint.clone(), counter(sample.value).map_err(at)?);
            }
            _ => {}
        }
    }
    for reading in &endpoints {
        let last = reading.buckets.last();
        if last.is_none_or(|(le, _)| *le != f64::INFINITY) {
            return Err(format!("/metrics: no +Inf bucket for {}", reading.endpoint));
        }
        if counts.get(&reading.endpoint) != Some(&reading.requests()) {
            return Err(format!(
                "/metrics: _count disagrees with +Inf for {}",
                reading.endpoint
            ));
        }
    }
    if endpoints.is_empty() {
        return Err(format!(
            "/metrics: no {REQUESTS} series; is this a MemoryKernel service?"
        ));
    }
    Ok(endpoints)
}

fn check_type(rest: &str) -> Result<(), String> {
    let (name, kind) = rest.split_once(' ').ok_or("TYPE without a type")?;
    let expected = match name {
        REQUESTS | TIMEOUTS => Some("counter"),
        DURATION => Some("histogram"),
        _ => None,
    };
    match expected {
        Some(expected) if expected != kind => {
            Err(format!("{name} is a {kind}, expected {expected}"))
        }
        _ => Ok(()),
    }
}

/// `name{label="value",...} value [timestamp]`.
fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("a sample without a value")?;
    let name = &line[..name_end];
    let valid_name = name.chars().enumerate().all(|(i, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
    });
    if name.is_empty() || !valid_name {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        while !rest.starts_with('}') {
            let (label, after) = rest
                .split_once("=\"")
                .ok_or("a label without a quoted value")?;
            let (value, after) = quoted(after)?;
            labels.insert(label.to_owned(), value);
            rest = after.strip_prefix(',').unwrap_or(after);
            if !after.starts_with([',', '}']) {
                return Err("labels are not separated by commas".to_owned());
            }
        }
        rest = &rest[1..];
    }
    let mut fields = rest
        .strip_prefix(' ')
        .ok_or("no space before the value")?
        .split(' ');
    let value = float(fields.next().unwrap_or_default())?;
    let timestamp_ok = fields.next().is_none_or(|t| t.parse::<i64>().is_ok());
    if !timestamp_ok || fields.next().is_some() {
        return Err("trailing text after the value".to_owned());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// The unescaped value up to the closing quote, and the text after it.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('\\') => value.push('\\'),
                Some('"') => value.push('"'),
                Some('n') => value.push('\n'),
                other => return Err(format!("bad escape \\{}", other.unwrap_or(' '))),
            },
            c => value.push(c),
        }
    }
    Err("an unterminated label value".to_owned())
}

fn float(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| format!("bad number {text:?}")),
    }
}

/// A counter value: a non-negative whole number.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn counter(value: f64) -> Result<u64, String> {
    if value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(53) {
        Ok(value as u64)
    } else {
        Err(format!("{value} is not a count"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP mk_requests_total Requests.\n\
        # TYPE mk_requests_total counter\n\
        mk_requests_total{endpoint=\"/v1/query/ask\",code=\"ok\"} 9\n\
        mk_requests_total{endpoint=\"/v1/query/ask\",code=\"query_failed\"} 1\n\
        # TYPE mk_request_duration_seconds histogram\n\
        mk_request_duration_seconds_bucket{endpoint=\"/v1/query/ask\",le=\"0.001\"} 4\n\
        mk_request_duration_seconds_bucket{endpoint=\"/v1/query/ask\",le=\"0.01\"} 9\n\
        mk_request_duration_seconds_bucket{endpoint=\"/v1/query/ask\",le=\"+Inf\"} 10\n\
        mk_request_duration_seconds_sum{endpoint=\"/v1/query/ask\"} 2.6\n\
        mk_request_duration_seconds_count{endpoint=\"/v1/query/ask\"} 10\n\
        # TYPE mk_timeouts_total counter\n\
        mk_timeouts_total{endpoint=\"/v1/query/ask\"} 1\n";

    #[test]
    fn reads_the_three_families_per_endpoint() {
        let readings = read(TEXT);
        let ask = readings.as_ref().ok().and_then(|r| r.first());
        assert_eq!(ask.map(|r| r.endpoint.as_str()), Some("/v1/query/ask"));
        assert_eq!(ask.map(EndpointReading::requests), Some(10));
        assert_eq!(ask.map(|r| r.codes.get("ok").copied()), Some(Some(9)));
        assert_eq!(ask.map(|r| r.timeouts), Some(1));
        assert_eq!(ask.map(|r| r.buckets.len()), Some(3));
    }

    #[test]
    fn refuses_broken_text() {
        for (bad, why) in [
            (
                TEXT.replace("le=\"0.01\"} 9", "le=\"0.01\"} 3"),
                "not cumulative",
            ),
            (
                TEXT.replace(
                    "_count{endpoint=\"/v1/query/ask\"} 10",
                    "_count{endpoint=\"/v1/query/ask\"} 11",
                ),
                "count",
            ),
            (TEXT.replace("} 9\n", "} nine\n"), "value"),
            (
                TEXT.replace(
                    "# TYPE mk_timeouts_total counter",
                    "# TYPE mk_timeouts_total gauge",
                ),
                "type",
            ),
            (TEXT.replace("code=\"ok\"", "code=\"o\\tk\""), "escape"),
            ("# comment\n".to_owned(), "comment"),
            ("something_else 1\n".to_owned(), "no series"),
        ] {
            assert!(read(&bad).is_err(), "{why}");
        }
    }

    #[test]
    fn label_values_unescape() {
        let line = "m{endpoint=\"a\\\"b\\\\c\\nd\"} 1";
        let labels = sample(line).map(|s| s.labels).unwrap_or_default();
        assert_eq!(
            labels.get("endpoint").map(String::as_str),
            Some("a\"b\\c\nd")
        );
    }
}
