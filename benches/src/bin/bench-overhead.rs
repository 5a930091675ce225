//! Client overhead, interleaved: the typed `beorg-client` / `saby-client` calls against the
//! `reqwest` + `serde_json::Value` baselines, measured in alternating batches so that both
//! sides see the same machine.
//!
//! Criterion (`benches/client_overhead.rs`) times a typed bench and its baseline one after the
//! other; on a shared 2-core machine a build starting in between skews the pair (ratios moved by
//! up to ±0.5 between two runs of the same code). Here each round runs one batch of typed calls
//! and one batch of baseline calls back to back (order alternating between rounds: AB, BA, …),
//! so slow drifts of the machine hit both sides alike. Each round in fact runs three batches —
//! typed, the careful baseline (each request under the typed clients' default per-attempt
//! timeout, as a careful hand-written client does) and the bare baseline (no timeout) — in a
//! rotating order. For each call and concurrency the first row gives the median time per call
//! of the typed side and of the careful baseline over all rounds and their ratio (target ≤ 1.05);
//! the second row the ratio against the bare baseline (informational). The spread of the
//! per-round ratios goes to stderr.
//!
//! Usage: `bench-overhead [--rounds 40] [--batch-ms 40] [--warmup-ms 300] [--concurrency 1,32]
//! [--calls beorg_ready,beorg_result,saby_write,saby_changes]`.

use std::time::{Duration, Instant};

use hr_docs_benches::Result;
use hr_docs_benches::args::Args;
use hr_docs_benches::overhead::{BASELINE_TIMEOUT, Call, Fixture, Side};
use hr_docs_benches::report::{Interleaved, Row, Target, format_us};

/// The fewest iterations of a call per batch.
const MIN_ITERATIONS: u32 = 4;

/// Seconds per call of `iters` iterations of `n` concurrent calls.
async fn batch(f: &Fixture, call: Call, side: Side, n: usize, iters: u32) -> Result<f64> {
    let started = Instant::now();
    for _ in 0..iters {
        f.run(call, side, n).await?;
    }
    Ok(started.elapsed().as_secs_f64() / (f64::from(iters) * n as f64))
}

/// Runs both sides for `warmup` and returns how many iterations fill `batch`.
async fn calibrate(
    f: &Fixture,
    call: Call,
    n: usize,
    warmup: Duration,
    batch: Duration,
) -> Result<u32> {
    let started = Instant::now();
    let mut iters = 0u32;
    while started.elapsed() < warmup {
        f.run(call, Side::Typed, n).await?;
        f.run(call, Side::Baseline, n).await?;
        f.run(call, Side::Bare, n).await?;
        iters += 1;
    }
    let per_iteration = started.elapsed().as_secs_f64() / (3.0 * f64::from(iters.max(1)));
    // At least MIN_ITERATIONS: a batch of one iteration of a slow call (32 concurrent
    // СписокИзменений take ~60 ms) is one sample of the scheduler, and its ratios spread
    // 0.85–1.45 round to round.
    Ok(((batch.as_secs_f64() / per_iteration).round() as u32).max(MIN_ITERATIONS))
}

fn main() -> Result<()> {
    let args = Args::from_env()?;
    let rounds: usize = args.get("rounds", 40)?;
    let batch_ms: u64 = args.get("batch-ms", 40)?;
    let warmup_ms: u64 = args.get("warmup-ms", 300)?;
    let levels: Vec<usize> = args.list("concurrency", &[1, 32])?;
    let all: Vec<String> = Call::ALL.iter().map(|c| c.group().to_owned()).collect();
    let wanted: Vec<String> = args.list("calls", &all)?;
    if let Some(unknown) = wanted.iter().find(|w| !all.contains(w)) {
        return Err(format!("--calls: unknown call {unknown} (known: {})", all.join(",")).into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let f = Fixture::start().await?;
        for call in Call::ALL
            .into_iter()
            .filter(|c| wanted.iter().any(|w| w == c.group()))
        {
            for &n in &levels {
                let iters = calibrate(
                    &f,
                    call,
                    n,
                    Duration::from_millis(warmup_ms),
                    Duration::from_millis(batch_ms),
                )
                .await?;
                let mut careful = Interleaved::default();
                let mut bare = Interleaved::default();
                for round in 0..rounds {
                    // Rotating order: T C B, C B T, B T C, …
                    let mut order = [Side::Typed, Side::Baseline, Side::Bare];
                    order.rotate_left(round % 3);
                    let (mut t, mut c, mut b) = (0.0, 0.0, 0.0);
                    for side in order {
                        let per_call = batch(&f, call, side, n, iters).await?;
                        match side {
                            Side::Typed => t = per_call,
                            Side::Baseline => c = per_call,
                            Side::Bare => b = per_call,
                        }
                    }
                    careful.push(t, c);
                    bare.push(t, b);
                }
                let sum = careful.summary().ok_or("--rounds must be at least 1")?;
                let sum_bare = bare.summary().ok_or("--rounds must be at least 1")?;
                eprintln!(
                    "{} c={n}: {rounds} rounds x {iters} iterations per side; per-round ratio \
                     to the careful baseline p10 {:.3}, median {:.3}, p90 {:.3}; to the bare one \
                     p10 {:.3}, median {:.3}, p90 {:.3}",
                    call.label(),
                    sum.p10,
                    sum.p50,
                    sum.p90,
                    sum_bare.p10,
                    sum_bare.p50,
                    sum_bare.p90,
                );
                Row::new(
                    format!("{}, c={n}: time per call", call.label()),
                    format_us(sum.ours),
                    format!(
                        "{} (reqwest+Value, {} s timeout)",
                        format_us(sum.baseline),
                        BASELINE_TIMEOUT.as_secs()
                    ),
                    sum.ours / sum.baseline,
                    Target::AtMost(1.05),
                )
                .print();
                Row::new(
                    format!(
                        "{}, c={n}: time per call vs the bare baseline",
                        call.label()
                    ),
                    format_us(sum_bare.ours),
                    format!(
                        "{} (reqwest+Value, no timeout)",
                        format_us(sum_bare.baseline)
                    ),
                    sum_bare.ours / sum_bare.baseline,
                    Target::None,
                )
                .print();
            }
        }
        let requests = f.server.stats().total_requests();
        eprintln!("bench-overhead: {requests} requests served");
        Ok(())
    })
}
