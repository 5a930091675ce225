//! No recognized value ever reaches a finding: not its messages, not its fields, not
//! its JSON, `Display` or `Debug` — whatever the checks find.

use hr_docs_checks::{Policy, check_result};
use serde_json::json;

use crate::common::{TODAY, result};

/// Distinctive synthetic values, each of which must stay out of every finding.
const SECRETS: &[&str] = &[
    "Ъюлианова",
    "Эсфирь",
    "Щукинична",
    "7391",
    "864209",
    "913-572",
    "29.02.1977",
    "31.04.1999",
    "13.13.2001",
    "Глубокий Яр",
    "987-654-321 00",
    "987654321",
    "500100732258",
    "Паспорт_Ъюлианова",
    "QWERTYMRZ",
    "нечитаемо Ъюлианова",
];

#[test]
fn findings_carry_no_recognized_value() {
    let r = result(vec![
        json!({
            "key": "PASSPORT", "type": "PASSPORT", "FileName": "Паспорт_Ъюлианова",
            "data": {
                "LastName": "Ъюлианова", "FirstName": "Эсфирь", "MiddleName": "Щукинична",
                "Gender": "Ж", "BirthDate": "29.02.1977", "BirthPlace": "Глубокий Яр",
                "Series": "7391", "Number": "864209", "IssueId": "913-572",
                "IssueDate": "31.04.1999", "MRZ1": "QWERTYMRZ", "MRZ2": "PNRUS<<7391864209",
                "FileName": "Паспорт_Ъюлианова"
            },
            "metadata": {
                "confidences": {"LastName": "0.1", "Series": 0.2, "Number": "0.3"},
                "verifications": {"status": 1, "bad_fields": ["LastName", "Ъюлианова"],
                    "checks": {"verify_passport": [{"status": 1, "key": "Ъюлианова", "title": "Ъюлианова"}]}}
            },
            "broken": true, "broken_reasons_ru": ["нечитаемо Ъюлианова"]
        }),
        json!({"key": "SNILS", "type": "SNILS",
               "data": {"Number": "987-654-321 00", "BirthDate": "13.13.2001", "LastName": "Ъюлианова"}}),
        json!({"key": "INN", "type": "INN", "data": {"INN": "500100732258"}}),
    ]);
    let policy = Policy::builder().confidence_threshold(1.0).build().unwrap();
    let report = check_result(&r, &policy, TODAY);
    assert!(report.findings.len() >= 10, "{:#?}", report.findings);

    let json = serde_json::to_string(&report).unwrap();
    let shown: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    let debug = format!("{report:?}");
    for secret in SECRETS {
        assert!(!json.contains(secret), "{secret} in JSON: {json}");
        assert!(!debug.contains(secret), "{secret} in Debug");
        for s in &shown {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
    }
    // Not even a fragment of the numbers (4 digits in a row from any of them).
    for number in [
        "7391864209",
        "913572",
        "98765432100",
        "500100732258",
        "29021977",
        "31041999",
    ] {
        for w in number.as_bytes().windows(4) {
            let frag = std::str::from_utf8(w).unwrap();
            assert!(
                !json.contains(frag),
                "fragment {frag} of a number in {json}"
            );
        }
    }
}
