//! The embedded default [`StateStore`]: one SQLite file in WAL mode, its
//! blocking work on a thread of its own, one call at a time.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use beorg_client::SetId;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use hr_docs_checks::Finding;

use super::{
    Failure, FailureKind, FinalState, SetRecord, SetStatus, SkipReason, StateStore, StatusCounts,
    Step, WindowEntry,
};
use crate::error::StoreError;
use crate::review;

/// How long [`SqliteStore::open`] keeps asking for a lock that looks taken before
/// it refuses with [`StoreError::Locked`] (see there).
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// 1: initial schema. 2: `sets.first_seen_ms` (the gap grace of the watermark).
/// 3: sets keyed by company (the Beorg `project_id`) with the contour as a
/// column, `companies` instead of `projects`, typed failure and skip reasons,
/// attachment ids instead of file names, `merged_sets`. 4: the review queue —
/// `sets.findings` and `sets.decisions` (JSON), the statuses `held` and
/// `rejected`.
const SCHEMA_VERSION: i64 = 4;

/// The tables as the current version creates them (no-ops on an existing file).
const TABLES: &str = "
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
    findings       TEXT NOT NULL DEFAULT '[]',
    decisions      TEXT NOT NULL DEFAULT '[]',
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
";

const INDEXES: &str = "
-- Pending listing in set order, counts, the back-pressure count.
CREATE INDEX IF NOT EXISTS sets_by_status ON sets (company, status, number, set_id);
-- The watermark's window (the sets at or above start_id) and ordered listing.
CREATE INDEX IF NOT EXISTS sets_by_number ON sets (company, number, set_id);
";

/// Versions 1 and 2 kept sets per *project* (a configured contour or the
/// client's project id); version 3 keys them by company. The old tables are
/// renamed on open and adopted by the first [`StateStore::init_company`]
/// (which alone knows the company). Their indexes are dropped: the new ones
/// take the same names.
const SET_ASIDE_LEGACY: &str = "
DROP INDEX IF EXISTS sets_by_status;
DROP INDEX IF EXISTS sets_by_number;
ALTER TABLE sets RENAME TO legacy_sets;
";

/// Version 3 → 4: the findings of the data checks and the review decisions of
/// each set (both JSON arrays; empty for every set a version-3 file holds).
const MIGRATE_REVIEW: &str = "
ALTER TABLE sets ADD COLUMN findings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sets ADD COLUMN decisions TEXT NOT NULL DEFAULT '[]';
";

/// Version 1 → 2, applied to the legacy table before it is set aside: the
/// first-seen time of each set (unix milliseconds), from its last-change time —
/// never earlier than the truth, so a gap is never released early.
const MIGRATE_FIRST_SEEN: &str = "
ALTER TABLE sets ADD COLUMN first_seen_ms INTEGER NOT NULL DEFAULT 0;
UPDATE sets SET first_seen_ms = updated_at * 1000;
";

const COLUMNS: &str = "company, set_id, contour, number, step, status, attempts, last_error, \
     failed_step, failure_kind, reason, skip_reason, document_id, attachment_ids, sent_at, \
     final_code, final_name, updated_at, first_seen_ms, findings, decisions";

/// `save` for a known set whose status is unchanged (`?6`): only the columns that move at
/// each step, none of them indexed. Numbered as [`COLUMNS`] (bound by [`execute_row`]);
/// the identity, `contour`, `number` and `first_seen_ms` (`?3`, `?4`, `?19`) never change.
const UPDATE_PROGRESS: &str = "UPDATE sets SET step = ?5, attempts = ?7, last_error = ?8,
       failed_step = ?9, failure_kind = ?10, reason = ?11, skip_reason = ?12, document_id = ?13,
       attachment_ids = ?14, sent_at = ?15, final_code = ?16, final_name = ?17, updated_at = ?18,
       findings = ?20, decisions = ?21
     WHERE company = ?1 AND set_id = ?2 AND status = ?6";

/// `save` for a known set whose status changed: the same plus `status`.
const UPDATE_WITH_STATUS: &str = "UPDATE sets SET status = ?6, step = ?5, attempts = ?7,
       last_error = ?8, failed_step = ?9, failure_kind = ?10, reason = ?11, skip_reason = ?12,
       document_id = ?13, attachment_ids = ?14, sent_at = ?15, final_code = ?16,
       final_name = ?17, updated_at = ?18, findings = ?20, decisions = ?21
     WHERE company = ?1 AND set_id = ?2";

/// The watermark's window: every set of the company at or above `start_id`
/// (`?2`). One index range; the settled history below `start_id` is never read.
const WINDOW: &str = "SELECT number, status, first_seen_ms FROM sets
     WHERE company = ?1 AND number >= ?2";
/// The pending sets of a company (back-pressure before a Beorg poll).
const PENDING_COUNT: &str = "SELECT COUNT(*) FROM sets WHERE company = ?1 AND status = 'pending'";

/// How a [`SqliteStore`] opens its file: durability and page cache. `Default` is
/// `synchronous=FULL` and SQLite's own 2 MiB page cache.
///
/// ```
/// use hr_docs_pipeline::store::{SqliteOptions, SqliteStore, Synchronous};
/// let dir = tempfile::tempdir()?;
/// let options = SqliteOptions::default()
///     .synchronous(Synchronous::Normal)
///     .cache_kib(8 * 1024);
/// let store = SqliteStore::open_with_options(dir.path().join("state.db"), &options)?;
/// # drop(store);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    synchronous: Synchronous,
    cache_kib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            cache_kib: SqliteOptions::DEFAULT_CACHE_KIB,
        }
    }
}

impl SqliteOptions {
    /// The default page cache: 2,000 KiB, SQLite's own default. The pipeline's steps
    /// touch a few pages each (the set's row and index entries, one at a time), and pages
    /// not in this cache come from the operating system's file cache: a larger cache
    /// measured no faster per update at 100,000 stored sets (`bench-store`), while it
    /// fills as a first run records a large backlog — 16 MiB of peak memory at 100,000
    /// sets (docs/performance.md).
    pub const DEFAULT_CACHE_KIB: u32 = 2_000;

    /// The `synchronous` setting (default [`Synchronous::Full`]).
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// The connection's page cache in KiB (`PRAGMA cache_size=-N`; default
    /// [`DEFAULT_CACHE_KIB`](Self::DEFAULT_CACHE_KIB)). It grows only as pages are used, up
    /// to this bound; `0` keeps no more than the pages a statement needs at once.
    pub fn cache_kib(mut self, kib: u32) -> Self {
        self.cache_kib = kib;
        self
    }

    /// The `synchronous` setting.
    pub fn synchronous_setting(&self) -> Synchronous {
        self.synchronous
    }

