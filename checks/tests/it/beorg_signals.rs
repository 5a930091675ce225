//! Beorg's own signals: `broken`, `verifications`, `metadata_check`, confidences.
//!
//! Shapes from Beorg's published result examples (as collected in the project's API
//! notes): confidences as strings, numbers or `null`; `verifications.status` `0`, `1`
//! or `""`; `checks.verify_passport` a list of `{status, key, title}`; `bad_fields` a
//! list of field names; `broken` `null` or `true`.

use hr_docs_checks::{Check, Policy, Severity, check_result};
use serde_json::{Value, json};

use crate::common::{TODAY, check_one, found, result};

#[allow(clippy::unwrap_used)] // test helper
fn snils_with(extra: Value) -> Value {
    let mut d = json!({
        "key": "SNILS", "type": "SNILS",
        "data": {"Number": "112-233-445 95", "LastName": "Петров", "FirstName": "Пётр", "MRZ1": "",
                 "Место рождения": "г. Тула"}
    });
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    d
}

#[test]
fn broken_documents_count_their_reasons_but_never_quote_them() {
    let report = check_one(snils_with(json!({
        "broken": true,
        "broken_reasons": ["unreadable"],
        "broken_reasons_ru": ["нечитаемо: Петров", "обрезано"]
    })));
    assert_eq!(found(&report), [(None, Check::DocumentBroken)]);
    let f = &report.findings[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.message_en,
        "Beorg marked the document broken (2 reasons given)"
    );
    assert_eq!(
        f.message_ru,
        "Beorg пометил документ как испорченный (причин: 2)"
    );
    // `broken: null` and `false` are not broken.
    for broken in [json!(null), json!(false), json!("0")] {
        assert!(check_one(snils_with(json!({"broken": broken}))).is_clean());
    }
}

#[test]
fn failed_checks_and_bad_fields() {
    let report = check_one(snils_with(json!({"metadata": {"verifications": {
        "status": 1, "status_text": "error",
        "checks": {"verify_passport": [
            {"status": 0, "key": "fields_to_check_valid", "title": "ok"},
            {"status": 1, "key": "series_okato", "title": "Серия не соответствует региону"},
            {"status": "1", "title": "no key"}
        ]},
        "bad_fields": ["Number", "Имя с пробелом"]
    }}})));
    assert_eq!(
        found(&report),
        [
            (None, Check::BeorgCheckFailed),
            (None, Check::BeorgCheckFailed),
            (Some("Number"), Check::BeorgBadField),
            // A "field name" that is not an identifier is not copied into a finding.
            (None, Check::BeorgBadField),
        ]
    );
    let keys: Vec<_> = report
        .findings
        .iter()
        .map(|f| f.beorg_check.as_deref())
        .collect();
    assert_eq!(
        keys,
        [Some("series_okato"), Some("verify_passport"), None, None]
    );
    assert_eq!(
        report.findings[0].message_en,
        "Beorg's check \"series_okato\" failed"
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity == Severity::Warning)
    );
}

#[test]
fn a_failed_status_without_details() {
    let report = check_one(snils_with(
        json!({"metadata": {"verifications": {"status": "1"}}}),
    ));
    assert_eq!(found(&report), [(None, Check::BeorgVerificationFailed)]);
    for status in [json!(0), json!(""), json!(null), json!("0")] {
        let report = check_one(snils_with(
            json!({"metadata": {"verifications": {"status": status}}}),
        ));
        assert!(report.is_clean(), "{status}");
    }
    let report = check_one(snils_with(
        json!({"metadata": {"metadata_check": {"status": 1, "checks": {}}}}),
    ));
    assert_eq!(found(&report), [(None, Check::BeorgSourceCheckFailed)]);
    let report = check_one(snils_with(
        json!({"metadata": {"verifications": {}, "metadata_check": {}}}),
    ));
    assert!(report.is_clean());
}

#[test]
fn confidences_in_every_published_form() {
    let report = check_one(snils_with(json!({"metadata": {"confidences": {
        "Number": "0.42",          // a string
        "LastName": 0.5,           // a number
        "Firstname": "0,61",       // other key casing, decimal comma
        "MiddleName": "0.1",       // a field that was not recognized: skipped
        "MRZ1": "0",               // empty field: skipped
        "BirthDate": null,         // no value: skipped
        "BirthPlace": "n/a",       // not a number: skipped
        "RegistrationDate": 0.99,  // above the threshold
        "Место рождения": "0.2"    // not an identifier: reported without the name
    }}})));
    assert_eq!(
        found(&report),
        [
            (Some("Number"), Check::LowConfidence),
            (Some("LastName"), Check::LowConfidence),
            (Some("Firstname"), Check::LowConfidence),
            (None, Check::LowConfidence),
        ]
    );
    assert_eq!(
        report.findings[0].message_en,
        "Low recognition confidence for field \"Number\": 0.42 < 0.80"
    );
    assert!(!report.has_errors());

    // The threshold is the policy's.
    let r = result(vec![snils_with(
        json!({"metadata": {"confidences": {"Number": "0.42"}}}),
    )]);
    let lax = Policy::builder().confidence_threshold(0.4).build().unwrap();
    assert!(check_result(&r, &lax, TODAY).is_clean());
    let strict = Policy::builder()
        .severity(Check::LowConfidence, Severity::Error)
        .build()
        .unwrap();
    assert!(check_result(&r, &strict, TODAY).has_errors());
}
