//! The property/fuzz suite (issue 9): arbitrary bytes and arbitrary JSON to every decoder,
//! arbitrary ids to the set-id parser, on stable Rust with `proptest`.
//!
//! Asserted for every input: no panic; a decoded value is a **fixpoint** of its own
//! encoding (decoding is lenient — `"1"`, `1` and `true` may all read as the same flag —
//! so "equivalent" means: encode the decoded value, decode that, and get the same value
//! back); an error never carries the token or a recognized value.
//!
//! Case counts: [`cases`] per property (default 256); `HR_DOCS_FUZZ_CASES=100000 cargo test
//! -p beorg-client --lib properties` runs deeper (docs/security.md).

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::client::{RawResponse, api_error};
use crate::error::{Endpoint, Error};
use crate::model::{ReadySet, ReadySets, RecognitionResult, SetId, parse_date};

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

const TOKEN: &str = "fuzz-token-0123456789";

/// The keys Beorg's answers use, so that generated objects often hit the decoders' fields.
const KEYS: &[&str] = &[
    "document_id",
    "documents",
    "type",
    "key",
    "data",
    "metadata",
    "confidences",
    "verifications",
    "metadata_check",
    "checks",
    "status",
    "status_text",
    "bad_fields",
    "broken",
    "broken_reasons",
    "broken_reasons_ru",
    "FileName",
    "LastName",
    "BirthDate",
    "ready",
    "by_project",
    "errors",
    "error",
    "message",
    "questionary_id",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Zа-яА-Я0-9 ._-]{0,12}",
        1 => Just(String::new()),
        1 => "(0|1|Да|Нет|true|false|null|s-[0-9]{1,20}|[0-9]{1,20}|PASSPORT|SNILS)",
        1 => any::<String>(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => text(),
    ]
}

/// Arbitrary JSON, a few levels deep, with Beorg's keys.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A result-shaped object: `documents` is a list of document-shaped objects.
fn result_value() -> impl Strategy<Value = Value> {
    let document = prop::collection::vec((key(), json_value()), 0..8)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()));
    (
        prop::collection::vec(document, 0..4),
        prop::collection::vec((key(), json_value()), 0..4),
    )
        .prop_map(|(documents, top)| {
            let mut m: Map<String, Value> = top.into_iter().collect();
            m.insert("documents".into(), Value::Array(documents));
            Value::Object(m)
        })
}

/// One client for every case (building one loads the TLS roots).
fn client() -> &'static crate::Client {
    static CLIENT: std::sync::OnceLock<crate::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        crate::Client::builder()
            .base_url("http://127.0.0.1:9")
            .token(TOKEN)
            .project_id("P")
            .build()
            .unwrap_or_else(|e| unreachable!("a valid configuration: {e}"))
    })
}

