//! Configuration: credentials, the builder and the environment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
#[cfg(test)]
use hr_docs_core::REDACTED;
use hr_docs_core::net::{DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DOWNLOAD_BYTES, plain_http_refusal};
use hr_docs_core::{BoxError, Secret, Timeouts};
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{Certificate, SabyDateTime};
use crate::retry::RetryPolicy;

pub use hr_docs_core::{DEFAULT_DEADLINE, DEFAULT_TIMEOUT};

/// The default production host.
pub const DEFAULT_BASE_URL: &str = "https://online.sbis.ru";
/// The `User-Agent` sent unless [`ClientBuilder::user_agent`] sets another:
/// `saby-client/<version>`.
pub const DEFAULT_USER_AGENT: &str = hr_docs_core::default_user_agent!();

/// Environment variable with the base URL (optional; default [`DEFAULT_BASE_URL`]).
pub const ENV_BASE_URL: &str = "SABY_BASE_URL";
/// Environment variable with the login of password credentials.
pub const ENV_LOGIN: &str = "SABY_LOGIN";
/// Environment variable with the password of password credentials (required with
/// [`ENV_LOGIN`]).
pub const ENV_PASSWORD: &str = "SABY_PASSWORD";
/// Environment variable with the account number (`НомерАккаунта`) of password credentials
/// (optional).
pub const ENV_ACCOUNT: &str = "SABY_ACCOUNT";
/// Environment variable with the `app_client_id` of a service application (takes precedence
/// over [`ENV_LOGIN`]).
pub const ENV_APP_CLIENT_ID: &str = "SABY_APP_CLIENT_ID";
/// Environment variable with the `app_secret` of a service application (required with
/// [`ENV_APP_CLIENT_ID`]).
pub const ENV_APP_SECRET: &str = "SABY_APP_SECRET";
/// Environment variable with the `secret_key` of a service application (required with
/// [`ENV_APP_CLIENT_ID`]).
pub const ENV_SECRET_KEY: &str = "SABY_SECRET_KEY";

/// How the client logs in. Every secret is a [`Secret`]: `Debug` prints `[REDACTED]`
/// ([`hr_docs_core::REDACTED`]), and its text is wiped from memory when dropped.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// Login and password (`СБИС.Аутентифицировать`), optionally into a given account.
    Password {
        /// The login.
        login: String,
        /// The password.
        password: Secret,
        /// `НомерАккаунта`, when the user has several.
        account: Option<String>,
    },
    /// A service application (`POST /oauth/service/`); the token goes in `X-SBISAccessToken`.
    ServiceApp {
        /// `app_client_id`.
        client_id: String,
        /// `app_secret`.
        app_secret: Secret,
        /// `secret_key`.
        secret_key: Secret,
    },
    /// Certificate login (`СБИС.АутентифицироватьПоСертификату`): Saby answers with the
    /// session id encrypted to the certificate; `decryptor` (yours) decrypts it.
    Certificate {
        /// The certificate to log in with (e.g. one of
        /// [`Client::auth_certificates`]; at least `Отпечаток` or `ДвоичныеДанные`).
        certificate: Box<Certificate>,
        /// Decrypts the CMS EnvelopedData holding the session id.
        decryptor: Arc<dyn SessionDecryptor>,
    },
    /// An existing session id. It cannot be renewed: when it expires calls fail with
    /// [`Error::SessionExpired`].
    Session(Secret),
}

