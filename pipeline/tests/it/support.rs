//! Helpers shared by the store tests: the test stores that wrap a `MemoryStore` to watch
//! or steer a few calls, and what a state file says of itself.

#![allow(clippy::unwrap_used)] // a test helper: a panic is a failed test

/// The `schema_version` a state file records in its `meta` table.
pub(crate) fn schema_version(path: &std::path::Path) -> String {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// `impl StateStore for $ty`, each method the caller does not write itself handed on to
/// `self.inner` (a `MemoryStore`): every required method but `compare_and_set_start_id`,
/// which the caller writes (to race it, or as `self.inner`'s), and the claim hooks, whose
/// defaults stand unless the caller writes them.
macro_rules! store_over_inner {
    ($ty:ty { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl hr_docs_pipeline::store::StateStore for $ty {
            async fn init_company(
                &self,
                company: &str,
                initial: u64,
            ) -> Result<u64, hr_docs_pipeline::StoreError> {
                self.inner.init_company(company, initial).await
            }
            async fn start_id(
                &self,
                company: &str,
            ) -> Result<Option<u64>, hr_docs_pipeline::StoreError> {
                self.inner.start_id(company).await
            }
            async fn insert_new(
                &self,
                records: &[hr_docs_pipeline::store::SetRecord],
            ) -> Result<Vec<beorg_client::SetId>, hr_docs_pipeline::StoreError> {
                self.inner.insert_new(records).await
            }
            async fn save(
                &self,
                record: &hr_docs_pipeline::store::SetRecord,
            ) -> Result<(), hr_docs_pipeline::StoreError> {
                self.inner.save(record).await
            }
            async fn get(
                &self,
                company: &str,
                set_id: &beorg_client::SetId,
            ) -> Result<Option<hr_docs_pipeline::store::SetRecord>, hr_docs_pipeline::StoreError>
            {
                self.inner.get(company, set_id).await
            }
            async fn list(
                &self,
                company: &str,
                status: Option<hr_docs_pipeline::store::SetStatus>,
                after: Option<(u64, &beorg_client::SetId)>,
                limit: usize,
            ) -> Result<Vec<hr_docs_pipeline::store::SetRecord>, hr_docs_pipeline::StoreError> {
                self.inner.list(company, status, after, limit).await
            }
            async fn window(
                &self,
                company: &str,
                from: u64,
            ) -> Result<Vec<hr_docs_pipeline::store::WindowEntry>, hr_docs_pipeline::StoreError>
            {
                self.inner.window(company, from).await
            }
            async fn contour_counts(
                &self,
                company: &str,
            ) -> Result<
                Vec<(Option<String>, hr_docs_pipeline::store::StatusCounts)>,
                hr_docs_pipeline::StoreError,
            > {
                self.inner.contour_counts(company).await
            }
            async fn event_cursor(
                &self,
                scope: &str,
            ) -> Result<Option<String>, hr_docs_pipeline::StoreError> {
                self.inner.event_cursor(scope).await
            }
            async fn set_event_cursor(
                &self,
                scope: &str,
                cursor: &str,
            ) -> Result<(), hr_docs_pipeline::StoreError> {
                self.inner.set_event_cursor(scope, cursor).await
            }
            $($own)*
        }
    };
}
pub(crate) use store_over_inner;
