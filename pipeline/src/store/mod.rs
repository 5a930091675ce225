//! Persistent per-set progress: the [`StateStore`] trait, its records and the
//! embedded SQLite implementation [`SqliteStore`].
//!
//! Everything is keyed by **company** (the Beorg client's `project_id`, the
//! company's number) and set id: several companies can share one state file
//! without colliding. A set's **contour** (from Beorg's `by_project`) is a
//! property of its record, not part of its key.
//!
//! The pipeline persists a set's progress after every step, so a crash at any
//! point resumes the set at the last step that is known to have completed. The
//! trait is synchronous (the pipeline calls it from `spawn_blocking`), so an
//! implementation may do blocking I/O freely.

mod sqlite;

use std::fmt;

use beorg_client::watermark::{Advance, SeenSet, WatermarkRule};
use time::OffsetDateTime;

pub use sqlite::{MergedSet, SqliteStore, Synchronous};

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
    /// Recorded as failed with a reason; left alone until replayed.
    Failed,
    /// Recorded but deliberately not processed (another contour's set, see
    /// [`PipelineConfig::contours`](crate::PipelineConfig::contours)); never
    /// fetched or sent.
    Skipped,
}

impl SetStatus {
    /// The stable name stored in the state file.
    pub fn as_str(self) -> &'static str {
        match self {
            SetStatus::Pending => "pending",
            SetStatus::Done => "done",
            SetStatus::Failed => "failed",
            SetStatus::Skipped => "skipped",
        }
    }

    /// Parses a name produced by [`SetStatus::as_str`].
    pub fn parse(s: &str) -> Option<SetStatus> {
        match s {
            "pending" => Some(SetStatus::Pending),
            "done" => Some(SetStatus::Done),
            "failed" => Some(SetStatus::Failed),
            "skipped" => Some(SetStatus::Skipped),
            _ => None,
        }
    }

    /// Whether the set counts as finished for the `start_id` watermark
    /// (done, failed or skipped): it never holds it.
    pub fn is_settled(self) -> bool {
        !matches!(self, SetStatus::Pending)
    }
}

impl fmt::Display for SetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a set failed, as a type: compare and route on this, never on the
/// [`Failure::reason`] text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The sent document did not reach a final state within
    /// [`final_state_deadline`](crate::PipelineConfig::final_state_deadline).
    FinalStateTimedOut,
    /// Beorg still answered "not ready" (425)
    /// [`not_ready_timeout`](crate::PipelineConfig::not_ready_timeout) after the
    /// set was first seen.
    NotReadyExpired,
    /// Beorg's result marks the whole set broken, with no usable document
    /// ([`ResultStatus::Broken`](beorg_client::ResultStatus::Broken)).
    SetBroken,
    /// Beorg's result holds no documents
    /// ([`ResultStatus::NoDocuments`](beorg_client::ResultStatus::NoDocuments)).
    NoDocuments,
    /// The [`DocumentMapper`](crate::DocumentMapper) refused the result.
    Mapping,
    /// A retryable error lasted [`max_passes`](crate::PipelineConfig::max_passes)
    /// passes.
    GaveUp,
    /// A service refused a call for good (a 4xx, a Saby business error, ...).
    Rejected,
    /// Anything else (a local error).
    Other,
    /// A kind stored by a newer version, as text.
    Unknown(String),
}

impl FailureKind {
    /// The stable name stored in the state file.
    pub fn as_str(&self) -> &str {
        match self {
            FailureKind::FinalStateTimedOut => "final_state_timed_out",
            FailureKind::NotReadyExpired => "not_ready_expired",
            FailureKind::SetBroken => "set_broken",
            FailureKind::NoDocuments => "no_documents",
            FailureKind::Mapping => "mapping",
            FailureKind::GaveUp => "gave_up",
            FailureKind::Rejected => "rejected",
            FailureKind::Other => "other",
            FailureKind::Unknown(s) => s,
        }
    }

