//! State files written by the first release (schemas 1 and 2, sets kept per
//! *project*) are adopted into the company on the first `init_company`: every set
//! keeps the Saby document id it was written under, contours configured as
//! projects become the sets' contours, a set held under two projects keeps its
//! most advanced row (recorded as merged), and the projects' `start_id`s
//! collapse to the lowest. A version-3 file (keyed by company) gains the
//! review queue's columns in place (version 4).

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use crate::common::Env;
use crate::support::schema_version;
use beorg_client::SetId;
use beorg_sandbox::SetSpec;
use hr_docs_pipeline::ids;
use hr_docs_pipeline::store::{FailureKind, SetStatus, SqliteStore, StateStore, Step};
use time::OffsetDateTime;

/// The schema as version 2 created it, verbatim (tables, indexes, version).
const V2_SCHEMA: &str = "
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
    first_seen_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project, set_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sets_by_status ON sets (project, status, number, set_id);
CREATE INDEX IF NOT EXISTS sets_by_number ON sets (project, number, set_id);
INSERT INTO meta (key, value) VALUES ('schema_version', '2');
";

/// The schema as version 3 created it, verbatim (tables, indexes, version).
const V3_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS companies (
    company  TEXT PRIMARY KEY,
    start_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sets (
    company        TEXT NOT NULL,
    set_id         TEXT NOT NULL,
    contour        TEXT,
    number         INTEGER NOT NULL,
    step           TEXT NOT NULL,
    status         TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    failed_step    TEXT,
    failure_kind   TEXT,
    reason         TEXT,
    skip_reason    TEXT,
    document_id    TEXT,
    attachment_ids TEXT NOT NULL DEFAULT '[]',
    sent_at        INTEGER,
    final_code     TEXT,
    final_name     TEXT,
    updated_at     INTEGER NOT NULL,
    first_seen_ms  INTEGER NOT NULL,
    PRIMARY KEY (company, set_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merged_sets (
    company             TEXT NOT NULL,
    set_id              TEXT NOT NULL,
    kept_project        TEXT NOT NULL,
    kept_document_id    TEXT,
    dropped_project     TEXT NOT NULL,
    dropped_document_id TEXT,
    dropped_step        TEXT NOT NULL,
    dropped_status      TEXT NOT NULL,
    merged_at           INTEGER NOT NULL,
    PRIMARY KEY (company, set_id, dropped_project)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sets_by_status ON sets (company, status, number, set_id);
CREATE INDEX IF NOT EXISTS sets_by_number ON sets (company, number, set_id);
INSERT INTO meta (key, value) VALUES ('schema_version', '3');
";

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

fn old_file(path: &Path, schema: &str, rows: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
    conn.execute_batch(schema).unwrap();
    conn.execute_batch(rows).unwrap();
}

fn table_exists(path: &Path, table: &str) -> bool {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

/// A version-2 file of a pipeline configured with `PIPELINE_PROJECTS=4821,A,B`
/// (the company's own id and two contour names), where set s-5 was recorded
/// under both A and B (the double-send bug) and sent under A.
#[tokio::test]
async fn a_version_2_file_with_contours_as_projects_is_adopted_by_the_company() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let doc_a5 = ids::document_id("A", "s-5").to_string();
    let doc_b5 = ids::document_id("B", "s-5").to_string();
    let doc_b6 = ids::document_id("B", "s-6").to_string();
    old_file(
        &path,
        V2_SCHEMA,
        &format!(
            "INSERT INTO projects (project, start_id) VALUES ('4821', 16), ('A', 5), ('B', 9);
             INSERT INTO meta (key, value) VALUES ('event_cursor', '{{\"id\":\"e-9\"}}');
             INSERT INTO sets (project, set_id, number, step, status, document_id, file_names,
                               sent_at, final_code, updated_at, first_seen_ms) VALUES
               ('4821', 's-3', 3, 'archived', 'done', 'doc-3', '[]', 1700000050, '7',
                1700000100, 1700000000000),
               ('A', 's-5', 5, 'sent', 'pending', '{doc_a5}', '[\"Паспорт_Иванов.json\"]',
                1700000200, NULL, 1700000200, 1700000100000),
               ('B', 's-5', 5, 'written', 'pending', '{doc_b5}', '[]', NULL, NULL,
                1700000150, 1700000100000),
               ('B', 's-6', 6, 'written', 'failed', NULL, '[]', NULL, NULL,
                1700000300, 1700000110000),
               ('B', 's-7', 7, 'seen', 'pending', NULL, '[]', NULL, NULL,
                1700000400, 1700000120000);
             UPDATE sets SET failed_step = 'sent', reason = 'gave up after 10 passes: HTTP 503'
              WHERE set_id = 's-6';"
        ),
    );
    {
        let store = SqliteStore::open(&path).unwrap();
        // Opening sets the old tables aside; nothing is adopted before the company is known.
        assert!(
            store
                .list("4821", None, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        // The company's start_id is the lowest of the projects' (A's 5).
        assert_eq!(store.init_company("4821", 1).await.unwrap(), 5);

        let records = store.list("4821", None, None, 100).await.unwrap();
        let shown: Vec<(&str, Option<&str>, Step, SetStatus)> = records
            .iter()
            .map(|r| (r.set_id.as_str(), r.contour.as_deref(), r.step, r.status))
            .collect();
        assert_eq!(
            shown,
            [
                ("s-3", None, Step::Archived, SetStatus::Done),
                ("s-5", Some("A"), Step::Sent, SetStatus::Pending),
                ("s-6", Some("B"), Step::Written, SetStatus::Failed),
                ("s-7", Some("B"), Step::Seen, SetStatus::Pending),
            ]
        );
        let by_id = |id: &str| records.iter().find(|r| r.set_id.as_str() == id).unwrap();
        // Every set keeps the document id it was written under...
        assert_eq!(by_id("s-3").document_id.as_deref(), Some("doc-3"));
        // ... the merged one the most advanced row's (sent under A) ...
        assert_eq!(by_id("s-5").document_id.as_deref(), Some(doc_a5.as_str()));
        // ... and one written without a stored id the id the old version derived.
        assert_eq!(by_id("s-6").document_id.as_deref(), Some(doc_b6.as_str()));
        // (A set never fetched had no document; it keeps the old derivation too.)
        assert_eq!(
            by_id("s-7").document_id,
            Some(ids::document_id("B", "s-7").to_string())
        );
        // Times, final states and typed failures come along.
        assert_eq!(by_id("s-3").first_seen, at(1_700_000_000));
        assert_eq!(by_id("s-5").sent_at, Some(at(1_700_000_200)));
        assert_eq!(by_id("s-3").final_state.as_ref().unwrap().code, "7");
        let failure = by_id("s-6").failure.clone().unwrap();
        assert_eq!(
            (failure.step, failure.kind),
            (Step::Sent, FailureKind::GaveUp)
        );
        // File names (which hold surnames) become the attachment ids they were given.
        let doc = uuid::Uuid::parse_str(&doc_a5).unwrap();
        assert_eq!(
            by_id("s-5").attachment_ids,
            [ids::attachment_id(&doc, "Паспорт_Иванов.json").to_string()]
        );
        // The merge is on record: the dropped row's document may exist in Saby.
        let merged = store.merged_sets().await.unwrap();
        assert_eq!(merged.len(), 1);
        let m = &merged[0];
        assert_eq!((m.company.as_str(), m.set_id.as_str()), ("4821", "s-5"));
        assert_eq!(
            (m.kept_project.as_str(), m.dropped_project.as_str()),
            ("A", "B")
        );
        assert_eq!(m.kept_document_id.as_deref(), Some(doc_a5.as_str()));
        assert_eq!(m.dropped_document_id.as_deref(), Some(doc_b5.as_str()));
        assert_eq!(
            (m.dropped_step, m.dropped_status),
            (Step::Written, SetStatus::Pending)
        );
        // The event cursor moved to the company.
        assert_eq!(
            store.event_cursor("4821").await.unwrap().as_deref(),
            Some(r#"{"id":"e-9"}"#)
        );
        // A second init (or a second company) adopts nothing more.
        assert_eq!(store.init_company("4821", 1).await.unwrap(), 5);
        assert_eq!(store.init_company("7734", 1).await.unwrap(), 1);
        assert!(
            store
                .list("7734", None, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert!(!table_exists(&path, "legacy_sets"));
    assert!(!table_exists(&path, "legacy_projects"));
    assert!(!table_exists(&path, "projects"));
    // Reopening the migrated file changes nothing.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.init_company("4821", 1).await.unwrap(), 5);
    assert_eq!(store.counts("4821").await.unwrap().total(), 4);
    assert_eq!(store.merged_sets().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_version_1_file_is_upgraded_and_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    old_file(
        &path,
        V1_SCHEMA,
        "INSERT INTO projects (project, start_id) VALUES ('4821', 16);
         INSERT INTO sets (project, set_id, number, step, status, updated_at, reason, failed_step)
           VALUES
           ('4821', 's-17', 17, 'archived', 'done', 1700000000, NULL, NULL),
           ('4821', 's-18', 18, 'sent', 'failed', 1700000050,
            'timed out waiting for final state', 'final'),
           ('4821', 's-19', 19, 'seen', 'pending', 1700000100, NULL, NULL);",
    );
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.init_company("4821", 1).await.unwrap(), 16);
    // Sets recorded before version 2 are dated from their last change.
    let r17 = store
        .get("4821", &SetId::new("s-17"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r17.status, r17.first_seen, r17.contour),
        (SetStatus::Done, at(1_700_000_000), None)
    );
    // The first release's timeout reason becomes the typed kind.
    let r18 = store
        .get("4821", &SetId::new("s-18"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r18.failure.unwrap().kind, FailureKind::FinalStateTimedOut);
    // Their document ids are the ones the first release derived.
    assert_eq!(
        r17.document_id,
        Some(ids::document_id("4821", "s-17").to_string())
    );
    assert_eq!(
        store
            .get("4821", &SetId::new("s-19"))
            .await
            .unwrap()
            .unwrap()
            .first_seen,
        at(1_700_000_100)
    );
}

/// The pipeline resumes a migrated set with the document id it was written
/// under (derived from the old *project*), never with a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_uses_the_stored_document_id_of_a_migrated_set() {
    let env = Env::start().await;
    let set = env
        .beorg
        .add_set(SetSpec::new().surname("Лебедев").contour("Кадры-Казань"));
    env.sets.lock().unwrap().push(set.clone());
    let old_id = ids::document_id("Кадры-Казань", set.as_str()).to_string();
    let company = env.company();
    old_file(
        &env.state_path(),
        V2_SCHEMA,
        &format!(
            "INSERT INTO projects (project, start_id) VALUES ('{company}', 1), ('Кадры-Казань', 1);
             INSERT INTO sets (project, set_id, number, step, status, document_id, updated_at,
                               first_seen_ms)
               VALUES ('Кадры-Казань', '{set}', {n}, 'fetched', 'pending', '{old_id}',
                       1700000000, 1700000000000);",
            n = set.number().unwrap()
        ),
    );
    let pipeline = env.pipeline();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(summary.seen, 0, "the set was known already");
    let record = env.record(pipeline.store().as_ref(), &set).await;
    assert_eq!(record.document_id.as_deref(), Some(old_id.as_str()));
    assert_eq!(record.contour.as_deref(), Some("Кадры-Казань"));
    assert!(env.saby.document(&old_id).is_some());
    assert!(
        env.saby.document(&env.document_id(set.as_str())).is_none(),
        "no second document under a re-derived id"
    );
    assert_eq!(env.saby.document_count(), 1);
    assert_eq!(env.sends_of(&old_id), 1);
}

/// A version-3 file is upgraded to version 4 in place when opened: every set
/// keeps everything it had and gets no findings and no decisions; the file
/// then holds the review queue's states like a new one, and a pipeline
/// processes its pending set — checks included — as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_3_file_gains_the_review_columns() {
    use hr_docs_pipeline::Decision;

    let env = Env::start().await;
    let company = env.company();
    let pending = env.beorg.add_set(SetSpec::new().bad_snils_check_number());
    env.sets.lock().unwrap().push(pending.clone());
    let n = pending.number().unwrap();
    old_file(
        &env.state_path(),
        V3_SCHEMA,
        &format!(
            "INSERT INTO companies (company, start_id) VALUES ('{company}', {n});
             INSERT INTO meta (key, value) VALUES ('event_cursor:{company}', 'e-1');
             INSERT INTO sets (company, set_id, contour, number, step, status, failed_step,
                               failure_kind, reason, document_id, attachment_ids, updated_at,
                               first_seen_ms)
               VALUES
               ('{company}', 's-90', 'Кадры-Москва', 90, 'written', 'failed', 'sent',
                'gave_up', 'gave up after 10 passes', 'doc-90', '[\"att-1\"]',
                1700000000, 1700000000000),
               ('{company}', '{pending}', NULL, {n}, 'seen', 'pending', NULL, NULL, NULL, NULL,
                '[]', 1700000100, 1700000100000);"
        ),
    );
    {
        let store = SqliteStore::open(env.state_path()).unwrap();
        let old = store
            .get(&company, &SetId::new("s-90"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                old.status,
                old.step,
                old.contour.as_deref(),
                old.document_id.as_deref()
            ),
            (
                SetStatus::Failed,
                Step::Written,
                Some("Кадры-Москва"),
                Some("doc-90")
            )
        );
        assert_eq!(old.failure.unwrap().kind, FailureKind::GaveUp);
        assert_eq!(old.attachment_ids, ["att-1"]);
        assert!(old.findings.is_empty() && old.decisions.is_empty());
        assert_eq!(
            store.event_cursor(&company).await.unwrap().as_deref(),
            Some("e-1")
        );
    }
    assert_eq!(schema_version(&env.state_path()), "4");

    let pipeline = env.pipeline();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(summary.held, 1, "{summary}");
    let held = env.record(pipeline.store().as_ref(), &pending).await;
    assert_eq!(held.status, SetStatus::Held);
    assert!(!held.findings.is_empty());
    pipeline
        .decide(&pending, Decision::send_as_is("op"))
        .await
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(summary.sent, 1, "{summary}");
    drop(pipeline);
    // Reopened: nothing migrates twice, the review's record stays.
    let store = env.open_store().await;
    let done = env.record(store.as_ref(), &pending).await;
    assert_eq!((done.status, done.decisions.len()), (SetStatus::Done, 1));
    assert_eq!(store.counts(&company).await.unwrap().total(), 2);
    assert_eq!(schema_version(&env.state_path()), "4");
}
