//! `/api/document/ready` and the polling stream.

use std::time::Duration;

use crate::common::{PROJECT, TOKEN, builder, client, server};
use beorg_client::watermark::WatermarkRule;
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

/// The ids of the ready sets taken from a stream.
#[allow(clippy::unwrap_used)] // a test helper: a panic is a failed test
async fn take(stream: &mut beorg_client::ReadyStream, n: usize) -> Vec<SetId> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(stream.next().await.unwrap().unwrap().id);
    }
    got
}

/// Mounts a scripted answer for polls from `start_id`: `bodies` in turn (each
/// once), then the last one for any further poll.
#[allow(clippy::unwrap_used)] // a test helper: a panic is a failed test
async fn script(server: &wiremock::MockServer, start_id: u64, bodies: &[&str]) {
    let n = bodies.len();
    for (i, b) in bodies.iter().enumerate() {
        let mock = Mock::given(path("/api/document/ready"))
            .and(query_param("start_id", start_id.to_string()));
        let mock = mock.respond_with(body(b));
        if i + 1 < n {
            // Earlier answers win while they last.
            mock.up_to_n_times(1)
                .with_priority(u8::try_from(i + 1).unwrap())
                .mount(server)
                .await;
        } else {
            mock.with_priority(u8::try_from(i + 1).unwrap())
                .mount(server)
                .await;
        }
    }
}

#[tokio::test]
async fn stream_yields_each_set_once_with_its_contour() {
    let server = server().await;
    // From 16: 16 and 17 (and a stale 15 the server should not send).
    script(
        &server,
        16,
        &[r#"{"ready": [15, 16, "s-17"], "by_project": {"A": [16], "B": ["s-17"]}}"#],
    )
    .await;
    // Both yielded: from 18, a stale 17 again, 18, and 19 only in by_project.
    script(
        &server,
        18,
        &[r#"{"ready": [17, 18], "by_project": {"A": [18], "B": [17, 19]}}"#],
    )
    .await;
    // Once everything up to 19 is yielded, polls go on from 20.
    script(&server, 20, &[r#"{"ready": []}"#]).await;

    let mut stream = client(&server).ready_stream(16, Duration::from_millis(5));
    assert_eq!(stream.next_start_id(), 16);
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(
        (first.id.number(), first.contour.as_deref()),
        (Some(16), Some("A"))
    );
    let second = stream.next().await.unwrap().unwrap();
    assert_eq!(
        (second.id.number(), second.contour.as_deref()),
        (Some(17), Some("B"))
    );
    assert_eq!(stream.next_start_id(), 18);
    assert_eq!(take(&mut stream, 2).await, ids(&[18, 19]));
    assert_eq!(stream.next_start_id(), 20);
}

/// A set that becomes ready after a higher-numbered one is still yielded: the
/// stream polls from the watermark, held at the gap, not from past 17.
#[tokio::test]
async fn a_set_ready_after_a_higher_one_is_yielded() {
    let server = server().await;
    script(
        &server,
        16,
        &[
            r#"{"ready": [17]}"#,
            r#"{"ready": [17]}"#,
            r#"{"ready": [16, 17]}"#,
        ],
    )
    .await;
    script(&server, 18, &[r#"{"ready": []}"#]).await;
    let mut stream = client(&server).ready_stream(16, Duration::from_millis(1));
    assert_eq!(take(&mut stream, 1).await, ids(&[17]));
    // 16 may still come (default grace: 15 minutes): resume at 16, and a
    // checkpoint says 17 is already yielded.
    assert_eq!(stream.next_start_id(), 16);
    let checkpoint = stream.checkpoint();
    assert_eq!(checkpoint.start_id, 16);
    assert_eq!(checkpoint.yielded, ids(&[17]));
    // The late set: yielded, and 17 is not repeated.
    assert_eq!(take(&mut stream, 1).await, ids(&[16]));
    assert_eq!(stream.next_start_id(), 18);
}

#[tokio::test]
async fn repeated_answers_never_repeat_a_set() {
    let server = server().await;
    script(&server, 1, &[r#"{"ready": [1, 2, "s-2", 2]}"#]).await;
    // Stale 2 and a doubled 3; then 3 again with 4.
    script(&server, 3, &[r#"{"ready": [2, 3, 3]}"#]).await;
    script(&server, 4, &[r#"{"ready": [3, 4]}"#]).await;
    script(&server, 5, &[r#"{"ready": []}"#]).await;
    let mut stream = client(&server).ready_stream(1, Duration::from_millis(1));
    assert_eq!(take(&mut stream, 4).await, ids(&[1, 2, 3, 4]));
    assert_eq!(stream.next_start_id(), 5);
}

#[tokio::test]
async fn a_restart_from_next_start_id_loses_nothing() {
    let server = server().await;
    // First life: 17 ready before 16.
    script(
        &server,
        16,
        &[r#"{"ready": [17]}"#, r#"{"ready": [16, 17, 18]}"#],
    )
    .await;
    let mut first = client(&server).ready_stream(16, Duration::from_millis(1));
    assert_eq!(take(&mut first, 1).await, ids(&[17]));
    let persisted = first.next_start_id();
    let checkpoint = first.checkpoint();
    drop(first);
    assert_eq!(persisted, 16);

    // Resumed from the plain start id: 16 (late) and 18 come, and 17 again
    // (nothing told the new stream it was handled).
    let mut resumed = client(&server).ready_stream(persisted, Duration::from_millis(1));
    assert_eq!(take(&mut resumed, 3).await, ids(&[16, 17, 18]));

    // Resumed from the checkpoint: 16 and 18 only, exactly once.
    let mut resumed = client(&server).ready_stream_from(checkpoint, Duration::from_millis(1));
    assert_eq!(take(&mut resumed, 2).await, ids(&[16, 18]));
    assert_eq!(resumed.next_start_id(), 19);
}

#[tokio::test]
async fn a_zero_grace_releases_gaps_at_once() {
    let server = server().await;
    script(&server, 16, &[r#"{"ready": [17]}"#]).await;
    script(&server, 18, &[r#"{"ready": []}"#]).await;
    let mut stream = client(&server)
        .ready_stream(16, Duration::from_millis(1))
        .watermark(WatermarkRule::new().with_gap_grace(Duration::ZERO));
    assert_eq!(take(&mut stream, 1).await, ids(&[17]));
    assert_eq!(stream.next_start_id(), 18);
}

#[tokio::test]
async fn an_outlier_does_not_move_the_stream_past_real_sets() {
    let server = server().await;
    script(&server, 200, &[r#"{"ready": [200, 9000000000]}"#]).await;
    // Polls stay at 201 (the outlier is listed again and skipped) and pick up 201.
    script(
        &server,
        201,
        &[
            r#"{"ready": [9000000000]}"#,
            r#"{"ready": [201, 9000000000]}"#,
        ],
    )
    .await;
    script(&server, 202, &[r#"{"ready": [9000000000]}"#]).await;
    let mut stream = client(&server)
        .ready_stream(200, Duration::from_millis(1))
        .watermark(WatermarkRule::new().with_gap_grace(Duration::ZERO));
    assert_eq!(take(&mut stream, 2).await, ids(&[200, 9_000_000_000]));
    assert_eq!(stream.next_start_id(), 201);
    assert_eq!(take(&mut stream, 1).await, ids(&[201]));
    assert_eq!(stream.next_start_id(), 202);
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
    assert_eq!(
        stream.next().await.unwrap().unwrap().id,
        SetId::from_number(1)
    );
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
    assert_eq!(
        stream.next().await.unwrap().unwrap().id,
        SetId::from_number(7)
    );
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
