//! The SQLite state store: persistence across reopen, the second-process lock,
//! the incremental watermark against its reference definition, replay.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use pipeline::StoreError;
use pipeline::store::{
    Failure, FinalState, SetRecord, SetStatus, SqliteStore, StateStore, Step, Synchronous,
};
use pipeline::watermark::{SeenSet, next_start_id};
use time::OffsetDateTime;

const P: &str = "PROJ";

const GRACE: Duration = Duration::from_secs(900);

/// A fixed instant plus `ms` milliseconds (the store keeps milliseconds).
fn t(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap() + time::Duration::milliseconds(ms)
}

fn seen_at(store: &SqliteStore, numbers: &[u64], at: OffsetDateTime) -> Vec<String> {
    let sets: Vec<(String, u64)> = numbers.iter().map(|n| (format!("s-{n}"), *n)).collect();
    store.record_seen_at(P, &sets, at).unwrap()
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("state.db")).unwrap()
}

fn seen(store: &SqliteStore, numbers: &[u64]) {
    let sets: Vec<(String, u64)> = numbers.iter().map(|n| (format!("s-{n}"), *n)).collect();
    store.record_seen(P, &sets).unwrap();
}

fn settle(store: &SqliteStore, n: u64, failed: bool) {
    let mut r = store.get(P, &format!("s-{n}")).unwrap().unwrap();
    if failed {
        r.fail(Failure::new(Step::Written, "bad data"));
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

#[test]
fn records_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        assert_eq!(store.init_project(P, 5).unwrap(), 5);
        seen_at(&store, &[5, 6], t(1_234));
        let mut r = store.get(P, "s-5").unwrap().unwrap();
        r.document_id = Some("doc-5".into());
        r.file_names = vec!["Паспорт_Иванов.json".into(), "beorg_result_s-5.json".into()];
        r.advance(Step::Fetched);
        r.advance(Step::Written);
        r.sent_at = Some(time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        r.advance(Step::Sent);
        r.final_state = Some(FinalState::new(
            "7",
            Some("Выполнение завершено успешно".into()),
        ));
        r.advance(Step::Final);
        store.save(&r).unwrap();
        store.set_event_cursor(r#"{"event_id":"e-1"}"#).unwrap();
    }
    let store = open(&dir);
    // init_project never resets an existing start_id.
    assert_eq!(store.init_project(P, 1).unwrap(), 5);
    let r = store.get(P, "s-5").unwrap().unwrap();
    assert_eq!(r.step, Step::Final);
    assert_eq!(r.status, SetStatus::Pending);
    assert_eq!(r.number, 5);
    assert_eq!(r.document_id.as_deref(), Some("doc-5"));
    assert_eq!(
        r.file_names,
        ["Паспорт_Иванов.json", "beorg_result_s-5.json"]
    );
    assert_eq!(r.sent_at.unwrap().unix_timestamp(), 1_700_000_000);
    assert_eq!(r.first_seen, t(1_234));
    assert_eq!(
        r.final_state.unwrap().name.as_deref(),
        Some("Выполнение завершено успешно")
    );
    assert_eq!(store.get(P, "s-6").unwrap().unwrap().step, Step::Seen);
    assert_eq!(
        store.event_cursor().unwrap().as_deref(),
        Some(r#"{"event_id":"e-1"}"#)
    );
    assert_eq!(store.counts(P).unwrap().pending, 2);
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
fn record_seen_reports_only_new_sets_and_keeps_progress() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_project(P, 1).unwrap();
    seen(&store, &[1, 2]);
    settle(&store, 1, false);
    let fresh = store
        .record_seen(
            P,
            &[("s-1".into(), 1), ("s-2".into(), 2), ("s-3".into(), 3)],
        )
        .unwrap();
    assert_eq!(fresh, ["s-3"]);
    assert_eq!(
        store.get(P, "s-1").unwrap().unwrap().status,
        SetStatus::Done
    );
}

#[test]
fn watermark_stops_at_lowest_unsettled_and_counts_failed_as_settled() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_project(P, 1).unwrap();
    seen(&store, &[1, 2, 3, 5]);
    settle(&store, 2, false);
    assert_eq!(store.start_id(P).unwrap(), Some(1));
    settle(&store, 1, false);
    assert_eq!(store.start_id(P).unwrap(), Some(3));
    settle(&store, 3, true);
    // 4 was never seen: settling never moves the watermark past a gap.
    assert_eq!(store.start_id(P).unwrap(), Some(4));
    settle(&store, 5, false);
    assert_eq!(store.start_id(P).unwrap(), Some(4));
    // Without a grace period the gap does not hold.
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        store.advance_start_id(P, now, Duration::ZERO).unwrap(),
        Some(6)
    );
    assert_eq!(store.start_id(P).unwrap(), Some(6));
}

#[test]
fn a_gap_holds_the_watermark_until_its_grace_is_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_project(P, 16).unwrap();
    // 17 is ready before 16 and settles.
    assert_eq!(seen_at(&store, &[17], t(0)), ["s-17"]);
    settle(&store, 17, false);
    assert_eq!(store.start_id(P).unwrap(), Some(16));
    assert_eq!(store.advance_start_id(P, t(0), GRACE).unwrap(), Some(16));
    assert_eq!(
        store.advance_start_id(P, t(899_999), GRACE).unwrap(),
        Some(16)
    );
    // 16 turns up within the grace: nothing was skipped.
    assert_eq!(seen_at(&store, &[16, 17], t(150_000)), ["s-16"]);
    assert_eq!(
        store.advance_start_id(P, t(150_000), GRACE).unwrap(),
        Some(16)
    );
    settle(&store, 16, false);
    assert_eq!(store.start_id(P).unwrap(), Some(18));

    // 19 never comes (another contour's number): 20 holds at 19 for the grace,
    // counted from when 20 was first seen, then the watermark moves on.
    seen_at(&store, &[18, 20], t(1_000_000));
    settle(&store, 18, false);
    settle(&store, 20, false);
    assert_eq!(store.start_id(P).unwrap(), Some(19));
    seen_at(&store, &[18, 20], t(1_800_000));
    assert_eq!(
        store.advance_start_id(P, t(1_899_999), GRACE).unwrap(),
        Some(19)
    );
    assert_eq!(
        store.advance_start_id(P, t(1_900_000), GRACE).unwrap(),
        Some(21)
    );
    // Never backwards, even with an earlier clock.
    assert_eq!(store.advance_start_id(P, t(0), GRACE).unwrap(), Some(21));
    assert_eq!(
        store.advance_start_id("UNKNOWN", t(0), GRACE).unwrap(),
        None
    );
}

