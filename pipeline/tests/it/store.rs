//! The SQLite state store: persistence across reopen, the second-process lock,
//! the watermark rule applied to the stored window, skipped sets, replay, and two
//! companies in one file.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use hr_docs_pipeline::StoreError;
use hr_docs_pipeline::store::{
    Failure, FailureKind, FinalState, NewSet, SetRecord, SetStatus, SkipReason, SqliteStore,
    StateStore, Step, Synchronous,
};
use hr_docs_pipeline::watermark::{SeenSet, WatermarkRule};
use time::OffsetDateTime;

/// The company every test here uses (the sandbox's default number).
const C: &str = "4821";

const GRACE: Duration = Duration::from_secs(900);

/// A fixed instant plus `ms` milliseconds (the store keeps milliseconds).
fn t(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap() + time::Duration::milliseconds(ms)
}

fn rule(grace: Duration) -> WatermarkRule {
    WatermarkRule::new().with_gap_grace(grace)
}

fn sets(numbers: &[u64]) -> Vec<NewSet> {
    numbers
        .iter()
        .map(|n| NewSet::new(format!("s-{n}"), *n))
        .collect()
}

fn seen_at(store: &SqliteStore, numbers: &[u64], at: OffsetDateTime) -> Vec<String> {
    store.record_seen_at(C, &sets(numbers), at).unwrap()
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("state.db")).unwrap()
}

fn seen(store: &SqliteStore, numbers: &[u64]) {
    store.record_seen(C, &sets(numbers)).unwrap();
}

fn settle(store: &SqliteStore, n: u64, failed: bool) {
    let mut r = store.get(C, &format!("s-{n}")).unwrap().unwrap();
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
    store.save(&r).unwrap();
}

/// The watermark after a poll at `now` with `grace`.
fn advance(store: &SqliteStore, now: OffsetDateTime, grace: Duration) -> Option<u64> {
    store
        .advance_start_id(C, now, &rule(grace))
        .unwrap()
        .map(|a| a.start_id)
}

#[test]
fn records_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        assert_eq!(store.init_company(C, 5).unwrap(), 5);
        store
            .record_seen_at(
                C,
                &[
                    NewSet::new("s-5", 5).contour(Some("Кадры-Москва".into())),
                    NewSet::new("s-6", 6),
                ],
                t(1_234),
            )
            .unwrap();
        let mut r = store.get(C, "s-5").unwrap().unwrap();
        r.document_id = Some("doc-5".into());
        r.attachment_ids = vec!["att-1".into(), "att-2".into()];
        r.advance(Step::Fetched);
        r.advance(Step::Written);
        r.sent_at = Some(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        r.advance(Step::Sent);
        r.final_state = Some(FinalState::new(
            "7",
            Some("Выполнение завершено успешно".into()),
        ));
        r.advance(Step::Final);
        store.save(&r).unwrap();
        store.set_event_cursor(C, r#"{"event_id":"e-1"}"#).unwrap();
    }
    let store = open(&dir);
    // init_company never resets an existing start_id.
    assert_eq!(store.init_company(C, 1).unwrap(), 5);
    let r = store.get(C, "s-5").unwrap().unwrap();
    assert_eq!(
        (r.company.as_str(), r.contour.as_deref()),
        (C, Some("Кадры-Москва"))
    );
    assert_eq!(r.step, Step::Final);
    assert_eq!(r.status, SetStatus::Pending);
    assert_eq!(r.number, 5);
    assert_eq!(r.document_id.as_deref(), Some("doc-5"));
    assert_eq!(r.attachment_ids, ["att-1", "att-2"]);
    assert_eq!(r.sent_at.unwrap().unix_timestamp(), 1_700_000_000);
    assert_eq!(r.first_seen, t(1_234));
    assert_eq!(
        r.final_state.unwrap().name.as_deref(),
        Some("Выполнение завершено успешно")
    );
    let r6 = store.get(C, "s-6").unwrap().unwrap();
    assert_eq!((r6.step, r6.contour), (Step::Seen, None));
    assert_eq!(
        store.event_cursor(C).unwrap().as_deref(),
        Some(r#"{"event_id":"e-1"}"#)
    );
    assert_eq!(store.event_cursor("7734").unwrap(), None);
    assert_eq!(store.counts(C).unwrap().pending, 2);
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
fn record_seen_reports_only_new_sets_and_keeps_progress_and_contour() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 1).unwrap();
    store
        .record_seen(
            C,
            &[
                NewSet::new("s-1", 1).contour(Some("A".into())),
                NewSet::new("s-2", 2),
            ],
        )
        .unwrap();
    settle(&store, 1, false);
    // Listed again, now under another contour: known sets are left as they are.
    let fresh = store
        .record_seen(
            C,
            &[
                NewSet::new("s-1", 1).contour(Some("B".into())),
                NewSet::new("s-2", 2).contour(Some("B".into())),
                NewSet::new("s-3", 3),
            ],
        )
        .unwrap();
    assert_eq!(fresh, ["s-3"]);
    let r1 = store.get(C, "s-1").unwrap().unwrap();
    assert_eq!(
        (r1.status, r1.contour.as_deref()),
        (SetStatus::Done, Some("A"))
    );
    assert_eq!(store.get(C, "s-2").unwrap().unwrap().contour, None);
}

