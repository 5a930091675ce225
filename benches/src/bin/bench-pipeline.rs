//! Pipeline throughput against its limit.
//!
//! Both sandboxes answer every request after a fixed `--latency-ms` (20 ms). With `C` API
//! steps at once (`PipelineConfig::concurrency`) and `k` requests per set, the best
//! possible throughput is `C / (k × latency)`. `k` is counted, not assumed: every request
//! both sandboxes received during the run (Beorg ready and result polls, Saby logins,
//! JSON-RPC calls including the event feed, file downloads) divided by the number of sets.
//! Target: achieved / possible ≥ 0.9 at every C.
//!
//! Usage: `bench-pipeline [--sets 1000] [--sets-c1 200] [--sets-c32 N] [--latency-ms 20]
//! [--concurrency 1,8,32] [--poll-ms 100] [--max-in-flight 256] [--dir DIR]`.
//! `--dir` is where the state file and the archive go (default: the system temp dir).
//! `--sets-c1` is the set count at C = 1 (1,000 sets there take ~3 minutes alone),
//! `--sets-c32` at C ≥ 32 (default: `--sets`), `--sets` at every other C; `scripts/bench`
//! passes `--sets 1000 --sets-c1 100 --sets-c32 4000`. Throughput is a steady rate: each run
//! also has a fixed start (login, the first polls) and drain (the last sets' chain of
//! requests, the last feed poll), a few hundred milliseconds that weigh 1–2 % in a 16 s run
//! but 4–8 % in the 4.4 s that 1,000 sets take at C = 32; 4,000 sets there run about as long
//! as 1,000 at C = 8 (`docs/performance.md`, section 2, has both).

use std::time::{Duration, Instant};

use hr_docs_benches::args::Args;
use hr_docs_benches::flow::{self, FlowOptions, Sandboxes};
use hr_docs_benches::report::{Row, Target};
use hr_docs_benches::rss;
use hr_docs_benches::{Result, http_client};

struct Run {
    sets: usize,
    concurrency: usize,
    elapsed: Duration,
    requests: u64,
    per_set_requests: u64,
}

async fn run(
    sets: usize,
    latency: Duration,
    options: FlowOptions,
    work_dir: Option<&str>,
) -> Result<Run> {
    let sandboxes = Sandboxes::start(latency, sets).await;
    let dir = match work_dir {
        Some(parent) => tempfile::tempdir_in(parent)?,
        None => tempfile::tempdir()?,
    };
    let http = http_client()?;
    let beorg = sandboxes
        .beorg
        .client_builder()
        .http_client(http.clone())
        .build()?;
    let saby = sandboxes
        .saby
        .client_builder()
        .http_client(http)
        .max_in_flight(options.concurrency)
        .build()?;
    let pipeline = flow::pipeline(beorg, saby, dir.path(), options)?;
    let before = sandboxes.requests();
    let per_set_before = sandboxes.per_set_requests();
    let cpu_before = rss::cpu_time()?;
    let started = Instant::now();
    let summary = pipeline.run_once().await?;
    let elapsed = started.elapsed();
    let cpu = rss::cpu_time()?.saturating_sub(cpu_before);
    eprintln!(
        "C={}: CPU (pipeline + sandboxes) {:.1?} = {:.0} % of one core, {:.1} ms/set",
        options.concurrency,
        cpu,
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / sets as f64
    );
    let requests = sandboxes.requests() - before;
    let per_set_requests = sandboxes.per_set_requests() - per_set_before;
    eprintln!("C={}: {summary}", options.concurrency);
    eprintln!("C={}: {}", options.concurrency, sandboxes.breakdown());
    if !summary.all_final() || summary.archived != sets as u64 {
        return Err(format!(
            "C={}: not every set reached the end: {summary}",
            options.concurrency
        )
        .into());
    }
    let teardown = Instant::now();
    drop(pipeline);
    let t1 = teardown.elapsed();
    drop(dir);
    let t2 = teardown.elapsed();
    drop(sandboxes);
    eprintln!(
        "C={}: teardown {:.1?} (pipeline {t1:.1?}, files {:.1?})",
        options.concurrency,
        teardown.elapsed(),
        t2 - t1
    );
    Ok(Run {
        sets,
        concurrency: options.concurrency,
        elapsed,
        requests,
        per_set_requests,
    })
}