#[test]
fn an_unsettled_set_holds_the_watermark_past_any_grace() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_project(P, 1).unwrap();
    seen_at(&store, &[1, 3, 5], t(0));
    settle(&store, 1, false);
    settle(&store, 5, false);
    let much_later = t(100 * 3_600_000);
    // Gap 2 is released; 3 is still being processed.
    assert_eq!(
        store.advance_start_id(P, much_later, GRACE).unwrap(),
        Some(3)
    );
    assert_eq!(
        store
            .advance_start_id(P, much_later, Duration::ZERO)
            .unwrap(),
        Some(3)
    );
    settle(&store, 3, true);
    assert_eq!(store.start_id(P).unwrap(), Some(4));
    assert_eq!(
        store.advance_start_id(P, much_later, GRACE).unwrap(),
        Some(6)
    );
}

#[test]
fn relisting_above_a_held_watermark_keeps_settled_sets_and_their_first_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_project(P, 16).unwrap();
    seen_at(&store, &[17, 18], t(0));
    settle(&store, 17, false);
    settle(&store, 18, true);
    assert_eq!(store.start_id(P).unwrap(), Some(16));
    // The next polls list 17 and 18 again (start_id is still 16).
    for later in [30_000, 60_000] {
        assert!(seen_at(&store, &[17, 18], t(later)).is_empty());
    }
    let r17 = store.get(P, "s-17").unwrap().unwrap();
    let r18 = store.get(P, "s-18").unwrap().unwrap();
    assert_eq!((r17.status, r17.step), (SetStatus::Done, Step::Archived));
    assert_eq!(r18.status, SetStatus::Failed);
    assert_eq!((r17.first_seen, r18.first_seen), (t(0), t(0)));
    // Pending listing (what the pipeline schedules) does not bring them back.
    assert!(
        store
            .list(P, Some(SetStatus::Pending), None, 100)
            .unwrap()
            .is_empty()
    );
    // Saving a record never rewrites its first-seen time.
    let mut r = r17.clone();
    r.first_seen = t(123_456);
    store.save(&r).unwrap();
    assert_eq!(store.get(P, "s-17").unwrap().unwrap().first_seen, t(0));
    // So the gap is dated from the first sighting, not the latest listing.
    assert_eq!(
        store.advance_start_id(P, t(900_000), GRACE).unwrap(),
        Some(19)
    );
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

