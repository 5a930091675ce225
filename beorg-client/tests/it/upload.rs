//! `POST /api/bescan/add_document`: the body on the wire and the answer.

use crate::common::{PROJECT, TOKEN, builder, client, server};
use beorg_client::{DocumentType, Error, ProcessInfo, SetId, Stage, UploadRequest};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

const UPLOAD_OK: &str = include_str!("../fixtures/upload_ok.json");

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(UPLOAD_OK, "application/json")
}

/// The upload body (`project_id`, `token`, `machine_uid`, base64 `images`,
/// `process_info` with `key` / `type` / `options.stages` / `options.relation`) and
/// the answer `{"document_id": "s-12345"}`.
///
/// Sources: Beorg's document pages, e.g. <https://docs.beorg.ru/api_docs/universal/fprn>
/// ("Отправка документа": the request structure and the example answer), and
/// `dev-moneyfriends-ru/yii2-beorg-api`, `src/ApiClient.php`, `send()` (the same
/// keys, `document_id` read from the answer).
#[tokio::test]
async fn sends_base64_images_and_typed_process_info() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/bescan/add_document"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "project_id": PROJECT,
            "token": TOKEN,
            "machine_uid": "scanner-7",
            "images": ["/9j/4A==", "iVBORw=="],
            "process_info": [
                {"key": "PASSPORT_REG1", "type": "PASSPORT_REG",
                 "options": {"stages": ["verification"], "relation": []}},
                {"key": "SELFIE", "type": "SELFIE",
                 "options": {"stages": ["biometry_match", "biometry_liveness"], "relation": ["PASSPORT_REG1"]}}
            ]
        })))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).machine_uid("scanner-7").build().unwrap();
    let id = client
        .upload(
            UploadRequest::new()
                .image_with(
                    vec![0xFF, 0xD8, 0xFF, 0xE0],
                    ProcessInfo::new("PASSPORT_REG1", DocumentType::PassportReg)
                        .stage(Stage::Verification),
                )
                .image_with(
                    vec![0x89, b'P', b'N', b'G'],
                    ProcessInfo::new("SELFIE", DocumentType::Unknown("SELFIE".into()))
                        .stage(Stage::BiometryMatch)
                        .stage(Stage::BiometryLiveness)
                        .relation("PASSPORT_REG1"),
                ),
        )
        .await
        .unwrap();
    assert_eq!(id, SetId::new("s-12345"));
    assert_eq!(id.number(), Some(12345));
}

#[tokio::test]
async fn without_process_info_the_field_is_omitted() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/bescan/add_document"))
        .and(body_json(
            json!({"project_id": PROJECT, "token": TOKEN, "images": ["AQID"]}),
        ))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .upload(UploadRequest::new().image(vec![1, 2, 3]))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_numeric_document_id_is_accepted() {
    let server = server().await;
    Mock::given(path("/api/bescan/add_document"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"document_id": 42}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let id = client(&server)
        .upload(UploadRequest::new().image(vec![1]))
        .await
        .unwrap();
    assert_eq!(id.as_str(), "s-42");
}

#[tokio::test]
async fn a_large_image_arrives_intact() {
    let server = server().await;
    let image: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let expected = image.clone();
    Mock::given(path("/api/bescan/add_document"))
        .and(move |req: &Request| {
            let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            let s = v["images"][0].as_str().unwrap();
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(s).unwrap() == expected
        })
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .upload(UploadRequest::new().image(image))
        .await
        .unwrap();
}

#[tokio::test]
async fn invalid_requests_fail_before_sending() {
    let server = server().await; // the catch-all fails the test on any request
    let c = client(&server);
    for req in [
        UploadRequest::new(),
        UploadRequest::new().image(Vec::new()),
        UploadRequest::new()
            .image(vec![1])
            .image_with(vec![2], ProcessInfo::of_type(DocumentType::Snils)),
    ] {
        let err = c.upload(req).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        crate::common::assert_no_token(&err);
    }
}
