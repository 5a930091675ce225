//! Tracing: every request runs in a span with endpoint, set id, attempt and status,
//! and no log line carries the token.
//!
//! Alone in its own test binary: tracing caches per-callsite interest, so another
//! test hitting the same callsites concurrently without a subscriber could hide them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::{TOKEN, client};
use beorg_client::SetId;
use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

const RESULT: &str = include_str!("../fixtures/result_passport_snils.json");

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

#[allow(clippy::unwrap_used)] // test helper
impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn tracing_spans_carry_endpoint_attempt_and_status_but_no_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
