//! The passport's formats and dates, through `check_result`.

use hr_docs_checks::{Check, Policy, Severity, check_result};
use serde_json::json;

use crate::common::{TODAY, check_one, doc, found, passport_data, passport_with, result};

/// Without its MRZ, so that the date and format checks speak alone.
fn no_mrz(changes: serde_json::Value) -> serde_json::Value {
    let mut d = passport_with(changes);
    d["data"]["MRZ1"] = json!("");
    d["data"]["MRZ2"] = json!("");
    d
}

#[test]
fn formats_of_series_number_and_subdivision_code() {
    let report = check_one(no_mrz(json!({
        "Series": "451", "Number": "12345б", "IssueId": "540004"
    })));
    assert_eq!(
        found(&report),
        [
            (Some("Series"), Check::PassportSeriesFormat),
            (Some("Number"), Check::PassportNumberFormat),
            (Some("IssueId"), Check::SubdivisionCodeFormat),
        ]
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity == Severity::Error)
    );
}

#[test]
fn printed_forms_and_numbers_are_accepted() {
    // "45 10" as printed; a number sent as a JSON number.
    let report = check_one(no_mrz(json!({"Series": "45 10", "Number": 654321})));
    assert!(report.is_clean(), "{:?}", found(&report));
    // A JSON number loses a leading zero: the format check says so.
    let report = check_one(no_mrz(json!({"Number": 12345})));
    assert_eq!(
        found(&report),
        [(Some("Number"), Check::PassportNumberFormat)]
    );
    // Not text at all.
    let report = check_one(no_mrz(json!({"Series": {"value": "4510"}})));
    assert_eq!(
        found(&report),
        [(Some("Series"), Check::PassportSeriesFormat)]
    );
}

#[test]
fn a_date_that_does_not_exist_is_reported_not_dropped() {
    let report = check_one(no_mrz(json!({"BirthDate": "31.02.1990"})));
    assert_eq!(found(&report), [(Some("BirthDate"), Check::DateInvalid)]);
    let report = check_one(no_mrz(json!({"IssueDate": "2011-03-28"})));
    assert_eq!(found(&report), [(Some("IssueDate"), Check::DateInvalid)]);
    let report = check_one(no_mrz(json!({"IssueDate": 28032011})));
    assert_eq!(found(&report), [(Some("IssueDate"), Check::DateInvalid)]);
}

#[test]
fn dates_in_the_future() {
    let report = check_one(no_mrz(
        json!({"BirthDate": "16.01.2026", "IssueDate": "16.01.2026"}),
    ));
    assert_eq!(
        found(&report),
        [
            (Some("BirthDate"), Check::DateInFuture),
            (Some("IssueDate"), Check::DateInFuture),
        ]
    );
    // Today itself is not the future.
    let report = check_one(no_mrz(json!({"IssueDate": "15.01.2026"})));
    assert!(report.is_clean(), "{:?}", found(&report));
}

#[test]
fn age_bounds_come_from_the_policy() {
    // Born 16.01.2012: 13 on TODAY, one day short of 14.
    let report = check_one(no_mrz(json!({"BirthDate": "16.01.2012", "IssueDate": ""})));
    assert_eq!(
        found(&report),
        [
            (Some("BirthDate"), Check::AgeOutOfRange),
            (Some("IssueDate"), Check::FieldMissing),
        ]
    );
    assert_eq!(
        report.findings[0].message_en,
        "The age from field \"BirthDate\" is outside the allowed 14–120 years"
    );
    // 14 on TODAY exactly, issued today: fine.
    let report = check_one(no_mrz(
        json!({"BirthDate": "15.01.2012", "IssueDate": "15.01.2026"}),
    ));
    assert!(report.is_clean(), "{:?}", found(&report));
    // A stricter policy.
    let policy = Policy::builder().age_bounds(18..=65).build().unwrap();
    let r = result(vec![no_mrz(
        json!({"BirthDate": "01.02.1950", "IssueDate": "01.03.1999"}),
    )]);
    let report = check_result(&r, &policy, TODAY);
    assert_eq!(found(&report), [(Some("BirthDate"), Check::AgeOutOfRange)]);
}

#[test]
fn issued_before_the_fourteenth_birthday() {
    // Born 01.02.1990: 14 on 01.02.2004.
    let report = check_one(no_mrz(json!({"IssueDate": "31.01.2004"})));
    assert_eq!(
        found(&report),
        [(Some("IssueDate"), Check::PassportIssuedBefore14)]
    );
    // On the birthday: fine (and replaced at 20 + 90 days → overdue by TODAY).
    let report = check_one(no_mrz(json!({"IssueDate": "01.02.2004"})));
    assert_eq!(
        found(&report),
        [(Some("IssueDate"), Check::PassportReplacementDue)]
    );
}

