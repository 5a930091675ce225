//! The state stores. One generic contract suite — insert-if-absent,
//! compare-and-set of the watermark, save and read back (findings and review
//! decisions included), paging, the window, counts, cursors, two companies —
//! and the rules the pipeline applies over a store (the watermark, replay,
//! review decisions), run against **both** [`SqliteStore`] and
//! [`MemoryStore`] (`contract!` below). Then what only the SQLite store
//! promises: persistence across reopen, the second-process lock, refusing a
//! newer file.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::support::{schema_version, store_over_inner};
use beorg_client::DocumentType;
use beorg_client::SetId;
use hr_docs_pipeline::StoreError;
use hr_docs_pipeline::hr_docs_checks::{Check, Finding, Severity};
use hr_docs_pipeline::review::{self, Decision, DecisionKind, ReviewError};
use hr_docs_pipeline::store::{
    Failure, FailureKind, FinalState, MemoryStore, Replay, SetRecord, SetStatus, SkipReason,
    SqliteStore, StateStore, StatusCounts, Step, Synchronous, WindowEntry, advance_watermark,
    replay_failed,
};
use hr_docs_pipeline::watermark::{SeenSet, WatermarkRule};
use time::OffsetDateTime;

/// The company every test here uses (the sandbox's default number).
const C: &str = "4821";

const GRACE: Duration = Duration::from_secs(900);

/// A store under test, with the directory its file lives in (if any).
struct Store {
    store: Arc<dyn StateStore>,
    _dir: Option<tempfile::TempDir>,
}

impl Deref for Store {
    type Target = dyn StateStore;
    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

fn sqlite() -> Store {
    let dir = tempfile::tempdir().unwrap();
    // NORMAL: the same semantics without an fsync per commit (keeps the suite fast).
    let store = SqliteStore::open_with(dir.path().join("state.db"), Synchronous::Normal).unwrap();
    Store {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

fn memory() -> Store {
    Store {
        store: Arc::new(MemoryStore::new()),
        _dir: None,
    }
}

/// Each contract test, once per store.
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::sqlite()).await;
                }
            )*
        }
        mod memory_store {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::memory()).await;
                }
            )*
        }
    };
}

contract!(
    init_company_inserts_once,
    compare_and_set_moves_only_from_the_expected_value,
    insert_new_inserts_absent_sets_only,
    a_record_round_trips_every_field,
    skipped_sets_are_recorded_settled_and_counted_per_contour,
    listing_pages_in_set_order,
    the_window_holds_every_set_from_a_number,
    a_record_keeps_its_typed_failure,
    two_companies_never_collide_in_one_store,
    watermark_stops_at_lowest_unsettled_and_counts_failed_as_settled,
    a_gap_holds_the_watermark_until_its_grace_is_over,
    an_outlier_never_moves_the_stored_watermark_past_real_sets,
    an_unsettled_set_holds_the_watermark_past_any_grace,
    relisting_above_a_held_watermark_keeps_settled_sets_and_their_first_seen,
    the_stored_watermark_is_the_rule_over_what_was_recorded,
    replay_puts_failed_and_named_skipped_sets_back_and_never_moves_the_watermark_back,
    claims_default_to_the_pending_sets,
    a_held_set_keeps_its_findings_and_decisions,
    held_and_rejected_sets_never_hold_the_watermark,
    decisions_are_recorded_and_refused_over_any_store,
);

/// A fixed instant plus `ms` milliseconds (the stores keep milliseconds).
fn t(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap() + time::Duration::milliseconds(ms)
}

fn rule(grace: Duration) -> WatermarkRule {
    WatermarkRule::new().with_gap_grace(grace)
}

fn id(n: u64) -> SetId {
    SetId::from_number(n)
}

fn ids(list: &[SetId]) -> Vec<&str> {
    list.iter().map(SetId::as_str).collect()
}

fn sets(numbers: &[u64], at: OffsetDateTime) -> Vec<SetRecord> {
    numbers
        .iter()
        .map(|n| SetRecord::seen_at(C, id(*n), at))
        .collect()
}

/// Records `numbers` as first seen `at`; returns the ids inserted.
async fn seen_at(store: &dyn StateStore, numbers: &[u64], at: OffsetDateTime) -> Vec<SetId> {
    store.insert_new(&sets(numbers, at)).await.unwrap()
}

async fn get(store: &dyn StateStore, n: u64) -> SetRecord {
    store.get(C, &id(n)).await.unwrap().unwrap()
}

/// Set `n` done (or failed), as the pipeline's steps leave it.
async fn settle(store: &dyn StateStore, n: u64, failed: bool) {
    let mut r = get(store, n).await;
    if failed {
        r.fail(Failure::new(
            Step::Written,
            FailureKind::Mapping,
            "bad data",
        ));
    } else {
        for step in [
            Step::Fetched,
            Step::Written,
            Step::Sent,
            Step::Final,
            Step::Archived,
        ] {
            r.advance(step);
        }
    }
    store.save(&r).await.unwrap();
}

/// The watermark after a poll at `now` with `grace`.
async fn advance(store: &dyn StateStore, now: OffsetDateTime, grace: Duration) -> Option<u64> {
    advance_watermark(store, C, &rule(grace), now)
        .await
        .unwrap()
        .map(|a| a.start_id)
}

