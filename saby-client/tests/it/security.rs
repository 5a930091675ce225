//! Issue 9: no leak through redirects, plain HTTP, errors, logs or file modes; a bounded
//! client.
//!
//! Each test fails if its fix is undone: a redirect reaches the second origin (or carries
//! the session there), a plain `http://` URL is used, an oversized answer is read whole, a
//! session id or a recognized value shows up in an error or a log line, a file is readable
//! by others.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use hr_docs_testkit::errors::error_texts;
use hr_docs_testkit::logs::{Capture, contains_term};
use saby_client::hr_docs_core::net::MAX_REDIRECTS;
use saby_client::{Client, ConfirmationInfo, Credentials, Error, EventCursor, Secret};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------------------------------
// Helpers.

fn assert_free_of(err: &Error, terms: &[&str]) {
    for text in error_texts(err) {
        for term in terms {
            assert!(!contains_term(&text, term), "{term:?} leaked in: {text}");
        }
    }
}

/// A second origin (another port on the loopback) that records whatever reaches it.
async fn other_origin() -> MockServer {
    let other = MockServer::start().await;
    Mock::given(|_: &Request| true)
        .respond_with(ResponseTemplate::new(200).set_body_string("from the other origin"))
        .mount(&other)
        .await;
    other
}

fn redirect_to(status: u16, target: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("Location", target)
}

/// A client with a fixed session (no login request) aimed at `server`.
fn session_client(server: &MockServer) -> Client {
    builder(server)
        .credentials(Credentials::session(SID))
        .build()
        .unwrap()
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Asserts that nothing that opens the account reached `req`: no session, no token, no
/// `Referer`, no password.
fn assert_no_credentials(req: &Request) {
    assert_eq!(header(req, "X-SBISSessionID"), None, "{req:?}");
    assert_eq!(header(req, "X-SBISAccessToken"), None, "{req:?}");
    assert_eq!(header(req, "Referer"), None, "{req:?}");
    let body = String::from_utf8_lossy(&req.body);
    assert!(!body.contains(PASSWORD), "{body}");
    assert!(
        req.body.is_empty(),
        "a body reached the other origin: {body}"
    );
}

// ---------------------------------------------------------------------------------------
// Redirects.

/// JSON-RPC calls never follow a redirect, whatever the status: the login (its body holds
/// the password), a read and a write with the session header. The other origin receives
/// nothing; the error names its host only.
#[tokio::test]
async fn rpc_redirects_are_refused_and_the_other_origin_receives_nothing() {
    for status in [301, 302, 303, 307, 308] {
        let server = MockServer::start().await;
        let other = other_origin().await;
        let target = format!("{}/collect?sid=x", other.uri());
        Mock::given(method("POST"))
            .respond_with(redirect_to(status, &target))
            .mount(&server)
            .await;
        // The login carries the password in its body.
        let login = client(&server).version_info().await.unwrap_err();
        // A session's calls carry the session header; a write carries the document.
        let with_session = session_client(&server);
        let read = with_session.read_document("doc-1").await.unwrap_err();
        let write = with_session
            .write_document(&saby_client::Document::new("doc-1").with_title("Иванов"))
            .await
            .unwrap_err();
        for err in [&login, &read, &write] {
            match err {
                Error::Redirect {
                    status: s,
                    host,
                    followed: false,
                } => {
                    assert_eq!(*s, status);
                    assert_eq!(host.as_deref(), Some(other.address().to_string().as_str()));
                }
                other => panic!("{status}: {other:?}"),
            }
            assert!(!err.is_retryable(), "{err:?}");
            assert_free_of(err, &[SID, PASSWORD, "collect", "sid=x"]);
        }
        let reached = other.received_requests().await.unwrap_or_default();
        assert!(reached.is_empty(), "{status}: {} request(s)", reached.len());
    }
}

/// A download follows redirects, checking every hop: the session goes to the Saby host
/// (same origin as the base URL) and never to another origin; no `Referer` anywhere.
#[tokio::test]
async fn downloads_follow_redirects_and_keep_the_session_on_saby_hosts() {
    let server = MockServer::start().await;
    let other = other_origin().await;
    // Same origin first (relative Location), then another origin.
    Mock::given(method("GET"))
        .and(path("/disk/start"))
        .respond_with(redirect_to(302, "/disk/same-origin"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/disk/same-origin"))
        .and(|r: &Request| header(r, "X-SBISSessionID") == Some(SID))
        .respond_with(redirect_to(307, &format!("{}/files/scan.pdf", other.uri())))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = session_client(&server);

    let bytes = client.download("/disk/start").await.unwrap();
    assert_eq!(&bytes[..], b"from the other origin");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("scan.pdf");
    client
        .download_to_file("/disk/start", &target)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"from the other origin");

    let at_saby = server.received_requests().await.unwrap();
    assert_eq!(at_saby.len(), 4, "two hops per download");
    for req in &at_saby {
        assert_eq!(header(req, "X-SBISSessionID"), Some(SID), "{req:?}");
        assert_eq!(header(req, "Referer"), None, "{req:?}");
    }
    let elsewhere = other.received_requests().await.unwrap();
    assert_eq!(elsewhere.len(), 2);
    elsewhere.iter().for_each(assert_no_credentials);
}

/// The access token of a service application is dropped the same way.
#[tokio::test]
async fn downloads_drop_the_access_token_at_another_origin() {
    let server = MockServer::start().await;
    let other = other_origin().await;
    Mock::given(path("/oauth/service/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "access-tok-55"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/disk/f"))
        .and(|r: &Request| header(r, "X-SBISAccessToken") == Some("access-tok-55"))
        .respond_with(redirect_to(308, &format!("{}/f", other.uri())))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = builder(&server)
        .credentials(Credentials::service_app("app", "app-secret", "key"))
        .build()
        .unwrap();
    client.download("/disk/f").await.unwrap();
    let elsewhere = other.received_requests().await.unwrap();
    assert_eq!(elsewhere.len(), 1);
    elsewhere.iter().for_each(assert_no_credentials);
}

/// A session client's download of `from`, which the server answers with a `status` redirect
/// to `to`: the server (to count what it was asked) and the download's error.
async fn download_redirected(from: &str, status: u16, to: &str) -> (MockServer, Error) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(from))
        .respond_with(redirect_to(status, to))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = session_client(&server).download(from).await.unwrap_err();
    (server, err)
}

