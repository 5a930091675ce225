//! A first run against a company with a year's backlog (issue 11): `--large` (100,000) ready
//! sets at once, against `--small` (10,000).
//!
//! The Beorg sandbox (in this, the parent process) holds the sets (`add_ready_sets`); the
//! pipeline runs alone in a child process (`bench-backlog child`), with its state file and
//! archive under `--dir`, both sandboxes answering after `--latency-ms` (20 ms). The child
//! runs until every set is recorded and at least one was sent, then stops, and prints
//! `BACKLOG <baseline KiB> <peak KiB> <first recorded ms> <first sent ms> <all recorded ms>`.
//!
//! Rows:
//! - time from the run's start to the first send, `--large` sets (target ≤ 2 s: sets move
//!   within seconds of the first answer, not after the whole answer is recorded);
//! - recording time per set (from the first set recorded to the last), large vs small
//!   (target ≤ 1.5: O(sets));
//! - peak RSS growth per extra set, large vs small (target ≤ 256 B: about twice what the
//!   ids themselves take — see the row's text).
//!
//! Usage: `bench-backlog [--small 10000] [--large 100000] [--latency-ms 20] [--concurrency 8]
//! [--dir DIR]`.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use beorg_sandbox::{Sandbox as BeorgSandbox, SandboxConfig as BeorgConfig};
use hr_docs_benches::Result;
use hr_docs_benches::args::Args;
use hr_docs_benches::flow::{self, FlowOptions};
use hr_docs_benches::report::{Row, Target};
use hr_docs_benches::rss::{self, Memory};
use hr_docs_pipeline::ProgressKind;
use saby_sandbox::{Sandbox as SabySandbox, SandboxConfig as SabyConfig};

/// What the child measured.
#[derive(Debug, Clone, Copy)]
struct Backlog {
    baseline_kib: u64,
    peak_kib: u64,
    first_recorded_ms: u64,
    first_sent_ms: u64,
    all_recorded_ms: u64,
}

const UNSET: u64 = u64::MAX;

/// Whether `BENCH_RSS_TRACE` is set: the child then prints its RSS and high-water mark at
/// the first and the last recorded set and every 100 ms (stderr, kept in the logs).
fn tracing_rss() -> bool {
    std::env::var_os("BENCH_RSS_TRACE").is_some()
}

/// Prints the child's RSS and high-water mark after `label` when tracing.
fn trace(label: &str) {
    if tracing_rss()
        && let Ok(m) = Memory::read()
    {
        eprintln!("{label}: rss {} KiB, hwm {} KiB", m.rss_kib, m.hwm_kib);
    }
}

/// The child: the pipeline over the parent's sandboxes until `sets` are recorded and one is
/// sent.
async fn child(sets: u64, concurrency: usize) -> Result<Backlog> {
    let before = Memory::read()?;
    let (beorg, saby) = flow::child::clients(concurrency)?;
    let dir = flow::child::work_dir()?;
    let options = FlowOptions {
        concurrency,
        max_in_flight: 256,
        poll_interval: Duration::from_millis(100),
    };
    let started = Instant::now();
    let first_recorded = Arc::new(AtomicU64::new(UNSET));
    let first_sent = Arc::new(AtomicU64::new(UNSET));
    let all_recorded = Arc::new(AtomicU64::new(UNSET));
    let recorded = Arc::new(AtomicU64::new(0));
    let done = Arc::new(tokio::sync::Notify::new());
    let pipeline = {
        let (first_recorded, first_sent, all_recorded, recorded, done) = (
            Arc::clone(&first_recorded),
            Arc::clone(&first_sent),
            Arc::clone(&all_recorded),
            Arc::clone(&recorded),
            Arc::clone(&done),
        );
        let ms = move || u64::try_from(started.elapsed().as_millis()).unwrap_or(UNSET - 1);
        flow::pipeline_with(beorg, saby, dir.path(), options, move |p| {
            match p.kind {
                ProgressKind::Seen => {
                    if first_recorded.load(Ordering::SeqCst) == UNSET {
                        trace("first set recorded");
                    }
                    let _ = first_recorded.compare_exchange(
                        UNSET,
                        ms(),
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    if recorded.fetch_add(1, Ordering::SeqCst) + 1 == sets {
                        trace("every set recorded");
                        all_recorded.store(ms(), Ordering::SeqCst);
                    }
                }
                ProgressKind::Sent { .. } => {
                    let _ = first_sent.compare_exchange(
                        UNSET,
                        ms(),
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                }
                _ => return,
            }
            if all_recorded.load(Ordering::SeqCst) != UNSET
                && first_sent.load(Ordering::SeqCst) != UNSET
            {
                done.notify_one();
            }
        })?
    };
    let stop = {
        let done = Arc::clone(&done);
        async move { done.notified().await }
    };
    let tracer = tracing_rss().then(|| {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                trace(&format!("t={} ms", started.elapsed().as_millis()));
            }
        })
    });
    let summary = pipeline.run_until(stop).await?;
    if let Some(t) = tracer {
        t.abort();
    }
    eprintln!("backlog child ({sets} sets): {summary}");
    let after = Memory::read()?;
    let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
    if get(&all_recorded) == UNSET || get(&first_sent) == UNSET {
        return Err(format!(
            "the run stopped before every set was recorded and one sent: {summary}"
        )
        .into());
    }
    Ok(Backlog {
        baseline_kib: before.rss_kib,
        peak_kib: after.hwm_kib,
        first_recorded_ms: get(&first_recorded),
        first_sent_ms: get(&first_sent),
        all_recorded_ms: get(&all_recorded),
    })
}

