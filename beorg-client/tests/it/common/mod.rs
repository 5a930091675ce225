//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]
// Test helpers: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

use std::error::Error as _;
use std::time::Duration;

use beorg_client::{Client, ClientBuilder, Error, RetryPolicy};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A token that must never show up in any output.
pub const TOKEN: &str = "t0ken-S3CRET-9f8e7d";
pub const PROJECT: &str = "U_RATE_2";

/// One server per test, with a catch-all that fails the test on any unexpected request.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request in test"))
        .with_priority(u8::MAX)
        .named("catch-all: unexpected request")
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// A builder against `server` with tiny backoffs (tests stay fast).
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .project_id(PROJECT)
        .timeout(Duration::from_secs(5))
        .deadline(Duration::from_secs(20))
        .retry_policy(fast_retries(4))
        .poll_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

pub fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
        .with_max_retry_after(Duration::from_millis(10))
}

pub fn client(server: &MockServer) -> Client {
    builder(server).build().unwrap()
}

/// Asserts that neither the error's Display, its Debug, nor any error in its
/// source chain mentions the token.
pub fn assert_no_token(err: &Error) {
    let mut texts = vec![err.to_string(), format!("{err:?}"), format!("{err:#?}")];
    let mut source = err.source();
    while let Some(s) = source {
        texts.push(s.to_string());
        texts.push(format!("{s:?}"));
        source = s.source();
    }
    for t in texts {
        assert!(!t.contains(TOKEN), "token leaked in: {t}");
        assert!(!t.contains("t0ken-S3CRET"), "token leaked in: {t}");
    }
}
