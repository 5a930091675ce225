//! The `start_id` watermark: how far polling of [`Client::ready`](crate::Client::ready)
//! may move forward without losing a set.
//!
//! Beorg's ready answer lists the company's ready sets numbered `>= start_id`; a
//! set numbered below `start_id` is never listed again. So `start_id` must not
//! move past a number that may still be reported. This module is the rule, as
//! a pure function ([`WatermarkRule::advance`]) of what the caller has seen; it
//! is used by [`ReadyStream`](crate::ReadyStream) (a set is *settled* once the
//! stream yielded it) and by the `hr-docs-pipeline` crate (a set is settled once
//! it is done, failed or skipped).
//!
//! - **Unsettled sets hold it.** It only moves past seen sets that are settled,
//!   so a restart from the persisted value neither loses a set (it is still at
//!   or above `start_id`) nor repeats one (settled sets are known by id).
//! - **Gaps hold it for a grace period.** Beorg recognizes sets at different
//!   speeds (seconds, up to ~150 s for a poor `PASSPORT_REG` scan), so set 16
//!   can become ready after set 17. A number `g >= start_id` never seen while a
//!   higher one was is a *gap*: a set still being recognized, or a number that
//!   will never be the company's (another customer's set, a deleted set). The
//!   watermark does not move past `g` until the [gap
//!   grace](WatermarkRule::gap_grace) (default 15 minutes) has elapsed since the
//!   gap became observable — the earliest first sighting of a set numbered
//!   above `g`. Past that, the gap is taken as permanent.
//! - **Outliers never move it.** One stray id far above the others (say
//!   `s-9000000000` among sets in the hundreds) would otherwise, once settled
//!   and its gap's grace over, throw `start_id` past every real set still to
//!   come. Seen numbers are taken in ascending order from the *anchor* —
//!   `start_id - 1`, the last number already passed (none on a fresh start with
//!   `start_id` 1, when the lowest number seen is trusted). Each number more
//!   than [`max_jump`](WatermarkRule::max_jump) (default 1,000,000) above the
//!   previous one starts the *outliers*: it and every number above it are
//!   ignored by the rule (they neither hold nor move it) and reported in
//!   [`Advance::outliers`] so the caller can warn. The sets themselves are still
//!   handled: only the watermark ignores them, so they are listed again by every
//!   poll until the rule is changed (raise `max_jump` if real sets are that far
//!   apart).
//!
//! Formally, with `current` the persisted `start_id` and only seen sets numbered
//! `>= current` (and not `0`) considered: the *cluster* is the ascending run of
//! distinct numbers from the anchor in steps of at most `max_jump`; the new
//! `start_id` is the lowest of (a) the lowest unsettled set of the cluster,
//! (b) one past the highest number of the cluster, and (c) the lowest gap below
//! them still within its grace — a gap counting as past its grace when a cluster
//! set above it was first seen at least `gap_grace` before `now` — or `current`
//! when the cluster is empty. It never moves backwards.
//!
//! ```
//! use std::time::Duration;
//! use beorg_client::watermark::{SeenSet, WatermarkRule};
//! use time::OffsetDateTime;
//!
//! let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
//! let rule = WatermarkRule::new(); // 15 min grace, max jump 1,000,000
//! let set = |n, settled| SeenSet::new(n, settled, t0);
//!
//! // 16 and 17 settled, 18 still in flight, 19 settled: poll again from 18.
//! let seen = [set(16, true), set(17, true), set(18, false), set(19, true)];
//! assert_eq!(rule.advance(16, seen, t0).start_id, 18);
//! // Everything settled: move past the highest seen set.
//! assert_eq!(rule.advance(16, [set(16, true), set(17, true)], t0).start_id, 18);
//!
//! // 17 is settled but 16 was never seen: it may still be recognized, so the
//! // watermark waits at 16 ...
//! let seen = [set(17, true)];
//! assert_eq!(rule.advance(16, seen, t0 + Duration::from_secs(60)).start_id, 16);
//! // ... until 16 has been missing for the grace period since 17 was seen.
//! assert_eq!(rule.advance(16, seen, t0 + Duration::from_secs(15 * 60)).start_id, 18);
//!
//! // One stray id far above the rest does not move it; it is reported.
//! let seen = [set(200, true), set(9_000_000_000, true)];
//! let later = t0 + Duration::from_secs(3600);
//! let advance = rule.advance(200, seen, later);
//! assert_eq!(advance.start_id, 201);
//! assert_eq!(advance.outliers, [9_000_000_000]);
//! # Ok::<(), time::error::ComponentRange>(())
//! ```

