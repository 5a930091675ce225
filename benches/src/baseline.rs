//! The hand-written baselines: the same HTTP requests the typed clients make, written with
//! plain `reqwest` and `serde_json::Value`, with no retries, no typed models and no tracing.
//!
//! They are what an integrator would write in an afternoon; the typed clients must cost
//! no more than 5 % above them per call. Two flavours of each: the *bare* one (no timeout at
//! all) and the *careful* one ([`RawBeorg::with_timeout`], [`RawSaby::with_timeout`]): the same
//! calls under a per-request `tokio::time::timeout` (covering send and body read), as the typed
//! clients' per-attempt timeout does — what a careful hand-written client does, since a request
//! without a timeout can hang a worker forever.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};

use crate::Result;

/// Reads a response: non-2xx is an error, the body is parsed into a `Value`.
async fn json_body(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        let excerpt = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        return Err(format!("HTTP {status}: {excerpt}").into());
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// `exchange` under `timeout` when there is one (the careful baseline), as is otherwise.
async fn timed<T>(
    timeout: Option<Duration>,
    exchange: impl Future<Output = Result<T>>,
) -> Result<T> {
    match timeout {
        Some(limit) => tokio::time::timeout(limit, exchange)
            .await
            .map_err(|_| format!("timed out after {limit:?}"))?,
        None => exchange.await,
    }
}

/// Beorg with raw `reqwest`.
#[derive(Debug, Clone)]
pub struct RawBeorg {
    http: reqwest::Client,
    base: String,
    token: String,
    project_id: String,
    timeout: Option<Duration>,
}

impl RawBeorg {
    /// A baseline client for `base` (no trailing slash).
    pub fn new(
        http: reqwest::Client,
        base: impl Into<String>,
        token: impl Into<String>,
        project_id: impl Into<String>,
    ) -> Self {
        RawBeorg {
            http,
            base: base.into(),
            token: token.into(),
            project_id: project_id.into(),
            timeout: None,
        }
    }

    /// The careful baseline: every request (send and body read) under `timeout`, as the
    /// typed client's per-attempt timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// `GET /api/document/ready?project_id=..&start_id=..&token=..`.
    ///
    /// # Errors
    /// Transport errors, a non-2xx status, a body that is not JSON.
    pub async fn ready(&self, start_id: u64) -> Result<Value> {
        let start = start_id.to_string();
        let request = self
            .http
            .get(format!("{}/api/document/ready", self.base))
            .query(&[
                ("project_id", self.project_id.as_str()),
                ("start_id", start.as_str()),
                ("token", self.token.as_str()),
            ]);
        timed(self.timeout, async {
            json_body(request.send().await?).await
        })
        .await
    }

    /// `GET /api/document/result/{set}?token=..`.
    ///
    /// # Errors
    /// Transport errors, a non-2xx status (425 included), a body that is not JSON.
    pub async fn result(&self, set: &str) -> Result<Value> {
        let request = self
            .http
            .get(format!("{}/api/document/result/{set}", self.base))
            .query(&[("token", self.token.as_str())]);
        timed(self.timeout, async {
            json_body(request.send().await?).await
        })
        .await
    }
}

/// Saby JSON-RPC with raw `reqwest`: one login, then calls with the session header.
#[derive(Debug, Clone)]
pub struct RawSaby {
    http: reqwest::Client,
    base: String,
    sid: HeaderValue,
    next_id: Arc<AtomicU64>,
    timeout: Option<Duration>,
}

const JSON_RPC: HeaderValue = HeaderValue::from_static("application/json-rpc;charset=utf-8");

async fn rpc(
    http: &reqwest::Client,
    url: String,
    sid: Option<&HeaderValue>,
    body: &Value,
    timeout: Option<Duration>,
) -> Result<Value> {
    let mut request = http
        .post(url)
        .header(CONTENT_TYPE, JSON_RPC)
        .body(serde_json::to_vec(body)?);
    if let Some(sid) = sid {
        request = request.header("X-SBISSessionID", sid.clone());
    }
    let mut answer = timed(timeout, async { json_body(request.send().await?).await }).await?;
    if let Some(error) = answer.get("error") {
        return Err(format!("JSON-RPC error: {error}").into());
    }
    Ok(answer
        .get_mut("result")
        .map(Value::take)
        .unwrap_or(Value::Null))
}

impl RawSaby {
    /// Logs in with `СБИС.Аутентифицировать` on `/auth/service/`.
    ///
    /// # Errors
    /// Transport errors, a JSON-RPC error, a `result` that is not a string.
    pub async fn login(
        http: reqwest::Client,
        base: impl Into<String>,
        login: &str,
        password: &str,
    ) -> Result<Self> {
        let base = base.into();
        let body = json!({
            "jsonrpc": "2.0", "method": "СБИС.Аутентифицировать",
            "params": {"Параметр": {"Логин": login, "Пароль": password}}, "id": 0
        });
        let sid = rpc(&http, format!("{base}/auth/service/"), None, &body, None).await?;
        let sid = sid.as_str().ok_or("login result is not a string")?;
        Ok(RawSaby {
            http,
            base,
            sid: HeaderValue::from_str(sid)?,
            next_id: Arc::new(AtomicU64::new(1)),
            timeout: None,
        })
    }

    /// The careful baseline: every call (send and body read) under `timeout`, as the typed
    /// client's per-attempt timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Calls `method` with `params` on `/service/?srv=1`, returns the JSON-RPC `result`.
    ///
    /// # Errors
    /// Transport errors, a non-2xx status, a JSON-RPC error.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        rpc(
            &self.http,
            format!("{}/service/?srv=1", self.base),
            Some(&self.sid),
            &body,
            self.timeout,
        )
        .await
    }

    /// `СБИС.ЗаписатьДокумент` with `{"Документ": document}`.
    ///
    /// # Errors
    /// As [`RawSaby::call`].
    pub async fn write_document(&self, document: Value) -> Result<Value> {
        self.call("СБИС.ЗаписатьДокумент", json!({ "Документ": document }))
            .await
    }

    /// `СБИС.СписокИзменений` with `{"Фильтр": filter}`.
    ///
    /// # Errors
    /// As [`RawSaby::call`].
    pub async fn changes(&self, filter: Value) -> Result<Value> {
        self.call("СБИС.СписокИзменений", json!({ "Фильтр": filter }))
            .await
    }
}
