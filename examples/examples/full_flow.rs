//! The whole HR flow: Beorg recognizes each employee's document set, and every set becomes a
//! Saby document that is signed, sent, tracked to a final state and archived locally.
//!
//! ```text
//! cargo run --example full_flow                 # both services in-process (sandboxes)
//! BEORG_TOKEN=… BEORG_PROJECT_ID=… SABY_LOGIN=… SABY_PASSWORD=… SABY_DOC_TYPE=… \
//!   SABY_OUR_ORG_INN=… SABY_OUR_ORG_NAME=… SABY_COUNTERPARTY_INN=… SABY_COUNTERPARTY_NAME=… \
//!   PIPELINE_STATE_PATH=/var/lib/hr-docs/state.db PIPELINE_ARCHIVE_DIR=/var/lib/hr-docs/archive \
//!   cargo run --example full_flow               # real services
//! ```
//!
//! Without credentials it starts both sandboxes — Beorg as a company (`project_id` 4821) with
//! two contours, `Кадры-Москва` and `Кадры-Казань`, whose set numbers interleave — uploads six
//! sets (passport + SNILS of six employees; they land on the contours in turn) and seeds a
//! seventh, in the middle, whose SNILS check number was misread. It runs the pipeline until
//! every set is settled: the six are sent, the seventh is **held for review** by the data
//! checks (not sent, not failed, not holding the later sets back) and reported with the
//! command that reviews it. It prints one line per set with its contour and a summary per
//! contour, then runs the pipeline a second time on the same state to show that nothing is
//! sent twice. The state file and the archive live in a temporary directory, removed at exit
//! unless a set is held (then the state is kept for `cargo run --example review`).
//!
//! The output names sets, contours, Saby document ids, document types and states — never a
//! recognized value or a file name made from one (`Паспорт_<surname>`).
//!
//! With `BEORG_TOKEN` and Saby credentials (`SABY_LOGIN`/`SABY_PASSWORD` or
//! `SABY_APP_CLIENT_ID`/`SABY_APP_SECRET`/`SABY_SECRET_KEY`) set, it processes the real
//! services' ready sets instead, with the configuration from `PIPELINE_*`/`SABY_*` variables
//! (docs/configuration.md); the state file makes re-runs and runs after a crash safe. Ctrl-C
//! stops it cleanly (sets in flight are checkpointed).
//!
//! Exit codes: 0 — every set known to the state file is settled: done, skipped, rejected, or
//! held for review (a person decides; the run prints how); 1 — a set failed or is still
//! pending (or, in the sandbox, the second run sent something again); 2 — a setup error.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use std::time::Duration;
use tokio::sync::watch;

use beorg_client::{DocumentType, ProcessInfo, SetId, UploadRequest};
use beorg_sandbox::{Sandbox as BeorgSandbox, SandboxConfig as BeorgConfig, SetSpec};
use hr_docs_pipeline::store::{SetRecord, SetStatus, StateStore};
use hr_docs_pipeline::{
    DocumentTemplate, Pipeline, PipelineConfig, Progress, ProgressKind, StopReason, Summary,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use saby_client::Party;
use saby_sandbox::{Sandbox as SabySandbox, SandboxConfig as SabyConfig};

/// Sets uploaded to the Beorg sandbox (they alternate between its two contours).
const SAMPLE_SETS: usize = 6;
/// Sets the sandbox run expects: the uploads and one seeded set with a misread SNILS.
const EXPECTED_SETS: usize = SAMPLE_SETS + 1;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the run talks to; the sandboxes live as long as this does.
struct Services {
    beorg: beorg_client::Client,
    saby: saby_client::Client,
    config: PipelineConfig,
    /// Directory to remove at exit (sandbox mode).
    scratch: Option<PathBuf>,
    _sandboxes: Option<(BeorgSandbox, SabySandbox)>,
}

fn real_services_configured() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("BEORG_TOKEN") && (set("SABY_LOGIN") || set("SABY_APP_CLIENT_ID"))
}

async fn real_services() -> Result<Services, BoxError> {
    Ok(Services {
        beorg: beorg_client::Client::from_env()?,
        saby: saby_client::Client::from_env()?,
        config: PipelineConfig::from_env()?,
        scratch: None,
        _sandboxes: None,
    })
}

