//! Leniency where the service varies (issue 13, part 10): a field whose type differs from the
//! model never fails the document, a list page or an event-feed page. The odd value is kept
//! in the struct's `extra` under its wire key; the rest is decoded.
//!
//! Source of the motivating case: Tensor's own API test output shows `Состояние.Описание` as
//! an array of `{Код, Название}` on one document and as a string on another (see
//! docs/saby-client.md, evidence). The other odd values below are the audit of every model:
//! dates that do not parse or come as numbers, numbers as strings and strings as numbers,
//! objects where arrays belong and the reverse, flags other than `Да`/`Нет`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use futures::StreamExt;
use saby_client::{Direction, Document, DocumentFilter, Error, KeyType, StateCode};
use serde_json::{Value, json};
use wiremock::Mock;

use crate::common::*;

/// A document whose `Состояние.Описание` is an array, with odd values all over.
fn odd_document() -> Value {
    json!({
        "Идентификатор": "odd-1",
        "Дата": 20261105,
        "Номер": 17,
        "Сумма": 1500.5,
        "Направление": 1,
        "Удален": "Может быть",
        "Регламент": [{"Название": "Кадровый"}],
        "Контрагент": {"СвЮЛ": {"ИНН": 7807654321u64, "КПП": "780701001", "Название": ["АО", "Лютик"]}},
        "Состояние": {"Код": 4, "Название": "Доставлен",
                      "Описание": [{"Код": "1", "Название": "Ожидает подписания"},
                                   {"Код": "2", "Название": "Ожидает утверждения"}]},
        "Редакция": [{"Идентификатор": "r-1", "Актуален": "Да", "ДатаВремя": "вчера"}],
        "Вложение": [
            {"Идентификатор": "a-1", "Файл": {"Имя": "договор.pdf", "Ссылка": "https://x/a-1"},
             "Подпись": "нет подписи"},
            "не вложение"
        ],
        "Этап": {"Название": "Утверждение", "Служебный": 2,
                 "Действие": [{"Название": "Утвердить",
                               "Сертификат": {"Отпечаток": "AB", "Ключ": {"Тип": {"Код": 1}}}}]},
        "Событие": [{"Идентификатор": "e-odd", "Название": "Получение", "ДатаВремя": 1763000000}]
    })
}

/// A well-formed document whose `Описание` is text.
fn plain_document() -> Value {
    json!({
        "Идентификатор": "plain-1",
        "Состояние": {"Код": "7", "Название": "Завершен", "Описание": "Документооборот завершен"},
        "Событие": [{"Идентификатор": "e-plain", "Название": "Утверждение",
                     "ДатаВремя": "05.11.2026 10.00.00"}]
    })
}

fn check_odd(doc: &Document) {
    assert_eq!(doc.id.as_ref().unwrap(), "odd-1");
    // Numbers where text is expected are read as text.
    assert_eq!(doc.number.as_deref(), Some("17"));
    assert_eq!(doc.sum.as_deref(), Some("1500.5"));
    assert_eq!(doc.date.as_ref().unwrap().as_str(), "20261105");
    assert!(
        doc.date.as_ref().unwrap().date().is_none(),
        "kept, not parsed"
    );
    assert_eq!(doc.direction, Some(Direction::Unknown("1".into())));
    // Values of another type are kept raw, the field unset.
    assert_eq!(doc.deleted, None);
    assert_eq!(doc.extra["Удален"], "Может быть");
    assert!(doc.regulation.is_none());
    assert_eq!(doc.extra["Регламент"][0]["Название"], "Кадровый");
    let le = doc
        .counterparty
        .as_ref()
        .unwrap()
        .legal_entity
        .as_ref()
        .unwrap();
    assert_eq!(le.inn.as_deref(), Some("7807654321"));
    assert_eq!(le.name, None);
    assert_eq!(le.extra["Название"], json!(["АО", "Лютик"]));
    // The state: code read, `Описание` as a list kept raw and readable.
    let state = doc.state.as_ref().unwrap();
    assert_eq!(state.code, StateCode::Delivered);
    assert_eq!(state.description, None);
    assert_eq!(
        state.description_items(),
        ["Ожидает подписания", "Ожидает утверждения"]
    );
    assert_eq!(doc.editions[0].current, Some(true));
    assert!(
        doc.editions[0]
            .datetime
            .as_ref()
            .unwrap()
            .datetime()
            .is_none()
    );
    // Lists: the objects are typed, the odd items kept.
    assert_eq!(doc.attachments.len(), 1);
    assert_eq!(doc.attachments[0].url(), Some("https://x/a-1"));
    assert!(doc.attachments[0].signatures.is_empty());
    assert_eq!(doc.attachments[0].extra["Подпись"], "нет подписи");
    assert_eq!(doc.extra["Вложение"], json!(["не вложение"]));
    // A single stage object, a certificate object where a list belongs.
    let stage = &doc.stages[0];
    assert_eq!(stage.service, None);
    assert_eq!(stage.extra["Служебный"], 2);
    let cert = &stage.actions[0].certificates[0];
    assert_eq!(cert.thumbprint.as_deref(), Some("AB"));
    let key = cert.key.as_ref().unwrap();
    assert_eq!(key.key_type, None);
    assert_eq!(key.extra["Тип"], json!({"Код": 1}));
}

