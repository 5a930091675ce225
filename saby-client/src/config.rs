//! Configuration: credentials, the builder and the environment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{Certificate, SabyDateTime};
use crate::retry::RetryPolicy;

/// The default production host.
pub const DEFAULT_BASE_URL: &str = "https://online.sbis.ru";

/// How the client logs in. Every secret is a [`SecretString`]; `Debug` prints `[redacted]`.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// Login and password (`СБИС.Аутентифицировать`), optionally into a given account.
    Password {
        /// The login.
        login: String,
        /// The password.
        password: SecretString,
        /// `НомерАккаунта`, when the user has several.
        account: Option<String>,
    },
    /// A service application (`POST /oauth/service/`); the token goes in `X-SBISAccessToken`.
    ServiceApp {
        /// `app_client_id`.
        client_id: String,
        /// `app_secret`.
        app_secret: SecretString,
        /// `secret_key`.
        secret_key: SecretString,
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
    Session(SecretString),
}

impl Credentials {
    /// Login/password credentials.
    pub fn password(login: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Password {
            login: login.into(),
            password: SecretString::from(password.into()),
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
            password: SecretString::from(password.into()),
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
            app_secret: SecretString::from(app_secret.into()),
            secret_key: SecretString::from(secret_key.into()),
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
        Self::Session(SecretString::from(sid.into()))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password { login, account, .. } => f
                .debug_struct("Password")
                .field("login", login)
                .field("password", &"[redacted]")
                .field("account", account)
                .finish(),
            Self::ServiceApp { client_id, .. } => f
                .debug_struct("ServiceApp")
                .field("client_id", client_id)
                .field("app_secret", &"[redacted]")
                .field("secret_key", &"[redacted]")
                .finish(),
            Self::Certificate { certificate, .. } => f
                .debug_struct("Certificate")
                .field("thumbprint", &certificate.thumbprint)
                .field("decryptor", &"<dyn SessionDecryptor>")
                .finish(),
            Self::Session(_) => f.debug_tuple("Session").field(&"[redacted]").finish(),
        }
    }
}

/// Decrypts the session id returned by certificate login (CMS EnvelopedData addressed to
/// the certificate). Implement it with your crypto provider (CryptoPro, a token...).
#[async_trait]
pub trait SessionDecryptor: Send + Sync {
    /// Decrypts `enveloped` (DER CMS EnvelopedData) and returns the session id.
    async fn decrypt(
        &self,
        enveloped: &[u8],
    ) -> std::result::Result<SecretString, Box<dyn std::error::Error + Send + Sync>>;
}

/// Settings shared by every call of a [`Client`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) base_url: Url,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_in_flight: usize,
    pub(crate) file_not_ready_delay: Duration,
    pub(crate) file_not_ready_attempts: u32,
    pub(crate) event_history: EventHistory,
}

/// Where a feed whose cursor has no start begins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventHistory {
    /// This long before now.
    Window(Duration),
    /// At this time.
    From(SabyDateTime),
}

/// The default history window of the event feed: 7 days.
pub const DEFAULT_EVENT_HISTORY_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Builds a [`Client`]. Start with [`Client::builder`].
///
/// | option | default |
/// |---|---|
/// | [`base_url`](Self::base_url) | `https://online.sbis.ru` |
/// | [`credentials`](Self::credentials) | none (required) |
/// | [`http_client`](Self::http_client) | a new `reqwest::Client` |
/// | [`timeout`](Self::timeout) (per attempt) | 60 s |
/// | [`deadline`](Self::deadline) (per call, all attempts) | 5 min |
/// | [`retry_policy`](Self::retry_policy) | [`RetryPolicy::default`] |
/// | [`max_in_flight`](Self::max_in_flight) | 5 |
/// | [`file_not_ready_delay`](Self::file_not_ready_delay) | 1 s |
/// | [`file_not_ready_attempts`](Self::file_not_ready_attempts) | 30 |
/// | [`event_history_window`](Self::event_history_window) / [`event_history_from`](Self::event_history_from) | the last 7 days |
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    http: Option<reqwest::Client>,
    timeout: Duration,
    deadline: Duration,
    retry: RetryPolicy,
    max_in_flight: usize,
    file_not_ready_delay: Duration,
    file_not_ready_attempts: u32,
    event_history: EventHistory,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("retry", &self.retry)
            .field("max_in_flight", &self.max_in_flight)
            .field("event_history", &self.event_history)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            credentials: None,
            http: None,
            timeout: Duration::from_secs(60),
            deadline: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            max_in_flight: 5,
            file_not_ready_delay: Duration::from_secs(1),
            file_not_ready_attempts: 30,
            event_history: EventHistory::Window(DEFAULT_EVENT_HISTORY_WINDOW),
        }
    }
}

