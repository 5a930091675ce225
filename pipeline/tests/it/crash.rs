//! Crash safety: a crash after any step (the API call made, its record not
//! written), a run killed after any Saby request (the request served, its
//! answer never read), or a run dropped mid-flight, then a new pipeline on the
//! same SQLite file, yields exactly one Saby document and one send per set —
//! including on the fast path of issue 11: no guard read for a set that became
//! ready during the run, no read before sending a document the task just wrote.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::Env;
use async_trait::async_trait;
use beorg_client::SetId;
use hr_docs_pipeline::StoreError;
use hr_docs_pipeline::store::{
    SetRecord, SetStatus, SqliteStore, StateStore, StatusCounts, Step, WindowEntry,
};

/// A store that "crashes" the first time it is asked to record `step`: the
/// write is not persisted and an error stops the run, as if the process died
/// right after the API call of that step.
#[derive(Debug)]
struct CrashAfter {
    inner: SqliteStore,
    step: Step,
    crashed: AtomicBool,
}

impl CrashAfter {
    fn crash(&self) -> Result<(), StoreError> {
        if self.crashed.swap(true, Ordering::SeqCst) {
            Ok(())
        } else {
            Err(StoreError::other(format!(
                "simulated crash after step {}",
                self.step
            )))
        }
    }
}

#[async_trait]
impl StateStore for CrashAfter {
    async fn init_company(&self, company: &str, initial: u64) -> Result<u64, StoreError> {
        self.inner.init_company(company, initial).await
    }
    async fn start_id(&self, company: &str) -> Result<Option<u64>, StoreError> {
        self.inner.start_id(company).await
    }
    async fn compare_and_set_start_id(
        &self,
        company: &str,
        expected: u64,
        new: u64,
    ) -> Result<bool, StoreError> {
        self.inner
            .compare_and_set_start_id(company, expected, new)
            .await
    }
    async fn insert_new(&self, records: &[SetRecord]) -> Result<Vec<SetId>, StoreError> {
        if self.step == Step::Seen {
            self.crash()?;
        }
        self.inner.insert_new(records).await
    }
    async fn save(&self, record: &SetRecord) -> Result<(), StoreError> {
        if record.step == self.step && record.status != SetStatus::Failed {
            self.crash()?;
        }
        self.inner.save(record).await
    }
    async fn get(&self, company: &str, set_id: &SetId) -> Result<Option<SetRecord>, StoreError> {
        self.inner.get(company, set_id).await
    }
    async fn list(
        &self,
        company: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &SetId)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError> {
        self.inner.list(company, status, after, limit).await
    }
    async fn window(&self, company: &str, from: u64) -> Result<Vec<WindowEntry>, StoreError> {
        self.inner.window(company, from).await
    }
    async fn contour_counts(
        &self,
        company: &str,
    ) -> Result<Vec<(Option<String>, StatusCounts)>, StoreError> {
        self.inner.contour_counts(company).await
    }
    async fn event_cursor(&self, scope: &str) -> Result<Option<String>, StoreError> {
        self.inner.event_cursor(scope).await
    }
    async fn set_event_cursor(&self, scope: &str, cursor: &str) -> Result<(), StoreError> {
        self.inner.set_event_cursor(scope, cursor).await
    }
}

const SETS: usize = 3;

async fn restart_and_finish(env: &Env) -> hr_docs_pipeline::Summary {
    restart_and_finish_sets(env, SETS).await
}

async fn restart_and_finish_sets(env: &Env, sets: usize) -> hr_docs_pipeline::Summary {
    let store = env.open_store().await;
    let pipeline = env
        .builder(env.config().build().unwrap())
        .store(store)
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(summary.totals.done, sets as u64, "{summary}");
    assert_eq!(env.saby.document_count(), sets, "one Saby document per set");
    assert_eq!(env.send_count(), sets, "one send per set");
    for record in env.records(pipeline.store().as_ref()).await {
        let doc = env
            .saby
            .document(record.document_id.as_deref().unwrap())
            .unwrap();
        // Ours are the .json files (Saby adds service files such as receipts).
        let ours: Vec<&str> = doc
            .attachments
            .iter()
            .filter_map(|a| a.file_name())
            .filter(|n| n.ends_with(".json"))
            .collect();
        assert_eq!(
            ours.len(),
            3,
            "attachments replaced, not duplicated: {ours:?}"
        );
    }
    summary
}

