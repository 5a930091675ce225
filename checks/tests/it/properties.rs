//! Property tests: generated valid numbers pass; single changes fail — exactly where
//! the rules can detect them, and the known collision classes are stated as the
//! exceptions, not hidden.
//!
//! The raw sums below are recomputed here from the published weights, as an oracle
//! independent of the crate's code; the crate's functions only build the valid
//! numbers.
// Test helpers: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

use hr_docs_checks::inn::{InnError, InnKind, inn_check_digits, validate_inn};
use hr_docs_checks::mrz::{MrzField, MrzLine2, mrz_check_digit};
use hr_docs_checks::snils::{SnilsError, SnilsValidity, snils_check_number, validate_snils};
use proptest::prelude::*;

const CASES: u32 = 512;

fn digits(s: &str) -> Vec<u32> {
    s.bytes().map(|b| u32::from(b - b'0')).collect()
}

fn weighted(s: &str, weights: &[u32]) -> u32 {
    digits(s).iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// Replaces the digit at `at` with `new`.
fn with_digit(s: &str, at: usize, new: u8) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = b'0' + new;
    String::from_utf8(b).unwrap()
}

/// Nine digits above 001-001-998 (where the check number applies).
fn snils_payload() -> impl Strategy<Value = String> {
    (1_001_999u32..=999_999_999).prop_map(|n| format!("{n:09}"))
}

fn snils(payload: &str) -> String {
    format!("{payload}{:02}", snils_check_number(payload).unwrap())
}

const SNILS_WEIGHTS: [u32; 9] = [9, 8, 7, 6, 5, 4, 3, 2, 1];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn a_generated_snils_passes_in_every_written_form(payload in snils_payload()) {
        let n = snils(&payload);
        prop_assert_eq!(validate_snils(&n), Ok(SnilsValidity::Checked));
        let grouped = format!("{}-{}-{} {}", &n[0..3], &n[3..6], &n[6..9], &n[9..]);
        prop_assert_eq!(validate_snils(&grouped), Ok(SnilsValidity::Checked));
    }

    /// A change of one of the nine digits is caught, except the collision class: the
    /// last digit (weight 1) changed by one while the sum moves between ≡ 100 and ≡ 0
    /// (mod 101) — both give `00`. (A change by d at weight w moves the sum by w·d,
    /// |w·d| ≤ 81 < 101, so the remainder always changes; only 0 and 100 share a check
    /// number, and they are 1 apart.)
    #[test]
    fn a_single_digit_change_of_a_snils_fails_outside_the_collision_class(
        payload in snils_payload(), at in 0usize..9, new in 0u8..10,
    ) {
        prop_assume!(payload.as_bytes()[at] != b'0' + new);
        let changed = with_digit(&payload, at, new);
        prop_assume!(changed.parse::<u32>().unwrap() > 1_001_998);
        let n = snils(&payload);
        let mutated = format!("{changed}{}", &n[9..]);
        let before = weighted(&payload, &SNILS_WEIGHTS) % 101;
        let after = weighted(&changed, &SNILS_WEIGHTS) % 101;
        let collision = matches!((before, after), (0, 100) | (100, 0));
        if collision {
            prop_assert_eq!(at, 8, "only the weight-1 digit can collide");
            prop_assert_eq!(validate_snils(&mutated), Ok(SnilsValidity::Checked));
        } else {
            prop_assert_eq!(validate_snils(&mutated), Err(SnilsError::CheckNumber));
        }
    }

    /// A change of either check-number digit is always caught.
    #[test]
    fn a_changed_snils_check_number_fails(payload in snils_payload(), at in 9usize..11, new in 0u8..10) {
        let n = snils(&payload);
        prop_assume!(n.as_bytes()[at] != b'0' + new);
        prop_assert_eq!(validate_snils(&with_digit(&n, at, new)), Err(SnilsError::CheckNumber));
    }
}

const ORG_WEIGHTS: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];

fn inn(payload: &str) -> String {
    let check: String = inn_check_digits(payload)
        .unwrap()
        .iter()
        .map(|d| char::from(b'0' + d))
        .collect();
    format!("{payload}{check}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn generated_inns_pass(org in "[0-9]{9}", person in "[0-9]{10}") {
        prop_assert_eq!(validate_inn(&inn(&org)), Ok(InnKind::Organization));
        prop_assert_eq!(validate_inn(&inn(&person)), Ok(InnKind::Person));
    }

    /// An organization's INN: a changed digit is caught unless the raw remainder
    /// moves between 10 and 0, which "mod 11, then mod 10" maps to the same 0. (A
    /// change by d at weight w moves the sum by w·d, never ≡ 0 mod 11 since 11 is prime
    /// and neither factor is a multiple of it.)
    #[test]
    fn a_single_digit_change_of_an_organization_inn_fails_outside_the_collision_class(
        payload in "[0-9]{9}", at in 0usize..10, new in 0u8..10,
    ) {
        let valid = inn(&payload);
        prop_assume!(valid.as_bytes()[at] != b'0' + new);
        let mutated = with_digit(&valid, at, new);
        let collision = at < 9 && matches!(
            (weighted(&valid[..9], &ORG_WEIGHTS) % 11, weighted(&mutated[..9], &ORG_WEIGHTS) % 11),
            (0, 10) | (10, 0)
        );
        if collision {
            prop_assert_eq!(validate_inn(&mutated), Ok(InnKind::Organization));
        } else {
            prop_assert_eq!(validate_inn(&mutated), Err(InnError::CheckDigit));
        }
    }

    /// A person's INN: every single-digit change is caught. Keeping both check digits
    /// would need both remainders to flip between 0 and 10, i.e. w₁·d ≡ ±1 and
    /// w₂·d ≡ ±1 (mod 11) at the same position, so w₁ ≡ ±w₂ — and no position of the
    /// two weight rows has that.
    #[test]
    fn person_inn_every_single_change_fails(payload in "[0-9]{10}", at in 0usize..12, new in 0u8..10) {
        let valid = inn(&payload);
        prop_assume!(valid.as_bytes()[at] != b'0' + new);
        prop_assert_eq!(validate_inn(&with_digit(&valid, at, new)), Err(InnError::CheckDigit));
    }
}

