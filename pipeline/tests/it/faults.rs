//! Faults on both services (5xx, 429, session expiry, slow and malformed
//! answers): every set still ends final or recorded failed with a reason —
//! none lost, none duplicated in Saby.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::common::Env;
use beorg_sandbox::{Faults as BeorgFaults, SandboxConfig as BeorgConfig};
use hr_docs_pipeline::store::SetStatus;
use saby_sandbox::{Faults as SabyFaults, SandboxConfig as SabyConfig};

const SETS: usize = 8;

async fn assert_none_lost_none_duplicated(env: &Env, pipeline: &hr_docs_pipeline::Pipeline) {
    let records = env.records(pipeline.store().as_ref()).await;
    assert_eq!(records.len(), SETS, "every set recorded");
    let mut written = 0;
    for r in &records {
        match r.status {
            SetStatus::Done => assert!(r.final_state.is_some(), "{r:?}"),
            SetStatus::Failed => {
                let f = r.failure.as_ref().expect("a failed set has a reason");
                assert!(!f.reason.is_empty());
            }
            SetStatus::Pending => panic!("set left pending: {r:?}"),
            other => panic!("unexpected status {other:?}"),
        }
        if r.document_id
            .as_ref()
            .is_some_and(|id| env.saby.document(id).is_some())
        {
            written += 1;
        }
    }
    // Deterministic ids: at most one document per set, and no stray ones.
    assert_eq!(env.saby.document_count(), written);
    assert!(env.send_count() <= written, "a document was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beorg_faults_do_not_lose_or_duplicate_sets() {
    let faults = BeorgFaults::default()
        .server_errors(0.15)
        .rate_limited(0.1, Duration::from_millis(5))
        .slow(0.05, Duration::from_millis(30))
        .malformed(0.05)
        .truncated(0.05);
    let env = Env::start_with(
        BeorgConfig::default().polls_until_ready(0).faults(faults),
        SabyConfig::default(),
    )
    .await;
    env.add_sets(SETS);
    let pipeline = env
        .builder(env.config().max_passes(20).build().unwrap())
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_none_lost_none_duplicated(&env, &pipeline).await;
    assert!(env.beorg.faults_injected() > 0, "the faults were exercised");
    assert_eq!(
        summary.totals.done + summary.totals.failed,
        SETS as u64,
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saby_faults_do_not_lose_or_duplicate_documents() {
    let faults = SabyFaults::default()
        .server_errors(0.15)
        .expire_sessions_every(7)
        .answer_lost(0.05)
        .slow(0.05, Duration::from_millis(30))
        .malformed(0.05);
    let env = Env::start_with(
        BeorgConfig::default().polls_until_ready(0),
        SabyConfig::default().faults(faults),
    )
    .await;
    env.add_sets(SETS);
    let pipeline = env
        .builder(env.config().max_passes(20).build().unwrap())
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_none_lost_none_duplicated(&env, &pipeline).await;
    assert!(env.saby.fault_count() > 0, "the faults were exercised");
    assert!(
        env.saby.login_count() > 1,
        "sessions expired and were renewed"
    );
    assert_eq!(
        summary.totals.done + summary.totals.failed,
        SETS as u64,
        "{summary}"
    );
    // With retries this generous, the faults are ridden out.
    let failures: Vec<_> = env
        .records(pipeline.store().as_ref())
        .await
        .into_iter()
        .filter_map(|r| r.failure.map(|f| (r.set_id, f.step, f.reason)))
        .collect();
    assert!(
        summary.totals.done >= (SETS as u64) / 2,
        "{summary}: {failures:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_everywhere_then_a_clean_rerun_finishes_everything() {
    let env = Env::start_with(
        BeorgConfig::default()
            .polls_until_ready(0)
            .faults(BeorgFaults::default().server_errors(0.3).malformed(0.1)),
        SabyConfig::default().faults(SabyFaults::default().server_errors(0.3).malformed(0.1)),
    )
    .await;
    env.add_sets(SETS);
    {
        // Few passes: some sets give up and are recorded failed.
        let pipeline = env
            .builder(env.config().max_passes(2).build().unwrap())
            .build()
            .unwrap();
        pipeline.run_once().await.unwrap();
        assert_none_lost_none_duplicated(&env, &pipeline).await;
    }
    env.beorg.set_faults(BeorgFaults::default());
    env.saby.set_faults(SabyFaults::default());
    let store = env.open_store().await;
    let pipeline = env
        .builder(env.config().build().unwrap())
        .store(store)
        .build()
        .unwrap();
    pipeline
        .replay_failed(hr_docs_pipeline::Replay::All)
        .await
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(env.saby.document_count(), SETS);
    assert_eq!(env.send_count(), SETS);
}
