//! The MRZ of a passport document: check digits, layout, and the fields it encodes.
//!
//! Layout sources (see docs/checks.md): the MVD rules for the internal passport's
//! machine-readable record (docs.cntd.ru/document/902288198, table 3: positions 1–9
//! series and number, 29–42 additional data, check digits 10/20/28/43/44); the
//! composition of the additional data (last series digit, issue date, subdivision code)
//! and of positions 1–9 (first three series digits + number) from public explanations
//! of the record (ya.ru/neurum, bt-tickets.ru); the empty expiry date with a `<` check
//! digit and the non-transliterated names from `protei300/RussianDocsOCR`
//! (document_processing/validation/mrz.py).

use hr_docs_checks::mrz::{MrzError, MrzField, MrzLine2, mrz_check_digit};
use hr_docs_checks::{Check, Severity};
use serde_json::json;

use crate::common::{MRZ1, check_one, found, mrz2, passport_with};

#[test]
fn the_reference_line_parses_into_the_passport_fields() {
    let line = mrz2("4510", "123456", "900201", 'M', "110328", "540004");
    let l = MrzLine2::parse(&line).unwrap();
    assert!(l.failed_check_digits().is_empty());
    let p = l.internal_passport();
    assert_eq!(p.series(), "4510");
    assert_eq!(p.number(), "123456");
    assert_eq!(p.issue_date(), "110328");
    assert_eq!(p.subdivision_code(), "540004");
    assert_eq!(l.birth_date(), "900201");
    assert_eq!(l.sex(), 'M');
    assert_eq!(l.expiry_date(), "<<<<<<");
    assert_eq!(l.nationality(), "RUS");
}

/// ICAO Doc 9303 part 3 prints this worked example of the 7-3-1 check digit: the
/// date 520727 has check digit 3.
#[test]
fn icao_worked_example() {
    assert_eq!(mrz_check_digit("520727"), Ok(3));
    assert_eq!(mrz_check_digit(""), Ok(0));
    assert_eq!(mrz_check_digit("<<<<<<"), Ok(0));
}

#[test]
fn each_failed_check_digit_is_named() {
    let good = mrz2("4510", "123456", "900201", 'M', "110328", "540004");
    // (position to corrupt, 0-based; the check digits that must fail)
    let cases = [
        (9, vec![MrzField::DocumentNumber, MrzField::Composite]),
        (19, vec![MrzField::BirthDate, MrzField::Composite]),
        (42, vec![MrzField::OptionalData, MrzField::Composite]),
        (43, vec![MrzField::Composite]),
    ];
    for (at, expected) in cases {
        let mut bytes = good.clone().into_bytes();
        bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
        let line = String::from_utf8(bytes).unwrap();
        assert_eq!(
            MrzLine2::parse(&line).unwrap().failed_check_digits(),
            expected,
            "position {at}"
        );
        let report = check_one(passport_with(json!({"MRZ2": line})));
        let checks: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.field.as_deref(), f.check.clone(), f.severity))
            .collect();
        assert_eq!(
            checks,
            vec![(Some("MRZ2"), Check::MrzCheckDigit, Severity::Error); expected.len()],
            "position {at}"
        );
    }
    // The message names which check digit, never the line.
    let mut bytes = good.into_bytes();
    bytes[19] = if bytes[19] == b'1' { b'2' } else { b'1' };
    let report = check_one(passport_with(
        json!({"MRZ2": String::from_utf8(bytes).unwrap()}),
    ));
    assert_eq!(
        report.findings[0].message_en,
        "A check digit of the machine-readable zone does not match: birth date"
    );
    assert_eq!(
        report.findings[0].message_ru,
        "Контрольная цифра машиночитаемой записи не совпадает: дата рождения"
    );
}

#[test]
fn an_expiry_date_where_the_internal_passport_has_none_must_check_out() {
    let good = mrz2("4510", "123456", "900201", 'M', "110328", "540004");
    let mut bytes = good.into_bytes();
    bytes[21..27].copy_from_slice(b"300101");
    let l = MrzLine2::parse(std::str::from_utf8(&bytes).unwrap()).unwrap();
    // A date with a `<` check digit is not an empty field.
    assert!(l.failed_check_digits().contains(&MrzField::ExpiryDate));
}

