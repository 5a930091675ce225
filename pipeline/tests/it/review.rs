//! The data checks and the review queue, end to end on both sandboxes: a set
//! with an error is held (not sent, not failed, not holding the watermark),
//! a decision sends it once — as is, or without the flagged documents — or
//! rejects it, or has it fetched and checked again; warnings travel with the
//! document; a fatal finding fails the set; nothing recognized reaches the
//! state or the events. (A crash between a decision and the send:
//! `crash.rs`.)

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use beorg_client::SetId;
use beorg_sandbox::SetSpec;
use hr_docs_pipeline::hr_docs_checks::{BrokenPolicy, Check, Policy, Severity};
use hr_docs_pipeline::review::{DecisionKind, ReviewError};
use hr_docs_pipeline::store::{FailureKind, SetRecord, SetStatus, StateStore, Step};
use hr_docs_pipeline::{Decision, Error, Pipeline, Progress, ProgressKind, Replay};
use serde_json::Value;

use crate::common::Env;

/// Seeds a set and counts it among the env's sets (for `send_count`).
fn add(env: &Env, spec: SetSpec) -> SetId {
    let id = env.beorg.add_set(spec);
    env.sets.lock().unwrap().push(id.clone());
    id
}

/// A pipeline on the env's state file whose progress events are collected.
fn pipeline(env: &Env, policy: Option<Policy>) -> (Pipeline, Arc<Mutex<Vec<Progress>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut config = env.config();
    if let Some(p) = policy {
        config = config.checks(p);
    }
    let pipeline = env
        .builder(config.build().unwrap())
        .on_progress({
            let events = Arc::clone(&events);
            move |p| events.lock().unwrap().push(p.clone())
        })
        .build()
        .unwrap();
    (pipeline, events)
}

fn events_of(events: &Mutex<Vec<Progress>>, set: &SetId) -> Vec<ProgressKind> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|p| &p.set_id == set)
        .map(|p| p.kind.clone())
        .collect()
}

async fn record(env: &Env, pipeline: &Pipeline, set: &SetId) -> SetRecord {
    env.record(pipeline.store().as_ref(), set).await
}

/// The `.json` attachments of a set's Saby document.
fn attachment_names(env: &Env, set: &SetId) -> Vec<String> {
    let doc = env.saby.document(&env.document_id(set)).unwrap();
    doc.attachments
        .iter()
        .filter(|a| a.deleted != Some(true))
        .filter_map(|a| a.file_name().map(str::to_owned))
        .filter(|n| n.ends_with(".json"))
        .collect()
}

/// An attachment of the set as archived locally — an entry of the document's
/// zip, kept as Saby made it (the manifest lists it) — as JSON.
fn archived_json(env: &Env, set: &SetId, name: &str) -> Value {
    let entries = crate::common::archived_zip(env, set);
    let bytes = entries
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in the zip: {:?}", entries.keys()));
    serde_json::from_slice(bytes).unwrap()
}

fn checks_of(r: &SetRecord) -> Vec<(Option<&str>, Check, Severity)> {
    r.findings
        .iter()
        .map(|f| (f.document_key.as_deref(), f.check.clone(), f.severity))
        .collect()
}