    /// The page cache bound in KiB.
    pub fn cache_kib_setting(&self) -> u32 {
        self.cache_kib
    }
}

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
/// - Each update is a primary-key upsert, committed before [`save`](StateStore::save)
///   returns; updates that arrive while the connection is busy are committed together
///   (group commit: one transaction, one fsync). Indexes cover every query. The watermark's [window](StateStore::window) (read once per Beorg
///   poll) is one index range over the sets at or above `start_id` (the
///   in-flight window), never the settled history below it.
/// - Every call runs on the store's own thread (`hr-docs-store`), **one at a
///   time**: the calls share one connection, so a second thread could only
///   wait for its lock. Callers wait on an async semaphore instead, so however
///   many sets wait for the store, it holds one thread. Not tokio's blocking
///   pool: tokio starts a new pool thread for every call that finds none idle
///   at that instant, and the thread that has just finished the previous call
///   is not idle yet, so a pipeline making thousands of calls grew the pool
///   (and kept each thread's stack and malloc arena) however the calls were
///   bounded. The thread ends when the store is dropped, after the calls
///   already handed to it.
/// - Schema changes are migrated in place when an older file is opened
///   (`meta.schema_version`); a file from a newer version is refused with
///   [`StoreError::SchemaTooNew`]. The sets of a version-1 or -2 file (kept
///   per project) are adopted into the company by the first
///   [`init_company`](StateStore::init_company) (see there).
/// - `synchronous=FULL` by default (see [`Synchronous`]).
/// - An exclusive advisory lock on the sibling `<db>.lock` file is held for the
///   store's lifetime: a second process (or a second store in this process) on
///   the same file gets [`StoreError::Locked`] (after asking again for up to
///   2 s: a child process forked by this program holds a copy of the lock until it
///   execs, so a store closed an instant before can still look locked).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hr_docs_pipeline::store::{SqliteStore, StateStore};
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("state.db"))?;
/// assert_eq!(store.init_company("4821", 1).await?, 1);
/// // A second open of the same file is refused while `store` lives.
/// assert!(SqliteStore::open(dir.path().join("state.db")).is_err());
/// # Ok(()) }
/// ```
pub struct SqliteStore {
    shared: Arc<Shared>,
    /// One permit per blocking call allowed at once (1).
    permits: Arc<Semaphore>,
    /// Hands calls to the store's thread (which ends when this is dropped).
    calls: std::sync::mpsc::Sender<Call>,
}

/// What a blocking call needs: the connection, and the lock file held as
/// long as any call (or the store) lives.
struct Shared {
    conn: Mutex<Connection>,
    /// Saves waiting for their commit (see [`SqliteStore::save`]).
    saves: Mutex<Vec<PendingSave>>,
    /// Transactions of saves committed (the tests check the grouping).
    #[cfg(test)]
    batches: std::sync::atomic::AtomicUsize,
    path: PathBuf,
    // Held (locked) for the store's lifetime; released on drop.
    _lock: File,
}

impl Shared {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (the
        // transaction is rolled back on drop), so a poisoned mutex is usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The queue of saves not yet committed. Only pushed to and taken from, never
    /// left half-changed: a poisoned mutex is usable.
    fn saves(&self) -> MutexGuard<'_, Vec<PendingSave>> {
        self.saves.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A save waiting for the transaction that commits it, and where its outcome goes.
struct PendingSave {
    record: SetRecord,
    done: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the state file at `path` with
    /// `synchronous=FULL`.
    ///
    /// Opening is a short blocking operation (the file lock, the schema
    /// check or migration); call it at start-up, or from
    /// `tokio::task::spawn_blocking`. Every call made afterwards runs on the
    /// store's own thread, started here.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Synchronous::Full)
    }

    /// Opens the state file with the given durability setting (and the default page
    /// cache): [`open_with_options`](Self::open_with_options) with
    /// `SqliteOptions::default().synchronous(synchronous)`.
    pub fn open_with(path: impl AsRef<Path>, synchronous: Synchronous) -> Result<Self, StoreError> {
        Self::open_with_options(path, &SqliteOptions::default().synchronous(synchronous))
    }

    /// Opens the state file with the given [`SqliteOptions`].
    ///
    /// The state holds set ids and error texts, not recognized values, but
    /// it is an employer's record of who was processed: on Unix the database,
    /// its `-wal` and `-shm` files and the lock file are made `0600`, and the
    /// directories this creates for it `0700`, whatever the umask (a file an
    /// older version left readable is made `0600` too). A directory that
    /// already existed keeps its mode.
    pub fn open_with_options(
        path: impl AsRef<Path>,
        options: &SqliteOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir_all(parent)?;
        }
        let lock_path = Self::lock_path_for(&path);
        let lock = open_private(&lock_path, OpenOptions::new().read(true).write(true)).map_err(
            |source| StoreError::Io {
                path: lock_path.clone(),
                source,
            },
        )?;
        // A lock that looks taken is asked again for a moment before giving up: a
        // child process forked anywhere in this program (a `Command` run by another
        // thread) holds a copy of every descriptor, this lock's included, until it
        // execs, so a store closed just before may still look locked for that
        // instant. Another live process keeps it for good and is refused below.
        let asked = std::time::Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if asked.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
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
        }

        // SQLite creates a database file with mode 0644 (less the umask), and
        // its -wal and -shm files with the database file's mode: the database
        // is created (or made) 0600 first, and so are -wal and -shm files
        // left by an earlier process, before SQLite opens them.
        drop(
            open_private(&path, OpenOptions::new().read(true).write(true)).map_err(|source| {
                StoreError::Io {
                    path: path.clone(),
                    source,
                }
            })?,
        );
        for suffix in ["-wal", "-shm"] {
            let side = sibling(&path, suffix);
            make_private_if_present(&side)
                .map_err(|source| StoreError::Io { path: side, source })?;
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
        let sync = match options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA cache_size=-{};",
            options.cache_kib
        ))
        .map_err(StoreError::sqlite("setting pragmas"))?;
        migrate(&mut conn)?;
        Self::with_permits(
            Shared {
                conn: Mutex::new(conn),
                saves: Mutex::new(Vec::new()),
                #[cfg(test)]
                batches: std::sync::atomic::AtomicUsize::new(0),
                path,
                _lock: lock,
            },
            1,
        )
    }

    /// A store of `shared` taking `permits` calls at once, on as many threads
    /// of its own.
    fn with_permits(shared: Shared, permits: usize) -> Result<Self, StoreError> {
        let permits = permits.max(1);
        let (calls, queue) = std::sync::mpsc::channel::<Call>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..permits {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name("hr-docs-store".to_owned())
                .spawn(move || run_calls(&queue))
                .map_err(|e| StoreError::Other {
                    message: "cannot start the state store's thread".to_owned(),
                    source: Some(Box::new(e)),
                })?;
        }
        Ok(Self {
            shared: Arc::new(shared),
            permits: Arc::new(Semaphore::new(permits)),
            calls,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The sibling lock file of a database path: `<db>.lock`.
    pub fn lock_path_for(path: &Path) -> PathBuf {
        sibling(path, ".lock")
    }

    /// Runs `f` on the connection, on the store's thread, once a permit is
    /// free. Dropping the returned future does not stop a call handed to the
    /// thread: it runs to its end (its transaction commits or rolls back) and
    /// only then frees its permit.
    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.on_store_thread(move |shared| f(&mut shared.conn()))
            .await
    }

    /// Runs `f` on the store's thread once a permit is free (see
    /// [`blocking`](Self::blocking), which also takes the connection).
    async fn on_store_thread<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = self.permit().await?;
        self.on_store_thread_with(permit, f).await
    }

    /// One of the store's call permits (the semaphore is never closed: waiting cannot fail).
    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, StoreError> {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Other {
                message: "state store closed".to_owned(),
                source: Some(Box::new(e)),
            })
    }

    /// Runs `f` on the store's thread holding `permit` (one of [`permits`](Self::permits)),
    /// which is freed when `f` ends.
    async fn on_store_thread_with<T, F>(
        &self,
        permit: tokio::sync::OwnedSemaphorePermit,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T, StoreError> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let call: Call = Box::new(move || {
            let _permit = permit;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&shared)))
                .unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Err(StoreError::Other {
                        message: "state store call failed".to_owned(),
                        source: Some(Box::new(std::io::Error::other(format!(
                            "the call panicked: {what}"
                        )))),
                    })
                });
            let _ = tx.send(result);
        });
        // The threads live as long as `self.calls`: they are there to take it.
        self.calls.send(call).map_err(|_| StoreError::Other {
            message: "the state store's thread is gone".to_owned(),
            source: None,
        })?;
        rx.await.map_err(|e| StoreError::Other {
            message: "state store call failed".to_owned(),
            source: Some(Box::new(e)),
        })?
    }
}

