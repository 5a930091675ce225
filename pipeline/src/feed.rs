//! Following Saby's event feed for the documents waiting for a final state.
//!
//! One task per run reads the feed from the persisted cursor, hands each
//! event's state to the set waiting for that document (if any), and persists
//! the cursor after each batch. A waiting set also re-reads its document when
//! it resumes and every `recheck_interval`, so an event lost between the
//! cursor's persistence and a crash cannot strand a set.

use std::sync::Arc;

use futures::StreamExt;
use saby_client::EventCursor;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::error::StoreError;
use crate::pipeline::Inner;

async fn load_cursor(inner: &Inner) -> Result<EventCursor, StoreError> {
    let raw = inner.store.event_cursor(&inner.company).await?;
    Ok(match raw {
        Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "stored event cursor unreadable; starting the feed over");
            EventCursor::default()
        }),
        None => EventCursor::default(),
    })
}

async fn save_cursor(inner: &Inner, cursor: &EventCursor) -> Result<(), StoreError> {
    let json = serde_json::to_string(cursor)
        .map_err(|e| StoreError::other_with("encoding the event cursor", e))?;
    inner.store.set_event_cursor(&inner.company, &json).await
}

/// Polls the feed every `poll_interval` until `stop` fires.
pub(crate) async fn follow(inner: Arc<Inner>, stop: CancellationToken) -> Result<(), StoreError> {
    async move {
        let mut cursor = load_cursor(&inner).await?;
        loop {
            let mut feed = inner.saby.events(cursor.clone());
            let mut delivered = 0usize;
            loop {
                let item = tokio::select! {
                    item = feed.next() => item,
                    () = stop.cancelled() => None,
                };
                match item {
                    None => break,
                    Some(Ok(event)) => {
                        let waiters = inner.waiters();
                        if let Some(tx) =
                            event.document_id().and_then(|id| waiters.get(id.as_str()))
                        {
                            delivered += 1;
                            // The whole document: its state, and the links the
                            // archive step can reuse instead of reading it again.
                            tx.send_replace(Some(Arc::new(event.document)));
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %crate::error::chain(&e), "event feed failed; trying again next pass");
                        break;
                    }
                }
            }
            if feed.cursor() != &cursor {
                cursor = feed.cursor().clone();
                save_cursor(&inner, &cursor).await?;
            }
            if delivered > 0 {
                tracing::debug!(delivered, "event feed delivered states");
            }
            tokio::select! {
                () = tokio::time::sleep(inner.config.poll_interval) => {}
                () = stop.cancelled() => return Ok(()),
            }
        }
    }
    .instrument(tracing::info_span!("event_feed"))
    .await
}
