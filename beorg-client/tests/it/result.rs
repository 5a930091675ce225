//! `/api/document/result/{set}`: GET and POST forms, every quirk of the payload,
//! 425 (the only "not yet"), final answers without usable documents (broken as a
//! whole, no documents), and `wait_for_result`.

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
const NO_DOCUMENTS: &str = include_str!("../fixtures/result_no_documents.json");

fn json_body(s: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(s.as_bytes().to_vec(), "application/json")
}

/// The client's `result` of set `s-<number>`, which a fresh server answers (once) with
/// `answer`.
#[allow(clippy::unwrap_used)] // a test helper: a panic is a failed test
async fn result_answered(number: u64, answer: ResponseTemplate) -> ResultStatus {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/document/result/s-{number}")))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .result(&SetId::from_number(number))
        .await
        .unwrap()
}

/// The result by GET with the token in the query, and the document shape.
///
/// Sources: `dev-moneyfriends-ru/yii2-beorg-api`, `src/ApiClient.php`, `result()`
/// (`GET /api/document/result/<id>?token=<token>`) and `src/models/BeorgResult.php`
/// (`document_id`, `documents[].type` / `key` / `data` / `metadata`); the field quirks
/// follow Beorg's published examples (see docs/beorg-client.md, "Evidence").
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
    let result = result_answered(777, json_body(OTHER_TYPES))
        .await
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

/// 425 means "still processing".
///
/// Source: `dev-moneyfriends-ru/yii2-beorg-api`, `src/ApiClient.php`, `parseError()`
/// (status 425 → `InProgressException('Document in progress')`).
#[tokio::test]
async fn status_425_is_processing_with_retry_after() {
    let status = result_answered(
        1,
        ResponseTemplate::new(425).insert_header("Retry-After", "3"),
    )
    .await;
    assert_eq!(
        status,
        ResultStatus::Processing {
            retry_after: Some(Duration::from_secs(3))
        }
    );
}

/// Only HTTP 425 means "still processing"; a 200 is always final.
///
/// Source: `dev-moneyfriends-ru/yii2-beorg-api`, `src/ApiClient.php` — `result()`
/// turns every 200 into a result object, and `parseError()` maps status 425 (only)
/// to `InProgressException`. (Our first release also took a 200 without documents
/// for "processing", after a reading of one client; no public source does.)
#[tokio::test]
async fn a_200_without_documents_is_final_not_processing() {
    for body in [
        NO_DOCUMENTS,
        "{}",
        r#"{"document_id": "s-1", "documents": null}"#,
    ] {
        let status = result_answered(1, json_body(body)).await;
        assert!(
            matches!(status, ResultStatus::NoDocuments(_)),
            "{body}: {status:?}"
        );
        assert!(!status.is_processing());
        assert_eq!(status.result().map(|r| r.documents.len()), Some(0));
    }
}

/// A body whose top level marks the whole set broken, with no usable document,
/// is a typed final outcome.
///
/// Source: a public Python client of the result endpoint (found through the code
/// index, which does not name its repository; see docs/beorg-client.md) reads
/// `broken` and `broken_reasons_ru` / `broken_reasons` at the top level of the
/// result and, without extracted data, gives the set up. No vendor page shows the
/// shape: every spelling below is accepted.
#[tokio::test]
async fn a_set_broken_as_a_whole_is_final() {
    for body in [
        json!({"document_id": "s-1", "broken": true,
               "broken_reasons_ru": ["Изображение нечитаемо"], "documents": []}),
        json!({"document_id": "s-1", "broken": "1", "broken_reasons": "unreadable"}),
        json!({"broken_reasons_ru": ["Документ не найден на изображении"], "documents": [
            {"type": "PASSPORT", "data": {"LastName": "", "Series": null}, "broken": true}
        ]}),
        json!({"document_id": "s-1", "broken": true, "documents": [
            {"type": "PASSPORT", "data": {}, "broken": null}
        ]}),
    ] {
        let status = result_answered(1, json_body(&body.to_string())).await;
        let ResultStatus::Broken(result) = status else {
            panic!("{body}: {status:?}")
        };
        assert!(result.is_broken(), "{body}");
        assert_eq!(result.document_id.as_str(), "s-1");
    }
}

/// A top-level mark with a usable document is not a broken set: the documents
/// are handed over (the Python client above returns them too).
#[tokio::test]
async fn a_top_level_mark_with_usable_documents_is_ready() {
    let server = server().await;
    let body = json!({"document_id": "s-2", "broken": true,
    "broken_reasons_ru": ["Плохое качество прописки"], "documents": [
        {"type": "PASSPORT", "data": {"LastName": "Иванов"}, "broken": null},
        {"type": "PASSPORT_REG", "data": {}, "broken": true}
    ]});
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-2"))
        .respond_with(json_body(&body.to_string()))
        .expect(1)
        .mount(&server)
        .await;
    let status = client(&server)
        .result(&SetId::from_number(2))
        .await
        .unwrap();
    let result = status.into_ready().expect("ready");
    assert!(result.is_broken());
    assert_eq!(
        result.broken_reason_text().as_deref(),
        Some("Плохое качество прописки")
    );
    // The marks survive a round trip; unmarked results do not grow them.
    let back = serde_json::to_value(&result).unwrap();
    assert_eq!(back["broken"], true);
    let plain: RecognitionResult =
        serde_json::from_value(json!({"document_id": "s-3", "documents": []})).unwrap();
    let back = serde_json::to_value(&plain).unwrap();
    assert!(
        back.get("broken").is_none() && back.get("broken_reasons").is_none(),
        "{back}"
    );
}

#[tokio::test]
async fn wait_for_result_stops_at_once_on_a_final_unusable_answer() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-5"))
        .respond_with(json_body(
            r#"{"document_id": "s-5", "broken": true, "broken_reasons_ru": ["Нечитаемо"]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/document/result/s-6"))
        .respond_with(json_body(r#"{"document_id": "s-6", "documents": []}"#))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let err = client
        .wait_for_result(&SetId::from_number(5), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::SetBroken { reasons: Some(r), .. } if r == "Нечитаемо"),
        "{err:?}"
    );
    assert!(err.is_unusable_result() && !err.is_retryable());
    let err = client
        .wait_for_result(&SetId::from_number(6), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoDocuments { .. }), "{err:?}");
    crate::common::assert_no_token(&err);
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
