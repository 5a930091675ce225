//! The error type: one enum, with predicates so callers never match on strings.

use std::fmt;
use std::time::Duration;

use hr_docs_core::{BoxError, REDACTED, ServiceError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `classid` of the "confirmation code required" (2FA) login error.
pub const CLASSID_CONFIRMATION_REQUIRED: &str = "{00000000-0000-0000-0000-1FA000001002}";
/// The `classid` of the "file not ready yet" download error (retry after ~1 s).
pub const CLASSID_FILE_NOT_READY: &str = "{00000000-0000-0000-0000-1aa0000f1002}";

/// Everything that can go wrong. `#[non_exhaustive]`: match with a `_` arm and prefer the
/// predicates [`Error::is_retryable`], [`Error::is_auth`], [`Error::is_timeout`],
/// [`Error::is_deadline`], [`Error::status`] — also through the [`ServiceError`] trait it
/// shares with `beorg-client`.
///
/// No variant ever carries a password, secret, session id or token. Each cause is printed
/// once: a variant with a [`source`](std::error::Error::source) does not repeat it in its
/// own message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A JSON-RPC `error` answer (business errors; HTTP 200/404/500/501 with an error body).
    #[error("{0}")]
    Rpc(Box<RpcError>),

    /// The session expired (HTTP 401 or a session error) and logging in again did not help,
    /// or the client was given a fixed session it cannot renew.
    #[error("Saby session expired and could not be renewed: {message}")]
    SessionExpired {
        /// What the server said, if anything.
        message: String,
        /// The HTTP error status of the answer that said so (401), `None` when it came as a
        /// JSON-RPC error in a successful answer.
        status: Option<u16>,
    },

    /// Login was refused (HTTP 401 on a login method, a refused confirmation code, or no
    /// token in the answer).
    #[error("Saby login failed: {message}")]
    AuthFailed {
        /// What the server said (never the credentials).
        message: String,
        /// The HTTP error status of the refusal, `None` when it came in a successful answer
        /// (a JSON-RPC error or an answer without a session in an HTTP 200).
        status: Option<u16>,
    },

    /// HTTP 403: access denied.
    #[error("access denied by Saby (HTTP 403){}", fmt_msg(message))]
    AccessDenied {
        /// The server's message, if any.
        message: Option<String>,
    },

    /// HTTP 423: the certificate's PIN is locked.
    #[error("PIN locked (HTTP 423){}", fmt_msg(message))]
    PinLocked {
        /// The server's message, if any.
        message: Option<String>,
    },

    /// HTTP 503/504: Saby is under maintenance or overloaded; retried for safe calls.
    #[error("Saby unavailable (HTTP {status}): maintenance or overload")]
    Maintenance {
        /// 503 or 504.
        status: u16,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },

    /// An HTTP status without a JSON-RPC body (e.g. 502 from a proxy, an HTML 500 page).
    #[error("unexpected HTTP {status} from Saby{}", fmt_excerpt(": ", excerpt))]
    Http {
        /// The status.
        status: u16,
        /// The start of the body when it is a page (a proxy's HTML or text), scrubbed of
        /// the session; empty for a JSON body (an API answer may carry documents and
        /// people, and is never quoted) and for the answers that carry a session.
        excerpt: String,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },

    /// The request could not be sent or the answer not read.
    #[error("transport error talking to Saby ({})", if *connect { "connect" } else { "request" })]
    Transport {
        /// True when the connection was never established (safe to retry any call).
        connect: bool,
        /// The HTTP stack's error, without the URL. Boxed: which HTTP crate the client uses
        /// is not part of its API.
        #[source]
        source: BoxError,
    },

    /// One attempt took longer than its timeout.
    #[error("Saby did not answer within {timeout:?}")]
    Timeout {
        /// The attempt's timeout: the per-attempt timeout, or what was left of the deadline
        /// when that was shorter.
        timeout: Duration,
    },

    /// The overall deadline of a call (all attempts, waits and re-logins) passed. The last
    /// attempt's error, if one failed before, is the [`source`](std::error::Error::source).
    #[error("Saby call exceeded its deadline of {deadline:?} after {attempts} attempt(s)")]
    DeadlineExceeded {
        /// The overall deadline in force.
        deadline: Duration,
        /// How many attempts were made.
        attempts: u32,
        /// The error of the last attempt, if one failed before the deadline.
        #[source]
        last_error: Option<Box<Error>>,
    },

    /// The answer could not be decoded: HTML page, truncated body, wrong type.
    ///
    /// It names where (the JSON path) and what (the kind of value found and the one
    /// expected), never a value: Saby's answers are documents, people and sessions.
    #[error(
        "cannot decode Saby answer to {method} at `{path}`{}",
        fmt_excerpt("; body starts: ", excerpt)
    )]
    Decode {
        /// The method called (or `GET` for downloads).
        method: String,
        /// The JSON path of the failure (e.g. `result.Документ[0].Состояние.Код`).
        path: String,
        /// HTTP status.
        status: u16,
        /// The start of the body (at most ~200 characters) when it is a page that is not
        /// JSON (a proxy's HTML in a 200), scrubbed of the session. Empty for a JSON body
        /// (whole or cut off: it may hold documents and people) and for the answers that
        /// carry a session id, which are never quoted.
        excerpt: String,
        /// The decoder's error. Its message says what kind of value was found and what
        /// was expected, without the value (`invalid type: string, expected a map`).
        #[source]
        source: serde_json::Error,
    },

    /// Saby answered with a redirect that is not followed: every JSON-RPC call (the
    /// session header would go with it, and a 307/308 re-sends the body: the password, a
    /// document's scans), or a download past its
    /// [`MAX_REDIRECTS`](hr_docs_core::net::MAX_REDIRECTS) hops. Also an answer that came
    /// from another origin than the one asked, because the `reqwest::Client` given to
    /// [`ClientBuilder::http_client`](crate::ClientBuilder::http_client) followed a redirect
    /// (`followed`). Not retried.
    #[error("Saby {}; not followed", fmt_redirect(*status, host, *followed))]
    Redirect {
        /// The HTTP status of the answer (a 3xx; with `followed`, the final answer's).
        status: u16,
        /// The target's `host[:port]` (never its path or query), when known.
        host: Option<String>,
        /// Whether the HTTP client had already followed the redirect.
        followed: bool,
    },

    /// An answer was larger than its limit
    /// ([`ClientBuilder::max_body_bytes`](crate::ClientBuilder::max_body_bytes) for
    /// JSON-RPC answers, [`ClientBuilder::max_download_bytes`](crate::ClientBuilder::max_download_bytes)
    /// for files); it was not read further. Not retried.
    #[error("the Saby answer is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in force, in bytes.
        limit: u64,
    },

    /// The answer's `id` does not match the request's.
    #[error("JSON-RPC id mismatch for {method}: sent {sent}, got {got}")]
    IdMismatch {
        /// The method called.
        method: String,
        /// The id we sent.
        sent: u64,
        /// The id received (as JSON text).
        got: String,
    },

    /// The caller's input cannot be sent (a request not serializable, a bad URL...).
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// Login needs a confirmation code (2FA). Send it with
    /// [`crate::Client::send_auth_code`] and confirm with [`crate::Client::confirm_login`].
    #[error("login needs a confirmation code: {}", .0.message.as_deref().unwrap_or("(no message)"))]
    ConfirmationRequired(Box<ConfirmationInfo>),

    /// The wanted stage/action is not offered by the document now.
    #[error(
        "document {} offers no action {wanted}; available: {}",
        fmt_document(document_id),
        fmt_available(available)
    )]
    ActionNotFound {
        /// The document (`None`: a document given without its `Идентификатор`).
        document_id: Option<crate::model::DocumentId>,
        /// What was looked for (names tried).
        wanted: String,
        /// `(stage, action)` pairs the document offers.
        available: Vec<(String, String)>,
    },

    /// The action requires a comment (`ТребуетКомментария`, or a rejection) and none was given.
    #[error("action {action} requires a comment")]
    CommentRequired {
        /// The action.
        action: String,
    },

    /// A client-side signature was required (`Ключ.Тип = Клиентский`) and the signer gave none.
    #[error(
        "action {action} needs a client-side signature of {attachment} but the signer returned none"
    )]
    SignatureRequired {
        /// The action.
        action: String,
        /// The attachment's id, or its position (`Вложение[n]`); never its file name, which
        /// may hold a surname.
        attachment: String,
    },

    /// The caller's [`crate::Signer`] or [`crate::SessionDecryptor`] failed.
    #[error("the caller-provided signer or session decryptor failed")]
    Signer(#[source] BoxError),

    /// A local file operation (a download to disk, the archive) failed.
    ///
    /// The message names the directory, not the file: archived files are named after the
    /// documents' own file names, which may hold a surname. The full path is in `path`.
    #[error("file error in {}", fmt_dir(path))]
    Io {
        /// The path (of the file, or of the directory itself).
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Configuration is missing or wrong (builder, environment).
    #[error("configuration error: {0}")]
    Config(String),

    /// A document's zip (`СсылкаНаАрхив`) could not be kept: not a zip or damaged (an
    /// entry whose bytes do not match its checksum, a body cut short), or refused — more
    /// entries or more uncompressed bytes than the [`ZipLimits`](crate::ZipLimits), an entry
    /// named absolutely or with a `..` part, a symbolic link. Nothing of it was kept. The
    /// reason names an entry by its position, never by its name (a name may hold a
    /// surname). Retried only when `damaged` (a new download may be whole).
    #[error("the document's zip {reason}")]
    InvalidZip {
        /// What was wrong, without the zip's own names.
        reason: String,
        /// Whether the zip was unreadable or damaged (rather than refused by a limit or a
        /// rule): only then may another download succeed.
        damaged: bool,
    },
}

fn fmt_excerpt(prefix: &str, excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!("{prefix}{excerpt}")
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

/// The directory of `path` (the path itself when it has no parent).
fn fmt_dir(path: &std::path::Path) -> String {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.display().to_string(),
        _ => ".".to_owned(),
    }
}

fn fmt_msg(m: &Option<String>) -> String {
    m.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
}

fn fmt_document(id: &Option<crate::model::DocumentId>) -> String {
    id.as_ref()
        .map_or_else(|| "(without Идентификатор)".to_owned(), ToString::to_string)
}

fn fmt_available(a: &[(String, String)]) -> String {
    if a.is_empty() {
        return "none".to_owned();
    }
    a.iter()
        .map(|(s, act)| format!("{s}/{act}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// Whether the same call, made again later, may succeed: connect errors, timeouts, an
    /// exceeded deadline, maintenance (503/504), 408/429/500/502 without a JSON-RPC body,
    /// the "file not ready" download error, and answers damaged on the way (a truncated
    /// body, an HTML page instead of JSON). Business errors (RPC errors, even with HTTP 500)
    /// are not. Whether a *given call* is retried also depends on its idempotency (see
    /// [`crate::retry`]). See [`ServiceError::is_retryable`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Maintenance { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::DeadlineExceeded { .. } => true,
            Self::Http { status, .. } => hr_docs_core::is_retryable_status(*status),
            Self::Rpc(e) => e.is_file_not_ready(),
            Self::Decode { source, .. } => crate::retry::is_damaged(source),
            Self::InvalidZip { damaged, .. } => *damaged,
            _ => false,
        }
    }

    /// True for authentication problems: session expired beyond renewal, access denied,
    /// PIN locked, confirmation required, and RPC errors on login.
    pub fn is_auth(&self) -> bool {
        match self {
            Self::SessionExpired { .. }
            | Self::AuthFailed { .. }
            | Self::AccessDenied { .. }
            | Self::PinLocked { .. }
            | Self::ConfirmationRequired(_) => true,
            Self::Rpc(e) => {
                e.http_status == 401
                    || e.is_session_error()
                    || crate::transport::LOGIN_METHODS.contains(&e.method.as_str())
            }
            _ => false,
        }
    }

    /// Whether an attempt timed out or the call's deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::DeadlineExceeded { .. })
    }

    /// Whether the call's overall deadline passed ([`Error::DeadlineExceeded`]).
    pub fn is_deadline(&self) -> bool {
        matches!(self, Self::DeadlineExceeded { .. })
    }

    /// The HTTP error status of the answer the failure came in, as received: never made up
    /// (a login refused in an HTTP 200 has none), never a 2xx. `None` when no answer came,
    /// or the failure was inside a successful answer (a JSON-RPC error in an HTTP 200). A
    /// deadline error reports its last attempt's. See [`ServiceError::status`].
    pub fn status(&self) -> Option<u16> {
        let status = match self {
            Self::Rpc(e) => Some(e.http_status),
            Self::SessionExpired { status, .. } | Self::AuthFailed { status, .. } => *status,
            Self::AccessDenied { .. } => Some(403),
            Self::PinLocked { .. } => Some(423),
            Self::Maintenance { status, .. }
            | Self::Http { status, .. }
            | Self::Decode { status, .. }
            | Self::Redirect { status, .. } => Some(*status),
            Self::DeadlineExceeded {
                last_error: Some(e),
                ..
            } => e.status(),
            _ => None,
        };
        status.filter(|s| !(200..300).contains(s))
    }

    /// The RPC error, if this is one.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            Self::Rpc(e) => Some(e),
            _ => None,
        }
    }

    /// A transport error of an attempt that had `timeout` to finish.
    pub(crate) fn transport(e: reqwest::Error, timeout: Duration) -> Self {
        if e.is_timeout() {
            return Self::Timeout { timeout };
        }
        Self::Transport {
            connect: e.is_connect(),
            source: Box::new(e.without_url()),
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

/// `error.code`: a number or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A numeric code (e.g. `-32000`).
    Number(i64),
    /// A textual code.
    Text(String),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

/// A JSON-RPC error answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RpcError {
    /// The method called.
    pub method: String,
    /// HTTP status of the answer.
    pub http_status: u16,
    /// `code` (number or string).
    pub code: Option<ErrorCode>,
    /// `message`.
    pub message: String,
    /// `details`, `None` when absent or equal to `message`.
    pub details: Option<String>,
    /// `type`.
    pub error_type: Option<String>,
    /// `data.classid`.
    pub class_id: Option<String>,
    /// `data.addinfo`.
    pub addinfo: Option<Value>,
}

impl RpcError {
    pub(crate) fn from_wire(method: &str, http_status: u16, w: WireError) -> Self {
        let details = w
            .details
            .filter(|d| !d.trim().is_empty() && d.trim() != w.message.trim());
        let (class_id, addinfo) = match w.data {
            Some(Value::Object(mut m)) => {
                let class_id = m.remove("classid").and_then(|v| match v {
                    Value::String(s) => Some(s),
                    Value::Null => None,
                    other => Some(other.to_string()),
                });
                (class_id, m.remove("addinfo").filter(|v| !v.is_null()))
            }
            _ => (None, None),
        };
        Self {
            method: method.to_owned(),
            http_status,
            code: w.code,
            message: w.message,
            details,
            error_type: w.error_type,
            class_id,
            addinfo,
        }
    }

    /// True when `data.classid` is the "file not ready yet" id.
    pub fn is_file_not_ready(&self) -> bool {
        self.class_id
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(CLASSID_FILE_NOT_READY))
    }

    /// True when `data.classid` is the "confirmation code required" id.
    pub fn is_confirmation_required(&self) -> bool {
        self.class_id
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(CLASSID_CONFIRMATION_REQUIRED))
    }

    /// Heuristic for "the session is no longer valid" errors that arrive as an RPC error
    /// instead of HTTP 401 (Saby publishes no code for it): the message or details mention
    /// the session (`сесси`) together with expired/invalid/not found, or say "unauthorized".
    pub fn is_session_error(&self) -> bool {
        let text =
            format!("{} {}", self.message, self.details.as_deref().unwrap_or("")).to_lowercase();
        let session = text.contains("сесси") || text.contains("session");
        let bad = [
            "истек",
            "истёк",
            "недейств",
            "не найден",
            "неверн",
            "закрыт",
            "expired",
            "invalid",
            "not found",
        ]
        .iter()
        .any(|w| text.contains(w));
        (session && bad) || text.contains("unauthorized") || text.contains("не авторизован")
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Saby error in {}", self.method)?;
        if let Some(c) = &self.code {
            write!(f, " (code {c})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(d) = &self.details {
            write!(f, " — {d}")?;
        }
        if let Some(c) = &self.class_id {
            write!(f, " [classid {c}]")?;
        }
        Ok(())
    }
}

