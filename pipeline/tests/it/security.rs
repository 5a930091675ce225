//! Personal data and secrets on the pipeline's side (issue 9): no recognized
//! value in what the pipeline stores, logs or reports; private state files;
//! absurd durations that never panic; a lost state file that sends nothing
//! twice; an outlier set id that does not throw the watermark past real sets.
//! The end-to-end leak test over logs, progress, errors and the state file's
//! bytes is in `leak.rs`.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::Env;
use beorg_client::SetId;
use beorg_sandbox::{Faults as BeorgFaults, SandboxConfig as BeorgConfig, SetSpec};
use hr_docs_pipeline::store::{FailureKind, SetStatus, SqliteStore, StateStore, Step};
use hr_docs_pipeline::{PipelineConfig, Progress, ProgressKind, StopReason};
use saby_sandbox::{Faults as SabyFaults, SandboxConfig as SabyConfig};

/// Every progress event of a pipeline, kept for inspection.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Progress>>>);

impl Events {
    fn recorder(&self) -> impl Fn(&Progress) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |p: &Progress| events.lock().unwrap().push(p.clone())
    }

    fn all(&self) -> Vec<Progress> {
        self.0.lock().unwrap().clone()
    }
}

/// The recognized values of `set` (what `RecognitionResult::personal_values`
/// lists: names, dates, numbers, `FileName`s), read from Beorg directly.
async fn personal_values(env: &Env, set: &SetId) -> Vec<String> {
    let status = env.beorg.client().result(set).await.unwrap();
    let result = status.into_ready().expect("a ready result");
    let values = result.personal_values();
    assert!(!values.is_empty(), "the sandbox recognized something");
    values
}

fn assert_free_of(what: &str, text: &str, values: &[String]) {
    for value in values {
        assert!(
            !text.contains(value.as_str()),
            "{what} holds the recognized value {value:?}: {text}"
        );
    }
}

