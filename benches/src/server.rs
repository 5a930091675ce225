//! A minimal axum loopback server that plays Beorg and Saby with fixed answers.
//!
//! It is deliberately cheap: answers are prebuilt byte buffers, request bodies are streamed
//! and dropped (only their first and last 4 KiB are kept, to find the JSON-RPC `method` and
//! `id`), and nothing is parsed into a JSON tree. So the time a benchmark sees is the
//! client's, not the server's, and a 20 MB upload does not make the server hold 20 MB.
//!
//! Routes:
//!
//! | route | answer |
//! |---|---|
//! | `GET/POST /api/document/ready` | [`fixtures::BEORG_READY`] |
//! | `GET/POST /api/document/result/{set}` | [`fixtures::BEORG_RESULT`] with `document_id` = `{set}` |
//! | `POST /api/bescan/add_document` | `{"document_id": "s-N"}` |
//! | `POST /auth/service/` | `СБИС.Аутентифицировать` → [`fixtures::SABY_SID`], `СБИС.Выход` → `null` |
//! | `POST /service/` | `СБИС.ЗаписатьДокумент` / `СБИС.ПрочитатьДокумент` → [`fixtures::SABY_DOCUMENT`], `СБИС.СписокИзменений` → [`fixtures::saby_changes`] |
//!
//! Beorg calls without the token get 401; Saby calls without the `X-SBISSessionID` header
//! (or with another one) get HTTP 401 with a JSON-RPC error, as the real service does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use futures::StreamExt;
use tokio::task::JoinHandle;

use crate::fixtures;

/// What the server counts, one counter pair per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Beorg `/api/document/ready`.
    BeorgReady,
    /// Beorg `/api/document/result/{set}`.
    BeorgResult,
    /// Beorg `/api/bescan/add_document`.
    BeorgUpload,
    /// Saby `/auth/service/`.
    SabyAuth,
    /// Saby `СБИС.ЗаписатьДокумент`.
    SabyWrite,
    /// Saby `СБИС.ПрочитатьДокумент`.
    SabyRead,
    /// Saby `СБИС.СписокИзменений`.
    SabyChanges,
    /// Anything refused: wrong token or session, unknown method.
    Rejected,
}

const ENDPOINTS: usize = 8;

impl Endpoint {
    fn index(self) -> usize {
        self as usize
    }
}

/// Per-endpoint request and byte counters.
#[derive(Debug, Default)]
pub struct Stats {
    requests: [AtomicU64; ENDPOINTS],
    bytes_in: [AtomicU64; ENDPOINTS],
}

impl Stats {
    /// Requests received on `endpoint` so far.
    pub fn requests(&self, endpoint: Endpoint) -> u64 {
        self.requests[endpoint.index()].load(Ordering::Relaxed)
    }

    /// Request-body bytes received on `endpoint` so far.
    pub fn bytes_in(&self, endpoint: Endpoint) -> u64 {
        self.bytes_in[endpoint.index()].load(Ordering::Relaxed)
    }

