//! The result of one set: recognized documents with their metadata.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::de::{LenientBool, OneOrMany, deserialize_with_extra};
use super::redacted::{Count, Keys};
use super::views::{self, BirthCertificate, DateError, Passport, Rvp, Snils};
use super::{DocumentType, SetId};

/// The answer of [`Client::result`](crate::Client::result).
///
/// Only HTTP 425 means "still processing"; every 200 is a final outcome:
/// [`Ready`](Self::Ready), [`Broken`](Self::Broken) or
/// [`NoDocuments`](Self::NoDocuments). The enum is `#[non_exhaustive]`: match
/// the cases you handle and give the rest a wildcard arm (treating an unknown
/// outcome as final is the safe default: polling again would not change it).
///
/// ```
/// use beorg_client::ResultStatus;
/// fn describe(status: &ResultStatus) -> &'static str {
///     match status {
///         ResultStatus::Ready(_) => "recognized",
///         ResultStatus::Processing { .. } => "poll again later",
///         ResultStatus::Broken(_) => "the whole set is broken",
///         ResultStatus::NoDocuments(_) => "nothing was recognized",
///         _ => "another final outcome",
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResultStatus {
    /// The set was recognized.
    Ready(Box<RecognitionResult>),
    /// The set is still being processed (HTTP 425).
    Processing {
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
    /// A 200 whose top level marks the whole set broken (`broken: true` and/or
    /// `broken_reasons` / `broken_reasons_ru`) and which holds no usable
    /// document (none, or all of them marked broken or without data). Final:
    /// polling again does not change it.
    Broken(Box<RecognitionResult>),
    /// A 200 without documents and without any broken mark. Final.
    NoDocuments(Box<RecognitionResult>),
}

impl ResultStatus {
    /// Classifies a decoded 200 answer: [`Broken`](Self::Broken),
    /// [`NoDocuments`](Self::NoDocuments) or [`Ready`](Self::Ready).
    pub fn from_result(result: RecognitionResult) -> Self {
        let usable = result.documents.iter().any(RecognizedDocument::is_usable);
        if result.is_broken() && !usable {
            ResultStatus::Broken(Box::new(result))
        } else if result.documents.is_empty() {
            ResultStatus::NoDocuments(Box::new(result))
        } else {
            ResultStatus::Ready(Box::new(result))
        }
    }

    /// Whether the set is ready.
    pub fn is_ready(&self) -> bool {
        matches!(self, ResultStatus::Ready(_))
    }

    /// Whether the set is still being processed (HTTP 425): the only outcome
    /// worth polling again.
    pub fn is_processing(&self) -> bool {
        matches!(self, ResultStatus::Processing { .. })
    }

    /// The result, if ready.
    pub fn into_ready(self) -> Option<RecognitionResult> {
        match self {
            ResultStatus::Ready(r) => Some(*r),
            _ => None,
        }
    }

    /// The answer's body, for every outcome but `Processing`.
    pub fn result(&self) -> Option<&RecognitionResult> {
        match self {
            ResultStatus::Ready(r) | ResultStatus::Broken(r) | ResultStatus::NoDocuments(r) => {
                Some(r)
            }
            ResultStatus::Processing { .. } => None,
        }
    }
}

/// The recognized content of one set.
///
/// Unknown fields at every level are kept in `extra` maps, so nothing the server
/// sends is lost.
///
/// Its `Debug` (and [`RecognizedDocument`]'s) prints the shape — set id, document keys
/// and types, which data fields are present — never a recognized value: every value is
/// `[REDACTED]`. Serialize it (or read the fields) to see the data.
#[derive(Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RecognitionResult {
    /// The set id (`document_id` on the wire). Filled from the request when the
    /// server omits it.
    pub document_id: SetId,
    /// Every recognized document, in the server's order.
    pub documents: Vec<RecognizedDocument>,
    /// A top-level `broken` mark on the whole set (`true`, `"1"`, ...; `null`
    /// or absent → `None`). See [`is_broken`](Self::is_broken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<bool>,
    /// Why the whole set is broken (English), raw, when the top level says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broken_reasons: Vec<Value>,
    /// Why the whole set is broken (Russian), raw, when the top level says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broken_reasons_ru: Vec<Value>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for RecognitionResult {
    fn default() -> Self {
        Self {
            document_id: SetId::new(""),
            documents: Vec::new(),
            broken: None,
            broken_reasons: Vec::new(),
            broken_reasons_ru: Vec::new(),
            extra: Map::new(),
        }
    }
}