async fn init_company_inserts_once(s: Store) {
    let store: &dyn StateStore = &*s;
    assert_eq!(store.start_id(C).await.unwrap(), None);
    assert_eq!(store.init_company(C, 5).await.unwrap(), 5);
    // Never reset by a second init.
    assert_eq!(store.init_company(C, 1).await.unwrap(), 5);
    assert_eq!(store.start_id(C).await.unwrap(), Some(5));
    // Set numbers start at 1.
    assert_eq!(store.init_company("7734", 0).await.unwrap(), 1);
}

async fn compare_and_set_moves_only_from_the_expected_value(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 5).await.unwrap();
    assert!(store.compare_and_set_start_id(C, 5, 7).await.unwrap());
    // A second worker that also read 5 loses.
    assert!(!store.compare_and_set_start_id(C, 5, 9).await.unwrap());
    assert_eq!(store.start_id(C).await.unwrap(), Some(7));
    assert!(!store.compare_and_set_start_id("7734", 1, 2).await.unwrap());
    assert_eq!(store.start_id("7734").await.unwrap(), None);
}

async fn insert_new_inserts_absent_sets_only(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    let fresh = store
        .insert_new(&[
            SetRecord::seen_at(C, id(1), t(0)).with_contour(Some("A".into())),
            SetRecord::seen_at(C, id(2), t(0)),
        ])
        .await
        .unwrap();
    assert_eq!(ids(&fresh), ["s-1", "s-2"]);
    settle(store, 1, false).await;
    // Listed again, now under another contour and later: known sets are left
    // as they are — progress, contour, first sighting — and not returned.
    let fresh = store
        .insert_new(&[
            SetRecord::seen_at(C, id(1), t(5_000)).with_contour(Some("B".into())),
            SetRecord::seen_at(C, id(2), t(5_000)).with_contour(Some("B".into())),
            SetRecord::seen_at(C, id(3), t(5_000)),
        ])
        .await
        .unwrap();
    assert_eq!(ids(&fresh), ["s-3"]);
    let r1 = get(store, 1).await;
    assert_eq!(
        (r1.status, r1.step, r1.contour.as_deref(), r1.first_seen),
        (SetStatus::Done, Step::Archived, Some("A"), t(0))
    );
    let r2 = get(store, 2).await;
    assert_eq!((r2.contour, r2.first_seen), (None, t(0)));
    // Nothing to insert: nothing inserted.
    assert!(store.insert_new(&[]).await.unwrap().is_empty());
    // An id without a number is stored with number 0, and found by its id.
    let odd = SetId::new("passport-77");
    let fresh = store
        .insert_new(&[SetRecord::seen_at(C, odd.clone(), t(0))])
        .await
        .unwrap();
    assert_eq!(ids(&fresh), ["passport-77"]);
    assert_eq!(store.get(C, &odd).await.unwrap().unwrap().number, 0);
}

async fn a_record_round_trips_every_field(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 5).await.unwrap();
    store
        .insert_new(&[
            SetRecord::seen_at(C, id(5), t(1_234)).with_contour(Some("Кадры-Москва".into()))
        ])
        .await
        .unwrap();
    let mut r = get(store, 5).await;
    r.document_id = Some("doc-5".into());
    r.attachment_ids = vec!["att-1".into(), "att-2".into()];
    r.advance(Step::Fetched);
    r.attempts = 2;
    r.last_error = Some("HTTP 503".into());
    r.advance(Step::Written);
    r.attempts = 3;
    r.last_error = Some("Saby unavailable".into());
    r.sent_at = Some(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
    r.final_state = Some(FinalState::new(
        "7",
        Some("Выполнение завершено успешно".into()),
    ));
    r.updated_at = OffsetDateTime::from_unix_timestamp(1_700_000_100).unwrap();
    store.save(&r).await.unwrap();
    assert_eq!(get(store, 5).await, r, "every field read back as saved");
    // A status change is saved too.
    r.fail(Failure::new(Step::Sent, FailureKind::GaveUp, "gave up"));
    r.updated_at = OffsetDateTime::from_unix_timestamp(1_700_000_200).unwrap();
    store.save(&r).await.unwrap();
    assert_eq!(get(store, 5).await, r);
    // Saving a set never inserted inserts it.
    let new = SetRecord::seen_at(C, id(6), t(0));
    store.save(&new).await.unwrap();
    assert_eq!(get(store, 6).await, new);
    assert_eq!(store.get(C, &id(7)).await.unwrap(), None);
}

