//! Secrets never show: Debug of clients, builders and credentials, error messages, and log
//! lines captured from `tracing`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::sync::Arc;

use crate::common::*;
use hr_docs_testkit::logs::Capture;
use saby_client::{Client, Credentials, Error};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP_SECRET: &str = "app-secret-zzz";
const SECRET_KEY: &str = "secret-key-qqq";
const TOKEN: &str = "oauth-token-www";

fn assert_clean(text: &str) {
    for secret in [
        PASSWORD,
        SID,
        APP_SECRET,
        SECRET_KEY,
        TOKEN,
        "temp-sid-secret-77",
    ] {
        assert!(
            !text.contains(secret),
            "secret {secret:?} leaked in: {text}"
        );
    }
}

struct NoDecrypt;

#[async_trait::async_trait]
impl saby_client::SessionDecryptor for NoDecrypt {
    async fn decrypt(
        &self,
        _: &[u8],
    ) -> Result<saby_client::Secret, Box<dyn std::error::Error + Send + Sync>> {
        Err("no key".into())
    }
}

#[test]
fn debug_of_credentials_builder_and_client_is_redacted() {
    let cert = Credentials::certificate(
        saby_client::Certificate::by_thumbprint("AB12"),
        Arc::new(NoDecrypt),
    );
    assert!(format!("{cert:?}").contains("AB12"));
    let creds = [
        Credentials::password("robot", PASSWORD),
        Credentials::password_with_account("robot", PASSWORD, "1"),
        Credentials::service_app("app", APP_SECRET, SECRET_KEY),
        Credentials::session(SID),
    ];
    for c in creds {
        let shown = format!("{c:?}");
        assert_clean(&shown);
        // The one marker of both clients, and no other spelling.
        assert!(
            shown.contains(saby_client::hr_docs_core::REDACTED),
            "{shown}"
        );
        assert!(!shown.contains("[redacted"), "{shown}");
        let builder = Client::builder().credentials(c.clone());
        let shown = format!("{builder:?}");
        assert_clean(&shown);
        assert!(
            shown.contains(saby_client::hr_docs_core::REDACTED),
            "{shown}"
        );
        let client = builder.build().unwrap();
        let shown = format!("{client:?}");
        assert_clean(&shown);
        assert!(
            shown.contains(saby_client::hr_docs_core::REDACTED),
            "{shown}"
        );
        assert!(!shown.contains("[redacted"), "{shown}");
        assert_clean(&format!("{:?}", client.clone()));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn logs_and_errors_of_password_sessions_hold_no_secret() {
    let logs = Capture::start();
    let server = MockServer::start().await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(reply(fx(include_str!("../fixtures/auth_ok.json"))))
        .mount(&server)
        .await;
    // Session expiry then a business error; login decode and 2FA errors below.
    Mock::given(rpc("СБИС.ПрочитатьДокумент"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply_status(500, fx(include_str!("../fixtures/error_code_number.json"))),
        None,
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОВерсии",
        ResponseTemplate::new(200).set_body_string(format!("<html>{SID}</html>")),
        None,
    )
    .await;
    catch_all(&server).await;
    let client = client(&server);
    let business = client.read_document("x").await.unwrap_err();
    assert!(business.rpc().is_some(), "{business:?}");
    assert_clean(&format!("{business} {business:?}"));
    // Decode errors keep a body excerpt, except for login answers (they carry the sid).
    let login_decode = {
        let s = MockServer::start().await;
        Mock::given(path("/auth/service/"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(format!(r#"{{"jsonrpc":"2.0","result":{{"x":"{SID}"}}"#)),
            )
            .mount(&s)
            .await;
        crate::common::client(&s).version_info().await.unwrap_err()
    };
    assert!(
        matches!(login_decode, Error::Decode { .. }),
        "{login_decode:?}"
    );
    assert_clean(&format!("{login_decode} {login_decode:?}"));

    let two_fa = {
        let s = MockServer::start().await;
        Mock::given(rpc("СБИС.Аутентифицировать"))
            .respond_with(reply(fx(include_str!("../fixtures/error_2fa.json"))))
            .mount(&s)
            .await;
        crate::common::client(&s).version_info().await.unwrap_err()
    };
    assert_clean(&format!("{two_fa} {two_fa:?}"));
    let text = logs.text();
    assert!(text.contains("saby.call"), "spans are logged: {text}");
    assert!(text.contains("СБИС.ПрочитатьДокумент"));
    assert!(text.contains("session expired"));
    assert!(
        text.contains("endpoint=\"/service/?srv=1\"") || text.contains("endpoint=/service/?srv=1"),
        "{text}"
    );
    assert!(text.contains("attempt=1"), "{text}");
    assert!(text.contains("status=401"), "{text}");
    assert_clean(&text);
}

#[tokio::test(flavor = "current_thread")]
async fn logs_and_errors_of_service_app_sessions_hold_no_secret() {
    let logs = Capture::start();
    let server = MockServer::start().await;
    Mock::given(path("/oauth/service/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": TOKEN})))
        .mount(&server)
        .await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОВерсии",
        ResponseTemplate::new(403),
        None,
    )
    .await;
    catch_all(&server).await;
    let client = builder(&server)
        .credentials(Credentials::service_app("app", APP_SECRET, SECRET_KEY))
        .build()
        .unwrap();
    let err = client.version_info().await.unwrap_err();
    assert!(matches!(err, Error::AccessDenied { .. }));
    assert_clean(&format!("{err} {err:?} {client:?}"));

    // A refused login echoing the secrets back must not leak them either.
    let s = MockServer::start().await;
    Mock::given(path("/oauth/service/"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string(format!("bad secret {APP_SECRET} {SECRET_KEY}")),
        )
        .mount(&s)
        .await;
    let c = builder(&s)
        .credentials(Credentials::service_app("app", APP_SECRET, SECRET_KEY))
        .build()
        .unwrap();
    let err = c.version_info().await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert_clean(&format!("{err} {err:?}"));
    assert_clean(&logs.text());
}
