//! Sets that become ready out of order: Beorg recognizes set N+1 before set N.
//! The `start_id` watermark must wait for N (a gap) for `gap_grace`, or N is
//! below `start_id` when it becomes ready and is never listed again. A gap that
//! never fills (another customer's number, a deleted set) is passed once its
//! grace is over. The company's two contours interleave their numbers: one
//! contour's numbers are never gaps for the other (one watermark per company).

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crate::common::Env;
use beorg_client::SetId;
use beorg_sandbox::SetSpec;
use hr_docs_pipeline::store::SetStatus;
use hr_docs_pipeline::{Pipeline, PipelineConfig, StopReason};

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
        .extend([slow.clone(), quick.clone()]);
    (slow, quick)
}

async fn status(env: &Env, pipeline: &Pipeline, set: &SetId) -> Option<SetStatus> {
    pipeline
        .store()
        .get(&env.company(), set)
        .await
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
    assert_eq!(status(env, &pipeline, &quick).await, Some(SetStatus::Done));
    assert_eq!(status(env, &pipeline, &slow).await, None, "not ready yet");
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
    assert_eq!(
        pipeline.store().start_id(&env.company()).await.unwrap(),
        Some(n)
    );

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
    assert_eq!(status(&env, &pipeline, &slow).await, Some(SetStatus::Done));
    assert_eq!(status(&env, &pipeline, &quick).await, Some(SetStatus::Done));
    assert_eq!(env.saby.document_count(), 2);
    assert_eq!(env.send_count(), 2, "one send per set");
    assert_eq!(
        pipeline.store().start_id(&env.company()).await.unwrap(),
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
        pipeline.store().start_id(&env.company()).await.unwrap(),
        Some(n + 2)
    );

    let summary = pipeline.run_once().await.unwrap();
    assert_eq!((summary.seen, summary.sent), (0, 0), "{summary}");
    assert_eq!(status(&env, &pipeline, &slow).await, None);
    assert_eq!(env.saby.document_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_that_never_fills_is_passed_once_its_grace_is_over() {
    let env = Env::start().await;
    // Number 1 is never listed (a number that is not the company's, or a
    // deleted set): for the watermark, a gap that will never fill.
    let never = env
        .beorg
        .add_set(SetSpec::new().polls_until_ready(u32::MAX));
    let ours = env.beorg.add_set(SetSpec::new().surname("Орлов"));
    env.sets.lock().unwrap().push(ours.clone());
    let company = env.company();
    {
        // The default grace (15 minutes) holds the watermark at the gap.
        let pipeline = env.pipeline();
        let summary = pipeline.run_once().await.unwrap();
        assert!(summary.all_final(), "{summary}");
        assert_eq!(summary.archived, 1, "{summary}");
        assert_eq!(
            pipeline.store().start_id(&company).await.unwrap(),
            never.number()
        );
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
        store.start_id(&company).await.unwrap(),
        Some(ours.number().unwrap() + 1)
    );
    assert!(store.get(&company, &never).await.unwrap().is_none());
    assert_eq!(env.saby.document_count(), 1);
    assert_eq!(env.send_count(), 1);
}

/// The interleaved contours of one company never hold each other's watermark:
/// with the default grace, everything settled moves it past the last set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_contours_are_no_gaps_for_each_other() {
    let env = Env::start().await;
    let sets = env.add_sets(4);
    let pipeline = env.pipeline();
    assert!(pipeline.run_once().await.unwrap().all_final());
    let contours: Vec<Option<String>> = sets.iter().map(|s| env.beorg.contour_of(s)).collect();
    assert_eq!(
        contours,
        [
            "Кадры-Москва",
            "Кадры-Казань",
            "Кадры-Москва",
            "Кадры-Казань"
        ]
        .map(|c| Some(c.to_owned()))
    );
    assert_eq!(
        pipeline.store().start_id(&env.company()).await.unwrap(),
        Some(5)
    );
}

/// The late set with a restart in between: a new process on the same state
/// file resumes from the persisted watermark (held at N) and picks N up once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_set_survives_a_restart_in_between() {
    let env = Env::start().await;
    let (slow, quick) = {
        let (pipeline, slow, quick) = first_run(&env, env.config().build().unwrap()).await;
        assert_eq!(
            pipeline.store().start_id(&env.company()).await.unwrap(),
            slow.number()
        );
        (slow, quick)
    };
    // A new process: a new pipeline on the same file.
    let pipeline = env
        .builder(env.config().build().unwrap())
        .store(env.open_store().await)
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!((summary.seen, summary.sent), (1, 1), "{summary}");
    assert_eq!(status(&env, &pipeline, &slow).await, Some(SetStatus::Done));
    assert_eq!(status(&env, &pipeline, &quick).await, Some(SetStatus::Done));
    assert_eq!(env.send_count(), 2, "one send per set");
    assert_eq!(
        pipeline.store().start_id(&env.company()).await.unwrap(),
        Some(quick.number().unwrap() + 1)
    );
}
