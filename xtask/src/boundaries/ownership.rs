//! Ownership completeness: every file of the repository belongs to exactly one area, and the
//! governance file's own references (patterns, gates, crates, steps) are sound.

use std::collections::{BTreeMap, BTreeSet};

use super::governance::{GOVERNANCE_PATH, Governance, StepId, matches, pattern_problem};
use super::metadata::Metadata;
use crate::findings::Findings;

/// One problem per file owned by no area or by more than one; a note per ownership pattern
/// that matches no file (a row written ahead of the file it will own).
#[must_use]
pub fn check_files(governance: &Governance, files: &[String]) -> Findings {
    let mut findings = Findings::new();
    for path in files {
        match governance.owners_of(path).as_slice() {
            [] => findings.problem(format!(
                "unowned file `{path}`: no ownership area of {GOVERNANCE_PATH} covers it; add \
                 the file (or a parent folder ending in `/`) to the `paths` of one area, then \
                 run `cargo xtask codegen`"
            )),
            [_] => {}
            owners => findings.problem(format!(
                "file `{path}` is owned by {} areas: {}; keep it in exactly one (folder \
                 patterns own everything below them, so split the folder into exact files or \
                 narrower folders)",
                owners.len(),
                owners
                    .iter()
                    .map(|(area, pattern)| format!("`{}` (pattern `{pattern}`)", area.area))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    for area in &governance.ownership {
        for pattern in &area.paths {
            if !files.iter().any(|path| matches(pattern, path)) {
                findings.note(format!(
                    "ownership area `{}`: pattern `{pattern}` matches no file yet",
                    area.area
                ));
            }
        }
    }
    findings
}

/// Checks the governance file's internal references: valid, unique names and patterns;
/// every gate named in evidence is a `cargo xtask verify` gate (`known_gates`; skipped when
/// empty); every workspace crate is in exactly one domain and has exactly one dependency
/// rule, and no rule or domain names a crate the workspace lacks; every rollback step the
/// rehearsal knows appears exactly once.
#[must_use]
pub fn check_references(
    governance: &Governance,
    metadata: &Metadata,
    known_gates: &[&str],
) -> Findings {
    let mut findings = Findings::new();
    patterns(governance, &mut findings);
    unique(
        governance.domains.iter().map(|d| d.name.as_str()),
        "domain",
        &mut findings,
    );
    unique(
        governance.ownership.iter().map(|a| a.area.as_str()),
        "ownership area",
        &mut findings,
    );
    unique(
        governance.change_rules.iter().map(|r| r.name.as_str()),
        "change rule",
        &mut findings,
    );
    gates(governance, known_gates, &mut findings);
    crates(governance, metadata, &mut findings);
    steps(governance, &mut findings);
    findings
}

fn patterns(governance: &Governance, findings: &mut Findings) {
    let domains = governance
        .domains
        .iter()
        .map(|d| (format!("domain `{}`", d.name), &d.paths));
    let areas = governance
        .ownership
        .iter()
        .map(|a| (format!("ownership area `{}`", a.area), &a.paths));
    let rules = governance.change_rules.iter().flat_map(|rule| {
        std::iter::once((
            format!("change rule `{}` triggers", rule.name),
            &rule.triggers,
        ))
        .chain(rule.companions.iter().map(move |companion| {
            (
                format!("change rule `{}` companion `{}`", rule.name, companion.what),
                &companion.paths,
            )
        }))
    });
    for (owner, list) in domains.chain(areas).chain(rules) {
        for pattern in list {
            if let Some(problem) = pattern_problem(pattern) {
                findings.problem(format!(
                    "{GOVERNANCE_PATH}: {owner}: path pattern `{pattern}` {problem}"
                ));
            }
        }
    }
    // Domains are a partition too: no path may sit in two of them.
    for (index, domain) in governance.domains.iter().enumerate() {
        for other in &governance.domains[index + 1..] {
            for a in &domain.paths {
                for b in &other.paths {
                    if matches(a, b) || matches(b, a) {
                        findings.problem(format!(
                            "{GOVERNANCE_PATH}: domains `{}` (`{a}`) and `{}` (`{b}`) overlap; \
                             a path belongs to one domain",
                            domain.name, other.name
                        ));
                    }
                }
            }
        }
    }
}

fn unique<'a>(names: impl Iterator<Item = &'a str>, what: &str, findings: &mut Findings) {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            findings.problem(format!(
                "{GOVERNANCE_PATH}: {what} `{name}` is listed twice; keep one"
            ));
        }
    }
}

fn gates(governance: &Governance, known_gates: &[&str], findings: &mut Findings) {
    if known_gates.is_empty() {
        return;
    }
    let lists = governance
        .ownership
        .iter()
        .map(|a| (format!("ownership area `{}`", a.area), &a.required_evidence))
        .chain(
            governance
                .change_rules
                .iter()
                .map(|r| (format!("change rule `{}`", r.name), &r.required_evidence)),
        );
    for (owner, list) in lists {
        for gate in list {
            if !known_gates.contains(&gate.as_str()) {
                findings.problem(format!(
                    "{GOVERNANCE_PATH}: {owner} requires gate `{gate}`, which `cargo xtask \
                     verify` does not have (gates: {}); use one of them",
                    known_gates.join(", ")
                ));
            }
        }
    }
}

fn crates(governance: &Governance, metadata: &Metadata, findings: &mut Findings) {
    let members = metadata.member_names();
    let mut domain_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for domain in &governance.domains {
        for krate in &domain.crates {
            domain_of.entry(krate).or_default().push(&domain.name);
        }
    }
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    for rule in &governance.dependency_rules {
        *rules.entry(&rule.krate).or_default() += 1;
        for target in &rule.may_depend_on {
            if !members.contains(target) {
                findings.problem(format!(
                    "{GOVERNANCE_PATH}: the dependency rule of `{}` allows `{target}`, which is \
                     not a workspace crate; remove it",
                    rule.krate
                ));
            }
        }
    }
    for member in &members {
        match domain_of.get(member.as_str()).map(Vec::len).unwrap_or(0) {
            0 => findings.problem(format!(
                "workspace crate `{member}` is in no boundary domain of {GOVERNANCE_PATH}: add \
                 it to the `crates` of one domain"
            )),
            1 => {}
            _ => findings.problem(format!(
                "workspace crate `{member}` is in several boundary domains ({}); keep one",
                domain_of[member.as_str()].join(", ")
            )),
        }
        match rules.get(member.as_str()).copied().unwrap_or(0) {
            0 => findings.problem(format!(
                "workspace crate `{member}` has no dependency rule in {GOVERNANCE_PATH}: add \
                 one listing the workspace crates it may depend on"
            )),
            1 => {}
            _ => findings.problem(format!(
                "workspace crate `{member}` has several dependency rules; keep one"
            )),
        }
    }
    let named = domain_of.keys().chain(rules.keys());
    let stale: BTreeSet<&&str> = named.filter(|krate| !members.contains(**krate)).collect();
    for krate in stale {
        findings.problem(format!(
            "{GOVERNANCE_PATH} names crate `{krate}`, which is not a workspace member; remove \
             it or fix the name"
        ));
    }
}

fn steps(governance: &Governance, findings: &mut Findings) {
    for id in StepId::ALL {
        let count = governance
            .rollback_steps
            .iter()
            .filter(|step| step.id == id)
            .count();
        if count != 1 {
            findings.problem(format!(
                "{GOVERNANCE_PATH}: rollback step `{}` appears {count} times; the checklist \
                 lists each step exactly once",
                id.name()
            ));
        }
    }
}
