//! The run loop shared by `run_once` and `run`: poll Beorg, schedule pending
//! sets with bounded concurrency, follow the event feed, stop cleanly.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use beorg_client::SetId;

use crate::error::{Error, Result, StoreError, chain};
use crate::pipeline::Inner;
use crate::progress::{Progress, ProgressKind, StopReason, Summary};
use crate::store::{SetRecord, StatusCounts};
use crate::worker::{self, Outcome, Stats};

/// Page size when taking pending sets from the store.
const PAGE: usize = 64;

/// Sets recorded per transaction (and scheduled after) when a Beorg answer is long.
const RECORD_CHUNK: usize = 1024;

/// A set in flight: its id (the pipeline serves one company).
type Key = SetId;

/// Where a deadline too far for the clock lands instead: 100 years on, later
/// than any run lasts, and representable by every platform's clock.
const FAR_FUTURE: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);

/// `now + d`, saturating: a configured duration too large for the clock (a
/// `PIPELINE_POLL_INTERVAL` of `18446744073709551615` seconds,
/// `Duration::MAX`) gives an instant [`FAR_FUTURE`] away, never a panic.
fn after(now: Instant, d: std::time::Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// [`after`] on tokio's clock.
fn after_tokio(now: tokio::time::Instant, d: std::time::Duration) -> tokio::time::Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

struct Driver<'a> {
    inner: &'a Arc<Inner>,
    stats: Arc<Stats>,
    tasks: JoinSet<(Key, Result<Outcome, StoreError>)>,
    in_flight: HashSet<Key>,
    /// Sets left pending in this run, not to be retried before the instant.
    cooldown: HashMap<Key, Instant>,
    task_stop: CancellationToken,
    poll_failures: u32,
    /// When the last successful Beorg poll was sent (the watermark dates gaps
    /// against it).
    last_asked: Option<OffsetDateTime>,
    /// The outliers the watermark reported last (warned about when they change).
    outliers: Vec<u64>,
    /// When the claims of the sets in flight were last renewed.
    renewed: Instant,
    /// The last Beorg answer of this run: the `start_id` it was asked from and
    /// the highest set number it listed (0: none). A set a later answer lists
    /// above both was not ready then (see `Inner::vouch`).
    previous_answer: Option<(u64, u64)>,
}