#[test]
fn skipped_sets_are_recorded_settled_and_counted_per_contour() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 1).unwrap();
    store
        .record_seen_at(
            C,
            &[
                NewSet::new("s-1", 1).contour(Some("A".into())),
                NewSet::new("s-2", 2)
                    .contour(Some("B".into()))
                    .skipped(SkipReason::ContourFiltered),
                NewSet::new("s-3", 3).skipped(SkipReason::ContourUnknown),
            ],
            t(0),
        )
        .unwrap();
    let r2 = store.get(C, "s-2").unwrap().unwrap();
    assert_eq!(r2.status, SetStatus::Skipped);
    assert_eq!(r2.skip, Some(SkipReason::ContourFiltered));
    assert_eq!(
        store.get(C, "s-3").unwrap().unwrap().skip,
        Some(SkipReason::ContourUnknown)
    );
    // Skipped sets are never scheduled...
    let pending: Vec<String> = store
        .list(C, Some(SetStatus::Pending), None, 100)
        .unwrap()
        .into_iter()
        .map(|r| r.set_id)
        .collect();
    assert_eq!(pending, ["s-1"]);
    // ... and never hold the watermark: only the pending 1 does.
    assert_eq!(advance(&store, t(0), GRACE), Some(1));
    settle(&store, 1, false);
    assert_eq!(advance(&store, t(0), GRACE), Some(4));
    let counts = store.counts(C).unwrap();
    assert_eq!((counts.done, counts.skipped, counts.pending), (1, 2, 0));
    let by_contour = store.contour_counts(C).unwrap();
    let shown: Vec<(Option<&str>, u64, u64)> = by_contour
        .iter()
        .map(|(c, n)| (c.as_deref(), n.done, n.skipped))
        .collect();
    assert_eq!(shown, [(None, 0, 1), (Some("A"), 1, 0), (Some("B"), 0, 1)]);
}

#[test]
fn watermark_stops_at_lowest_unsettled_and_counts_failed_as_settled() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 1).unwrap();
    seen(&store, &[1, 2, 3, 5]);
    let now = OffsetDateTime::now_utc();
    settle(&store, 2, false);
    // Saving never moves the watermark; a poll does.
    assert_eq!(store.start_id(C).unwrap(), Some(1));
    assert_eq!(advance(&store, now, GRACE), Some(1));
    settle(&store, 1, false);
    assert_eq!(advance(&store, now, GRACE), Some(3));
    settle(&store, 3, true);
    // 4 was never seen: a fresh gap holds.
    assert_eq!(advance(&store, now, GRACE), Some(4));
    settle(&store, 5, false);
    assert_eq!(advance(&store, now, GRACE), Some(4));
    // Without a grace period the gap does not hold.
    assert_eq!(advance(&store, now, Duration::ZERO), Some(6));
    assert_eq!(store.start_id(C).unwrap(), Some(6));
}