async fn skipped_sets_are_recorded_settled_and_counted_per_contour(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    store
        .insert_new(&[
            SetRecord::seen_at(C, id(1), t(0)).with_contour(Some("A".into())),
            SetRecord::seen_at(C, id(2), t(0))
                .with_contour(Some("B".into()))
                .skipped(SkipReason::ContourFiltered),
            SetRecord::seen_at(C, id(3), t(0)).skipped(SkipReason::ContourUnknown),
        ])
        .await
        .unwrap();
    let r2 = get(store, 2).await;
    assert_eq!(r2.status, SetStatus::Skipped);
    assert_eq!(r2.skip, Some(SkipReason::ContourFiltered));
    assert_eq!(get(store, 3).await.skip, Some(SkipReason::ContourUnknown));
    // Skipped sets are never listed as pending...
    let pending = store
        .list(C, Some(SetStatus::Pending), None, 100)
        .await
        .unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|r| r.set_id.as_str())
            .collect::<Vec<_>>(),
        ["s-1"]
    );
    assert_eq!(store.pending_count(C).await.unwrap(), 1);
    // ... and never hold the watermark: only the pending 1 does.
    assert_eq!(advance(store, t(0), GRACE).await, Some(1));
    settle(store, 1, false).await;
    assert_eq!(advance(store, t(0), GRACE).await, Some(4));
    let counts = store.counts(C).await.unwrap();
    assert_eq!((counts.done, counts.skipped, counts.pending), (1, 2, 0));
    assert_eq!(store.pending_count(C).await.unwrap(), 0);
    let by_contour = store.contour_counts(C).await.unwrap();
    let shown: Vec<(Option<&str>, u64, u64)> = by_contour
        .iter()
        .map(|(c, n)| (c.as_deref(), n.done, n.skipped))
        .collect();
    assert_eq!(shown, [(None, 0, 1), (Some("A"), 1, 0), (Some("B"), 0, 1)]);
    assert_eq!(
        store.contour_counts("7734").await.unwrap(),
        Vec::<(Option<String>, StatusCounts)>::new()
    );
}

async fn listing_pages_in_set_order(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    seen_at(store, &[10, 2, 33, 4, 5], t(0)).await;
    settle(store, 4, false).await;
    let mut after: Option<(u64, SetId)> = None;
    let mut got = Vec::new();
    loop {
        let page = store
            .list(
                C,
                Some(SetStatus::Pending),
                after.as_ref().map(|(n, id)| (*n, id)),
                2,
            )
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some((last.number, last.set_id.clone()));
        got.extend(page.into_iter().map(|r| r.number));
    }
    assert_eq!(got, [2, 5, 10, 33]);
    let all = store.list(C, None, None, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.number).collect::<Vec<_>>(),
        [2, 4, 5, 10, 33]
    );
    assert!(
        store
            .list("OTHER", None, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.list(C, None, None, 0).await.unwrap().is_empty());
}

async fn the_window_holds_every_set_from_a_number(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    seen_at(store, &[3, 4, 7], t(0)).await;
    seen_at(store, &[9], t(60_000)).await;
    settle(store, 4, true).await;
    settle(store, 7, false).await;
    let mut window = store.window(C, 4).await.unwrap();
    window.sort_by_key(|w| w.number);
    assert_eq!(
        window,
        [
            WindowEntry::new(4, SetStatus::Failed, t(0)),
            WindowEntry::new(7, SetStatus::Done, t(0)),
            WindowEntry::new(9, SetStatus::Pending, t(60_000)),
        ]
    );
    assert_eq!(window[1].seen_set(), SeenSet::new(7, true, t(0)));
    assert!(store.window(C, 10).await.unwrap().is_empty());
    assert!(store.window("7734", 1).await.unwrap().is_empty());
}

async fn a_record_keeps_its_typed_failure(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    for (n, kind) in [
        (1, FailureKind::FinalStateTimedOut),
        (2, FailureKind::NotReadyExpired),
        (3, FailureKind::SetBroken),
        (4, FailureKind::NoDocuments),
        (5, FailureKind::GaveUp),
        (6, FailureKind::Unknown("needs_review".into())),
    ] {
        let mut r = SetRecord::seen(C, id(n));
        r.fail(Failure::new(Step::Final, kind.clone(), "why"));
        store.save(&r).await.unwrap();
        let back = get(store, n).await;
        assert_eq!(back.status, SetStatus::Failed);
        assert_eq!(back.failure, Some(Failure::new(Step::Final, kind, "why")));
    }
    // A kind written by a newer version reads back as Unknown, not an error.
    assert_eq!(
        FailureKind::parse("needs_review"),
        FailureKind::Unknown("needs_review".into())
    );
    assert!(FailureKind::SetBroken.is_data_problem());
    assert!(!FailureKind::NotReadyExpired.is_data_problem());
}

/// Two companies in one store: same set ids, separate watermarks, records,
/// counts and event cursors.
async fn two_companies_never_collide_in_one_store(s: Store) {
    let store: &dyn StateStore = &*s;
    assert_eq!(store.init_company("4821", 1).await.unwrap(), 1);
    assert_eq!(store.init_company("7734", 50).await.unwrap(), 50);
    seen_at(store, &[1, 2], t(0)).await;
    let other: Vec<SetRecord> = [1, 50]
        .iter()
        .map(|n| SetRecord::seen_at("7734", id(*n), t(0)))
        .collect();
    assert_eq!(
        ids(&store.insert_new(&other).await.unwrap()),
        ["s-1", "s-50"]
    );
    let mut r = get(store, 1).await;
    r.advance(Step::Fetched);
    r.document_id = Some("doc-a".into());
    store.save(&r).await.unwrap();
    let theirs = store.get("7734", &id(1)).await.unwrap().unwrap();
    assert_eq!((theirs.step, theirs.document_id), (Step::Seen, None));
    assert_eq!(theirs.company, "7734");
    assert_eq!(store.counts("4821").await.unwrap().pending, 2);
    assert_eq!(store.counts("7734").await.unwrap().pending, 2);
    settle(store, 2, false).await;
    advance_watermark(store, "7734", &rule(Duration::ZERO), t(0))
        .await
        .unwrap();
    assert_eq!(
        store.start_id("7734").await.unwrap(),
        Some(50),
        "1 is below its start"
    );
    assert_eq!(store.start_id("4821").await.unwrap(), Some(1));
    store.set_event_cursor("4821", "a").await.unwrap();
    store.set_event_cursor("7734", "b").await.unwrap();
    store.set_event_cursor("7734", "c").await.unwrap();
    assert_eq!(
        store.event_cursor("4821").await.unwrap().as_deref(),
        Some("a")
    );
    assert_eq!(
        store.event_cursor("7734").await.unwrap().as_deref(),
        Some("c")
    );
    assert_eq!(store.event_cursor("9999").await.unwrap(), None);
}

