//! The event feed (`СБИС.СписокИзменений`) as a resumable stream.
//!
//! Paging follows what production clients learned: the feed is paged by the last event
//! (`ИдентификаторСобытия` + `ИдентификаторДокумента` + `ДатаВремяС`), never by `Навигация`
//! (sending it breaks paging), and the method is called with `"protocol": 3` — both from a
//! public client's note "checked in production" (see `docs/saby-client.md`, evidence). The
//! server may return the boundary event again; the feed drops every event whose id it
//! already yielded from the previous page, so no event is yielded twice, even across a
//! persisted and resumed [`EventCursor`].
//!
//! Every request carries a `ДатаВремяС`, as every public client sends one: a cursor without
//! a start (`EventCursor::default()`) gets the client's history start on its first fetch
//! ([`crate::ClientBuilder::event_history_window`], default now minus 7 days, Moscow time),
//! and keeps it, so a fresh state does not replay an account's whole history.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{CallOptions, Client};
use crate::error::Result;
use crate::model::{Document, DocumentId, DocumentPage, Event, EventId, Party, SabyDateTime};
use crate::transport::decode;

/// Where the feed stands: the last event yielded, and the ids already seen at that point.
///
/// `Default` (same as [`EventCursor::start`]) starts where the client's history starts
/// ([`crate::ClientBuilder::event_history_window`], default the last 7 days); the feed
/// writes that start into the cursor on its first fetch. Serialize the cursor (JSON, a
/// database column...) after handling each event and pass it back to [`Client::events`] to
/// resume exactly after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventCursor {
    /// `ИдентификаторСобытия` of the last event yielded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    /// `ИдентификаторДокумента` of the last event yielded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<DocumentId>,
    /// `ДатаВремяС`: the time of the last event yielded (as Saby wrote it), or where to start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Keys of the events already yielded from the current page (dropped if sent again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
}

impl EventCursor {
    /// The start of the client's history window (the same as `Default`): the first fetch
    /// sends `ДатаВремяС` = now minus [`crate::ClientBuilder::event_history_window`] (or the
    /// fixed [`crate::ClientBuilder::event_history_from`]).
    pub fn start() -> Self {
        Self::default()
    }
    /// Starts at a point in time (`ДатаВремяС`, Moscow time as Saby writes it); to read an
    /// account's whole history, pass a date before its first document.
    pub fn since(datetime: impl Into<SabyDateTime>) -> Self {
        Self {
            since: Some(datetime.into().as_str().to_owned()),
            ..Self::default()
        }
    }
}

/// Extra filters of the feed (`Фильтр` besides the cursor fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventFilter {
    /// `ДатаВремяПо`.
    #[serde(
        rename = "ДатаВремяПо",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<SabyDateTime>,
    /// `Тип`: only documents of this type.
    #[serde(rename = "Тип", default, skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    /// `НашаОрганизация`.
    #[serde(
        rename = "НашаОрганизация",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub our_organization: Option<Party>,
    /// Other filter fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EventFilter {
    /// No extra filter.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `ДатаВремяПо`.
    pub fn until(mut self, dt: impl Into<SabyDateTime>) -> Self {
        self.until = Some(dt.into());
        self
    }
    /// Sets `Тип`.
    pub fn doc_type(mut self, t: impl Into<String>) -> Self {
        self.doc_type = Some(t.into());
        self
    }
    /// Sets `НашаОрганизация`.
    pub fn our_organization(mut self, p: Party) -> Self {
        self.our_organization = Some(p);
        self
    }
    /// Adds any other filter field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }
}

/// One event of the feed with its document. The document's own `Событие[]` list is emptied
/// (the event is in `event`) to keep memory flat.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeEvent {
    /// The document as the feed sent it (state, attachments, stages...).
    pub document: Document,
    /// The event.
    pub event: Event,
}

impl ChangeEvent {
    /// The document's id (`None` in the rare answer whose document has none).
    pub fn document_id(&self) -> Option<&DocumentId> {
        self.document.id.as_ref()
    }
}

/// The `protocol` the event feed is called with (a public client's production note: the
/// method needs version 3).
pub(crate) const FEED_PROTOCOL: i64 = 3;

#[derive(Serialize)]
struct FeedParams<'a> {
    #[serde(rename = "Фильтр")]
    filter: FeedFilter<'a>,
}

