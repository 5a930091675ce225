//! Retry policy: exponential backoff with full jitter, `Retry-After`, and a pure
//! decision function.
//!
//! [`RetryPolicy::decide`] is a pure function of what happened (a [`Failure`]) and
//! where the call stands (an [`AttemptState`]); the client calls it after every
//! failed attempt and sleeps for the returned delay.

use std::time::Duration;

use time::OffsetDateTime;

/// How many times and how patiently a failed request is retried.
///
/// The default makes at most 4 attempts, backing off exponentially from 200 ms
/// (×2 per attempt, at most 10 s) with full jitter, and honours `Retry-After` up to 60 s.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    max_retry_after: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (one attempt).
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Total attempts including the first (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The backoff before the first retry (before jitter).
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// The largest backoff between two attempts (before jitter).
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// How much the backoff grows per attempt (at least 1.0).
    pub fn multiplier(mut self, m: f64) -> Self {
        self.multiplier = if m.is_finite() && m >= 1.0 { m } else { 1.0 };
        self
    }

    /// The longest `Retry-After` the client will honour; longer values are capped.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Full jitter on (default) or off (deterministic backoff).
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// Total attempts including the first.
    pub fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The longest `Retry-After` honoured.
    pub fn get_max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The backoff cap before jitter for the retry after attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(63);
        let factor = self.multiplier.powi(i32::try_from(exp).unwrap_or(i32::MAX));
        let secs = self.initial_backoff.as_secs_f64() * factor;
        let capped = secs.min(self.max_backoff.as_secs_f64());
        if capped.is_finite() && capped >= 0.0 {
            Duration::from_secs_f64(capped)
        } else {
            self.max_backoff
        }
    }

    /// Decides whether to retry after a failed attempt, and after how long.
    ///
    /// Pure: the randomness of the jitter comes in through
    /// [`AttemptState::jitter`]. The rules, in order:
    ///
    /// 1. a failure that cannot succeed on retry (4xx other than 408/429, a
    ///    malformed body) → [`StopReason::NotRetryable`];
    /// 2. a non-idempotent request (an upload) is retried only if it never left the
    ///    client ([`Failure::Connect`]);
    /// 3. no attempts left → [`StopReason::AttemptsExhausted`];
    /// 4. the delay is `Retry-After` (capped at `max_retry_after`) when the server
    ///    sent one, else a uniformly random share of the exponential backoff;
    /// 5. if sleeping that long would pass the deadline → [`StopReason::Deadline`].
    pub fn decide(&self, failure: &Failure, state: &AttemptState) -> RetryDecision {
        let retryable = match failure {
            Failure::Connect => true,
            Failure::Timeout | Failure::Transport | Failure::TruncatedBody => state.idempotent,
            Failure::Status { status, .. } => state.idempotent && is_retryable_status(*status),
            Failure::Permanent => false,
        };
        if !retryable {
            return RetryDecision::Stop(StopReason::NotRetryable);
        }
        if state.attempt >= self.max_attempts {
            return RetryDecision::Stop(StopReason::AttemptsExhausted);
        }
        let delay = match failure {
            Failure::Status {
                retry_after: Some(ra),
                ..
            } => (*ra).min(self.max_retry_after),
            _ => {
                let cap = self.backoff(state.attempt);
                if self.jitter {
                    cap.mul_f64(state.jitter.clamp(0.0, 1.0))
                } else {
                    cap
                }
            }
        };
        if let Some(deadline) = state.deadline
            && state.elapsed.saturating_add(delay) >= deadline
        {
            return RetryDecision::Stop(StopReason::Deadline);
        }
        RetryDecision::Retry(delay)
    }
}

/// Whether an HTTP status is worth retrying (408, 429, 500, 502, 503, 504).
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// What went wrong in one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The connection could not be established: the request never left.
    Connect,
    /// The attempt timed out (the server may have received the request).
    Timeout,
    /// Another transport error after the request may have been sent.
    Transport,
    /// The body ended early (the server may have processed the request).
    TruncatedBody,
    /// The server answered with an HTTP error status.
    Status {
        /// The status code.
        status: u16,
        /// The parsed `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Anything that cannot succeed on retry.
    Permanent,
}

/// Where a call stands when an attempt failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AttemptState {
    /// Attempts made so far, including the failed one (1-based).
    pub attempt: u32,
    /// Time since the call started.
    pub elapsed: Duration,
    /// The call's overall deadline, if any.
    pub deadline: Option<Duration>,
    /// Whether repeating the request is harmless.
    pub idempotent: bool,
    /// A random number in `[0, 1)` used for full jitter.
    pub jitter: f64,
}

impl AttemptState {
    /// State after `attempt` attempts and `elapsed` time; idempotent, no deadline,
    /// jitter 1.0 (the full backoff).
    pub fn new(attempt: u32, elapsed: Duration) -> Self {
        Self {
            attempt,
            elapsed,
            deadline: None,
            idempotent: true,
            jitter: 1.0,
        }
    }

    /// Sets the overall deadline.
    pub fn deadline(mut self, d: Option<Duration>) -> Self {
        self.deadline = d;
        self
    }

    /// Sets whether repeating the request is harmless.
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    /// Sets the random number used for jitter.
    pub fn jitter(mut self, r: f64) -> Self {
        self.jitter = r;
        self
    }
}

/// The outcome of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Sleep this long, then try again.
    Retry(Duration),
    /// Give up and return the error.
    Stop(StopReason),
}

/// Why [`RetryPolicy::decide`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The failure cannot succeed on retry (or the request is not idempotent).
    NotRetryable,
    /// The policy's `max_attempts` were used up.
    AttemptsExhausted,
    /// Waiting would pass the overall deadline.
    Deadline,
}

