//! The embedded state store: updates per second, and whether one update costs more when
//! more sets are already stored.
//!
//! For each pre-fill size (`--prefill` 10,000 and `--prefill-large` 100,000 sets, recorded
//! through `insert_new` in batches of 1,000, as the pipeline does after a Beorg poll), the
//! store is opened fresh in a temporary directory and `--updates` `save` calls are timed,
//! each advancing one set chosen at random among those stored (the pipeline's per-step
//! write), one after the other as one set's steps are — each through the store's async
//! call, i.e. a hop to the blocking pool and back. Done for `synchronous=FULL` (the default:
//! one fsync per step) and `NORMAL`. Target: time per update at 100k / at 10k ≤ 1.2.
//!
//! Usage: `bench-store [--updates 20000] [--prefill 10000] [--prefill-large 100000]`.

use std::time::{Duration, Instant};

use beorg_client::SetId;
use hr_docs_benches::Result;
use hr_docs_benches::args::Args;
use hr_docs_benches::report::{Row, Target};
use hr_docs_pipeline::store::{SetRecord, SqliteStore, StateStore, Step, Synchronous};

/// The Beorg company (the `project_id`) whose sets are stored.
const COMPANY: &str = "4821";

/// Deterministic xorshift, enough to spread updates over the stored sets.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Which stored sets the timed updates advance.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// A random set among the newest `n` stored (the pipeline's in-flight window).
    Window(u64),
    /// A random set among all stored.
    Uniform,
}

/// Seconds per update over `updates` saves in a store pre-filled with `stored` sets.
async fn time_updates(
    sync: Synchronous,
    stored: u64,
    updates: u64,
    pattern: Pattern,
) -> Result<Duration> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open_with(dir.path().join("state.db"), sync)?;
    store.init_company(COMPANY, 1).await?;
    let mut number = 1u64;
    while number <= stored {
        let batch: Vec<SetRecord> = (number..(number + 1000).min(stored + 1))
            .map(|n| SetRecord::seen(COMPANY, SetId::from_number(n)))
            .collect();
        number += batch.len() as u64;
        store.insert_new(&batch).await?;
    }
    let steps = [
        Step::Fetched,
        Step::Written,
        Step::Sent,
        Step::Final,
        Step::Archived,
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Records as the pipeline holds them: read once, then saved at each step.
    let mut records: Vec<SetRecord> = Vec::new();
    for _ in 0..updates.min(5000) {
        let n = match pattern {
            Pattern::Window(window) => stored - rng.below(window.min(stored)),
            Pattern::Uniform => rng.below(stored) + 1,
        };
        let record = store
            .get(COMPANY, &SetId::from_number(n))
            .await?
            .ok_or_else(|| format!("set s-{n} missing"))?;
        records.push(record);
    }
    let started = Instant::now();
    for i in 0..updates {
        let mut record = records[(i % records.len() as u64) as usize].clone();
        record.document_id = Some(format!("6f1c1b1e-0000-4000-8000-{:012x}", record.number));
        record.attachment_ids = vec![
            "0d5e0f5c-3f7e-5a4e-9c55-6a1f3e7c2b11".into(),
            "7b2d9c1a-8e4f-5b3a-a1c2-4d5e6f708192".into(),
        ];
        record.advance(steps[(i % steps.len() as u64) as usize]);
        store.save(&record).await?;
    }
    Ok(started.elapsed() / u32::try_from(updates)?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::from_env()?;
    let updates: u64 = args.get("updates", 20_000)?;
    let small: u64 = args.get("prefill", 10_000)?;
    let large: u64 = args.get("prefill-large", 100_000)?;
    let window: u64 = args.get("window", 1_000)?;
    for (sync, name) in [
        (Synchronous::Full, "FULL (default)"),
        (Synchronous::Normal, "NORMAL"),
    ] {
        for (pattern, label, target) in [
            (
                Pattern::Window(window),
                format!("newest {window} sets"),
                Target::AtMost(1.2),
            ),
            (
                Pattern::Uniform,
                "any set (worst case)".to_owned(),
                Target::None,
            ),
        ] {
            let at_small = time_updates(sync, small, updates, pattern).await?;
            let at_large = time_updates(sync, large, updates, pattern).await?;
            for (stored, per) in [(small, at_small), (large, at_large)] {
                Row::info(
                    format!(
                        "state store, synchronous={name}, updating {label}, {stored} sets stored: updates/s"
                    ),
                    format!(
                        "{:.0} updates/s ({:.1} µs each)",
                        1.0 / per.as_secs_f64(),
                        per.as_secs_f64() * 1e6
                    ),
                    format!("{updates} updates"),
                )
                .print();
            }
            Row::new(
                format!(
                    "state store, synchronous={name}, updating {label}: cost of one update, {large} vs {small} stored"
                ),
                format!("{:.1} µs", at_large.as_secs_f64() * 1e6),
                format!("{:.1} µs", at_small.as_secs_f64() * 1e6),
                at_large.as_secs_f64() / at_small.as_secs_f64(),
                target,
            )
            .print();
        }
    }
    Ok(())
}
