//! Client configuration: the builder and environment variables.

use std::fmt;
use std::time::Duration;

use hr_docs_core::net::{DEFAULT_MAX_BODY_BYTES, plain_http_refusal};
use hr_docs_core::{REDACTED, Secret, Timeouts};
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

pub use hr_docs_core::{DEFAULT_DEADLINE, DEFAULT_TIMEOUT};

/// The production API host.
pub const DEFAULT_BASE_URL: &str = "https://api.beorg.ru";
/// The `User-Agent` sent unless [`ClientBuilder::user_agent`] sets another:
/// `beorg-client/<version>`.
pub const DEFAULT_USER_AGENT: &str = hr_docs_core::default_user_agent!();

/// Environment variable with the base URL (optional).
pub const ENV_BASE_URL: &str = "BEORG_BASE_URL";
/// Environment variable with the token (required by [`Client::from_env`]).
pub const ENV_TOKEN: &str = "BEORG_TOKEN";
/// Environment variable with the `project_id` — the company's number (required by
/// [`Client::from_env`]).
pub const ENV_PROJECT_ID: &str = "BEORG_PROJECT_ID";
/// Environment variable with the machine uid (optional).
pub const ENV_MACHINE_UID: &str = "BEORG_MACHINE_UID";

/// How the ready and result calls are sent (Beorg accepts both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// Parameters (including the token) in the query string. The default.
    #[default]
    Get,
    /// Parameters (including the token) in a JSON body; URLs carry no token.
    Post,
}