/// Saby quotes the document in an error (its title, the file name of its first
/// attachment: `Паспорт_<surname>.json`): the failure reason stored, logged
/// and reported has the set's recognized values scrubbed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saby_error_quoting_the_document_is_stored_without_the_sets_values() {
    let env = Env::start_with(
        BeorgConfig::default().polls_until_ready(0),
        SabyConfig::default().faults(SabyFaults::none().echoing_errors(1.0)),
    )
    .await;
    let set = env.add_sets(1).remove(0);
    let events = Events::default();
    let pipeline = env
        .builder(env.config().build().unwrap())
        .on_progress(events.recorder())
        .build()
        .unwrap();
    pipeline.run_once().await.unwrap();

    let record = env.record(pipeline.store().as_ref(), &set).await;
    assert_eq!(record.status, SetStatus::Failed, "{record:?}");
    let failure = record.failure.as_ref().unwrap();
    assert_eq!(
        (failure.step, &failure.kind),
        (Step::Written, &FailureKind::Rejected)
    );
    // Saby did quote the document: the quote is there, its values are not.
    assert!(
        failure.reason.contains("вложение «[REDACTED].json»"),
        "{}",
        failure.reason
    );
    assert!(failure.reason.contains("s-1"), "the set id is no secret");
    let values = personal_values(&env, &set).await;
    assert_free_of("the failure reason", &failure.reason, &values);
    let failed: Vec<String> = events
        .all()
        .into_iter()
        .filter_map(|p| match p.kind {
            ProgressKind::Failed { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(failed, std::slice::from_ref(&failure.reason));
    // The default title names the set, never the person.
    let doc_title = format!("Комплект документов {set}");
    assert!(
        failure.reason.contains(&format!("«{doc_title}»")),
        "{}",
        failure.reason
    );
}

/// A step resumed after the write does not know the set's recognized values
/// (they are never stored): before keeping a text Saby wrote, it fetches the
/// result again to learn them — and when that fails too, Saby's message is
/// withheld instead of kept.
async fn resumed_send_error(beorg_down: bool) {
    let env = Arc::new(
        Env::start_with(
            BeorgConfig::default().polls_until_ready(0),
            SabyConfig::default(),
        )
        .await,
    );
    let set = env.add_sets(1).remove(0);
    let events = Events::default();
    let record_event = events.recorder();
    let on_progress = {
        let env = Arc::clone(&env);
        move |p: &Progress| {
            record_event(p);
            match p.kind {
                // Written: the next read (the check before sending) fails
                // with a retryable error, so the set stays pending at
                // "written" and a new task picks it up on the next pass.
                ProgressKind::Written { .. } => {
                    env.saby.set_faults(SabyFaults::none().server_errors(1.0));
                }
                // That new task meets a Saby error quoting the document.
                ProgressKind::Retrying { .. } => {
                    env.saby.set_faults(SabyFaults::none().echoing_errors(1.0));
                    if beorg_down {
                        env.beorg
                            .set_faults(BeorgFaults::default().server_errors(1.0));
                    }
                }
                // Beorg back for the polls (they fail meanwhile, within
                // max_passes).
                ProgressKind::Failed { .. } => env.beorg.set_faults(BeorgFaults::default()),
                _ => {}
            }
        }
    };
    let pipeline = env
        .builder(env.config().max_passes(50).build().unwrap())
        .on_progress(on_progress)
        .build()
        .unwrap();
    let requests_before = env.beorg.result_requests();
    pipeline.run_once().await.unwrap();
    env.beorg.set_faults(BeorgFaults::default());

    let record = env.record(pipeline.store().as_ref(), &set).await;
    let failure = record.failure.as_ref().expect("failed");
    assert_eq!(
        (failure.step, &failure.kind),
        (Step::Sent, &FailureKind::Rejected),
        "{record:?}"
    );
    let values = personal_values(&env, &set).await;
    assert_free_of("the failure reason", &failure.reason, &values);
    // The fetch for the write, then the one to learn the values (retried by
    // the client when Beorg fails).
    assert!(
        env.beorg.result_requests() >= requests_before + 2,
        "the result was fetched again"
    );
    if beorg_down {
        assert!(
            failure.reason.contains("its message is withheld"),
            "{}",
            failure.reason
        );
        assert!(
            failure.reason.contains("СБИС.ПрочитатьДокумент"),
            "{}",
            failure.reason
        );
        assert!(!failure.reason.contains('«'), "{}", failure.reason);
    } else {
        assert!(
            failure.reason.contains("вложение «[REDACTED].json»"),
            "{}",
            failure.reason
        );
    }
    for p in events.all() {
        assert_free_of("a progress event", &format!("{p:?}"), &values);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_step_learns_the_values_again_before_keeping_a_saby_error() {
    resumed_send_error(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_step_withholds_a_saby_error_it_cannot_check() {
    resumed_send_error(true).await;
}

/// The mode bits of `path` (Unix).
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The state file, its `-wal` and `-shm` files and the lock file are `0600`,
/// and the directories the pipeline creates `0700`, whatever the umask: the
/// modes are exactly these, not merely "no more than the umask allows".
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_and_archive_files_are_private() {
    let env = Env::start().await;
    let sets = env.add_sets(2);
    let state_dir = env.dir.path().join("state").join("hr");
    let state = state_dir.join("state.db");
    let pipeline = env
        .builder(env.config().state_path(&state).build().unwrap())
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");

    // While the store is open: the WAL and its index exist.
    assert_eq!(mode(&env.dir.path().join("state")), 0o700);
    assert_eq!(mode(&state_dir), 0o700);
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", state.display()));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    // The archive: every directory 0700, every file 0600.
    assert_eq!(mode(&env.archive_dir()), 0o700);
    assert_eq!(mode(&env.archive_dir().join(env.company())), 0o700);
    for set in &sets {
        let dir = env.archive_of(set);
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            files += 1;
        }
        assert!(files > 1, "files and the manifest in {}", dir.display());
    }
}

/// A state file an older version left readable (with its WAL and lock file) is
/// made private when it is opened again.
#[cfg(unix)]
#[test]
fn an_older_readable_state_file_is_made_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    drop(SqliteStore::open(&state).unwrap());
    let dir_mode = mode(dir.path());
    let wal = dir.path().join("state.db-wal");
    let lock = SqliteStore::lock_path_for(&state);
    std::fs::write(&wal, b"").unwrap();
    for file in [&state, &wal, &lock] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let _store = SqliteStore::open(&state).unwrap();
    for file in [&state, &wal, &lock] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    // The directory was the caller's: left as it was.
    assert_eq!(mode(dir.path()), dir_mode);
}

/// `PIPELINE_POLL_INTERVAL=18446744073709551615` (and the other durations as
/// absurd) parse; the run never computes `Instant + duration` unchecked, which
/// would panic: deadlines saturate (issue 9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_configured_durations_never_panic() {
    let env = Env::start().await;
    let stuck = env.beorg.add_set(SetSpec::new().never_ready());
    let state = env.state_path().display().to_string();
    let archive = env.archive_dir().display().to_string();
    let vars = [
        ("SABY_DOC_TYPE", "ДокОтгрИсх"),
        ("SABY_OUR_ORG_INN", "7605016030"),
        ("SABY_OUR_ORG_NAME", "ООО Ромашка"),
        ("SABY_COUNTERPARTY_INN", "7707083893"),
        ("SABY_COUNTERPARTY_NAME", "ПАО Контрагент"),
        ("PIPELINE_STATE_PATH", state.as_str()),
        ("PIPELINE_ARCHIVE_DIR", archive.as_str()),
        ("PIPELINE_POLL_INTERVAL", "18446744073709551615"),
        ("PIPELINE_RUN_DEADLINE", "18446744073709551615"),
        ("PIPELINE_FINAL_DEADLINE", "18446744073709551615"),
        ("PIPELINE_RECHECK_INTERVAL", "18446744073709551615"),
        ("PIPELINE_GAP_GRACE", "18446744073709551615"),
        ("PIPELINE_NOT_READY_TIMEOUT", "18446744073709551615"),
    ];
    let config = PipelineConfig::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    assert_eq!(config.poll_interval, Duration::from_secs(u64::MAX));
    assert_eq!(config.run_deadline, Some(Duration::from_secs(u64::MAX)));

    // The stuck set is left pending with a cooldown of one poll interval
    // (`now + 584 billion years`); the run stops once it has been seen so.
    let (seen, stopped) = tokio::sync::oneshot::channel::<()>();
    let seen = Mutex::new(Some(seen));
    let pipeline = env
        .builder(config)
        .on_progress(move |p| {
            if matches!(p.kind, ProgressKind::NotReady)
                && let Some(tx) = seen.lock().unwrap().take()
            {
                let _ = tx.send(());
            }
        })
        .build()
        .unwrap();
    let summary = pipeline
        .run_once_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    assert_eq!(summary.stop, StopReason::Cancelled, "{summary}");
    let record = env.record(pipeline.store().as_ref(), &stuck).await;
    assert_eq!(record.status, SetStatus::Pending);
}

/// The state file is lost (or restored from an old backup) after every set was
/// sent: the next run finds each document already sent before writing it, and
/// writes and sends nothing again — it only follows the sets to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_state_file_writes_and_sends_nothing_twice() {
    let env = Env::start().await;
    let sets = env.add_sets(3);
    {
        let pipeline = env.pipeline();
        let summary = pipeline.run_once().await.unwrap();
        assert!(summary.all_final(), "{summary}");
        assert_eq!((summary.written, summary.sent), (3, 3), "{summary}");
    }
    let writes: Vec<usize> = sets
        .iter()
        .map(|s| env.saby.write_count(&env.document_id(s)))
        .collect();
    assert_eq!(writes, [1, 1, 1]);

    // Lose the state: the database, its WAL and index, the lock file.
    let store = env.open_store().await;
    drop(store);
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let file = format!("{}{suffix}", env.state_path().display());
        let _ = std::fs::remove_file(file);
    }
    assert!(!env.state_path().exists());

    let events = Events::default();
    let pipeline = env
        .builder(env.config().build().unwrap())
        .on_progress(events.recorder())
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(
        summary.seen, 3,
        "every set is new to the new state: {summary}"
    );
    assert_eq!(
        (summary.written, summary.sent, summary.already_sent),
        (0, 0, 3),
        "{summary}"
    );
    for set in &sets {
        let id = env.document_id(set);
        assert_eq!(env.saby.write_count(&id), 1, "{set} written again");
        assert_eq!(env.sends_of(&id), 1, "{set} sent again");
    }
    assert_eq!(env.saby.document_count(), 3);
    // Straight from "fetched" to "sent", then final and archived.
    let kinds: Vec<bool> = events
        .all()
        .iter()
        .filter_map(|p| match &p.kind {
            ProgressKind::Sent { already_sent, .. } => Some(*already_sent),
            ProgressKind::Written { .. } => panic!("written again: {p:?}"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [true, true, true]);
    for r in env.records(pipeline.store().as_ref()).await {
        assert_eq!(r.status, SetStatus::Done, "{r:?}");
        assert!(r.final_state.is_some(), "{r:?}");
    }
}

/// One stray set id far above the others (`s-9000000000` among sets in the
/// hundreds) is processed like any set and reported, but does not throw the
/// `start_id` watermark past the real sets: a set that becomes ready after it
/// is still picked up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outlier_set_id_is_processed_and_reported_but_does_not_move_start_id() {
    let env = Env::start_with(
        BeorgConfig::default()
            .polls_until_ready(0)
            .first_set_number(100),
        SabyConfig::default(),
    )
    .await;
    let sets = env.add_sets(3);
    assert_eq!(sets[0].as_str(), "s-100");
    let outlier = env
        .beorg
        .add_set(SetSpec::new().surname("Иванов").number(9_000_000_000));
    assert_eq!(outlier.as_str(), "s-9000000000");
    let config = env.config().initial_start_id(100).build().unwrap();
    assert_eq!(config.max_jump, 1_000_000);

    let summary = env
        .builder(config.clone())
        .build()
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert!(summary.all_final(), "{summary}");
    assert_eq!(
        summary.archived, 4,
        "the outlier is processed too: {summary}"
    );
    assert_eq!(summary.outliers, [9_000_000_000], "{summary}");
    assert!(
        summary.to_string().contains("9000000000"),
        "reported in the summary line: {summary}"
    );
    let store = env.open_store().await;
    assert_eq!(
        store.start_id(&env.company()).await.unwrap(),
        Some(103),
        "past the real sets, not past the outlier"
    );
    assert_eq!(
        env.record(store.as_ref(), &outlier).await.status,
        SetStatus::Done
    );
    drop(store);

    // A set that becomes ready after the outlier is still found.
    let late = env.add_sets(1).remove(0);
    assert_eq!(late.as_str(), "s-103");
    let summary = env
        .builder(config)
        .build()
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert_eq!((summary.seen, summary.archived), (1, 1), "{summary}");
    assert_eq!(summary.outliers, [9_000_000_000], "{summary}");
    let store = env.open_store().await;
    assert_eq!(store.start_id(&env.company()).await.unwrap(), Some(104));
    assert_eq!(
        env.record(store.as_ref(), &late).await.status,
        SetStatus::Done
    );
}