use std::time::Duration;

use time::OffsetDateTime;

/// The default [`WatermarkRule::gap_grace`]: 15 minutes.
pub const DEFAULT_GAP_GRACE: Duration = Duration::from_secs(15 * 60);

/// The default [`WatermarkRule::max_jump`]: 1,000,000.
pub const DEFAULT_MAX_JUMP: u64 = 1_000_000;

/// One seen set, as the watermark sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeenSet {
    /// The set's number (`16` for `"s-16"`); `0` (no number) is ignored.
    pub number: u64,
    /// Whether the caller is done with the set (the stream: yielded; the
    /// pipeline: done, failed or skipped).
    pub settled: bool,
    /// When the set was first seen in a ready answer.
    pub first_seen: OffsetDateTime,
}

impl SeenSet {
    /// A seen set.
    pub fn new(number: u64, settled: bool, first_seen: OffsetDateTime) -> Self {
        Self {
            number,
            settled,
            first_seen,
        }
    }
}

/// What [`WatermarkRule::advance`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Advance {
    /// The new `start_id` (never below the current one).
    pub start_id: u64,
    /// Seen numbers the rule ignored as outliers, ascending (empty normally).
    pub outliers: Vec<u64>,
}

impl Advance {
    /// A decision (for stores that compute the rule themselves, e.g. in SQL).
    pub fn new(start_id: u64, outliers: Vec<u64>) -> Self {
        Self { start_id, outliers }
    }
}

/// The watermark rule and its two settings; see the [module docs](self).
///
/// ```
/// use std::time::Duration;
/// use beorg_client::watermark::WatermarkRule;
///
/// let rule = WatermarkRule::new()
///     .with_gap_grace(Duration::from_secs(600))
///     .with_max_jump(50_000);
/// assert_eq!(rule.gap_grace(), Duration::from_secs(600));
/// assert_eq!(rule.max_jump(), 50_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct WatermarkRule {
    gap_grace: Duration,
    max_jump: u64,
}

impl Default for WatermarkRule {
    fn default() -> Self {
        Self {
            gap_grace: DEFAULT_GAP_GRACE,
            max_jump: DEFAULT_MAX_JUMP,
        }
    }
}

impl WatermarkRule {
    /// The defaults: [`DEFAULT_GAP_GRACE`], [`DEFAULT_MAX_JUMP`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a gap holds the watermark, counted from the first sighting of a
    /// higher set. [`Duration::ZERO`] does not wait for gaps (a set ready after
    /// a higher-numbered one may then be lost); [`Duration::MAX`] never releases
    /// a gap.
    pub fn with_gap_grace(mut self, grace: Duration) -> Self {
        self.gap_grace = grace;
        self
    }

    /// The largest step between two consecutive seen numbers (or from the
    /// anchor `start_id - 1` to the lowest) that still counts as the same run of
    /// sets; a larger step starts the outliers. At least 1 (0 is taken as 1).
    pub fn with_max_jump(mut self, max_jump: u64) -> Self {
        self.max_jump = max_jump.max(1);
        self
    }

    /// The gap grace in force.
    pub fn gap_grace(&self) -> Duration {
        self.gap_grace
    }

    /// The maximum jump in force.
    pub fn max_jump(&self) -> u64 {
        self.max_jump
    }

    /// The last number already passed when the watermark is at `current`:
    /// `current - 1`, or `None` on a fresh start (`current <= 1`), when the
    /// lowest number seen is trusted.
    pub fn anchor(current: u64) -> Option<u64> {
        (current > 1).then(|| current - 1)
    }

    /// Whether going from number `from` to the next seen number `to` is a jump
    /// that starts the outliers (`to - from > max_jump`).
    pub fn jumps(&self, from: u64, to: u64) -> bool {
        to.saturating_sub(from) > self.max_jump
    }

