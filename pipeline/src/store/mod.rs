//! Persistent per-set progress: the [`StateStore`] trait, its records and the
//! embedded SQLite implementation [`SqliteStore`].
//!
//! The pipeline persists a set's progress after every step, so a crash at any
//! point resumes the set at the last step that is known to have completed. The
//! trait is synchronous (the pipeline calls it from `spawn_blocking`), so an
//! implementation may do blocking I/O freely.

mod sqlite;

use std::fmt;
use std::time::Duration;

use time::OffsetDateTime;

pub use sqlite::{SqliteStore, Synchronous};

use crate::error::StoreError;

/// The steps of one set, in order. A set's record holds the last step that
/// *completed*; the next step is the one to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Beorg reported the set as ready; nothing done yet.
    Seen,
    /// The recognition result was fetched and mapped to a Saby document.
    Fetched,
    /// The Saby document (with its deterministic id) was written.
    Written,
    /// The document was signed and sent (or found already sent).
    Sent,
    /// The document reached a final state.
    Final,
    /// The document's files were archived locally; the set is done.
    Archived,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 6] = [
        Step::Seen,
        Step::Fetched,
        Step::Written,
        Step::Sent,
        Step::Final,
        Step::Archived,
    ];

    /// The stable name stored in the state file (`"seen"`, `"fetched"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Seen => "seen",
            Step::Fetched => "fetched",
            Step::Written => "written",
            Step::Sent => "sent",
            Step::Final => "final",
            Step::Archived => "archived",
        }
    }

    /// Parses a name produced by [`Step::as_str`].
    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|step| step.as_str() == s)
    }

    /// The step that follows this one (`None` after [`Step::Archived`]).
    pub fn next(self) -> Option<Step> {
        match self {
            Step::Seen => Some(Step::Fetched),
            Step::Fetched => Some(Step::Written),
            Step::Written => Some(Step::Sent),
            Step::Sent => Some(Step::Final),
            Step::Final => Some(Step::Archived),
            Step::Archived => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a set stands overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SetStatus {
    /// Work remains; the pipeline will pick the set up on its next pass.
    Pending,
    /// Archived in a final state.
    Done,
    /// Recorded as failed with a reason; skipped until replayed.
    Failed,
}

impl SetStatus {
    /// The stable name stored in the state file.
    pub fn as_str(self) -> &'static str {
        match self {
            SetStatus::Pending => "pending",
            SetStatus::Done => "done",
            SetStatus::Failed => "failed",
        }
    }

    /// Parses a name produced by [`SetStatus::as_str`].
    pub fn parse(s: &str) -> Option<SetStatus> {
        match s {
            "pending" => Some(SetStatus::Pending),
            "done" => Some(SetStatus::Done),
            "failed" => Some(SetStatus::Failed),
            _ => None,
        }
    }

    /// Whether the set counts as finished for the `start_id` watermark
    /// (done or recorded as failed).
    pub fn is_settled(self) -> bool {
        !matches!(self, SetStatus::Pending)
    }
}

impl fmt::Display for SetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a set was recorded as failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The step that could not be performed.
    pub step: Step,
    /// A human-readable reason (error chain, never secrets).
    pub reason: String,
}

impl Failure {
    /// A failure of `step` for `reason`.
    pub fn new(step: Step, reason: impl Into<String>) -> Self {
        Self {
            step,
            reason: reason.into(),
        }
    }
}

/// The final state a document reached, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FinalState {
    /// Saby's state code (`Состояние.Код`), e.g. `"7"`.
    pub code: String,
    /// Saby's state name (`Состояние.Название`) when it gave one.
    pub name: Option<String>,
}

impl FinalState {
    /// A final state with the given code and optional name.
    pub fn new(code: impl Into<String>, name: Option<String>) -> Self {
        Self {
            code: code.into(),
            name,
        }
    }
}

impl fmt::Display for FinalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{} ({name})", self.code),
            None => f.write_str(&self.code),
        }
    }
}

/// The persisted progress of one Beorg set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetRecord {
    /// Beorg project (contour) the set belongs to.
    pub project: String,
    /// Beorg set id as Beorg spells it (`"s-12"`).
    pub set_id: String,
    /// The set's number (`12` for `"s-12"`), 0 when the id carries none.
    pub number: u64,
    /// The last step that completed.
    pub step: Step,
    /// Pending, done or failed.
    pub status: SetStatus,
    /// Passes that ended in a retryable error at the current step.
    pub attempts: u32,
    /// The last retryable error, if any.
    pub last_error: Option<String>,
    /// Why the set failed, when `status` is [`SetStatus::Failed`].
    pub failure: Option<Failure>,
    /// The deterministic Saby document id.
    pub document_id: Option<String>,
    /// Attachment file names produced by the mapper (for reports).
    pub file_names: Vec<String>,
    /// When the document was sent (or found sent); the final-state deadline
    /// counts from here.
    pub sent_at: Option<OffsetDateTime>,
    /// The final state reached, once known.
    pub final_state: Option<FinalState>,
    /// When Beorg first listed the set as ready. Set once, when the set is
    /// first recorded; the [`watermark`](crate::watermark) dates gaps from it.
    pub first_seen: OffsetDateTime,
    /// Last change of this record.
    pub updated_at: OffsetDateTime,
}