async fn crash_after(step: Step) {
    let env = Env::start().await;
    env.add_sets(SETS);
    {
        let store = CrashAfter {
            inner: SqliteStore::open(env.state_path()).unwrap(),
            step,
            crashed: AtomicBool::new(false),
        };
        let pipeline = env
            .builder(env.config().build().unwrap())
            .store(store)
            .build()
            .unwrap();
        let err = pipeline.run_once().await.unwrap_err();
        assert!(err.to_string().contains("simulated crash"), "{err}");
    }
    let summary = restart_and_finish(&env).await;
    match step {
        // Nothing was recorded: every set is seen again on restart.
        Step::Seen => assert_eq!(summary.seen, SETS as u64, "{summary}"),
        // The set whose "sent" was lost is found sent and not sent again.
        Step::Sent => assert!(summary.already_sent >= 1, "{summary}"),
        // The set whose "written" was lost is written again (same document).
        Step::Written => assert!(summary.written >= 1, "{summary}"),
        _ => assert!(summary.archived >= 1, "{summary}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_seen() {
    crash_after(Step::Seen).await;
}

/// "Fetched" is not persisted (the mapped document never is): a crash between the
/// fetch and the write leaves the set at "seen", and the restart fetches again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_is_not_persisted_and_a_crash_before_the_write_fetches_again() {
    let env = Env::start().await;
    env.add_sets(SETS);
    {
        let store = CrashAfter {
            inner: SqliteStore::open(env.state_path()).unwrap(),
            step: Step::Fetched,
            crashed: AtomicBool::new(false),
        };
        let pipeline = env
            .builder(env.config().build().unwrap())
            .store(store)
            .build()
            .unwrap();
        let summary = pipeline.run_once().await.unwrap();
        assert!(
            summary.all_final(),
            "no save of a fetched record: {summary}"
        );
    }
    assert_eq!(env.send_count(), SETS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_written() {
    crash_after(Step::Written).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_sent() {
    crash_after(Step::Sent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_final() {
    crash_after(Step::Final).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_archived() {
    crash_after(Step::Archived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_run_at_various_moments() {
    for cut_ms in [5u64, 40, 120] {
        let env = Env::start().await;
        env.add_sets(SETS);
        {
            let pipeline = env.pipeline();
            // Dropping the future is what killing the process does to it.
            let _ = tokio::time::timeout(Duration::from_millis(cut_ms), pipeline.run_once()).await;
        }
        restart_and_finish(&env).await;
    }
}

/// Every archived file (temporary files excluded) with its contents and
/// modification time.
fn archive_snapshot(env: &Env) -> Vec<(std::path::PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let Ok(sets) = std::fs::read_dir(env.archive_dir().join(env.company())) else {
        return out;
    };
    for set in sets {
        for file in std::fs::read_dir(set.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                continue;
            }
            let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
            out.push((path.clone(), std::fs::read(&path).unwrap(), modified));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_written_before_a_crash_is_left_untouched_on_restart() {
    let env = Env::start().await;
    env.add_sets(SETS);
    {
        // The files are written (after the API permit is released), then the
        // process dies before "archived" is recorded.
        let store = CrashAfter {
            inner: SqliteStore::open(env.state_path()).unwrap(),
            step: Step::Archived,
            crashed: AtomicBool::new(false),
        };
        let pipeline = env
            .builder(env.config().build().unwrap())
            .store(store)
            .build()
            .unwrap();
        let err = pipeline.run_once().await.unwrap_err();
        assert!(err.to_string().contains("simulated crash"), "{err}");
    }
    let before = archive_snapshot(&env);
    assert!(!before.is_empty(), "the crashed set's files were written");

    let summary = restart_and_finish(&env).await;
    assert!(summary.archived >= 1, "{summary}");
    // Archived again on restart: identical bytes, so nothing was rewritten.
    for (path, bytes, modified) in &before {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
        assert_eq!(
            &std::fs::metadata(path).unwrap().modified().unwrap(),
            modified,
            "{} rewritten",
            path.display()
        );
    }
    // No temporary file left anywhere.
    for set in std::fs::read_dir(env.archive_dir().join(env.company())).unwrap() {
        for file in std::fs::read_dir(set.unwrap().path()).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with('.'), "left behind: {name}");
        }
    }
}

/// A review decision is persisted before `decide` returns, in the same save that puts
/// the set back to pending: a crash after it — before anything else, or after the
/// decided set's fetch, write or send (the API call made, its record lost) — neither
/// loses the decision nor sends the set twice; the other sets are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_a_decision_and_the_send_loses_nothing_and_sends_once() {
    use beorg_sandbox::SetSpec;
    use hr_docs_pipeline::Decision;

    for crash_at in [None, Some(Step::Written), Some(Step::Sent)] {
        let env = Env::start().await;
        let ids = env.add_sets(2);
        let held = env.beorg.add_set(SetSpec::new().bad_snils_check_number());
        env.sets.lock().unwrap().push(held.clone());
        {
            let pipeline = env.pipeline();
            let summary = pipeline.run_once().await.unwrap();
            assert_eq!((summary.held, summary.archived), (1, 2), "{summary}");
            pipeline
                .decide(
                    &held,
                    Decision::send_as_is("op").with_reason("card checked"),
                )
                .await
                .unwrap();
            // The process dies right after recording the decision.
        }
        if let Some(step) = crash_at {
            let store = CrashAfter {
                inner: SqliteStore::open(env.state_path()).unwrap(),
                step,
                crashed: AtomicBool::new(false),
            };
            let pipeline = env
                .builder(env.config().build().unwrap())
                .store(store)
                .build()
                .unwrap();
            let err = pipeline.run_once().await.unwrap_err();
            assert!(err.to_string().contains("simulated crash"), "{step}: {err}");
        }
        let store = env.open_store().await;
        let pipeline = env
            .builder(env.config().build().unwrap())
            .store(store)
            .build()
            .unwrap();
        let summary = pipeline.run_once().await.unwrap();
        assert!(summary.all_final(), "{crash_at:?}: {summary}");
        if crash_at == Some(Step::Sent) {
            assert_eq!(summary.already_sent, 1, "{summary}");
        }
        let record = env.record(pipeline.store().as_ref(), &held).await;
        assert_eq!(record.status, SetStatus::Done, "{crash_at:?}");
        assert_eq!(
            record.decisions.len(),
            1,
            "{crash_at:?}: the decision is kept"
        );
        assert_eq!(record.decisions[0].reason.as_deref(), Some("card checked"));
        assert_eq!(env.sends_of(&env.document_id(&held)), 1, "{crash_at:?}");
        assert_eq!(env.send_count(), 3, "{crash_at:?}");
        assert_eq!(
            env.saby.document_count(),
            3,
            "{crash_at:?}: one document per set"
        );
        for id in &ids {
            assert_eq!(env.sends_of(&env.document_id(id)), 1);
        }
    }
}

/// Sets that become ready during the run (vouched: no guard read) with a crash
/// after their write or their send (sent without a read first), the record of
/// that step lost: the restart reads before writing and before sending, and
/// each set is written into one document and sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_on_the_fast_path_still_sends_once() {
    use std::sync::Arc;

    use hr_docs_pipeline::ProgressKind;

    for step in [Step::Written, Step::Sent] {
        let env = Arc::new(Env::start().await);
        env.add_sets(1);
        let added = Arc::new(AtomicBool::new(false));
        let on_progress = {
            let env = Arc::clone(&env);
            let added = Arc::clone(&added);
            move |p: &hr_docs_pipeline::Progress| {
                if matches!(p.kind, ProgressKind::Seen) && !added.swap(true, Ordering::SeqCst) {
                    env.add_sets(2);
                }
            }
        };
        let reads_before;
        {
            // The first set crashes the run at `step` only once the other two
            // (vouched) reached it too: the crash hits whichever saves `step` first.
            let store = CrashAfter {
                inner: SqliteStore::open(env.state_path()).unwrap(),
                step,
                crashed: AtomicBool::new(false),
            };
            let pipeline = env
                .builder(env.config().build().unwrap())
                .store(store)
                .on_progress(on_progress)
                .build()
                .unwrap();
            let err = pipeline.run_once().await.unwrap_err();
            assert!(err.to_string().contains("simulated crash"), "{step}: {err}");
            reads_before = env.saby.method_call_count("СБИС.ПрочитатьДокумент");
        }
        let summary = restart_and_finish_sets(&env, 3).await;
        assert!(
            env.saby.method_call_count("СБИС.ПрочитатьДокумент") > reads_before,
            "{step}: the restart reads before it writes or sends"
        );
        if step == Step::Sent {
            assert!(summary.already_sent >= 1, "{summary}");
        }
    }
}

/// The run is killed right after the N-th request Saby served (the answer never
/// read: what a crash at that moment leaves), for every N until a run finishes
/// before its kill: a kill between every two steps of two sets — one from the
/// first Beorg answer, one that became ready during the run (the fast path) —
/// then a restart; each set ends in one document, sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_every_saby_request_still_sends_once() {
    use std::sync::Arc;

    use beorg_sandbox::SandboxConfig as BeorgConfig;
    use hr_docs_pipeline::ProgressKind;
    use saby_sandbox::SandboxConfig as SabyConfig;

    let mut completed = false;
    for kill_after in 1..=60usize {
        // Answers leave 15 ms after their request: the kill lands while the
        // N-th request's answer is on its way.
        let env = Arc::new(
            Env::start_with(
                BeorgConfig::default().polls_until_ready(0),
                SabyConfig::default().latency(Duration::from_millis(15)),
            )
            .await,
        );
        env.add_sets(1);
        let added = Arc::new(AtomicBool::new(false));
        let on_progress = {
            let env = Arc::clone(&env);
            let added = Arc::clone(&added);
            move |p: &hr_docs_pipeline::Progress| {
                if matches!(p.kind, ProgressKind::Seen) && !added.swap(true, Ordering::SeqCst) {
                    env.add_sets(1);
                }
            }
        };
        let finished = {
            let pipeline = env
                .builder(env.config().build().unwrap())
                .on_progress(on_progress)
                .build()
                .unwrap();
            let served = async {
                while env.saby.request_count() < kill_after {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            };
            tokio::select! {
                summary = pipeline.run_once() => {
                    summary.unwrap();
                    true
                }
                () = served => false,
            }
            // Dropping the run here is the kill.
        };
        // The second set exists once the first was seen before the kill.
        let sets = env.sets.lock().unwrap().len();
        let summary = restart_and_finish_sets(&env, sets).await;
        assert_eq!(
            summary.failed, 0,
            "kill after request {kill_after}: {summary}"
        );
        if finished {
            assert_eq!(sets, 2);
            completed = true;
            break;
        }
    }
    assert!(
        completed,
        "a run of two sets finished within 60 Saby requests"
    );
}