deserialize_with_extra!(RecognitionResult, "a Beorg result object", {
    "document_id" => document_id as OptionalSetId,
    "documents" => documents,
    "broken" => broken as LenientBool,
    "broken_reasons" => broken_reasons as OneOrMany<Value>,
    "broken_reasons_ru" => broken_reasons_ru as OneOrMany<Value>,
});

/// A set id that may be missing, null or empty (filled in later by the client). `""` is
/// what an absent id encodes to, so it reads back as absent.
pub(crate) struct OptionalSetId(pub(crate) SetId);

impl<'de> Deserialize<'de> for OptionalSetId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(OptionalSetId(match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => SetId::new(""),
            Some(Value::String(s)) if s.trim().is_empty() => SetId::new(""),
            Some(other) => SetId::deserialize(other).map_err(serde::de::Error::custom)?,
        }))
    }
}

impl std::fmt::Debug for RecognitionResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecognitionResult")
            .field("document_id", &self.document_id)
            .field("documents", &self.documents)
            .field("broken", &self.broken)
            .field("broken_reasons", &Count(self.broken_reasons.len()))
            .field("broken_reasons_ru", &Count(self.broken_reasons_ru.len()))
            .field("extra", &Keys(&self.extra))
            .finish()
    }
}

impl std::fmt::Debug for RecognizedDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecognizedDocument")
            .field("key", &self.key)
            .field("doc_type", &self.doc_type)
            .field("data", &Keys(&self.data))
            .field("confidences", &Count(self.metadata.confidences.len()))
            .field("verification_status", &self.metadata.verifications.status)
            .field("broken", &self.broken)
            .field("broken_reasons", &Count(self.broken_reasons.len()))
            .field("broken_reasons_ru", &Count(self.broken_reasons_ru.len()))
            .field("extra", &Keys(&self.extra))
            .finish_non_exhaustive()
    }
}

/// Every text of `value` (strings and numbers, nested ones too) into `out`.
fn texts_of(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.trim().to_owned()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| texts_of(v, out)),
        Value::Object(map) => map.values().for_each(|v| texts_of(v, out)),
        Value::Null | Value::Bool(_) => {}
    }
}

impl RecognitionResult {
    /// Every recognized value of the set — each document's `data` (nested values too) and
    /// `FileName` — as text, without duplicates, longest first, leaving out values shorter
    /// than 3 characters (a gender letter, a `"1"` flag: scrubbing those would garble any
    /// message).
    ///
    /// For scrubbing text that may echo what was sent (a server's error message about a
    /// document built from this result) before it is logged or stored:
    /// `hr_docs_core::redact::scrub(&message, &refs)`.
    ///
    /// ```
    /// use beorg_client::{DocumentType, RecognitionResult, RecognizedDocument};
    /// use hr_docs_core::redact::scrub;
    ///
    /// let data = serde_json::json!({"LastName": "Иванов", "Series": "4510", "Gender": "М"});
    /// let doc = RecognizedDocument::new(DocumentType::Passport, data.as_object().unwrap().clone());
    /// let mut result = RecognitionResult::default();
    /// result.documents.push(doc);
    /// let values = result.personal_values();
    /// let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    /// assert_eq!(
    ///     scrub("Контрагент Иванов (паспорт 4510) не найден", &refs),
    ///     "Контрагент [REDACTED] (паспорт [REDACTED]) не найден"
    /// );
    /// ```
    pub fn personal_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        for doc in &self.documents {
            doc.data.values().for_each(|v| texts_of(v, &mut out));
            if let Some(name) = doc.extra.get("FileName") {
                texts_of(name, &mut out);
            }
        }
        out.retain(|v| v.chars().count() >= 3);
        // Longest first: a value containing another is scrubbed whole.
        out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        out.dedup();
        out
    }

    /// Whether the top level marks the whole set broken: `broken` is true, or
    /// it gives reasons (`broken_reasons` / `broken_reasons_ru`).
    pub fn is_broken(&self) -> bool {
        self.broken == Some(true)
            || !self.broken_reasons.is_empty()
            || !self.broken_reasons_ru.is_empty()
    }

    /// The top-level reasons as one line (Russian ones first, else English;
    /// non-text reasons as JSON), `None` when there are none. These are
    /// Beorg's diagnostics about the scans, not recognized values.
    pub fn broken_reason_text(&self) -> Option<String> {
        reasons_text(&self.broken_reasons_ru, &self.broken_reasons)
    }

    /// The documents of one type.
    pub fn documents_of_type<'a>(
        &'a self,
        doc_type: &'a DocumentType,
    ) -> impl Iterator<Item = &'a RecognizedDocument> + 'a {
        self.documents
            .iter()
            .filter(move |d| &d.doc_type == doc_type)
    }

    /// The document with this `key`.
    pub fn document(&self, key: &str) -> Option<&RecognizedDocument> {
        self.documents.iter().find(|d| d.key == key)
    }

    /// The first passport (main spread or registration page), as a typed view.
    pub fn passport(&self) -> Option<Passport> {
        self.documents.iter().find_map(RecognizedDocument::passport)
    }

    /// The employee's surname, from the first passport that has one.
    pub fn surname(&self) -> Option<String> {
        self.documents
            .iter()
            .filter_map(RecognizedDocument::passport)
            .find_map(|p| p.last_name)
    }
}

