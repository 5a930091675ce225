//! The client: shared configuration and the request/retry loop every endpoint uses.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hr_docs_core::net::{BodyBuffer, BodyTooLarge};
use hr_docs_core::redact::{looks_like_json, without_values};
use hr_docs_core::{REDACTED, Secret, Timeouts};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::config::{ClientBuilder, HttpMethod};
use crate::error::{Endpoint, Error, Result, excerpt, scrub};
use crate::model::SetId;
use crate::retry::{
    AttemptState, Idempotency, RetryDecision, RetryPolicy, StopReason, failure_of,
    parse_retry_after,
};

/// An async client for the Beorg recognition API.
///
/// Cheap to clone (an `Arc` inside) and safe to share between tasks. Its `Debug`
/// output never shows the token.
///
/// Build one with [`Client::builder`] or [`Client::from_env`]; the calls are
/// [`upload`](Client::upload), [`ready`](Client::ready),
/// [`ready_stream`](Client::ready_stream), [`result`](Client::result) and
/// [`wait_for_result`](Client::wait_for_result).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Config>,
}

pub(crate) struct Config {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Url,
    /// The endpoints' URLs, joined once at build time rather than on every call.
    pub(crate) endpoints: EndpointUrls,
    pub(crate) token: Secret,
    pub(crate) project_id: String,
    pub(crate) machine_uid: Option<String>,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) method: HttpMethod,
    pub(crate) retry_uploads: bool,
    pub(crate) poll_initial: Duration,
    pub(crate) poll_max: Duration,
    /// The largest answer read.
    pub(crate) max_body_bytes: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &c.base_url.as_str())
            .field("token", &REDACTED)
            .field("project_id", &c.project_id)
            .field("machine_uid", &c.machine_uid)
            .field("timeouts", &c.timeouts)
            .field("retry", &c.retry)
            .field("method", &c.method)
            .field("retry_uploads", &c.retry_uploads)
            .field("max_body_bytes", &c.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// The endpoints' URLs relative to the base URL, parsed once per client.
pub(crate) struct EndpointUrls {
    /// `api/bescan/add_document`.
    pub(crate) upload: Url,
    /// `api/document/ready`.
    pub(crate) ready: Url,
    /// `api/document/result/` (the set id is pushed as the last segment).
    pub(crate) result: Url,
}

impl EndpointUrls {
    pub(crate) fn new(base: &Url) -> Result<Self> {
        let join = |relative: &str| {
            base.join(relative)
                .map_err(|e| Error::Config(format!("cannot build the URL for {relative}: {e}")))
        };
        Ok(Self {
            upload: join("api/bescan/add_document")?,
            ready: join("api/document/ready")?,
            result: join("api/document/result/")?,
        })
    }
}

/// One logical call: what to send, and how it may be retried.
pub(crate) struct Call<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) method: reqwest::Method,
    /// May carry the token in its query: never logged, never put in an error.
    pub(crate) url: Url,
    pub(crate) body: Option<Bytes>,
    pub(crate) set_id: Option<&'a SetId>,
    pub(crate) idempotent: bool,
    pub(crate) deadline: Option<Duration>,
    /// Non-2xx statuses handed to the handler instead of becoming `Error::Api`.
    pub(crate) pass_statuses: &'static [u16],
}

/// A response as read from the wire.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Bytes,
}

