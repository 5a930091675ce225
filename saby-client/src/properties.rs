//! The property/fuzz suite (issue 9): arbitrary bytes and arbitrary JSON to every decoder
//! (the JSON-RPC envelope and its error, `Документ`, document and event pages, lists,
//! accounts, the user, the version, certificates, a download's error answer), arbitrary
//! names to the file-name sanitizer, on stable Rust with `proptest`.
//!
//! Asserted for every input: no panic; a decoded value re-encodes to an **equivalent**
//! document — decoding is lenient (a value of another type is kept raw in `extra`, `"4"` and
//! `4` read as the same code, a typed field shadows raw items kept beside it), so
//! "equivalent" means the encoding is a fixpoint: decode it, encode again, get the same
//! JSON; no error carries a session id or a value of the answer; a sanitized name is one
//! plain file name within the byte limit, not a Windows device name.
//!
//! Case counts: [`cases`] per property (default 256); `HR_DOCS_FUZZ_CASES=100000 cargo test
//! -p saby-client --lib properties` runs deeper (docs/security.md).

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::client::download_failure;
use crate::error::{ConfirmationInfo, Error};
use crate::fs::archive::{MANIFEST_FILE_NAME, MAX_FILE_NAME_BYTES, UniqueNames};
use crate::fs::atomic::is_plain_file_name;
use crate::model::{
    Account, Certificate, CurrentUser, Document, DocumentPage, Event, Stage, VersionInfo,
};
use crate::sanitize_file_name;
use crate::transport::{decode, decode_document, decode_list, parse_rpc_response};