#[test]
fn a_gap_holds_the_watermark_until_its_grace_is_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 16).unwrap();
    // 17 is ready before 16 and settles.
    assert_eq!(seen_at(&store, &[17], t(0)), ["s-17"]);
    settle(&store, 17, false);
    assert_eq!(advance(&store, t(0), GRACE), Some(16));
    assert_eq!(advance(&store, t(899_999), GRACE), Some(16));
    // 16 turns up within the grace: nothing was skipped.
    assert_eq!(seen_at(&store, &[16, 17], t(150_000)), ["s-16"]);
    assert_eq!(advance(&store, t(150_000), GRACE), Some(16));
    settle(&store, 16, false);
    assert_eq!(advance(&store, t(150_000), GRACE), Some(18));

    // 19 never comes (another customer's number): 20 holds at 19 for the
    // grace, counted from when 20 was first seen, then the watermark moves on.
    seen_at(&store, &[18, 20], t(1_000_000));
    settle(&store, 18, false);
    settle(&store, 20, false);
    seen_at(&store, &[18, 20], t(1_800_000));
    assert_eq!(advance(&store, t(1_899_999), GRACE), Some(19));
    assert_eq!(advance(&store, t(1_900_000), GRACE), Some(21));
    // Never backwards, even with an earlier clock.
    assert_eq!(advance(&store, t(0), GRACE), Some(21));
    assert!(
        store
            .advance_start_id("UNKNOWN", t(0), &rule(GRACE))
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_outlier_never_moves_the_stored_watermark_past_real_sets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 200).unwrap();
    seen_at(&store, &[200, 201, 9_000_000_000], t(0));
    for n in [200, 201, 9_000_000_000] {
        settle(&store, n, false);
    }
    let decided = store
        .advance_start_id(C, t(100 * 3_600_000), &rule(Duration::ZERO))
        .unwrap()
        .unwrap();
    assert_eq!(decided.start_id, 202);
    assert_eq!(decided.outliers, [9_000_000_000]);
    // Sets near the real ones keep moving it.
    seen_at(&store, &[202], t(100 * 3_600_000));
    settle(&store, 202, false);
    assert_eq!(
        advance(&store, t(100 * 3_600_000), Duration::ZERO),
        Some(203)
    );
}

#[test]
fn an_unsettled_set_holds_the_watermark_past_any_grace() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 1).unwrap();
    seen_at(&store, &[1, 3, 5], t(0));
    settle(&store, 1, false);
    settle(&store, 5, false);
    let much_later = t(100 * 3_600_000);
    // Gap 2 is released; 3 is still being processed.
    assert_eq!(advance(&store, much_later, GRACE), Some(3));
    assert_eq!(advance(&store, much_later, Duration::ZERO), Some(3));
    settle(&store, 3, true);
    assert_eq!(advance(&store, much_later, GRACE), Some(6));
}