impl ClientBuilder {
    /// The Saby host (default `https://online.sbis.ru`; `https://fix-online.sbis.ru` is the
    /// test host). A path prefix and a trailing slash are both fine.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = url.as_ref().to_owned();
        self
    }
    /// How to log in (required).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }
    /// A preconfigured `reqwest::Client` (proxy, TLS roots...).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }
    /// The timeout of one HTTP attempt.
    pub fn timeout(mut self, per_attempt: Duration) -> Self {
        self.timeout = per_attempt;
        self
    }
    /// The overall deadline of one call: every attempt, backoff wait and re-login.
    pub fn deadline(mut self, overall: Duration) -> Self {
        self.deadline = overall;
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
    /// Builds the client. Fails on a bad URL or missing credentials. No request is made:
    /// the first call logs in.
    pub fn build(self) -> Result<Client> {
        let base_url = Url::parse(self.base_url.trim())
            .map_err(|e| Error::Config(format!("invalid base URL: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(Error::Config("base URL must be http or https".to_owned()));
        }
        let credentials = self
            .credentials
            .ok_or_else(|| Error::Config("credentials are required".to_owned()))?;
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder().build().map_err(|e| {
                Error::Config(format!("cannot build the HTTP client: {}", e.without_url()))
            })?,
        };
        let config = Config {
            base_url,
            timeout: self.timeout,
            deadline: self.deadline,
            retry: self.retry,
            max_in_flight: self.max_in_flight,
            file_not_ready_delay: self.file_not_ready_delay,
            file_not_ready_attempts: self.file_not_ready_attempts,
            event_history: self.event_history,
        };
        Ok(Client::from_parts(config, credentials, http))
    }
}

/// Reads credentials and the base URL from the environment (see [`Client::from_env`]).
pub(crate) fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder> {
    let get = |k: &str| {
        get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut b = Client::builder();
    if let Some(url) = get("SABY_BASE_URL") {
        b = b.base_url(url);
    }
    let creds = if let Some(id) = get("SABY_APP_CLIENT_ID") {
        let secret = get("SABY_APP_SECRET")
            .ok_or_else(|| Error::Config("SABY_APP_SECRET is not set".to_owned()))?;
        let key = get("SABY_SECRET_KEY")
            .ok_or_else(|| Error::Config("SABY_SECRET_KEY is not set".to_owned()))?;
        Credentials::service_app(id, secret, key)
    } else if let Some(login) = get("SABY_LOGIN") {
        let password = get("SABY_PASSWORD")
            .ok_or_else(|| Error::Config("SABY_PASSWORD is not set".to_owned()))?;
        match get("SABY_ACCOUNT") {
            Some(account) => Credentials::password_with_account(login, password, account),
            None => Credentials::password(login, password),
        }
    } else {
        return Err(Error::Config(
            "set SABY_LOGIN and SABY_PASSWORD, or SABY_APP_CLIENT_ID, SABY_APP_SECRET and SABY_SECRET_KEY".to_owned(),
        ));
    };
    Ok(b.credentials(creds))
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
        let b = from_env_with(env(&[
            ("SABY_BASE_URL", "https://fix-online.sbis.ru/"),
            ("SABY_LOGIN", "robot"),
            ("SABY_PASSWORD", "env-password-secret"),
            ("SABY_ACCOUNT", "100500"),
        ]))
        .unwrap();
        let shown = format!("{b:?}");
        assert!(shown.contains("fix-online.sbis.ru"));
        assert!(shown.contains("robot") && shown.contains("100500"));
        assert!(!shown.contains("env-password-secret"));
        let client = b.build().unwrap();
        assert_eq!(client.base_url().as_str(), "https://fix-online.sbis.ru/");
        assert!(matches!(
            client.credentials(),
            Credentials::Password { login, account: Some(a), .. } if login == "robot" && a == "100500"
        ));
    }

    #[test]
    fn env_service_app_wins_and_needs_all_three() {
        let b = from_env_with(env(&[
            ("SABY_APP_CLIENT_ID", "app"),
            ("SABY_APP_SECRET", "s1-secret"),
            ("SABY_SECRET_KEY", "k1-secret"),
            ("SABY_LOGIN", "ignored"),
        ]))
        .unwrap();
        let client = b.build().unwrap();
        assert!(
            matches!(client.credentials(), Credentials::ServiceApp { client_id, .. } if client_id == "app")
        );
        assert_eq!(client.base_url().as_str(), "https://online.sbis.ru/");
        let err = from_env_with(env(&[("SABY_APP_CLIENT_ID", "app")])).unwrap_err();
        assert!(matches!(err, Error::Config(m) if m.contains("SABY_APP_SECRET")));
        let err = from_env_with(env(&[("SABY_LOGIN", "x")])).unwrap_err();
        assert!(matches!(err, Error::Config(m) if m.contains("SABY_PASSWORD")));
        let err = from_env_with(env(&[])).unwrap_err();
        assert!(matches!(err, Error::Config(m) if m.contains("SABY_LOGIN")));
    }
}
