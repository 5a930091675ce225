//! JSON-RPC 2.0 framing: the request envelope, endpoints, and turning an HTTP answer into a
//! raw `result` or a typed [`Error`]. No I/O here.

use std::time::Duration;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use url::Url;

use hr_docs_core::REDACTED;

use crate::error::{
    ConfirmationInfo, Error, Result, RpcError, WireError, excerpt, redact_secret_keys, value_free,
};

/// The `Content-Type` Saby needs (without the charset it reads cp1251 and fails with -32700).
pub(crate) const CONTENT_TYPE: &str = "application/json-rpc;charset=utf-8";
/// Header carrying the session id after login/password or certificate login.
pub(crate) const SESSION_HEADER: &str = "X-SBISSessionID";
/// Header carrying the token of service-application auth.
pub(crate) const ACCESS_TOKEN_HEADER: &str = "X-SBISAccessToken";

/// Which path a method is posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `/auth/service/`: login, logout, accounts.
    Auth,
    /// `/service/?srv=1`: everything else.
    Service,
}

impl Endpoint {
    /// The endpoint Saby expects for `method`.
    pub fn for_method(method: &str) -> Self {
        if AUTH_METHODS.contains(&method) {
            Self::Auth
        } else {
            Self::Service
        }
    }
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "/auth/service/",
            Self::Service => "/service/?srv=1",
        }
    }
}

pub(crate) const AUTH_METHODS: &[&str] = &[
    "СБИС.Аутентифицировать",
    "СБИС.АутентифицироватьПоСертификату",
    "СБИС.СписокСертификатовДляАутентификации",
    "СБИС.ОтправитьКодАутентификации",
    "СБИС.ПодтвердитьВход",
    "СБИС.Выход",
    "СБИС.СписокАккаунтов",
    "СБИС.ПереключитьАккаунт",
];

/// Login methods: called without a session; their answers carry secrets.
pub(crate) const LOGIN_METHODS: &[&str] = &[
    "СБИС.Аутентифицировать",
    "СБИС.АутентифицироватьПоСертификату",
    "СБИС.СписокСертификатовДляАутентификации",
    "СБИС.ОтправитьКодАутентификации",
    "СБИС.ПодтвердитьВход",
];

/// Methods whose answer carries a session id (or a secret that yields one): their bodies
/// are never quoted, in an error or a log line, whatever goes wrong. The login methods, plus
/// `СБИС.ПереключитьАккаунт` (its result is the new session). The service-application login
/// (`/oauth/service/`, not JSON-RPC) and a caller's [`crate::CallOptions::secret_answer`]
/// are treated the same way.
pub(crate) const SESSION_ANSWER_METHODS: &[&str] = &[
    "СБИС.Аутентифицировать",
    "СБИС.АутентифицироватьПоСертификату",
    "СБИС.СписокСертификатовДляАутентификации",
    "СБИС.ОтправитьКодАутентификации",
    "СБИС.ПодтвердитьВход",
    "СБИС.ПереключитьАккаунт",
];

/// Joins `path` (e.g. `/service/?srv=1`) to the base URL, whether or not the base ends with
/// a slash or already has a path prefix.
pub(crate) fn join(base: &Url, path: &str) -> Result<Url> {
    let mut s = base.as_str().trim_end_matches('/').to_owned();
    s.push('/');
    s.push_str(path.trim_start_matches('/'));
    Url::parse(&s).map_err(|e| Error::Config(format!("cannot join {path} to the base URL: {e}")))
}

#[derive(Serialize)]
struct Envelope<'a, P: ?Sized> {
    jsonrpc: &'static str,
    method: &'a str,
    params: &'a P,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<i64>,
    id: u64,
}