/// One recognized document of a set. `Debug` prints no recognized value (see
/// [`RecognitionResult`]).
#[derive(Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RecognizedDocument {
    /// The caller's key from `process_info` (defaults to the type).
    pub key: String,
    /// The document type (`type` on the wire).
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    /// The recognized fields, raw. Unrecognized fields are `""`. Use the typed views
    /// ([`passport`](Self::passport), [`snils`](Self::snils), ...) for parsed values.
    pub data: Map<String, Value>,
    /// Confidences, verifications and checks.
    pub metadata: Metadata,
    /// `true` when the scan could not be processed (`null` on the wire → `None`).
    pub broken: Option<bool>,
    /// Why the document is broken (English), raw.
    pub broken_reasons: Vec<Value>,
    /// Why the document is broken (Russian), raw.
    pub broken_reasons_ru: Vec<Value>,
    /// Fields this version does not know (including a document-level `FileName`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra!(RecognizedDocument, "a recognized document object", {
    "key" => key,
    "type" => doc_type,
    "data" => data,
    "metadata" => metadata,
    "broken" => broken as LenientBool,
    "broken_reasons" => broken_reasons as OneOrMany<Value>,
    "broken_reasons_ru" => broken_reasons_ru as OneOrMany<Value>,
});

impl RecognizedDocument {
    /// A document of this type with these data fields (for tests and sandboxes).
    pub fn new(doc_type: DocumentType, data: Map<String, Value>) -> Self {
        Self {
            key: doc_type.as_str().to_owned(),
            doc_type,
            data,
            ..Self::default()
        }
    }

