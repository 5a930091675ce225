//! Doing less per set without losing a guarantee (issue 11): at most one document read
//! per set (the guard before the write, only where the state cannot answer it), no read
//! before the send of a document this task just wrote, one download for the whole archive
//! (the document's zip), and back-pressure on Beorg polling that still drains everything.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::{Env, archived_zip};
use hr_docs_pipeline::store::{SetStatus, StateStore as _};
use hr_docs_pipeline::{ProgressKind, StopReason};

const READ: &str = "СБИС.ПрочитатьДокумент";
const WRITE: &str = "СБИС.ЗаписатьДокумент";
const PREPARE: &str = "СБИС.ПодготовитьДействие";
const EXECUTE: &str = "СБИС.ВыполнитьДействие";

/// Per set: the write, Prepare + Execute, the guard read (the state cannot vouch for a set
/// that was ready before this run's first Beorg answer: a lost state file looks the same)
/// and one download — the document's zip, which holds every attachment, every signature and
/// Saby's receipts. The zip kept is the one Saby serves, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_costs_one_read_at_most_and_one_download_for_its_archive() {
    let env = Env::start().await;
    let sets = env.add_sets(5);
    // Only the feed can bring the final state: no periodic re-read within the run.
    let config = env
        .config()
        .recheck_interval(Duration::from_secs(120))
        .final_state_deadline(Duration::from_secs(120))
        .build()
        .unwrap();
    let pipeline = env.builder(config).build().unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(summary.stop, StopReason::Drained, "{summary}");
    assert!(summary.all_final(), "{summary}");
    assert_eq!(summary.archived, 5, "{summary}");
    assert_eq!(env.send_count(), 5, "one send per set");

    let n = sets.len();
    assert_eq!(env.saby.method_call_count(READ), n, "the guard read only");
    assert_eq!(env.saby.method_call_count(WRITE), n);
    assert_eq!(env.saby.method_call_count(PREPARE), n);
    assert_eq!(env.saby.method_call_count(EXECUTE), n);
    assert_eq!(env.saby.download_count(), n, "one zip per set");
    assert_eq!(env.beorg.result_requests(), n as u64);

    // What was archived is the document's zip as Saby serves it, and it holds every
    // attachment of the document with each of its signatures.
    let client = env.saby.client();
    for set_id in &sets {
        let doc = client
            .read_document(&env.document_id(set_id))
            .await
            .unwrap();
        let served = client
            .download(doc.archive_url.as_deref().unwrap())
            .await
            .unwrap();
        let zip_path = std::fs::read_dir(env.archive_of(set_id))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "zip"))
            .unwrap();
        assert!(
            std::fs::read(&zip_path).unwrap() == served,
            "{set_id}: the zip kept is the zip served"
        );
        let entries = archived_zip(&env, set_id);
        let live = doc.attachments.iter().filter(|a| a.deleted != Some(true));
        let files: usize = live.map(|a| 1 + a.signatures.len()).sum();
        assert_eq!(entries.len(), files, "{set_id}: {:?}", entries.keys());
        for a in doc.attachments.iter().filter(|a| a.deleted != Some(true)) {
            let name = a.file_name().unwrap();
            let bytes = client.download(a.url().unwrap()).await.unwrap();
            assert!(
                entries
                    .iter()
                    .any(|(n, b)| n.ends_with(name) && *b == bytes),
                "{set_id}: an attachment is in the zip"
            );
            assert!(!a.signatures.is_empty());
        }
        assert!(
            entries.keys().any(|n| n.ends_with(".p7s")),
            "{set_id}: signatures"
        );
        assert!(
            entries.keys().any(|n| n.starts_with("Служебные/")),
            "{set_id}: Saby's receipt"
        );
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(env.archive_of(set_id).join("manifest.json")).unwrap(),
        )
        .unwrap();
        let zip_name = zip_path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            manifest["files"][zip_name.as_str()]["entries"]
                .as_array()
                .unwrap()
                .len(),
            files
        );
    }
}

