//! The client: one shared session, the call loop (session renewal, retries, deadline,
//! in-flight limit) and downloads.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hr_docs_core::net::{BodyBuffer, MAX_REDIRECTS, plain_http_refusal};
use hr_docs_core::{REDACTED, Secret, Timeouts};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;
use tracing::{Instrument, field};
use url::Url;

use crate::config::{ClientBuilder, Config, Credentials};
use crate::error::{Error, Result, RpcError, excerpt};
use crate::fs::blocking::BlockingFiles;
use crate::retry::{
    AttemptState, Idempotency, RetryDecision, StopReason, failure_of, is_read_only,
};
use crate::transport::{
    self, ACCESS_TOKEN_HEADER, Endpoint, LOGIN_METHODS, SESSION_ANSWER_METHODS, SESSION_HEADER,
    decode, encode_request, join, parse_rpc_response, status_error,
};

/// A Saby API client.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`. All clones share one session: the first
/// call logs in; when the session expires (HTTP 401 or a session error) exactly one call logs
/// in again — the others wait for it — and every affected call is replayed once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    credentials: Credentials,
    http: reqwest::Client,
    session: Mutex<SessionState>,
    permits: Semaphore,
    /// Bounds this client's blocking file work (see [`BlockingFiles`]).
    files: BlockingFiles,
    next_id: AtomicU64,
}

/// The authentication header of the current session.
#[derive(Clone)]
pub(crate) enum AuthToken {
    /// `X-SBISSessionID`.
    Session(Secret),
    /// `X-SBISAccessToken`.
    Access(Secret),
}

impl AuthToken {
    /// The secret text, to scrub from anything an error quotes.
    pub(crate) fn secret_text(&self) -> &str {
        match self {
            Self::Session(s) | Self::Access(s) => s.expose(),
        }
    }

    fn header(&self) -> Result<(&'static str, HeaderValue)> {
        let (name, secret) = match self {
            Self::Session(s) => (SESSION_HEADER, s),
            Self::Access(s) => (ACCESS_TOKEN_HEADER, s),
        };
        let mut value = HeaderValue::from_str(secret.expose()).map_err(|_| {
            Error::InvalidInput("the session id/token is not a valid header value".to_owned())
        })?;
        value.set_sensitive(true);
        Ok((name, value))
    }
}

struct SessionState {
    token: Option<AuthToken>,
    generation: u64,
}

/// What one attempt of a call gets: the session's auth header (when the call needs one) and
/// the time it has (the per-attempt timeout, cut to what is left of the deadline), which
/// covers its wait for an in-flight slot and the whole exchange.
#[derive(Clone)]
pub(crate) struct Attempt {
    pub(crate) auth: Option<AuthToken>,
    /// The attempt's whole budget, reported by [`Error::Timeout`].
    pub(crate) timeout: Duration,
    ends_at: Instant,
}

impl Attempt {
    fn new(auth: Option<AuthToken>, timeout: Duration) -> Self {
        let now = Instant::now();
        // A timeout too long for the clock (`Duration::MAX` without a deadline): far away.
        let far = Duration::from_secs(30 * 365 * 24 * 3600);
        let ends_at = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + timeout.min(far));
        Self {
            auth,
            timeout,
            ends_at,
        }
    }

    /// What is left of the attempt's time (zero once it is over).
    pub(crate) fn left(&self) -> Duration {
        self.ends_at.saturating_duration_since(Instant::now())
    }

    /// The error of this attempt running out of time.
    pub(crate) fn timed_out(&self) -> Error {
        Error::Timeout {
            timeout: self.timeout,
        }
    }
}

/// The clock of one call: when it started, its timeouts, and how many attempts it made (a
/// download asked again while its file is "not ready" is one call).
pub(crate) struct CallClock {
    started: Instant,
    timeouts: Timeouts,
    attempts: u32,
}

impl CallClock {
    pub(crate) fn start(timeouts: Timeouts) -> Self {
        Self {
            started: Instant::now(),
            timeouts,
            attempts: 0,
        }
    }

