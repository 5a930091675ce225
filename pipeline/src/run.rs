//! The run loop shared by `run_once` and `run`: poll Beorg, schedule pending
//! sets with bounded concurrency, follow the event feed, stop cleanly.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use beorg_client::{ReadySets, SetId};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::error::{Error, Result, StoreError, chain};
use crate::pipeline::Inner;
use crate::progress::{Progress, StopReason, Summary};
use crate::store::{SetStatus, StatusCounts};
use crate::worker::{self, Outcome, Stats};

/// Page size when listing pending sets from the store.
const PAGE: usize = 64;

type Key = (String, String);

/// Which ready sets belong to `project`: its `by_project` entry when Beorg
/// gave one; the plain `ready` list when Beorg gave no `by_project` at all, or
/// for sets `by_project` does not attribute when `project` is the client's own.
fn sets_for_project<'a>(
    ready: &'a ReadySets,
    project: &str,
    client_project: &str,
) -> Vec<&'a SetId> {
    if ready.by_project.is_empty() {
        return ready.ready.iter().collect();
    }
    let mut out: Vec<&SetId> = ready
        .by_project
        .get(project)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    if project == client_project {
        let attributed: HashSet<&SetId> = ready.by_project.values().flatten().collect();
        out.extend(ready.ready.iter().filter(|s| !attributed.contains(s)));
    }
    out
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
}

