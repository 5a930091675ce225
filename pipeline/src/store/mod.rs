//! Persistent per-set progress: the [`StateStore`] trait, its records, the
//! rules the pipeline applies over any store ([`advance_watermark`],
//! [`replay_failed`]), and two implementations — `SqliteStore` (the default,
//! feature `sqlite`) and [`MemoryStore`] (tests, and a proof that the trait is
//! small).
//!
//! Everything is keyed by **company** (the Beorg client's `project_id`, the
//! company's number) and set id: several companies can share one store
//! without colliding. A set's **contour** (from Beorg's `by_project`) is a
//! property of its record, not part of its key.
//!
//! The pipeline persists a set's progress after every step, so a crash at any
//! point resumes the set at the last step that is known to have completed.
//!
//! # Writing a store
//!
//! A store **persists; it decides nothing**. The `start_id` watermark, which
//! sets are replayed and how, when a set is settled, what a review decision
//! does — all of that is computed by the pipeline ([`advance_watermark`],
//! [`replay_failed`], [`review::apply`](crate::review::apply), the steps) from
//! what the store returns, and written back through a handful of calls, each
//! with an atomicity contract (a record's [`findings`](SetRecord::findings) and
//! review [`decisions`](SetRecord::decisions) are stored like its other fields;
//! `SqliteStore` keeps them as JSON):
//!
//! | call | contract |
//! |---|---|
//! | [`init_company`](StateStore::init_company) | insert the company's `start_id` if absent; return the stored one |
//! | [`start_id`](StateStore::start_id) | read it |
//! | [`compare_and_set_start_id`](StateStore::compare_and_set_start_id) | set it to `new` only if it still is `expected`, atomically |
//! | [`insert_new`](StateStore::insert_new) | insert each record whose `(company, set_id)` is absent; leave present ones untouched; return the inserted ids |
//! | [`save`](StateStore::save) | insert or replace one record, atomically |
//! | [`get`](StateStore::get), [`list`](StateStore::list) | read one; read a page in `(number, set_id)` order |
//! | [`window`](StateStore::window) | the `(number, status, first_seen)` of every set numbered `>= from` |
//! | [`contour_counts`](StateStore::contour_counts) | counts per contour and status |
//! | [`event_cursor`](StateStore::event_cursor), [`set_event_cursor`](StateStore::set_event_cursor) | an opaque string per scope |
//!
//! Every call that returned `Ok` must survive a crash of the process. The
//! trait is `async` (a networked store awaits its database); a store with
//! blocking I/O runs it off the async runtime itself, as `SqliteStore` does
//! (on a thread of its own).
//! `StateStore` is implemented for `Arc<S>` of any store, so a store can be
//! shared by several pipelines (several companies) and kept for reports.
//!
//! The generic contract tests of this crate (`tests/it/store.rs`) run against
//! both shipped stores; run them against yours the same way.
//!
//! [`claim_pending`](StateStore::claim_pending),
//! [`renew_claims`](StateStore::renew_claims) and
//! [`release_claim`](StateStore::release_claim) are the hooks for a store
//! shared by several worker processes; their defaults serve one process. No
//! shipped store implements claims (see `docs/architecture.md`, "Several
//! workers on one store").

mod memory;
mod record;
mod rules;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use beorg_client::SetId;

pub use memory::MemoryStore;
pub use record::{
    Claim, Failure, FailureKind, FinalState, Replay, SetRecord, SetStatus, SkipReason,
    StatusCounts, Step, WindowEntry,
};
pub use rules::{advance_watermark, replay_failed};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{MergedSet, SqliteOptions, SqliteStore, Synchronous};

use crate::error::StoreError;

/// Where the pipeline keeps its progress; see the [module documentation](self)
/// for what an implementation must guarantee (and what it need not decide).
///
/// Every call names the **company** (the Beorg client's `project_id`): one
/// store can hold several companies' sets, each company with its own
/// `start_id` watermark.
#[async_trait]
pub trait StateStore: Send + Sync + fmt::Debug {
    /// Inserts `company` with `start_id` `initial` unless it is already
    /// stored, and returns the stored `start_id`. The pipeline calls it once
    /// per pipeline, before its first run or replay (the `SqliteStore` also
    /// adopts the sets of a state file written by an older version then).
    async fn init_company(&self, company: &str, initial: u64) -> Result<u64, StoreError>;

