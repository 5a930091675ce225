//! Every call the public evidence corrected (issue 13), end to end through the client and the
//! sandbox: the shape sent (read back with `Sandbox::last_call`) and the shape read. Each test
//! names its public source; `docs/saby-client.md` has the whole evidence table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::time::Duration;

use futures::StreamExt;
use saby_client::{Client, Error, EventCursor, ServerSigner};
use saby_sandbox::{Incoming, LoginConfirmation, OAuthAnswer, Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::sandbox_common::draft;

fn params(sb: &Sandbox, method: &str) -> Value {
    sb.last_call(method)
        .unwrap_or_else(|| panic!("{method} was not called"))["params"]
        .clone()
}

/// Source: `SecretDerped/pysaby`, `src/pysaby/auth.py` (`_handle_sms_authentication`): after
/// the login error with classid `{…1fa000001002}`, `СБИС.ОтправитьКодАутентификации` with
/// params `{"Идентификатор": addinfo.Идентификатор}` and `СБИС.ПодтвердитьВход` with
/// `{"Идентификатор", "Код"}`, both flat, to `/auth/service/`, with
/// `X-SBISSessionID: addinfo.ИдентификаторСессии`; `result` of the confirmation is the sid.
#[tokio::test]
async fn two_step_login_with_a_confirmation_code_end_to_end() {
    let sb = Sandbox::start(
        SandboxConfig::default().login_confirmation(LoginConfirmation::Code("246810".into())),
    )
    .await;
    let client = sb.client();
    let info = match client.login_now().await.unwrap_err() {
        Error::ConfirmationRequired(info) => *info,
        other => panic!("expected a confirmation request, got {other:?}"),
    };
    assert_eq!(sb.login_count(), 0);
    assert!(info.id.is_some());
    assert!(info.session_id.is_some());
    assert_eq!(info.phone.as_deref(), Some("+7 (9**) ***-**-12"));
    // Until confirmed, calls fail the same way (no session yet).
    assert!(matches!(
        client.version_info().await.unwrap_err(),
        Error::ConfirmationRequired(_)
    ));

    client.send_auth_code(&info).await.unwrap();
    assert_eq!(
        params(&sb, "СБИС.ОтправитьКодАутентификации"),
        json!({"Идентификатор": info.id})
    );

    let err = client.confirm_login(&info, "000000").await.unwrap_err();
    assert!(
        matches!(&err, Error::AuthFailed { message, .. } if message.contains("Неверный код")),
        "{err:?}"
    );
    assert_eq!(sb.login_count(), 0);

    client.confirm_login(&info, "246810").await.unwrap();
    assert_eq!(
        params(&sb, "СБИС.ПодтвердитьВход"),
        json!({"Идентификатор": info.id, "Код": "246810"})
    );
    assert_eq!(sb.login_count(), 1);
    // A normal call works on the confirmed session, without logging in again.
    let version = client.version_info().await.unwrap();
    assert!(version.request_time().is_some());
    client
        .write_document(&draft("after-2fa", "Договор"))
        .await
        .unwrap();
    assert_eq!(sb.method_call_count("СБИС.Аутентифицировать"), 2);
    assert_eq!(sb.login_count(), 1);
}

/// Same flow with a random code "sent by SMS" (read from the sandbox); the temporary session
/// is what authorizes the follow-up calls — without it they are refused.
#[tokio::test]
async fn a_random_code_and_the_temporary_session_header() {
    let sb =
        Sandbox::start(SandboxConfig::default().login_confirmation(LoginConfirmation::RandomCode))
            .await;
    let client = sb.client();
    let Error::ConfirmationRequired(info) = client.login_now().await.unwrap_err() else {
        panic!("expected a confirmation request");
    };
    let mut no_session = (*info).clone();
    no_session.session_id = None;
    assert!(
        client
            .send_auth_code(&no_session)
            .await
            .unwrap_err()
            .is_auth()
    );
    assert_eq!(sb.last_confirmation_code(), None);

    client.send_auth_code(&info).await.unwrap();
    let code = sb.last_confirmation_code().unwrap();
    assert_eq!(code.len(), 6);
    client.confirm_login(&info, &code).await.unwrap();
    client.current_user().await.unwrap();
}

/// Source: help page `sbis.ru/help/integration/api/all_methods/authinput_ep`: params
/// `{"Сертификат": {"ДвоичныеДанные": <X.509 DER, base64>}}` on `/auth/service/`; the
/// result is a base64 string, the sid encrypted to that certificate.
#[tokio::test]
async fn certificate_login_sends_the_certificate_and_decrypts_the_answer() {
    use base64::Engine as _;
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb
        .client_builder()
        .credentials(sb.certificate_credentials())
        .build()
        .unwrap();
    client
        .write_document(&draft("cert-doc", "Приказ"))
        .await
        .unwrap();
    let der = Sandbox::certificate().data.unwrap();
    assert_eq!(
        params(&sb, "СБИС.АутентифицироватьПоСертификату"),
        json!({"Сертификат": {"ДвоичныеДанные":
            base64::engine::general_purpose::STANDARD.encode(der.bytes())}})
    );
    assert_eq!(sb.login_count(), 1);
    // The certificates offered for it are read whatever the shape (no public shape).
    let certs = client.auth_certificates().await.unwrap();
    assert_eq!(certs[0].data, Sandbox::certificate().data);
}

/// Sources: `saby-integration/vo3_core`, `base/LocalHelper.bsl`: `local_helper_get_accoutslist`
/// (params `{}`, reads `result.Список`, items `{НомерАккаунта, НазваниеАккаунта}`),
/// `local_helper_get_user_info` (reads `result["Пользователь"]`, `["Аккаунт"]["Номер"]`),
/// `local_helper_get_server_datetime` (params `{"Параметр": {}}`, reads
/// `result.ВнешнийИнтерфейс.ДатаВремяЗапроса`).
#[tokio::test]
async fn accounts_current_user_and_version_read_the_connectors_shapes() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    let accounts = client.accounts().await.unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0].number.as_deref(), Some(sb.account().as_str()));
    assert!(accounts[0].name.as_deref().unwrap().contains("Ромашка"));
    assert_eq!(params(&sb, "СБИС.СписокАккаунтов"), json!({}));

    let me = client.current_user().await.unwrap();
    assert_eq!(
        me.last_name.as_deref(),
        Some("Иванов"),
        "read under Пользователь"
    );
    assert_eq!(me.account_number(), Some(sb.account()));
    assert_eq!(
        params(&sb, "СБИС.ИнформацияОТекущемПользователе"),
        json!({"Параметр": {}})
    );

    let version = client.version_info().await.unwrap();
    let at = version.request_time().and_then(|t| t.datetime()).unwrap();
    assert_eq!(at.year(), time::OffsetDateTime::now_utc().year());
    assert_eq!(
        params(&sb, "СБИС.ИнформацияОВерсии"),
        json!({"Параметр": {}})
    );
}

