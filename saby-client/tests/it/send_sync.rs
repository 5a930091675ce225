//! The client, its futures and streams can cross threads (tokio::spawn).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::path::Path;
use std::time::Duration;

use saby_client::{Client, Credentials, Document, DocumentFilter, EventCursor, ServerSigner};

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}

#[tokio::test]
async fn futures_and_streams_are_send() {
    assert_send_sync::<Client>();
    assert_send_sync::<Credentials>();
    let client = Client::builder()
        .credentials(Credentials::password("a", "b"))
        .build()
        .unwrap();
    let doc = Document::new("x");
    assert_send(&client.write_document(&doc));
    assert_send(&client.read_document("x"));
    assert_send(&client.perform("x", "Отправка", "Отправить", None, &ServerSigner));
    assert_send(&client.send("x", &ServerSigner));
    assert_send(&client.archive("x", Path::new("/tmp")));
    assert_send(&client.download("/x"));
    assert_send(&client.download_to_file("/x", Path::new("/tmp/x")));
    assert_send(&client.list_documents(DocumentFilter::new()));
    assert_send(&client.events(EventCursor::default()));
    assert_send(&client.events_follow(EventCursor::default(), Duration::from_secs(1)));
    assert_send(
        &client.call::<_, serde_json::Value>("СБИС.ИнформацияОВерсии", &serde_json::json!({})),
    );
}
