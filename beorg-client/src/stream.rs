//! [`ReadyStream`]: a polling stream of newly ready sets.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{ReadySet, ReadySets, SetId};
use crate::watermark::{SeenSet, WatermarkRule};

impl Client {
    /// A stream of newly ready sets (with their contour), polling
    /// [`ready`](Client::ready) from `start_id` on.
    ///
    /// * Every ready set is yielded exactly once — including a set that
    ///   becomes ready after a higher-numbered one: polls go on from the
    ///   [watermark](crate::watermark) (not from past the highest id seen), so a
    ///   late set is still listed, and ids already yielded are skipped.
    /// * It waits `interval` between polls only when a poll brought nothing new.
    /// * Memory is bounded: ids below the watermark are forgotten.
    /// * Errors are yielded as items (each poll already went through the
    ///   client's retries). After a retryable error (see
    ///   [`Error::is_retryable`]) or an exceeded deadline the stream waits
    ///   `interval` and goes on; after any other error (a wrong token, say) it
    ///   ends.
    /// * [`ReadyStream::next_start_id`] is where to resume after a restart:
    ///   persist it after handling each set. Sets between it and the highest
    ///   one yielded (held by a gap) are yielded again by a stream resumed from
    ///   it, unless resumed from a [`ReadyStream::checkpoint`] (which also lists
    ///   them) with [`ready_stream_from`](Client::ready_stream_from).
    ///
    /// The stream never ends by itself otherwise: stop polling it (or use
    /// `take`/`take_until`) to stop. Tune the gap grace and the outlier bound
    /// with [`ReadyStream::watermark`].
    pub fn ready_stream(&self, start_id: u64, interval: Duration) -> ReadyStream {
        self.ready_stream_from(ReadyCheckpoint::new(start_id), interval)
    }

    /// [`ready_stream`](Client::ready_stream) resumed from a
    /// [`ReadyCheckpoint`]: polls from its `start_id` and never yields the sets
    /// it lists as already yielded.
    pub fn ready_stream_from(
        &self,
        checkpoint: ReadyCheckpoint,
        interval: Duration,
    ) -> ReadyStream {
        let now = OffsetDateTime::now_utc();
        let known = checkpoint
            .yielded
            .into_iter()
            .filter_map(|id| {
                let number = id.number()?;
                (number >= checkpoint.start_id).then_some((
                    id,
                    Known {
                        number,
                        // Unknown: dated at the resumption, which only holds a gap longer.
                        first_seen: now,
                        yielded: true,
                    },
                ))
            })
            .collect();
        ReadyStream {
            client: self.clone(),
            interval,
            rule: WatermarkRule::default(),
            start: checkpoint.start_id,
            known,
            buffer: VecDeque::new(),
            seen_opaque: HashSet::new(),
            last_asked: None,
            outliers: Vec::new(),
            state: State::Poll,
        }
    }
}

/// Where a [`ReadyStream`] stands, to persist and resume from with
/// [`Client::ready_stream_from`] (serializable, e.g. as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReadyCheckpoint {
    /// The `start_id` to poll from.
    pub start_id: u64,
    /// Sets at or above `start_id` already yielded (held above it by a gap or
    /// an earlier set not yet yielded).
    pub yielded: Vec<SetId>,
}

impl ReadyCheckpoint {
    /// A checkpoint at `start_id` with nothing yielded above it.
    pub fn new(start_id: u64) -> Self {
        Self {
            start_id,
            yielded: Vec::new(),
        }
    }

    /// Sets already yielded at or above `start_id`.
    pub fn with_yielded(mut self, ids: impl IntoIterator<Item = SetId>) -> Self {
        self.yielded = ids.into_iter().collect();
        self
    }
}

/// A set the stream knows, numbered at or above its watermark.
#[derive(Debug, Clone, Copy)]
struct Known {
    number: u64,
    first_seen: OffsetDateTime,
    /// Yielded (settled, for the watermark) or still buffered.
    yielded: bool,
}

/// A `Stream<Item = Result<ReadySet>>` of newly ready sets; see
/// [`Client::ready_stream`].
#[must_use = "streams do nothing unless polled"]
pub struct ReadyStream {
    client: Client,
    interval: Duration,
    rule: WatermarkRule,
    /// The watermark: polls ask from here; every known set is at or above it.
    start: u64,
    known: HashMap<SetId, Known>,
    buffer: VecDeque<ReadySet>,
    /// Ids without a number: yielded once, never below any watermark.
    seen_opaque: HashSet<SetId>,
    /// When the last successful poll was sent (gaps are dated against it).
    last_asked: Option<OffsetDateTime>,
    /// The outliers of the last computation (warned about when they change).
    outliers: Vec<u64>,
    state: State,
}