async fn watermark_stops_at_lowest_unsettled_and_counts_failed_as_settled(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    let now = OffsetDateTime::now_utc();
    seen_at(store, &[1, 2, 3, 5], now).await;
    settle(store, 2, false).await;
    // Saving never moves the watermark; a poll does.
    assert_eq!(store.start_id(C).await.unwrap(), Some(1));
    assert_eq!(advance(store, now, GRACE).await, Some(1));
    settle(store, 1, false).await;
    assert_eq!(advance(store, now, GRACE).await, Some(3));
    settle(store, 3, true).await;
    // 4 was never seen: a fresh gap holds.
    assert_eq!(advance(store, now, GRACE).await, Some(4));
    settle(store, 5, false).await;
    assert_eq!(advance(store, now, GRACE).await, Some(4));
    // Without a grace period the gap does not hold.
    assert_eq!(advance(store, now, Duration::ZERO).await, Some(6));
    assert_eq!(store.start_id(C).await.unwrap(), Some(6));
}

async fn a_gap_holds_the_watermark_until_its_grace_is_over(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 16).await.unwrap();
    // 17 is ready before 16 and settles.
    assert_eq!(ids(&seen_at(store, &[17], t(0)).await), ["s-17"]);
    settle(store, 17, false).await;
    assert_eq!(advance(store, t(0), GRACE).await, Some(16));
    assert_eq!(advance(store, t(899_999), GRACE).await, Some(16));
    // 16 turns up within the grace: nothing was skipped.
    assert_eq!(ids(&seen_at(store, &[16, 17], t(150_000)).await), ["s-16"]);
    assert_eq!(advance(store, t(150_000), GRACE).await, Some(16));
    settle(store, 16, false).await;
    assert_eq!(advance(store, t(150_000), GRACE).await, Some(18));

    // 19 never comes (another customer's number): 20 holds at 19 for the
    // grace, counted from when 20 was first seen, then the watermark moves on.
    seen_at(store, &[18, 20], t(1_000_000)).await;
    settle(store, 18, false).await;
    settle(store, 20, false).await;
    seen_at(store, &[18, 20], t(1_800_000)).await;
    assert_eq!(advance(store, t(1_899_999), GRACE).await, Some(19));
    assert_eq!(advance(store, t(1_900_000), GRACE).await, Some(21));
    // Never backwards, even with an earlier clock.
    assert_eq!(advance(store, t(0), GRACE).await, Some(21));
    assert!(
        advance_watermark(store, "UNKNOWN", &rule(GRACE), t(0))
            .await
            .unwrap()
            .is_none()
    );
}

