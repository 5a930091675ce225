//! Observability: typed [`Progress`] events and the run [`Summary`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use beorg_client::{DocumentType, SetId};
use hr_docs_checks::Check;

use crate::review::DecisionKind;
use crate::store::{FailureKind, FinalState, SkipReason, StatusCounts, Step};

/// Something that happened to one set: which set (company, contour, id) and
/// what ([`ProgressKind`]). Subscribe with
/// [`Pipeline::subscribe`](crate::Pipeline::subscribe) or register a callback
/// with [`PipelineBuilder::on_progress`](crate::PipelineBuilder::on_progress).
///
/// Events carry ids, contours, steps, document types and counts — never a
/// recognized value or a file name made from one (such as `Паспорт_Иванов`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// The Beorg company (the client's `project_id`).
    pub company: String,
    /// The set's contour, when Beorg named it.
    pub contour: Option<String>,
    /// The set id.
    pub set_id: SetId,
    /// What happened.
    pub kind: ProgressKind,
}

/// What happened to a set; see [`Progress`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressKind {
    /// Beorg reported a new ready set.
    Seen,
    /// Beorg reported a new ready set, recorded as skipped (the contour
    /// filter): it is never fetched or sent.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// The set's result is not ready yet (HTTP 425): it stays pending (until
    /// [`not_ready_timeout`](crate::PipelineConfig::not_ready_timeout)).
    NotReady,
    /// The recognition result was fetched and mapped.
    Fetched {
        /// The types of the recognized documents, in Beorg's order.
        document_types: Vec<DocumentType>,
        /// How many attachments the Saby document has.
        attachments: usize,
    },
    /// The Saby document was written.
    Written {
        /// Saby document id.
        document_id: String,
    },
    /// The document was sent, or found already sent (`already_sent`).
    Sent {
        /// Saby document id.
        document_id: String,
        /// True when the send was skipped because Saby shows it was sent.
        already_sent: bool,
    },
    /// The document reached a final state.
    Final {
        /// Saby document id.
        document_id: String,
        /// The state.
        state: FinalState,
    },
    /// The document's files were archived; the set is done.
    Archived {
        /// The archive directory of the set.
        dir: PathBuf,
        /// Files in it after archiving.
        files: usize,
    },
    /// A retryable error: the set stays pending at `step` for the next pass.
    Retrying {
        /// The step that will be tried again.
        step: Step,
        /// Passes so far that ended in an error at this step.
        attempt: u32,
        /// The error chain on one line, scrubbed of the set's recognized
        /// values (as stored in the record's `last_error`).
        error: String,
    },
    /// The set was recorded as failed.
    Failed {
        /// The step that failed.
        step: Step,
        /// What kind of failure (route on this).
        failure: FailureKind,
        /// Why, in words: the failure reason as stored, scrubbed of the set's
        /// recognized values.
        reason: String,
    },
    /// A failed (or skipped) set was put back to be processed again.
    Replayed,
    /// The data checks found an error in the set's result: it is held for
    /// review ([`SetStatus::Held`](crate::store::SetStatus::Held)) — not
    /// sent, not failed — with its findings
    /// ([`Pipeline::held_sets`](crate::Pipeline::held_sets)).
    Held {
        /// Every finding (errors and warnings).
        findings: usize,
        /// The findings that hold it (errors).
        errors: usize,
        /// The checks that found the errors, each once (names, never values).
        checks: Vec<Check>,
    },
    /// A review decision about a held set was recorded
    /// ([`Pipeline::decide`](crate::Pipeline::decide)): it is pending again,
    /// or rejected.
    Decided {
        /// What was decided (who and why are in the set's record, not here).
        decision: DecisionKind,
    },
}

impl Progress {
    pub(crate) fn new(
        company: &str,
        contour: Option<&str>,
        set_id: &SetId,
        kind: ProgressKind,
    ) -> Self {
        Self {
            company: company.to_owned(),
            contour: contour.map(str::to_owned),
            set_id: set_id.clone(),
            kind,
        }
    }

    /// The set id.
    pub fn set_id(&self) -> &SetId {
        &self.set_id
    }

