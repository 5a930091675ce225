//! The records a [`StateStore`](super::StateStore) keeps: [`SetRecord`] and its
//! parts, [`StatusCounts`], [`WindowEntry`], [`Claim`], [`Replay`].

use std::fmt;
use std::time::Duration;

use beorg_client::SetId;
use beorg_client::watermark::SeenSet;
use hr_docs_checks::Finding;
use time::OffsetDateTime;

use crate::review::Decision;

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
    /// Held for review: the data checks found an error (or a `broken`
    /// document) in its result. Not sent, not failed; it waits for a person's
    /// [`Decision`] ([`Pipeline::decide`](crate::Pipeline::decide)), its
    /// [`findings`](SetRecord::findings) stored with it.
    Held,
    /// Rejected by a reviewer ([`DecisionKind::Reject`](crate::review::DecisionKind::Reject)):
    /// recorded, never sent, never processed again.
    Rejected,
}

impl SetStatus {
    /// The stable name stored in the state file.
    pub fn as_str(self) -> &'static str {
        match self {
            SetStatus::Pending => "pending",
            SetStatus::Done => "done",
            SetStatus::Failed => "failed",
            SetStatus::Skipped => "skipped",
            SetStatus::Held => "held",
            SetStatus::Rejected => "rejected",
        }
    }

    /// Parses a name produced by [`SetStatus::as_str`].
    pub fn parse(s: &str) -> Option<SetStatus> {
        match s {
            "pending" => Some(SetStatus::Pending),
            "done" => Some(SetStatus::Done),
            "failed" => Some(SetStatus::Failed),
            "skipped" => Some(SetStatus::Skipped),
            "held" => Some(SetStatus::Held),
            "rejected" => Some(SetStatus::Rejected),
            _ => None,
        }
    }

    /// Whether the set counts as finished for the `start_id` watermark
    /// (done, failed, skipped, held for review or rejected): it never holds it.
    /// A held set is settled because Beorg lists it no more once `start_id`
    /// passes it, and the state has it: a decision puts it back to pending,
    /// whatever `start_id` says by then.
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
    /// The data checks found a fatal problem (a finding of
    /// [`Severity::Fatal`](hr_docs_checks::Severity::Fatal), such as a
    /// `broken` document under
    /// [`BrokenPolicy::Fail`](hr_docs_checks::BrokenPolicy::Fail)); the
    /// findings are in [`SetRecord::findings`]. A whole set broken or without
    /// documents fails as [`SetBroken`](Self::SetBroken) /
    /// [`NoDocuments`](Self::NoDocuments) instead.
    DataCheck,
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
            FailureKind::DataCheck => "data_check",
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
            "data_check" => FailureKind::DataCheck,
            "gave_up" => FailureKind::GaveUp,
            "rejected" => FailureKind::Rejected,
            "other" => FailureKind::Other,
            other => FailureKind::Unknown(other.to_owned()),
        }
    }

    /// Whether the cause is in the recognized data itself (a broken set, no
    /// documents, a fatal data check, a mapping refusal) rather than in a
    /// service or the clock — the sets a person has to look at.
    pub fn is_data_problem(&self) -> bool {
        matches!(
            self,
            FailureKind::SetBroken
                | FailureKind::NoDocuments
                | FailureKind::DataCheck
                | FailureKind::Mapping
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

/// The persisted progress of one Beorg set.
///
/// A record is created when Beorg first lists the set ([`SetRecord::seen_at`],
/// inserted with [`StateStore::insert_new`](super::StateStore::insert_new)) and
/// saved after every step. Its identity — `company`, `set_id`, `number` — and
/// its `contour` and `first_seen` are fixed when it is inserted: the pipeline
/// never changes them afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetRecord {
    /// The Beorg company (the client's `project_id`) the set belongs to.
    pub company: String,
    /// The contour Beorg's `by_project` put the set on, when it said.
    pub contour: Option<String>,
    /// Beorg set id as Beorg spells it (`"s-12"`).
    pub set_id: SetId,
    /// The set's number (`12` for `"s-12"`), 0 when the id carries none.
    pub number: u64,
    /// The last step that completed.
    pub step: Step,
    /// Pending, done, failed, skipped, held or rejected.
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
    /// What the data checks found the last time they ran on the set's result
    /// (`hr_docs_checks`' serde form; never a recognized value): for a
    /// [`Held`](SetStatus::Held) set the errors that hold it and every
    /// warning; for a set that went on, the warnings (and the errors a review
    /// approved) that travelled with its document. Empty before the first
    /// check and when nothing was found.
    pub findings: Vec<Finding>,
    /// The review decisions recorded for the set, oldest first
    /// ([`Pipeline::decide`](crate::Pipeline::decide)). The last one is the
    /// one in force: a set only leaves [`Held`](SetStatus::Held) by a
    /// decision.
    pub decisions: Vec<Decision>,
}

impl SetRecord {
    /// A pending set of `company` seen just now (no contour).
    pub fn seen(company: impl Into<String>, set_id: SetId) -> Self {
        Self::seen_at(company, set_id, OffsetDateTime::now_utc())
    }

    /// A pending set of `company` first seen at `first_seen` (no contour). Its
    /// [`number`](Self::number) is the id's ([`SetId::number`]), 0 when the id
    /// carries none.
    pub fn seen_at(company: impl Into<String>, set_id: SetId, first_seen: OffsetDateTime) -> Self {
        Self {
            company: company.into(),
            contour: None,
            number: set_id.number().unwrap_or(0),
            set_id,
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
            findings: Vec::new(),
            decisions: Vec::new(),
        }
    }

    /// On this contour.
    pub fn with_contour(mut self, contour: Option<String>) -> Self {
        self.contour = contour;
        self
    }

    /// Recorded [`Skipped`](SetStatus::Skipped) for `reason` instead of pending.
    pub fn skipped(mut self, reason: SkipReason) -> Self {
        self.status = SetStatus::Skipped;
        self.skip = Some(reason);
        self
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

    /// Holds the set for review with `findings` (what the checks found): not
    /// sent, not failed. Nothing of the set has reached Saby yet (the checks
    /// run before the document is written), so its step goes back to
    /// [`Step::Seen`]: a decision makes the next pass fetch and check the
    /// result again.
    pub fn hold(&mut self, findings: Vec<Finding>) {
        self.status = SetStatus::Held;
        self.step = Step::Seen;
        self.attempts = 0;
        self.last_error = None;
        self.findings = findings;
        self.updated_at = OffsetDateTime::now_utc();
    }

    /// The review decision in force: the last one recorded, if any.
    pub fn decision(&self) -> Option<&Decision> {
        self.decisions.last()
    }

    /// Puts a failed or skipped set back to pending at `now`: clears the
    /// failure or skip reason and the attempt counter, and restarts the
    /// final-state deadline of a set already sent. What
    /// [`replay_failed`](super::replay_failed) does to each set it replays.
    pub fn reopen(&mut self, now: OffsetDateTime) {
        self.status = SetStatus::Pending;
        self.attempts = 0;
        self.failure = None;
        self.skip = None;
        if self.sent_at.is_some() {
            self.sent_at = Some(now);
        }
        self.updated_at = now;
    }
}

/// One stored set as the `start_id` watermark reads it: what
/// [`StateStore::window`](super::StateStore::window) returns, a small slice of
/// a [`SetRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowEntry {
    /// The set's number.
    pub number: u64,
    /// Its status.
    pub status: SetStatus,
    /// When Beorg first listed it.
    pub first_seen: OffsetDateTime,
}

impl WindowEntry {
    /// An entry.
    pub fn new(number: u64, status: SetStatus, first_seen: OffsetDateTime) -> Self {
        Self {
            number,
            status,
            first_seen,
        }
    }

    /// The entry as the [`watermark`](crate::watermark) rule takes it.
    pub fn seen_set(&self) -> SeenSet {
        SeenSet::new(self.number, self.status.is_settled(), self.first_seen)
    }
}

impl From<&SetRecord> for WindowEntry {
    fn from(r: &SetRecord) -> Self {
        Self::new(r.number, r.status, r.first_seen)
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
    /// Sets held for review.
    pub held: u64,
    /// Sets rejected by a reviewer.
    pub rejected: u64,
}

impl StatusCounts {
    /// Adds one set of `status`.
    pub fn add(&mut self, status: SetStatus, n: u64) {
        match status {
            SetStatus::Pending => self.pending += n,
            SetStatus::Done => self.done += n,
            SetStatus::Failed => self.failed += n,
            SetStatus::Skipped => self.skipped += n,
            SetStatus::Held => self.held += n,
            SetStatus::Rejected => self.rejected += n,
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &StatusCounts) {
        self.pending += other.pending;
        self.done += other.done;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.held += other.held;
        self.rejected += other.rejected;
    }

    /// Every set counted.
    pub fn total(&self) -> u64 {
        self.pending + self.done + self.failed + self.skipped + self.held + self.rejected
    }
}

/// A worker's hold on the pending sets it takes, for stores shared by several
/// pipelines (see [`StateStore::claim_pending`](super::StateStore::claim_pending)
/// and `docs/architecture.md`, "Several workers on one store"). The shipped
/// stores serve one process and ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// Who holds the sets: unique per running pipeline
    /// ([`PipelineBuilder::worker_id`](crate::PipelineBuilder::worker_id),
    /// by default a random UUID).
    pub worker: String,
    /// How long a claim lasts unless renewed; the pipeline renews the claims
    /// of its sets in flight every third of it.
    pub lease: Duration,
}

impl Claim {
    /// The default lease: 5 minutes.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

    /// A claim by `worker` with the [default lease](Self::DEFAULT_LEASE).
    pub fn new(worker: impl Into<String>) -> Self {
        Self {
            worker: worker.into(),
            lease: Self::DEFAULT_LEASE,
        }
    }

    /// With this lease.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
}

/// Which failed sets [`Pipeline::replay_failed`](crate::Pipeline::replay_failed)
/// (or [`replay_failed`](super::replay_failed)) puts back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Replay {
    /// Every failed set of the company.
    All,
    /// These sets, when they are failed — or skipped by the contour filter
    /// (processing a skipped set is then the caller's explicit choice).
    Sets(Vec<SetId>),
}