    /// The error of a call whose deadline passed, with the last attempt's error as source.
    fn deadline_error(&self, deadline: Duration, last_error: Option<Error>) -> Error {
        Error::DeadlineExceeded {
            deadline,
            attempts: self.attempts,
            last_error: last_error.map(Box::new),
        }
    }
}

/// Runs `fut` within what is left of the call's deadline; `Err(deadline)` when it passes
/// first.
async fn within<T>(
    timeouts: &Timeouts,
    started: Instant,
    fut: impl Future<Output = T>,
) -> std::result::Result<T, Duration> {
    match (timeouts.remaining(started.elapsed()), timeouts.deadline()) {
        (Some(left), Some(deadline)) => tokio::time::timeout(left, fut).await.map_err(|_| deadline),
        _ => Ok(fut.await),
    }
}

/// Options of one [`Client::call_with`] call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// The top-level `protocol` (method version).
    pub protocol: Option<i64>,
    /// Whether the call may be repeated after it may have reached the server. `None`:
    /// read-only methods (`Прочитать…`, `Список…`, `Информация…`) are, others are not.
    pub idempotent: Option<bool>,
    /// Force an endpoint (default: `/auth/service/` for login methods, else `/service/?srv=1`).
    pub endpoint: Option<Endpoint>,
    /// Override the client's overall deadline for this call (`None`: the client's).
    pub deadline: Option<Duration>,
    /// Whether the answer carries a secret (a session id, a token): then no part of it is
    /// ever quoted in an error or a log line. Always so for the methods that return a
    /// session (the login methods, `СБИС.ПереключитьАккаунт`); set it for another method
    /// that does.
    pub secret_answer: bool,
}