/// Parses a `Retry-After` value: delay-seconds (`"120"`, also `"1.5"`) or an
/// HTTP date in any of the three forms RFC 9110 asks recipients to accept
/// (`"Sun, 06 Nov 1994 08:49:37 GMT"`, `"Sunday, 06-Nov-94 08:49:37 GMT"`,
/// `"Sun Nov  6 08:49:37 1994"`), relative to `now`.
/// A date in the past gives zero; garbage gives `None`.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = OffsetDateTime::from(httpdate::parse_http_date(value).ok()?);
    let diff = at - now;
    Some(if diff.is_negative() {
        Duration::ZERO
    } else {
        diff.unsigned_abs()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_secs(1))
            .max_attempts(5)
            .max_retry_after(Duration::from_secs(30))
    }

    fn status(s: u16) -> Failure {
        Failure::Status {
            status: s,
            retry_after: None,
        }
    }

    #[test]
    fn retries_transient_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                policy().decide(&status(s), &AttemptState::new(1, Duration::ZERO)),
                RetryDecision::Retry(Duration::from_millis(100)),
                "status {s}"
            );
        }
    }

    #[test]
    fn stops_on_client_errors_and_unknown_5xx() {
        for s in [400, 401, 402, 403, 404, 409, 422, 501, 505] {
            assert_eq!(
                policy().decide(&status(s), &AttemptState::new(1, Duration::ZERO)),
                RetryDecision::Stop(StopReason::NotRetryable),
                "status {s}"
            );
        }
        assert_eq!(
            policy().decide(&Failure::Permanent, &AttemptState::new(1, Duration::ZERO)),
            RetryDecision::Stop(StopReason::NotRetryable)
        );
    }

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let p = policy();
        let delays: Vec<_> = (1..=4)
            .map(|a| p.decide(&Failure::Timeout, &AttemptState::new(a, Duration::ZERO)))
            .collect();
        assert_eq!(
            delays,
            vec![
                RetryDecision::Retry(Duration::from_millis(100)),
                RetryDecision::Retry(Duration::from_millis(200)),
                RetryDecision::Retry(Duration::from_millis(400)),
                RetryDecision::Retry(Duration::from_millis(800)),
            ]
        );
        assert_eq!(p.backoff(10), Duration::from_secs(1));
        assert_eq!(p.backoff(1000), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_scales_the_backoff() {
        let p = policy();
        let st = AttemptState::new(3, Duration::ZERO).jitter(0.25);
        assert_eq!(
            p.decide(&Failure::Connect, &st),
            RetryDecision::Retry(Duration::from_millis(100))
        );
        let st = AttemptState::new(3, Duration::ZERO).jitter(0.0);
        assert_eq!(
            p.decide(&Failure::Connect, &st),
            RetryDecision::Retry(Duration::ZERO)
        );
        let no_jitter = p.clone().jitter(false);
        assert_eq!(
            no_jitter.decide(&Failure::Connect, &st),
            RetryDecision::Retry(Duration::from_millis(400))
        );
    }

    #[test]
    fn stops_when_attempts_are_used_up() {
        assert_eq!(
            policy().decide(&status(503), &AttemptState::new(5, Duration::ZERO)),
            RetryDecision::Stop(StopReason::AttemptsExhausted)
        );
        assert_eq!(
            RetryPolicy::none().decide(&Failure::Connect, &AttemptState::new(1, Duration::ZERO)),
            RetryDecision::Stop(StopReason::AttemptsExhausted)
        );
    }

    #[test]
    fn honours_retry_after_with_a_cap() {
        let f = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            policy().decide(&f, &AttemptState::new(1, Duration::ZERO).jitter(0.0)),
            RetryDecision::Retry(Duration::from_secs(7))
        );
        let f = Failure::Status {
            status: 503,
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(
            policy().decide(&f, &AttemptState::new(1, Duration::ZERO)),
            RetryDecision::Retry(Duration::from_secs(30))
        );
    }

    #[test]
    fn respects_the_deadline() {
        let st =
            AttemptState::new(1, Duration::from_millis(950)).deadline(Some(Duration::from_secs(1)));
        assert_eq!(
            policy().decide(&status(500), &st),
            RetryDecision::Stop(StopReason::Deadline)
        );
        let st =
            AttemptState::new(1, Duration::from_millis(500)).deadline(Some(Duration::from_secs(1)));
        assert_eq!(
            policy().decide(&status(500), &st),
            RetryDecision::Retry(Duration::from_millis(100))
        );
        // A Retry-After beyond the deadline stops too.
        let f = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(5)),
        };
        let st = AttemptState::new(1, Duration::ZERO).deadline(Some(Duration::from_secs(2)));
        assert_eq!(
            policy().decide(&f, &st),
            RetryDecision::Stop(StopReason::Deadline)
        );
    }

    #[test]
    fn non_idempotent_requests_retry_only_connect_errors() {
        let st = AttemptState::new(1, Duration::ZERO).idempotent(false);
        assert_eq!(
            policy().decide(&Failure::Connect, &st),
            RetryDecision::Retry(Duration::from_millis(100))
        );
        for f in [
            Failure::Timeout,
            Failure::Transport,
            Failure::TruncatedBody,
            status(503),
            status(429),
        ] {
            assert_eq!(
                policy().decide(&f, &st),
                RetryDecision::Stop(StopReason::NotRetryable),
                "{f:?}"
            );
        }
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let now = datetime!(2026-11-23 12:00:00 UTC);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        // The obsolete forms RFC 9110 still asks recipients to accept.
        assert_eq!(
            parse_retry_after("Monday, 23-Nov-26 12:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Mon Nov 23 12:00:05 2026", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Mon, 32 Nov 2026 12:00:30 GMT", now),
            None
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
