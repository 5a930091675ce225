//! Helpers shared by the `sandbox_*` tests: documents to send, a feed follower and a fake
//! CMS signer for client-side keys.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::sync::Mutex;

use futures::StreamExt;
use saby_client::{
    Attachment, ChangeEvent, Client, Document, EventCursor, Party, SignRequest, Signer,
};
use saby_sandbox::Sandbox;

/// An outgoing draft with a counterparty and one attachment.
pub fn draft(id: &str, title: &str) -> Document {
    Document::new(id)
        .with_type("ДокОтгрИсх")
        .with_title(title)
        .with_counterparty(Party::legal_entity("7807654321", "780701001", "АО «Лютик»"))
        .with_attachment(Attachment::from_bytes(
            format!("{id}-att"),
            "договор.pdf",
            format!("%PDF-1.7 {title}").into_bytes(),
        ))
}

/// Reads the feed from `cursor` to its end, once; returns the events and moves the cursor.
pub async fn poll_feed(client: &Client, cursor: &mut EventCursor) -> Vec<ChangeEvent> {
    let mut feed = client.events(cursor.clone());
    let mut out = Vec::new();
    while let Some(event) = feed.next().await {
        out.push(event.expect("feed event"));
    }
    *cursor = feed.cursor().clone();
    out
}

/// Polls the feed until every document in `ids` is in a final state (at most `polls` times);
/// returns every event seen, in order.
pub async fn follow_to_final(
    client: &Client,
    sandbox: &Sandbox,
    cursor: &mut EventCursor,
    ids: &[String],
    polls: usize,
) -> Vec<ChangeEvent> {
    let mut all = Vec::new();
    for _ in 0..polls {
        all.extend(poll_feed(client, cursor).await);
        let done = ids.iter().all(|id| {
            sandbox
                .document(id)
                .and_then(|d| d.state)
                .is_some_and(|s| s.is_final())
        });
        if done {
            return all;
        }
    }
    panic!("documents did not reach a final state in {polls} polls");
}

/// Event names per document, in feed order.
pub fn names_by_document(events: &[ChangeEvent]) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for e in events {
        map.entry(e.document_id().unwrap().to_string())
            .or_default()
            .push(e.event.name.clone().unwrap_or_default());
    }
    map
}

/// "Signs" by prefixing the content; records which attachments it was asked to sign.
#[derive(Default)]
pub struct FakeCms {
    pub signed: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Signer for FakeCms {
    async fn sign(&self, req: SignRequest<'_>) -> saby_client::Result<Option<Vec<u8>>> {
        let content = req.content.expect("the file to sign was downloaded");
        self.signed
            .lock()
            .unwrap()
            .push(req.attachment.file_name().unwrap_or_default().to_owned());
        let mut cms = b"CMS:".to_vec();
        cms.extend_from_slice(content);
        Ok(Some(cms))
    }
}