impl CallOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `protocol`.
    pub fn protocol(mut self, protocol: i64) -> Self {
        self.protocol = Some(protocol);
        self
    }
    /// Marks the call as safe (or unsafe) to repeat.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }
    /// Forces the endpoint.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }
    /// Overrides the deadline.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
    /// Marks the answer as carrying a secret (see [`CallOptions::secret_answer`]).
    pub fn secret_answer(mut self, secret: bool) -> Self {
        self.secret_answer = secret;
        self
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.config.base_url.as_str())
            .field("credentials", &self.inner.credentials)
            .field("session", &REDACTED)
            .field("max_in_flight", &self.inner.config.max_in_flight)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`] for every option.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `SABY_BASE_URL` (optional), then either
    /// `SABY_APP_CLIENT_ID` + `SABY_APP_SECRET` + `SABY_SECRET_KEY` (service application) or
    /// `SABY_LOGIN` + `SABY_PASSWORD` (+ optional `SABY_ACCOUNT`).
    ///
    /// Fails with [`Error::Config`] naming what is missing. To change other settings, start
    /// from [`ClientBuilder::from_env`] instead.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env().build()
    }

    pub(crate) fn from_parts(
        config: Config,
        credentials: Credentials,
        http: reqwest::Client,
    ) -> Self {
        let permits = Semaphore::new(config.max_in_flight);
        let files = BlockingFiles::new(config.max_blocking_file_tasks);
        Self {
            inner: Arc::new(Inner {
                config,
                credentials,
                http,
                session: Mutex::new(SessionState {
                    token: None,
                    generation: 0,
                }),
                permits,
                files,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.config.base_url
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The bound of this client's blocking file work, shared by its clones.
    pub(crate) fn files(&self) -> &BlockingFiles {
        &self.inner.files
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Where a feed without a start begins: the configured fixed start, or now (Moscow time,
    /// as Saby writes times) minus the configured window.
    pub(crate) fn event_history_start(&self) -> crate::model::SabyDateTime {
        match &self.inner.config.event_history {
            crate::config::EventHistory::From(at) => at.clone(),
            crate::config::EventHistory::Window(window) => {
                let moscow = time::UtcOffset::from_hms(3, 0, 0).unwrap_or(time::UtcOffset::UTC);
                let now = time::OffsetDateTime::now_utc().to_offset(moscow);
                let start = time::Duration::try_from(*window)
                    .ok()
                    .and_then(|w| now.checked_sub(w))
                    .unwrap_or(now);
                time::PrimitiveDateTime::new(start.date(), start.time()).into()
            }
        }
    }

    /// Calls any method: `params` become `"params"`, `"result"` is decoded into `R`.
    /// Use it for methods this crate does not wrap.
    ///
    /// ```no_run
    /// # async fn f(client: saby_client::Client) -> saby_client::Result<()> {
    /// let info: serde_json::Value = client
    ///     .call("СБИС.ИнформацияОВерсии", &serde_json::json!({}))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn call<P, R>(&self, method: &str, params: &P) -> Result<R>
    where
        P: Serialize + Sync + ?Sized,
        R: DeserializeOwned,
    {
        self.call_with(method, params, CallOptions::default()).await
    }

    /// [`Client::call`] with options (`protocol`, idempotency, endpoint, deadline).
    pub async fn call_with<P, R>(&self, method: &str, params: &P, options: CallOptions) -> Result<R>
    where
        P: Serialize + Sync + ?Sized,
        R: DeserializeOwned,
    {
        let raw = self.call_raw(method, params, &options).await?;
        decode(
            method,
            200,
            "result",
            raw.get(),
            options.secret_answer || SESSION_ANSWER_METHODS.contains(&method),
        )
    }

    /// Runs one JSON-RPC call and returns its raw `result`.
    pub(crate) async fn call_raw<P>(
        &self,
        method: &str,
        params: &P,
        options: &CallOptions,
    ) -> Result<Box<RawValue>>
    where
        P: Serialize + Sync + ?Sized,
    {
        self.call_raw_as(method, params, options, None).await
    }

    /// Like `call_raw`, with an explicit auth header (`Some`) instead of the shared session.
    pub(crate) async fn call_raw_as<P>(
        &self,
        method: &str,
        params: &P,
        options: &CallOptions,
        auth_override: Option<AuthToken>,
    ) -> Result<Box<RawValue>>
    where
        P: Serialize + Sync + ?Sized,
    {
        let endpoint = options
            .endpoint
            .unwrap_or_else(|| Endpoint::for_method(method));
        let is_login = LOGIN_METHODS.contains(&method);
        let secret_answer = options.secret_answer || SESSION_ANSWER_METHODS.contains(&method);
        let needs_session = !is_login && auth_override.is_none();
        let idempotency = match options.idempotent {
            Some(true) => Idempotency::Idempotent,
            Some(false) => Idempotency::NonIdempotent,
            None if is_read_only(method) || is_login => Idempotency::Idempotent,
            None => Idempotency::NonIdempotent,
        };
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let body = encode_request(method, params, options.protocol, id)?;
        let url = join(&self.inner.config.base_url, endpoint.as_str())?;
        let timeouts = match options.deadline {
            Some(d) => self.inner.config.timeouts.with_deadline(Some(d)),
            None => self.inner.config.timeouts,
        };
        let span = tracing::info_span!(
            "saby.call",
            method,
            endpoint = endpoint.as_str(),
            attempt = field::Empty,
            status = field::Empty,
        );
        let (url, body, auth_override) = (&url, &body, &auth_override);
        let mut clock = CallClock::start(timeouts);
        self.run(&mut clock, needs_session, idempotency, move |attempt| {
            let auth = attempt.auth.or_else(|| auth_override.clone());
            let attempt = Attempt { auth, ..attempt };
            self.rpc_attempt(method, url, body.clone(), id, attempt, secret_answer)
        })
        .instrument(span)
        .await
    }

    /// Calls a method whose `result` is a `Документ` (bare or wrapped in `{"Документ": …}`).
    pub(crate) async fn call_document<P, R>(
        &self,
        method: &str,
        params: &P,
        idempotent: bool,
    ) -> Result<R>
    where
        P: Serialize + Sync + ?Sized,
        R: DeserializeOwned,
    {
        let raw = self
            .call_raw(method, params, &CallOptions::new().idempotent(idempotent))
            .await?;
        transport::decode_document(method, &raw)
    }

    async fn rpc_attempt(
        &self,
        method: &str,
        url: &Url,
        body: Bytes,
        id: u64,
        attempt: Attempt,
        secret_answer: bool,
    ) -> Result<Box<RawValue>> {
        let mut req = self
            .inner
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, transport::CONTENT_TYPE)
            .body(body);
        if let Some(auth) = &attempt.auth {
            let (name, value) = auth.header()?;
            req = req.header(name, value);
        }
        let (status, headers, bytes) = self.send_http(req, url, &attempt).await?;
        let session = attempt.auth.as_ref().map(AuthToken::secret_text);
        parse_rpc_response(
            method,
            id,
            status,
            &headers,
            &bytes,
            secret_answer,
            session.as_slice(),
        )
    }

    /// Waits for an in-flight slot within the attempt's time.
    async fn permit(&self, attempt: &Attempt) -> Result<tokio::sync::SemaphorePermit<'_>> {
        match tokio::time::timeout_at(attempt.ends_at, self.inner.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(Error::Config(
                "the client's request limiter was closed".to_owned(),
            )),
            Err(_) => Err(attempt.timed_out()),
        }
    }

    /// Sends one request under the in-flight limit and reads the whole body, within the
    /// attempt's time: the wait for a slot, then the exchange with what is left (set as the
    /// request's timeout, so a timed-out exchange ends inside the attempt, as an error).
    ///
    /// A redirect is refused ([`Error::Redirect`]; `url` is where the request went, to catch
    /// a caller's HTTP client that followed one), and the body is read chunk by chunk up to
    /// [`ClientBuilder::max_body_bytes`] ([`Error::BodyTooLarge`]).
    pub(crate) async fn send_http(
        &self,
        req: reqwest::RequestBuilder,
        url: &Url,
        attempt: &Attempt,
    ) -> Result<(u16, reqwest::header::HeaderMap, Bytes)> {
        let timeout = attempt.timeout;
        let _permit = self.permit(attempt).await?;
        let mut resp = req
            .timeout(attempt.left())
            .send()
            .await
            .map_err(|e| Error::transport(e, timeout))?;
        let status = resp.status().as_u16();
        record_on_call_span("status", u64::from(status));
        if is_redirect(status) {
            return Err(Error::Redirect {
                status,
                host: redirect_target(&resp, url).as_ref().and_then(authority),
                followed: false,
            });
        }
        refuse_if_fetched_elsewhere(&resp, url, status)?;
        let headers = resp.headers().clone();
        let limit = self.inner.config.max_body_bytes;
        let bytes = read_capped(&mut resp, Some(limit), timeout).await?;
        tracing::debug!(status, bytes = bytes.len(), "saby answer");
        Ok((status, headers, bytes))
    }

    /// The call loop: session, attempt, session renewal (once), retry decision, backoff,
    /// overall deadline.
    ///
    /// Each attempt (its wait for an in-flight slot included) gets the per-attempt timeout
    /// cut to what is left of the deadline, and so does a login; the wait between attempts
    /// never reaches the deadline (the policy stops first). When the deadline passes, the
    /// call fails with [`Error::DeadlineExceeded`] carrying the last attempt's error. `clock`
    /// may be shared by several runs of one call (a download asked again while its file is
    /// not ready).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        clock: &mut CallClock,
        needs_session: bool,
        idempotency: Idempotency,
        mut attempt_fn: F,
    ) -> Result<T>
    where
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let policy = &self.inner.config.retry;
        let timeouts = clock.timeouts;
        let deadline = timeouts.deadline();
        let started = clock.started;
        let mut last_error: Option<Error> = None;
        let mut renewed = false;
        loop {
            let (auth, generation) = if needs_session {
                match within(&timeouts, started, self.session()).await {
                    Ok(session) => {
                        let (token, generation) = session?;
                        (Some(token), generation)
                    }
                    Err(deadline) => return Err(clock.deadline_error(deadline, last_error)),
                }
            } else {
                (None, 0)
            };
            let timeout = match (timeouts.attempt_timeout(started.elapsed()), deadline) {
                (Some(timeout), _) => timeout,
                (None, Some(deadline)) => return Err(clock.deadline_error(deadline, last_error)),
                // Without a deadline every attempt gets the full timeout.
                (None, None) => timeouts.per_attempt(),
            };
            clock.attempts += 1;
            record_on_call_span("attempt", u64::from(clock.attempts));
            // The attempt enforces its own time (see `send_http`): it is not cut off from
            // outside, so a download can stop its file writes cleanly before a retry.
            let outcome = attempt_fn(Attempt::new(auth, timeout)).await;
            let err = match outcome {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if needs_session && is_session_expiry(&err) {
                if renewed {
                    tracing::warn!("session still rejected after logging in again");
                    return Err(still_expired(err));
                }
                tracing::info!("session expired; renewing");
                renewed = true;
                let refusal = err.status();
                match within(&timeouts, started, self.renew(generation, refusal)).await {
                    Ok(renewal) => renewal?,
                    Err(deadline) => return Err(clock.deadline_error(deadline, Some(err))),
                }
                clock.attempts -= 1; // a replay after renewal is not a retry
                continue;
            }
            let state = AttemptState::new(clock.attempts, started.elapsed())
                .with_deadline(deadline)
                .with_idempotency(idempotency)
                .with_jitter(fastrand::f64());
            match policy.decide(&failure_of(&err), &state) {
                RetryDecision::Retry(wait) => {
                    tracing::debug!(attempt = clock.attempts, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
                    last_error = Some(err);
                    tokio::time::sleep(wait).await;
                }
                RetryDecision::Stop(StopReason::Deadline) if let Some(deadline) = deadline => {
                    tracing::debug!(error = %err, "deadline reached, giving up");
                    return Err(clock.deadline_error(deadline, Some(err)));
                }
                RetryDecision::Stop(_) => return Err(err),
            }
        }
    }

    /// The current session, logging in if there is none (single flight: the lock is held
    /// during login, so concurrent callers wait for one login).
    async fn session(&self) -> Result<(AuthToken, u64)> {
        let mut state = self.inner.session.lock().await;
        if let Some(token) = &state.token {
            return Ok((token.clone(), state.generation));
        }
        let token = self.login().await?;
        state.generation += 1;
        state.token = Some(token.clone());
        Ok((token, state.generation))
    }

    /// Renews the session seen at `generation`, unless another call already did. `refusal`
    /// is the HTTP error status of the answer that refused the session, if it had one.
    async fn renew(&self, generation: u64, refusal: Option<u16>) -> Result<()> {
        let mut state = self.inner.session.lock().await;
        if state.generation != generation && state.token.is_some() {
            return Ok(());
        }
        if matches!(self.inner.credentials, Credentials::Session(_)) {
            return Err(Error::SessionExpired {
                message: "the session id given to the client expired and cannot be renewed"
                    .to_owned(),
                status: refusal,
            });
        }
        state.token = None;
        let token = self.login().await?;
        state.generation += 1;
        state.token = Some(token);
        Ok(())
    }

    /// Replaces the session (after switching accounts or confirming a login).
    pub(crate) async fn set_session(&self, token: Option<AuthToken>) {
        let mut state = self.inner.session.lock().await;
        state.generation += 1;
        state.token = token;
    }

    /// The current session token, if logged in.
    pub(crate) async fn current_token(&self) -> Option<AuthToken> {
        self.inner.session.lock().await.token.clone()
    }

    /// Downloads any `Ссылка` (PDF, HTML, archive, attachment, signature) with the session
    /// header, into memory. Relative links are joined to the base URL. The session header is
    /// sent only to the base URL's host and to `*.sbis.ru` / `*.saby.ru`.
    ///
    /// A "file not ready yet" answer (`classid {00000000-0000-0000-0000-1aa0000f1002}`) is
    /// asked again after [`ClientBuilder::file_not_ready_delay`], up to
    /// [`ClientBuilder::file_not_ready_attempts`] times, within the deadline.
    ///
    /// The whole body is held in memory. For large files (scans, Saby's zip of a whole
    /// document) use [`Client::download_to_file`], which writes the body to disk as it comes
    /// with the same retries and keeps memory bounded by 256 KiB and one network chunk.
    pub async fn download(&self, link: &str) -> Result<Bytes> {
        let url = self.resolve_link(link)?;
        let url = &url;
        self.download_loop(url, move |attempt| self.get_attempt(url, attempt))
            .await
    }

    /// The download loop shared by [`Client::download`] and [`Client::download_to_file`]: the
    /// `saby.download` span, the session (Saby hosts only), retries and renewal through
    /// [`Client::run`], the "file not ready yet" waits and the overall deadline.
    ///
    /// `attempt_fn` makes one attempt; it is called again from scratch for every retry.
    pub(crate) async fn download_loop<T, F, Fut>(&self, url: &Url, mut attempt_fn: F) -> Result<T>
    where
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let with_session = self.is_saby_host(url);
        // The host only: a link's path may carry a file name (a surname).
        let host = authority(url);
        let span = tracing::info_span!(
            "saby.download",
            method = "GET",
            endpoint = host.as_deref().unwrap_or(""),
            attempt = field::Empty,
            status = field::Empty,
        );
        let work = async {
            let mut clock = CallClock::start(self.inner.config.timeouts);
            let mut not_ready = 0u32;
            loop {
                let res = self
                    .run(
                        &mut clock,
                        with_session,
                        Idempotency::Idempotent,
                        &mut attempt_fn,
                    )
                    .await;
                match res {
                    Err(Error::Rpc(e))
                        if e.is_file_not_ready()
                            && not_ready + 1 < self.inner.config.file_not_ready_attempts =>
                    {
                        let delay = self.inner.config.file_not_ready_delay;
                        let left = clock.timeouts.remaining(clock.started.elapsed());
                        if let (Some(left), Some(deadline)) = (left, clock.timeouts.deadline())
                            && left <= delay
                        {
                            return Err(clock.deadline_error(deadline, Some(Error::Rpc(e))));
                        }
                        not_ready += 1;
                        tracing::debug!(not_ready, "file not ready yet; waiting");
                        tokio::time::sleep(delay).await;
                    }
                    other => return other,
                }
            }
        };
        work.instrument(span).await
    }

    /// Sends a download's GET under the in-flight limit and follows its redirects by hand:
    /// at most [`MAX_REDIRECTS`] hops, each one checked as the link was (no plain `http://`
    /// off the loopback), the session header sent only to a hop that passes the Saby-host
    /// check (dropped otherwise), no `Referer`; a download has no body to re-send. Returns
    /// the first answer that is not a redirect, with the permit (held while its body is
    /// read) and the URL it came from.
    async fn follow_download(
        &self,
        url: &Url,
        attempt: &Attempt,
    ) -> Result<(tokio::sync::SemaphorePermit<'_>, reqwest::Response, Url)> {
        let timeout = attempt.timeout;
        let permit = self.permit(attempt).await?;
        let mut current = url.clone();
        let mut hops = 0u32;
        loop {
            self.check_scheme(&current)?;
            let mut req = self.inner.http.get(current.clone());
            if let Some(auth) = &attempt.auth
                && self.is_saby_host(&current)
            {
                let (name, value) = auth.header()?;
                req = req.header(name, value);
            }
            let resp = req
                .timeout(attempt.left())
                .send()
                .await
                .map_err(|e| Error::transport(e, timeout))?;
            let status = resp.status().as_u16();
            record_on_call_span("status", u64::from(status));
            if is_redirect(status) {
                let target = redirect_target(&resp, &current);
                hops += 1;
                match target {
                    Some(next) if hops <= MAX_REDIRECTS => {
                        tracing::debug!(
                            status,
                            hop = hops,
                            host = authority(&next).as_deref().unwrap_or(""),
                            with_session = attempt.auth.is_some() && self.is_saby_host(&next),
                            "following a download redirect"
                        );
                        current = next;
                        continue;
                    }
                    target => {
                        return Err(Error::Redirect {
                            status,
                            host: target.as_ref().and_then(authority),
                            followed: false,
                        });
                    }
                }
            }
            refuse_if_fetched_elsewhere(&resp, &current, status)?;
            return Ok((permit, resp, current));
        }
    }

    async fn get_attempt(&self, url: &Url, attempt: Attempt) -> Result<Bytes> {
        let timeout = attempt.timeout;
        let (_permit, mut resp, _) = self.follow_download(url, &attempt).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let limit = self.inner.config.max_download_bytes;
        let body = read_capped(&mut resp, limit, timeout).await?;
        tracing::debug!(status, bytes = body.len(), "saby answer");
        let session = attempt.auth.as_ref().map(AuthToken::secret_text);
        match download_failure(status, &headers, &body, session.as_slice()) {
            Some(err) => Err(err),
            None => Ok(body),
        }
    }

    /// One streaming download attempt, up to the body: sends the GET under the in-flight
    /// limit and returns the response (and the permit, held while its body is read) when the
    /// status is 2xx. Any other status is turned into its error here, reading at most
    /// [`ERROR_BODY_LIMIT`] bytes of the body.
    pub(crate) async fn open_download(
        &self,
        url: &Url,
        attempt: Attempt,
    ) -> Result<OpenDownload<'_>> {
        let timeout = attempt.timeout;
        let (permit, mut response, _) = self.follow_download(url, &attempt).await?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let headers = response.headers().clone();
            let mut body = Vec::new();
            while body.len() < ERROR_BODY_LIMIT {
                match response
                    .chunk()
                    .await
                    .map_err(|e| Error::transport(e, timeout))?
                {
                    Some(chunk) => body.extend_from_slice(&chunk),
                    None => break,
                }
            }
            tracing::debug!(status, bytes = body.len(), "saby answer");
            let session = attempt.auth.as_ref().map(AuthToken::secret_text);
            return Err(
                download_failure(status, &headers, &body, session.as_slice()).unwrap_or_else(
                    || Error::Http {
                        status,
                        excerpt: excerpt(&body, session.as_slice()),
                        retry_after: crate::transport::retry_after(&headers),
                    },
                ),
            );
        }
        Ok(OpenDownload {
            _permit: permit,
            status,
            headers: response.headers().clone(),
            response,
            timeout,
            session: attempt.auth.clone(),
        })
    }

    /// The absolute URL of a download link (relative links are joined to the base URL),
    /// refused when it is plain `http://` off the loopback (see [`Client::check_scheme`]).
    pub(crate) fn resolve_link(&self, link: &str) -> Result<Url> {
        let link = link.trim();
        let url = match Url::parse(link) {
            Ok(u) => u,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                join(&self.inner.config.base_url, link)?
            }
            Err(e) => return Err(Error::InvalidInput(format!("invalid link: {e}"))),
        };
        self.check_scheme(&url)?;
        Ok(url)
    }

    /// Refuses a URL that is not `https://`, or plain `http://` to the loopback, unless
    /// [`ClientBuilder::allow_insecure_http`] is set: [`Error::Config`] naming the host.
    fn check_scheme(&self, url: &Url) -> Result<()> {
        match plain_http_refusal(
            url.scheme(),
            url.host_str(),
            self.inner.config.allow_insecure_http,
        ) {
            Some(refusal) => Err(Error::Config(refusal)),
            None => Ok(()),
        }
    }

    fn is_saby_host(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        if Some(host) == self.inner.config.base_url.host_str()
            && url.port_or_known_default() == self.inner.config.base_url.port_or_known_default()
        {
            return true;
        }
        ["sbis.ru", "saby.ru"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
            && url.scheme() == "https"
    }
}

