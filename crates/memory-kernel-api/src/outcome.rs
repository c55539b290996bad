//! The trust layer of the API (see `docs/spec/outcome.md`): logging outcome events,
//! replaying them into trust snapshots, projector health, and gate decisions. The rules live
//! in `memory-kernel-outcome`, storage in the store; this module validates, calls and maps
//! errors, like every other API operation.

use crate::report::{OutcomeReplay, ProjectorStatus, StaleKey};
use memory_kernel_core::package::{
    ContextPackage, ItemWhy, PackageItem, QueryKind, TrustGateAttachment, trust_gated_package_id,
};
use memory_kernel_core::record::{no_control_characters, required_text};
use memory_kernel_core::resolver::{ExclusionMode, ordering_trace_of};
use memory_kernel_core::{MemoryId, Timestamp, ValidationError};
use memory_kernel_outcome::{
    Candidate, EventType, GateDecision, GateMode, NewOutcomeEvent, OutcomeError, OutcomeEvent,
    Severity, TrustSnapshot,
};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::kernel::{Deadline, MemoryKernel};
use crate::store_error::{Operation, classify};

/// The version of the gate preview output.
pub const GATE_PREVIEW_CONTRACT: &str = "gate_preview.v1";
/// The version of the projector status output.
pub const PROJECTOR_STATUS_CONTRACT: &str = "projector_status.v1";
/// The version of the projector check output.
pub const PROJECTOR_CHECK_CONTRACT: &str = "projector_check.v1";
/// The `source` of the trust-gate attachments this build writes.
pub const TRUST_GATE_SOURCE: &str = "memory_kernel.outcome";
/// How many stale keys a projector check lists.
pub const STALE_KEY_SAMPLE: u32 = 25;

/// One problem a projector check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectorIssue {
    /// `projection_lag`, `stale_trust_rows`, `key_snapshot_mismatch` or `orphan_trust_rows`.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// What was found.
    pub message: String,
}

/// The projector's health with its issues: healthy when no issue is an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectorCheck {
    /// Whether no issue is an error.
    pub healthy: bool,
    /// The status the check read.
    pub status: ProjectorStatus,
    /// Issues, in a fixed order.
    pub issues: Vec<ProjectorIssue>,
    /// The first stale keys, ordered by memory_id, version.
    pub stale_key_sample: Vec<StaleKey>,
}

impl ProjectorCheck {
    /// The issues of `status`, in their fixed order.
    #[must_use]
    pub fn issues_of(status: &ProjectorStatus) -> Vec<ProjectorIssue> {
        let mut issues = Vec::new();
        let mut add = |code, severity, message: String| {
            issues.push(ProjectorIssue {
                code,
                severity,
                message,
            });
        };
        if status.lag_events > 0 {
            add(
                "projection_lag",
                "error",
                format!(
                    "projection lag detected: {} events behind",
                    status.lag_events
                ),
            );
        }
        if status.stale_trust_rows > 0 {
            add(
                "stale_trust_rows",
                "error",
                format!(
                    "stale trust rows detected: {} keys out of date",
                    status.stale_trust_rows
                ),
            );
        }
        if status.tracked_keys != status.trust_rows {
            add(
                "key_snapshot_mismatch",
                "error",
                format!(
                    "key/snapshot mismatch: tracked_keys={} trust_rows={}",
                    status.tracked_keys, status.trust_rows
                ),
            );
        }
        if status.trust_rows_without_events > 0 {
            add(
                "orphan_trust_rows",
                "warning",
                format!(
                    "trust rows without events detected: {} rows",
                    status.trust_rows_without_events
                ),
            );
        }
        issues
    }
}

/// A gate preview: the decision for each candidate, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatePreview {
    /// `gate_preview.v1`.
    pub contract_version: &'static str,
    /// The gate's mode.
    pub mode: GateMode,
    /// The instant the gate read trust at.
    pub as_of: Timestamp,
    /// The context the probe bucket is keyed by.
    pub context_id: Option<String>,
    /// The candidates, duplicates kept.
    pub candidates: Vec<Candidate>,
    /// One decision per candidate.
    pub decisions: Vec<GateDecision>,
}