/// One call for the store's thread.
type Call = Box<dyn FnOnce() + Send>;

/// A store thread: runs the calls handed to the store, one by one, until the
/// store is dropped (then the ones still queued, and it ends).
fn run_calls(queue: &Mutex<std::sync::mpsc::Receiver<Call>>) {
    loop {
        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(call) = next else { return };
        // A call catches its own panic and reports it; this is a last guard so
        // the thread goes on with the next.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
    }
}

/// `<path><suffix>`: the lock, `-wal` and `-shm` files beside a database.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates `dir` and its missing parents; on Unix each directory created is
/// `0700` (the umask can only narrow that) and `dir`, when created now, is
/// set to exactly `0700`. An existing `dir` is left as it is: it is the
/// caller's.
fn create_private_dir_all(dir: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// Opens `path` with `options`, created if missing (never truncated); on Unix
/// created `0600` and set to exactly `0600` whatever the umask, also when it
/// existed with another mode.
fn open_private(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    options.create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if file.metadata()?.permissions().mode() & 0o7777 != 0o600 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// Sets an existing file to `0600` (Unix); nothing when it does not exist.
fn make_private_if_present(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o7777 != 0o600 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A set that a state file of an older version held under two or more
/// projects (contours configured as projects): the migration kept the most
/// advanced row — its Saby document id and state — and recorded each dropped
/// one here, so no second document is ever created for the set and the dropped
/// document id (possibly a duplicate already in Saby) can be followed up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergedSet {
    /// The company that adopted the old rows.
    pub company: String,
    /// The set.
    pub set_id: SetId,
    /// The old project of the row kept.
    pub kept_project: String,
    /// The document id kept (the set's id from now on).
    pub kept_document_id: Option<String>,
    /// The old project of the row dropped.
    pub dropped_project: String,
    /// The document id of the row dropped, if it had one.
    pub dropped_document_id: Option<String>,
    /// The last completed step of the row dropped.
    pub dropped_step: Step,
    /// The status of the row dropped.
    pub dropped_status: SetStatus,
    /// When the migration ran.
    pub merged_at: OffsetDateTime,
}

impl SqliteStore {
    /// Every set the migration from an older state file merged (see
    /// [`MergedSet`]), ordered by company and set id.
    pub async fn merged_sets(&self) -> Result<Vec<MergedSet>, StoreError> {
        self.blocking(merged_sets).await
    }
}

fn merged_sets(conn: &mut Connection) -> Result<Vec<MergedSet>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT company, set_id, kept_project, kept_document_id, dropped_project,
                        dropped_document_id, dropped_step, dropped_status, merged_at
                   FROM merged_sets ORDER BY company, set_id, dropped_project",
        )
        .map_err(StoreError::sqlite("reading merged sets"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(StoreError::sqlite("reading merged sets"))?;
    rows.into_iter()
        .map(
            |(
                company,
                set_id,
                kept_project,
                kept_document_id,
                dropped_project,
                dropped_document_id,
                step,
                status,
                at,
            )| {
                Ok(MergedSet {
                    company,
                    set_id: SetId::new(set_id),
                    kept_project,
                    kept_document_id,
                    dropped_project,
                    dropped_document_id,
                    dropped_step: parse_step("merged_sets.dropped_step", step)?,
                    dropped_status: parse_status("merged_sets.dropped_status", status)?,
                    merged_at: from_ts("merged_sets.merged_at", at)?,
                })
            },
        )
        .collect()
}

/// Whether `table` exists.
fn has_table(tx: &Transaction<'_>, table: &str) -> Result<bool, StoreError> {
    tx.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        params![table],
        |r| r.get(0),
    )
    .map_err(StoreError::sqlite("reading the schema"))
}

/// Whether `table` has `column`.
fn has_column(tx: &Transaction<'_>, table: &str, column: &str) -> Result<bool, StoreError> {
    tx.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
        params![table, column],
        |r| r.get(0),
    )
    .map_err(StoreError::sqlite("reading the schema"))
}

