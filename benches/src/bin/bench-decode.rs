//! Decode cost, interleaved: each typed model against `serde_json::Value` on the same bytes,
//! in alternating batches so that both sides see the same machine.
//!
//! Criterion's decode groups (`cargo bench --bench client_overhead -- decode`) time the typed
//! decode and the `Value` decode one after the other. On this shared 2-core machine that
//! sequence moved the `RecognitionResult` ratio from 0.88 to 1.50 between two runs of the same
//! code. Here each round decodes the payload `iters` times into the typed model and `iters`
//! times into a `Value`, back to back, order alternating between rounds (AB, BA, …); the row
//! gives the median time per decode of each side over all rounds and their ratio (target ≤ 1:
//! no slower than `Value`); the spread of the per-round ratios goes to stderr.
//!
//! The typed side decodes as the clients do for a valid body: one plain `serde_json` pass
//! (the clients re-decode under `serde_path_to_error` only when that pass fails).
//!
//! Usage: `bench-decode [--rounds 60] [--batch-ms 20] [--warmup-ms 300]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use hr_docs_benches::Result;
use hr_docs_benches::args::Args;
use hr_docs_benches::fixtures;
use hr_docs_benches::report::{Interleaved, Row, Target, format_us};
use serde_json::Value;

/// One payload: its label and the two ways of decoding it (each returns whether it worked).
struct Payload {
    label: &'static str,
    bytes: Vec<u8>,
    typed: fn(&[u8]) -> bool,
}

fn value(bytes: &[u8]) -> bool {
    black_box(serde_json::from_slice::<Value>(black_box(bytes))).is_ok()
}

fn recognition_result(bytes: &[u8]) -> bool {
    black_box(serde_json::from_slice::<beorg_client::RecognitionResult>(
        black_box(bytes),
    ))
    .is_ok()
}

fn saby_document(bytes: &[u8]) -> bool {
    black_box(serde_json::from_slice::<saby_client::Document>(black_box(
        bytes,
    )))
    .is_ok()
}

fn saby_page(bytes: &[u8]) -> bool {
    black_box(serde_json::from_slice::<saby_client::DocumentPage>(
        black_box(bytes),
    ))
    .is_ok()
}

/// Seconds per decode over `iters` decodes.
fn batch(decode: fn(&[u8]) -> bool, bytes: &[u8], iters: u32) -> Result<f64> {
    let started = Instant::now();
    for _ in 0..iters {
        if !decode(bytes) {
            return Err("a fixture failed to decode".into());
        }
    }
    Ok(started.elapsed().as_secs_f64() / f64::from(iters))
}

fn main() -> Result<()> {
    let args = Args::from_env()?;
    let rounds: usize = args.get("rounds", 60)?;
    let batch_ms: u64 = args.get("batch-ms", 20)?;
    let warmup_ms: u64 = args.get("warmup-ms", 300)?;
    if rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    // Compact, as the loopback server sends them.
    let document = serde_json::to_vec(&serde_json::from_str::<Value>(fixtures::SABY_DOCUMENT)?)?;
    let changes = serde_json::to_vec(&fixtures::saby_changes()?)?;
    let payloads = [
        Payload {
            label: "RecognitionResult (23 KB)",
            bytes: fixtures::BEORG_RESULT.as_bytes().to_vec(),
            typed: recognition_result,
        },
        Payload {
            label: "Saby Документ (5.8 KB)",
            bytes: document,
            typed: saby_document,
        },
        Payload {
            label: "Saby СписокИзменений (50 events)",
            bytes: changes,
            typed: saby_page,
        },
    ];
    for p in &payloads {
        // Warm up both sides, and size a batch to about `batch_ms`.
        let started = Instant::now();
        let mut n = 0u32;
        while started.elapsed() < Duration::from_millis(warmup_ms) {
            batch(p.typed, &p.bytes, 1)?;
            batch(value, &p.bytes, 1)?;
            n += 1;
        }
        let per_decode = started.elapsed().as_secs_f64() / (2.0 * f64::from(n.max(1)));
        let iters = ((batch_ms as f64 / 1e3 / per_decode).round() as u32).max(1);

        let mut rounds_seen = Interleaved::default();
        for round in 0..rounds {
            let (t, b) = if round % 2 == 0 {
                let t = batch(p.typed, &p.bytes, iters)?;
                (t, batch(value, &p.bytes, iters)?)
            } else {
                let b = batch(value, &p.bytes, iters)?;
                (batch(p.typed, &p.bytes, iters)?, b)
            };
            rounds_seen.push(t, b);
        }
        let sum = rounds_seen.summary().ok_or("no rounds")?;
        eprintln!(
            "decode {}: {rounds} rounds x {iters} decodes per side; per-round ratio \
             p10 {:.3}, median {:.3}, p90 {:.3}",
            p.label, sum.p10, sum.p50, sum.p90,
        );
        Row::new(
            format!("decode {}", p.label),
            format_us(sum.ours),
            format!("{} (serde_json::Value)", format_us(sum.baseline)),
            sum.ours / sum.baseline,
            Target::AtMost(1.0),
        )
        .print();
    }
    Ok(())
}