impl SetRecord {
    /// A set seen just now.
    pub fn seen(project: impl Into<String>, set_id: impl Into<String>, number: u64) -> Self {
        Self::seen_at(project, set_id, number, OffsetDateTime::now_utc())
    }

    /// A set first seen at `first_seen`.
    pub fn seen_at(
        project: impl Into<String>,
        set_id: impl Into<String>,
        number: u64,
        first_seen: OffsetDateTime,
    ) -> Self {
        Self {
            project: project.into(),
            set_id: set_id.into(),
            number,
            step: Step::Seen,
            status: SetStatus::Pending,
            attempts: 0,
            last_error: None,
            failure: None,
            document_id: None,
            file_names: Vec::new(),
            sent_at: None,
            final_state: None,
            first_seen,
            updated_at: first_seen,
        }
    }

    /// Marks `step` as completed: resets the attempt counter and the last error.
    pub fn advance(&mut self, step: Step) {
        self.step = step;
        self.attempts = 0;
        self.last_error = None;
        if step == Step::Archived {
            self.status = SetStatus::Done;
        }
        self.updated_at = OffsetDateTime::now_utc();
    }

    /// Records a permanent failure of the next step.
    pub fn fail(&mut self, failure: Failure) {
        self.status = SetStatus::Failed;
        self.failure = Some(failure);
        self.updated_at = OffsetDateTime::now_utc();
    }
}

/// How many sets of a project are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusCounts {
    /// Sets still being worked on.
    pub pending: u64,
    /// Sets archived in a final state.
    pub done: u64,
    /// Sets recorded as failed.
    pub failed: u64,
}

/// Where the pipeline keeps its progress. `Send + Sync`; synchronous (the
/// pipeline runs every call on tokio's blocking pool).
///
/// Contract for implementations:
/// - [`save`](StateStore::save) is atomic: the record and the project's
///   `start_id` watermark change together or not at all;
/// - the watermark only moves forward, as [`crate::watermark`] defines it:
///   [`save`](StateStore::save) never moves it past an unsettled set nor past
///   a gap (an unseen number below a seen one); only
///   [`advance_start_id`](StateStore::advance_start_id), given the time and the
///   grace period, releases gaps;
/// - a set's `first_seen` is written once, when the set is first recorded,
///   and never changed afterwards;
/// - records survive a process crash once the call returned `Ok`.
pub trait StateStore: Send + Sync + fmt::Debug {
    /// Makes sure `project` has a `start_id` (initialized to `initial` the
    /// first time) and returns the persisted one.
    fn init_project(&self, project: &str, initial: u64) -> Result<u64, StoreError>;

    /// The persisted `start_id` of `project` (the next set number to ask
    /// Beorg about), `None` when the project was never initialized.
    fn start_id(&self, project: &str) -> Result<Option<u64>, StoreError>;

    /// Moves the watermark of `project` forward to
    /// [`next_start_id`](crate::watermark::next_start_id)`(current, seen sets,
    /// now, gap_grace)` in one transaction, releasing gaps whose grace period
    /// is over, and returns it (`None` when the project was never
    /// initialized). The pipeline calls it after each successful Beorg poll,
    /// with `now` the time the poll was sent.
    fn advance_start_id(
        &self,
        project: &str,
        now: OffsetDateTime,
        gap_grace: Duration,
    ) -> Result<Option<u64>, StoreError>;

