//! The load run: build, start, seed, restart, drive, read the verdict, stop.
//!
//! The service runs as a child process on an ephemeral loopback port over a temporary
//! database; a [`Service`] guard kills it when dropped, so it stops on every path out of the
//! run, failures included. Requests go through one `ureq` agent shared by `concurrency`
//! worker threads; every loop is bounded by the number of requests and by [`RUN_DEADLINE`].

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

use super::SloPolicy;
use super::report;
use super::requests::{self, HttpRequest, Seeded};
use super::service::{self, Answer, Service};

/// The whole load (seed and measured phases) stops after this long, finished or not.
const RUN_DEADLINE: Duration = Duration::from_secs(600);
/// How many asks the seed phase sends, to store context packages for `context show`.
const SEED_ASKS: usize = 50;

/// Runs the load and enforces `policy_path`.
pub fn run(sh: &Shell, root: &Path, policy_path: &Path, release: bool) -> Result<()> {
    let policy = SloPolicy::load(Some(policy_path))?;
    let profile_name = if release { "release" } else { "debug" };
    println!("slo: building memory-kernel-service and mk ({profile_name})…");
    let bin_dir = service::build(
        sh,
        root,
        release,
        &["memory-kernel-service", "memory-kernel-cli"],
    )?;
    let service_bin = service::executable(&bin_dir, "memory-kernel-service");
    let mk_bin = service::executable(&bin_dir, "mk");

    let temp = tempfile::tempdir().context("creating a temporary folder")?;
    let db = temp.path().join("slo.sqlite3");
    let deadline = Instant::now() + RUN_DEADLINE;
    let agent = service::agent(policy.benchmark_profile.concurrency);

    let seeded = {
        let service = Service::start(&service_bin, &db)?;
        println!("slo: seed service on http://{}", service.address);
        seed(&agent, &service.address, &policy, deadline)?
        // Dropped here: the measured service starts with zeroed counters.
    };
    let service = Service::start(&service_bin, &db)?;
    println!("slo: measured service on http://{}", service.address);
    drive_profile(&agent, &service.address, &policy, &seeded, deadline)?;

    println!("slo: reading /metrics with `mk service diagnostics --json`…");
    let url = format!("http://{}", service.address);
    let output = cmd!(
        sh,
        "{mk_bin} service diagnostics --url {url} --json --policy {policy_path}"
    )
    .quiet()
    .ignore_status()
    .output()
    .context("running mk service diagnostics")?;
    drop(service);
    let code = output.status.code();
    if !matches!(code, Some(0 | 3 | 4)) {
        bail!(
            "mk service diagnostics failed ({:?}): {}",
            code,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let envelope: Value = serde_json::from_slice(&output.stdout)
        .context("mk service diagnostics --json printed no JSON")?;
    let metrics = envelope
        .get("service_metrics")
        .context("mk service diagnostics --json printed no service_metrics")?;
    let written = report::write_artifact(root, &service::target_dir(root), metrics)?;
    report::print(metrics);
    println!("slo: wrote {}", written.display());
    report::enforce(metrics)
}

/// Sends `requests` to `address`, `concurrency` at a time, printing progress as `label`.
/// Requests not started by `deadline` are not sent.
fn drive(
    agent: &ureq::Agent,
    address: &str,
    requests: Vec<HttpRequest>,
    concurrency: usize,
    label: &str,
    deadline: Instant,
) -> Result<Vec<Answer>> {
    let total = requests.len();
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let answers: Arc<Mutex<Vec<Option<Answer>>>> =
        Arc::new(Mutex::new((0..total).map(|_| None).collect()));
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (agent, requests, next, done, answers) = (
                agent.clone(),
                Arc::clone(&requests),
                Arc::clone(&next),
                Arc::clone(&done),
                Arc::clone(&answers),
            );
            let base = format!("http://{address}");
            thread::spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(index) else {
                        break;
                    };
                    if Instant::now() >= deadline {
                        break;
                    }
                    let answer = service::send(&agent, &base, request);
                    if let Ok(mut all) = answers.lock() {
                        all[index] = Some(answer);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut last_report = Instant::now();
    while workers.iter().any(|w| !w.is_finished()) {
        thread::sleep(Duration::from_millis(50));
        if last_report.elapsed() >= Duration::from_secs(2) {
            println!(
                "slo: {label}: {}/{total} requests",
                done.load(Ordering::Relaxed)
            );
            last_report = Instant::now();
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
    let finished = done.load(Ordering::Relaxed);
    println!(
        "slo: {label}: {finished}/{total} requests in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if finished < total {
        bail!("{label}: only {finished} of {total} requests were sent before the run deadline");
    }
    let answers = Arc::try_unwrap(answers)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .context("collecting the answers")?;
    Ok(answers.into_iter().flatten().collect())
}

/// Every 2xx answer's `data[key]`; fails on any other answer.
fn collect(answers: &[Answer], key: &str, what: &str) -> Result<Vec<String>> {
    answers
        .iter()
        .map(|answer| {
            if !(200..300).contains(&answer.status) {
                bail!(
                    "seeding {what}: the service answered {}: {}",
                    answer.status,
                    answer.body
                );
            }
            let value: Value = serde_json::from_str(&answer.body).unwrap_or_default();
            value["data"][key]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("seeding {what}: no data.{key} in {}", answer.body))
        })
        .collect()
}

/// Writes the profile's seed records, some links and the asks whose packages `context show`
/// reads later.
fn seed(
    agent: &ureq::Agent,
    address: &str,
    policy: &SloPolicy,
    deadline: Instant,
) -> Result<Seeded> {
    let seed = policy.benchmark_profile.seed_records;
    let concurrency = policy.benchmark_profile.concurrency;
    println!(
        "slo: seeding {} constraints, {} summaries, {} links…",
        seed.constraints, seed.summaries, seed.links
    );
    let records: Vec<HttpRequest> = (0..seed.constraints)
        .map(requests::constraint)
        .chain((0..seed.summaries).map(requests::summary))
        .collect();
    let answers = drive(
        agent,
        address,
        records,
        concurrency,
        "seed records",
        deadline,
    )?;
    let version_ids = collect(&answers, "memory_version_id", "records")?;
    let links: Vec<HttpRequest> = (0..seed.links)
        .filter_map(|m| requests::link(m, &version_ids))
        .collect();
    let answers = drive(agent, address, links, concurrency, "seed links", deadline)?;
    collect(&answers, "created_at", "links")?;
    let asks: Vec<HttpRequest> = (0..SEED_ASKS).map(requests::ask).collect();
    let answers = drive(agent, address, asks, concurrency, "seed asks", deadline)?;
    let package_ids = collect(&answers, "context_package_id", "asks")?;
    Ok(Seeded {
        version_ids,
        package_ids,
    })
}

/// Sends the profile's measured requests, endpoints interleaved round-robin so every
/// endpoint sees the whole run's conditions.
fn drive_profile(
    agent: &ureq::Agent,
    address: &str,
    policy: &SloPolicy,
    seeded: &Seeded,
    deadline: Instant,
) -> Result<()> {
    let profile = &policy.benchmark_profile;
    let links_before = profile.seed_records.links;
    let longest = profile.requests.iter().map(|r| r.count).max().unwrap_or(0);
    let mut load = Vec::new();
    for i in 0..longest {
        for entry in profile.requests.iter().filter(|r| i < r.count) {
            let request = requests::measured(&entry.endpoint, i, seeded, links_before)
                .with_context(|| format!("no request generator for {}", entry.endpoint))?;
            load.push(request);
        }
    }
    println!(
        "slo: driving {} requests over {} endpoints, {} in flight…",
        load.len(),
        profile.requests.len(),
        profile.concurrency
    );
    let answers = drive(
        agent,
        address,
        load,
        profile.concurrency,
        "measured load",
        deadline,
    )?;
    let unexpected = answers
        .iter()
        .filter(|a| !(200..300).contains(&a.status))
        .count();
    if unexpected > 0 {
        println!("slo: {unexpected} requests were not answered 2xx (the artifact counts them)");
    }
    Ok(())
}
