//! Document methods: write, attachments, read, list, delete/restore/destroy, links, repeat,
//! HTML rendering, downloads, and the misc lookups.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::common::*;
use base64::Engine as _;
use futures::TryStreamExt;
use saby_client::{Attachment, Document, DocumentFilter, Error, Party, Regulation, StateCode};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn write_document_sends_our_ids_and_base64_and_accepts_bare_result() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ЗаписатьДокумент",
        reply(fx(include_str!("../fixtures/document_draft.json"))),
        Some(1),
    )
    .await;
    let pdf = b"%PDF-1.7 \xd0\x94\xd0\xbe\xd0\xb3\xd0\xbe\xd0\xb2\xd0\xbe\xd1\x80".to_vec();
    let doc = Document::new("3f1c2a9e-0000-4000-8000-000000000001")
        .with_type("ДокОтгрИсх")
        .with_regulation(Regulation::by_name("Исходящий документ"))
        .with_our_organization(Party::legal_entity(
            "7605016030",
            "760501001",
            "ООО «Ромашка»",
        ))
        .with_counterparty(Party::individual(
            "500100732259",
            "Иванов",
            "Иван",
            "Иванович",
        ))
        .with_attachment(Attachment::from_bytes("att-1", "contract.pdf", pdf.clone()));
    let written = client(&server).write_document(&doc).await.unwrap();
    assert_eq!(written.stages[0].name.as_deref(), Some("Отправка"));
    let sent = &bodies(&server, "СБИС.ЗаписатьДокумент").await[0]["params"]["Документ"];
    assert_eq!(
        sent["Идентификатор"],
        "3f1c2a9e-0000-4000-8000-000000000001"
    );
    assert_eq!(sent["Вложение"][0]["Идентификатор"], "att-1");
    let b64 = sent["Вложение"][0]["Файл"]["ДвоичныеДанные"]
        .as_str()
        .unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        pdf
    );
    assert_eq!(sent["Контрагент"]["СвФЛ"]["Фамилия"], "Иванов");
}

#[tokio::test]
async fn write_attachments_and_links() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ЗаписатьВложение",
        reply(fx(include_str!("../fixtures/document_draft.json"))),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ЗаписатьДокумент",
        reply(fx(include_str!("../fixtures/document_draft.json"))),
        Some(1),
    )
    .await;
    let client = client(&server);
    let add = Document::new("doc-1").with_attachment(Attachment::from_bytes(
        "att-2",
        "scan.png",
        vec![1, 2, 3],
    ));
    client.write_attachments(&add).await.unwrap();
    let sent = &bodies(&server, "СБИС.ЗаписатьВложение").await[0]["params"]["Документ"];
    assert_eq!(sent["Идентификатор"], "doc-1");
    assert_eq!(sent["Вложение"][0]["Файл"]["ДвоичныеДанные"], "AQID");
    assert!(matches!(
        client.write_attachments(&Document::default()).await,
        Err(Error::InvalidInput(_))
    ));

    client
        .link_documents("doc-1", "base-1", Some("Основание"))
        .await
        .unwrap();
    let sent = &bodies(&server, "СБИС.ЗаписатьДокумент").await[0]["params"]["Документ"];
    assert_eq!(
        sent["ДокументОснование"],
        json!([{"Документ": {"Идентификатор": "base-1"}, "ВидСвязи": "Основание"}])
    );
}

#[tokio::test]
async fn read_document_accepts_wrapped_result_and_editions() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply(fx(include_str!("../fixtures/document_incoming.json"))),
        Some(2),
    )
    .await;
    let client = client(&server);
    let doc = client.read_document("in-doc-7").await.unwrap();
    assert_eq!(doc.state.unwrap().code, StateCode::Delivered);
    client
        .read_document_edition("in-doc-7", "ed-1")
        .await
        .unwrap();
    let sent = bodies(&server, "СБИС.ПрочитатьДокумент").await;
    assert_eq!(
        sent[0]["params"],
        json!({"Документ": {"Идентификатор": "in-doc-7"}})
    );
    assert_eq!(
        sent[1]["params"]["Документ"]["Редакция"]["Идентификатор"],
        "ed-1"
    );
}

