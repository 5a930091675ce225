//! [`Pipeline`] and [`PipelineBuilder`]: wiring the clients, the mapper, the
//! signer and the state store together.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use beorg_client::SetId;
use saby_client::{Document, ServerSigner, Signer};
use time::{Date, OffsetDateTime, UtcOffset};
use tokio::sync::{OnceCell, Semaphore, broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::config::PipelineConfig;
use crate::error::{Error, Result};
use crate::mapper::{DefaultMapper, DocumentMapper};
use crate::progress::{Progress, ProgressKind, Summary};
use crate::review::Decision;
use crate::store::{Claim, Replay, SetRecord, StateStore};

/// Capacity of the [`Pipeline::subscribe`] channel; a receiver further behind
/// than this gets `RecvError::Lagged` and skips ahead.
pub const PROGRESS_CHANNEL_CAPACITY: usize = 1024;

type Callback = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What "today" is for the data checks.
type Today = Arc<dyn Fn() -> Date + Send + Sync>;

/// The default "today" of the data checks: the date in UTC+12, the easternmost
/// Russian time zone (Kamchatka). A document issued today anywhere in Russia is
/// then never "in the future"; the price is that a date check may run up to a
/// day early further west (an expiry or a replacement seen a day sooner).
pub fn default_today() -> Date {
    let kamchatka = UtcOffset::from_hms(12, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(kamchatka).date()
}

/// The Beorg → Saby pipeline. Cheap to share (`Arc` inside); run it with
/// [`run_once`](Pipeline::run_once) or [`run_until`](Pipeline::run_until).
///
/// See the [crate documentation](crate) for the flow and an example.
#[derive(Clone)]
pub struct Pipeline {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("company", &self.inner.company)
            .field("worker", &self.inner.claim.worker)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

/// How many archives may do their disk work (check the zip, sync, rename) at
/// once, after their download released its API permit. Syncs on one disk gain
/// little from more; each running one takes one of the Saby client's file
/// threads (`ClientBuilder::max_blocking_file_tasks`, which bounds them too).
pub(crate) const ARCHIVE_DISK_PERMITS: usize = 4;

pub(crate) struct Inner {
    pub(crate) config: PipelineConfig,
    /// The Beorg company: the client's `project_id`.
    pub(crate) company: String,
    pub(crate) beorg: beorg_client::Client,
    pub(crate) saby: saby_client::Client,
    pub(crate) signer: Arc<dyn Signer>,
    pub(crate) mapper: Arc<dyn DocumentMapper>,
    pub(crate) store: Arc<dyn StateStore>,
    /// This pipeline's hold on the sets it takes (see [`StateStore::claim_pending`]).
    pub(crate) claim: Claim,
    /// The company's `start_id` as first initialized (once per pipeline).
    company_ready: OnceCell<u64>,
    progress: broadcast::Sender<Progress>,
    callback: Option<Callback>,
    /// Bounds the sets doing API work at once.
    pub(crate) api_permits: Arc<Semaphore>,
    /// Bounds the sets between their first step and their send (twice
    /// `concurrency`): the API permits go to a few sets at a time, each taken
    /// through to its send, instead of round-robin over every set in flight —
    /// with a backlog, the first sends come after a few requests, not after
    /// every set in flight was fetched (the order of the permits' queue).
    pub(crate) sending: Arc<Semaphore>,
    /// Bounds the archives doing disk work (the zip's check, fsyncs and renames)
    /// at once, outside the API permits: [`ARCHIVE_DISK_PERMITS`], so the Saby
    /// client's file threads stay free for the downloads' own writes.
    pub(crate) disk_permits: Arc<Semaphore>,
    /// Sets waiting for a final state, by Saby document id (in-flight only):
    /// the feed hands each the document of its latest event.
    pub(crate) waiters: Mutex<HashMap<String, watch::Sender<Option<Arc<Document>>>>>,
    /// Sets this process saw become ready and recorded as new, not written
    /// yet: see [`Inner::vouch`].
    vouched: Mutex<HashSet<SetId>>,
    /// One run at a time per pipeline.
    pub(crate) run_lock: tokio::sync::Mutex<()>,
    /// One review decision at a time per pipeline (read, check, save).
    decide_lock: tokio::sync::Mutex<()>,
    /// "Today" for the data checks.
    today: Today,
}

impl Inner {
    pub(crate) fn emit(&self, event: Progress) {
        if let Some(cb) = &self.callback {
            cb(&event);
        }
        // No receiver is fine: progress is optional.
        let _ = self.progress.send(event);
    }

    /// Records that this process saw `set` become ready — a Beorg answer listed
    /// it that an earlier answer of the same run, asked from a `start_id` at or
    /// below its number, did not — and recorded it as new in the state. Nobody
    /// can have written or sent its document before that earlier answer (Beorg
    /// did not list it as ready yet), and since then only this process has
    /// worked on it (it holds the state file; two pipelines on two state files
    /// for one company at once are not supported). So the write needs no guard
    /// read. Kept in memory only: a restart, a lost or restored state file
    /// forget it, and the guard read is made again.
    pub(crate) fn vouch(&self, set: SetId) {
        self.vouched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(set);
    }

    /// Whether [`vouch`](Self::vouch) recorded `set` (and it was not written since).
    pub(crate) fn is_vouched(&self, set: &SetId) -> bool {
        self.vouched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(set)
    }

    /// Forgets `set`: written (or settled) — the state knows it from now on.
    pub(crate) fn unvouch(&self, set: &SetId) {
        self.vouched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(set);
    }

    /// "Today" for the data checks ([`PipelineBuilder::today`]).
    pub(crate) fn today(&self) -> Date {
        (self.today)()
    }

    pub(crate) fn waiters(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<Option<Arc<Document>>>>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes sure the store knows the company (once per pipeline; the SQLite
    /// store adopts an older state file's sets then).
    pub(crate) async fn ensure_company(&self) -> Result<u64> {
        let start = self
            .company_ready
            .get_or_try_init(|| {
                self.store
                    .init_company(&self.company, self.config.initial_start_id)
            })
            .await?;
        Ok(*start)
    }
}

impl Pipeline {
    /// A builder over the three parts every pipeline needs: the
    /// configuration and both clients (each client's connection pool, and
    /// Saby's session, are shared by every set). The company is the Beorg
    /// client's `project_id`.
    pub fn builder(
        config: PipelineConfig,
        beorg: beorg_client::Client,
        saby: saby_client::Client,
    ) -> PipelineBuilder {
        PipelineBuilder {
            config,
            beorg,
            saby,
            signer: None,
            mapper: None,
            store: None,
            callback: None,
            worker_id: None,
            claim_lease: Claim::DEFAULT_LEASE,
            today: None,
        }
    }

    /// Receives the [`Progress`] events from now on. A receiver that falls more than
    /// [`PROGRESS_CHANNEL_CAPACITY`] events behind loses the oldest ones
    /// (`RecvError::Lagged`): to count or record every event, use
    /// [`PipelineBuilder::on_progress`], which is called for each.
    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        self.inner.progress.subscribe()
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.inner.config
    }

    /// The Beorg company this pipeline serves: its client's `project_id`.
    pub fn company(&self) -> &str {
        &self.inner.company
    }

    /// The state store (to list sets for a report, for example).
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.inner.store
    }

    /// Processes what is ready: resumes unfinished sets from the store, polls
    /// Beorg, and works until every seen set is settled (done or recorded
    /// failed) or [`PipelineConfig::run_deadline`] passes. Per-set failures
    /// are recorded, not returned; an `Err` means the run could not go on
    /// (state store failure, Beorg refusing every poll).
    pub async fn run_once(&self) -> Result<Summary> {
        self.drive(std::future::pending(), true).await
    }

    /// Like [`run_once`](Self::run_once), but stops (checkpointing the sets
    /// in flight) as soon as `shutdown` completes, whatever is left.
    ///
    /// `shutdown` is any future: a signal (`async { let _ =
    /// tokio::signal::ctrl_c().await; }`), a channel, a timer, a
    /// `CancellationToken::cancelled_owned()`.
    pub async fn run_once_until(
        &self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<Summary> {
        self.drive(shutdown, true).await
    }

    /// Polls forever at [`PipelineConfig::poll_interval`] until `shutdown`
    /// completes; then stops scheduling, lets in-flight steps finish (up to
    /// [`PipelineConfig::shutdown_grace`]) and returns. Every set not finished
    /// is left at its last completed step and resumed by the next run.
    ///
    /// ```no_run
    /// # async fn f(pipeline: hr_docs_pipeline::Pipeline) -> hr_docs_pipeline::Result<()> {
    /// // Stop when told to (from a signal handler, an admin endpoint, …);
    /// // `async { let _ = tokio::signal::ctrl_c().await; }` works the same way.
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// # drop(stop);
    /// let summary = pipeline
    ///     .run_until(async {
    ///         let _ = stopped.await;
    ///     })
    ///     .await?;
    /// println!("{summary}");
    /// # Ok(()) }
    /// ```
    pub async fn run_until(&self, shutdown: impl Future<Output = ()> + Send) -> Result<Summary> {
        self.drive(shutdown, false).await
    }

    /// Runs the loop, turning `shutdown`'s completion into the loop's stop
    /// signal (the loop itself is never dropped mid-step by it).
    async fn drive(
        &self,
        shutdown: impl Future<Output = ()> + Send,
        once: bool,
    ) -> Result<Summary> {
        self.inner.ensure_company().await?;
        let stop = CancellationToken::new();
        let run = crate::run::drive(&self.inner, stop.clone(), once);
        tokio::pin!(run);
        tokio::pin!(shutdown);
        let mut fired = false;
        loop {
            tokio::select! {
                summary = &mut run => return summary,
                () = &mut shutdown, if !fired => {
                    fired = true;
                    stop.cancel();
                }
            }
        }
    }

    /// Every set held for review, in set order, with its
    /// [`findings`](SetRecord::findings) (and any earlier decisions): the
    /// review queue. See [`crate::review`].
    pub async fn held_sets(&self) -> Result<Vec<SetRecord>> {
        self.inner.ensure_company().await?;
        Ok(crate::review::held_sets(self.inner.store.as_ref(), &self.inner.company).await?)
    }

    /// Records a reviewer's `decision` about the held set `set_id` (see
    /// [`crate::review`] for what each decision does) and returns the record
    /// as saved; reported as [`ProgressKind::Decided`]. The decision is
    /// persisted before this returns, in the same save that puts the set back
    /// to pending (or rejects it): the next pass — of this pipeline's
    /// [`run_until`](Self::run_until) if it is running, or of the next run —
    /// processes it, exactly once.
    ///
    /// ```no_run
    /// # async fn f(pipeline: hr_docs_pipeline::Pipeline) -> hr_docs_pipeline::Result<()> {
    /// use hr_docs_pipeline::Decision;
    /// use hr_docs_pipeline::beorg_client::SetId;
    ///
    /// for held in pipeline.held_sets().await? {
    ///     for finding in &held.findings {
    ///         println!("{} {finding}", held.set_id); // never a recognized value
    ///     }
    /// }
    /// let set = SetId::new("s-104");
    /// pipeline
    ///     .decide(&set, Decision::send_without(["MEDBOOK1"], "hr-operator-7"))
    ///     .await?;
    /// pipeline.run_once().await?; // sent, without MEDBOOK1
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Review`] when the decision is refused — the set is not held
    /// (not found, already decided), a document key it names is not among the
    /// held set's findings, it names no reviewer — and nothing is recorded;
    /// [`Error::Store`] when the store fails.
    pub async fn decide(&self, set_id: &SetId, decision: Decision) -> Result<SetRecord> {
        self.inner.ensure_company().await?;
        let _one_at_a_time = self.inner.decide_lock.lock().await;
        let kind = decision.kind.clone();
        let record = crate::review::decide(
            self.inner.store.as_ref(),
            &self.inner.company,
            set_id,
            decision,
        )
        .await?;
        tracing::info!(
            company = %record.company,
            set_id = %record.set_id,
            decision = kind.as_str(),
            status = %record.status,
            "review decision recorded"
        );
        self.inner.emit(Progress::new(
            &record.company,
            record.contour.as_deref(),
            &record.set_id,
            ProgressKind::Decided { decision: kind },
        ));
        Ok(record)
    }

    /// Puts failed sets back to pending so the next (or the running) pass
    /// processes them again from the step that failed (see
    /// [`store::replay_failed`](crate::store::replay_failed) for which sets,
    /// and how). Returns the records as replayed, each also reported as
    /// [`ProgressKind::Replayed`].
    pub async fn replay_failed(&self, which: Replay) -> Result<Vec<SetRecord>> {
        self.inner.ensure_company().await?;
        let replayed = crate::store::replay_failed(
            self.inner.store.as_ref(),
            &self.inner.company,
            &which,
            OffsetDateTime::now_utc(),
        )
        .await?;
        for r in &replayed {
            tracing::info!(company = %r.company, set_id = %r.set_id, step = %r.step, "replaying set");
            self.inner.emit(Progress::new(
                &r.company,
                r.contour.as_deref(),
                &r.set_id,
                ProgressKind::Replayed,
            ));
        }
        Ok(replayed)
    }
}

/// Builds a [`Pipeline`]: the required parts are the arguments of
/// [`Pipeline::builder`]; each plug-in below has a default.
///
/// Every plug-in is passed the same way, as `impl Trait`: the common case
/// (a value you build and hand over) needs no `Arc`, and a shared one still
/// works — `StateStore` and `DocumentMapper` are implemented for `Arc<T>`, so
/// `Arc::clone(&store)` is a store (keep the other handle for reports or
/// another company's pipeline).
#[must_use]
pub struct PipelineBuilder {
    config: PipelineConfig,
    beorg: beorg_client::Client,
    saby: saby_client::Client,
    signer: Option<Arc<dyn Signer>>,
    mapper: Option<Arc<dyn DocumentMapper>>,
    store: Option<Arc<dyn StateStore>>,
    callback: Option<Callback>,
    worker_id: Option<String>,
    claim_lease: std::time::Duration,
    today: Option<Today>,
}

impl fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("config", &self.config)
            .field("beorg", &self.beorg)
            .field("saby", &self.saby)
            .field("custom_signer", &self.signer.is_some())
            .field("custom_mapper", &self.mapper.is_some())
            .field("store", &self.store)
            .field("worker_id", &self.worker_id)
            .field("claim_lease", &self.claim_lease)
            .field("custom_today", &self.today.is_some())
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    /// Signs client-side (`Клиентский` key) actions. Default:
    /// [`ServerSigner`] (keys on Saby's servers).
    pub fn signer(mut self, signer: impl Signer + 'static) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// Replaces the [`DefaultMapper`].
    pub fn mapper(mut self, mapper: impl DocumentMapper + 'static) -> Self {
        self.mapper = Some(Arc::new(mapper));
        self
    }

    /// Uses this state store. Default: a
    /// `SqliteStore` at
    /// [`PipelineConfig::state_path`] (feature `sqlite`, on by default;
    /// without it a store must be given).
    pub fn store(mut self, store: impl StateStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Calls `f` for every [`Progress`] event, synchronously on the task
    /// that produced it (keep it quick; use [`Pipeline::subscribe`] for
    /// anything slow).
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.callback = Some(Arc::new(f));
        self
    }

    /// Who this pipeline is when it [claims](StateStore::claim_pending) sets
    /// of a store shared by several workers (a host name, a pod name).
    /// Default: a random UUID, new for every pipeline. Ignored by stores
    /// serving one process (both shipped stores).
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = Some(id.into());
        self
    }

    /// How long this pipeline's [claims](StateStore::claim_pending) last
    /// unless renewed (default [`Claim::DEFAULT_LEASE`], 5 minutes); they are
    /// renewed every third of it while their sets are in flight. Ignored by
    /// stores serving one process (both shipped stores).
    pub fn claim_lease(mut self, lease: std::time::Duration) -> Self {
        self.claim_lease = lease;
        self
    }

    /// What "today" is for the data checks (a date in the future, an age, an
    /// expiry): called once per checked result. Default [`default_today`]
    /// (the date in UTC+12). For tests, a fixed date:
    ///
    /// ```no_run
    /// # fn f(b: hr_docs_pipeline::PipelineBuilder) -> hr_docs_pipeline::PipelineBuilder {
    /// b.today(|| time::macros::date!(2026 - 01 - 15))
    /// # }
    /// ```
    pub fn today(mut self, today: impl Fn() -> Date + Send + Sync + 'static) -> Self {
        self.today = Some(Arc::new(today));
        self
    }

    /// Validates the configuration, opens the default state store if none
    /// was given (taking its lock) and returns the pipeline. The company is
    /// registered with the store (its `start_id` initialized) before the
    /// first run or replay.
    ///
    /// Opening the SQLite file is a short blocking operation; everything the
    /// pipeline does with the store afterwards runs on the store's own thread.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an invalid configuration ([`Error::InvalidInn`]
    /// for a configured INN that is not valid), a Beorg client without
    /// a `project_id`, a claim lease under 3 ms, or no store without the
    /// `sqlite` feature;
    /// [`Error::Store`] when the state file cannot be opened — in particular
    /// [`StoreError::Locked`](crate::StoreError::Locked) when another process
    /// holds it.
    pub fn build(self) -> Result<Pipeline> {
        self.config.validate()?;
        // One company = one project_id = one start_id sequence (Beorg's letter).
        let company = self.beorg.project_id().to_owned();
        if company.trim().is_empty() {
            return Err(Error::Config(
                "the Beorg client's project_id (the company's number) is empty".to_owned(),
            ));
        }
        if self.claim_lease < std::time::Duration::from_millis(3) {
            return Err(Error::Config(
                "the claim lease must be at least 3 ms (claims are renewed every third of it)"
                    .to_owned(),
            ));
        }
        let store = match self.store {
            Some(s) => s,
            None => default_store(&self.config)?,
        };
        let worker = self
            .worker_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let (progress, _) = broadcast::channel(PROGRESS_CHANNEL_CAPACITY);
        Ok(Pipeline {
            inner: Arc::new(Inner {
                api_permits: Arc::new(Semaphore::new(self.config.concurrency)),
                sending: Arc::new(Semaphore::new(self.config.concurrency.saturating_mul(2))),
                disk_permits: Arc::new(Semaphore::new(ARCHIVE_DISK_PERMITS)),
                config: self.config,
                company,
                beorg: self.beorg,
                saby: self.saby,
                signer: self.signer.unwrap_or_else(|| Arc::new(ServerSigner)),
                mapper: self
                    .mapper
                    .unwrap_or_else(|| Arc::new(DefaultMapper::new())),
                store,
                claim: Claim::new(worker).lease(self.claim_lease),
                company_ready: OnceCell::new(),
                progress,
                callback: self.callback,
                waiters: Mutex::new(HashMap::new()),
                vouched: Mutex::new(HashSet::new()),
                run_lock: tokio::sync::Mutex::new(()),
                decide_lock: tokio::sync::Mutex::new(()),
                today: self.today.unwrap_or_else(|| Arc::new(default_today)),
            }),
        })
    }
}

#[cfg(feature = "sqlite")]
fn default_store(config: &PipelineConfig) -> Result<Arc<dyn StateStore>> {
    Ok(Arc::new(crate::store::SqliteStore::open(
        &config.state_path,
    )?))
}

#[cfg(not(feature = "sqlite"))]
fn default_store(_config: &PipelineConfig) -> Result<Arc<dyn StateStore>> {
    Err(Error::Config(
        "no state store given (PipelineBuilder::store) and the `sqlite` feature, which \
         provides the default store, is off"
            .to_owned(),
    ))
}