impl Client {
    /// A builder with the defaults (see [`ClientBuilder`]).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `BEORG_BASE_URL` (optional), `BEORG_TOKEN`,
    /// `BEORG_PROJECT_ID` and `BEORG_MACHINE_UID` (optional).
    ///
    /// Fails with [`Error::Config`] naming the missing variable. To change other
    /// settings, start from [`ClientBuilder::from_env`] instead.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env().build()
    }

    pub(crate) fn from_parts(config: Config) -> Self {
        Self {
            inner: Arc::new(config),
        }
    }

    /// The `project_id` this client sends: the company's number (see
    /// [`ClientBuilder::project_id`]).
    pub fn project_id(&self) -> &str {
        &self.inner.project_id
    }

    /// The base URL requests are made against (always ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The machine uid sent with uploads, if configured.
    pub fn machine_uid(&self) -> Option<&str> {
        self.inner.machine_uid.as_deref()
    }

    /// GET or POST for the ready and result calls.
    pub fn method(&self) -> HttpMethod {
        self.inner.method
    }

    pub(crate) fn token(&self) -> &str {
        self.inner.token.expose()
    }

    /// The URLs of the endpoints (without query; never carry the token).
    pub(crate) fn endpoints(&self) -> &EndpointUrls {
        &self.inner.endpoints
    }

    pub(crate) fn reqwest_method(&self) -> reqwest::Method {
        match self.inner.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
        }
    }

    /// Runs a call with retries. `handle` turns a 2xx (or a `pass_statuses`)
    /// response into a value; its errors go through the retry decision too (so a
    /// truncated body is retried for idempotent calls).
    pub(crate) async fn execute<T>(
        &self,
        call: &Call<'_>,
        handle: impl Fn(RawResponse) -> Result<T>,
    ) -> Result<T> {
        let cfg = &self.inner;
        let timeouts = match call.deadline {
            Some(d) => cfg.timeouts.with_deadline(Some(d)),
            None => cfg.timeouts,
        };
        let deadline = timeouts.deadline();
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut last_error: Option<Error> = None;
        loop {
            let per_attempt = match (timeouts.attempt_timeout(started.elapsed()), deadline) {
                (Some(per_attempt), _) => per_attempt,
                (None, Some(deadline)) => {
                    return Err(Error::DeadlineExceeded {
                        endpoint: call.endpoint,
                        deadline,
                        attempts: attempt,
                        last_error: last_error.map(Box::new),
                    });
                }
                // Without a deadline every attempt gets the full timeout.
                (None, None) => timeouts.per_attempt(),
            };
            attempt += 1;
            let span = tracing::debug_span!(
                "beorg.request",
                endpoint = call.endpoint.as_str(),
                method = %call.method,
                set_id = tracing::field::Empty,
                attempt,
                status = tracing::field::Empty,
            );
            if let Some(id) = call.set_id {
                span.record("set_id", id.as_str());
            }
            let outcome = self
                .attempt(call, per_attempt)
                .instrument(span.clone())
                .await
                .and_then(|raw| {
                    span.record("status", raw.status);
                    if (200..300).contains(&raw.status) || call.pass_statuses.contains(&raw.status)
                    {
                        handle(raw)
                    } else {
                        Err(api_error(call.endpoint, &raw, self.token()))
                    }
                });
            let err = match outcome {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let state = AttemptState::new(attempt, started.elapsed())
                .with_deadline(deadline)
                .with_idempotency(Idempotency::from_bool(call.idempotent))
                .with_jitter(fastrand::f64());
            match cfg.retry.decide(&failure_of(&err), &state) {
                RetryDecision::Retry(delay) => {
                    span.in_scope(|| {
                        tracing::debug!(error = %err, delay_ms = delay.as_millis() as u64, "retrying Beorg request");
                    });
                    last_error = Some(err);
                    tokio::time::sleep(delay).await;
                }
                RetryDecision::Stop(StopReason::Deadline) if let Some(deadline) = deadline => {
                    span.in_scope(|| tracing::debug!(error = %err, "deadline reached, giving up"));
                    return Err(Error::DeadlineExceeded {
                        endpoint: call.endpoint,
                        deadline,
                        attempts: attempt,
                        last_error: Some(Box::new(err)),
                    });
                }
                RetryDecision::Stop(_) => {
                    span.in_scope(|| tracing::debug!(error = %err, "Beorg request failed"));
                    return Err(err);
                }
            }
        }
    }

    async fn attempt(&self, call: &Call<'_>, timeout: Duration) -> Result<RawResponse> {
        let cfg = &self.inner;
        let mut req = cfg.http.request(call.method.clone(), call.url.clone());
        if let Some(body) = &call.body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let endpoint = call.endpoint;
        let limit = cfg.max_body_bytes;
        let exchange = async {
            let mut resp = req
                .send()
                .await
                .map_err(|e| transport(endpoint, e, timeout))?;
            let status = resp.status().as_u16();
            if let Some(err) = redirect_error(endpoint, &call.url, &resp) {
                return Err(err);
            }
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
            // Read chunk by chunk and stop at the limit, whatever Content-Length claims.
            let too_large = |e: BodyTooLarge| Error::BodyTooLarge {
                endpoint,
                limit: e.limit,
            };
            let mut body = BodyBuffer::new(limit, resp.content_length()).map_err(too_large)?;
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| transport(endpoint, e, timeout))?
            {
                body.push(&chunk).map_err(too_large)?;
            }
            Ok(RawResponse {
                status,
                retry_after,
                body: Bytes::from(body.into_vec()),
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout { endpoint, timeout }),
        }
    }

    /// Decodes a JSON body, naming the path of the first bad field.
    ///
    /// Fast path first: a plain `serde_json` decode, which costs no more than decoding
    /// into a `serde_json::Value`. Path tracking (`serde_path_to_error` allocates a
    /// `String` for every map key it passes) only runs when that fails: decoding is
    /// deterministic, so the second pass fails at the same place with the same error,
    /// and now knows its path.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        raw: &RawResponse,
    ) -> Result<T> {
        match serde_json::from_slice(&raw.body) {
            Ok(value) => Ok(value),
            Err(_) => self.decode_tracked(endpoint, raw),
        }
    }

    /// The slow path of [`decode`](Self::decode): the same decode with path tracking.
    #[cold]
    fn decode_tracked<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        raw: &RawResponse,
    ) -> Result<T> {
        let mut de = serde_json::Deserializer::from_slice(&raw.body);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            self.decode_error(endpoint, raw, path, e.into_inner())
        })?;
        de.end()
            .map_err(|e| self.decode_error(endpoint, raw, ".".to_owned(), e))?;
        Ok(value)
    }

    pub(crate) fn decode_error(
        &self,
        endpoint: Endpoint,
        raw: &RawResponse,
        path: String,
        source: serde_json::Error,
    ) -> Error {
        // A result holds recognized documents: its body is quoted only when it is a
        // markup page (a proxy's HTML), never as text or JSON, whole or cut off. Other
        // answers are quoted when they are not JSON.
        let quote = if endpoint == Endpoint::Result {
            is_markup(&raw.body)
        } else {
            !looks_like_json(&raw.body)
        };
        Error::Decode {
            endpoint,
            status: raw.status,
            path,
            excerpt: if quote {
                excerpt(&raw.body, self.token())
            } else {
                String::new()
            },
            source: value_free(source),
        }
    }
}