/// The weight pairs of the person's INN, position by position, are never ≡ ±each
/// other modulo 11 — the fact the property above rests on.
#[test]
fn person_inn_weight_rows_have_no_equal_or_opposite_pair() {
    let w1 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    let w2 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6];
    for (a, b) in w1.iter().zip(w2) {
        assert_ne!((a - b) % 11, 0);
        assert_ne!((a + b) % 11, 0);
    }
}

const MRZ_CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";

fn mrz_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'Z' => u32::from(c - b'A') + 10,
        _ => 0,
    }
}

fn check_char(data: &str) -> char {
    char::from(b'0' + mrz_check_digit(data).unwrap())
}

/// A second line with correct check digits from a 9-character document number, a
/// 6-digit birth date and 14 characters of optional data.
fn line2(number: &str, birth: &str, optional: &str) -> String {
    let mut l = format!(
        "{number}{}RUS{birth}{}M<<<<<<<{optional}{}",
        check_char(number),
        check_char(birth),
        check_char(optional)
    );
    let composite = format!("{}{}{}", &l[0..10], &l[13..20], &l[21..43]);
    l.push(check_char(&composite));
    l
}

/// The checked fields of line 2 (0-based ranges) with their check digit.
const CHECKED: [(std::ops::Range<usize>, MrzField); 3] = [
    (0..9, MrzField::DocumentNumber),
    (13..19, MrzField::BirthDate),
    (28..42, MrzField::OptionalData),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn generated_mrz_lines_pass(
        number in "[0-9A-Z]{9}", birth in "[0-9]{6}", optional in "[0-9<]{14}",
    ) {
        let l = line2(&number, &birth, &optional);
        prop_assert!(MrzLine2::parse(&l).unwrap().failed_check_digits().is_empty());
    }

    /// A changed digit in a checked field is always caught: 7, 3 and 1 are prime to
    /// 10, and two digits differ by less than 10.
    #[test]
    fn a_changed_digit_in_a_checked_field_fails(
        number in "[0-9]{9}", birth in "[0-9]{6}", optional in "[0-9]{13}<",
        field in 0usize..3, offset in 0usize..14, new in 0u8..10,
    ) {
        let l = line2(&number, &birth, &optional);
        let (range, part) = CHECKED[field].clone();
        let at = range.start + offset % range.len();
        prop_assume!(l.as_bytes()[at].is_ascii_digit() && l.as_bytes()[at] != b'0' + new);
        let failed = MrzLine2::parse(&with_digit(&l, at, new)).unwrap().failed_check_digits();
        prop_assert!(failed.contains(&part), "{:?}", failed);
    }

    /// Any character of the MRZ alphabet: a change is caught exactly when the values
    /// differ by other than a multiple of 10. `<` and `0` (both 0), or `A` (10) and `0`,
    /// are the undetectable pairs of the 7-3-1 scheme.
    #[test]
    fn any_character_change_is_caught_unless_the_values_differ_by_a_multiple_of_10(
        number in "[0-9A-Z]{9}", birth in "[0-9]{6}", optional in "[0-9A-Z<]{14}",
        field in 0usize..3, offset in 0usize..14, new in 0usize..37,
    ) {
        let l = line2(&number, &birth, &optional);
        let (range, part) = CHECKED[field].clone();
        let at = range.start + offset % range.len();
        let old = l.as_bytes()[at];
        let new = MRZ_CHARS[new];
        prop_assume!(old != new);
        let mut b = l.into_bytes();
        b[at] = new;
        let failed = MrzLine2::parse(std::str::from_utf8(&b).unwrap()).unwrap().failed_check_digits();
        let detectable = !(mrz_value(old) + 40 - mrz_value(new)).is_multiple_of(10);
        prop_assert_eq!(failed.contains(&part), detectable);
    }
}

/// The undetectable pairs, pinned.
#[test]
fn mrz_collision_pairs() {
    let l = line2("451123456", "900201", "0110328540004<");
    let swap = |at: usize, c: u8| {
        let mut b = l.clone().into_bytes();
        b[at] = c;
        MrzLine2::parse(std::str::from_utf8(&b).unwrap())
            .unwrap()
            .failed_check_digits()
    };
    // Position 29 (the series' last digit) is `0`; `<` (0), `A` (10), `K` (20) in its
    // place keep every check digit, `B` (11) does not.
    assert_eq!(l.as_bytes()[28], b'0');
    assert!(
        swap(28, b'<').is_empty(),
        "'0' → '<' keeps every check digit"
    );
    assert!(
        swap(28, b'A').is_empty(),
        "'0' → 'A' (10) keeps every check digit"
    );
    assert!(
        swap(28, b'K').is_empty(),
        "'0' → 'K' (20) keeps every check digit"
    );
    assert_eq!(
        swap(28, b'B'),
        [MrzField::OptionalData, MrzField::Composite]
    );
}
