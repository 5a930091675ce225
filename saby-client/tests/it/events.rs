//! The event feed: paging by cursor, no duplicates, resumable cursor, follow mode.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::time::Duration;

use crate::common::*;
use futures::StreamExt;
use saby_client::{ChangeEvent, EventCursor, EventFilter};
use serde_json::Value;
use wiremock::{Mock, Request};

fn feed_filter(r: &Request) -> Value {
    body(r)["params"]["Фильтр"].clone()
}

#[tokio::test]
async fn pages_by_last_event_and_never_yields_duplicates() {
    let server = server_with_login(Some(1)).await;
    // First page: no cursor fields.
    Mock::given(rpc("СБИС.СписокИзменений"))
        .and(|r: &Request| feed_filter(r).get("ИдентификаторСобытия").is_none())
        .respond_with(reply(fx(include_str!("../fixtures/events_page1.json"))))
        .expect(1)
        .mount(&server)
        .await;
    // Second page: cursor at e-3 (the last event of page 1), which the server repeats.
    Mock::given(rpc("СБИС.СписокИзменений"))
        .and(|r: &Request| feed_filter(r)["ИдентификаторСобытия"] == "e-3")
        .respond_with(reply(fx(include_str!("../fixtures/events_page2.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut feed = client
        .events(EventCursor::default())
        .with_filter(EventFilter::new().doc_type("ДокОтгрВх"));
    let mut got: Vec<ChangeEvent> = Vec::new();
    while let Some(ev) = feed.next().await {
        got.push(ev.unwrap());
    }
    let ids: Vec<_> = got.iter().map(|e| e.event.id.clone().unwrap()).collect();
    assert_eq!(
        ids,
        ["e-1", "e-2", "e-3", "e-4"],
        "e-3 repeated by the server is yielded once"
    );
    assert_eq!(got[3].document_id().unwrap(), "d-3");
    assert!(
        got[0].document.events.is_empty(),
        "events moved out of the document"
    );

    let sent = bodies(&server, "СБИС.СписокИзменений").await;
    assert_eq!(sent.len(), 2);
    let second = &sent[1]["params"]["Фильтр"];
    assert_eq!(second["ИдентификаторДокумента"], "d-2");
    assert_eq!(second["ДатаВремяС"], "20.11.2026 10.01.00");
    assert_eq!(second["Тип"], "ДокОтгрВх");
    assert!(
        second.get("Навигация").is_none(),
        "the feed never sends Навигация"
    );

    let cursor = feed.cursor().clone();
    assert_eq!(cursor.event_id.as_ref().map(|i| i.as_str()), Some("e-4"));
    assert_eq!(cursor.document_id.as_ref().map(|i| i.as_str()), Some("d-3"));
}

#[tokio::test]
async fn cursor_persists_and_resumes_without_repeating() {
    let server = server_with_login(Some(1)).await;
    Mock::given(rpc("СБИС.СписокИзменений"))
        .respond_with(reply(fx(include_str!(
            "../fixtures/events_repeat_last.json"
        ))))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(rpc("СБИС.СписокИзменений"))
        .respond_with(reply(fx(include_str!("../fixtures/events_new.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    // A cursor as a previous run stored it (e.g. in a database column).
    let stored =
        r#"{"event_id":"e-4","document_id":"d-3","since":"20.11.2026 11.00.00","seen":["e-4"]}"#;
    let cursor: EventCursor = serde_json::from_str(stored).unwrap();
    assert_eq!(serde_json::to_string(&cursor).unwrap(), stored);

    // Nothing new: the repeated boundary event is dropped, the feed ends, cursor unchanged.
    let mut feed = client.events(cursor.clone());
    assert!(feed.next().await.is_none());
    assert_eq!(feed.cursor(), &cursor);

    // Later: one new event after the boundary.
    let mut feed = client.events(cursor);
    let ev = feed.next().await.unwrap().unwrap();
    assert_eq!(ev.event.id.as_ref().map(|i| i.as_str()), Some("e-5"));
    assert!(feed.next().await.is_none());
    let saved = serde_json::to_value(feed.cursor()).unwrap();
    assert_eq!(saved["event_id"], "e-5");
    assert_eq!(saved["since"], "20.11.2026 12.00.00");
}

#[tokio::test]
async fn follow_mode_polls_again_after_the_interval() {
    let server = server_with_login(Some(1)).await;
    Mock::given(rpc("СБИС.СписокИзменений"))
        .respond_with(reply(fx(include_str!(
            "../fixtures/events_repeat_last.json"
        ))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(rpc("СБИС.СписокИзменений"))
        .respond_with(reply(fx(include_str!("../fixtures/events_new.json"))))
        .mount(&server)
        .await;
    let client = client(&server);
    let mut feed = client.events_follow(EventCursor::default(), Duration::from_millis(10));
    let first = feed.next().await.unwrap().unwrap();
    assert_eq!(first.event.id.as_ref().map(|i| i.as_str()), Some("e-4"));
    // The second poll returns e-4 again (dropped) and e-5.
    let second = tokio::time::timeout(Duration::from_secs(5), feed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.event.id.as_ref().map(|i| i.as_str()), Some("e-5"));
}

#[tokio::test]
async fn feed_errors_are_yielded_and_end_the_finite_feed() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.СписокИзменений",
        reply(fx(include_str!("../fixtures/error_code_number.json"))),
        Some(1),
    )
    .await;
    let client = client(&server);
    let mut feed = client.events(EventCursor::default());
    assert!(feed.next().await.unwrap().is_err());
    assert!(feed.next().await.is_none());
}
