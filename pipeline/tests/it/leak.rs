//! The leak test (issue 9): the whole flow on both sandboxes, with every log
//! line at TRACE captured, decode failures, server errors, lost answers,
//! expired sessions and Saby errors quoting the document injected, retries and
//! a replay; then the captured logs, every progress event, failure reason and
//! summary, the records, and the bytes of the state database and its WAL are
//! searched for the sample employees' recognized values and for the
//! credentials. None may appear.
//!
//! The search terms ([`search_terms`]):
//!
//! - every recognized value of every set, as
//!   `RecognitionResult::personal_values` lists them (read from Beorg after the
//!   run): surnames, first and middle names, birth dates and places, passport
//!   series, numbers, issuers, issue dates and codes, SNILS numbers, the
//!   `FileName`s made from the surname (`Паспорт_Иванов`) — and the sandbox's
//!   surnames once more ([`crate::common::SURNAMES`]);
//! - Beorg's free-text reasons for a broken set (`Изображение нечитаемо`, `The
//!   image is unreadable`): counted, never quoted;
//! - the credentials: the Beorg token, the Saby password, every session id
//!   the Saby sandbox handed out.
//!
//! A value made only of digits (a passport number) counts only where it
//! stands alone, not inside a longer number.
//!
//! Tracing caches each callsite's interest process-wide, and the other tests
//! of this binary install their own subscriber: the capture needs the one
//! global subscriber from the start. So the scenario runs in a child process
//! (this binary again, one test, `--ignored`), which installs its capturing
//! subscriber first and checks everything itself; the parent test only runs it.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::common::{Env, SURNAMES};
use beorg_client::SetId;
use beorg_sandbox::{Faults as BeorgFaults, SandboxConfig as BeorgConfig, SetSpec};
use hr_docs_pipeline::hr_docs_checks::{BrokenPolicy, Policy};
use hr_docs_pipeline::store::StateStore;
use hr_docs_pipeline::{Progress, Replay};
use hr_docs_testkit::logs::find_term;
use saby_sandbox::{Faults as SabyFaults, SandboxConfig as SabyConfig};

/// The Beorg token of the run: distinctive, so that any trace of it is found.
const BEORG_TOKEN: &str = "beorg-leak-test-token-7Qx9Lw2";
/// The Saby password of the run.
const SABY_PASSWORD: &str = "saby-leak-test-password-Zk4Rt8";
/// Set in the child process.
const CHILD: &str = "HR_DOCS_LEAK_TEST_CHILD";

/// Everything every thread of this process logs, at TRACE.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

struct Sink;

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        captured().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber as the process's global one: what
/// `RUST_LOG=trace` shows, for every crate (the clients, the pipeline, the
/// HTTP stack). No timestamps: their digits are noise next to a passport
/// number.
fn capture_everything() {
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(|| Sink)
        .with_ansi(false)
        .without_time()
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::NEW)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the leak test's subscriber is the first in its process");
}

/// Every place a term occurs, with some context, as a report.
fn leaks(haystacks: &[(String, String)], terms: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, text) in haystacks {
        for term in terms {
            if let Some(at) = find_term(text, term) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                let end = text[at..]
                    .char_indices()
                    .nth(term.chars().count() + 80)
                    .map_or(text.len(), |(i, _)| at + i);
                out.push(format!("{name}: {term:?} in …{}…", &text[start..end]));
            }
        }
    }
    out
}

/// The search terms (see the module documentation).
async fn search_terms(env: &Env, sets: &[SetId]) -> Vec<String> {
    let client = env.beorg.client();
    let mut terms: Vec<String> = SURNAMES.iter().map(|s| (*s).to_owned()).collect();
    let mut recognized = 0;
    for set in sets {
        if let Some(result) = client.result(set).await.unwrap().into_ready() {
            let values = result.personal_values();
            recognized += values.len();
            terms.extend(values);
        }
    }
    assert!(recognized > 20, "the sets carry recognized values");
    terms.extend(["Изображение нечитаемо", "The image is unreadable"].map(String::from));
    terms.push(BEORG_TOKEN.to_owned());
    terms.push(SABY_PASSWORD.to_owned());
    let sessions = env.saby.issued_secrets();
    assert!(sessions.len() > 1, "sessions expired and were renewed");
    terms.extend(sessions);
    terms.sort();
    terms.dedup();
    terms
}

/// The state database's files as text (lossy: the values searched are UTF-8).
fn state_bytes(env: &Env, when: &str) -> Vec<(String, String)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let path = format!("{}{suffix}", env.state_path().display());
            let bytes = std::fs::read(&path).ok()?;
            Some((
                format!("state file {path} ({when})"),
                String::from_utf8_lossy(&bytes).into_owned(),
            ))
        })
        .collect()
}

/// The scenario, in the child process.
#[test]
#[ignore = "helper: run in a child process by no_recognized_value_or_credential_leaks"]
fn leak_scenario_in_a_child_process() {
    assert!(
        std::env::var_os(CHILD).is_some(),
        "run by no_recognized_value_or_credential_leaks"
    );
    capture_everything();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(scenario());
}