async fn an_outlier_never_moves_the_stored_watermark_past_real_sets(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 200).await.unwrap();
    seen_at(store, &[200, 201, 9_000_000_000], t(0)).await;
    for n in [200, 201, 9_000_000_000] {
        settle(store, n, false).await;
    }
    let decided = advance_watermark(store, C, &rule(Duration::ZERO), t(100 * 3_600_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(decided.start_id, 202);
    assert_eq!(decided.outliers, [9_000_000_000]);
    // Sets near the real ones keep moving it.
    seen_at(store, &[202], t(100 * 3_600_000)).await;
    settle(store, 202, false).await;
    assert_eq!(
        advance(store, t(100 * 3_600_000), Duration::ZERO).await,
        Some(203)
    );
}

async fn an_unsettled_set_holds_the_watermark_past_any_grace(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    seen_at(store, &[1, 3, 5], t(0)).await;
    settle(store, 1, false).await;
    settle(store, 5, false).await;
    let much_later = t(100 * 3_600_000);
    // Gap 2 is released; 3 is still being processed.
    assert_eq!(advance(store, much_later, GRACE).await, Some(3));
    assert_eq!(advance(store, much_later, Duration::ZERO).await, Some(3));
    settle(store, 3, true).await;
    assert_eq!(advance(store, much_later, GRACE).await, Some(6));
}

async fn relisting_above_a_held_watermark_keeps_settled_sets_and_their_first_seen(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 16).await.unwrap();
    seen_at(store, &[17, 18], t(0)).await;
    settle(store, 17, false).await;
    settle(store, 18, true).await;
    assert_eq!(advance(store, t(0), GRACE).await, Some(16));
    // The next polls list 17 and 18 again (start_id is still 16).
    for later in [30_000, 60_000] {
        assert!(seen_at(store, &[17, 18], t(later)).await.is_empty());
    }
    let r17 = get(store, 17).await;
    let r18 = get(store, 18).await;
    assert_eq!((r17.status, r17.step), (SetStatus::Done, Step::Archived));
    assert_eq!(r18.status, SetStatus::Failed);
    assert_eq!((r17.first_seen, r18.first_seen), (t(0), t(0)));
    assert!(
        store
            .list(C, Some(SetStatus::Pending), None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // So the gap is dated from the first sighting, not the latest listing.
    assert_eq!(advance(store, t(900_000), GRACE).await, Some(19));
}

/// Deterministic pseudo-random numbers (xorshift) for the model test.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The rule is applied to exactly the sets the store holds: over random
/// histories (late sets, relisting, failures, skips, a stray outlier), the
/// stored watermark is the rule's over a model of what was recorded.
async fn the_stored_watermark_is_the_rule_over_what_was_recorded(s: Store) {
    let store: &dyn StateStore = &*s;
    for seed in 1..=18u64 {
        let company = format!("c{seed}");
        let c = company.as_str();
        store.init_company(c, 1).await.unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let grace = Duration::from_secs([0, 1, 20, 60, 3_600, 7][(seed % 6) as usize]);
        let rule = WatermarkRule::new().with_gap_grace(grace).with_max_jump(50);
        let mut model: Vec<SeenSet> = Vec::new();
        let mut start = 1;
        let mut next_number = 1;
        let mut clock_ms: i64 = 0;
        for _ in 0..80 {
            clock_ms += (rng.next() % 5_000) as i64;
            let now = t(clock_ms);
            let action = rng.next() % 6;
            if action < 2 || model.iter().all(|s| s.settled) {
                // Beorg reports a few more sets, sometimes skipping numbers
                // (some turn up later, one may be a stray far above), lists
                // known ones again, and some are another contour's (skipped).
                let count = 1 + rng.next() % 3;
                let mut batch = Vec::new();
                for _ in 0..count {
                    next_number += rng.next() % 3;
                    batch.push(next_number);
                    next_number += 1;
                }
                let late = next_number.saturating_sub(2 + rng.next() % 6);
                if late >= start && !model.iter().any(|s| s.number == late) {
                    batch.push(late);
                }
                if rng.next().is_multiple_of(9) {
                    batch.push(next_number + 1_000 + rng.next() % 100);
                }
                if let Some(known) = model.get((rng.next() as usize) % model.len().max(1)) {
                    batch.push(known.number);
                }
                let new: Vec<SetRecord> = batch
                    .iter()
                    .map(|n| {
                        let s = SetRecord::seen_at(c, id(*n), now);
                        if n % 7 == 0 {
                            s.skipped(SkipReason::ContourFiltered)
                        } else {
                            s
                        }
                    })
                    .collect();
                let fresh = store.insert_new(&new).await.unwrap();
                for n in batch {
                    if !model.iter().any(|s| s.number == n) {
                        assert!(fresh.contains(&id(n)), "seed {seed}: {n}");
                        model.push(SeenSet::new(n, n % 7 == 0, now));
                    }
                }
            } else if action < 5 {
                let open: Vec<u64> = model
                    .iter()
                    .filter(|s| !s.settled)
                    .map(|s| s.number)
                    .collect();
                let n = open[(rng.next() as usize) % open.len()];
                let mut r = store.get(c, &id(n)).await.unwrap().unwrap();
                if rng.next().is_multiple_of(4) {
                    r.fail(Failure::new(Step::Written, FailureKind::Mapping, "x"));
                } else {
                    r.advance(Step::Archived);
                }
                store.save(&r).await.unwrap();
                for entry in &mut model {
                    if entry.number == n {
                        entry.settled = true;
                    }
                }
            } else {
                // A poll: the watermark moves as the rule says.
                let expected = rule.advance(start, model.iter().copied(), now);
                start = expected.start_id.max(start);
                let got = advance_watermark(store, c, &rule, now)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    got, expected,
                    "seed {seed}, now {clock_ms}, model {model:?}"
                );
            }
            assert_eq!(
                store.start_id(c).await.unwrap(),
                Some(start),
                "seed {seed}, now {clock_ms}, model {model:?}"
            );
        }
        // The store kept each set's first sighting.
        for s in &model {
            let r = store.get(c, &id(s.number)).await.unwrap().unwrap();
            assert_eq!(r.seen_set(), *s, "seed {seed}");
        }
    }
}

async fn replay_puts_failed_and_named_skipped_sets_back_and_never_moves_the_watermark_back(
    s: Store,
) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    let mut records = sets(&[1, 2, 3], t(0));
    records.push(SetRecord::seen_at(C, id(4), t(0)).skipped(SkipReason::ContourFiltered));
    store.insert_new(&records).await.unwrap();
    settle(store, 1, true).await;
    settle(store, 2, false).await;
    // Set 3 failed waiting for its final state, after it was sent.
    let mut r3 = get(store, 3).await;
    r3.sent_at = Some(t(0));
    r3.advance(Step::Sent);
    r3.attempts = 4;
    r3.fail(Failure::new(
        Step::Final,
        FailureKind::FinalStateTimedOut,
        "timed out",
    ));
    store.save(&r3).await.unwrap();
    assert_eq!(advance(store, t(0), GRACE).await, Some(5));
    assert_eq!(store.counts(C).await.unwrap().failed, 2);

    let now = t(3_600_000);
    let named = Replay::Sets(vec![id(3), id(2), id(4), id(99)]);
    let replayed = replay_failed(store, C, &named, now).await.unwrap();
    let replayed_ids: Vec<&str> = replayed.iter().map(|r| r.set_id.as_str()).collect();
    assert_eq!(replayed_ids, ["s-3", "s-4"], "failed or skipped sets only");
    for r in &replayed {
        assert_eq!(r.status, SetStatus::Pending);
        assert_eq!(
            (r.failure.as_ref(), r.skip.as_ref(), r.attempts),
            (None, None, 0)
        );
        assert_eq!(&get(store, r.number).await, r, "saved as returned");
    }
    // The final-state deadline restarts for the set that was sent; the step
    // it reached stays.
    assert_eq!(
        (replayed[0].sent_at, replayed[0].step),
        (Some(now), Step::Sent)
    );
    assert_eq!(replayed[1].sent_at, None);
    assert_eq!(advance(store, t(0), GRACE).await, Some(5));

    // "All" is every failed set; skipped ones stay skipped unless named.
    store
        .insert_new(&[SetRecord::seen_at(C, id(6), t(0)).skipped(SkipReason::ContourUnknown)])
        .await
        .unwrap();
    let all = replay_failed(store, C, &Replay::All, now).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.set_id.as_str()).collect::<Vec<_>>(),
        ["s-1"]
    );
    let counts = store.counts(C).await.unwrap();
    assert_eq!(
        (counts.pending, counts.done, counts.failed, counts.skipped),
        (3, 1, 0, 1)
    );
    // Nothing failed: nothing replayed.
    assert!(
        replay_failed(store, C, &Replay::All, now)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Both shipped stores serve one process: a claim is the list of pending
/// sets, and renewing or releasing it changes nothing.
async fn claims_default_to_the_pending_sets(s: Store) {
    let store: &dyn StateStore = &*s;
    use hr_docs_pipeline::store::Claim;

    store.init_company(C, 1).await.unwrap();
    seen_at(store, &[1, 2, 3], t(0)).await;
    settle(store, 2, false).await;
    let claim = Claim::new("worker-a");
    let claimed = store.claim_pending(C, &claim, None, 10).await.unwrap();
    let claimed_ids: Vec<SetId> = claimed.iter().map(|r| r.set_id.clone()).collect();
    assert_eq!(ids(&claimed_ids), ["s-1", "s-3"]);
    store.renew_claims(C, &claim, &claimed_ids).await.unwrap();
    store.release_claim(C, &claim, &id(1)).await.unwrap();
    let page = store
        .claim_pending(C, &Claim::new("worker-b"), Some((1, &id(1))), 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].set_id, id(3));
}

