//! The sandbox with the real client: write, sign and send, follow the events to a final
//! state; client-side keys; rejections; idempotent writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::sandbox_common::*;
use saby_client::{Error, EventCursor, ServerSigner, StateCode};
use saby_sandbox::{Faults, Sandbox, SandboxConfig};

#[tokio::test]
async fn send_then_events_reach_completed() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    let written = client
        .write_document(&draft("doc-1", "Трудовой договор"))
        .await
        .unwrap();
    assert_eq!(
        written.state.as_ref().map(|s| s.code.clone()),
        Some(StateCode::Editing)
    );
    assert_eq!(written.stages[0].name.as_deref(), Some("Отправка"));
    let sent = client.send("doc-1", &ServerSigner).await.unwrap();
    assert_eq!(sent.state.unwrap().code, StateCode::Sent);
    let sent_event = sent.events[0].id.clone().expect("the new event's id");

    let mut cursor = EventCursor::start();
    let events = follow_to_final(&client, &sb, &mut cursor, &["doc-1".to_owned()], 5).await;
    let names = names_by_document(&events);
    assert_eq!(names["doc-1"], ["Отправка", "Получение", "Утверждение"]);
    assert_eq!(
        events[0].event.id.as_ref().map(|i| i.as_str()),
        Some(sent_event.as_str())
    );
    let last = events.last().unwrap();
    assert_eq!(
        last.document.state.as_ref().unwrap().code,
        StateCode::Completed
    );

    let doc = client.read_document("doc-1").await.unwrap();
    assert_eq!(doc.state.unwrap().code, StateCode::Completed);
    assert_eq!(
        doc.attachments[0].signatures.len(),
        2,
        "ours and the counterparty's"
    );
    // The typed inspection API agrees.
    assert_eq!(
        sb.document("doc-1").unwrap().state.unwrap().code,
        StateCode::Completed
    );
    // A resumed cursor sees nothing new.
    assert!(poll_feed(&client, &mut cursor).await.is_empty());
    assert_eq!(sb.login_count(), 1);
}

#[tokio::test]
async fn client_side_keys_sign_every_prepared_file() {
    let sb = Sandbox::start(SandboxConfig::default().client_side_signing(true)).await;
    let client = sb.client();
    client
        .write_document(&draft("doc-c", "Договор"))
        .await
        .unwrap();
    // A signer that signs nothing cannot send with a client-side key.
    let err = client.send("doc-c", &ServerSigner).await.unwrap_err();
    assert!(matches!(err, Error::SignatureRequired { .. }), "{err:?}");
    assert_eq!(sb.state_code("doc-c").as_deref(), Some("0"));
    let signer = FakeCms::default();
    let sent = client.send("doc-c", &signer).await.unwrap();
    assert_eq!(sent.state.unwrap().code, StateCode::Sent);
    assert_eq!(*signer.signed.lock().unwrap(), ["договор.pdf"]);
    // The signature we made is stored and downloadable.
    let doc = client.read_document("doc-c").await.unwrap();
    let sig = doc.attachments[0].signatures[0].file.as_ref().unwrap();
    let bytes = client.download(sig.url.as_deref().unwrap()).await.unwrap();
    assert!(bytes.starts_with(b"CMS:%PDF-1.7"));
}

#[tokio::test]
async fn counterparty_rejects_marked_documents() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    client
        .write_document(&draft("ok", "Договор"))
        .await
        .unwrap();
    client
        .write_document(&draft("no", "Договор [reject]"))
        .await
        .unwrap();
    client.send("ok", &ServerSigner).await.unwrap();
    client.send("no", &ServerSigner).await.unwrap();
    let mut cursor = EventCursor::start();
    let ids = ["ok".to_owned(), "no".to_owned()];
    let events = follow_to_final(&client, &sb, &mut cursor, &ids, 5).await;
    let names = names_by_document(&events);
    assert_eq!(names["ok"], ["Отправка", "Получение", "Утверждение"]);
    assert_eq!(names["no"], ["Отправка", "Получение", "Отклонение"]);
    let rejected = client.read_document("no").await.unwrap().state.unwrap();
    assert_eq!(rejected.code, StateCode::CompletedWithProblems);
    assert!(rejected.code.is_final());
}

#[tokio::test]
async fn writes_are_idempotent_and_sending_twice_is_refused() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    for _ in 0..3 {
        client
            .write_document(&draft("same", "Договор"))
            .await
            .unwrap();
    }
    assert_eq!(sb.document_count(), 1);
    client.send("same", &ServerSigner).await.unwrap();
    // Writing the same content again is a no-op; sending again finds no sending stage.
    client
        .write_document(&draft("same", "Договор"))
        .await
        .unwrap();
    let err = client.send("same", &ServerSigner).await.unwrap_err();
    assert!(matches!(err, Error::ActionNotFound { .. }), "{err:?}");
    // Changing a sent document is a business error from the server.
    let err = client
        .write_document(&draft("same", "Другой"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert_eq!(sb.event_names("same"), ["Отправка"]);
}

#[tokio::test]
async fn lost_answers_of_idempotent_writes_are_retried_without_duplicates() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    client.write_document(&draft("warm-up", "x")).await.unwrap();
    sb.set_faults(Faults::none().answer_lost(0.5).seed(3));
    for i in 0..10 {
        client
            .write_document(&draft(&format!("lost-{i}"), "x"))
            .await
            .unwrap();
    }
    assert!(sb.fault_count() > 0);
    assert_eq!(sb.document_count(), 11);
}