#[derive(Serialize)]
struct FeedFilter<'a> {
    #[serde(rename = "ДатаВремяС", skip_serializing_if = "Option::is_none")]
    since: Option<&'a str>,
    #[serde(
        rename = "ИдентификаторСобытия",
        skip_serializing_if = "Option::is_none"
    )]
    event_id: Option<&'a str>,
    #[serde(
        rename = "ИдентификаторДокумента",
        skip_serializing_if = "Option::is_none"
    )]
    document_id: Option<&'a str>,
    #[serde(flatten)]
    extra: &'a EventFilter,
}

fn event_key(doc: &Document, ev: &Event) -> String {
    match &ev.id {
        Some(id) => id.to_string(),
        None => format!(
            "{}|{}|{}",
            doc.id.as_ref().map_or("", DocumentId::as_str),
            ev.name.as_deref().unwrap_or(""),
            ev.datetime.as_ref().map(SabyDateTime::as_str).unwrap_or("")
        ),
    }
}

/// Flattens a feed page into events (sorted by time when every time parses) and drops the
/// ones already seen.
///
/// A document with one event (the usual case) is moved into it; only a document with
/// several events is cloned, once per extra event. Duplicates are found with a `HashSet`.
fn page_events(page: DocumentPage, seen: &[String]) -> Vec<(String, ChangeEvent)> {
    let seen: HashSet<&str> = seen.iter().map(String::as_str).collect();
    let mut keys: HashSet<String> = HashSet::new();
    let mut out: Vec<(String, ChangeEvent)> = Vec::new();
    for mut doc in page.documents {
        let events = std::mem::take(&mut doc.events);
        let mut fresh: Vec<(String, Event)> = Vec::with_capacity(events.len());
        for ev in events {
            let key = event_key(&doc, &ev);
            if seen.contains(key.as_str()) || !keys.insert(key.clone()) {
                continue;
            }
            fresh.push((key, ev));
        }
        let mut fresh = fresh.into_iter();
        let last = fresh.next_back();
        for (key, event) in fresh {
            out.push((
                key,
                ChangeEvent {
                    document: doc.clone(),
                    event,
                },
            ));
        }
        if let Some((key, event)) = last {
            out.push((
                key,
                ChangeEvent {
                    document: doc,
                    event,
                },
            ));
        }
    }
    if out.iter().all(|(_, e)| {
        e.event
            .datetime
            .as_ref()
            .and_then(SabyDateTime::datetime)
            .is_some()
    }) {
        out.sort_by_key(|(_, e)| e.event.datetime.as_ref().and_then(SabyDateTime::datetime));
    }
    out
}

type PageFuture = Pin<Box<dyn Future<Output = Result<(DocumentPage, bool)>> + Send>>;

enum FeedState {
    Idle,
    Fetching(PageFuture),
    Sleeping(Pin<Box<tokio::time::Sleep>>),
    Done,
}

