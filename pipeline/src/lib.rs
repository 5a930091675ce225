//! # hr-docs-pipeline
//!
//! Joins the two clients into the flow of an HR department: Beorg recognizes
//! each *set* of an employee's documents; the pipeline turns every ready set
//! into one Saby EDO document, signs and sends it, follows it to a final state
//! and archives its files locally — resumably and exactly once.
//!
//! ```text
//!  Beorg ready(start_id) ─▶ seen ─▶ result ─▶ data checks ─▶ fetched ─▶ DocumentMapper ─▶ write
//!        ─▶ written ─▶ read + send (once) ─▶ sent ─▶ event feed / re-read ─▶ final ─▶ archive
//!        ─▶ archived                     (an error: held for review ─▶ a decision ─▶ …)
//! ```
//!
//! The pipeline serves one Beorg **company** — its client's `project_id`, the
//! company's number: one `start_id` sequence, one list of ready sets. Every
//! ready set is processed exactly once, whatever Beorg's `by_project` says; the
//! set's **contour** (from `by_project`) is a property of the set: persisted,
//! given to the mapper, shown in progress events and the summary, and it can
//! route documents ([`PipelineConfigBuilder::contour_template`]) or limit
//! processing ([`PipelineConfigBuilder::contours`]; other contours' sets are
//! recorded as skipped).
//!
//! Every step is persisted in a [`StateStore`](store::StateStore) (SQLite by
//! default, keyed by company and set id; bring your own database by
//! implementing the trait) before the next one starts; Saby
//! document ids are derived from `(company, set id)` ([`ids`]) and stored with
//! the set, so a retried or resumed write updates the same document, and a
//! document is read before it is written and before it is sent, so it is never
//! sent twice — not even after the state file is lost. Beorg's `start_id`
//! only moves past settled sets, past a set number never seen only after a
//! grace period, and never past real sets because of an outlier id
//! ([`watermark`], the rule shared with `beorg_client`).
//!
//! Before anything of a set is written to Saby, its result goes through the
//! data checks of [`hr_docs_checks`] (check numbers, dates, Beorg's `broken`
//! marks, …) under [`PipelineConfig::checks`]: a set with an error is **held
//! for review** — not sent, not failed, not holding the watermark — until a
//! person decides ([`Pipeline::decide`]: send as is, send without the flagged
//! documents, reject, fetch again); warnings travel with the document. See
//! [`review`].
//!
//! # Example
//!
//! Both services in-process (the `beorg-sandbox` and `saby-sandbox` crates, as
//! dev-dependencies); for real services use
//! `beorg_client::Client::from_env()`, `saby_client::Client::from_env()` and
//! [`PipelineConfig::from_env`].
//!
//! ```
//! use std::time::Duration;
//! use beorg_sandbox::{Sandbox as Beorg, SandboxConfig as BeorgConfig, SetSpec};
//! use saby_client::Party;
//! use saby_sandbox::{Sandbox as Saby, SandboxConfig as SabyConfig};
//! use hr_docs_pipeline::{DocumentTemplate, Pipeline, PipelineConfig, ProgressKind};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let beorg = Beorg::start(BeorgConfig::default()).await;
//! let saby = Saby::start(SabyConfig::default()).await;
//! beorg.add_set(SetSpec::new().surname("Иванов").ready());
//!
//! let dir = tempfile::tempdir()?;
//! let template = DocumentTemplate::new(
//!     "ДокОтгрИсх",
//!     Party::legal_entity("7605016030", "760501001", "ООО Ромашка"),
//!     Party::legal_entity("7707083893", "773601001", "ПАО Контрагент"),
//! );
//! let config = PipelineConfig::builder(template)
//!     .state_path(dir.path().join("state.db"))
//!     .archive_dir(dir.path().join("archive"))
//!     .poll_interval(Duration::from_millis(50))
//!     .run_deadline(Duration::from_secs(30))
//!     .build()?;
//! let pipeline = Pipeline::builder(config, beorg.client(), saby.client())
//!     .on_progress(|p| if let ProgressKind::Final { state, .. } = &p.kind {
//!         println!("{} ({:?}): {state}", p.set_id, p.contour);
//!     })
//!     .build()?;
//!
//! let summary = pipeline.run_once().await?;
//! assert!(summary.all_final(), "{summary}");
//! assert_eq!(saby.document_count(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Contents
//!
//! - [`Pipeline`], [`PipelineBuilder`], [`Replay`] — build it, [`run_once`](Pipeline::run_once)
//!   (or [`run_once_until`](Pipeline::run_once_until) a shutdown future completes),
//!   [`run_until`](Pipeline::run_until) it completes, [`replay_failed`](Pipeline::replay_failed).
//! - [`PipelineConfig`], [`PipelineConfigBuilder`], [`DocumentTemplate`],
//!   [`TemplateOverride`] — every option, per-contour routing, also from the
//!   environment ([`config`] lists the variables).
//! - [`DocumentMapper`], [`DefaultMapper`], [`MappingContext`] — Beorg result → Saby document.
//! - [`review`] — the review queue: [`Decision`], [`DecisionKind`],
//!   [`ReviewError`], [`Pipeline::held_sets`], [`Pipeline::decide`].
//! - [`Progress`], [`ProgressKind`], [`Summary`], [`StopReason`] — observability.
//! - [`store`] — [`StateStore`](store::StateStore) (the seam for your own
//!   database), `SqliteStore` (feature `sqlite`, default),
//!   [`MemoryStore`](store::MemoryStore), [`SetRecord`](store::SetRecord),
//!   [`Step`](store::Step), [`FailureKind`](store::FailureKind),
//!   [`SkipReason`](store::SkipReason), and the rules applied over any store
//!   ([`advance_watermark`](store::advance_watermark),
//!   [`replay_failed`](store::replay_failed)).
//! - [`watermark`] — the `start_id` rule (re-exported from `beorg_client`);
//!   [`ids`] — deterministic ids.
//! - [`Error`], [`StoreError`], [`MappingError`].
//!
//! # Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls, for both clients |
//! | `native-tls` | no | TLS through the platform's library (OpenSSL on Linux) |
//! | `sqlite` | yes | `SqliteStore`, the default state store (bundled SQLite) |
//!
//! With your own [`StateStore`](store::StateStore), turn `sqlite` off
//! (`default-features = false, features = ["rustls"]`) and SQLite is not built.
//!
//! The guides live in the repository's `docs/` directory (architecture,
//! configuration, mapping, review, signing, errors and retries, operations,
//! security and personal data, testing).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
mod error;
mod feed;
pub mod ids;
mod mapper;
mod pipeline;
mod progress;
pub mod review;
mod run;
pub mod store;
mod worker;

/// The `start_id` watermark rule, shared with [`beorg_client::ReadyStream`].
pub use beorg_client::watermark;
pub use config::{
    DocumentTemplate, PipelineConfig, PipelineConfigBuilder, TemplateOverride, default_final_states,
};
pub use error::{Error, MappingError, Result, StoreError};
pub use mapper::{DefaultMapper, DocumentMapper, MappingContext};
pub use pipeline::{PROGRESS_CHANNEL_CAPACITY, Pipeline, PipelineBuilder, default_today};
pub use progress::{Progress, ProgressKind, StopReason, Summary};
pub use review::{Decision, DecisionKind, ReviewError};
pub use store::Replay;

/// Both clients and the data checks, re-exported so one dependency is enough.
pub use beorg_client;
pub use hr_docs_checks;
pub use saby_client;

/// The README's examples, compiled (and the sandbox one run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