/// Builds a [`Client`]. Get one from [`Client::builder`] or [`ClientBuilder::from_env`].
///
/// | option | default |
/// |---|---|
/// | [`base_url`](Self::base_url) | `https://api.beorg.ru` |
/// | [`token`](Self::token), [`project_id`](Self::project_id) | none (required) |
/// | [`machine_uid`](Self::machine_uid) | none |
/// | [`http_client`](Self::http_client) | a new `reqwest::Client` |
/// | [`user_agent`](Self::user_agent) | `beorg-client/<version>` |
/// | [`timeout`](Self::timeout) (per attempt) | 60 s |
/// | [`deadline`](Self::deadline) / [`no_deadline`](Self::no_deadline) (per call, all attempts) | 5 min |
/// | [`retry_policy`](Self::retry_policy) | [`RetryPolicy::default`] |
/// | [`method`](Self::method) | GET |
/// | [`retry_uploads`](Self::retry_uploads) | off |
/// | [`poll_backoff`](Self::poll_backoff) | 1 s → 15 s |
/// | [`max_body_bytes`](Self::max_body_bytes) | 32 MiB ([`DEFAULT_MAX_BODY_BYTES`](hr_docs_core::net::DEFAULT_MAX_BODY_BYTES)) |
/// | [`allow_insecure_http`](Self::allow_insecure_http) | off (plain `http://` only to the loopback) |
///
/// ```
/// use std::time::Duration;
/// use beorg_client::{Client, HttpMethod, RetryPolicy};
///
/// let client = Client::builder()
///     .base_url("https://staging.example/beorg/")
///     .token("secret-token")
///     .project_id("U_RATE_2")
///     .machine_uid("scanner-1")
///     .timeout(Duration::from_secs(30))
///     .deadline(Duration::from_secs(120))
///     .retry_policy(RetryPolicy::default().with_max_attempts(5))
///     .method(HttpMethod::Post)
///     .build()?;
/// assert_eq!(client.project_id(), "U_RATE_2");
/// assert!(!format!("{client:?}").contains("secret-token"));
/// # Ok::<(), beorg_client::Error>(())
/// ```
#[must_use]
#[derive(Clone)]
pub struct ClientBuilder {
    pub(crate) base_url: String,
    pub(crate) token: Option<Secret>,
    pub(crate) project_id: Option<String>,
    pub(crate) machine_uid: Option<String>,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) user_agent: String,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) method: HttpMethod,
    pub(crate) retry_uploads: bool,
    pub(crate) poll_initial: Duration,
    pub(crate) poll_max: Duration,
    pub(crate) max_body_bytes: u64,
    pub(crate) allow_insecure_http: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            token: None,
            project_id: None,
            machine_uid: None,
            http: None,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            method: HttpMethod::Get,
            retry_uploads: false,
            poll_initial: Duration::from_secs(1),
            poll_max: Duration::from_secs(15),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allow_insecure_http: false,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| REDACTED))
            .field("project_id", &self.project_id)
            .field("machine_uid", &self.machine_uid)
            .field("user_agent", &self.user_agent)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("method", &self.method)
            .field("retry_uploads", &self.retry_uploads)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with the defaults (production URL, no credentials).
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from `BEORG_BASE_URL`, `BEORG_TOKEN`, `BEORG_PROJECT_ID` and
    /// `BEORG_MACHINE_UID` (unset or empty variables are skipped; [`build`](Self::build)
    /// reports what is missing).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut b = Self::default();
        if let Some(url) = get(ENV_BASE_URL) {
            b = b.base_url(url);
        }
        if let Some(token) = get(ENV_TOKEN) {
            b = b.token(token);
        }
        if let Some(project) = get(ENV_PROJECT_ID) {
            b = b.project_id(project);
        }
        if let Some(uid) = get(ENV_MACHINE_UID) {
            b = b.machine_uid(uid);
        }
        b
    }

    /// The API base URL (default `https://api.beorg.ru`), with or without a trailing slash,
    /// with a path prefix (`https://proxy/beorg`). `https://`, or plain `http://` to the
    /// loopback (`127.0.0.0/8`, `::1`, `localhost`: tests and sandboxes); any other
    /// `http://` URL is refused by [`build`](Self::build) unless
    /// [`allow_insecure_http`](Self::allow_insecure_http) is set — the token and every scan
    /// would travel unencrypted.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = url.as_ref().trim().to_owned();
        self
    }

    /// The API token (kept as a [`Secret`](hr_docs_core::Secret): never printed, wiped
    /// from memory when dropped).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }

    /// The `project_id` sent with every call: per Beorg's integration letter, the
    /// **company's** number, issued with the credentials (one company = one
    /// `project_id` = one `start_id` sequence). Its contours are told apart by the
    /// ready answer's `by_project`, not by this value.
    pub fn project_id(mut self, id: impl Into<String>) -> Self {
        self.project_id = Some(id.into());
        self
    }

    /// The upload point's machine uid, sent with uploads.
    pub fn machine_uid(mut self, uid: impl Into<String>) -> Self {
        self.machine_uid = Some(uid.into());
        self
    }

    /// Use this `reqwest::Client` (proxies, TLS roots, connection pool). Its own
    /// timeouts apply in addition to [`timeout`](Self::timeout), and its own `User-Agent`
    /// replaces [`user_agent`](Self::user_agent). `reqwest` is a public dependency of this
    /// method only (see `docs/architecture.md`, "Public dependencies").
    ///
    /// **Build it with `.redirect(reqwest::redirect::Policy::none())` and
    /// `.referer(false)`**, as the client's own is built. reqwest follows redirects by
    /// default and strips only `Authorization`/`Cookie`-like headers across hosts: the
    /// token travels in the URL (`?token=`) or the JSON body, so a followed redirect (a
    /// 307/308 re-sends the body, scans included) hands it to whatever host the redirect
    /// names. This client refuses any redirect it sees — a 3xx answer, or an answer that
    /// came from another origin than the one asked (a client that followed) — with
    /// [`Error::Redirect`], but by then a following client has already sent the request.
    pub fn http_client(mut self, c: reqwest::Client) -> Self {
        self.http = Some(c);
        self
    }

    /// The largest answer read, in bytes (default 32 MiB,
    /// [`DEFAULT_MAX_BODY_BYTES`](hr_docs_core::net::DEFAULT_MAX_BODY_BYTES)). The body is
    /// read chunk by chunk and the read stops as soon as it passes the limit, whatever
    /// `Content-Length` says; the call fails with [`Error::BodyTooLarge`] (not retried).
    /// At least 1.
    pub fn max_body_bytes(mut self, limit: u64) -> Self {
        self.max_body_bytes = limit.max(1);
        self
    }

    /// Allows a plain `http://` base URL to a host other than the loopback (default off).
    /// Only for a trusted network (a TLS-terminating proxy on the same host): the token
    /// and the employees' scans and data would otherwise travel unencrypted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`], `beorg-client/<version>`).
    /// Not used with [`http_client`](Self::http_client): set it on that client.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Per-attempt timeout (default 60 s), covering connect, upload and body read; cut to
    /// what is left of the [`deadline`](Self::deadline).
    pub fn timeout(mut self, per_attempt: Duration) -> Self {
        self.timeouts = self.timeouts.with_per_attempt(per_attempt);
        self
    }

    /// Overall deadline of one call including retries and backoff (default 300 s).
    pub fn deadline(mut self, overall: Duration) -> Self {
        self.timeouts = self.timeouts.with_deadline(Some(overall));
        self
    }

    /// No overall deadline: only the retry policy's attempt limit applies.
    pub fn no_deadline(mut self) -> Self {
        self.timeouts = self.timeouts.with_deadline(None);
        self
    }

    /// The retry policy (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry = p;
        self
    }

    /// GET (default) or POST for the ready and result calls.
    pub fn method(mut self, m: HttpMethod) -> Self {
        self.method = m;
        self
    }

    /// Retry uploads after failures where the server may have received the request
    /// (timeouts, 5xx, 429). Off by default, because a retried upload may create a
    /// duplicate set. Connect errors are always retried.
    pub fn retry_uploads(mut self, yes: bool) -> Self {
        self.retry_uploads = yes;
        self
    }

    /// Backoff between result polls in [`Client::wait_for_result`] when the server
    /// gives no `Retry-After`: starts at `initial`, doubles up to `max`
    /// (default 1 s → 15 s).
    pub fn poll_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.poll_initial = initial;
        self.poll_max = max.max(initial);
        self
    }

    /// Validates the configuration and builds the client.
    ///
    /// Fails with [`Error::Config`] when the token or project id is missing or
    /// empty, the URL is not an absolute http(s) URL, the URL is plain `http://` to a host
    /// other than the loopback without [`allow_insecure_http`](Self::allow_insecure_http),
    /// or a timeout is zero.
    pub fn build(self) -> Result<Client> {
        let token = self.token.filter(|t| !t.is_blank()).ok_or_else(|| {
            Error::Config(format!("the token is missing (set it or {ENV_TOKEN})"))
        })?;
        let project_id = self
            .project_id
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| {
                Error::Config(format!(
                    "the project id is missing (set it or {ENV_PROJECT_ID})"
                ))
            })?;
        let base_url = parse_base_url(&self.base_url)?;
        if let Some(refusal) = plain_http_refusal(
            base_url.scheme(),
            base_url.host_str(),
            self.allow_insecure_http,
        ) {
            return Err(Error::Config(refusal));
        }
        if let Some(problem) = self.timeouts.problem() {
            return Err(Error::Config(problem.to_owned()));
        }
        let http = match self.http {
            Some(c) => c,
            // No redirects (the token is in the URL or the body: a followed redirect hands
            // it to the host the redirect names) and no `Referer` (it would copy the URL).
            None => reqwest::Client::builder()
                .user_agent(self.user_agent.as_str())
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .build()
                .map_err(|e| {
                    Error::Config(format!(
                        "could not create the HTTP client: {}",
                        e.without_url()
                    ))
                })?,
        };
        let endpoints = crate::client::EndpointUrls::new(&base_url)?;
        Ok(Client::from_parts(crate::client::Config {
            http,
            base_url,
            endpoints,
            token,
            project_id,
            machine_uid: self.machine_uid.filter(|m| !m.is_empty()),
            timeouts: self.timeouts,
            retry: self.retry,
            method: self.method,
            retry_uploads: self.retry_uploads,
            poll_initial: self.poll_initial,
            poll_max: self.poll_max,
            max_body_bytes: self.max_body_bytes,
        }))
    }
}

