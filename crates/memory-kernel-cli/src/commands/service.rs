//! `mk service diagnostics`: the metrics artifact of a running service (see
//! [`crate::diagnostics`]). Touches no database.

use memory_kernel_api::ErrorCode;
use memory_kernel_core::Timestamp;

use crate::cli::ServiceCommand;
use crate::diagnostics::{self, SloPolicy};
use crate::failure::Failure;
use crate::output::Output;

/// Runs a `service` command.
///
/// # Errors
/// [`ErrorCode::ValidationError`] for a bad URL or policy file; [`ErrorCode::InternalError`] when
/// the service cannot be read.
pub fn run(command: &ServiceCommand) -> Result<Output, Failure> {
    let ServiceCommand::Diagnostics {
        url,
        json,
        policy,
        auth_token_file,
    } = command;
    let invalid = |message: String| Failure::new(ErrorCode::ValidationError, message);
    let policy = SloPolicy::load(policy.as_deref()).map_err(|e| invalid(e.to_string()))?;
    let token = auth_token_file
        .as_deref()
        .map(|path| {
            std::fs::read_to_string(path)
                .map(|text| text.trim().to_owned())
                .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))
        })
        .transpose()?;
    let url = diagnostics::metrics_url(url)?;
    let text = diagnostics::fetch(&url, token.as_deref())?;
    let metrics = diagnostics::compute(&text, &url, &policy, Timestamp::now().to_string())?;
    Ok(Output::Diagnostics {
        metrics: Box::new(metrics),
        json: *json,
    })
}
