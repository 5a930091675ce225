//! `Client::download_to_file`: the body streamed to disk through a hidden temporary file,
//! with `download`'s sessions and retries; a failed or cut attempt leaves nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use saby_client::{Client, Credentials, Error, RetryPolicy};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

/// `len` bytes that differ from one position to the next (a shifted copy would not match).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One scripted answer of [`RawServer`]: raw bytes, written in the given pieces (each
/// flushed on its own), then the connection is closed.
type Answer = Vec<Vec<u8>>;

/// A raw HTTP/1.1 server on loopback: connection `n` gets answer `n` (the last one repeats)
/// and is closed. It can send what wiremock cannot: a body cut before its `Content-Length`,
/// a body in many chunks.
struct RawServer {
    uri: String,
    /// The request heads received, in order.
    heads: Arc<Mutex<Vec<String>>>,
}

impl RawServer {
    async fn start(answers: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let answer = answers[n.min(answers.len() - 1)].clone();
                n += 1;
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => head.extend_from_slice(&buf[..k]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    for piece in answer {
                        if socket.write_all(&piece).await.is_err() {
                            return;
                        }
                        let _ = socket.flush().await;
                    }
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { uri, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// A complete `200` answer with `body`.
fn full(body: &[u8]) -> Answer {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    vec![head.into_bytes(), body.to_vec()]
}

/// A `200` answer announcing `announced` bytes but sending only `body`, then closing.
fn cut(body: &[u8], announced: usize) -> Answer {
    assert!(announced > body.len());
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
    );
    vec![head.into_bytes(), body.to_vec()]
}

/// A client of `uri` holding session [`SID`] (no login needed), with tiny backoffs.
fn session_client(uri: &str) -> Client {
    Client::builder()
        .base_url(uri)
        .credentials(Credentials::session(SID))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .timeout(Duration::from_secs(5))
        .deadline(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn sent_session(head: &str) -> bool {
    head.to_ascii_lowercase()
        .contains(&format!("x-sbissessionid: {SID}"))
}

#[tokio::test]
async fn a_body_in_many_chunks_arrives_byte_identical() {
    let body = pattern(40 * 50_000 + 123, 0);
    let mut answer = vec![
        b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec(),
    ];
    for piece in body.chunks(50_000) {
        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
        chunk.extend_from_slice(piece);
        chunk.extend_from_slice(b"\r\n");
        answer.push(chunk);
    }
    answer.push(b"0\r\n\r\n".to_vec());
    let server = RawServer::start(vec![answer]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("scan.pdf");

    let written = session_client(&server.uri)
        .download_to_file("/disk/api/v1/att-1", &target)
        .await
        .unwrap();

    assert_eq!(written, body.len() as u64);
    assert!(std::fs::read(&target).unwrap() == body, "bytes differ");
    assert_eq!(entries(dir.path()), ["scan.pdf"], "no temporary file left");
    let heads = server.heads();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with("GET /disk/api/v1/att-1 "),
        "{}",
        heads[0]
    );
    assert!(
        sent_session(&heads[0]),
        "the session goes to the base URL's host"
    );
}

#[tokio::test]
async fn a_body_cut_midway_is_downloaded_again_from_byte_zero() {
    let full_body = pattern(1_000_000, 1);
    // The first answer is cut after 600 kB of different bytes: if the second attempt
    // appended to (or wrote over) them instead of starting afresh, the file would differ.
    let server =
        RawServer::start(vec![cut(&vec![b'X'; 600_000], 1_000_000), full(&full_body)]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("doc.zip");
    std::fs::write(&target, b"an older, longer version of the file ........").unwrap();

    let written = session_client(&server.uri)
        .download_to_file("/archive/doc.zip", &target)
        .await
        .unwrap();

    assert_eq!(written, 1_000_000);
    assert!(std::fs::read(&target).unwrap() == full_body, "bytes differ");
    assert_eq!(entries(dir.path()), ["doc.zip"], "no temporary file left");
    let heads = server.heads();
    assert_eq!(heads.len(), 2, "one retry after the cut");
    assert!(heads.iter().all(|h| sent_session(h)));
}

/// A body up to 256 KiB is written from memory in one step, a larger one in 256 KiB
/// pieces: around both edges (and with no length announced), every byte lands, the file
/// is `0600` and no temporary file remains.
#[tokio::test]
async fn bodies_below_at_and_above_the_memory_threshold_land_byte_exact() {
    const KIB: usize = 1024;
    let sizes = [
        0,
        1,
        64 * KIB + 1,
        256 * KIB - 1,
        256 * KIB,
        256 * KIB + 1,
        512 * KIB,
        1024 * KIB + 7,
    ];
    let mut answers = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        answers.push(full(&pattern(len, i as u8)));
    }
    // The same sizes again, chunked (no Content-Length to size the buffer by).
    for (i, &len) in sizes.iter().enumerate() {
        let body = pattern(len, i as u8 ^ 0x55);
        let mut answer = vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec(),
        ];
        for piece in body.chunks(30_000) {
            let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
            chunk.extend_from_slice(piece);
            chunk.extend_from_slice(b"\r\n");
            answer.push(chunk);
        }
        answer.push(b"0\r\n\r\n".to_vec());
        answers.push(answer);
    }
    let server = RawServer::start(answers).await;
    let client = session_client(&server.uri);
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for (round, seed) in [(0, 0u8), (1, 0x55)] {
        for (i, &len) in sizes.iter().enumerate() {
            let name = format!("f-{round}-{i}");
            let target = dir.path().join(&name);
            // Requests one by one: connection n gets answer n.
            let written = client.download_to_file("/disk/f", &target).await.unwrap();
            assert_eq!(written, len as u64, "{name}");
            assert!(
                std::fs::read(&target).unwrap() == pattern(len, i as u8 ^ seed),
                "{name}: bytes differ"
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{name}");
            }
            names.push(name);
        }
    }
    names.sort();
    assert_eq!(entries(dir.path()), names, "no temporary file left");
}

/// A first attempt cut after 600 kB (two pieces already on disk), then a whole body of
/// 10 kB (written from memory in one step): the temporary file is truncated, not written
/// over, so only the 10 kB remain.
#[tokio::test]
async fn a_cut_attempt_on_disk_then_a_small_body_leaves_only_the_small_body() {
    let small = pattern(10_000, 9);
    let server = RawServer::start(vec![cut(&vec![b'X'; 600_000], 1_000_000), full(&small)]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("doc.zip");

    let written = session_client(&server.uri)
        .download_to_file("/archive/doc.zip", &target)
        .await
        .unwrap();

    assert_eq!(written, 10_000);
    assert!(std::fs::read(&target).unwrap() == small, "bytes differ");
    assert_eq!(entries(dir.path()), ["doc.zip"], "no temporary file left");
    assert_eq!(server.heads().len(), 2);
}

/// A download dropped (its task aborted) while its body is being written leaves no
/// temporary file. The client has one blocking file step at a time, and the permit stays
/// with a step until it ends even when its download was dropped: a second download on the
/// same client therefore completes only after the first one's last write ended, so the
/// check after it sees everything that write could leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_download_leaves_no_temporary_file() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // 300 kB of a 1 MB body, then nothing: the download waits for the rest.
    let stalled = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8192];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&vec![b's'; 300_000]).await.unwrap();
        std::future::pending::<()>().await;
        drop(socket);
    });
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .credentials(Credentials::session(SID))
        .max_blocking_file_tasks(1)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("scan.pdf");
    let download = tokio::spawn({
        let (client, target) = (client.clone(), target.clone());
        async move { client.download_to_file("/disk/scan", &target).await }
    });
    // Wait until its first 256 KiB piece is in the temporary file.
    loop {
        let hidden = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .any(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            });
        if hidden {
            break;
        }
        assert!(!download.is_finished(), "the download ended: {download:?}");
        tokio::task::yield_now().await;
    }
    download.abort();
    assert!(download.await.unwrap_err().is_cancelled());

    let other = RawServer::start(vec![full(b"second")]).await;
    let second = dir.path().join("second.pdf");
    client
        .download_to_file(&format!("{}/disk/second", other.uri), &second)
        .await
        .unwrap();

    assert_eq!(
        entries(dir.path()),
        ["second.pdf"],
        "no temporary file left"
    );
    assert!(!target.exists());
    stalled.abort();
}

