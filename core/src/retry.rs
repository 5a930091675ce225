//! The retry policy and its pure decision function.
//!
//! After every failed attempt a client describes what happened as a [`Failure`] and where
//! the call stands as an [`AttemptState`], and asks [`RetryPolicy::decide`]. The decision
//! uses nothing else: no clock (the elapsed time is in the state), no randomness (the
//! jitter sample is in the state), so it is the same on every run and every unit test pins
//! one rule.

use std::time::Duration;

/// The longest `Retry-After` a policy honours by default: 60 seconds. A longer one is cut
/// to this (the server asked for more patience than a call should have).
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How many times and how patiently a failed call is retried.
///
/// | setting | default | set with |
/// |---|---|---|
/// | attempts in total, the first included | 4 | [`with_max_attempts`](Self::with_max_attempts) |
/// | backoff before the first retry | 200 ms | [`with_initial_backoff`](Self::with_initial_backoff) |
/// | largest backoff | 10 s | [`with_max_backoff`](Self::with_max_backoff) |
/// | growth per attempt | ×2 | [`with_multiplier`](Self::with_multiplier) |
/// | full jitter | on | [`with_jitter`](Self::with_jitter) |
/// | longest `Retry-After` honoured | 60 s ([`DEFAULT_MAX_RETRY_AFTER`]) | [`with_max_retry_after`](Self::with_max_retry_after) |
///
/// Setters are `with_*` and return the policy; getters are the bare names.
///
/// ```
/// use std::time::Duration;
/// use hr_docs_core::RetryPolicy;
///
/// let p = RetryPolicy::default().with_max_attempts(6).with_jitter(false);
/// assert_eq!(p.max_attempts(), 6);
/// assert_eq!(p.backoff(3), Duration::from_millis(800));
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    jitter: bool,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: true,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        }
    }
}

impl RetryPolicy {
    /// The default policy (see the table above).
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy that never retries: one attempt.
    pub fn none() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Attempts in total, the first included. At least 1 (0 is taken as 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry, before jitter.
    #[must_use]
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff between two attempts, before jitter.
    #[must_use]
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// How much the backoff grows per attempt. At least 1.0 (a smaller or non-finite
    /// value is taken as 1.0, a constant backoff).
    #[must_use]
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() && multiplier >= 1.0 {
            multiplier
        } else {
            1.0
        };
        self
    }

    /// Full jitter on (the default: the wait is a uniformly random share of the backoff,
    /// so many clients failing together do not retry together) or off (the wait is the
    /// backoff itself).
    #[must_use]
    pub fn with_jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// The longest `Retry-After` honoured; a longer one is cut to this.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Attempts in total, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff before the first retry, before jitter.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The largest backoff, before jitter.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The growth of the backoff per attempt.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// Whether full jitter is on.
    pub fn jitter(&self) -> bool {
        self.jitter
    }

    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The backoff before jitter after attempt number `attempt` (1-based: the wait after
    /// the first failure is `backoff(1)` = the initial backoff): `initial × multiplier^(attempt-1)`,
    /// at most the max backoff. Saturating: no attempt number overflows.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(1023);
        let factor = self.multiplier.powi(i32::try_from(exp).unwrap_or(i32::MAX));
        let secs = self.initial_backoff.as_secs_f64() * factor;
        let capped = secs.min(self.max_backoff.as_secs_f64());
        if capped.is_finite() && capped >= 0.0 {
            Duration::try_from_secs_f64(capped).unwrap_or(self.max_backoff)
        } else {
            self.max_backoff
        }
    }