/// Creates or upgrades the schema, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sqlite("starting the schema transaction"))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    )
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
    // Decided by the tables themselves, so a file whose version was never
    // written (a crash while it was being created) is upgraded too.
    if has_table(&tx, "sets")? && has_column(&tx, "sets", "project")? {
        if !has_column(&tx, "sets", "first_seen_ms")? {
            tx.execute_batch(MIGRATE_FIRST_SEEN)
                .map_err(StoreError::sqlite("adding sets.first_seen_ms"))?;
        }
        tx.execute_batch(SET_ASIDE_LEGACY)
            .map_err(StoreError::sqlite("setting the old sets table aside"))?;
        if has_table(&tx, "projects")? {
            tx.execute_batch("ALTER TABLE projects RENAME TO legacy_projects;")
                .map_err(StoreError::sqlite("setting the old projects table aside"))?;
        }
    }
    tx.execute_batch(TABLES)
        .map_err(StoreError::sqlite("creating the schema"))?;
    if !has_column(&tx, "sets", "findings")? {
        tx.execute_batch(MIGRATE_REVIEW)
            .map_err(StoreError::sqlite(
                "adding sets.findings and sets.decisions",
            ))?;
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

/// One row of an older version's `sets` table.
struct LegacyRow {
    project: String,
    set_id: String,
    number: i64,
    step: Step,
    status: SetStatus,
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

impl LegacyRow {
    /// How far the row got: step, then status (done, failed, pending), then
    /// whether it holds a document id.
    fn progress(&self) -> (Step, u8, bool) {
        let status = match self.status {
            SetStatus::Done => 3,
            SetStatus::Failed => 2,
            // An older version knew none of the others.
            SetStatus::Skipped | SetStatus::Held | SetStatus::Rejected => 1,
            SetStatus::Pending => 0,
        };
        (self.step, status, self.document_id.is_some())
    }
}

/// The failure kind of a reason text written by an older version.
fn legacy_failure_kind(reason: Option<&str>) -> FailureKind {
    match reason.unwrap_or_default() {
        "timed out waiting for final state" => FailureKind::FinalStateTimedOut,
        r if r.starts_with("gave up after") => FailureKind::GaveUp,
        r if r.starts_with("mapping failed") => FailureKind::Mapping,
        _ => FailureKind::Other,
    }
}

/// Adopts the sets an older version kept per project into `company`, once
/// (see [`StateStore::init_company`] on [`SqliteStore`]).
fn adopt_legacy(tx: &Transaction<'_>, company: &str, initial: u64) -> Result<(), StoreError> {
    if !has_table(tx, "legacy_sets")? {
        return Ok(());
    }
    let rows: Vec<LegacyRow> = {
        let mut stmt = tx
            .prepare(
                "SELECT project, set_id, number, step, status, attempts, last_error, failed_step,
                        reason, document_id, file_names, sent_at, final_code, final_name,
                        updated_at, first_seen_ms
                   FROM legacy_sets ORDER BY set_id, project",
            )
            .map_err(StoreError::sqlite("reading the old sets"))?;
        let raw = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, String>(10)?,
                    r.get::<_, Option<i64>>(11)?,
                    r.get::<_, Option<String>>(12)?,
                    r.get::<_, Option<String>>(13)?,
                    r.get::<_, i64>(14)?,
                    r.get::<_, i64>(15)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(StoreError::sqlite("reading the old sets"))?;
        raw.into_iter()
            .map(|t| {
                Ok(LegacyRow {
                    step: parse_step("legacy_sets.step", t.3)?,
                    status: parse_status("legacy_sets.status", t.4)?,
                    project: t.0,
                    set_id: t.1,
                    number: t.2,
                    attempts: t.5,
                    last_error: t.6,
                    failed_step: t.7,
                    reason: t.8,
                    document_id: t.9,
                    file_names: t.10,
                    sent_at: t.11,
                    final_code: t.12,
                    final_name: t.13,
                    updated_at: t.14,
                    first_seen_ms: t.15,
                })
            })
            .collect::<Result<_, StoreError>>()?
    };
    let mut by_set: BTreeMap<String, Vec<LegacyRow>> = BTreeMap::new();
    for row in rows {
        by_set.entry(row.set_id.clone()).or_default().push(row);
    }
    let merged_at = now_ts();
    for (set_id, mut group) in by_set {
        // The most advanced row first; on a tie the company's own project,
        // then the project name (deterministic).
        group.sort_by(|a, b| {
            b.progress()
                .cmp(&a.progress())
                .then_with(|| (b.project == company).cmp(&(a.project == company)))
                .then_with(|| a.project.cmp(&b.project))
        });
        let mut group = group.into_iter();
        let Some(mut kept) = group.next() else {
            continue;
        };
        // A set keeps the document id it was written under; one that never got
        // one keeps the id the old version would have given it.
        let document_id = kept
            .document_id
            .take()
            .unwrap_or_else(|| crate::ids::document_id(&kept.project, &set_id).to_string());
        for dropped in group {
            tx.execute(
                "INSERT OR REPLACE INTO merged_sets (company, set_id, kept_project,
                     kept_document_id, dropped_project, dropped_document_id, dropped_step,
                     dropped_status, merged_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    company,
                    set_id,
                    kept.project,
                    document_id,
                    dropped.project,
                    dropped.document_id,
                    dropped.step.as_str(),
                    dropped.status.as_str(),
                    merged_at
                ],
            )
            .map_err(StoreError::sqlite("recording a merged set"))?;
            tracing::warn!(
                company,
                set_id = %set_id,
                kept_project = %kept.project,
                dropped_project = %dropped.project,
                dropped_step = %dropped.step,
                "the old state file held this set under two projects; the most advanced row is kept"
            );
        }
        let contour = (kept.project != company).then(|| kept.project.clone());
        let file_names: Vec<String> = serde_json::from_str(&kept.file_names).unwrap_or_default();
        let attachment_ids: Vec<String> = match uuid::Uuid::parse_str(&document_id) {
            Ok(doc) => file_names
                .iter()
                .map(|name| crate::ids::attachment_id(&doc, name).to_string())
                .collect(),
            Err(_) => Vec::new(),
        };
        let attachment_ids =
            serde_json::to_string(&attachment_ids).map_err(|e| StoreError::other(e.to_string()))?;
        let (failed_step, failure_kind, reason) = match kept.status {
            SetStatus::Failed => (
                kept.failed_step.clone(),
                Some(
                    legacy_failure_kind(kept.reason.as_deref())
                        .as_str()
                        .to_owned(),
                ),
                kept.reason.clone(),
            ),
            _ => (None, None, None),
        };
        tx.execute(
            &format!(
                "INSERT OR IGNORE INTO sets ({COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, ?12, ?13, ?14, ?15,
                         ?16, ?17, ?18, '[]', '[]')"
            ),
            params![
                company,
                set_id,
                contour,
                kept.number,
                kept.step.as_str(),
                kept.status.as_str(),
                kept.attempts,
                kept.last_error,
                failed_step,
                failure_kind,
                reason,
                document_id,
                attachment_ids,
                kept.sent_at,
                kept.final_code,
                kept.final_name,
                kept.updated_at,
                kept.first_seen_ms
            ],
        )
        .map_err(StoreError::sqlite("adopting an old set"))?;
    }
    // One start_id for the company: the lowest of the old ones. Each old
    // project's start_id only promised that nothing of *that* project below it
    // is unsettled or still to come; the lowest promises it for all of them, and
    // any higher one could skip a lagging contour's sets. Going back costs only
    // re-listing known sets (skipped by id).
    let lowest: Option<i64> = if has_table(tx, "legacy_projects")? {
        tx.query_row("SELECT MIN(start_id) FROM legacy_projects", [], |r| {
            r.get(0)
        })
        .map_err(StoreError::sqlite("reading the old start ids"))?
    } else {
        None
    };
    let start = lowest.unwrap_or_else(|| to_i64(initial.max(1))).max(1);
    tx.execute(
        "INSERT OR IGNORE INTO companies (company, start_id) VALUES (?1, ?2)",
        params![company, start],
    )
    .map_err(StoreError::sqlite("initializing a company"))?;
    tx.execute(
        "UPDATE meta SET key = ?1 WHERE key = 'event_cursor'
           AND NOT EXISTS (SELECT 1 FROM meta WHERE key = ?1)",
        params![cursor_key(company)],
    )
    .map_err(StoreError::sqlite("adopting the event cursor"))?;
    tx.execute_batch("DROP TABLE legacy_sets; DROP TABLE IF EXISTS legacy_projects;")
        .map_err(StoreError::sqlite("dropping the old tables"))?;
    tracing::info!(
        company,
        "adopted the sets of a state file written by an older version"
    );
    Ok(())
}

