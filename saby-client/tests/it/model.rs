//! Model quirks: objects-or-arrays, Да/Нет, numbers as strings, wrapped results, unknown
//! fields, Cyrillic, dates, base64.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::common::fx;
use saby_client::{
    Attachment, Direction, Document, DocumentLink, KeyType, Party, Person, Regulation, SabyDate,
    SabyDateTime, State, StateCode,
};
use serde_json::json;

fn incoming() -> Document {
    let env = fx(include_str!("../fixtures/document_incoming.json"));
    serde_json::from_value(env["result"]["Документ"].clone()).unwrap()
}

#[test]
fn incoming_document_decodes_every_quirk() {
    let doc = incoming();
    assert_eq!(doc.id.as_ref().map(|i| i.as_str()), Some("in-doc-7"));
    assert_eq!(doc.direction, Some(Direction::Incoming));
    assert_eq!(
        doc.sum.as_deref(),
        Some("15000.5"),
        "number accepted as text"
    );
    assert_eq!(doc.deleted, Some(false), "Нет → false");
    assert_eq!(
        doc.date.as_ref().and_then(SabyDate::date),
        Some(time::macros::date!(2026 - 11 - 01))
    );
    let due = doc.due.as_ref().unwrap();
    assert_eq!(due.date(), None, "unparsable date kept raw");
    assert_eq!(due.as_str(), "неизвестно");
    assert_eq!(
        doc.extra["НовоеПолеСервера"],
        json!({"Что-то": [1, 2, 3]}),
        "unknown fields kept"
    );
    assert_eq!(
        doc.responsible.as_ref().unwrap().last_name.as_deref(),
        Some("Сидорова")
    );
    // Редакция
    let current = doc.current_edition().unwrap();
    assert_eq!(current.id.as_deref(), Some("ed-2"));
    assert_eq!(
        current.datetime.as_ref().and_then(SabyDateTime::datetime),
        Some(time::macros::datetime!(2026-11-02 11:30:15))
    );
    // Parties: INN as a number, empty branch code.
    let ours = doc
        .our_organization
        .as_ref()
        .unwrap()
        .legal_entity
        .as_ref()
        .unwrap();
    assert_eq!(ours.inn.as_deref(), Some("7605016030"));
    assert_eq!(ours.name.as_deref(), Some("ООО «Ромашка»"));
    assert_eq!(
        doc.counterparty.as_ref().unwrap().email.as_deref(),
        Some("hr@example.ru")
    );
    // Attachments and signatures.
    let att = &doc.attachments[0];
    assert_eq!(att.format_version.as_deref(), Some("5.01"));
    assert_eq!(att.service, Some(false));
    assert_eq!(att.url(), Some("/disk/api/v1/in-att-1"));
    assert_eq!(att.file.as_ref().unwrap().hash.as_deref(), Some("9f86d081"));
    assert_eq!(
        att.signatures[0].signature_type.as_deref(),
        Some("Отсоединенная")
    );
    let cert = att.signatures[0].certificate.as_ref().unwrap();
    assert!(cert.valid_from.as_ref().unwrap().datetime().is_some());
    assert_eq!(
        cert.valid_to.as_ref().unwrap().datetime(),
        None,
        "date-only kept raw"
    );
    // Stages as array, actions as array, flags.
    assert_eq!(doc.stages.len(), 1);
    let stage = doc.stage("утверждение").unwrap();
    assert_eq!(stage.actions.len(), 2);
    let reject = stage.action("Отклонить").unwrap();
    assert_eq!(reject.requires_comment, Some(true));
    assert_eq!(reject.key_type(), Some(&KeyType::Server));
    // State code as a number.
    let state = doc.state.as_ref().unwrap();
    assert_eq!(state.code, StateCode::Delivered);
    assert!(!state.is_final());
    // Links as a single object.
    assert_eq!(
        doc.based_on[0]
            .document
            .as_ref()
            .unwrap()
            .id
            .as_ref()
            .map(|i| i.as_str()),
        Some("base-1")
    );
    assert_eq!(doc.based_on[0].kind.as_deref(), Some("Основание"));
    assert_eq!(doc.events[0].action, Some(json!({"Название": "Отправить"})));
    assert_eq!(
        doc.available_actions(),
        vec![
            ("Утверждение".to_owned(), "Утвердить".to_owned()),
            ("Утверждение".to_owned(), "Отклонить".to_owned())
        ]
    );
}

#[test]
fn stage_and_action_as_objects() {
    let env = fx(include_str!("../fixtures/document_draft.json"));
    let doc: Document = serde_json::from_value(env["result"].clone()).unwrap();
    assert_eq!(doc.stages.len(), 1);
    assert_eq!(doc.stages[0].actions.len(), 1);
    let action = &doc.stages[0].actions[0];
    assert_eq!(action.requires_signature, Some(true));
    assert_eq!(action.certificates.len(), 1);
    assert_eq!(
        action.certificates[0].key.as_ref().unwrap().activated,
        Some(true)
    );
    assert_eq!(doc.number.as_deref(), Some("15"), "number accepted as text");
    assert_eq!(doc.state.as_ref().unwrap().code, StateCode::Editing);
}