    /// Whether the set is settled after this event (archived, failed,
    /// skipped, held for review, or rejected by a decision).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.kind,
            ProgressKind::Archived { .. }
                | ProgressKind::Failed { .. }
                | ProgressKind::Skipped { .. }
                | ProgressKind::Held { .. }
                | ProgressKind::Decided {
                    decision: DecisionKind::Reject
                }
        )
    }
}

/// Why a run returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Every seen set is settled (`run_once`).
    Drained,
    /// The run's deadline passed; unfinished sets stay pending.
    Deadline,
    /// The shutdown future given to
    /// [`run_until`](crate::Pipeline::run_until) or
    /// [`run_once_until`](crate::Pipeline::run_once_until) completed;
    /// unfinished sets stay pending.
    Cancelled,
}

/// What one run did, and where the store stands after it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// New sets Beorg reported during this run.
    pub seen: u64,
    /// Documents written during this run.
    pub written: u64,
    /// Send actions performed during this run.
    pub sent: u64,
    /// Sends skipped because Saby showed the document already sent.
    pub already_sent: u64,
    /// Sets archived (done) during this run.
    pub archived: u64,
    /// Sets recorded failed during this run.
    pub failed: u64,
    /// New sets recorded as skipped (contour filter) during this run.
    pub skipped: u64,
    /// Sets held for review during this run.
    pub held: u64,
    /// Retryable errors during this run (sets left pending for another pass).
    pub retries: u64,
    /// Totals over the company's sets after the run.
    pub totals: StatusCounts,
    /// The same totals per contour (`None`: sets whose contour Beorg did not
    /// name).
    pub by_contour: BTreeMap<Option<String>, StatusCounts>,
    /// The set numbers the `start_id` watermark found far above the others
    /// at the end of the run — each more than
    /// [`max_jump`](crate::PipelineConfig::max_jump) past the number before it,
    /// say `s-9000000000` among sets in the hundreds — with every number above
    /// them. They are processed like any set but never move `start_id`, so one
    /// stray id cannot make the pipeline skip real sets. Ascending; empty when
    /// there are none.
    pub outliers: Vec<u64>,
    /// Why the run returned.
    pub stop: StopReason,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Summary {
    /// True when every known set is settled without a failure and none waits
    /// for review: nothing pending, failed or held (skipped sets are another
    /// contour's, rejected ones a reviewer's decision: both count as settled).
    pub fn all_final(&self) -> bool {
        self.totals.pending == 0 && self.totals.failed == 0 && self.totals.held == 0
    }

    /// True when nothing is pending and nothing failed: every set is done,
    /// skipped, rejected — or **held for review**, a legitimate outcome of a
    /// run (a person decides; see [`Pipeline::held_sets`](crate::Pipeline::held_sets)).
    /// `full_flow` exits 0 on it.
    pub fn all_settled(&self) -> bool {
        self.totals.pending == 0 && self.totals.failed == 0
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} new, {} written, {} sent ({} already sent), {} archived, {} failed, {} skipped, \
             {} held, {} retries; totals: {} done, {} failed, {} skipped, {} held, {} rejected, \
             {} pending",
            self.seen,
            self.written,
            self.sent,
            self.already_sent,
            self.archived,
            self.failed,
            self.skipped,
            self.held,
            self.retries,
            self.totals.done,
            self.totals.failed,
            self.totals.skipped,
            self.totals.held,
            self.totals.rejected,
            self.totals.pending,
        )?;
        if self.by_contour.len() > 1 || self.by_contour.keys().any(Option::is_some) {
            f.write_str(" [")?;
            for (i, (contour, c)) in self.by_contour.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(
                    f,
                    "{}: {} done, {} failed, {} skipped, {} held, {} pending",
                    contour.as_deref().unwrap_or("(no contour)"),
                    c.done,
                    c.failed,
                    c.skipped,
                    c.held,
                    c.pending
                )?;
            }
            f.write_str("]")?;
        }
        if !self.outliers.is_empty() {
            write!(f, "; outlier set numbers (start_id not moved past them): ")?;
            for (i, n) in self.outliers.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{n}")?;
            }
        }
        write!(f, " ({:?} after {:.1?})", self.stop, self.elapsed)
    }
}