/// A request to record one outcome event: the service's `POST /v1/outcome/events` body.
/// Values arrive raw (text id and instant) and are checked like the CLI's flags; the event
/// rules of `docs/spec/outcome.md` then apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeEventRequest {
    /// The memory (a canonical ULID).
    pub memory_id: String,
    /// The memory version (>= 1).
    pub version: u32,
    /// What happened; any of the nine event types.
    pub event_type: EventType,
    /// Who records the event.
    pub writer: String,
    /// Why the event is recorded.
    pub justification: String,
    /// The context (run, task, package) the memory was used in.
    #[serde(default)]
    pub context_id: Option<String>,
    /// When it happened (RFC 3339, UTC); now by default.
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// The ruleset that scores the event; 1 by default.
    #[serde(default)]
    pub ruleset_version: Option<u32>,
    /// A success whose content was edited before use.
    #[serde(default)]
    pub edited: bool,
    /// The event is escalated (needs a severity).
    #[serde(default)]
    pub escalated: bool,
    /// The severity of an escalated event.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// The value of `manual_set_confidence`, or the source confidence of `inherited`.
    #[serde(default)]
    pub manual_confidence: Option<f32>,
    /// With `manual_set_confidence`: let the value pass a contradiction cap.
    #[serde(default)]
    pub override_cap: bool,
    /// Opaque JSON stored with the event; `{}` by default.
    #[serde(default)]
    pub payload_json: Option<serde_json::Value>,
}

impl OutcomeEventRequest {
    /// The event this request submits.
    ///
    /// # Errors
    /// [`ValidationError`] for a non-canonical memory id, a bad instant, a blank writer or
    /// justification, or a control character in them or in the context id (the rules the
    /// OpenAPI document states for these fields).
    pub fn to_event(&self) -> Result<NewOutcomeEvent, ValidationError> {
        required_text("writer", &self.writer)?;
        required_text("justification", &self.justification)?;
        if let Some(context_id) = &self.context_id {
            no_control_characters("context_id", context_id, true)?;
        }
        let occurred_at = match &self.occurred_at {
            Some(text) => text.parse::<Timestamp>()?,
            None => Timestamp::now(),
        };
        Ok(NewOutcomeEvent {
            event_id: None,
            ruleset_version: self.ruleset_version.unwrap_or(1),
            memory_id: self.memory_id.parse::<MemoryId>()?,
            version: self.version,
            event_type: self.event_type,
            occurred_at,
            writer: self.writer.clone(),
            justification: self.justification.clone(),
            context_id: self.context_id.clone(),
            edited: self.edited,
            escalated: self.escalated,
            severity: self.severity,
            manual_confidence: self.manual_confidence,
            override_cap: self.override_cap,
            payload_json: self
                .payload_json
                .clone()
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
        })
    }
}

/// A memory version, as requests name it: raw text id and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionKey {
    /// The memory (a canonical ULID).
    pub memory_id: String,
    /// The memory version (>= 1).
    pub version: u32,
}

impl VersionKey {
    /// The key as a gate candidate.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a non-canonical memory
    /// id or version 0.
    pub fn to_candidate(&self) -> Result<Candidate, ApiError> {
        let memory_id = self.memory_id.parse::<MemoryId>()?;
        if self.version == 0 {
            return Err(ApiError::InvalidRequest {
                message: OutcomeError::CandidateVersionZero.to_string(),
            });
        }
        Ok(Candidate {
            memory_id,
            version: self.version,
        })
    }
}

/// A request for one version's trust snapshot: the service's `POST /v1/outcome/trust` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    /// The memory (a canonical ULID).
    pub memory_id: String,
    /// The memory version.
    pub version: u32,
    /// Read trust as of this instant (RFC 3339, UTC): only events that had occurred by then,
    /// with read-time decay. Absent: the stored snapshot as replayed.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// A request for gate decisions: the service's `POST /v1/outcome/gate/preview` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatePreviewRequest {
    /// The gate's mode.
    pub mode: GateMode,
    /// The instant to read trust at (RFC 3339, UTC); now by default.
    #[serde(default)]
    pub as_of: Option<String>,
    /// The context the exploration probe is keyed by.
    #[serde(default)]
    pub context_id: Option<String>,
    /// The versions to decide on, in order (duplicates kept); at least one.
    pub candidates: Vec<VersionKey>,
}

/// A request to rebuild trust snapshots: the service's `POST /v1/outcome/replay` body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Only keys with an event at or after this sequence number (their whole stream); all
    /// keys when absent.
    #[serde(default)]
    pub from_event_seq: Option<i64>,
}