impl Driver<'_> {
    /// Asks Beorg for the company's ready sets from its `start_id`, records
    /// the new ones (each once, with its contour; skipped when the contour
    /// filter excludes it) and moves the company's watermark. Returns whether
    /// Beorg answered (a retryable failure is retried at the next pass; the
    /// watermark only moves after an answer).
    async fn poll_ready(&mut self) -> Result<bool> {
        let inner = self.inner;
        let company = inner.company.as_str();
        let start = inner
            .store
            .start_id(company)
            .await?
            .unwrap_or(inner.config.initial_start_id);
        // Gaps are dated against the time Beorg was asked: a gap is released
        // only when an answer to a request sent after its grace was over still
        // did not list it.
        let asked_at = OffsetDateTime::now_utc();
        let ready = {
            // Held while Beorg answers (the semaphore is never closed, so this
            // is always a permit).
            let _permit = inner.api_permits.acquire().await;
            inner.beorg.ready(start).await
        };
        let ready = match ready {
            Ok(r) => {
                self.poll_failures = 0;
                r
            }
            Err(e) => {
                self.poll_failures += 1;
                let e = Error::Beorg(e);
                tracing::warn!(error = %chain(&e), failures = self.poll_failures, "polling Beorg failed");
                if !e.is_retryable() || self.poll_failures >= inner.config.max_passes {
                    return Err(e);
                }
                return Ok(false);
            }
        };
        let seen_at = OffsetDateTime::now_utc();
        // Borrowed from the answer, not copied: a first poll over a year's backlog
        // holds its ids once (and 16 bytes a set to list them), and only a chunk of
        // records is built from them at a time.
        let listed = ready.set_refs();
        let listed_max = listed
            .iter()
            .filter_map(|(id, _)| id.number())
            .max()
            .unwrap_or(0);
        let previous = self.previous_answer.replace((start, listed_max));
        // A set numbered at or above the previous answer's start_id and above
        // every number it listed was not ready when Beorg gave that answer.
        let became_ready = |number: u64| {
            number != 0 && previous.is_some_and(|(from, max)| number >= from && number > max)
        };
        // `ready` is authoritative: every set in it once, whatever `by_project`
        // says; the contour is a property of the set. Recorded a chunk at a time
        // (one transaction each), and scheduled after each chunk: the first sets
        // are on their way while the rest of a long answer is still being recorded,
        // and no more than a chunk of records is ever built at once.
        let mut listed = listed.into_iter();
        loop {
            let chunk: Vec<SetRecord> = listed
                .by_ref()
                .filter_map(|(id, contour)| {
                    let number = id.number().unwrap_or(0);
                    if number != 0 && number < start {
                        return None;
                    }
                    let skip = inner.config.skip_reason(contour);
                    let mut new = SetRecord::seen_at(company, id.clone(), seen_at)
                        .with_contour(contour.map(str::to_owned));
                    if let Some(reason) = skip {
                        new = new.skipped(reason);
                    }
                    Some(new)
                })
                .take(RECORD_CHUNK)
                .collect();
            if chunk.is_empty() {
                break;
            }
            let fresh: HashSet<SetId> = inner.store.insert_new(&chunk).await?.into_iter().collect();
            for set in chunk.into_iter().filter(|s| fresh.contains(&s.set_id)) {
                if set.skip.is_none() && became_ready(set.number) {
                    inner.vouch(set.set_id.clone());
                }
                let contour = set.contour.as_deref().unwrap_or("");
                let kind = match set.skip {
                    Some(reason) => {
                        tracing::info!(set_id = %set.set_id, contour, reason = %reason, "set seen; skipped");
                        self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                        ProgressKind::Skipped { reason }
                    }
                    None => {
                        tracing::info!(set_id = %set.set_id, contour, "set seen");
                        self.stats.seen.fetch_add(1, Ordering::Relaxed);
                        ProgressKind::Seen
                    }
                };
                inner.emit(Progress::new(
                    company,
                    set.contour.as_deref(),
                    &set.set_id,
                    kind,
                ));
            }
            if !fresh.is_empty() {
                self.schedule().await?;
            }
        }
        // The answer goes before the watermark's window of every set from
        // `start_id` is read: the two are never held at once.
        drop(listed);
        drop(ready);
        self.last_asked = Some(asked_at);
        self.advance(start).await?;
        Ok(true)
    }

    /// Moves the company's watermark as of the last successful poll (nothing
    /// before one), from `start`; warns when its outliers change.
    async fn advance(&mut self, start: u64) -> Result<()> {
        let Some(asked_at) = self.last_asked else {
            return Ok(());
        };
        let inner = self.inner;
        let rule = inner.config.watermark_rule();
        let advance =
            crate::store::advance_watermark(inner.store.as_ref(), &inner.company, &rule, asked_at)
                .await?;
        if let Some(advance) = advance {
            if advance.start_id != start {
                tracing::debug!(from = start, to = advance.start_id, "start_id moved");
            }
            if advance.outliers != self.outliers {
                if !advance.outliers.is_empty() {
                    tracing::warn!(
                        start_id = advance.start_id,
                        outliers = ?advance.outliers,
                        max_jump = inner.config.max_jump,
                        "ready sets far above the others are processed but do not move start_id"
                    );
                }
                self.outliers = advance.outliers;
            }
        }
        Ok(())
    }

    /// Whether the store already holds at least
    /// [`max_in_flight`](crate::PipelineConfig::max_in_flight) pending sets:
    /// then polling Beorg is skipped (back-pressure). Those sets keep every
    /// slot busy until they settle, and each poll would only materialize the
    /// whole ready backlog (every ready id from `start_id`) again to record
    /// nothing new; sets Beorg holds meanwhile are picked up by the first poll
    /// after the backlog shrinks, as the watermark has not passed them.
    async fn backlogged(&self) -> Result<bool> {
        let inner = self.inner;
        let limit = u64::try_from(inner.config.max_in_flight).unwrap_or(u64::MAX);
        let pending = inner.store.pending_count(&inner.company).await?;
        Ok(pending >= limit)
    }

    /// Starts a task for every pending set not in flight (up to the limit),
    /// [claiming](crate::store::StateStore::claim_pending) them. Returns
    /// whether any pending set exists.
    async fn schedule(&mut self) -> Result<bool> {
        let inner = self.inner;
        let now = Instant::now();
        self.cooldown.retain(|_, until| *until > now);
        let mut any_pending = false;
        let mut after: Option<(u64, SetId)> = None;
        loop {
            if self.in_flight.len() >= inner.config.max_in_flight {
                return Ok(true);
            }
            let page = inner
                .store
                .claim_pending(
                    &inner.company,
                    &inner.claim,
                    after.as_ref().map(|(n, id)| (*n, id)),
                    PAGE,
                )
                .await?;
            let full = page.len() == PAGE;
            if let Some(last) = page.last() {
                after = Some((last.number, last.set_id.clone()));
            }
            for record in page {
                any_pending = true;
                let key = record.set_id.clone();
                if self.in_flight.contains(&key) || self.cooldown.contains_key(&key) {
                    continue;
                }
                if self.in_flight.len() >= inner.config.max_in_flight {
                    return Ok(true);
                }
                self.in_flight.insert(key.clone());
                let task = worker::process(
                    Arc::clone(inner),
                    record,
                    self.task_stop.clone(),
                    Arc::clone(&self.stats),
                );
                self.tasks.spawn(async move { (key, task.await) });
            }
            if !full {
                break;
            }
        }
        Ok(any_pending)
    }

    /// A set's task ended: its claim is given up, and a set left pending is
    /// not taken again before the next pass.
    async fn finished(
        &mut self,
        joined: std::result::Result<(Key, Result<Outcome, StoreError>), tokio::task::JoinError>,
    ) -> Result<()> {
        let (key, result) = joined.map_err(|source| Error::Task { source })?;
        self.in_flight.remove(&key);
        self.release(&key).await;
        match result? {
            Outcome::Settled => {}
            Outcome::Pending => {
                self.cooldown
                    .insert(key, after(Instant::now(), self.inner.config.poll_interval));
            }
        }
        Ok(())
    }

    /// Gives up this pipeline's claim on a set. A failure is only logged: an
    /// unreleased claim expires with its lease.
    async fn release(&self, key: &SetId) {
        let inner = self.inner;
        if let Err(e) = inner
            .store
            .release_claim(&inner.company, &inner.claim, key)
            .await
        {
            tracing::warn!(set_id = %key, error = %chain(&e), "releasing a claim failed; it expires with its lease");
        }
    }

    /// Renews the claims of the sets in flight every third of the lease.
    async fn renew_claims(&mut self) -> Result<()> {
        let inner = self.inner;
        if self.in_flight.is_empty() || self.renewed.elapsed() < inner.claim.lease / 3 {
            return Ok(());
        }
        let ids: Vec<SetId> = self.in_flight.iter().cloned().collect();
        inner
            .store
            .renew_claims(&inner.company, &inner.claim, &ids)
            .await?;
        self.renewed = Instant::now();
        Ok(())
    }

    /// Stops the set tasks: they finish their current step (up to the grace
    /// period), then whatever is left is dropped (safe: nothing unrecorded
    /// has been promised).
    async fn shutdown(&mut self) -> Result<()> {
        self.task_stop.cancel();
        let grace = tokio::time::sleep(self.inner.config.shutdown_grace);
        tokio::pin!(grace);
        let mut first_error = None;
        loop {
            tokio::select! {
                joined = self.tasks.join_next() => match joined {
                    Some(j) => {
                        if let Err(e) = self.finished(j).await {
                            first_error.get_or_insert(e);
                        }
                    }
                    None => break,
                },
                () = &mut grace => {
                    tracing::warn!(left = self.tasks.len(), "shutdown grace period over; dropping in-flight steps");
                    self.tasks.shutdown().await;
                    let left: Vec<SetId> = self.in_flight.drain().collect();
                    for key in &left {
                        self.release(key).await;
                    }
                    break;
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The company's totals, overall and per contour.
async fn totals(
    inner: &Inner,
) -> Result<(
    StatusCounts,
    std::collections::BTreeMap<Option<String>, StatusCounts>,
)> {
    let by_contour: std::collections::BTreeMap<Option<String>, StatusCounts> = inner
        .store
        .contour_counts(&inner.company)
        .await?
        .into_iter()
        .collect();
    let mut totals = StatusCounts::default();
    for c in by_contour.values() {
        totals.merge(c);
    }
    Ok((totals, by_contour))
}

pub(crate) async fn drive(
    inner: &Arc<Inner>,
    stop: CancellationToken,
    once: bool,
) -> Result<Summary> {
    let _run = inner.run_lock.lock().await;
    let started = Instant::now();
    let span = tracing::info_span!("pipeline_run", once, company = %inner.company);
    let feed_stop = CancellationToken::new();
    let mut feed = JoinSet::new();
    feed.spawn(crate::feed::follow(Arc::clone(inner), feed_stop.clone()));
    let mut driver = Driver {
        inner,
        stats: Arc::new(Stats::default()),
        tasks: JoinSet::new(),
        in_flight: HashSet::new(),
        cooldown: HashMap::new(),
        task_stop: CancellationToken::new(),
        poll_failures: 0,
        last_asked: None,
        outliers: Vec::new(),
        renewed: Instant::now(),
        previous_answer: None,
    };
    let deadline = if once {
        inner
            .config
            .run_deadline
            .map(|d| after_tokio(tokio::time::Instant::now(), d))
    } else {
        None
    };
    let outcome: Result<StopReason> = async {
        let mut last_poll: Option<Instant> = None;
        // `run_once` only drains after Beorg actually answered, and never
        // while a poll skipped for back-pressure is still owed.
        let mut polled = false;
        loop {
            if stop.is_cancelled() {
                return Ok(StopReason::Cancelled);
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return Ok(StopReason::Deadline);
            }
            // Resume first: the store's pending sets start before the poll.
            let mut any_pending = driver.schedule().await?;
            if last_poll.is_none_or(|t| t.elapsed() >= inner.config.poll_interval) {
                if driver.backlogged().await? {
                    // Owed: polled again as soon as the backlog shrinks (the
                    // poll stays due, so the next pass asks).
                    tracing::debug!("enough pending sets stored; Beorg poll skipped");
                    polled = false;
                } else {
                    polled = driver.poll_ready().await?;
                    last_poll = Some(Instant::now());
                    any_pending = driver.schedule().await? || any_pending;
                }
            }
            if once && polled && !any_pending && driver.tasks.is_empty() {
                return Ok(StopReason::Drained);
            }
            driver.renew_claims().await?;
            // At least every third of the claim lease, so claims are renewed in time.
            let tick = tokio::time::sleep(inner.config.poll_interval.min(inner.claim.lease / 3));
            tokio::pin!(tick);
            loop {
                tokio::select! {
                    joined = driver.tasks.join_next(), if !driver.tasks.is_empty() => {
                        if let Some(j) = joined {
                            driver.finished(j).await?;
                        }
                        if once && driver.tasks.is_empty() {
                            break;
                        }
                    }
                    () = &mut tick => break,
                    () = stop.cancelled() => break,
                    () = async {
                        match deadline {
                            Some(d) => tokio::time::sleep_until(d).await,
                            None => std::future::pending().await,
                        }
                    } => break,
                }
            }
            match feed.try_join_next() {
                Some(Ok(Err(e))) => return Err(e.into()),
                Some(Err(e)) => {
                    // Waiting sets still re-read their documents every recheck_interval.
                    tracing::error!(error = %e, "event feed task died; relying on direct re-reads");
                }
                Some(Ok(Ok(()))) | None => {}
            }
        }
    }
    .instrument(span.clone())
    .await;

    let shutdown = driver.shutdown().instrument(span.clone()).await;
    feed_stop.cancel();
    while let Some(joined) = feed.join_next().await {
        if let Ok(Err(e)) = joined {
            tracing::error!(error = %chain(&e), "event feed stopped with a store error");
        }
    }
    let stop_reason = outcome?;
    shutdown?;
    // Sets that settled since the last poll move the watermark now (as of
    // that poll), so the next run starts from there.
    let start = inner
        .store
        .start_id(&inner.company)
        .await?
        .unwrap_or(inner.config.initial_start_id);
    driver.advance(start).instrument(span.clone()).await?;
    let stats = &driver.stats;
    let (totals, by_contour) = totals(inner).await?;
    let summary = Summary {
        seen: stats.seen.load(Ordering::Relaxed),
        written: stats.written.load(Ordering::Relaxed),
        sent: stats.sent.load(Ordering::Relaxed),
        already_sent: stats.already_sent.load(Ordering::Relaxed),
        archived: stats.archived.load(Ordering::Relaxed),
        failed: stats.failed.load(Ordering::Relaxed),
        skipped: stats.skipped.load(Ordering::Relaxed),
        held: stats.held.load(Ordering::Relaxed),
        retries: stats.retries.load(Ordering::Relaxed),
        totals,
        by_contour,
        outliers: driver.outliers.clone(),
        stop: stop_reason,
        elapsed: started.elapsed(),
    };
    span.in_scope(|| tracing::info!(%summary, "run finished"));
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{FAR_FUTURE, after, after_tokio};

    #[test]
    fn deadlines_saturate_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(
            after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        for huge in [Duration::MAX, Duration::from_secs(u64::MAX)] {
            assert_eq!(after(now, huge), now + FAR_FUTURE);
        }
        let now = tokio::time::Instant::now();
        assert_eq!(after_tokio(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(
            after_tokio(now, Duration::from_millis(1)),
            now + Duration::from_millis(1)
        );
    }
}
