//! The company / contour model of Beorg's letter: one company = one
//! `project_id` = one `start_id`; `ready` lists all its ready sets and is
//! authoritative; `by_project` only tells each set's contour. Every ready set is
//! processed exactly once whatever `by_project` says; the contour filter records
//! other contours' sets as skipped; per-contour routing; sets whose result is
//! final but unusable are held for review (or, under `BrokenPolicy::Fail`, fail
//! with a typed reason), sets never ready fail with a typed reason.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use beorg_client::{RecognitionResult, SetId};
use beorg_sandbox::{ByProjectShape, SandboxConfig as BeorgConfig, SetSpec};
use hr_docs_pipeline::store::{FailureKind, SetRecord, SetStatus, SkipReason, StateStore, Step};
use hr_docs_pipeline::{
    DefaultMapper, DocumentMapper, MappingContext, MappingError, ProgressKind, Replay,
    TemplateOverride,
};
use saby_client::Document;
use saby_sandbox::SandboxConfig as SabyConfig;
use time::OffsetDateTime;

use crate::common::Env;

const MOSCOW: &str = "Кадры-Москва";
const KAZAN: &str = "Кадры-Казань";

async fn two_contours(shape: ByProjectShape) -> Env {
    Env::start_with(
        BeorgConfig::default()
            .polls_until_ready(0)
            .by_project(shape),
        SabyConfig::default(),
    )
    .await
}

/// The default configuration on a two-contour company processes every ready
/// set once, with its contour — whatever shape `by_project` takes, or none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_config_processes_every_set_of_a_two_contour_company_once() {
    for shape in [
        ByProjectShape::MapOfNumbers,
        ByProjectShape::MapOfStrings,
        ByProjectShape::ListOfObjects,
        ByProjectShape::Absent,
    ] {
        let env = two_contours(shape).await;
        let sets = env.add_sets(4);
        let pipeline = env.pipeline();
        let summary = pipeline.run_once().await.unwrap();
        assert!(summary.all_final(), "{shape:?}: {summary}");
        assert_eq!(
            (summary.seen, summary.sent, summary.archived),
            (4, 4, 4),
            "{shape:?}"
        );
        assert_eq!(env.saby.document_count(), 4, "{shape:?}");
        assert_eq!(env.send_count(), 4, "{shape:?}: one send per set");
        let records = env.records(pipeline.store().as_ref()).await;
        assert_eq!(records.len(), 4);
        for (record, set) in records.iter().zip(&sets) {
            assert_eq!(&record.set_id, set);
            let expected = (shape != ByProjectShape::Absent)
                .then(|| env.beorg.contour_of(set))
                .flatten();
            assert_eq!(record.contour, expected, "{shape:?} {set}");
            // The id is derived from (company, set), whatever the contour.
            assert_eq!(
                record.document_id.as_deref(),
                Some(env.document_id(set).as_str())
            );
        }
        if shape != ByProjectShape::Absent {
            let per: Vec<(Option<&str>, u64)> = summary
                .by_contour
                .iter()
                .map(|(c, n)| (c.as_deref(), n.done))
                .collect();
            assert_eq!(per, [(Some(KAZAN), 2), (Some(MOSCOW), 2)], "{summary}");
        }
        assert_eq!(
            pipeline.store().start_id(&env.company()).await.unwrap(),
            Some(5)
        );

        // A second run sends nothing.
        let again = pipeline.run_once().await.unwrap();
        assert_eq!(
            (again.seen, again.written, again.sent),
            (0, 0, 0),
            "{again}"
        );
        assert_eq!(env.send_count(), 4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contour_filter_records_other_sets_as_skipped_and_passes_them() {
    let env = two_contours(ByProjectShape::MapOfNumbers).await;
    let sets = env.add_sets(4); // Москва, Казань, Москва, Казань
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let pipeline = env
        .builder(env.config().contours([MOSCOW]).build().unwrap())
        .on_progress(move |p| sink.lock().unwrap().push(p.clone()))
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(
        (summary.seen, summary.skipped, summary.archived),
        (2, 2, 2),
        "{summary}"
    );
    assert_eq!((summary.totals.done, summary.totals.skipped), (2, 2));
    assert!(summary.to_string().contains("2 skipped"), "{summary}");
    assert_eq!(env.saby.document_count(), 2);
    let store = pipeline.store();
    for (i, set) in sets.iter().enumerate() {
        let r = env.record(store.as_ref(), set).await;
        if i % 2 == 0 {
            assert_eq!(
                (r.status, r.contour.as_deref()),
                (SetStatus::Done, Some(MOSCOW))
            );
        } else {
            // Recorded, visible, never fetched or sent.
            assert_eq!(
                (r.status, r.step),
                (SetStatus::Skipped, Step::Seen),
                "{set}"
            );
            assert_eq!(r.skip, Some(SkipReason::ContourFiltered));
            assert_eq!(r.contour.as_deref(), Some(KAZAN));
            assert_eq!(r.document_id, None);
            assert!(env.saby.document(&env.document_id(set)).is_none());
        }
    }
    // Skipped sets are settled: the watermark passed them.
    assert_eq!(store.start_id(&env.company()).await.unwrap(), Some(5));
    let skipped: Vec<SetId> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.kind, ProgressKind::Skipped { .. }))
        .map(|e| e.set_id.clone())
        .collect();
    assert_eq!(skipped, [sets[1].clone(), sets[3].clone()]);
}