impl MemoryKernel {
    /// Records the outcome event `request` describes (see [`MemoryKernel::log_outcome`]).
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a bad id, instant or
    /// event rule, an unknown ruleset or memory version;
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed).
    pub fn record_outcome(
        &self,
        request: &OutcomeEventRequest,
        deadline: Deadline,
    ) -> Result<OutcomeEvent, ApiError> {
        self.check_file(Operation::Write)?;
        let event = request.to_event()?;
        self.log_outcome(event, deadline)
    }

    /// The trust snapshot `request` names (see [`MemoryKernel::trust_snapshot`]).
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a bad id or instant,
    /// or when no snapshot exists;
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn trust(&self, request: &TrustRequest) -> Result<TrustSnapshot, ApiError> {
        self.check_file(Operation::Read)?;
        let memory_id = request.memory_id.parse::<MemoryId>()?;
        let as_of = request
            .as_of
            .as_deref()
            .map(str::parse::<Timestamp>)
            .transpose()?;
        self.trust_snapshot(memory_id, request.version, as_of)
    }

    /// Gate decisions for the candidates of `request` (see [`MemoryKernel::gate_preview`]).
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a bad id, version or
    /// instant, or without candidates;
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn gate(&self, request: &GatePreviewRequest) -> Result<GatePreview, ApiError> {
        self.check_file(Operation::Read)?;
        if let Some(context_id) = &request.context_id {
            no_control_characters("context_id", context_id, true)?;
        }
        let as_of = match &request.as_of {
            Some(text) => text.parse::<Timestamp>()?,
            None => Timestamp::now(),
        };
        let candidates = request
            .candidates
            .iter()
            .map(VersionKey::to_candidate)
            .collect::<Result<Vec<_>, _>>()?;
        self.gate_preview(request.mode, as_of, request.context_id.clone(), candidates)
    }

    /// Appends one outcome event (nothing is projected until a replay).
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a rule the event
    /// breaks, an unknown ruleset or memory version;
    /// [`ErrorCode::WriteConflict`](crate::ErrorCode::WriteConflict) is not used (a duplicate event
    /// id is [`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed));
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable).
    pub fn log_outcome(
        &self,
        event: NewOutcomeEvent,
        deadline: Deadline,
    ) -> Result<OutcomeEvent, ApiError> {
        self.check_file(Operation::Write)?;
        self.intercept(Operation::Write)?;
        self.store()
            .append_outcome_event(event, deadline)
            .map_err(|e| classify(Operation::Write, e))
    }

    /// The events of one memory version, oldest first; with `limit`, the newest `limit`.
    ///
    /// # Errors
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn outcome_events(
        &self,
        memory_id: MemoryId,
        version: u32,
        limit: Option<u32>,
    ) -> Result<Vec<OutcomeEvent>, ApiError> {
        self.check_file(Operation::Read)?;
        self.intercept(Operation::Read)?;
        self.store()
            .outcome_events(memory_id, version, limit)
            .map_err(|e| classify(Operation::Read, e))
    }

    /// Rebuilds trust snapshots from the events (all keys, or keys with an event at or after
    /// `from`).
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a stored ruleset the
    /// rules refuse; [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed).
    pub fn replay_outcomes(
        &self,
        from: Option<i64>,
        deadline: Deadline,
    ) -> Result<OutcomeReplay, ApiError> {
        self.check_file(Operation::Write)?;
        self.intercept(Operation::Write)?;
        self.store()
            .replay_outcomes(from, deadline)
            .map(OutcomeReplay::from)
            .map_err(|e| classify(Operation::Write, e))
    }

    /// The trust snapshot of one memory version; at `as_of`, only events that had occurred by
    /// then count and read-time decay applies.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) when no snapshot exists
    /// (`trust snapshot not found for …`);
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn trust_snapshot(
        &self,
        memory_id: MemoryId,
        version: u32,
        as_of: Option<Timestamp>,
    ) -> Result<TrustSnapshot, ApiError> {
        self.check_file(Operation::Read)?;
        self.intercept(Operation::Read)?;
        let found = match as_of {
            Some(as_of) => self
                .store()
                .trust_snapshot_at(Candidate { memory_id, version }, as_of),
            None => self.store().trust_snapshot(memory_id, version),
        }
        .map_err(|e| classify(Operation::Read, e))?;
        found.ok_or_else(|| ApiError::InvalidRequest {
            message: format!("trust snapshot not found for {memory_id}:{version}"),
        })
    }

    /// The projector's health.
    ///
    /// # Errors
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn projector_status(&self) -> Result<ProjectorStatus, ApiError> {
        self.check_file(Operation::Read)?;
        self.intercept(Operation::Read)?;
        self.store()
            .projector_status()
            .map(ProjectorStatus::from)
            .map_err(|e| classify(Operation::Read, e))
    }

    /// The projector's health with its issues and a sample of stale keys.
    ///
    /// # Errors
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn projector_check(&self) -> Result<ProjectorCheck, ApiError> {
        self.check_file(Operation::Read)?;
        let status = self.projector_status()?;
        let stale_key_sample = self.stale_trust_keys(Some(STALE_KEY_SAMPLE))?;
        let issues = ProjectorCheck::issues_of(&status);
        Ok(ProjectorCheck {
            healthy: issues.iter().all(|i| i.severity != "error"),
            status,
            issues,
            stale_key_sample,
        })
    }

    /// Keys whose snapshot is missing or out of date.
    ///
    /// # Errors
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn stale_trust_keys(&self, limit: Option<u32>) -> Result<Vec<StaleKey>, ApiError> {
        self.check_file(Operation::Read)?;
        self.store()
            .stale_trust_keys(limit)
            .map(|keys| keys.into_iter().map(StaleKey::from).collect())
            .map_err(|e| classify(Operation::Read, e))
    }

    /// Gate decisions for `candidates` at `as_of`.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) without candidates;
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable),
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn gate_preview(
        &self,
        mode: GateMode,
        as_of: Timestamp,
        context_id: Option<String>,
        candidates: Vec<Candidate>,
    ) -> Result<GatePreview, ApiError> {
        self.check_file(Operation::Read)?;
        self.intercept(Operation::Read)?;
        if candidates.is_empty() {
            return Err(ApiError::InvalidRequest {
                message: "at least one --candidate <memory_id:version> is required".to_owned(),
            });
        }
        let decisions = self
            .store()
            .gate_preview(mode, as_of, context_id.as_deref(), &candidates)
            .map_err(|e| classify(Operation::Read, e))?;
        Ok(GatePreview {
            contract_version: GATE_PREVIEW_CONTRACT,
            mode,
            as_of,
            context_id,
            candidates,
            decisions,
        })
    }
}

