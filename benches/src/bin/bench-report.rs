//! Turns the Criterion medians of the `client_overhead` bench into result rows.
//!
//! Usage: `bench-report <criterion dir>` (the dir Criterion wrote to: `$CRITERION_HOME` or
//! `<target>/criterion`). Prints one `ROW` line per comparison (see
//! `hr_docs_benches::report`), and exits non-zero when a decode estimate is missing.
//!
//! `scripts/bench` runs only the Criterion decode groups and takes the per-call rows from the
//! interleaved `bench-overhead`. `bench-report <dir> --calls` also prints the call groups'
//! rows (marked "Criterion, sequential") after a plain `cargo bench --bench client_overhead`.

use std::path::{Path, PathBuf};

use hr_docs_benches::Result;
use hr_docs_benches::report::{Row, Target};

/// Median time per iteration (ns) of one Criterion benchmark.
fn median_ns(dir: &Path, group: &str, id: &str) -> Result<f64> {
    let path = dir.join(group).join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let estimates: serde_json::Value = serde_json::from_str(&text)?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median.point_estimate", path.display()).into())
}

fn format_us(ns: f64) -> String {
    if ns >= 100_000.0 {
        format!("{:.0} µs", ns / 1000.0)
    } else {
        format!("{:.1} µs", ns / 1000.0)
    }
}

fn main() -> Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: bench-report <criterion dir> [--calls]")?,
    );
    let calls = [
        ("beorg_ready", "Beorg ready"),
        ("beorg_result", "Beorg result (4 docs, 23 KB)"),
        ("saby_write", "Saby ЗаписатьДокумент"),
        ("saby_changes", "Saby СписокИзменений (50 events)"),
    ];
    let with_calls = std::env::args().nth(2).as_deref() == Some("--calls");
    for (group, label) in calls.into_iter().filter(|_| with_calls) {
        for n in [1u32, 32] {
            let ours = median_ns(&dir, group, &format!("typed/{n}"))? / f64::from(n);
            let base = median_ns(&dir, group, &format!("baseline/{n}"))? / f64::from(n);
            Row::new(
                format!("{label}, c={n}: time per call (Criterion, sequential)"),
                format_us(ours),
                format!("{} (reqwest+Value)", format_us(base)),
                ours / base,
                Target::AtMost(1.05),
            )
            .print();
        }
    }
    let decodes = [
        ("decode_result", "decode RecognitionResult (23 KB)"),
        ("decode_saby_document", "decode Saby Документ (5.8 KB)"),
        (
            "decode_saby_changes",
            "decode Saby СписокИзменений (50 events)",
        ),
    ];
    for (group, label) in decodes {
        let ours = median_ns(&dir, group, "typed")?;
        let base = median_ns(&dir, group, "value")?;
        Row::new(
            label,
            format_us(ours),
            format!("{} (serde_json::Value)", format_us(base)),
            ours / base,
            Target::AtMost(1.0),
        )
        .print();
    }
    Ok(())
}
