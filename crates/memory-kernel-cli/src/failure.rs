//! The failure side of the contract: a JSON object `{contract_version, code, message}` on
//! stderr, and the exit code that goes with its contract code (2 when the caller can fix the
//! request, 1 otherwise).

use memory_kernel_api::{ApiError, ErrorCode};
use serde::Serialize;

use crate::output::CLI_CONTRACT_VERSION;

/// Why a command failed, as the contract reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    contract_version: &'static str,
    code: ErrorCode,
    message: String,
}

impl Failure {
    /// A failure with a contract code and a message for the user.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            contract_version: CLI_CONTRACT_VERSION,
            code,
            message: message.into(),
        }
    }

    /// A command-line usage error (missing flag, unknown value, bad number): clap's own
    /// message, without colours and without its `error: ` prefix, as a `validation_error`.
    #[must_use]
    pub fn usage(error: &clap::Error) -> Self {
        let rendered = error.render().to_string();
        let message = rendered
            .strip_prefix("error: ")
            .unwrap_or(&rendered)
            .trim_end();
        Self::new(ErrorCode::ValidationError, message)
    }

    /// Appends how to fix the failure to its message.
    pub fn add_hint(&mut self, hint: &str) {
        self.message.push_str("; ");
        self.message.push_str(hint);
    }

    /// The process exit code: 2 for caller errors (usage, validation), 1 otherwise.
    #[must_use]
    pub const fn exit_code(&self) -> u8 {
        if self.code.is_caller_error() { 2 } else { 1 }
    }

    /// The compact JSON object printed on stderr.
    #[must_use]
    pub fn render(&self) -> String {
        // Two strings and a unit enum always serialize; the fallback keeps this total.
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                "{{\"contract_version\":\"{CLI_CONTRACT_VERSION}\",\"code\":\"{}\",\"message\":\"\"}}",
                self.code.as_str()
            )
        })
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use memory_kernel_api::ErrorCode;

    use super::Failure;

    #[test]
    fn exit_codes_follow_the_contract_code() {
        for code in ErrorCode::ALL {
            let expected = if code.is_caller_error() { 2 } else { 1 };
            assert_eq!(Failure::new(code, "x").exit_code(), expected, "{code}");
        }
    }

    #[test]
    fn renders_contract_version_first() {
        let text = Failure::new(ErrorCode::QueryFailed, "boom").render();
        assert_eq!(
            text,
            r#"{"contract_version":"cli.v1","code":"query_failed","message":"boom"}"#
        );
    }
}