impl Credentials {
    /// Login/password credentials.
    pub fn password(login: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Password {
            login: login.into(),
            password: Secret::new(password),
            account: None,
        }
    }
    /// Login/password credentials into account `account` (`НомерАккаунта`).
    pub fn password_with_account(
        login: impl Into<String>,
        password: impl Into<String>,
        account: impl Into<String>,
    ) -> Self {
        Self::Password {
            login: login.into(),
            password: Secret::new(password),
            account: Some(account.into()),
        }
    }
    /// Service-application credentials.
    pub fn service_app(
        client_id: impl Into<String>,
        app_secret: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        Self::ServiceApp {
            client_id: client_id.into(),
            app_secret: Secret::new(app_secret),
            secret_key: Secret::new(secret_key),
        }
    }
    /// Certificate login credentials.
    pub fn certificate(certificate: Certificate, decryptor: Arc<dyn SessionDecryptor>) -> Self {
        Self::Certificate {
            certificate: Box::new(certificate),
            decryptor,
        }
    }
    /// A ready session id.
    pub fn session(sid: impl Into<String>) -> Self {
        Self::Session(Secret::new(sid))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password {
                login,
                password,
                account,
            } => f
                .debug_struct("Password")
                .field("login", login)
                .field("password", password)
                .field("account", account)
                .finish(),
            Self::ServiceApp {
                client_id,
                app_secret,
                secret_key,
            } => f
                .debug_struct("ServiceApp")
                .field("client_id", client_id)
                .field("app_secret", app_secret)
                .field("secret_key", secret_key)
                .finish(),
            Self::Certificate { certificate, .. } => f
                .debug_struct("Certificate")
                .field("thumbprint", &certificate.thumbprint)
                .field("decryptor", &"<dyn SessionDecryptor>")
                .finish(),
            Self::Session(sid) => f.debug_tuple("Session").field(sid).finish(),
        }
    }
}

/// Decrypts the session id returned by certificate login (CMS EnvelopedData addressed to
/// the certificate). Implement it with your crypto provider (CryptoPro, a token...).
///
/// Return the session id as a [`Secret`] (`Secret::from(text)`); any error you return is
/// kept as the source of [`Error::Signer`].
#[async_trait]
pub trait SessionDecryptor: Send + Sync {
    /// Decrypts `enveloped` (DER CMS EnvelopedData) and returns the session id.
    async fn decrypt(&self, enveloped: &[u8]) -> std::result::Result<Secret, BoxError>;
}

/// Settings shared by every call of a [`Client`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) base_url: Url,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_in_flight: usize,
    pub(crate) file_not_ready_delay: Duration,
    pub(crate) file_not_ready_attempts: u32,
    pub(crate) event_history: EventHistory,
    /// The largest JSON-RPC answer read.
    pub(crate) max_body_bytes: u64,
    /// The largest file downloaded (`None`: no limit).
    pub(crate) max_download_bytes: Option<u64>,
    /// Whether plain `http://` is allowed off the loopback (base URL and download links).
    pub(crate) allow_insecure_http: bool,
    /// At most this many blocking file steps of the client at once.
    pub(crate) max_blocking_file_tasks: usize,
}

/// Where a feed whose cursor has no start begins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventHistory {
    /// This long before now.
    Window(Duration),
    /// At this time.
    From(SabyDateTime),
}

/// The default of [`ClientBuilder::max_blocking_file_tasks`]: 4 blocking file steps of a
/// client at once.
pub const DEFAULT_MAX_BLOCKING_FILE_TASKS: usize = 4;

