//! [`ReadyStream`]: a polling stream of newly ready sets.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::future::BoxFuture;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{ReadySets, SetId};

impl Client {
    /// A stream of newly ready set ids, polling [`ready`](Client::ready) from
    /// `start_id` on.
    ///
    /// * After seeing set N it asks from N + 1 by itself; ids below the current
    ///   start and ids already yielded are never yielded again.
    /// * It waits `interval` between polls only when a poll brought nothing new.
    /// * Errors are yielded as items (each poll already went through the client's
    ///   retries). After a retryable error (see [`Error::is_retryable`]) or an
    ///   exceeded deadline the stream waits `interval` and goes on; after any other
    ///   error (a wrong token, say) it ends.
    /// * [`ReadyStream::next_start_id`] tells where to resume after a restart:
    ///   persist it after handling each id.
    ///
    /// The stream never ends by itself otherwise: stop polling it (or use
    /// `take`/`take_until`) to stop.
    pub fn ready_stream(&self, start_id: u64, interval: Duration) -> ReadyStream {
        ReadyStream {
            client: self.clone(),
            interval,
            poll_from: start_id,
            buffer: VecDeque::new(),
            seen_opaque: HashSet::new(),
            state: State::Poll,
        }
    }
}

/// A `Stream<Item = Result<SetId>>` of newly ready sets; see
/// [`Client::ready_stream`].
#[must_use = "streams do nothing unless polled"]
pub struct ReadyStream {
    client: Client,
    interval: Duration,
    poll_from: u64,
    buffer: VecDeque<SetId>,
    seen_opaque: HashSet<SetId>,
    state: State,
}

enum State {
    Poll,
    Polling(BoxFuture<'static, Result<ReadySets>>),
    Sleeping(Pin<Box<tokio::time::Sleep>>),
    Done,
}

impl fmt::Debug for ReadyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Poll => "poll",
            State::Polling(_) => "polling",
            State::Sleeping(_) => "sleeping",
            State::Done => "done",
        };
        f.debug_struct("ReadyStream")
            .field("next_start_id", &self.next_start_id())
            .field("buffered", &self.buffer.len())
            .field("interval", &self.interval)
            .field("state", &state)
            .finish()
    }
}

impl ReadyStream {
    /// The `start_id` to resume from: every set below it has been yielded (or was
    /// below the initial `start_id`), none at or above it has.
    pub fn next_start_id(&self) -> u64 {
        self.buffer
            .iter()
            .filter_map(SetId::number)
            .min()
            .unwrap_or(self.poll_from)
    }

    /// Takes in one poll's answer; returns how many new ids were queued.
    fn absorb(&mut self, sets: &ReadySets) -> usize {
        let mut fresh = Vec::new();
        for id in sets.all() {
            match id.number() {
                Some(n) if n < self.poll_from => {}
                Some(_) => fresh.push(id),
                None => {
                    if self.seen_opaque.insert(id.clone()) {
                        fresh.push(id);
                    }
                }
            }
        }
        if let Some(max) = fresh.iter().filter_map(SetId::number).max() {
            self.poll_from = self.poll_from.max(max.saturating_add(1));
        }
        let n = fresh.len();
        self.buffer.extend(fresh);
        n
    }
}

impl Stream for ReadyStream {
    type Item = Result<SetId>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(id) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(id)));
            }
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Poll => {
                    let client = this.client.clone();
                    let from = this.poll_from;
                    this.state = State::Polling(Box::pin(async move { client.ready(from).await }));
                }
                State::Polling(fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(sets)) => {
                        this.state = if this.absorb(&sets) > 0 {
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
