//! Shared set-up for the pipeline's integration tests: both sandboxes, a
//! fast configuration, and helpers to inspect what Saby received.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use beorg_client::SetId;
use beorg_sandbox::{Sandbox as Beorg, SandboxConfig as BeorgConfig, SetSpec};
use hr_docs_pipeline::store::{SetRecord, SqliteStore, StateStore};
use hr_docs_pipeline::{
    DocumentTemplate, Pipeline, PipelineBuilder, PipelineConfig, PipelineConfigBuilder,
};
use saby_client::Party;
use saby_sandbox::{Sandbox as Saby, SandboxConfig as SabyConfig};

pub const SURNAMES: [&str; 8] = [
    "Иванов",
    "Смирнова",
    "Кузнецов",
    "Попова",
    "Соколов",
    "Лебедева",
    "Новиков",
    "Морозова",
];

pub struct Env {
    pub beorg: Beorg,
    pub saby: Saby,
    pub dir: tempfile::TempDir,
    /// Sets seeded through [`Env::add_sets`] (and others pushed by tests).
    pub sets: Mutex<Vec<SetId>>,
}

pub fn template() -> DocumentTemplate {
    DocumentTemplate::new(
        "ДокОтгрИсх",
        Party::legal_entity("7605016030", "760501001", "ООО Ромашка"),
        Party::legal_entity("7707083893", "773601001", "ПАО Контрагент"),
    )
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(
            BeorgConfig::default().polls_until_ready(0),
            SabyConfig::default(),
        )
        .await
    }

    pub async fn start_with(beorg: BeorgConfig, saby: SabyConfig) -> Env {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        Env {
            beorg: Beorg::start(beorg).await,
            saby: Saby::start(saby).await,
            dir: tempfile::tempdir().unwrap(),
            sets: Mutex::new(Vec::new()),
        }
    }

    /// Seeds `n` sets with Cyrillic surnames; returns their ids.
    pub fn add_sets(&self, n: usize) -> Vec<SetId> {
        let ids: Vec<SetId> = (0..n)
            .map(|i| {
                self.beorg
                    .add_set(SetSpec::new().surname(SURNAMES[i % SURNAMES.len()]))
            })
            .collect();
        self.sets.lock().unwrap().extend(ids.iter().cloned());
        ids
    }

    /// Send actions Saby recorded for one document (its `Отправка` events).
    pub fn sends_of(&self, document_id: &str) -> usize {
        self.saby
            .event_names(document_id)
            .iter()
            .filter(|n| n.as_str() == "Отправка")
            .count()
    }

    /// Send actions Saby recorded over every seeded set's document; panics if
    /// any document was sent more than once.
    pub fn send_count(&self) -> usize {
        let sets = self.sets.lock().unwrap().clone();
        sets.iter()
            .map(|set| {
                let sends = self.sends_of(&self.document_id(set));
                assert!(sends <= 1, "{set} was sent {sends} times");
                sends
            })
            .sum()
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.dir.path().join("archive")
    }

    /// A configuration paced for the sandboxes.
    pub fn config(&self) -> PipelineConfigBuilder {
        PipelineConfig::builder(template())
            .state_path(self.state_path())
            .archive_dir(self.archive_dir())
            .poll_interval(Duration::from_millis(20))
            .recheck_interval(Duration::from_millis(500))
            .final_state_deadline(Duration::from_secs(20))
            .run_deadline(Duration::from_secs(30))
            .max_passes(5)
            .concurrency(4)
    }

    pub fn builder(&self, config: PipelineConfig) -> PipelineBuilder {
        Pipeline::builder(config, self.beorg.client(), self.saby.client())
    }

    pub fn pipeline(&self) -> Pipeline {
        self.builder(self.config().build().unwrap())
            .build()
            .unwrap()
    }

    /// The Beorg company (the sandbox client's `project_id`).
    pub fn company(&self) -> String {
        self.beorg.project_id().to_owned()
    }

    pub fn document_id(&self, set_id: impl AsRef<str>) -> String {
        hr_docs_pipeline::ids::document_id(&self.company(), set_id.as_ref()).to_string()
    }

    /// Opens the state file, waiting briefly for a dropped pipeline's
    /// background work to release the lock.
    pub async fn open_store(&self) -> Arc<SqliteStore> {
        for _ in 0..100 {
            match SqliteStore::open(self.state_path()) {
                Ok(s) => return Arc::new(s),
                Err(hr_docs_pipeline::StoreError::Locked { .. }) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("cannot open the state store: {e}"),
            }
        }
        panic!("state store still locked");
    }

    /// Every record of the company.
    pub async fn records(&self, store: &dyn StateStore) -> Vec<SetRecord> {
        store
            .list(&self.company(), None, None, 10_000)
            .await
            .unwrap()
    }

    /// One record of the company.
    pub async fn record(&self, store: &dyn StateStore, set_id: impl AsRef<str>) -> SetRecord {
        store
            .get(&self.company(), &SetId::new(set_id.as_ref()))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} is not stored", set_id.as_ref()))
    }

    /// The archive directory of one set: `<archive>/<company>/<set>/`.
    ///
    /// (See [`archived_zip`] for the entries of the zip kept there.)
    pub fn archive_of(&self, set_id: impl AsRef<str>) -> PathBuf {
        self.archive_dir()
            .join(self.company())
            .join(set_id.as_ref())
    }
}

/// Every entry of the one zip in a set's archive directory (the document's zip,
/// kept as Saby made it): name → bytes. Panics unless there is exactly one zip
/// and every entry reads back intact.
pub fn archived_zip(
    env: &Env,
    set: impl AsRef<str>,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read as _;
    let dir = env.archive_of(set);
    let zips: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    assert_eq!(zips.len(), 1, "one zip in {}: {zips:?}", dir.display());
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zips[0]).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut e = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (e.name().unwrap().into_owned(), bytes)
        })
        .collect()
}