fn cursor_key(scope: &str) -> String {
    format!("event_cursor:{scope}")
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

fn parse_step(column: &'static str, s: String) -> Result<Step, StoreError> {
    Step::parse(&s).ok_or(StoreError::Corrupt { column, value: s })
}

fn parse_status(column: &'static str, s: String) -> Result<SetStatus, StoreError> {
    SetStatus::parse(&s).ok_or(StoreError::Corrupt { column, value: s })
}

/// Raw row, decoded in two stages so SQLite errors and our own corruption
/// errors stay separate.
struct RawRow {
    company: String,
    set_id: String,
    contour: Option<String>,
    number: i64,
    step: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    failed_step: Option<String>,
    failure_kind: Option<String>,
    reason: Option<String>,
    skip_reason: Option<String>,
    document_id: Option<String>,
    attachment_ids: String,
    sent_at: Option<i64>,
    final_code: Option<String>,
    final_name: Option<String>,
    updated_at: i64,
    first_seen_ms: i64,
    findings: String,
    decisions: String,
}

impl RawRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            company: r.get(0)?,
            set_id: r.get(1)?,
            contour: r.get(2)?,
            number: r.get(3)?,
            step: r.get(4)?,
            status: r.get(5)?,
            attempts: r.get(6)?,
            last_error: r.get(7)?,
            failed_step: r.get(8)?,
            failure_kind: r.get(9)?,
            reason: r.get(10)?,
            skip_reason: r.get(11)?,
            document_id: r.get(12)?,
            attachment_ids: r.get(13)?,
            sent_at: r.get(14)?,
            final_code: r.get(15)?,
            final_name: r.get(16)?,
            updated_at: r.get(17)?,
            first_seen_ms: r.get(18)?,
            findings: r.get(19)?,
            decisions: r.get(20)?,
        })
    }

    fn decode(self) -> Result<SetRecord, StoreError> {
        let step = parse_step("sets.step", self.step)?;
        let status = parse_status("sets.status", self.status)?;
        let failure = match self.failed_step {
            Some(s) => Some(Failure::new(
                parse_step("sets.failed_step", s)?,
                self.failure_kind
                    .as_deref()
                    .map_or(FailureKind::Other, FailureKind::parse),
                self.reason.unwrap_or_default(),
            )),
            None => None,
        };
        let attachment_ids: Vec<String> =
            serde_json::from_str(&self.attachment_ids).map_err(|_| StoreError::Corrupt {
                column: "sets.attachment_ids",
                value: self.attachment_ids.clone(),
            })?;
        // Findings never hold a recognized value, so the stored text may be quoted.
        let findings: Vec<Finding> =
            serde_json::from_str(&self.findings).map_err(|_| StoreError::Corrupt {
                column: "sets.findings",
                value: self.findings.clone(),
            })?;
        let decisions =
            review::decisions_from_json(&self.decisions).ok_or_else(|| StoreError::Corrupt {
                column: "sets.decisions",
                value: self.decisions.clone(),
            })?;
        Ok(SetRecord {
            company: self.company,
            contour: self.contour,
            set_id: SetId::new(self.set_id),
            number: u64::try_from(self.number).unwrap_or(0),
            step,
            status,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_error: self.last_error,
            failure,
            skip: self.skip_reason.as_deref().map(SkipReason::parse),
            document_id: self.document_id,
            attachment_ids,
            sent_at: self
                .sent_at
                .map(|t| from_ts("sets.sent_at", t))
                .transpose()?,
            final_state: self.final_code.map(|c| FinalState::new(c, self.final_name)),
            first_seen: from_ms("sets.first_seen_ms", self.first_seen_ms)?,
            updated_at: from_ts("sets.updated_at", self.updated_at)?,
            findings,
            decisions,
        })
    }
}

fn read_start(tx: &Transaction<'_>, company: &str) -> Result<Option<i64>, StoreError> {
    tx.query_row(
        "SELECT start_id FROM companies WHERE company = ?1",
        params![company],
        |r| r.get(0),
    )
    .optional()
    .map_err(StoreError::sqlite("reading start_id"))
}

fn init_company(conn: &mut Connection, company: &str, initial: u64) -> Result<u64, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sqlite("starting a transaction"))?;
    adopt_legacy(&tx, company, initial)?;
    tx.execute(
        "INSERT OR IGNORE INTO companies (company, start_id) VALUES (?1, ?2)",
        params![company, to_i64(initial.max(1))],
    )
    .map_err(StoreError::sqlite("initializing a company"))?;
    let start = read_start(&tx, company)?.unwrap_or(1);
    tx.commit()
        .map_err(StoreError::sqlite("committing a company"))?;
    Ok(u64::try_from(start).unwrap_or(1))
}

fn start_id(conn: &mut Connection, company: &str) -> Result<Option<u64>, StoreError> {
    let start: Option<i64> = conn
        .prepare_cached("SELECT start_id FROM companies WHERE company = ?1")
        .and_then(|mut stmt| stmt.query_row(params![company], |r| r.get(0)).optional())
        .map_err(StoreError::sqlite("reading start_id"))?;
    Ok(start.map(|s| u64::try_from(s).unwrap_or(1)))
}

fn compare_and_set_start_id(
    conn: &mut Connection,
    company: &str,
    expected: u64,
    new: u64,
) -> Result<bool, StoreError> {
    // One statement: SQLite runs it atomically.
    let changed = conn
        .prepare_cached("UPDATE companies SET start_id = ?3 WHERE company = ?1 AND start_id = ?2")
        .and_then(|mut stmt| stmt.execute(params![company, to_i64(expected), to_i64(new)]))
        .map_err(StoreError::sqlite("moving start_id"))?;
    Ok(changed > 0)
}

fn insert_new(conn: &mut Connection, records: &[SetRecord]) -> Result<Vec<SetId>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sqlite("starting a transaction"))?;
    let mut fresh = Vec::new();
    {
        // OR IGNORE: a known set keeps its progress, contour and first-seen time.
        let mut stmt = tx
            .prepare_cached(&insert_sql("INSERT OR IGNORE"))
            .map_err(StoreError::sqlite("preparing insert"))?;
        for r in records {
            let attachment_ids = encode_attachment_ids(r)?;
            let (findings, decisions) = encode_review(r)?;
            let inserted = execute_row(&mut stmt, r, &attachment_ids, &findings, &decisions)
                .map_err(StoreError::sqlite("recording a seen set"))?;
            if inserted > 0 {
                fresh.push(r.set_id.clone());
            }
        }
    }
    tx.commit()
        .map_err(StoreError::sqlite("committing seen sets"))?;
    Ok(fresh)
}

/// `verb` (`INSERT` or `INSERT OR IGNORE`) of a whole row into `sets`, bound by
/// [`execute_row`].
fn insert_sql(verb: &str) -> String {
    format!(
        "{verb} INTO sets ({COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?17, ?18, ?19, ?20, ?21)"
    )
}

