//! Breaking or additive: how one contract file changed between two versions.
//!
//! The rules are those of `docs/spec/versioning.md`. Breaking: a property, definition,
//! endpoint, response status or error code removed; a type or constant changed; a field
//! newly required; an enum value removed; an object closed; a validation constraint or a
//! `$ref` changed; the error codes reordered or the envelope policy changed. Additive: a
//! property, endpoint, status, enum value or error code added; a field no longer required;
//! an object opened; documentation changed. When in doubt a change is breaking.

mod documents;

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

pub use documents::{openapi, source_of_truth};

/// How a change affects a consumer pinned to the old version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A consumer of the old version may break.
    Breaking,
    /// A consumer of the old version keeps working.
    Additive,
    /// A rule that reads as breaking but is a listed correction of the document to what the
    /// service already enforced in the release (`contracts/governance/contract-corrections.json`).
    Correction,
    /// A breaking change listed there as accepted under the same label, and announced as
    /// breaking in the CHANGELOG.
    AcceptedBreaking,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Breaking => "breaking",
            Severity::Additive => "additive",
            Severity::Correction => "correction",
            Severity::AcceptedBreaking => "breaking (accepted)",
        })
    }
}

/// One classified change inside a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Breaking, additive or a listed correction.
    pub severity: Severity,
    /// What changed, with a JSON pointer or endpoint.
    pub what: String,
    /// For a changed keyword of one schema node: where and what, so a listed correction can
    /// be matched exactly (never by the wording of `what`).
    pub rule: Option<RuleChange>,
}

/// One keyword of one schema node, before and after (`None`: not stated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleChange {
    /// The node's JSON pointer in the document (`#/…` for the OpenAPI document).
    pub pointer: String,
    /// The keyword (`pattern`, `minLength`, `type`, …).
    pub keyword: String,
    /// Its value in the old version.
    pub was: Option<Value>,
    /// Its value now.
    pub now: Option<Value>,
}

pub(super) fn breaking(out: &mut Vec<Change>, what: String) {
    out.push(Change {
        severity: Severity::Breaking,
        what,
        rule: None,
    });
}

pub(super) fn additive(out: &mut Vec<Change>, what: String) {
    out.push(Change {
        severity: Severity::Additive,
        what,
        rule: None,
    });
}

/// A breaking change of `keyword` at the node `at`, recorded with its values.
fn breaking_rule(
    out: &mut Vec<Change>,
    what: String,
    at: &str,
    keyword: &str,
    was: Option<&Value>,
    now: Option<&Value>,
) {
    out.push(Change {
        severity: Severity::Breaking,
        what,
        rule: Some(RuleChange {
            pointer: root(at).to_owned(),
            keyword: keyword.to_owned(),
            was: was.cloned(),
            now: now.cloned(),
        }),
    });
}

/// Keywords that only document; changing them is additive.
const ANNOTATIONS: [&str; 7] = [
    "title",
    "description",
    "examples",
    "$comment",
    "default",
    "deprecated",
    "example",
];

/// Keywords handled structurally by [`schema`]; any other keyword that changes is a changed
/// constraint.
const STRUCTURAL: [&str; 17] = [
    "type",
    "properties",
    "required",
    "enum",
    "const",
    "items",
    "additionalProperties",
    "$defs",
    "definitions",
    "anyOf",
    "oneOf",
    "allOf",
    "prefixItems",
    "not",
    "patternProperties",
    "contains",
    "propertyNames",
];