#[tokio::test]
async fn a_final_failure_leaves_no_temporary_file_and_keeps_the_target() {
    // Every attempt is cut mid-body, so each one has written part of a temporary file.
    let server = RawServer::start(vec![cut(&pattern(300_000, 2), 900_000)]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("doc.zip");
    std::fs::write(&target, b"previous contents").unwrap();

    let err = session_client(&server.uri)
        .download_to_file("/archive/doc.zip?token=query-secret-42", &target)
        .await
        .unwrap_err();

    assert!(
        matches!(err, Error::Transport { connect: false, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(server.heads().len(), 4, "max_attempts attempts");
    assert_eq!(std::fs::read(&target).unwrap(), b"previous contents");
    assert_eq!(entries(dir.path()), ["doc.zip"], "no temporary file left");
    // The URL (and the token in its query) appears nowhere in the error or its sources.
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!shown.contains("query-secret-42"), "{shown}");
    assert!(!shown.contains(SID), "{shown}");
}

#[tokio::test]
async fn a_503_is_retried_and_only_the_final_bytes_remain() {
    let server = server_with_login(Some(1)).await;
    Mock::given(method("GET"))
        .and(path("/disk/api/v1/att-2"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>maintenance</html>"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let body = pattern(3 << 20, 3);
    Mock::given(method("GET"))
        .and(path("/disk/api/v1/att-2"))
        .and(header("X-SBISSessionID", SID))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), "image/tiff"))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("scan.tiff");
    std::fs::write(&target, vec![b'o'; 4 << 20]).unwrap();

    let written = client(&server)
        .download_to_file("/disk/api/v1/att-2", &target)
        .await
        .unwrap();

    assert_eq!(written, body.len() as u64);
    assert!(std::fs::read(&target).unwrap() == body, "bytes differ");
    assert_eq!(entries(dir.path()), ["scan.tiff"], "no temporary file left");
}

#[tokio::test]
async fn download_to_file_waits_for_files_not_ready_and_sends_the_session() {
    let server = server_with_login(Some(1)).await;
    Mock::given(method("GET"))
        .and(path("/disk/api/v1/att-1"))
        .and(header("X-SBISSessionID", SID))
        .respond_with(reply(fx(include_str!(
            "../fixtures/error_file_not_ready.json"
        ))))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/disk/api/v1/att-1"))
        .and(header("X-SBISSessionID", SID))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(b"%PDF-1.7".to_vec(), "application/pdf"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.pdf");
    let written = client(&server)
        .download_to_file("/disk/api/v1/att-1", &target)
        .await
        .unwrap();
    assert_eq!(written, 8);
    assert_eq!(std::fs::read(&target).unwrap(), b"%PDF-1.7");
    assert_eq!(entries(dir.path()), ["a.pdf"]);
}

#[tokio::test]
async fn a_json_error_answer_is_an_error_and_not_a_file() {
    let server = server_with_login(Some(1)).await;
    // HTTP 200 with a JSON-RPC error body instead of the file: not retryable.
    Mock::given(method("GET"))
        .and(path("/f"))
        .respond_with(reply(fx(include_str!(
            "../fixtures/error_code_string.json"
        ))))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.pdf");
    std::fs::write(&target, b"kept").unwrap();
    let err = client(&server)
        .download_to_file("/f", &target)
        .await
        .unwrap_err();
    assert!(err.rpc().is_some(), "{err:?}");
    assert_eq!(std::fs::read(&target).unwrap(), b"kept");
    assert_eq!(entries(dir.path()), ["f.pdf"], "no temporary file left");
}

#[tokio::test]
async fn a_non_retryable_status_fails_once_and_touches_nothing() {
    let server = server_with_login(Some(1)).await;
    Mock::given(method("GET"))
        .and(path("/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_string("not here"))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("gone.pdf");
    let err = client(&server)
        .download_to_file("/gone", &target)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[tokio::test]
async fn download_to_file_401_renews_the_session() {
    let server = server_with_login(Some(2)).await;
    Mock::given(method("GET"))
        .and(path("/f"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/f"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 3]))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f");
    client(&server)
        .download_to_file("/f", &target)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), [7, 7, 7]);
}

#[tokio::test]
async fn download_to_file_never_sends_the_session_to_a_foreign_host() {
    let server = server_with_login(Some(0)).await;
    let foreign = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/file"))
        .and(|r: &wiremock::Request| {
            r.headers.get("X-SBISSessionID").is_none()
                && r.headers.get("X-SBISAccessToken").is_none()
        })
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"public".to_vec()))
        .expect(1)
        .mount(&foreign)
        .await;
    catch_all(&foreign).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("public.txt");
    client(&server)
        .download_to_file(&format!("{}/file", foreign.uri()), &target)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"public");
}

#[tokio::test]
async fn a_target_without_a_file_name_is_refused_before_any_request() {
    let server = server_with_login(Some(0)).await;
    let err = client(&server)
        .download_to_file("/f", Path::new("/"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

/// Every field of every `saby.download` span, as `(name, value)` text.
#[derive(Clone, Default)]
struct DownloadSpans(Arc<Mutex<Vec<(String, String)>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S> tracing_subscriber::Layer<S> for DownloadSpans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "saby.download" {
            attrs.record(&mut Fields(&mut self.0.lock().unwrap()));
        }
    }
    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if ctx.span(id).is_some_and(|s| s.name() == "saby.download") {
            values.record(&mut Fields(&mut self.0.lock().unwrap()));
        }
    }
}

#[tokio::test]
async fn download_to_file_runs_in_a_download_span_without_the_session() {
    use tracing_subscriber::layer::SubscriberExt as _;

    let server = server_with_login(Some(1)).await;
    Mock::given(method("GET"))
        .and(path("/disk/f"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/disk/f"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"data".to_vec()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/disk/warm-up"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"w".to_vec()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    // Register the span's call site before our subscriber exists. With at most one scoped
    // subscriber alive, tracing decides a call site's interest with the dispatcher of the
    // thread that registers it first: another test's thread, without a subscriber, would
    // switch it off for good. A call site registered earlier is re-evaluated when our
    // subscriber is created.
    client
        .download_to_file("/disk/warm-up", &dir.path().join("w"))
        .await
        .unwrap();
    // The binary's global TRACE subscriber keeps every call site enabled, so the
    // scoped subscriber below sees them all (see `hr_docs_testkit::logs`).
    hr_docs_testkit::logs::install();
    let spans = DownloadSpans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    client
        .download_to_file("/disk/f", &dir.path().join("f"))
        .await
        .unwrap();

    let seen = spans.0.lock().unwrap().clone();
    let has = |k: &str, v: &str| seen.iter().any(|(n, val)| n == k && val == v);
    assert!(has("method", "GET"), "{seen:?}");
    // The host only: a link's path may carry a file name (issue 9).
    let host = server.address().to_string();
    assert!(has("endpoint", &host), "{seen:?}");
    assert!(seen.iter().all(|(_, v)| !v.contains("/disk/f")), "{seen:?}");
    assert!(has("attempt", "1") && has("attempt", "2"), "{seen:?}");
    assert!(has("status", "503") && has("status", "200"), "{seen:?}");
    assert!(seen.iter().all(|(_, v)| !v.contains(SID)), "{seen:?}");
}
