//! SNILS, INN, RVP, birth-certificate and unknown documents; the set as a whole.

use hr_docs_checks::{
    BrokenPolicy, Check, Policy, Severity, Verdict, check_document, check_result,
};
use serde_json::json;

use crate::common::{TODAY, check_one, doc, found, result};

#[test]
fn snils_documents() {
    let ok = check_one(doc(
        "SNILS",
        json!({
            "Number": "112-233-445 95", "BirthDate": "01.02.1990", "RegistrationDate": null
        }),
    ));
    assert!(ok.is_clean(), "{:?}", found(&ok));
    // Beorg may send the number as a JSON number.
    assert!(check_one(doc("SNILS", json!({"Number": 11223344595_u64}))).is_clean());

    let cases = [
        (
            json!({"Number": "112-233-445 96"}),
            vec![(Some("Number"), Check::SnilsCheckNumber)],
        ),
        (
            json!({"Number": "112-233-445"}),
            vec![(Some("Number"), Check::SnilsFormat)],
        ),
        (
            json!({"Number": true}),
            vec![(Some("Number"), Check::SnilsFormat)],
        ),
        (
            json!({"Number": ""}),
            vec![(Some("Number"), Check::FieldMissing)],
        ),
        (json!({}), vec![(Some("Number"), Check::FieldMissing)]),
        (
            json!({"Number": "112-233-445 95", "BirthDate": "01.02.2030", "RegistrationDate": "31.13.2000"}),
            vec![
                (Some("BirthDate"), Check::DateInFuture),
                (Some("RegistrationDate"), Check::DateInvalid),
            ],
        ),
        (
            json!({"Number": "112-233-445 95", "BirthDate": "01.02.1990", "RegistrationDate": "01.01.1989"}),
            vec![(Some("RegistrationDate"), Check::IssuedBeforeBirth)],
        ),
    ];
    for (data, expected) in cases {
        let report = check_one(doc("SNILS", data.clone()));
        assert_eq!(found(&report), expected, "{data}");
    }
}

#[test]
fn inn_documents_read_inn_or_number() {
    // No public example of an INN document's fields: both plausible keys work.
    assert!(check_one(doc("INN", json!({"INN": "123456789047"}))).is_clean());
    assert!(check_one(doc("INN", json!({"Number": "123456789047"}))).is_clean());
    assert!(check_one(doc("INN", json!({"inn": "7707083893"}))).is_clean());
    let cases = [
        (
            json!({"INN": "123456789048"}),
            (Some("INN"), Check::InnCheckDigit),
        ),
        (
            json!({"Number": "12345678904"}),
            (Some("Number"), Check::InnFormat),
        ),
        (json!({"INN": ""}), (Some("INN"), Check::FieldMissing)),
        (json!({"INN": [1, 2]}), (Some("INN"), Check::InnFormat)),
    ];
    for (data, expected) in cases {
        let report = check_one(doc("INN", data.clone()));
        assert_eq!(found(&report), [expected], "{data}");
    }
}

#[test]
fn residence_permit_dates() {
    let ok = check_one(doc(
        "RVP",
        json!({
            "BirthDate": "01.02.1990", "SolutionDate": "01.03.2024", "IssueDate": "15.03.2024",
            "ExpiryDate": "01.03.2027", "IssueId": "770-001"
        }),
    ));
    assert!(ok.is_clean(), "{:?}", found(&ok));
    let report = check_one(doc(
        "RVP",
        json!({
            "BirthDate": "01.02.1990", "SolutionDate": "01.03.1989", "IssueDate": "01.03.2027",
            "ExpiryDate": "14.01.2026"
        }),
    ));
    assert_eq!(
        found(&report),
        [
            (Some("SolutionDate"), Check::IssuedBeforeBirth),
            (Some("IssueDate"), Check::DateInFuture),
            (Some("ExpiryDate"), Check::DocumentExpired),
        ]
    );
    assert_eq!(report.findings[2].severity, Severity::Warning);
}