    /// Whether the grace period has elapsed from `first_seen` to `now`. A zero
    /// grace has always elapsed; a `first_seen` after `now` (clock stepped
    /// back) counts as no time elapsed.
    pub fn grace_elapsed(&self, first_seen: OffsetDateTime, now: OffsetDateTime) -> bool {
        self.gap_grace.is_zero() || (now - first_seen) >= self.gap_grace
    }

    /// The new watermark, given the current `start_id`, every seen set (sets
    /// below `current` and unnumbered ones are ignored), and the time `now`
    /// against which gaps are dated (the pipeline uses the time its last
    /// successful poll was *sent*). Pure: the clock is the caller's.
    pub fn advance(
        &self,
        current: u64,
        seen: impl IntoIterator<Item = SeenSet>,
        now: OffsetDateTime,
    ) -> Advance {
        let window: Vec<SeenSet> = seen
            .into_iter()
            .filter(|s| s.number != 0 && s.number >= current)
            .collect();
        let mut numbers: Vec<u64> = window.iter().map(|s| s.number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        // The cluster: the ascending run from the anchor without a jump.
        let mut prev = Self::anchor(current);
        let mut cluster_len = 0;
        for &n in &numbers {
            if prev.is_some_and(|p| self.jumps(p, n)) {
                break;
            }
            prev = Some(n);
            cluster_len += 1;
        }
        let outliers = numbers[cluster_len..].to_vec();
        let members = &numbers[..cluster_len];
        let Some(&cluster_max) = members.last() else {
            return Advance {
                start_id: current,
                outliers,
            };
        };
        let cluster = || window.iter().filter(|s| s.number <= cluster_max);
        // Where the watermark stops without gaps: the lowest unsettled set, or
        // one past the cluster.
        let cap = cluster()
            .filter(|s| !s.settled)
            .map(|s| s.number)
            .min()
            .unwrap_or_else(|| cluster_max.saturating_add(1));
        // A gap g is past its grace iff a cluster set above g was first seen
        // at least `gap_grace` ago, i.e. iff g is below the highest such set.
        let released_below = cluster()
            .filter(|s| self.grace_elapsed(s.first_seen, now))
            .map(|s| s.number)
            .max();
        let released = |gap: u64| released_below.is_some_and(|m| m > gap);

        let mut next = current;
        for &n in members.iter().take_while(|&&n| n < cap) {
            // Every number in next..n is a gap; the lowest, `next`, decides (a
            // higher gap is never released before a lower one).
            if n > next && !released(next) {
                return Advance {
                    start_id: next,
                    outliers,
                };
            }
            // n < cap <= u64::MAX: no overflow.
            next = n + 1;
        }
        let start_id = if next < cap && !released(next) {
            next
        } else {
            cap
        };
        Advance { start_id, outliers }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::OffsetDateTime;

    use super::{SeenSet, WatermarkRule};

    const GRACE: Duration = Duration::from_secs(900);

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    fn rule(grace: Duration) -> WatermarkRule {
        WatermarkRule::new().with_gap_grace(grace)
    }

    fn next(
        current: u64,
        seen: impl IntoIterator<Item = SeenSet>,
        now: OffsetDateTime,
        grace: Duration,
    ) -> u64 {
        rule(grace).advance(current, seen, now).start_id
    }

    /// Sets all first seen at `t(0)`, as `(number, settled)`.
    fn at0(sets: &[(u64, bool)]) -> Vec<SeenSet> {
        sets.iter()
            .map(|&(n, settled)| SeenSet::new(n, settled, t(0)))
            .collect()
    }

    /// The watermark when gaps are ignored.
    fn no_gaps(current: u64, sets: &[(u64, bool)]) -> u64 {
        next(current, at0(sets), t(0), Duration::ZERO)
    }

    #[test]
    fn empty_keeps_current() {
        assert_eq!(next(1, [], t(0), GRACE), 1);
        assert_eq!(next(42, [], t(0), Duration::ZERO), 42);
    }

    #[test]
    fn all_settled_moves_past_highest() {
        let sets = [(1, true), (2, true), (3, true)];
        assert_eq!(next(1, at0(&sets), t(0), GRACE), 4);
        assert_eq!(no_gaps(1, &sets), 4);
    }

    #[test]
    fn stops_at_lowest_unsettled() {
        assert_eq!(no_gaps(1, &[(1, true), (2, false), (3, true)]), 2);
        assert_eq!(no_gaps(1, &[(3, false), (1, false), (2, true)]), 1);
        let sets = at0(&[(1, true), (2, false), (3, true)]);
        assert_eq!(next(1, sets, t(10_000), GRACE), 2);
    }

    #[test]
    fn a_gap_younger_than_the_grace_holds() {
        let sets = at0(&[(17, true)]);
        assert_eq!(next(16, sets.clone(), t(0), GRACE), 16);
        assert_eq!(next(16, sets.clone(), t(150), GRACE), 16);
        assert_eq!(next(16, sets, t(899), GRACE), 16);
    }

    #[test]
    fn a_gap_older_than_the_grace_is_released() {
        let sets = at0(&[(17, true)]);
        assert_eq!(next(16, sets.clone(), t(900), GRACE), 18);
        assert_eq!(next(16, sets, t(5_000), GRACE), 18);
    }

    #[test]
    fn the_gap_counts_from_the_earliest_set_above_it() {
        let sets = [SeenSet::new(18, true, t(0)), SeenSet::new(17, true, t(800))];
        assert_eq!(next(16, sets, t(899), GRACE), 16);
        assert_eq!(next(16, sets, t(900), GRACE), 19);
    }

    #[test]
    fn a_young_gap_above_an_old_one_still_holds() {
        let sets = [SeenSet::new(17, true, t(0)), SeenSet::new(19, true, t(600))];
        assert_eq!(next(16, sets, t(1_000), GRACE), 18);
        assert_eq!(next(16, sets, t(1_500), GRACE), 20);
    }

    #[test]
    fn an_unsettled_set_holds_past_any_grace() {
        let sets = at0(&[(17, true), (18, false), (20, true)]);
        assert_eq!(next(16, sets, t(100_000), GRACE), 18);
    }

    #[test]
    fn zero_grace_ignores_gaps_and_max_grace_never_releases() {
        let sets = [SeenSet::new(17, true, OffsetDateTime::UNIX_EPOCH)];
        assert_eq!(next(16, sets, t(0), Duration::ZERO), 18);
        assert_eq!(next(16, sets, t(0), Duration::MAX), 16);
        assert_eq!(next(16, sets, t(0), GRACE), 18);
    }

    #[test]
    fn a_clock_stepped_back_counts_as_no_time() {
        let sets = [SeenSet::new(17, true, t(1_000))];
        assert_eq!(next(16, sets, t(0), GRACE), 16);
    }

    #[test]
    fn never_moves_backwards() {
        assert_eq!(no_gaps(10, &[(3, false), (10, true)]), 11);
        assert_eq!(no_gaps(10, &[(3, false)]), 10);
        let sets = at0(&[(3, false), (5, true), (10, true)]);
        assert_eq!(next(10, sets.clone(), t(0), GRACE), 11);
        assert_eq!(next(12, sets, t(0), GRACE), 12);
    }

    #[test]
    fn duplicate_numbers_hold_while_any_is_unsettled() {
        assert_eq!(no_gaps(5, &[(5, true), (5, false), (6, true)]), 5);
        assert_eq!(no_gaps(5, &[(5, true), (5, true), (6, true)]), 7);
    }

    #[test]
    fn unnumbered_sets_are_ignored() {
        assert_eq!(no_gaps(5, &[(0, false), (5, true)]), 6);
    }

    #[test]
    fn order_does_not_matter() {
        let a = [
            SeenSet::new(7, true, t(0)),
            SeenSet::new(5, true, t(10)),
            SeenSet::new(9, true, t(20)),
            SeenSet::new(10, false, t(30)),
        ];
        let mut b = a;
        b.reverse();
        for now in [0, 905, 915, 925] {
            assert_eq!(
                next(5, a, t(now), GRACE),
                next(5, b, t(now), GRACE),
                "now {now}"
            );
        }
        assert_eq!(next(5, a, t(0), GRACE), 6);
        assert_eq!(next(5, a, t(900), GRACE), 8);
        assert_eq!(next(5, a, t(920), GRACE), 10);
    }

    #[test]
    fn saturates_at_max() {
        // A fresh start trusts the lowest number seen, however high.
        assert_eq!(no_gaps(1, &[(u64::MAX, true)]), u64::MAX);
        let sets = at0(&[(u64::MAX, true)]);
        assert_eq!(next(1, sets.clone(), t(0), GRACE), 1);
        assert_eq!(next(1, sets, t(900), GRACE), u64::MAX);
    }

    #[test]
    fn an_outlier_never_moves_the_watermark_past_real_sets() {
        // Sets in the hundreds, one stray id: long after every grace.
        let sets = at0(&[(200, true), (201, true), (9_000_000_000, true)]);
        let a = rule(GRACE).advance(200, sets.clone(), t(100_000));
        assert_eq!(a.start_id, 202);
        assert_eq!(a.outliers, [9_000_000_000]);
        // Later sets near the real ones go on moving it; the stray one stays out.
        let mut more = sets;
        more.extend(at0(&[(202, true), (203, true)]));
        let a = rule(GRACE).advance(202, more, t(100_000));
        assert_eq!(a.start_id, 204);
        assert_eq!(a.outliers, [9_000_000_000]);
    }

    #[test]
    fn an_outlier_alone_above_the_anchor_holds_it() {
        // Everything real already passed (start 201): the stray id is alone.
        let sets = at0(&[(9_000_000_000, true)]);
        let a = rule(Duration::ZERO).advance(201, sets, t(100_000));
        assert_eq!(a.start_id, 201);
        assert_eq!(a.outliers, [9_000_000_000]);
    }

    #[test]
    fn an_unsettled_outlier_holds_nothing() {
        let sets = at0(&[(5, true), (2_000_000, false)]);
        let a = rule(Duration::ZERO)
            .with_max_jump(1000)
            .advance(5, sets, t(0));
        assert_eq!((a.start_id, a.outliers), (6, vec![2_000_000]));
    }

    #[test]
    fn everything_above_the_first_jump_is_an_outlier() {
        let sets = at0(&[(10, true), (5_000, true), (5_001, true)]);
        let a = rule(Duration::ZERO)
            .with_max_jump(1000)
            .advance(10, sets, t(0));
        assert_eq!((a.start_id, a.outliers), (11, vec![5_000, 5_001]));
    }

    #[test]
    fn outliers_are_no_evidence_for_a_gap() {
        // 11 is a gap below 12; only the stray id was seen long ago.
        let sets = [
            SeenSet::new(10, true, t(0)),
            SeenSet::new(12, true, t(10_000)),
            SeenSet::new(9_000_000, true, t(0)),
        ];
        let a = WatermarkRule::new()
            .with_gap_grace(GRACE)
            .with_max_jump(1000)
            .advance(10, sets, t(10_100));
        assert_eq!(a.start_id, 11, "the gap at 11 is young");
        assert_eq!(a.outliers, [9_000_000]);
    }

    #[test]
    fn a_fresh_start_trusts_the_lowest_number() {
        // start_id 1, the company's numbers far above: not outliers.
        let sets = at0(&[(523_401, true), (523_402, true)]);
        let a = rule(Duration::ZERO)
            .with_max_jump(1000)
            .advance(1, sets, t(0));
        assert_eq!((a.start_id, a.outliers), (523_403, vec![]));
        // A configured start far below the company's numbers holds instead.
        let sets = at0(&[(523_401, true)]);
        let a = rule(Duration::ZERO)
            .with_max_jump(1000)
            .advance(100, sets, t(0));
        assert_eq!((a.start_id, a.outliers), (100, vec![523_401]));
    }

    #[test]
    fn max_jump_is_at_least_one() {
        assert_eq!(WatermarkRule::new().with_max_jump(0).max_jump(), 1);
        let sets = at0(&[(1, true), (2, true), (3, true)]);
        assert_eq!(
            rule(GRACE).with_max_jump(0).advance(1, sets, t(0)).start_id,
            4
        );
    }
}
