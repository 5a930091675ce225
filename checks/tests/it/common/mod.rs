//! Shared helpers: results built from wire JSON, a valid passport, MRZ lines.
//!
//! Results are written as JSON (the shape Beorg sends, `serde_json::json!`) and read
//! through `beorg_client`'s own deserializer, as the pipeline will; no model type is
//! built by hand. Every value is synthetic: no real person's data.
// Test helpers: a panic here is a failed test.
#![allow(unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use beorg_client::RecognitionResult;
use hr_docs_checks::mrz::mrz_check_digit;
use hr_docs_checks::{Check, Policy, Report, check_result};
use serde_json::{Value, json};
use time::Date;
use time::macros::date;

/// "Today" for every test: the checks take it as an argument.
pub const TODAY: Date = date!(2026 - 01 - 15);

/// A result of these documents (wire JSON).
pub fn result(documents: Vec<Value>) -> RecognitionResult {
    serde_json::from_value(json!({"document_id": "s-1", "documents": documents}))
        .expect("a result object")
}

/// A document of this type with this `data` (its key is its type).
pub fn doc(doc_type: &str, data: Value) -> Value {
    json!({"key": doc_type, "type": doc_type, "data": data})
}

/// The default checks of one document.
pub fn check_one(document: Value) -> Report {
    check_result(&result(vec![document]), &Policy::default(), TODAY)
}

/// `(field, check)` of every finding, in order.
pub fn found(report: &Report) -> Vec<(Option<&str>, Check)> {
    report
        .findings
        .iter()
        .map(|f| (f.field.as_deref(), f.check.clone()))
        .collect()
}

/// The check digit of `data` as a character.
fn digit(data: &str) -> char {
    char::from(b'0' + mrz_check_digit(data).expect("MRZ characters"))
}

/// A second MRZ line of a Russian internal passport with every check digit right:
/// series (4 digits), number (6), birth `YYMMDD`, sex `M`/`F`, issue `YYMMDD`,
/// subdivision code (6 digits).
pub fn mrz2(
    series: &str,
    number: &str,
    birth: &str,
    sex: char,
    issued: &str,
    code: &str,
) -> String {
    let doc_number = format!("{}{}", &series[..3], number);
    let optional = format!("{}{}{}<", &series[3..], issued, code);
    assert_eq!(optional.len(), 14);
    let mut line = format!(
        "{doc_number}{}RUS{birth}{}{sex}<<<<<<<{optional}{}",
        digit(&doc_number),
        digit(birth),
        digit(&optional)
    );
    let composite = format!("{}{}{}", &line[0..10], &line[13..20], &line[21..43]);
    line.push(digit(&composite));
    assert_eq!(line.len(), 44);
    line
}

/// The first MRZ line of a synthetic holder.
pub const MRZ1: &str = "PNRUSIVANOV<<IVAN<IVANOVI3<<<<<<<<<<<<<<<<<<";

/// The data of a passport every check passes on `TODAY`: born 01.02.1990, issued
/// 28.03.2011 (at 21, so valid until 90 days after the 45th birthday), with its MRZ.
pub fn passport_data() -> Value {
    json!({
        "LastName": "Иванов", "FirstName": "Иван", "MiddleName": "Иванович",
        "Gender": "М", "BirthDate": "01.02.1990", "BirthPlace": "г. Москва",
        "Series": "4510", "Number": "123456", "IssuedBy": "Отделом УФМС",
        "IssueDate": "28.03.2011", "IssueId": "540-004", "Address": "",
        "HasPhoto": "1", "HasOwnerSignature": "1",
        "MRZ1": MRZ1,
        "MRZ2": mrz2("4510", "123456", "900201", 'M', "110328", "540004"),
    })
}

/// `passport_data()` with some fields replaced.
pub fn passport_with(changes: Value) -> Value {
    let mut data = passport_data();
    for (k, v) in changes.as_object().expect("an object") {
        data[k] = v.clone();
    }
    doc("PASSPORT", data)
}

#[test]
fn the_reference_passport_is_clean() {
    let report = check_one(doc("PASSPORT", passport_data()));
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(MRZ1.len(), 44);
}
