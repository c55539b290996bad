//! `cargo xtask contracts`: the service's runtime contract, the source of truth, the OpenAPI
//! copy, and every contract schema and fixture agree.
//!
//! [`check`] is pure: it reads a tree and a [`RuntimeTruth`] and returns [`Findings`]. The
//! schema and fixture rules are in [`files`]; `cargo xtask contracts diff` is [`diff`].

pub mod classify;
pub mod corrections;
pub mod diff;
pub mod files;

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use memory_kernel_contract::RuntimeContract;
use serde_json::{Value, json};
use xshell::Shell;

use crate::drift::unified_diff;
use crate::findings::Findings;
use crate::pack::{self, OPENAPI_PATH, SOURCE_OF_TRUTH_PATH, SourceOfTruth};
use crate::runtime::RuntimeTruth;
use crate::schemas::ContractSchemas;

/// The integration pack's error envelope schema.
pub const ERROR_ENVELOPE_SCHEMA_PATH: &str =
    "contracts/integration/v1/schemas/error-envelope.schema.json";

/// Check that the service, the source of truth, the OpenAPI copy and the contract schemas agree
///
/// Checks, reading the real parsers' view of each file (never grepping prose):
///
///   runtime contract    `memory-kernel-service contract` equals
///                       contracts/integration/v1/service-contract-source-of-truth.json:
///                       service/api versions, integration baseline, liveness and readiness
///                       paths, error codes in canonical order, non-2xx envelope policy.
///   OpenAPI copy        contracts/openapi/service.v3.yaml: info.version is the service
///                       version; every non-2xx response uses one error envelope schema,
///                       whose code enum is the source of truth's (same order) and which
///                       defines neither `api_contract_version` nor `legacy_error`; every
///                       endpoint of the runtime contract is there and declares each of its
///                       failure statuses (its codes' statuses plus 401/405/413/415); every
///                       string field of a JSON request body (array items included) states
///                       a `pattern`, `format`, `enum` or `minLength`, so the document cannot
///                       silently lose a rule the API enforces (the one field the API takes
///                       verbatim, `AskRequest.text`, is named as such below).
///   schemas             every JSON file in a `schemas/` folder under contracts/ is valid JSON
///                       Schema 2020-12 (checked against the meta-schema), compiles with
///                       every `$ref` resolved offline, has a non-empty `$id` no other schema
///                       has (integration pack: `https://memorykernel.dev/contracts/
///                       integration/v1/<file>`) and no empty object key.
///   error envelope      contracts/integration/v1/schemas/error-envelope.schema.json has the
///                       source of truth's version const and code enum (same order), accepts
///                       a minimal envelope and refuses one carrying a forbidden field.
///   fixtures            every contracts/integration/v1/fixtures/<name>.sample.json validates
///                       against schemas/<name>.schema.json, and every pack schema is covered
///                       by a sample (its own, or one of a schema that `$ref`s it).
///
/// How to fix a failure: each problem names the file and the disagreement, with a diff of
/// expected against actual. A stale OpenAPI copy is fixed by `cargo xtask codegen`; a
/// disagreement with the source of truth is a contract change: change the service or the
/// source of truth deliberately, following docs/spec/versioning.md.
///
/// `cargo xtask contracts diff --since REF` classifies contract changes since REF (see
/// `cargo xtask contracts diff --help`).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Contracts {
    /// Run a sub-command instead of the alignment check.
    #[command(subcommand)]
    pub command: Option<ContractsCommand>,
}

/// The sub-commands of `cargo xtask contracts`.
// No variant docs: clap would show them instead of the Args struct's doc, which is the
// `--help` text.
#[allow(missing_docs)]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ContractsCommand {
    Diff(diff::Diff),
}

/// Runs the alignment check on the tree the shell is rooted at, or `contracts diff`.
///
/// # Errors
/// When a problem is found or the runtime truth cannot be fetched.
pub fn run(sh: &Shell, args: &Contracts) -> Result<()> {
    match &args.command {
        Some(ContractsCommand::Diff(diff_args)) => diff::run(sh, diff_args),
        None => {
            let truth = RuntimeTruth::shared(sh)?;
            check(&sh.current_dir(), truth)?.report("cargo xtask contracts")
        }
    }
}

