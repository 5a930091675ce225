//! The `start_id` watermark: how far Beorg polling may move forward.
//!
//! Beorg's ready list starts at `start_id`, and a set numbered below it is never
//! listed again. So the watermark must not move past a set that may still be
//! reported:
//!
//! - **Unsettled sets hold it.** It only moves past seen sets that are
//!   *settled* (archived in a final state, or recorded as failed), so a crash at
//!   any point neither loses a set (it is still at or above `start_id`, or in
//!   the state store) nor repeats one (settled sets are never re-processed).
//! - **Gaps hold it for a grace period.** Beorg recognizes sets at different
//!   speeds (seconds, up to ~150 s for a poor `PASSPORT_REG` scan), so set 16
//!   can become ready after set 17. A number `g` with `start_id <= g` that was
//!   never seen while a higher one was is a *gap*: it may be a set still being
//!   recognized, or a number that will never be ours (another customer's or
//!   another contour's set, a deleted set). The watermark does not move past
//!   `g` until `gap_grace` ([`PipelineConfig::gap_grace`](crate::PipelineConfig::gap_grace),
//!   default 15 minutes) has elapsed since the gap became observable — the
//!   earliest first-seen time of any seen set numbered above `g`. Past that,
//!   the gap is taken as permanent.
//!
//! Formally, with `current` the persisted `start_id`, considering only seen
//! sets numbered `>= current` (and not `0`): the new `start_id` is the lowest
//! of (a) the lowest unsettled seen set, (b) one past the highest seen set, and
//! (c) the lowest gap still within its grace period — or `current` when no
//! such set was seen; it never moves backwards.
//! [`next_start_id`] is the reference definition; the SQLite store computes the
//! same value in one transaction, reading only sets at or above `current`.
//!
//! The pipeline moves the watermark in two places: when a set settles (no
//! clock at hand, so gaps are not released there — as with an infinite grace),
//! and after each successful Beorg poll, with the time the poll was *sent* as
//! `now` — a gap is only released once Beorg, asked after its grace was over,
//! still did not list it.

use std::time::Duration;

use time::OffsetDateTime;

use crate::store::SetRecord;

/// One seen set, as the watermark sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeenSet {
    /// The set's number (`16` for `"s-16"`); `0` (no number) is ignored.
    pub number: u64,
    /// Done or recorded as failed (see [`SetStatus::is_settled`](crate::store::SetStatus::is_settled)).
    pub settled: bool,
    /// When the set was first seen in a Beorg ready answer.
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

impl From<&SetRecord> for SeenSet {
    fn from(r: &SetRecord) -> Self {
        Self::new(r.number, r.status.is_settled(), r.first_seen)
    }
}

/// Whether `gap_grace` has elapsed from `first_seen` to `now`. A zero grace has
/// always elapsed; a `first_seen` after `now` (clock stepped back) counts as
/// no time elapsed.
fn grace_elapsed(first_seen: OffsetDateTime, now: OffsetDateTime, gap_grace: Duration) -> bool {
    gap_grace.is_zero() || (now - first_seen) >= gap_grace
}