#[test]
fn incremental_watermark_matches_the_reference_definition() {
    for seed in 1..=18u64 {
        let dir = tempfile::tempdir().unwrap();
        // NORMAL: same semantics, no fsync per commit (keeps the test fast).
        let store =
            SqliteStore::open_with(dir.path().join("state.db"), Synchronous::Normal).unwrap();
        store.init_project(P, 1).unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // Grace periods from "ignore gaps" to longer than the whole run.
        let grace = Duration::from_secs([0, 1, 20, 60, 3_600, 7][(seed % 6) as usize]);
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
                // (some of which turn up later), and lists known ones again.
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
                if let Some(known) = model.get((rng.next() as usize) % model.len().max(1)) {
                    batch.push(known.number);
                }
                let fresh = seen_at(&store, &batch, now);
                for n in batch {
                    if !model.iter().any(|s| s.number == n) {
                        assert!(fresh.contains(&format!("s-{n}")), "seed {seed}: {n}");
                        model.push(SeenSet::new(n, false, now));
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
                // Settling holds every gap: an infinite grace.
                start = next_start_id(start, model.iter().copied(), now, Duration::MAX);
            } else {
                // A poll: gaps past their grace are released.
                start = next_start_id(start, model.iter().copied(), now, grace);
                assert_eq!(
                    store.advance_start_id(P, now, grace).unwrap(),
                    Some(start),
                    "seed {seed}, now {clock_ms}, model {model:?}"
                );
            }
            assert_eq!(
                store.start_id(P).unwrap(),
                Some(start),
                "seed {seed}, now {clock_ms}, model {model:?}"
            );
        }
        // The store kept each set's first sighting.
        for s in &model {
            let r = store.get(P, &format!("s-{}", s.number)).unwrap().unwrap();
            assert_eq!(SeenSet::from(&r), *s, "seed {seed}");
        }
    }
}

#[test]
fn replay_puts_failed_sets_back_and_never_moves_the_watermark_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_project(P, 1).unwrap();
    seen(&store, &[1, 2, 3]);
    settle(&store, 1, true);
    settle(&store, 2, false);
    settle(&store, 3, true);
    assert_eq!(store.start_id(P).unwrap(), Some(4));
    assert_eq!(store.counts(P).unwrap().failed, 2);

    let replayed = store
        .replay_failed(P, Some(&["s-3".to_owned(), "s-2".to_owned()]))
        .unwrap();
    assert_eq!(replayed.len(), 1, "only failed sets are replayed");
    assert_eq!(replayed[0].set_id, "s-3");
    assert_eq!(replayed[0].status, SetStatus::Pending);
    assert_eq!(replayed[0].failure, None);
    assert_eq!(replayed[0].attempts, 0);
    assert_eq!(store.start_id(P).unwrap(), Some(4));

    let all = store.replay_failed(P, None).unwrap();
    assert_eq!(
        all.iter().map(|r| r.set_id.as_str()).collect::<Vec<_>>(),
        ["s-1"]
    );
    let counts = store.counts(P).unwrap();
    assert_eq!((counts.pending, counts.done, counts.failed), (2, 1, 0));
}