/// Every alignment rule, on the tree at `root` against `truth`.
///
/// # Errors
/// When a governed file cannot be read at all (a missing or malformed source of truth, say).
pub fn check(root: &Path, truth: &RuntimeTruth) -> Result<Findings> {
    let source = pack::source_of_truth(root)?;
    let contract = truth.contract()?;
    let mut findings = Findings::new();
    runtime_matches_source(&contract, &source, &mut findings);
    let openapi_text = pack::read_text(root, OPENAPI_PATH)?;
    match serde_norway::from_str::<Value>(&openapi_text) {
        Ok(openapi) => {
            openapi_matches(&openapi, &contract, &source, &mut findings);
            request_strings_constrained(&openapi, &mut findings);
        }
        Err(error) => findings.problem(format!("{OPENAPI_PATH} is not valid YAML: {error}")),
    }
    let schemas = ContractSchemas::load(root).context("cannot load the contract schemas")?;
    findings.extend(files::check(root, &schemas)?);
    pack_error_envelope(&schemas, &source, &mut findings);
    Ok(findings)
}

/// The integration pack's error envelope schema is exactly the service's non-2xx envelope:
/// the version constant, the code enum of the source of truth, and the forbidden fields
/// refused.
fn pack_error_envelope(schemas: &ContractSchemas, source: &SourceOfTruth, findings: &mut Findings) {
    let Some(Ok(document)) = schemas
        .get(ERROR_ENVELOPE_SCHEMA_PATH)
        .map(|file| &file.document)
    else {
        findings.problem(format!(
            "{ERROR_ENVELOPE_SCHEMA_PATH} is missing or not JSON (docs/spec/integration-contract.md)"
        ));
        return;
    };
    let codes = &document["properties"]["error"]["properties"]["code"]["enum"];
    let expected = json!(source.error_code_enum);
    if codes != &expected {
        findings.problem(format!(
            "{ERROR_ENVELOPE_SCHEMA_PATH}: the code enum differs from the source of truth's \
             error_code_enum:\n{}fix: make it the source of truth's list, same order",
            json_diff(
                &format!("{ERROR_ENVELOPE_SCHEMA_PATH}#/properties/error/properties/code/enum"),
                &expected,
                codes
            )
        ));
    }
    let version = &document["properties"]["service_contract_version"]["const"];
    if version != &json!(source.expected_service_contract_version) {
        findings.problem(format!(
            "{ERROR_ENVELOPE_SCHEMA_PATH}: service_contract_version must be the const {:?}, \
             found {version}",
            source.expected_service_contract_version
        ));
    }
    let minimal = json!({
        "service_contract_version": source.expected_service_contract_version,
        "error": {"code": source.error_code_enum.first(), "message": "m"},
    });
    match schemas.violations(ERROR_ENVELOPE_SCHEMA_PATH, &minimal) {
        Ok(violations) if !violations.is_empty() => findings.problem(format!(
            "{ERROR_ENVELOPE_SCHEMA_PATH} refuses a minimal valid envelope {minimal}:\n  {}",
            violations.join("\n  ")
        )),
        Ok(_) => {
            for field in &source.non_2xx_envelope_policy.forbids {
                let mut carrying = minimal.clone();
                carrying[field] = json!("x");
                if schemas
                    .violations(ERROR_ENVELOPE_SCHEMA_PATH, &carrying)
                    .is_ok_and(|violations| violations.is_empty())
                {
                    findings.problem(format!(
                        "{ERROR_ENVELOPE_SCHEMA_PATH} must forbid `{field}` (docs/spec/service-contract.md), but \
                         accepts an envelope that carries it"
                    ));
                }
            }
        }
        // A schema that does not compile is reported by the schema rules.
        Err(_) => {}
    }
}

/// One line per disagreement between the runtime contract and the source of truth, each
/// with a diff.
fn runtime_matches_source(
    contract: &RuntimeContract,
    source: &SourceOfTruth,
    findings: &mut Findings,
) {
    let pairs = [
        (
            "expected_service_contract_version",
            json!(source.expected_service_contract_version),
            json!(contract.service_contract_version),
        ),
        (
            "expected_api_contract_version",
            json!(source.expected_api_contract_version),
            json!(contract.api_contract_version),
        ),
        (
            "integration_baseline",
            json!(source.integration_baseline),
            json!(contract.integration_baseline),
        ),
        (
            "liveness_endpoint",
            json!(source.liveness_endpoint),
            json!(contract.liveness_endpoint),
        ),
        (
            "readiness_endpoint",
            json!(source.readiness_endpoint),
            json!(contract.readiness_endpoint),
        ),
        (
            "error_code_enum",
            json!(source.error_code_enum),
            json!(contract.code_names()),
        ),
        (
            "non_2xx_envelope_policy",
            json!(source.non_2xx_envelope_policy),
            json!(contract.non_2xx_envelope_policy),
        ),
    ];
    for (field, expected, actual) in pairs {
        if expected != actual {
            findings.problem(format!(
                "the runtime contract (`memory-kernel-service contract`) disagrees with \
                 {SOURCE_OF_TRUTH_PATH} on {field}:\n{}fix: this is a contract change; change \
                 the service or the source of truth deliberately (docs/spec/versioning.md)",
                json_diff(
                    &format!("{SOURCE_OF_TRUTH_PATH}#{field}"),
                    &expected,
                    &actual
                ),
            ));
        }
    }
}

