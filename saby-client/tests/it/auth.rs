//! Authentication and the shared session: lazy login, single-flight renewal, service apps,
//! certificate login, the confirmation-code path, logout and accounts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::sync::Arc;

use crate::common::*;
use futures::future::join_all;
use saby_client::Secret;
use saby_client::{Certificate, Credentials, Error, SessionDecryptor};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn has_sid(sid: &'static str) -> impl Fn(&Request) -> bool + Send + Sync {
    move |r: &Request| {
        r.headers
            .get("X-SBISSessionID")
            .and_then(|v| v.to_str().ok())
            == Some(sid)
    }
}

#[tokio::test]
async fn login_is_lazy_and_happens_once_for_many_calls() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОВерсии",
        reply(fx(include_str!("../fixtures/version_info.json"))),
        Some(10),
    )
    .await;
    let client = client(&server);
    assert!(
        bodies(&server, "СБИС.Аутентифицировать").await.is_empty(),
        "no login before the first call"
    );
    let calls = (0..10).map(|_| {
        let c = client.clone();
        async move { c.version_info().await }
    });
    for r in join_all(calls).await {
        r.unwrap();
    }
}

#[tokio::test]
async fn http_401_logs_in_once_and_replays() {
    let server = MockServer::start().await;
    let logins = [("sid-old", 1u64), ("sid-new", 1)];
    // First login answers sid-old, the second sid-new.
    Mock::given(method("POST"))
        .and(path("/auth/service/"))
        .and(rpc("СБИС.Аутентифицировать"))
        .respond_with(result(json!(logins[0].0)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/service/"))
        .and(rpc("СБИС.Аутентифицировать"))
        .respond_with(result(json!(logins[1].0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(has_sid("sid-old"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(has_sid("sid-new"))
        .and(rpc("СБИС.ПрочитатьДокумент"))
        .respond_with(reply(fx(include_str!(
            "../fixtures/document_incoming.json"
        ))))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let doc = client(&server).read_document("in-doc-7").await.unwrap();
    assert_eq!(doc.id.as_ref().map(|i| i.as_str()), Some("in-doc-7"));
}

#[tokio::test]
async fn session_error_in_rpc_body_also_renews() {
    let server = MockServer::start().await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(result(json!("sid-old")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(result(json!("sid-new")))
        .mount(&server)
        .await;
    Mock::given(has_sid("sid-old"))
        .respond_with(reply_status(
            500,
            fx(include_str!("../fixtures/error_session.json")),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(has_sid("sid-new"))
        .respond_with(reply(fx(include_str!("../fixtures/version_info.json"))))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    client(&server).version_info().await.unwrap();
    assert_eq!(bodies(&server, "СБИС.Аутентифицировать").await.len(), 2);
}

#[tokio::test]
async fn second_401_is_an_auth_error() {
    let server = server_with_login(Some(2)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(401),
        Some(2),
    )
    .await;
    let err = client(&server).read_document("x").await.unwrap_err();
    assert!(matches!(err, Error::SessionExpired { .. }), "{err:?}");
    assert!(err.is_auth());
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn twenty_calls_in_flight_on_an_expired_session_log_in_exactly_once() {
    let server = MockServer::start().await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(result(json!("sid-old")))
        .up_to_n_times(1)
        .expect(1)
        .named("first login")
        .mount(&server)
        .await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(result(json!("sid-new")))
        .expect(1)
        .named("the single re-login")
        .mount(&server)
        .await;
    Mock::given(has_sid("sid-old"))
        .respond_with(ResponseTemplate::new(401).set_delay(std::time::Duration::from_millis(20)))
        .mount(&server)
        .await;
    Mock::given(has_sid("sid-new"))
        .and(rpc("СБИС.ИнформацияОВерсии"))
        .respond_with(reply(fx(include_str!("../fixtures/version_info.json"))))
        .expect(20)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = builder(&server).max_in_flight(20).build().unwrap();
    // Log in first so all 20 calls start with the same (soon expired) session.
    client.login_now().await.unwrap();
    let calls = (0..20).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.version_info().await })
    });
    for r in join_all(calls).await {
        r.unwrap().unwrap();
    }
}

#[tokio::test]
async fn bad_password_is_an_auth_error_not_a_renewal_loop() {
    let server = MockServer::start().await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(reply_status(500, json!({"jsonrpc": "2.0", "id": 0, "error": {"code": -32000, "message": "Неверный логин или пароль"}})))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client(&server).read_document("x").await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(PASSWORD));

    let server = MockServer::start().await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client(&server).read_document("x").await.unwrap_err();
    assert!(matches!(err, Error::AuthFailed { .. }), "{err:?}");
    // Refused with HTTP 401: that is its status.
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn account_number_is_sent_when_configured() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОВерсии",
        reply(fx(include_str!("../fixtures/version_info.json"))),
        Some(1),
    )
    .await;
    let client = builder(&server)
        .credentials(Credentials::password_with_account("u", "p", "100500"))
        .build()
        .unwrap();
    client.version_info().await.unwrap();
    assert_eq!(
        bodies(&server, "СБИС.Аутентифицировать").await[0]["params"]["Параметр"]["НомерАккаунта"],
        "100500"
    );
}

#[tokio::test]
async fn service_app_token_is_an_access_token_and_a_lone_sid_a_session() {
    // A `token` / `access_token` goes in `X-SBISAccessToken`; an answer that carries only
    // `sid` is a session id, sent as `X-SBISSessionID` (public clients read `sid` as a session;
    // see docs/saby-client.md, evidence). Both present: the token wins.
    for (answer, header_name, secret) in [
        (json!({"token": "tok-1"}), "X-SBISAccessToken", "tok-1"),
        (
            json!({"access_token": "tok-2"}),
            "X-SBISAccessToken",
            "tok-2",
        ),
        (json!({"sid": "sid-3"}), "X-SBISSessionID", "sid-3"),
        (
            json!({"token": "tok-4", "sid": "sid-4"}),
            "X-SBISAccessToken",
            "tok-4",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/service/"))
            .and(body_json(json!({"app_client_id": "app-1", "app_secret": "app-secret-x", "secret_key": "key-secret-y"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/service/"))
            .and(header(header_name, secret))
            .respond_with(reply(fx(include_str!("../fixtures/version_info.json"))))
            .expect(1)
            .mount(&server)
            .await;
        catch_all(&server).await;
        let client = builder(&server)
            .credentials(Credentials::service_app(
                "app-1",
                "app-secret-x",
                "key-secret-y",
            ))
            .build()
            .unwrap();
        client.version_info().await.unwrap();
        let other = if header_name == "X-SBISSessionID" {
            "X-SBISAccessToken"
        } else {
            "X-SBISSessionID"
        };
        let calls = server.received_requests().await.unwrap();
        let service = calls.iter().find(|r| r.url.path() == "/service/").unwrap();
        assert!(service.headers.get(other).is_none(), "{answer}: no {other}");
    }
}

#[tokio::test]
async fn service_app_refused_is_auth_failed() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/service/"))
        .respond_with(ResponseTemplate::new(401).set_body_string(r#"{"error":"invalid_client"}"#))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = builder(&server)
        .credentials(Credentials::service_app("a", "s", "k"))
        .build()
        .unwrap();
    let err = client.version_info().await.unwrap_err();
    assert!(matches!(err, Error::AuthFailed { .. }), "{err:?}");
    assert_eq!(err.status(), Some(401));
}

struct Reverse;

#[async_trait::async_trait]
impl SessionDecryptor for Reverse {
    async fn decrypt(
        &self,
        enveloped: &[u8],
    ) -> Result<Secret, Box<dyn std::error::Error + Send + Sync>> {
        let mut v = enveloped.to_vec();
        v.reverse();
        Ok(Secret::from(String::from_utf8(v)?))
    }
}

#[tokio::test]
async fn certificate_login_decrypts_the_sid_with_the_callers_decryptor() {
    use base64::Engine as _;
    let server = MockServer::start().await;
    let encrypted = base64::engine::general_purpose::STANDARD.encode("dis-trec".as_bytes());
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.АутентифицироватьПоСертификату"))
        .respond_with(result(json!(encrypted)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.СписокСертификатовДляАутентификации"))
        .respond_with(result(json!([{"Отпечаток": "AB12", "ФИО": "Петров"}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(has_sid("cert-sid"))
        .respond_with(reply(fx(include_str!("../fixtures/version_info.json"))))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let plain = client(&server);
    let certs = plain.auth_certificates().await.unwrap();
    assert_eq!(certs[0].thumbprint.as_deref(), Some("AB12"));

    // A thumbprint alone cannot log in: the help page wants the certificate itself.
    let thumb_only = builder(&server)
        .credentials(Credentials::certificate(
            Certificate::by_thumbprint("AB12"),
            Arc::new(Reverse),
        ))
        .build()
        .unwrap();
    assert!(matches!(
        thumb_only.login_now().await.unwrap_err(),
        Error::InvalidInput(m) if m.contains("ДвоичныеДанные")
    ));

    let der = b"\x30\x82\x01\x0aDER-certificate".to_vec();
    let client = builder(&server)
        .credentials(Credentials::certificate(
            Certificate::from_der(der.clone()),
            Arc::new(Reverse),
        ))
        .build()
        .unwrap();
    client.version_info().await.unwrap();
    // Help page sbis.ru/help/integration/api/all_methods/authinput_ep: params
    // `{"Сертификат": {"ДвоичныеДанные": <DER, base64>}}`, on /auth/service/.
    let sent = bodies(&server, "СБИС.АутентифицироватьПоСертификату").await;
    assert_eq!(
        sent[0]["params"],
        json!({"Сертификат": {"ДвоичныеДанные": base64::engine::general_purpose::STANDARD.encode(&der)}})
    );
}

#[tokio::test]
async fn confirmation_code_path() {
    let server = MockServer::start().await;
    Mock::given(rpc("СБИС.Аутентифицировать"))
        .respond_with(reply(fx(include_str!("../fixtures/error_2fa.json"))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.ОтправитьКодАутентификации"))
        .and(has_sid("temp-sid-secret-77"))
        .respond_with(result(Value::Null))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.ПодтвердитьВход"))
        .and(has_sid("temp-sid-secret-77"))
        .respond_with(result(json!("confirmed-sid")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(has_sid("confirmed-sid"))
        .and(rpc("СБИС.ИнформацияОВерсии"))
        .respond_with(reply(fx(include_str!("../fixtures/version_info.json"))))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = client(&server);
    let err = client.version_info().await.unwrap_err();
    let info = match &err {
        Error::ConfirmationRequired(info) => info.clone(),
        other => panic!("{other:?}"),
    };
    assert!(err.is_auth());
    assert_eq!(info.id.as_deref(), Some("confirm-42"));
    assert_eq!(info.phone.as_deref(), Some("+7 (9**) ***-**-12"));
    assert_eq!(
        info.send_code_method.as_deref(),
        Some("СБИС.ОтправитьКодАутентификации")
    );
    assert!(
        !format!("{err:?} {err}").contains("temp-sid-secret-77"),
        "temporary session redacted"
    );
    client.send_auth_code(&info).await.unwrap();
    client.confirm_login(&info, " 123456 ").await.unwrap();
    client.version_info().await.unwrap();
    // Flat params, as SecretDerped/pysaby (src/pysaby/auth.py) sends them, with the temporary
    // session header (checked by the mocks above).
    assert_eq!(
        bodies(&server, "СБИС.ОтправитьКодАутентификации").await[0]["params"],
        json!({"Идентификатор": "confirm-42"})
    );
    assert_eq!(
        bodies(&server, "СБИС.ПодтвердитьВход").await[0]["params"],
        json!({"Идентификатор": "confirm-42", "Код": "123456"})
    );
}

#[tokio::test]
async fn a_refused_confirmation_code_is_auth_failed_and_no_sid_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.ПодтвердитьВход"))
        .and(|req: &wiremock::Request| body(req)["params"]["Код"] == "000000")
        .respond_with(reply(json!({"jsonrpc": "2.0", "id": 0, "error": {
            "code": -32000, "message": "Неверный код подтверждения", "details": "", "type": "error"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.ПодтвердитьВход"))
        .and(|req: &wiremock::Request| body(req)["params"]["Код"] == "111111")
        .respond_with(result(Value::Null))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = client(&server);
    let mut info = saby_client::ConfirmationInfo::default();
    info.id = Some("confirm-1".to_owned());
    info.session_id = Some("temp-sid-secret-1".to_owned());
    let err = client.confirm_login(&info, "000000").await.unwrap_err();
    assert!(
        matches!(&err, Error::AuthFailed { message, .. } if message.contains("Неверный код")),
        "{err:?}"
    );
    assert!(err.is_auth());
    // Refused by a JSON-RPC error in an HTTP 200: no HTTP status is made up (was 401).
    assert_eq!(err.status(), None);
    let err = client.confirm_login(&info, "111111").await.unwrap_err();
    assert!(matches!(err, Error::AuthFailed { .. }), "{err:?}");
    assert_eq!(err.status(), None);
    // No id to confirm: refused before any request.
    info.id = None;
    assert!(matches!(
        client.confirm_login(&info, "1").await.unwrap_err(),
        Error::InvalidInput(_)
    ));
}

#[tokio::test]
async fn logout_accounts_switch_and_current_user() {
    let server = server_with_login(Some(2)).await;
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.СписокАккаунтов"))
        .and(has_sid(SID))
        .respond_with(reply(fx(include_str!("../fixtures/accounts.json"))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.ПереключитьАккаунт"))
        .respond_with(result(json!("sid-account-2")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/service/"))
        .and(rpc("СБИС.ИнформацияОТекущемПользователе"))
        .and(has_sid("sid-account-2"))
        .respond_with(reply(fx(include_str!("../fixtures/current_user.json"))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/auth/service/"))
        .and(rpc("СБИС.Выход"))
        .and(has_sid("sid-account-2"))
        .respond_with(result(Value::Null))
        .expect(1)
        .mount(&server)
        .await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОВерсии",
        reply(fx(include_str!("../fixtures/version_info.json"))),
        Some(1),
    )
    .await;
    let client = client(&server);
    let accounts = client.accounts().await.unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0].number.as_deref(), Some("100500"));
    assert_eq!(accounts[1].name.as_deref(), Some("ИП Иванов"));
    client.switch_account("200600").await.unwrap();
    assert_eq!(
        bodies(&server, "СБИС.ПереключитьАккаунт").await[0]["params"]["Параметр"]["НомерАккаунта"],
        "200600"
    );
    let me = client.current_user().await.unwrap();
    assert_eq!(me.last_name.as_deref(), Some("Петров"));
    assert_eq!(me.id.as_deref(), Some("42"));
    assert_eq!(me.extra["Должность"], "Кадровик");
    client.logout().await.unwrap();
    // After logout the next call logs in again (second expected login).
    client.version_info().await.unwrap();
}

#[tokio::test]
async fn a_fixed_session_is_used_as_is_and_cannot_be_renewed() {
    let server = MockServer::start().await;
    Mock::given(has_sid("given-sid"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = builder(&server)
        .credentials(Credentials::session("given-sid"))
        .build()
        .unwrap();
    let err = client.version_info().await.unwrap_err();
    assert!(matches!(err, Error::SessionExpired { .. }), "{err:?}");
}