/// Whether `body` is a markup page (`<html>`, `<?xml`, `<!DOCTYPE`): its first non-blank
/// byte is `<`, which no JSON answer starts with.
fn is_markup(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// `source` without the input's values: serde quotes the offending value (`invalid type:
/// string "<surname>"`); that message is rebuilt without it (see
/// [`hr_docs_core::redact::without_values`]), with the position kept. Syntax and EOF errors
/// quote nothing and are kept as they are (their category decides retries).
pub(crate) fn value_free(source: serde_json::Error) -> serde_json::Error {
    if !source.is_data() {
        return source;
    }
    let text = source.to_string();
    let position = format!(" at line {} column {}", source.line(), source.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    let clean = without_values(message);
    let clean = if source.line() == 0 {
        clean
    } else {
        format!("{clean}{position}")
    };
    <serde_json::Error as serde::de::Error>::custom(clean)
}

/// A redirect answer (301, 302, 303, 307, 308), or an answer from another origin than the
/// one asked (an `http_client` that follows redirects): [`Error::Redirect`] naming the
/// target host, never the URL (it may carry `?token=`).
fn redirect_error(endpoint: Endpoint, asked: &Url, resp: &reqwest::Response) -> Option<Error> {
    let status = resp.status().as_u16();
    if matches!(status, 301 | 302 | 303 | 307 | 308) {
        let host = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|location| asked.join(location).ok())
            .and_then(|target| authority(&target));
        return Some(Error::Redirect {
            endpoint,
            status,
            host,
            followed: false,
        });
    }
    let answered = resp.url();
    if answered.origin() != asked.origin() {
        return Some(Error::Redirect {
            endpoint,
            status,
            host: authority(answered),
            followed: true,
        });
    }
    None
}

/// `host[:port]` of a URL (no scheme, no user info, no path, no query).
pub(crate) fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

fn transport(endpoint: Endpoint, e: reqwest::Error, timeout: Duration) -> Error {
    if e.is_timeout() {
        Error::Timeout { endpoint, timeout }
    } else {
        Error::Transport {
            endpoint,
            connect: e.is_connect(),
            source: Box::new(e.without_url()),
        }
    }
}

/// Builds `Error::Api` from an error response: `errors.type` / `errors.message`
/// when the body has them, else a top-level `message`/`error`, else a body excerpt.
pub(crate) fn api_error(endpoint: Endpoint, raw: &RawResponse, token: &str) -> Error {
    let json: Option<serde_json::Value> = serde_json::from_slice(&raw.body).ok();
    let text = |v: Option<&serde_json::Value>| -> Option<String> {
        v.and_then(|v| match v {
            serde_json::Value::String(s) if !s.is_empty() => Some(scrub(s, token)),
            serde_json::Value::Null => None,
            serde_json::Value::String(_) => None,
            other => Some(scrub(&other.to_string(), token)),
        })
    };
    let (error_type, message) = match &json {
        Some(v) => {
            let errors = v.get("errors").or_else(|| v.get("error"));
            let errors = match errors {
                Some(serde_json::Value::Array(a)) => a.first(),
                other => other,
            };
            match errors {
                Some(obj @ serde_json::Value::Object(_)) => (
                    text(obj.get("type").or_else(|| obj.get("code"))),
                    text(obj.get("message").or_else(|| obj.get("detail"))),
                ),
                Some(serde_json::Value::String(s)) => {
                    (None, text(Some(&serde_json::Value::String(s.clone()))))
                }
                _ => (None, text(v.get("message"))),
            }
        }
        None => (None, None),
    };
    // Quoted only when it is a page (a proxy's HTML), never a JSON answer of unknown shape
    // (for `result`, one that may carry recognized data).
    let message = message.or_else(|| {
        let e = excerpt(&raw.body, token);
        (!e.is_empty() && !looks_like_json(&raw.body)).then_some(e)
    });
    // 409: the existing object's id, read where yii2-beorg-api reads it
    // (`error.data.questionary_id`); `errors` accepted too.
    let questionary_id = json.as_ref().and_then(|v| {
        ["error", "errors"].iter().find_map(|key| {
            match v.get(*key)?.get("data")?.get("questionary_id")? {
                serde_json::Value::String(s) if !s.trim().is_empty() => {
                    Some(scrub(s.trim(), token))
                }
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        })
    });
    Error::Api {
        endpoint,
        status: raw.status,
        error_type,
        message,
        retry_after: raw.retry_after,
        questionary_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            retry_after: None,
            body: Bytes::from(body.to_owned()),
        }
    }

    fn parts(e: Error) -> (Option<String>, Option<String>) {
        match e {
            Error::Api {
                error_type,
                message,
                ..
            } => (error_type, message),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn api_error_bodies_in_several_shapes() {
        let ep = Endpoint::Result;
        assert_eq!(
            parts(api_error(
                ep,
                &raw(
                    404,
                    r#"{"errors": {"type": "CampaignNotFound", "message": "nope"}}"#
                ),
                "tok-123"
            )),
            (Some("CampaignNotFound".into()), Some("nope".into()))
        );
        assert_eq!(
            parts(api_error(
                ep,
                &raw(400, r#"{"errors": [{"code": "E1", "detail": "bad"}]}"#),
                "tok-123"
            )),
            (Some("E1".into()), Some("bad".into()))
        );
        assert_eq!(
            parts(api_error(
                ep,
                &raw(400, r#"{"error": "bad start_id"}"#),
                "tok-123"
            )),
            (None, Some("bad start_id".into()))
        );
        assert_eq!(
            parts(api_error(
                ep,
                &raw(500, r#"{"message": "oops"}"#),
                "tok-123"
            )),
            (None, Some("oops".into()))
        );
        assert_eq!(parts(api_error(ep, &raw(502, ""), "tok-123")), (None, None));
        let (_, m) = parts(api_error(
            ep,
            &raw(502, "<h1>Bad Gateway</h1>\n"),
            "tok-123",
        ));
        assert_eq!(m.as_deref(), Some("<h1>Bad Gateway</h1>"));
    }

    #[test]
    fn public_types_are_thread_safe() {
        fn assert_traits<T: Send + Sync + Clone + fmt::Debug + 'static>() {}
        fn assert_send<T: Send + Unpin + 'static>() {}
        assert_traits::<Client>();
        assert_traits::<ClientBuilder>();
        assert_traits::<crate::RecognitionResult>();
        assert_traits::<crate::ReadySets>();
        assert_traits::<crate::UploadRequest>();
        assert_send::<crate::ReadyStream>();
        fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
        assert_error::<Error>();
    }
}