#[tokio::test]
async fn a_download_redirect_loop_stops_at_the_hop_limit() {
    let (server, err) = download_redirected("/disk/loop", 302, "/disk/loop").await;
    assert!(
        matches!(
            err,
            Error::Redirect {
                status: 302,
                followed: false,
                ..
            }
        ),
        "{err:?}"
    );
    // The first request and MAX_REDIRECTS hops, once: a redirect loop is not retried.
    let asked = server.received_requests().await.unwrap().len();
    assert_eq!(asked, MAX_REDIRECTS as usize + 1);
}

/// A hop to plain `http://` off the loopback is refused before anything is sent there.
#[tokio::test]
async fn a_download_redirect_to_plain_http_elsewhere_is_refused() {
    let (_server, err) =
        download_redirected("/disk/f", 302, "http://files.example.invalid/f?sid=1").await;
    match &err {
        Error::Config(why) => assert!(why.contains("files.example.invalid"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_free_of(&err, &[SID, "sid=1"]);
}

/// A caller's `reqwest::Client` that follows redirects on its own (the reqwest default):
/// the answer from another origin is refused. With the documented settings, nothing goes.
#[tokio::test]
async fn an_answer_a_following_http_client_fetched_elsewhere_is_refused() {
    let server = MockServer::start().await;
    let other = other_origin().await;
    Mock::given(method("POST"))
        .respond_with(redirect_to(307, &format!("{}/x", other.uri())))
        .mount(&server)
        .await;
    let following = builder(&server)
        .credentials(Credentials::session(SID))
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = following.version_info().await.unwrap_err();
    assert!(
        matches!(err, Error::Redirect { followed: true, .. }),
        "{err:?}"
    );
    let careful = builder(&server)
        .credentials(Credentials::session(SID))
        .http_client(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let before = other.received_requests().await.unwrap().len();
    let err = careful.version_info().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Redirect {
                followed: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(other.received_requests().await.unwrap().len(), before);
}

// ---------------------------------------------------------------------------------------
// Plain HTTP.

#[tokio::test]
async fn plain_http_off_the_loopback_is_refused_unless_opted_in() {
    let base = || Client::builder().credentials(Credentials::session(SID));
    for url in ["http://online.sbis.ru", "http://192.168.1.10:8080/saby"] {
        match base().base_url(url).build() {
            Err(Error::Config(why)) => assert!(why.contains("allow_insecure_http"), "{why}"),
            other => panic!("{url}: {other:?}"),
        }
        base()
            .base_url(url)
            .allow_insecure_http(true)
            .build()
            .unwrap();
    }
    for url in [
        "https://online.sbis.ru",
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://[::1]:1",
    ] {
        base().base_url(url).build().unwrap();
    }
    // A download link: refused before any request (the catch-all would fail the test).
    let server = MockServer::start().await;
    catch_all(&server).await;
    let client = session_client(&server);
    for link in [
        "http://files.sbis.ru/disk/f",
        "http://10.0.0.1/f",
        "ftp://x/y",
    ] {
        let err = client.download(link).await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{link}: {err:?}");
        let dir = tempfile::tempdir().unwrap();
        let err = client
            .download_to_file(link, &dir.path().join("f"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{link}: {err:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

// ---------------------------------------------------------------------------------------
// Size limits.

#[tokio::test]
async fn answers_and_files_past_their_limit_are_refused_and_not_retried() {
    let server = MockServer::start().await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОВерсии",
        ResponseTemplate::new(200).set_body_raw(vec![b' '; 4096], "application/json"),
        Some(1),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/disk/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 2000]))
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = builder(&server)
        .credentials(Credentials::session(SID))
        .max_body_bytes(1024)
        .max_download_bytes(Some(1000))
        .build()
        .unwrap();
    let err = assert_reads_stop_at(&client, "/disk/big", 1024, 1000).await;
    assert!(err.to_string().contains("1024"), "{err}");
    assert!(!err.is_retryable());
}

/// Asserts that each read of `client` stops at its limit: an RPC answer at `body_limit`,
/// a download of `file` and a download of it to a file at `download_limit`, the last
/// leaving no file behind (no target, no temporary file). Returns the RPC call's error.
async fn assert_reads_stop_at(
    client: &Client,
    file: &str,
    body_limit: u64,
    download_limit: u64,
) -> Error {
    let rpc = client.version_info().await.unwrap_err();
    assert!(
        matches!(rpc, Error::BodyTooLarge { limit } if limit == body_limit),
        "{rpc:?}"
    );
    let err = client.download(file).await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit } if limit == download_limit),
        "{err:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .download_to_file(file, &dir.path().join("target.bin"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit } if limit == download_limit),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no target, no temporary file"
    );
    rpc
}

/// A server that sends no length and never stops: the reads stop at their limits.
#[tokio::test]
async fn the_limits_hold_without_a_content_length() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 1024, " ".repeat(1024));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .credentials(Credentials::session(SID))
        .max_body_bytes(64 * 1024)
        .max_download_bytes(Some(128 * 1024))
        .build()
        .unwrap();
    assert_reads_stop_at(&client, "/disk/endless", 64 * 1024, 128 * 1024).await;
}

// ---------------------------------------------------------------------------------------
// Answers that carry a session.

/// The session id each answer below carries; neither it nor its start may show.
const NEW_SID: &str = "NEWSID-7f3a9c1e-session";

fn assert_no_new_sid(err: &Error) {
    assert_free_of(err, &[NEW_SID, "NEWSID"]);
}

/// An answer carrying `NEW_SID` that cannot be decoded: cut off in the middle of the sid,
/// or wrapped in a page.
fn damaged_answers() -> Vec<ResponseTemplate> {
    vec![
        ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"jsonrpc":"2.0","result":"{NEW_SID}"#),
            "application/json",
        ),
        ResponseTemplate::new(200).set_body_raw(
            format!(
                r#"{{"jsonrpc":"2.0","result":{{"Сессия":"{}"#,
                &NEW_SID[..10]
            ),
            "application/json",
        ),
        ResponseTemplate::new(200).set_body_raw(
            format!("<html><body>session {NEW_SID}</body></html>"),
            "text/html",
        ),
        ResponseTemplate::new(500).set_body_raw(
            format!("<html><body>session {NEW_SID}</body></html>"),
            "text/html",
        ),
        ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"jsonrpc":"2.0","result":[1],"id":{{"sid":"{NEW_SID}"}}}}"#),
            "application/json",
        ),
    ]
}

