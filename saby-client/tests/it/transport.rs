//! Transport: endpoints, headers, envelope, every error shape and the retry rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::common::*;
use saby_client::{CallOptions, Client, Credentials, Document, Error, ErrorCode};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn posts_json_rpc_with_headers_ids_and_protocol() {
    let server = server_with_login(Some(1)).await;
    Mock::given(method("POST"))
        .and(path("/service/"))
        .and(query_param("srv", "1"))
        .and(header("content-type", "application/json-rpc;charset=utf-8"))
        .and(header("X-SBISSessionID", SID))
        .and(rpc("СБИС.ИнформацияОВерсии"))
        .respond_with(reply(fx(include_str!("../fixtures/version_info.json"))))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    let v: Value = client
        .call_with(
            "СБИС.ИнформацияОВерсии",
            &json!({}),
            CallOptions::new().protocol(4),
        )
        .await
        .unwrap();
    assert_eq!(v["ВнешнийИнтерфейс"], "3.0.2");
    let info = client.version_info().await.unwrap();
    assert_eq!(info.api_version().as_deref(), Some("3.0.2"));
    assert_eq!(info.version.as_deref(), Some("24.6104"));

    let sent = bodies(&server, "СБИС.ИнформацияОВерсии").await;
    assert_eq!(sent[0]["jsonrpc"], "2.0");
    assert_eq!(sent[0]["protocol"], 4);
    assert!(sent[1].get("protocol").is_none());
    assert_ne!(sent[0]["id"], sent[1]["id"], "every call has its own id");
    let login = bodies(&server, "СБИС.Аутентифицировать").await;
    assert_eq!(login[0]["params"]["Параметр"]["Логин"], "hr-robot");
    assert_eq!(login[0]["params"]["Параметр"]["Пароль"], PASSWORD);
    assert!(
        login[0]["params"]["Параметр"]
            .get("НомерАккаунта")
            .is_none()
    );
}

#[tokio::test]
async fn base_url_with_trailing_slash_and_prefix_joins_paths() {
    for suffix in ["", "/", "/saby", "/saby/"] {
        let server = MockServer::start().await;
        let prefix = if suffix.starts_with("/saby") {
            "/saby"
        } else {
            ""
        };
        Mock::given(method("POST"))
            .and(path(format!("{prefix}/auth/service/")))
            .respond_with(reply(fx(include_str!("../fixtures/auth_ok.json"))))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("{prefix}/service/")))
            .and(query_param("srv", "1"))
            .respond_with(result(json!({"ok": "Да"})))
            .expect(1)
            .mount(&server)
            .await;
        catch_all(&server).await;
        let client = builder(&server)
            .base_url(format!("{}{suffix}", server.uri()))
            .build()
            .unwrap();
        let v: Value = client
            .call("СБИС.ИнформацияОВерсии", &json!({}))
            .await
            .unwrap();
        assert_eq!(v["ok"], "Да", "suffix {suffix:?}");
    }
}

#[tokio::test]
async fn default_base_url_is_production() {
    let client = Client::builder()
        .credentials(Credentials::password("a", "b"))
        .build()
        .unwrap();
    assert_eq!(client.base_url().as_str(), "https://online.sbis.ru/");
    assert!(matches!(
        Client::builder()
            .base_url("not a url")
            .credentials(Credentials::password("a", "b"))
            .build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(Client::builder().build(), Err(Error::Config(_))));
}

async fn error_for(status: u16, envelope: Value) -> Error {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply_status(status, envelope),
        Some(1),
    )
    .await;
    client(&server).read_document("x").await.unwrap_err()
}

#[tokio::test]
async fn rpc_error_with_numeric_code_classid_and_addinfo() {
    for status in [200, 404, 500, 501] {
        let err = error_for(
            status,
            fx(include_str!("../fixtures/error_code_number.json")),
        )
        .await;
        let rpc = err
            .rpc()
            .unwrap_or_else(|| panic!("RPC error for HTTP {status}, got {err:?}"));
        assert_eq!(rpc.code, Some(ErrorCode::Number(-32000)));
        assert_eq!(rpc.message, "Документ не найден");
        assert_eq!(
            rpc.details.as_deref(),
            Some("Документ с идентификатором x не найден в системе")
        );
        assert_eq!(
            rpc.class_id.as_deref(),
            Some("{00000000-0000-0000-0000-000000000001}")
        );
        assert_eq!(rpc.addinfo, Some(json!({"Идентификатор": "x"})));
        assert_eq!(rpc.error_type.as_deref(), Some("error"));
        // Only a real HTTP error status: an RPC error in an HTTP 200 has none.
        let expected = (status != 200).then_some(status);
        assert_eq!(err.status(), expected);
        assert_eq!(saby_client::ServiceError::status(&err), expected);
        assert!(
            !err.is_retryable(),
            "business errors are not retried (HTTP {status})"
        );
        assert!(!err.is_auth());
        assert!(err.to_string().contains("Документ не найден"));
    }
}

