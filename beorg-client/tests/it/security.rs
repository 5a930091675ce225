//! Issue 9: no leak through redirects, plain HTTP, errors or `Debug`; a bounded client
//! that does not panic on hostile values.
//!
//! Each test fails if its fix is undone: a followed redirect reaches the second server, a
//! plain `http://` URL builds, an oversized answer is read whole, a recognized value shows
//! up in an error or a `Debug`, a huge `Retry-After` or backoff panics.

use std::error::Error as _;
use std::time::Duration;

use crate::common::{PROJECT, TOKEN, builder, client, server};
use beorg_client::{
    Client, DocumentType, Endpoint, Error, HttpMethod, ProcessInfo, RecognitionResult,
    RecognizedDocument, ResultStatus, SetId, UploadRequest,
};
use hr_docs_testkit::errors::error_texts;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSPORT_SNILS: &str = include_str!("../fixtures/result_passport_snils.json");

/// The recognized values of the fixture (and of the bodies below): none may leak.
const PERSONAL: &[&str] = &[
    "Иванов",
    "Иван",
    "01.02.1990",
    "1990",
    "4510",
    "123456",
    "112-233-445 95",
    "НОВОСИБИРСК",
    "Ленина",
    "540-004",
];

fn assert_free_of(err: &Error, terms: &[&str]) {
    for text in error_texts(err) {
        for term in terms {
            assert!(!text.contains(term), "{term:?} leaked in: {text}");
        }
    }
}

/// A second origin (another port on the loopback) that records whatever reaches it.
async fn other_origin() -> MockServer {
    let other = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .named("the redirect's target: must receive nothing")
        .mount(&other)
        .await;
    other
}

fn redirect_to(status: u16, target: &MockServer) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header(
        "Location",
        format!("{}/collect?token=from-redirect&x=1", target.uri()).as_str(),
    )
}

fn host_of(server: &MockServer) -> String {
    server.address().to_string()
}

/// Every call, in both request forms (token in the query, token in the body; an upload's
/// body holds the token and every scan): a 3xx is refused with an error naming the target
/// host, asked once, and the other origin receives nothing — no token, no body, no
/// session, no `Referer`.
#[tokio::test]
async fn a_redirect_is_refused_and_the_other_origin_receives_nothing() {
    for status in [301, 302, 303, 307, 308] {
        for method in [HttpMethod::Get, HttpMethod::Post] {
            let server = server().await;
            let other = other_origin().await;
            Mock::given(any())
                .respond_with(redirect_to(status, &other))
                .expect(3)
                .mount(&server)
                .await;
            let client = builder(&server).method(method).build().unwrap();
            let upload = UploadRequest::new().image_with(
                b"scan-bytes".to_vec(),
                ProcessInfo::of_type(DocumentType::Passport),
            );
            let errors = [
                client.ready(1).await.unwrap_err(),
                client.result(&SetId::from_number(1)).await.unwrap_err(),
                client.upload(upload).await.unwrap_err(),
            ];
            for err in &errors {
                match err {
                    Error::Redirect {
                        status: s,
                        host,
                        followed: false,
                        ..
                    } => {
                        assert_eq!(*s, status);
                        assert_eq!(host.as_deref(), Some(host_of(&other).as_str()));
                    }
                    other => panic!("{status} {method:?}: {other:?}"),
                }
                assert!(!err.is_retryable());
                assert_eq!(err.status(), Some(status));
                assert_free_of(err, &[TOKEN, "collect", "from-redirect"]);
            }
            let reached = other.received_requests().await.unwrap_or_default();
            assert!(
                reached.is_empty(),
                "{status} {method:?}: the other origin received {} request(s)",
                reached.len()
            );
        }
    }
}