enum State {
    Poll,
    Polling(OffsetDateTime, BoxFuture<'static, Result<ReadySets>>),
    Sleeping(Pin<Box<tokio::time::Sleep>>),
    Done,
}

impl fmt::Debug for ReadyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Poll => "poll",
            State::Polling(..) => "polling",
            State::Sleeping(_) => "sleeping",
            State::Done => "done",
        };
        f.debug_struct("ReadyStream")
            .field("next_start_id", &self.next_start_id())
            .field("known", &self.known.len())
            .field("buffered", &self.buffer.len())
            .field("interval", &self.interval)
            .field("rule", &self.rule)
            .field("state", &state)
            .finish()
    }
}

impl ReadyStream {
    /// Uses this watermark rule (gap grace, outlier bound) instead of the
    /// default ([`WatermarkRule::new`]).
    pub fn watermark(mut self, rule: WatermarkRule) -> Self {
        self.rule = rule;
        self
    }

    /// The `start_id` to resume from: every set below it has been yielded (or
    /// was below the initial `start_id`, or is a gap whose grace is over), and
    /// every set not yet yielded is at or above it.
    pub fn next_start_id(&self) -> u64 {
        self.advance().0
    }

    /// The watermark and the sets already yielded above it, to persist and
    /// resume from with [`Client::ready_stream_from`] without repeating them.
    pub fn checkpoint(&self) -> ReadyCheckpoint {
        let start_id = self.next_start_id();
        let mut yielded: Vec<SetId> = self
            .known
            .iter()
            .filter(|(_, k)| k.yielded && k.number >= start_id)
            .map(|(id, _)| id.clone())
            .collect();
        yielded.sort();
        ReadyCheckpoint { start_id, yielded }
    }

    /// The rule applied to what is known now: the watermark and the outliers.
    fn advance(&self) -> (u64, Vec<u64>) {
        let seen = self
            .known
            .values()
            .map(|k| SeenSet::new(k.number, k.yielded, k.first_seen));
        let now = self.last_asked.unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let advance = self.rule.advance(self.start, seen, now);
        (advance.start_id.max(self.start), advance.outliers)
    }

    /// Moves the watermark and forgets the sets below it.
    fn settle(&mut self) {
        let (start, outliers) = self.advance();
        if start > self.start {
            self.start = start;
            self.known.retain(|_, k| k.number >= start);
        }
        if outliers != self.outliers {
            if !outliers.is_empty() {
                tracing::warn!(
                    start_id = self.start,
                    outliers = ?outliers,
                    max_jump = self.rule.max_jump(),
                    "ready sets far above the others do not move start_id"
                );
            }
            self.outliers = outliers;
        }
    }

    /// Takes in one poll's answer (asked at `asked_at`); returns how many new
    /// sets were queued.
    fn absorb(&mut self, sets: &ReadySets, asked_at: OffsetDateTime) -> usize {
        let seen_at = OffsetDateTime::now_utc();
        let mut fresh = 0;
        for set in sets.sets() {
            let new = match set.id.number() {
                Some(n) if n < self.start => false,
                Some(number) => match self.known.entry(set.id.clone()) {
                    std::collections::hash_map::Entry::Occupied(_) => false,
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(Known {
                            number,
                            first_seen: seen_at,
                            yielded: false,
                        });
                        true
                    }
                },
                None => self.seen_opaque.insert(set.id.clone()),
            };
            if new {
                fresh += 1;
                self.buffer.push_back(set);
            }
        }
        self.last_asked = Some(asked_at);
        self.settle();
        fresh
    }
}

impl Stream for ReadyStream {
    type Item = Result<ReadySet>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(set) = this.buffer.pop_front() {
                if let Some(k) = this.known.get_mut(&set.id) {
                    k.yielded = true;
                }
                return Poll::Ready(Some(Ok(set)));
            }
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Poll => {
                    // What was yielded since the last poll is settled now.
                    this.settle();
                    let client = this.client.clone();
                    let from = this.start;
                    let asked_at = OffsetDateTime::now_utc();
                    this.state =
                        State::Polling(asked_at, Box::pin(async move { client.ready(from).await }));
                }
                State::Polling(asked_at, fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(sets)) => {
                        let asked_at = *asked_at;
                        this.state = if this.absorb(&sets, asked_at) > 0 {
                            State::Poll
                        } else {
                            State::Sleeping(Box::pin(tokio::time::sleep(this.interval)))
                        };
                    }
                    Poll::Ready(Err(e)) => {
                        this.state =
                            if e.is_retryable() || matches!(e, Error::DeadlineExceeded { .. }) {
                                State::Sleeping(Box::pin(tokio::time::sleep(this.interval)))
                            } else {
                                State::Done
                            };
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                State::Sleeping(sleep) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => this.state = State::Poll,
                },
            }
        }
    }
}