    /// Parses a name produced by [`FailureKind::as_str`] (anything else is
    /// [`Unknown`](FailureKind::Unknown)).
    pub fn parse(s: &str) -> FailureKind {
        match s {
            "final_state_timed_out" => FailureKind::FinalStateTimedOut,
            "not_ready_expired" => FailureKind::NotReadyExpired,
            "set_broken" => FailureKind::SetBroken,
            "no_documents" => FailureKind::NoDocuments,
            "mapping" => FailureKind::Mapping,
            "gave_up" => FailureKind::GaveUp,
            "rejected" => FailureKind::Rejected,
            "other" => FailureKind::Other,
            other => FailureKind::Unknown(other.to_owned()),
        }
    }

    /// Whether the cause is in the recognized data itself (a broken set, no
    /// documents, a mapping refusal) rather than in a service or the clock —
    /// the sets a person has to look at.
    pub fn is_data_problem(&self) -> bool {
        matches!(
            self,
            FailureKind::SetBroken | FailureKind::NoDocuments | FailureKind::Mapping
        )
    }
}

impl fmt::Display for FailureKind {
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
    /// What kind of failure: the field to compare and route on.
    pub kind: FailureKind,
    /// A human-readable account (error chain; never secrets or recognized
    /// values).
    pub reason: String,
}

impl Failure {
    /// A failure of `step` of the given kind, for `reason`.
    pub fn new(step: Step, kind: FailureKind, reason: impl Into<String>) -> Self {
        Self {
            step,
            kind,
            reason: reason.into(),
        }
    }
}

/// Why a set was recorded as [`Skipped`](SetStatus::Skipped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// Its contour is not among the configured
    /// [`contours`](crate::PipelineConfig::contours).
    ContourFiltered,
    /// A contour filter is configured and Beorg's answer did not say which
    /// contour the set is on (no `by_project`, or it does not list the set).
    ContourUnknown,
    /// A reason stored by a newer version, as text.
    Unknown(String),
}

impl SkipReason {
    /// The stable name stored in the state file.
    pub fn as_str(&self) -> &str {
        match self {
            SkipReason::ContourFiltered => "contour_filtered",
            SkipReason::ContourUnknown => "contour_unknown",
            SkipReason::Unknown(s) => s,
        }
    }

    /// Parses a name produced by [`SkipReason::as_str`].
    pub fn parse(s: &str) -> SkipReason {
        match s {
            "contour_filtered" => SkipReason::ContourFiltered,
            "contour_unknown" => SkipReason::ContourUnknown,
            other => SkipReason::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// A set Beorg reported ready, as [`StateStore::record_seen_at`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewSet {
    /// Beorg set id as Beorg spells it (`"s-12"`).
    pub set_id: String,
    /// The set's number (`12` for `"s-12"`), 0 when the id carries none.
    pub number: u64,
    /// The contour Beorg's `by_project` put it on, if it said.
    pub contour: Option<String>,
    /// `Some`: recorded [`Skipped`](SetStatus::Skipped) for this reason
    /// instead of pending.
    pub skip: Option<SkipReason>,
}

impl NewSet {
    /// A pending set with no contour.
    pub fn new(set_id: impl Into<String>, number: u64) -> Self {
        Self {
            set_id: set_id.into(),
            number,
            contour: None,
            skip: None,
        }
    }

    /// On this contour.
    pub fn contour(mut self, contour: Option<String>) -> Self {
        self.contour = contour;
        self
    }

    /// Recorded as skipped for `reason`.
    pub fn skipped(mut self, reason: SkipReason) -> Self {
        self.skip = Some(reason);
        self
    }
}

/// The persisted progress of one Beorg set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetRecord {
    /// The Beorg company (the client's `project_id`) the set belongs to.
    pub company: String,
    /// The contour Beorg's `by_project` put the set on, when it said.
    pub contour: Option<String>,
    /// Beorg set id as Beorg spells it (`"s-12"`).
    pub set_id: String,
    /// The set's number (`12` for `"s-12"`), 0 when the id carries none.
    pub number: u64,
    /// The last step that completed.
    pub step: Step,
    /// Pending, done, failed or skipped.
    pub status: SetStatus,
    /// Passes that ended in a retryable error at the current step.
    pub attempts: u32,
    /// The last retryable error, if any.
    pub last_error: Option<String>,
    /// Why the set failed, when `status` is [`SetStatus::Failed`].
    pub failure: Option<Failure>,
    /// Why the set was skipped, when `status` is [`SetStatus::Skipped`].
    pub skip: Option<SkipReason>,
    /// The Saby document id. Once set it is the set's id for good: the
    /// pipeline never derives another one for a set that has it (see
    /// [`ids`](crate::ids)).
    pub document_id: Option<String>,
    /// The ids of the attachments the mapper put into the document (the
    /// archive step checks the final document links each of them). Ids, not
    /// file names: a file name carries the employee's surname.
    pub attachment_ids: Vec<String>,
    /// When the document was sent (or found sent); the final-state deadline
    /// counts from here.
    pub sent_at: Option<OffsetDateTime>,
    /// The final state reached, once known.
    pub final_state: Option<FinalState>,
    /// When Beorg first listed the set as ready. Set once, when the set is
    /// first recorded; the [`watermark`](crate::watermark) dates gaps from it
    /// and the not-ready expiry counts from it.
    pub first_seen: OffsetDateTime,
    /// Last change of this record.
    pub updated_at: OffsetDateTime,
}

impl SetRecord {
    /// A set of `company` seen just now (no contour).
    pub fn seen(company: impl Into<String>, set_id: impl Into<String>, number: u64) -> Self {
        Self::seen_at(company, set_id, number, OffsetDateTime::now_utc())
    }