    /// The `FileName` Beorg adds (type plus passport surname, e.g. `Паспорт_Иванов`):
    /// the document-level field, else `data["FileName"]`.
    pub fn file_name(&self) -> Option<&str> {
        self.extra
            .get("FileName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| self.field("FileName"))
    }

    /// A data field as text: exact key first, then case-insensitively (Beorg's key
    /// casing varies: `Firstname` / `FirstName`). Empty strings and `null` give
    /// `None`; numbers are not converted (see [`raw_field`](Self::raw_field)).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.raw_field(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A data field as raw JSON (exact key first, then case-insensitively).
    pub fn raw_field(&self, name: &str) -> Option<&Value> {
        self.data.get(name).or_else(|| {
            self.data
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// A `dd.mm.yyyy` date field, strictly: `Ok(None)` when missing, `null` or `""`,
    /// `Err` when present but not a valid date. The typed views are lenient instead.
    pub fn date(&self, name: &str) -> Result<Option<time::Date>, DateError> {
        match self.raw_field(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => views::parse_date(s),
            Some(other) => Err(DateError::new(other.to_string())),
        }
    }

    /// The confidence of a field (see [`Confidences::get`]).
    pub fn confidence(&self, name: &str) -> Option<f64> {
        self.metadata.confidences.get(name)
    }

    /// Whether Beorg marked the document broken.
    pub fn is_broken(&self) -> bool {
        self.broken == Some(true)
    }

    /// Whether the document can be used: not marked broken, and at least one
    /// data field holds a value (not `null`, not `""`).
    pub fn is_usable(&self) -> bool {
        !self.is_broken()
            && self.data.values().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.trim().is_empty(),
                _ => true,
            })
    }

    /// The document's reasons as one line (Russian ones first, else English),
    /// `None` when there are none.
    pub fn broken_reason_text(&self) -> Option<String> {
        reasons_text(&self.broken_reasons_ru, &self.broken_reasons)
    }

    /// Typed view of a `PASSPORT` or `PASSPORT_REG` document.
    pub fn passport(&self) -> Option<Passport> {
        matches!(
            self.doc_type,
            DocumentType::Passport | DocumentType::PassportReg
        )
        .then(|| Passport::from_document(self))
    }

    /// Typed view of a `SNILS` document.
    pub fn snils(&self) -> Option<Snils> {
        (self.doc_type == DocumentType::Snils).then(|| Snils::from_document(self))
    }

    /// Typed view of an `RVP` (temporary residence permit) document.
    pub fn rvp(&self) -> Option<Rvp> {
        (self.doc_type == DocumentType::Rvp).then(|| Rvp::from_document(self))
    }

    /// Typed view of a `BRTH` (birth certificate) document.
    pub fn birth_certificate(&self) -> Option<BirthCertificate> {
        (self.doc_type == DocumentType::Brth).then(|| BirthCertificate::from_document(self))
    }
}

/// `first` (else `second`) as one `; `-separated line; `None` when both are empty.
fn reasons_text(first: &[Value], second: &[Value]) -> Option<String> {
    let list = if first.is_empty() { second } else { first };
    let parts: Vec<String> = list
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .filter(|s| !s.trim().is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A document's `metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Metadata {
    /// Per-field recognition confidence.
    pub confidences: Confidences,
    /// Validity checks (`{}` on the wire → default).
    pub verifications: Verifications,
    /// Source checks (`{}` on the wire → default).
    pub metadata_check: MetadataCheck,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra!(Metadata, "a metadata object", {
    "confidences" => confidences,
    "verifications" => verifications,
    "metadata_check" => metadata_check,
});

/// Per-field confidences, raw. Beorg sends strings (`"0.9996"`), numbers or `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Confidences(pub Map<String, Value>);

impl Confidences {
    /// The confidence of a field as a number in `[0, 1]` where parsable: exact key
    /// first, then case-insensitively (`Firstname` vs `FirstName`). `null`, `""` or
    /// garbage give `None` (the raw value stays available through [`raw`](Self::raw)).
    pub fn get(&self, field: &str) -> Option<f64> {
        self.raw(field)
            .and_then(|v| match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().replace(',', ".").parse::<f64>().ok(),
                _ => None,
            })
            .filter(|f| f.is_finite())
    }

    /// The raw confidence value of a field.
    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.0.get(field).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                .map(|(_, v)| v)
        })
    }

    /// Every field with its parsed confidence.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<f64>)> + '_ {
        self.0.keys().map(|k| (k.as_str(), self.get(k)))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no confidences.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The status of a verification or check: `0` passed, `1` failed.
///
/// Serializes back to the wire form (`0`, `1`, or the original text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckStatus {
    /// `0` (or `"0"`): the check passed.
    Passed,
    /// `1` (or `"1"`): the check failed.
    Failed,
    /// Any other value, as text.
    Other(String),
}

impl CheckStatus {
    /// Parses a raw status; `null` and `""` give `None`.
    pub fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => None,
            Value::Bool(b) => Some(if *b { Self::Passed } else { Self::Failed }),
            Value::Number(n) => Some(match n.as_i64() {
                Some(0) => Self::Passed,
                Some(1) => Self::Failed,
                _ => Self::Other(n.to_string()),
            }),
            Value::String(s) => match s.trim() {
                "" => None,
                "0" => Some(Self::Passed),
                "1" => Some(Self::Failed),
                other => Some(Self::Other(other.to_owned())),
            },
            other => Some(Self::Other(other.to_string())),
        }
    }
}