    /// Decides, after a failed attempt, whether to try again and after how long.
    ///
    /// Pure: the elapsed time, the deadline and the jitter's random sample come in through
    /// `state`. The rules, in order:
    ///
    /// 1. a failure that cannot go away by itself ([`Failure::Permanent`], an HTTP status
    ///    other than 408, 429, 500, 502, 503, 504) → [`StopReason::NotRetryable`];
    /// 2. a call that must not run twice ([`Idempotency::NonIdempotent`]) is retried only
    ///    when the request certainly never left ([`Failure::Connect`]); otherwise
    ///    [`StopReason::NotRetryable`];
    /// 3. no attempts left → [`StopReason::AttemptsExhausted`];
    /// 4. the wait is the server's `Retry-After` (cut to
    ///    [`max_retry_after`](Self::max_retry_after)) when it sent one, else the
    ///    [`backoff`](Self::backoff), times the jitter sample when jitter is on;
    /// 5. when waiting would reach the deadline → [`StopReason::Deadline`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use hr_docs_core::{AttemptState, Failure, RetryDecision, RetryPolicy, StopReason};
    ///
    /// let p = RetryPolicy::default();
    /// let slow_down = Failure::Status { status: 429, retry_after: Some(Duration::from_secs(5)) };
    /// let state = AttemptState::new(1, Duration::from_secs(1));
    /// assert_eq!(p.decide(&slow_down, &state), RetryDecision::Retry(Duration::from_secs(5)));
    /// let late = state.with_deadline(Some(Duration::from_secs(3)));
    /// assert_eq!(p.decide(&slow_down, &late), RetryDecision::Stop(StopReason::Deadline));
    /// ```
    pub fn decide(&self, failure: &Failure, state: &AttemptState) -> RetryDecision {
        let transient = match failure {
            Failure::Connect | Failure::Timeout | Failure::Transport | Failure::DamagedBody => true,
            Failure::Status { status, .. } => is_retryable_status(*status),
            Failure::Permanent => false,
        };
        if !transient {
            return RetryDecision::Stop(StopReason::NotRetryable);
        }
        if state.idempotency == Idempotency::NonIdempotent && *failure != Failure::Connect {
            return RetryDecision::Stop(StopReason::NotRetryable);
        }
        if state.attempt >= self.max_attempts {
            return RetryDecision::Stop(StopReason::AttemptsExhausted);
        }
        let delay = match failure {
            Failure::Status {
                retry_after: Some(asked),
                ..
            } => (*asked).min(self.max_retry_after),
            _ => {
                let ceiling = self.backoff(state.attempt);
                if self.jitter {
                    // NaN (a broken random source) is taken as the full backoff.
                    let sample = if state.jitter.is_nan() {
                        1.0
                    } else {
                        state.jitter.clamp(0.0, 1.0)
                    };
                    ceiling.mul_f64(sample)
                } else {
                    ceiling
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

/// Whether an HTTP status says "try again later": 408 (request timeout), 429 (too many
/// requests), 500, 502, 503, 504. Every other status is an answer that asking again
/// will not change.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// What went wrong in one attempt, as far as retrying is concerned.
///
/// Each client maps its own error to one of these; a business error (a JSON-RPC error
/// body, whatever its HTTP status) is [`Failure::Permanent`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The connection could not be established: the request never left, so repeating it
    /// is safe for every call.
    Connect,
    /// The attempt timed out; the server may have received the request.
    Timeout,
    /// Another transport error (reset, broken pipe…) after the request may have been sent.
    Transport,
    /// The answer was damaged on the way: its body was cut off, or is not JSON at all
    /// (a proxy's HTML page in place of the API's answer). A well-formed body of the
    /// wrong shape is [`Failure::Permanent`]: asking again returns the same thing.
    DamagedBody,
    /// The server answered with an HTTP error status.
    Status {
        /// The status code.
        status: u16,
        /// The server's `Retry-After`, parsed (see [`parse_retry_after`](crate::parse_retry_after)).
        retry_after: Option<Duration>,
    },
    /// Anything that cannot succeed on a retry (bad input, refused credentials, a business
    /// error).
    Permanent,
}

/// Whether a call may be repeated after it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Idempotency {
    /// Repeating it is harmless: it only reads, or it writes the same thing again (a write
    /// that carries the caller's own identifiers).
    #[default]
    Idempotent,
    /// It must not run twice (an upload, an action): repeated only when it certainly never
    /// left ([`Failure::Connect`]).
    NonIdempotent,
}

impl Idempotency {
    /// [`Idempotency::Idempotent`] for `true`.
    pub fn from_bool(idempotent: bool) -> Self {
        if idempotent {
            Self::Idempotent
        } else {
            Self::NonIdempotent
        }
    }
}

/// Where a call stands when one of its attempts failed: the input of
/// [`RetryPolicy::decide`] besides the failure.
///
/// ```
/// use std::time::Duration;
/// use hr_docs_core::{AttemptState, Idempotency};
///
/// let state = AttemptState::new(2, Duration::from_millis(300))
///     .with_deadline(Some(Duration::from_secs(5)))
///     .with_idempotency(Idempotency::NonIdempotent)
///     .with_jitter(0.5);
/// assert_eq!(state.attempt(), 2);
/// assert_eq!(state.deadline(), Some(Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptState {
    attempt: u32,
    elapsed: Duration,
    deadline: Option<Duration>,
    idempotency: Idempotency,
    jitter: f64,
}

impl AttemptState {
    /// After `attempt` attempts (1-based: the one that just failed) and `elapsed` time since
    /// the call started; idempotent, no deadline, jitter sample 1.0 (the full backoff).
    pub fn new(attempt: u32, elapsed: Duration) -> Self {
        Self {
            attempt,
            elapsed,
            deadline: None,
            idempotency: Idempotency::Idempotent,
            jitter: 1.0,
        }
    }

    /// The call's overall deadline, counted from its start (`None`: no deadline).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Whether the call may be repeated.
    #[must_use]
    pub fn with_idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// The random sample of the full jitter, in `[0, 1]` (values outside are clamped; NaN
    /// is taken as 1.0).
    #[must_use]
    pub fn with_jitter(mut self, sample: f64) -> Self {
        self.jitter = sample;
        self
    }

    /// Attempts made so far, the failed one included.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Time since the call started.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The call's overall deadline, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// Whether the call may be repeated.
    pub fn idempotency(&self) -> Idempotency {
        self.idempotency
    }

    /// The jitter sample.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }
}

/// The outcome of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Give up and return the error.
    Stop(StopReason),
}

/// Why [`RetryPolicy::decide`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// The failure cannot go away by itself, or the call must not run twice.
    NotRetryable,
    /// The policy's attempts are used up.
    AttemptsExhausted,
    /// Waiting would reach the call's deadline. The clients report this as their
    /// `DeadlineExceeded` error, with the last attempt's error as its source.
    Deadline,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1))
            .with_max_attempts(5)
            .with_max_retry_after(Duration::from_secs(30))
    }

    fn status(s: u16) -> Failure {
        Failure::Status {
            status: s,
            retry_after: None,
        }
    }

    fn first() -> AttemptState {
        AttemptState::new(1, Duration::ZERO)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts(), 4);
        assert_eq!(p.initial_backoff(), Duration::from_millis(200));
        assert_eq!(p.max_backoff(), Duration::from_secs(10));
        assert_eq!(p.multiplier(), 2.0);
        assert!(p.jitter());
        assert_eq!(p.max_retry_after(), Duration::from_secs(60));
        assert_eq!(p, RetryPolicy::new());
    }

    #[test]
    fn retries_transient_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                policy().decide(&status(s), &first()),
                RetryDecision::Retry(Duration::from_millis(100)),
                "status {s}"
            );
        }
    }

    #[test]
    fn stops_on_answers_that_will_not_change() {
        for s in [400, 401, 402, 403, 404, 409, 422, 423, 501, 505, 200, 0] {
            assert_eq!(
                policy().decide(&status(s), &first()),
                RetryDecision::Stop(StopReason::NotRetryable),
                "status {s}"
            );
        }
        assert_eq!(
            policy().decide(&Failure::Permanent, &first()),
            RetryDecision::Stop(StopReason::NotRetryable)
        );
    }

    #[test]
    fn transport_failures_are_retried_for_idempotent_calls() {
        for f in [
            Failure::Connect,
            Failure::Timeout,
            Failure::Transport,
            Failure::DamagedBody,
        ] {
            assert_eq!(
                policy().decide(&f, &first()),
                RetryDecision::Retry(Duration::from_millis(100)),
                "{f:?}"
            );
        }
    }

    #[test]
    fn non_idempotent_calls_retry_only_what_never_left() {
        let st = first().with_idempotency(Idempotency::NonIdempotent);
        assert_eq!(
            policy().decide(&Failure::Connect, &st),
            RetryDecision::Retry(Duration::from_millis(100))
        );
        for f in [
            Failure::Timeout,
            Failure::Transport,
            Failure::DamagedBody,
            status(503),
            status(429),
            Failure::Status {
                status: 503,
                retry_after: Some(Duration::from_secs(1)),
            },
        ] {
            assert_eq!(
                policy().decide(&f, &st),
                RetryDecision::Stop(StopReason::NotRetryable),
                "{f:?}"
            );
        }
    }

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let p = policy();
        let delays: Vec<_> = (1..=5)
            .map(|a| p.decide(&Failure::Timeout, &AttemptState::new(a, Duration::ZERO)))
            .collect();
        assert_eq!(
            delays,
            vec![
                RetryDecision::Retry(Duration::from_millis(100)),
                RetryDecision::Retry(Duration::from_millis(200)),
                RetryDecision::Retry(Duration::from_millis(400)),
                RetryDecision::Retry(Duration::from_millis(800)),
                RetryDecision::Stop(StopReason::AttemptsExhausted),
            ]
        );
        assert_eq!(p.backoff(10), Duration::from_secs(1));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1));
        assert_eq!(p.backoff(0), Duration::from_millis(100));
    }

    #[test]
    fn the_multiplier_shapes_the_backoff() {
        let constant = policy().with_multiplier(1.0);
        assert_eq!(constant.backoff(7), Duration::from_millis(100));
        let triple = policy().with_multiplier(3.0);
        assert_eq!(triple.backoff(3), Duration::from_millis(900));
        // Nonsense is taken as a constant backoff, never a shrinking or NaN one.
        for m in [0.5, -2.0, f64::NAN, f64::INFINITY] {
            assert_eq!(policy().with_multiplier(m).multiplier(), 1.0, "{m}");
        }
        // A huge multiplier saturates at the cap instead of overflowing.
        let huge = policy().with_multiplier(1e300);
        assert_eq!(huge.backoff(40), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_scales_the_backoff_by_the_sample() {
        let p = policy();
        let at = |sample: f64| AttemptState::new(3, Duration::ZERO).with_jitter(sample);
        assert_eq!(
            p.decide(&Failure::Connect, &at(0.25)),
            RetryDecision::Retry(Duration::from_millis(100))
        );
        assert_eq!(
            p.decide(&Failure::Connect, &at(0.0)),
            RetryDecision::Retry(Duration::ZERO)
        );
        // Samples outside [0, 1] are clamped, never a longer wait than the backoff.
        assert_eq!(
            p.decide(&Failure::Connect, &at(7.0)),
            RetryDecision::Retry(Duration::from_millis(400))
        );
        assert_eq!(
            p.decide(&Failure::Connect, &at(f64::NAN)),
            RetryDecision::Retry(Duration::from_millis(400))
        );
        let off = p.clone().with_jitter(false);
        assert_eq!(
            off.decide(&Failure::Connect, &at(0.0)),
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
            RetryPolicy::none().decide(&Failure::Connect, &first()),
            RetryDecision::Stop(StopReason::AttemptsExhausted)
        );
        assert_eq!(
            RetryPolicy::default().with_max_attempts(0).max_attempts(),
            1
        );
    }

    #[test]
    fn honours_retry_after_over_the_backoff_and_caps_it() {
        let asked = |secs| Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        // The server's wait wins over the (jittered) backoff, also when it is shorter.
        assert_eq!(
            policy().decide(&asked(7), &first().with_jitter(0.0)),
            RetryDecision::Retry(Duration::from_secs(7))
        );
        assert_eq!(
            policy().decide(&asked(0), &first()),
            RetryDecision::Retry(Duration::ZERO)
        );
        assert_eq!(
            policy().decide(&asked(3600), &first()),
            RetryDecision::Retry(Duration::from_secs(30))
        );
        assert_eq!(
            RetryPolicy::default().decide(&asked(3600), &first()),
            RetryDecision::Retry(DEFAULT_MAX_RETRY_AFTER)
        );
        let forever = Failure::Status {
            status: 503,
            retry_after: Some(Duration::MAX),
        };
        assert_eq!(
            RetryPolicy::default().decide(&forever, &first()),
            RetryDecision::Retry(DEFAULT_MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn respects_the_deadline() {
        let at = |ms| {
            AttemptState::new(1, Duration::from_millis(ms))
                .with_deadline(Some(Duration::from_secs(1)))
        };
        assert_eq!(
            policy().decide(&status(500), &at(950)),
            RetryDecision::Stop(StopReason::Deadline)
        );
        // Waiting exactly up to the deadline leaves no time for the attempt.
        assert_eq!(
            policy().decide(&status(500), &at(900)),
            RetryDecision::Stop(StopReason::Deadline)
        );
        assert_eq!(
            policy().decide(&status(500), &at(500)),
            RetryDecision::Retry(Duration::from_millis(100))
        );
        // A Retry-After beyond the deadline stops too.
        let f = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(5)),
        };
        let st = first().with_deadline(Some(Duration::from_secs(2)));
        assert_eq!(
            policy().decide(&f, &st),
            RetryDecision::Stop(StopReason::Deadline)
        );
        // A saturating clock never wraps around into "time left".
        let st = AttemptState::new(1, Duration::MAX).with_deadline(Some(Duration::from_secs(1)));
        assert_eq!(
            policy().decide(&Failure::Connect, &st),
            RetryDecision::Stop(StopReason::Deadline)
        );
    }

    #[test]
    fn a_permanent_failure_stops_before_the_attempt_count_is_looked_at() {
        assert_eq!(
            policy().decide(&status(404), &AttemptState::new(99, Duration::ZERO)),
            RetryDecision::Stop(StopReason::NotRetryable)
        );
    }

    #[test]
    fn idempotency_from_bool() {
        assert_eq!(Idempotency::from_bool(true), Idempotency::Idempotent);
        assert_eq!(Idempotency::from_bool(false), Idempotency::NonIdempotent);
        assert_eq!(Idempotency::default(), Idempotency::Idempotent);
    }
}
