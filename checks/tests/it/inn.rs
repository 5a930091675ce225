//! INN: well-known numbers and the rule's known collision.
//!
//! Rule sources: the weights and "mod 11, then mod 10" published by the tax service and
//! implemented in `arthurdejong/python-stdnum` (`stdnum/ru/inn.py`, whose doctest
//! numbers 1234567894 and 123456789047 are used below); the OECD's TIN sheet for Russia.

use hr_docs_checks::inn::{InnError, InnKind, inn_check_digits, validate_inn};

#[test]
fn well_known_organizations_and_sample_numbers() {
    for (inn, kind) in [
        ("7707083893", InnKind::Organization), // Sberbank
        ("7736050003", InnKind::Organization), // Gazprom
        ("7736207543", InnKind::Organization), // Yandex
        ("1234567894", InnKind::Organization), // python-stdnum's sample
        ("123456789047", InnKind::Person),     // python-stdnum's sample
    ] {
        assert_eq!(validate_inn(inn), Ok(kind), "{inn}");
    }
    // python-stdnum's invalid samples.
    assert_eq!(validate_inn("123456789037"), Err(InnError::CheckDigit));
    assert_eq!(validate_inn("1234567895"), Err(InnError::CheckDigit));
}

#[test]
fn check_digits_complete_a_payload() {
    assert_eq!(inn_check_digits("123456789"), Ok(vec![4]));
    assert_eq!(inn_check_digits("1234567890"), Ok(vec![4, 7]));
    assert_eq!(inn_check_digits("12345678a"), Err(InnError::Format));
}

/// "mod 11, then mod 10" maps remainders 0 and 10 both to 0: for an organization's
/// INN, a digit change that moves the remainder between them keeps the check digit.
/// The person's INN has no such single-digit collision: both digits would have to
/// flip at once, which needs a weight pair w1 ≡ ±w2 (mod 11) at one position, and
/// the two weight rows have none (see `properties::person_inn_every_single_change_fails`).
#[test]
fn collision_class_remainders_0_and_10() {
    // 100000001 → 2·1 + 8·1 = 10 → remainder 10 → 0.
    // 700000001 → 2·7 + 8·1 = 22 → remainder 0 → 0.
    assert_eq!(validate_inn("1000000010"), Ok(InnKind::Organization));
    assert_eq!(validate_inn("7000000010"), Ok(InnKind::Organization));
    // Other changes of the first digit are caught.
    for first in ['2', '3', '4', '5', '6', '8', '9'] {
        let inn = format!("{first}000000010");
        assert_eq!(validate_inn(&inn), Err(InnError::CheckDigit), "{inn}");
    }
}

#[test]
fn errors_never_repeat_the_number() {
    for input in ["7707083894", "770708"] {
        let text = validate_inn(input).unwrap_err().to_string();
        assert!(!text.contains("7707"), "{text}");
    }
}
