//! The crate's error type and its predicates.

use std::fmt;
use std::time::Duration;

use hr_docs_core::redact::{excerpt as core_excerpt, scrub as core_scrub, scrub_param};
use hr_docs_core::{BoxError, ServiceError};

use crate::model::SetId;

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The Beorg endpoint a request was made to (used in errors and tracing spans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /api/bescan/add_document`.
    Upload,
    /// `/api/document/ready`.
    Ready,
    /// `/api/document/result/{set}`.
    Result,
}

impl Endpoint {
    /// A short, stable name (`add_document`, `ready`, `result`).
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Upload => "add_document",
            Endpoint::Ready => "ready",
            Endpoint::Result => "result",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an HTTP error status from Beorg means, so callers never match on numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400: the request was malformed (missing field, bad base64, ...).
    BadRequest,
    /// 401: the token is wrong or revoked.
    Unauthorized,
    /// 402: probably the account balance is exhausted.
    PaymentRequired,
    /// 403: the token may not access this project.
    Forbidden,
    /// 404: unknown set, project (`CampaignNotFound`) or endpoint.
    NotFound,
    /// 409: the object already exists.
    Conflict,
    /// 425 outside of the result endpoint (where it means "still processing").
    TooEarly,
    /// 429: too many requests.
    RateLimited,
    /// Any 5xx.
    Server,
    /// Any other status.
    Other,
}

impl ApiErrorKind {
    /// Classifies an HTTP status code.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            402 => Self::PaymentRequired,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            425 => Self::TooEarly,
            429 => Self::RateLimited,
            500..=599 => Self::Server,
            _ => Self::Other,
        }
    }
}

/// Everything that can go wrong when talking to Beorg.
///
/// No variant's `Display` or `Debug` contains the API token: transport errors have
/// their URL removed (it carries `?token=…`), and body excerpts and server
/// messages are scrubbed of the token before they are stored. None contains a
/// recognized value either: a `result` body is never quoted, decoder messages keep the
/// kind of a bad value but not the value, and a broken set's reasons stay out of the
/// message.
///
/// Match on the predicates ([`is_retryable`](Error::is_retryable),
/// [`is_auth`](Error::is_auth), [`status`](Error::status),
/// [`api_kind`](Error::api_kind)) rather than on variants where you can: the enum
/// is `#[non_exhaustive]` and may grow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Beorg answered with an HTTP error status.
    #[error(
        "Beorg {endpoint} failed with HTTP {status}{}{}{}",
        fmt_opt(" ", error_type),
        fmt_opt(": ", message),
        fmt_wrap(" (existing questionary ", questionary_id, ")")
    )]
    Api {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The HTTP status code.
        status: u16,
        /// `errors.type` from the body, when present (e.g. `CampaignNotFound`).
        error_type: Option<String>,
        /// `errors.message` from the body when present, else a short excerpt of the body.
        message: Option<String>,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// With a 409 ("already exists"): the id of the existing object, from
        /// `error.data.questionary_id` (also read under `errors`), as text.
        questionary_id: Option<String>,
    },
    /// The request could not be sent or the response could not be read
    /// (connection refused, DNS, TLS, reset, ...).
    #[error("transport error calling Beorg {endpoint}")]
    Transport {
        /// The endpoint called.
        endpoint: Endpoint,
        /// Whether the connection was never established (the request never left).
        connect: bool,
        /// The HTTP stack's error, without its URL (the URL carries `?token=…`). Boxed:
        /// which HTTP crate the client uses is not part of its API.
        #[source]
        source: BoxError,
    },
    /// One attempt took longer than the per-attempt timeout.
    #[error("Beorg {endpoint} attempt timed out after {timeout:?}")]
    Timeout {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The per-attempt timeout in force.
        timeout: Duration,
    },
    /// The overall deadline of a call (all attempts and backoff) passed. The last
    /// attempt's error, if one failed before, is the [`source`](std::error::Error::source).
    #[error(
        "Beorg {endpoint} call exceeded its deadline of {deadline:?} after {attempts} attempt(s)"
    )]
    DeadlineExceeded {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The overall deadline in force.
        deadline: Duration,
        /// How many attempts were made.
        attempts: u32,
        /// The error of the last attempt, if one failed before the deadline.
        #[source]
        last_error: Option<Box<Error>>,
    },
    /// [`Client::wait_for_result`](crate::Client::wait_for_result) gave up: the set
    /// was still being processed when `max_wait` ran out.
    #[error("set {set_id} was still being processed after {waited:?}")]
    StillProcessing {
        /// The set waited for.
        set_id: SetId,
        /// How long the caller waited.
        waited: Duration,
    },
    /// [`Client::wait_for_result`](crate::Client::wait_for_result): the result's
    /// top level marks the whole set broken and no document is usable (see
    /// [`ResultStatus::Broken`](crate::ResultStatus::Broken)). Final.
    ///
    /// Its message does not quote Beorg's reasons: they are free text about the scans, and
    /// nothing public says they never quote a recognized value. Read them from `reasons`.
    #[error(
        "set {set_id} came back broken as a whole{}",
        if reasons.is_some() { " (Beorg gave reasons)" } else { "" }
    )]
    SetBroken {
        /// The set.
        set_id: SetId,
        /// Beorg's top-level reasons (diagnostics about the scans), joined. Not in the
        /// message: may quote what was recognized.
        reasons: Option<String>,
    },
    /// [`Client::wait_for_result`](crate::Client::wait_for_result): the result
    /// holds no documents (see
    /// [`ResultStatus::NoDocuments`](crate::ResultStatus::NoDocuments)). Final.
    #[error("set {set_id} came back without documents")]
    NoDocuments {
        /// The set.
        set_id: SetId,
    },
    /// A response body could not be decoded into the expected shape (malformed
    /// JSON, HTML error page, truncated body, wrong type, missing field).
    ///
    /// It names where (the JSON path) and what (the expected and the actual kind of
    /// value), never a value: a result holds recognized passports and SNILS.
    #[error(
        "could not decode the Beorg {endpoint} response (HTTP {status}) at `{path}`{}",
        fmt_excerpt(excerpt)
    )]
    Decode {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The HTTP status of the response.
        status: u16,
        /// The JSON path where decoding failed (`.` for the root).
        path: String,
        /// The start of the body (token removed) when it is quotable: a page that is not
        /// JSON (a proxy's HTML) — for `result`, only a markup page (starting with `<`).
        /// Empty otherwise: a JSON body, and a `result` body that may be recognized
        /// personal data, are never quoted.
        excerpt: String,
        /// The JSON error (line, column, category). Its message says what kind of value
        /// was found and what was expected, without the value itself (`invalid type:
        /// string, expected a map`).
        #[source]
        source: serde_json::Error,
    },
    /// Beorg answered with a redirect (or the answer came from another origin than the
    /// one asked, because the `reqwest::Client` given to
    /// [`ClientBuilder::http_client`](crate::ClientBuilder::http_client) followed one).
    /// Redirects are never followed: the token travels in the URL or the body and would go
    /// with them. Not retried.
    #[error(
        "Beorg {endpoint} {}; redirects are not followed (the token would go with them)",
        fmt_redirect(*status, host, *followed)
    )]
    Redirect {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The HTTP status of the answer (a 3xx; with `followed`, the final answer's).
        status: u16,
        /// The target's `host[:port]` (never its path or query), when known.
        host: Option<String>,
        /// Whether the HTTP client had already followed the redirect (a caller's
        /// `http_client` built without `redirect::Policy::none()`).
        followed: bool,
    },
    /// The answer was larger than [`ClientBuilder::max_body_bytes`](crate::ClientBuilder::max_body_bytes);
    /// it was not read further. Not retried.
    #[error("the Beorg {endpoint} answer is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The limit in force, in bytes.
        limit: u64,
    },
    /// The caller passed something unusable (no images, mismatched `process_info`, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client configuration is unusable (missing token, bad URL, ...).
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn fmt_excerpt(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!("; body starts with {excerpt:?}")
    }
}

