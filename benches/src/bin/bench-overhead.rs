//! Client overhead, interleaved: the typed `beorg-client` / `saby-client` calls against the
//! `reqwest` + `serde_json::Value` baselines, measured in alternating batches so that both
//! sides see the same machine.
//!
//! Criterion (`benches/client_overhead.rs`) times a typed bench and its baseline one after the
//! other; on a shared 2-core machine a build starting in between skews the pair (ratios moved by
//! up to ±0.5 between two runs of the same code). Here each round runs one batch of typed calls
//! and one batch of baseline calls back to back (order alternating between rounds: AB, BA, …),
//! so slow drifts of the machine hit both sides alike. For each call and concurrency the row
//! gives the median time per call of each side over all rounds and their ratio (target ≤ 1.05);
//! the spread of the per-round ratios goes to stderr.
//!
//! Usage: `bench-overhead [--rounds 40] [--batch-ms 40] [--warmup-ms 300] [--concurrency 1,32]
//! [--calls beorg_ready,beorg_result,saby_write,saby_changes]`.

use std::time::{Duration, Instant};

use hr_docs_benches::Result;
use hr_docs_benches::args::Args;
use hr_docs_benches::overhead::{Call, Fixture, Side};
use hr_docs_benches::report::{Interleaved, Row, Target, format_us};

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
        iters += 1;
    }
    let per_iteration = started.elapsed().as_secs_f64() / (2.0 * f64::from(iters.max(1)));
    Ok(((batch.as_secs_f64() / per_iteration).round() as u32).max(1))
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
                let mut rounds_seen = Interleaved::default();
                for round in 0..rounds {
                    let (t, b) = if round % 2 == 0 {
                        let t = batch(&f, call, Side::Typed, n, iters).await?;
                        (t, batch(&f, call, Side::Baseline, n, iters).await?)
                    } else {
                        let b = batch(&f, call, Side::Baseline, n, iters).await?;
                        (batch(&f, call, Side::Typed, n, iters).await?, b)
                    };
                    rounds_seen.push(t, b);
                }
                let sum = rounds_seen.summary().ok_or("--rounds must be at least 1")?;
                eprintln!(
                    "{} c={n}: {rounds} rounds x {iters} iterations per side; per-round ratio \
                     p10 {:.3}, median {:.3}, p90 {:.3}",
                    call.label(),
                    sum.p10,
                    sum.p50,
                    sum.p90,
                );
                Row::new(
                    format!("{}, c={n}: time per call", call.label()),
                    format_us(sum.ours),
                    format!("{} (reqwest+Value)", format_us(sum.baseline)),
                    sum.ours / sum.baseline,
                    Target::AtMost(1.05),
                )
                .print();
            }
        }
        let requests = f.server.stats().total_requests();
        eprintln!("bench-overhead: {requests} requests served");
        Ok(())
    })
}