    /// Records sets Beorg reported ready, with `seen_at` as the first-seen
    /// time of the new ones; returns the ones that were not known yet
    /// (already known sets, settled or not, are left untouched — their
    /// progress and first-seen time included).
    fn record_seen_at(
        &self,
        project: &str,
        sets: &[(String, u64)],
        seen_at: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError>;

    /// [`record_seen_at`](StateStore::record_seen_at) at the current time.
    fn record_seen(
        &self,
        project: &str,
        sets: &[(String, u64)],
    ) -> Result<Vec<String>, StoreError> {
        self.record_seen_at(project, sets, OffsetDateTime::now_utc())
    }

    /// Inserts or replaces a record (keeping the stored `number` and
    /// `first_seen` of a known set: both are fixed when it is recorded) and, when it settles, moves the watermark forward past
    /// settled sets — not past gaps — atomically.
    fn save(&self, record: &SetRecord) -> Result<(), StoreError>;

    /// How many sets of `project` are pending (neither done nor failed). The
    /// pipeline asks before each Beorg poll (back-pressure), so it should be
    /// cheap; the default counts through [`counts`](StateStore::counts).
    fn pending_count(&self, project: &str) -> Result<u64, StoreError> {
        Ok(self.counts(project)?.pending)
    }

    /// One record.
    fn get(&self, project: &str, set_id: &str) -> Result<Option<SetRecord>, StoreError>;

    /// Up to `limit` records of `project` with `status`, ordered by set
    /// number then id, starting strictly after `after` (`(number, set_id)` of
    /// the last record of the previous page).
    fn list(
        &self,
        project: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &str)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError>;

    /// Counts per status for `project`.
    fn counts(&self, project: &str) -> Result<StatusCounts, StoreError>;

    /// Puts failed sets back to pending (all of the project's failed sets
    /// when `set_ids` is `None`): clears the failure and the attempt counter,
    /// restarts the final-state deadline. Returns the records as replayed.
    fn replay_failed(
        &self,
        project: &str,
        set_ids: Option<&[String]>,
    ) -> Result<Vec<SetRecord>, StoreError>;

    /// The persisted Saby event-feed cursor (opaque JSON), if any.
    fn event_cursor(&self) -> Result<Option<String>, StoreError>;

    /// Persists the Saby event-feed cursor.
    fn set_event_cursor(&self, cursor: &str) -> Result<(), StoreError>;

    /// How many calls the pipeline may run on this store at once, each on a
    /// thread of tokio's blocking pool (default 4; at least 1 is used). A store
    /// that serializes its calls anyway should say 1: more would only park
    /// threads waiting for its lock. [`SqliteStore`] says 1.
    fn max_concurrent_calls(&self) -> usize {
        4
    }
}

/// The pipeline's handle on a [`StateStore`]: every call runs on tokio's
/// blocking pool so the store never blocks the async runtime, and at most
/// [`StateStore::max_concurrent_calls`] run at once.
///
/// Without that bound, every task waiting for the store (behind SQLite's one
/// connection, say, while a commit syncs) held a blocking-pool thread of its
/// own: the pool grew with the length of the run, and each thread's stack and
/// allocator arena raised the process's peak memory with it.
#[derive(Debug, Clone)]
pub(crate) struct AsyncStore {
    pub(crate) store: std::sync::Arc<dyn StateStore>,
    permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl AsyncStore {
    pub(crate) fn new(store: std::sync::Arc<dyn StateStore>) -> Self {
        let permits = store.max_concurrent_calls();
        Self::with_permits(store, permits)
    }

    /// At most `permits` (at least 1) calls at once.
    pub(crate) fn with_permits(store: std::sync::Arc<dyn StateStore>, permits: usize) -> Self {
        Self {
            store,
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits.max(1))),
        }
    }

    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn StateStore) -> Result<T, StoreError> + Send + 'static,
    {
        // The semaphore is never closed; the error arm is unreachable in practice.
        let permit = std::sync::Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Other {
                message: "state store closed".to_owned(),
                source: Some(Box::new(e)),
            })?;
        let store = std::sync::Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(store.as_ref())
        })
        .await
        .map_err(|e| StoreError::Other {
            message: "state store task failed".to_owned(),
            source: Some(Box::new(e)),
        })?
    }

    pub(crate) async fn save(&self, record: &SetRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.call(move |s| s.save(&record)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use super::{AsyncStore, SqliteStore, StateStore};

    fn sqlite() -> (tempfile::TempDir, Arc<dyn StateStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
        (dir, Arc::new(store))
    }

    #[test]
    fn sqlite_store_takes_one_call_at_a_time() {
        let (_dir, store) = sqlite();
        assert_eq!(store.max_concurrent_calls(), 1);
        assert_eq!(AsyncStore::new(store).permits.available_permits(), 1);
    }

    /// Ten calls, at most two at once: each call waits at a two-party barrier,
    /// so they pass in pairs (the bound is reached, or the test hangs and its
    /// timeout fails it) and a third call never runs beside them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_run_at_most_the_stores_bound_at_once() {
        let (_dir, store) = sqlite();
        let store = AsyncStore::with_permits(store, 2);
        let barrier = Arc::new(Barrier::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (store, barrier, running, most) = (
                store.clone(),
                Arc::clone(&barrier),
                Arc::clone(&running),
                Arc::clone(&most),
            );
            calls.spawn(async move {
                store
                    .call(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        barrier.wait();
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            });
        }
        let all = async {
            while let Some(joined) = calls.join_next().await {
                joined.unwrap().unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(30), all)
            .await
            .expect("the calls did not pair up: fewer than 2 ran at once");
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_panicking_call_is_an_error_with_the_join_error_as_source() {
        let (_dir, store) = sqlite();
        let store = AsyncStore::new(store);
        let err = store.call::<(), _>(|_| panic!("boom")).await.unwrap_err();
        let source = std::error::Error::source(&err).expect("the join error is kept");
        assert!(source.to_string().contains("panic"), "{source}");
        // The permit came back: the next call runs.
        assert_eq!(store.call(|s| s.start_id("p")).await.unwrap(), None);
    }
}