    /// All requests received so far.
    pub fn total_requests(&self) -> u64 {
        self.requests
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    fn record(&self, endpoint: Endpoint, bytes: u64) {
        self.requests[endpoint.index()].fetch_add(1, Ordering::Relaxed);
        self.bytes_in[endpoint.index()].fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Settings of a [`LoopbackServer`].
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    latency: Option<Duration>,
}

impl ServerConfig {
    /// A server that answers at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wait this long (tokio timer, no CPU) before answering each request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }
}

struct Shared {
    config: ServerConfig,
    stats: Arc<Stats>,
    ready: Bytes,
    result_head: Bytes,
    result_tail: Bytes,
    saby_document: Bytes,
    saby_changes: Bytes,
    uploads: AtomicU64,
}

/// A running loopback server; stops when dropped.
#[derive(Debug)]
pub struct LoopbackServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: JoinHandle<std::io::Result<()>>,
}

impl LoopbackServer {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    ///
    /// # Errors
    /// When the socket cannot be bound or a fixture does not parse.
    pub async fn start(config: ServerConfig) -> crate::Result<Self> {
        let (result_head, result_tail) = fixtures::BEORG_RESULT
            .split_once(fixtures::BEORG_RESULT_SET)
            .ok_or("the Beorg result fixture lacks its set id")?;
        let changes = serde_json::to_vec(&fixtures::saby_changes()?)?;
        // Compact the document fixture the way a JSON-RPC server sends it.
        let document = serde_json::to_vec(&serde_json::from_str::<serde_json::Value>(
            fixtures::SABY_DOCUMENT,
        )?)?;
        let stats = Arc::new(Stats::default());
        let shared = Arc::new(Shared {
            config,
            stats: Arc::clone(&stats),
            ready: Bytes::from_static(fixtures::BEORG_READY.as_bytes()),
            result_head: Bytes::copy_from_slice(result_head.as_bytes()),
            result_tail: Bytes::copy_from_slice(result_tail.as_bytes()),
            saby_document: Bytes::from(document),
            saby_changes: Bytes::from(changes),
            uploads: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/api/document/ready", any(beorg_ready))
            .route("/api/document/result/{set}", any(beorg_result))
            .route("/api/bescan/add_document", post(beorg_upload))
            .route("/auth/service/", post(saby_auth))
            .route("/service/", post(saby_service))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(LoopbackServer { addr, stats, task })
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The request counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const WINDOW: usize = 4096;

/// The first and last [`WINDOW`] bytes of a streamed body, and its length.
struct Sniffed {
    len: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Sniffed {
    fn contains(&self, needle: &[u8]) -> bool {
        find(&self.head, needle).is_some() || find(&self.tail, needle).is_some()
    }

    /// The raw JSON value of the top-level `"id"` (number or string), `null` when absent.
    fn rpc_id(&self) -> Vec<u8> {
        [&self.head, &self.tail]
            .into_iter()
            .find_map(|part| json_scalar_after(part, b"\"id\""))
            .map_or_else(|| b"null".to_vec(), <[u8]>::to_vec)
    }

    /// The JSON-RPC method name.
    fn rpc_method(&self) -> Option<&[u8]> {
        [&self.head, &self.tail].into_iter().find_map(|part| {
            let value = json_scalar_after(part, b"\"method\"")?;
            value.strip_prefix(b"\"")?.strip_suffix(b"\"")
        })
    }
}

async fn sniff(body: Body) -> Result<Sniffed, axum::Error> {
    let mut stream = body.into_data_stream();
    let mut sniffed = Sniffed {
        len: 0,
        head: Vec::new(),
        tail: Vec::new(),
    };
    while let Some(chunk) = stream.next().await {
        let mut chunk: &[u8] = &chunk?;
        sniffed.len += chunk.len() as u64;
        if sniffed.head.len() < WINDOW {
            let take = chunk.len().min(WINDOW - sniffed.head.len());
            sniffed.head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        if chunk.len() >= WINDOW {
            sniffed.tail.clear();
            sniffed
                .tail
                .extend_from_slice(&chunk[chunk.len() - WINDOW..]);
        } else if !chunk.is_empty() {
            sniffed.tail.extend_from_slice(chunk);
            if sniffed.tail.len() > 2 * WINDOW {
                sniffed.tail.drain(..sniffed.tail.len() - WINDOW);
            }
        }
    }
    Ok(sniffed)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The scalar JSON value following `key` and a colon: a string with its quotes, or the
/// bytes up to the next `,` / `}` / whitespace.
fn json_scalar_after<'a>(text: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = find(text, key)? + key.len();
    let rest = text[at..]
        .trim_ascii_start()
        .strip_prefix(b":")?
        .trim_ascii_start();
    let end = if rest.first() == Some(&b'"') {
        rest[1..].iter().position(|&b| b == b'"')? + 2
    } else {
        rest.iter()
            .position(|b| matches!(b, b',' | b'}' | b' ' | b'\n' | b'\r' | b'\t'))?
    };
    Some(&rest[..end])
}

fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}

async fn delay(shared: &Shared) {
    if let Some(latency) = shared.config.latency {
        tokio::time::sleep(latency).await;
    }
}

fn bad_request(err: axum::Error) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        format!("{{\"errors\":{{\"type\":\"BadRequest\",\"message\":\"{err}\"}}}}"),
    )
}

fn beorg_unauthorized(shared: &Shared, len: u64) -> Response {
    shared.stats.record(Endpoint::Rejected, len);
    json(
        StatusCode::UNAUTHORIZED,
        r#"{"errors":{"type":"Unauthorized","message":"Неверный токен"}}"#,
    )
}

/// Checks the Beorg token in the query string (GET) or the body (POST).
async fn beorg_authorized(req: Request) -> Result<(bool, u64), axum::Error> {
    let needle = format!("token={}", fixtures::BEORG_TOKEN);
    let in_query = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == needle));
    let sniffed = sniff(req.into_body()).await?;
    Ok((
        in_query || sniffed.contains(fixtures::BEORG_TOKEN.as_bytes()),
        sniffed.len,
    ))
}

async fn beorg_ready(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    delay(&shared).await;
    match beorg_authorized(req).await {
        Err(err) => bad_request(err),
        Ok((false, len)) => beorg_unauthorized(&shared, len),
        Ok((true, len)) => {
            shared.stats.record(Endpoint::BeorgReady, len);
            json(StatusCode::OK, shared.ready.clone())
        }
    }
}

async fn beorg_result(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    delay(&shared).await;
    let set = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    match beorg_authorized(req).await {
        Err(err) => bad_request(err),
        Ok((false, len)) => beorg_unauthorized(&shared, len),
        Ok((true, len)) => {
            shared.stats.record(Endpoint::BeorgResult, len);
            let mut body =
                Vec::with_capacity(shared.result_head.len() + set.len() + shared.result_tail.len());
            body.extend_from_slice(&shared.result_head);
            body.extend_from_slice(set.as_bytes());
            body.extend_from_slice(&shared.result_tail);
            json(StatusCode::OK, body)
        }
    }
}

async fn beorg_upload(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    delay(&shared).await;
    match beorg_authorized(req).await {
        Err(err) => bad_request(err),
        Ok((false, len)) => beorg_unauthorized(&shared, len),
        Ok((true, len)) => {
            shared.stats.record(Endpoint::BeorgUpload, len);
            let n = shared.uploads.fetch_add(1, Ordering::Relaxed) + 1;
            json(StatusCode::OK, format!("{{\"document_id\": \"s-{n}\"}}"))
        }
    }
}

fn rpc_result(id: &[u8], result: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(result.len() + id.len() + 40);
    body.extend_from_slice(br#"{"jsonrpc":"2.0","result":"#);
    body.extend_from_slice(result);
    body.extend_from_slice(br#","id":"#);
    body.extend_from_slice(id);
    body.push(b'}');
    body
}

fn rpc_error(shared: &Shared, status: StatusCode, id: &[u8], message: &str, len: u64) -> Response {
    shared.stats.record(Endpoint::Rejected, len);
    let error = serde_json::json!({
        "code": -32000, "message": message, "details": message, "type": "error",
        "data": {"classid": "{00000000-0000-0000-0000-000000000000}", "addinfo": null}
    });
    let mut body = br#"{"jsonrpc":"2.0","error":"#.to_vec();
    body.extend_from_slice(error.to_string().as_bytes());
    body.extend_from_slice(br#","id":"#);
    body.extend_from_slice(id);
    body.push(b'}');
    json(status, body)
}

async fn saby_auth(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    delay(&shared).await;
    let sniffed = match sniff(req.into_body()).await {
        Ok(s) => s,
        Err(err) => return bad_request(err),
    };
    let id = sniffed.rpc_id();
    match sniffed.rpc_method() {
        Some(m) if m == "СБИС.Аутентифицировать".as_bytes() => {
            if !sniffed.contains(fixtures::SABY_LOGIN.as_bytes())
                || !sniffed.contains(fixtures::SABY_PASSWORD.as_bytes())
            {
                return rpc_error(
                    &shared,
                    StatusCode::UNAUTHORIZED,
                    &id,
                    "Неверный логин или пароль",
                    sniffed.len,
                );
            }
            shared.stats.record(Endpoint::SabyAuth, sniffed.len);
            json(
                StatusCode::OK,
                rpc_result(&id, format!("\"{}\"", fixtures::SABY_SID).as_bytes()),
            )
        }
        Some(m) if m == "СБИС.Выход".as_bytes() => {
            shared.stats.record(Endpoint::SabyAuth, sniffed.len);
            json(StatusCode::OK, rpc_result(&id, b"null"))
        }
        _ => rpc_error(
            &shared,
            StatusCode::NOT_FOUND,
            &id,
            "Метод не найден",
            sniffed.len,
        ),
    }
}

async fn saby_service(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    delay(&shared).await;
    let session_ok = req
        .headers()
        .get("X-SBISSessionID")
        .is_some_and(|v| v.as_bytes() == fixtures::SABY_SID.as_bytes());
    let sniffed = match sniff(req.into_body()).await {
        Ok(s) => s,
        Err(err) => return bad_request(err),
    };
    let id = sniffed.rpc_id();
    if !session_ok {
        return rpc_error(
            &shared,
            StatusCode::UNAUTHORIZED,
            &id,
            "Сессия истекла или не найдена",
            sniffed.len,
        );
    }
    let method = sniffed.rpc_method().unwrap_or_default();
    let (endpoint, answer) = if method == "СБИС.ЗаписатьДокумент".as_bytes() {
        (Endpoint::SabyWrite, &shared.saby_document)
    } else if method == "СБИС.ПрочитатьДокумент".as_bytes() {
        (Endpoint::SabyRead, &shared.saby_document)
    } else if method == "СБИС.СписокИзменений".as_bytes() {
        (Endpoint::SabyChanges, &shared.saby_changes)
    } else {
        return rpc_error(
            &shared,
            StatusCode::NOT_FOUND,
            &id,
            "Метод не найден",
            sniffed.len,
        );
    };
    shared.stats.record(endpoint, sniffed.len);
    json(StatusCode::OK, rpc_result(&id, answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rpc_method_and_id() {
        let s = Sniffed {
            len: 0,
            head: r#"{"jsonrpc":"2.0","method":"СБИС.ЗаписатьДокумент","params":{}, "id" : 17}"#
                .as_bytes()
                .to_vec(),
            tail: Vec::new(),
        };
        assert_eq!(s.rpc_method(), Some("СБИС.ЗаписатьДокумент".as_bytes()));
        assert_eq!(s.rpc_id(), b"17");
        let s = Sniffed {
            len: 0,
            head: br#"{"id":"abc","method":"x"}"#.to_vec(),
            tail: Vec::new(),
        };
        assert_eq!(s.rpc_id(), br#""abc""#);
    }

    #[tokio::test]
    async fn serves_both_services_to_the_baselines() {
        use crate::baseline::{RawBeorg, RawSaby};
        let server = LoopbackServer::start(ServerConfig::new()).await.unwrap();
        let http = crate::http_client().unwrap();
        let beorg = RawBeorg::new(
            http.clone(),
            server.uri(),
            fixtures::BEORG_TOKEN,
            fixtures::BEORG_PROJECT,
        );
        let ready = beorg.ready(1).await.unwrap();
        assert_eq!(ready["ready"].as_array().unwrap().len(), 6);
        let result = beorg.result("s-77").await.unwrap();
        assert_eq!(result["document_id"], "s-77");
        assert_eq!(
            result["documents"][1]["broken_reasons_ru"][0],
            "Изображение размыто"
        );
        let wrong = RawBeorg::new(http.clone(), server.uri(), "nope", fixtures::BEORG_PROJECT);
        assert!(
            wrong
                .result("s-1")
                .await
                .unwrap_err()
                .to_string()
                .contains("401")
        );

        assert!(
            RawSaby::login(http.clone(), server.uri(), "x", "y")
                .await
                .is_err()
        );
        let saby = RawSaby::login(
            http,
            server.uri(),
            fixtures::SABY_LOGIN,
            fixtures::SABY_PASSWORD,
        )
        .await
        .unwrap();
        let doc = saby
            .write_document(serde_json::json!({"Идентификатор": "x"}))
            .await
            .unwrap();
        assert_eq!(doc["Вложение"].as_array().unwrap().len(), 4);
        let changes = saby.changes(serde_json::json!({})).await.unwrap();
        assert_eq!(
            changes["Документ"].as_array().unwrap().len(),
            fixtures::SABY_CHANGES_EVENTS
        );
        assert!(saby.call("СБИС.Нет", serde_json::json!({})).await.is_err());
        let stats = server.stats();
        assert_eq!(stats.requests(Endpoint::BeorgReady), 1);
        assert_eq!(stats.requests(Endpoint::BeorgResult), 1);
        assert_eq!(stats.requests(Endpoint::SabyAuth), 1);
        assert_eq!(stats.requests(Endpoint::SabyWrite), 1);
        assert_eq!(stats.requests(Endpoint::SabyChanges), 1);
        assert_eq!(stats.requests(Endpoint::Rejected), 3);
    }

    #[tokio::test]
    async fn streams_large_bodies_without_the_default_limit() {
        let server = LoopbackServer::start(ServerConfig::new()).await.unwrap();
        let http = crate::http_client().unwrap();
        let mut body = r#"{"jsonrpc":"2.0","method":"СБИС.ЗаписатьДокумент","params":{"Документ":{"Вложение":[{"Файл":{"ДвоичныеДанные":""#.as_bytes().to_vec();
        body.extend(std::iter::repeat_n(b'A', 5 << 20));
        body.extend_from_slice(br#""}}]}},"id":42}"#);
        let len = body.len() as u64;
        let answer: serde_json::Value = http
            .post(format!("{}/service/?srv=1", server.uri()))
            .header("X-SBISSessionID", fixtures::SABY_SID)
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["id"], 42);
        assert_eq!(server.stats().bytes_in(Endpoint::SabyWrite), len);
    }
}