fn confirmation(send_method: &str) -> ConfirmationInfo {
    serde_json::from_value(json!({
        "Идентификатор": "confirm-42",
        "МетодОтправкиКодаПодтверждения": send_method,
        "ИдентификаторСессии": "temp-sid-secret-77",
    }))
    .unwrap()
}

struct Plain;

#[async_trait::async_trait]
impl saby_client::SessionDecryptor for Plain {
    async fn decrypt(
        &self,
        enveloped: &[u8],
    ) -> Result<Secret, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Secret::from(String::from_utf8(enveloped.to_vec())?))
    }
}

/// Each answer that carries a session id, failing to decode in every way: the error and
/// every log line (TRACE) hold neither the sid nor its start (a sid cut in half by the
/// excerpt's cut is scrubbed before the cut: the whole answer is withheld).
#[tokio::test(flavor = "current_thread")]
async fn answers_that_carry_a_session_are_never_quoted() {
    let capture = Capture::start();
    for answer in damaged_answers() {
        // СБИС.Аутентифицировать (password login).
        let server = MockServer::start().await;
        Mock::given(rpc("СБИС.Аутентифицировать"))
            .respond_with(answer.clone())
            .mount(&server)
            .await;
        let err = client(&server).login_now().await.unwrap_err();
        assert_no_new_sid(&err);

        // СБИС.АутентифицироватьПоСертификату.
        let server = MockServer::start().await;
        Mock::given(rpc("СБИС.АутентифицироватьПоСертификату"))
            .respond_with(answer.clone())
            .mount(&server)
            .await;
        let err = builder(&server)
            .credentials(Credentials::certificate(
                saby_client::Certificate::from_der(b"DER".to_vec()),
                Arc::new(Plain),
            ))
            .build()
            .unwrap()
            .login_now()
            .await
            .unwrap_err();
        assert_no_new_sid(&err);

        // СБИС.ПереключитьАккаунт: its result is the new session.
        let server = MockServer::start().await;
        Mock::given(rpc("СБИС.ПереключитьАккаунт"))
            .respond_with(answer.clone())
            .mount(&server)
            .await;
        let err = session_client(&server)
            .switch_account("100500")
            .await
            .unwrap_err();
        assert_no_new_sid(&err);

        // СБИС.ПодтвердитьВход, СБИС.ОтправитьКодАутентификации, and a send-code method
        // Saby names itself (`МетодОтправкиКодаПодтверждения`).
        for (send_method, confirm) in [
            ("СБИС.ОтправитьКодАутентификации", true),
            ("СБИС.ОтправитьКодПодтвержденияВхода", false),
        ] {
            let server = MockServer::start().await;
            Mock::given(|_: &Request| true)
                .respond_with(answer.clone())
                .mount(&server)
                .await;
            let client = client(&server);
            let info = confirmation(send_method);
            let err = client.send_auth_code(&info).await.unwrap_err();
            assert_no_new_sid(&err);
            if confirm {
                let err = client.confirm_login(&info, "123456").await.unwrap_err();
                assert_no_new_sid(&err);
            }
            assert_free_of(&err, &["temp-sid-secret-77"]);
        }
    }
    // The service application's login (`/oauth/service/`, plain JSON).
    for body in [
        format!(r#"{{"token":"{NEW_SID}"#),
        format!(r#"{{"token":["{NEW_SID}"]"#),
        format!("<html>{NEW_SID}</html>"),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/oauth/service/"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
        let err = builder(&server)
            .credentials(Credentials::service_app("app", "app-secret", "key"))
            .build()
            .unwrap()
            .login_now()
            .await
            .unwrap_err();
        assert_no_new_sid(&err);
    }
    let logs = capture.text();
    assert!(logs.contains("saby.call"), "{logs}");
    for term in [NEW_SID, "NEWSID", "temp-sid-secret-77"] {
        assert!(!contains_term(&logs, term), "{term:?} in logs: {logs}");
    }
}

/// A login refused with an error whose `addinfo` carries a session: redacted in the error.
#[tokio::test]
async fn an_error_addinfo_never_carries_a_session_out() {
    let server = MockServer::start().await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(reply(json!({"jsonrpc": "2.0", "id": 0, "error": {
            "code": -32000, "message": "Вход запрещён",
            "data": {"classid": "{00000000-0000-0000-0000-000000000001}",
                     "addinfo": {"ИдентификаторСессии": NEW_SID, "Причина": "политика"}}}})))
        .mount(&server)
        .await;
    let err = client(&server).login_now().await.unwrap_err();
    let rpc = err.rpc().expect("an RPC error");
    assert_eq!(rpc.addinfo.as_ref().unwrap()["Причина"], "политика");
    assert_no_new_sid(&err);
}

/// The session in use, echoed by a page or an error message, is scrubbed before the
/// excerpt is cut: a sid straddling the cut leaves nothing behind.
#[tokio::test]
async fn the_session_in_use_is_scrubbed_before_an_excerpt_is_cut() {
    let server = MockServer::start().await;
    // The excerpt keeps 200 characters: the session starts 6 characters before the cut.
    let page = format!("<p>{}{SID} and the rest</p>", "x".repeat(191));
    mount_rpc(
        &server,
        "СБИС.ИнформацияОВерсии",
        ResponseTemplate::new(502).set_body_raw(page, "text/html"),
        None,
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply_status(
            500,
            json!({"jsonrpc": "2.0", "id": 0, "error": {"code": -1,
                "message": format!("session {SID} is busy"), "details": format!("sid={SID}")}}),
        ),
        None,
    )
    .await;
    catch_all(&server).await;
    let client = session_client(&server);
    let page = client.version_info().await.unwrap_err();
    match &page {
        Error::Http { excerpt, .. } => assert!(excerpt.starts_with("<p>xxx"), "{excerpt}"),
        other => panic!("{other:?}"),
    }
    // "sid-se": the session's start, which cutting before scrubbing would have kept.
    assert_free_of(&page, &[SID, "sid-se"]);
    let business = client.read_document("x").await.unwrap_err();
    assert!(business.rpc().is_some(), "{business:?}");
    assert_free_of(&business, &[SID]);
}

// ---------------------------------------------------------------------------------------
// Personal data in answers.

/// What the answers below carry: names, a passport number, a birth date.
const PERSONAL: &[&str] = &["Иванов", "Иван", "4510", "123456", "01.02.1990"];

/// Documents, pages and events that fail to decode name the path and the kinds of value,
/// never a value; nor does any log line.
#[tokio::test(flavor = "current_thread")]
async fn answers_that_fail_to_decode_quote_no_personal_data() {
    let capture = Capture::start();
    let pd = "Иванов Иван Иванович, паспорт 4510 123456, 01.02.1990";
    let server = MockServer::start().await;
    // A document that is not an object.
    mount_rpc(&server, "СБИС.ПрочитатьДокумент", result(json!(pd)), None).await;
    mount_rpc(&server, "СБИС.ЗаписатьДокумент", result(json!([pd])), None).await;
    // A page and an event page that are not objects.
    mount_rpc(&server, "СБИС.СписокДокументов", result(json!(pd)), None).await;
    mount_rpc(&server, "СБИС.СписокИзменений", result(json!(pd)), None).await;
    // Cut off in the middle of the data, and an id that is not one.
    mount_rpc(
        &server,
        "СБИС.ПодготовитьДействие",
        ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"jsonrpc":"2.0","result":{{"Контрагент":{{"СвФЛ":{{"Фамилия":"{pd}"#),
            "application/json",
        ),
        None,
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"jsonrpc":"2.0","result":{{}},"id":{{"ФИО":"{pd}"}}}}"#),
            "application/json",
        ),
        None,
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОТекущемПользователе",
        result(json!({"Пользователь": pd})),
        None,
    )
    .await;
    catch_all(&server).await;
    let client = session_client(&server);

    let read = client.read_document("doc-1").await.unwrap_err();
    match &read {
        Error::Decode { path, excerpt, .. } => {
            assert_eq!(path, "result");
            assert!(excerpt.is_empty(), "{excerpt}");
        }
        other => panic!("{other:?}"),
    }
    let kind = read.source().map(ToString::to_string).unwrap_or_default();
    assert!(kind.contains("invalid type: string"), "{kind}");
    let errors = [
        read,
        client
            .write_document(&saby_client::Document::new("doc-1"))
            .await
            .unwrap_err(),
        client
            .list_documents_page(&saby_client::DocumentFilter::new(), 0)
            .await
            .unwrap_err(),
        {
            use futures::StreamExt as _;
            let mut feed = client.events(EventCursor::start());
            feed.next().await.unwrap().unwrap_err()
        },
        client
            .prepare_action("doc-1", "Отправка", "Отправить")
            .await
            .unwrap_err(),
        client
            .execute_action(&saby_client::Execution::new(
                "doc-1",
                "Отправка",
                "Отправить",
            ))
            .await
            .unwrap_err(),
    ];
    for err in &errors {
        assert!(
            matches!(err, Error::Decode { .. } | Error::IdMismatch { .. }),
            "{err:?}"
        );
        assert_free_of(err, PERSONAL);
    }
    if let Ok(user) = client.current_user().await {
        // Lenient: a user that is not an object is kept raw, not an error.
        let _ = user;
    }
    let logs = capture.text();
    assert!(logs.contains("saby.call"), "{logs}");
    for term in PERSONAL {
        assert!(!contains_term(&logs, term), "{term:?} in logs: {logs}");
    }
}

// ---------------------------------------------------------------------------------------
// File modes.

/// The environment variable that turns [`files_are_private_child`] on, naming its directory.
#[cfg(unix)]
const CHILD_DIR: &str = "SABY_CLIENT_UMASK_CHILD_DIR";

/// Files and directories the client writes are private whatever the umask: this test runs
/// [`files_are_private_child`] again in a child process under `umask 000` (the workspace
/// forbids `unsafe`, so the test cannot call `umask(2)` itself), then checks every mode it
/// left behind. Without the fix, the files would be `0666` and the directories `0777`.
#[cfg(unix)]
#[test]
fn files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;

    let root = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000 && exec "$0" "$@""#)
        .arg(&exe)
        .args([
            "--exact",
            "security::files_are_private_child",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_DIR, root.path())
        .status()
        .unwrap();
    assert!(status.success(), "the child run failed: {status}");
    assert!(
        root.path().join("child-ran").exists(),
        "the child test did not run"
    );

    let mut seen = (0, 0);
    let mut stack = vec![root.path().join("archive")];
    stack.push(root.path().join("downloads"));
    stack.push(root.path().join("halves"));
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        seen.0 += 1;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "caller-file") {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
                seen.1 += 1;
            }
        }
    }
    assert!(seen.0 >= 4 && seen.1 >= 8, "checked {seen:?}");
}

/// The child of [`files_are_private_whatever_the_umask`]: does nothing unless its
/// environment variable is set; then writes through every path that creates files —
/// `archive_document` (inline and streamed files, the manifest; into a new directory and
/// over files and a directory an older version left `0644`/`0755`), `download_to_file`,
/// `write_archive` — and checks a download's temporary file while it is being written.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_private_child() {
    use std::os::unix::fs::PermissionsExt as _;

    let Some(root) = std::env::var_os(CHILD_DIR).map(std::path::PathBuf::from) else {
        return;
    };
    std::fs::write(root.join("child-ran"), b"").unwrap();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/disk/scan"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"scan".to_vec()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/archive/doc.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"PK".to_vec()))
        .mount(&server)
        .await;
    let client = session_client(&server);
    let doc: saby_client::Document = serde_json::from_value(json!({
        "Идентификатор": "doc-1",
        "Название": "Комплект Иванов",
        "Вложение": [
            {"Идентификатор": "a1", "Файл": {"Имя": "Паспорт_Иванов.json", "ДвоичныеДанные": "e30="}},
            {"Идентификатор": "a2", "Файл": {"Имя": "scan.pdf", "Ссылка": "/disk/scan"},
             "Подпись": [{"Файл": {"Имя": "scan.pdf.p7s", "ДвоичныеДанные": "U0lH"}}]}
        ],
        "СсылкаНаАрхив": "/archive/doc.zip"
    }))
    .unwrap();

    // A new directory tree (company/set).
    let archive = root.join("archive").join("company").join("s-1");
    client.archive_document(&doc, &archive).await.unwrap();
    // An older version's directory and files, readable by all: made private on the way.
    let older = root.join("archive").join("company").join("s-2");
    std::fs::create_dir_all(&older).unwrap();
    std::fs::set_permissions(&older, std::fs::Permissions::from_mode(0o755)).unwrap();
    client.archive_document(&doc, &older).await.unwrap();
    for name in ["Паспорт_Иванов.json", "scan.pdf", "manifest.json"] {
        std::fs::set_permissions(older.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let again = client.archive_document(&doc, &older).await.unwrap();
    assert!(again.written.is_empty(), "{again:?}");

    // download_to_file into a caller's directory: the file is private (the directory is
    // the caller's; it is made private here to be checked with the others).
    let downloads = root.join("downloads");
    std::fs::create_dir(&downloads).unwrap();
    std::fs::set_permissions(&downloads, std::fs::Permissions::from_mode(0o700)).unwrap();
    client
        .download_to_file("/disk/scan", &downloads.join("scan.pdf"))
        .await
        .unwrap();

    // The two halves.
    let files = client.archive_files(&doc).await.unwrap();
    saby_client::write_archive(&root.join("halves"), &files)
        .await
        .unwrap();

    // A temporary file, seen while a download is still being written into it: a body held
    // in memory up to 256 KiB is written at its end, a larger one in 256 KiB pieces, so the
    // server sends 256 KiB, waits, then the last 4 bytes.
    const PIECE: usize = 256 * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8192];
        let _ = socket.read(&mut request).await;
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", PIECE + 4);
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&vec![b'h'; PIECE]).await.unwrap();
        let _ = released.await;
        let _ = socket.write_all(b"done").await;
    });
    let slow = Client::builder()
        .base_url(format!("http://{addr}"))
        .credentials(Credentials::session(SID))
        .build()
        .unwrap();
    let target = downloads.join("slow.bin");
    let download = tokio::spawn({
        let target = target.clone();
        async move { slow.download_to_file("/disk/slow", &target).await }
    });
    let temp = loop {
        let found = std::fs::read_dir(&downloads)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    && std::fs::metadata(p)
                        .map(|m| m.len() == PIECE as u64)
                        .unwrap_or(false)
            });
        if let Some(found) = found {
            break found;
        }
        assert!(
            !download.is_finished(),
            "the download ended before its last bytes"
        );
        tokio::task::yield_now().await;
    };
    let mode = std::fs::metadata(&temp).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "temporary file {}", temp.display());
    release.send(()).unwrap();
    download.await.unwrap().unwrap();
    let mut expected = vec![b'h'; PIECE];
    expected.extend_from_slice(b"done");
    assert_eq!(std::fs::read(&target).unwrap(), expected);
    // A file the caller wrote with the umask, left for contrast (not checked).
    std::fs::write(downloads.join("caller-file"), b"x").unwrap();
    let _ = Duration::ZERO;
}