fn fmt_redirect(status: u16, host: &Option<String>, followed: bool) -> String {
    let host = host.as_deref().unwrap_or("an unnamed host");
    if followed {
        format!("answer (HTTP {status}) came from {host} after the HTTP client followed a redirect")
    } else {
        format!("answered HTTP {status}, a redirect to {host}")
    }
}

fn fmt_opt<'a>(prefix: &'a str, value: &'a Option<String>) -> OptDisplay<'a> {
    OptDisplay(prefix, value.as_deref(), "")
}

struct OptDisplay<'a>(&'a str, Option<&'a str>, &'a str);

/// `prefix`, the value and `suffix` when there is a non-empty value; nothing otherwise.
fn fmt_wrap<'a>(prefix: &'a str, value: &'a Option<String>, suffix: &'a str) -> OptDisplay<'a> {
    OptDisplay(prefix, value.as_deref(), suffix)
}

impl fmt::Display for OptDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(v) if !v.is_empty() => write!(f, "{}{}{}", self.0, v, self.2),
            _ => Ok(()),
        }
    }
}

impl Error {
    /// The HTTP error status of the answer the failure came in: the status of an
    /// [`Error::Api`], of an [`Error::Decode`] of a non-2xx answer, or of the last attempt's
    /// error of an [`Error::DeadlineExceeded`]. `None` otherwise (no answer came, or the
    /// failure was in a 2xx answer). See [`ServiceError::status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Decode { status, .. } | Error::Redirect { status, .. }
                if !(200..300).contains(status) =>
            {
                Some(*status)
            }
            Error::DeadlineExceeded {
                last_error: Some(e),
                ..
            } => e.status(),
            _ => None,
        }
    }

    /// What the HTTP status of an API error means.
    pub fn api_kind(&self) -> Option<ApiErrorKind> {
        self.status().map(ApiErrorKind::from_status)
    }

    /// Whether the same call, made again later, may succeed: connection problems,
    /// timeouts, an exceeded deadline, 408/429/500/502/503/504, and answers damaged on
    /// the way (a body cut off, or not JSON at all). See [`ServiceError::is_retryable`].
    ///
    /// The client already retried such errors according to its
    /// [`RetryPolicy`](crate::RetryPolicy) before returning them.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } | Error::DeadlineExceeded { .. } => {
                true
            }
            Error::Api { status, .. } => hr_docs_core::is_retryable_status(*status),
            Error::Decode { source, .. } => crate::retry::is_damaged(source),
            _ => false,
        }
    }

    /// Whether the token was rejected (HTTP 401 or 403).
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// Whether this is an HTTP 404 (unknown set or project).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether this is an HTTP 409 (already exists).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Whether this is an HTTP 402 (probably the balance is exhausted).
    pub fn is_payment_required(&self) -> bool {
        self.status() == Some(402)
    }

    /// Whether this is an HTTP 400 (malformed request).
    pub fn is_bad_request(&self) -> bool {
        self.status() == Some(400)
    }

    /// Whether an attempt or the overall deadline timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::DeadlineExceeded { .. })
    }

    /// Whether the call's overall deadline passed ([`Error::DeadlineExceeded`]).
    pub fn is_deadline(&self) -> bool {
        matches!(self, Error::DeadlineExceeded { .. })
    }

    /// Whether [`Client::wait_for_result`](crate::Client::wait_for_result) gave up
    /// while the set was still being processed.
    pub fn is_processing(&self) -> bool {
        matches!(self, Error::StillProcessing { .. })
    }

    /// Whether a response body could not be decoded.
    pub fn is_decode(&self) -> bool {
        matches!(self, Error::Decode { .. })
    }

    /// Whether a set's result came back final but unusable: broken as a whole
    /// ([`Error::SetBroken`]) or without documents ([`Error::NoDocuments`]).
    pub fn is_unusable_result(&self) -> bool {
        matches!(self, Error::SetBroken { .. } | Error::NoDocuments { .. })
    }

    /// With a 409 ("already exists"): the id of the existing object
    /// (`error.data.questionary_id`), when the body carried one.
    pub fn questionary_id(&self) -> Option<&str> {
        match self {
            Error::Api { questionary_id, .. } => questionary_id.as_deref(),
            Error::DeadlineExceeded {
                last_error: Some(e),
                ..
            } => e.questionary_id(),
            _ => None,
        }
    }
}