/// The default history window of the event feed: 7 days.
pub const DEFAULT_EVENT_HISTORY_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Builds a [`Client`]. Start with [`Client::builder`] or [`ClientBuilder::from_env`].
///
/// | option | default |
/// |---|---|
/// | [`base_url`](Self::base_url) | `https://online.sbis.ru` |
/// | [`credentials`](Self::credentials) | none (required) |
/// | [`http_client`](Self::http_client) | a new `reqwest::Client` |
/// | [`user_agent`](Self::user_agent) | `saby-client/<version>` |
/// | [`timeout`](Self::timeout) (per attempt) | 60 s |
/// | [`deadline`](Self::deadline) / [`no_deadline`](Self::no_deadline) (per call, all attempts) | 5 min |
/// | [`retry_policy`](Self::retry_policy) | [`RetryPolicy::default`] |
/// | [`max_in_flight`](Self::max_in_flight) | 5 |
/// | [`file_not_ready_delay`](Self::file_not_ready_delay) | 1 s |
/// | [`file_not_ready_attempts`](Self::file_not_ready_attempts) | 30 |
/// | [`event_history_window`](Self::event_history_window) / [`event_history_from`](Self::event_history_from) | the last 7 days |
/// | [`max_body_bytes`](Self::max_body_bytes) | 32 MiB ([`DEFAULT_MAX_BODY_BYTES`](hr_docs_core::net::DEFAULT_MAX_BODY_BYTES)) |
/// | [`max_download_bytes`](Self::max_download_bytes) | 512 MiB ([`DEFAULT_MAX_DOWNLOAD_BYTES`](hr_docs_core::net::DEFAULT_MAX_DOWNLOAD_BYTES)) |
/// | [`allow_insecure_http`](Self::allow_insecure_http) | off (plain `http://` only to the loopback) |
/// | [`max_blocking_file_tasks`](Self::max_blocking_file_tasks) | 4 ([`DEFAULT_MAX_BLOCKING_FILE_TASKS`]) |
#[must_use]
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    /// Why [`ClientBuilder::from_env`] found no usable credentials (names the variables).
    env_problem: Option<String>,
    http: Option<reqwest::Client>,
    user_agent: String,
    timeouts: Timeouts,
    retry: RetryPolicy,
    max_in_flight: usize,
    file_not_ready_delay: Duration,
    file_not_ready_attempts: u32,
    event_history: EventHistory,
    max_body_bytes: u64,
    max_download_bytes: Option<u64>,
    allow_insecure_http: bool,
    max_blocking_file_tasks: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("user_agent", &self.user_agent)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("max_in_flight", &self.max_in_flight)
            .field("event_history", &self.event_history)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_download_bytes", &self.max_download_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_blocking_file_tasks", &self.max_blocking_file_tasks)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            credentials: None,
            env_problem: None,
            http: None,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            max_in_flight: 5,
            file_not_ready_delay: Duration::from_secs(1),
            file_not_ready_attempts: 30,
            event_history: EventHistory::Window(DEFAULT_EVENT_HISTORY_WINDOW),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_download_bytes: Some(DEFAULT_MAX_DOWNLOAD_BYTES),
            allow_insecure_http: false,
            max_blocking_file_tasks: DEFAULT_MAX_BLOCKING_FILE_TASKS,
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults (production URL, no credentials).
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from the environment (unset or empty variables are skipped):
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `SABY_BASE_URL` | the host (optional) |
    /// | `SABY_APP_CLIENT_ID`, `SABY_APP_SECRET`, `SABY_SECRET_KEY` | service-application credentials (all three; take precedence) |
    /// | `SABY_LOGIN`, `SABY_PASSWORD` | password credentials |
    /// | `SABY_ACCOUNT` | the account number with password credentials (optional) |
    ///
    /// Change any other setting before [`build`](Self::build), which reports missing or
    /// incomplete credentials as [`Error::Config`] naming the variables (never a value).
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
        let credentials = if let Some(id) = get(ENV_APP_CLIENT_ID) {
            match (get(ENV_APP_SECRET), get(ENV_SECRET_KEY)) {
                (Some(secret), Some(key)) => Ok(Credentials::service_app(id, secret, key)),
                (None, _) => Err(format!(
                    "{ENV_APP_CLIENT_ID} is set but {ENV_APP_SECRET} is not"
                )),
                (_, None) => Err(format!(
                    "{ENV_APP_CLIENT_ID} is set but {ENV_SECRET_KEY} is not"
                )),
            }
        } else if let Some(login) = get(ENV_LOGIN) {
            match (get(ENV_PASSWORD), get(ENV_ACCOUNT)) {
                (Some(password), Some(account)) => {
                    Ok(Credentials::password_with_account(login, password, account))
                }
                (Some(password), None) => Ok(Credentials::password(login, password)),
                (None, _) => Err(format!("{ENV_LOGIN} is set but {ENV_PASSWORD} is not")),
            }
        } else {
            Err(format!(
                "set {ENV_LOGIN} and {ENV_PASSWORD}, or {ENV_APP_CLIENT_ID}, {ENV_APP_SECRET} and {ENV_SECRET_KEY}"
            ))
        };
        match credentials {
            Ok(c) => b.credentials(c),
            Err(problem) => {
                b.env_problem = Some(problem);
                b
            }
        }
    }

    /// The Saby host (default `https://online.sbis.ru`; `https://fix-online.sbis.ru` is the
    /// test host). A path prefix and a trailing slash are both fine. `https://`, or plain
    /// `http://` to the loopback (`127.0.0.0/8`, `::1`, `localhost`: tests and sandboxes);
    /// any other `http://` URL is refused by [`build`](Self::build) unless
    /// [`allow_insecure_http`](Self::allow_insecure_http) is set.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = url.as_ref().to_owned();
        self
    }
    /// How to log in (required).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self.env_problem = None;
        self
    }
    /// A preconfigured `reqwest::Client` (proxy, TLS roots...). Its own `User-Agent`
    /// replaces [`user_agent`](Self::user_agent). `reqwest` is a public dependency of this
    /// method only (see `docs/architecture.md`, "Public dependencies").
    ///
    /// **Build it with `.redirect(reqwest::redirect::Policy::none())` and
    /// `.referer(false)`**, as the client's own is built. reqwest follows redirects by
    /// default and strips only `Authorization`/`Cookie`-like headers across hosts:
    /// `X-SBISSessionID` / `X-SBISAccessToken` would follow a redirect to any host, and a
    /// 307/308 re-sends the body (the login's password, a document's scans). With
    /// `Policy::none()` the client handles redirects itself: JSON-RPC calls refuse them
    /// ([`Error::Redirect`]); downloads follow them hop by hop, sending the session only
    /// to Saby hosts. A client that follows on its own is caught too late: the answer is
    /// refused ([`Error::Redirect`] with `followed: true`) when it comes from another
    /// origin than the one asked, but the request has gone.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The largest JSON-RPC answer read, in bytes (default 32 MiB,
    /// [`DEFAULT_MAX_BODY_BYTES`](hr_docs_core::net::DEFAULT_MAX_BODY_BYTES)). The body is
    /// read chunk by chunk and the read stops as soon as it passes the limit, whatever
    /// `Content-Length` says; the call fails with [`Error::BodyTooLarge`] (not retried).
    /// At least 1.
    pub fn max_body_bytes(mut self, limit: u64) -> Self {
        self.max_body_bytes = limit.max(1);
        self
    }

    /// The largest file downloaded, in bytes, into memory ([`Client::download`]) or to disk
    /// ([`Client::download_to_file`], [`Client::archive`]); `None` for no limit. Default
    /// 512 MiB ([`DEFAULT_MAX_DOWNLOAD_BYTES`](hr_docs_core::net::DEFAULT_MAX_DOWNLOAD_BYTES)),
    /// five times the largest request Saby accepts. A larger file fails with
    /// [`Error::BodyTooLarge`] (its temporary file removed).
    pub fn max_download_bytes(mut self, limit: Option<u64>) -> Self {
        self.max_download_bytes = limit;
        self
    }

    /// Allows plain `http://` off the loopback (default off), for the base URL and for
    /// download links. Only for a trusted network (a TLS-terminating proxy on the same
    /// host): the password, the session and the documents would otherwise travel
    /// unencrypted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }
    /// At most `n` blocking file steps of this client (and its clones) at once, on at most
    /// `n` threads of the client's own (default 4, [`DEFAULT_MAX_BLOCKING_FILE_TASKS`]);
    /// `0` is refused by [`build`](Self::build).
    ///
    /// What it bounds: the disk work of [`Client::download_to_file`], [`Client::archive`]
    /// and its variants, and [`PendingZipArchive::finish`](crate::PendingZipArchive::finish)
    /// — creating and writing a download's temporary file, syncing its data, renaming it,
    /// syncing its directory, checking (and unpacking) a document's zip, writing the
    /// manifest. A download holds a body of up to 256 KiB in memory and writes it in one
    /// step; a larger one is written in pieces of 256 KiB, one step each. Steps wait for a
    /// permit; the network does not (a download's request and body are bounded by
    /// [`max_in_flight`](Self::max_in_flight)).
    ///
    /// Why: file steps on one disk gain little from more parallelism than a few, and each
    /// thread costs memory. The steps do not run on tokio's blocking pool: tokio starts a
    /// new pool thread (up to 512 by default, each kept 10 s) for every blocking task that
    /// finds no idle thread at that instant, and a thread that has just finished a step is
    /// not idle yet, so many downloads finishing together — even behind a semaphore — grew
    /// the pool, and every extra thread's stack and malloc arena stayed in the process's
    /// memory. The client's threads (named `saby-client-fs`) are started when needed, never
    /// more than `n`, and each ends after 10 s without work.
    ///
    /// A step handed over runs to its end even if the call that asked for it is dropped
    /// (a temporary file then removes itself); a process that exits meanwhile cuts it off,
    /// as it would any thread. Raise `n` for storage that gains from many parallel writes
    /// (a network file system with high latency). [`write_archive`](crate::write_archive),
    /// which has no client, is one task on tokio's blocking pool per call and not counted.
    pub fn max_blocking_file_tasks(mut self, n: usize) -> Self {
        self.max_blocking_file_tasks = n;
        self
    }
    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`], `saby-client/<version>`).
    /// Not used with [`http_client`](Self::http_client): set it on that client.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }
    /// The timeout of one HTTP attempt (default 60 s), covering connect, send and the whole
    /// answer; cut to what is left of the [`deadline`](Self::deadline).
    pub fn timeout(mut self, per_attempt: Duration) -> Self {
        self.timeouts = self.timeouts.with_per_attempt(per_attempt);
        self
    }
    /// The overall deadline of one call (default 5 min): every attempt, backoff wait and
    /// re-login.
    pub fn deadline(mut self, overall: Duration) -> Self {
        self.timeouts = self.timeouts.with_deadline(Some(overall));
        self
    }
    /// No overall deadline: only the retry policy's attempt limit (and the per-attempt
    /// timeout) bound a call.
    pub fn no_deadline(mut self) -> Self {
        self.timeouts = self.timeouts.with_deadline(None);
        self
    }
    /// The retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// At most this many HTTP requests in flight for this client's session (default 5, the
    /// limit Saby is reported to enforce per session). Minimum 1.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }
    /// How long to wait before asking again for a file that is "not ready yet" (default 1 s).
    pub fn file_not_ready_delay(mut self, delay: Duration) -> Self {
        self.file_not_ready_delay = delay;
        self
    }
    /// How many times to ask for a file that is "not ready yet" (default 30).
    pub fn file_not_ready_attempts(mut self, attempts: u32) -> Self {
        self.file_not_ready_attempts = attempts.max(1);
        self
    }
    /// How far back the event feed reaches when its cursor has no start
    /// ([`crate::EventCursor::default`] / [`crate::EventCursor::start`]): the first request
    /// sends `ДатаВремяС` = now (Moscow time) minus `window`. Default 7 days, so a fresh state
    /// does not replay an account's whole history. A cursor with a start (persisted, or
    /// [`crate::EventCursor::since`]) is not affected.
    pub fn event_history_window(mut self, window: Duration) -> Self {
        self.event_history = EventHistory::Window(window);
        self
    }
    /// Like [`ClientBuilder::event_history_window`], with a fixed start instead (e.g. the
    /// account's first day, to read its whole history).
    pub fn event_history_from(mut self, start: impl Into<SabyDateTime>) -> Self {
        self.event_history = EventHistory::From(start.into());
        self
    }
    /// Builds the client. Fails with [`Error::Config`] on a bad URL (or a plain `http://`
    /// one off the loopback without [`allow_insecure_http`](Self::allow_insecure_http)),
    /// missing credentials (naming the environment variables after
    /// [`from_env`](Self::from_env)), a zero timeout or a zero
    /// [`max_blocking_file_tasks`](Self::max_blocking_file_tasks). No request is made: the first call logs in.
    pub fn build(self) -> Result<Client> {
        let base_url = Url::parse(self.base_url.trim())
            .map_err(|e| Error::Config(format!("invalid base URL: {e}")))?;
        if let Some(refusal) = plain_http_refusal(
            base_url.scheme(),
            base_url.host_str(),
            self.allow_insecure_http,
        ) {
            return Err(Error::Config(refusal));
        }
        let credentials = match (self.credentials, self.env_problem) {
            (Some(c), _) => c,
            (None, Some(problem)) => return Err(Error::Config(problem)),
            (None, None) => return Err(Error::Config("credentials are required".to_owned())),
        };
        if let Some(problem) = self.timeouts.problem() {
            return Err(Error::Config(problem.to_owned()));
        }
        if self.max_blocking_file_tasks == 0 {
            return Err(Error::Config(
                "max_blocking_file_tasks must be at least 1".to_owned(),
            ));
        }
        let http = match self.http {
            Some(h) => h,
            // No automatic redirects (the session header and a re-sent body would follow
            // them to any host; downloads follow by hand, see `Client::download`) and no
            // `Referer`.
            None => reqwest::Client::builder()
                .user_agent(self.user_agent.as_str())
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .build()
                .map_err(|e| {
                    Error::Config(format!("cannot build the HTTP client: {}", e.without_url()))
                })?,
        };
        let config = Config {
            base_url,
            timeouts: self.timeouts,
            retry: self.retry,
            max_in_flight: self.max_in_flight,
            file_not_ready_delay: self.file_not_ready_delay,
            file_not_ready_attempts: self.file_not_ready_attempts,
            event_history: self.event_history,
            max_body_bytes: self.max_body_bytes,
            max_download_bytes: self.max_download_bytes,
            allow_insecure_http: self.allow_insecure_http,
            max_blocking_file_tasks: self.max_blocking_file_tasks,
        };
        Ok(Client::from_parts(config, credentials, http))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_password_with_account_and_url() {
        let b = ClientBuilder::from_lookup(env(&[
            ("SABY_BASE_URL", "https://fix-online.sbis.ru/"),
            ("SABY_LOGIN", "robot"),
            ("SABY_PASSWORD", "env-password-secret"),
            ("SABY_ACCOUNT", "100500"),
        ]));
        let shown = format!("{b:?}");
        assert!(shown.contains("fix-online.sbis.ru"));
        assert!(shown.contains("robot") && shown.contains("100500"));
        assert!(!shown.contains("env-password-secret"));
        assert!(shown.contains(REDACTED), "{shown}");
        let client = b.build().unwrap();
        assert_eq!(client.base_url().as_str(), "https://fix-online.sbis.ru/");
        assert!(matches!(
            client.credentials(),
            Credentials::Password { login, account: Some(a), .. } if login == "robot" && a == "100500"
        ));
    }

    #[test]
    fn env_service_app_wins_and_needs_all_three() {
        let b = ClientBuilder::from_lookup(env(&[
            ("SABY_APP_CLIENT_ID", "app"),
            ("SABY_APP_SECRET", "s1-secret"),
            ("SABY_SECRET_KEY", "k1-secret"),
            ("SABY_LOGIN", "ignored"),
        ]));
        let client = b.build().unwrap();
        assert!(
            matches!(client.credentials(), Credentials::ServiceApp { client_id, .. } if client_id == "app")
        );
        assert_eq!(client.base_url().as_str(), "https://online.sbis.ru/");
        let problem = |pairs: &[(&str, &str)]| match ClientBuilder::from_lookup(env(pairs)).build()
        {
            Err(Error::Config(m)) => m,
            other => panic!("{other:?}"),
        };
        let m = problem(&[("SABY_APP_CLIENT_ID", "app"), ("SABY_SECRET_KEY", "k")]);
        assert!(m.contains("SABY_APP_SECRET"), "{m}");
        let m = problem(&[("SABY_APP_CLIENT_ID", "app"), ("SABY_APP_SECRET", "s")]);
        assert!(m.contains("SABY_SECRET_KEY"), "{m}");
        let m = problem(&[("SABY_LOGIN", "x")]);
        assert!(m.contains("SABY_PASSWORD"), "{m}");
        let m = problem(&[]);
        assert!(
            m.contains("SABY_LOGIN") && m.contains("SABY_APP_CLIENT_ID"),
            "{m}"
        );
        // Credentials set in code after from_env win over what the environment lacked.
        assert!(
            ClientBuilder::from_lookup(env(&[]))
                .credentials(Credentials::session("sid"))
                .build()
                .is_ok()
        );
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let b = ClientBuilder::new().credentials(Credentials::session("sid"));
        for bad in [
            b.clone().timeout(Duration::ZERO),
            b.clone().deadline(Duration::ZERO),
        ] {
            assert!(matches!(bad.build(), Err(Error::Config(_))));
        }
        assert!(b.no_deadline().build().is_ok());
    }

    #[test]
    fn zero_blocking_file_tasks_are_refused() {
        let b = ClientBuilder::new().credentials(Credentials::session("sid"));
        match b.clone().max_blocking_file_tasks(0).build() {
            Err(Error::Config(m)) => assert!(m.contains("max_blocking_file_tasks"), "{m}"),
            other => panic!("{other:?}"),
        }
        let shown = format!("{:?}", b.clone().max_blocking_file_tasks(7));
        assert!(shown.contains("max_blocking_file_tasks: 7"), "{shown}");
        assert!(b.max_blocking_file_tasks(1).build().is_ok());
    }
}