async fn sandbox_services() -> Result<Services, BoxError> {
    let beorg_sandbox = BeorgSandbox::start(BeorgConfig::default().polls_until_ready(1)).await;
    let saby_sandbox = SabySandbox::start(SabyConfig::default()).await;
    let beorg = beorg_sandbox.client();

    // What an HR specialist does in BeScan: upload one set per employee. The sandbox company
    // (the client's project_id) has two contours; uploads go to them in turn. Halfway, one
    // set whose SNILS check number Beorg misread: the data checks hold it for review.
    for i in 0..SAMPLE_SETS {
        if i == SAMPLE_SETS / 2 {
            beorg_sandbox.add_set(SetSpec::new().bad_snils_check_number());
        }
        let request = UploadRequest::new()
            .image_with(sample_scan(), ProcessInfo::of_type(DocumentType::Passport))
            .image_with(sample_scan(), ProcessInfo::of_type(DocumentType::Snils));
        beorg.upload(request).await?;
    }

    let scratch = std::env::temp_dir().join(format!("hr-docs-full-flow-{}", std::process::id()));
    let template = DocumentTemplate::new(
        "ДокОтгрИсх",
        Party::legal_entity("7605016030", "760501001", "ООО «Ромашка»"),
        Party::legal_entity("7707083893", "773601001", "ПАО «Контрагент»"),
    );
    let config = PipelineConfig::builder(template)
        .state_path(scratch.join("state.db"))
        .archive_dir(scratch.join("archive"))
        .poll_interval(Duration::from_millis(50))
        .recheck_interval(Duration::from_secs(1))
        .final_state_deadline(Duration::from_secs(30))
        .run_deadline(Duration::from_secs(45))
        .concurrency(4)
        .build()?;
    Ok(Services {
        beorg,
        saby: saby_sandbox.client(),
        config,
        scratch: Some(scratch),
        _sandboxes: Some((beorg_sandbox, saby_sandbox)),
    })
}

/// A few bytes standing in for a scan (the sandbox does not read images).
fn sample_scan() -> Vec<u8> {
    vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F']
}

/// A progress bar on a terminal (hidden, with plain lines instead, when stdout is not one).
fn progress_bar(expected: u64) -> (ProgressBar, bool) {
    let tty = std::io::stdout().is_terminal();
    if !tty {
        return (
            ProgressBar::with_draw_target(Some(expected), ProgressDrawTarget::hidden()),
            false,
        );
    }
    let bar = ProgressBar::new(expected);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} sets settled  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    (bar, true)
}

/// Feeds one progress event to the bar (or prints it as a line).
fn show(bar: &ProgressBar, tty: bool, seen: &AtomicU64, event: &Progress) {
    if let ProgressKind::Seen | ProgressKind::Skipped { .. } = event.kind {
        let seen = seen.fetch_add(1, Ordering::Relaxed) + 1;
        if seen > bar.length().unwrap_or(0) {
            bar.set_length(seen);
        }
    }
    if event.is_terminal() {
        bar.inc(1);
    }
    let line = describe(event);
    if tty {
        bar.set_message(line);
    } else {
        println!("{line}");
    }
}

/// One line per event: set, contour, what happened (ids, types, states — no recognized values).
fn describe(event: &Progress) -> String {
    let set = format!(
        "{} [{}]",
        event.set_id,
        event.contour.as_deref().unwrap_or("no contour")
    );
    match &event.kind {
        ProgressKind::Seen => format!("{set}: ready at Beorg"),
        ProgressKind::Skipped { reason } => format!("{set}: skipped ({reason})"),
        ProgressKind::NotReady => format!("{set}: still being recognized"),
        ProgressKind::Fetched {
            document_types,
            attachments,
        } => {
            let types: Vec<&str> = document_types.iter().map(|t| t.as_str()).collect();
            format!(
                "{set}: fetched {} ({attachments} attachments)",
                types.join(", ")
            )
        }
        ProgressKind::Written { document_id } => {
            format!("{set}: written as Saby document {document_id}")
        }
        ProgressKind::Sent {
            already_sent: true, ..
        } => format!("{set}: already sent, not sent again"),
        ProgressKind::Sent { .. } => format!("{set}: signed and sent"),
        ProgressKind::Final { state, .. } => format!("{set}: final state {state}"),
        ProgressKind::Archived { files, .. } => format!("{set}: archived {files} files"),
        ProgressKind::Retrying {
            step,
            attempt,
            error,
        } => {
            format!("{set}: {step} will be retried (attempt {attempt}): {error}")
        }
        ProgressKind::Failed {
            step,
            failure,
            reason,
        } => format!("{set}: FAILED at {step} ({failure}): {reason}"),
        ProgressKind::Replayed => format!("{set}: replayed"),
        ProgressKind::Held { errors, checks, .. } => {
            let names: Vec<&str> = checks.iter().map(|c| c.as_str()).collect();
            format!(
                "{set}: HELD for review — {errors} error(s): {}",
                names.join(", ")
            )
        }
        ProgressKind::Decided { decision } => format!("{set}: review decision: {decision}"),
        _ => format!("{set}: {:?}", event.kind),
    }
}