/// A set with a misread SNILS check number is held, with its finding, while
/// the sets around it are sent and the watermark moves past it; approved as
/// is, it is sent exactly once with the error travelling in
/// `data_checks_<set>.json`; a further run sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_set_is_sent_once_after_it_is_approved() {
    let env = Env::start().await;
    let first = add(&env, SetSpec::new());
    let bad = add(&env, SetSpec::new().bad_snils_check_number());
    let last = add(&env, SetSpec::new());
    let (pipeline, events) = pipeline(&env, None);

    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(
        (summary.held, summary.archived, summary.failed),
        (1, 2, 0),
        "{summary}"
    );
    assert_eq!((summary.totals.held, summary.totals.done), (1, 2));
    assert!(summary.all_settled() && !summary.all_final(), "{summary}");
    assert!(summary.to_string().contains("1 held"), "{summary}");
    let held = record(&env, &pipeline, &bad).await;
    assert_eq!((held.status, held.step), (SetStatus::Held, Step::Seen));
    assert_eq!(
        checks_of(&held),
        [(Some("SNILS"), Check::SnilsCheckNumber, Severity::Error)]
    );
    assert_eq!(held.findings[0].field.as_deref(), Some("Number"));
    assert!(held.decisions.is_empty());
    assert!(
        env.saby.document(&env.document_id(&bad)).is_none(),
        "not written"
    );
    // Settled for the watermark: the later set was sent and start_id is past all three.
    assert_eq!(record(&env, &pipeline, &last).await.status, SetStatus::Done);
    assert_eq!(
        pipeline.store().start_id(&env.company()).await.unwrap(),
        Some(last.number().unwrap() + 1)
    );
    let held_events = events_of(&events, &bad);
    assert_eq!(
        held_events,
        [
            ProgressKind::Seen,
            ProgressKind::Held {
                findings: 1,
                errors: 1,
                checks: vec![Check::SnilsCheckNumber],
            }
        ]
    );
    let queue = pipeline.held_sets().await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].set_id, bad);
    // The clean sets went without a findings attachment.
    assert_eq!(attachment_names(&env, &first).len(), 3);

    let decided = pipeline
        .decide(
            &bad,
            Decision::send_as_is("hr-operator-7").with_reason("checked the card"),
        )
        .await
        .unwrap();
    assert_eq!(decided.status, SetStatus::Pending);
    assert_eq!(
        events_of(&events, &bad).last(),
        Some(&ProgressKind::Decided {
            decision: DecisionKind::SendAsIs
        })
    );
    assert!(pipeline.held_sets().await.unwrap().is_empty());

    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(
        (summary.sent, summary.archived, summary.held),
        (1, 1, 0),
        "{summary}"
    );
    assert!(summary.all_final(), "{summary}");
    let done = record(&env, &pipeline, &bad).await;
    assert_eq!(done.status, SetStatus::Done);
    assert_eq!(done.decisions.len(), 1);
    assert_eq!(done.decisions[0].by, "hr-operator-7");
    assert_eq!(
        done.decisions[0].reason.as_deref(),
        Some("checked the card")
    );
    assert_eq!(
        checks_of(&done),
        checks_of(&held),
        "the approved error stays on record"
    );
    assert_eq!(env.sends_of(&env.document_id(&bad)), 1);
    assert_eq!(env.send_count(), 3);
    let name = format!("data_checks_{bad}.json");
    assert!(attachment_names(&env, &bad).contains(&name));
    let checks = archived_json(&env, &bad, &name);
    assert_eq!(checks["findings"][0]["check"], "snils_check_number");
    assert_eq!(checks["findings"][0]["severity"], "error");
    assert_eq!(checks["review"]["decision"], "send_as_is");
    assert!(
        checks["review"].get("by").is_none(),
        "who decided stays in the state"
    );

    let again = pipeline.run_once().await.unwrap();
    assert_eq!((again.written, again.sent), (0, 0), "{again}");
    assert_eq!(env.send_count(), 3);
}