/// Sources: Tensor's own API tests and a public client
/// (`"Действие": [{"Название": "Отправить", "Сертификат": [{"Отпечаток": ...}]}]` in
/// `СБИС.ВыполнитьДействие`), also for server-side keys; the certificate Prepare names as an
/// object `{"Отпечаток"}` (`tv1ce/nerpa`, `app/services/saby_tms_client.py`).
#[tokio::test]
async fn the_executed_action_names_its_certificate_also_for_server_keys() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    client
        .write_document(&draft("cert-act", "Договор"))
        .await
        .unwrap();
    client.send("cert-act", &ServerSigner).await.unwrap();
    let thumbprint = client.certificates().await.unwrap()[0]
        .thumbprint
        .clone()
        .unwrap();
    let exec = params(&sb, "СБИС.ВыполнитьДействие");
    assert_eq!(
        exec["Документ"]["Этап"][0]["Действие"],
        json!([{"Название": "Отправить", "Сертификат": [{"Отпечаток": thumbprint}]}])
    );
    let prepare = params(&sb, "СБИС.ПодготовитьДействие");
    assert_eq!(
        prepare["Документ"]["Этап"]["Действие"]["Сертификат"],
        json!({"Отпечаток": thumbprint})
    );
    // An incoming approval the same way.
    let id = sb.add_incoming(Incoming::new("Приказ о приеме"));
    client.approve(&id, &ServerSigner).await.unwrap();
    let exec = params(&sb, "СБИС.ВыполнитьДействие");
    assert_eq!(
        exec["Документ"]["Этап"][0]["Действие"][0]["Сертификат"],
        json!([{"Отпечаток": thumbprint}])
    );
}