/// Classifies the changes between two JSON Schemas, `at` being the pointer of this node.
pub fn schema(old: &Value, new: &Value, at: &str, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    let (Some(old_map), Some(new_map)) = (old.as_object(), new.as_object()) else {
        breaking(
            out,
            format!("schema at {} replaced ({old} → {new})", root(at)),
        );
        return;
    };
    if old_map.get("type") != new_map.get("type") {
        breaking_rule(
            out,
            format!(
                "type changed at {}: {} → {}",
                root(at),
                shown(old_map.get("type")),
                shown(new_map.get("type"))
            ),
            at,
            "type",
            old_map.get("type"),
            new_map.get("type"),
        );
    }
    named_children(old_map, new_map, "properties", at, "property", out);
    named_children(old_map, new_map, "$defs", at, "definition", out);
    named_children(old_map, new_map, "definitions", at, "definition", out);
    named_children(
        old_map,
        new_map,
        "patternProperties",
        at,
        "pattern property",
        out,
    );
    let old_required = strings(old_map.get("required"));
    let new_required = strings(new_map.get("required"));
    for field in new_required.difference(&old_required) {
        breaking(out, format!("new required field `{field}` at {}", root(at)));
    }
    for field in old_required.difference(&new_required) {
        additive(
            out,
            format!("field `{field}` no longer required at {}", root(at)),
        );
    }
    enumeration(old_map, new_map, at, out);
    if old_map.get("const") != new_map.get("const") {
        breaking(
            out,
            format!(
                "const changed at {}: {} → {}",
                root(at),
                shown(old_map.get("const")),
                shown(new_map.get("const"))
            ),
        );
    }
    for key in ["items", "not", "contains", "propertyNames"] {
        sub_schema(old_map, new_map, key, at, out);
    }
    closed(old_map, new_map, at, out);
    for (key, added_is_breaking) in [
        ("anyOf", false),
        ("oneOf", false),
        ("allOf", true),
        ("prefixItems", true),
    ] {
        alternatives(old_map, new_map, key, added_is_breaking, at, out);
    }
    let keys: BTreeSet<&String> = old_map.keys().chain(new_map.keys()).collect();
    for key in keys {
        if STRUCTURAL.contains(&key.as_str()) || old_map.get(key) == new_map.get(key) {
            continue;
        }
        if ANNOTATIONS.contains(&key.as_str()) {
            additive(out, format!("`{key}` changed at {}", root(at)));
        } else {
            breaking_rule(
                out,
                format!(
                    "constraint `{key}` changed at {}: {} → {}",
                    root(at),
                    shown(old_map.get(key)),
                    shown(new_map.get(key))
                ),
                at,
                key,
                old_map.get(key),
                new_map.get(key),
            );
        }
    }
}

fn named_children(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    key: &str,
    at: &str,
    noun: &str,
    out: &mut Vec<Change>,
) {
    let empty = Map::new();
    let old_children = old.get(key).and_then(Value::as_object).unwrap_or(&empty);
    let new_children = new.get(key).and_then(Value::as_object).unwrap_or(&empty);
    for (name, old_child) in old_children {
        let here = format!("{at}/{key}/{}", escape(name));
        match new_children.get(name) {
            None => breaking(out, format!("{noun} `{name}` removed ({here})")),
            Some(new_child) => schema(old_child, new_child, &here, out),
        }
    }
    for name in new_children.keys() {
        if !old_children.contains_key(name) {
            additive(
                out,
                format!("{noun} `{name}` added ({at}/{key}/{})", escape(name)),
            );
        }
    }
}

fn enumeration(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    at: &str,
    out: &mut Vec<Change>,
) {
    match (old.get("enum"), new.get("enum")) {
        (Some(Value::Array(old_values)), Some(Value::Array(new_values))) => {
            for value in old_values {
                if !new_values.contains(value) {
                    breaking(out, format!("enum value {value} removed at {}", root(at)));
                }
            }
            for value in new_values {
                if !old_values.contains(value) {
                    additive(out, format!("enum value {value} added at {}", root(at)));
                }
            }
        }
        (None, Some(_)) => breaking(
            out,
            format!("enum added at {} (values restricted)", root(at)),
        ),
        (Some(_), None) => additive(out, format!("enum removed at {} (any value)", root(at))),
        (old_enum, new_enum) if old_enum != new_enum => {
            breaking(out, format!("enum changed at {}", root(at)));
        }
        _ => {}
    }
}

fn sub_schema(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    key: &str,
    at: &str,
    out: &mut Vec<Change>,
) {
    let here = format!("{at}/{key}");
    match (old.get(key), new.get(key)) {
        (Some(old_child), Some(new_child)) => schema(old_child, new_child, &here, out),
        (None, Some(_)) => breaking(
            out,
            format!("`{key}` added at {} (new constraint)", root(at)),
        ),
        (Some(_), None) => additive(out, format!("`{key}` removed at {} (looser)", root(at))),
        (None, None) => {}
    }
}

