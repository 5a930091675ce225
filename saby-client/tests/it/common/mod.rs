//! Shared test helpers: a wiremock server per test, JSON-RPC matchers and responders that
//! echo the request id, a loud catch-all, and a client with tiny backoffs.
#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use saby_client::{Client, ClientBuilder, Credentials, RetryPolicy};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const SID: &str = "sid-secret-0001";
pub const PASSWORD: &str = "p@ssw0rd-secret";

/// Parses a fixture.
pub fn fx(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is valid JSON")
}

/// The JSON body of a request.
pub fn body(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap_or(Value::Null)
}

/// Matches a JSON-RPC request for `m`.
pub fn rpc(m: &'static str) -> impl Fn(&Request) -> bool + Send + Sync + 'static {
    move |req: &Request| body(req).get("method").and_then(Value::as_str) == Some(m)
}

/// Replies with `envelope` (a fixture), its `id` replaced by the request's.
pub struct Echo {
    pub status: u16,
    pub envelope: Value,
    pub headers: Vec<(String, String)>,
}

impl Respond for Echo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut env = self.envelope.clone();
        if let Some(obj) = env.as_object_mut() {
            obj.insert(
                "id".into(),
                body(req).get("id").cloned().unwrap_or(Value::Null),
            );
        }
        let mut t = ResponseTemplate::new(self.status)
            .set_body_raw(env.to_string(), "application/json; charset=utf-8");
        for (k, v) in &self.headers {
            t = t.insert_header(k.as_str(), v.as_str());
        }
        t
    }
}

/// A fixture envelope, HTTP 200.
pub fn reply(envelope: Value) -> Echo {
    Echo {
        status: 200,
        envelope,
        headers: vec![],
    }
}

/// A fixture envelope with a status.
pub fn reply_status(status: u16, envelope: Value) -> Echo {
    Echo {
        status,
        envelope,
        headers: vec![],
    }
}

/// `{"result": result}`.
pub fn result(result: Value) -> Echo {
    reply(serde_json::json!({"jsonrpc": "2.0", "result": result, "id": 0}))
}

/// A server with a loud catch-all (any unexpected request fails the test on drop) and the
/// password login mounted (expecting `logins` logins, or any number when `None`).
pub async fn server_with_login(logins: Option<u64>) -> MockServer {
    let server = MockServer::start().await;
    let m = Mock::given(method("POST"))
        .and(path("/auth/service/"))
        .and(rpc("СБИС.Аутентифицировать"))
        .respond_with(reply(fx(include_str!("../../fixtures/auth_ok.json"))))
        .named("login");
    match logins {
        Some(n) => m.expect(n).mount(&server).await,
        None => m.mount(&server).await,
    }
    catch_all(&server).await;
    server
}

/// Fails loudly on any request no other mock matched.
pub async fn catch_all(server: &MockServer) {
    Mock::given(|_: &Request| true)
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request in test"))
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all: unexpected request")
        .mount(server)
        .await;
}

/// A builder aimed at `server` with password credentials and tiny backoffs.
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .credentials(Credentials::password("hr-robot", PASSWORD))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .file_not_ready_delay(Duration::from_millis(5))
        .timeout(Duration::from_secs(5))
        .deadline(Duration::from_secs(20))
}

pub fn client(server: &MockServer) -> Client {
    builder(server).build().expect("client builds")
}

/// Mounts `POST /service/?srv=1` for JSON-RPC method `m`.
pub async fn mount_rpc(
    server: &MockServer,
    m: &'static str,
    responder: impl Respond + 'static,
    times: Option<u64>,
) {
    let mock = Mock::given(method("POST"))
        .and(path("/service/"))
        .and(rpc(m))
        .respond_with(responder)
        .named(m);
    match times {
        Some(n) => mock.expect(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

/// Requests received for JSON-RPC method `m`, as JSON bodies.
pub async fn bodies(server: &MockServer, m: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(body)
        .filter(|b| b.get("method").and_then(Value::as_str) == Some(m))
        .collect()
}

/// Every event of a feed that is one `page` (the result of `СБИС.СписокИзменений`, asked
/// once), read to its end through the client; each must decode.
pub async fn events_of_one_page(page: Value) -> Vec<saby_client::ChangeEvent> {
    use futures::StreamExt as _;
    let server = server_with_login(Some(1)).await;
    Mock::given(rpc("СБИС.СписокИзменений"))
        .respond_with(result(page))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .events(saby_client::EventCursor::default())
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<saby_client::Result<_>>()
        .expect("every event decodes")
}