#[tokio::test]
async fn a_list_page_with_an_odd_document_decodes_every_document() {
    let server = server_with_login(Some(1)).await;
    let pages = [
        json!({"Документ": [odd_document(), {"Идентификатор": "next-1"}],
               "Навигация": {"ЕстьЕще": true, "Страница": 0}}),
        json!({"Документ": [plain_document()], "Навигация": {"ЕстьЕще": "Нет"}}),
    ];
    for (i, page) in pages.into_iter().enumerate() {
        Mock::given(rpc("СБИС.СписокДокументов"))
            .and(move |r: &wiremock::Request| {
                body(r)["params"]["Фильтр"]["Навигация"]["Страница"].as_str()
                    == Some(i.to_string().as_str())
            })
            .respond_with(result(page))
            .expect(1)
            .mount(&server)
            .await;
    }
    let docs: Vec<Document> = client(&server)
        .list_documents(DocumentFilter::new())
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<saby_client::Result<_>>()
        .unwrap();
    let ids: Vec<&str> = docs
        .iter()
        .map(|d| d.id.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(
        ids,
        ["odd-1", "next-1", "plain-1"],
        "`ЕстьЕще: true` read as a flag"
    );
    check_odd(&docs[0]);
    let plain = docs[2].state.as_ref().unwrap();
    assert_eq!(
        plain.description.as_deref(),
        Some("Документооборот завершен")
    );
    assert!(plain.description_items().is_empty());
    assert!(plain.extra.is_empty());
}

#[tokio::test]
async fn an_event_feed_page_with_an_odd_document_yields_every_event() {
    let events = events_of_one_page(json!({
        "Документ": [odd_document(), plain_document()],
        "Навигация": {"ЕстьЕще": "Нет"}
    }))
    .await;
    assert_eq!(events.len(), 2);
    let odd = events
        .iter()
        .find(|e| e.document_id().is_some_and(|d| d == "odd-1"))
        .unwrap();
    check_odd(&odd.document);
    // The event's time came as a number: kept as its text, not parsed.
    let at = odd.event.datetime.as_ref().unwrap();
    assert_eq!(at.as_str(), "1763000000");
    assert!(at.datetime().is_none());
    let plain = events
        .iter()
        .find(|e| e.document_id().is_some_and(|d| d == "plain-1"))
        .unwrap();
    assert_eq!(
        plain.document.state.as_ref().unwrap().code,
        StateCode::Completed
    );
}

#[test]
fn odd_values_are_written_back_as_received() {
    let doc: Document = serde_json::from_value(odd_document()).unwrap();
    let back = serde_json::to_value(&doc).unwrap();
    assert_eq!(back["Удален"], "Может быть");
    assert_eq!(back["Регламент"], json!([{"Название": "Кадровый"}]));
    assert_eq!(
        back["Состояние"]["Описание"],
        odd_document()["Состояние"]["Описание"]
    );
    assert_eq!(
        back["Вложение"],
        json!([{"Идентификатор": "a-1",
        "Файл": {"Имя": "договор.pdf", "Ссылка": "https://x/a-1"}, "Подпись": "нет подписи"}]),
        "a set field wins over the raw items kept beside it"
    );
    // A field set by the caller wins over a raw value kept under its key.
    let mut doc = doc;
    doc.deleted = Some(false);
    assert_eq!(serde_json::to_value(&doc).unwrap()["Удален"], "Нет");
    let key = &doc.stages[0].actions[0].certificates[0].key;
    assert_eq!(key.as_ref().unwrap().key_type, None::<KeyType>);
}

/// `magdv/sbis` (`src/BaseClient.php`, `prepareResponse`) handles an `error` that is a plain
/// string: it is Saby's message. It is a typed API error carrying the text, whatever the
/// status — not a decode or HTTP error.
#[tokio::test]
async fn an_error_that_is_a_plain_string_is_an_api_error() {
    for status in [200, 500] {
        let server = server_with_login(Some(1)).await;
        mount_rpc(
            &server,
            "СБИС.ПрочитатьДокумент",
            reply_status(
                status,
                json!({"jsonrpc": "2.0", "id": 0, "error": "Документ заблокирован другим пользователем"}),
            ),
            Some(1),
        )
        .await;
        let err = client(&server).read_document("x").await.unwrap_err();
        let rpc = err.rpc().unwrap_or_else(|| panic!("{status}: {err:?}"));
        assert_eq!(rpc.message, "Документ заблокирован другим пользователем");
        assert_eq!(rpc.http_status, status);
        assert_eq!(rpc.code, None);
        assert!(!err.is_retryable());
    }
}

/// Odd members inside an `error` object (a numeric message, an object `details`) are kept as
/// text rather than failing the error itself.
#[tokio::test]
async fn odd_members_of_an_error_object_are_kept_as_text() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply_status(
            500,
            json!({"jsonrpc": "2.0", "id": 0, "error": {
                "code": -32000, "message": 42, "details": {"поле": "Идентификатор"}}}),
        ),
        Some(1),
    )
    .await;
    match client(&server).read_document("x").await.unwrap_err() {
        Error::Rpc(rpc) => {
            assert_eq!(rpc.message, "42");
            assert!(rpc.details.as_deref().unwrap().contains("Идентификатор"));
        }
        other => panic!("{other:?}"),
    }
}