/// The event feed: a `Stream` of [`ChangeEvent`]s with its [`EventCursor`].
///
/// Made by [`Client::events`] (ends when the feed is exhausted) or
/// [`Client::events_follow`] (polls again every `interval`, never ends). After an error the
/// finite feed ends; the following feed waits `interval` and tries again.
#[must_use = "streams do nothing unless polled"]
pub struct EventFeed {
    client: Client,
    filter: EventFilter,
    cursor: EventCursor,
    follow: Option<Duration>,
    buffer: VecDeque<(String, ChangeEvent, bool)>,
    after_buffer: AfterBuffer,
    state: FeedState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterBuffer {
    Fetch,
    Sleep,
    End,
}

impl std::fmt::Debug for EventFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFeed")
            .field("cursor", &self.cursor)
            .field("filter", &self.filter)
            .field("follow", &self.follow)
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl EventFeed {
    /// The cursor after the last event yielded: persist it to resume later.
    pub fn cursor(&self) -> &EventCursor {
        &self.cursor
    }

    /// Sets extra filters (type, organization, end time...). A `Навигация` field is dropped:
    /// the feed is paged by its last event, and `Навигация` breaks that paging.
    pub fn with_filter(mut self, mut filter: EventFilter) -> Self {
        if filter.extra.remove("Навигация").is_some() {
            tracing::warn!("dropped Навигация from the event feed filter: it breaks paging");
        }
        self.filter = filter;
        self
    }

    fn start_fetch(&mut self) {
        if self.cursor.since.is_none() {
            self.cursor.since = Some(self.client.event_history_start().as_str().to_owned());
        }
        let client = self.client.clone();
        let filter = self.filter.clone();
        let cursor = self.cursor.clone();
        self.state = FeedState::Fetching(Box::pin(async move {
            let params = FeedParams {
                filter: FeedFilter {
                    since: cursor.since.as_deref(),
                    event_id: cursor.event_id.as_ref().map(EventId::as_str),
                    document_id: cursor.document_id.as_ref().map(DocumentId::as_str),
                    extra: &filter,
                },
            };
            let method = "СБИС.СписокИзменений";
            let options = CallOptions::new().idempotent(true).protocol(FEED_PROTOCOL);
            let raw = client.call_raw(method, &params, &options).await?;
            let page: DocumentPage = decode(method, 200, "result", raw.get(), false)?;
            let more = page.has_more();
            Ok((page, more))
        }));
    }
}

impl Stream for EventFeed {
    type Item = Result<ChangeEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some((key, ev, first_of_page)) = this.buffer.pop_front() {
                if first_of_page {
                    this.cursor.seen.clear();
                }
                this.cursor.event_id = ev.event.id.clone();
                this.cursor.document_id = ev.document.id.clone();
                if let Some(dt) = &ev.event.datetime {
                    this.cursor.since = Some(dt.as_str().to_owned());
                }
                this.cursor.seen.push(key);
                return Poll::Ready(Some(Ok(ev)));
            }
            match &mut this.state {
                FeedState::Done => return Poll::Ready(None),
                FeedState::Idle => match this.after_buffer {
                    AfterBuffer::End => {
                        this.state = FeedState::Done;
                    }
                    AfterBuffer::Sleep => {
                        let interval = this.follow.unwrap_or(Duration::from_secs(30));
                        this.after_buffer = AfterBuffer::Fetch;
                        this.state = FeedState::Sleeping(Box::pin(tokio::time::sleep(interval)));
                    }
                    AfterBuffer::Fetch => this.start_fetch(),
                },
                FeedState::Sleeping(sleep) => {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.state = FeedState::Idle;
                }
                FeedState::Fetching(fut) => {
                    let res = match fut.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(r) => r,
                    };
                    this.state = FeedState::Idle;
                    match res {
                        Err(e) => {
                            this.after_buffer = if this.follow.is_some() {
                                AfterBuffer::Sleep
                            } else {
                                AfterBuffer::End
                            };
                            return Poll::Ready(Some(Err(e)));
                        }
                        Ok((page, more)) => {
                            let events = page_events(page, &this.cursor.seen);
                            let empty = events.is_empty();
                            for (i, (key, ev)) in events.into_iter().enumerate() {
                                this.buffer.push_back((key, ev, i == 0));
                            }
                            this.after_buffer = match (more && !empty, this.follow.is_some()) {
                                (true, _) => AfterBuffer::Fetch,
                                (false, true) => AfterBuffer::Sleep,
                                (false, false) => AfterBuffer::End,
                            };
                        }
                    }
                }
            }
        }
    }
}

impl Client {
    /// The event feed from `from` until it is exhausted (`ЕстьЕще = Нет` or nothing new).
    ///
    /// ```no_run
    /// # async fn f(client: saby_client::Client) -> saby_client::Result<()> {
    /// use futures::StreamExt;
    /// let mut feed = client.events(saby_client::EventCursor::default());
    /// while let Some(change) = feed.next().await {
    ///     let change = change?;
    ///     println!("{:?} {:?}", change.document_id(), change.event.name);
    /// }
    /// let resume_from = feed.cursor().clone(); // persist it
    /// # Ok(()) }
    /// ```
    pub fn events(&self, from: EventCursor) -> EventFeed {
        self.feed(from, None)
    }

    /// The event feed from `from`, polling again every `interval` once exhausted. Never ends;
    /// errors are yielded and the feed tries again after `interval`.
    pub fn events_follow(&self, from: EventCursor, interval: Duration) -> EventFeed {
        self.feed(from, Some(interval))
    }

    fn feed(&self, from: EventCursor, follow: Option<Duration>) -> EventFeed {
        EventFeed {
            client: self.clone(),
            filter: EventFilter::default(),
            cursor: from,
            follow,
            buffer: VecDeque::new(),
            after_buffer: AfterBuffer::Fetch,
            state: FeedState::Idle,
        }
    }
}
