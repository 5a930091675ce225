//! Tracing: every request runs in a span with endpoint, set id, attempt and status,
//! and no log line carries the token.
//!
//! Logs are captured with `hr_docs_testkit::logs::Capture` (one global subscriber, lines
//! routed per thread: see there why not `set_default`).

use crate::common::{TOKEN, client};
use beorg_client::SetId;
use hr_docs_testkit::logs::Capture;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

const RESULT: &str = include_str!("../fixtures/result_passport_snils.json");

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

#[tokio::test(flavor = "current_thread")]
async fn tracing_spans_carry_endpoint_attempt_and_status_but_no_token() {
    let capture = Capture::start();

    let server = crate::common::server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(503, "{}"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(200, RESULT))
        .mount(&server)
        .await;
    client(&server)
        .result(&SetId::from_number(1))
        .await
        .unwrap();

    let logs = capture.text();
    assert!(logs.contains("beorg.request"), "{logs}");
    assert!(
        logs.contains("endpoint=\"result\"") || logs.contains("endpoint=result"),
        "{logs}"
    );
    assert!(
        logs.contains("set_id=\"s-1\"") || logs.contains("set_id=s-1"),
        "{logs}"
    );
    assert!(logs.contains("attempt=2"), "{logs}");
    assert!(logs.contains("status=503"), "{logs}");
    assert!(logs.contains("retrying"), "{logs}");
    assert!(!logs.contains(TOKEN), "token in logs: {logs}");
}

/// Issue 9: a result that fails to decode (retried: it was cut off), then a result with
/// broken documents, at TRACE: no log line carries a recognized value or the token.
#[tokio::test(flavor = "current_thread")]
async fn no_log_line_carries_a_recognized_value() {
    let capture = Capture::start();

    let server = crate::common::server().await;
    // Cut off in the middle of the passport: a damaged body, retried.
    Mock::given(path("/api/document/result/s-2"))
        .respond_with(json(
            200,
            r#"{"document_id":"s-2","documents":[{"type":"PASSPORT","data":{"LastName":"Иванов","Series":"4510"#,
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    // Then the data of the wrong type: a decode error, not retried.
    Mock::given(path("/api/document/result/s-2"))
        .respond_with(json(
            200,
            r#"{"document_id":"s-2","documents":[{"type":"PASSPORT","data":"Иванов 4510 123456 01.02.1990"}]}"#,
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .result(&SetId::from_number(2))
        .await
        .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    // A whole result, logged by the caller the way a careless caller would.
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(json(200, RESULT))
        .mount(&server)
        .await;
    let result = client(&server)
        .result(&SetId::from_number(1))
        .await
        .unwrap();
    tracing::info!(?result, error = %err, "what the caller logs");

    let logs = capture.text();
    assert!(logs.contains("retrying"), "{logs}");
    assert!(logs.contains("what the caller logs"), "{logs}");
    for term in [
        "Иванов",
        "4510",
        "123456",
        "01.02.1990",
        "112-233-445 95",
        "НОВОСИБИРСК",
        TOKEN,
    ] {
        assert!(!logs.contains(term), "{term:?} in logs: {logs}");
    }
}