/// How many bytes of a download's body are kept to recognise an error answer: the whole
/// body of a non-2xx answer up to this size, and the start of a 2xx body that looks like
/// JSON (a JSON-RPC error answer is a few hundred bytes; a larger JSON body is a file).
pub(crate) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A streaming download whose status was 2xx, with its in-flight permit (see
/// [`Client::open_download`]).
pub(crate) struct OpenDownload<'a> {
    _permit: tokio::sync::SemaphorePermit<'a>,
    /// The HTTP status (2xx).
    pub(crate) status: u16,
    /// The answer's headers.
    pub(crate) headers: reqwest::header::HeaderMap,
    /// The answer, its body not read yet.
    pub(crate) response: reqwest::Response,
    /// The attempt's timeout (reported if reading the body times out).
    pub(crate) timeout: Duration,
    /// The session the attempt was made with (scrubbed from what an error quotes).
    pub(crate) session: Option<AuthToken>,
}

/// Whether `status` is a redirect (with a `Location` to follow).
fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Where a redirect answer points, resolved against the URL asked.
fn redirect_target(resp: &reqwest::Response, asked: &Url) -> Option<Url> {
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    asked.join(location).ok()
}

/// Refuses an answer (of `status`) that came from another origin than `asked`: a caller's
/// HTTP client followed a redirect on its own. The error names where it came from.
fn refuse_if_fetched_elsewhere(resp: &reqwest::Response, asked: &Url, status: u16) -> Result<()> {
    if resp.url().origin() == asked.origin() {
        return Ok(());
    }
    Err(Error::Redirect {
        status,
        host: authority(resp.url()),
        followed: true,
    })
}