/// Runs a statement numbered as [`COLUMNS`] ([`insert_sql`], [`UPDATE_PROGRESS`],
/// [`UPDATE_WITH_STATUS`]) for `r`, whose encoded JSON columns the caller passes (it encodes
/// them before taking its transaction). The rows changed: 0 or 1.
fn execute_row(
    stmt: &mut rusqlite::Statement<'_>,
    r: &SetRecord,
    attachment_ids: &str,
    findings: &str,
    decisions: &str,
) -> rusqlite::Result<usize> {
    stmt.execute(params![
        r.company,
        r.set_id.as_str(),
        r.contour,
        to_i64(r.number),
        r.step.as_str(),
        r.status.as_str(),
        i64::from(r.attempts),
        r.last_error,
        r.failure.as_ref().map(|f| f.step.as_str()),
        r.failure.as_ref().map(|f| f.kind.as_str()),
        r.failure.as_ref().map(|f| f.reason.as_str()),
        r.skip.as_ref().map(SkipReason::as_str),
        r.document_id,
        attachment_ids,
        r.sent_at.map(ts),
        r.final_state.as_ref().map(|f| f.code.as_str()),
        r.final_state.as_ref().and_then(|f| f.name.as_deref()),
        ts(r.updated_at),
        ms(r.first_seen),
        findings,
        decisions,
    ])
}

fn encode_attachment_ids(r: &SetRecord) -> Result<String, StoreError> {
    serde_json::to_string(&r.attachment_ids).map_err(|e| StoreError::Other {
        message: "encoding attachment ids".to_owned(),
        source: Some(Box::new(e)),
    })
}

/// The findings and the decisions of a set as stored (JSON arrays).
fn encode_review(r: &SetRecord) -> Result<(String, String), StoreError> {
    let findings = serde_json::to_string(&r.findings).map_err(|e| StoreError::Other {
        message: "encoding findings".to_owned(),
        source: Some(Box::new(e)),
    })?;
    Ok((findings, review::decisions_to_json(&r.decisions)))
}

/// Writes one set's row inside the caller's transaction (or savepoint).
fn save_in(conn: &Connection, r: &SetRecord) -> Result<(), StoreError> {
    let attachment_ids = encode_attachment_ids(r)?;
    let (findings, decisions) = encode_review(r)?;
    // A set's identity, `number`, contour and first-seen time never change
    // after it is recorded, and its status changes once or twice in its life:
    // most steps touch neither index (`sets_by_number`, `sets_by_status`),
    // only the row.
    let execute = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| execute_row(&mut stmt, r, &attachment_ids, &findings, &decisions))
            .map_err(StoreError::sqlite("saving a set"))
    };
    let mut updated = execute(UPDATE_PROGRESS)?;
    if updated == 0 {
        // The status changed (or the set is new): one more statement, touching
        // `sets_by_status` only.
        updated = execute(UPDATE_WITH_STATUS)?;
    }
    if updated == 0 {
        execute(&insert_sql("INSERT"))?;
    }
    Ok(())
}

/// A database error several waiting saves share (a failed commit of their
/// transaction): each gets an error with the same text and source.
#[derive(Debug)]
struct SharedSqliteError(Arc<rusqlite::Error>);

impl std::fmt::Display for SharedSqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedSqliteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Commits the queued saves in one transaction and tells each its outcome. A lone save
/// is written as before (no savepoint); with several, each record gets a savepoint, so a
/// record whose statements fail is rolled back and told so while the others commit. If
/// the transaction cannot start or commit, every save in it is told, and none is kept.
fn save_batch(conn: &mut Connection, batch: Vec<PendingSave>) {
    let shared_failure = |context: &'static str, e: rusqlite::Error| {
        let e = Arc::new(e);
        move || StoreError::Database {
            context,
            source: Box::new(SharedSqliteError(Arc::clone(&e))),
        }
    };
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let failure = shared_failure("starting a transaction", e);
            for save in batch {
                let _ = save.done.send(Err(failure()));
            }
            return;
        }
    };
    let lone = batch.len() == 1;
    let mut outcomes: Vec<Result<(), StoreError>> = Vec::with_capacity(batch.len());
    for save in &batch {
        let outcome = if lone {
            save_in(&tx, &save.record)
        } else {
            tx.savepoint()
                .map_err(StoreError::sqlite("starting a savepoint"))
                .and_then(|sp| {
                    save_in(&sp, &save.record)?;
                    sp.commit()
                        .map_err(StoreError::sqlite("releasing a savepoint"))
                })
        };
        outcomes.push(outcome);
    }
    if lone && outcomes.iter().any(Result::is_err) {
        // Nothing else to keep: rolled back on drop.
        drop(tx);
        for (save, outcome) in batch.into_iter().zip(outcomes) {
            let _ = save.done.send(outcome);
        }
        return;
    }
    match tx.commit() {
        Ok(()) => {
            for (save, outcome) in batch.into_iter().zip(outcomes) {
                let _ = save.done.send(outcome);
            }
        }
        Err(e) => {
            let failure = shared_failure("committing a set", e);
            for (save, outcome) in batch.into_iter().zip(outcomes) {
                let _ = save.done.send(outcome.and_then(|()| Err(failure())));
            }
        }
    }
}

fn pending_count(conn: &mut Connection, company: &str) -> Result<u64, StoreError> {
    // One range of `sets_by_status`: the pending sets only, however many are settled.
    let n: i64 = conn
        .prepare_cached(PENDING_COUNT)
        .and_then(|mut stmt| stmt.query_row(params![company], |r| r.get(0)))
        .map_err(StoreError::sqlite("counting pending sets"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn get(
    conn: &mut Connection,
    company: &str,
    set_id: &str,
) -> Result<Option<SetRecord>, StoreError> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sets WHERE company = ?1 AND set_id = ?2"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(params![company, set_id], RawRow::from_row)
                .optional()
        })
        .map_err(StoreError::sqlite("reading a set"))?;
    raw.map(RawRow::decode).transpose()
}

fn list(
    conn: &mut Connection,
    company: &str,
    status: Option<SetStatus>,
    after: Option<(u64, &str)>,
    limit: usize,
) -> Result<Vec<SetRecord>, StoreError> {
    let (after_number, after_id) = match after {
        Some((n, id)) => (to_i64(n), id),
        None => (-1, ""),
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows: Vec<RawRow> = match status {
        Some(status) => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sets
                 WHERE company = ?1 AND status = ?2 AND (number, set_id) > (?3, ?4)
                 ORDER BY number, set_id LIMIT ?5"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(
                    params![company, status.as_str(), after_number, after_id, limit],
                    RawRow::from_row,
                )?
                .collect()
            }),
        None => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM sets
                 WHERE company = ?1 AND (number, set_id) > (?2, ?3)
                 ORDER BY number, set_id LIMIT ?4"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(
                    params![company, after_number, after_id, limit],
                    RawRow::from_row,
                )?
                .collect()
            }),
    }
    .map_err(StoreError::sqlite("listing sets"))?;
    rows.into_iter().map(RawRow::decode).collect()
}

fn window(conn: &mut Connection, company: &str, from: u64) -> Result<Vec<WindowEntry>, StoreError> {
    // Row by row into entries: a first run over a year's backlog has 100,000 sets in the
    // window, and a list of raw rows (each status a `String`) beside the entries would more
    // than triple the peak.
    let sqlite = |e| StoreError::database("reading the watermark window", e);
    let mut stmt = conn.prepare_cached(WINDOW).map_err(&sqlite)?;
    let mut rows = stmt
        .query(params![company, to_i64(from)])
        .map_err(&sqlite)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(&sqlite)? {
        let number = r.get::<_, i64>(0).map_err(&sqlite)?;
        let status = r.get_ref(1).map_err(&sqlite)?;
        let status = match status.as_str() {
            Ok(text) => SetStatus::parse(text),
            Err(_) => None,
        };
        let status = match status {
            Some(status) => status,
            None => parse_status("sets.status", r.get::<_, String>(1).map_err(&sqlite)?)?,
        };
        let first_seen = r.get::<_, i64>(2).map_err(&sqlite)?;
        out.push(WindowEntry::new(
            u64::try_from(number).unwrap_or(0),
            status,
            from_ms("sets.first_seen_ms", first_seen)?,
        ));
    }
    Ok(out)
}

