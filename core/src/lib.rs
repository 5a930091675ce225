//! # hr-docs-core
//!
//! The vocabulary the [`beorg-client`](https://docs.rs/beorg-client) and
//! [`saby-client`](https://docs.rs/saby-client) crates share, so that both say the same
//! thing in the same words: one retry policy, one retry decision, one `Retry-After` rule,
//! one deadline, one redaction marker, one set of error predicates.
//!
//! Everything here is pure: no I/O, no async runtime, no HTTP crate. Where time matters it
//! comes in as an argument (`now`, `elapsed`, a random `jitter` sample), so every rule is a
//! function that a unit test can pin down.
//!
//! # Contents
//!
//! * [`RetryPolicy`] — how many attempts, how long to back off, how long a `Retry-After` is
//!   honoured; its pure decision [`RetryPolicy::decide`] of a [`Failure`] and an
//!   [`AttemptState`] → [`RetryDecision`] (`Retry(delay)` or `Stop(`[`StopReason`]`)`), with
//!   [`Idempotency`] deciding what may be repeated.
//! * [`parse_retry_after`] — delay-seconds and the three HTTP-date forms of RFC 9110,
//!   saturating on absurd values.
//! * [`Timeouts`] — the per-attempt timeout and the overall deadline of a call
//!   ([`DEFAULT_TIMEOUT`], [`DEFAULT_DEADLINE`]), and the attempt timeout cut to what is left
//!   of the deadline.
//! * [`ServiceError`] — the predicates every client error answers (`is_retryable`,
//!   `is_auth`, `is_timeout`, `is_deadline`, `status`), so code above the clients classifies
//!   either one without matching variants; [`BoxError`] for boxed sources.
//! * [`redact`] — the one marker [`REDACTED`], [`Secret`], the scrubbing helpers, and the
//!   rule that an API answer's body (JSON, which may hold personal data) is never quoted.
//! * [`net`] — transport rules: no plain `http://` off the loopback unless opted in, the
//!   answer size limit ([`net::DEFAULT_MAX_BODY_BYTES`]) enforced on the bytes that
//!   arrive, the download limits.
//! * [`default_user_agent!`] — `"<crate>/<version>"` of the crate that expands it.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use hr_docs_core::{AttemptState, Failure, Idempotency, RetryDecision, RetryPolicy};
//!
//! let policy = RetryPolicy::default()
//!     .with_max_attempts(3)
//!     .with_initial_backoff(Duration::from_millis(100))
//!     .with_jitter(false);
//!
//! // A 503 on the first attempt of an idempotent call: back off 100 ms and retry.
//! let failure = Failure::Status { status: 503, retry_after: None };
//! let state = AttemptState::new(1, Duration::ZERO);
//! assert_eq!(policy.decide(&failure, &state), RetryDecision::Retry(Duration::from_millis(100)));
//!
//! // The same answer to a call that must not run twice: stop.
//! let state = state.with_idempotency(Idempotency::NonIdempotent);
//! assert!(matches!(policy.decide(&failure, &state), RetryDecision::Stop(_)));
//! ```

mod error;
pub mod net;
pub mod redact;
mod retry;
mod retry_after;
mod timeouts;
mod user_agent;

pub use error::{BoxError, ServiceError};
pub use redact::{REDACTED, Secret};
pub use retry::{
    AttemptState, DEFAULT_MAX_RETRY_AFTER, Failure, Idempotency, RetryDecision, RetryPolicy,
    StopReason, is_retryable_status,
};
pub use retry_after::parse_retry_after;
pub use timeouts::{DEFAULT_DEADLINE, DEFAULT_TIMEOUT, Timeouts};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
