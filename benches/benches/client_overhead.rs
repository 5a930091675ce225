//! Client overhead: the typed `beorg-client` / `saby-client` calls against hand-written
//! `reqwest` + `serde_json::Value` baselines, on the same loopback server and the same
//! `reqwest::Client` settings, at concurrency 1 and 32; and decoding a `RecognitionResult`,
//! a Saby `Документ` and a 50-event `СписокИзменений` page against decoding the same bytes
//! into a `serde_json::Value`.
//!
//! Run: `cargo bench -p hr-docs-benches --bench client_overhead`. `scripts/bench` runs only the
//! decode groups (`-- decode`) and turns their medians into rows (`bench-report`); its per-call
//! rows come from the interleaved `bench-overhead` binary, which shares this bench's set-up
//! (`hr_docs_benches::overhead`). The call groups here time typed and baseline one after the
//! other, so on a busy machine their ratios drift; `bench-report <dir> --calls` still prints them.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hr_docs_benches::fixtures;
use hr_docs_benches::overhead::{Call, Fixture, Side};
use serde_json::Value;
use tokio::runtime::Runtime;

/// Concurrency levels compared.
const CONCURRENCY: [usize; 2] = [1, 32];

/// Stops the benchmark with a message: a failing call must never be timed as a fast one.
fn or_exit<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => {
            eprintln!("client_overhead: {what} failed: {err}");
            std::process::exit(1)
        }
    }
}

fn runtime() -> Runtime {
    or_exit(
        "tokio runtime",
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
    )
}

fn client_overhead(c: &mut Criterion) {
    let rt = runtime();
    let f = or_exit("fixture", rt.block_on(Fixture::start()));
    for call in Call::ALL {
        let mut group = c.benchmark_group(call.group());
        for n in CONCURRENCY {
            group.throughput(Throughput::Elements(n as u64));
            for (side, name) in [(Side::Typed, "typed"), (Side::Baseline, "baseline")] {
                group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                    b.to_async(&rt)
                        .iter(|| async { or_exit("call", f.run(call, side, n).await) });
                });
            }
        }
        group.finish();
    }
}

/// `typed`: `$ty` decoded from `$bytes` the way saby-client decodes a `result` that is
/// valid: one pass without path tracking (the client decodes again under
/// `serde_path_to_error` only when that pass fails, to name the JSON path); `typed_tracked`:
/// the same under `serde_path_to_error` (what a failing decode costs, and what the client
/// did before); `value`: the same bytes into a `serde_json::Value`. A macro: the bench crate
/// has no `serde` dependency to write the bound with.
macro_rules! decode_pair {
    ($c:expr, $ty:ty, $group:literal, $bytes:expr) => {{
        let bytes: &[u8] = $bytes;
        let mut group = $c.benchmark_group($group);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| black_box(serde_json::from_slice::<$ty>(black_box(bytes)).ok()))
        });
        group.bench_function("typed_tracked", |b| {
            b.iter(|| {
                let mut de = serde_json::Deserializer::from_slice(black_box(bytes));
                let result: Result<$ty, _> = serde_path_to_error::deserialize(&mut de);
                black_box((result.ok(), de.end().is_ok()))
            });
        });
        group.bench_function("value", |b| {
            b.iter(|| black_box(serde_json::from_slice::<Value>(black_box(bytes)).ok()))
        });
        group.finish();
    }};
}

fn decode(c: &mut Criterion) {
    let bytes = fixtures::BEORG_RESULT.as_bytes();
    let mut group = c.benchmark_group("decode_result");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("typed", |b| {
        b.iter(|| {
            // As beorg-client decodes: a plain serde_json decode; path tracking
            // (serde_path_to_error) only re-runs the decode when this one fails.
            let result =
                serde_json::from_slice::<beorg_client::RecognitionResult>(black_box(bytes));
            black_box(result.ok())
        });
    });
    group.bench_function("value", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Value>(black_box(bytes)).ok()))
    });
    group.finish();

    // Saby: the `Документ` of `СБИС.ЗаписатьДокумент` and the `result` of a 50-event
    // `СБИС.СписокИзменений` page, compact as the loopback server sends them.
    let document = or_exit(
        "saby document fixture",
        serde_json::from_str::<Value>(fixtures::SABY_DOCUMENT).and_then(|v| serde_json::to_vec(&v)),
    );
    let changes = or_exit(
        "saby changes fixture",
        fixtures::saby_changes().and_then(|v| serde_json::to_vec(&v)),
    );
    decode_pair!(c, saby_client::Document, "decode_saby_document", &document);
    decode_pair!(
        c,
        saby_client::DocumentPage,
        "decode_saby_changes",
        &changes
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = client_overhead, decode
}
criterion_main!(benches);
