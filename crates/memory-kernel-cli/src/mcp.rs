//! `mk mcp`: the memory as a Model Context Protocol server over stdio, on the official SDK
//! (`rmcp`). An agent host starts the process and talks JSON-RPC over stdin and stdout.
//!
//! Six tools, each the twin of one command: `remember` (`memory add`), `ask`, `recall`
//! (`query ask|recall`), `get`, `history` and `link` (`memory get|history|link`). A tool's
//! arguments are the API request type's serde form, and its input schema is derived from
//! that same type (`schemars`, feature `schemars` of the API), so the schema, the service's
//! request body and the strict parse here cannot drift apart. A tool runs the very function
//! the command runs and returns the JSON the command prints; a failure is a tool error
//! (`is_error: true`) whose content is the failure JSON the command prints on stderr,
//! `{"contract_version", "code", "message"}`, its `code` taken from the API error's variant.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use memory_kernel_api::{
    AddConstraintRequest, AddSummaryRequest, AskRequest, ErrorCode, HistoryRequest, LinkRequest,
    RecallRequest,
};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerInfo, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::commands::{memory, query};
use crate::failure::Failure;
use crate::output::Output;

/// What the server tells a host about itself at initialisation.
const INSTRUCTIONS: &str = "MemoryKernel: typed, append-only memory with provenance. \
    `remember` stores a record (a constraint is a scoped allow/deny; decision, preference, \
    event and outcome carry a summary); `ask` answers a policy question (allow, deny or \
    inconclusive) from constraints; `recall` finds summary records by text; `get` reads one \
    version, `history` every version of a memory; `link` records that one version supersedes \
    or contradicts another. Results are context packages and records as `mk` prints them.";

/// The `get` tool's arguments: the API reads one version by its id alone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GetArguments {
    /// The version id (`memory_version_id`, not a memory id).
    memory_version_id: String,
}

/// Serves MCP on stdin and stdout until the host closes stdin.
///
/// # Errors
/// [`ErrorCode::InternalError`] when the runtime cannot start or the connection fails before it is
/// initialised (the failure goes to stderr: stdout belongs to the protocol).
pub fn serve(db: &Path) -> Result<Output, Failure> {
    let server = MemoryServer::new(db.to_path_buf())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| internal(format!("cannot start the MCP runtime: {e}")))?;
    runtime.block_on(async move {
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| internal(format!("MCP initialisation failed: {e}")))?;
        running
            .waiting()
            .await
            .map_err(|e| internal(format!("MCP server stopped abnormally: {e}")))?;
        Ok(Output::Served)
    })
}

fn internal(message: String) -> Failure {
    Failure::new(ErrorCode::InternalError, message)
}

/// The MCP server: the database path and the tool list, built once.
#[derive(Debug, Clone)]
struct MemoryServer {
    db: Arc<PathBuf>,
    tools: Arc<Vec<Tool>>,
}

impl MemoryServer {
    fn new(db: PathBuf) -> Result<Self, Failure> {
        Ok(Self {
            db: Arc::new(db),
            tools: Arc::new(tools()?),
        })
    }
}

/// The six tools with their input schemas.
fn tools() -> Result<Vec<Tool>, Failure> {
    Ok(vec![
        Tool::new(
            "remember",
            "Store one memory record (`mk memory add`). `record_type` is `constraint` \
             (with actor, action, resource, effect allow|deny) or decision, preference, event, \
             outcome (with summary). Every record names its accountable writer, justification, \
             source_uri, truth_status and authority; inferred and speculative records need a \
             confidence. Give memory_id to add a new version of an existing memory.",
            remember_schema()?,
        ),
        Tool::new(
            "ask",
            "Ask a policy question over actor, action and resource (`mk query ask`); the \
             context package's answer.result is allow, deny or inconclusive, with the records \
             that decided it and why others were set aside.",
            input_schema::<AskRequest>()?,
        ),
        Tool::new(
            "recall",
            "Find decision, preference, event and outcome records matching free text \
             (`mk query recall`); returns a context package of selected and excluded records.",
            input_schema::<RecallRequest>()?,
        ),
        Tool::new(
            "get",
            "Read one stored version by its memory_version_id (`mk memory get`).",
            input_schema::<GetArguments>()?,
        ),
        Tool::new(
            "history",
            "Every version of a memory with its lineage in and out, and the version current \
             at as_of (`mk memory history`).",
            input_schema::<HistoryRequest>()?,
        ),
        Tool::new(
            "link",
            "Record that one stored version supersedes or contradicts another \
             (`mk memory link`); both ends are version ids.",
            input_schema::<LinkRequest>()?,
        ),
    ])
}

/// The JSON Schema (draft 2020-12) of `T`'s serde form.
fn schema_object<T: JsonSchema>() -> Result<JsonObject, Failure> {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    match serde_json::to_value(schema) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(internal(format!(
            "the schema of {} is not an object",
            std::any::type_name::<T>()
        ))),
        Err(e) => Err(internal(format!(
            "cannot render the schema of {}: {e}",
            std::any::type_name::<T>()
        ))),
    }
}

