//! Fault injection: server errors, malformed bodies, slow answers, business errors, session
//! expiry, lost answers and not-yet-ready files, drawn from a seeded generator.

use std::time::Duration;

/// Faults a [`Sandbox`](crate::Sandbox) injects. `Faults::default()` injects none.
///
/// Every share is a probability in 0.0–1.0 drawn per request from a generator seeded with
/// [`Faults::seed`], so a sequential run repeats exactly. A request answered with an injected
/// fault has **not** been applied: faults are decided before any state change — except
/// [`Faults::answer_lost`], which applies the call and then loses its answer, to test
/// idempotent retries.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    pub(crate) seed: u64,
    pub(crate) server_errors: f64,
    pub(crate) malformed: f64,
    pub(crate) business_errors: f64,
    pub(crate) slow: f64,
    pub(crate) slow_delay: Duration,
    pub(crate) expire_sessions_every: Option<u64>,
    pub(crate) answer_lost: f64,
    pub(crate) file_not_ready: f64,
    pub(crate) echoing_errors: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            seed: 42,
            server_errors: 0.0,
            malformed: 0.0,
            business_errors: 0.0,
            slow: 0.0,
            slow_delay: Duration::ZERO,
            expire_sessions_every: None,
            answer_lost: 0.0,
            file_not_ready: 0.0,
            echoing_errors: 0.0,
        }
    }
}

fn share(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    }
}

impl Faults {
    /// No faults (the same as `Faults::default()`).
    pub fn none() -> Self {
        Self::default()
    }

    /// Seed of the fault generator (default 42). Setting faults resets the generator.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Share of requests answered with HTTP 502 (an HTML gateway page) or 503 (a JSON-RPC
    /// "service unavailable" error), half each.
    pub fn server_errors(mut self, share_of_requests: f64) -> Self {
        self.server_errors = share(share_of_requests);
        self
    }

    /// Share of requests answered with HTTP 200 and a broken body: half truncated JSON, half an
    /// HTML page.
    pub fn malformed(mut self, share_of_requests: f64) -> Self {
        self.malformed = share(share_of_requests);
        self
    }

    /// Share of JSON-RPC calls on `/service/` answered with HTTP 500 and a JSON-RPC business
    /// error (`code -32000`), as the real service does for business errors.
    pub fn business_errors(mut self, share_of_calls: f64) -> Self {
        self.business_errors = share(share_of_calls);
        self
    }

    /// Share of requests whose answer is delayed by `delay` (on top of the fixed latency).
    pub fn slow(mut self, share_of_requests: f64, delay: Duration) -> Self {
        self.slow = share(share_of_requests);
        self.slow_delay = delay;
        self
    }

    /// Every `calls`-th authenticated call invalidates all sessions first, so that call (and
    /// every concurrent one) gets HTTP 401 until the client logs in again. `0` disables.
    pub fn expire_sessions_every(mut self, calls: u64) -> Self {
        self.expire_sessions_every = (calls > 0).then_some(calls);
        self
    }

    /// Share of JSON-RPC calls on `/service/` that are **applied** and then answered with
    /// HTTP 504 (an HTML gateway-timeout page), as when a proxy drops the answer. A retry then
    /// meets the already-changed state: this is the knob to test idempotency.
    pub fn answer_lost(mut self, share_of_calls: f64) -> Self {
        self.answer_lost = share(share_of_calls);
        self
    }

    /// Share of file downloads refused with the "file not ready yet" error
    /// (`error.data.classid = "{00000000-0000-0000-0000-1aa0000f1002}"`, HTTP 500); the
    /// client is expected to retry after about a second.
    pub fn file_not_ready(mut self, share_of_downloads: f64) -> Self {
        self.file_not_ready = share(share_of_downloads);
        self
    }

    /// Share of JSON-RPC calls on `/service/` answered with HTTP 500 and a JSON-RPC business
    /// error whose message **quotes the document the call names**: its title (`Название`)
    /// and the file name (`Файл.Имя`) of its first attachment, from the call's own `Документ`
    /// or from the stored document of that `Идентификатор` — as a service's validation
    /// message may quote what it refuses. A call that names no document gets the message
    /// without the quotes. Like every fault but a lost answer, not applied.
    pub fn echoing_errors(mut self, share_of_calls: f64) -> Self {
        self.echoing_errors = share(share_of_calls);
        self
    }

