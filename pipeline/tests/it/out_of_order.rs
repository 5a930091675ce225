//! Sets that become ready out of order: Beorg recognizes set N+1 before set N.
//! The `start_id` watermark must wait for N (a gap) for `gap_grace`, or N is
//! below `start_id` when it becomes ready and is never listed again. A gap that
//! never fills (another contour's number) is passed once its grace is over.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::common::Env;
use beorg_client::SetId;
use pipeline::sandbox::beorg::{SandboxConfig as BeorgConfig, SetSpec};
use pipeline::sandbox::saby::SandboxConfig as SabyConfig;
use pipeline::store::SetStatus;
use pipeline::{Pipeline, PipelineConfig, StopReason};

/// Seeds set N, still being recognized (until `mark_ready`), and set N+1,
/// ready at once.
fn slow_then_quick(env: &Env) -> (SetId, SetId) {
    let slow = env
        .beorg
        .add_set(SetSpec::new().surname("Волков").polls_until_ready(u32::MAX));
    let quick = env.beorg.add_set(SetSpec::new().surname("Зайцева").ready());
    assert_eq!(quick.number(), slow.number().map(|n| n + 1));
    env.sets
        .lock()
        .unwrap()
        .extend([slow.as_str().to_owned(), quick.as_str().to_owned()]);
    (slow, quick)
}

fn status(env: &Env, pipeline: &Pipeline, set: &SetId) -> Option<SetStatus> {
    pipeline
        .store()
        .get(&env.project(), set.as_str())
        .unwrap()
        .map(|r| r.status)
}

/// First run: N+1 is ready and processed, N is still being recognized; then
/// Beorg finishes N. Returns the pipeline for the next run, N and N+1.
async fn first_run(env: &Env, config: PipelineConfig) -> (Pipeline, SetId, SetId) {
    let (slow, quick) = slow_then_quick(env);
    let pipeline = env.builder(config).build().unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(summary.stop, StopReason::Drained, "{summary}");
    assert_eq!((summary.seen, summary.archived), (1, 1), "{summary}");
    assert_eq!(status(env, &pipeline, &quick), Some(SetStatus::Done));
    assert_eq!(status(env, &pipeline, &slow), None, "not ready yet");
    assert!(env.beorg.mark_ready(&slow));
    (pipeline, slow, quick)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_ready_after_a_higher_one_is_picked_up_by_the_next_run() {
    let env = Env::start().await;
    // The default gap grace (15 minutes).
    let (pipeline, slow, quick) = first_run(&env, env.config().build().unwrap()).await;
    // The watermark waits at N: N+1 is done, but N was never seen.
    let n = slow.number().unwrap();
    assert_eq!(pipeline.store().start_id(&env.project()).unwrap(), Some(n));

    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    // N is new; N+1, listed again since start_id stayed at N, is not redone.
    assert_eq!(
        (
            summary.seen,
            summary.written,
            summary.sent,
            summary.archived
        ),
        (1, 1, 1, 1),
        "{summary}"
    );
    assert_eq!(status(&env, &pipeline, &slow), Some(SetStatus::Done));
    assert_eq!(status(&env, &pipeline, &quick), Some(SetStatus::Done));
    assert_eq!(env.saby.document_count(), 2);
    assert_eq!(env.send_count(), 2, "one send per set");
    assert_eq!(
        pipeline.store().start_id(&env.project()).unwrap(),
        Some(n + 2)
    );
}

/// What the grace prevents: without it the watermark moves past N as soon as
/// N+1 settles, and N is never listed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_gap_grace_does_not_wait_and_the_late_set_is_never_listed() {
    let env = Env::start().await;
    let config = env.config().gap_grace(Duration::ZERO).build().unwrap();
    let (pipeline, slow, _) = first_run(&env, config).await;
    let n = slow.number().unwrap();
    assert_eq!(
        pipeline.store().start_id(&env.project()).unwrap(),
        Some(n + 2)
    );

    let summary = pipeline.run_once().await.unwrap();
    assert_eq!((summary.seen, summary.sent), (0, 0), "{summary}");
    assert_eq!(status(&env, &pipeline, &slow), None);
    assert_eq!(env.saby.document_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_that_never_fills_is_passed_once_its_grace_is_over() {
    let env = Env::start_with(
        BeorgConfig::default()
            .project_id("MAIN")
            .projects(["OTHER"])
            .polls_until_ready(0),
        SabyConfig::default(),
    )
    .await;
    // Set 1 belongs to a contour this pipeline does not serve: for MAIN, 1 is
    // a gap that will never fill.
    let foreign = env.beorg.add_set(SetSpec::new().project("OTHER"));
    let ours = env.beorg.add_set(SetSpec::new().surname("Орлов"));
    env.sets.lock().unwrap().push(ours.as_str().to_owned());
    {
        // The default grace (15 minutes) holds the watermark at the gap.
        let pipeline = env.pipeline();
        let summary = pipeline.run_once().await.unwrap();
        assert!(summary.all_final(), "{summary}");
        assert_eq!(summary.archived, 1, "{summary}");
        assert_eq!(pipeline.store().start_id("MAIN").unwrap(), Some(1));
    }

    // A short grace, over by the next run: the watermark moves past the gap.
    let grace = Duration::from_millis(200);
    tokio::time::sleep(grace).await;
    let config = env.config().gap_grace(grace).build().unwrap();
    let pipeline = env
        .builder(config)
        .store(env.open_store().await)
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!((summary.seen, summary.sent), (0, 0), "{summary}");
    let store = pipeline.store();
    assert_eq!(
        store.start_id("MAIN").unwrap(),
        Some(ours.number().unwrap() + 1)
    );
    assert!(store.get("MAIN", foreign.as_str()).unwrap().is_none());
    assert_eq!(env.saby.document_count(), 1);
    assert_eq!(env.send_count(), 1);
}
