//! When to retry, and how long to wait.
//!
//! The decision is a pure function, [`decide`], of the failure, the attempt number, whether
//! the call is safe to repeat, and the [`RetryPolicy`]; the wait is exponential backoff with
//! full jitter ([`RetryPolicy::backoff`]), honouring `Retry-After` up to a cap.
//!
//! What counts as safe to repeat ([`Idempotency`]):
//! - read-only methods (`Прочитать…`, `Список…`, `Информация…`, `СформироватьHTMLИзXML`) and
//!   downloads;
//! - writes that carry our own identifiers (`ЗаписатьДокумент` / `ЗаписатьВложение` with
//!   `Идентификатор` set on the document and on every attachment): repeating them writes the
//!   same thing again;
//! - everything else (`ВыполнитьДействие`, deletes...) is retried only when the request
//!   certainly never reached the server (connection refused / not established).
//!
//! Business errors (a JSON-RPC `error` body, even with HTTP 500) are never retried.

use std::time::Duration;

use crate::error::Error;

/// Retry settings. `Default`: 4 attempts in total, 200 ms base, 10 s cap, `Retry-After`
/// honoured up to 30 s.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts per call, including the first (1 = never retry).
    pub max_attempts: u32,
    /// The first backoff ceiling; doubles each attempt.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// The largest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
    /// Sets the total number of attempts (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// Sets the base delay (first backoff ceiling).
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }
    /// Sets the largest backoff ceiling.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }
    /// Sets the cap on `Retry-After`.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// The backoff ceiling before retry number `attempt` (1-based: the wait after the first
    /// failure is `backoff_ceiling(1)` = `base_delay`), capped at `max_delay`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        self.base_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The wait before retry `attempt`: full jitter, uniform in `[0, backoff_ceiling]`;
    /// a server `Retry-After` (capped at `max_retry_after`) wins when given.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_retry_after);
        }
        let ceiling = self.backoff_ceiling(attempt);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// Whether a call may be repeated after it might have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Idempotency {
    /// Read-only or carrying our own identifiers: safe to repeat.
    Idempotent,
    /// A write that must not run twice: repeated only when it certainly never left.
    NonIdempotent,
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Try again after waiting (the caller adds jitter via [`RetryPolicy::backoff`]).
    Retry {
        /// `Retry-After` from the server, when given.
        retry_after: Option<Duration>,
    },
    /// Give up and return the error.
    GiveUp,
}

/// Decides whether to retry after `error` on attempt number `attempt` (1-based: the attempt
/// that just failed). Pure: no clock, no randomness.
///
/// - never beyond `policy.max_attempts`;
/// - a connect error (the request never left) is retried for every call;
/// - 502/503/504 and per-attempt timeouts are retried only for idempotent calls (the request
///   may have been executed);
/// - JSON-RPC errors (business errors, whatever the HTTP status), 401/403/423, decode and
///   input errors are never retried here (401 is handled by the session renewal).
pub fn decide(
    error: &Error,
    attempt: u32,
    idempotency: Idempotency,
    policy: &RetryPolicy,
) -> RetryDecision {
    if attempt >= policy.max_attempts {
        return RetryDecision::GiveUp;
    }
    let idempotent = idempotency == Idempotency::Idempotent;
    match error {
        Error::Transport { connect: true, .. } => RetryDecision::Retry { retry_after: None },
        Error::Transport { connect: false, .. } | Error::Timeout(_) if idempotent => {
            RetryDecision::Retry { retry_after: None }
        }
        Error::Maintenance { retry_after, .. } if idempotent => RetryDecision::Retry {
            retry_after: *retry_after,
        },
        Error::Http {
            status: 429 | 502 | 503 | 504,
            ..
        } if idempotent => RetryDecision::Retry { retry_after: None },
        // A cut-off body or a non-JSON page (a proxy's HTML error) is a transport accident;
        // a well-formed answer of the wrong shape is not, and retrying it cannot help.
        Error::Decode { source, .. } if idempotent && (source.is_eof() || source.is_syntax()) => {
            RetryDecision::Retry { retry_after: None }
        }
        _ => RetryDecision::GiveUp,
    }
}