/// `host[:port]` of a URL: no scheme, user info, path or query.
pub(crate) fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Reads a whole body chunk by chunk, stopping as soon as it passes `limit` (`None`: no
/// limit) whatever `Content-Length` claimed.
async fn read_capped(
    resp: &mut reqwest::Response,
    limit: Option<u64>,
    timeout: Duration,
) -> Result<Bytes> {
    let limit = limit.unwrap_or(u64::MAX);
    let too_large = |e: hr_docs_core::net::BodyTooLarge| Error::BodyTooLarge { limit: e.limit };
    let mut body = BodyBuffer::new(limit, resp.content_length()).map_err(too_large)?;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::transport(e, timeout))?
    {
        body.push(&chunk).map_err(too_large)?;
    }
    Ok(Bytes::from(body.into_vec()))
}

/// The error a download's answer carries, if any: an HTTP status error (401, 403, 423, 429,
/// 502, 503, 504), a JSON-RPC `error` body (for any status, when the body looks like JSON),
/// or any other non-2xx status. `None`: `body` is the file.
pub(crate) fn download_failure(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    scrub: &[&str],
) -> Option<Error> {
    if let Some(e) = status_error(status, headers, body, false, scrub) {
        return Some(e);
    }
    let looks_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
        || body.first() == Some(&b'{');
    if looks_json && let Some(err) = download_error(status, body, scrub) {
        return Some(err);
    }
    if !(200..300).contains(&status) {
        return Some(Error::Http {
            status,
            excerpt: excerpt(body, scrub),
            retry_after: crate::transport::retry_after(headers),
        });
    }
    None
}