/// Serializes the request straight into the body buffer (base64 payloads stream into it).
pub(crate) fn encode_request<P: Serialize + ?Sized>(
    method: &str,
    params: &P,
    protocol: Option<i64>,
    id: u64,
) -> Result<bytes::Bytes> {
    let mut buf = Vec::with_capacity(512);
    serde_json::to_writer(
        &mut buf,
        &Envelope {
            jsonrpc: "2.0",
            method,
            params,
            protocol,
            id,
        },
    )
    .map_err(|e| Error::InvalidInput(format!("cannot serialize params of {method}: {e}")))?;
    Ok(bytes::Bytes::from(buf))
}

#[derive(Deserialize)]
struct ResponseEnvelope<'a> {
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<WireError>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorOnly {
    #[serde(default)]
    error: Option<WireError>,
}

/// The answer's `Retry-After`, parsed relative to the system clock (see
/// [`hr_docs_core::parse_retry_after`]: delay-seconds or any of the three HTTP-date forms,
/// saturating; a date in the past gives zero).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    hr_docs_core::parse_retry_after(value, std::time::SystemTime::now())
}

fn error_message(body: &[u8]) -> Option<String> {
    let e: ErrorOnly = serde_json::from_slice(body).ok()?;
    e.error.map(|e| e.message).filter(|m| !m.is_empty())
}

/// Maps statuses that mean the same thing whatever the body: 401, 403, 423, 503/504, 429, 502.
/// `secret_body`: the answer carries a session (never quoted); `scrub`: secrets to take out
/// of whatever is quoted (the session in use).
pub(crate) fn status_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    secret_body: bool,
    scrub: &[&str],
) -> Option<Error> {
    let msg = || {
        if secret_body {
            None
        } else {
            error_message(body).map(|m| hr_docs_core::redact::scrub(&m, scrub))
        }
    };
    match status {
        401 => Some(Error::SessionExpired {
            message: msg().unwrap_or_else(|| "HTTP 401".to_owned()),
            status: Some(401),
        }),
        403 => Some(Error::AccessDenied { message: msg() }),
        423 => Some(Error::PinLocked { message: msg() }),
        503 | 504 => Some(Error::Maintenance {
            status,
            retry_after: retry_after(headers),
        }),
        429 | 502 => Some(Error::Http {
            status,
            excerpt: body_excerpt(body, secret_body, scrub),
            retry_after: retry_after(headers),
        }),
        _ => None,
    }
}

/// What an error quotes of a body: nothing of an answer that carries a session (the
/// marker says why), nothing of a JSON answer; the start of a page, `scrub` taken out
/// before it is cut.
pub(crate) fn body_excerpt(body: &[u8], secret: bool, scrub: &[&str]) -> String {
    if secret {
        format!("{REDACTED} (an answer that carries a session)")
    } else {
        excerpt(body, scrub)
    }
}

/// The id an answer carried, for [`Error::IdMismatch`]: a number or a short string as it
/// came, anything else only by its kind (an id is never a place for data).
fn id_text(got: &serde_json::Value) -> String {
    use serde_json::Value;
    match got {
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?}"),
        Value::String(_) => "a long string".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        Value::Null => "null".to_owned(),
    }
}

