//! The embedded default [`StateStore`]: one SQLite file in WAL mode.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use time::OffsetDateTime;

use super::{Failure, FinalState, SetRecord, SetStatus, StateStore, StatusCounts, Step};
use crate::error::StoreError;

/// 1: initial schema. 2: `sets.first_seen_ms` (the gap grace of the watermark).
const SCHEMA_VERSION: i64 = 2;

/// The tables as the current version creates them (no-ops on an existing file).
const TABLES: &str = "
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
";

/// Version 1 → 2: the first-seen time of each set (unix milliseconds). Sets
/// recorded before the upgrade get their last-change time: never earlier than
/// the truth, so a gap is never released early because of the upgrade.
const MIGRATE_FIRST_SEEN: &str = "
ALTER TABLE sets ADD COLUMN first_seen_ms INTEGER NOT NULL DEFAULT 0;
UPDATE sets SET first_seen_ms = updated_at * 1000;
";

const INDEXES: &str = "
-- Pending listing in set order, the watermark's lowest unsettled set, counts.
CREATE INDEX IF NOT EXISTS sets_by_status ON sets (project, status, number, set_id);
-- The watermark's walk over the sets at or above start_id, its highest seen
-- set, and ordered listing of all sets.
CREATE INDEX IF NOT EXISTS sets_by_number ON sets (project, number, set_id);
";

const COLUMNS: &str = "project, set_id, number, step, status, attempts, last_error, failed_step, \
     reason, document_id, file_names, sent_at, final_code, final_name, updated_at, first_seen_ms";

/// `save` for a known set whose status is unchanged (`?3`, checked by the caller's
/// `AND status = ?3`): only the columns that move at each step, none of them indexed.
const UPDATE_PROGRESS: &str = "UPDATE sets SET step = ?4, attempts = ?5, last_error = ?6,
       failed_step = ?7, reason = ?8, document_id = ?9, file_names = ?10, sent_at = ?11,
       final_code = ?12, final_name = ?13, updated_at = ?14
     WHERE project = ?1 AND set_id = ?2";

/// `save` for a known set whose status changed: the same plus `status`.
const UPDATE_WITH_STATUS: &str = "UPDATE sets SET status = ?3, step = ?4, attempts = ?5,
       last_error = ?6, failed_step = ?7, reason = ?8, document_id = ?9, file_names = ?10,
       sent_at = ?11, final_code = ?12, final_name = ?13, updated_at = ?14
     WHERE project = ?1 AND set_id = ?2";

/// Page cache of the state file's connection, in KiB (`PRAGMA cache_size` takes a negative
/// number for KiB): SQLite's default of 2 MiB no longer holds the indexes' hot pages once
/// about 100,000 sets are stored. The cache grows only as pages are used.
const CACHE_KIB: i64 = 16_000;

/// SQLite's `synchronous` setting for the state file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous=FULL` (default): every committed step survives a power
    /// loss, at the price of one fsync per step (negligible next to the API
    /// calls each step makes).
    #[default]
    Full,
    /// `synchronous=NORMAL`: durable across a process crash; a power loss may
    /// roll back the last few steps. Still safe for exactly-once sending, since
    /// a set resumed before "sent" reads the document before sending.
    Normal,
}