#[tokio::test]
async fn rpc_error_with_string_code_and_details_equal_to_message() {
    let err = error_for(200, fx(include_str!("../fixtures/error_code_string.json"))).await;
    let rpc = err.rpc().unwrap();
    assert_eq!(rpc.code, Some(ErrorCode::Text("NotFound".into())));
    assert_eq!(rpc.details, None, "details equal to message are dropped");
    assert_eq!(rpc.class_id, None);
    assert_eq!(rpc.addinfo, None);
}

#[tokio::test]
async fn business_error_with_http_500_is_not_retried_even_for_reads() {
    // expect(1) inside error_for pins the single attempt.
    let err = error_for(500, fx(include_str!("../fixtures/error_code_number.json"))).await;
    assert_eq!(err.status(), Some(500));
}

#[tokio::test]
async fn status_403_and_423_are_typed() {
    let err = error_for(403, fx(include_str!("../fixtures/error_code_string.json"))).await;
    assert!(
        matches!(&err, Error::AccessDenied { message: Some(m) } if m == "Нет прав на документ"),
        "{err:?}"
    );
    assert!(err.is_auth());
    assert_eq!(err.status(), Some(403));

    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(423),
        Some(1),
    )
    .await;
    let err = client(&server).read_document("x").await.unwrap_err();
    assert!(matches!(err, Error::PinLocked { .. }), "{err:?}");
    assert_eq!(err.status(), Some(423));
}

#[tokio::test]
async fn maintenance_503_and_504_are_retried_for_reads() {
    for status in [502u16, 503, 504] {
        let server = server_with_login(Some(1)).await;
        Mock::given(method("POST"))
            .and(path("/service/"))
            .and(rpc("СБИС.ПрочитатьДокумент"))
            .respond_with(
                ResponseTemplate::new(status).set_body_string("<html>Технические работы</html>"),
            )
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        mount_rpc(
            &server,
            "СБИС.ПрочитатьДокумент",
            reply(fx(include_str!("../fixtures/document_incoming.json"))),
            Some(1),
        )
        .await;
        let doc = client(&server).read_document("in-doc-7").await.unwrap();
        assert_eq!(
            doc.id.as_ref().map(|i| i.as_str()),
            Some("in-doc-7"),
            "HTTP {status}"
        );
    }
}

#[tokio::test]
async fn maintenance_gives_up_after_max_attempts() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(503).insert_header("Retry-After", "0"),
        Some(4),
    )
    .await;
    let err = client(&server).read_document("x").await.unwrap_err();
    assert!(
        matches!(err, Error::Maintenance { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn execute_action_is_never_retried_after_it_may_have_reached_the_server() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        ResponseTemplate::new(503),
        Some(1),
    )
    .await;
    let exec = saby_client::Execution::new("doc-1", "Отправка", "Отправить");
    let err = client(&server).execute_action(&exec).await.unwrap_err();
    assert!(matches!(err, Error::Maintenance { .. }));
}

#[tokio::test]
async fn write_with_own_ids_is_retried_and_without_ids_is_not() {
    let server = server_with_login(Some(1)).await;
    Mock::given(method("POST"))
        .and(path("/service/"))
        .and(rpc("СБИС.ЗаписатьДокумент"))
        .respond_with(ResponseTemplate::new(504))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_rpc(
        &server,
        "СБИС.ЗаписатьДокумент",
        reply(fx(include_str!("../fixtures/document_draft.json"))),
        Some(1),
    )
    .await;
    let client = client(&server);
    let doc = Document::new("3f1c2a9e-0000-4000-8000-000000000001").with_attachment(
        saby_client::Attachment::from_bytes("att-1", "a.pdf", b"x".to_vec()),
    );
    client.write_document(&doc).await.unwrap();

    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ЗаписатьДокумент",
        ResponseTemplate::new(504),
        Some(1),
    )
    .await;
    let client = crate::common::client(&server);
    let mut no_id = Document::default();
    no_id.doc_type = Some("ДокОтгрИсх".into());
    let err = client.write_document(&no_id).await.unwrap_err();
    assert!(matches!(err, Error::Maintenance { status: 504, .. }));
}