#[test]
fn listing_pages_in_set_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_project(P, 1).unwrap();
    seen(&store, &[10, 2, 33, 4, 5]);
    settle(&store, 4, false);
    let mut after: Option<(u64, String)> = None;
    let mut got = Vec::new();
    loop {
        let page = store
            .list(
                P,
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
    assert_eq!(store.list(P, None, None, 100).unwrap().len(), 5);
    assert!(store.list("OTHER", None, None, 100).unwrap().is_empty());
}

#[test]
fn a_record_keeps_its_failure() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.init_project(P, 1).unwrap();
    let mut r = SetRecord::seen(P, "s-1", 1);
    r.fail(Failure::new(Step::Final, pipeline::TIMED_OUT));
    store.save(&r).unwrap();
    let back = store.get(P, "s-1").unwrap().unwrap();
    assert_eq!(back.status, SetStatus::Failed);
    assert_eq!(
        back.failure,
        Some(Failure::new(Step::Final, pipeline::TIMED_OUT))
    );
}

/// The schema as version 1 created it, verbatim.
const V1_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS projects (
    project  TEXT PRIMARY KEY,
    start_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sets (
    project       TEXT NOT NULL,
    set_id        TEXT NOT NULL,
    number        INTEGER NOT NULL,
    step          TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    failed_step   TEXT,
    reason        TEXT,
    document_id   TEXT,
    file_names    TEXT NOT NULL DEFAULT '[]',
    sent_at       INTEGER,
    final_code    TEXT,
    final_name    TEXT,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (project, set_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sets_by_status ON sets (project, status, number, set_id);
CREATE INDEX IF NOT EXISTS sets_by_number ON sets (project, number, set_id);
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
";

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
fn a_version_1_state_file_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
        conn.execute_batch(V1_SCHEMA).unwrap();
        conn.execute_batch(
            "INSERT INTO projects (project, start_id) VALUES ('PROJ', 16);
             INSERT INTO sets (project, set_id, number, step, status, updated_at) VALUES
               ('PROJ', 's-17', 17, 'archived', 'done', 1700000000),
               ('PROJ', 's-19', 19, 'seen', 'pending', 1700000100);",
        )
        .unwrap();
    }
    {
        let store = open(&dir);
        // Sets recorded before the upgrade are dated from their last change.
        let r17 = store.get(P, "s-17").unwrap().unwrap();
        assert_eq!((r17.status, r17.first_seen), (SetStatus::Done, t(0)));
        assert_eq!(
            store.get(P, "s-19").unwrap().unwrap().first_seen,
            t(100_000)
        );
        assert_eq!(store.init_project(P, 1).unwrap(), 16);
        // Gap 16 counts from 17's date, gap 18 from 19's; pending 19 holds.
        assert_eq!(
            store.advance_start_id(P, t(899_999), GRACE).unwrap(),
            Some(16)
        );
        assert_eq!(
            store.advance_start_id(P, t(900_000), GRACE).unwrap(),
            Some(18)
        );
        assert_eq!(
            store.advance_start_id(P, t(1_000_000), GRACE).unwrap(),
            Some(19)
        );
        assert_eq!(seen_at(&store, &[20], t(1_000_000)), ["s-20"]);
        settle(&store, 19, false);
        settle(&store, 20, false);
        assert_eq!(store.start_id(P).unwrap(), Some(21));
    }
    assert_eq!(schema_version(&path), "2");
    // Opening the upgraded file again changes nothing.
    let store = open(&dir);
    assert_eq!(
        store.get(P, "s-20").unwrap().unwrap().first_seen,
        t(1_000_000)
    );
    assert_eq!(store.counts(P).unwrap().done, 3);
}

#[test]
fn a_state_file_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(open(&dir));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (99, 2));
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