/// The embedded default state store: a SQLite database in WAL mode.
///
/// - One transaction per update (primary-key upsert plus the watermark
///   update); indexes cover every query. The watermark update reads only sets
///   at or above `start_id` (the in-flight window), never the settled history
///   below it.
/// - Schema changes are migrated in place when an older file is opened
///   (`meta.schema_version`); a file from a newer version is refused with
///   [`StoreError::SchemaTooNew`].
/// - `synchronous=FULL` by default (see [`Synchronous`]).
/// - An exclusive advisory lock on the sibling `<db>.lock` file is held for the
///   store's lifetime: a second process (or a second store in this process) on
///   the same file gets [`StoreError::Locked`].
///
/// ```
/// use pipeline::store::{SqliteStore, StateStore};
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("state.db"))?;
/// assert_eq!(store.init_project("U_RATE_2", 1)?, 1);
/// // A second open of the same file is refused while `store` lives.
/// assert!(SqliteStore::open(dir.path().join("state.db")).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    // Held (locked) for the store's lifetime; released on drop.
    _lock: File,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the state file at `path` with
    /// `synchronous=FULL`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Synchronous::Full)
    }

    /// Opens the state file with the given durability setting.
    pub fn open_with(path: impl AsRef<Path>, synchronous: Synchronous) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let lock_path = Self::lock_path_for(&path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StoreError::Io {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked { path, lock_path });
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    path: lock_path,
                    source,
                });
            }
        }

        let mut conn =
            Connection::open(&path).map_err(StoreError::sqlite("opening the database"))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(StoreError::sqlite("setting the busy timeout"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(StoreError::sqlite("enabling WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt {
                column: "journal_mode",
                value: mode,
            });
        }
        let sync = match synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA cache_size=-{CACHE_KIB};"
        ))
        .map_err(StoreError::sqlite("setting pragmas"))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
            _lock: lock,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sibling lock file of a database path: `<db>.lock`.
    pub fn lock_path_for(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (the
        // transaction is rolled back on drop), so a poisoned mutex is usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Creates or upgrades the schema, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sqlite("starting the schema transaction"))?;
    tx.execute_batch(TABLES)
        .map_err(StoreError::sqlite("creating the schema"))?;
    let version: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::sqlite("reading the schema version"))?;
    if let Some(v) = version {
        let found: i64 = v.parse().map_err(|_| StoreError::Corrupt {
            column: "meta.schema_version",
            value: v.clone(),
        })?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    // Decided by the column itself, so a file whose version was never
    // written (a crash while it was being created) is upgraded too.
    let has_first_seen: bool = tx
        .query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('sets') WHERE name = 'first_seen_ms'",
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::sqlite("reading the sets columns"))?;
    if !has_first_seen {
        tx.execute_batch(MIGRATE_FIRST_SEEN)
            .map_err(StoreError::sqlite("adding sets.first_seen_ms"))?;
    }
    tx.execute_batch(INDEXES)
        .map_err(StoreError::sqlite("creating the indexes"))?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![SCHEMA_VERSION.to_string()],
    )
    .map_err(StoreError::sqlite("writing the schema version"))?;
    tx.commit()
        .map_err(StoreError::sqlite("committing the schema"))
}

fn now_ts() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix milliseconds (rounded down).
fn ms(t: OffsetDateTime) -> i64 {
    let v = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

fn from_ms(column: &'static str, v: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000).map_err(|_| {
        StoreError::Corrupt {
            column,
            value: v.to_string(),
        }
    })
}

/// The latest `first_seen_ms` whose grace period is over at `now`: a set
/// first seen at or before it counts as seen `gap_grace` ago (the grace is
/// rounded up to whole milliseconds). A zero grace is always over.
fn grace_cutoff_ms(now: OffsetDateTime, gap_grace: Duration) -> i64 {
    if gap_grace.is_zero() {
        return i64::MAX;
    }
    let grace_ms = i64::try_from(gap_grace.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX);
    ms(now).saturating_sub(grace_ms)
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(column: &'static str, v: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(v).map_err(|_| StoreError::Corrupt {
        column,
        value: v.to_string(),
    })
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Raw row, decoded in two stages so SQLite errors and our own corruption
/// errors stay separate.
struct RawRow {
    project: String,
    set_id: String,
    number: i64,
    step: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    failed_step: Option<String>,
    reason: Option<String>,
    document_id: Option<String>,
    file_names: String,
    sent_at: Option<i64>,
    final_code: Option<String>,
    final_name: Option<String>,
    updated_at: i64,
    first_seen_ms: i64,
}