    /// The stored `start_id` of `company` (the next set number to ask Beorg
    /// about), `None` when the company was never initialized.
    async fn start_id(&self, company: &str) -> Result<Option<u64>, StoreError>;

    /// Sets the `start_id` of `company` to `new` if it is `expected`, in one
    /// atomic step; returns whether it did (`false` also when the company is
    /// unknown). Two workers that computed a new value from the same old one
    /// cannot both write it: the loser reads again ([`advance_watermark`]
    /// does).
    async fn compare_and_set_start_id(
        &self,
        company: &str,
        expected: u64,
        new: u64,
    ) -> Result<bool, StoreError>;

    /// Inserts every record whose `(company, set_id)` is not stored yet and
    /// returns the ids of those inserted, in the order given. A stored set is
    /// left untouched — its progress, contour and first-seen time included —
    /// and is not returned. Each insert is atomic on its own (one transaction
    /// for all is fine too); two workers inserting the same set see it
    /// inserted by exactly one of them.
    async fn insert_new(&self, records: &[SetRecord]) -> Result<Vec<SetId>, StoreError>;

    /// Inserts or replaces one record, atomically. The pipeline never changes
    /// a stored set's `company`, `set_id`, `number`, `contour` or
    /// `first_seen`, so a store may leave those columns alone on update
    /// (`SqliteStore` does).
    async fn save(&self, record: &SetRecord) -> Result<(), StoreError>;

    /// One record.
    async fn get(&self, company: &str, set_id: &SetId) -> Result<Option<SetRecord>, StoreError>;

    /// Up to `limit` records of `company` (only those with `status`, when
    /// given), ordered by set number, then id (as text), starting strictly
    /// after `after` — `(number, set_id)` of the last record of the previous
    /// page.
    async fn list(
        &self,
        company: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &SetId)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError>;

    /// The watermark's window: the number, status and first-seen time of every
    /// set of `company` numbered `from` or more, in any order. The pipeline
    /// reads it once per Beorg poll with `from` the current `start_id`, so it
    /// holds the sets in flight, not the settled history below.
    async fn window(&self, company: &str, from: u64) -> Result<Vec<WindowEntry>, StoreError>;

    /// Counts per status for each contour of `company` (`None`: sets with no
    /// known contour), ordered by contour.
    async fn contour_counts(
        &self,
        company: &str,
    ) -> Result<Vec<(Option<String>, StatusCounts)>, StoreError>;

    /// Counts per status for `company`; the default sums
    /// [`contour_counts`](StateStore::contour_counts).
    async fn counts(&self, company: &str) -> Result<StatusCounts, StoreError> {
        let mut total = StatusCounts::default();
        for (_, c) in self.contour_counts(company).await? {
            total.merge(&c);
        }
        Ok(total)
    }

    /// How many sets of `company` are pending. The pipeline asks before each
    /// Beorg poll (back-pressure), so it should be cheap; the default goes
    /// through [`counts`](StateStore::counts).
    async fn pending_count(&self, company: &str) -> Result<u64, StoreError> {
        Ok(self.counts(company).await?.pending)
    }

    /// The stored Saby event-feed cursor (opaque text) of `scope` (the
    /// pipeline passes its company), if any.
    async fn event_cursor(&self, scope: &str) -> Result<Option<String>, StoreError>;

    /// Stores the Saby event-feed cursor of `scope`, replacing the old one.
    async fn set_event_cursor(&self, scope: &str, cursor: &str) -> Result<(), StoreError>;

