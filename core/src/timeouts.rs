//! The per-attempt timeout and the overall deadline of a call.

use std::time::Duration;

/// The default timeout of one attempt (connect, send, read the whole answer): 60 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default deadline of one call, every attempt and every wait between attempts
/// included: 5 minutes.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);

/// How long one attempt may take, and how long a whole call may take.
///
/// A call makes attempts until one succeeds, the [`RetryPolicy`](crate::RetryPolicy) stops,
/// or the deadline passes. Each attempt gets the per-attempt timeout, **cut to what is left
/// of the deadline** ([`attempt_timeout`](Self::attempt_timeout)), so a call never outlives
/// its deadline by an attempt.
///
/// ```
/// use std::time::Duration;
/// use hr_docs_core::Timeouts;
///
/// let t = Timeouts::default()
///     .with_per_attempt(Duration::from_secs(10))
///     .with_deadline(Some(Duration::from_secs(25)));
/// assert_eq!(t.attempt_timeout(Duration::ZERO), Some(Duration::from_secs(10)));
/// assert_eq!(t.attempt_timeout(Duration::from_secs(20)), Some(Duration::from_secs(5)));
/// assert_eq!(t.attempt_timeout(Duration::from_secs(25)), None); // the deadline passed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timeouts {
    per_attempt: Duration,
    deadline: Option<Duration>,
}

impl Default for Timeouts {
    /// [`DEFAULT_TIMEOUT`] per attempt, [`DEFAULT_DEADLINE`] per call.
    fn default() -> Self {
        Self {
            per_attempt: DEFAULT_TIMEOUT,
            deadline: Some(DEFAULT_DEADLINE),
        }
    }
}

impl Timeouts {
    /// The defaults: [`DEFAULT_TIMEOUT`] per attempt, [`DEFAULT_DEADLINE`] per call.
    pub fn new() -> Self {
        Self::default()
    }

    /// The timeout of one attempt.
    #[must_use]
    pub fn with_per_attempt(mut self, timeout: Duration) -> Self {
        self.per_attempt = timeout;
        self
    }

    /// The deadline of a whole call (`None`: no deadline; only the retry policy's attempt
    /// limit bounds the call).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The timeout of one attempt.
    pub fn per_attempt(&self) -> Duration {
        self.per_attempt
    }

    /// The deadline of a whole call, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// What is wrong with these settings, if anything: a zero per-attempt timeout or a
    /// zero deadline (no attempt could ever finish).
    pub fn problem(&self) -> Option<&'static str> {
        if self.per_attempt.is_zero() {
            Some("the per-attempt timeout must be positive")
        } else if self.deadline.is_some_and(|d| d.is_zero()) {
            Some("the deadline must be positive")
        } else {
            None
        }
    }

    /// The timeout of the next attempt of a call that started `elapsed` ago: the
    /// per-attempt timeout, cut to what is left of the deadline; `None` when the deadline
    /// has passed (make no attempt). Saturating: no `elapsed` overflows.
    pub fn attempt_timeout(&self, elapsed: Duration) -> Option<Duration> {
        match self.deadline {
            None => Some(self.per_attempt),
            Some(deadline) => {
                let left = deadline.checked_sub(elapsed).filter(|d| !d.is_zero())?;
                Some(self.per_attempt.min(left))
            }
        }
    }

    /// What is left of the deadline after `elapsed` (`None`: no deadline). Zero once it
    /// has passed.
    pub fn remaining(&self, elapsed: Duration) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_sub(elapsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let t = Timeouts::default();
        assert_eq!(t.per_attempt(), Duration::from_secs(60));
        assert_eq!(t.deadline(), Some(Duration::from_secs(300)));
        assert_eq!(t.problem(), None);
        assert_eq!(t, Timeouts::new());
    }

    #[test]
    fn the_attempt_timeout_is_cut_to_the_deadline() {
        let t = Timeouts::default()
            .with_per_attempt(Duration::from_secs(60))
            .with_deadline(Some(Duration::from_secs(90)));
        assert_eq!(
            t.attempt_timeout(Duration::ZERO),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            t.attempt_timeout(Duration::from_secs(45)),
            Some(Duration::from_secs(45))
        );
        assert_eq!(
            t.attempt_timeout(Duration::from_millis(89_999)),
            Some(Duration::from_millis(1))
        );
        assert_eq!(t.attempt_timeout(Duration::from_secs(90)), None);
        assert_eq!(t.attempt_timeout(Duration::from_secs(91)), None);
        assert_eq!(t.attempt_timeout(Duration::MAX), None);
    }

    #[test]
    fn without_a_deadline_every_attempt_gets_the_full_timeout() {
        let t = Timeouts::default().with_deadline(None);
        assert_eq!(t.attempt_timeout(Duration::MAX), Some(DEFAULT_TIMEOUT));
        assert_eq!(t.remaining(Duration::MAX), None);
    }

    #[test]
    fn remaining_saturates_at_zero() {
        let t = Timeouts::default().with_deadline(Some(Duration::from_secs(10)));
        assert_eq!(
            t.remaining(Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(t.remaining(Duration::MAX), Some(Duration::ZERO));
    }

    #[test]
    fn zero_settings_are_named() {
        let t = Timeouts::default().with_per_attempt(Duration::ZERO);
        assert!(t.problem().is_some_and(|p| p.contains("per-attempt")));
        let t = Timeouts::default().with_deadline(Some(Duration::ZERO));
        assert!(t.problem().is_some_and(|p| p.contains("deadline")));
        assert_eq!(Timeouts::default().with_deadline(None).problem(), None);
    }
}
