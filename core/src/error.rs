//! The predicates every client error answers.

/// A boxed error, as error sources that are not part of the public contract are kept
/// (for example the HTTP crate's own error behind a transport failure).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What every client error can tell about itself, with one meaning in every client.
///
/// `beorg_client::Error` and `saby_client::Error` implement it, so code above the clients
/// (a pipeline, a job runner) classifies either one without matching its variants:
///
/// ```
/// use hr_docs_core::ServiceError;
///
/// fn should_try_later(e: &dyn ServiceError) -> bool {
///     e.is_retryable() && !e.is_auth()
/// }
/// # struct Gone;
/// # impl std::fmt::Debug for Gone { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("Gone") } }
/// # impl std::fmt::Display for Gone { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("HTTP 404") } }
/// # impl std::error::Error for Gone {}
/// # impl ServiceError for Gone {
/// #     fn is_retryable(&self) -> bool { false }
/// #     fn is_auth(&self) -> bool { false }
/// #     fn is_timeout(&self) -> bool { false }
/// #     fn is_deadline(&self) -> bool { false }
/// #     fn status(&self) -> Option<u16> { Some(404) }
/// # }
/// assert!(!should_try_later(&Gone));
/// ```
///
/// The meanings:
///
/// | predicate | true for |
/// |---|---|
/// | [`is_retryable`](Self::is_retryable) | a failure that the same call, made again later, may not hit: the connection failed, an attempt timed out, the call's deadline passed, the server was overloaded or down (408, 429, 500, 502, 503, 504 without a business error), the answer was damaged on the way (cut off, not JSON at all). The client has already retried it as its [`RetryPolicy`](crate::RetryPolicy) allows. |
/// | [`is_auth`](Self::is_auth) | the service refused the credentials or the session (HTTP 401/403, a refused login, an expired session that could not be renewed, a locked PIN, a login that needs a confirmation code). |
/// | [`is_timeout`](Self::is_timeout) | an attempt timed out, or the call's overall deadline passed. |
/// | [`is_deadline`](Self::is_deadline) | the call's overall deadline passed (all attempts and waits). |
/// | [`status`](Self::status) | the HTTP status of the answer the failure came in, when it was an HTTP error status (not 2xx). `None` when no answer came, when the failure came inside a successful answer (a JSON-RPC error or an undecodable body in an HTTP 200), and for errors not about an answer. Never made up: a refused login answered with HTTP 200 has no status. A deadline error reports the status of its last attempt's error. |
pub trait ServiceError: std::error::Error + Send + Sync + 'static {
    /// Whether the same call, made again later, may succeed (see the table above).
    fn is_retryable(&self) -> bool;

    /// Whether the service refused the credentials or the session.
    fn is_auth(&self) -> bool;

    /// Whether an attempt timed out or the call's deadline passed.
    fn is_timeout(&self) -> bool;

    /// Whether the call's overall deadline passed.
    fn is_deadline(&self) -> bool;

    /// The HTTP error status of the answer the failure came in, if there was one.
    fn status(&self) -> Option<u16>;
}