/// The first release's double send: contours configured as projects, and an
/// answer without `by_project`. Now each set is recorded once; with a filter
/// and no contour named, once as skipped — and an explicit replay processes it,
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_by_project_with_a_filter_records_each_set_once_and_sends_nothing_twice() {
    let env = two_contours(ByProjectShape::Absent).await;
    let sets = env.add_sets(3);
    let config = env.config().contours([MOSCOW, KAZAN]).build().unwrap();
    {
        let pipeline = env.builder(config.clone()).build().unwrap();
        let summary = pipeline.run_once().await.unwrap();
        assert_eq!(
            (summary.seen, summary.skipped, summary.sent),
            (0, 3, 0),
            "{summary}"
        );
        let records = env.records(pipeline.store().as_ref()).await;
        assert_eq!(records.len(), 3, "each set once");
        for r in &records {
            assert_eq!(
                (r.status, r.skip.clone()),
                (SetStatus::Skipped, Some(SkipReason::ContourUnknown))
            );
        }
        assert_eq!(env.saby.document_count(), 0);
        assert_eq!(
            pipeline.store().start_id(&env.company()).await.unwrap(),
            Some(4)
        );

        // Polling again records nothing new.
        let again = pipeline.run_once().await.unwrap();
        assert_eq!((again.seen, again.skipped), (0, 0), "{again}");

        // The operator decides one of them is ours after all.
        let replayed = pipeline
            .replay_failed(Replay::Sets(vec![sets[0].clone()]))
            .await
            .unwrap();
        assert_eq!(replayed.len(), 1);
        let summary = pipeline.run_once().await.unwrap();
        assert_eq!((summary.sent, summary.archived), (1, 1), "{summary}");
    }
    assert_eq!(env.saby.document_count(), 1);
    assert_eq!(env.send_count(), 1);
}

type Seen = Arc<Mutex<Vec<(SetId, Option<String>, String)>>>;

/// Records the set, contour and document type each mapping saw.
struct Recording(Seen);

#[async_trait]
impl DocumentMapper for Recording {
    async fn map(
        &self,
        ctx: &MappingContext<'_>,
        result: &RecognitionResult,
    ) -> Result<Document, MappingError> {
        self.0.lock().unwrap().push((
            ctx.set_id.clone(),
            ctx.contour.map(str::to_owned),
            ctx.template.doc_type.clone(),
        ));
        DefaultMapper::new().map(ctx, result).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_routed_per_contour() {
    let env = two_contours(ByProjectShape::MapOfNumbers).await;
    let sets = env.add_sets(2); // Москва, Казань
    let counterparty = saby_client::Party::legal_entity("1655000003", "165501001", "АО Казань");
    let config = env
        .config()
        .contour_template(
            KAZAN,
            TemplateOverride::new()
                .doc_type("ДокКадрКазань")
                .counterparty(counterparty.clone()),
        )
        .build()
        .unwrap();
    let recording: Seen = Arc::default();
    let pipeline = env
        .builder(config)
        .mapper(Recording(Arc::clone(&recording)))
        .build()
        .unwrap();
    assert!(pipeline.run_once().await.unwrap().all_final());
    let moscow = env.saby.document(&env.document_id(&sets[0])).unwrap();
    let kazan = env.saby.document(&env.document_id(&sets[1])).unwrap();
    assert_eq!(moscow.doc_type.as_deref(), Some("ДокОтгрИсх"));
    assert_eq!(kazan.doc_type.as_deref(), Some("ДокКадрКазань"));
    assert_eq!(
        kazan.counterparty.as_ref().and_then(|p| p.inn()),
        Some("1655000003")
    );
    assert_eq!(
        moscow.counterparty.as_ref().and_then(|p| p.inn()),
        Some("7707083893")
    );
    let mut seen = recording.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                sets[0].clone(),
                Some(MOSCOW.to_owned()),
                "ДокОтгрИсх".to_owned()
            ),
            (
                sets[1].clone(),
                Some(KAZAN.to_owned()),
                "ДокКадрКазань".to_owned()
            ),
        ]
    );
}

/// A result broken as a whole or without documents is a data problem: held for
/// review by default (the data checks' `result_broken` and `no_documents`
/// errors), never sent, and it does not hold the watermark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_or_empty_result_is_held_for_review_by_default() {
    let env = two_contours(ByProjectShape::MapOfNumbers).await;
    let broken = env.beorg.add_set(SetSpec::new().broken());
    let empty = env.beorg.add_set(SetSpec::new().empty());
    let fine = env.add_sets(1);
    let pipeline = env.pipeline();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(
        (summary.held, summary.failed, summary.archived),
        (2, 0, 1),
        "{summary}"
    );
    assert!(summary.all_settled() && !summary.all_final(), "{summary}");
    let store = pipeline.store();
    for (set, check) in [
        (
            &broken,
            hr_docs_pipeline::hr_docs_checks::Check::ResultBroken,
        ),
        (&empty, hr_docs_pipeline::hr_docs_checks::Check::NoDocuments),
    ] {
        let r = env.record(store.as_ref(), set).await;
        assert_eq!((r.status, r.step), (SetStatus::Held, Step::Seen));
        assert!(
            r.findings.iter().any(|f| f.check == check),
            "{:?}",
            r.findings
        );
        assert!(env.saby.document(&env.document_id(set.as_str())).is_none());
    }
    assert_eq!(
        store.start_id(&env.company()).await.unwrap(),
        Some(fine[0].number().unwrap() + 1)
    );
}