/// Every set of the company, in order (paged: fine for any number of sets).
async fn all_records(store: &dyn StateStore, company: &str) -> Result<Vec<SetRecord>, BoxError> {
    let mut out = Vec::new();
    let mut after: Option<(u64, SetId)> = None;
    loop {
        let page = store
            .list(company, None, after.as_ref().map(|(n, id)| (*n, id)), 200)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.number, last.set_id.clone()));
        out.extend(page);
    }
    Ok(out)
}

fn print_report(records: &[SetRecord], summary: &Summary) {
    println!();
    println!(
        "{:<8} {:<14} {:<38} {:<11} outcome",
        "set", "contour", "Saby document", "attachments"
    );
    for r in records {
        let errors = r.findings.iter().filter(|f| f.is_error()).count();
        let outcome = match (&r.final_state, &r.failure, &r.skip) {
            _ if r.status == SetStatus::Held => format!(
                "HELD for review: {errors} error(s), {} warning(s)",
                r.findings.len() - errors
            ),
            _ if r.status == SetStatus::Rejected => "rejected in review".to_owned(),
            (_, Some(f), _) => format!("FAILED at {} ({}): {}", f.step, f.kind, f.reason),
            (_, _, Some(reason)) => format!("skipped ({reason})"),
            (Some(state), None, None) => format!("final: {state}"),
            (None, None, None) => format!("pending after {} ({} attempts)", r.step, r.attempts),
        };
        println!(
            "{:<8} {:<14} {:<38} {:<11} {outcome}",
            r.set_id.as_str(),
            r.contour.as_deref().unwrap_or("-"),
            r.document_id.as_deref().unwrap_or("-"),
            r.attachment_ids.len()
        );
    }
    println!();
    println!("summary: {summary}");
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        count_files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn run() -> Result<bool, BoxError> {
    let services = if real_services_configured() {
        println!("Running against the services configured in BEORG_* / SABY_* variables.");
        real_services().await?
    } else {
        println!("No BEORG_TOKEN / Saby credentials: running against in-process sandboxes.");
        sandbox_services().await?
    };
    let sandbox_mode = services.scratch.is_some();
    let archive_dir = services.config.archive_dir.clone();
    let state_path = services.config.state_path.clone();
    println!(
        "state file: {}\narchive:    {}",
        services.config.state_path.display(),
        archive_dir.display()
    );

    let expected = if sandbox_mode {
        EXPECTED_SETS as u64
    } else {
        0
    };
    let (bar, tty) = progress_bar(expected);
    let seen = Arc::new(AtomicU64::new(0));
    let settled = Arc::new(AtomicU64::new(0));
    // The stop signal: Ctrl-C, the sandbox's "everything settled", or its watchdog.
    let (cancel, mut stop) = watch::channel(false);
    let cancel = Arc::new(cancel);
    let pipeline = Pipeline::builder(services.config, services.beorg, services.saby)
        .on_progress({
            let (bar, seen, settled, cancel) =
                (bar.clone(), seen.clone(), settled.clone(), cancel.clone());
            move |event| {
                show(&bar, tty, &seen, event);
                // In the sandbox we know what was uploaded: stop once all of it is settled.
                if event.is_terminal()
                    && settled.fetch_add(1, Ordering::Relaxed) + 1 >= expected
                    && expected > 0
                {
                    cancel.send_replace(true);
                }
            }
        })
        .build()?;

    let on_ctrl_c = cancel.clone();
    let cancel_requested = Arc::new(AtomicBool::new(false));
    let ctrl_c_seen = Arc::clone(&cancel_requested);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c_seen.store(true, Ordering::Relaxed);
            eprintln!("Ctrl-C: finishing the steps in flight, then stopping…");
            on_ctrl_c.send_replace(true);
        }
    });

    // Completes once the stop signal is given (or its senders are gone).
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    let summary = if sandbox_mode {
        // Uploaded sets become ready after a moment: poll until they are all settled (the
        // progress callback gives the stop signal), or give up after 45 s.
        let stop = Arc::clone(&cancel);
        let watchdog = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(45)).await;
            stop.send_replace(true);
        });
        let summary = pipeline.run_until(stopped).await?;
        watchdog.abort();
        summary
    } else {
        // Real services: drain what Beorg has ready now (PIPELINE_RUN_DEADLINE bounds it).
        pipeline.run_once_until(stopped).await?
    };
    bar.finish_and_clear();
    let records = all_records(pipeline.store().as_ref(), pipeline.company()).await?;
    print_report(&records, &summary);
    if sandbox_mode
        && summary.stop == StopReason::Cancelled
        && !cancel_requested.load(Ordering::Relaxed)
    {
        println!("(the run was stopped once every uploaded set was settled)");
    }
    println!(
        "archive holds {} files (in {}/<company>/<set>/)",
        count_files(&archive_dir),
        archive_dir.display()
    );
    // Every set known to the state file is settled — done, skipped, rejected or held for
    // review (and, in the sandbox, every uploaded one, on one of the company's two contours).
    let mut ok = summary.all_settled()
        && (!sandbox_mode
            || (records.len() == EXPECTED_SETS && records.iter().all(|r| r.contour.is_some())));
    let held: Vec<&SetRecord> = records
        .iter()
        .filter(|r| r.status == SetStatus::Held)
        .collect();
    if !held.is_empty() {
        print_review_hint(&held, &state_path, pipeline.company(), sandbox_mode);
    }

    if sandbox_mode && ok {
        // Same services, same state file: a second run must send nothing.
        let again = pipeline.run_once().await?;
        println!("second run on the same state: {again}");
        if again.sent != 0 || again.written != 0 {
            eprintln!("error: the second run wrote or sent documents again");
            ok = false;
        }
    }
    drop(pipeline);
    if let Some(dir) = services.scratch {
        if held.is_empty() {
            let _ = std::fs::remove_dir_all(dir);
        } else {
            println!(
                "the state directory {} is kept for the review tool; remove it when done",
                dir.display()
            );
        }
    }
    Ok(ok)
}