// ---------------------------------------------------------------------------------------
// Time arithmetic.

/// Absurd but legal times — a per-attempt timeout of `Duration::MAX` without a deadline,
/// an event history window of `Duration::MAX`, `Retry-After: 18446744073709551615` — never
/// overflow an `Instant` or a date: they saturate (or are capped by the policy).
#[tokio::test]
async fn absurd_times_never_panic() {
    let server = MockServer::start().await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОВерсии",
        ResponseTemplate::new(503).insert_header("Retry-After", "18446744073709551615"),
        None,
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.СписокИзменений",
        result(json!({"Документ": [], "Навигация": {"ЕстьЕще": "Нет"}})),
        None,
    )
    .await;
    catch_all(&server).await;
    let client = builder(&server)
        .credentials(Credentials::session(SID))
        .timeout(Duration::MAX)
        .no_deadline()
        .event_history_window(Duration::MAX)
        .file_not_ready_delay(Duration::MAX)
        .retry_policy(
            saby_client::RetryPolicy::default()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::MAX)
                .with_max_backoff(Duration::MAX)
                .with_max_retry_after(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = client.version_info().await.unwrap_err();
    assert!(matches!(err, Error::Maintenance { .. }), "{err:?}");
    assert_eq!(
        bodies(&server, "СБИС.ИнформацияОВерсии").await.len(),
        2,
        "retried after the capped Retry-After"
    );
    use futures::StreamExt as _;
    let mut feed = client.events(EventCursor::start());
    assert!(feed.next().await.is_none_or(|page| page.is_ok()));
}