/// Parses the base URL and makes sure its path ends with `/`, so that joining
/// `api/...` keeps any path prefix.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url> {
    let mut url = Url::parse(raw).map_err(|e| Error::Config(format!("invalid base URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "the base URL must be an http(s) URL, got the scheme {:?}",
            url.scheme()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(
            "the base URL must not have a query or fragment".into(),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(base: &str, rel: &str) -> String {
        parse_base_url(base).unwrap().join(rel).unwrap().to_string()
    }

    #[test]
    fn joins_paths_with_and_without_trailing_slash_and_prefix() {
        assert_eq!(
            join("https://api.beorg.ru", "api/document/ready"),
            "https://api.beorg.ru/api/document/ready"
        );
        assert_eq!(
            join("https://api.beorg.ru/", "api/document/ready"),
            "https://api.beorg.ru/api/document/ready"
        );
        assert_eq!(
            join("http://h:8080/proxy/beorg", "api/x"),
            "http://h:8080/proxy/beorg/api/x"
        );
        assert_eq!(
            join("http://h:8080/proxy/beorg/", "api/x"),
            "http://h:8080/proxy/beorg/api/x"
        );
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "",
            "api.beorg.ru",
            "ftp://x",
            "mailto:a@b",
            "https://x/?a=1",
        ] {
            assert!(
                matches!(parse_base_url(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn from_lookup_reads_every_variable() {
        let env = |name: &str| -> Option<String> {
            match name {
                "BEORG_BASE_URL" => Some("http://127.0.0.1:9/".into()),
                "BEORG_TOKEN" => Some("env-secret".into()),
                "BEORG_PROJECT_ID" => Some("P1".into()),
                "BEORG_MACHINE_UID" => Some("m-1".into()),
                _ => None,
            }
        };
        let b = ClientBuilder::from_lookup(env);
        assert_eq!(b.base_url, "http://127.0.0.1:9/");
        assert_eq!(b.machine_uid.as_deref(), Some("m-1"));
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("env-secret"), "{dbg}");
        let c = b.build().unwrap();
        assert_eq!(c.project_id(), "P1");
        assert!(!format!("{c:?}").contains("env-secret"));
    }

    #[test]
    fn missing_variables_are_named() {
        let e = ClientBuilder::from_lookup(|_| None).build().unwrap_err();
        assert!(e.to_string().contains("BEORG_TOKEN"), "{e}");
        let e = ClientBuilder::from_lookup(|n| (n == "BEORG_TOKEN").then(|| "t".to_owned()))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("BEORG_PROJECT_ID"), "{e}");
        let e = Client::builder()
            .token("t")
            .project_id("p")
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config(_)));
    }
}