/// A broken document (key `MEDBOOK1`) holds its set; a decision to send the
/// set without it (a typo in the key refused first) sends the rest: the
/// mapper never sees the document — no attachment, not in the whole result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_is_sent_without_the_flagged_documents() {
    let env = Env::start().await;
    let set = add(
        &env,
        SetSpec::new()
            .surname("Орлова")
            .document("PASSPORT")
            .keyed_document("MEDBOOK1", "MEDBOOK")
            .broken_document("MEDBOOK1"),
    );
    let (pipeline, _) = pipeline(&env, None);
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(summary.held, 1, "{summary}");
    let held = record(&env, &pipeline, &set).await;
    assert_eq!(
        checks_of(&held),
        [(Some("MEDBOOK1"), Check::DocumentBroken, Severity::Error)]
    );

    let err = pipeline
        .decide(&set, Decision::send_without(["MEDBOOK2"], "op"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Review(ReviewError::UnknownDocument { key, flagged, .. })
            if key == "MEDBOOK2" && flagged == "MEDBOOK1"),
        "{err:?}"
    );
    assert_eq!(
        record(&env, &pipeline, &set).await,
        held,
        "nothing recorded"
    );

    pipeline
        .decide(&set, Decision::send_without(["MEDBOOK1"], "op"))
        .await
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    let done = record(&env, &pipeline, &set).await;
    assert_eq!(done.status, SetStatus::Done);
    assert!(done.findings.is_empty(), "nothing found in what was sent");
    let names = attachment_names(&env, &set);
    assert_eq!(
        names,
        [
            "Паспорт_Орлова.json".to_owned(),
            format!("beorg_result_{set}.json"),
            format!("data_checks_{set}.json"),
        ]
    );
    let whole = archived_json(&env, &set, &format!("beorg_result_{set}.json"));
    let keys: Vec<&str> = whole["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["PASSPORT"]);
    let checks = archived_json(&env, &set, &format!("data_checks_{set}.json"));
    assert_eq!(checks["review"]["decision"], "send_without");
    assert_eq!(
        checks["review"]["documents_left_out"],
        serde_json::json!(["MEDBOOK1"])
    );
    assert_eq!(env.send_count(), 1);
}

/// A rejected set is recorded (who, why) and never sent: runs, replays and a
/// second decision leave it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_set_is_recorded_and_never_sent() {
    let env = Env::start().await;
    let set = add(&env, SetSpec::new().broken_document("SNILS"));
    let (pipeline, events) = pipeline(&env, None);
    pipeline.run_once().await.unwrap();
    let rejected = pipeline
        .decide(&set, Decision::reject("op-2", "uploaded twice"))
        .await
        .unwrap();
    assert_eq!(rejected.status, SetStatus::Rejected);
    let last = events.lock().unwrap().last().cloned().unwrap();
    assert!(last.is_terminal(), "{last:?}");

    let summary = pipeline.run_once().await.unwrap();
    assert_eq!((summary.written, summary.sent), (0, 0), "{summary}");
    assert_eq!(summary.totals.rejected, 1);
    assert!(summary.all_final(), "{summary}");
    assert!(
        pipeline
            .replay_failed(Replay::All)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        pipeline
            .replay_failed(Replay::Sets(vec![set.clone()]))
            .await
            .unwrap()
            .is_empty()
    );
    let err = pipeline
        .decide(&set, Decision::send_as_is("op-3"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Review(ReviewError::NotHeld {
                status: SetStatus::Rejected,
                ..
            })
        ),
        "{err:?}"
    );
    pipeline.run_once().await.unwrap();
    let r = record(&env, &pipeline, &set).await;
    assert_eq!(r.status, SetStatus::Rejected);
    assert_eq!(r.decisions.len(), 1);
    assert_eq!(r.decisions[0].reason.as_deref(), Some("uploaded twice"));
    assert!(env.saby.document(&env.document_id(&set)).is_none());
    assert_eq!(env.send_count(), 0);
}

/// A refetch approves nothing: fetched and checked again, the set is held
/// again while the data is still wrong; once corrected at Beorg, a refetch
/// sends it — once, and with nothing to report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refetched_set_is_held_again_until_it_is_corrected_at_beorg() {
    let env = Env::start().await;
    let set = add(&env, SetSpec::new().bad_snils_check_number());
    let (pipeline, events) = pipeline(&env, None);
    pipeline.run_once().await.unwrap();
    let results_before = env.beorg.result_requests();

    pipeline
        .decide(&set, Decision::refetch("op"))
        .await
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!((summary.held, summary.sent), (1, 0), "{summary}");
    assert!(
        env.beorg.result_requests() > results_before,
        "fetched again"
    );
    let again = record(&env, &pipeline, &set).await;
    assert_eq!(again.status, SetStatus::Held);
    assert_eq!(again.decisions.len(), 1);

    assert!(env.beorg.correct(&set));
    pipeline
        .decide(&set, Decision::refetch("op"))
        .await
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    let done = record(&env, &pipeline, &set).await;
    assert_eq!((done.status, done.decisions.len()), (SetStatus::Done, 2));
    assert!(done.findings.is_empty());
    assert_eq!(
        attachment_names(&env, &set).len(),
        3,
        "no findings to attach"
    );
    assert_eq!(env.send_count(), 1);
    let helds = events_of(&events, &set)
        .iter()
        .filter(|k| matches!(k, ProgressKind::Held { .. }))
        .count();
    assert_eq!(helds, 2);
}