#[tokio::test]
async fn connect_errors_are_transport_errors_without_url() {
    // A port nobody listens on.
    let client = Client::builder()
        .base_url(format!(
            "{}/?token=url-secret",
            hr_docs_testkit::errors::closed_loopback_url()
        ))
        .credentials(Credentials::password("u", PASSWORD))
        .retry_policy(
            saby_client::RetryPolicy::default()
                .with_max_attempts(2)
                .with_initial_backoff(std::time::Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = client.read_document("x").await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { connect: true, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    let shown = format!("{err} {err:?} {:?}", std::error::Error::source(&err));
    assert!(!shown.contains("url-secret"), "URL stripped: {shown}");
    assert!(!shown.contains(PASSWORD));
}

#[tokio::test]
async fn html_page_truncated_and_malformed_bodies_are_retried_then_decode_errors() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>Вход в систему</body></html>", "text/html"),
            "<html>",
        ),
        // JSON, whole or cut off, is never quoted: it may be a document (issue 9).
        (
            ResponseTemplate::new(200).set_body_raw(
                r#"{"jsonrpc":"2.0","result":{"Идентификатор":"x","Сост"#,
                "application/json",
            ),
            "",
        ),
        (
            ResponseTemplate::new(200).set_body_raw("{not json at all", "application/json"),
            "",
        ),
        (
            ResponseTemplate::new(200).set_body_raw("", "application/json"),
            "",
        ),
    ];
    for (template, needle) in cases {
        let server = server_with_login(Some(1)).await;
        // A damaged answer to a read is asked again: all 4 attempts of the test policy.
        mount_rpc(&server, "СБИС.ПрочитатьДокумент", template, Some(4)).await;
        let err = client(&server).read_document("x").await.unwrap_err();
        match &err {
            Error::Decode {
                method,
                excerpt,
                status,
                ..
            } => {
                assert_eq!(method, "СБИС.ПрочитатьДокумент");
                assert_eq!(*status, 200);
                if needle.is_empty() {
                    assert!(excerpt.is_empty(), "{excerpt}");
                } else {
                    assert!(excerpt.contains(needle), "{excerpt}");
                }
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn html_500_page_is_an_http_error() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(500).set_body_raw("<html>Internal error</html>", "text/html"),
        // A 500 without a JSON-RPC body is no business error: retried for a read, like every
        // client's 500 (`hr_docs_core::is_retryable_status`).
        Some(4),
    )
    .await;
    let err = client(&server).read_document("x").await.unwrap_err();
    assert!(
        matches!(&err, Error::Http { status: 500, excerpt, .. } if excerpt.contains("Internal error")),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(500));
}

#[tokio::test]
async fn a_value_of_another_type_is_kept_not_refused() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        result(json!({"Идентификатор": "x", "Регламент": {"Название": ["не строка"]}})),
        Some(1),
    )
    .await;
    let doc = client(&server).read_document("x").await.unwrap();
    let regulation = doc.regulation.unwrap();
    assert_eq!(regulation.name, None);
    assert_eq!(regulation.extra["Название"], json!(["не строка"]));
}

#[tokio::test]
async fn a_result_that_is_no_document_names_the_path() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        result(json!("не документ")),
        Some(1),
    )
    .await;
    match client(&server).read_document("x").await.unwrap_err() {
        Error::Decode { path, method, .. } => {
            assert_eq!(path, "result");
            assert_eq!(method, "СБИС.ПрочитатьДокумент");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn wrong_id_is_a_typed_error() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(200).set_body_raw(
            r#"{"jsonrpc":"2.0","result":{},"id":987654}"#,
            "application/json",
        ),
        Some(1),
    )
    .await;
    let err = client(&server).read_document("x").await.unwrap_err();
    assert!(
        matches!(&err, Error::IdMismatch { got, .. } if got == "987654"),
        "{err:?}"
    );
}

#[tokio::test]
async fn generic_call_reaches_unwrapped_methods() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.НовыйМетод",
        result(json!({"Ответ": 1})),
        Some(1),
    )
    .await;
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Ответ")]
        answer: u32,
    }
    let a: Answer = client(&server)
        .call("СБИС.НовыйМетод", &json!({"Параметр": {}}))
        .await
        .unwrap();
    assert_eq!(a.answer, 1);
}

#[tokio::test]
async fn deadline_bounds_the_whole_call() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(1)),
        None,
    )
    .await;
    let client = builder(&server)
        .deadline(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.read_document("x").await.unwrap_err();
    // The one attempt had what was left of the deadline, and timed out: that is the cause.
    match &err {
        Error::DeadlineExceeded {
            deadline,
            attempts: 1,
            last_error: Some(last),
        } => {
            assert_eq!(*deadline, std::time::Duration::from_millis(200));
            assert!(
                matches!(**last, Error::Timeout { timeout } if timeout <= *deadline),
                "{last:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_deadline() && err.is_timeout() && err.is_retryable());
}

#[tokio::test]
async fn per_attempt_timeout_is_typed_and_retried_for_reads() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(1)),
        Some(2),
    )
    .await;
    let client = builder(&server)
        .timeout(std::time::Duration::from_millis(100))
        .retry_policy(
            saby_client::RetryPolicy::default()
                .with_max_attempts(2)
                .with_initial_backoff(std::time::Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = client.read_document("x").await.unwrap_err();
    // The real timeout of the attempt, never a placeholder.
    assert!(
        matches!(err, Error::Timeout { timeout } if timeout == std::time::Duration::from_millis(100)),
        "{err:?}"
    );
}