/// `additionalProperties`: closing an object is breaking, opening it additive.
fn closed(old: &Map<String, Value>, new: &Map<String, Value>, at: &str, out: &mut Vec<Change>) {
    let key = "additionalProperties";
    match (old.get(key), new.get(key)) {
        (Some(Value::Object(_)), Some(Value::Object(_))) => sub_schema(old, new, key, at, out),
        (old_value, new_value) if old_value != new_value => {
            let open = |value: Option<&Value>| value != Some(&Value::Bool(false));
            if open(old_value) && !open(new_value) {
                breaking(
                    out,
                    format!("object closed at {} (additionalProperties)", root(at)),
                );
            } else if !open(old_value) && open(new_value) {
                additive(
                    out,
                    format!("object opened at {} (additionalProperties)", root(at)),
                );
            } else {
                breaking(out, format!("additionalProperties changed at {}", root(at)));
            }
        }
        _ => {}
    }
}

fn alternatives(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    key: &str,
    added_is_breaking: bool,
    at: &str,
    out: &mut Vec<Change>,
) {
    let empty = Vec::new();
    let old_items = old.get(key).and_then(Value::as_array).unwrap_or(&empty);
    let new_items = new.get(key).and_then(Value::as_array).unwrap_or(&empty);
    for (index, (old_item, new_item)) in old_items.iter().zip(new_items).enumerate() {
        schema(old_item, new_item, &format!("{at}/{key}/{index}"), out);
    }
    for index in new_items.len()..old_items.len() {
        let what = format!("{key} entry removed ({at}/{key}/{index})");
        if added_is_breaking {
            additive(out, what);
        } else {
            breaking(out, what);
        }
    }
    for index in old_items.len()..new_items.len() {
        let what = format!("{key} entry added ({at}/{key}/{index})");
        if added_is_breaking {
            breaking(out, what);
        } else {
            additive(out, what);
        }
    }
}

fn strings(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(none)".to_owned(), Value::to_string)
}

fn root(at: &str) -> &str {
    if at.is_empty() { "/" } else { at }
}

/// `name` as one JSON-pointer segment.
pub(super) fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn classify(old: Value, new: Value) -> Vec<(Severity, String)> {
        let mut out = Vec::new();
        schema(&old, &new, "", &mut out);
        out.into_iter().map(|c| (c.severity, c.what)).collect()
    }

    #[test]
    fn schema_rules() {
        let base = json!({"type": "object", "required": ["a"],
            "properties": {"a": {"type": "string", "enum": ["x", "y"]}, "b": {"type": "integer"}}});
        let cases = [
            (
                json!({"type": "object", "required": ["a"],
                "properties": {"a": {"type": "string", "enum": ["x", "y"]}}}),
                Severity::Breaking,
                "property `b` removed",
            ),
            (
                json!({"type": "object", "required": ["a", "b"],
                "properties": {"a": {"type": "string", "enum": ["x", "y"]}, "b": {"type": "integer"}}}),
                Severity::Breaking,
                "new required field `b`",
            ),
            (
                json!({"type": "object", "required": ["a"],
                "properties": {"a": {"type": "string", "enum": ["x"]}, "b": {"type": "integer"}}}),
                Severity::Breaking,
                "enum value \"y\" removed",
            ),
            (
                json!({"type": "object", "required": ["a"],
                "properties": {"a": {"type": "string", "enum": ["x", "y"]}, "b": {"type": "string"}}}),
                Severity::Breaking,
                "type changed at /properties/b",
            ),
            (
                json!({"type": "object", "required": ["a"],
                "properties": {"a": {"type": "string", "enum": ["x", "y", "z"]}, "b": {"type": "integer"}}}),
                Severity::Additive,
                "enum value \"z\" added",
            ),
            (
                json!({"type": "object", "required": ["a"],
                "properties": {"a": {"type": "string", "enum": ["x", "y"]}, "b": {"type": "integer"},
                "c": {"type": "integer"}}}),
                Severity::Additive,
                "property `c` added",
            ),
        ];
        for (new, severity, what) in cases {
            let changes = classify(base.clone(), new);
            assert!(
                changes
                    .iter()
                    .any(|(s, w)| *s == severity && w.contains(what)),
                "{what}: {changes:?}"
            );
        }
    }
}