/// A tool input schema: `T`'s schema, which the protocol requires to describe an object.
fn input_schema<T: JsonSchema>() -> Result<Arc<JsonObject>, Failure> {
    let mut object = schema_object::<T>()?;
    if object.get("type").and_then(Value::as_str) != Some("object") {
        return Err(internal(format!(
            "the schema of {} does not describe an object",
            std::any::type_name::<T>()
        )));
    }
    // The type's own name and doc are the tool's business, not the arguments'.
    object.remove("title");
    object.remove("description");
    Ok(Arc::new(object))
}

/// `remember`'s schema: one of the two add requests. A constraint's request has no
/// `record_type` (its type is the request), so its branch gains `record_type: "constraint"`;
/// the summary request names its type itself. Both schemas' definitions (the wire enums) are
/// shared at the root, where their `$ref`s point.
fn remember_schema() -> Result<Arc<JsonObject>, Failure> {
    let mut definitions = Map::new();
    let mut constraint = schema_object::<AddConstraintRequest>()?;
    let summary = schema_object::<AddSummaryRequest>()?;
    let mut branches = Vec::new();
    constraint.insert(
        "properties".to_owned(),
        Value::Object(with_first(
            constraint.get("properties"),
            "record_type",
            serde_json::json!({"const": "constraint", "description": "The record type."}),
        )),
    );
    if let Some(Value::Array(required)) = constraint.get_mut("required") {
        required.insert(0, Value::from("record_type"));
    }
    for mut branch in [constraint, summary] {
        if let Some(Value::Object(defs)) = branch.remove("$defs") {
            definitions.extend(defs);
        }
        branch.remove("$schema");
        branches.push(Value::Object(branch));
    }
    let mut object = Map::new();
    object.insert("type".to_owned(), Value::from("object"));
    object.insert("anyOf".to_owned(), Value::Array(branches));
    if !definitions.is_empty() {
        object.insert("$defs".to_owned(), Value::Object(definitions));
    }
    Ok(Arc::new(object))
}

/// `properties` with `name: schema` put first.
fn with_first(properties: Option<&Value>, name: &str, schema: Value) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(name.to_owned(), schema);
    if let Some(Value::Object(properties)) = properties {
        out.extend(properties.clone());
    }
    out
}

/// Parses a tool's arguments strictly into its request type; a refusal is the caller's to
/// fix ([`ErrorCode::ValidationError`]), with serde's account of the field at fault.
fn arguments<T: DeserializeOwned>(tool: &str, arguments: JsonObject) -> Result<T, Failure> {
    serde_json::from_value(Value::Object(arguments)).map_err(|e| {
        Failure::new(
            ErrorCode::ValidationError,
            format!("invalid arguments for tool {tool}: {e}"),
        )
    })
}

/// `remember`: the record type picks the request type.
fn remember(db: &Path, mut args: JsonObject) -> Result<Output, Failure> {
    match args.get("record_type").and_then(Value::as_str) {
        Some("constraint") => {
            args.remove("record_type");
            memory::add_constraint(db, &arguments("remember", args)?)
        }
        Some(_) => memory::add_summary(db, &arguments("remember", args)?),
        None => Err(Failure::new(
            ErrorCode::ValidationError,
            "invalid arguments for tool remember: record_type is required and is one of \
             constraint, decision, preference, event, outcome",
        )),
    }
}

/// Runs one tool on the blocking side (the API blocks on SQLite); `None` for an unknown tool.
fn run_tool(db: &Path, name: &str, args: JsonObject) -> Option<Result<Output, Failure>> {
    Some(match name {
        "remember" => remember(db, args),
        "ask" => arguments("ask", args).and_then(|request| query::ask(db, &request)),
        "recall" => arguments("recall", args).and_then(|request| query::recall(db, &request)),
        "get" => arguments::<GetArguments>("get", args)
            .and_then(|request| memory::get(db, &request.memory_version_id)),
        "history" => arguments("history", args).and_then(|request| memory::history(db, &request)),
        "link" => arguments("link", args).and_then(|request| memory::link(db, &request)),
        _ => return None,
    })
}

/// A tool's result: the command's JSON as text (in the command's key order) and as
/// structured content; a failure's JSON likewise, flagged as a tool error.
fn tool_result(result: Result<Output, Failure>) -> CallToolResult {
    let rendered = result.and_then(|output| {
        output
            .render(false)
            .map_err(|e| internal(format!("cannot render output: {e}")))
    });
    let (text, is_error) = match rendered {
        Ok(text) => (text, false),
        Err(failure) => (failure.render(), true),
    };
    let structured = serde_json::from_str::<Value>(&text).ok();
    let mut result = if is_error {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    result.structured_content = structured;
    result
}

impl ServerHandler for MemoryServer {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mk", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let name = request.name.to_string();
        let args = request.arguments.unwrap_or_default();
        let db = Arc::clone(&self.db);
        let tool = name.clone();
        let outcome = tokio::task::spawn_blocking(move || run_tool(&db, &tool, args)).await;
        match outcome {
            Ok(Some(result)) => Ok(tool_result(result)),
            // An unknown tool is a routing error of the protocol, not a tool's failure.
            Ok(None) => Err(ErrorData::invalid_params(
                format!(
                    "unknown tool {name}; the tools are remember, ask, recall, get, history, link"
                ),
                None,
            )),
            Err(e) => Ok(tool_result(Err(internal(format!(
                "tool {name} did not finish: {e}"
            ))))),
        }
    }
}