    /// `true` when no fault is configured.
    pub fn is_none(&self) -> bool {
        self.server_errors == 0.0
            && self.malformed == 0.0
            && self.business_errors == 0.0
            && self.slow == 0.0
            && self.expire_sessions_every.is_none()
            && self.answer_lost == 0.0
            && self.file_not_ready == 0.0
            && self.echoing_errors == 0.0
    }
}

/// Where a request goes, for deciding which faults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A JSON-RPC call on `/service/`.
    Service,
    /// Login endpoints (`/auth/service/`, `/oauth/service/`).
    Auth,
    /// A GET download.
    Download,
}

/// The fault drawn for one request, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    BadGateway,
    Unavailable,
    TruncatedJson,
    HtmlPage,
    BusinessError,
    FileNotReady,
    EchoingError,
}

/// What the fault generator decided for one request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Decision {
    pub(crate) fault: Option<Injected>,
    pub(crate) extra_delay: Option<Duration>,
    pub(crate) lose_answer: bool,
}

impl Faults {
    /// Draws the faults for one request. One generator call per configured fault kind, in a
    /// fixed order, so a seeded sequential run repeats exactly.
    pub(crate) fn decide(&self, rng: &mut fastrand::Rng, target: Target) -> Decision {
        let mut decision = Decision::default();
        if self.slow > 0.0 && rng.f64() < self.slow {
            decision.extra_delay = Some(self.slow_delay);
        }
        if self.server_errors > 0.0 && rng.f64() < self.server_errors {
            decision.fault = Some(if rng.bool() {
                Injected::BadGateway
            } else {
                Injected::Unavailable
            });
            return decision;
        }
        if self.malformed > 0.0 && rng.f64() < self.malformed {
            decision.fault = Some(if rng.bool() {
                Injected::TruncatedJson
            } else {
                Injected::HtmlPage
            });
            return decision;
        }
        match target {
            Target::Service => {
                if self.business_errors > 0.0 && rng.f64() < self.business_errors {
                    decision.fault = Some(Injected::BusinessError);
                    return decision;
                }
                if self.echoing_errors > 0.0 && rng.f64() < self.echoing_errors {
                    decision.fault = Some(Injected::EchoingError);
                    return decision;
                }
                if self.answer_lost > 0.0 && rng.f64() < self.answer_lost {
                    decision.lose_answer = true;
                }
            }
            Target::Download => {
                if self.file_not_ready > 0.0 && rng.f64() < self.file_not_ready {
                    decision.fault = Some(Injected::FileNotReady);
                }
            }
            Target::Auth => {}
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_faults_never_inject() {
        let faults = Faults::none();
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..1000 {
            let d = faults.decide(&mut rng, Target::Service);
            assert!(d.fault.is_none() && d.extra_delay.is_none() && !d.lose_answer);
        }
        assert!(faults.is_none());
    }

    #[test]
    fn shares_are_respected_roughly_and_seeded() {
        let faults = Faults::none().server_errors(0.3).seed(7);
        let count = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (0..10_000)
                .filter(|_| faults.decide(&mut rng, Target::Service).fault.is_some())
                .count()
        };
        let n = count(7);
        assert!((2_700..3_300).contains(&n), "{n}");
        assert_eq!(n, count(7));
    }

    #[test]
    fn business_errors_only_on_service_calls() {
        let faults = Faults::none().business_errors(1.0);
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(
            faults.decide(&mut rng, Target::Service).fault,
            Some(Injected::BusinessError)
        );
        assert_eq!(faults.decide(&mut rng, Target::Auth).fault, None);
        assert_eq!(faults.decide(&mut rng, Target::Download).fault, None);
    }

    #[test]
    fn shares_are_clamped() {
        let f = Faults::none()
            .malformed(7.0)
            .slow(f64::NAN, Duration::from_millis(1));
        assert_eq!(f.malformed, 1.0);
        assert_eq!(f.slow, 0.0);
        assert_eq!(
            Faults::none()
                .expire_sessions_every(0)
                .expire_sessions_every,
            None
        );
    }
}