#[test]
fn issued_before_birth_is_reported_once() {
    let report = check_one(no_mrz(
        json!({"BirthDate": "01.02.2000", "IssueDate": "01.02.1999"}),
    ));
    assert_eq!(
        found(&report),
        [(Some("IssueDate"), Check::IssuedBeforeBirth)]
    );
}

#[test]
fn issued_before_the_form_existed() {
    let report = check_one(no_mrz(
        json!({"BirthDate": "01.02.1960", "IssueDate": "30.09.1997"}),
    ));
    let checks = found(&report);
    assert!(
        checks.contains(&(Some("IssueDate"), Check::PassportIssuedBeforeIntroduction)),
        "{checks:?}"
    );
    let report = check_one(no_mrz(
        json!({"BirthDate": "01.02.1960", "IssueDate": "01.10.1997"}),
    ));
    assert!(
        !found(&report).contains(&(Some("IssueDate"), Check::PassportIssuedBeforeIntroduction))
    );
}

#[test]
fn replacement_at_20_and_45_with_90_days_grace() {
    // Turned 45 on 15.10.2025; day 90 after it is 13.01.2026 — overdue on TODAY.
    let report = check_one(no_mrz(
        json!({"BirthDate": "15.10.1980", "IssueDate": "20.10.2000"}),
    ));
    assert_eq!(
        found(&report),
        [(Some("IssueDate"), Check::PassportReplacementDue)]
    );
    assert_eq!(report.findings[0].severity, Severity::Warning);
    // Turned 45 on 17.10.2025: day 90 is 15.01.2026 = TODAY, still valid.
    let report = check_one(no_mrz(
        json!({"BirthDate": "17.10.1980", "IssueDate": "20.10.2000"}),
    ));
    assert!(report.is_clean(), "{:?}", found(&report));
    // Issued at 45 or later: never due.
    let report = check_one(no_mrz(
        json!({"BirthDate": "15.10.1950", "IssueDate": "15.10.1999"}),
    ));
    assert!(report.is_clean(), "{:?}", found(&report));
    // Off by policy.
    let policy = Policy::builder()
        .disable(Check::PassportReplacementDue)
        .build()
        .unwrap();
    let r = result(vec![no_mrz(
        json!({"BirthDate": "15.10.1980", "IssueDate": "20.10.2000"}),
    )]);
    assert!(check_result(&r, &policy, TODAY).is_clean());
}

#[test]
fn missing_fields_of_the_main_spread() {
    let report = check_one(no_mrz(json!({
        "Series": "", "Number": null, "IssueId": " ", "BirthDate": "", "IssueDate": ""
    })));
    assert_eq!(
        found(&report),
        [
            (Some("Series"), Check::FieldMissing),
            (Some("Number"), Check::FieldMissing),
            (Some("IssueId"), Check::FieldMissing),
            (Some("BirthDate"), Check::FieldMissing),
            (Some("IssueDate"), Check::FieldMissing),
        ]
    );
    assert!(
        !report.has_errors(),
        "missing fields are warnings by default"
    );
}

#[test]
fn the_registration_page_checks_only_what_it_has() {
    let report = check_one(doc(
        "PASSPORT_REG",
        json!({"Address": "г. Москва", "Series": ""}),
    ));
    assert!(report.is_clean(), "{:?}", found(&report));
    let report = check_one(doc(
        "PASSPORT_REG",
        json!({"Series": "45100", "BirthDate": "30.02.1990"}),
    ));
    assert_eq!(
        found(&report),
        [
            (Some("Series"), Check::PassportSeriesFormat),
            (Some("BirthDate"), Check::DateInvalid),
        ]
    );
}

/// The example answer of Beorg's result endpoint (an empty MRZ with a `"0"`
/// confidence, `broken: null`, `verifications.status: 0` with a passed check, as in
/// `docs/beorg-client.md`'s shape from Beorg's published examples): no finding.
#[test]
fn beorgs_published_example_shape_is_clean() {
    let mut data = passport_data();
    data["MRZ1"] = json!("");
    data["MRZ2"] = json!("");
    let r = result(vec![json!({
        "key": "PASSPORT", "type": "PASSPORT", "data": data,
        "metadata": {
            "confidences": {"BirthDate": "0.9996", "MRZ1": "0"},
            "verifications": {"status": 0, "status_text": "ok",
                "checks": {"verify_passport": [{"status": 0, "key": "fields_to_check_valid", "title": "..."}]},
                "bad_fields": []},
            "metadata_check": {"status": 0, "checks": {"source_check": 1}}
        },
        "broken": null, "broken_reasons": [], "broken_reasons_ru": []
    })]);
    let report = check_result(&r, &Policy::default(), TODAY);
    assert!(report.is_clean(), "{:?}", found(&report));
}