/// The case count of each property: `HR_DOCS_FUZZ_CASES`, else 256.
fn cases() -> u32 {
    std::env::var("HR_DOCS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// [`cases`] cases, no regression files written next to the sources (a failure found is
/// pinned as a plain unit test instead, with its reason).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const SID: &str = "fuzz-sid-0123456789abcdef";

/// The keys Saby's answers use, so that generated objects often hit the model's fields.
const KEYS: &[&str] = &[
    "Идентификатор",
    "Документ",
    "Тип",
    "Подтип",
    "Название",
    "Дата",
    "Номер",
    "Вложение",
    "Файл",
    "Имя",
    "Ссылка",
    "ДвоичныеДанные",
    "Хеш",
    "Подпись",
    "Этап",
    "Действие",
    "Состояние",
    "Код",
    "Описание",
    "Примечание",
    "Контрагент",
    "НашаОрганизация",
    "СвЮЛ",
    "СвФЛ",
    "ИНН",
    "Фамилия",
    "Отчество",
    "Навигация",
    "ЕстьЕще",
    "Событие",
    "ДатаВремя",
    "СсылкаНаАрхив",
    "Удален",
    "Служебный",
    "Направление",
    "Регламент",
    "Редакция",
    "Ответственный",
    "Список",
    "НомерАккаунта",
    "Пользователь",
    "Сертификат",
    "Отпечаток",
    "Ключ",
    "ТребуетПодписания",
    "ИдентификаторСессии",
    "jsonrpc",
    "result",
    "error",
    "id",
    "code",
    "message",
    "details",
    "data",
    "classid",
    "addinfo",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Zа-яА-Я0-9 ._-]{0,12}",
        1 => Just(String::new()),
        1 => "(Да|Нет|0|1|4|7|true|[0-9]{2}\\.[0-9]{2}\\.[0-9]{4}( [0-9]{2}\\.[0-9]{2}\\.[0-9]{2})?|[A-Za-z0-9+/]{0,16}={0,2})",
        1 => any::<String>(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => text(),
    ]
}

/// Arbitrary JSON, a few levels deep, with Saby's keys.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An object (most answers are one).
fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), json_value()), 0..10)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// Every text of an error: Display, Debug and the source chain.
fn texts(err: &Error) -> String {
    let mut out = format!("{err} {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        out.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    out
}

fn raw(value: &Value) -> Box<RawValue> {
    RawValue::from_string(value.to_string()).unwrap_or_else(|e| unreachable!("JSON text: {e}"))
}

/// Decodes `value` as `T` the way the client decodes a `result`; when it decodes, checks
/// that the value is a fixpoint of its encoding.
fn fixpoint<T>(value: &Value) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + std::fmt::Debug,
{
    if let Ok(decoded) = decode::<T>("m", 200, "result", &value.to_string(), false) {
        stable_encoding(&decoded)?;
    }
    Ok(())
}

/// The equivalence of lenient decoding: the encoding of a decoded value is a fixpoint —
/// decoding it and encoding again gives the same document. (Not the value itself: a list
/// read in part drops, on its first encoding, the odd items a typed field shadows; see
/// [`a_list_read_in_part_encodes_to_a_stable_form`].)
fn stable_encoding<T>(decoded: &T) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + std::fmt::Debug,
{
    let encoded = serde_json::to_value(decoded)
        .map_err(|e| TestCaseError::fail(format!("a decoded value encodes: {e}")))?;
    let again: Result<T, _> = serde_json::from_value(encoded.clone());
    prop_assert!(again.is_ok(), "{encoded} → {again:?}");
    let reencoded = again.ok().map(|a| serde_json::to_value(&a).ok());
    prop_assert_eq!(reencoded, Some(Some(encoded)));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes as a JSON-RPC answer, for every status: no panic; a session id in
    /// the body never reaches the error of an answer that carries one, and the session in
    /// use never reaches any error.
    #[test]
    fn arbitrary_answers_never_panic_nor_leak(
        before in prop::collection::vec(any::<u8>(), 0..300),
        after in prop::collection::vec(any::<u8>(), 0..300),
        status in 100u16..600,
        secret in any::<bool>(),
    ) {
        let mut body = before.clone();
        body.extend_from_slice(SID.as_bytes());
        body.extend_from_slice(&after);
        let headers = reqwest::header::HeaderMap::new();
        for body in [&before, &body] {
            let scrub: &[&str] = if secret { &[] } else { &[SID] };
            if let Err(e) = parse_rpc_response("СБИС.Тест", 1, status, &headers, body, secret, scrub) {
                prop_assert!(!texts(&e).contains(SID), "{}", texts(&e));
            }
            if let Some(e) = download_failure(status, &headers, body, &[SID]) {
                prop_assert!(!texts(&e).contains(SID), "{}", texts(&e));
            }
        }
    }

    /// Arbitrary JSON envelopes (results, errors, ids of any type): no panic, no session.
    #[test]
    fn arbitrary_envelopes_never_panic_nor_leak(
        result in json_value(),
        error in json_value(),
        id in json_value(),
        status in prop::sample::select(&[200u16, 401, 403, 404, 423, 429, 500, 502, 503][..]),
    ) {
        let with_error = json!({"jsonrpc": "2.0", "result": result, "error": error, "id": id});
        let mut with_sid = with_error.clone();
        with_sid["error"] = json!({"message": format!("session {SID}"), "details": SID,
            "data": {"addinfo": {"ИдентификаторСессии": SID}}});
        let headers = reqwest::header::HeaderMap::new();
        for env in [with_error, with_sid] {
            let body = env.to_string();
            match parse_rpc_response("СБИС.Тест", 1, status, &headers, body.as_bytes(), false, &[SID]) {
                Ok(raw) => { let _ = decode_document::<Document>("m", &raw); }
                Err(e) => prop_assert!(!texts(&e).contains(SID), "{}", texts(&e)),
            }
        }
    }

    /// `Документ` answers, bare or wrapped: no panic; a fixpoint.
    #[test]
    fn documents_decode_to_a_fixpoint(value in json_object(), wrapped in any::<bool>()) {
        let value = if wrapped { json!({"Документ": value}) } else { value };
        if let Ok(doc) = decode_document::<Document>("m", &raw(&value)) {
            stable_encoding(&doc)?;
        }
    }

    /// Pages (documents, events), accounts, the user, the version, certificates, stages:
    /// no panic; a fixpoint.
    #[test]
    fn every_answer_decodes_to_a_fixpoint(value in json_value()) {
        fixpoint::<DocumentPage>(&value)?;
        fixpoint::<Event>(&value)?;
        fixpoint::<Account>(&value)?;
        fixpoint::<CurrentUser>(&value)?;
        fixpoint::<VersionInfo>(&value)?;
        fixpoint::<Certificate>(&value)?;
        fixpoint::<Stage>(&value)?;
        let raw = raw(&value);
        let _ = decode_list::<Account>("m", &raw, &["Список", "Аккаунт", "Аккаунты"]);
        let _ = decode_list::<Certificate>("m", &raw, &["Сертификат"]);
    }

    /// A document whose answer is cut off anywhere, or whose `result` is no document, fails
    /// without quoting any of it.
    #[test]
    fn a_broken_document_quotes_no_value(
        surname in "[А-Я][а-я]{3,12}",
        cut in any::<prop::sample::Index>(),
        shape in 0usize..3,
    ) {
        let marker = format!("ПД{surname}");
        let envelope = match shape {
            0 => json!({"jsonrpc": "2.0", "id": 1, "result": {"Идентификатор": "d",
                "Контрагент": {"СвФЛ": {"Фамилия": marker}}, "Название": marker}}),
            1 => json!({"jsonrpc": "2.0", "id": 1, "result": marker}),
            _ => json!({"jsonrpc": "2.0", "id": {"ФИО": marker}, "result": {}}),
        };
        let body = envelope.to_string();
        let body = if shape == 0 {
            let mut at = cut.index(body.len().max(1));
            while !body.is_char_boundary(at) {
                at -= 1;
            }
            body[..at].to_owned()
        } else {
            body
        };
        let headers = reqwest::header::HeaderMap::new();
        let outcome = parse_rpc_response("СБИС.ПрочитатьДокумент", 1, 200, &headers, body.as_bytes(), false, &[])
            .and_then(|raw| decode_document::<Document>("СБИС.ПрочитатьДокумент", &raw));
        if let Err(e) = outcome {
            prop_assert!(!texts(&e).contains("ПД"), "{}", texts(&e));
        }
    }

    /// Whatever `addinfo` holds, a confirmation's `Debug` never shows its temporary session.
    #[test]
    fn confirmation_info_never_shows_its_session(value in json_object()) {
        let mut value = value;
        if let Value::Object(m) = &mut value {
            m.insert("ИдентификаторСессии".into(), json!(SID));
        }
        if let Ok(info) = serde_json::from_value::<ConfirmationInfo>(value) {
            let shown = format!("{info:?}");
            prop_assert!(!shown.contains(SID), "{}", shown);
        }
    }

    /// A sanitized name is one plain file name: not empty, within the byte limit, no
    /// separator, no control character, not hidden, no trailing dot or space, not a
    /// Windows device name — and sanitizing it again changes nothing.
    #[test]
    fn sanitized_names_are_plain_file_names(name in any::<String>(), ext in "(\\.[a-zа-я0-9]{1,8})?") {
        for raw in [name.clone(), format!("{name}{ext}"), name.repeat(40)] {
            let safe = sanitize_file_name(&raw);
            prop_assert!(!safe.is_empty());
            prop_assert!(safe.len() <= MAX_FILE_NAME_BYTES, "{} bytes", safe.len());
            prop_assert!(is_plain_file_name(&safe), "{safe:?}");
            prop_assert!(!safe.contains(['/', '\\', ':', '*', '?', '"', '<', '>', '|']), "{safe:?}");
            prop_assert!(!safe.chars().any(char::is_control), "{safe:?}");
            prop_assert!(!safe.starts_with('.') && !safe.ends_with('.') && !safe.ends_with(' '), "{safe:?}");
            let stem = safe.split('.').next().unwrap_or("").trim_end().to_ascii_uppercase();
            prop_assert!(
                !matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
                    && !(stem.len() == 4
                        && (stem.starts_with("COM") || stem.starts_with("LPT"))
                        && stem.as_bytes()[3].is_ascii_digit()),
                "{safe:?}"
            );
            prop_assert_eq!(sanitize_file_name(&safe), safe.clone());
        }
    }

    /// Unique names: distinct case-insensitively, never the manifest's, each plain.
    #[test]
    fn unique_names_never_clash(names in prop::collection::vec(any::<String>(), 0..20)) {
        let mut unique = UniqueNames::default();
        unique.reserve(MANIFEST_FILE_NAME);
        let mut seen = std::collections::HashSet::new();
        seen.insert(MANIFEST_FILE_NAME.to_owned());
        for name in names.iter().chain(names.iter()) {
            let given = unique.unique(&sanitize_file_name(name));
            prop_assert!(is_plain_file_name(&given), "{given:?}");
            prop_assert!(seen.insert(given.to_lowercase()), "{given:?} given twice");
        }
    }
}

/// Why the fixpoint is on the encoded form: a list read in part keeps its odd items in
/// `extra`, and a typed field wins over raw items kept beside it when encoding (pinned by
/// `tests/it/lenient.rs`, `odd_values_are_written_back_as_received`: a caller's list is not
/// mixed with what a read kept). So the first encoding drops them, and from there on the
/// encoding is stable.
#[test]
fn a_list_read_in_part_encodes_to_a_stable_form() {
    let value = json!({"Вложение": [false, {"Идентификатор": "a"}, "текст"]});
    let doc: Document = serde_json::from_value(value).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(doc.attachments.len(), 1);
    assert_eq!(doc.extra["Вложение"], json!([false, "текст"]));
    let encoded = serde_json::to_value(&doc).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(encoded["Вложение"], json!([{"Идентификатор": "a"}]));
    let again: Document =
        serde_json::from_value(encoded.clone()).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(serde_json::to_value(&again).ok(), Some(encoded));
}