impl RawRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            project: r.get(0)?,
            set_id: r.get(1)?,
            number: r.get(2)?,
            step: r.get(3)?,
            status: r.get(4)?,
            attempts: r.get(5)?,
            last_error: r.get(6)?,
            failed_step: r.get(7)?,
            reason: r.get(8)?,
            document_id: r.get(9)?,
            file_names: r.get(10)?,
            sent_at: r.get(11)?,
            final_code: r.get(12)?,
            final_name: r.get(13)?,
            updated_at: r.get(14)?,
            first_seen_ms: r.get(15)?,
        })
    }

    fn decode(self) -> Result<SetRecord, StoreError> {
        let step = Step::parse(&self.step).ok_or(StoreError::Corrupt {
            column: "sets.step",
            value: self.step.clone(),
        })?;
        let status = SetStatus::parse(&self.status).ok_or(StoreError::Corrupt {
            column: "sets.status",
            value: self.status.clone(),
        })?;
        let failure = match (self.failed_step, self.reason) {
            (Some(s), reason) => Some(Failure::new(
                Step::parse(&s).ok_or(StoreError::Corrupt {
                    column: "sets.failed_step",
                    value: s.clone(),
                })?,
                reason.unwrap_or_default(),
            )),
            (None, _) => None,
        };
        let file_names: Vec<String> =
            serde_json::from_str(&self.file_names).map_err(|_| StoreError::Corrupt {
                column: "sets.file_names",
                value: self.file_names.clone(),
            })?;
        Ok(SetRecord {
            project: self.project,
            set_id: self.set_id,
            number: u64::try_from(self.number).unwrap_or(0),
            step,
            status,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_error: self.last_error,
            failure,
            document_id: self.document_id,
            file_names,
            sent_at: self
                .sent_at
                .map(|t| from_ts("sets.sent_at", t))
                .transpose()?,
            final_state: self.final_code.map(|c| FinalState::new(c, self.final_name)),
            first_seen: from_ms("sets.first_seen_ms", self.first_seen_ms)?,
            updated_at: from_ts("sets.updated_at", self.updated_at)?,
        })
    }
}

// The watermark's queries; each reads one index range of the project's sets
// at or above `start_id` (checked by a test).
/// The lowest unsettled set at or above `start_id` (`?2`).
const LOWEST_PENDING: &str = "SELECT MIN(number) FROM sets
     WHERE project = ?1 AND status = 'pending' AND number >= ?2 AND number > 0";
/// The pending sets of a project (back-pressure before a Beorg poll).
const PENDING_COUNT: &str = "SELECT COUNT(*) FROM sets WHERE project = ?1 AND status = 'pending'";
/// The highest seen set.
const HIGHEST: &str = "SELECT MAX(number) FROM sets WHERE project = ?1";
/// The highest set above gap `?2` first seen at or before `?3`.
const DATE_GAP: &str = "SELECT number FROM sets
     WHERE project = ?1 AND number > ?2 AND first_seen_ms <= ?3
     ORDER BY number DESC LIMIT 1";
/// The seen numbers from `start_id` (`?2`) up to where the watermark may stop.
const WALK: &str = "SELECT DISTINCT number FROM sets
     WHERE project = ?1 AND number >= ?2 AND number < ?3
     ORDER BY number";

/// Moves the project's watermark forward (see [`crate::watermark`]) and
/// returns it (`None` for an unknown project).
///
/// `release_cutoff_ms`: gaps are released when a seen set above them was
/// first seen at or before this time (see [`grace_cutoff_ms`]); `None` holds
/// every gap (an infinite grace).
///
/// Reads only sets at or above the current `start_id`, through the indexes:
/// the lowest pending set and the highest set (one index look-up each), then
/// the distinct numbers between the watermark and where it may stop, in order
/// — the settled sets it moves past (each passed once), up to the first gap —
/// and, only when a gap is met and may be released, the sets above that gap.
fn advance_watermark(
    tx: &rusqlite::Transaction<'_>,
    project: &str,
    release_cutoff_ms: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    let current: Option<i64> = tx
        .query_row(
            "SELECT start_id FROM projects WHERE project = ?1",
            params![project],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::sqlite("reading start_id"))?;
    let Some(current) = current else {
        return Ok(None);
    };
    let lowest_pending: Option<i64> = tx
        .query_row(LOWEST_PENDING, params![project, current], |r| r.get(0))
        .map_err(StoreError::sqlite("finding the lowest unsettled set"))?;
    // Where the watermark stops without gaps.
    let cap = match lowest_pending {
        Some(n) if n <= current => return Ok(Some(current)),
        Some(n) => n,
        None => {
            let highest: Option<i64> = tx
                .query_row(HIGHEST, params![project], |r| r.get(0))
                .map_err(StoreError::sqlite("finding the highest seen set"))?;
            match highest {
                Some(h) if h > 0 && h >= current => h.saturating_add(1),
                _ => return Ok(Some(current)),
            }
        }
    };
    // Gaps below this number are past their grace: the highest set above the
    // first gap that was seen long enough ago. Looked up once, at that gap.
    let mut released_below: Option<Option<i64>> = None;
    let mut released = |gap: i64| -> Result<bool, StoreError> {
        let Some(cutoff) = release_cutoff_ms else {
            return Ok(false);
        };
        let below = match released_below {
            Some(below) => below,
            None => {
                let below: Option<i64> = tx
                    .prepare_cached(DATE_GAP)
                    .and_then(|mut stmt| {
                        stmt.query_row(params![project, gap, cutoff], |r| r.get(0))
                            .optional()
                    })
                    .map_err(StoreError::sqlite("dating a gap"))?;
                *released_below.insert(below)
            }
        };
        Ok(below.is_some_and(|m| m > gap))
    };
    let mut next = current;
    let held = {
        let mut stmt = tx
            .prepare_cached(WALK)
            .map_err(StoreError::sqlite("walking the settled sets"))?;
        let mut rows = stmt
            .query(params![project, current, cap])
            .map_err(StoreError::sqlite("walking the settled sets"))?;
        loop {
            let Some(row) = rows
                .next()
                .map_err(StoreError::sqlite("walking the settled sets"))?
            else {
                break false;
            };
            let n: i64 = row
                .get(0)
                .map_err(StoreError::sqlite("walking the settled sets"))?;
            // Every number in next..n is a gap; the lowest decides.
            if n > next && !released(next)? {
                break true;
            }
            next = n + 1;
        }
    };
    let new = if held || (next < cap && !released(next)?) {
        next
    } else {
        cap
    };
    if new > current {
        tx.execute(
            "UPDATE projects SET start_id = ?2 WHERE project = ?1",
            params![project, new],
        )
        .map_err(StoreError::sqlite("advancing start_id"))?;
    }
    Ok(Some(new.max(current)))
}