/// A store whose first compare-and-set loses to "another worker", which
/// moves `start_id` itself just before.
#[derive(Debug)]
struct Racing {
    inner: MemoryStore,
    raced: AtomicBool,
    attempts: AtomicU32,
    /// Where the other worker moves it.
    other: u64,
}

store_over_inner!(Racing {
    async fn compare_and_set_start_id(
        &self,
        company: &str,
        expected: u64,
        new: u64,
    ) -> Result<bool, StoreError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if !self.raced.swap(true, Ordering::SeqCst) {
            let moved = self
                .inner
                .compare_and_set_start_id(company, expected, self.other)
                .await?;
            assert!(moved);
        }
        self.inner
            .compare_and_set_start_id(company, expected, new)
            .await
    }
});

/// Two workers computed a new `start_id` from the same old one: the one that
/// loses the compare-and-set reads again and applies the rule to the new
/// value — never writing its stale decision over the other's.
#[tokio::test]
async fn the_watermark_is_read_again_after_losing_a_race() {
    let racing = Racing {
        inner: MemoryStore::new(),
        raced: AtomicBool::new(false),
        attempts: AtomicU32::new(0),
        other: 3,
    };
    let store: &dyn StateStore = &racing;
    store.init_company(C, 1).await.unwrap();
    seen_at(store, &[1, 2, 3, 4], t(0)).await;
    for n in [1, 2, 3] {
        settle(store, n, false).await;
    }
    // This worker wants 1 → 4; the other moved 1 → 3 first. Read again from 3:
    // 3 is settled, 4 is not → 4.
    let decided = advance(store, t(0), GRACE).await;
    assert_eq!(decided, Some(4));
    assert_eq!(store.start_id(C).await.unwrap(), Some(4));
    assert_eq!(racing.attempts.load(Ordering::SeqCst), 2);

    // Had the other worker moved it further than this one would, this one's
    // stale value is never written: it stays where the other put it.
    let racing = Racing {
        inner: MemoryStore::new(),
        raced: AtomicBool::new(false),
        attempts: AtomicU32::new(0),
        other: 9,
    };
    let store: &dyn StateStore = &racing;
    store.init_company(C, 1).await.unwrap();
    seen_at(store, &[1, 2], t(0)).await;
    settle(store, 1, false).await;
    assert_eq!(advance(store, t(0), GRACE).await, Some(9));
    assert_eq!(store.start_id(C).await.unwrap(), Some(9));
}

