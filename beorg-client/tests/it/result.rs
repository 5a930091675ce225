//! `/api/document/result/{set}`: GET and POST forms, every quirk of the payload,
//! 425 / empty answers, and `wait_for_result`.

use std::time::Duration;

use crate::common::{TOKEN, builder, client, server};
use beorg_client::{
    CheckStatus, DocumentType, Error, Gender, HttpMethod, RecognitionResult, ResultStatus, SetId,
};
use serde_json::json;
use time::macros::date;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const PASSPORT_SNILS: &str = include_str!("../fixtures/result_passport_snils.json");
const OTHER_TYPES: &str = include_str!("../fixtures/result_other_types.json");
const PROCESSING: &str = include_str!("../fixtures/result_processing.json");

fn json_body(s: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(s.as_bytes().to_vec(), "application/json")
}

#[tokio::test]
async fn get_result_parses_every_quirk() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-12345"))
        .and(query_param("token", TOKEN))
        .respond_with(json_body(PASSPORT_SNILS))
        .expect(1)
        .mount(&server)
        .await;

    let status = client(&server)
        .result(&SetId::from_number(12345))
        .await
        .unwrap();
    let result = status.into_ready().expect("ready");
    assert_eq!(result.document_id, SetId::new("s-12345"));
    assert_eq!(result.documents.len(), 2);
    assert_eq!(
        result.extra["archive_url"],
        "https://archive.example/s-12345"
    );

    // Passport registration page, Cyrillic values, FileName in data.
    let reg = &result.documents[0];
    assert_eq!(reg.key, "PASSPORT_REG1");
    assert_eq!(reg.doc_type, DocumentType::PassportReg);
    assert_eq!(reg.file_name(), Some("Паспорт_Иванов"));
    assert_eq!(reg.broken, None);
    assert!(!reg.is_broken());
    assert_eq!(reg.extra["quality"], json!({"blur": 0.01}));
    let p = reg.passport().expect("passport view");
    assert_eq!(p.last_name.as_deref(), Some("Иванов"));
    assert_eq!(p.full_name().as_deref(), Some("Иванов Иван Иванович"));
    assert_eq!(p.gender, Some(Gender::Male));
    assert_eq!(p.birth_date, Some(date!(1990 - 02 - 01)));
    assert_eq!(p.issue_date, Some(date!(2011 - 03 - 28)));
    assert_eq!(p.series_and_number().as_deref(), Some("4510 123456"));
    assert_eq!(p.has_photo, Some(true));
    assert_eq!(p.mrz1, None, "\"\" means not recognized");
    // Confidences: string, number, "0", null, integer.
    let c = &reg.metadata.confidences;
    assert_eq!(c.get("BirthDate"), Some(0.9996));
    assert_eq!(c.get("LastName"), Some(0.98));
    assert_eq!(c.get("MRZ1"), Some(0.0));
    assert_eq!(c.get("MRZ2"), None);
    assert_eq!(c.raw("MRZ2"), Some(&json!(null)));
    assert_eq!(c.get("Series"), Some(1.0));
    // Verifications with status 0 and checks.
    let v = &reg.metadata.verifications;
    assert_eq!(v.status, Some(CheckStatus::Passed));
    assert!(v.passed());
    assert_eq!(v.status_text.as_deref(), Some("ok"));
    assert_eq!(v.bad_fields, vec!["Series".to_owned()]);
    let checks = v.check_items();
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[1].key.as_deref(), Some("fio_series_number_mrz"));
    assert_eq!(checks[1].status, Some(CheckStatus::Failed));
    assert_eq!(checks[1].extra["weight"], 3);
    assert_eq!(
        reg.metadata.metadata_check.status,
        Some(CheckStatus::Passed)
    );
    assert_eq!(
        reg.metadata.metadata_check.check_items()[0].group,
        "source_check"
    );
    assert_eq!(reg.metadata.extra["processing_ms"], 1834);

    // SNILS: document-level FileName, `Firstname` casing, status "", {} metadata_check,
    // RegistrationDate null, broken true.
    let snils_doc = &result.documents[1];
    assert_eq!(snils_doc.file_name(), Some("СНИЛС_Иванов"));
    assert_eq!(snils_doc.confidence("FirstName"), Some(0.97));
    assert_eq!(snils_doc.metadata.verifications.status, None);
    assert_eq!(snils_doc.metadata.metadata_check, Default::default());
    assert_eq!(snils_doc.broken, Some(true));
    assert_eq!(snils_doc.broken_reasons, vec![json!("low_quality")]);
    assert_eq!(snils_doc.broken_reasons_ru, vec![json!("Низкое качество")]);
    let s = snils_doc.snils().expect("snils view");
    assert_eq!(s.registration_date, None);
    assert_eq!(s.digits().as_deref(), Some("11223344595"));
    assert!(snils_doc.passport().is_none());

    assert_eq!(result.surname().as_deref(), Some("Иванов"));
}

#[tokio::test]
async fn results_round_trip_through_serde_without_losing_fields() {
    let parsed: RecognitionResult = serde_json::from_str(PASSPORT_SNILS).unwrap();
    let again: RecognitionResult =
        serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
    assert_eq!(parsed, again);
    let original: serde_json::Value = serde_json::from_str(PASSPORT_SNILS).unwrap();
    let reserialized = serde_json::to_value(&parsed).unwrap();
    assert_eq!(
        original["documents"][0]["quality"],
        reserialized["documents"][0]["quality"]
    );
    assert_eq!(original["archive_url"], reserialized["archive_url"]);
}

