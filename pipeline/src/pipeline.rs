//! [`Pipeline`] and [`PipelineBuilder`]: wiring the clients, the mapper, the
//! signer and the state store together.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use beorg_client::SetId;
use saby_client::{Document, ServerSigner, Signer};
use tokio::sync::{Semaphore, broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::config::PipelineConfig;
use crate::error::{Error, Result};
use crate::mapper::{DefaultMapper, DocumentMapper};
use crate::progress::{Progress, ProgressKind, Summary};
use crate::store::{AsyncStore, SetRecord, SqliteStore, StateStore};

/// Capacity of the [`Pipeline::subscribe`] channel; a receiver further behind
/// than this gets `RecvError::Lagged` and skips ahead.
pub const PROGRESS_CHANNEL_CAPACITY: usize = 1024;

type Callback = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Which failed sets [`Pipeline::replay_failed`] puts back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Replay {
    /// Every failed set of the company.
    All,
    /// These sets, when they are failed — or skipped by the contour filter
    /// (processing a skipped set is then the caller's explicit choice).
    Sets(Vec<SetId>),
}

/// The Beorg → Saby pipeline. Cheap to share (`Arc` inside); run it with
/// [`run_once`](Pipeline::run_once) or [`run`](Pipeline::run).
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
            .field("store", &self.inner.store.store)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: PipelineConfig,
    /// The Beorg company: the client's `project_id`.
    pub(crate) company: String,
    pub(crate) beorg: beorg_client::Client,
    pub(crate) saby: saby_client::Client,
    pub(crate) signer: Arc<dyn Signer>,
    pub(crate) mapper: Arc<dyn DocumentMapper>,
    pub(crate) store: AsyncStore,
    progress: broadcast::Sender<Progress>,
    callback: Option<Callback>,
    /// Bounds the sets doing API work at once.
    pub(crate) api_permits: Arc<Semaphore>,
    /// Sets waiting for a final state, by Saby document id (in-flight only):
    /// the feed hands each the document of its latest event.
    pub(crate) waiters: Mutex<HashMap<String, watch::Sender<Option<Arc<Document>>>>>,
    /// One run at a time per pipeline.
    pub(crate) run_lock: tokio::sync::Mutex<()>,
}

impl Inner {
    pub(crate) fn emit(&self, event: Progress) {
        if let Some(cb) = &self.callback {
            cb(&event);
        }
        // No receiver is fine: progress is optional.
        let _ = self.progress.send(event);
    }

