//! The hand-written single-pass decoders of the models: unknown fields kept at every level,
//! the wire quirks, duplicate / missing fields, and JSON paths of errors deep inside a
//! document (also through `СБИС.СписокИзменений` and `СБИС.ПрочитатьДокумент`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::common::*;
use saby_client::{Document, DocumentPage, KeyType, State, StateCode};
use serde_json::{Value, json};

/// A document with an unknown field on every nested object.
fn everything() -> Value {
    json!({
        "Идентификатор": 42,
        "Тип": "ДокОтгрВх",
        "Удален": "Нет",
        "Сумма": 15000.5,
        "Дата": "01.11.2026",
        "X-Документ": {"a": [1, {"b": null}]},
        "Регламент": {"Название": "Р", "X-Регламент": true},
        "НашаОрганизация": {
            "СвЮЛ": {"ИНН": 5406123456u64, "Название": "ООО", "X-СвЮЛ": 1},
            "X-Сторона": "наша"
        },
        "Контрагент": {
            "СвФЛ": {"ИНН": "540612345678", "Фамилия": "Иванов", "X-СвФЛ": [true]},
            "Телефон": 79130000000u64,
            "X-Сторона": "их"
        },
        "Ответственный": {"Фамилия": "Петрова", "X-Лицо": 2},
        "Редакция": {"Идентификатор": "ed-1", "Актуален": "Да", "X-Редакция": "р"},
        "Вложение": [{
            "Идентификатор": "att-1",
            "Служебный": "Да",
            "Файл": {"Имя": "a.pdf", "ДвоичныеДанные": "aGVs\nbG8=", "X-Файл": 3},
            "Подпись": {
                "Тип": "Отсоединенная",
                "Сертификат": {"Отпечаток": "AB", "X-Сертификат": 4},
                "X-Подпись": 5
            },
            "X-Вложение": {"вложенное": {"глубже": [1, 2]}}
        }],
        "Этап": {
            "Название": "Утверждение",
            "Служебный": 0,
            "Действие": {
                "Название": "Утвердить",
                "ТребуетПодписания": true,
                "Сертификат": [{
                    "Отпечаток": "CD",
                    "ДействителенС": "01.02.2026 10.00.00",
                    "Ключ": {"Тип": "Серверный", "Активирован": "1", "X-Ключ": 6},
                    "X-Сертификат": 7
                }],
                "X-Действие": 8
            },
            "X-Этап": {"что-то": "новое"}
        },
        "Состояние": {"Код": 4, "Название": "Доставлен", "X-Состояние": 9},
        "Событие": [{"Идентификатор": "e-1", "ДатаВремя": "20.11.2026 10.00.00", "X-Событие": 10}],
        "ДокументОснование": {"Документ": {"Идентификатор": "base", "X-Осн": 11}, "X-Связь": 12}
    })
}