#[test]
fn state_codes_map_both_ways_with_a_catch_all() {
    for (code, expected, is_final) in [
        ("0", StateCode::Editing, false),
        ("3", StateCode::Sent, false),
        ("4", StateCode::Delivered, false),
        ("6", StateCode::Error, false),
        ("7", StateCode::Completed, true),
        ("9", StateCode::CompletedWithProblems, true),
        ("19", StateCode::Withdrawn, true),
        ("20", StateCode::DeletedByCounterparty, true),
        ("22", StateCode::Annulled, true),
        ("23", StateCode::AwaitingSignature, false),
        ("27", StateCode::AwaitingAnnulment, false),
    ] {
        let s: State = serde_json::from_value(json!({"Код": code})).unwrap();
        assert_eq!(s.code, expected);
        assert_eq!(s.code.is_final(), is_final, "{code}");
        assert_eq!(s.code.code(), code);
        let n: State =
            serde_json::from_value(json!({"Код": code.parse::<u32>().unwrap()})).unwrap();
        assert_eq!(n.code, expected);
    }
    let unknown: State = serde_json::from_value(json!({"Код": "99", "Новое": "Да"})).unwrap();
    assert_eq!(unknown.code, StateCode::Unknown("99".into()));
    assert!(!unknown.is_final());
    assert_eq!(
        serde_json::to_value(&unknown).unwrap(),
        json!({"Код": "99", "Новое": "Да"})
    );
}

#[test]
fn yes_no_variants_and_bad_values() {
    for (v, expected) in [
        (json!("Да"), Some(true)),
        (json!("Нет"), Some(false)),
        (json!("да"), Some(true)),
        (json!(true), Some(true)),
        (json!(false), Some(false)),
        (json!(1), Some(true)),
        (json!("0"), Some(false)),
        (json!(""), None),
        (json!(null), None),
    ] {
        let a: Attachment = serde_json::from_value(json!({"Служебный": v})).unwrap();
        assert_eq!(a.service, expected, "{v}");
    }
    // Another word is no flag: the flag stays unset and the value is kept as sent.
    let a: Attachment = serde_json::from_value(json!({"Служебный": "Может быть"})).unwrap();
    assert_eq!(a.service, None);
    assert_eq!(a.extra["Служебный"], "Может быть");
    // Written back as received.
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        json!({"Служебный": "Может быть"})
    );
}

#[test]
fn documents_we_build_serialize_to_russian_wire_names() {
    let doc = Document::new("doc-1")
        .with_type("ДокОтгрИсх")
        .with_date(time::macros::date!(2026 - 01 - 05))
        .with_regulation(Regulation::by_name("Кадровый документ"))
        .with_our_organization(
            Party::legal_entity("7605016030", "", "ООО Ромашка").with_system_id("org-1"),
        )
        .with_counterparty(Party::individual("500100732259", "Иванов", "Иван", ""))
        .with_responsible(Person::new("Петров", "Петр", "Петрович"))
        .with_attachment(
            Attachment::from_bytes("att-1", "договор.pdf", b"hello".to_vec()).with_name("Договор"),
        )
        .with_base(DocumentLink::to("base-1", Some("Основание")));
    let v = serde_json::to_value(&doc).unwrap();
    assert_eq!(
        v,
        json!({
            "Идентификатор": "doc-1",
            "Тип": "ДокОтгрИсх",
            "Дата": "05.01.2026",
            "Регламент": {"Название": "Кадровый документ"},
            "НашаОрганизация": {"СвЮЛ": {"ИНН": "7605016030", "Название": "ООО Ромашка"}, "ИдентификаторИС": "org-1"},
            "Контрагент": {"СвФЛ": {"ИНН": "500100732259", "Фамилия": "Иванов", "Имя": "Иван"}},
            "Ответственный": {"Фамилия": "Петров", "Имя": "Петр", "Отчество": "Петрович"},
            "Вложение": [{"Идентификатор": "att-1", "Название": "Договор", "Файл": {"Имя": "договор.pdf", "ДвоичныеДанные": "aGVsbG8="}}],
            "ДокументОснование": [{"Документ": {"Идентификатор": "base-1"}, "ВидСвязи": "Основание"}]
        })
    );
    // Round trip keeps everything.
    let back: Document = serde_json::from_value(v).unwrap();
    assert_eq!(back, doc);
}

#[test]
fn base64_is_streamed_and_round_trips_large_files() {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let att = Attachment::from_bytes("big", "scan.tiff", big.clone());
    let mut out = Vec::new();
    serde_json::to_writer(&mut out, &att).unwrap();
    // base64 grows by 4/3; the JSON must hold exactly that plus small overhead.
    assert!(out.len() >= big.len() * 4 / 3 && out.len() < big.len() * 4 / 3 + 200);
    let back: Attachment = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        back.file.unwrap().data.unwrap().bytes().as_ref(),
        big.as_slice()
    );
}

#[test]
fn dates_parse_and_format() {
    let d = SabyDateTime::parse("05.01.2026 07.08.09");
    assert_eq!(
        d.datetime(),
        Some(time::macros::datetime!(2026-01-05 07:08:09))
    );
    assert_eq!(
        SabyDateTime::parse("05.01.2026 07:08:09").datetime(),
        d.datetime()
    );
    assert_eq!(
        SabyDateTime::from(time::macros::datetime!(2026-01-05 07:08:09)).as_str(),
        "05.01.2026 07.08.09"
    );
    assert_eq!(
        SabyDate::from(time::macros::date!(2026 - 12 - 31)).as_str(),
        "31.12.2026"
    );
    assert_eq!(SabyDate::parse("2026-12-31").date(), None);
}