/// Source: `saby-integration/vo3_core`, `base/LocalHelper.bsl`,
/// `local_helper_delay_service_stage`: `{"Параметры": {"Документ": ...}}` (the older
/// `src/LocalHelper.1c` sent `{"Документ": ...}`; the sandbox accepts both).
#[tokio::test]
async fn deferring_a_service_stage_sends_the_newer_wrapped_shape() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    let id = sb.add_incoming(Incoming::new("Акт"));
    assert!(sb.add_service_stage(&id));
    let page = client
        .service_stages(&saby_client::ServiceStageFilter::new())
        .await
        .unwrap();
    let stage_id = page.documents[0].stages[0].id.clone().unwrap();
    client.defer_service_stage(&id, &stage_id).await.unwrap();
    assert_eq!(
        params(&sb, "СБИС.ОтложитьСлужебныйЭтап"),
        json!({"Параметры": {"Документ": {"Идентификатор": id, "Этап": {"Идентификатор": stage_id}}}})
    );
    let page = client
        .service_stages(&saby_client::ServiceStageFilter::new())
        .await
        .unwrap();
    assert!(page.documents.is_empty(), "deferred");
}

/// Source: a public Saby EDO client's note "checked in production" (a FastAPI service's
/// `changes_page`, see docs/saby-client.md): `СБИС.СписокИзменений` with `protocol: 3`, a
/// `ДатаВремяС` in every filter, never `Навигация`, the next page by the last event's
/// `ИдентификаторСобытия` + `ИдентификаторДокумента` + `ДатаВремяС`.
#[tokio::test]
async fn the_feed_starts_a_week_back_with_protocol_3_and_keeps_that_start() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    let mut feed = client.events(EventCursor::default());
    assert!(feed.next().await.is_none(), "nothing happened yet");
    let call = sb.last_call("СБИС.СписокИзменений").unwrap();
    assert_eq!(call["protocol"], 3);
    let filter = &call["params"]["Фильтр"];
    assert!(filter.get("Навигация").is_none());
    let since = filter["ДатаВремяС"].as_str().unwrap().to_owned();
    let since_at = saby_client::SabyDateTime::parse(since.clone())
        .datetime()
        .unwrap();
    let moscow = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+3));
    let week_ago =
        time::PrimitiveDateTime::new(moscow.date(), moscow.time()) - time::Duration::days(7);
    assert!(
        (since_at - week_ago).abs() < time::Duration::minutes(5),
        "{since} is about a week ago, Moscow time"
    );
    // The start is kept in the cursor, so persisting it keeps the same history start.
    assert_eq!(feed.cursor().since.as_deref(), Some(since.as_str()));
    let cursor = feed.cursor().clone();
    client.events(cursor).next().await;
    assert_eq!(
        sb.last_call("СБИС.СписокИзменений").unwrap()["params"]["Фильтр"]["ДатаВремяС"],
        since.as_str()
    );
}

