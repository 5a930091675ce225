//! The sandbox's HTTP server itself, seen with a raw HTTP client: query parameters, headers
//! and bodies of faulted answers, the catch-all 404, the fallible start and the shutdown on
//! drop.

use std::time::Duration;

use beorg_sandbox::{Faults, Sandbox, SandboxConfig, SetSpec};
use serde_json::Value;

#[tokio::test]
async fn get_forms_read_the_query_and_post_forms_the_body() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0)).await;
    let set = sandbox.add_set(SetSpec::new());
    let http = reqwest::Client::new();

    // Percent-encoded query values are decoded.
    let url = format!(
        "{}/api/document/ready?token=sandbox%2Dtoken&project_id=4821&start_id=s%2D1",
        sandbox.uri()
    );
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["ready"], serde_json::json!([1]));
    assert_eq!(v["by_project"]["Кадры-Москва"], serde_json::json!([1]));

    let url = format!("{}/api/document/result/{set}", sandbox.uri());
    let resp = http
        .post(&url)
        .json(&serde_json::json!({"token": "sandbox-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["document_id"], "s-1");

    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["errors"]["type"], "Unauthorized");

    let resp = http
        .delete(format!("{}/nowhere?token=sandbox-token", sandbox.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["errors"]["message"], "no route for DELETE /nowhere");
    assert_eq!(sandbox.requests_served(), 4);
}

#[tokio::test]
async fn truncated_answers_are_complete_http_messages_with_a_cut_json_body() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0)).await;
    let set = sandbox.add_set(SetSpec::new());
    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/document/result/{set}?token=sandbox-token",
        sandbox.uri()
    );
    let full = http.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&full).is_ok());

    sandbox.set_faults(Faults::default().truncated(1.0));
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let length: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let cut = resp.bytes().await.unwrap();
    assert_eq!(cut.len(), length);
    assert_eq!(&cut[..], &full[..full.len() / 2]);
    let err = serde_json::from_slice::<Value>(&cut).unwrap_err();
    assert!(err.is_eof(), "{err}");
    assert_eq!(sandbox.faults_injected(), 1);
}

#[tokio::test]
async fn rate_limited_answers_carry_retry_after_in_whole_seconds() {
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .faults(Faults::default().rate_limited(1.0, Duration::from_millis(1500))),
    )
    .await;
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/api/document/ready?token=sandbox-token&project_id=4821&start_id=1",
            sandbox.uri()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "2");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["errors"]["type"], "TooManyRequests");
    // A fault has no effect on the state.
    assert_eq!(sandbox.ready_requests(), 0);
}

#[tokio::test]
async fn each_sandbox_has_its_own_loopback_port_and_stops_when_dropped() {
    let first = Sandbox::try_start(SandboxConfig::default()).await.unwrap();
    let second = Sandbox::try_start(SandboxConfig::default()).await.unwrap();
    assert!(
        first.uri().starts_with("http://127.0.0.1:"),
        "{}",
        first.uri()
    );
    assert_ne!(first.uri(), second.uri());

    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/document/result/s-1?token=sandbox-token",
        first.uri()
    );
    assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 404);
    drop(first);
    // The server thread notices the drop asynchronously; a new connection is refused soon.
    let fresh = reqwest::Client::new();
    let mut refused = false;
    for _ in 0..200 {
        if fresh.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        refused,
        "the server still answers after the sandbox was dropped"
    );
    assert_eq!(second.requests_served(), 0);
}
