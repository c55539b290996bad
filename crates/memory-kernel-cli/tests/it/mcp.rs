//! `mk mcp` driven as a host drives it: the real binary as a child process, spoken to with
//! the MCP SDK's client over its stdin and stdout. Initialise, list the tools, remember a
//! constraint, ask about it and read the deny back, and see a bad call come back as a tool
//! error carrying the contract code; then compare a tool's result with the command's output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use rmcp::service::{Peer, RoleClient};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tokio::process::Command;

const TOOLS: [&str; 6] = ["remember", "ask", "recall", "get", "history", "link"];

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(object) => object,
        other => panic!("not an object: {other}"),
    }
}

async fn call(client: &Peer<RoleClient>, tool: &str, arguments: Value) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(object(arguments)))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// The result's text content parsed, and whether it is a tool error.
fn content(result: &CallToolResult) -> (Value, bool) {
    let text = result
        .content
        .first()
        .and_then(|block| block.as_text())
        .map(|text| text.text.clone())
        .unwrap_or_else(|| panic!("no text content: {result:?}"));
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(result.structured_content.as_ref(), Some(&value));
    (value, result.is_error == Some(true))
}

fn deny_usb() -> Value {
    json!({
        "record_type": "constraint",
        "actor": "user",
        "action": "use",
        "resource": "usb_drive",
        "effect": "deny",
        "writer": "security-team",
        "justification": "Removable media is banned",
        "source_uri": "file:///policy.md",
        "truth_status": "asserted",
        "authority": "authoritative"
    })
}

#[tokio::test(flavor = "current_thread")]
async fn a_host_remembers_a_constraint_and_reads_the_deny_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mk.sqlite3");
    let mut command = Command::new(env!("CARGO_BIN_EXE_mk"));
    // The database comes from the environment, as a host configuration may pass it.
    command.arg("mcp").env("MK_DB", &db);
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();

    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.name, "mk");
    assert!(info.capabilities.tools.is_some());

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    names.sort_unstable();
    let mut expected = TOOLS;
    expected.sort_unstable();
    assert_eq!(names, expected);
    for tool in &tools {
        let schema = &tool.input_schema;
        assert_eq!(schema.get("type"), Some(&json!("object")), "{}", tool.name);
        assert!(
            schema.contains_key("properties") || schema.contains_key("anyOf"),
            "{}: {schema:?}",
            tool.name
        );
    }
    // The schemas come from the request types: the accountability fields are required.
    let ask = tools.iter().find(|tool| tool.name == "ask").unwrap();
    assert_eq!(
        ask.input_schema["required"],
        json!(["text", "actor", "action", "resource"])
    );
    let remember = tools.iter().find(|tool| tool.name == "remember").unwrap();
    for branch in remember.input_schema["anyOf"].as_array().unwrap() {
        let required = branch["required"].as_array().unwrap();
        for field in [
            "record_type",
            "writer",
            "justification",
            "source_uri",
            "truth_status",
            "authority",
        ] {
            assert!(required.contains(&json!(field)), "{field}: {branch}");
        }
    }

    let (record, is_error) = content(&call(&client, "remember", deny_usb()).await);
    assert!(!is_error, "{record}");
    assert_eq!(record["payload"]["record_type"], "constraint", "{record}");
    assert_eq!(record["payload"]["payload"]["effect"], "deny", "{record}");
    assert_eq!(record["writer"], "security-team");
    assert_eq!(record["contract_version"], "cli.v1");
    support::assert_valid("memory-add.schema.json", &record);

    let (package, is_error) = content(
        &call(
            &client,
            "ask",
            json!({
                "text": "may user use usb_drive?",
                "actor": "user",
                "action": "use",
                "resource": "usb_drive"
            }),
        )
        .await,
    );
    assert!(!is_error, "{package}");
    assert_eq!(package["answer"]["result"], "deny", "{package}");
    support::assert_valid("query-ask.schema.json", &package);

    // A version read back and a history, as the commands print them.
    let version_id = record["memory_version_id"].as_str().unwrap();
    let (got, is_error) =
        content(&call(&client, "get", json!({"memory_version_id": version_id})).await);
    assert!(!is_error, "{got}");
    assert_eq!(got, record);
    let (history, is_error) = content(
        &call(
            &client,
            "history",
            json!({"memory_id": record["memory_id"]}),
        )
        .await,
    );
    assert!(!is_error, "{history}");
    support::assert_valid("memory-history.schema.json", &history);

    // A bad call: the refusal is a tool error with the contract code, not a protocol error.
    let mut no_writer = deny_usb();
    no_writer["writer"] = json!("  ");
    let (failure, is_error) = content(&call(&client, "remember", no_writer).await);
    assert!(is_error, "{failure}");
    assert_eq!(failure["code"], "validation_error");
    support::assert_valid("error.schema.json", &failure);
    // Unknown arguments are refused the same way, as the service refuses unknown fields.
    let (failure, is_error) = content(
        &call(
            &client,
            "ask",
            json!({"text": "x", "actor": "user", "colour": "red"}),
        )
        .await,
    );
    assert!(is_error, "{failure}");
    assert_eq!(failure["code"], "validation_error");
    let (failure, is_error) = content(
        &call(
            &client,
            "get",
            json!({"memory_version_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
        )
        .await,
    );
    assert!(is_error, "{failure}");
    assert_eq!(failure["code"], "memory_not_found");

    client.cancel().await.unwrap();

    // The command prints what the tool returned.
    let run = support::run_with_db(&db, &["memory", "get", "--memory-version-id", version_id]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json(), record);
}

#[test]
fn help_says_how_a_host_starts_it() {
    let run = support::run_raw(&["mcp", "--help"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for needle in ["mk mcp", "--db", "MK_DB", "stdout", "stderr", "mcpServers"] {
        assert!(run.stdout.contains(needle), "{needle}:\n{}", run.stdout);
    }
    for tool in TOOLS {
        assert!(run.stdout.contains(tool), "{tool}:\n{}", run.stdout);
    }
}