/// True for methods that only read (safe to retry).
pub(crate) fn is_read_only(method: &str) -> bool {
    let name = method.strip_prefix("СБИС.").unwrap_or(method);
    [
        "Прочитать",
        "Список",
        "Информация",
        "СформироватьHTMLИзXML",
        "Получить",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default().max_attempts(4)
    }

    fn maintenance(retry_after: Option<Duration>) -> Error {
        Error::Maintenance {
            status: 503,
            retry_after,
        }
    }

    fn rpc_500() -> Error {
        Error::Rpc(Box::new(crate::error::RpcError {
            method: "СБИС.ПрочитатьДокумент".into(),
            http_status: 500,
            code: Some(crate::error::ErrorCode::Number(-32000)),
            message: "Ошибка".into(),
            details: None,
            error_type: None,
            class_id: None,
            addinfo: None,
        }))
    }

    use Idempotency::{Idempotent, NonIdempotent};

    #[test]
    fn maintenance_is_retried_for_idempotent_calls_only() {
        assert_eq!(
            decide(&maintenance(None), 1, Idempotent, &policy()),
            RetryDecision::Retry { retry_after: None }
        );
        assert_eq!(
            decide(&maintenance(None), 1, NonIdempotent, &policy()),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_passed_through() {
        let ra = Some(Duration::from_secs(3));
        assert_eq!(
            decide(&maintenance(ra), 2, Idempotent, &policy()),
            RetryDecision::Retry { retry_after: ra }
        );
    }

    #[test]
    fn gives_up_at_max_attempts() {
        assert_eq!(
            decide(&maintenance(None), 3, Idempotent, &policy()),
            RetryDecision::Retry { retry_after: None }
        );
        assert_eq!(
            decide(&maintenance(None), 4, Idempotent, &policy()),
            RetryDecision::GiveUp
        );
        assert_eq!(
            decide(&maintenance(None), 1, Idempotent, &RetryPolicy::none()),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn business_errors_are_never_retried() {
        assert_eq!(
            decide(&rpc_500(), 1, Idempotent, &policy()),
            RetryDecision::GiveUp
        );
        assert_eq!(
            decide(&rpc_500(), 1, NonIdempotent, &policy()),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn http_502_504_and_429_are_retried_for_idempotent_calls() {
        for status in [429, 502, 503, 504] {
            let e = Error::Http {
                status,
                excerpt: String::new(),
            };
            assert!(
                matches!(
                    decide(&e, 1, Idempotent, &policy()),
                    RetryDecision::Retry { .. }
                ),
                "{status}"
            );
            assert_eq!(
                decide(&e, 1, NonIdempotent, &policy()),
                RetryDecision::GiveUp,
                "{status}"
            );
        }
        for status in [400, 404, 500, 501] {
            let e = Error::Http {
                status,
                excerpt: String::new(),
            };
            assert_eq!(
                decide(&e, 1, Idempotent, &policy()),
                RetryDecision::GiveUp,
                "{status}"
            );
        }
    }

    #[test]
    fn timeouts_are_retried_only_when_idempotent() {
        let e = Error::Timeout(Duration::from_secs(1));
        assert!(matches!(
            decide(&e, 1, Idempotent, &policy()),
            RetryDecision::Retry { .. }
        ));
        assert_eq!(
            decide(&e, 1, NonIdempotent, &policy()),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn auth_decode_input_and_deadline_errors_are_not_retried() {
        let errors = [
            Error::SessionExpired {
                message: String::new(),
            },
            Error::AccessDenied { message: None },
            Error::PinLocked { message: None },
            Error::InvalidInput("x".into()),
            Error::Deadline(Duration::from_secs(1)),
            Error::IdMismatch {
                method: "m".into(),
                sent: 1,
                got: "2".into(),
            },
        ];
        for e in &errors {
            assert_eq!(
                decide(e, 1, Idempotent, &policy()),
                RetryDecision::GiveUp,
                "{e:?}"
            );
        }
    }

    #[test]
    fn backoff_ceiling_doubles_and_is_capped() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(1000));
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(2), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(400));
        assert_eq!(p.backoff_ceiling(5), Duration::from_millis(1000));
        assert_eq!(p.backoff_ceiling(64), Duration::from_millis(1000));
    }

    #[test]
    fn full_jitter_stays_within_the_ceiling_and_retry_after_is_capped() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(1000))
            .max_retry_after(Duration::from_secs(5));
        for attempt in 1..8 {
            for _ in 0..50 {
                assert!(p.backoff(attempt, None) <= p.backoff_ceiling(attempt));
            }
        }
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(600))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn read_only_methods_are_recognized() {
        assert!(is_read_only("СБИС.ПрочитатьДокумент"));
        assert!(is_read_only("СБИС.СписокИзменений"));
        assert!(is_read_only("СБИС.ИнформацияОКонтрагенте"));
        assert!(!is_read_only("СБИС.ВыполнитьДействие"));
        assert!(!is_read_only("СБИС.ЗаписатьДокумент"));
        assert!(!is_read_only("СБИС.УдалитьДокумент"));
    }

    fn decode(body: &str) -> Error {
        let source = serde_json::from_str::<serde_json::Value>(body)
            .map(|_| ())
            .and_then(|()| serde_json::from_str::<u8>("\"not a number\""))
            .err()
            .map(|e| Error::Decode {
                method: "СБИС.ПрочитатьДокумент".into(),
                path: ".".into(),
                status: 200,
                excerpt: String::new(),
                source: e,
            });
        source.unwrap()
    }

    #[test]
    fn damaged_answers_are_retried_only_when_idempotent() {
        let truncated = decode(r#"{"jsonrpc":"2.0","result":{"Докум"#);
        let html = decode("<html><body>502 Bad Gateway</body></html>");
        for err in [&truncated, &html] {
            assert!(err.is_retryable(), "{err}");
            assert_eq!(
                decide(err, 1, Idempotency::Idempotent, &policy()),
                RetryDecision::Retry { retry_after: None }
            );
            assert_eq!(
                decide(err, 1, Idempotency::NonIdempotent, &policy()),
                RetryDecision::GiveUp
            );
        }
    }

    #[test]
    fn wrong_shape_is_not_retried() {
        // Valid JSON of the wrong type: asking again returns the same thing.
        let wrong_type = decode("{}");
        assert!(!wrong_type.is_retryable());
        assert_eq!(
            decide(&wrong_type, 1, Idempotency::Idempotent, &policy()),
            RetryDecision::GiveUp
        );
    }
}