/// Turns a JSON-RPC answer into its raw `result`, or the error it carries.
///
/// `secret_body`: the answer carries a session id (see [`SESSION_ANSWER_METHODS`]): it is
/// never quoted. `scrub`: secrets taken out of anything quoted (the session in use).
pub(crate) fn parse_rpc_response(
    method: &str,
    sent_id: u64,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    secret_body: bool,
    scrub: &[&str],
) -> Result<Box<RawValue>> {
    if let Some(e) = status_error(status, headers, body, secret_body, scrub) {
        return Err(e);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let env: ResponseEnvelope<'_> = match serde_path_to_error::deserialize(de) {
        Ok(env) => env,
        Err(e) => {
            let path = e.path().to_string();
            if !(200..300).contains(&status) {
                return Err(Error::Http {
                    status,
                    excerpt: body_excerpt(body, secret_body, scrub),
                    retry_after: retry_after(headers),
                });
            }
            return Err(Error::Decode {
                method: method.to_owned(),
                path,
                status,
                excerpt: body_excerpt(body, secret_body, scrub),
                source: value_free(e.into_inner()),
            });
        }
    };
    if let Some(got) = &env.id {
        let matches = match got {
            serde_json::Value::Null => true,
            serde_json::Value::Number(n) => n.as_u64() == Some(sent_id),
            serde_json::Value::String(s) => s.trim() == sent_id.to_string(),
            _ => false,
        };
        if !matches {
            return Err(Error::IdMismatch {
                method: method.to_owned(),
                sent: sent_id,
                got: id_text(got),
            });
        }
    }
    if let Some(w) = env.error {
        let mut rpc = RpcError::from_wire(method, status, w);
        if rpc.is_confirmation_required() {
            let info = rpc
                .addinfo
                .clone()
                .and_then(|v| serde_json::from_value::<ConfirmationInfo>(v).ok())
                .unwrap_or_else(|| ConfirmationInfo {
                    message: Some(rpc.message.clone()),
                    ..Default::default()
                });
            return Err(Error::ConfirmationRequired(Box::new(info)));
        }
        // An error's `addinfo` may carry a temporary session; its text, the one in use.
        if let Some(addinfo) = rpc.addinfo.as_mut() {
            redact_secret_keys(addinfo);
        }
        rpc.message = hr_docs_core::redact::scrub(&rpc.message, scrub);
        rpc.details = rpc.details.map(|d| hr_docs_core::redact::scrub(&d, scrub));
        return Err(Error::Rpc(Box::new(rpc)));
    }
    if !(200..300).contains(&status) {
        return Err(Error::Http {
            status,
            excerpt: body_excerpt(body, secret_body, scrub),
            retry_after: retry_after(headers),
        });
    }
    match env.result {
        Some(r) => Ok(r.to_owned()),
        None => {
            // `"result": null` (or absent): a valid "nothing" answer.
            RawValue::from_string("null".to_owned()).map_err(|e| Error::Decode {
                method: method.to_owned(),
                path: "result".to_owned(),
                status,
                excerpt: String::new(),
                source: e,
            })
        }
    }
}

/// Decodes a raw JSON value into `T`, naming the JSON path on failure (prefixed by `prefix`).
///
/// The first pass runs without path tracking (`serde_path_to_error` allocates a `String` for
/// every key it passes, which on a 50-document page costs more than the rest of the
/// decoding's allocations together); only when it fails is the same text decoded again
/// under `serde_path_to_error`, which fails at the same place and names the path.
///
/// The error never quotes `raw` (a result is documents, people or a session): it says where
/// and what kind of value, not the value. `secret` marks it as an answer that carries a
/// session.
pub(crate) fn decode<T: DeserializeOwned>(
    method: &str,
    status: u16,
    prefix: &str,
    raw: &str,
    secret: bool,
) -> Result<T> {
    if let Ok(value) = decode_fast(raw) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." || inner.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{inner}")
        };
        Error::Decode {
            method: method.to_owned(),
            path,
            status,
            // `raw` is JSON (a `result`): never quoted.
            excerpt: if secret {
                body_excerpt(b"", true, &[])
            } else {
                String::new()
            },
            source: value_free(e.into_inner()),
        }
    })
}

#[derive(Deserialize)]
struct MaybeWrapped<'a> {
    #[serde(rename = "Документ", borrow, default)]
    document: Option<&'a RawValue>,
    #[serde(rename = "Идентификатор", default)]
    id: Option<IgnoredAny>,
}

/// What the first key of a JSON object says about a `Документ` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstKey {
    /// The first key is `Идентификатор`: a bare document (a wrapper has no id of its own).
    Id,
    /// The first key is `Документ` and its value is an object: most likely wrapped.
    Document,
    /// Anything else (another key, escapes in the key, not an object...): probe fully.
    Other,
}

