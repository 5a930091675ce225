//! One set's way through the steps: fetch → write → send → final → archive,
//! persisting after each.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use beorg_client::hr_docs_core::redact::scrub;
use beorg_client::{RecognitionResult, ResultStatus};
use hr_docs_checks::{Check, Finding, Severity, check_result};
use saby_client::{ArchiveSource, Document, FileRef, State, StateCode, sanitize_file_name};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::error::{Error, StoreError, chain, count_reasons};
use crate::ids;
use crate::mapper::MappingContext;
use crate::pipeline::Inner;
use crate::progress::{Progress, ProgressKind};
use crate::review::{self, Judgement};
use crate::store::{Failure, FailureKind, FinalState, SetRecord, SetStatus, Step};

/// Counters of one run.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) seen: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) already_sent: AtomicU64,
    pub(crate) archived: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) held: AtomicU64,
    pub(crate) retries: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// How a set's task ended (besides a store failure, which stops the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done or recorded failed.
    Settled,
    /// Left pending for a later pass (retryable error, not ready, stopping).
    Pending,
}

/// Why a step did not complete.
enum StepError {
    /// Beorg is still recognizing the set (425): not an error (until the
    /// not-ready timeout).
    NotReady,
    /// A final answer that cannot be used (a fatal finding of the data
    /// checks: a set broken as a whole, no documents, ...): the set fails
    /// with this kind, at once.
    Unusable(FailureKind, String),
    /// The data checks found an error: the set is held for review (its
    /// findings are already in the record).
    Held,
    /// The run is stopping; the set is checkpointed at its last step.
    Stopped,
    /// The final-state deadline passed.
    TimedOut,
    /// An API/mapping/IO error; retryable or not per [`Error::is_retryable`].
    Failed(Error),
    /// The state store failed: the run must stop.
    Store(StoreError),
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        match e {
            Error::Store(s) => StepError::Store(s),
            other => StepError::Failed(other),
        }
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        StepError::Store(e)
    }
}

impl From<beorg_client::Error> for StepError {
    fn from(e: beorg_client::Error) -> Self {
        StepError::Failed(Error::Beorg(e))
    }
}

impl From<saby_client::Error> for StepError {
    fn from(e: saby_client::Error) -> Self {
        StepError::Failed(Error::Saby(e))
    }
}

/// Removes the set's waiter when the task ends, however it ends.
struct WaiterGuard<'a> {
    inner: &'a Inner,
    document_id: String,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        self.inner.waiters().remove(&self.document_id);
    }
}

/// Whether Saby shows the document as already sent — past editing, so that
/// writing it again could only make a new edition of a sent document: any
/// state (`Состояние.Код`) other than editing (`0`), except that with "has a
/// document" (`1`) or a code this crate does not know, a document whose
/// `Отправка` stage is still offered counts as not sent. A document without a
/// state counts as not sent.
pub(crate) fn already_sent(doc: &Document) -> bool {
    let send_offered = doc.stages.iter().any(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("Отправка"))
    });
    match doc.state.as_ref().map(|s| &s.code) {
        None | Some(StateCode::Editing) => false,
        Some(StateCode::HasDocument | StateCode::Unknown(_)) => !send_offered,
        Some(_) => true,
    }
}

/// Whether `doc` (the document in its final state, as an event or a read
/// delivered it) holds everything the archive step needs, so the step can use
/// it instead of reading the document again: it is this document, it links its
/// zip, and every live attachment and each of its signatures links (or
/// carries) its file — including every attachment the set put into the
/// document (by id). Anything missing → `false` (the archive step reads the
/// document).
pub(crate) fn archive_links_present(
    doc: &Document,
    document_id: &str,
    attachment_ids: &[String],
) -> bool {
    fn linked(file: Option<&FileRef>) -> bool {
        file.is_some_and(|f| f.url.is_some() || f.data.is_some())
    }
    if doc.id.as_ref().map(|id| id.as_str()) != Some(document_id) || doc.archive_url.is_none() {
        return false;
    }
    let mut live = doc.attachments.iter().filter(|a| a.deleted != Some(true));
    let mut any = false;
    let all_linked = live.all(|a| {
        any = true;
        linked(a.file.as_ref()) && a.signatures.iter().all(|s| linked(s.file.as_ref()))
    });
    any && all_linked
        && attachment_ids.iter().all(|id| {
            doc.attachments
                .iter()
                .any(|a| a.deleted != Some(true) && a.id.as_ref().is_some_and(|a_id| a_id == id))
        })
}

/// Where the archive step stands when it releases the API permit.
enum Archiving {
    /// The zip is downloaded; checking and keeping it is disk work only.
    ZipDownloaded(Box<saby_client::PendingZipArchive>),
    /// Archived file by file (network and disk alternating).
    Done(saby_client::ArchiveReport),
}