#[test]
fn birth_certificate_dates() {
    // A child: no age bounds apply.
    let ok = check_one(doc(
        "BRTH",
        json!({"ChildBirthDate": "01.06.2020", "IssueDate": "10.06.2020"}),
    ));
    assert!(ok.is_clean(), "{:?}", found(&ok));
    let report = check_one(doc(
        "BRTH",
        json!({"ChildBirthDate": "01.06.2030", "IssueDate": "30.02.2020"}),
    ));
    assert_eq!(
        found(&report),
        [
            (Some("ChildBirthDate"), Check::DateInFuture),
            (Some("IssueDate"), Check::DateInvalid),
        ]
    );
    let report = check_one(doc(
        "BRTH",
        json!({"ChildBirthDate": "01.06.2020", "IssueDate": "31.05.2020"}),
    ));
    assert_eq!(
        found(&report),
        [(Some("IssueDate"), Check::IssuedBeforeBirth)]
    );
}

#[test]
fn unknown_types_get_beorgs_signals_only() {
    let report = check_one(json!({
        "key": "MARRIAGE1", "type": "MARRIAGE",
        "data": {"Number": "not checked", "IssueDate": "99.99.9999"},
        "broken": true
    }));
    assert_eq!(found(&report), [(None, Check::DocumentBroken)]);
    let f = &report.findings[0];
    assert_eq!(f.document_key.as_deref(), Some("MARRIAGE1"));
    assert_eq!(
        f.document_type.as_ref().map(|t| t.as_str()),
        Some("MARRIAGE")
    );
}

#[test]
fn a_set_broken_as_a_whole() {
    // A public client reads a top-level `broken` / `broken_reasons_ru` on a result.
    let r: beorg_client::RecognitionResult = serde_json::from_value(json!({
        "document_id": "s-9", "documents": [], "broken": true,
        "broken_reasons_ru": ["Нечитаемый скан", "Нет страницы"]
    }))
    .unwrap();
    let report = check_result(&r, &Policy::default(), TODAY);
    assert_eq!(
        found(&report),
        [(None, Check::ResultBroken), (None, Check::NoDocuments)]
    );
    assert_eq!(
        report.findings[0].message_en,
        "Beorg marked the whole set broken (2 reasons given)"
    );
    assert!(report.findings.iter().all(|f| f.document_key.is_none()));
    assert_eq!(report.verdict(), Verdict::Hold);

    let fail = Policy::builder()
        .broken(BrokenPolicy::Fail)
        .build()
        .unwrap();
    let report = check_result(&r, &fail, TODAY);
    assert_eq!(report.findings[0].severity, Severity::Fatal);
    assert_eq!(report.verdict(), Verdict::Fail);
}

#[test]
fn set_findings_first_then_documents_in_order() {
    let r = result(vec![
        doc("SNILS", json!({"Number": "1"})),
        doc("INN", json!({"INN": "1"})),
        json!({"key": "P2", "type": "PASSPORT_REG", "data": {"IssueId": "1"}}),
    ]);
    let report = check_result(&r, &Policy::default(), TODAY);
    let keys: Vec<_> = report
        .findings
        .iter()
        .map(|f| f.document_key.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(keys, ["SNILS", "INN", "P2"]);
    assert_eq!(report.for_document("INN").count(), 1);
    // check_document gives the same findings for one document.
    assert_eq!(
        check_document(&r.documents[2], &Policy::default(), TODAY),
        report.for_document("P2").cloned().collect::<Vec<_>>()
    );
}

#[test]
fn policy_severities_and_disabled_checks() {
    let r = result(vec![doc(
        "SNILS",
        json!({"Number": "112-233-445 96", "BirthDate": ""}),
    )]);
    let policy = Policy::builder()
        .severity(Check::SnilsCheckNumber, Severity::Warning)
        .build()
        .unwrap();
    let report = check_result(&r, &policy, TODAY);
    assert_eq!(report.verdict(), Verdict::Warnings);
    let policy = Policy::builder()
        .disable(Check::SnilsCheckNumber)
        .build()
        .unwrap();
    assert!(check_result(&r, &policy, TODAY).is_clean());
}
