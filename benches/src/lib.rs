//! Shared servers, fixtures and helpers for the HR-docs SDK benchmarks.
//!
//! - [`args`]: the `--name value` reader of the bench binaries.
//! - [`fixtures`]: realistic Beorg and Saby answers (Cyrillic values, the vendors' quirks).
//! - [`flow`]: the pipeline against both sandboxes (set-up of the pipeline and memory benches).
//! - [`server`]: a minimal axum loopback server that answers with those fixtures, optionally
//!   after a fixed latency, and counts what it received.
//! - [`overhead`]: the client-overhead fixture (server, typed clients, baselines) and its calls.
//! - [`baseline`]: the hand-written `reqwest` + `serde_json::Value` calls the typed clients
//!   are compared with.
//! - [`rss`]: resident-memory readings from `/proc/self/status`.
//! - [`report`]: the one-line result format every benchmark prints and `scripts/bench` collects.
//!
//! The benchmarks themselves are `benches/*.rs` (Criterion) and `src/bin/*.rs` (bench binaries).

pub mod args;
pub mod baseline;
pub mod fixtures;
pub mod flow;
pub mod overhead;
pub mod report;
pub mod rss;
pub mod server;

/// Error type of the benchmark helpers: anything that went wrong, with its source chain.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result type of the benchmark helpers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The `reqwest::Client` every benchmark uses, for the typed clients and the baselines alike,
/// so that both sides of a comparison share connection pooling and socket settings.
///
/// # Errors
/// When reqwest cannot build a client (TLS back end initialisation).
pub fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(256)
        .http1_only()
        .build()?)
}