/// The history start is configurable: a shorter window, or a fixed start; an explicit
/// `EventCursor::since` is left alone.
#[tokio::test]
async fn the_history_start_is_configurable() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let fixed = sb
        .client_builder()
        .event_history_from(time::macros::datetime!(2020-01-02 03:04:05))
        .build()
        .unwrap();
    fixed.events(EventCursor::start()).next().await;
    assert_eq!(
        sb.last_call("СБИС.СписокИзменений").unwrap()["params"]["Фильтр"]["ДатаВремяС"],
        "02.01.2020 03.04.05"
    );
    let hour = sb
        .client_builder()
        .event_history_window(Duration::from_secs(3600))
        .build()
        .unwrap();
    let mut feed = hour.events(EventCursor::default());
    feed.next().await;
    let since = saby_client::SabyDateTime::parse(feed.cursor().since.clone().unwrap())
        .datetime()
        .unwrap();
    let moscow = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+3));
    let hour_ago =
        time::PrimitiveDateTime::new(moscow.date(), moscow.time()) - time::Duration::hours(1);
    assert!((since - hour_ago).abs() < time::Duration::minutes(5));
    // An explicit start wins over the window.
    hour.events(EventCursor::since(
        time::macros::datetime!(2021-05-06 07:08:09),
    ))
    .next()
    .await;
    assert_eq!(
        sb.last_call("СБИС.СписокИзменений").unwrap()["params"]["Фильтр"]["ДатаВремяС"],
        "06.05.2021 07.08.09"
    );
}

/// A `Навигация` put into the feed filter by hand is dropped: it breaks the feed's paging.
#[tokio::test]
async fn navigation_is_never_sent_to_the_feed() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    let filter = saby_client::EventFilter::new()
        .field("Навигация", json!({"РазмерСтраницы": "5"}))
        .field("ПолныйСертификатЭП", "Нет");
    client
        .events(EventCursor::default())
        .with_filter(filter)
        .next()
        .await;
    let filter = &sb.last_call("СБИС.СписокИзменений").unwrap()["params"]["Фильтр"];
    assert!(filter.get("Навигация").is_none(), "{filter}");
    assert_eq!(filter["ПолныйСертификатЭП"], "Нет");
}

/// A service-application login answered with only `sid` gives a session id, sent as
/// `X-SBISSessionID` (a `token` stays `X-SBISAccessToken`). The sandbox accepts each secret in
/// its own header only, so the wrong header would be a 401.
#[tokio::test]
async fn a_service_app_sid_is_a_session_id() {
    for answer in [
        OAuthAnswer::SidOnly,
        OAuthAnswer::TokenOnly,
        OAuthAnswer::TokenAndSid,
    ] {
        let sb = Sandbox::start(SandboxConfig::default().oauth_answer(answer)).await;
        let client = sb
            .client_builder()
            .credentials(sb.service_app_credentials())
            .build()
            .unwrap();
        client
            .write_document(&draft("app-doc", "Договор"))
            .await
            .unwrap();
        client.read_document("app-doc").await.unwrap();
        assert_eq!(sb.login_count(), 1, "{answer:?}");
        assert_eq!(sb.unauthorized_count(), 0, "{answer:?}");
    }
}

/// A sandbox client logged in through the confirmation code.
async fn confirmed_client(sb: &Sandbox) -> Client {
    let client = sb.client();
    let Error::ConfirmationRequired(info) = client.login_now().await.unwrap_err() else {
        panic!("expected a confirmation request");
    };
    client.send_auth_code(&info).await.unwrap();
    let code = sb.last_confirmation_code().unwrap();
    client.confirm_login(&info, &code).await.unwrap();
    client
}

/// A confirmed session behaves like any other: expiry renews it through a new login, which
/// asks for a code again (the caller sees `ConfirmationRequired`, never a loop of logins).
#[tokio::test]
async fn an_expired_confirmed_session_asks_for_a_code_again() {
    let sb = Sandbox::start(
        SandboxConfig::default().login_confirmation(LoginConfirmation::Code("1357".into())),
    )
    .await;
    let client = confirmed_client(&sb).await;
    client.read_document("nothing").await.unwrap_err();
    sb.expire_sessions();
    assert!(matches!(
        client.version_info().await.unwrap_err(),
        Error::ConfirmationRequired(_)
    ));
    assert_eq!(sb.method_call_count("СБИС.Аутентифицировать"), 2);
}
