//! The rules the pipeline applies over any [`StateStore`]: computed here, from
//! what the store returns, so no store implements them (or gets them wrong).

use beorg_client::SetId;
use beorg_client::watermark::{Advance, WatermarkRule};
use time::OffsetDateTime;

use super::{Replay, SetRecord, SetStatus, StateStore};
use crate::error::StoreError;

/// How often [`advance_watermark`] reads again after losing a
/// compare-and-set to another worker before leaving the move to the next poll.
const CAS_ATTEMPTS: u32 = 8;

/// Page size when reading failed sets to replay.
const PAGE: usize = 500;

/// Moves the `start_id` of `company` as [`WatermarkRule::advance`] decides
/// over the store's [window](StateStore::window), with gaps dated against
/// `now` (the pipeline passes the time its last successful Beorg poll was
/// sent). Returns the decision, `None` when the company was never
/// initialized.
///
/// The move is a [compare-and-set](StateStore::compare_and_set_start_id): when
/// another worker moved `start_id` in between, the window is read again from
/// the new value and the rule applied again (a few times at most; then the
/// move is left to the next poll and the decision over the last value read is
/// returned). The watermark never moves backwards.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use beorg_client::SetId;
/// use hr_docs_pipeline::store::{MemoryStore, SetRecord, StateStore, Step, advance_watermark};
/// use hr_docs_pipeline::watermark::WatermarkRule;
/// use time::OffsetDateTime;
///
/// let store = MemoryStore::new();
/// let now = OffsetDateTime::now_utc();
/// store.init_company("4821", 16).await?;
/// store.insert_new(&[
///     SetRecord::seen_at("4821", SetId::from_number(16), now),
///     SetRecord::seen_at("4821", SetId::from_number(17), now),
/// ]).await?;
/// let mut s16 = store.get("4821", &SetId::from_number(16)).await?.unwrap();
/// for step in [Step::Fetched, Step::Written, Step::Sent, Step::Final, Step::Archived] {
///     s16.advance(step);
/// }
/// store.save(&s16).await?;
///
/// // 16 is done, 17 still in flight: the next poll asks from 17.
/// let moved = advance_watermark(&store, "4821", &WatermarkRule::new(), now).await?;
/// assert_eq!(moved.map(|a| a.start_id), Some(17));
/// assert_eq!(store.start_id("4821").await?, Some(17));
/// # Ok(()) }
/// ```
pub async fn advance_watermark(
    store: &dyn StateStore,
    company: &str,
    rule: &WatermarkRule,
    now: OffsetDateTime,
) -> Result<Option<Advance>, StoreError> {
    let mut last = None;
    for _ in 0..CAS_ATTEMPTS {
        let Some(current) = store.start_id(company).await? else {
            return Ok(None);
        };
        let window = store.window(company, current).await?;
        let advance = rule.advance(current, window.iter().map(|w| w.seen_set()), now);
        if advance.start_id <= current {
            return Ok(Some(Advance::new(current, advance.outliers)));
        }
        if store
            .compare_and_set_start_id(company, current, advance.start_id)
            .await?
        {
            return Ok(Some(advance));
        }
        tracing::debug!(
            company,
            expected = current,
            "start_id moved by another worker; reading again"
        );
        last = Some(current);
    }
    // Lost every race: report where it stands, moved by someone else.
    let current = store.start_id(company).await?.or(last);
    Ok(current.map(|c| Advance::new(c, Vec::new())))
}

/// Puts failed sets of `company` back to pending so the next (or the running)
/// pass processes them again from the step that failed (each with
/// [`SetRecord::reopen`] at `now`, saved one by one): all of the company's
/// failed sets for [`Replay::All`]; for [`Replay::Sets`], the named ones that
/// are failed **or skipped** (processing a skipped set is the caller's
/// explicit choice); others are left alone. Returns the records as replayed,
/// in the order found.
///
/// [`Pipeline::replay_failed`](crate::Pipeline::replay_failed) calls it and
/// reports each replayed set as progress.
pub async fn replay_failed(
    store: &dyn StateStore,
    company: &str,
    which: &Replay,
    now: OffsetDateTime,
) -> Result<Vec<SetRecord>, StoreError> {
    let mut found = Vec::new();
    match which {
        Replay::All => {
            let mut after: Option<(u64, SetId)> = None;
            loop {
                let page = store
                    .list(
                        company,
                        Some(SetStatus::Failed),
                        after.as_ref().map(|(n, id)| (*n, id)),
                        PAGE,
                    )
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some((last.number, last.set_id.clone()));
                found.extend(page.into_iter().filter(|r| r.status == SetStatus::Failed));
            }
        }
        Replay::Sets(ids) => {
            for id in ids {
                if let Some(r) = store.get(company, id).await?
                    && matches!(r.status, SetStatus::Failed | SetStatus::Skipped)
                    && !found.iter().any(|f: &SetRecord| &f.set_id == id)
                {
                    found.push(r);
                }
            }
        }
    }
    for r in &mut found {
        r.reopen(now);
        store.save(r).await?;
    }
    Ok(found)
}