/// The `error` member as sent, read leniently: usually an object
/// `{code, message, details, type, data}`, but a plain string is seen too (`magdv/sbis`,
/// `src/BaseClient.php`, turns `"error": "<text>"` into `{"message": "<text>"}`): then the text
/// is the message. `code` may be a number or a string; a `message` or `details` of another
/// type is kept as its JSON text.
#[derive(Debug, Default)]
pub(crate) struct WireError {
    pub(crate) code: Option<ErrorCode>,
    pub(crate) message: String,
    pub(crate) details: Option<String>,
    pub(crate) error_type: Option<String>,
    pub(crate) data: Option<Value>,
}

impl WireError {
    fn from_value(value: Value) -> Self {
        fn text(v: Option<Value>) -> Option<String> {
            match v? {
                Value::Null => None,
                Value::String(s) => Some(s),
                other => Some(other.to_string()),
            }
        }
        match value {
            Value::Object(mut m) => Self {
                code: match m.remove("code") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(n)) => Some(match n.as_i64() {
                        Some(i) => ErrorCode::Number(i),
                        None => ErrorCode::Text(n.to_string()),
                    }),
                    Some(Value::String(s)) => Some(ErrorCode::Text(s)),
                    Some(other) => Some(ErrorCode::Text(other.to_string())),
                },
                message: text(m.remove("message")).unwrap_or_default(),
                details: text(m.remove("details")),
                error_type: text(m.remove("type")),
                data: m.remove("data").filter(|d| !d.is_null()),
            },
            Value::String(message) => Self {
                message,
                ..Self::default()
            },
            other => Self {
                message: other.to_string(),
                ..Self::default()
            },
        }
    }
}

