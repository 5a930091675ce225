//! `/api/document/ready` and the polling stream.

use std::time::Duration;

use crate::common::{PROJECT, TOKEN, builder, client, server};
use beorg_client::{HttpMethod, SetId};
use futures::StreamExt;
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const READY_MAP: &str = include_str!("../fixtures/ready_map.json");
const READY_LIST: &str = include_str!("../fixtures/ready_list.json");

fn body(s: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(s.as_bytes().to_vec(), "application/json")
}

fn ids(ns: &[u64]) -> Vec<SetId> {
    ns.iter().copied().map(SetId::from_number).collect()
}

#[tokio::test]
async fn get_form_with_map_shape() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/document/ready"))
        .and(query_param("project_id", PROJECT))
        .and(query_param("start_id", "16"))
        .and(query_param("token", TOKEN))
        .respond_with(body(READY_MAP))
        .expect(1)
        .mount(&server)
        .await;
    let sets = client(&server).ready(16).await.unwrap();
    assert_eq!(sets.ready, ids(&[16, 17, 18]));
    assert_eq!(sets.by_project["U_RATE_2"], ids(&[16, 18]));
    assert_eq!(sets.by_project["U_RATE_3"], ids(&[17]));
    assert_eq!(sets.extra["server_time"], "2026-11-23T12:00:00Z");
    assert_eq!(sets.max_number(), Some(18));
}

#[tokio::test]
async fn post_form_with_list_shape() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/document/ready"))
        .and(body_json(
            json!({"project_id": PROJECT, "start_id": 16, "token": TOKEN}),
        ))
        .respond_with(body(READY_LIST))
        .expect(1)
        .mount(&server)
        .await;
    let sets = builder(&server)
        .method(HttpMethod::Post)
        .build()
        .unwrap()
        .ready(16)
        .await
        .unwrap();
    assert_eq!(sets.ready, ids(&[16, 17]));
    assert_eq!(sets.by_project["U_RATE_2"], ids(&[16]));
    assert_eq!(sets.by_project["U_RATE_3"], ids(&[17]));
}

#[tokio::test]
async fn stream_advances_start_id_and_never_repeats() {
    let server = server().await;
    // First poll from 16 finds 16 and 17 (and a stale 15 the server should not send).
    Mock::given(path("/api/document/ready"))
        .and(query_param("start_id", "16"))
        .respond_with(body(r#"{"ready": [15, 16, "s-17"]}"#))
        .expect(1)
        .mount(&server)
        .await;
    // From 18: first nothing, then 17 again (ignored) and 18.
    Mock::given(path("/api/document/ready"))
        .and(query_param("start_id", "18"))
        .respond_with(body(r#"{"ready": []}"#))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/document/ready"))
        .and(query_param("start_id", "18"))
        .respond_with(body(r#"{"ready": [17, 18], "by_project": {"B": [19]}}"#))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/document/ready"))
        .and(query_param("start_id", "20"))
        .respond_with(body(r#"{"ready": []}"#))
        .mount(&server)
        .await;

    let mut stream = client(&server).ready_stream(16, Duration::from_millis(5));
    assert_eq!(stream.next_start_id(), 16);
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(stream.next().await.unwrap().unwrap());
        // Every id up to the one just yielded is covered by next_start_id.
        assert_eq!(
            stream.next_start_id(),
            got.last().unwrap().number().unwrap() + 1
        );
    }
    assert_eq!(got, ids(&[16, 17, 18, 19]));
    assert_eq!(stream.next_start_id(), 20);
}

#[tokio::test]
async fn next_start_id_does_not_skip_buffered_ids() {
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .and(query_param("start_id", "1"))
        .respond_with(body(r#"{"ready": [1, 2, 3]}"#))
        .expect(1)
        .mount(&server)
        .await;
    let mut stream = client(&server).ready_stream(1, Duration::from_millis(5));
    assert_eq!(stream.next().await.unwrap().unwrap(), SetId::from_number(1));
    // 2 and 3 are known but not yet handed out: resuming must start at 2.
    assert_eq!(stream.next_start_id(), 2);
}

#[tokio::test]
async fn stream_yields_retryable_errors_and_goes_on() {
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/document/ready"))
        .respond_with(body(r#"{"ready": [7]}"#))
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(beorg_client::RetryPolicy::none())
        .build()
        .unwrap();
    let mut stream = client.ready_stream(7, Duration::from_millis(1));
    let first = stream.next().await.unwrap();
    let err = first.unwrap_err();
    assert_eq!(err.status(), Some(503));
    crate::common::assert_no_token(&err);
    assert_eq!(stream.next().await.unwrap().unwrap(), SetId::from_number(7));
}

#[tokio::test]
async fn stream_ends_after_a_fatal_error() {
    let server = server().await;
    Mock::given(path("/api/document/ready"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            include_str!("../fixtures/error_bad_token.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut stream = client(&server).ready_stream(1, Duration::from_millis(1));
    assert!(stream.next().await.unwrap().unwrap_err().is_auth());
    assert!(stream.next().await.is_none());
}