#[test]
fn relisting_above_a_held_watermark_keeps_settled_sets_and_their_first_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 16).unwrap();
    seen_at(&store, &[17, 18], t(0));
    settle(&store, 17, false);
    settle(&store, 18, true);
    assert_eq!(advance(&store, t(0), GRACE), Some(16));
    // The next polls list 17 and 18 again (start_id is still 16).
    for later in [30_000, 60_000] {
        assert!(seen_at(&store, &[17, 18], t(later)).is_empty());
    }
    let r17 = store.get(C, "s-17").unwrap().unwrap();
    let r18 = store.get(C, "s-18").unwrap().unwrap();
    assert_eq!((r17.status, r17.step), (SetStatus::Done, Step::Archived));
    assert_eq!(r18.status, SetStatus::Failed);
    assert_eq!((r17.first_seen, r18.first_seen), (t(0), t(0)));
    assert!(
        store
            .list(C, Some(SetStatus::Pending), None, 100)
            .unwrap()
            .is_empty()
    );
    // Saving a record never rewrites its first-seen time nor its contour.
    let mut r = r17.clone();
    r.first_seen = t(123_456);
    r.contour = Some("elsewhere".into());
    store.save(&r).unwrap();
    let back = store.get(C, "s-17").unwrap().unwrap();
    assert_eq!((back.first_seen, back.contour), (t(0), None));
    // So the gap is dated from the first sighting, not the latest listing.
    assert_eq!(advance(&store, t(900_000), GRACE), Some(19));
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

/// The store applies the rule to exactly the sets it holds: over random
/// histories (late sets, relisting, failures, skips, a stray outlier), its
/// watermark is the rule's over a model of what was recorded.
#[test]
fn the_stored_watermark_is_the_rule_over_what_was_recorded() {
    for seed in 1..=18u64 {
        let dir = tempfile::tempdir().unwrap();
        // NORMAL: same semantics, no fsync per commit (keeps the test fast).
        let store =
            SqliteStore::open_with(dir.path().join("state.db"), Synchronous::Normal).unwrap();
        store.init_company(C, 1).unwrap();
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
                let new: Vec<NewSet> = batch
                    .iter()
                    .map(|n| {
                        let s = NewSet::new(format!("s-{n}"), *n);
                        if n % 7 == 0 {
                            s.skipped(SkipReason::ContourFiltered)
                        } else {
                            s
                        }
                    })
                    .collect();
                let fresh = store.record_seen_at(C, &new, now).unwrap();
                for n in batch {
                    if !model.iter().any(|s| s.number == n) {
                        assert!(fresh.contains(&format!("s-{n}")), "seed {seed}: {n}");
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
                settle(&store, n, rng.next().is_multiple_of(4));
                for entry in &mut model {
                    if entry.number == n {
                        entry.settled = true;
                    }
                }
            } else {
                // A poll: the watermark moves as the rule says.
                let expected = rule.advance(start, model.iter().copied(), now);
                start = expected.start_id.max(start);
                let got = store.advance_start_id(C, now, &rule).unwrap().unwrap();
                assert_eq!(
                    got, expected,
                    "seed {seed}, now {clock_ms}, model {model:?}"
                );
            }
            assert_eq!(
                store.start_id(C).unwrap(),
                Some(start),
                "seed {seed}, now {clock_ms}, model {model:?}"
            );
        }
        // The store kept each set's first sighting.
        for s in &model {
            let r = store.get(C, &format!("s-{}", s.number)).unwrap().unwrap();
            assert_eq!(r.seen_set(), *s, "seed {seed}");
        }
    }
}

#[test]
fn replay_puts_failed_and_named_skipped_sets_back_and_never_moves_the_watermark_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 1).unwrap();
    store
        .record_seen(
            C,
            &[
                NewSet::new("s-1", 1),
                NewSet::new("s-2", 2),
                NewSet::new("s-3", 3),
                NewSet::new("s-4", 4).skipped(SkipReason::ContourFiltered),
            ],
        )
        .unwrap();
    settle(&store, 1, true);
    settle(&store, 2, false);
    settle(&store, 3, true);
    assert_eq!(advance(&store, t(0), GRACE), Some(5));
    assert_eq!(store.counts(C).unwrap().failed, 2);

    let replayed = store
        .replay_failed(
            C,
            Some(&["s-3".to_owned(), "s-2".to_owned(), "s-4".to_owned()]),
        )
        .unwrap();
    let ids: Vec<&str> = replayed.iter().map(|r| r.set_id.as_str()).collect();
    assert_eq!(ids, ["s-3", "s-4"], "failed or skipped sets only");
    for r in &replayed {
        assert_eq!(r.status, SetStatus::Pending);
        assert_eq!(
            (r.failure.as_ref(), r.skip.as_ref(), r.attempts),
            (None, None, 0)
        );
    }
    assert_eq!(advance(&store, t(0), GRACE), Some(5));

    // "All" is every failed set; skipped ones stay skipped unless named.
    let all = store.replay_failed(C, None).unwrap();
    assert_eq!(
        all.iter().map(|r| r.set_id.as_str()).collect::<Vec<_>>(),
        ["s-1"]
    );
    let counts = store.counts(C).unwrap();
    assert_eq!((counts.pending, counts.done, counts.failed), (3, 1, 0));
}

