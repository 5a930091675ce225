//! Realistic answers of the two services, as the loopback server sends them.
//!
//! - Beorg `result`: one 4-document set (passport, passport registration page, SNILS, RVP),
//!   about 20 KB of pretty-printed JSON with Cyrillic values and every quirk listed in
//!   `shared/api/beorg.md`: confidences as strings, numbers and `null`, `verifications.status`
//!   `0` / `1` / `""`, empty `verifications` and `metadata_check`, `broken: true` with
//!   reasons, `RegistrationDate: null`, `HasPhoto: "1"`, `Firstname` vs `FirstName`,
//!   a document-level and a data-level `FileName`, and fields no model knows (`bboxes`, `pages`).
//! - Beorg `ready`: ids as numbers and as `"s-N"` strings, `by_project` with two contours.
//! - Saby `СБИС.ЗаписатьДокумент`: a full `Документ` (organisation, individual counterparty,
//!   4 attachments with links, a stage with a server-key certificate, state, event).
//! - Saby `СБИС.СписокИзменений`: 50 documents with one event each, built from the same template.

use serde_json::{Value, json};

/// Token the loopback Beorg server accepts.
pub const BEORG_TOKEN: &str = "bench-beorg-token";
/// Project id the loopback Beorg server serves.
pub const BEORG_PROJECT: &str = "U_RATE_2";
/// Machine uid sent by the clients.
pub const BEORG_MACHINE_UID: &str = "bench-machine";
/// Set id inside [`BEORG_RESULT`] (the server replaces it with the requested one).
pub const BEORG_RESULT_SET: &str = "s-12345";
/// Login the loopback Saby server accepts.
pub const SABY_LOGIN: &str = "bench-login";
/// Password the loopback Saby server accepts.
pub const SABY_PASSWORD: &str = "bench-password";
/// Session id the loopback Saby server hands out.
pub const SABY_SID: &str = "00000001-00000002-0003-bench0session0id";
/// Number of events in the `СБИС.СписокИзменений` answer.
pub const SABY_CHANGES_EVENTS: usize = 50;

/// Beorg `GET /api/document/result/s-12345`: the 4-document set.
pub const BEORG_RESULT: &str = include_str!("../fixtures/beorg_result.json");
/// Beorg `GET /api/document/ready`.
pub const BEORG_READY: &str = include_str!("../fixtures/beorg_ready.json");
/// Saby: the `Документ` returned by `СБИС.ЗаписатьДокумент` (the JSON-RPC `result`).
pub const SABY_DOCUMENT: &str = include_str!("../fixtures/saby_write_document.json");

/// The `result` of `СБИС.СписокИзменений`: [`SABY_CHANGES_EVENTS`] documents, each with one
/// event, derived from [`SABY_DOCUMENT`] (distinct ids, numbers, states and event names).
///
/// # Errors
/// When the embedded document fixture is not valid JSON.
pub fn saby_changes() -> serde_json::Result<Value> {
    let template: Value = serde_json::from_str(SABY_DOCUMENT)?;
    let states = [
        ("4", "Доставлен", "Получение"),
        (
            "3",
            "Отправлен",
            "Подтверждение отправки электронного документа оператором",
        ),
        ("3", "Отправлен", "Подтверждение даты отправки"),
        ("7", "Выполнение завершено успешно", "Утверждение"),
        (
            "20",
            "Удален контрагентом",
            "Уведомление об удалении на стороне получателя",
        ),
    ];
    let mut documents = Vec::with_capacity(SABY_CHANGES_EVENTS);
    for i in 0..SABY_CHANGES_EVENTS {
        let (code, state, event) = states[i % states.len()];
        let mut doc = template.clone();
        if let Some(obj) = doc.as_object_mut() {
            obj.remove("Этап");
            obj.insert(
                "Идентификатор".into(),
                json!(format!("6f1c1b1e-{:04x}-4000-8000-{:012x}", i, i * 7919)),
            );
            obj.insert("Номер".into(), json!(format!("HR-{:05}", i + 1)));
            obj.insert(
                "Состояние".into(),
                json!({"Код": code, "Название": state, "Описание": "", "Примечание": ""}),
            );
            obj.insert(
                "Событие".into(),
                json!([{
                    "Идентификатор": format!("0e7a9c11-{:04x}-4000-9000-{:012x}", i, i * 104729),
                    "Название": event,
                    "ДатаВремя": format!("23.11.2026 12.{:02}.{:02}", i / 60, i % 60),
                    "Комментарий": if code == "20" { "Отозван сотрудником" } else { "" },
                    "Действие": "",
                    "Вложение": []
                }]),
            );
        }
        documents.push(doc);
    }
    Ok(json!({
        "Документ": documents,
        "Навигация": {"ЕстьЕще": "Нет", "РазмерСтраницы": "50", "Страница": "0"}
    }))
}

/// A small document to write in the client-overhead benchmark (same content for the typed
/// client and the baseline): one attachment of `attachment_len` bytes.
pub fn attachment_bytes(len: usize) -> Vec<u8> {
    // A PDF-looking, non-repeating payload (base64 of it is not trivially compressible).
    let mut bytes = Vec::with_capacity(len);
    bytes.extend_from_slice(b"%PDF-1.7\n");
    let mut x: u32 = 0x9E37_79B9;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_valid_and_realistic() {
        let result: Value = serde_json::from_str(BEORG_RESULT).unwrap();
        assert_eq!(result["documents"].as_array().unwrap().len(), 4);
        assert!(BEORG_RESULT.len() > 18_000 && BEORG_RESULT.len() < 26_000);
        assert_eq!(BEORG_RESULT.matches(BEORG_RESULT_SET).count(), 1);
        let _: Value = serde_json::from_str(BEORG_READY).unwrap();
        let changes = saby_changes().unwrap();
        assert_eq!(
            changes["Документ"].as_array().unwrap().len(),
            SABY_CHANGES_EVENTS
        );
        assert_eq!(attachment_bytes(1000).len(), 1000);
    }
}
