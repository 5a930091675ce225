//! The vocabulary shared with `saby-client` (`hr-docs-core`): error chains that print each
//! cause once, the `ServiceError` predicates, the deadline error, the user agent, and the one
//! redaction marker.

use std::time::Duration;

use hr_docs_testkit::errors::{assert_each_cause_once, closed_loopback_url};

use beorg_client::hr_docs_core::{REDACTED, ServiceError};
use beorg_client::{Client, ClientBuilder, DEFAULT_USER_AGENT, Error, RetryPolicy, SetId};
use wiremock::matchers::{header, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::{TOKEN, assert_no_token, builder, server};

const RESULT: &str = include_str!("../fixtures/result_passport_snils.json");

/// Waiting longer than the deadline allows: the next attempt is never made.
fn patient_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_secs(30))
        .with_jitter(false)
}

/// The error of `result(s-1)` from the test builder, `configure`d, against a server that
/// answers it with `answer` and is asked exactly `calls` times.
#[allow(clippy::unwrap_used)] // a test helper: a panic is a failed test
async fn result_error(
    answer: ResponseTemplate,
    calls: u64,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Error {
    let server = server().await;
    Mock::given(path("/api/document/result/s-1"))
        .respond_with(answer)
        .expect(calls)
        .mount(&server)
        .await;
    configure(builder(&server))
        .build()
        .unwrap()
        .result(&SetId::from_number(1))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_deadline_over_a_decode_error_prints_each_cause_once() {
    let cut_off = ResponseTemplate::new(200).set_body_raw(
        RESULT.as_bytes()[..RESULT.len() / 2].to_vec(),
        "application/json",
    );
    let err = result_error(cut_off, 1, |b| {
        b.retry_policy(patient_retries())
            .deadline(Duration::from_secs(5))
    })
    .await;
    match &err {
        Error::DeadlineExceeded {
            deadline,
            attempts: 1,
            last_error: Some(last),
            ..
        } => {
            assert_eq!(*deadline, Duration::from_secs(5));
            assert!(last.is_decode(), "{last:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let levels = assert_each_cause_once(&err);
    // deadline → decode → the JSON error.
    assert_eq!(levels.len(), 3, "{levels:#?}");
    assert!(levels[2].contains("EOF"), "{levels:#?}");
    assert!(err.is_deadline() && err.is_timeout() && err.is_retryable());
    assert_eq!(err.status(), None, "the last answer was a 200");
    assert_no_token(&err);
}

#[tokio::test]
async fn a_deadline_over_a_connect_error_prints_each_cause_once() {
    // A port nothing listens on: connecting is refused, the request never leaves.
    let client = Client::builder()
        .base_url(format!("{}/", closed_loopback_url()))
        .token(TOKEN)
        .project_id("P")
        .retry_policy(patient_retries())
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = client.ready(1).await.unwrap_err();
    let last = match &err {
        Error::DeadlineExceeded {
            last_error: Some(last),
            ..
        } => last,
        other => panic!("unexpected {other:?}"),
    };
    assert!(
        matches!(**last, Error::Transport { connect: true, .. }),
        "{last:?}"
    );
    let levels = assert_each_cause_once(&err);
    // deadline → transport → the HTTP stack's own chain (at least one level).
    assert!(levels.len() >= 3, "{levels:#?}");
    assert!(err.is_retryable() && !err.is_auth());
    assert_no_token(&err);
}

#[tokio::test]
async fn api_and_decode_errors_print_each_cause_once() {
    let wrong_shape =
        ResponseTemplate::new(200).set_body_raw(r#"{"documents": 7}"#, "application/json");
    let err = result_error(wrong_shape, 1, |b| b).await;
    let levels = assert_each_cause_once(&err);
    assert_eq!(levels.len(), 2, "{levels:#?}");
    assert!(levels[0].contains("`documents`"), "{levels:#?}");
    assert!(levels[1].contains("invalid type"), "{levels:#?}");
}

#[tokio::test]
async fn the_error_predicates_are_reachable_through_the_shared_trait() {
    let unauthorized = ResponseTemplate::new(401).set_body_raw(
        r#"{"errors": {"type": "Unauthorized", "message": "bad token"}}"#,
        "application/json",
    );
    let err = result_error(unauthorized, 1, |b| b).await;
    let shared: &dyn ServiceError = &err;
    assert!(shared.is_auth());
    assert!(!shared.is_retryable());
    assert!(!shared.is_timeout());
    assert!(!shared.is_deadline());
    assert_eq!(shared.status(), Some(401));
}

#[tokio::test]
async fn the_deadline_error_reports_the_status_of_its_last_attempt() {
    let err = result_error(ResponseTemplate::new(503), 1, |b| {
        b.retry_policy(patient_retries())
            .deadline(Duration::from_secs(5))
    })
    .await;
    assert!(err.is_deadline(), "{err:?}");
    assert_eq!(err.status(), Some(503));
    let levels = assert_each_cause_once(&err);
    assert_eq!(levels.len(), 2, "{levels:#?}");
}

#[tokio::test]
async fn the_user_agent_is_the_crate_and_version_unless_set() {
    assert_eq!(
        DEFAULT_USER_AGENT,
        concat!("beorg-client/", env!("CARGO_PKG_VERSION"))
    );
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .and(header("user-agent", DEFAULT_USER_AGENT))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"ready": []}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    builder(&server).build().unwrap().ready(1).await.unwrap();

    let server = crate::common::server().await;
    Mock::given(path("/api/document/ready"))
        .and(header("user-agent", "hr-robot/2.1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"ready": []}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    builder(&server)
        .user_agent("hr-robot/2.1")
        .build()
        .unwrap()
        .ready(1)
        .await
        .unwrap();
}

#[tokio::test]
async fn no_deadline_leaves_only_the_attempt_limit() {
    let err = result_error(ResponseTemplate::new(503), 3, |b| {
        b.no_deadline().retry_policy(crate::common::fast_retries(3))
    })
    .await;
    assert!(!err.is_deadline(), "{err:?}");
    assert_eq!(err.status(), Some(503));
}

#[test]
fn debug_of_every_credential_holder_prints_the_one_marker() {
    let builder = Client::builder().token(TOKEN).project_id("P");
    let client = builder.clone().build().unwrap();
    for shown in [
        format!("{builder:?}"),
        format!("{builder:#?}"),
        format!("{client:?}"),
        format!("{client:#?}"),
    ] {
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
        assert!(!shown.contains("[redacted]"), "{shown}");
    }
}