/// The OpenAPI copy's rules (see the command help).
fn openapi_matches(
    openapi: &Value,
    contract: &RuntimeContract,
    source: &SourceOfTruth,
    findings: &mut Findings,
) {
    let version = &openapi["info"]["version"];
    if version != &json!(source.expected_service_contract_version) {
        findings.problem(format!(
            "{OPENAPI_PATH}: info.version is {version}, the source of truth says {:?}: run \
             `cargo xtask codegen`",
            source.expected_service_contract_version
        ));
    }
    let operations = operations(openapi);
    if operations.is_empty() {
        findings.problem(format!(
            "{OPENAPI_PATH} declares no operation under `paths`"
        ));
    }
    // Every non-2xx response must point at one and the same envelope schema.
    let mut envelope_refs = BTreeSet::new();
    for (method, path, operation) in &operations {
        let responses = operation["responses"].as_object();
        let failures: Vec<(&String, &Value)> = responses
            .into_iter()
            .flatten()
            .filter(|(status, _)| !status.starts_with('2'))
            .collect();
        if failures.is_empty() {
            findings.problem(format!(
                "{OPENAPI_PATH}: {method} {path} declares no non-2xx response; every endpoint \
                 declares its failure statuses with the error envelope"
            ));
        }
        for (status, response) in failures {
            match response["content"]["application/json"]["schema"]["$ref"].as_str() {
                Some(reference) => {
                    envelope_refs.insert(reference.to_owned());
                }
                None => findings.problem(format!(
                    "{OPENAPI_PATH}: {method} {path} {status} has no application/json schema \
                     $ref; every non-2xx response uses the error envelope"
                )),
            }
        }
    }
    match envelope_refs.len() {
        0 => findings.problem(format!(
            "{OPENAPI_PATH}: no error envelope schema is referenced"
        )),
        1 => {
            if let Some(reference) = envelope_refs.first() {
                envelope_matches(openapi, reference, source, findings);
            }
        }
        _ => findings.problem(format!(
            "{OPENAPI_PATH}: non-2xx responses use different schemas ({}); they must all use \
             the one error envelope",
            envelope_refs.into_iter().collect::<Vec<_>>().join(", ")
        )),
    }
    for endpoint in &contract.endpoints {
        let method = endpoint.method.to_lowercase();
        let operation = &openapi["paths"][&endpoint.path][&method];
        if !operation.is_object() {
            findings.problem(format!(
                "{OPENAPI_PATH}: the runtime endpoint {} {} is missing: run `cargo xtask codegen`",
                endpoint.method, endpoint.path
            ));
            continue;
        }
        let mut expected: Vec<(u16, String)> = endpoint
            .error_codes
            .iter()
            .filter_map(|code| {
                contract
                    .status_of(code)
                    .map(|status| (status, format!("`{code}`")))
            })
            .collect();
        expected.extend(
            endpoint
                .transport_statuses
                .iter()
                .map(|status| (*status, "transport refusal".to_owned())),
        );
        for (status, why) in expected {
            if operation["responses"][status.to_string()].is_null() {
                findings.problem(format!(
                    "{OPENAPI_PATH}: {} {} does not declare its {status} response ({why})",
                    endpoint.method, endpoint.path
                ));
            }
        }
    }
}

/// Request-body string fields the API takes verbatim, whatever they hold: `(schema, field)`.
/// The question text of an ask is only kept for the record, so no rule applies to it.
const VERBATIM_REQUEST_FIELDS: [(&str, &str); 1] = [("AskRequest", "text")];

/// The keywords of which a request-body string field must state at least one.
const STRING_CONSTRAINTS: [&str; 4] = ["pattern", "format", "enum", "minLength"];

