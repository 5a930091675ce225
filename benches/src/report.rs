//! The result line every benchmark prints, collected into a table by `scripts/bench`.
//!
//! A line is `ROW<TAB>measurement<TAB>ours<TAB>baseline or limit<TAB>ratio<TAB>target<TAB>met`,
//! so that `grep '^ROW'` over the output of all benchmarks gives the whole table.

use std::fmt;

/// Which way a ratio has to go for a target to be met.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Met when `ratio <= limit` (time or memory ratios).
    AtMost(f64),
    /// Met when `ratio >= limit` (throughput against its bound).
    AtLeast(f64),
    /// Informational row: no target.
    None,
}

impl Target {
    /// Whether `ratio` meets this target (`None` when there is no target).
    pub fn met(&self, ratio: f64) -> Option<bool> {
        match *self {
            Target::AtMost(limit) => Some(ratio <= limit),
            Target::AtLeast(limit) => Some(ratio >= limit),
            Target::None => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Target::AtMost(limit) => write!(f, "<= {limit}"),
            Target::AtLeast(limit) => write!(f, ">= {limit}"),
            Target::None => f.write_str("-"),
        }
    }
}

/// One row of the results table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was measured, e.g. `beorg result, c=32 (µs/call)`.
    pub measurement: String,
    /// Our figure, formatted with its unit.
    pub ours: String,
    /// The figure we compare with (baseline or theoretical limit), formatted.
    pub reference: String,
    /// `ours / reference` (or the ratio the target is stated on); `None` for a row that only
    /// informs.
    pub ratio: Option<f64>,
    /// The target on `ratio`.
    pub target: Target,
}

impl Row {
    /// A row with the ratio given explicitly.
    pub fn new(
        measurement: impl Into<String>,
        ours: impl Into<String>,
        reference: impl Into<String>,
        ratio: f64,
        target: Target,
    ) -> Self {
        Row {
            measurement: measurement.into(),
            ours: ours.into(),
            reference: reference.into(),
            ratio: Some(ratio),
            target,
        }
    }

    /// A row that only informs: no ratio, no target.
    pub fn info(
        measurement: impl Into<String>,
        ours: impl Into<String>,
        reference: impl Into<String>,
    ) -> Self {
        Row {
            measurement: measurement.into(),
            ours: ours.into(),
            reference: reference.into(),
            ratio: None,
            target: Target::None,
        }
    }

    /// Prints the row as a `ROW` line on stdout.
    pub fn print(&self) {
        println!("{self}");
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let met = match self.ratio.and_then(|r| self.target.met(r)) {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let ratio = self
            .ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
        write!(
            f,
            "ROW\t{}\t{}\t{}\t{ratio}\t{}\t{met}",
            self.measurement, self.ours, self.reference, self.target
        )
    }
}

/// The median of `values` (sorted in place); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// A duration in seconds as microseconds: `"232 µs"`, `"35.4 µs"`.
pub fn format_us(secs: f64) -> String {
    let us = secs * 1e6;
    if us >= 100.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

/// The rounds of an interleaved comparison (a batch of ours and a batch of the baseline per
/// round, back to back): seconds per operation of each side, round by round.
#[derive(Debug, Default)]
pub struct Interleaved {
    ours: Vec<f64>,
    baseline: Vec<f64>,
}

/// What [`Interleaved::summary`] gives: the median seconds per operation of each side and the
/// 10th / 50th / 90th percentiles of the per-round ratios ours / baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median seconds per operation, ours.
    pub ours: f64,
    /// Median seconds per operation, baseline.
    pub baseline: f64,
    /// 10th percentile of the per-round ratios.
    pub p10: f64,
    /// Median of the per-round ratios.
    pub p50: f64,
    /// 90th percentile of the per-round ratios.
    pub p90: f64,
}

impl Interleaved {
    /// Records one round.
    pub fn push(&mut self, ours: f64, baseline: f64) {
        self.ours.push(ours);
        self.baseline.push(baseline);
    }

    /// The summary over all rounds; `None` before the first round.
    pub fn summary(&self) -> Option<Summary> {
        let mut paired: Vec<f64> = self
            .ours
            .iter()
            .zip(&self.baseline)
            .map(|(o, b)| o / b)
            .collect();
        let p50 = median(&mut paired)?;
        Some(Summary {
            ours: median(&mut self.ours.clone())?,
            baseline: median(&mut self.baseline.clone())?,
            // `median` sorted `paired` in place.
            p10: paired[paired.len() / 10],
            p50,
            p90: paired[paired.len() * 9 / 10],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_summary_takes_medians_and_ratio_quantiles() {
        let mut rounds = Interleaved::default();
        assert_eq!(rounds.summary(), None);
        for (ours, base) in [(1.0, 2.0), (3.0, 3.0), (2.0, 1.0)] {
            rounds.push(ours, base);
        }
        let s = rounds.summary().unwrap();
        assert_eq!((s.ours, s.baseline), (2.0, 2.0));
        assert_eq!((s.p10, s.p50, s.p90), (0.5, 1.0, 2.0));
        assert_eq!(format_us(232.4e-6), "232 µs");
        assert_eq!(format_us(35.44e-6), "35.4 µs");
    }

    #[test]
    fn formats_row_and_target() {
        let row = Row::new("x", "1.0 µs", "1.0 µs", 1.02, Target::AtMost(1.05));
        assert_eq!(
            row.to_string(),
            "ROW\tx\t1.0 µs\t1.0 µs\t1.020\t<= 1.05\tyes"
        );
        assert_eq!(Target::AtLeast(0.9).met(0.8), Some(false));
        assert_eq!(
            Row::info("y", "1", "2").to_string(),
            "ROW\ty\t1\t2\t-\t-\t-"
        );
        assert_eq!(Target::None.met(0.8), None);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