/// Under `BrokenPolicy::Fail` (and `no_documents` made fatal) the same sets
/// fail at once with their typed kinds, Beorg's reasons in the text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_or_empty_result_fails_with_its_typed_reason_when_the_policy_says_so() {
    use hr_docs_pipeline::hr_docs_checks::{BrokenPolicy, Check, Policy, Severity};

    let env = two_contours(ByProjectShape::MapOfNumbers).await;
    let broken = env.beorg.add_set(SetSpec::new().broken());
    let empty = env.beorg.add_set(SetSpec::new().empty());
    let fine = env.add_sets(1);
    let policy = Policy::builder()
        .broken(BrokenPolicy::Fail)
        .severity(Check::NoDocuments, Severity::Fatal)
        .build()
        .unwrap();
    let pipeline = env
        .builder(env.config().checks(policy).build().unwrap())
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(
        summary.stop,
        hr_docs_pipeline::StopReason::Drained,
        "{summary}"
    );
    assert_eq!(
        (summary.failed, summary.archived, summary.retries),
        (2, 1, 0),
        "{summary}"
    );
    let store = pipeline.store();
    for (set, kind) in [
        (&broken, FailureKind::SetBroken),
        (&empty, FailureKind::NoDocuments),
    ] {
        let r = env.record(store.as_ref(), set).await;
        assert_eq!(r.status, SetStatus::Failed);
        let failure = r.failure.unwrap();
        assert_eq!((failure.step, failure.kind.clone()), (Step::Fetched, kind));
        assert!(failure.kind.is_data_problem());
        assert!(env.saby.document(&env.document_id(set.as_str())).is_none());
    }
    // Beorg's free-text reasons are counted, not quoted (issue 9): the reason
    // is stored, logged and reported.
    let reason = env
        .record(store.as_ref(), &broken)
        .await
        .failure
        .unwrap()
        .reason;
    assert_eq!(reason, "Beorg marked the whole set broken (1 reason)");
    assert_eq!(env.saby.document_count(), 1);
    // Failed sets are settled: nothing holds the watermark.
    assert_eq!(
        store.start_id(&env.company()).await.unwrap(),
        Some(fine[0].number().unwrap() + 1)
    );
}

/// A set Beorg lists but never finishes fails after `not_ready_timeout` from
/// its first sighting (here: first seen 25 hours ago, the default 24 h limit),
/// and stops holding the watermark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_never_ready_fails_once_the_not_ready_timeout_is_over() {
    let env = two_contours(ByProjectShape::MapOfNumbers).await;
    let stuck = env.beorg.add_set(SetSpec::new().never_ready());
    let fine = env.add_sets(1);
    {
        // As if a poll had listed it 25 hours ago.
        let store = env.open_store().await;
        store.init_company(&env.company(), 1).await.unwrap();
        let long_ago = OffsetDateTime::now_utc() - time::Duration::hours(25);
        store
            .insert_new(&[SetRecord::seen_at(env.company(), stuck.clone(), long_ago)
                .with_contour(env.beorg.contour_of(&stuck))])
            .await
            .unwrap();
    }
    let pipeline = env.pipeline();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(
        summary.stop,
        hr_docs_pipeline::StopReason::Drained,
        "{summary}"
    );
    assert_eq!((summary.failed, summary.archived), (1, 1), "{summary}");
    let r = env.record(pipeline.store().as_ref(), &stuck).await;
    let failure = r.failure.unwrap();
    assert_eq!(
        (failure.step, failure.kind),
        (Step::Fetched, FailureKind::NotReadyExpired)
    );
    assert_eq!(
        pipeline.store().start_id(&env.company()).await.unwrap(),
        Some(fine[0].number().unwrap() + 1)
    );
}

/// With a tiny timeout configured, a set listed just now also expires (through
/// the normal flow: seen, then 425 on every fetch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_not_ready_timeout_is_configurable() {
    let env = two_contours(ByProjectShape::MapOfNumbers).await;
    let stuck = env.beorg.add_set(SetSpec::new().never_ready());
    let config = env
        .config()
        .not_ready_timeout(Duration::from_millis(1))
        .build()
        .unwrap();
    let pipeline = env.builder(config).build().unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(summary.failed, 1, "{summary}");
    let r = env.record(pipeline.store().as_ref(), &stuck).await;
    assert_eq!(r.failure.unwrap().kind, FailureKind::NotReadyExpired);
    assert_eq!(env.saby.document_count(), 0);
}
