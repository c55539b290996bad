//! Policy `ask` (docs/spec/resolver.md, §12): which active constraints govern a concrete
//! {actor, action, resource}, and do they allow or deny it?

use std::collections::BTreeMap;

use super::ordering::{ASK_TIE_BREAKERS, PrecedenceKey};
use super::view::{LineageView, record_visible_at, snapshot_id_of_visible};
use super::{
    AskQuery, Exclusions, PrimaryScore, REASON_BEYOND_LIMIT, REASON_RETRACTED, REASON_SUPERSEDED,
    Ranked, RecordSet, ordering_trace, selected_items,
};
use crate::package::{
    ASK_RULESET_VERSION, Answer, AnswerResult, ContextPackage, Determinism, PackageQuery,
    QueryKind, context_package_id,
};
use crate::record::{Effect, Scope, TruthStatus, WILDCARD};

/// `answer.why` when the top group only allows.
pub const WHY_ALLOW: &str = "Highest-precedence active constraint allows the action";
/// `answer.why` when the top group only denies.
pub const WHY_DENY: &str = "Highest-precedence active constraint denies the action";
/// `answer.why` when the top group holds both effects.
pub const WHY_CONFLICT: &str = "Top-precedence constraints conflict (allow and deny)";
/// `answer.why` when the top group holds a pair linked by a visible contradicts edge.
pub const WHY_CONTRADICTION: &str = "Top-precedence constraints contradict each other";
/// `answer.why` when nothing was selected.
pub const WHY_NONE: &str = "No active matching constraints were found";

/// How specifically a stored constraint's scope matches a query triple: +1 per equal field,
/// +0 per wildcard field; `None` when any field differs, so the record is not a candidate.
#[must_use]
pub fn scope_specificity(record: &Scope, query: &Scope) -> Option<u32> {
    let mut specificity = 0;
    for (stored, asked) in [
        (&record.actor, &query.actor),
        (&record.action, &query.action),
        (&record.resource, &query.resource),
    ] {
        if stored == asked {
            specificity += 1;
        } else if stored != WILDCARD {
            return None;
        }
    }
    Some(specificity)
}

/// Answers a policy question over the records visible at the query's `as_of`.
///
/// Candidates are visible constraints whose scope matches; retracted ones are excluded first,
/// then superseded ones; the rest are selected and ranked by [`PrecedenceKey`]. The answer
/// comes from the top-precedence group (see `docs/spec/resolver.md`).
#[must_use]
pub fn ask(set: &RecordSet, query: &AskQuery) -> ContextPackage {
    let as_of = query.as_of();
    let view = LineageView::at(set, as_of);
    let mut selected = Vec::new();
    let mut excluded = Exclusions::default();
    let mut visible = Vec::with_capacity(set.records.len());
    for record in &set.records {
        if !record_visible_at(record, as_of) {
            continue;
        }
        visible.push(record.memory_version_id);
        let Some(constraint) = record.payload.constraint() else {
            continue;
        };
        let Some(specificity) = scope_specificity(&constraint.scope, query.scope()) else {
            continue;
        };
        let ranked = Ranked {
            record,
            key: PrecedenceKey::new(specificity, record),
        };
        if record.truth_status == TruthStatus::Retracted {
            excluded.add(ranked, REASON_RETRACTED);
        } else if view.is_superseded(record.memory_version_id) {
            excluded.add(ranked, REASON_SUPERSEDED);
        } else {
            selected.push(ranked);
        }
    }
    // The answer reads the whole top-precedence group, so it is taken before the limit cuts.
    selected.sort_unstable_by(|a, b| a.key.precedence(&b.key));
    let answer = answer(&selected, &view);
    let bounds = query.bounds();
    let limit = usize::try_from(bounds.limit()).unwrap_or(usize::MAX);
    if selected.len() > limit {
        for ranked in selected.split_off(limit) {
            excluded.add(ranked, REASON_BEYOND_LIMIT);
        }
    }
    let selected_items = selected_items(&selected, &view, |ranked| {
        (
            format!("scope matches (specificity {} of 3)", ranked.key.primary),
            PrimaryScore::Scope,
        )
    });
    let (excluded_items, excluded_summary) = excluded.finish(bounds, true);
    let answer = Answer {
        excluded_summary,
        ..answer
    };

    let scope = query.scope();
    let package_query = PackageQuery {
        text: query.text().to_owned(),
        actor: Some(scope.actor.clone()),
        action: Some(scope.action.clone()),
        resource: Some(scope.resource.clone()),
        record_types: None,
        as_of,
        limit: Some(bounds.limit()),
        exclusions: None,
        exclusion_limit: Some(bounds.exclusion_limit()),
        exclusion_offset: Some(bounds.exclusion_offset()),
        trust_gate: None,
    };
    let snapshot_id = snapshot_id_of_visible(visible, set, as_of);
    ContextPackage {
        context_package_id: context_package_id(QueryKind::Ask, &package_query, &[], &snapshot_id),
        generated_at: as_of,
        query: package_query,
        determinism: Determinism {
            ruleset_version: ASK_RULESET_VERSION.to_owned(),
            snapshot_id,
            tie_breakers: ASK_TIE_BREAKERS.iter().map(|t| (*t).to_owned()).collect(),
        },
        answer,
        ordering_trace: ordering_trace(&selected, super::ASK_PRIMARY, |p| p.to_string()),
        selected_items,
        excluded_items,
    }
}

/// The answer from the top-precedence group: the selected items tied with rank 1 on
/// specificity, authority, truth rank and confidence. An allow/deny conflict is reported
/// before a contradiction, as it is the stronger disagreement.
fn answer(selected: &[Ranked<'_>], view: &LineageView) -> Answer {
    let Some(first) = selected.first() else {
        return Answer {
            excluded_summary: BTreeMap::new(),
            result: AnswerResult::Inconclusive,
            why: WHY_NONE.to_owned(),
        };
    };
    let top: Vec<&Ranked<'_>> = selected
        .iter()
        .take_while(|ranked| ranked.key.same_precedence_group(&first.key))
        .collect();
    let effect = |ranked: &&Ranked<'_>| ranked.record.payload.constraint().map(|c| c.effect);
    let allows = top.iter().any(|r| effect(r) == Some(Effect::Allow));
    let denies = top.iter().any(|r| effect(r) == Some(Effect::Deny));
    let contradiction = !view.contradictions().is_empty() && {
        let mut ids: Vec<_> = top.iter().map(|r| r.record.memory_version_id).collect();
        ids.sort_unstable();
        let in_top = |id| ids.binary_search(&id).is_ok();
        view.contradictions()
            .iter()
            .any(|&(a, b)| in_top(a) && in_top(b))
    };
    let (result, why) = match (allows, denies) {
        (true, true) => (AnswerResult::Inconclusive, WHY_CONFLICT),
        _ if contradiction => (AnswerResult::Inconclusive, WHY_CONTRADICTION),
        (true, false) => (AnswerResult::Allow, WHY_ALLOW),
        (false, true) => (AnswerResult::Deny, WHY_DENY),
        // Unreachable: every selected ask item is a constraint with an effect.
        (false, false) => (AnswerResult::Inconclusive, WHY_NONE),
    };
    Answer {
        excluded_summary: BTreeMap::new(),
        result,
        why: why.to_owned(),
    }
}
