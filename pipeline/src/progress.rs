//! Observability: typed [`Progress`] events and the run [`Summary`].

use std::path::PathBuf;
use std::time::Duration;

use crate::store::{FinalState, StatusCounts, Step};

/// Something that happened to one set. Subscribe with
/// [`Pipeline::subscribe`](crate::Pipeline::subscribe) or register a callback
/// with [`PipelineBuilder::on_progress`](crate::PipelineBuilder::on_progress).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// Beorg reported a new ready set.
    SetSeen {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
    },
    /// The set's result is not ready yet (HTTP 425): it stays pending.
    NotReady {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
    },
    /// The recognition result was fetched and mapped.
    Fetched {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
        /// The attachment names of the Saby document.
        file_names: Vec<String>,
    },
    /// The Saby document was written.
    Written {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
        /// Saby document id.
        document_id: String,
    },
    /// The document was sent, or found already sent (`already_sent`).
    Sent {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
        /// Saby document id.
        document_id: String,
        /// True when the send was skipped because Saby shows it was sent.
        already_sent: bool,
    },
    /// The document reached a final state.
    Final {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
        /// Saby document id.
        document_id: String,
        /// The state.
        state: FinalState,
    },
    /// The document's files were archived; the set is done.
    Archived {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
        /// The archive directory of the set.
        dir: PathBuf,
        /// Files in it after archiving.
        files: usize,
    },
    /// A retryable error: the set stays pending at `step` for the next pass.
    Retrying {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
        /// The step that will be tried again.
        step: Step,
        /// Passes so far that ended in an error at this step.
        attempt: u32,
        /// The error.
        error: String,
    },
    /// The set was recorded as failed.
    Failed {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
        /// The step that failed.
        step: Step,
        /// Why.
        reason: String,
    },
    /// A failed set was put back to be processed again.
    Replayed {
        /// Beorg project.
        project: String,
        /// Set id.
        set_id: String,
    },
}

impl Progress {
    /// The set's Beorg project.
    pub fn project(&self) -> &str {
        match self {
            Progress::SetSeen { project, .. }
            | Progress::NotReady { project, .. }
            | Progress::Fetched { project, .. }
            | Progress::Written { project, .. }
            | Progress::Sent { project, .. }
            | Progress::Final { project, .. }
            | Progress::Archived { project, .. }
            | Progress::Retrying { project, .. }
            | Progress::Failed { project, .. }
            | Progress::Replayed { project, .. } => project,
        }
    }

    /// The set id.
    pub fn set_id(&self) -> &str {
        match self {
            Progress::SetSeen { set_id, .. }
            | Progress::NotReady { set_id, .. }
            | Progress::Fetched { set_id, .. }
            | Progress::Written { set_id, .. }
            | Progress::Sent { set_id, .. }
            | Progress::Final { set_id, .. }
            | Progress::Archived { set_id, .. }
            | Progress::Retrying { set_id, .. }
            | Progress::Failed { set_id, .. }
            | Progress::Replayed { set_id, .. } => set_id,
        }
    }

    /// Whether the set is settled after this event (archived or failed).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Progress::Archived { .. } | Progress::Failed { .. })
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
    /// The cancellation token fired; unfinished sets stay pending.
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
    /// Retryable errors during this run (sets left pending for another pass).
    pub retries: u64,
    /// Totals over every configured project after the run.
    pub totals: StatusCounts,
    /// Why the run returned.
    pub stop: StopReason,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Summary {
    /// True when every known set is done (archived in a final state): nothing
    /// pending, nothing failed.
    pub fn all_final(&self) -> bool {
        self.totals.pending == 0 && self.totals.failed == 0
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} new, {} written, {} sent ({} already sent), {} archived, {} failed, {} retries; \
             totals: {} done, {} failed, {} pending ({:?} after {:.1?})",
            self.seen,
            self.written,
            self.sent,
            self.already_sent,
            self.archived,
            self.failed,
            self.retries,
            self.totals.done,
            self.totals.failed,
            self.totals.pending,
            self.stop,
            self.elapsed
        )
    }
}