#[tokio::test]
async fn other_types_unknown_types_and_null_sections() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-777"))
        .respond_with(json_body(OTHER_TYPES))
        .expect(1)
        .mount(&server)
        .await;
    let result = client(&server)
        .result(&SetId::from_number(777))
        .await
        .unwrap()
        .into_ready()
        .unwrap();
    assert_eq!(
        result.document_id,
        SetId::new("s-777"),
        "numeric id accepted"
    );

    let rvp = result.documents[0].rvp().expect("rvp view");
    assert_eq!(rvp.gender, Some(Gender::Female));
    assert_eq!(rvp.middle_name, None);
    assert_eq!(rvp.expiry_date, Some(date!(2025 - 03 - 01)));
    // 31.02 is not a date: None in the view, raw value kept, strict accessor errs.
    assert_eq!(rvp.issue_date, None);
    assert_eq!(result.documents[0].field("IssueDate"), Some("31.02.2022"));
    let err = result.documents[0].date("IssueDate").unwrap_err();
    assert_eq!(err.value(), "31.02.2022");

    let brth = result.documents[1].birth_certificate().expect("brth view");
    assert_eq!(brth.child_birth_date, Some(date!(2020 - 05 - 05)));
    assert_eq!(brth.issue_date, None);
    assert_eq!(brth.series.as_deref(), Some("IV-МЮ"));

    let unknown = &result.documents[2];
    assert_eq!(
        unknown.doc_type,
        DocumentType::Unknown("MARRIAGE_CERT".into())
    );
    assert_eq!(unknown.data["Spouse"]["LastName"], "Каримов");
    assert!(unknown.passport().is_none() && unknown.rvp().is_none());

    let inn = &result.documents[3];
    assert_eq!(inn.doc_type, DocumentType::Inn);
    assert_eq!(inn.field("Number"), Some("770123456789"));
    assert_eq!(inn.metadata, Default::default(), "metadata: null");
    assert!(inn.broken_reasons.is_empty());
    assert_eq!(inn.broken, None, "missing broken");
}

#[tokio::test]
async fn post_form_sends_the_token_in_the_body_not_the_url() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/document/result/s-12345"))
        .and(query_param_is_missing("token"))
        .and(body_json(json!({"token": TOKEN})))
        .respond_with(json_body(PASSPORT_SNILS))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).method(HttpMethod::Post).build().unwrap();
    assert!(
        client
            .result(&SetId::new("s-12345"))
            .await
            .unwrap()
            .is_ready()
    );
}

#[tokio::test]
async fn base_url_with_prefix_and_trailing_slash() {
    for base in ["/beorg", "/beorg/"] {
        let server = server().await;
        Mock::given(method("GET"))
            .and(path("/beorg/api/document/result/s-12345"))
            .respond_with(json_body(PASSPORT_SNILS))
            .expect(1)
            .mount(&server)
            .await;
        let client = builder(&server)
            .base_url(format!("{}{base}", server.uri()))
            .build()
            .unwrap();
        assert!(
            client
                .result(&SetId::new("s-12345"))
                .await
                .unwrap()
                .is_ready()
        );
    }
}

#[tokio::test]
async fn status_425_is_processing_with_retry_after() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-1"))
        .respond_with(ResponseTemplate::new(425).insert_header("Retry-After", "3"))
        .expect(1)
        .mount(&server)
        .await;
    let status = client(&server)
        .result(&SetId::from_number(1))
        .await
        .unwrap();
    assert_eq!(
        status,
        ResultStatus::Processing {
            retry_after: Some(Duration::from_secs(3))
        }
    );
}

#[tokio::test]
async fn empty_or_missing_documents_is_processing() {
    for body in [
        PROCESSING,
        "{}",
        r#"{"document_id": "s-1", "documents": null}"#,
    ] {
        let server = server().await;
        Mock::given(method("GET"))
            .and(path("/api/document/result/s-1"))
            .respond_with(json_body(body))
            .expect(1)
            .mount(&server)
            .await;
        let status = client(&server)
            .result(&SetId::from_number(1))
            .await
            .unwrap();
        assert_eq!(
            status,
            ResultStatus::Processing { retry_after: None },
            "{body}"
        );
    }
}

#[tokio::test]
async fn wait_for_result_polls_until_ready() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-12345"))
        .respond_with(ResponseTemplate::new(425))
        .up_to_n_times(3)
        .with_priority(1)
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-12345"))
        .respond_with(json_body(PASSPORT_SNILS))
        .expect(1)
        .mount(&server)
        .await;
    let result = client(&server)
        .wait_for_result(&SetId::new("s-12345"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(result.documents.len(), 2);
}

#[tokio::test]
async fn wait_for_result_gives_up_with_still_processing() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-9"))
        .respond_with(ResponseTemplate::new(425))
        .mount(&server)
        .await;
    let err = client(&server)
        .wait_for_result(&SetId::from_number(9), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(err.is_processing(), "{err:?}");
    match &err {
        Error::StillProcessing { set_id, .. } => assert_eq!(set_id.as_str(), "s-9"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_retryable());
    crate::common::assert_no_token(&err);
}

#[tokio::test]
async fn wait_for_result_returns_api_errors_at_once() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-4"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            include_str!("../fixtures/error_campaign_not_found.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .wait_for_result(&SetId::from_number(4), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}
