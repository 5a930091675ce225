//! Session expiry and injected faults in the sandbox, with the real client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::future::Future;

use crate::sandbox_common::*;
use futures::future::join_all;
use saby_client::{Error, EventCursor, ServerSigner, StateCode};
use saby_sandbox::{Faults, Sandbox, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_expiring_mid_run_cost_exactly_one_relogin() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    for i in 0..20 {
        client
            .write_document(&draft(&format!("s{i}"), "x"))
            .await
            .unwrap();
    }
    assert_eq!(sb.login_count(), 1);
    sb.expire_sessions();
    let reads = (0..20).map(|i| {
        let client = client.clone();
        async move { client.read_document(&format!("s{i}")).await }
    });
    for doc in join_all(reads).await {
        assert_eq!(doc.unwrap().state.unwrap().code, StateCode::Editing);
    }
    assert_eq!(sb.login_count(), 2, "one re-login for 20 concurrent calls");
    assert!(sb.unauthorized_count() >= 1);
}

#[tokio::test]
async fn sessions_expiring_after_a_number_of_calls_are_renewed() {
    let sb = Sandbox::start(SandboxConfig::default().session_expires_after_calls(5)).await;
    let client = sb.client();
    for i in 0..12 {
        client
            .write_document(&draft(&format!("n{i}"), "x"))
            .await
            .unwrap();
    }
    assert_eq!(sb.document_count(), 12);
    assert_eq!(sb.login_count(), 3, "12 calls at 5 per session");
}

#[tokio::test]
async fn wrong_credentials_fail_without_retrying() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb
        .client_builder()
        .credentials(saby_client::Credentials::password("sandbox", "wrong"))
        .build()
        .unwrap();
    let err = client.read_document("x").await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert_eq!(sb.login_count(), 0);
    assert_eq!(sb.failed_login_count(), 1);
}

#[tokio::test]
async fn service_app_login_works() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb
        .client_builder()
        .credentials(sb.service_app_credentials())
        .build()
        .unwrap();
    client.write_document(&draft("app", "x")).await.unwrap();
    assert_eq!(sb.login_count(), 1);
    assert_eq!(sb.document_count(), 1);
}

/// Repeats an idempotent operation until it succeeds (a broken body is not retried by the
/// client itself: it cannot know whether the answer was complete).
async fn until_ok<T, F, Fut>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = saby_client::Result<T>>,
{
    for _ in 0..50 {
        match op().await {
            Ok(v) => return v,
            Err(e)
                if e.is_retryable() || matches!(e, Error::Decode { .. } | Error::Http { .. }) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    panic!("no success in 50 attempts");
}

#[tokio::test]
async fn with_server_errors_and_broken_bodies_the_flow_still_completes() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    sb.set_faults(Faults::none().server_errors(0.25).malformed(0.15).seed(5));
    let ids: Vec<String> = (0..8).map(|i| format!("f{i}")).collect();
    for id in &ids {
        let doc = draft(id, "Договор");
        until_ok(|| client.write_document(&doc)).await;
    }
    assert_eq!(sb.document_count(), 8, "retried writes never duplicate");
    // Sending is not idempotent: check the state before each attempt, as an application would.
    for id in &ids {
        loop {
            let doc = until_ok(|| client.read_document(id)).await;
            if doc.state.unwrap().code != StateCode::Editing {
                break;
            }
            let _ = client.send(id, &ServerSigner).await;
        }
    }
    // The feed is idempotent: resume from the saved cursor after each failure.
    let mut cursor = EventCursor::start();
    let mut names: std::collections::HashMap<String, Vec<String>> = Default::default();
    for _ in 0..200 {
        let mut feed = client.events(cursor.clone());
        while let Some(item) = futures::StreamExt::next(&mut feed).await {
            match item {
                Ok(e) => names
                    .entry(e.document_id().unwrap().to_string())
                    .or_default()
                    .push(e.event.name.clone().unwrap_or_default()),
                Err(_) => break,
            }
        }
        cursor = feed.cursor().clone();
        if ids
            .iter()
            .all(|id| sb.state_code(id).as_deref() == Some("7"))
            && ids
                .iter()
                .all(|id| names.get(id).is_some_and(|n| n.len() == 3))
        {
            break;
        }
    }
    assert!(
        sb.fault_count() > 10,
        "faults were injected: {}",
        sb.fault_count()
    );
    for id in &ids {
        assert_eq!(sb.state_code(id).as_deref(), Some("7"), "{id}");
        assert_eq!(
            names[id],
            ["Отправка", "Получение", "Утверждение"],
            "{id}: every event exactly once"
        );
        assert_eq!(
            sb.event_names(id),
            ["Отправка", "Получение", "Утверждение"],
            "{id}: sent once"
        );
    }
}

#[tokio::test]
async fn business_errors_with_http_500_are_not_retried() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    client.write_document(&draft("b", "x")).await.unwrap();
    sb.set_faults(Faults::none().business_errors(1.0));
    let before = sb.method_call_count("СБИС.ПрочитатьДокумент");
    let err = client.read_document("b").await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(sb.method_call_count("СБИС.ПрочитатьДокумент"), before + 1);
    sb.set_faults(Faults::none());
    assert!(client.read_document("b").await.is_ok());
}
