//! Tracing: every request runs in a span with endpoint, set id, attempt and status,
//! and no log line carries the token.
//!
//! The integration tests share one binary, and tracing caches each callsite's
//! interest process-wide: a subscriber installed with `set_default` on one test's
//! thread can miss a callsite that another test registered at the same moment with
//! no subscriber (seen as a flaky empty capture). So the capture uses one global
//! subscriber at TRACE, installed once, whose writer routes each line to the buffer
//! of the thread that emitted it (tests here run on a current-thread runtime).

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::common::{TOKEN, client};
use beorg_client::SetId;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

const RESULT: &str = include_str!("../fixtures/result_passport_snils.json");

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

thread_local! {
    /// Where this thread's log lines go while a capture is active.
    static SINK: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Writes to the current thread's capture buffer, or nowhere.
struct ThreadSink;

#[allow(clippy::unwrap_used)] // test helper
impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|sink| {
            if let Some(sink) = sink.borrow().as_ref() {
                sink.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line this thread emits until the guard drops.
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    #[allow(clippy::expect_used)] // test helper
    fn start() -> Self {
        static GLOBAL: OnceLock<()> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(|| ThreadSink)
                .with_ansi(false)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
        });
        let buffer = Arc::new(Mutex::new(Vec::new()));
        SINK.with(|sink| *sink.borrow_mut() = Some(Arc::clone(&buffer)));
        Self(buffer)
    }

    #[allow(clippy::unwrap_used)] // test helper
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        SINK.with(|sink| *sink.borrow_mut() = None);
    }
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