/// An approval covers the errors the reviewer saw: when the data changed at
/// Beorg after the review and a new error appears, the set is held again and
/// nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_covers_only_the_errors_the_reviewer_saw() {
    let env = Env::start().await;
    let set = add(&env, SetSpec::new().bad_snils_check_number());
    let (pipeline, _) = pipeline(&env, None);
    pipeline.run_once().await.unwrap();
    pipeline
        .decide(&set, Decision::send_as_is("op"))
        .await
        .unwrap();
    assert!(env.beorg.mark_broken(&set, "PASSPORT"));
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!((summary.held, summary.written), (1, 0), "{summary}");
    let r = record(&env, &pipeline, &set).await;
    assert_eq!(r.status, SetStatus::Held);
    let mut checks: Vec<Check> = r.findings.iter().map(|f| f.check.clone()).collect();
    checks.sort();
    assert_eq!(checks, [Check::DocumentBroken, Check::SnilsCheckNumber]);
    assert!(env.saby.document(&env.document_id(&set)).is_none());
}

/// Under `BrokenPolicy::Fail` a broken document fails its set at once with a
/// typed kind, its reason naming the check and the document, not the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_finding_fails_the_set_with_a_typed_kind() {
    let env = Env::start().await;
    let set = add(
        &env,
        SetSpec::new()
            .surname("Гончаров")
            .broken_document("PASSPORT"),
    );
    let fine = add(&env, SetSpec::new());
    let policy = Policy::builder()
        .broken(BrokenPolicy::Fail)
        .build()
        .unwrap();
    let (pipeline, _) = pipeline(&env, Some(policy));
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(
        (summary.failed, summary.held, summary.archived),
        (1, 0, 1),
        "{summary}"
    );
    let r = record(&env, &pipeline, &set).await;
    assert_eq!(r.status, SetStatus::Failed);
    let failure = r.failure.clone().unwrap();
    assert_eq!(
        (failure.step, failure.kind.clone()),
        (Step::Fetched, FailureKind::DataCheck)
    );
    assert!(failure.kind.is_data_problem());
    assert!(
        failure.reason.contains("document_broken (PASSPORT)"),
        "{}",
        failure.reason
    );
    assert!(!failure.reason.contains("Гончаров"), "{}", failure.reason);
    assert_eq!(
        checks_of(&r),
        [(Some("PASSPORT"), Check::DocumentBroken, Severity::Fatal)]
    );
    assert_eq!(record(&env, &pipeline, &fine).await.status, SetStatus::Done);
    // Failed, not held: no decision can be made about it.
    let err = pipeline
        .decide(&set, Decision::send_as_is("op"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Review(ReviewError::NotHeld { .. })),
        "{err:?}"
    );
}

/// Warnings (here Beorg's own bad-field signal on an RVP) do not stop a set:
/// it is sent, the warnings in `data_checks_<set>.json` and in its record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_travel_with_the_document_and_do_not_stop_it() {
    let env = Env::start().await;
    let set = add(&env, SetSpec::new().document("PASSPORT").document("RVP"));
    let (pipeline, _) = pipeline(&env, None);
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(summary.held, 0);
    let r = record(&env, &pipeline, &set).await;
    assert!(!r.findings.is_empty());
    assert!(r.findings.iter().all(|f| f.severity == Severity::Warning));
    assert!(
        r.findings
            .iter()
            .any(|f| f.check == Check::BeorgBadField && f.field.as_deref() == Some("ExpiryDate"))
    );
    let checks = archived_json(&env, &set, &format!("data_checks_{set}.json"));
    assert_eq!(
        checks["findings"].as_array().unwrap().len(),
        r.findings.len()
    );
    assert!(checks.get("review").is_none());
}

