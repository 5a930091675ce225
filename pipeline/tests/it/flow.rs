//! The whole flow on both sandboxes: every set final, exactly once, failures
//! isolated, replay, deadlines, contours, progress, cancellation.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::Env;
use async_trait::async_trait;
use beorg_client::{RecognitionResult, SetId};
use beorg_sandbox::SetSpec;
use hr_docs_pipeline::store::{FailureKind, SetRecord, SetStatus, StateStore, Step};
use hr_docs_pipeline::{
    DefaultMapper, DocumentMapper, Error, MappingContext, MappingError, ProgressKind, Replay,
    StopReason, StoreError,
};
use saby_client::{Document, StateCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_set_reaches_a_final_state_once() {
    let env = Env::start().await;
    let sets = env.add_sets(6);
    let pipeline = env.pipeline();
    let summary = pipeline.run_once().await.unwrap();

    assert_eq!(summary.stop, StopReason::Drained, "{summary}");
    assert!(summary.all_final(), "{summary}");
    assert_eq!(
        (
            summary.seen,
            summary.written,
            summary.sent,
            summary.archived
        ),
        (6, 6, 6, 6)
    );
    assert_eq!(env.saby.document_count(), 6);
    assert_eq!(env.send_count(), 6);

    let records = env.records(pipeline.store().as_ref()).await;
    assert_eq!(records.len(), 6);
    for (record, (set_id, surname)) in records.iter().zip(sets.iter().zip(crate::common::SURNAMES))
    {
        assert_eq!(&record.set_id, set_id);
        assert_eq!(record.status, SetStatus::Done);
        assert_eq!(record.step, Step::Archived);
        let state = record.final_state.as_ref().expect("final state recorded");
        assert!(
            pipeline
                .config()
                .is_final(&StateCode::from_code(&state.code)),
            "{state}"
        );

        // The deterministic id, and the attachments named from FileName.
        let document_id = env.document_id(set_id);
        assert_eq!(record.document_id.as_deref(), Some(document_id.as_str()));
        let doc = env.saby.document(&document_id).expect("document in Saby");
        let names: Vec<&str> = doc
            .attachments
            .iter()
            .filter_map(|a| a.file_name())
            .filter(|n| n.ends_with(".json"))
            .collect();
        assert!(
            names.contains(&format!("Паспорт_{surname}.json").as_str()),
            "{names:?}"
        );
        assert!(
            names.contains(&format!("beorg_result_{set_id}.json").as_str()),
            "{names:?}"
        );
        assert_eq!(names.len(), 3, "passport, SNILS, whole result: {names:?}");

        // The archive directory holds the company: <archive>/<company>/<set>/.
        let archived = std::fs::read_dir(env.archive_of(set_id)).unwrap().count();
        assert!(archived > 0, "nothing archived for {set_id}");
    }
    // Everything settled: Beorg polling moves past the last set.
    let start = pipeline.store().start_id(&env.company()).await.unwrap();
    assert_eq!(start, Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_finished_state_sends_nothing() {
    let env = Env::start().await;
    env.add_sets(3);
    {
        let first = env.pipeline();
        assert!(first.run_once().await.unwrap().all_final());
    }
    assert_eq!(env.send_count(), 3);

    // A new process on the same state file and the same services.
    let store = env.open_store().await;
    let second = env
        .builder(env.config().build().unwrap())
        .store(store)
        .build()
        .unwrap();
    let summary = second.run_once().await.unwrap();
    assert_eq!(
        (
            summary.seen,
            summary.written,
            summary.sent,
            summary.already_sent
        ),
        (0, 0, 0, 0),
        "{summary}"
    );
    assert!(summary.all_final());
    assert_eq!(env.saby.document_count(), 3);
    assert_eq!(env.send_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_pipeline_on_the_same_state_file_is_refused() {
    let env = Env::start().await;
    let _first = env.pipeline();
    let err = env
        .builder(env.config().build().unwrap())
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Locked { .. })),
        "{err:?}"
    );
}

/// Fails the set whose id is given; maps the others with the default mapper.
struct FailsFor(SetId);

#[async_trait]
impl DocumentMapper for FailsFor {
    async fn map(
        &self,
        ctx: &MappingContext<'_>,
        result: &RecognitionResult,
    ) -> Result<Document, MappingError> {
        if *ctx.set_id == self.0 {
            return Err(MappingError::custom(
                "the passport number does not match the SNILS",
            ));
        }
        DefaultMapper::new().map(ctx, result).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanently_bad_set_is_recorded_and_does_not_block_the_others() {
    let env = Env::start().await;
    let sets = env.add_sets(4);
    let bad = sets[1].clone();
    {
        let pipeline = env
            .builder(env.config().build().unwrap())
            .mapper(FailsFor(bad.clone()))
            .build()
            .unwrap();
        let summary = pipeline.run_once().await.unwrap();
        assert_eq!(summary.stop, StopReason::Drained);
        assert_eq!((summary.archived, summary.failed), (3, 1), "{summary}");
        assert!(!summary.all_final());

        let record = env.record(pipeline.store().as_ref(), &bad).await;
        assert_eq!(record.status, SetStatus::Failed);
        let failure = record.failure.unwrap();
        assert_eq!(
            (failure.step, failure.kind),
            (Step::Fetched, FailureKind::Mapping)
        );
        assert!(
            failure.reason.contains("does not match the SNILS"),
            "{}",
            failure.reason
        );
        // Recorded failures are settled: the watermark is past every set.
        assert_eq!(
            pipeline.store().start_id(&env.company()).await.unwrap(),
            Some(5)
        );
        assert_eq!(env.saby.document_count(), 3);
    }

    // The cause is fixed (default mapper); replay the failed set.
    let store = env.open_store().await;
    let pipeline = env
        .builder(env.config().build().unwrap())
        .store(store)
        .build()
        .unwrap();
    let replayed = pipeline.replay_failed(Replay::All).await.unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].set_id, bad);
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!((summary.archived, summary.sent), (1, 1));
    assert_eq!(env.saby.document_count(), 4);
    assert_eq!(env.send_count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_past_its_deadline_fails_and_replays_without_resending() {
    let env = Env::start().await;
    env.add_sets(2);
    {
        // Only "annulled" counts as final: the sandbox never gets there.
        let config = env
            .config()
            .final_states([StateCode::Annulled])
            .final_state_deadline(Duration::from_millis(300))
            .recheck_interval(Duration::from_millis(100))
            .build()
            .unwrap();
        let pipeline = env.builder(config).build().unwrap();
        let summary = pipeline.run_once().await.unwrap();
        assert_eq!(summary.failed, 2, "{summary}");
        for record in env.records(pipeline.store().as_ref()).await {
            assert_eq!(record.status, SetStatus::Failed);
            let failure = record.failure.unwrap();
            assert_eq!(failure.step, Step::Final);
            assert_eq!(failure.kind, FailureKind::FinalStateTimedOut);
        }
    }
    assert_eq!(env.send_count(), 2);

    let store = env.open_store().await;
    let pipeline = env
        .builder(env.config().build().unwrap())
        .store(store)
        .build()
        .unwrap();
    assert_eq!(pipeline.replay_failed(Replay::All).await.unwrap().len(), 2);
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(
        summary.sent, 0,
        "a replayed set waiting for its final state is not sent again"
    );
    assert_eq!(env.send_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_events_follow_the_steps_in_order() {
    let env = Env::start().await;
    let sets = env.add_sets(2);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let pipeline = env
        .builder(env.config().build().unwrap())
        .on_progress(move |p| sink.lock().unwrap().push(p.clone()))
        .build()
        .unwrap();
    let mut rx = pipeline.subscribe();
    assert!(pipeline.run_once().await.unwrap().all_final());

    let events = seen.lock().unwrap().clone();
    for set_id in &sets {
        let kinds: Vec<&str> = events
            .iter()
            .filter(|e| e.set_id() == set_id)
            .map(|e| match &e.kind {
                ProgressKind::Seen => "seen",
                ProgressKind::Fetched { .. } => "fetched",
                ProgressKind::Written { .. } => "written",
                ProgressKind::Sent {
                    already_sent: false,
                    ..
                } => "sent",
                ProgressKind::Final { .. } => "final",
                ProgressKind::Archived { .. } => "archived",
                _ => "other",
            })
            .filter(|k| *k != "other")
            .collect();
        assert_eq!(
            kinds,
            ["seen", "fetched", "written", "sent", "final", "archived"],
            "{set_id}"
        );
        // Every event names the company and the set's contour.
        let contour = env.beorg.contour_of(set_id);
        for e in events.iter().filter(|e| e.set_id() == set_id) {
            assert_eq!(e.company, env.company());
            assert_eq!(e.contour, contour, "{e:?}");
        }
        // Fetched tells the document types, never a file name made from a surname.
        let fetched = events
            .iter()
            .find(|e| e.set_id() == set_id && matches!(e.kind, ProgressKind::Fetched { .. }))
            .unwrap();
        let ProgressKind::Fetched {
            document_types,
            attachments,
        } = &fetched.kind
        else {
            unreachable!()
        };
        assert_eq!(
            document_types,
            &[
                beorg_client::DocumentType::Passport,
                beorg_client::DocumentType::Snils
            ]
        );
        assert_eq!(*attachments, 3);
        assert!(
            !format!("{events:?}").contains("Паспорт_"),
            "a FileName leaked into events"
        );
    }
    // The broadcast subscription saw the same events.
    let mut broadcast = Vec::new();
    while let Ok(e) = rx.try_recv() {
        broadcast.push(e);
    }
    assert_eq!(broadcast, events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_polls_until_cancelled_and_picks_up_new_sets() {
    let env = Env::start().await;
    env.add_sets(2);
    let pipeline = env.pipeline();
    let mut rx = pipeline.subscribe();
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let pipeline = pipeline.clone();
        async move {
            pipeline
                .run_until(async {
                    let _ = cancelled.await;
                })
                .await
        }
    });
    let mut archived = 0;
    while archived < 2 {
        if let ProgressKind::Archived { .. } = rx.recv().await.unwrap().kind {
            archived += 1;
        }
    }
    // A set that becomes ready while running is picked up by the next poll.
    env.add_sets(1);
    while archived < 3 {
        if let ProgressKind::Archived { .. } = rx.recv().await.unwrap().kind {
            archived += 1;
        }
    }
    cancel.send(()).unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.stop, StopReason::Cancelled);
    assert_eq!(summary.archived, 3);
    assert!(summary.all_final());
    assert_eq!(env.send_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_while_waiting_for_final_states_checkpoints_at_sent() {
    let env = Env::start().await;
    env.add_sets(3);
    {
        // Nothing is final: every set ends up waiting at "sent".
        let config = env
            .config()
            .final_states([StateCode::Annulled])
            .build()
            .unwrap();
        let pipeline = env.builder(config).build().unwrap();
        let mut rx = pipeline.subscribe();
        let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn({
            let pipeline = pipeline.clone();
            async move {
                pipeline
                    .run_until(async {
                        let _ = cancelled.await;
                    })
                    .await
            }
        });
        let mut sent = 0;
        while sent < 3 {
            if let ProgressKind::Sent { .. } = rx.recv().await.unwrap().kind {
                sent += 1;
            }
        }
        cancel.send(()).unwrap();
        let summary = running.await.unwrap().unwrap();
        assert_eq!(summary.stop, StopReason::Cancelled);
        assert_eq!(summary.totals.pending, 3);
        for r in env.records(pipeline.store().as_ref()).await {
            assert_eq!((r.status, r.step), (SetStatus::Pending, Step::Sent));
        }
    }
    // Resumed with the normal final states: finished without sending again.
    let store = env.open_store().await;
    let pipeline = env
        .builder(env.config().build().unwrap())
        .store(store)
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(summary.sent, 0);
    assert_eq!(env.send_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_beorg_token_stops_the_run_with_a_typed_error() {
    let env = Env::start().await;
    env.add_sets(1);
    let beorg = env
        .beorg
        .client_builder()
        .token("not-the-token")
        .build()
        .unwrap();
    let pipeline = hr_docs_pipeline::Pipeline::builder(
        env.config().build().unwrap(),
        beorg,
        env.saby.client(),
    )
    .build()
    .unwrap();
    let err = pipeline.run_once().await.unwrap_err();
    assert!(matches!(err, Error::Beorg(_)), "{err:?}");
    assert!(err.is_auth(), "{err:?}");
    assert!(
        !format!("{err:?}").contains("not-the-token"),
        "the token leaked: {err:?}"
    );
    assert_eq!(env.saby.document_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_still_being_recognized_stays_pending_until_ready() {
    let env = Env::start().await;
    let slow = env
        .beorg
        .add_set(SetSpec::new().surname("Волков").polls_until_ready(3));
    env.sets.lock().unwrap().push(slow.clone());
    {
        // As if an earlier poll had listed it: its result still answers 425.
        let store = env.open_store().await;
        store.init_company(&env.company(), 1).await.unwrap();
        store
            .insert_new(&[SetRecord::seen(env.company(), slow.clone())])
            .await
            .unwrap();
    }
    let pipeline = env.pipeline();
    let mut rx = pipeline.subscribe();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(
        (summary.failed, summary.retries),
        (0, 0),
        "425 is neither a failure nor a retry"
    );
    let mut not_ready = 0;
    while let Ok(e) = rx.try_recv() {
        if matches!(e.kind, ProgressKind::NotReady) {
            not_ready += 1;
        }
    }
    assert!(not_ready >= 1, "the 425 answers were seen");
    let record = env.record(pipeline.store().as_ref(), &slow).await;
    assert_eq!((record.status, record.attempts), (SetStatus::Done, 0));
    assert_eq!(env.send_count(), 1);
}

/// The in-memory store carries the whole flow (and writes no state file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_store_runs_the_whole_flow() {
    let env = Env::start().await;
    env.add_sets(3);
    let store = std::sync::Arc::new(hr_docs_pipeline::store::MemoryStore::new());
    let pipeline = env
        .builder(env.config().build().unwrap())
        .store(std::sync::Arc::clone(&store))
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!((summary.sent, summary.archived), (3, 3));
    assert_eq!(env.send_count(), 3);
    assert_eq!(store.counts(&env.company()).await.unwrap().done, 3);
    assert_eq!(store.start_id(&env.company()).await.unwrap(), Some(4));
    assert!(!env.state_path().exists(), "no state file");
    // A second run on the same store sends nothing.
    let again = pipeline.run_once().await.unwrap();
    assert_eq!((again.seen, again.sent), (0, 0), "{again}");
}