    pub(crate) fn waiters(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<Option<Arc<Document>>>>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Pipeline {
    /// A builder: the configuration, then both clients.
    pub fn builder(config: PipelineConfig) -> PipelineBuilder {
        PipelineBuilder {
            config,
            beorg: None,
            saby: None,
            signer: None,
            mapper: None,
            store: None,
            callback: None,
        }
    }

    /// Receives every [`Progress`] event from now on.
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
        &self.inner.store.store
    }

    /// Processes what is ready: resumes unfinished sets from the store, polls
    /// Beorg, and works until every seen set is settled (done or recorded
    /// failed) or [`PipelineConfig::run_deadline`] passes. Per-set failures
    /// are recorded, not returned; an `Err` means the run could not go on
    /// (state store failure, Beorg refusing every poll).
    pub async fn run_once(&self) -> Result<Summary> {
        crate::run::drive(&self.inner, CancellationToken::new(), true).await
    }

    /// Like [`run_once`](Self::run_once), but stops (checkpointing the sets
    /// in flight) when `cancel` fires, whatever is left.
    pub async fn run_once_until(&self, cancel: CancellationToken) -> Result<Summary> {
        crate::run::drive(&self.inner, cancel, true).await
    }

    /// Polls forever at [`PipelineConfig::poll_interval`] until `cancel`
    /// fires; then stops scheduling, lets in-flight steps finish (up to
    /// [`PipelineConfig::shutdown_grace`]) and returns. Every set not finished
    /// is left at its last completed step and resumed by the next run.
    pub async fn run(&self, cancel: CancellationToken) -> Result<Summary> {
        crate::run::drive(&self.inner, cancel, false).await
    }

    /// Puts failed sets back to pending so the next (or the running) pass
    /// processes them again from the step that failed. Returns the records as
    /// replayed.
    pub async fn replay_failed(&self, which: Replay) -> Result<Vec<SetRecord>> {
        let ids: Option<Vec<String>> = match which {
            Replay::All => None,
            Replay::Sets(ids) => Some(ids.iter().map(|s| s.as_str().to_owned()).collect()),
        };
        let company = self.inner.company.clone();
        let replayed = self
            .inner
            .store
            .call(move |s| s.replay_failed(&company, ids.as_deref()))
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

/// Builds a [`Pipeline`]. Required: the configuration (given to
/// [`Pipeline::builder`]) and both clients.
#[must_use]
pub struct PipelineBuilder {
    config: PipelineConfig,
    beorg: Option<beorg_client::Client>,
    saby: Option<saby_client::Client>,
    signer: Option<Arc<dyn Signer>>,
    mapper: Option<Arc<dyn DocumentMapper>>,
    store: Option<Arc<dyn StateStore>>,
    callback: Option<Callback>,
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
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    /// The Beorg client (its connection pool is shared by every set).
    pub fn beorg(mut self, client: beorg_client::Client) -> Self {
        self.beorg = Some(client);
        self
    }

    /// The Saby client (its session and pool are shared by every set).
    pub fn saby(mut self, client: saby_client::Client) -> Self {
        self.saby = Some(client);
        self
    }

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

    /// Uses this state store instead of opening
    /// [`PipelineConfig::state_path`] with [`SqliteStore`].
    pub fn store(mut self, store: Arc<dyn StateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Calls `f` for every [`Progress`] event, synchronously on the task
    /// that produced it (keep it quick; use [`Pipeline::subscribe`] for
    /// anything slow).
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.callback = Some(Arc::new(f));
        self
    }

    /// Validates the configuration, opens the state store (taking its lock)
    /// and returns the pipeline.
    ///
    /// Opening the SQLite file is a short blocking operation; everything the
    /// pipeline does with the store afterwards runs on tokio's blocking pool.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an invalid configuration or a missing client;
    /// [`Error::Store`] when the state file cannot be opened — in particular
    /// [`StoreError::Locked`](crate::StoreError::Locked) when another process
    /// holds it.
    pub fn build(self) -> Result<Pipeline> {
        self.config.validate()?;
        let beorg = self.beorg.ok_or_else(|| {
            Error::Config("no Beorg client given (PipelineBuilder::beorg)".to_owned())
        })?;
        let saby = self.saby.ok_or_else(|| {
            Error::Config("no Saby client given (PipelineBuilder::saby)".to_owned())
        })?;
        // One company = one project_id = one start_id sequence (Beorg's letter).
        let company = beorg.project_id().to_owned();
        if company.trim().is_empty() {
            return Err(Error::Config(
                "the Beorg client's project_id (the company's number) is empty".to_owned(),
            ));
        }
        let store: Arc<dyn StateStore> = match self.store {
            Some(s) => s,
            None => Arc::new(SqliteStore::open(&self.config.state_path)?),
        };
        store.init_company(&company, self.config.initial_start_id)?;
        let (progress, _) = broadcast::channel(PROGRESS_CHANNEL_CAPACITY);
        Ok(Pipeline {
            inner: Arc::new(Inner {
                api_permits: Arc::new(Semaphore::new(self.config.concurrency)),
                config: self.config,
                company,
                beorg,
                saby,
                signer: self.signer.unwrap_or_else(|| Arc::new(ServerSigner)),
                mapper: self
                    .mapper
                    .unwrap_or_else(|| Arc::new(DefaultMapper::new())),
                store: AsyncStore::new(store),
                progress,
                callback: self.callback,
                waiters: Mutex::new(HashMap::new()),
                run_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }
}
