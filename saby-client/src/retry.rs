//! When to retry, and how long to wait: the shared policy of [`hr_docs_core`], and which
//! Saby failure is which.
//!
//! The policy ([`RetryPolicy`]), its pure decision ([`RetryPolicy::decide`] of a
//! [`Failure`] and an [`AttemptState`]) and `Retry-After` parsing are the ones `beorg-client`
//! uses too: exponential backoff with full jitter, `Retry-After` honoured up to
//! [`RetryPolicy::max_retry_after`] (60 s by default), and a stop when the next wait would
//! reach the call's deadline ([`crate::Error::DeadlineExceeded`],
//! with the last attempt's error as its source).
//!
//! How this client's errors map to [`Failure`]s:
//!
//! | error | failure |
//! |---|---|
//! | connection not established | [`Failure::Connect`] (retried for every call) |
//! | an attempt timed out | [`Failure::Timeout`] |
//! | another transport error | [`Failure::Transport`] |
//! | a truncated body, an HTML page instead of JSON | [`Failure::DamagedBody`] |
//! | 503/504 (maintenance), 408/429/500/502 without a JSON-RPC body | [`Failure::Status`] with `Retry-After` |
//! | a JSON-RPC error (a business error, whatever the HTTP status), 401/403/423, a well-formed answer of the wrong shape, bad input | [`Failure::Permanent`] |
//!
//! A 401 (or a session error) is not retried by the policy: the session is renewed once
//! and the call replayed. A "file not ready yet" download error is asked again on its own
//! schedule ([`ClientBuilder::file_not_ready_delay`](crate::ClientBuilder::file_not_ready_delay)).
//!
//! What counts as safe to repeat ([`Idempotency`]):
//! - read-only methods (`Прочитать…`, `Список…`, `Информация…`, `СформироватьHTMLИзXML`) and
//!   downloads;
//! - writes that carry our own identifiers (`ЗаписатьДокумент` / `ЗаписатьВложение` with
//!   `Идентификатор` set on the document and on every attachment): repeating them writes the
//!   same thing again;
//! - everything else (`ВыполнитьДействие`, deletes...) is retried only when the request
//!   certainly never reached the server (connection refused / not established).

pub use hr_docs_core::{
    AttemptState, Failure, Idempotency, RetryDecision, RetryPolicy, StopReason, parse_retry_after,
};

use crate::error::Error;

/// What a failed attempt was, as far as retrying is concerned (see the module's table).
pub(crate) fn failure_of(error: &Error) -> Failure {
    match error {
        Error::Transport { connect: true, .. } => Failure::Connect,
        Error::Transport { .. } => Failure::Transport,
        Error::Timeout { .. } => Failure::Timeout,
        Error::Maintenance {
            status,
            retry_after,
        }
        | Error::Http {
            status,
            retry_after,
            ..
        } => Failure::Status {
            status: *status,
            retry_after: *retry_after,
        },
        // A cut-off body or a non-JSON page (a proxy's HTML error) is a transport accident;
        // a well-formed answer of the wrong shape is not, and retrying it cannot help.
        Error::Decode { source, .. } if is_damaged(source) => Failure::DamagedBody,
        _ => Failure::Permanent,
    }
}

