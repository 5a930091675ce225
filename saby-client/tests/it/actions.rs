//! perform / send / approve / reject...: stage and action picked from the document, signing
//! with server and client keys, helpful errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::sync::Mutex;

use crate::common::*;
use base64::Engine as _;
use saby_client::{Error, ServerSigner, SignRequest, Signer, StateCode};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DOC: &str = "3f1c2a9e-0000-4000-8000-000000000001";

/// (attachment id, content, hash, certificate thumbprint) as the signer saw them.
type Seen = (String, Option<Vec<u8>>, Option<String>, Option<String>);

/// A signer that "signs" by prefixing the content, and records what it was asked.
#[derive(Default)]
struct FakeCms {
    seen: Mutex<Vec<Seen>>,
}

#[async_trait::async_trait]
impl Signer for FakeCms {
    async fn sign(&self, req: SignRequest<'_>) -> saby_client::Result<Option<Vec<u8>>> {
        self.seen.lock().unwrap().push((
            req.attachment
                .id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            req.content.map(<[u8]>::to_vec),
            req.hash.map(str::to_owned),
            req.certificate.and_then(|c| c.thumbprint.clone()),
        ));
        let mut sig = b"CMS:".to_vec();
        sig.extend_from_slice(req.content.unwrap_or_default());
        Ok(Some(sig))
    }
}

async fn server_with_draft() -> MockServer {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply(fx(include_str!("../fixtures/document_draft.json"))),
        None,
    )
    .await;
    server
}

#[tokio::test]
async fn send_with_server_key_prepares_and_executes_without_signatures() {
    let server = server_with_draft().await;
    mount_rpc(
        &server,
        "СБИС.ПодготовитьДействие",
        reply(fx(include_str!("../fixtures/prepare_server_key.json"))),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        reply(fx(include_str!("../fixtures/execute_sent.json"))),
        Some(1),
    )
    .await;
    let doc = client(&server).send(DOC, &ServerSigner).await.unwrap();
    assert_eq!(doc.state.unwrap().code, StateCode::Sent);
    assert_eq!(
        doc.events[0].id.as_ref().map(|i| i.as_str()),
        Some("ev-sent-1")
    );

    let prepare = &bodies(&server, "СБИС.ПодготовитьДействие").await[0]["params"]["Документ"];
    assert_eq!(prepare["Идентификатор"], DOC);
    assert_eq!(prepare["Этап"]["Название"], "Отправка");
    assert_eq!(prepare["Этап"]["Идентификатор"], "stage-send");
    assert_eq!(prepare["Этап"]["Действие"]["Название"], "Отправить");
    assert_eq!(
        prepare["Этап"]["Действие"]["Сертификат"]["Отпечаток"],
        "AB12"
    );
    let exec = &bodies(&server, "СБИС.ВыполнитьДействие").await[0]["params"]["Документ"];
    assert_eq!(exec["Этап"][0]["Название"], "Отправка");
    assert_eq!(exec["Этап"][0]["Действие"][0]["Название"], "Отправить");
    assert!(
        exec["Этап"][0].get("Вложение").is_none(),
        "server key: no signature sent: {exec}"
    );
}

#[tokio::test]
async fn perform_with_client_key_signs_each_prepared_attachment() {
    let server = server_with_draft().await;
    mount_rpc(
        &server,
        "СБИС.ПодготовитьДействие",
        reply(fx(include_str!("../fixtures/prepare_client_key.json"))),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        reply(fx(include_str!("../fixtures/execute_sent.json"))),
        Some(1),
    )
    .await;
    for (p, content) in [
        ("/disk/api/v1/att-1", b"PDF-BYTES".as_slice()),
        ("/disk/api/v1/title-1", b"<title/>"),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .and(header("X-SBISSessionID", SID))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(content.to_vec()))
            .expect(1)
            .mount(&server)
            .await;
    }
    let signer = FakeCms::default();
    client(&server)
        .perform(DOC, "отправка", "Отправить", Some("  Подписано  "), &signer)
        .await
        .unwrap();
    let seen = signer.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "att-1");
    assert_eq!(seen[0].1.as_deref(), Some(b"PDF-BYTES".as_slice()));
    assert_eq!(seen[0].2.as_deref(), Some("aa11"));
    assert_eq!(seen[0].3.as_deref(), Some("DD44"));
    assert_eq!(seen[1].0, "title-1");

    let exec = &bodies(&server, "СБИС.ВыполнитьДействие").await[0]["params"]["Документ"];
    let stage = &exec["Этап"][0];
    assert_eq!(stage["Действие"][0]["Комментарий"], "Подписано");
    let atts = stage["Вложение"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0]["Идентификатор"], "att-1");
    let sig = &atts[0]["Подпись"][0];
    assert_eq!(sig["Тип"], "Отсоединенная");
    assert_eq!(sig["Файл"]["Имя"], "contract.pdf.p7s");
    let cms = base64::engine::general_purpose::STANDARD
        .decode(sig["Файл"]["ДвоичныеДанные"].as_str().unwrap())
        .unwrap();
    assert_eq!(cms, b"CMS:PDF-BYTES");
    assert_eq!(atts[1]["Подпись"][0]["Файл"]["Имя"], "title.xml.p7s");
}

