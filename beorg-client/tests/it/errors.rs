//! Error mapping, retries (pinned with `Mock::expect`), timeouts, the deadline,
//! decode errors, and token redaction on every error path.

use std::time::Duration;

use crate::common::{TOKEN, assert_no_token, builder, client, fast_retries, server};
use beorg_client::{ApiErrorKind, Client, Endpoint, Error, SetId, UploadRequest};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const RESULT: &str = include_str!("../fixtures/result_passport_snils.json");
const NOT_FOUND: &str = include_str!("../fixtures/error_campaign_not_found.json");
const BAD_TOKEN: &str = include_str!("../fixtures/error_bad_token.json");
const GATEWAY: &str = include_str!("../fixtures/error_gateway.html");
const WRONG_TYPES: &str = include_str!("../fixtures/result_wrong_types.json");

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

#[allow(clippy::unwrap_used)] // test helper
async fn result_err(server: &wiremock::MockServer) -> Error {
    client(server)
        .result(&SetId::from_number(1))
        .await
        .unwrap_err()
}

/// 409 "already exists" carries the existing object's id in
/// `error.data.questionary_id`.
///
/// Source: `dev-moneyfriends-ru/yii2-beorg-api`, `src/ApiClient.php`, `parseError()`:
/// for status 409 it reads `error.data.questionary_id` and raises
/// `QuestionaryAlreadyExistsException` with it.
#[tokio::test]
async fn a_409_surfaces_the_existing_questionary_id() {
    let upload_server = server().await;
    Mock::given(path("/api/bescan/add_document"))
        .respond_with(json(
            409,
            &format!(
                r#"{{"error": {{"code": 409, "message": "Questionary already exists", "data": {{"questionary_id": "q-5521"}}}}, "echo": "{TOKEN}"}}"#
            ),
        ))
        .expect(1)
        .mount(&upload_server)
        .await;
    let err = client(&upload_server)
        .upload(beorg_client::UploadRequest::new().image(vec![1, 2, 3]))
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(err.questionary_id(), Some("q-5521"));
    assert!(err.to_string().contains("q-5521"), "{err}");
    crate::common::assert_no_token(&err);

    // A number is read as text; elsewhere (or absent) it is None.
    for (body, expected) in [
        (
            r#"{"error": {"data": {"questionary_id": 777}}}"#,
            Some("777"),
        ),
        (
            r#"{"errors": {"data": {"questionary_id": "q-1"}}}"#,
            Some("q-1"),
        ),
        (r#"{"error": {"message": "already exists"}}"#, None),
        ("not json", None),
    ] {
        let server = server().await;
        Mock::given(path("/api/document/result/s-1"))
            .respond_with(json(409, body))
            .expect(1)
            .mount(&server)
            .await;
        let err = result_err(&server).await;
        assert_eq!(err.questionary_id(), expected, "{body}");
    }
}

/// A token the server puts into `questionary_id` is scrubbed like any message.
#[tokio::test]
async fn a_questionary_id_never_carries_the_token() {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(
            409,
            &format!(r#"{{"error": {{"data": {{"questionary_id": "{TOKEN}"}}}}}}"#),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = result_err(&server).await;
    assert_eq!(err.questionary_id(), Some("[REDACTED]"));
    crate::common::assert_no_token(&err);
}

/// Each 4xx is its own kind. The statuses 400, 401, 404, 409 (and 425) are the ones
/// `dev-moneyfriends-ru/yii2-beorg-api` (`src/ApiClient.php`, `parseError()`)
/// distinguishes; it reads no body for 400 and 401, and no public source shows a
/// 402 at all (accepted as "payment required", body read leniently).
#[tokio::test]
async fn client_errors_are_distinguishable_and_not_retried() {
    let cases = [
        (
            400,
            r#"{"errors": {"type": "BadRequest", "message": "start_id is required"}}"#,
            ApiErrorKind::BadRequest,
        ),
        (401, BAD_TOKEN, ApiErrorKind::Unauthorized),
        (
            402,
            r#"{"errors": {"type": "PaymentRequired", "message": "Balance is exhausted"}}"#,
            ApiErrorKind::PaymentRequired,
        ),
        (404, NOT_FOUND, ApiErrorKind::NotFound),
        (
            409,
            r#"{"errors": {"type": "Conflict", "message": "already exists"}}"#,
            ApiErrorKind::Conflict,
        ),
    ];
    for (status, body, kind) in cases {
        let server = server().await;
        Mock::given(path("/api/document/result/s-1"))
            .respond_with(json(status, body))
            .expect(1)
            .mount(&server)
            .await;
        let err = result_err(&server).await;
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.api_kind(), Some(kind));
        assert!(!err.is_retryable());
        assert_eq!(err.is_auth(), status == 401);
        assert_eq!(err.is_not_found(), status == 404);
        assert_eq!(err.is_conflict(), status == 409);
        assert_eq!(err.is_payment_required(), status == 402);
        assert_eq!(err.is_bad_request(), status == 400);
        match &err {
            Error::Api {
                endpoint,
                error_type,
                message,
                ..
            } => {
                assert_eq!(*endpoint, Endpoint::Result);
                assert!(error_type.is_some(), "{err:?}");
                assert!(message.is_some(), "{err:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_no_token(&err);
    }
}

/// 404 with `{"errors": {"type": "CampaignNotFound", "message": …}}`.
///
/// Source: `dev-moneyfriends-ru/yii2-beorg-api`, `src/ApiClient.php`, `parseError()`
/// (status 404 reads `errors.type`, compares it with `CampaignNotFound`, and
/// `errors.message`).
#[tokio::test]
async fn not_found_carries_type_and_message() {
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(json(404, NOT_FOUND))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).ready(1).await.unwrap_err();
    match &err {
        Error::Api {
            status: 404,
            error_type,
            message,
            ..
        } => {
            assert_eq!(error_type.as_deref(), Some("CampaignNotFound"));
            assert_eq!(message.as_deref(), Some("Campaign U_RATE_9 not found"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "Beorg ready failed with HTTP 404 CampaignNotFound: Campaign U_RATE_9 not found"
    );
}

#[tokio::test]
async fn server_errors_are_retried_up_to_the_attempt_limit() {
    for status in [500, 502, 503, 504] {
        let server = server().await;
        Mock::given(path("/api/document/result/s-1"))
            .respond_with(json(
                status,
                r#"{"errors": {"type": "Internal", "message": "boom"}}"#,
            ))
            .expect(4)
            .mount(&server)
            .await;
        let err = result_err(&server).await;
        assert_eq!(err.status(), Some(status));
        assert!(err.is_retryable());
        assert_no_token(&err);
    }
}

#[tokio::test]
async fn a_transient_error_then_success() {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(503, "{}"))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(200, RESULT))
        .expect(1)
        .mount(&server)
        .await;
    assert!(
        client(&server)
            .result(&SetId::from_number(1))
            .await
            .unwrap()
            .is_ready()
    );
}

#[tokio::test]
async fn rate_limit_with_retry_after_seconds_and_date_is_retried() {
    for retry_after in ["1", "Wed, 21 Oct 2015 07:28:00 GMT"] {
        let server = server().await;
        Mock::given(path("/api/document/result/s-1"))
            .respond_with(json(429, "{}").insert_header("Retry-After", retry_after))
            .up_to_n_times(1)
            .with_priority(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/api/document/result/s-1"))
            .respond_with(json(200, RESULT))
            .expect(1)
            .mount(&server)
            .await;
        assert!(
            client(&server)
                .result(&SetId::from_number(1))
                .await
                .unwrap()
                .is_ready()
        );
    }
}

#[tokio::test]
async fn rate_limit_exhausting_attempts_keeps_retry_after() {
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(json(429, "{}").insert_header("Retry-After", "7"))
        .expect(2)
        .mount(&server)
        .await;
    let err = builder(&server)
        .retry_policy(fast_retries(2))
        .build()
        .unwrap()
        .ready(1)
        .await
        .unwrap_err();
    match err {
        Error::Api {
            status: 429,
            retry_after,
            ..
        } => assert_eq!(retry_after, Some(Duration::from_secs(7))),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn html_error_page_becomes_an_api_error_with_an_excerpt() {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(GATEWAY, "text/html"))
        .expect(4)
        .mount(&server)
        .await;
    let err = result_err(&server).await;
    match &err {
        Error::Api {
            status: 502,
            error_type: None,
            message: Some(m),
            ..
        } => {
            assert!(m.contains("502 Bad Gateway"), "{m}");
            assert!(!m.contains('\n'));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_no_token(&err);
}

#[tokio::test]
async fn html_page_with_status_200_is_a_decode_error_retried_for_reads() {
    // A proxy's page in place of the API's answer was damaged on the way: asking again may
    // work, as for a cut-off body (one rule in both clients, `hr_docs_core::Failure::DamagedBody`).
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(GATEWAY, "text/html"))
        .expect(4)
        .mount(&server)
        .await;
    let err = result_err(&server).await;
    match &err {
        Error::Decode {
            endpoint: Endpoint::Result,
            status: 200,
            excerpt,
            ..
        } => {
            assert!(excerpt.starts_with("<html>"), "{excerpt}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.status(), None, "a 200 has no error status");
    assert_no_token(&err);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_retried_for_reads() {
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(json(200, r#"{"ready": [1, 2,, 3]}"#))
        .expect(4)
        .mount(&server)
        .await;
    let err = client(&server).ready(1).await.unwrap_err();
    assert!(err.is_decode());
    assert!(err.is_retryable());
    assert!(err.to_string().contains("ready"), "{err}");
    assert_no_token(&err);
}

#[tokio::test]
async fn trailing_garbage_is_a_decode_error() {
    let server = server().await;
    Mock::given(path("/api/bescan/add_document"))
        .respond_with(json(200, r#"{"document_id": "s-1"} {"#))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .upload(UploadRequest::new().image(vec![1, 2, 3]))
        .await
        .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
}

#[tokio::test]
async fn truncated_body_is_retried_for_reads() {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(200, &RESULT[..RESULT.len() / 2]))
        .expect(4)
        .mount(&server)
        .await;
    let err = result_err(&server).await;
    match &err {
        Error::Decode { source, path, .. } => {
            assert!(source.is_eof(), "{source}");
            assert!(path.starts_with("documents"), "{path}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_retryable());
    assert_no_token(&err);
}

#[tokio::test]
async fn wrong_types_deep_inside_name_the_full_path() {
    // Four levels down, after unknown fields and escaped keys at every level: the
    // fast decode fails, and the tracked re-decode must still name the exact path.
    let cases = [
        (
            r#"{"document_id": "s-1", "x\u0041": 1, "documents": [
                {"key": "P", "type": "PASSPORT", "FileName": "Паспорт_Иванов", "data": {},
                 "metadata": {"extra_meta": true, "verifications": {"status": 0, "new": [1],
                   "bad_fields": ["Series", 7]}}}]}"#,
            "documents[0].metadata.verifications.bad_fields[1]",
        ),
        (
            r#"{"documents": [{"key": "P", "type": "PASSPORT", "data": {}},
                {"key": "S", "type": "SNILS", "data": {"Number": "1"},
                 "metadata": {"metadata_check": {"status": "", "more": {}, "checks": 5}}}]}"#,
            "documents[1].metadata.metadata_check.checks",
        ),
        (
            r#"{"documents": [{"key": "P", "type": 7}]}"#,
            "documents[0].type",
        ),
    ];
    for (body, want) in cases {
        let server = server().await;
        Mock::given(path("/api/document/result/s-1"))
            .respond_with(json(200, body))
            .expect(1)
            .mount(&server)
            .await;
        let err = result_err(&server).await;
        match &err {
            Error::Decode { path, .. } => assert_eq!(path, want, "{body}"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains(want), "{err}");
        assert!(!err.is_retryable(), "{err:?}");
    }
}

#[tokio::test]
async fn wrong_types_name_the_json_path() {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(200, WRONG_TYPES))
        .expect(1)
        .mount(&server)
        .await;
    let err = result_err(&server).await;
    match &err {
        Error::Decode { path, .. } => assert_eq!(path, "documents[1].data"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("documents[1].data"), "{err}");
    // The decoder's own message is the source, printed once by whoever walks the chain.
    assert!(
        std::error::Error::source(&err).is_some_and(|s| s.to_string().contains("invalid type")),
        "{err:?}"
    );

    let server2 = crate::common::server().await;
    Mock::given(path("/api/bescan/add_document"))
        .respond_with(json(200, r#"{"document_id": true}"#))
        .expect(1)
        .mount(&server2)
        .await;
    let err = client(&server2)
        .upload(UploadRequest::new().image(vec![1]))
        .await
        .unwrap_err();
    match &err {
        Error::Decode { path, .. } => assert_eq!(path, "document_id"),
        other => panic!("unexpected {other:?}"),
    }
    let server3 = crate::common::server().await;
    Mock::given(path("/api/bescan/add_document"))
        .respond_with(json(200, r#"{"id": "s-1"}"#))
        .expect(1)
        .mount(&server3)
        .await;
    let err = client(&server3)
        .upload(UploadRequest::new().image(vec![1]))
        .await
        .unwrap_err();
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        cause.as_deref().is_some_and(|c| c.contains("document_id")),
        "{err}: {cause:?}"
    );
}

#[tokio::test]
async fn unusable_ready_shape_names_the_field() {
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(json(
            200,
            r#"{"ready": [1], "by_project": [{"project_id": "A", "ready": [true]}]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).ready(1).await.unwrap_err();
    match &err {
        Error::Decode { path, .. } => assert_eq!(path, "by_project[0].ready[0]"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn transport_error_to_a_closed_port_has_no_url_and_no_token() {
    let client = Client::builder()
        .base_url(hr_docs_testkit::errors::closed_loopback_url())
        .token(TOKEN)
        .project_id("P")
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    for err in [
        client.result(&SetId::from_number(1)).await.unwrap_err(),
        client.ready(5).await.unwrap_err(),
        client
            .upload(UploadRequest::new().image(vec![1]))
            .await
            .unwrap_err(),
    ] {
        match &err {
            Error::Transport { connect, .. } => assert!(*connect, "{err:?}"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.is_retryable());
        // The source keeps the socket address, but not the URL with its query.
        assert!(
            !format!("{err:?}").contains("http://"),
            "URL stripped: {err:?}"
        );
        assert!(
            !format!("{err:?}").contains("token="),
            "URL stripped: {err:?}"
        );
        assert_no_token(&err);
    }
}

#[tokio::test]
async fn per_attempt_timeout_is_retried_then_reported() {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(200, RESULT).set_delay(Duration::from_millis(400)))
        .expect(2)
        .mount(&server)
        .await;
    let err = builder(&server)
        .timeout(Duration::from_millis(40))
        .retry_policy(fast_retries(2))
        .build()
        .unwrap()
        .result(&SetId::from_number(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.is_timeout() && err.is_retryable());
    assert_no_token(&err);
}

#[tokio::test]
async fn overall_deadline_stops_retrying() {
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(json(503, "{}").set_delay(Duration::from_millis(30)))
        .mount(&server)
        .await;
    let err = builder(&server)
        .deadline(Duration::from_millis(100))
        .retry_policy(fast_retries(1000))
        .build()
        .unwrap()
        .ready(1)
        .await
        .unwrap_err();
    match &err {
        Error::DeadlineExceeded {
            attempts,
            last_error,
            ..
        } => {
            assert!(*attempts >= 1);
            let last = last_error.as_deref().expect("a last error");
            assert!(
                matches!(last, Error::Api { status: 503, .. } | Error::Timeout { .. }),
                "{last:?}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_timeout());
    assert_no_token(&err);
}

#[tokio::test]
async fn uploads_are_not_retried_after_reaching_the_server() {
    for status in [500, 503, 429] {
        let server = server().await;
        Mock::given(method("POST"))
            .and(path("/api/bescan/add_document"))
            .respond_with(json(status, "{}"))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server)
            .upload(UploadRequest::new().image(vec![1]))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert_no_token(&err);
    }
}

#[tokio::test]
async fn upload_timeouts_and_truncation_are_not_retried_either() {
    let server = server().await;
    Mock::given(path("/api/bescan/add_document"))
        .respond_with(json(200, r#"{"document_id": "s-1"}"#).set_delay(Duration::from_millis(400)))
        .expect(1)
        .mount(&server)
        .await;
    let err = builder(&server)
        .timeout(Duration::from_millis(40))
        .build()
        .unwrap()
        .upload(UploadRequest::new().image(vec![1]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                endpoint: Endpoint::Upload,
                ..
            }
        ),
        "{err:?}"
    );
    assert_no_token(&err);
}

#[tokio::test]
async fn uploads_are_retried_when_the_caller_opts_in() {
    let server = server().await;
    Mock::given(path("/api/bescan/add_document"))
        .respond_with(json(503, "{}"))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/api/bescan/add_document"))
        .respond_with(json(200, include_str!("../fixtures/upload_ok.json")))
        .expect(1)
        .mount(&server)
        .await;
    let id = builder(&server)
        .retry_uploads(true)
        .build()
        .unwrap()
        .upload(UploadRequest::new().image(vec![1]))
        .await
        .unwrap();
    assert_eq!(id.as_str(), "s-12345");
}

#[tokio::test]
async fn a_server_echoing_the_token_is_scrubbed() {
    let server = server().await;
    let echo = format!(
        r#"{{"errors": {{"type": "Unauthorized", "message": "token {TOKEN} is invalid for /api/document/result/s-1?token={TOKEN}"}}}}"#
    );
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(401, &echo))
        .expect(1)
        .mount(&server)
        .await;
    let err = result_err(&server).await;
    assert!(err.is_auth());
    assert!(err.to_string().contains("[REDACTED]"), "{err}");
    assert_no_token(&err);

    let server = crate::common::server().await;
    let html = format!("<html>bad gateway for ?token={TOKEN}&x=1</html>");
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(html, "text/html"))
        .expect(4)
        .mount(&server)
        .await;
    let err = result_err(&server).await;
    assert!(err.is_decode());
    assert_no_token(&err);
}

#[tokio::test]
async fn debug_of_client_and_builder_redacts_the_token() {
    let b = Client::builder().token(TOKEN).project_id("P");
    assert!(!format!("{b:?}").contains(TOKEN));
    assert!(format!("{b:?}").contains("REDACTED"));
    let c = b.build().unwrap();
    assert!(!format!("{c:?}").contains(TOKEN));
    assert!(!format!("{c:#?}").contains(TOKEN));
}