impl Serialize for CheckStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CheckStatus::Passed => s.serialize_u8(0),
            CheckStatus::Failed => s.serialize_u8(1),
            CheckStatus::Other(text) => match text.parse::<i64>() {
                Ok(n) => s.serialize_i64(n),
                Err(_) => s.serialize_str(text),
            },
        }
    }
}

/// A lenient [`CheckStatus`] (`""`/`null` → `None`).
struct LenientStatus(Option<CheckStatus>);

impl<'de> Deserialize<'de> for LenientStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LenientStatus(CheckStatus::from_value(&Value::deserialize(
            d,
        )?)))
    }
}

/// A lenient optional text (numbers become text, `""`/`null` → `None`).
struct LenientText(Option<String>);

impl<'de> Deserialize<'de> for LenientText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(LenientText(match Value::deserialize(d)? {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }))
    }
}

/// `metadata.verifications`: document validity checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Verifications {
    /// Overall status (`0`, `1` or `""` on the wire → `None`).
    pub status: Option<CheckStatus>,
    /// `status_text`, e.g. `ok`.
    pub status_text: Option<String>,
    /// Check groups, raw (e.g. `verify_passport` → list of checks). See
    /// [`check_items`](Self::check_items).
    pub checks: Map<String, Value>,
    /// Fields that failed validation.
    pub bad_fields: Vec<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra!(Verifications, "a verifications object", {
    "status" => status as LenientStatus,
    "status_text" => status_text as LenientText,
    "checks" => checks,
    "bad_fields" => bad_fields as OneOrMany<String>,
});

impl Verifications {
    /// Every check of every group, flattened.
    pub fn check_items(&self) -> Vec<Check> {
        checks_of(&self.checks)
    }

    /// Whether the overall status is "passed".
    pub fn passed(&self) -> bool {
        self.status == Some(CheckStatus::Passed)
    }
}

/// `metadata.metadata_check`: checks of the scan's source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MetadataCheck {
    /// Overall status (`0`, `1` or `""` → `None`).
    pub status: Option<CheckStatus>,
    /// Checks, raw (e.g. `source_check` → `1`).
    pub checks: Map<String, Value>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra!(MetadataCheck, "a metadata_check object", {
    "status" => status as LenientStatus,
    "checks" => checks,
});

impl MetadataCheck {
    /// Every check, flattened.
    pub fn check_items(&self) -> Vec<Check> {
        checks_of(&self.checks)
    }
}

/// One check, flattened out of a `checks` map.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// The group (`verify_passport`) or check name (`source_check`).
    pub group: String,
    /// The check's `key` (`fields_to_check_valid`, `series_okato`, ...), if any.
    pub key: Option<String>,
    /// The check's status.
    pub status: Option<CheckStatus>,
    /// Human-readable title.
    pub title: Option<String>,
    /// Other fields of the check.
    pub extra: Map<String, Value>,
}

fn checks_of(map: &Map<String, Value>) -> Vec<Check> {
    let mut out = Vec::new();
    for (group, v) in map {
        match v {
            Value::Array(items) => out.extend(items.iter().map(|i| check_from(group, i))),
            other => out.push(check_from(group, other)),
        }
    }
    out
}

