//! Incoming documents and service stages in the sandbox, with the real client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::sandbox_common::*;
use futures::TryStreamExt;
use saby_client::{
    Direction, DocumentFilter, Error, EventCursor, ServerSigner, ServiceStageFilter, StateCode,
};
use saby_sandbox::{Incoming, Sandbox, SandboxConfig};
use serde_json::{Value, json};

#[tokio::test]
async fn incoming_documents_are_listed_approved_and_rejected() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    let a = sb.add_incoming(
        Incoming::new("Приказ о приеме").attachment("приказ.pdf", b"%PDF-1.7 a".to_vec()),
    );
    let b = sb.add_incoming(Incoming::new("Заявление").awaiting_signature(true));

    let incoming: Vec<_> = client
        .list_documents(DocumentFilter::new().direction("Входящий"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(incoming.len(), 2);
    assert!(
        incoming
            .iter()
            .all(|d| d.direction == Some(Direction::Incoming))
    );
    let doc_b = incoming
        .iter()
        .find(|d| d.id.as_ref().is_some_and(|i| *i == b))
        .unwrap();
    assert_eq!(
        doc_b.state.as_ref().unwrap().code,
        StateCode::AwaitingSignature
    );
    let approval = doc_b.stage("Утверждение").expect("approval stage");
    let reject = approval.action("Отклонить").unwrap();
    assert_eq!(reject.requires_comment, Some(true));

    let approved = client.approve(&a, &ServerSigner).await.unwrap();
    assert_eq!(approved.state.unwrap().code, StateCode::Completed);

    // Without a comment: refused by the client before any call...
    let err = client.reject(&b, "  ", &ServerSigner).await.unwrap_err();
    assert!(matches!(err, Error::CommentRequired { .. }), "{err:?}");
    // ...and by the server too, when a caller skips the client's check.
    let raw = client
        .call::<_, Value>(
            "СБИС.ВыполнитьДействие",
            &json!({"Документ": {"Идентификатор": b, "Этап": {"Название": "Утверждение", "Действие": {"Название": "Отклонить"}}}}),
        )
        .await
        .unwrap_err();
    match &raw {
        Error::Rpc(e) => assert!(e.message.contains("комментарий"), "{e}"),
        other => panic!("expected an RPC error, got {other:?}"),
    }
    assert_eq!(sb.state_code(&b).as_deref(), Some("23"));

    let rejected = client
        .reject(&b, "Неверная дата приема", &ServerSigner)
        .await
        .unwrap();
    assert_eq!(
        rejected.state.as_ref().unwrap().code,
        StateCode::CompletedWithProblems
    );
    assert_eq!(rejected.events[0].name.as_deref(), Some("Отклонение"));
    assert_eq!(
        rejected.events[0].comment.as_deref(),
        Some("Неверная дата приема")
    );

    let mut cursor = EventCursor::start();
    let names = names_by_document(&poll_feed(&client, &mut cursor).await);
    assert_eq!(names[&a], ["Получение", "Утверждение"]);
    assert_eq!(names[&b], ["Получение", "Отклонение"]);
}

#[tokio::test]
async fn client_side_keys_sign_approvals_and_rejection_notices() {
    let sb = Sandbox::start(SandboxConfig::default().client_side_signing(true)).await;
    let client = sb.client();
    let a =
        sb.add_incoming(Incoming::new("Приказ").attachment("приказ.pdf", b"%PDF-1.7 a".to_vec()));
    let b = sb.add_incoming(Incoming::new("Заявление"));
    let signer = FakeCms::default();
    client.approve(&a, &signer).await.unwrap();
    client
        .reject(&b, "Нет подписи работника", &signer)
        .await
        .unwrap();
    let signed = signer.signed.lock().unwrap().clone();
    assert_eq!(signed, ["приказ.pdf", "УвУточ.xml"]);
    assert_eq!(sb.state_code(&a).as_deref(), Some("7"));
    assert_eq!(sb.state_code(&b).as_deref(), Some("9"));
}

#[tokio::test]
async fn service_stages_are_listed_processed_deferred_and_deleted() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    let a = sb.add_incoming(Incoming::new("A").service_stage(true));
    let b = sb.add_incoming(Incoming::new("B").service_stage(true));
    let c = sb.add_incoming(Incoming::new("C").service_stage(true));

    let page = client
        .service_stages(&ServiceStageFilter::new())
        .await
        .unwrap();
    assert_eq!(page.documents.len(), 3);
    for doc in &page.documents {
        assert!(doc.stages.iter().all(|s| s.service == Some(true)));
    }
    let doc_a = page
        .documents
        .iter()
        .find(|d| d.id.as_ref().is_some_and(|i| *i == a))
        .unwrap();
    let done = client
        .process_service_stages(doc_a, &ServerSigner)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert!(
        sb.event_names(&a)
            .contains(&"Обработка служебных документов".to_owned()),
        "{:?}",
        sb.event_names(&a)
    );
    let stage_id = |id: &str| {
        page.documents
            .iter()
            .find(|d| d.id.as_ref().is_some_and(|i| i == id))
            .and_then(|d| d.stages.first())
            .and_then(|s| s.id.clone())
            .unwrap()
    };
    client.defer_service_stage(&b, &stage_id(&b)).await.unwrap();
    client
        .delete_service_stage(&c, &stage_id(&c))
        .await
        .unwrap();
    let page = client
        .service_stages(&ServiceStageFilter::new())
        .await
        .unwrap();
    assert!(page.documents.is_empty(), "{:?}", page.documents);
    // The deferral ends with (sandbox) time.
    sb.advance_clock(std::time::Duration::from_secs(11 * 60));
    let page = client
        .service_stages(&ServiceStageFilter::new())
        .await
        .unwrap();
    let ids: Vec<&str> = page
        .documents
        .iter()
        .map(|d| d.id.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(ids, [b.as_str()]);
    // The approval stage is untouched by all this.
    assert_eq!(sb.state_code(&a).as_deref(), Some("4"));
}

#[tokio::test]
async fn delivered_documents_can_carry_service_stages() {
    let sb = Sandbox::start(SandboxConfig::default().service_stage_on_delivery(true)).await;
    let client = sb.client();
    client
        .write_document(&draft("out", "Договор"))
        .await
        .unwrap();
    client.send("out", &ServerSigner).await.unwrap();
    sb.advance(1);
    let page = client
        .service_stages(&ServiceStageFilter::new().document_id("out"))
        .await
        .unwrap();
    assert_eq!(page.documents.len(), 1);
    client
        .process_service_stages(&page.documents[0], &ServerSigner)
        .await
        .unwrap();
    let page = client
        .service_stages(&ServiceStageFilter::new())
        .await
        .unwrap();
    assert!(page.documents.is_empty());
}