async fn scenario() {
    let env = Env::start_with(
        BeorgConfig::default()
            .token(BEORG_TOKEN)
            .polls_until_ready(0)
            .faults(
                BeorgFaults::default()
                    .server_errors(0.1)
                    .rate_limited(0.05, Duration::from_millis(5))
                    .malformed(0.1)
                    .truncated(0.1),
            ),
        SabyConfig::default()
            .password_login("leak-test", SABY_PASSWORD)
            .faults(
                SabyFaults::default()
                    .server_errors(0.1)
                    .malformed(0.1)
                    .answer_lost(0.05)
                    .expire_sessions_every(11)
                    .echoing_errors(0.04),
            ),
    )
    .await;
    let mut sets = env.add_sets(8);
    sets.push(env.beorg.add_set(SetSpec::new().broken()));
    // Held for review with its findings (searched with the records below).
    sets.push(env.beorg.add_set(SetSpec::new().bad_snils_check_number()));

    let events = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let mut texts: Vec<(String, String)> = Vec::new();
    let pipeline = {
        let events = Arc::clone(&events);
        // A broken set fails (its reason is searched) instead of being held.
        let checks = Policy::builder()
            .broken(BrokenPolicy::Fail)
            .build()
            .unwrap();
        env.builder(env.config().max_passes(30).checks(checks).build().unwrap())
            .on_progress(move |p| events.lock().unwrap().push(p.clone()))
            .build()
            .unwrap()
    };
    let first = pipeline.run_once().await.unwrap();
    let faults = (env.beorg.faults_injected(), env.saby.fault_count());
    assert!(
        faults.0 > 0 && faults.1 > 0,
        "faults were injected: {faults:?}"
    );
    // The rest without faults: the failed sets replayed and finished.
    env.beorg.set_faults(BeorgFaults::default());
    env.saby.set_faults(SabyFaults::default());
    let replayed = pipeline.replay_failed(Replay::All).await.unwrap();
    let second = pipeline.run_once().await.unwrap();
    // (Whether a fault outlasts the clients' own retries and reaches the
    // pipeline as a retry varies with timing; the broken set always fails.)

    for (name, summary) in [("first summary", &first), ("second summary", &second)] {
        texts.push((name.to_owned(), format!("{summary}\n{summary:?}")));
    }
    texts.push(("replayed records".to_owned(), format!("{replayed:?}")));
    let records = pipeline
        .store()
        .list(&env.company(), None, None, 1000)
        .await
        .unwrap();
    assert_eq!(records.len(), sets.len());
    assert!(
        records
            .iter()
            .any(|r| r.failure.is_some() || r.last_error.is_some())
            || replayed.iter().any(|r| r.failure.is_some()),
        "some failure was recorded"
    );
    texts.push(("records".to_owned(), format!("{records:?}")));
    for r in records.iter().chain(&replayed) {
        if let Some(f) = &r.failure {
            texts.push((format!("failure reason of {}", r.set_id), f.reason.clone()));
        }
        if let Some(e) = &r.last_error {
            texts.push((format!("last error of {}", r.set_id), e.clone()));
        }
    }
    let events = events.lock().unwrap().clone();
    assert!(
        events.iter().any(|p| matches!(
            p.kind,
            hr_docs_pipeline::ProgressKind::Retrying { .. }
                | hr_docs_pipeline::ProgressKind::Failed { .. }
        )),
        "errors were reported"
    );
    texts.push(("progress events".to_owned(), format!("{events:#?}")));
    texts.push(("the pipeline".to_owned(), format!("{pipeline:?}")));
    texts.extend(state_bytes(&env, "open"));
    drop(pipeline);
    drop(env.open_store().await);
    texts.extend(state_bytes(&env, "closed"));

    let terms = search_terms(&env, &sets).await;
    let logs = String::from_utf8_lossy(&captured().lock().unwrap()).into_owned();
    // The capture works: the pipeline's and both clients' lines are in it.
    for expected in [
        "pipeline_run",
        "СБИС.ЗаписатьДокумент",
        "set_id=s-1",
        "result",
    ] {
        assert!(
            logs.contains(expected),
            "{expected:?} not in the captured logs"
        );
    }
    texts.push(("logs at TRACE".to_owned(), logs));

    let found = leaks(&texts, &terms);
    assert!(
        found.is_empty(),
        "{} leak(s):\n{}",
        found.len(),
        found.join("\n")
    );
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    println!(
        "leak test: {} terms searched in {} texts ({bytes} bytes), none found",
        terms.len(),
        texts.len()
    );
}

#[test]
fn no_recognized_value_or_credential_leaks() {
    // The scenario's name as libtest knows it: the module path without the crate.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let scenario = format!("{module}::leak_scenario_in_a_child_process");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &scenario,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the leak scenario failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // A filter that matched nothing would also exit 0: insist it ran.
    assert!(
        stdout.contains("1 passed") && stdout.contains("none found"),
        "the scenario {scenario} did not run in the child:\n{stdout}\n{stderr}"
    );
}