/// A set Beorg lists only after an earlier answer of the same run did not (it became ready
/// while this process was polling) cannot have been written by anyone else: it costs no
/// read at all. The sets of the first answer still get the guard read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_that_becomes_ready_during_the_run_costs_no_read() {
    let env = Arc::new(Env::start().await);
    env.add_sets(2);
    let added = Arc::new(AtomicBool::new(false));
    let on_progress = {
        let env = Arc::clone(&env);
        let added = Arc::clone(&added);
        move |p: &hr_docs_pipeline::Progress| {
            if matches!(p.kind, ProgressKind::Seen) && !added.swap(true, Ordering::SeqCst) {
                env.add_sets(3);
            }
        }
    };
    let pipeline = env
        .builder(env.config().build().unwrap())
        .on_progress(on_progress)
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!((summary.seen, summary.archived), (5, 5), "{summary}");
    assert_eq!(env.send_count(), 5);
    assert_eq!(
        env.saby.method_call_count(READ),
        2,
        "only the two sets of the first answer are read before their write"
    );
    assert_eq!(env.saby.method_call_count(WRITE), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_pressure_skips_polls_but_drains_every_set() {
    let env = Arc::new(Env::start().await);
    env.add_sets(5);
    // More sets become ready while the first poll's sets fill the window: the
    // polls skipped for back-pressure are made up before run_once drains.
    let added = Arc::new(AtomicBool::new(false));
    let on_progress = {
        let env = Arc::clone(&env);
        let added = Arc::clone(&added);
        move |p: &hr_docs_pipeline::Progress| {
            if matches!(p.kind, ProgressKind::Seen) && !added.swap(true, Ordering::SeqCst) {
                env.add_sets(3);
            }
        }
    };
    let config = env.config().max_in_flight(2).build().unwrap();
    let pipeline = env
        .builder(config)
        .on_progress(on_progress)
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();

    assert_eq!(summary.stop, StopReason::Drained, "{summary}");
    assert!(summary.all_final(), "{summary}");
    assert_eq!((summary.seen, summary.archived), (8, 8), "{summary}");
    assert_eq!(env.send_count(), 8, "each set sent exactly once");
    let records = env.records(pipeline.store().as_ref()).await;
    assert_eq!(records.len(), 8);
    assert!(records.iter().all(|r| r.status == SetStatus::Done));
    assert_eq!(
        pipeline
            .store()
            .pending_count(&env.company())
            .await
            .unwrap(),
        0
    );
    // The watermark moved past every set.
    assert_eq!(
        pipeline.store().start_id(&env.company()).await.unwrap(),
        Some(9)
    );
}

/// A store that holds back the recording of every chunk of a Beorg answer after the first
/// until some set has progressed (its first save): a pipeline that recorded the whole
/// answer before starting any set would wait here until the gate gives up.
#[derive(Debug, Default)]
struct RecordGate {
    inner: hr_docs_pipeline::store::MemoryStore,
    inserts: std::sync::atomic::AtomicUsize,
    progressed: AtomicBool,
    opened: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl hr_docs_pipeline::store::StateStore for RecordGate {
    async fn init_company(
        &self,
        company: &str,
        initial: u64,
    ) -> Result<u64, hr_docs_pipeline::StoreError> {
        self.inner.init_company(company, initial).await
    }
    async fn start_id(&self, company: &str) -> Result<Option<u64>, hr_docs_pipeline::StoreError> {
        self.inner.start_id(company).await
    }
    async fn compare_and_set_start_id(
        &self,
        company: &str,
        expected: u64,
        new: u64,
    ) -> Result<bool, hr_docs_pipeline::StoreError> {
        self.inner
            .compare_and_set_start_id(company, expected, new)
            .await
    }
    async fn insert_new(
        &self,
        records: &[hr_docs_pipeline::store::SetRecord],
    ) -> Result<Vec<beorg_client::SetId>, hr_docs_pipeline::StoreError> {
        if self.inserts.fetch_add(1, Ordering::SeqCst) > 0
            && !self.progressed.load(Ordering::SeqCst)
        {
            let opened = self.opened.notified();
            if !self.progressed.load(Ordering::SeqCst)
                && tokio::time::timeout(Duration::from_secs(10), opened)
                    .await
                    .is_err()
            {
                return Err(hr_docs_pipeline::StoreError::other(
                    "no set progressed while the answer was being recorded",
                ));
            }
        }
        self.inner.insert_new(records).await
    }
    async fn save(
        &self,
        record: &hr_docs_pipeline::store::SetRecord,
    ) -> Result<(), hr_docs_pipeline::StoreError> {
        self.inner.save(record).await?;
        self.progressed.store(true, Ordering::SeqCst);
        self.opened.notify_waiters();
        Ok(())
    }
    async fn get(
        &self,
        company: &str,
        set_id: &beorg_client::SetId,
    ) -> Result<Option<hr_docs_pipeline::store::SetRecord>, hr_docs_pipeline::StoreError> {
        self.inner.get(company, set_id).await
    }
    async fn list(
        &self,
        company: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &beorg_client::SetId)>,
        limit: usize,
    ) -> Result<Vec<hr_docs_pipeline::store::SetRecord>, hr_docs_pipeline::StoreError> {
        self.inner.list(company, status, after, limit).await
    }
    async fn window(
        &self,
        company: &str,
        from: u64,
    ) -> Result<Vec<hr_docs_pipeline::store::WindowEntry>, hr_docs_pipeline::StoreError> {
        self.inner.window(company, from).await
    }
    async fn contour_counts(
        &self,
        company: &str,
    ) -> Result<
        Vec<(Option<String>, hr_docs_pipeline::store::StatusCounts)>,
        hr_docs_pipeline::StoreError,
    > {
        self.inner.contour_counts(company).await
    }
    async fn event_cursor(
        &self,
        scope: &str,
    ) -> Result<Option<String>, hr_docs_pipeline::StoreError> {
        self.inner.event_cursor(scope).await
    }
    async fn set_event_cursor(
        &self,
        scope: &str,
        cursor: &str,
    ) -> Result<(), hr_docs_pipeline::StoreError> {
        self.inner.set_event_cursor(scope, cursor).await
    }
}

/// A long first answer (a backlog: more sets than one recording chunk) does not wait to be
/// recorded whole: the first sets are written while the rest is still being recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_starts_moving_before_it_is_all_recorded() {
    let env = Env::start().await;
    let numbers = env.beorg.add_ready_sets(2_500);
    let store = Arc::new(RecordGate::default());
    // Counted by the progress callback, which sees every event (a `subscribe` receiver may
    // lag behind 2,500 `Seen` events and drop some, and then never see the stop condition).
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let all_seen_then_sent = Arc::new(tokio::sync::Notify::new());
    let on_progress = {
        let (seen, done) = (Arc::clone(&seen), Arc::clone(&all_seen_then_sent));
        move |p: &hr_docs_pipeline::Progress| match p.kind {
            ProgressKind::Seen => {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            ProgressKind::Sent { .. } if seen.load(Ordering::SeqCst) == 2_500 => {
                done.notify_one();
            }
            _ => {}
        }
    };
    let pipeline = env
        .builder(env.config().build().unwrap())
        .store(Arc::clone(&store))
        .on_progress(on_progress)
        .build()
        .unwrap();
    let summary = pipeline
        .run_once_until(async move { all_seen_then_sent.notified().await })
        .await
        .unwrap();
    assert_eq!(summary.seen, 2_500, "{summary}");
    assert!(summary.sent >= 1, "{summary}");
    assert!(
        store.inserts.load(Ordering::SeqCst) >= 3,
        "recorded in chunks"
    );
    assert_eq!(
        store.counts(&env.company()).await.unwrap().total(),
        numbers.count() as u64
    );
}

/// With a backlog, the API permits go to a few sets at a time, each taken through to its
/// send, instead of round-robin over every set in flight: when the first set is sent, at
/// most twice `concurrency` results were fetched (without the bound, every one of the
/// `max_in_flight` sets would be fetched before any was sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_backlog_the_first_send_comes_after_a_few_fetches() {
    let env = Arc::new(Env::start().await);
    env.beorg.add_ready_sets(300);
    let at_first_send = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let on_progress = {
        let env = Arc::clone(&env);
        let at_first_send = Arc::clone(&at_first_send);
        move |p: &hr_docs_pipeline::Progress| {
            if matches!(p.kind, ProgressKind::Sent { .. }) {
                let fetched = env.beorg.result_requests();
                let _ = at_first_send.compare_exchange(
                    u64::MAX,
                    fetched,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
            }
        }
    };
    let config = env
        .config()
        .concurrency(2)
        .max_in_flight(256)
        .build()
        .unwrap();
    let pipeline = env
        .builder(config)
        .on_progress(on_progress)
        .build()
        .unwrap();
    let sent = Arc::clone(&at_first_send);
    let summary = pipeline
        .run_once_until(async move {
            while sent.load(Ordering::SeqCst) == u64::MAX {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
    let fetched = at_first_send.load(Ordering::SeqCst);
    assert!(summary.sent >= 1, "{summary}");
    assert!(
        fetched <= 4,
        "{fetched} results fetched before the first send (bound: 2 x concurrency 2)"
    );
}