#[test]
fn mrz_against_the_page() {
    // Each recognized field differs from an MRZ whose check digits are all right.
    let cases = [
        (json!({"Series": "4511"}), "Series"),
        (json!({"Series": "4610"}), "Series"),
        (json!({"Number": "123457"}), "Number"),
        (json!({"BirthDate": "02.02.1990"}), "BirthDate"),
        (json!({"IssueDate": "29.03.2011"}), "IssueDate"),
        (json!({"IssueId": "540-005"}), "IssueId"),
        (json!({"Gender": "Ж"}), "Gender"),
    ];
    for (change, field) in cases {
        let report = check_one(passport_with(change.clone()));
        assert_eq!(
            found(&report),
            [(Some(field), Check::MrzMismatch)],
            "{change}"
        );
        assert_eq!(
            report.findings[0].message_en,
            format!("Field \"{field}\" does not match the machine-readable zone")
        );
    }
}

#[test]
fn a_field_whose_check_digit_failed_is_not_compared() {
    // The MRZ's birth date misread (its check digit fails) and the page differs too:
    // one finding, the check digit, not a mismatch on top.
    let mut line = mrz2("4510", "123456", "900201", 'M', "110328", "540004").into_bytes();
    line[18] = b'2'; // 900202
    let report = check_one(passport_with(json!({
        "MRZ2": String::from_utf8(line).unwrap(), "BirthDate": "03.02.1990"
    })));
    assert_eq!(
        found(&report),
        [
            (Some("MRZ2"), Check::MrzCheckDigit),
            (Some("MRZ2"), Check::MrzCheckDigit)
        ]
    );
    let parts: Vec<_> = report
        .findings
        .iter()
        .map(|f| f.message_en.clone())
        .collect();
    assert!(
        parts[0].ends_with("birth date") && parts[1].ends_with("composite"),
        "{parts:?}"
    );
}

#[test]
fn unreadable_or_half_recognized_mrz() {
    let line2 = mrz2("4510", "123456", "900201", 'M', "110328", "540004");
    let cases = [
        (
            json!({"MRZ1": ""}),
            "MRZ1",
            "Only one line of the machine-readable zone was recognized, field \"MRZ1\" is missing",
        ),
        (
            json!({"MRZ2": ""}),
            "MRZ2",
            "Only one line of the machine-readable zone was recognized, field \"MRZ2\" is missing",
        ),
        (
            json!({"MRZ1": MRZ1.replacen("PN", "P<", 1)}),
            "MRZ1",
            "The machine-readable zone (field \"MRZ1\") is not a Russian passport's (no PNRUS)",
        ),
        (
            json!({"MRZ1": &MRZ1[..40]}),
            "MRZ1",
            "The machine-readable zone (field \"MRZ1\") is unreadable: 44 characters of 0-9, A-Z, < expected",
        ),
        (
            json!({"MRZ2": line2.replacen("RUS", "RЦS", 1)}),
            "MRZ2",
            "The machine-readable zone (field \"MRZ2\") is unreadable: 44 characters of 0-9, A-Z, < expected",
        ),
        (
            json!({"MRZ2": ["not", "text"]}),
            "MRZ2",
            "The machine-readable zone (field \"MRZ2\") is unreadable: 44 characters of 0-9, A-Z, < expected",
        ),
    ];
    for (change, field, message) in cases {
        let report = check_one(passport_with(change.clone()));
        assert_eq!(
            found(&report),
            [(Some(field), Check::MrzFormat)],
            "{change}"
        );
        assert_eq!(report.findings[0].message_en, message);
        assert_eq!(report.findings[0].severity, Severity::Warning);
    }
}

#[test]
fn ocr_spacing_and_case_are_tolerated() {
    let line2 = mrz2("4510", "123456", "900201", 'M', "110328", "540004");
    let spaced = format!("{} {}", &line2[..22].to_lowercase(), &line2[22..]);
    let report = check_one(passport_with(
        json!({"MRZ2": spaced, "MRZ1": format!(" {MRZ1}\n")}),
    ));
    assert!(report.is_clean(), "{:?}", found(&report));
}

#[test]
fn parse_errors_name_a_position_never_the_content() {
    let e = MrzLine2::parse("PNRUS").unwrap_err();
    assert_eq!(e, MrzError::Length { found: 5 });
    assert_eq!(e.to_string(), "an MRZ line must be 44 characters, found 5");
    let e = MrzLine2::parse("ИВАНОВ").unwrap_err();
    assert_eq!(e, MrzError::Character { position: 1 });
    assert_eq!(e.to_string(), "MRZ character 1 is not 0-9, A-Z or <");
}