    /// Takes up to `limit` pending sets of `company` to work on, in the order
    /// and from the position of [`list`](StateStore::list).
    ///
    /// A store shared by several workers returns only sets no *other* worker
    /// holds an unexpired claim on, and claims those it returns for
    /// `claim.worker` until now + `claim.lease`, atomically (`SELECT … FOR
    /// UPDATE SKIP LOCKED`, then an update of the claim columns). The default
    /// — for a store used by one process at a time, like both shipped stores —
    /// is [`list`](StateStore::list) of the pending sets.
    async fn claim_pending(
        &self,
        company: &str,
        claim: &Claim,
        after: Option<(u64, &SetId)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError> {
        let _ = claim;
        self.list(company, Some(SetStatus::Pending), after, limit)
            .await
    }

    /// Extends the claims of `claim.worker` on `set_ids` (its sets in flight)
    /// to now + `claim.lease`. The pipeline calls it every third of the lease
    /// while sets are in flight. Default: nothing to do.
    async fn renew_claims(
        &self,
        company: &str,
        claim: &Claim,
        set_ids: &[SetId],
    ) -> Result<(), StoreError> {
        let _ = (company, claim, set_ids);
        Ok(())
    }

    /// Gives up the claim of `claim.worker` on `set_id`: its task ended (the
    /// set settled, or stays pending for a later pass). Default: nothing to
    /// do.
    async fn release_claim(
        &self,
        company: &str,
        claim: &Claim,
        set_id: &SetId,
    ) -> Result<(), StoreError> {
        let _ = (company, claim, set_id);
        Ok(())
    }
}

/// A shared store is a store: pass `Arc::clone(&store)` to
/// [`PipelineBuilder::store`](crate::PipelineBuilder::store) and keep the
/// other handle (for reports, or a second company's pipeline).
#[async_trait]
impl<S: StateStore + ?Sized> StateStore for Arc<S> {
    async fn init_company(&self, company: &str, initial: u64) -> Result<u64, StoreError> {
        (**self).init_company(company, initial).await
    }

    async fn start_id(&self, company: &str) -> Result<Option<u64>, StoreError> {
        (**self).start_id(company).await
    }

    async fn compare_and_set_start_id(
        &self,
        company: &str,
        expected: u64,
        new: u64,
    ) -> Result<bool, StoreError> {
        (**self)
            .compare_and_set_start_id(company, expected, new)
            .await
    }

    async fn insert_new(&self, records: &[SetRecord]) -> Result<Vec<SetId>, StoreError> {
        (**self).insert_new(records).await
    }

    async fn save(&self, record: &SetRecord) -> Result<(), StoreError> {
        (**self).save(record).await
    }

    async fn get(&self, company: &str, set_id: &SetId) -> Result<Option<SetRecord>, StoreError> {
        (**self).get(company, set_id).await
    }

    async fn list(
        &self,
        company: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &SetId)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError> {
        (**self).list(company, status, after, limit).await
    }

    async fn window(&self, company: &str, from: u64) -> Result<Vec<WindowEntry>, StoreError> {
        (**self).window(company, from).await
    }

    async fn contour_counts(
        &self,
        company: &str,
    ) -> Result<Vec<(Option<String>, StatusCounts)>, StoreError> {
        (**self).contour_counts(company).await
    }

    async fn counts(&self, company: &str) -> Result<StatusCounts, StoreError> {
        (**self).counts(company).await
    }

    async fn pending_count(&self, company: &str) -> Result<u64, StoreError> {
        (**self).pending_count(company).await
    }

    async fn event_cursor(&self, scope: &str) -> Result<Option<String>, StoreError> {
        (**self).event_cursor(scope).await
    }

    async fn set_event_cursor(&self, scope: &str, cursor: &str) -> Result<(), StoreError> {
        (**self).set_event_cursor(scope, cursor).await
    }

    async fn claim_pending(
        &self,
        company: &str,
        claim: &Claim,
        after: Option<(u64, &SetId)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError> {
        (**self).claim_pending(company, claim, after, limit).await
    }

    async fn renew_claims(
        &self,
        company: &str,
        claim: &Claim,
        set_ids: &[SetId],
    ) -> Result<(), StoreError> {
        (**self).renew_claims(company, claim, set_ids).await
    }

    async fn release_claim(
        &self,
        company: &str,
        claim: &Claim,
        set_id: &SetId,
    ) -> Result<(), StoreError> {
        (**self).release_claim(company, claim, set_id).await
    }
}