/// Every string field (or array of strings) of every JSON request body schema states a
/// constraint, unless it is one of [`VERBATIM_REQUEST_FIELDS`].
fn request_strings_constrained(openapi: &Value, findings: &mut Findings) {
    let mut bodies = BTreeSet::new();
    for (_, _, operation) in operations(openapi) {
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
        {
            bodies.insert(name.to_owned());
        }
    }
    for name in bodies {
        let properties = &openapi["components"]["schemas"][&name]["properties"];
        for (field, property) in properties.as_object().into_iter().flatten() {
            if VERBATIM_REQUEST_FIELDS.contains(&(name.as_str(), field.as_str())) {
                continue;
            }
            let (label, schema) = if has_type(property, "array") {
                (format!("{name}.{field}[]"), &property["items"])
            } else {
                (format!("{name}.{field}"), property)
            };
            if has_type(schema, "string")
                && !STRING_CONSTRAINTS
                    .iter()
                    .any(|keyword| schema.get(keyword).is_some())
            {
                findings.problem(format!(
                    "{OPENAPI_PATH}: request field {label} is a string that states no `pattern`, \
                     `format`, `enum` or `minLength`; state the rule the API enforces for it \
                     (from the constant its validator uses) and run `cargo xtask codegen`"
                ));
            }
        }
    }
}

/// Whether `schema`'s `type` is `name` or a list holding it.
fn has_type(schema: &Value, name: &str) -> bool {
    match &schema["type"] {
        Value::String(single) => single == name,
        Value::Array(types) => types.iter().any(|t| t == name),
        _ => false,
    }
}

/// The envelope schema's code enum, version and forbidden fields.
fn envelope_matches(
    openapi: &Value,
    reference: &str,
    source: &SourceOfTruth,
    findings: &mut Findings,
) {
    let pointer = reference.trim_start_matches('#');
    let Some(envelope) = openapi.pointer(pointer) else {
        findings.problem(format!(
            "{OPENAPI_PATH}: the error envelope {reference} does not exist"
        ));
        return;
    };
    let codes = &envelope["properties"]["error"]["properties"]["code"]["enum"];
    let expected = json!(source.error_code_enum);
    if codes != &expected {
        findings.problem(format!(
            "{OPENAPI_PATH}: the error envelope's code enum ({reference}) differs from the \
             source of truth's error_code_enum:\n{}fix: run `cargo xtask codegen` (the service \
             defines the codes; a change there is a contract change)",
            json_diff(
                &format!("{OPENAPI_PATH}#{pointer}/error/code"),
                &expected,
                codes
            )
        ));
    }
    let version = &envelope["properties"]["service_contract_version"];
    let declared = version
        .get("const")
        .cloned()
        .or_else(|| version.get("enum").cloned());
    let wanted = [
        json!(source.expected_service_contract_version),
        json!([source.expected_service_contract_version]),
    ];
    if !declared
        .as_ref()
        .is_some_and(|value| wanted.contains(value))
    {
        findings.problem(format!(
            "{OPENAPI_PATH}: the error envelope's service_contract_version must be exactly {:?}",
            source.expected_service_contract_version
        ));
    }
    for field in &source.non_2xx_envelope_policy.forbids {
        if defines_property(envelope, field) {
            findings.problem(format!(
                "{OPENAPI_PATH}: the error envelope ({reference}) defines `{field}`, which a \
                 non-2xx body must never carry (docs/spec/service-contract.md)"
            ));
        }
    }
}

/// Whether `schema` (or any schema inside it) declares a property named `name`.
fn defines_property(schema: &Value, name: &str) -> bool {
    match schema {
        Value::Object(map) => {
            map.get("properties")
                .and_then(Value::as_object)
                .is_some_and(|properties| properties.contains_key(name))
                || map.values().any(|value| defines_property(value, name))
        }
        Value::Array(items) => items.iter().any(|value| defines_property(value, name)),
        _ => false,
    }
}

/// `(METHOD, path, operation)` for every operation of the document.
fn operations(openapi: &Value) -> Vec<(String, String, &Value)> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut out = Vec::new();
    for (path, item) in openapi["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                out.push((method.to_uppercase(), path.clone(), operation));
            }
        }
    }
    out
}

/// A unified diff of two JSON values, pretty-printed.
pub(crate) fn json_diff(label: &str, expected: &Value, actual: &Value) -> String {
    let render = |value: &Value| {
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()) + "\n"
    };
    unified_diff(label, &render(expected), &render(actual))
}