/// A body cut off, or not JSON at all: damaged on the way.
pub(crate) fn is_damaged(e: &serde_json::Error) -> bool {
    e.is_eof() || e.is_syntax()
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
    use std::time::Duration;

    use Idempotency::{Idempotent, NonIdempotent};

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .with_max_attempts(4)
            .with_initial_backoff(Duration::from_millis(100))
            .with_jitter(false)
    }

    /// The policy's decision for `error` after attempt `attempt`.
    fn decide(error: &Error, attempt: u32, idempotency: Idempotency) -> RetryDecision {
        policy().decide(
            &failure_of(error),
            &AttemptState::new(attempt, Duration::ZERO).with_idempotency(idempotency),
        )
    }

    fn retried(d: RetryDecision) -> bool {
        matches!(d, RetryDecision::Retry(_))
    }

    fn maintenance(retry_after: Option<Duration>) -> Error {
        Error::Maintenance {
            status: 503,
            retry_after,
        }
    }

    fn http(status: u16) -> Error {
        Error::Http {
            status,
            excerpt: String::new(),
            retry_after: None,
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

    #[test]
    fn maintenance_is_retried_for_idempotent_calls_only() {
        assert!(retried(decide(&maintenance(None), 1, Idempotent)));
        assert_eq!(
            decide(&maintenance(None), 1, NonIdempotent),
            RetryDecision::Stop(StopReason::NotRetryable)
        );
    }

    #[test]
    fn retry_after_is_honoured() {
        let ra = Some(Duration::from_secs(3));
        assert_eq!(
            decide(&maintenance(ra), 2, Idempotent),
            RetryDecision::Retry(Duration::from_secs(3))
        );
        let slow_down = Error::Http {
            status: 429,
            excerpt: String::new(),
            retry_after: ra,
        };
        assert_eq!(
            decide(&slow_down, 1, Idempotent),
            RetryDecision::Retry(Duration::from_secs(3))
        );
    }

    #[test]
    fn gives_up_at_max_attempts() {
        assert!(retried(decide(&maintenance(None), 3, Idempotent)));
        assert_eq!(
            decide(&maintenance(None), 4, Idempotent),
            RetryDecision::Stop(StopReason::AttemptsExhausted)
        );
    }

    #[test]
    fn business_errors_are_never_retried() {
        for idempotency in [Idempotent, NonIdempotent] {
            assert_eq!(
                decide(&rpc_500(), 1, idempotency),
                RetryDecision::Stop(StopReason::NotRetryable)
            );
        }
    }

    #[test]
    fn http_errors_without_a_json_rpc_body_follow_the_shared_status_rule() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(retried(decide(&http(status), 1, Idempotent)), "{status}");
            assert!(http(status).is_retryable(), "{status}");
            assert!(
                !retried(decide(&http(status), 1, NonIdempotent)),
                "{status}"
            );
        }
        for status in [400, 404, 501] {
            assert!(!retried(decide(&http(status), 1, Idempotent)), "{status}");
            assert!(!http(status).is_retryable(), "{status}");
        }
    }

    #[test]
    fn timeouts_are_retried_only_when_idempotent() {
        let e = Error::Timeout {
            timeout: Duration::from_secs(1),
        };
        assert!(retried(decide(&e, 1, Idempotent)));
        assert!(!retried(decide(&e, 1, NonIdempotent)));
    }

    #[test]
    fn auth_decode_input_and_deadline_errors_are_not_retried() {
        let errors = [
            Error::SessionExpired {
                message: String::new(),
                status: Some(401),
            },
            Error::AccessDenied { message: None },
            Error::PinLocked { message: None },
            Error::InvalidInput("x".into()),
            Error::DeadlineExceeded {
                deadline: Duration::from_secs(1),
                attempts: 1,
                last_error: None,
            },
            Error::IdMismatch {
                method: "m".into(),
                sent: 1,
                got: "2".into(),
            },
        ];
        for e in &errors {
            assert_eq!(
                decide(e, 1, Idempotent),
                RetryDecision::Stop(StopReason::NotRetryable),
                "{e:?}"
            );
        }
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
            assert_eq!(failure_of(err), Failure::DamagedBody);
            assert!(retried(decide(err, 1, Idempotent)));
            assert!(!retried(decide(err, 1, NonIdempotent)));
        }
    }

    #[test]
    fn wrong_shape_is_not_retried() {
        // Valid JSON of the wrong type: asking again returns the same thing.
        let wrong_type = decode("{}");
        assert!(!wrong_type.is_retryable());
        assert_eq!(failure_of(&wrong_type), Failure::Permanent);
    }
}