/// Mean wall time of one request to a sandbox with `latency` (sequential Beorg `ready` and
/// Saby `ПрочитатьДокумент`-free calls): how far above the nominal latency one request is.
async fn probe(latency: Duration) -> Result<(Duration, Duration)> {
    let sandboxes = Sandboxes::start(latency, 0).await;
    let http = http_client()?;
    let beorg = sandboxes
        .beorg
        .client_builder()
        .http_client(http.clone())
        .build()?;
    let saby = sandboxes.saby.client_builder().http_client(http).build()?;
    beorg.ready(1).await?;
    let _: serde_json::Value = saby
        .call(
            "СБИС.СписокНашихОрганизаций",
            &serde_json::json!({"Фильтр": {}}),
        )
        .await?;
    let n = 25u32;
    let started = Instant::now();
    for _ in 0..n {
        beorg.ready(1).await?;
    }
    let beorg_mean = started.elapsed() / n;
    let started = Instant::now();
    for _ in 0..n {
        let _: serde_json::Value = saby
            .call(
                "СБИС.СписокНашихОрганизаций",
                &serde_json::json!({"Фильтр": {}}),
            )
            .await?;
    }
    Ok((beorg_mean, started.elapsed() / n))
}

fn main() -> Result<()> {
    let args = Args::from_env()?;
    let sets: usize = args.get("sets", 1000)?;
    let sets_c1: usize = args.get("sets-c1", 200)?;
    let sets_c32: usize = args.get("sets-c32", sets)?;
    let latency = Duration::from_millis(args.get("latency-ms", 20)?);
    let poll_interval = Duration::from_millis(args.get("poll-ms", 100)?);
    let max_in_flight: usize = args.get("max-in-flight", 256)?;
    let levels: Vec<usize> = args.list("concurrency", &[1, 8, 32])?;
    let work_dir: Option<String> = args
        .get("dir", String::new())
        .map(|d| Some(d).filter(|d| !d.is_empty()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (beorg_rtt, saby_rtt) = rt.block_on(probe(latency))?;
    Row::info(
        format!(
            "one request to a sandbox with {} ms latency (sequential)",
            latency.as_millis()
        ),
        format!(
            "Beorg {:.1} ms, Saby {:.1} ms",
            beorg_rtt.as_secs_f64() * 1e3,
            saby_rtt.as_secs_f64() * 1e3
        ),
        format!("{} ms nominal", latency.as_millis()),
    )
    .print();
    let mut per_set_k: Vec<(usize, f64)> = Vec::new();
    for concurrency in levels {
        let n = match concurrency {
            1 => sets_c1,
            c if c >= 32 => sets_c32,
            _ => sets,
        };
        let options = FlowOptions {
            concurrency,
            max_in_flight,
            poll_interval,
        };
        let r = rt.block_on(run(n, latency, options, work_dir.as_deref()))?;
        let achieved = r.sets as f64 / r.elapsed.as_secs_f64();
        let k = r.requests as f64 / r.sets as f64;
        per_set_k.push((r.concurrency, r.per_set_requests as f64 / r.sets as f64));
        let possible = r.concurrency as f64 / (k * latency.as_secs_f64());
        Row::new(
            format!(
                "pipeline C={}, {} sets, {} ms/request: sets/s",
                r.concurrency,
                r.sets,
                latency.as_millis()
            ),
            format!("{achieved:.1} sets/s ({:.1} s)", r.elapsed.as_secs_f64()),
            format!(
                "{possible:.1} sets/s = C/(k={k:.2} × {} ms)",
                latency.as_millis()
            ),
            achieved / possible,
            Target::AtLeast(0.9),
        )
        .print();
    }
    if let Some(&(_, worst)) = per_set_k.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        let each: Vec<String> = per_set_k
            .iter()
            .map(|(c, k)| format!("C={c}: {k:.2}"))
            .collect();
        Row::new(
            "requests per set (k), default flow, shared polls and logins left out",
            format!("{worst:.2} ({})", each.join(", ")),
            "17 before issue 11 (12 of them archive downloads)",
            worst,
            Target::AtMost(7.0),
        )
        .print();
    }
    Ok(())
}