impl<'de> Deserialize<'de> for WireError {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Error bodies are small: reading the member as a `Value` first costs nothing.
        Value::deserialize(d).map(Self::from_value)
    }
}

crate::model::wire_struct! {
    /// `error.data.addinfo` of the "confirmation code required" login error.
    ///
    /// `session_id` (`ИдентификаторСессии`) is a temporary session; it is kept out of `Debug`.
    /// Read leniently like every wire struct: a field of an unexpected type stays in `extra`
    /// and the rest is still read.
    #[derive(Clone, Default)]
    pub struct ConfirmationInfo {
        /// `Сообщение`.
        pub message: Option<String> = "Сообщение" => Text,
        /// `Телефон` (masked by Saby).
        pub phone: Option<String> = "Телефон" => Text,
        /// `Идентификатор`: passed back to `СБИС.ОтправитьКодАутентификации` and
        /// `СБИС.ПодтвердитьВход`.
        pub id: Option<String> = "Идентификатор" => Text,
        /// `МетодОтправкиКодаПодтверждения`.
        pub send_code_method: Option<String> = "МетодОтправкиКодаПодтверждения" => Text,
        /// `МетодПроверкиКодаИсключения`.
        pub check_code_method: Option<String> = "МетодПроверкиКодаИсключения" => Text,
        /// `ИдентификаторСессии`: the temporary session the follow-up calls are sent with
        /// (secret; redacted in `Debug`).
        pub session_id: Option<String> = "ИдентификаторСессии" => Text,
    }
}