#[tokio::test]
async fn list_documents_pages_until_no_more() {
    let server = server_with_login(Some(1)).await;
    let page = |p: &'static str| {
        move |r: &wiremock::Request| body(r)["params"]["Фильтр"]["Навигация"]["Страница"] == p
    };
    Mock::given(path("/service/"))
        .and(rpc("СБИС.СписокДокументов"))
        .and(page("0"))
        .respond_with(reply(fx(include_str!("../fixtures/list_page1.json"))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/service/"))
        .and(rpc("СБИС.СписокДокументов"))
        .and(page("1"))
        .respond_with(reply(fx(include_str!("../fixtures/list_page2.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let filter = DocumentFilter::new()
        .doc_type("ДокОтгрВх")
        .direction("Входящий")
        .page_size(2)
        .mask("Приказ");
    let docs: Vec<Document> = client(&server)
        .list_documents(filter)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = docs
        .iter()
        .map(|d| d.id.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(ids, ["d-1", "d-2", "d-3"]);
    let sent = bodies(&server, "СБИС.СписокДокументов").await;
    assert_eq!(sent[0]["params"]["Фильтр"]["Тип"], "ДокОтгрВх");
    assert_eq!(sent[0]["params"]["Фильтр"]["Маска"], "Приказ");
    assert_eq!(
        sent[0]["params"]["Фильтр"]["Навигация"]["РазмерСтраницы"],
        "2"
    );
}

#[tokio::test]
async fn delete_restore_destroy_and_repeat_stage() {
    let server = server_with_login(Some(1)).await;
    for m in [
        "СБИС.УдалитьДокумент",
        "СБИС.ВосстановитьДокумент",
        "СБИС.УничтожитьДокумент",
    ] {
        mount_rpc(&server, m, result(json!({})), Some(1)).await;
    }
    mount_rpc(
        &server,
        "СБИС.ПовторитьЭтап",
        reply(fx(include_str!("../fixtures/execute_sent.json"))),
        Some(1),
    )
    .await;
    let client = client(&server);
    client.delete_document("d-1").await.unwrap();
    client.restore_document("d-1").await.unwrap();
    client.destroy_document("d-1").await.unwrap();
    let doc = client.repeat_stage("d-1", "Отправка").await.unwrap();
    assert_eq!(doc.state.unwrap().code, StateCode::Sent);
    for m in [
        "СБИС.УдалитьДокумент",
        "СБИС.ВосстановитьДокумент",
        "СБИС.УничтожитьДокумент",
    ] {
        assert_eq!(
            bodies(&server, m).await[0]["params"],
            json!({"Документ": {"Идентификатор": "d-1"}})
        );
    }
    assert_eq!(
        bodies(&server, "СБИС.ПовторитьЭтап").await[0]["params"],
        json!({"Документ": {"Идентификатор": "d-1", "Этап": {"Название": "Отправка"}}})
    );
}

#[tokio::test]
async fn render_html_sends_and_decodes_base64() {
    let server = server_with_login(Some(1)).await;
    let html = "<html>Счёт</html>";
    let b64 = base64::engine::general_purpose::STANDARD.encode(html);
    mount_rpc(
        &server,
        "СБИС.СформироватьHTMLИзXML",
        result(json!({"HTML": b64})),
        Some(1),
    )
    .await;
    let out = client(&server)
        .render_html(b"<xml/>".to_vec())
        .await
        .unwrap();
    assert_eq!(out.as_ref(), html.as_bytes());
    assert_eq!(
        bodies(&server, "СБИС.СформироватьHTMLИзXML").await[0]["params"]["Параметр"]["XML"],
        "PHhtbC8+"
    );
}

#[tokio::test]
async fn download_sends_the_session_and_waits_for_files_not_ready() {
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
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(b"%PDF-1.7".to_vec(), "application/pdf"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let bytes = client.download("/disk/api/v1/att-1").await.unwrap();
    assert_eq!(bytes.as_ref(), b"%PDF-1.7");
}

#[tokio::test]
async fn download_gives_up_after_the_configured_not_ready_attempts() {
    let server = server_with_login(Some(1)).await;
    Mock::given(method("GET"))
        .and(path("/f"))
        .respond_with(reply_status(
            500,
            fx(include_str!("../fixtures/error_file_not_ready.json")),
        ))
        .expect(3)
        .mount(&server)
        .await;
    let client = builder(&server).file_not_ready_attempts(3).build().unwrap();
    let err = client
        .download(&format!("{}/f", server.uri()))
        .await
        .unwrap_err();
    assert!(err.rpc().unwrap().is_file_not_ready());
    assert!(err.is_retryable());
}

#[tokio::test]
async fn download_401_renews_the_session() {
    let server = server_with_login(Some(2)).await;
    Mock::given(method("GET"))
        .and(path("/f"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/f"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 3]))
        .mount(&server)
        .await;
    assert_eq!(
        client(&server).download("/f").await.unwrap().as_ref(),
        &[7, 7, 7]
    );
}

#[tokio::test]
async fn misc_lookups() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ИнформацияОКонтрагенте",
        reply(fx(include_str!("../fixtures/counterparty_info.json"))),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.СписокНашихОрганизаций",
        reply(fx(include_str!("../fixtures/our_organizations.json"))),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.СписокСертификатов",
        reply(fx(include_str!("../fixtures/certificates.json"))),
        Some(1),
    )
    .await;
    let client = client(&server);
    let info = client
        .counterparty_info(&Party::legal_entity("7736207543", "773601001", ""))
        .await
        .unwrap();
    assert_eq!(
        info.legal_entity.unwrap().name.as_deref(),
        Some("ПАО «Сбыт»")
    );
    assert_eq!(info.extra["ПодключенКЭДО"], "Да");
    assert_eq!(
        bodies(&server, "СБИС.ИнформацияОКонтрагенте").await[0]["params"],
        json!({"Участник": {"СвЮЛ": {"ИНН": "7736207543", "КПП": "773601001", "Название": ""}}})
    );
    let orgs = client.our_organizations().await.unwrap();
    assert_eq!(orgs.len(), 2);
    assert_eq!(orgs[1].inn(), Some("500100732259"));
    let certs = client.certificates().await.unwrap();
    assert_eq!(certs[0].serial_number.as_deref(), Some("123456"));
    assert_eq!(
        certs[0].key.as_ref().unwrap().key_type,
        Some(saby_client::KeyType::Server)
    );
    assert_eq!(
        certs[1].key.as_ref().unwrap().key_type,
        Some(saby_client::KeyType::Unknown("Квантовый".into()))
    );
    let _: Value = json!(null);
}

#[tokio::test]
async fn download_never_sends_the_session_to_a_foreign_host() {
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
    let bytes = client(&server)
        .download(&format!("{}/file", foreign.uri()))
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"public");
}

#[tokio::test]
async fn list_documents_yields_the_error_then_ends() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.СписокДокументов",
        reply(fx(include_str!("../fixtures/error_code_string.json"))),
        Some(1),
    )
    .await;
    let mut stream = Box::pin(client(&server).list_documents(DocumentFilter::new()));
    use futures::StreamExt;
    assert!(stream.next().await.unwrap().is_err());
    assert!(stream.next().await.is_none());
}
