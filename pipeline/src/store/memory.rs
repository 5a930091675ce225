//! [`MemoryStore`]: every record in a map, for tests and short-lived runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use beorg_client::SetId;

use super::{SetRecord, SetStatus, StateStore, StatusCounts, WindowEntry};
use crate::error::StoreError;

/// A set's key in the map: company, number, id — the order of
/// [`StateStore::list`].
type Key = (String, u64, String);

#[derive(Debug, Default)]
struct State {
    companies: HashMap<String, u64>,
    /// Every set, in the order of [`StateStore::list`].
    sets: BTreeMap<Key, SetRecord>,
    /// `(company, set id)` → the number it is stored under.
    numbers: HashMap<(String, String), u64>,
    cursors: HashMap<String, String>,
}

/// A [`StateStore`] in memory: nothing survives the process, so it is for
/// tests (your own mapper's or signer's, against the sandboxes) and for runs
/// that need no resumption. It needs no feature and builds no database.
///
/// It is also the smallest complete implementation of the trait — a map and
/// a lock, its trait impl about a hundred lines — and passes the same contract tests as
/// `SqliteStore`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use beorg_client::SetId;
/// use hr_docs_pipeline::store::{MemoryStore, SetRecord, StateStore};
///
/// let store = MemoryStore::new();
/// assert_eq!(store.init_company("4821", 1).await?, 1);
/// let new = store.insert_new(&[SetRecord::seen("4821", SetId::from_number(1))]).await?;
/// assert_eq!(new, [SetId::from_number(1)]);
/// // Inserting a known set again changes nothing.
/// assert!(store.insert_new(&[SetRecord::seen("4821", SetId::from_number(1))]).await?.is_empty());
/// assert_eq!(store.counts("4821").await?.pending, 1);
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

/// How many companies and sets it holds, not the records (a `Pipeline`'s
/// `Debug` prints its store).
impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryStore")
            .field("companies", &state.companies.len())
            .field("sets", &state.sets.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update below is a single map operation: a panic elsewhere while
        // the lock was held cannot leave a half-written record.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(company: &str, number: u64, set_id: &SetId) -> Key {
    (company.to_owned(), number, set_id.as_str().to_owned())
}

impl State {
    /// The key of a stored set.
    fn find(&self, company: &str, set_id: &SetId) -> Option<Key> {
        let number = self
            .numbers
            .get(&(company.to_owned(), set_id.as_str().to_owned()))?;
        Some(key(company, *number, set_id))
    }

    /// Inserts `r`, or replaces the stored record's progress with `r`'s. Like
    /// `SqliteStore`, a stored set keeps the `number`, `contour` and
    /// `first_seen` it was inserted with.
    fn put(&mut self, r: &SetRecord) {
        match self.find(&r.company, &r.set_id) {
            Some(k) => {
                if let Some(stored) = self.sets.get_mut(&k) {
                    let (number, contour, first_seen) =
                        (stored.number, stored.contour.take(), stored.first_seen);
                    *stored = r.clone();
                    stored.number = number;
                    stored.contour = contour;
                    stored.first_seen = first_seen;
                }
            }
            None => {
                self.numbers
                    .insert((r.company.clone(), r.set_id.as_str().to_owned()), r.number);
                self.sets
                    .insert(key(&r.company, r.number, &r.set_id), r.clone());
            }
        }
    }

    fn company(&self, company: &str) -> impl Iterator<Item = &SetRecord> {
        let from = (company.to_owned(), 0, String::new());
        self.sets
            .range(from..)
            .take_while(move |((c, _, _), _)| c == company)
            .map(|(_, r)| r)
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn init_company(&self, company: &str, initial: u64) -> Result<u64, StoreError> {
        Ok(*self
            .state()
            .companies
            .entry(company.to_owned())
            .or_insert(initial.max(1)))
    }

    async fn start_id(&self, company: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.state().companies.get(company).copied())
    }

    async fn compare_and_set_start_id(
        &self,
        company: &str,
        expected: u64,
        new: u64,
    ) -> Result<bool, StoreError> {
        match self.state().companies.get_mut(company) {
            Some(current) if *current == expected => {
                *current = new;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn insert_new(&self, records: &[SetRecord]) -> Result<Vec<SetId>, StoreError> {
        let mut state = self.state();
        let mut inserted = Vec::new();
        for r in records {
            if state.find(&r.company, &r.set_id).is_none() {
                state.put(r);
                inserted.push(r.set_id.clone());
            }
        }
        Ok(inserted)
    }

    async fn save(&self, record: &SetRecord) -> Result<(), StoreError> {
        self.state().put(record);
        Ok(())
    }

    async fn get(&self, company: &str, set_id: &SetId) -> Result<Option<SetRecord>, StoreError> {
        let state = self.state();
        Ok(state
            .find(company, set_id)
            .and_then(|k| state.sets.get(&k).cloned()))
    }

    async fn list(
        &self,
        company: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &SetId)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError> {
        let state = self.state();
        let after = after.map(|(n, id)| (n, id.as_str().to_owned()));
        Ok(state
            .company(company)
            .filter(|r| {
                after
                    .as_ref()
                    .is_none_or(|(n, id)| (r.number, r.set_id.as_str()) > (*n, id.as_str()))
            })
            .filter(|r| status.is_none_or(|s| r.status == s))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn window(&self, company: &str, from: u64) -> Result<Vec<WindowEntry>, StoreError> {
        Ok(self
            .state()
            .company(company)
            .filter(|r| r.number >= from)
            .map(WindowEntry::from)
            .collect())
    }

    async fn contour_counts(
        &self,
        company: &str,
    ) -> Result<Vec<(Option<String>, StatusCounts)>, StoreError> {
        let mut out: BTreeMap<Option<String>, StatusCounts> = BTreeMap::new();
        for r in self.state().company(company) {
            out.entry(r.contour.clone()).or_default().add(r.status, 1);
        }
        Ok(out.into_iter().collect())
    }

    async fn event_cursor(&self, scope: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state().cursors.get(scope).cloned())
    }

    async fn set_event_cursor(&self, scope: &str, cursor: &str) -> Result<(), StoreError> {
        self.state()
            .cursors
            .insert(scope.to_owned(), cursor.to_owned());
        Ok(())
    }
}