/// Whether `doc` is this document and links its zip (`СсылкаНаАрхив`): all the
/// archive step needs from it when it archives from the zip.
pub(crate) fn zip_link_present(doc: &Document, document_id: &str) -> bool {
    doc.id.as_ref().map(|id| id.as_str()) == Some(document_id)
        && doc
            .archive_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty())
}

/// Check names, comma-separated, each once (for a log line: names, never values).
fn check_names(checks: &[Check]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for c in checks {
        if !names.contains(&c.as_str()) {
            names.push(c.as_str());
        }
    }
    names.join(",")
}

/// The failure of a set whose checks found something fatal: a set broken as a
/// whole or without documents keeps its own kind (with Beorg's reasons, as
/// before the checks); anything else is [`FailureKind::DataCheck`], its reason
/// naming the fatal checks and their documents (keys, fields — never values).
fn fatal_failure(result: &RecognitionResult, findings: &[Finding]) -> (FailureKind, String) {
    let fatal: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Fatal)
        .collect();
    if fatal.iter().any(|f| f.check == Check::ResultBroken) {
        // Counted, not quoted: Beorg's reasons are free text, and the reason
        // goes to the state file, the logs and progress events.
        let n = if result.broken_reasons_ru.is_empty() {
            result.broken_reasons.len()
        } else {
            result.broken_reasons_ru.len()
        };
        let reason = format!("Beorg marked the whole set broken ({})", count_reasons(n));
        return (FailureKind::SetBroken, reason);
    }
    if fatal.iter().any(|f| f.check == Check::NoDocuments) {
        return (
            FailureKind::NoDocuments,
            "Beorg's result holds no documents".to_owned(),
        );
    }
    let what: Vec<String> = fatal
        .iter()
        .map(|f| match (&f.document_key, &f.field) {
            (Some(k), Some(field)) => format!("{} ({k}/{field})", f.check),
            (Some(k), None) => format!("{} ({k})", f.check),
            _ => f.check.to_string(),
        })
        .collect();
    (
        FailureKind::DataCheck,
        format!("the data checks found fatal problems: {}", what.join("; ")),
    )
}

fn final_state(state: &State) -> FinalState {
    FinalState::new(state.code.code(), state.name.clone())
}

