//! The stored form of findings: stable names, `None` left out, forward compatible.

use beorg_client::DocumentType;
use hr_docs_checks::{Check, Finding, Report, Severity};
use serde_json::json;

use crate::common::check_one;
use crate::common::doc;

#[test]
fn a_finding_as_stored() {
    let report = check_one(doc("SNILS", json!({"Number": "112-233-445 96"})));
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        json!({"findings": [{
            "document_key": "SNILS",
            "document_type": "SNILS",
            "field": "Number",
            "check": "snils_check_number",
            "severity": "error",
            "message_ru": "Контрольное число СНИЛС не совпадает",
            "message_en": "SNILS check number does not match"
        }]})
    );
}

#[test]
fn round_trip_and_newer_writers() {
    let report = check_one(json!({
        "key": "P", "type": "PASSPORT", "data": {"Series": "1"},
        "metadata": {"verifications": {"checks": {"verify_passport": [{"status": 1, "key": "series_okato"}]}}}
    }));
    let back: Report = serde_json::from_value(serde_json::to_value(&report).unwrap()).unwrap();
    assert_eq!(back, report);

    // A newer version's check name and an extra field still load.
    let stored = json!({"findings": [{
        "check": "inn_region_code", "severity": "warning",
        "message_ru": "…", "message_en": "…", "added_later": 1
    }]});
    let r: Report = serde_json::from_value(stored).unwrap();
    assert_eq!(
        r.findings[0].check,
        Check::Unknown("inn_region_code".into())
    );
    assert_eq!(r.findings[0].severity, Severity::Warning);
    assert_eq!(r.findings[0].document_key, None);
}

#[test]
fn severities_are_lowercase_words() {
    for (s, name) in [
        (Severity::Warning, "warning"),
        (Severity::Error, "error"),
        (Severity::Fatal, "fatal"),
    ] {
        assert_eq!(serde_json::to_value(s).unwrap(), json!(name));
        assert_eq!(s.as_str(), name);
    }
    assert!(Severity::Warning < Severity::Error && Severity::Error < Severity::Fatal);
}

#[test]
fn a_caller_built_finding() {
    let f = Finding::new(Check::DateInvalid, Severity::Error)
        .document("RVP1", DocumentType::Rvp)
        .field("ExpiryDate");
    assert_eq!(
        f.message_ru,
        "Поле «ExpiryDate»: не дата вида дд.мм.гггг или такого дня не существует"
    );
    assert_eq!(
        f.to_string(),
        "error RVP1/ExpiryDate: date_invalid: Field \"ExpiryDate\" is not a dd.mm.yyyy date, or no such day exists"
    );
}
