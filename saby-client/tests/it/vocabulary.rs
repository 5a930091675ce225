//! The vocabulary shared with `beorg-client` (`hr-docs-core`): error chains that print each
//! cause once, the `ServiceError` predicates, the deadline error and its source, `Retry-After`,
//! typed ids, the builder's common options, and the one redaction marker.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use hr_docs_testkit::errors::{assert_each_cause_once, closed_loopback_url};

use saby_client::hr_docs_core::{REDACTED, ServiceError};
use saby_client::{
    Client, Credentials, DEFAULT_USER_AGENT, Document, DocumentId, Error, RetryPolicy, Secret,
};
use serde_json::json;
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{PASSWORD, builder, catch_all, mount_rpc, reply, result, server_with_login};

/// Waiting longer than the deadline allows: after one failure the policy stops.
fn patient_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_secs(30))
        .with_jitter(false)
}

#[tokio::test]
async fn a_deadline_over_a_decode_error_prints_each_cause_once() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(200).set_body_raw(
            r#"{"jsonrpc":"2.0","id":1,"result":{"Идент"#,
            "application/json",
        ),
        Some(1),
    )
    .await;
    let client = builder(&server)
        .retry_policy(patient_retries())
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = client.read_document("x").await.unwrap_err();
    match &err {
        Error::DeadlineExceeded {
            deadline,
            attempts: 1,
            last_error: Some(last),
        } => {
            assert_eq!(*deadline, Duration::from_secs(5));
            assert!(matches!(**last, Error::Decode { .. }), "{last:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let levels = assert_each_cause_once(&err);
    // deadline → decode → the JSON error.
    assert_eq!(levels.len(), 3, "{levels:#?}");
    assert!(levels[2].contains("EOF"), "{levels:#?}");
    assert!(err.is_deadline() && err.is_timeout() && err.is_retryable());
    assert_eq!(err.status(), None, "the answer was a 200");
}

#[tokio::test]
async fn a_deadline_over_a_connect_error_prints_each_cause_once() {
    // A port nothing listens on: connecting is refused, the request never leaves.
    let client = Client::builder()
        .base_url(format!("{}/", closed_loopback_url()))
        .credentials(Credentials::session("sid-of-a-test"))
        .retry_policy(patient_retries())
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = client.read_document("x").await.unwrap_err();
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
    assert!(!levels.join(" ").contains("sid-of-a-test"));
}

#[tokio::test]
async fn every_error_with_a_source_prints_it_once() {
    let io = Error::Io {
        path: "/archive/x.pdf".into(),
        source: std::io::Error::other("disk full"),
    };
    let signer = Error::Signer("token not inserted".into());
    let decode = Error::Decode {
        method: "СБИС.ПрочитатьДокумент".into(),
        path: "result".into(),
        status: 200,
        excerpt: "{".into(),
        source: serde_json::from_str::<u8>("{").unwrap_err(),
    };
    let deadline = Error::DeadlineExceeded {
        deadline: Duration::from_secs(1),
        attempts: 2,
        last_error: Some(Box::new(Error::DeadlineExceeded {
            deadline: Duration::from_secs(1),
            attempts: 1,
            last_error: Some(Box::new(decode)),
        })),
    };
    for err in [io, signer, deadline] {
        let levels = assert_each_cause_once(&err);
        assert!(levels.len() >= 2, "{levels:#?}");
    }
}

#[tokio::test]
async fn the_error_predicates_are_reachable_through_the_shared_trait() {
    let server = MockServer::start().await;
    Mock::given(path("/auth/service/"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = builder(&server)
        .build()
        .unwrap()
        .read_document("x")
        .await
        .unwrap_err();
    let shared: &dyn ServiceError = &err;
    assert!(shared.is_auth());
    assert!(!shared.is_retryable());
    assert!(!shared.is_timeout() && !shared.is_deadline());
    assert_eq!(shared.status(), Some(401));
}

#[tokio::test]
async fn retry_after_of_a_429_is_honoured_and_capped() {
    // The server asks for an absurd wait: the policy's cap (here 10 ms) is what is waited.
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(429).insert_header("Retry-After", "18446744073709551616"),
        Some(2),
    )
    .await;
    let client = builder(&server)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_max_retry_after(Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    let err = client.read_document("x").await.unwrap_err();
    match &err {
        Error::Http {
            status: 429,
            retry_after: Some(asked),
            ..
        } => assert_eq!(*asked, Duration::MAX),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_retryable());
}

#[tokio::test]
async fn the_user_agent_is_the_crate_and_version_unless_set() {
    assert_eq!(
        DEFAULT_USER_AGENT,
        concat!("saby-client/", env!("CARGO_PKG_VERSION"))
    );
    for (set, expected) in [
        (None, DEFAULT_USER_AGENT),
        (Some("hr-robot/2.1"), "hr-robot/2.1"),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/service/"))
            .and(header("user-agent", expected))
            .respond_with(result(json!({"ВерсияAPI": "3"})))
            .expect(1)
            .mount(&server)
            .await;
        catch_all(&server).await;
        let mut b = builder(&server).credentials(Credentials::session("sid"));
        if let Some(ua) = set {
            b = b.user_agent(ua);
        }
        b.build().unwrap().version_info().await.unwrap();
    }
}

#[tokio::test]
async fn no_deadline_leaves_only_the_attempt_limit() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(503),
        Some(4),
    )
    .await;
    let err = builder(&server)
        .no_deadline()
        .build()
        .unwrap()
        .read_document("x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Maintenance { status: 503, .. }),
        "{err:?}"
    );
    assert!(!err.is_deadline());
}

#[tokio::test]
async fn methods_take_typed_ids_or_text() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply(
            json!({"jsonrpc": "2.0", "id": 0, "result": {"Идентификатор": "d-1",
            "Этап": [{"Идентификатор": "st-1", "Название": "Отправка"}],
            "Вложение": [{"Идентификатор": "a-1"}],
            "Событие": [{"Идентификатор": "e-1"}]}}),
        ),
        Some(3),
    )
    .await;
    let client = builder(&server).build().unwrap();
    let id = DocumentId::from("d-1");
    let by_ref = client.read_document(&id).await.unwrap();
    let by_value = client.read_document(id.clone()).await.unwrap();
    let by_text: Document = client.read_document("d-1").await.unwrap();
    assert_eq!(by_ref, by_value);
    assert_eq!(by_text.id.as_ref(), Some(&id));
    assert_eq!(by_text.stages[0].id.as_ref().unwrap(), "st-1");
    assert_eq!(by_text.attachments[0].id.as_ref().unwrap(), "a-1");
    assert_eq!(by_text.events[0].id.as_ref().unwrap(), "e-1");
    assert_eq!(by_text.required_id().unwrap(), &id);
    // A document without an id is an error to act on, never an empty string.
    assert!(matches!(
        Document::default().required_id(),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn debug_of_every_credential_holder_prints_the_one_marker() {
    let secret = Secret::from(PASSWORD);
    let mut info = saby_client::ConfirmationInfo::default();
    info.session_id = Some("temp-sid-secret".into());
    let builder = Client::builder().credentials(Credentials::password("hr-robot", PASSWORD));
    let client = builder.clone().build().unwrap();
    for shown in [
        format!("{secret:?}"),
        format!("{info:?}"),
        format!("{builder:?}"),
        format!("{client:#?}"),
    ] {
        assert!(
            !shown.contains(PASSWORD) && !shown.contains("temp-sid-secret"),
            "{shown}"
        );
        assert!(shown.contains(REDACTED), "{shown}");
        assert!(!shown.contains("[redacted"), "{shown}");
    }
}
