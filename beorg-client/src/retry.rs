//! Retries: the shared policy of [`hr_docs_core`], and how this client's errors map to
//! its [`Failure`]s.
//!
//! The policy, its pure decision [`RetryPolicy::decide`] and `Retry-After` parsing are the
//! ones `saby-client` uses too; this module only says which Beorg failure is which.

pub use hr_docs_core::{
    AttemptState, Failure, Idempotency, RetryDecision, RetryPolicy, StopReason, parse_retry_after,
};

use crate::error::Error;

/// What a failed attempt was, as far as retrying is concerned.
pub(crate) fn failure_of(e: &Error) -> Failure {
    match e {
        Error::Transport { connect: true, .. } => Failure::Connect,
        Error::Transport { .. } => Failure::Transport,
        Error::Timeout { .. } => Failure::Timeout,
        Error::Api {
            status,
            retry_after,
            ..
        } => Failure::Status {
            status: *status,
            retry_after: *retry_after,
        },
        Error::Decode { source, .. } if is_damaged(source) => Failure::DamagedBody,
        _ => Failure::Permanent,
    }
}

/// A body cut off, or not JSON at all (a proxy's HTML page): damaged on the way, unlike a
/// well-formed body of the wrong shape.
pub(crate) fn is_damaged(e: &serde_json::Error) -> bool {
    e.is_eof() || e.is_syntax()
}