fn contour_counts(
    conn: &mut Connection,
    company: &str,
) -> Result<Vec<(Option<String>, StatusCounts)>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT contour, status, COUNT(*) FROM sets WHERE company = ?1
             GROUP BY contour, status ORDER BY contour",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![company], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(StoreError::sqlite("counting sets"))?;
    let mut out: BTreeMap<Option<String>, StatusCounts> = BTreeMap::new();
    for (contour, status, n) in rows {
        let status = parse_status("sets.status", status)?;
        out.entry(contour)
            .or_default()
            .add(status, u64::try_from(n).unwrap_or(0));
    }
    Ok(out.into_iter().collect())
}

fn event_cursor(conn: &mut Connection, scope: &str) -> Result<Option<String>, StoreError> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        params![cursor_key(scope)],
        |r| r.get(0),
    )
    .optional()
    .map_err(StoreError::sqlite("reading the event cursor"))
}

fn set_event_cursor(conn: &mut Connection, scope: &str, cursor: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![cursor_key(scope), cursor],
    )
    .map(|_| ())
    .map_err(StoreError::sqlite("saving the event cursor"))
}

// Each call copies its arguments and runs the function of the same name on
// the store's thread (`SqliteStore::blocking`).
#[async_trait]
impl StateStore for SqliteStore {
    /// Also adopts, the first time it runs on a state file written by an older
    /// version (schema 1 or 2, sets kept per *project*), every old set into
    /// `company`: a set stored under the company's own id gets no contour, one
    /// stored under another project (a contour configured as a project) gets
    /// that name as its contour; each keeps the Saby document id it was written
    /// under; a set held under several projects keeps its most advanced row
    /// (see [`MergedSet`]); the company's `start_id` is the lowest of the old
    /// projects'.
    async fn init_company(&self, company: &str, initial: u64) -> Result<u64, StoreError> {
        let company = company.to_owned();
        self.blocking(move |c| init_company(c, &company, initial))
            .await
    }

    async fn start_id(&self, company: &str) -> Result<Option<u64>, StoreError> {
        let company = company.to_owned();
        self.blocking(move |c| start_id(c, &company)).await
    }

    async fn compare_and_set_start_id(
        &self,
        company: &str,
        expected: u64,
        new: u64,
    ) -> Result<bool, StoreError> {
        let company = company.to_owned();
        self.blocking(move |c| compare_and_set_start_id(c, &company, expected, new))
            .await
    }

