//! Breaking or additive, for the two documents that are not JSON Schemas: the OpenAPI
//! document (endpoints, statuses, parameters, component schemas) and the source of truth.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{Change, additive, breaking, escape, schema};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Classifies the changes between two OpenAPI documents (parsed to JSON values).
pub fn openapi(old: &Value, new: &Value, out: &mut Vec<Change>) {
    let empty = Map::new();
    let old_paths = old["paths"].as_object().unwrap_or(&empty);
    let new_paths = new["paths"].as_object().unwrap_or(&empty);
    for (path, old_item) in old_paths {
        for method in METHODS {
            let Some(old_op) = old_item.get(method) else {
                continue;
            };
            let endpoint = format!("{} {path}", method.to_uppercase());
            let at = format!("#/paths/{}/{method}", escape(path));
            match new_paths.get(path).and_then(|item| item.get(method)) {
                None => breaking(out, format!("endpoint {endpoint} removed")),
                Some(new_op) => operation(&endpoint, &at, old_op, new_op, out),
            }
        }
    }
    for (path, new_item) in new_paths {
        for method in METHODS {
            if new_item.get(method).is_some()
                && old_paths
                    .get(path)
                    .and_then(|item| item.get(method))
                    .is_none()
            {
                additive(
                    out,
                    format!("endpoint {} {path} added", method.to_uppercase()),
                );
            }
        }
    }
    let old_schemas = old["components"]["schemas"].as_object().unwrap_or(&empty);
    let new_schemas = new["components"]["schemas"].as_object().unwrap_or(&empty);
    for (name, old_schema) in old_schemas {
        let at = format!("#/components/schemas/{name}");
        match new_schemas.get(name) {
            None => breaking(out, format!("component schema {name} removed")),
            Some(new_schema) => schema(old_schema, new_schema, &at, out),
        }
    }
    for name in new_schemas.keys() {
        if !old_schemas.contains_key(name) {
            additive(out, format!("component schema {name} added"));
        }
    }
    if old["info"]["version"] != new["info"]["version"] {
        breaking(
            out,
            format!(
                "info.version changed {} → {} (a version bump)",
                old["info"]["version"], new["info"]["version"]
            ),
        );
    }
    let covered = ["paths", "components", "info"];
    let keys: BTreeSet<&String> = old
        .as_object()
        .unwrap_or(&empty)
        .keys()
        .chain(new.as_object().unwrap_or(&empty).keys())
        .collect();
    for key in keys {
        if !covered.contains(&key.as_str()) && old.get(key) != new.get(key) {
            additive(out, format!("`{key}` changed"));
        }
    }
}

/// One operation, `at` being its JSON pointer: responses and the request body for every
/// media type, and parameters with their schemas.
fn operation(endpoint: &str, at: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    let empty = Map::new();
    let old_responses = old["responses"].as_object().unwrap_or(&empty);
    let new_responses = new["responses"].as_object().unwrap_or(&empty);
    for (status, old_response) in old_responses {
        match new_responses.get(status) {
            None => breaking(
                out,
                format!("{endpoint}: status {status} removed (status changed)"),
            ),
            Some(new_response) => content(
                &format!("{endpoint}: status {status}"),
                &format!("{at}/responses/{}", escape(status)),
                old_response,
                new_response,
                out,
            ),
        }
    }
    for status in new_responses.keys() {
        if !old_responses.contains_key(status) {
            additive(out, format!("{endpoint}: status {status} added"));
        }
    }
    content(
        &format!("{endpoint}: request body"),
        &format!("{at}/requestBody"),
        &old["requestBody"],
        &new["requestBody"],
        out,
    );
    if old["requestBody"]["required"] != Value::Bool(true)
        && new["requestBody"]["required"] == Value::Bool(true)
    {
        breaking(out, format!("{endpoint}: request body now required"));
    }
    let key = |parameter: &Value| format!("{} {}", parameter["in"], parameter["name"]);
    let no_parameters = Vec::new();
    let old_parameters = old["parameters"].as_array().unwrap_or(&no_parameters);
    let new_parameters = new["parameters"].as_array().unwrap_or(&no_parameters);
    for parameter in old_parameters {
        match new_parameters
            .iter()
            .enumerate()
            .find(|(_, p)| key(p) == key(parameter))
        {
            None => breaking(
                out,
                format!("{endpoint}: parameter {} removed", key(parameter)),
            ),
            Some((index, new_parameter)) => {
                if parameter["required"] != Value::Bool(true)
                    && new_parameter["required"] == Value::Bool(true)
                {
                    breaking(
                        out,
                        format!("{endpoint}: parameter {} now required", key(parameter)),
                    );
                }
                schema(
                    &parameter["schema"],
                    &new_parameter["schema"],
                    &format!("{at}/parameters/{index}/schema"),
                    out,
                );
            }
        }
    }
    for parameter in new_parameters {
        if !old_parameters.iter().any(|p| key(p) == key(parameter)) {
            if parameter["required"] == Value::Bool(true) {
                breaking(
                    out,
                    format!("{endpoint}: new required parameter {}", key(parameter)),
                );
            } else {
                additive(
                    out,
                    format!("{endpoint}: optional parameter {} added", key(parameter)),
                );
            }
        }
    }
}

/// The `content` of a response or request body (`at` its pointer): each media type's schema
/// is compared; a media type removed is breaking, one added additive.
fn content(label: &str, at: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    let empty = Map::new();
    let old_content = old["content"].as_object().unwrap_or(&empty);
    let new_content = new["content"].as_object().unwrap_or(&empty);
    for (media, old_media) in old_content {
        match new_content.get(media) {
            None => breaking(out, format!("{label}: media type {media} removed")),
            Some(new_media) => schema(
                &old_media["schema"],
                &new_media["schema"],
                &format!("{at}/content/{}/schema", escape(media)),
                out,
            ),
        }
    }
    for media in new_content.keys() {
        if !old_content.contains_key(media) {
            additive(out, format!("{label}: media type {media} added"));
        }
    }
}

/// Classifies the changes between two versions of the source of truth.
pub fn source_of_truth(old: &Value, new: &Value, out: &mut Vec<Change>) {
    for field in [
        "service_contract_source_version",
        "expected_service_contract_version",
        "expected_api_contract_version",
        "integration_baseline",
    ] {
        if old[field] != new[field] {
            breaking(
                out,
                format!(
                    "{field} changed {} → {} (a version bump)",
                    old[field], new[field]
                ),
            );
        }
    }
    for field in ["liveness_endpoint", "readiness_endpoint"] {
        if old[field] != new[field] {
            breaking(
                out,
                format!("{field} changed {} → {}", old[field], new[field]),
            );
        }
    }
    let old_codes = old["error_code_enum"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let new_codes = new["error_code_enum"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for code in &old_codes {
        if !new_codes.contains(code) {
            breaking(out, format!("error code {code} removed"));
        }
    }
    for code in &new_codes {
        if !old_codes.contains(code) {
            additive(
                out,
                format!("error code {code} added (the notice policy applies)"),
            );
        }
    }
    let kept_old: Vec<&Value> = old_codes
        .iter()
        .filter(|code| new_codes.contains(code))
        .collect();
    let kept_new: Vec<&Value> = new_codes
        .iter()
        .filter(|code| old_codes.contains(code))
        .collect();
    if kept_old != kept_new {
        breaking(
            out,
            "error codes reordered (the order is canonical)".to_owned(),
        );
    }
    if old["non_2xx_envelope_policy"] != new["non_2xx_envelope_policy"] {
        breaking(out, "non_2xx_envelope_policy changed".to_owned());
    }
}