impl StateStore for SqliteStore {
    fn init_project(&self, project: &str, initial: u64) -> Result<u64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO projects (project, start_id) VALUES (?1, ?2)",
            params![project, to_i64(initial.max(1))],
        )
        .map_err(StoreError::sqlite("initializing a project"))?;
        let start: i64 = conn
            .query_row(
                "SELECT start_id FROM projects WHERE project = ?1",
                params![project],
                |r| r.get(0),
            )
            .map_err(StoreError::sqlite("reading start_id"))?;
        Ok(u64::try_from(start).unwrap_or(1))
    }

    fn start_id(&self, project: &str) -> Result<Option<u64>, StoreError> {
        let start: Option<i64> = self
            .conn()
            .query_row(
                "SELECT start_id FROM projects WHERE project = ?1",
                params![project],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::sqlite("reading start_id"))?;
        Ok(start.map(|s| u64::try_from(s).unwrap_or(1)))
    }

    fn advance_start_id(
        &self,
        project: &str,
        now: OffsetDateTime,
        gap_grace: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sqlite("starting a transaction"))?;
        let start = advance_watermark(&tx, project, Some(grace_cutoff_ms(now, gap_grace)))?;
        tx.commit()
            .map_err(StoreError::sqlite("committing start_id"))?;
        Ok(start.map(|s| u64::try_from(s).unwrap_or(1)))
    }

    fn record_seen_at(
        &self,
        project: &str,
        sets: &[(String, u64)],
        seen_at: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sqlite("starting a transaction"))?;
        let mut fresh = Vec::new();
        {
            // OR IGNORE: a known set keeps its progress and first-seen time.
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO sets
                       (project, set_id, number, step, status, updated_at, first_seen_ms)
                     VALUES (?1, ?2, ?3, 'seen', 'pending', ?4, ?5)",
                )
                .map_err(StoreError::sqlite("preparing insert"))?;
            for (set_id, number) in sets {
                let inserted = stmt
                    .execute(params![
                        project,
                        set_id,
                        to_i64(*number),
                        ts(seen_at),
                        ms(seen_at)
                    ])
                    .map_err(StoreError::sqlite("recording a seen set"))?;
                if inserted > 0 {
                    fresh.push(set_id.clone());
                }
            }
        }
        tx.commit()
            .map_err(StoreError::sqlite("committing seen sets"))?;
        Ok(fresh)
    }

    fn save(&self, r: &SetRecord) -> Result<(), StoreError> {
        let file_names =
            serde_json::to_string(&r.file_names).map_err(|e| StoreError::other(e.to_string()))?;
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sqlite("starting a transaction"))?;
        // A set's identity, `number` and first-seen time never change after it is
        // recorded, and its status changes once or twice in its life: most steps touch
        // neither index (`sets_by_number`, `sets_by_status`), only the row.
        let progress = params![
            r.project,
            r.set_id,
            r.status.as_str(),
            r.step.as_str(),
            i64::from(r.attempts),
            r.last_error,
            r.failure.as_ref().map(|f| f.step.as_str()),
            r.failure.as_ref().map(|f| f.reason.as_str()),
            r.document_id,
            file_names,
            r.sent_at.map(ts),
            r.final_state.as_ref().map(|f| f.code.as_str()),
            r.final_state.as_ref().and_then(|f| f.name.as_deref()),
            ts(r.updated_at),
        ];
        let mut updated = tx
            .prepare_cached(&format!("{UPDATE_PROGRESS} AND status = ?3"))
            .and_then(|mut stmt| stmt.execute(progress))
            .map_err(StoreError::sqlite("saving a set"))?;
        if updated == 0 {
            // The status changed (or the set is new): one more statement, touching
            // `sets_by_status` only.
            updated = tx
                .prepare_cached(UPDATE_WITH_STATUS)
                .and_then(|mut stmt| stmt.execute(progress))
                .map_err(StoreError::sqlite("saving a set"))?;
        }
        if updated == 0 {
            tx.prepare_cached(&format!(
                "INSERT INTO sets ({COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![
                    r.project,
                    r.set_id,
                    to_i64(r.number),
                    r.step.as_str(),
                    r.status.as_str(),
                    i64::from(r.attempts),
                    r.last_error,
                    r.failure.as_ref().map(|f| f.step.as_str()),
                    r.failure.as_ref().map(|f| f.reason.as_str()),
                    r.document_id,
                    file_names,
                    r.sent_at.map(ts),
                    r.final_state.as_ref().map(|f| f.code.as_str()),
                    r.final_state.as_ref().and_then(|f| f.name.as_deref()),
                    ts(r.updated_at),
                    ms(r.first_seen),
                ])
            })
            .map_err(StoreError::sqlite("saving a set"))?;
        }
        if r.status.is_settled() {
            // No clock here: gaps are held; `advance_start_id` releases them.
            advance_watermark(&tx, &r.project, None)?;
        }
        tx.commit().map_err(StoreError::sqlite("committing a set"))
    }

    fn pending_count(&self, project: &str) -> Result<u64, StoreError> {
        // One range of `sets_by_status`: the pending sets only, however many are settled.
        let n: i64 = self
            .conn()
            .prepare_cached(PENDING_COUNT)
            .and_then(|mut stmt| stmt.query_row(params![project], |r| r.get(0)))
            .map_err(StoreError::sqlite("counting pending sets"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn get(&self, project: &str, set_id: &str) -> Result<Option<SetRecord>, StoreError> {
        let raw = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sets WHERE project = ?1 AND set_id = ?2"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(params![project, set_id], RawRow::from_row)
                    .optional()
            })
            .map_err(StoreError::sqlite("reading a set"))?;
        raw.map(RawRow::decode).transpose()
    }

    fn list(
        &self,
        project: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &str)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError> {
        let (after_number, after_id) = match after {
            Some((n, id)) => (to_i64(n), id),
            None => (-1, ""),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.conn();
        let rows: Vec<RawRow> = match status {
            Some(status) => conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM sets
                     WHERE project = ?1 AND status = ?2 AND (number, set_id) > (?3, ?4)
                     ORDER BY number, set_id LIMIT ?5"
                ))
                .and_then(|mut stmt| {
                    stmt.query_map(
                        params![project, status.as_str(), after_number, after_id, limit],
                        RawRow::from_row,
                    )?
                    .collect()
                }),
            None => conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM sets
                     WHERE project = ?1 AND (number, set_id) > (?2, ?3)
                     ORDER BY number, set_id LIMIT ?4"
                ))
                .and_then(|mut stmt| {
                    stmt.query_map(
                        params![project, after_number, after_id, limit],
                        RawRow::from_row,
                    )?
                    .collect()
                }),
        }
        .map_err(StoreError::sqlite("listing sets"))?;
        rows.into_iter().map(RawRow::decode).collect()
    }

    fn counts(&self, project: &str) -> Result<StatusCounts, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT status, COUNT(*) FROM sets WHERE project = ?1 GROUP BY status")
            .map_err(StoreError::sqlite("counting sets"))?;
        let rows = stmt
            .query_map(params![project], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(StoreError::sqlite("counting sets"))?;
        let mut counts = StatusCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match SetStatus::parse(&status) {
                Some(SetStatus::Pending) => counts.pending += n,
                Some(SetStatus::Done) => counts.done += n,
                Some(SetStatus::Failed) => counts.failed += n,
                None => {
                    return Err(StoreError::Corrupt {
                        column: "sets.status",
                        value: status,
                    });
                }
            }
        }
        Ok(counts)
    }

    fn replay_failed(
        &self,
        project: &str,
        set_ids: Option<&[String]>,
    ) -> Result<Vec<SetRecord>, StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sqlite("starting a transaction"))?;
        let now = now_ts();
        let sql = "UPDATE sets SET status = 'pending', attempts = 0, failed_step = NULL,
                       reason = NULL, updated_at = ?3,
                       sent_at = CASE WHEN sent_at IS NULL THEN NULL ELSE ?3 END
                   WHERE project = ?1 AND set_id = ?2 AND status = 'failed'";
        let mut replayed_ids = Vec::new();
        match set_ids {
            Some(ids) => {
                let mut stmt = tx
                    .prepare_cached(sql)
                    .map_err(StoreError::sqlite("preparing replay"))?;
                for id in ids {
                    if stmt
                        .execute(params![project, id, now])
                        .map_err(StoreError::sqlite("replaying a set"))?
                        > 0
                    {
                        replayed_ids.push(id.clone());
                    }
                }
            }
            None => {
                let ids: Vec<String> = tx
                    .prepare_cached(
                        "SELECT set_id FROM sets WHERE project = ?1 AND status = 'failed'",
                    )
                    .and_then(|mut stmt| stmt.query_map(params![project], |r| r.get(0))?.collect())
                    .map_err(StoreError::sqlite("listing failed sets"))?;
                let mut stmt = tx
                    .prepare_cached(sql)
                    .map_err(StoreError::sqlite("preparing replay"))?;
                for id in ids {
                    stmt.execute(params![project, id, now])
                        .map_err(StoreError::sqlite("replaying a set"))?;
                    replayed_ids.push(id);
                }
            }
        }
        let mut out = Vec::with_capacity(replayed_ids.len());
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM sets WHERE project = ?1 AND set_id = ?2"
                ))
                .map_err(StoreError::sqlite("reading replayed sets"))?;
            for id in &replayed_ids {
                let raw = stmt
                    .query_row(params![project, id], RawRow::from_row)
                    .map_err(StoreError::sqlite("reading replayed sets"))?;
                out.push(raw.decode()?);
            }
        }
        tx.commit()
            .map_err(StoreError::sqlite("committing the replay"))?;
        Ok(out)
    }

    fn event_cursor(&self) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT value FROM meta WHERE key = 'event_cursor'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::sqlite("reading the event cursor"))
    }

    fn set_event_cursor(&self, cursor: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO meta (key, value) VALUES ('event_cursor', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![cursor],
            )
            .map(|_| ())
            .map_err(StoreError::sqlite("saving the event cursor"))
    }

    /// 1: every call takes the one connection's lock, so a second thread
    /// could only wait for it.
    fn max_concurrent_calls(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every watermark query is an index range (no table scan, no sort), so
    /// its cost never grows with the settled history below `start_id`.
    #[test]
    fn watermark_queries_read_index_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
        let conn = store.conn();
        for (sql, args) in [
            (LOWEST_PENDING, 2),
            (HIGHEST, 1),
            (DATE_GAP, 3),
            (WALK, 3),
            (PENDING_COUNT, 1),
        ] {
            use rusqlite::types::Value;
            let values: Vec<Value> = std::iter::once(Value::Text("PROJ".into()))
                .chain((1..args).map(Value::Integer))
                .collect();
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(rusqlite::params_from_iter(values), |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(!plan.is_empty(), "{sql}");
            for step in &plan {
                assert!(
                    step.starts_with("SEARCH sets USING") && step.contains("INDEX sets_by_"),
                    "{sql}: {plan:?}"
                );
            }
        }
    }
}