/// Looks at the first key of the object in `text` without parsing the rest.
fn first_key(text: &str) -> FirstKey {
    fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return FirstKey::Other;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) != Some(&b'"') {
        return FirstKey::Other;
    }
    let start = i + 1;
    // A key with an escape is rare enough to leave to the full probe.
    let Some(len) = b[start..].iter().position(|&c| c == b'"' || c == b'\\') else {
        return FirstKey::Other;
    };
    let end = start + len;
    if b[end] != b'"' {
        return FirstKey::Other;
    }
    match &text[start..end] {
        "Идентификатор" => FirstKey::Id,
        "Документ" => {
            let colon = skip_ws(b, end + 1);
            if b.get(colon) != Some(&b':') {
                return FirstKey::Other;
            }
            if b.get(skip_ws(b, colon + 1)) == Some(&b'{') {
                FirstKey::Document
            } else {
                FirstKey::Other
            }
        }
        _ => FirstKey::Other,
    }
}

/// `{"Документ": T, ...}` read in one pass; `None` when the object turns out to be a bare
/// document after all (an `Идентификатор` key, or `Документ` twice).
struct Wrapped<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Wrapped<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Wrapped<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut doc = None;
                let mut bare = false;
                while let Some(key) = map.next_key::<crate::model::WireKey<'de>>()? {
                    match &*key.0 {
                        "Документ" if doc.is_none() && !bare => {
                            doc = Some(map.next_value::<T>()?)
                        }
                        "Документ" | "Идентификатор" => {
                            bare = true;
                            map.next_value::<IgnoredAny>()?;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Wrapped(if bare { None } else { doc }))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Decodes a `Документ` result, accepting it bare or wrapped as `{"Документ": {...}}`.
///
/// Wrapped means: a `Документ` key holding an object, and no `Идентификатор` key. The
/// usual shapes are decided by the first key alone, so the body is parsed once: a bare
/// document starts with `Идентификатор`; a wrapper starting with `Документ` is decoded in one
/// pass (the inner document straight into `T`). Anything else, and any error on the
/// wrapped pass (to report it exactly as before), goes through the full probe.
pub(crate) fn decode_document<T: DeserializeOwned>(method: &str, raw: &RawValue) -> Result<T> {
    let text = raw.get();
    match first_key(text) {
        FirstKey::Id => return decode(method, 200, "result", text, false),
        FirstKey::Document => {
            if let Ok(Wrapped(doc)) = decode_fast::<Wrapped<T>>(text) {
                return match doc {
                    Some(doc) => Ok(doc),
                    None => decode(method, 200, "result", text, false),
                };
            }
        }
        FirstKey::Other => {}
    }
    decode_document_probed(method, text)
}

/// The exact rule, with a full probe parse first.
fn decode_document_probed<T: DeserializeOwned>(method: &str, text: &str) -> Result<T> {
    if let Ok(w) = serde_json::from_str::<MaybeWrapped<'_>>(text)
        && let (Some(doc), None) = (w.document, w.id)
        && doc.get().trim_start().starts_with('{')
    {
        return decode(method, 200, "result.Документ", doc.get(), false);
    }
    decode(method, 200, "result", text, false)
}

/// Decodes `text` without path tracking (the caller redoes the work with it on error).
fn decode_fast<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str(text)
}

/// Decodes a JSON value into `T`, naming the JSON path (under `prefix`) on failure.
pub(crate) fn decode_value<T: DeserializeOwned>(
    method: &str,
    prefix: &str,
    value: serde_json::Value,
) -> Result<T> {
    // Never quoted: a value is part of an answer (a person, an organization).
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." || inner.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{inner}")
        };
        Error::Decode {
            method: method.to_owned(),
            path,
            status: 200,
            excerpt: String::new(),
            source: value_free(e.into_inner()),
        }
    })
}

