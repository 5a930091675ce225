//! The hand-written single-pass decoders of the models: unknown fields kept at every level,
//! the wire quirks, duplicate / missing fields, and JSON paths of errors deep inside a
//! document (also through `СБИС.СписокИзменений` and `СБИС.ПрочитатьДокумент`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::common::*;
use futures::StreamExt;
use saby_client::{Document, DocumentPage, Error, EventCursor, KeyType, State, StateCode};
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
    assert_eq!(doc.id.as_deref(), Some("42"));
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
fn duplicate_and_missing_fields_are_errors_as_with_the_derive() {
    let err = serde_json::from_str::<Document>(r#"{"Тип":"a","Тип":"b"}"#).unwrap_err();
    assert!(err.to_string().contains("duplicate field `Тип`"), "{err}");
    let err = serde_json::from_str::<State>(r#"{"Название":"x"}"#).unwrap_err();
    assert!(err.to_string().contains("missing field `Код`"), "{err}");
    let err = serde_json::from_str::<Document>(r#"["not", "an", "object"]"#).unwrap_err();
    assert!(err.to_string().contains("struct Document"), "{err}");
}

#[test]
fn one_or_many_errors_keep_the_element_path() {
    let text = r#"{"Документ":[{"Идентификатор":"a"},{"Вложение":[{},{"Файл":{"Имя":{"x":1}}}]}]}"#;
    let de = &mut serde_json::Deserializer::from_str(text);
    let err = serde_path_to_error::deserialize::<_, DocumentPage>(de).unwrap_err();
    assert_eq!(err.path().to_string(), "Документ[1].Вложение[1].Файл.Имя");
    // A single object (not an array) is one element; its errors have no index.
    let text = r#"{"Документ":{"Вложение":{"Файл":{"ДвоичныеДанные":"!!"}}}}"#;
    let de = &mut serde_json::Deserializer::from_str(text);
    let err = serde_path_to_error::deserialize::<_, DocumentPage>(de).unwrap_err();
    assert_eq!(
        err.path().to_string(),
        "Документ.Вложение.Файл.ДвоичныеДанные"
    );
    assert!(err.to_string().contains("invalid base64"), "{err}");
    // A scalar where an object (or array) belongs is the element type's error.
    let err = serde_json::from_str::<Document>(r#"{"Вложение":"файл"}"#).unwrap_err();
    assert!(err.to_string().contains("struct Attachment"), "{err}");
}

#[tokio::test]
async fn a_wrong_type_deep_in_a_feed_document_names_its_path() {
    let server = server_with_login(Some(1)).await;
    let page = json!({
        "Документ": [
            {"Идентификатор": "d-1", "Событие": {"Идентификатор": "e-1"}},
            {"Идентификатор": "d-2",
             "Событие": [{"Идентификатор": "e-2",
                          "Вложение": [{"Идентификатор": "a-1", "Файл": {"Ссылка": 17}}]}]}
        ],
        "Навигация": {"ЕстьЕще": "Нет"}
    });
    wiremock::Mock::given(rpc("СБИС.СписокИзменений"))
        .respond_with(result(page))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut feed = client.events(EventCursor::default());
    match feed.next().await {
        Some(Err(Error::Decode { method, path, .. })) => {
            assert_eq!(method, "СБИС.СписокИзменений");
            assert_eq!(
                path,
                "result.Документ[1].Событие[0].Вложение[0].Файл.Ссылка"
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn feed_events_keep_unknown_fields_and_share_the_document() {
    let server = server_with_login(Some(1)).await;
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
    wiremock::Mock::given(rpc("СБИС.СписокИзменений"))
        .respond_with(result(page))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let got: Vec<_> = client
        .events(EventCursor::default())
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<saby_client::Result<_>>()
        .unwrap();
    let ids: Vec<(&str, &str)> = got
        .iter()
        .map(|c| (c.document_id(), c.event.id.as_deref().unwrap()))
        .collect();
    // Sorted by time; the repeated e-1 is dropped.
    assert_eq!(ids, [("d-1", "e-1"), ("d-2", "e-3"), ("d-1", "e-2")]);
    for change in got.iter().filter(|c| c.document_id() == "d-1") {
        assert_eq!(change.document.extra["X-Документ"], 1);
        assert_eq!(change.document.attachments[0].extra["X-Вложение"], 2);
        assert!(change.document.events.is_empty());
    }
    assert_eq!(got[0].event.extra["X-Событие"], 3);
}

#[tokio::test]
async fn read_document_errors_name_the_path_in_nested_lists() {
    let server = server_with_login(Some(1)).await;
    wiremock::Mock::given(rpc("СБИС.ПрочитатьДокумент"))
        .respond_with(result(json!({"Документ": {
            "Этап": [{"Действие": {"Сертификат": [{"Ключ": {"Активирован": "может быть"}}]}}]
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).read_document("x").await.unwrap_err();
    match err {
        Error::Decode { path, .. } => {
            assert_eq!(
                path,
                "result.Документ.Этап[0].Действие.Сертификат[0].Ключ.Активирован"
            );
        }
        other => panic!("{other:?}"),
    }
}
