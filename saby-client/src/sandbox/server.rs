//! The wiremock adapter: one catch-all mock whose responder feeds the engine.
//!
//! Memory: wiremock 0.6 keeps a copy of every request a mock matched (its per-mock log, kept
//! even with request recording disabled) until the server is dropped. The sandbox's own state
//! stays bounded by the documents and events it holds, but each request also leaves its copy
//! in wiremock (its body plus about 1 KB). Resetting the server to drop that log is not safe
//! while clients are connected (a request arriving between the reset and the new mount gets an
//! empty 404 — measured), so the sandbox does not do it.

use std::sync::{Arc, Mutex};

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::sandbox::engine::{self, HttpIn};
use crate::sandbox::state::State;

/// The catch-all responder.
#[derive(Debug, Clone)]
pub(crate) struct Responder {
    pub(crate) state: Arc<Mutex<State>>,
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let session =
            header(request, "x-sbissessionid").or_else(|| header(request, "x-sbisaccesstoken"));
        let reply = engine::handle(
            &self.state,
            &HttpIn {
                method: request.method.as_str(),
                path: request.url.path(),
                content_type: header(request, "content-type"),
                session,
                body: &request.body,
            },
        );
        let mut template =
            ResponseTemplate::new(reply.status).set_body_raw(reply.body, &reply.content_type);
        for (name, value) in reply.headers {
            template = template.insert_header(name, value.as_str());
        }
        if !reply.delay.is_zero() {
            template = template.set_delay(reply.delay);
        }
        template
    }
}

/// The running HTTP server; it stops when dropped.
#[derive(Debug)]
pub(crate) struct Server(MockServer);

impl Server {
    /// `http://127.0.0.1:<port>`.
    pub(crate) fn uri(&self) -> String {
        self.0.uri()
    }
}

/// Starts a wiremock server (request recording off) answering everything with the engine.
pub(crate) async fn start(state: Arc<Mutex<State>>) -> Server {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.base_uri = server.uri();
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(Responder { state })
        .named("saby sandbox")
        .mount(&server)
        .await;
    Server(server)
}