/// The reference watermark: given the current `start_id`, every seen set of
/// the project, the current time and the gap grace period, returns the new
/// `start_id`. Pure: the clock is the caller's `now`.
///
/// - An unsettled set at or above `current` holds the watermark at its number.
/// - A *gap* — a number `g >= current` not seen, below the highest seen set —
///   holds it at `g` until `gap_grace` has elapsed since the earliest
///   `first_seen` of the seen sets numbered above `g`.
/// - Otherwise it moves to one past the highest seen set (or stays at
///   `current` when nothing at or above it was seen).
/// - Sets below `current` (already passed; e.g. replayed failures) and sets
///   without a number (`0`) do not hold it back; it never moves backwards.
/// - `gap_grace` of [`Duration::ZERO`] ignores gaps (only seen sets count);
///   [`Duration::MAX`] never releases one.
///
/// ```
/// use std::time::Duration;
/// use pipeline::watermark::{next_start_id, SeenSet};
/// use time::OffsetDateTime;
///
/// let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
/// let grace = Duration::from_secs(15 * 60);
/// let set = |n, settled| SeenSet::new(n, settled, t0);
///
/// // 16 and 17 done, 18 still in flight, 19 done: poll again from 18.
/// let seen = [set(16, true), set(17, true), set(18, false), set(19, true)];
/// assert_eq!(next_start_id(16, seen, t0, grace), 18);
/// // Everything done: move past the highest seen set.
/// assert_eq!(next_start_id(16, [set(16, true), set(17, true)], t0, grace), 18);
///
/// // 17 is done but 16 was never seen: it may still be recognized, so the
/// // watermark waits at 16 ...
/// let seen = [set(17, true)];
/// assert_eq!(next_start_id(16, seen, t0 + Duration::from_secs(60), grace), 16);
/// // ... until 16 has been missing for the grace period since 17 was seen.
/// assert_eq!(next_start_id(16, seen, t0 + grace, grace), 18);
/// // A zero grace does not wait for gaps at all.
/// assert_eq!(next_start_id(16, seen, t0, Duration::ZERO), 18);
/// # Ok::<(), time::error::ComponentRange>(())
/// ```
pub fn next_start_id(
    current: u64,
    seen: impl IntoIterator<Item = SeenSet>,
    now: OffsetDateTime,
    gap_grace: Duration,
) -> u64 {
    let window: Vec<SeenSet> = seen
        .into_iter()
        .filter(|s| s.number != 0 && s.number >= current)
        .collect();
    let Some(highest) = window.iter().map(|s| s.number).max() else {
        return current;
    };
    // Where the watermark stops without gaps: the lowest unsettled set, or one
    // past the highest seen set.
    let cap = window
        .iter()
        .filter(|s| !s.settled)
        .map(|s| s.number)
        .min()
        .unwrap_or_else(|| highest.saturating_add(1));
    // A gap g is past its grace iff some seen set above g was first seen at
    // least `gap_grace` ago, i.e. iff g is below the highest such set.
    let released_below = window
        .iter()
        .filter(|s| grace_elapsed(s.first_seen, now, gap_grace))
        .map(|s| s.number)
        .max();
    let released = |gap: u64| released_below.is_some_and(|m| m > gap);

    let mut numbers: Vec<u64> = window
        .iter()
        .map(|s| s.number)
        .filter(|&n| n < cap)
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut next = current;
    for n in numbers {
        // Every number in next..n is a gap; the lowest, `next`, decides (a
        // higher gap is never released before a lower one).
        if n > next && !released(next) {
            return next;
        }
        // n < cap <= u64::MAX: no overflow.
        next = n + 1;
    }
    if next < cap && !released(next) {
        return next;
    }
    cap
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::OffsetDateTime;

    use super::{SeenSet, next_start_id};

    const GRACE: Duration = Duration::from_secs(900);

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    /// Sets all first seen at `t(0)`, as `(number, settled)`.
    fn at0(sets: &[(u64, bool)]) -> Vec<SeenSet> {
        sets.iter()
            .map(|&(n, settled)| SeenSet::new(n, settled, t(0)))
            .collect()
    }

    /// The watermark when gaps are ignored (the rule before gaps were held).
    fn no_gaps(current: u64, sets: &[(u64, bool)]) -> u64 {
        next_start_id(current, at0(sets), t(0), Duration::ZERO)
    }

    #[test]
    fn empty_keeps_current() {
        assert_eq!(next_start_id(1, [], t(0), GRACE), 1);
        assert_eq!(next_start_id(42, [], t(0), Duration::ZERO), 42);
    }

    #[test]
    fn all_settled_moves_past_highest() {
        let sets = [(1, true), (2, true), (3, true)];
        assert_eq!(next_start_id(1, at0(&sets), t(0), GRACE), 4);
        assert_eq!(no_gaps(1, &sets), 4);
    }

    #[test]
    fn stops_at_lowest_unsettled() {
        assert_eq!(no_gaps(1, &[(1, true), (2, false), (3, true)]), 2);
        assert_eq!(no_gaps(1, &[(3, false), (1, false), (2, true)]), 1);
        let sets = at0(&[(1, true), (2, false), (3, true)]);
        assert_eq!(next_start_id(1, sets, t(10_000), GRACE), 2);
    }

    #[test]
    fn a_gap_younger_than_the_grace_holds() {
        // 17 seen at t(0) and settled; 16 never seen.
        let sets = at0(&[(17, true)]);
        assert_eq!(next_start_id(16, sets.clone(), t(0), GRACE), 16);
        assert_eq!(next_start_id(16, sets.clone(), t(150), GRACE), 16);
        assert_eq!(next_start_id(16, sets, t(899), GRACE), 16);
    }

    #[test]
    fn a_gap_older_than_the_grace_is_released() {
        let sets = at0(&[(17, true)]);
        assert_eq!(next_start_id(16, sets.clone(), t(900), GRACE), 18);
        assert_eq!(next_start_id(16, sets, t(5_000), GRACE), 18);
    }

    #[test]
    fn the_gap_counts_from_the_earliest_set_above_it() {
        // 18 was seen long ago, 17 only now: gap 16 has been observable since
        // 18 was seen.
        let sets = [SeenSet::new(18, true, t(0)), SeenSet::new(17, true, t(800))];
        assert_eq!(next_start_id(16, sets, t(899), GRACE), 16);
        assert_eq!(next_start_id(16, sets, t(900), GRACE), 19);
    }

    #[test]
    fn a_young_gap_above_an_old_one_still_holds() {
        // 17 seen at t(0), 19 at t(600): gap 16 is old, gap 18 is young.
        let sets = [SeenSet::new(17, true, t(0)), SeenSet::new(19, true, t(600))];
        assert_eq!(next_start_id(16, sets, t(1_000), GRACE), 18);
        assert_eq!(next_start_id(16, sets, t(1_500), GRACE), 20);
        // Several consecutive missing numbers are released together.
        let sets = [SeenSet::new(20, true, t(0))];
        assert_eq!(next_start_id(16, sets, t(899), GRACE), 16);
        assert_eq!(next_start_id(16, sets, t(900), GRACE), 21);
    }

    #[test]
    fn a_gap_below_an_unsettled_set_holds_at_the_gap() {
        let sets = at0(&[(18, false)]);
        assert_eq!(next_start_id(16, sets.clone(), t(0), GRACE), 16);
        // Released gap: the unsettled set holds.
        assert_eq!(next_start_id(16, sets, t(900), GRACE), 18);
    }

    #[test]
    fn an_unsettled_set_still_holds_whatever_the_grace() {
        let sets = at0(&[(16, true), (17, false), (19, true)]);
        assert_eq!(next_start_id(16, sets.clone(), t(100_000), GRACE), 17);
        assert_eq!(next_start_id(16, sets, t(0), Duration::ZERO), 17);
        // A gap below it, once released, does not let it pass the unsettled set.
        let sets = at0(&[(17, true), (19, false), (21, true)]);
        assert_eq!(next_start_id(16, sets, t(100_000), GRACE), 19);
    }

    #[test]
    fn zero_grace_ignores_gaps() {
        // Only seen sets count: 2 was never reported ready.
        assert_eq!(no_gaps(1, &[(1, true), (3, true)]), 4);
        assert_eq!(no_gaps(16, &[(17, true)]), 18);
        // Even with first-seen times in the future (clock stepped back).
        let sets = [SeenSet::new(17, true, t(60))];
        assert_eq!(next_start_id(16, sets, t(0), Duration::ZERO), 18);
        assert_eq!(next_start_id(16, sets, t(0), GRACE), 16);
    }

    #[test]
    fn max_grace_never_releases_a_gap() {
        let sets = [SeenSet::new(17, true, OffsetDateTime::UNIX_EPOCH)];
        assert_eq!(next_start_id(16, sets, t(0), Duration::MAX), 16);
        assert_eq!(next_start_id(16, sets, t(0), GRACE), 18);
    }

    #[test]
    fn never_moves_backwards() {
        // A replayed (unsettled) set below the watermark does not pull it back,
        // nor does a missing number below it.
        assert_eq!(no_gaps(10, &[(3, false), (10, true)]), 11);
        assert_eq!(no_gaps(10, &[(3, false)]), 10);
        let sets = at0(&[(3, false), (5, true), (10, true)]);
        assert_eq!(next_start_id(10, sets.clone(), t(0), GRACE), 11);
        assert_eq!(next_start_id(12, sets, t(0), GRACE), 12);
    }

    #[test]
    fn duplicate_numbers_hold_while_any_is_unsettled() {
        assert_eq!(no_gaps(5, &[(5, true), (5, false), (6, true)]), 5);
        assert_eq!(no_gaps(5, &[(5, true), (5, true), (6, true)]), 7);
    }

    #[test]
    fn unnumbered_sets_are_ignored() {
        assert_eq!(no_gaps(5, &[(0, false), (5, true)]), 6);
        let sets = at0(&[(0, false), (5, true)]);
        assert_eq!(next_start_id(5, sets, t(0), GRACE), 6);
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
                next_start_id(5, a, t(now), GRACE),
                next_start_id(5, b, t(now), GRACE),
                "now {now}"
            );
        }
        assert_eq!(next_start_id(5, a, t(0), GRACE), 6);
        assert_eq!(next_start_id(5, a, t(900), GRACE), 8);
        assert_eq!(next_start_id(5, a, t(920), GRACE), 10);
    }

    #[test]
    fn saturates_at_max() {
        assert_eq!(no_gaps(1, &[(u64::MAX, true)]), u64::MAX);
        let sets = at0(&[(u64::MAX, true)]);
        assert_eq!(next_start_id(1, sets.clone(), t(0), GRACE), 1);
        assert_eq!(next_start_id(1, sets, t(900), GRACE), u64::MAX);
    }
}