impl fmt::Debug for ConfirmationInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfirmationInfo")
            .field("message", &self.message)
            .field("phone", &self.phone)
            .field("id", &self.id)
            .field("send_code_method", &self.send_code_method)
            .field("check_code_method", &self.check_code_method)
            .field("session_id", &self.session_id.as_ref().map(|_| REDACTED))
            .finish_non_exhaustive()
    }
}

/// A short excerpt of a body for an error message, only when the body is a page (a proxy's
/// HTML or text): a JSON body is an API answer that may carry documents and people, and is
/// never quoted (empty). `secrets` (the session in use) are scrubbed before the cut.
pub(crate) fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    if hr_docs_core::redact::looks_like_json(body) {
        String::new()
    } else {
        hr_docs_core::redact::scrubbed_excerpt(body, secrets, &[])
    }
}

/// `source` without the input's values: serde quotes the offending value (`invalid type:
/// string "<surname>"`); the message is rebuilt without it (see
/// [`hr_docs_core::redact::without_values`]), the position kept. Syntax and EOF errors
/// quote nothing and are kept as they are (their category decides retries).
pub(crate) fn value_free(source: serde_json::Error) -> serde_json::Error {
    if !source.is_data() {
        return source;
    }
    let text = source.to_string();
    let position = format!(" at line {} column {}", source.line(), source.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    let clean = hr_docs_core::redact::without_values(message);
    let clean = if source.line() == 0 {
        clean
    } else {
        format!("{clean}{position}")
    };
    <serde_json::Error as serde::de::Error>::custom(clean)
}

/// Replaces, in place, the value of every key of `value` (at any depth) that names a
/// session or a token (`ИдентификаторСессии`, `sid`, `token`…) with [`REDACTED`]: an error's
/// `addinfo` may carry a temporary session.
pub(crate) fn redact_secret_keys(value: &mut Value) {
    fn secret_key(key: &str) -> bool {
        let k = key.to_lowercase();
        k == "sid"
            || ["сесси", "session", "token", "пароль", "password", "secret"]
                .iter()
                .any(|w| k.contains(w))
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if secret_key(k) && !v.is_null() {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_secret_keys(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secret_keys),
        _ => {}
    }
}