#[test]
fn unknown_fields_are_kept_at_every_level() {
    let doc: Document = serde_json::from_value(everything()).unwrap();
    assert_eq!(doc.extra["X-Документ"], json!({"a": [1, {"b": null}]}));
    assert_eq!(doc.extra.len(), 1, "known fields never land in extra");
    assert_eq!(doc.regulation.as_ref().unwrap().extra["X-Регламент"], true);
    let ours = doc.our_organization.as_ref().unwrap();
    assert_eq!(ours.extra["X-Сторона"], "наша");
    assert_eq!(ours.legal_entity.as_ref().unwrap().extra["X-СвЮЛ"], 1);
    let them = doc.counterparty.as_ref().unwrap();
    assert_eq!(them.extra["X-Сторона"], "их");
    assert_eq!(
        them.individual.as_ref().unwrap().extra["X-СвФЛ"],
        json!([true])
    );
    assert_eq!(doc.responsible.as_ref().unwrap().extra["X-Лицо"], 2);
    assert_eq!(doc.editions[0].extra["X-Редакция"], "р");

    let att = &doc.attachments[0];
    assert_eq!(
        att.extra["X-Вложение"],
        json!({"вложенное": {"глубже": [1, 2]}})
    );
    assert_eq!(att.extra.len(), 1);
    let file = att.file.as_ref().unwrap();
    assert_eq!(file.extra["X-Файл"], 3);
    assert_eq!(file.data.as_ref().unwrap().bytes().as_ref(), b"hello");
    let sig = &att.signatures[0];
    assert_eq!(sig.extra["X-Подпись"], 5);
    assert_eq!(sig.certificate.as_ref().unwrap().extra["X-Сертификат"], 4);

    let stage = &doc.stages[0];
    assert_eq!(stage.extra["X-Этап"], json!({"что-то": "новое"}));
    assert_eq!(stage.service, Some(false));
    let action = &stage.actions[0];
    assert_eq!(action.extra["X-Действие"], 8);
    assert_eq!(action.requires_signature, Some(true));
    let cert = &action.certificates[0];
    assert_eq!(cert.extra["X-Сертификат"], 7);
    assert_eq!(
        cert.valid_from.as_ref().and_then(|d| d.datetime()),
        Some(time::macros::datetime!(2026-02-01 10:00:00))
    );
    let key = cert.key.as_ref().unwrap();
    assert_eq!(key.extra["X-Ключ"], 6);
    assert_eq!(key.key_type, Some(KeyType::Server));
    assert_eq!(key.activated, Some(true));

    let state = doc.state.as_ref().unwrap();
    assert_eq!(state.code, StateCode::Delivered);
    assert_eq!(state.extra["X-Состояние"], 9);
    assert_eq!(doc.events[0].extra["X-Событие"], 10);
    let link = &doc.based_on[0];
    assert_eq!(link.extra["X-Связь"], 12);
    assert_eq!(link.document.as_ref().unwrap().extra["X-Осн"], 11);

    // Quirks on the way.
    assert_eq!(doc.id.as_ref().map(|i| i.as_str()), Some("42"));
    assert_eq!(doc.sum.as_deref(), Some("15000.5"));
    assert_eq!(doc.deleted, Some(false));
    assert_eq!(
        ours.legal_entity.as_ref().unwrap().inn.as_deref(),
        Some("5406123456")
    );
    assert_eq!(them.phone.as_deref(), Some("79130000000"));
    assert_eq!(doc.editions[0].current, Some(true));
    assert_eq!(att.service, Some(true));
}

#[test]
fn unknown_fields_survive_a_round_trip() {
    let doc: Document = serde_json::from_value(everything()).unwrap();
    let again: Document = serde_json::from_value(serde_json::to_value(&doc).unwrap()).unwrap();
    assert_eq!(again, doc);
    let wire = serde_json::to_value(&doc).unwrap();
    assert_eq!(
        wire["Вложение"][0]["X-Вложение"],
        json!({"вложенное": {"глубже": [1, 2]}})
    );
    assert_eq!(wire["Этап"][0]["Действие"][0]["X-Действие"], 8);
}

#[test]
fn null_and_empty_values_read_as_absent() {
    let doc: Document = serde_json::from_value(json!({
        "Идентификатор": null,
        "Тип": null,
        "Удален": "",
        "Вложение": null,
        "Этап": "",
        "Событие": [],
        "Регламент": null
    }))
    .unwrap();
    assert_eq!(doc, Document::default());
}

#[test]
fn escaped_keys_are_matched_like_plain_ones() {
    // `\u0422\u0438\u043f` is `Тип`: not borrowable from the input, still a known key.
    let doc: Document = serde_json::from_str(
        r#"{"\u0422\u0438\u043f":"ДокОтгрВх","X-\u043a\u043b\u044e\u0447":1}"#,
    )
    .unwrap();
    assert_eq!(doc.doc_type.as_deref(), Some("ДокОтгрВх"));
    assert_eq!(doc.extra["X-ключ"], 1);
}