#[tokio::test]
async fn client_key_with_a_server_signer_is_a_typed_error_and_nothing_is_executed() {
    let server = server_with_draft().await;
    mount_rpc(
        &server,
        "СБИС.ПодготовитьДействие",
        reply(fx(include_str!("../fixtures/prepare_client_key.json"))),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        reply(fx(include_str!("../fixtures/execute_sent.json"))),
        Some(0),
    )
    .await;
    let err = client(&server).send(DOC, &ServerSigner).await.unwrap_err();
    assert!(
        matches!(&err, Error::SignatureRequired { attachment, .. } if attachment == "att-1"),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_action_lists_what_the_document_offers() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply(fx(include_str!("../fixtures/document_incoming.json"))),
        Some(2),
    )
    .await;
    let client = client(&server);
    let err = client.send("in-doc-7", &ServerSigner).await.unwrap_err();
    match &err {
        Error::ActionNotFound {
            available, wanted, ..
        } => {
            assert!(wanted.contains("Отправить"));
            assert_eq!(available.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("Утверждение/Утвердить") && text.contains("Утверждение/Отклонить"),
        "{text}"
    );
    let err = client
        .perform(
            "in-doc-7",
            "Утверждение",
            "Аннулировать",
            None,
            &ServerSigner,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ActionNotFound { .. }));
}

#[tokio::test]
async fn approve_and_reject_resolve_from_the_document() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply(fx(include_str!("../fixtures/document_incoming.json"))),
        None,
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ПодготовитьДействие",
        result(json!({"Идентификатор": "in-doc-7"})),
        Some(2),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        reply(fx(include_str!("../fixtures/execute_sent.json"))),
        Some(2),
    )
    .await;
    let client = client(&server);
    client.approve("in-doc-7", &ServerSigner).await.unwrap();
    client
        .reject("in-doc-7", "Неверные реквизиты", &ServerSigner)
        .await
        .unwrap();
    let execs = bodies(&server, "СБИС.ВыполнитьДействие").await;
    let action = |i: usize| execs[i]["params"]["Документ"]["Этап"][0]["Действие"][0].clone();
    assert_eq!(action(0)["Название"], "Утвердить");
    // The action carries the certificate the document offers, as an array of thumbprint
    // references — also for server-side keys (Tensor's API tests; a public client sending
    // `"Действие": [{"Название": ..., "Сертификат": [{"Отпечаток": ...}]}]`).
    assert_eq!(
        action(1),
        json!({"Название": "Отклонить", "Комментарий": "Неверные реквизиты",
               "Сертификат": [{"Отпечаток": "AB12"}]})
    );
    assert_eq!(
        execs[1]["params"]["Документ"]["Этап"][0]["Название"],
        "Утверждение"
    );
}

#[tokio::test]
async fn comment_is_required_for_reject_and_for_actions_that_demand_one() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply(fx(include_str!("../fixtures/document_incoming.json"))),
        Some(1),
    )
    .await;
    let client = client(&server);
    let err = client
        .reject("in-doc-7", "   ", &ServerSigner)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CommentRequired { .. }));
    // ТребуетКомментария = Да on Отклонить.
    let err = client
        .perform("in-doc-7", "Утверждение", "Отклонить", None, &ServerSigner)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CommentRequired { .. }), "{err:?}");
}

#[tokio::test]
async fn annul_reassign_and_coordinate_are_stage_actions() {
    let server = server_with_login(Some(1)).await;
    let doc = json!({"Идентификатор": "d-9", "Этап": [
        {"Название": "Аннулирование", "Действие": {"Название": "Аннулировать"}},
        {"Название": "Переадресация", "Действие": {"Название": "Переадресовать"}},
        {"Название": "Согласование", "Действие": [{"Название": "Согласовать"}, {"Название": "Отклонить"}]}
    ]});
    mount_rpc(&server, "СБИС.ПрочитатьДокумент", result(doc), Some(3)).await;
    mount_rpc(
        &server,
        "СБИС.ПодготовитьДействие",
        result(json!({})),
        Some(3),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        result(json!({"Идентификатор": "d-9"})),
        Some(3),
    )
    .await;
    let client = client(&server);
    client
        .annul("d-9", Some("по соглашению"), &ServerSigner)
        .await
        .unwrap();
    client.reassign("d-9", None, &ServerSigner).await.unwrap();
    client.coordinate("d-9", None, &ServerSigner).await.unwrap();
    let names: Vec<Value> = bodies(&server, "СБИС.ВыполнитьДействие")
        .await
        .iter()
        .map(|b| b["params"]["Документ"]["Этап"][0]["Действие"][0]["Название"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("Аннулировать"),
            json!("Переадресовать"),
            json!("Согласовать")
        ]
    );
}

#[tokio::test]
async fn execute_rejected_with_401_is_replayed_once_after_a_new_login() {
    // 401 means the call was refused before running, so even ВыполнитьДействие is replayed.
    let server = server_with_login(Some(2)).await;
    Mock::given(method("POST"))
        .and(path("/service/"))
        .and(rpc("СБИС.ВыполнитьДействие"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        reply(fx(include_str!("../fixtures/execute_sent.json"))),
        Some(1),
    )
    .await;
    let exec = saby_client::Execution::new(DOC, "Отправка", "Отправить")
        .stage_id("stage-send")
        .comment("ok");
    let doc = client(&server).execute_action(&exec).await.unwrap();
    assert_eq!(doc.state.unwrap().code, StateCode::Sent);
}