/// The held sets, with their errors (check names, documents and fields — no values), and
/// the commands that review them.
fn print_review_hint(held: &[&SetRecord], state_path: &Path, company: &str, sandbox: bool) {
    println!();
    for r in held {
        let errors: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.is_error())
            .map(|f| match (&f.document_key, &f.field) {
                (Some(k), Some(field)) => format!("{} on {k}/{field}", f.check),
                (Some(k), None) => format!("{} on {k}", f.check),
                _ => f.check.to_string(),
            })
            .collect();
        println!(
            "{} [{}] is held for review: {}",
            r.set_id,
            r.contour.as_deref().unwrap_or("no contour"),
            errors.join("; ")
        );
    }
    let first = held[0].set_id.as_str();
    let env = format!(
        "PIPELINE_STATE_PATH={} BEORG_PROJECT_ID={company}",
        state_path.display()
    );
    println!("review it with:");
    println!("  {env} cargo run --example review -- list");
    if sandbox {
        println!(
            "  {env} cargo run --example review -- approve {first} | reject {first} --reason … | refetch {first}"
        );
        println!(
            "  (`review -- show {first}` prints the recognized fields from Beorg: with real services; \
             the Beorg sandbox stops with this run)"
        );
    } else {
        println!("  {env} cargo run --example review -- show {first}");
        println!(
            "  then: review -- approve {first} [--without <document key>] | reject {first} --reason … | refetch {first}"
        );
    }
    println!("  (held sets do not block the others; a decision takes effect on the next run)");
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("not every set is settled: a set failed or is still pending");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::from(2)
        }
    }
}