/// Seeds `sets` ready sets and runs the child against them.
fn measure(
    rt: &tokio::runtime::Runtime,
    sets: u64,
    latency: Duration,
    concurrency: usize,
    work_dir: &str,
) -> Result<Backlog> {
    rt.block_on(async {
        let seeding = Instant::now();
        let beorg = BeorgSandbox::start(BeorgConfig::default().latency(latency)).await;
        let saby = SabySandbox::start(SabyConfig::default().latency(latency)).await;
        beorg.add_ready_sets(sets);
        eprintln!("bench-backlog: {sets} sets seeded in {:.1?}", seeding.elapsed());
        let envs = flow::child::envs(&beorg, &saby, work_dir);
        let args = vec![
            "child".to_owned(),
            "--sets".to_owned(),
            sets.to_string(),
            "--concurrency".to_owned(),
            concurrency.to_string(),
        ];
        let measured = tokio::task::spawn_blocking(move || run_child(&args, &envs)).await??;
        eprintln!(
            "bench-backlog: {sets} sets: first recorded at {} ms, first sent at {} ms, all recorded at {} ms; peak RSS {:.1} MiB (baseline {:.1} MiB); beorg served {} ready, {} result",
            measured.first_recorded_ms,
            measured.first_sent_ms,
            measured.all_recorded_ms,
            rss::kib_to_mib(measured.peak_kib),
            rss::kib_to_mib(measured.baseline_kib),
            beorg.ready_requests(),
            beorg.result_requests(),
        );
        Ok(measured)
    })
}

fn run_child(args: &[String], envs: &[(String, String)]) -> Result<Backlog> {
    let output = flow::child::command()?
        .args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("child failed ({}): {stdout}", output.status).into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BACKLOG "))
        .ok_or("child printed no BACKLOG line")?;
    let n: Vec<u64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()?;
    match n.as_slice() {
        [
            baseline_kib,
            peak_kib,
            first_recorded_ms,
            first_sent_ms,
            all_recorded_ms,
        ] => Ok(Backlog {
            baseline_kib: *baseline_kib,
            peak_kib: *peak_kib,
            first_recorded_ms: *first_recorded_ms,
            first_sent_ms: *first_sent_ms,
            all_recorded_ms: *all_recorded_ms,
        }),
        _ => Err(format!("bad BACKLOG line: {line}").into()),
    }
}

fn main() -> Result<()> {
    let args = Args::from_env()?;
    if args.positional(0) == Some("child") {
        let b = flow::child::runtime()?.block_on(child(
            args.get("sets", 10_000u64)?,
            args.get("concurrency", 8usize)?,
        ))?;
        println!(
            "BACKLOG {} {} {} {} {}",
            b.baseline_kib, b.peak_kib, b.first_recorded_ms, b.first_sent_ms, b.all_recorded_ms
        );
        return Ok(());
    }
    let small: u64 = args.get("small", 10_000)?;
    let large: u64 = args.get("large", 100_000)?;
    let latency = Duration::from_millis(args.get("latency-ms", 20)?);
    let concurrency: usize = args.get("concurrency", 8)?;
    let work_dir: String = args.get("dir", String::new())?;
    let rt = flow::child::runtime()?;
    let s = measure(&rt, small, latency, concurrency, &work_dir)?;
    let l = measure(&rt, large, latency, concurrency, &work_dir)?;

    let first_send = l.first_sent_ms as f64 / 1000.0;
    Row::new(
        format!("first run, {large} ready sets: time from start to the first send"),
        format!(
            "{first_send:.2} s (first set recorded {:.2} s, all recorded {:.1} s)",
            l.first_recorded_ms as f64 / 1000.0,
            l.all_recorded_ms as f64 / 1000.0
        ),
        format!(
            "2 s ({small} sets: {:.2} s)",
            s.first_sent_ms as f64 / 1000.0
        ),
        first_send / 2.0,
        Target::AtMost(1.0),
    )
    .print();

    // From the first set recorded to the last: the run's start (runtime, state file, the
    // first answer) is the same whatever the backlog, and would flatter the larger one.
    let per_set = |b: &Backlog, n: u64| {
        b.all_recorded_ms.saturating_sub(b.first_recorded_ms) as f64 * 1000.0 / n as f64
    };
    let (ps, pl) = (per_set(&s, small), per_set(&l, large));
    Row::new(
        format!("first run: recording time per set, {large} vs {small} ready sets"),
        format!("{pl:.1} µs/set"),
        format!("{ps:.1} µs/set"),
        pl / ps,
        Target::AtMost(1.5),
    )
    .print();

    let growth = (l.peak_kib as f64 - s.peak_kib as f64) * 1024.0 / (large - small) as f64;
    Row::new(
        format!("first run: peak RSS growth per extra ready set, {large} vs {small}"),
        format!(
            "{growth:.0} B/set ({:.1} vs {:.1} MiB)",
            rss::kib_to_mib(l.peak_kib),
            rss::kib_to_mib(s.peak_kib)
        ),
        "256 B/set (2 × an id held in memory)".to_owned(),
        growth / 256.0,
        Target::AtMost(1.0),
    )
    .print();
    Ok(())
}