fn check_from(group: &str, v: &Value) -> Check {
    match v {
        Value::Object(o) => {
            let mut extra = o.clone();
            let key = extra.remove("key").and_then(|k| match k {
                Value::String(s) => Some(s),
                Value::Null => None,
                other => Some(other.to_string()),
            });
            let status = extra
                .remove("status")
                .and_then(|s| CheckStatus::from_value(&s));
            let title = extra
                .remove("title")
                .and_then(|t| t.as_str().map(str::to_owned));
            Check {
                group: group.to_owned(),
                key,
                status,
                title,
                extra,
            }
        }
        scalar => Check {
            group: group.to_owned(),
            status: CheckStatus::from_value(scalar),
            ..Check::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Unknown keys at every level land in that level's `extra` (escaped keys too,
    /// which cannot be borrowed from the input), known keys still reach their fields
    /// even when escaped, and serializing puts everything back.
    #[test]
    fn unknown_fields_are_kept_at_every_level() {
        let text = r#"{
            "document_id": "s-7", "project_id": "U_RATE_2", "sp\u0065cial": "é",
            "documents": [{
                "k\u0065y": "PASSPORT", "type": "PASSPORT", "FileName": "Паспорт_Иванов",
                "pages": [1, 2], "data": {"LastName": "Иванов"},
                "metadata": {
                    "processing_ms": 1834,
                    "confidences": {"LastName": "0.97"},
                    "verifications": {"status": "1", "status_text": 0, "checks": {},
                                      "bad_fields": "Series", "engine": "v2"},
                    "metadata_check": {"status": null, "checks": {"source_check": 1},
                                       "source": {"kind": "scan"}}
                },
                "broken": "1", "broken_reasons": null, "broken_reasons_ru": "нечитаемо"
            }]
        }"#;
        let r: RecognitionResult = serde_json::from_str(text).unwrap();
        assert_eq!(r.document_id.as_str(), "s-7");
        assert_eq!(r.extra["project_id"], "U_RATE_2");
        assert_eq!(r.extra["special"], "é");
        assert_eq!(r.extra.len(), 2);

        let d = &r.documents[0];
        assert_eq!(d.key, "PASSPORT");
        assert_eq!(d.doc_type, DocumentType::Passport);
        assert_eq!(d.file_name(), Some("Паспорт_Иванов"));
        assert_eq!(d.extra["pages"], json!([1, 2]));
        assert_eq!(d.extra.len(), 2);
        assert_eq!(d.broken, Some(true));
        assert!(d.broken_reasons.is_empty());
        assert_eq!(d.broken_reasons_ru, vec![json!("нечитаемо")]);

        let m = &d.metadata;
        assert_eq!(m.extra["processing_ms"], 1834);
        assert_eq!(m.extra.len(), 1);
        assert_eq!(m.confidences.get("LastName"), Some(0.97));

        let v = &m.verifications;
        assert_eq!(v.status, Some(CheckStatus::Failed));
        assert_eq!(v.status_text.as_deref(), Some("0"));
        assert_eq!(v.bad_fields, vec!["Series".to_owned()]);
        assert_eq!(v.extra["engine"], "v2");
        assert_eq!(v.extra.len(), 1);

        let mc = &m.metadata_check;
        assert_eq!(mc.status, None);
        assert_eq!(mc.checks["source_check"], 1);
        assert_eq!(mc.extra["source"], json!({"kind": "scan"}));
        assert_eq!(mc.extra.len(), 1);

        // Round trip: nothing lost, the flattened extras come back at their level.
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["special"], "é");
        assert_eq!(back["documents"][0]["FileName"], "Паспорт_Иванов");
        assert_eq!(back["documents"][0]["metadata"]["processing_ms"], 1834);
        assert_eq!(
            back["documents"][0]["metadata"]["verifications"]["engine"],
            "v2"
        );
        assert_eq!(
            back["documents"][0]["metadata"]["metadata_check"]["source"]["kind"],
            "scan"
        );
        let again: RecognitionResult = serde_json::from_value(back).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn missing_sections_and_nulls_take_defaults() {
        let r: RecognitionResult = serde_json::from_str(
            r#"{"document_id": null, "documents": [{"type": "NEW_TYPE", "data": null,
                "metadata": {"verifications": {}, "metadata_check": {}}, "broken": null}]}"#,
        )
        .unwrap();
        assert_eq!(r.document_id.as_str(), "");
        let d = &r.documents[0];
        assert_eq!(d.doc_type, DocumentType::Unknown("NEW_TYPE".into()));
        assert!(d.data.is_empty());
        assert_eq!(d.broken, None);
        assert_eq!(d.metadata, Metadata::default());
        assert!(d.extra.is_empty());
    }

    #[test]
    fn non_object_levels_are_rejected() {
        let e = serde_json::from_str::<RecognitionResult>(r#"{"documents": [1]}"#).unwrap_err();
        assert!(
            e.to_string().contains("a recognized document object"),
            "{e}"
        );
        let e = serde_json::from_str::<RecognitionResult>(r#"{"documents": [{"metadata": []}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("a metadata object"), "{e}");
    }
}
