//! The HTTP server: axum on a loopback port, every request handed to the responder.
//!
//! Nothing is kept per request, so memory stays flat however many requests are served (the
//! sandbox's own state grows only with the sets it holds). The server runs on
//! its own thread with a single-threaded tokio runtime, so it keeps serving whatever runtime
//! (or none) its callers use, and the fixed latency and slow answers are timers on that
//! runtime: a delayed answer never blocks the others. It stops when the [`Server`] is
//! dropped: it stops accepting, closes idle connections and lets answers in flight finish.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{Response, StatusCode};
use axum::serve::ListenerExt;
use tokio::sync::oneshot;

use crate::Shared;
use crate::responder::{self, HttpIn};

/// Largest request body read (100 MiB); a larger one is answered 413 `PayloadTooLarge`.
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

/// A `{"errors": {...}}` answer built without the state (body too large, invalid answer).
fn plain(status: StatusCode, kind: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({"errors": {"type": kind, "message": message}});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
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

/// The one handler (the router's fallback): reads the body, runs the responder (under the
/// state's lock, released before any wait), answers once the reply's delay has passed since the request
/// arrived (so the delay includes reading the body and the work, as a real service's would).
async fn serve(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response<Body> {
    let arrived = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            "request body larger than 100 MiB or cut off",
        );
    };
    let reply = responder::respond(
        &shared,
        &HttpIn {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            body: &bytes,
        },
    );
    if !reply.delay.is_zero() {
        sleep_until_precisely(arrived + reply.delay).await;
    }
    let mut builder = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type);
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Body::from(reply.body)).unwrap_or_else(|_| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "the sandbox built an invalid answer",
        )
    })
}

/// Binds a free loopback port and serves the responder on a thread of its own until the
/// returned [`Server`] is dropped. Fails only when no port can be bound or the thread or its
/// runtime cannot be started.
pub(crate) async fn start(shared: Arc<Shared>) -> io::Result<Server> {
    let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    listener.set_nonblocking(true)?;
    let uri = format!("http://{}", listener.local_addr()?);

    let app = axum::Router::new().fallback(serve).with_state(shared);
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let (ready_tx, ready_rx) = oneshot::channel::<io::Result<()>>();
    std::thread::Builder::new()
        .name("beorg-sandbox".to_owned())
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