    /// A set of `company` first seen at `first_seen` (no contour).
    pub fn seen_at(
        company: impl Into<String>,
        set_id: impl Into<String>,
        number: u64,
        first_seen: OffsetDateTime,
    ) -> Self {
        Self {
            company: company.into(),
            contour: None,
            set_id: set_id.into(),
            number,
            step: Step::Seen,
            status: SetStatus::Pending,
            attempts: 0,
            last_error: None,
            failure: None,
            skip: None,
            document_id: None,
            attachment_ids: Vec::new(),
            sent_at: None,
            final_state: None,
            first_seen,
            updated_at: first_seen,
        }
    }

    /// The set as the [`watermark`](crate::watermark) sees it.
    pub fn seen_set(&self) -> SeenSet {
        SeenSet::new(self.number, self.status.is_settled(), self.first_seen)
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

/// How many sets are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusCounts {
    /// Sets still being worked on.
    pub pending: u64,
    /// Sets archived in a final state.
    pub done: u64,
    /// Sets recorded as failed.
    pub failed: u64,
    /// Sets recorded as skipped (another contour's).
    pub skipped: u64,
}

impl StatusCounts {
    /// Adds one set of `status`.
    pub fn add(&mut self, status: SetStatus, n: u64) {
        match status {
            SetStatus::Pending => self.pending += n,
            SetStatus::Done => self.done += n,
            SetStatus::Failed => self.failed += n,
            SetStatus::Skipped => self.skipped += n,
        }
    }

    /// Every set counted.
    pub fn total(&self) -> u64 {
        self.pending + self.done + self.failed + self.skipped
    }
}

/// Where the pipeline keeps its progress. `Send + Sync`; synchronous (the
/// pipeline runs every call on tokio's blocking pool).
///
/// Every call names the **company** (the Beorg client's `project_id`): one
/// store can hold several companies' sets, each company with its own
/// `start_id` watermark.
///
/// Contract for implementations:
/// - [`save`](StateStore::save) is atomic: the record and the company's
///   `start_id` watermark change together or not at all;
/// - the watermark only moves forward, as [`crate::watermark`] defines it:
///   [`save`](StateStore::save) never moves it past an unsettled set nor past
///   a gap (an unseen number below a seen one); only
///   [`advance_start_id`](StateStore::advance_start_id), given the time and the
///   rule, releases gaps;
/// - a set's `first_seen`, `number` and `contour` are written once, when the
///   set is first recorded, and never changed afterwards;
/// - records survive a process crash once the call returned `Ok`.
pub trait StateStore: Send + Sync + fmt::Debug {
    /// Makes sure `company` has a `start_id` (initialized to `initial` the
    /// first time) and returns the persisted one. The pipeline calls it once,
    /// when it is built (the [`SqliteStore`] also adopts the sets of a state
    /// file written by an older version then).
    fn init_company(&self, company: &str, initial: u64) -> Result<u64, StoreError>;

