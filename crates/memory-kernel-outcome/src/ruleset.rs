//! Rulesets: versioned parameter sets, stored as JSON with a fixed key order. Version 1 is
//! built in; every event is scored with the ruleset it names ("ruleset pinning"), so a stream
//! may mix versions and still replays the same way.

use serde::{Deserialize, Serialize};

use crate::error::{OutcomeError, RulesetRule};

/// One ruleset. Field order is the stored JSON key order; every field is required when
/// decoding and unknown keys are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ruleset {
    /// The version this parameter set is stored under (>= 1).
    pub ruleset_version: u32,
    /// Learning rate of a scored event.
    pub alpha: f32,
    /// Pull back toward the baseline after each scored event.
    pub per_event_decay: f32,
    /// Weight of a success.
    pub success_weight: f32,
    /// Weight of a success whose content was edited before use.
    pub edited_success_weight: f32,
    /// Weight of a failure.
    pub failure_weight: f32,
    /// Weight of an ignored item.
    pub ignored_weight: f32,
    /// Multiplier of an escalated event of severity `low` (or without severity).
    pub severity_low_multiplier: f32,
    /// Multiplier of an escalated event of severity `med`.
    pub severity_med_multiplier: f32,
    /// Multiplier of an escalated event of severity `high`.
    pub severity_high_multiplier: f32,
    /// Share of a source confidence an `inherited` event keeps.
    pub inheritance_factor: f32,
    /// Upper bound of an inherited baseline.
    pub inheritance_cap: f32,
    /// Starting confidence of a version.
    pub base_confidence: f32,
    /// What an authoritative contradiction subtracts.
    pub contradiction_degrade: f32,
    /// The cap a contradiction puts on the effective confidence.
    pub contradiction_cap: f32,
    /// Successes in the window a validated version needs.
    pub validated_wins_required: u8,
    /// Length of the window of recent outcomes.
    pub validated_window_size: u8,
    /// Least effective confidence a `safe` gate includes.
    pub safe_min_confidence: f32,
    /// Least effective confidence an `exploration` gate includes outright.
    pub exploration_min_confidence: f32,
    /// Lower bound of the exploration probe band.
    pub exploration_probe_min_confidence: f32,
    /// Upper bound (exclusive) of the exploration probe band.
    pub exploration_probe_max_confidence: f32,
    /// Share of probe-band items the exploration gate lets through.
    pub exploration_probe_budget: f32,
    /// Read-time decay toward the baseline, per day.
    pub read_decay_lambda_per_day: f32,
}

/// The built-in ruleset, version 1.
pub const RULESET_V1: Ruleset = Ruleset {
    ruleset_version: 1,
    alpha: 0.08,
    per_event_decay: 0.02,
    success_weight: 1.0,
    edited_success_weight: 0.5,
    failure_weight: -1.25,
    ignored_weight: -0.15,
    severity_low_multiplier: 1.0,
    severity_med_multiplier: 1.2,
    severity_high_multiplier: 1.5,
    inheritance_factor: 0.70,
    inheritance_cap: 0.80,
    base_confidence: 0.50,
    contradiction_degrade: 0.30,
    contradiction_cap: 0.40,
    validated_wins_required: 3,
    validated_window_size: 5,
    safe_min_confidence: 0.60,
    exploration_min_confidence: 0.30,
    exploration_probe_min_confidence: 0.15,
    exploration_probe_max_confidence: 0.30,
    exploration_probe_budget: 0.20,
    read_decay_lambda_per_day: 0.01,
};