/// A caller's `reqwest::Client` that follows redirects (the reqwest default) has sent the
/// request on by the time the answer comes back; the client still refuses the answer, and
/// says so. The documented remedy is `redirect::Policy::none()` on that client.
#[tokio::test]
async fn an_answer_a_following_http_client_fetched_elsewhere_is_refused() {
    let server = server().await;
    let other = other_origin().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(redirect_to(302, &other))
        .mount(&server)
        .await;
    let client = builder(&server)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = client.ready(1).await.unwrap_err();
    match &err {
        Error::Redirect {
            endpoint: Endpoint::Ready,
            host,
            followed: true,
            ..
        } => assert_eq!(host.as_deref(), Some(host_of(&other).as_str())),
        other => panic!("{other:?}"),
    }
    assert_free_of(&err, &[TOKEN, "collect"]);
    // With the documented settings the same client never reaches the other origin.
    let careful = builder(&server)
        .http_client(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let before = other.received_requests().await.unwrap_or_default().len();
    assert!(matches!(
        careful.ready(1).await,
        Err(Error::Redirect {
            followed: false,
            ..
        })
    ));
    assert_eq!(
        other.received_requests().await.unwrap_or_default().len(),
        before
    );
}

#[test]
fn plain_http_off_the_loopback_is_refused_unless_opted_in() {
    let base = || Client::builder().token(TOKEN).project_id(PROJECT);
    for url in [
        "http://api.beorg.ru",
        "http://10.0.0.7:8080/beorg",
        "http://127.0.0.1.example.org",
    ] {
        match base().base_url(url).build() {
            Err(Error::Config(why)) => {
                assert!(why.contains("http://"), "{why}");
                assert!(why.contains("allow_insecure_http"), "{why}");
            }
            other => panic!("{url}: {other:?}"),
        }
        base()
            .base_url(url)
            .allow_insecure_http(true)
            .build()
            .unwrap();
    }
    for url in [
        "https://api.beorg.ru",
        "http://127.0.0.1:9",
        "http://127.3.2.1:9",
        "http://localhost:9",
        "http://[::1]:9/prefix",
    ] {
        base().base_url(url).build().unwrap();
    }
}

#[tokio::test]
async fn an_answer_past_the_size_limit_is_refused_and_not_retried() {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![b' '; 4096], "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = builder(&server)
        .max_body_bytes(1024)
        .build()
        .unwrap()
        .result(&SetId::from_number(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BodyTooLarge {
                endpoint: Endpoint::Result,
                limit: 1024
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("1024"), "{err}");
    assert!(!err.is_retryable());
}

/// A server that sends no length and never stops: the read stops at the limit.
#[tokio::test]
async fn the_size_limit_holds_without_a_content_length() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = std::sync::Arc::clone(&sent);
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 1024, " ".repeat(1024));
        // Endless, until the client hangs up.
        while socket.write_all(chunk.as_bytes()).await.is_ok() {
            counter.fetch_add(1024, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .token(TOKEN)
        .project_id(PROJECT)
        .max_body_bytes(64 * 1024)
        .build()
        .unwrap();
    let err = client.ready(1).await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 65536, .. }),
        "{err:?}"
    );
}

