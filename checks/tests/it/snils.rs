//! SNILS: public examples and the rule's known collision.
//!
//! Rule sources: the Pension Fund's algorithm, section 8 "Алгоритм формирования
//! контрольного числа Страхового номера" (consultant.ru/document/cons_doc_LAW_124607,
//! with the example 112-233-445 95 and "only numbers above 001-001-998 are checked"),
//! the Moscow city guide's step-by-step rule (vgorode.moscow/guide/vopros-otvet/otvet_68.html:
//! 100 or 101 → 00, over 101 → mod 101, remainder 100 → 00), and public validators
//! (`vasiunov/SNILS_CheckAndCount`, `protei300/RussianDocsOCR` docs/validation-checks.md).

use hr_docs_checks::snils::{SnilsError, SnilsValidity, snils_check_number, validate_snils};

#[test]
fn the_official_example() {
    assert_eq!(validate_snils("112-233-445 95"), Ok(SnilsValidity::Checked));
    assert_eq!(snils_check_number("112233445"), Ok(95));
    for wrong in ["112-233-445 94", "112-233-445 59", "112-233-445 00"] {
        assert_eq!(
            validate_snils(wrong),
            Err(SnilsError::CheckNumber),
            "{wrong}"
        );
    }
}

#[test]
fn numbers_without_a_check_number() {
    // "001-001-998 and lower": any two digits pass, only the format is checked.
    for n in [
        "001-001-998 00",
        "001-001-998 99",
        "000-000-000 00",
        "001-000-999 42",
    ] {
        assert_eq!(validate_snils(n), Ok(SnilsValidity::FormatOnly), "{n}");
    }
    assert_eq!(validate_snils("001-001-998 0"), Err(SnilsError::Format));
}

/// The rule maps both sums 100 and 101 to `00` (and, over 101, remainders 0 and 100
/// too): a change of the last weighted digit (weight 1) by one that moves the sum
/// between them keeps the check number. This is the rule, not a bug of ours.
#[test]
fn collision_class_sums_100_and_101() {
    // 001019997: weighted sum 100 → 00. 001019998: sum 101 → 00.
    assert_eq!(validate_snils("001-019-997 00"), Ok(SnilsValidity::Checked));
    assert_eq!(validate_snils("001-019-998 00"), Ok(SnilsValidity::Checked));
    // 002999997: sum 201, remainder 100 → 00. 002999998: sum 202, remainder 0 → 00.
    assert_eq!(validate_snils("002-999-997 00"), Ok(SnilsValidity::Checked));
    assert_eq!(validate_snils("002-999-998 00"), Ok(SnilsValidity::Checked));
    // Any other digit of those numbers changed by one is caught.
    assert_eq!(
        validate_snils("001-019-987 00"),
        Err(SnilsError::CheckNumber)
    );
    assert_eq!(
        validate_snils("001-029-997 00"),
        Err(SnilsError::CheckNumber)
    );
}

#[test]
fn errors_never_repeat_the_number() {
    for input in ["112-233-445 96", "112-233-44"] {
        let e = validate_snils(input).unwrap_err();
        let text = e.to_string();
        assert!(!text.contains("445") && !text.contains("112"), "{text}");
    }
}