    /// The persisted `start_id` of `company` (the next set number to ask
    /// Beorg about), `None` when the company was never initialized.
    fn start_id(&self, company: &str) -> Result<Option<u64>, StoreError>;

    /// Moves the watermark of `company` forward as
    /// [`WatermarkRule::advance`] decides over the company's seen sets, at
    /// `now`, in one transaction, and returns what it decided (`None` when
    /// the company was never initialized). The pipeline calls it after each
    /// successful Beorg poll, with `now` the time the poll was sent.
    fn advance_start_id(
        &self,
        company: &str,
        now: OffsetDateTime,
        rule: &WatermarkRule,
    ) -> Result<Option<Advance>, StoreError>;

    /// Records sets Beorg reported ready, with `seen_at` as the first-seen
    /// time of the new ones; returns the ids of the ones that were not known
    /// yet (already known sets, settled or not, are left untouched — their
    /// progress, contour and first-seen time included).
    fn record_seen_at(
        &self,
        company: &str,
        sets: &[NewSet],
        seen_at: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError>;

    /// [`record_seen_at`](StateStore::record_seen_at) at the current time.
    fn record_seen(&self, company: &str, sets: &[NewSet]) -> Result<Vec<String>, StoreError> {
        self.record_seen_at(company, sets, OffsetDateTime::now_utc())
    }

    /// Inserts or replaces a record (keeping the stored `number`, `contour`
    /// and `first_seen` of a known set: they are fixed when it is recorded)
    /// and, when it settles, moves the watermark forward past settled sets —
    /// not past gaps — atomically.
    fn save(&self, record: &SetRecord) -> Result<(), StoreError>;

    /// How many sets of `company` are pending. The pipeline asks before each
    /// Beorg poll (back-pressure), so it should be cheap; the default counts
    /// through [`counts`](StateStore::counts).
    fn pending_count(&self, company: &str) -> Result<u64, StoreError> {
        Ok(self.counts(company)?.pending)
    }

    /// One record.
    fn get(&self, company: &str, set_id: &str) -> Result<Option<SetRecord>, StoreError>;

    /// Up to `limit` records of `company` with `status`, ordered by set
    /// number then id, starting strictly after `after` (`(number, set_id)` of
    /// the last record of the previous page).
    fn list(
        &self,
        company: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &str)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError>;

    /// Counts per status for `company`.
    fn counts(&self, company: &str) -> Result<StatusCounts, StoreError>;

    /// Counts per status for each contour of `company` (`None`: sets with no
    /// known contour), ordered by contour. The default pages through
    /// [`list`](StateStore::list).
    fn contour_counts(
        &self,
        company: &str,
    ) -> Result<Vec<(Option<String>, StatusCounts)>, StoreError> {
        let mut out: std::collections::BTreeMap<Option<String>, StatusCounts> =
            std::collections::BTreeMap::new();
        let mut after: Option<(u64, String)> = None;
        loop {
            let page = self.list(
                company,
                None,
                after.as_ref().map(|(n, id)| (*n, id.as_str())),
                500,
            )?;
            let Some(last) = page.last() else { break };
            after = Some((last.number, last.set_id.clone()));
            for r in page {
                out.entry(r.contour).or_default().add(r.status, 1);
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Puts sets back to pending: all of the company's failed sets when
    /// `set_ids` is `None`; the named ones when they are failed **or
    /// skipped** otherwise (processing a skipped set is the operator's
    /// explicit choice). Clears the failure or skip reason and the attempt
    /// counter, restarts the final-state deadline. Returns the records as
    /// replayed.
    fn replay_failed(
        &self,
        company: &str,
        set_ids: Option<&[String]>,
    ) -> Result<Vec<SetRecord>, StoreError>;

    /// The persisted Saby event-feed cursor (opaque JSON) of `scope` (the
    /// pipeline passes its company), if any.
    fn event_cursor(&self, scope: &str) -> Result<Option<String>, StoreError>;

    /// Persists the Saby event-feed cursor of `scope`.
    fn set_event_cursor(&self, scope: &str, cursor: &str) -> Result<(), StoreError>;

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