impl Ruleset {
    /// Checks the ruleset's rules.
    ///
    /// # Errors
    /// [`OutcomeError::InvalidRuleset`] naming the first rule broken.
    pub fn validate(&self) -> Result<(), OutcomeError> {
        let fail = |rule| Err(OutcomeError::InvalidRuleset(rule));
        if self.ruleset_version == 0 {
            return fail(RulesetRule::VersionZero);
        }
        let unit = [
            ("alpha", self.alpha),
            ("per_event_decay", self.per_event_decay),
            ("base_confidence", self.base_confidence),
            ("inheritance_factor", self.inheritance_factor),
            ("inheritance_cap", self.inheritance_cap),
            ("contradiction_cap", self.contradiction_cap),
            ("safe_min_confidence", self.safe_min_confidence),
            (
                "exploration_min_confidence",
                self.exploration_min_confidence,
            ),
            (
                "exploration_probe_min_confidence",
                self.exploration_probe_min_confidence,
            ),
            (
                "exploration_probe_max_confidence",
                self.exploration_probe_max_confidence,
            ),
            ("exploration_probe_budget", self.exploration_probe_budget),
            ("read_decay_lambda_per_day", self.read_decay_lambda_per_day),
        ];
        if let Some((name, _)) = unit.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return fail(RulesetRule::OutOfUnitRange { name });
        }
        if self.validated_window_size == 0 {
            return fail(RulesetRule::WindowZero);
        }
        if self.validated_wins_required > self.validated_window_size {
            return fail(RulesetRule::WinsExceedWindow);
        }
        if self.exploration_probe_min_confidence > self.exploration_probe_max_confidence {
            return fail(RulesetRule::ProbeMinAboveMax);
        }
        Ok(())
    }

    /// The stored form: compact JSON in the declared key order.
    #[must_use]
    pub fn to_json(&self) -> String {
        // A struct of numbers always serializes; the fallback keeps this total.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Decodes and validates stored JSON filed under `version`.
    ///
    /// # Errors
    /// [`OutcomeError::RulesetJson`] when the text does not decode,
    /// [`OutcomeError::InvalidRuleset`] when it breaks a rule.
    pub fn from_json(version: u32, json: &str) -> Result<Self, OutcomeError> {
        let ruleset: Self = serde_json::from_str(json).map_err(|e| OutcomeError::RulesetJson {
            version,
            detail: e.to_string(),
        })?;
        ruleset.validate()?;
        Ok(ruleset)
    }

    /// The multiplier of an event: 1.0 unless escalated, then its severity's (low when
    /// absent).
    #[must_use]
    pub fn multiplier(&self, escalated: bool, severity: Option<crate::Severity>) -> f32 {
        use crate::Severity;
        if !escalated {
            return 1.0;
        }
        match severity {
            None | Some(Severity::Low) => self.severity_low_multiplier,
            Some(Severity::Med) => self.severity_med_multiplier,
            Some(Severity::High) => self.severity_high_multiplier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_serializes_in_declared_order_with_f32_digits() {
        assert_eq!(
            RULESET_V1.to_json(),
            "{\"ruleset_version\":1,\"alpha\":0.08,\"per_event_decay\":0.02,\
             \"success_weight\":1.0,\"edited_success_weight\":0.5,\"failure_weight\":-1.25,\
             \"ignored_weight\":-0.15,\"severity_low_multiplier\":1.0,\
             \"severity_med_multiplier\":1.2,\"severity_high_multiplier\":1.5,\
             \"inheritance_factor\":0.7,\"inheritance_cap\":0.8,\"base_confidence\":0.5,\
             \"contradiction_degrade\":0.3,\"contradiction_cap\":0.4,\
             \"validated_wins_required\":3,\"validated_window_size\":5,\
             \"safe_min_confidence\":0.6,\"exploration_min_confidence\":0.3,\
             \"exploration_probe_min_confidence\":0.15,\
             \"exploration_probe_max_confidence\":0.3,\"exploration_probe_budget\":0.2,\
             \"read_decay_lambda_per_day\":0.01}"
        );
        assert_eq!(
            Ruleset::from_json(1, &RULESET_V1.to_json()).unwrap(),
            RULESET_V1
        );
    }

    #[test]
    fn rules_are_checked_in_order() {
        let mut r = RULESET_V1;
        r.alpha = 1.5;
        assert_eq!(
            r.validate().unwrap_err().to_string(),
            "configuration error: alpha MUST be in [0.0, 1.0]"
        );
        let mut r = RULESET_V1;
        r.validated_wins_required = 6;
        assert_eq!(
            r.validate(),
            Err(OutcomeError::InvalidRuleset(RulesetRule::WinsExceedWindow))
        );
        let mut r = RULESET_V1;
        r.exploration_probe_min_confidence = 0.5;
        assert_eq!(
            r.validate(),
            Err(OutcomeError::InvalidRuleset(RulesetRule::ProbeMinAboveMax))
        );
        let mut r = RULESET_V1;
        r.read_decay_lambda_per_day = f32::NAN;
        assert!(r.validate().is_err());
    }

    #[test]
    fn decoding_requires_every_field_and_ignores_unknown_keys() {
        let mut value: serde_json::Value = serde_json::from_str(&RULESET_V1.to_json()).unwrap();
        value["extra"] = serde_json::json!(true);
        assert_eq!(
            Ruleset::from_json(1, &value.to_string()).unwrap(),
            RULESET_V1
        );
        value.as_object_mut().unwrap().remove("alpha");
        assert!(matches!(
            Ruleset::from_json(1, &value.to_string()),
            Err(OutcomeError::RulesetJson { version: 1, .. })
        ));
    }
}