impl ServiceError for Error {
    fn is_retryable(&self) -> bool {
        Error::is_retryable(self)
    }

    fn is_auth(&self) -> bool {
        Error::is_auth(self)
    }

    fn is_timeout(&self) -> bool {
        Error::is_timeout(self)
    }

    fn is_deadline(&self) -> bool {
        Error::is_deadline(self)
    }

    fn status(&self) -> Option<u16> {
        Error::status(self)
    }
}

/// Replaces every occurrence of `token` and every `token=…` query value in `text`.
pub(crate) fn scrub(text: &str, token: &str) -> String {
    scrub_param(&core_scrub(text, &[token]), "token")
}

/// A short, single-line, token-free excerpt of a response body.
///
/// Scrubbed before it is cut, so a token straddling the cut cannot leave its first
/// characters behind. Only the body's start is looked at (the excerpt shows far less).
pub(crate) fn excerpt(body: &[u8], token: &str) -> String {
    const LOOK_AT: usize = 16 * 1024;
    let head = String::from_utf8_lossy(&body[..body.len().min(LOOK_AT)]);
    let mut short = core_excerpt(scrub(&head, token).as_bytes());
    if body.len() > LOOK_AT && !short.ends_with('…') {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_token_and_query_values() {
        let s = scrub("GET /x?token=abc123&y=1 and abc123 again", "abc123");
        assert!(!s.contains("abc123"), "{s}");
        assert_eq!(s, "GET /x?token=[REDACTED]&y=1 and [REDACTED] again");
        let s = scrub("url http://h/r?token=other", "zzz");
        assert_eq!(s, "url http://h/r?token=[REDACTED]");
    }

    #[test]
    fn excerpt_is_short_and_single_line() {
        let body = format!("<html>\n  <body>{}</body></html>", "x".repeat(1000));
        let e = excerpt(body.as_bytes(), "tok");
        assert!(e.starts_with("<html> <body>xxx"));
        assert!(e.chars().count() <= 201);
        assert!(e.ends_with('…'));
    }

    #[test]
    fn excerpt_never_keeps_the_start_of_a_token_it_cuts() {
        let token = "0123456789abcdef";
        // The token starts 10 characters before the excerpt's cut.
        let body = format!("{}{token} and more", "x".repeat(190));
        let e = excerpt(body.as_bytes(), token);
        assert!(!e.contains("0123"), "{e}");
        assert!(e.contains(hr_docs_core::REDACTED), "{e}");
    }

    #[test]
    fn kinds_from_status() {
        assert_eq!(
            ApiErrorKind::from_status(402),
            ApiErrorKind::PaymentRequired
        );
        assert_eq!(ApiErrorKind::from_status(503), ApiErrorKind::Server);
        assert_eq!(ApiErrorKind::from_status(418), ApiErrorKind::Other);
    }
}