fn result_body(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// A result that fails to decode names the JSON path and the kinds of value, never a
/// recognized value: not in the message, not in `Debug`, not in the decoder's error.
#[tokio::test]
async fn a_result_that_fails_to_decode_quotes_no_recognized_value() {
    let bodies = [
        // `data` of the wrong type: serde would quote the string.
        (
            r#"{"document_id":"s-1","documents":[{"type":"PASSPORT","data":"Иванов Иван 4510 123456 01.02.1990"}]}"#,
            "documents[0].data",
        ),
        // A document that is not an object.
        (
            r#"{"document_id":"s-1","documents":["Иванов 112-233-445 95"]}"#,
            "documents[0]",
        ),
        // Cut off in the middle of the data.
        (
            r#"{"document_id":"s-1","documents":[{"type":"PASSPORT","data":{"LastName":"Иванов","Series":"4510","Number":"1234"#,
            "",
        ),
        // Trailing garbage after a whole result.
        (
            r#"{"documents":[{"data":{"LastName":"Иванов"}}]} НОВОСИБИРСК"#,
            "",
        ),
        // Not JSON at all, but personal data all the same.
        ("Иванов Иван Иванович 01.02.1990", ""),
    ];
    for (body, at) in bodies {
        let server = server().await;
        Mock::given(path("/api/document/result/s-1"))
            .respond_with(result_body(200, body))
            .mount(&server)
            .await;
        let err = client(&server)
            .result(&SetId::from_number(1))
            .await
            .unwrap_err();
        match &err {
            Error::Decode { path, excerpt, .. } => {
                assert!(path.contains(at), "{path} vs {at}");
                assert!(excerpt.is_empty(), "quoted: {excerpt}");
            }
            other => panic!("{body}: {other:?}"),
        }
        assert_free_of(&err, PERSONAL);
        assert_free_of(&err, &[TOKEN]);
    }
    // The kind of value is still said.
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(result_body(200, bodies[0].0))
        .mount(&server)
        .await;
    let err = client(&server)
        .result(&SetId::from_number(1))
        .await
        .unwrap_err();
    let source = err.source().map(ToString::to_string).unwrap_or_default();
    assert!(source.contains("invalid type: string"), "{source}");
    assert!(source.contains("expected a map"), "{source}");
}

/// An error answer of the result endpoint that is JSON of no known error shape is not
/// quoted either (it may be a result).
#[tokio::test]
async fn an_unknown_json_error_answer_is_not_quoted() {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(result_body(
            400,
            r#"{"documents":[{"data":{"LastName":"Иванов","Series":"4510"}}]}"#,
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .result(&SetId::from_number(1))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Api { message: None, .. }), "{err:?}");
    assert_free_of(&err, PERSONAL);
}

#[test]
fn debug_of_results_and_views_shows_the_shape_not_the_values() {
    let result: RecognitionResult = serde_json::from_str(PASSPORT_SNILS).unwrap();
    let status = ResultStatus::from_result(result.clone());
    let passport = result.passport().unwrap();
    let snils = result.documents[1].snils().unwrap();
    let date_error = result.documents[0].date("Address").unwrap_err();
    let shown = [
        format!("{result:?}"),
        format!("{result:#?}"),
        format!("{status:?}"),
        format!("{:?}", result.documents),
        format!("{passport:?}"),
        format!("{snils:?}"),
        format!("{date_error:?}"),
        date_error.to_string(),
    ];
    for text in &shown {
        for term in PERSONAL
            .iter()
            .chain(&["Паспорт_Иванов", "СНИЛС_Иванов", "Ленина"])
        {
            assert!(!text.contains(term), "{term:?} in {text}");
        }
    }
    // The shape is still there to debug with.
    assert!(shown[0].contains("s-12345"), "{}", shown[0]);
    assert!(shown[0].contains("PASSPORT_REG1"), "{}", shown[0]);
    assert!(
        shown[0].contains("\"LastName\": [REDACTED]"),
        "{}",
        shown[0]
    );
    assert!(
        shown[4].contains("last_name: Some([REDACTED])"),
        "{}",
        shown[4]
    );
    assert!(shown[4].contains("mrz1: None"), "{}", shown[4]);
    // The caller can still read the bad date on purpose.
    assert!(date_error.value().contains("Ленина"));
}

#[test]
fn personal_values_cover_data_and_file_names() {
    let result: RecognitionResult = serde_json::from_str(PASSPORT_SNILS).unwrap();
    let values = result.personal_values();
    for term in ["Иванов", "4510", "123456", "112-233-445 95", "01.02.1990"] {
        assert!(
            values.iter().any(|v| v == term),
            "{term} missing: {values:?}"
        );
    }
    assert!(values.iter().any(|v| v == "СНИЛС_Иванов"), "{values:?}");
    // Too short to scrub safely: a gender letter, a flag.
    assert!(!values.iter().any(|v| v == "М" || v == "1"), "{values:?}");
    let doc = RecognizedDocument::new(DocumentType::Inn, serde_json::Map::new());
    assert!(doc.data.is_empty());
}

/// `Retry-After: 18446744073709551615` and a backoff of `Duration::MAX` are absurd but
/// legal inputs: the client saturates (and the policy caps) instead of panicking.
#[tokio::test]
async fn absurd_server_and_configured_times_never_panic() {
    // A 503 asking for u64::MAX seconds: capped by the policy, then retried.
    let busy = server().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(
            ResponseTemplate::new(503).insert_header("Retry-After", "18446744073709551615"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&busy)
        .await;
    Mock::given(path("/api/document/ready"))
        .respond_with(result_body(200, r#"{"ready":["s-1"]}"#))
        .mount(&busy)
        .await;
    assert_eq!(client(&busy).ready(1).await.unwrap().ready.len(), 1);

    // Still processing, with no Retry-After and a configured backoff of Duration::MAX:
    // `elapsed + backoff` would overflow; it saturates and the wait ends at once.
    let slow = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(ResponseTemplate::new(425))
        .mount(&slow)
        .await;
    let patient = builder(&slow)
        .poll_backoff(Duration::MAX, Duration::MAX)
        .build()
        .unwrap();
    let err = patient
        .wait_for_result(&SetId::from_number(1), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(err.is_processing(), "{err:?}");

    // Still processing with a Retry-After of u64::MAX seconds honoured in full (the policy
    // caps nothing): the wait would pass `max_wait`, so it ends now instead of sleeping.
    let slower = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(
            ResponseTemplate::new(425).insert_header("Retry-After", "18446744073709551615"),
        )
        .mount(&slower)
        .await;
    let honouring = builder(&slower)
        .retry_policy(crate::common::fast_retries(2).with_max_retry_after(Duration::MAX))
        .build()
        .unwrap();
    let err = honouring
        .wait_for_result(&SetId::from_number(1), Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert!(err.is_processing(), "{err:?}");
}