/// Decodes a list result given as an array, as `{<key>: [...]}` / `{<key>: {...}}`, or as a
/// single object.
pub(crate) fn decode_list<T: DeserializeOwned>(
    method: &str,
    raw: &RawValue,
    keys: &[&str],
) -> Result<Vec<T>> {
    use serde_json::Value;
    let value: Value = decode(method, 200, "result", raw.get(), false)?;
    let (prefix, items) = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Object(mut m) => match keys.iter().find(|k| m.contains_key(**k)) {
            Some(k) => (format!("result.{k}"), m.remove(*k).unwrap_or(Value::Null)),
            None => ("result".to_owned(), Value::Object(m)),
        },
        other => ("result".to_owned(), other),
    };
    match items {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| decode_value(method, &format!("{prefix}[{i}]"), item))
            .collect(),
        one => Ok(vec![decode_value(method, &prefix, one)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> Result<Box<RawValue>> {
        parse_rpc_response(
            "СБИС.Тест",
            7,
            status,
            &reqwest::header::HeaderMap::new(),
            body.as_bytes(),
            false,
            &[],
        )
    }

    #[test]
    fn retry_after_is_read_from_the_header() {
        // The forms and the saturation are `hr_docs_core::parse_retry_after`'s own tests.
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, "12".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "18446744073709551616".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::MAX));
    }

    #[test]
    fn joins_with_and_without_trailing_slash_and_prefix() {
        for (base, expected) in [
            (
                "https://online.sbis.ru",
                "https://online.sbis.ru/service/?srv=1",
            ),
            (
                "https://online.sbis.ru/",
                "https://online.sbis.ru/service/?srv=1",
            ),
            (
                "http://127.0.0.1:8080/prefix",
                "http://127.0.0.1:8080/prefix/service/?srv=1",
            ),
            (
                "http://127.0.0.1:8080/prefix/",
                "http://127.0.0.1:8080/prefix/service/?srv=1",
            ),
        ] {
            let base = Url::parse(base).unwrap();
            assert_eq!(
                join(&base, Endpoint::Service.as_str()).unwrap().as_str(),
                expected
            );
        }
        let base = Url::parse("https://online.sbis.ru").unwrap();
        assert_eq!(
            join(&base, Endpoint::Auth.as_str()).unwrap().as_str(),
            "https://online.sbis.ru/auth/service/"
        );
    }

    #[test]
    fn endpoints_by_method() {
        assert_eq!(
            Endpoint::for_method("СБИС.Аутентифицировать"),
            Endpoint::Auth
        );
        assert_eq!(Endpoint::for_method("СБИС.Выход"), Endpoint::Auth);
        assert_eq!(
            Endpoint::for_method("СБИС.ЗаписатьДокумент"),
            Endpoint::Service
        );
    }

    #[test]
    fn ids_match_as_numbers_or_strings_and_null_is_accepted_for_errors() {
        assert!(parse(200, r#"{"jsonrpc":"2.0","result":1,"id":7}"#).is_ok());
        assert!(parse(200, r#"{"jsonrpc":"2.0","result":1,"id":"7"}"#).is_ok());
        assert!(matches!(
            parse(200, r#"{"jsonrpc":"2.0","result":1,"id":8}"#),
            Err(Error::IdMismatch { .. })
        ));
        let err = parse(
            200,
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.rpc().unwrap().code,
            Some(crate::error::ErrorCode::Number(-32700))
        );
        assert_eq!(
            parse(200, r#"{"jsonrpc":"2.0","result":null,"id":7}"#)
                .unwrap()
                .get(),
            "null"
        );
    }

    #[test]
    fn login_answers_are_never_quoted() {
        let err = parse_rpc_response(
            "СБИС.Аутентифицировать",
            1,
            200,
            &reqwest::header::HeaderMap::new(),
            br#"{"jsonrpc":"2.0","result":"sid-123"#,
            true,
            &[],
        )
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("sid-123"));
    }

    #[test]
    fn wrapped_and_bare_documents() {
        let wrapped =
            RawValue::from_string(r#"{"Документ":{"Идентификатор":"a"}}"#.to_owned()).unwrap();
        let bare = RawValue::from_string(
            r#"{"Идентификатор":"b","Документ":{"Идентификатор":"x"}}"#.to_owned(),
        )
        .unwrap();
        let a: crate::model::Document = decode_document("m", &wrapped).unwrap();
        let b: crate::model::Document = decode_document("m", &bare).unwrap();
        assert_eq!(a.id.as_ref().map(|i| i.as_str()), Some("a"));
        assert_eq!(b.id.as_ref().map(|i| i.as_str()), Some("b"));
    }

    fn doc(json: &str) -> Result<crate::model::Document> {
        decode_document("m", &RawValue::from_string(json.to_owned()).unwrap())
    }

    #[test]
    fn first_key_scan() {
        assert_eq!(first_key(r#" { "Идентификатор" : 1}"#), FirstKey::Id);
        assert_eq!(first_key("{\n\"Документ\" :\t{}}"), FirstKey::Document);
        assert_eq!(first_key(r#"{"Документ":null}"#), FirstKey::Other);
        assert_eq!(first_key(r#"{"Документ":[{}]}"#), FirstKey::Other);
        assert_eq!(first_key(r#"{"\u0414окумент":{}}"#), FirstKey::Other);
        assert_eq!(first_key(r#"{"Тип":"x"}"#), FirstKey::Other);
        assert_eq!(first_key("{}"), FirstKey::Other);
        assert_eq!(first_key("[]"), FirstKey::Other);
        assert_eq!(first_key(r#"{"Докум"#), FirstKey::Other);
        assert_eq!(first_key(""), FirstKey::Other);
    }

    #[test]
    fn wrapped_or_bare_whatever_the_key_order() {
        // Wrapped, other keys around it.
        let d = doc(r#"{"Документ":{"Идентификатор":"in"},"Навигация":{}}"#).unwrap();
        assert_eq!(d.id.as_ref().map(|i| i.as_str()), Some("in"));
        let d = doc(r#"{"Навигация":{},"Документ":{"Идентификатор":"in"}}"#).unwrap();
        assert_eq!(d.id.as_ref().map(|i| i.as_str()), Some("in"));
        // `Документ` first, but an id later: a bare document with an unknown `Документ`.
        let d = doc(r#"{"Документ":{"Идентификатор":"in"},"Идентификатор":"out"}"#).unwrap();
        assert_eq!(d.id.as_ref().map(|i| i.as_str()), Some("out"));
        assert_eq!(d.extra["Документ"]["Идентификатор"], "in");
        // `Документ` twice: not a wrapper (the probe rejects it), so bare.
        let d =
            doc(r#"{"Документ":{"Идентификатор":"a"},"Документ":{"Идентификатор":"b"}}"#).unwrap();
        assert_eq!(d.id, None);
        assert_eq!(d.extra["Документ"]["Идентификатор"], "b");
        // `Документ` not an object: bare.
        let d = doc(r#"{"Документ":"текст","Тип":"т"}"#).unwrap();
        assert_eq!(d.doc_type.as_deref(), Some("т"));
        assert_eq!(d.extra["Документ"], "текст");
    }

    #[test]
    fn a_value_of_another_type_never_fails_the_document() {
        // Was a decode error before the model became lenient: the odd value is kept raw.
        let d = doc(r#"{"Документ":{"Вложение":[{"Файл":{"Имя":[1]}}]}}"#).unwrap();
        assert_eq!(d.attachments[0].file.as_ref().unwrap().extra["Имя"][0], 1);
        let d = doc(r#"{"Идентификатор":"x","Этап":{"Действие":[{},{"Название":{}}]}}"#).unwrap();
        assert_eq!(d.stages[0].actions.len(), 2);
        assert!(d.stages[0].actions[1].extra["Название"].is_object());
    }

    #[test]
    fn a_result_that_is_no_document_is_a_decode_error() {
        // Bodies that are not JSON fail earlier, in `parse_rpc_response`; what is left for the
        // document decoder to refuse is a result that is not an object at all.
        for json in [r#""текст""#, "[1, 2]", "42"] {
            match doc(json).unwrap_err() {
                Error::Decode { path, source, .. } => {
                    assert_eq!(path, "result", "{json}");
                    assert!(source.is_data(), "{json}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
