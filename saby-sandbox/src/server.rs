//! The HTTP server: axum on a loopback port, every request handed to the engine.
//!
//! Nothing is kept per request, so memory stays flat however many requests are served (the
//! sandbox's own state grows only with the documents and events it holds). The server runs on
//! its own thread with a single-threaded tokio runtime, so it keeps serving whatever runtime
//! (or none) its callers use, and the fixed latency and slow answers are timers on that
//! runtime: a delayed answer never blocks the others. It stops when the [`Server`] is
//! dropped: it stops accepting, closes idle connections and lets answers in flight finish.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, Response, StatusCode};
use axum::serve::ListenerExt;
use tokio::sync::oneshot;

use crate::engine::{self, HttpIn};
use crate::state::{AuthHeaders, State};

/// Largest request body read (100 MiB); a larger one is answered 413.
const MAX_BODY: usize = 100 * 1024 * 1024;

/// The running HTTP server; it stops when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    uri: String,
    /// Dropping it (with the server) tells the server thread to shut down.
    _shutdown: oneshot::Sender<()>,
}

impl Server {
    /// `http://127.0.0.1:<port>`.
    pub(crate) fn uri(&self) -> String {
        self.uri.clone()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// Waits until `deadline`, to within about 0.1 ms.
///
/// Tokio's timer wheel ticks every millisecond and rounds a deadline up to the next tick, so a
/// plain `sleep(20 ms)` answers after 20–21 ms: up to 5 % more latency than configured, which
/// benchmarks that compare a client with `C / (k × latency)` would blame on the client. The
/// coarse part of the wait stays on the wheel (no thread held); the last 2 ms are a thread
/// sleep on the blocking pool, which the OS wakes on time.
async fn sleep_until_precisely(deadline: std::time::Instant) {
    const FINE: std::time::Duration = std::time::Duration::from_millis(2);
    if let Some(coarse) = deadline.checked_sub(FINE)
        && coarse > std::time::Instant::now()
    {
        tokio::time::sleep_until(coarse.into()).await;
    }
    let rest = deadline.saturating_duration_since(std::time::Instant::now());
    if !rest.is_zero() {
        // A join error only means the runtime is shutting down: answer at once then.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

/// The one handler (the router's fallback): reads the body, runs the engine (under its lock,
/// released before any wait), answers once the reply's delay has passed since the request
/// arrived (so the delay includes reading the body and the work, as a real service's would).
async fn serve(AxumState(state): AxumState<Arc<Mutex<State>>>, request: Request) -> Response<Body> {
    let arrived = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body larger than 100 MiB or cut off",
        );
    };
    let auth = AuthHeaders {
        sid: header(&parts.headers, "x-sbissessionid"),
        token: header(&parts.headers, "x-sbisaccesstoken"),
    };
    let reply = engine::handle(
        &state,
        &HttpIn {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            content_type: header(&parts.headers, "content-type"),
            auth,
            body: &bytes,
        },
    );
    if !reply.delay.is_zero() {
        sleep_until_precisely(arrived + reply.delay).await;
    }
    let mut builder = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type.as_str());
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Body::from(reply.body)).unwrap_or_else(|_| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the sandbox built an invalid answer",
        )
    })
}

/// Binds a free loopback port and serves the engine on a thread of its own until the
/// returned [`Server`] is dropped. Fails only when no port can be bound or the thread or its
/// runtime cannot be started.
pub(crate) async fn start(state: Arc<Mutex<State>>) -> io::Result<Server> {
    let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    listener.set_nonblocking(true)?;
    let uri = format!("http://{}", listener.local_addr()?);
    state.lock().unwrap_or_else(|e| e.into_inner()).base_uri = uri.clone();

    let app = axum::Router::new().fallback(serve).with_state(state);
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let (ready_tx, ready_rx) = oneshot::channel::<io::Result<()>>();
    std::thread::Builder::new()
        .name("saby-sandbox".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                // Resolves when the sender is dropped with the `Server`.
                let stopped = async {
                    let _ = shutdown_rx.await;
                };
                // Never fails (axum retries failed accepts itself).
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await;
            });
        })?;
    ready_rx
        .await
        .map_err(|_| io::Error::other("the sandbox server thread stopped while starting"))??;
    Ok(Server {
        uri,
        _shutdown: shutdown_tx,
    })
}