#[test]
fn duplicate_keys_take_the_last_and_a_missing_code_is_unknown() {
    let doc = serde_json::from_str::<Document>(r#"{"Тип":"a","Тип":"b"}"#).unwrap();
    assert_eq!(doc.doc_type.as_deref(), Some("b"));
    // A state without `Код` no longer fails the whole document.
    let state = serde_json::from_str::<State>(r#"{"Название":"x"}"#).unwrap();
    assert_eq!(state.code, saby_client::StateCode::Unknown(String::new()));
    assert_eq!(state.name.as_deref(), Some("x"));
    // Written back without an empty `Код`.
    assert_eq!(
        serde_json::to_value(&state).unwrap(),
        json!({"Название": "x"})
    );
    // Something that is no object at all is still refused.
    let err = serde_json::from_str::<Document>(r#"["not", "an", "object"]"#).unwrap_err();
    assert!(err.to_string().contains("Document"), "{err}");
}

#[test]
fn odd_list_items_and_values_are_kept_raw_beside_the_typed_ones() {
    let text = r#"{"Документ":[{"Идентификатор":"a"},{"Вложение":[{},{"Файл":{"Имя":{"x":1}}}, "строка"]}]}"#;
    let page: DocumentPage = serde_json::from_str(text).unwrap();
    assert_eq!(page.documents.len(), 2);
    let atts = &page.documents[1].attachments;
    assert_eq!(atts.len(), 2, "the two objects are attachments");
    assert_eq!(atts[1].file.as_ref().unwrap().extra["Имя"], json!({"x": 1}));
    assert_eq!(page.documents[1].extra["Вложение"], json!(["строка"]));
    // A single object (not an array) is one element; bad base64 is kept as text.
    let text = r#"{"Документ":{"Вложение":{"Файл":{"ДвоичныеДанные":"!!"}}}}"#;
    let page: DocumentPage = serde_json::from_str(text).unwrap();
    let file = page.documents[0].attachments[0].file.as_ref().unwrap();
    assert!(file.data.is_none());
    assert_eq!(file.extra["ДвоичныеДанные"], "!!");
    // A scalar where a list of objects belongs is kept raw; the list is empty.
    let doc = serde_json::from_str::<Document>(r#"{"Вложение":"файл"}"#).unwrap();
    assert!(doc.attachments.is_empty());
    assert_eq!(doc.extra["Вложение"], "файл");
}

#[tokio::test]
async fn a_wrong_type_deep_in_a_feed_document_does_not_stop_the_feed() {
    let page = json!({
        "Документ": [
            {"Идентификатор": "d-1", "Событие": {"Идентификатор": "e-1"}},
            {"Идентификатор": "d-2",
             "Событие": [{"Идентификатор": "e-2",
                          "Вложение": [{"Идентификатор": "a-1", "Файл": {"Ссылка": {"href": "x"}}}]}]}
        ],
        "Навигация": {"ЕстьЕще": "Нет"}
    });
    let got = events_of_one_page(page).await;
    assert_eq!(got.len(), 2);
    let odd = got
        .iter()
        .find(|c| c.document_id().is_some_and(|d| d == "d-2"))
        .unwrap();
    let file = odd.event.attachments[0].file.as_ref().unwrap();
    assert_eq!(file.url, None);
    assert_eq!(file.extra["Ссылка"]["href"], "x");
}

#[tokio::test]
async fn feed_events_keep_unknown_fields_and_share_the_document() {
    let page = json!({
        "Документ": [
            {"Идентификатор": "d-1", "X-Документ": 1,
             "Вложение": {"Идентификатор": "a-1", "X-Вложение": 2},
             "Событие": [
                {"Идентификатор": "e-1", "ДатаВремя": "20.11.2026 10.00.00", "X-Событие": 3},
                {"Идентификатор": "e-2", "ДатаВремя": "20.11.2026 10.00.05"},
                {"Идентификатор": "e-1", "ДатаВремя": "20.11.2026 10.00.00"}
             ]},
            {"Идентификатор": "d-2",
             "Событие": {"Идентификатор": "e-3", "ДатаВремя": "20.11.2026 10.00.01"}}
        ],
        "Навигация": {"ЕстьЕще": "Нет"}
    });
    let got = events_of_one_page(page).await;
    let ids: Vec<(&str, &str)> = got
        .iter()
        .map(|c| {
            (
                c.document_id().unwrap().as_str(),
                c.event.id.as_ref().unwrap().as_str(),
            )
        })
        .collect();
    // Sorted by time; the repeated e-1 is dropped.
    assert_eq!(ids, [("d-1", "e-1"), ("d-2", "e-3"), ("d-1", "e-2")]);
    for change in got
        .iter()
        .filter(|c| c.document_id().is_some_and(|d| d == "d-1"))
    {
        assert_eq!(change.document.extra["X-Документ"], 1);
        assert_eq!(change.document.attachments[0].extra["X-Вложение"], 2);
        assert!(change.document.events.is_empty());
    }
    assert_eq!(got[0].event.extra["X-Событие"], 3);
}

#[tokio::test]
async fn read_document_keeps_a_strange_flag_deep_in_nested_lists() {
    let server = server_with_login(Some(1)).await;
    wiremock::Mock::given(rpc("СБИС.ПрочитатьДокумент"))
        .respond_with(result(json!({"Документ": {
            "Идентификатор": "x",
            "Этап": [{"Действие": {"Сертификат": [{"Ключ": {"Тип": "Серверный", "Активирован": "может быть"}}]}}]
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let doc = client(&server).read_document("x").await.unwrap();
    let key = doc.stages[0].actions[0].certificates[0]
        .key
        .as_ref()
        .unwrap();
    assert_eq!(key.activated, None);
    assert_eq!(key.extra["Активирован"], "может быть");
    assert_eq!(key.key_type, Some(saby_client::KeyType::Server));
}