impl Driver<'_> {
    /// Asks Beorg for ready sets, records the new ones and moves each
    /// project's `start_id` watermark (releasing gaps past
    /// [`gap_grace`](crate::PipelineConfig::gap_grace)). Returns whether Beorg
    /// answered (a retryable failure is retried at the next pass; the
    /// watermark only moves after an answer).
    async fn poll_ready(&mut self) -> Result<bool> {
        let inner = self.inner;
        let mut starts = Vec::with_capacity(inner.projects.len());
        for project in &inner.projects {
            let p = project.clone();
            let start = inner
                .store
                .call(move |s| s.start_id(&p))
                .await?
                .unwrap_or(inner.config.initial_start_id);
            starts.push((project.clone(), start));
        }
        let min_start = starts.iter().map(|(_, s)| *s).min().unwrap_or(1);
        // Gaps are dated against the time Beorg was asked: a gap is released
        // only when an answer to a request sent after its grace was over still
        // did not list it.
        let asked_at = OffsetDateTime::now_utc();
        let ready = {
            let _permit = inner
                .api_permits
                .acquire()
                .await
                .map_err(|_| Error::Task("semaphore closed".to_owned()))?;
            inner.beorg.ready(min_start).await
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
        let gap_grace = inner.config.gap_grace;
        for (project, start) in starts {
            let sets: Vec<(String, u64)> =
                sets_for_project(&ready, &project, inner.beorg.project_id())
                    .into_iter()
                    .filter_map(|id| {
                        let number = id.number().unwrap_or(0);
                        (number == 0 || number >= start).then(|| (id.as_str().to_owned(), number))
                    })
                    .collect();
            if !sets.is_empty() {
                let p = project.clone();
                let fresh = inner
                    .store
                    .call(move |s| s.record_seen_at(&p, &sets, seen_at))
                    .await?;
                for set_id in fresh {
                    tracing::info!(project = %project, set_id = %set_id, "set seen");
                    self.stats.seen.fetch_add(1, Ordering::Relaxed);
                    inner.emit(Progress::SetSeen {
                        project: project.clone(),
                        set_id,
                    });
                }
            }
            let p = project.clone();
            let moved = inner
                .store
                .call(move |s| s.advance_start_id(&p, asked_at, gap_grace))
                .await?;
            if let Some(moved) = moved.filter(|m| *m != start) {
                tracing::debug!(project = %project, from = start, to = moved, "start_id moved");
            }
        }
        Ok(true)
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
        let mut pending = 0u64;
        for project in &inner.projects {
            let p = project.clone();
            pending += inner.store.call(move |s| s.pending_count(&p)).await?;
            if pending >= limit {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Starts a task for every pending set not in flight (up to the limit).
    /// Returns whether any pending set exists.
    async fn schedule(&mut self) -> Result<bool> {
        let inner = self.inner;
        let now = Instant::now();
        self.cooldown.retain(|_, until| *until > now);
        let mut any_pending = false;
        for project in &inner.projects {
            let mut after: Option<(u64, String)> = None;
            loop {
                if self.in_flight.len() >= inner.config.max_in_flight {
                    return Ok(true);
                }
                let p = project.clone();
                let a = after.clone();
                let page = inner
                    .store
                    .call(move |s| {
                        s.list(
                            &p,
                            Some(SetStatus::Pending),
                            a.as_ref().map(|(n, id)| (*n, id.as_str())),
                            PAGE,
                        )
                    })
                    .await?;
                let full = page.len() == PAGE;
                if let Some(last) = page.last() {
                    after = Some((last.number, last.set_id.clone()));
                }
                for record in page {
                    any_pending = true;
                    let key = (record.project.clone(), record.set_id.clone());
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
        }
        Ok(any_pending)
    }

    fn finished(
        &mut self,
        joined: std::result::Result<(Key, Result<Outcome, StoreError>), tokio::task::JoinError>,
    ) -> Result<()> {
        match joined {
            Ok((key, result)) => {
                self.in_flight.remove(&key);
                match result? {
                    Outcome::Settled => {}
                    Outcome::Pending => {
                        self.cooldown
                            .insert(key, Instant::now() + self.inner.config.poll_interval);
                    }
                }
                Ok(())
            }
            Err(e) => Err(Error::Task(format!("a set's task failed: {e}"))),
        }
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
                        if let Err(e) = self.finished(j) {
                            first_error.get_or_insert(e);
                        }
                    }
                    None => break,
                },
                () = &mut grace => {
                    tracing::warn!(left = self.tasks.len(), "shutdown grace period over; dropping in-flight steps");
                    self.tasks.shutdown().await;
                    break;
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

async fn totals(inner: &Inner) -> Result<StatusCounts> {
    let mut totals = StatusCounts::default();
    for project in &inner.projects {
        let p = project.clone();
        let c = inner.store.call(move |s| s.counts(&p)).await?;
        totals.pending += c.pending;
        totals.done += c.done;
        totals.failed += c.failed;
    }
    Ok(totals)
}

pub(crate) async fn drive(
    inner: &Arc<Inner>,
    stop: CancellationToken,
    once: bool,
) -> Result<Summary> {
    let _run = inner.run_lock.lock().await;
    let started = Instant::now();
    let span = tracing::info_span!("pipeline_run", once, projects = ?inner.projects);
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
    };
    let deadline = if once {
        inner
            .config
            .run_deadline
            .map(|d| tokio::time::Instant::now() + d)
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
            let tick = tokio::time::sleep(inner.config.poll_interval);
            tokio::pin!(tick);
            loop {
                tokio::select! {
                    joined = driver.tasks.join_next(), if !driver.tasks.is_empty() => {
                        if let Some(j) = joined {
                            driver.finished(j)?;
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
    let stats = &driver.stats;
    let summary = Summary {
        seen: stats.seen.load(Ordering::Relaxed),
        written: stats.written.load(Ordering::Relaxed),
        sent: stats.sent.load(Ordering::Relaxed),
        already_sent: stats.already_sent.load(Ordering::Relaxed),
        archived: stats.archived.load(Ordering::Relaxed),
        failed: stats.failed.load(Ordering::Relaxed),
        retries: stats.retries.load(Ordering::Relaxed),
        totals: totals(inner).await?,
        stop: stop_reason,
        elapsed: started.elapsed(),
    };
    span.in_scope(|| tracing::info!(%summary, "run finished"));
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use beorg_client::{ReadySets, SetId};

    use super::sets_for_project;

    fn sets(numbers: &[u64]) -> Vec<SetId> {
        numbers.iter().copied().map(SetId::from_number).collect()
    }

    fn ids(ready: &ReadySets, project: &str, client: &str) -> Vec<String> {
        let mut v: Vec<String> = sets_for_project(ready, project, client)
            .into_iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn without_by_project_everything_is_the_projects() {
        let mut ready = ReadySets::default();
        ready.ready = sets(&[16, 17]);
        assert_eq!(ids(&ready, "A", "A"), ["s-16", "s-17"]);
    }

    #[test]
    fn by_project_routes_sets_to_their_contour() {
        let mut ready = ReadySets::default();
        ready.ready = sets(&[16, 17, 18]);
        ready.by_project.insert("A".into(), sets(&[16]));
        ready.by_project.insert("B".into(), sets(&[17]));
        // The client's own project also gets what by_project does not attribute.
        assert_eq!(ids(&ready, "A", "A"), ["s-16", "s-18"]);
        assert_eq!(ids(&ready, "B", "A"), ["s-17"]);
        assert!(ids(&ready, "C", "A").is_empty());
    }
}