    async fn insert_new(&self, records: &[SetRecord]) -> Result<Vec<SetId>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let records = records.to_vec();
        self.blocking(move |c| insert_new(c, &records)).await
    }

    /// Group commit: the save is queued, and whichever save gets the connection next
    /// commits every save queued by then in **one** transaction — one fsync for all. When
    /// many sets finish a step at the same moment (32 requests answered together), they
    /// no longer wait for 32 fsyncs one after the other. Durability is unchanged: this
    /// returns only once the transaction holding this record has committed (with the
    /// store's `synchronous` setting). Each record is saved in its own savepoint, so a
    /// record that fails fails alone.
    async fn save(&self, record: &SetRecord) -> Result<(), StoreError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.shared.saves().push(PendingSave {
            record: record.clone(),
            done,
        });
        let permit = self.permit().await?;
        let batch = std::mem::take(&mut *self.shared.saves());
        if batch.is_empty() {
            // An earlier save took this record into its transaction.
            drop(permit);
        } else {
            self.on_store_thread_with(permit, move |shared| {
                #[cfg(test)]
                shared
                    .batches
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                save_batch(&mut shared.conn(), batch);
                Ok(())
            })
            .await?;
        }
        outcome.await.map_err(|_| StoreError::Other {
            message: "state store task failed before the save was committed".to_owned(),
            source: None,
        })?
    }

    async fn get(&self, company: &str, set_id: &SetId) -> Result<Option<SetRecord>, StoreError> {
        let (company, set_id) = (company.to_owned(), set_id.clone());
        self.blocking(move |c| get(c, &company, set_id.as_str()))
            .await
    }

    async fn list(
        &self,
        company: &str,
        status: Option<SetStatus>,
        after: Option<(u64, &SetId)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError> {
        let company = company.to_owned();
        let after = after.map(|(n, id)| (n, id.as_str().to_owned()));
        self.blocking(move |c| {
            list(
                c,
                &company,
                status,
                after.as_ref().map(|(n, id)| (*n, id.as_str())),
                limit,
            )
        })
        .await
    }

    async fn window(&self, company: &str, from: u64) -> Result<Vec<WindowEntry>, StoreError> {
        let company = company.to_owned();
        self.blocking(move |c| window(c, &company, from)).await
    }

    async fn contour_counts(
        &self,
        company: &str,
    ) -> Result<Vec<(Option<String>, StatusCounts)>, StoreError> {
        let company = company.to_owned();
        self.blocking(move |c| contour_counts(c, &company)).await
    }

    async fn pending_count(&self, company: &str) -> Result<u64, StoreError> {
        let company = company.to_owned();
        self.blocking(move |c| pending_count(c, &company)).await
    }

    async fn event_cursor(&self, scope: &str) -> Result<Option<String>, StoreError> {
        let scope = scope.to_owned();
        self.blocking(move |c| event_cursor(c, &scope)).await
    }

    async fn set_event_cursor(&self, scope: &str, cursor: &str) -> Result<(), StoreError> {
        let (scope, cursor) = (scope.to_owned(), cursor.to_owned());
        self.blocking(move |c| set_event_cursor(c, &scope, &cursor))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Saves queued while the connection is busy are committed together: one
    /// transaction for all of them, each record saved, each caller told.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn saves_queued_behind_a_busy_connection_commit_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
        let commits = |store: &SqliteStore| -> i64 {
            store
                .shared
                .conn()
                .query_row("SELECT COUNT(*) FROM sets", [], |r| r.get(0))
                .unwrap()
        };
        // Hold the connection (the store's one permit) while 20 saves queue.
        let held = Arc::clone(&store.permits).acquire_owned().await.unwrap();
        let now = OffsetDateTime::now_utc();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 1..=20u64 {
            let store = Arc::clone(&store);
            tasks.spawn(async move {
                let mut rec = SetRecord::seen_at("4821", SetId::from_number(n), now);
                rec.advance(Step::Written);
                store.save(&rec).await
            });
        }
        while store.shared.saves().len() < 20 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            commits(&store),
            0,
            "nothing committed while the connection is held"
        );
        drop(held);
        while let Some(outcome) = tasks.join_next().await {
            outcome.unwrap().unwrap();
        }
        assert_eq!(commits(&store), 20, "every queued save is stored");
        assert_eq!(
            store
                .shared
                .batches
                .load(std::sync::atomic::Ordering::SeqCst),
            1,
            "one transaction for the 20 queued saves"
        );
        for n in 1..=20u64 {
            let rec = store
                .get("4821", &SetId::from_number(n))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(rec.step, Step::Written);
        }
    }

    /// In a batch, a record whose statements fail is rolled back and its caller told;
    /// the others commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_save_in_a_batch_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
        store
            .shared
            .conn()
            .execute_batch(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.sets
                 WHEN NEW.set_id = 's-2' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            )
            .unwrap();
        let held = Arc::clone(&store.permits).acquire_owned().await.unwrap();
        let now = OffsetDateTime::now_utc();
        let mut tasks = Vec::new();
        for n in 1..=3u64 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store
                    .save(&SetRecord::seen_at("4821", SetId::from_number(n), now))
                    .await
            }));
        }
        while store.shared.saves().len() < 3 {
            tokio::task::yield_now().await;
        }
        drop(held);
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
        let err = outcomes[1].as_ref().unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Database {
                    context: "saving a set",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(outcomes[2].is_ok(), "{:?}", outcomes[2]);
        for (n, kept) in [(1, true), (2, false), (3, true)] {
            let stored = store.get("4821", &SetId::from_number(n)).await.unwrap();
            assert_eq!(stored.is_some(), kept, "s-{n}");
        }
    }

    /// The page cache is the one configured (SQLite's 2 MiB by default), and the
    /// durability setting goes with it.
    #[test]
    fn options_set_the_page_cache_and_synchronous() {
        let pragma = |store: &SqliteStore, name: &str| -> i64 {
            store
                .shared
                .conn()
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("a.db")).unwrap();
        assert_eq!(pragma(&store, "cache_size"), -2_000);
        assert_eq!(pragma(&store, "synchronous"), 2, "FULL");
        let options = SqliteOptions::default()
            .synchronous(Synchronous::Normal)
            .cache_kib(16_000);
        assert_eq!(options.cache_kib_setting(), 16_000);
        assert_eq!(options.synchronous_setting(), Synchronous::Normal);
        let store = SqliteStore::open_with_options(dir.path().join("b.db"), &options).unwrap();
        assert_eq!(pragma(&store, "cache_size"), -16_000);
        assert_eq!(pragma(&store, "synchronous"), 1, "NORMAL");
        let store = SqliteStore::open_with(dir.path().join("c.db"), Synchronous::Normal).unwrap();
        assert_eq!(pragma(&store, "cache_size"), -2_000);
        // No cache configured at all still works: SQLite keeps the pages a statement needs.
        let store = SqliteStore::open_with_options(
            dir.path().join("d.db"),
            &SqliteOptions::default().cache_kib(0),
        )
        .unwrap();
        assert_eq!(pragma(&store, "cache_size"), 0);
        let mut rec = SetRecord::seen_at("4821", SetId::from_number(1), OffsetDateTime::now_utc());
        rec.advance(Step::Written);
        let mut conn = store.shared.conn();
        let tx = conn.transaction().unwrap();
        save_in(&tx, &rec).unwrap();
        tx.commit().unwrap();
        let step: String = conn
            .query_row("SELECT step FROM sets WHERE set_id = 's-1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(step, "written");
    }

    /// The watermark window and the back-pressure count are index ranges (no
    /// table scan), so their cost never grows with the settled history below
    /// `start_id`.
    #[test]
    fn watermark_queries_read_index_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
        let conn = store.shared.conn();
        for (sql, args) in [(WINDOW, 2), (PENDING_COUNT, 1)] {
            use rusqlite::types::Value;
            let values: Vec<Value> = std::iter::once(Value::Text("4821".into()))
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

    fn open_with_permits(dir: &tempfile::TempDir, permits: usize) -> SqliteStore {
        let opened = SqliteStore::open(dir.path().join("state.db")).unwrap();
        let shared = Arc::try_unwrap(opened.shared)
            .map_err(|_| "shared")
            .unwrap();
        SqliteStore::with_permits(shared, permits).unwrap()
    }

    #[test]
    fn the_store_takes_one_call_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
        assert_eq!(store.permits.available_permits(), 1);
    }

    /// Ten calls, at most two at once (the bound under test, raised from 1 so
    /// that "at most" is observable): each call waits at a two-party barrier,
    /// so they pass in pairs (the bound is reached, or the barrier never opens
    /// and the timeout fails the test) and a third call never runs beside them.
    #[test]
    fn calls_run_at_most_the_bound_at_once() {
        use std::sync::Barrier;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(open_with_permits(&dir, 2));
        let barrier = Arc::new(Barrier::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let paired = rt.block_on({
            let (barrier, running, most) = (
                Arc::clone(&barrier),
                Arc::clone(&running),
                Arc::clone(&most),
            );
            async move {
                let mut calls = tokio::task::JoinSet::new();
                for _ in 0..10 {
                    let (store, barrier, running, most) = (
                        Arc::clone(&store),
                        Arc::clone(&barrier),
                        Arc::clone(&running),
                        Arc::clone(&most),
                    );
                    calls.spawn(async move {
                        // Not `blocking`: two calls would then wait for the one
                        // connection's lock, not at the barrier.
                        store
                            .on_store_thread(move |_| {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                barrier.wait();
                                running.fetch_sub(1, Ordering::SeqCst);
                                Ok(())
                            })
                            .await
                    });
                }
                let all = async {
                    while let Some(joined) = calls.join_next().await {
                        joined.unwrap().unwrap();
                    }
                };
                tokio::time::timeout(Duration::from_secs(30), all).await
            }
        });
        // A call stuck at the barrier must not keep the test waiting.
        rt.shutdown_timeout(Duration::from_secs(1));
        assert!(
            paired.is_ok(),
            "the calls did not pair up: fewer than 2 ran at once"
        );
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    /// However many calls wait at once, they all run on the store's one thread
    /// (not on tokio's blocking pool, which would start threads as the calls
    /// come: see the type's docs).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_call_runs_on_the_stores_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let store = Arc::clone(&store);
            calls.spawn(async move {
                store
                    .on_store_thread(|_| {
                        let me = std::thread::current();
                        Ok((me.id(), me.name().map(str::to_owned)))
                    })
                    .await
                    .unwrap()
            });
        }
        let mut threads = std::collections::HashSet::new();
        while let Some(done) = calls.join_next().await {
            let (id, name) = done.unwrap();
            assert_eq!(name.as_deref(), Some("hr-docs-store"));
            threads.insert(id);
        }
        assert_eq!(threads.len(), 1, "{threads:?}");
    }

    #[tokio::test]
    async fn a_panicking_call_is_an_error_with_the_panic_as_source() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("state.db")).unwrap();
        let err = store
            .blocking::<(), _>(|_| panic!("boom"))
            .await
            .unwrap_err();
        let source = std::error::Error::source(&err).expect("the panic is kept");
        assert!(source.to_string().contains("panic"), "{source}");
        // The permit came back and the connection is usable: the next call runs.
        assert_eq!(store.start_id("p").await.unwrap(), None);
    }
}
