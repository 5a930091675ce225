//! At most `max_in_flight` requests per session reach the server at once.
//!
//! A tiny loopback HTTP server holds each request at a barrier of `limit` parties: it only
//! answers when exactly `limit` requests are waiting. A client that sent more at once would
//! push the observed maximum above `limit`; one that sent fewer would never be answered (the
//! test would time out). No timing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use saby_client::{Client, Credentials};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Barrier;

struct Stats {
    current: AtomicUsize,
    max: AtomicUsize,
}

async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf[end + 4..end + 4 + len].to_vec());
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn serve(mut stream: TcpStream, barrier: Arc<Barrier>, stats: Arc<Stats>) {
    while let Some(body) = read_request(&mut stream).await {
        let now = stats.current.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max.fetch_max(now, Ordering::SeqCst);
        barrier.wait().await;
        let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let answer = serde_json::json!({"jsonrpc": "2.0", "result": {"ВнешнийИнтерфейс": "3"}, "id": req["id"]}).to_string();
        stats.current.fetch_sub(1, Ordering::SeqCst);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(answer.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_more_than_max_in_flight_requests_reach_the_server() {
    for limit in [2usize, 5] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let barrier = Arc::new(Barrier::new(limit));
        let stats = Arc::new(Stats {
            current: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
        });
        let (b, s) = (barrier.clone(), stats.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, b.clone(), s.clone()));
            }
        });
        let client = Client::builder()
            .base_url(format!("http://{addr}"))
            .credentials(Credentials::session("sid-fixed"))
            .max_in_flight(limit)
            .build()
            .unwrap();
        let calls = (0..limit * 3).map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.version_info().await })
        });
        let results = tokio::time::timeout(Duration::from_secs(20), join_all(calls))
            .await
            .expect("the client kept fewer than max_in_flight requests in flight");
        for r in results {
            r.unwrap().unwrap();
        }
        assert_eq!(stats.max.load(Ordering::SeqCst), limit, "limit {limit}");
        server.abort();
    }
}
