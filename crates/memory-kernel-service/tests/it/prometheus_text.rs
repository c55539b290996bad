//! A strict reader of the Prometheus text exposition format 0.0.4, written from the format's
//! description so the service's output is checked by something other than its own writer.
//!
//! Refused: a line without a final newline, blank lines, comments other than `# HELP` and
//! `# TYPE`, a `TYPE` after its family's samples or twice, a type other than counter, gauge,
//! histogram, summary or untyped, a metric or label name outside the allowed characters, an
//! escape other than `\\`, `\"`, `\n`, a value that is not a float, a duplicate series, a
//! family whose samples are not contiguous, and a histogram whose buckets are not cumulative,
//! lack `+Inf`, or disagree with `_count`, or which lacks `_sum`.

use std::collections::{BTreeMap, BTreeSet};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A metric family: its samples, in order, with its `TYPE` and `HELP`.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: String,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

impl Family {
    /// The value of the sample `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }
}

/// Parses `text`; `Err` names the line and the rule it breaks.
pub fn parse(text: &str) -> Result<Vec<Family>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line does not end with a newline".to_owned());
    }
    let mut families: Vec<Family> = Vec::new();
    let mut closed: BTreeSet<String> = BTreeSet::new();
    let mut series: BTreeSet<String> = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let at = |message: String| format!("line {}: {message}: {line:?}", number + 1);
        if line.is_empty() {
            return Err(at("blank line".to_owned()));
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            let (keyword, name, rest) = (words.next(), words.next(), words.next());
            let name = name
                .filter(|n| is_metric_name(n))
                .ok_or_else(|| at("bad comment".to_owned()))?;
            let family = open(&mut families, &mut closed, name).map_err(at)?;
            match keyword {
                Some("HELP") => {
                    family.help = Some(unescape(rest.unwrap_or(""), false).map_err(at)?)
                }
                Some("TYPE") => {
                    let kind = rest.unwrap_or("");
                    let known = ["counter", "gauge", "histogram", "summary", "untyped"];
                    if !known.contains(&kind) {
                        return Err(at(format!("unknown type {kind}")));
                    }
                    if !family.samples.is_empty() || family.kind != "untyped" {
                        return Err(at("TYPE after samples or twice".to_owned()));
                    }
                    family.kind = kind.to_owned();
                }
                _ => return Err(at("only HELP and TYPE comments are expected".to_owned())),
            }
            continue;
        }
        let sample = sample(line).map_err(at)?;
        let key = format!("{}{:?}", sample.name, sample.labels);
        if !series.insert(key) {
            return Err(at("duplicate series".to_owned()));
        }
        let family_name = family_of(&families, &sample.name);
        let family = open(&mut families, &mut closed, &family_name).map_err(at)?;
        family.samples.push(sample);
    }
    for family in &families {
        if family.kind == "histogram" {
            check_histogram(family)?;
        }
    }
    Ok(families)
}

/// The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` belong to it.
fn family_of(families: &[Family], name: &str) -> String {
    if let Some(last) = families.last()
        && last.kind == "histogram"
    {
        for suffix in ["_bucket", "_sum", "_count"] {
            if name.strip_suffix(suffix) == Some(last.name.as_str()) {
                return last.name.clone();
            }
        }
    }
    name.to_owned()
}

/// The family `name`, which must be the current one or new (families are contiguous).
fn open<'a>(
    families: &'a mut Vec<Family>,
    closed: &mut BTreeSet<String>,
    name: &str,
) -> Result<&'a mut Family, String> {
    let current = families.last().map(|f| f.name.clone());
    if current.as_deref() != Some(name) {
        if closed.contains(name) {
            return Err(format!("family {name} is not contiguous"));
        }
        if let Some(current) = current {
            closed.insert(current);
        }
        families.push(Family {
            name: name.to_owned(),
            kind: "untyped".to_owned(),
            help: None,
            samples: Vec::new(),
        });
    }
    families.last_mut().ok_or_else(|| "no family".to_owned())
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `name{label="value",...} value [timestamp]`.
fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("bad metric name {name}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find("=\"").ok_or("bad label")?;
            let label = &rest[..eq];
            if !is_label_name(label) {
                return Err(format!("bad label name {label}"));
            }
            let (value, after) = quoted(&rest[eq + 2..])?;
            if labels.insert(label.to_owned(), value).is_some() {
                return Err(format!("label {label} twice"));
            }
            rest = after.strip_prefix(',').unwrap_or(after);
            if !after.starts_with(',') && !after.starts_with('}') {
                return Err("labels must be separated by commas".to_owned());
            }
        }
    }
    let mut fields = rest
        .strip_prefix(' ')
        .ok_or("no space before the value")?
        .split(' ');
    let value = parse_float(fields.next().unwrap_or(""))?;
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().map_err(|_| "bad timestamp")?;
    }
    if fields.next().is_some() {
        return Err("trailing text".to_owned());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// A quoted label value: the unescaped value and the text after the closing quote.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '"') => return Ok((unescape(&text[..i], true)?, &text[i + 1..])),
            _ => escaped = false,
        }
    }
    Err("unterminated label value".to_owned())
}

fn unescape(text: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            other => return Err(format!("bad escape \\{other:?}")),
        }
    }
    Ok(out)
}

fn parse_float(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if text
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) =>
        {
            text.parse().map_err(|_| format!("bad value {text}"))
        }
        _ => Err(format!("bad value {text}")),
    }
}

fn check_histogram(family: &Family) -> Result<(), String> {
    let name = &family.name;
    let mut groups: BTreeMap<String, Vec<&Sample>> = BTreeMap::new();
    for sample in &family.samples {
        let mut key = sample.labels.clone();
        key.remove("le");
        groups.entry(format!("{key:?}")).or_default().push(sample);
    }
    for (key, samples) in groups {
        let at = |m: &str| format!("histogram {name}{key}: {m}");
        let buckets: Vec<&&Sample> = samples
            .iter()
            .filter(|s| s.name.ends_with("_bucket"))
            .collect();
        let mut previous = (f64::NEG_INFINITY, 0.0);
        for bucket in &buckets {
            let le = parse_float(
                bucket
                    .labels
                    .get("le")
                    .ok_or_else(|| at("bucket without le"))?,
            )?;
            if le <= previous.0 || bucket.value < previous.1 {
                return Err(at("buckets not increasing and cumulative"));
            }
            previous = (le, bucket.value);
        }
        if previous.0 != f64::INFINITY {
            return Err(at("no +Inf bucket"));
        }
        let count = samples.iter().find(|s| s.name == format!("{name}_count"));
        if count.map(|s| s.value) != Some(previous.1) {
            return Err(at("_count missing or not the +Inf bucket"));
        }
        if !samples.iter().any(|s| s.name == format!("{name}_sum")) {
            return Err(at("no _sum"));
        }
    }
    Ok(())
}

#[test]
fn the_reader_refuses_what_the_format_forbids() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
    assert!(parse(good).is_ok());
    for bad in [
        "a_total 1",                                    // no final newline
        "a_total 1\n\na_total 2\n",                     // blank line
        "# random comment\n",                           // not HELP/TYPE
        "a_total{x=\"1\"} 1\n# TYPE a_total counter\n", // TYPE after samples
        "a_total{x=\"\\t\"} 1\n",                       // bad escape
        "a_total{x=\"1\"} one\n",                       // bad value
        "a_total 1\nb_total 1\na_total{x=\"2\"} 1\n",   // not contiguous
        "a_total 1\na_total 2\n",                       // duplicate series
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", // no +Inf
        "1a 1\n",                                                         // bad name
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
}