/// An error answer to a download (a JSON-RPC `error` body instead of the file).
fn download_error(status: u16, body: &[u8], scrub: &[&str]) -> Option<Error> {
    #[derive(serde::Deserialize)]
    struct E {
        error: crate::error::WireError,
    }
    let e: E = serde_json::from_slice(body).ok()?;
    let mut rpc = RpcError::from_wire("GET", status, e.error);
    if let Some(addinfo) = rpc.addinfo.as_mut() {
        crate::error::redact_secret_keys(addinfo);
    }
    rpc.message = hr_docs_core::redact::scrub(&rpc.message, scrub);
    rpc.details = rpc.details.map(|d| hr_docs_core::redact::scrub(&d, scrub));
    Some(Error::Rpc(Box::new(rpc)))
}

/// A session still refused after logging in again: [`Error::SessionExpired`], whatever form
/// the refusal took.
fn still_expired(err: Error) -> Error {
    match err {
        Error::Rpc(r) => Error::SessionExpired {
            status: Some(r.http_status).filter(|s| !(200..300).contains(s)),
            message: r.message,
        },
        other => other,
    }
}

fn is_session_expiry(e: &Error) -> bool {
    match e {
        Error::SessionExpired { .. } => true,
        Error::Rpc(r) => r.is_session_error(),
        _ => false,
    }
}

/// Records `value` on the current span only when it is one of this crate's call spans
/// (`saby.call`, `saby.download`).
///
/// When a subscriber filters our spans out, `Span::current()` is the caller's nearest
/// enabled span; writing there would leak our `attempt`/`status` fields into the
/// application's own spans.
fn record_on_call_span(field: &str, value: u64) {
    let span = tracing::Span::current();
    if span
        .metadata()
        .is_some_and(|m| m.name().starts_with("saby."))
    {
        span.record(field, value);
    }
}