#[test]
fn listing_pages_in_set_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 1).unwrap();
    seen(&store, &[10, 2, 33, 4, 5]);
    settle(&store, 4, false);
    let mut after: Option<(u64, String)> = None;
    let mut got = Vec::new();
    loop {
        let page = store
            .list(
                C,
                Some(SetStatus::Pending),
                after.as_ref().map(|(n, id)| (*n, id.as_str())),
                2,
            )
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.number, last.set_id.clone()));
        got.extend(page.into_iter().map(|r| r.number));
    }
    assert_eq!(got, [2, 5, 10, 33]);
    assert_eq!(store.list(C, None, None, 100).unwrap().len(), 5);
    assert!(store.list("OTHER", None, None, 100).unwrap().is_empty());
}

#[test]
fn a_record_keeps_its_typed_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_company(C, 1).unwrap();
    for (n, kind) in [
        (1, FailureKind::FinalStateTimedOut),
        (2, FailureKind::NotReadyExpired),
        (3, FailureKind::SetBroken),
        (4, FailureKind::NoDocuments),
        (5, FailureKind::GaveUp),
    ] {
        let mut r = SetRecord::seen(C, format!("s-{n}"), n);
        r.fail(Failure::new(Step::Final, kind.clone(), "why"));
        store.save(&r).unwrap();
        let back = store.get(C, &format!("s-{n}")).unwrap().unwrap();
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

/// Two companies in one state file: same set ids, separate watermarks,
/// records, counts and event cursors.
#[test]
fn two_companies_never_collide_in_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert_eq!(store.init_company("4821", 1).unwrap(), 1);
    assert_eq!(store.init_company("7734", 50).unwrap(), 50);
    store.record_seen_at("4821", &sets(&[1, 2]), t(0)).unwrap();
    assert_eq!(
        store.record_seen_at("7734", &sets(&[1, 50]), t(0)).unwrap(),
        ["s-1", "s-50"]
    );
    let mut r = store.get("4821", "s-1").unwrap().unwrap();
    r.advance(Step::Fetched);
    r.document_id = Some("doc-a".into());
    store.save(&r).unwrap();
    let other = store.get("7734", "s-1").unwrap().unwrap();
    assert_eq!((other.step, other.document_id), (Step::Seen, None));
    assert_eq!(other.company, "7734");
    assert_eq!(store.counts("4821").unwrap().pending, 2);
    assert_eq!(store.counts("7734").unwrap().pending, 2);
    settle(&store, 2, false);
    store
        .advance_start_id("7734", t(0), &rule(Duration::ZERO))
        .unwrap();
    assert_eq!(
        store.start_id("7734").unwrap(),
        Some(50),
        "1 is below its start"
    );
    assert_eq!(store.start_id("4821").unwrap(), Some(1));
    store.set_event_cursor("4821", "a").unwrap();
    store.set_event_cursor("7734", "b").unwrap();
    assert_eq!(store.event_cursor("4821").unwrap().as_deref(), Some("a"));
    assert_eq!(store.event_cursor("7734").unwrap().as_deref(), Some("b"));
}

fn schema_version(path: &std::path::Path) -> String {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_state_file_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(open(&dir));
    assert_eq!(schema_version(&path), "3");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (99, 3));
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