/// A set's `number`, contour and first-seen time are fixed at insert: both
/// shipped stores leave them alone when a record is saved. (The trait allows
/// a store to write them — the pipeline never changes them — so this is not
/// part of the contract suite.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_never_rewrite_a_sets_identity() {
    for s in [sqlite(), memory()] {
        let store: &dyn StateStore = &*s;
        store.init_company(C, 1).await.unwrap();
        seen_at(store, &[17], t(0)).await;
        let mut r = get(store, 17).await;
        r.first_seen = t(123_456);
        r.contour = Some("elsewhere".into());
        r.number = 99;
        r.advance(Step::Fetched);
        store.save(&r).await.unwrap();
        let back = get(store, 17).await;
        assert_eq!(
            (back.step, back.first_seen, back.contour, back.number),
            (Step::Fetched, t(0), None, 17),
            "{store:?}"
        );
        // Still listed in its place.
        let listed = store.list(C, None, None, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].number, 17);
    }
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("state.db")).unwrap()
}

#[tokio::test]
async fn sqlite_records_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let saved = {
        let store = open(&dir);
        assert_eq!(store.init_company(C, 5).await.unwrap(), 5);
        store
            .insert_new(&[
                SetRecord::seen_at(C, id(5), t(1_234)).with_contour(Some("Кадры-Москва".into())),
                SetRecord::seen_at(C, id(6), t(1_234)),
            ])
            .await
            .unwrap();
        let mut r = get(&store, 5).await;
        r.document_id = Some("doc-5".into());
        r.attachment_ids = vec!["att-1".into(), "att-2".into()];
        r.sent_at = Some(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        r.final_state = Some(FinalState::new("7", None));
        r.advance(Step::Final);
        r.updated_at = OffsetDateTime::from_unix_timestamp(1_700_000_100).unwrap();
        store.save(&r).await.unwrap();
        store
            .set_event_cursor(C, r#"{"event_id":"e-1"}"#)
            .await
            .unwrap();
        assert!(store.compare_and_set_start_id(C, 5, 6).await.unwrap());
        r
    };
    let store = open(&dir);
    // init_company never resets an existing start_id.
    assert_eq!(store.init_company(C, 1).await.unwrap(), 6);
    assert_eq!(get(&store, 5).await, saved);
    assert_eq!(get(&store, 6).await.step, Step::Seen);
    assert_eq!(
        store.event_cursor(C).await.unwrap().as_deref(),
        Some(r#"{"event_id":"e-1"}"#)
    );
    assert_eq!(store.counts(C).await.unwrap().pending, 2);
}

#[test]
fn second_open_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(&dir);
    let err = SqliteStore::open(dir.path().join("state.db")).unwrap_err();
    match &err {
        StoreError::Locked { lock_path, .. } => {
            assert_eq!(lock_path, &dir.path().join("state.db.lock"));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    drop(first);
    SqliteStore::open_with(dir.path().join("state.db"), Synchronous::Normal).unwrap();
}

#[test]
fn a_state_file_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(open(&dir));
    assert_eq!(schema_version(&path), "4");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (99, 4));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

/// Run only by `lock_is_refused_to_another_process`, in a child process.
#[test]
#[ignore = "helper: run in a child process by lock_is_refused_to_another_process"]
fn child_process_tries_to_open_the_store() {
    let path = std::env::var("HR_DOCS_LOCK_TEST_DB").expect("set by the parent test");
    match SqliteStore::open(&path) {
        Err(StoreError::Locked { .. }) => {}
        other => panic!("expected StoreError::Locked in the second process, got {other:?}"),
    }
}

#[test]
fn lock_is_refused_to_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let _held = SqliteStore::open(&path).unwrap();
    // The helper's name as libtest knows it: the module path without the crate.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let helper = format!("{module}::child_process_tries_to_open_the_store");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &helper, "--ignored", "--test-threads=1"])
        .env("HR_DOCS_LOCK_TEST_DB", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the second process was not refused: {}\n{stdout}",
        out.status
    );
    // A filter that matched nothing would also exit 0: insist the helper ran.
    assert!(
        stdout.contains("1 passed"),
        "the helper {helper} did not run in the child:\n{stdout}"
    );
}

/// What the data checks found: an error on the SNILS number and a warning.
fn findings() -> Vec<Finding> {
    vec![
        Finding::new(Check::SnilsCheckNumber, Severity::Error)
            .document("SNILS", DocumentType::Snils)
            .field("Number"),
        Finding::new(Check::LowConfidence, Severity::Warning)
            .document("PASSPORT", DocumentType::Passport)
            .field("Series"),
    ]
}

async fn hold(store: &dyn StateStore, n: u64) -> SetRecord {
    let mut r = get(store, n).await;
    r.hold(findings());
    store.save(&r).await.unwrap();
    r
}

/// A held set's findings (the checks' serde form, an unknown check of a newer
/// version included) and its review decisions — kind, who, why, when, the
/// documents left out — read back as saved, through every status change.
async fn a_held_set_keeps_its_findings_and_decisions(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    seen_at(store, &[1, 2], t(0)).await;
    let mut r = get(store, 1).await;
    r.advance(Step::Fetched);
    r.document_id = Some("doc-1".into());
    store.save(&r).await.unwrap();
    let mut extra = findings();
    extra.push(Finding::new(
        Check::Unknown("some_future_check".into()),
        Severity::Error,
    ));
    r.hold(extra);
    assert_eq!((r.status, r.step), (SetStatus::Held, Step::Seen));
    r.updated_at = t(1_000).replace_millisecond(0).unwrap();
    store.save(&r).await.unwrap();
    assert_eq!(get(store, 1).await, r, "held, with every finding");
    let held = store
        .list(C, Some(SetStatus::Held), None, 10)
        .await
        .unwrap();
    assert_eq!(held, [r.clone()]);

    let at = OffsetDateTime::from_unix_timestamp(1_760_000_000).unwrap();
    r.decisions.push(
        Decision::send_without(["MEDBOOK1", "SNILS"], "hr-operator-7")
            .with_reason("скан нечитаем")
            .with_at(at),
    );
    r.status = SetStatus::Pending;
    store.save(&r).await.unwrap();
    assert_eq!(get(store, 1).await, r, "pending again, the decision kept");
    r.decisions
        .push(Decision::reject("hr-operator-8", "duplicate").with_at(at));
    r.status = SetStatus::Rejected;
    store.save(&r).await.unwrap();
    let back = get(store, 1).await;
    assert_eq!(back, r);
    assert_eq!(back.decisions.len(), 2);
    assert_eq!(
        back.decision().map(|d| &d.kind),
        Some(&DecisionKind::Reject)
    );
    // A set never checked has neither.
    let fresh = get(store, 2).await;
    assert!(fresh.findings.is_empty() && fresh.decisions.is_empty());
    // Inserted with them (insert_new stores every field too).
    let mut new = SetRecord::seen_at(C, id(3), t(0));
    new.findings = findings();
    new.decisions = vec![Decision::refetch("op").with_at(at)];
    store.insert_new(std::slice::from_ref(&new)).await.unwrap();
    assert_eq!(get(store, 3).await, new);
}

/// Held and rejected sets are settled: the watermark moves past them (Beorg
/// lists them no more; the state has them), they are counted per contour, and
/// they are never pending.
async fn held_and_rejected_sets_never_hold_the_watermark(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    store
        .insert_new(&[
            SetRecord::seen_at(C, id(1), t(0)).with_contour(Some("A".into())),
            SetRecord::seen_at(C, id(2), t(0)).with_contour(Some("A".into())),
            SetRecord::seen_at(C, id(3), t(0)),
        ])
        .await
        .unwrap();
    hold(store, 1).await;
    let mut r2 = hold(store, 2).await;
    r2.status = SetStatus::Rejected;
    store.save(&r2).await.unwrap();
    assert_eq!(
        advance(store, t(0), GRACE).await,
        Some(3),
        "only the pending 3 holds it"
    );
    settle(store, 3, false).await;
    assert_eq!(advance(store, t(0), GRACE).await, Some(4));
    let counts = store.counts(C).await.unwrap();
    assert_eq!(
        (
            counts.held,
            counts.rejected,
            counts.done,
            counts.pending,
            counts.total()
        ),
        (1, 1, 1, 0, 3)
    );
    assert_eq!(store.pending_count(C).await.unwrap(), 0);
    let by_contour = store.contour_counts(C).await.unwrap();
    let a = by_contour
        .iter()
        .find(|(c, _)| c.as_deref() == Some("A"))
        .unwrap();
    assert_eq!((a.1.held, a.1.rejected), (1, 1));
    assert!(
        store
            .claim_pending(C, &hr_docs_pipeline::store::Claim::new("w"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The review rules over a store: `held_sets` lists the queue, `decide` puts
/// a set back to pending (or rejects it) with one save, and refuses — saving
/// nothing — a set that is not held.
async fn decisions_are_recorded_and_refused_over_any_store(s: Store) {
    let store: &dyn StateStore = &*s;
    store.init_company(C, 1).await.unwrap();
    seen_at(store, &[1, 2, 3], t(0)).await;
    hold(store, 1).await;
    hold(store, 3).await;
    let queue = review::held_sets(store, C).await.unwrap();
    assert_eq!(queue.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(queue[0].findings, findings());

    let approved = review::decide(store, C, &id(1), Decision::send_as_is("op"))
        .await
        .unwrap();
    let mut stored = get(store, 1).await;
    // (SQLite keeps `updated_at` in whole seconds.)
    stored.updated_at = approved.updated_at;
    assert_eq!(stored, approved);
    assert_eq!(
        (approved.status, approved.step),
        (SetStatus::Pending, Step::Seen)
    );
    let rejected = review::decide(store, C, &id(3), Decision::reject("op", "dup"))
        .await
        .unwrap();
    assert_eq!(get(store, 3).await.status, SetStatus::Rejected);
    assert_eq!(rejected.decisions.len(), 1);
    assert!(review::held_sets(store, C).await.unwrap().is_empty());

    for (n, expected) in [(2, SetStatus::Pending), (3, SetStatus::Rejected)] {
        let before = get(store, n).await;
        let err = review::decide(store, C, &id(n), Decision::send_as_is("op"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, hr_docs_pipeline::Error::Review(ReviewError::NotHeld { status, .. })
                if *status == expected),
            "{err:?}"
        );
        assert_eq!(get(store, n).await, before);
    }
    let err = review::decide(store, C, &id(9), Decision::send_as_is("op"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            hr_docs_pipeline::Error::Review(ReviewError::NotFound { .. })
        ),
        "{err:?}"
    );
}
