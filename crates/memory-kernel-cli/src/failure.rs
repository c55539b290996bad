//! The failure side of the contract: a JSON object `{contract_version, code, message}` on
//! stderr, and the exit code: 2 for a command line that does not parse (a usage error), 1 for
//! every failure after that, whatever its contract code.

use memory_kernel_api::{ApiError, ErrorCode};
use serde::Serialize;

use crate::output::CLI_CONTRACT_VERSION;

/// Why a command failed, as the contract reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    contract_version: &'static str,
    code: ErrorCode,
    message: String,
    /// Whether the command line itself was refused (exit 2) rather than the command (exit 1).
    #[serde(skip)]
    usage: bool,
}

impl Failure {
    /// A failure with a contract code and a message for the user.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            contract_version: CLI_CONTRACT_VERSION,
            code,
            message: message.into(),
            usage: false,
        }
    }

    /// A command-line usage error (missing flag, unknown value, bad number): clap's own message,
    /// without colours and without its `error: ` prefix, as a [`ErrorCode::ValidationError`].
    #[must_use]
    pub fn usage(error: &clap::Error) -> Self {
        let rendered = error.render().to_string();
        let message = rendered
            .strip_prefix("error: ")
            .unwrap_or(&rendered)
            .trim_end();
        Self {
            usage: true,
            ..Self::new(ErrorCode::ValidationError, message)
        }
    }

    /// Puts what was being done in front of the message (`context: message`).
    pub fn add_context(&mut self, context: &str) {
        self.message = format!("{context}: {}", self.message);
    }

    /// Appends how to fix the failure to its message.
    pub fn add_hint(&mut self, hint: &str) {
        self.message.push_str("; ");
        self.message.push_str(hint);
    }

    /// The process exit code: 2 for a usage error, 1 for any other failure (as the original
    /// `mk` did: its usage errors came from the argument parser, everything else exited 1).
    #[must_use]
    pub const fn exit_code(&self) -> u8 {
        if self.usage { 2 } else { 1 }
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
    use clap::Parser;
    use memory_kernel_api::ErrorCode;

    use super::Failure;
    use crate::cli::Cli;

    #[test]
    fn only_usage_errors_exit_2() {
        for code in ErrorCode::ALL {
            assert_eq!(Failure::new(code, "x").exit_code(), 1, "{code}");
        }
        let refused = Cli::try_parse_from(["mk", "db", "vacuum"]).err();
        let usage = Failure::usage(&refused.unwrap());
        assert_eq!(usage.exit_code(), 2);
        assert_eq!(usage.code, ErrorCode::ValidationError);
        let rendered: serde_json::Value = serde_json::from_str(&usage.render()).unwrap();
        let keys: Vec<&String> = rendered.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "contract_version", "message"]);
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