fn raw(status: u16, body: &[u8]) -> RawResponse {
    RawResponse {
        status,
        retry_after: None,
        body: Bytes::copy_from_slice(body),
    }
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

/// Whether the fast ready path, when it accepts the body `value` is sent as, gives what the
/// lenient parser gives for the same body. Both read the same bytes, as in the client: a
/// float does not always survive `Value` → text → `Value` unchanged (serde_json's default
/// float parsing is not round-trip exact), so the lenient side parses the bytes too.
fn fast_agrees(value: &serde_json::Value) -> Result<(), proptest::test_runner::TestCaseError> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    if let Ok(crate::model::ready::FastReady(fast)) =
        serde_json::from_slice::<crate::model::ready::FastReady>(&bytes)
    {
        let body: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| unreachable!("the fast path accepted it, so it is JSON: {e}"));
        let lenient = ReadySets::from_value(body);
        prop_assert_eq!(lenient, Ok(fast), "{}", value);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes to every decoder and to the error-body reader: no panic, no token.
    #[test]
    fn arbitrary_bytes_never_panic_nor_leak(
        body in prop::collection::vec(any::<u8>(), 0..1024),
        status in 100u16..600,
    ) {
        let _ = serde_json::from_slice::<RecognitionResult>(&body);
        let _ = serde_json::from_slice::<ReadySets>(&body);
        let _ = serde_json::from_slice::<SetId>(&body);
        let client = client();
        let response = raw(status, &body);
        for endpoint in [Endpoint::Result, Endpoint::Ready, Endpoint::Upload] {
            if let Err(e) = client.decode::<RecognitionResult>(endpoint, &response) {
                prop_assert!(!texts(&e).contains(TOKEN));
            }
        }
        let e = api_error(Endpoint::Result, &response, TOKEN);
        prop_assert!(!texts(&e).contains(TOKEN));
    }

    /// Bodies that echo the token (in a message, a type, a page, a `token=` value): it
    /// never reaches the error.
    #[test]
    fn an_echoed_token_never_reaches_an_error(
        before in "[a-z <>/{}\":,]{0,300}",
        after in "[a-z <>/{}\":,]{0,50}",
        shape in 0usize..4,
    ) {
        let body = match shape {
            0 => format!(r#"{{"errors":{{"type":"{TOKEN}","message":"{before}{TOKEN}{after}"}}}}"#),
            1 => format!(r#"{{"error":{{"data":{{"questionary_id":"{TOKEN}"}}}}}}"#),
            2 => format!("<html>{before}?token={TOKEN}{after}</html>"),
            _ => format!("{before}{TOKEN}{after}"),
        };
        for status in [200, 400, 409, 500, 502] {
            let response = raw(status, body.as_bytes());
            let e = api_error(Endpoint::Ready, &response, TOKEN);
            prop_assert!(!texts(&e).contains(TOKEN), "{}", texts(&e));
            if let Err(e) = client().decode::<ReadySets>(Endpoint::Ready, &response) {
                prop_assert!(!texts(&e).contains(TOKEN), "{}", texts(&e));
            }
        }
    }

    /// A decoded result is a fixpoint of its encoding.
    #[test]
    fn results_decode_to_a_fixpoint(value in result_value()) {
        if let Ok(decoded) = serde_json::from_value::<RecognitionResult>(value) {
            let encoded = serde_json::to_value(&decoded)
                .unwrap_or_else(|e| unreachable!("a decoded result encodes: {e}"));
            let again = serde_json::from_value::<RecognitionResult>(encoded.clone());
            prop_assert!(again.is_ok(), "{encoded} → {again:?}");
            prop_assert_eq!(again.ok(), Some(decoded));
            // And the redacting Debug never panics.
            let _ = format!("{:?}", serde_json::from_value::<RecognitionResult>(encoded));
        }
    }

    /// Arbitrary JSON as a ready answer: no panic; a decoded answer is a fixpoint.
    #[test]
    fn ready_answers_decode_to_a_fixpoint(value in json_value()) {
        if let Ok(decoded) = serde_json::from_value::<ReadySets>(value) {
            let encoded = serde_json::to_value(&decoded)
                .unwrap_or_else(|e| unreachable!("a decoded answer encodes: {e}"));
            let again = serde_json::from_value::<ReadySets>(encoded.clone());
            prop_assert!(again.is_ok(), "{encoded} → {again:?}");
            prop_assert_eq!(again.ok(), Some(decoded.clone()));
            let _ = decoded.sets();
        }
    }

    /// The fast path of a ready answer, when it accepts one, decodes it exactly as the
    /// lenient parser does (arbitrary JSON, and answers of the documented shapes).
    #[test]
    fn the_fast_ready_path_agrees_with_the_lenient_one(value in json_value()) {
        fast_agrees(&value)?;
    }

    #[test]
    fn the_fast_ready_path_agrees_on_documented_shapes(
        ready in prop::collection::vec(prop_oneof![
            (0u64..1000).prop_map(|n| json!(n)),
            "( |s-)[0-9]{1,4}( )?".prop_map(|s| json!(s)),
            Just(json!("  ")),
            Just(json!(-1)),
        ], 0..12),
        by_project in prop::option::of(prop::collection::btree_map(
            "[А-Яа-я]{1,6}",
            prop::collection::vec((0u64..1000).prop_map(|n| json!(n)), 0..6),
            0..3,
        )),
        extra in any::<bool>(),
    ) {
        let mut answer = json!({"ready": ready});
        if let Some(bp) = by_project {
            answer["by_project"] = json!(bp);
        }
        if extra {
            answer["total"] = json!(3);
        }
        fast_agrees(&answer)?;
    }

    /// `into_sets` (ids moved) and `set_refs` (ids borrowed) report exactly what `sets`
    /// (ids copied) does: each id once, in the same order, on the same contour.
    #[test]
    fn into_sets_is_sets(
        ready in prop::collection::vec(0u64..40, 0..30),
        moscow in prop::collection::vec(0u64..50, 0..20),
        kazan in prop::collection::vec(0u64..50, 0..20),
    ) {
        let answer = json!({"ready": ready, "by_project": {"Москва": moscow, "Казань": kazan}});
        let decoded: ReadySets = serde_json::from_value(answer)
            .unwrap_or_else(|e| unreachable!("a list of numbers decodes: {e}"));
        prop_assert_eq!(decoded.clone().into_sets(), decoded.sets());
        let refs: Vec<ReadySet> = decoded
            .set_refs()
            .into_iter()
            .map(|(id, c)| ReadySet::new(id.clone(), c.map(str::to_owned)))
            .collect();
        prop_assert_eq!(refs, decoded.sets());
        let mut plain = decoded.clone();
        plain.by_project.clear();
        prop_assert_eq!(plain.clone().into_sets(), plain.sets());
    }

    /// A result cut off anywhere, or with personal data in the wrong place, fails to
    /// decode without quoting any of it.
    #[test]
    fn a_broken_result_quotes_no_recognized_value(
        surname in "[А-Я][а-я]{3,12}",
        number in "[0-9]{6}",
        cut in any::<prop::sample::Index>(),
        wrong_place in any::<bool>(),
    ) {
        let marker_surname = format!("ПД{surname}");
        let marker_number = format!("99{number}");
        let body = if wrong_place {
            json!({"document_id": "s-1", "documents": [
                {"type": "PASSPORT", "data": format!("{marker_surname} {marker_number}")}
            ]})
            .to_string()
        } else {
            json!({"document_id": "s-1", "documents": [
                {"type": "PASSPORT", "data": {"LastName": marker_surname, "Number": marker_number}}
            ]})
            .to_string()
        };
        let body = if wrong_place {
            body
        } else {
            // Cut at a character boundary somewhere inside.
            let mut at = cut.index(body.len().max(1));
            while !body.is_char_boundary(at) {
                at -= 1;
            }
            body[..at].to_owned()
        };
        if let Err(e) = client().decode::<RecognitionResult>(Endpoint::Result, &raw(200, body.as_bytes())) {
            let shown = texts(&e);
            prop_assert!(!shown.contains("ПД"), "{shown}");
            prop_assert!(!shown.contains(&marker_number), "{shown}");
        }
    }

    /// The set-id parser: no panic; what it accepts is kept verbatim, is non-empty and
    /// holds no whitespace or `/`; numbers round-trip.
    #[test]
    fn set_ids_parse_without_panic(id in any::<String>(), n in any::<u64>()) {
        match id.parse::<SetId>() {
            Ok(parsed) => {
                prop_assert_eq!(parsed.as_str(), id.as_str());
                prop_assert!(!id.is_empty());
                prop_assert!(!id.chars().any(|c| c.is_whitespace() || c == '/'));
                if let Some(number) = parsed.number() {
                    prop_assert_eq!(SetId::from_number(number).number(), Some(number));
                }
            }
            Err(_) => {
                prop_assert!(id.is_empty() || id.chars().any(|c| c.is_whitespace() || c == '/'));
            }
        }
        let from = SetId::from_number(n);
        prop_assert_eq!(from.number(), Some(n));
        prop_assert_eq!(format!("s-{n}").parse::<SetId>().ok(), Some(from.clone()));
        let json: Result<SetId, _> = serde_json::from_value(json!(n));
        prop_assert_eq!(json.ok(), Some(from));
        let text: Result<SetId, _> = serde_json::from_value(json!(id));
        if let Ok(parsed) = text {
            prop_assert_eq!(parsed.as_str(), id.trim());
        }
    }

    /// Ordering is total and consistent with equality, whatever the ids.
    #[test]
    fn set_id_ordering_is_total(a in text(), b in text(), c in text()) {
        let (a, b, c) = (SetId::new(a), SetId::new(b), SetId::new(c));
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&b) == std::cmp::Ordering::Equal, a == b);
        if a <= b && b <= c {
            prop_assert!(a <= c);
        }
    }

    /// Dates: no panic; an error never quotes the text.
    #[test]
    fn dates_parse_without_panic(text in ".{0,20}") {
        if let Err(e) = parse_date(&text) {
            prop_assert_eq!(e.to_string(), "not a dd.mm.yyyy date");
            prop_assert_eq!(format!("{e:?}"), "DateError { value: [REDACTED] }");
            prop_assert_eq!(e.value(), text.trim());
        }
    }
}

/// Found by `results_decode_to_a_fixpoint`: a result whose `document_id` is absent encodes
/// it as `""`, which must read back as "absent" (it was refused as an empty set id).
#[test]
fn an_absent_set_id_survives_the_round_trip() {
    let decoded: RecognitionResult =
        serde_json::from_value(json!({"documents": []})).unwrap_or_else(|e| unreachable!("{e}"));
    let encoded = serde_json::to_value(&decoded).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(encoded["document_id"], "");
    let again: RecognitionResult =
        serde_json::from_value(encoded).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(again, decoded);
}