impl MemoryKernel {
    /// Gates a resolver's package by trust (see `docs/spec/context-package.md`): every
    /// selected item gets the gate's verdict at the package's `as_of`, probed with the ungated
    /// package's id as context; items the gate refuses move to the end of the exclusion list
    /// with the gate's reason code and are counted in `answer.excluded_summary`. The answer
    /// itself is the resolver's. The mode is recorded in the query and the id is re-derived
    /// from the ungated id, the mode and the verdicts.
    pub(crate) fn gate_package(
        &self,
        mut package: ContextPackage,
        kind: QueryKind,
        mode: GateMode,
    ) -> Result<ContextPackage, ApiError> {
        let as_of = package.query.as_of;
        let ungated_id = package.context_package_id.clone();
        let candidates: Vec<Candidate> = package
            .selected_items
            .iter()
            .map(|item| Candidate {
                memory_id: item.memory_id,
                version: item.version,
            })
            .collect();
        let verdicts = if candidates.is_empty() {
            Vec::new()
        } else {
            self.store()
                .gate_verdicts(mode, as_of, Some(&ungated_id), &candidates)
                .map_err(|e| classify(Operation::Query, e))?
        };
        let listed = package.query.exclusions != Some(ExclusionMode::Summary)
            && package.query.exclusion_limit != Some(0);
        let resolver_excluded: u64 = package.answer.excluded_summary.values().sum();
        let mut attachments = Vec::with_capacity(verdicts.len());
        let mut kept: Vec<PackageItem> = Vec::with_capacity(verdicts.len());
        let mut refused: Vec<PackageItem> = Vec::new();
        for (mut item, (decision, ruleset_version)) in std::mem::take(&mut package.selected_items)
            .into_iter()
            .zip(verdicts)
        {
            let attachment = TrustGateAttachment {
                memory_id: item.memory_id,
                version: item.version,
                memory_version_id: item.memory_version_id,
                include: decision.include,
                trust_status: decision.trust_status.as_str().to_owned(),
                confidence_effective: decision.confidence_effective,
                capped: decision.capped,
                reason_codes: decision.reason_codes,
                ruleset_version,
                evaluated_at: as_of,
                source: TRUST_GATE_SOURCE.to_owned(),
            };
            attachments.push(attachment.clone());
            if attachment.include {
                item.rank = rank(kept.len());
                item.trust_gate = Some(attachment);
                kept.push(item);
                continue;
            }
            for code in &attachment.reason_codes {
                *package
                    .answer
                    .excluded_summary
                    .entry(code.clone())
                    .or_insert(0) += 1;
            }
            if listed {
                let position = u64::try_from(refused.len())
                    .unwrap_or(u64::MAX)
                    .saturating_add(resolver_excluded);
                item.rank = u32::try_from(position.saturating_add(1)).unwrap_or(u32::MAX);
                item.why = ItemWhy {
                    included: false,
                    reasons: attachment.reason_codes.clone(),
                    rule_scores: None,
                };
                item.trust_gate = Some(attachment);
                refused.push(item);
            }
        }
        package.ordering_trace = ordering_trace_of(kind, &kept);
        package.selected_items = kept;
        package.excluded_items.extend(refused);
        package.query.trust_gate = Some(mode.as_str().to_owned());
        package.context_package_id =
            trust_gated_package_id(&ungated_id, mode.as_str(), &attachments);
        Ok(package)
    }
}

/// A 1-based rank from a 0-based position.
fn rank(index: usize) -> u32 {
    u32::try_from(index.saturating_add(1)).unwrap_or(u32::MAX)
}