/// "Today" comes from the builder: on 1 January 2000 every issue date of the
/// sandbox's passports is in the future, so the set is held for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_is_injectable() {
    let env = Env::start().await;
    let set = add(&env, SetSpec::new());
    let pipeline = env
        .builder(env.config().build().unwrap())
        .today(|| time::macros::date!(2000 - 01 - 01))
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(summary.held, 1, "{summary}");
    let r = record(&env, &pipeline, &set).await;
    assert!(
        r.findings.iter().any(|f| f.check == Check::DateInFuture),
        "{:?}",
        r.findings
    );
}

/// A held set never holds the watermark: a set Beorg lists after it is
/// fetched and sent on the next run while it waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_set_is_sent_while_a_held_one_waits() {
    let env = Env::start().await;
    let bad = add(&env, SetSpec::new().broken_document("PASSPORT"));
    let (pipeline, _) = pipeline(&env, None);
    pipeline.run_once().await.unwrap();
    let store = pipeline.store();
    assert_eq!(
        store.start_id(&env.company()).await.unwrap(),
        Some(bad.number().unwrap() + 1)
    );
    let later = add(&env, SetSpec::new());
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!((summary.seen, summary.archived), (1, 1), "{summary}");
    assert_eq!(
        record(&env, &pipeline, &later).await.status,
        SetStatus::Done
    );
    assert_eq!(record(&env, &pipeline, &bad).await.status, SetStatus::Held);
    assert_eq!(
        store.start_id(&env.company()).await.unwrap(),
        Some(later.number().unwrap() + 1)
    );
}

/// Nothing recognized — surname, SNILS number, passport number — reaches a
/// held set's record (its findings, its decisions) or the progress events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_recognized_reaches_the_state_or_the_events() {
    let env = Env::start().await;
    let set = add(
        &env,
        SetSpec::new().surname("Ёлкина").bad_snils_check_number(),
    );
    let (pipeline, events) = pipeline(&env, None);
    pipeline.run_once().await.unwrap();
    let result = env
        .beorg
        .client()
        .result(&set)
        .await
        .unwrap()
        .into_ready()
        .unwrap();
    let mut values: Vec<String> = vec!["Ёлкина".to_owned()];
    for doc in &result.documents {
        for key in ["Number", "Series", "BirthDate", "IssueDate", "FirstName"] {
            if let Some(v) = doc.field(key).filter(|v| v.len() > 3) {
                values.push(v.to_owned());
            }
        }
    }
    assert!(values.len() > 4, "{values:?}");
    pipeline
        .decide(&set, Decision::send_as_is("op"))
        .await
        .unwrap();
    let r = record(&env, &pipeline, &set).await;
    let shown = format!(
        "{r:?} {} {:?}",
        serde_json::to_string(&r.findings).unwrap(),
        events.lock().unwrap()
    );
    for v in &values {
        assert!(!shown.contains(v.as_str()), "{v} leaked: {shown}");
    }
    // The SQLite file itself: the findings and decisions columns.
    drop(pipeline);
    let store = env.open_store().await;
    drop(store);
    let conn = rusqlite::Connection::open(env.state_path()).unwrap();
    let (findings, decisions): (String, String) = conn
        .query_row(
            "SELECT findings, decisions FROM sets WHERE set_id = ?1",
            [set.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert!(findings.contains("snils_check_number"), "{findings}");
    assert!(decisions.contains("send_as_is"), "{decisions}");
    for v in &values {
        assert!(!findings.contains(v.as_str()) && !decisions.contains(v.as_str()));
    }
}