/// Whether the error chain of `e` holds a Saby JSON-RPC error: text Saby wrote,
/// which may quote what the pipeline sent it (a file name made from a surname,
/// a custom mapper's title).
fn quotes_saby(e: &Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err
            .downcast_ref::<saby_client::Error>()
            .is_some_and(|saby| saby.rpc().is_some())
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// The JSON-RPC error of `e`, or of the last attempt of an exceeded deadline.
fn rpc_of(e: &saby_client::Error) -> Option<&saby_client::RpcError> {
    match e {
        saby_client::Error::DeadlineExceeded {
            last_error: Some(last),
            ..
        } => rpc_of(last),
        other => other.rpc(),
    }
}

/// `e` without the text Saby wrote: the method, code and status of its
/// JSON-RPC error, for when the set's recognized values are not at hand to
/// scrub that text.
fn withheld(e: &Error) -> String {
    let rpc = match e {
        Error::Saby(s) => rpc_of(s),
        _ => None,
    };
    match rpc {
        Some(rpc) => format!(
            "Saby error in {} (HTTP {}{}); its message is withheld: the set's recognized \
             values were not at hand to check it for personal data",
            rpc.method,
            rpc.http_status,
            rpc.code
                .as_ref()
                .map(|c| format!(", code {c}"))
                .unwrap_or_default()
        ),
        None => "Saby error; its message is withheld: the set's recognized values were not \
                 at hand to check it for personal data"
            .to_owned(),
    }
}

/// Runs one set from its last completed step as far as it can go.
pub(crate) async fn process(
    inner: Arc<Inner>,
    record: SetRecord,
    stop: CancellationToken,
    stats: Arc<Stats>,
) -> Result<Outcome, StoreError> {
    let span = tracing::info_span!(
        "set",
        company = %record.company,
        contour = record.contour.as_deref().unwrap_or(""),
        set_id = %record.set_id
    );
    Worker {
        inner: &inner,
        rec: record,
        stop,
        stats,
        document: None,
        latest: None,
        latest_complete: false,
        written_here: false,
        sending: None,
        final_document: None,
        final_complete: false,
        personal: None,
    }
    .run()
    .instrument(span)
    .await
}

struct Worker<'a> {
    inner: &'a Inner,
    rec: SetRecord,
    stop: CancellationToken,
    stats: Arc<Stats>,
    /// The mapped document, between fetch and write (never persisted).
    document: Option<Document>,
    /// The document as Saby last returned it in this task (its state is the
    /// latest known).
    latest: Option<Arc<Document>>,
    /// Whether `latest` is a whole document (a read), not an action's answer.
    latest_complete: bool,
    /// Whether this task wrote the document (and `latest` is the write's
    /// answer): then the state answers the send step's question — written by
    /// us a moment ago, not sent — and the send needs no read first.
    written_here: bool,
    /// This set's place among those between their first step and their send
    /// ([`Inner::sending`](crate::pipeline::Inner)), held from the fetch to the
    /// send.
    sending: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The document in its final state (from the feed, a read or an action's
    /// answer), for the archive step.
    final_document: Option<Arc<Document>>,
    /// Whether `final_document` is a whole document (an event's or a read),
    /// which file-by-file archiving needs; the zip needs only its link.
    final_complete: bool,
    /// The set's recognized values ([`RecognitionResult::personal_values`]),
    /// once its result was fetched in this task: every error text stored,
    /// logged or reported is scrubbed of them. Never persisted.
    personal: Option<Vec<String>>,
}

impl Worker<'_> {
    async fn run(mut self) -> Result<Outcome, StoreError> {
        // The stored id when the set has one (never derived again: a set keeps
        // the id it was written under, whatever version wrote it).
        let document_id = self.rec.document_id.clone().unwrap_or_else(|| {
            ids::document_id(&self.rec.company, self.rec.set_id.as_str()).to_string()
        });
        // Register before writing/sending so no event of ours can slip by.
        let (tx, mut rx) = watch::channel(None);
        self.inner.waiters().insert(document_id.clone(), tx);
        let _guard = WaiterGuard {
            inner: self.inner,
            document_id: document_id.clone(),
        };
        loop {
            if self.rec.status != SetStatus::Pending {
                return Ok(Outcome::Settled);
            }
            let Some(next) = self.rec.step.next() else {
                return Ok(Outcome::Settled);
            };
            if self.stop.is_cancelled() {
                return Ok(Outcome::Pending);
            }
            if matches!(next, Step::Fetched | Step::Written | Step::Sent) {
                if self.sending.is_none() {
                    let place = tokio::select! {
                        place = Arc::clone(&self.inner.sending).acquire_owned() => place.ok(),
                        () = self.stop.cancelled() => None,
                    };
                    match place {
                        Some(place) => self.sending = Some(place),
                        None => return Ok(Outcome::Pending),
                    }
                }
            } else {
                // Sent (or beyond): the place goes to the next set.
                self.sending = None;
            }
            let span = tracing::info_span!("step", step = %next, pass = self.rec.attempts + 1);
            let result = async {
                match next {
                    // `next()` never yields `Seen` (no step comes before it).
                    Step::Seen | Step::Fetched => self.fetch(&document_id).await,
                    Step::Written => self.write(&document_id).await,
                    Step::Sent => self.send(&document_id).await,
                    Step::Final => self.await_final(&document_id, &mut rx).await,
                    Step::Archived => self.archive(&document_id).await,
                }
            }
            .instrument(span)
            .await;
            match result {
                Ok(()) => {}
                Err(StepError::Store(e)) => return Err(e),
                Err(StepError::Stopped) => return Ok(Outcome::Pending),
                Err(StepError::Held) => {
                    self.hold().await?;
                    return Ok(Outcome::Settled);
                }
                Err(StepError::NotReady) => {
                    // From the first sighting, or from the last review decision
                    // (a refetch may find the set being recognized again).
                    let since = self
                        .rec
                        .decision()
                        .map_or(self.rec.first_seen, |d| d.at.max(self.rec.first_seen));
                    let waited = OffsetDateTime::now_utc() - since;
                    let limit = self.inner.config.not_ready_timeout;
                    if waited >= limit {
                        let reason = format!(
                            "Beorg still answered \"not ready\" {:.0?} after the set was first seen \
                             or last decided on (limit {limit:?})",
                            Duration::try_from(waited).unwrap_or(limit)
                        );
                        self.fail(next, FailureKind::NotReadyExpired, reason)
                            .await?;
                        return Ok(Outcome::Settled);
                    }
                    tracing::debug!("result not ready yet (425); stays pending");
                    self.emit(ProgressKind::NotReady);
                    return Ok(Outcome::Pending);
                }
                Err(StepError::Unusable(kind, reason)) => {
                    self.fail(next, kind, reason).await?;
                    return Ok(Outcome::Settled);
                }
                Err(StepError::TimedOut) => {
                    self.fail(
                        next,
                        FailureKind::FinalStateTimedOut,
                        "timed out waiting for final state".to_owned(),
                    )
                    .await?;
                    return Ok(Outcome::Settled);
                }
                Err(StepError::Failed(e)) if e.is_retryable() => {
                    return self.retry_later(next, &e).await;
                }
                Err(StepError::Failed(e)) => {
                    let kind = match &e {
                        Error::Mapping(_) => FailureKind::Mapping,
                        Error::Beorg(_) | Error::Saby(_) => FailureKind::Rejected,
                        _ => FailureKind::Other,
                    };
                    let reason = self.error_text(&e).await;
                    self.fail(next, kind, reason).await?;
                    return Ok(Outcome::Settled);
                }
            }
        }
    }

    async fn api_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, StepError> {
        tokio::select! {
            permit = Arc::clone(&self.inner.api_permits).acquire_owned() => {
                permit.map_err(|_| StepError::Stopped)
            }
            () = self.stop.cancelled() => Err(StepError::Stopped),
        }
    }

    /// Emits a progress event about this set.
    fn emit(&self, kind: ProgressKind) {
        self.inner.emit(Progress::new(
            &self.rec.company,
            self.rec.contour.as_deref(),
            &self.rec.set_id,
            kind,
        ));
    }

    /// `text` with the set's recognized values replaced by `[REDACTED]`, when
    /// they are known in this task.
    fn scrubbed(&self, text: &str) -> String {
        match &self.personal {
            Some(values) => {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                scrub(text, &refs)
            }
            None => text.to_owned(),
        }
    }

    /// Remembers the set's recognized values (see [`Worker::personal`]).
    fn know(&mut self, result: &RecognitionResult) {
        if self.personal.is_none() {
            self.personal = Some(result.personal_values());
        }
    }

    /// The error chain of `e` as stored in the state, logged and reported:
    /// scrubbed of the set's recognized values. A text Saby wrote may quote
    /// what was sent to it (a file name made from the surname): when the
    /// values are not known in this task (a step resumed after the write),
    /// the result is fetched again to learn them, and if that fails Saby's
    /// message is withheld.
    async fn error_text(&mut self, e: &Error) -> String {
        let quotes = quotes_saby(e);
        if quotes && self.personal.is_none() {
            self.learn_personal_values().await;
        }
        match &self.personal {
            Some(_) => self.scrubbed(&chain(e)),
            None if quotes => withheld(e),
            None => chain(e),
        }
    }

    /// Fetches the set's result again, only to learn its recognized values;
    /// any failure leaves them unknown.
    async fn learn_personal_values(&mut self) {
        let Ok(_permit) = self.api_permit().await else {
            return;
        };
        match self.inner.beorg.result(&self.rec.set_id).await {
            Ok(ResultStatus::Ready(r) | ResultStatus::Broken(r) | ResultStatus::NoDocuments(r)) => {
                self.know(&r);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %chain(&e), "result not fetched again; Saby's message will be withheld");
            }
        }
    }

    async fn retry_later(&mut self, step: Step, e: &Error) -> Result<Outcome, StoreError> {
        self.rec.attempts = self.rec.attempts.saturating_add(1);
        let message = self.error_text(e).await;
        self.rec.last_error = Some(message.clone());
        if self.rec.attempts >= self.inner.config.max_passes {
            let reason = format!("gave up after {} passes: {message}", self.rec.attempts);
            self.fail(step, FailureKind::GaveUp, reason).await?;
            return Ok(Outcome::Settled);
        }
        tracing::warn!(step = %step, attempt = self.rec.attempts, error = %message, "retryable error; set stays pending");
        self.rec.updated_at = OffsetDateTime::now_utc();
        self.inner.store.save(&self.rec).await?;
        bump(&self.stats.retries);
        self.emit(ProgressKind::Retrying {
            step,
            attempt: self.rec.attempts,
            error: message,
        });
        Ok(Outcome::Pending)
    }

    /// Holds the set for review with the findings already in the record.
    async fn hold(&mut self) -> Result<(), StoreError> {
        let findings = std::mem::take(&mut self.rec.findings);
        let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
        let mut checks: Vec<Check> = Vec::new();
        for f in &errors {
            if !checks.contains(&f.check) {
                checks.push(f.check.clone());
            }
        }
        let (count, error_count) = (findings.len(), errors.len());
        tracing::warn!(
            errors = error_count,
            warnings = count - error_count,
            checks = %check_names(&checks),
            "data checks found errors; set held for review"
        );
        self.rec.hold(findings);
        self.inner.store.save(&self.rec).await?;
        bump(&self.stats.held);
        self.emit(ProgressKind::Held {
            findings: count,
            errors: error_count,
            checks,
        });
        Ok(())
    }

    async fn fail(
        &mut self,
        step: Step,
        kind: FailureKind,
        reason: String,
    ) -> Result<(), StoreError> {
        let reason = self.scrubbed(&reason);
        self.inner.unvouch(&self.rec.set_id);
        tracing::error!(step = %step, kind = %kind, reason = %reason, "set failed");
        self.rec
            .fail(Failure::new(step, kind.clone(), reason.clone()));
        self.inner.store.save(&self.rec).await?;
        bump(&self.stats.failed);
        self.emit(ProgressKind::Failed {
            step,
            failure: kind,
            reason,
        });
        Ok(())
    }

    /// Fetches the result, checks it and maps it (kept in memory for the
    /// write step); also returns the types of the recognized documents sent.
    ///
    /// The checks run on the documents to be sent — without those a review
    /// decision left out — and decide ([`review::judge`]): go on, hold the set
    /// ([`StepError::Held`]) or fail it ([`StepError::Unusable`]); the findings
    /// are put into the record either way (persisted by the caller's save).
    async fn fetch_and_map(
        &mut self,
        document_id: &str,
    ) -> Result<(Document, Vec<beorg_client::DocumentType>), StepError> {
        let set_id = self.rec.set_id.clone();
        let status = {
            let _permit = self.api_permit().await?;
            self.inner.beorg.result(&set_id).await?
        };
        let mut result = match status {
            // A result broken as a whole, or one without documents, is final: the
            // data checks report it (`result_broken`, `no_documents`) and the
            // policy decides — held by default, failed under `BrokenPolicy::Fail`.
            ResultStatus::Ready(result)
            | ResultStatus::Broken(result)
            | ResultStatus::NoDocuments(result) => result,
            ResultStatus::Processing { .. } => return Err(StepError::NotReady),
            // An outcome a newer client may add: polled again, within the
            // not-ready timeout.
            _ => return Err(StepError::NotReady),
        };
        self.know(&result);
        let decision = self.rec.decision().cloned();
        let excluded = decision.as_ref().map_or(&[][..], |d| d.kind.excluded());
        if !excluded.is_empty() {
            result.documents.retain(|d| !excluded.contains(&d.key));
        }
        // Pure and quick: its own span inside the step's, for the logs that follow.
        let today = self.inner.today();
        let report = tracing::info_span!("checks", documents = result.documents.len())
            .in_scope(|| check_result(&result, &self.inner.config.checks, today));
        match review::judge(&report, decision.as_ref(), &self.rec.findings) {
            Judgement::Go => {}
            Judgement::Hold => {
                self.rec.findings = report.findings;
                return Err(StepError::Held);
            }
            Judgement::Fail => {
                let (kind, reason) = fatal_failure(&result, &report.findings);
                self.rec.findings = report.findings;
                return Err(StepError::Unusable(kind, reason));
            }
        }
        if !report.findings.is_empty() {
            let checks: Vec<Check> = report.findings.iter().map(|f| f.check.clone()).collect();
            tracing::info!(
                findings = report.findings.len(),
                errors_approved = report.errors().count(),
                checks = %check_names(&checks),
                "data checks: the findings travel with the document"
            );
        }
        self.rec.findings = report.findings;
        let template = self.inner.config.template_for(self.rec.contour.as_deref());
        let document_uuid = uuid::Uuid::parse_str(document_id)
            .unwrap_or_else(|_| uuid::Uuid::new_v5(&ids::NAMESPACE, document_id.as_bytes()));
        let ctx = MappingContext::new(&self.rec.company, &set_id, &template)
            .with_contour(self.rec.contour.as_deref())
            .with_document_id(document_uuid)
            .with_findings(&self.rec.findings)
            .with_decision(decision.as_ref().filter(|d| d.kind.is_approval()));
        let mut doc = self
            .inner
            .mapper
            .map(&ctx, &result)
            .await
            .map_err(|e| StepError::Failed(Error::Mapping(e)))?;
        doc.id = Some(document_id.into());
        let types = result
            .documents
            .iter()
            .map(|d| d.doc_type.clone())
            .collect();
        Ok((doc, types))
    }

    async fn fetch(&mut self, document_id: &str) -> Result<(), StepError> {
        let (doc, document_types) = self.fetch_and_map(document_id).await?;
        self.rec.attachment_ids = doc
            .attachments
            .iter()
            .filter_map(|a| a.id.as_ref().map(ToString::to_string))
            .collect();
        self.rec.document_id = Some(document_id.to_owned());
        let attachments = doc.attachments.len();
        self.document = Some(doc);
        // Not persisted: "fetched" would only tell a restart to fetch the result
        // again, which a set at "seen" does as well (the mapped document is never
        // stored). The write that follows saves the record (findings and
        // attachment ids included); a failure, a hold or a retry saves it too.
        self.rec.advance(Step::Fetched);
        self.emit(ProgressKind::Fetched {
            document_types,
            attachments,
        });
        Ok(())
    }

    async fn write(&mut self, document_id: &str) -> Result<(), StepError> {
        // The state does not know this document was written (the set is not
        // at "written" yet), so it cannot know it was not sent either: a lost
        // state file, or one restored from an old backup, starts every set
        // over. Saby can: writing a sent document again would make a new,
        // editable edition of it, and the send step would send that. Only a set
        // this process saw become ready (see `Inner::vouch`) needs no look.
        if self.inner.is_vouched(&self.rec.set_id) {
            tracing::debug!("set became ready during this run: nobody wrote it before; no read");
        } else if let Some(sent) = self.sent_before_writing(document_id).await? {
            return self.found_sent(document_id, sent).await;
        }
        // Resumed after a crash: the result is fetched again (Beorg keeps it).
        let doc = match self.document.take() {
            Some(doc) => doc,
            None => self.fetch_and_map(document_id).await?.0,
        };
        let written = {
            let _permit = self.api_permit().await?;
            self.inner.saby.write_document(&doc).await?
        };
        drop(doc);
        // The write's answer is the document as it now stands, with the stages it
        // offers: the send resolves its action from it instead of reading it.
        self.latest = Some(Arc::new(written));
        self.latest_complete = false;
        self.rec.document_id = Some(document_id.to_owned());
        self.rec.advance(Step::Written);
        self.inner.store.save(&self.rec).await?;
        self.written_here = true;
        self.inner.unvouch(&self.rec.set_id);
        bump(&self.stats.written);
        self.emit(ProgressKind::Written {
            document_id: document_id.to_owned(),
        });
        Ok(())
    }

    /// The guard before a write: reads the document and returns it when Saby
    /// shows it [already sent](already_sent); `None` when it does not exist
    /// or can still be edited.
    ///
    /// Saby publishes no error code for "no such document", so any JSON-RPC
    /// error that is neither about authentication nor retryable is taken to
    /// mean the document does not exist (the write that follows says
    /// otherwise if it does); every other error is the step's.
    async fn sent_before_writing(
        &mut self,
        document_id: &str,
    ) -> Result<Option<Document>, StepError> {
        let read = {
            let _permit = self.api_permit().await?;
            self.inner.saby.read_document(document_id).await
        };
        match read {
            Ok(doc) if already_sent(&doc) => Ok(Some(doc)),
            Ok(_) => Ok(None),
            Err(e) if e.rpc().is_some() && !e.is_auth() && !e.is_retryable() => {
                tracing::debug!("no document to read before the write; writing it");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The set's document was sent before this state knew of it: nothing is
    /// written or sent; the set goes on from "sent" (and reaches "final" at
    /// once if the document is final, without another read).
    async fn found_sent(&mut self, document_id: &str, doc: Document) -> Result<(), StepError> {
        tracing::warn!(
            "the document is already sent although the state had not recorded writing it \
             (a lost or restored state file?): nothing written or sent again"
        );
        bump(&self.stats.already_sent);
        self.document = None;
        self.latest = Some(Arc::new(doc));
        self.latest_complete = true;
        self.rec.document_id = Some(document_id.to_owned());
        self.rec.sent_at = Some(OffsetDateTime::now_utc());
        self.rec.advance(Step::Sent);
        self.inner.store.save(&self.rec).await?;
        self.emit(ProgressKind::Sent {
            document_id: document_id.to_owned(),
            already_sent: true,
        });
        Ok(())
    }

    async fn send(&mut self, document_id: &str) -> Result<(), StepError> {
        let already = {
            let _permit = self.api_permit().await?;
            let written = if self.written_here {
                self.latest.take()
            } else {
                None
            };
            let sent_without_read = match written {
                // This task wrote the document a moment ago and has not sent it: the
                // state answers, no read. (A restart — which may follow a send whose
                // "sent" was lost — always reads first, below.)
                Some(written) => match self
                    .inner
                    .saby
                    .send_document(&written, self.inner.signer.as_ref())
                    .await
                {
                    Ok(sent) => Some(sent),
                    // The write's answer offers no send action (resolved before any
                    // request: nothing was sent): read, as after a restart.
                    Err(saby_client::Error::ActionNotFound { .. }) => {
                        tracing::debug!(
                            "the write's answer offers no send action; reading the document"
                        );
                        None
                    }
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            match sent_without_read {
                Some(sent) => {
                    // Execute's answer: its state, but not necessarily every file
                    // link file-by-file archiving needs.
                    self.latest = Some(Arc::new(sent));
                    self.latest_complete = false;
                    false
                }
                None => self.read_and_send(document_id).await?,
            }
        };
        if already {
            tracing::info!("document already sent; send skipped");
            bump(&self.stats.already_sent);
        } else {
            tracing::info!("document sent");
            bump(&self.stats.sent);
        }
        self.rec.sent_at = Some(OffsetDateTime::now_utc());
        self.rec.advance(Step::Sent);
        self.inner.store.save(&self.rec).await?;
        self.emit(ProgressKind::Sent {
            document_id: document_id.to_owned(),
            already_sent: already,
        });
        Ok(())
    }

    /// Reads the document and sends it unless Saby shows it already sent
    /// (returns whether it was). The caller holds the API permit.
    async fn read_and_send(&mut self, document_id: &str) -> Result<bool, StepError> {
        // Never send twice: a crash between sending and persisting "sent"
        // leaves the set at "written"; Saby's state tells the truth.
        let current = self.inner.saby.read_document(document_id).await?;
        if already_sent(&current) {
            self.latest = Some(Arc::new(current));
            self.latest_complete = true;
            return Ok(true);
        }
        // The stage and action come from the document just read: no second
        // read inside the client.
        let sent = self
            .inner
            .saby
            .send_document(&current, self.inner.signer.as_ref())
            .await?;
        self.latest = Some(Arc::new(sent));
        self.latest_complete = false;
        Ok(false)
    }

    async fn read(&self, document_id: &str) -> Result<Arc<Document>, StepError> {
        let _permit = self.api_permit().await?;
        Ok(Arc::new(self.inner.saby.read_document(document_id).await?))
    }

    fn is_final(&self, doc: Option<&Arc<Document>>) -> bool {
        doc.and_then(|d| d.state.as_ref())
            .is_some_and(|s| self.inner.config.is_final(&s.code))
    }

    async fn await_final(
        &mut self,
        document_id: &str,
        rx: &mut watch::Receiver<Option<Arc<Document>>>,
    ) -> Result<(), StepError> {
        let config = &self.inner.config;
        let sent_at = self.rec.sent_at.unwrap_or_else(|| {
            let now = OffsetDateTime::now_utc();
            self.rec.sent_at = Some(now);
            now
        });
        // Resumed (nothing known in this task) → read the document once: its
        // event may have passed while we were down.
        // Whether `current` may stand in for a read in the archive step: a read
        // or an event's document, not an action's answer.
        let mut complete = true;
        let mut current = match self.latest.take().filter(|d| d.state.is_some()) {
            Some(d) => {
                complete = self.latest_complete;
                d
            }
            None => self.read(document_id).await?,
        };
        loop {
            if self.is_final(Some(&current)) {
                break;
            }
            let elapsed = (OffsetDateTime::now_utc() - sent_at).max(time::Duration::ZERO);
            let left = config
                .final_state_deadline
                .checked_sub(Duration::try_from(elapsed).unwrap_or(Duration::MAX))
                .unwrap_or(Duration::ZERO);
            if left.is_zero() {
                // One last direct look before giving up.
                let last = self.read(document_id).await?;
                if self.is_final(Some(&last)) {
                    current = last;
                    complete = true;
                    break;
                }
                return Err(StepError::TimedOut);
            }
            let wait = left.min(config.recheck_interval);
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return Err(StepError::Stopped);
                    }
                    let from_feed = rx.borrow_and_update().clone();
                    current = match from_feed {
                        Some(d) if d.state.is_some() => d,
                        // The event carried no state: ask for it.
                        _ => self.read(document_id).await?,
                    };
                    complete = true;
                }
                () = tokio::time::sleep(wait) => {
                    tracing::debug!("no final event yet; reading the document");
                    current = self.read(document_id).await?;
                    complete = true;
                }
                () = self.stop.cancelled() => return Err(StepError::Stopped),
            }
        }
        let Some(state) = current.state.as_ref() else {
            return Err(StepError::Stopped);
        };
        let fin = final_state(state);
        self.final_document = Some(Arc::clone(&current));
        self.final_complete = complete;
        tracing::info!(state = %fin, "final state reached");
        self.rec.final_state = Some(fin.clone());
        self.rec.advance(Step::Final);
        self.inner.store.save(&self.rec).await?;
        self.emit(ProgressKind::Final {
            document_id: document_id.to_owned(),
            state: fin,
        });
        Ok(())
    }

    /// `<archive_dir>/<company>/<set id>/`: two companies' sets of the same
    /// id never share a directory.
    fn archive_dir(&self) -> PathBuf {
        self.inner
            .config
            .archive_dir
            .join(sanitize_file_name(&self.rec.company))
            .join(sanitize_file_name(self.rec.set_id.as_str()))
    }

    async fn archive(&mut self, document_id: &str) -> Result<(), StepError> {
        let dir = self.archive_dir();
        let options = self.inner.config.archive;
        // The final document as the feed, a read or the action delivered it, when
        // it links what the archive needs — its zip, or (file by file, where an
        // action's answer is not enough) every file; otherwise (resumed, or links
        // missing) read it.
        let complete = self.final_complete;
        let known = self
            .final_document
            .take()
            .filter(|d| match options.source() {
                ArchiveSource::Files => {
                    complete && archive_links_present(d, document_id, &self.rec.attachment_ids)
                }
                _ => zip_link_present(d, document_id),
            });
        // Streamed: each linked file goes from the network to a private
        // temporary file beside its target, so memory stays bounded by a network
        // chunk whatever the attachments weigh. From the zip, the API permit covers
        // the request only: the zip's check, fsyncs and renames run after it is
        // released, so a set's disk work never holds back another set's request.
        // File by file, network and disk alternate, so that step holds the permit
        // throughout.
        let archiving = {
            let _permit = self.api_permit().await?;
            let doc = match known {
                Some(doc) => doc,
                None => Arc::new(self.inner.saby.read_document(document_id).await?),
            };
            if options.source() == ArchiveSource::Zip && zip_link_present(&doc, document_id) {
                Archiving::ZipDownloaded(Box::new(
                    self.inner
                        .saby
                        .download_zip_archive(&doc, &dir, &options)
                        .await?,
                ))
            } else {
                Archiving::Done(
                    self.inner
                        .saby
                        .archive_document_with(&doc, &dir, &options)
                        .await?,
                )
            }
        };
        let report = match archiving {
            Archiving::ZipDownloaded(zip) => {
                let _disk = tokio::select! {
                    permit = Arc::clone(&self.inner.disk_permits).acquire_owned() => {
                        permit.map_err(|_| StepError::Stopped)?
                    }
                    () = self.stop.cancelled() => return Err(StepError::Stopped),
                };
                zip.finish().await?
            }
            Archiving::Done(report) => report,
        };
        let files = report.written.len() + report.unchanged.len();
        self.rec.advance(Step::Archived);
        self.inner.store.save(&self.rec).await?;
        bump(&self.stats.archived);
        tracing::info!(dir = %dir.display(), files, "archived; set done");
        self.emit(ProgressKind::Archived { dir, files });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use saby_client::{Document, State, StateCode};

    use super::{already_sent, archive_links_present, zip_link_present};

    fn with_state(code: StateCode) -> Document {
        let mut d = Document::new("x");
        d.state = Some(State::new(code));
        d
    }

    #[test]
    fn draft_is_not_sent() {
        assert!(!already_sent(&Document::new("x")));
        assert!(!already_sent(&with_state(StateCode::Editing)));
    }

    #[test]
    fn states_past_editing_are_sent() {
        for code in [
            StateCode::Sent,
            StateCode::Delivered,
            StateCode::Completed,
            StateCode::CompletedWithProblems,
            StateCode::Error,
            StateCode::Processing,
        ] {
            assert!(already_sent(&with_state(code.clone())), "{code:?}");
        }
    }

    #[test]
    fn unknown_state_with_send_stage_offered_is_not_sent() {
        let mut d = with_state(StateCode::Unknown("42".to_owned()));
        assert!(already_sent(&d));
        d.stages = serde_json::from_value(serde_json::json!([{"Название": "Отправка"}])).unwrap();
        assert!(!already_sent(&d));
    }

    fn archivable() -> Document {
        serde_json::from_value(serde_json::json!({
            "Идентификатор": "doc-1",
            "СсылкаНаАрхив": "https://x/doc-1.zip",
            "Вложение": [
                {"Идентификатор": "a1", "Файл": {"Имя": "Паспорт.json", "Ссылка": "https://x/a1"},
                 "Подпись": [{"Файл": {"Имя": "a1.p7s", "Ссылка": "https://x/a1.p7s"}}]},
                {"Идентификатор": "a2", "Файл": {"Имя": "СНИЛС.json", "ДвоичныеДанные": "eA=="}},
                {"Идентификатор": "a3", "Удален": "Да", "Файл": {"Имя": "old.json"}}
            ]
        }))
        .unwrap()
    }

    fn ours() -> Vec<String> {
        vec!["a1".to_owned(), "a2".to_owned()]
    }

    #[test]
    fn a_document_linking_every_file_can_be_archived_as_is() {
        assert!(archive_links_present(&archivable(), "doc-1", &ours()));
        // A deleted attachment needs no link.
        assert!(archive_links_present(&archivable(), "doc-1", &[]));
    }

    #[test]
    fn the_zip_needs_only_this_document_and_its_link() {
        let mut doc = archivable();
        assert!(zip_link_present(&doc, "doc-1"));
        assert!(!zip_link_present(&doc, "doc-2"), "another document");
        doc.attachments.clear();
        assert!(
            zip_link_present(&doc, "doc-1"),
            "attachments are in the zip"
        );
        doc.archive_url = Some("  ".to_owned());
        assert!(!zip_link_present(&doc, "doc-1"), "an empty link");
        doc.archive_url = None;
        assert!(!zip_link_present(&doc, "doc-1"), "no link");
    }

    #[test]
    fn anything_missing_means_reading_the_document() {
        let doc = archivable();
        assert!(
            !archive_links_present(&doc, "doc-2", &ours()),
            "another document"
        );
        let mut d = doc.clone();
        d.archive_url = None;
        assert!(!archive_links_present(&d, "doc-1", &ours()), "no zip link");
        let mut d = doc.clone();
        d.attachments[0].file.as_mut().unwrap().url = None;
        assert!(
            !archive_links_present(&d, "doc-1", &ours()),
            "attachment without link"
        );
        let mut d = doc.clone();
        d.attachments[0].signatures[0].file.as_mut().unwrap().url = None;
        assert!(
            !archive_links_present(&d, "doc-1", &ours()),
            "signature without link"
        );
        let mut d = doc.clone();
        d.attachments[0].signatures[0].file = None;
        assert!(
            !archive_links_present(&d, "doc-1", &ours()),
            "signature without file"
        );
        let mut d = doc.clone();
        d.attachments.clear();
        assert!(
            !archive_links_present(&d, "doc-1", &[]),
            "no attachments at all"
        );
        let mut names = ours();
        names.push("a3".to_owned());
        assert!(
            !archive_links_present(&doc, "doc-1", &names),
            "one of ours missing"
        );
    }
}
