//! What a check found: [`Check`], [`Severity`], [`Finding`] and the [`Report`] of a set.
//!
//! Findings are persisted (the pipeline's state database) and logged, so they are built
//! to be safe there: **no finding ever carries a recognized value** — no name, date,
//! passport or SNILS number, MRZ text or `FileName`. A finding names the document (its
//! key and type), the field (its wire name), the check and the severity; its messages
//! are fixed sentences in Russian and English with, at most, a field name, a Beorg check
//! key, a count, a confidence or a policy bound.

use std::fmt;
use std::str::FromStr;

use beorg_client::DocumentType;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mrz::MrzField;

macro_rules! checks {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal, $severity:ident;)*) => {
        /// Which check produced a [`Finding`].
        ///
        /// Serialized as a stable `snake_case` name (the `wire` column of
        /// `docs/checks.md`); a name this version does not know deserializes to
        /// [`Check::Unknown`], so findings written by a newer version still load.
        ///
        /// ```
        /// use hr_docs_checks::{Check, Severity};
        /// assert_eq!(Check::SnilsCheckNumber.as_str(), "snils_check_number");
        /// assert_eq!("low_confidence".parse::<Check>().unwrap(), Check::LowConfidence);
        /// assert_eq!(Check::LowConfidence.default_severity(), Severity::Warning);
        /// let newer: Check = "some_future_check".parse().unwrap();
        /// assert_eq!(newer, Check::Unknown("some_future_check".into()));
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Check {
            $($(#[$doc])* $variant,)*
            /// A check this version does not know (read back from storage), verbatim.
            Unknown(String),
        }

        impl Check {
            /// The stable name (`snils_check_number`, ...).
            pub fn as_str(&self) -> &str {
                match self {
                    $(Check::$variant => $wire,)*
                    Check::Unknown(s) => s,
                }
            }

            /// The severity a finding of this check gets unless the
            /// [`Policy`](crate::Policy) says otherwise. `Unknown` checks are errors.
            pub fn default_severity(&self) -> Severity {
                match self {
                    $(Check::$variant => Severity::$severity,)*
                    Check::Unknown(_) => Severity::Error,
                }
            }

            /// Every check this version knows (without `Unknown`).
            pub fn known() -> &'static [Check] {
                &[$(Check::$variant,)*]
            }
        }

        impl FromStr for Check {
            type Err = std::convert::Infallible;
            /// Never fails: unknown names become [`Check::Unknown`].
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($wire => Check::$variant,)*
                    other => Check::Unknown(other.to_owned()),
                })
            }
        }
    };
}

checks! {
    // --- The set as a whole ---------------------------------------------------------
    /// Beorg marked the whole set broken (a top-level `broken`): no usable documents.
    ResultBroken => "result_broken", Error;
    /// The result holds no documents at all.
    NoDocuments => "no_documents", Error;

    // --- Beorg's own signals --------------------------------------------------------
    /// Beorg marked the document broken (`broken: true`).
    DocumentBroken => "document_broken", Error;
    /// `metadata.verifications.status` says failed, with no failed check or bad field
    /// to say which.
    BeorgVerificationFailed => "beorg_verification_failed", Warning;
    /// One of Beorg's verification checks (`verify_passport` → `series_okato`, ...)
    /// failed; its key is in [`Finding::beorg_check`].
    BeorgCheckFailed => "beorg_check_failed", Warning;
    /// Beorg listed the field in `verifications.bad_fields`.
    BeorgBadField => "beorg_bad_field", Warning;
    /// `metadata.metadata_check.status` says failed (the scan's source check).
    BeorgSourceCheckFailed => "beorg_source_check_failed", Warning;
    /// The field's recognition confidence is under the policy's threshold.
    LowConfidence => "low_confidence", Warning;

    // --- Fields and dates -----------------------------------------------------------
    /// A field the document type needs was not recognized (missing, `null` or `""`).
    FieldMissing => "field_missing", Warning;
    /// A date field is not a `dd.mm.yyyy` date, or names a day that does not exist.
    DateInvalid => "date_invalid", Error;
    /// A date that must be in the past is after "today".
    DateInFuture => "date_in_future", Error;
    /// The holder's age (from the birth date) is outside the policy's bounds.
    AgeOutOfRange => "age_out_of_range", Error;
    /// An issue or registration date is before the birth date.
    IssuedBeforeBirth => "issued_before_birth", Error;
    /// The document's expiry date (`ExpiryDate`) has passed.
    DocumentExpired => "document_expired", Warning;

    // --- Numbers with check digits --------------------------------------------------
    /// The SNILS is not 11 digits (with or without `NNN-NNN-NNN NN` separators).
    SnilsFormat => "snils_format", Error;
    /// The SNILS check number does not match the first nine digits.
    SnilsCheckNumber => "snils_check_number", Error;
    /// The INN is not 10 or 12 digits.
    InnFormat => "inn_format", Error;
    /// An INN check digit does not match.
    InnCheckDigit => "inn_check_digit", Error;

    // --- Russian internal passport --------------------------------------------------
    /// The passport series is not 4 digits.
    PassportSeriesFormat => "passport_series_format", Error;
    /// The passport number is not 6 digits.
    PassportNumberFormat => "passport_number_format", Error;
    /// The subdivision code (`IssueId`) is not `NNN-NNN`.
    SubdivisionCodeFormat => "subdivision_code_format", Error;
    /// The passport was issued before the holder's 14th birthday.
    PassportIssuedBefore14 => "passport_issued_before_14", Error;
    /// The issue date is before 1 October 1997, when this passport form was first issued.
    PassportIssuedBeforeIntroduction => "passport_issued_before_introduction", Error;
    /// The passport was due for replacement at 20 or 45 and the 90 days' grace have passed.
    PassportReplacementDue => "passport_replacement_due", Warning;

    // --- Machine-readable zone ------------------------------------------------------
    /// An MRZ line is present but unreadable (length, characters, `PNRUS` prefix), or
    /// only one of the two lines was recognized.
    MrzFormat => "mrz_format", Warning;
    /// An MRZ check digit does not match (ICAO 9303, weights 7-3-1).
    MrzCheckDigit => "mrz_check_digit", Error;
    /// A recognized field differs from what the MRZ encodes for it.
    MrzMismatch => "mrz_mismatch", Error;
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Check {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.parse::<Check>() {
            Ok(c) => c,
            Err(never) => match never {},
        })
    }
}

/// How much a [`Finding`] matters. Ordered: `Warning < Error < Fatal`.
///
/// Serialized as `"warning"`, `"error"`, `"fatal"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth a look; the set may go on.
    Warning,
    /// The data cannot be right as it stands: hold the set for a human decision.
    Error,
    /// The set cannot be processed at all: fail it instead of holding it (see
    /// [`BrokenPolicy::Fail`](crate::BrokenPolicy::Fail)).
    Fatal,
}

impl Severity {
    /// `"warning"`, `"error"` or `"fatal"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a check found in one document (or in the set as a whole).
///
/// Safe to persist and to log: it never holds a recognized value — no name, date,
/// passport or SNILS number, MRZ text or `FileName`. Its messages are fixed sentences
/// with, at most, a field's wire name, a Beorg check key, a count, a confidence or a
/// policy bound. Serialized with the field names below; `None` fields are left out,
/// unknown fields are ignored on reading.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// The document's `key` (from `process_info`; defaults to its type). `None` for a
    /// finding about the whole set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_key: Option<String>,
    /// The document's type. `None` for a finding about the whole set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<DocumentType>,
    /// The field's wire name (`Number`, `BirthDate`, `MRZ2`, ...), when the finding is
    /// about one field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The check.
    pub check: Check,
    /// The severity, after the [`Policy`](crate::Policy).
    pub severity: Severity,
    /// For [`Check::BeorgCheckFailed`]: the key of Beorg's check (`series_okato`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beorg_check: Option<String>,
    /// What was found, in Russian.
    pub message_ru: String,
    /// What was found, in English.
    pub message_en: String,
}

impl Finding {
    /// A finding with the check's generic messages and no document or field; add them
    /// with [`document`](Self::document) and [`field`](Self::field). The checks of this
    /// crate build their own findings; this is for callers' own checks and for tests.
    ///
    /// ```
    /// use beorg_client::DocumentType;
    /// use hr_docs_checks::{Check, Finding, Severity};
    /// let f = Finding::new(Check::FieldMissing, Severity::Warning)
    ///     .document("PASSPORT", DocumentType::Passport)
    ///     .field("Number");
    /// assert_eq!(f.message_en, "Field \"Number\" was not recognized");
    /// ```
    pub fn new(check: Check, severity: Severity) -> Self {
        let (message_ru, message_en) = messages(&check, None, &Detail::None);
        Self {
            document_key: None,
            document_type: None,
            field: None,
            check,
            severity,
            beorg_check: None,
            message_ru,
            message_en,
        }
    }

    /// Sets the document this finding is about.
    pub fn document(mut self, key: impl Into<String>, doc_type: DocumentType) -> Self {
        self.document_key = Some(key.into());
        self.document_type = Some(doc_type);
        self
    }

    /// Sets the field (wire name) and rewrites the messages to name it.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        let (ru, en) = messages(&self.check, Some(&field), &Detail::None);
        self.message_ru = ru;
        self.message_en = en;
        self.field = Some(field);
        self
    }

    /// Whether this finding should stop the set (an error or worse).
    pub fn is_error(&self) -> bool {
        self.severity >= Severity::Error
    }

    /// A finding built by the checks of this crate.
    pub(crate) fn build(
        check: Check,
        severity: Severity,
        document: Option<(&str, &DocumentType)>,
        field: Option<&str>,
        detail: Detail,
    ) -> Self {
        let (message_ru, message_en) = messages(&check, field, &detail);
        let beorg_check = match detail {
            Detail::BeorgCheck(key) => Some(key),
            _ => None,
        };
        Self {
            document_key: document.map(|(k, _)| k.to_owned()),
            document_type: document.map(|(_, t)| t.clone()),
            field: field.map(str::to_owned),
            check,
            severity,
            beorg_check,
            message_ru,
            message_en,
        }
    }
}

impl fmt::Display for Finding {
    /// `error PASSPORT/Number: passport_number_format: Passport number must be 6 digits`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.severity)?;
        match (&self.document_key, &self.field) {
            (Some(k), Some(field)) => write!(f, "{k}/{field}: ")?,
            (Some(k), None) => write!(f, "{k}: ")?,
            (None, Some(field)) => write!(f, "{field}: ")?,
            (None, None) => f.write_str("set: ")?,
        }
        write!(f, "{}: {}", self.check, self.message_en)
    }
}

/// Non-personal facts a message may mention.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Detail {
    None,
    /// How many reasons Beorg gave (never their text).
    Reasons(usize),
    /// A Beorg check key, already filtered by `safe_name`.
    BeorgCheck(String),
    Confidence {
        value: f64,
        threshold: f64,
    },
    AgeBounds {
        min: u16,
        max: u16,
    },
    Mrz(MrzField),
    MrzLine(MrzProblem),
}

/// Why an MRZ line is unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MrzProblem {
    Missing,
    Unreadable,
    NotRussianPassport,
}

fn quoted_ru(field: Option<&str>) -> String {
    field.map(|f| format!(" «{f}»")).unwrap_or_default()
}

fn quoted_en(field: Option<&str>) -> String {
    field.map(|f| format!(" \"{f}\"")).unwrap_or_default()
}

/// The two messages of a finding. Only the check, the field's wire name and the
/// non-personal `detail` go in.
fn messages(check: &Check, field: Option<&str>, detail: &Detail) -> (String, String) {
    let fr = quoted_ru(field);
    let fe = quoted_en(field);
    let reasons = match detail {
        Detail::Reasons(n) => *n,
        _ => 0,
    };
    match check {
        Check::ResultBroken => (
            format!("Beorg пометил весь комплект как испорченный (причин: {reasons})"),
            format!("Beorg marked the whole set broken ({reasons} reasons given)"),
        ),
        Check::NoDocuments => (
            "В комплекте нет распознанных документов".into(),
            "The set has no recognized documents".into(),
        ),
        Check::DocumentBroken => (
            format!("Beorg пометил документ как испорченный (причин: {reasons})"),
            format!("Beorg marked the document broken ({reasons} reasons given)"),
        ),
        Check::BeorgVerificationFailed => (
            "Проверка Beorg не пройдена".into(),
            "Beorg's verification failed".into(),
        ),
        Check::BeorgCheckFailed => {
            let key = match detail {
                Detail::BeorgCheck(k) => k.as_str(),
                _ => "?",
            };
            (
                format!("Проверка Beorg «{key}» не пройдена"),
                format!("Beorg's check \"{key}\" failed"),
            )
        }
        Check::BeorgBadField => (
            format!("Beorg отметил поле{fr} как ошибочное"),
            format!("Beorg flagged field{fe} as invalid"),
        ),
        Check::BeorgSourceCheckFailed => (
            "Проверка источника скана в Beorg не пройдена".into(),
            "Beorg's source check of the scan failed".into(),
        ),
        Check::LowConfidence => match detail {
            Detail::Confidence { value, threshold } => (
                format!("Низкая уверенность распознавания поля{fr}: {value:.2} < {threshold:.2}"),
                format!(
                    "Low recognition confidence for field{fe}: {value:.2} < {threshold:.2}"
                ),
            ),
            _ => (
                format!("Низкая уверенность распознавания поля{fr}"),
                format!("Low recognition confidence for field{fe}"),
            ),
        },
        Check::FieldMissing => (
            format!("Поле{fr} не распознано"),
            format!("Field{fe} was not recognized"),
        ),
        Check::DateInvalid => (
            format!("Поле{fr}: не дата вида дд.мм.гггг или такого дня не существует"),
            format!("Field{fe} is not a dd.mm.yyyy date, or no such day exists"),
        ),
        Check::DateInFuture => (
            format!("Поле{fr}: дата в будущем"),
            format!("Field{fe} is a date in the future"),
        ),
        Check::AgeOutOfRange => match detail {
            Detail::AgeBounds { min, max } => (
                format!("Возраст по полю{fr} вне допустимых границ {min}–{max} лет"),
                format!("The age from field{fe} is outside the allowed {min}–{max} years"),
            ),
            _ => (
                format!("Возраст по полю{fr} вне допустимых границ"),
                format!("The age from field{fe} is outside the allowed bounds"),
            ),
        },
        Check::IssuedBeforeBirth => (
            format!("Поле{fr}: дата раньше даты рождения"),
            format!("Field{fe} is a date before the birth date"),
        ),
        Check::DocumentExpired => (
            format!("Срок действия документа истёк (поле{fr})"),
            format!("The document has expired (field{fe})"),
        ),
        Check::SnilsFormat => (
            "СНИЛС должен состоять из 11 цифр (NNN-NNN-NNN NN)".into(),
            "SNILS must be 11 digits (NNN-NNN-NNN NN)".into(),
        ),
        Check::SnilsCheckNumber => (
            "Контрольное число СНИЛС не совпадает".into(),
            "SNILS check number does not match".into(),
        ),
        Check::InnFormat => (
            "ИНН должен состоять из 10 (организация) или 12 (физическое лицо) цифр".into(),
            "INN must be 10 (organization) or 12 (person) digits".into(),
        ),
        Check::InnCheckDigit => (
            "Контрольная цифра ИНН не совпадает".into(),
            "INN check digit does not match".into(),
        ),
        Check::PassportSeriesFormat => (
            "Серия паспорта должна состоять из 4 цифр".into(),
            "Passport series must be 4 digits".into(),
        ),
        Check::PassportNumberFormat => (
            "Номер паспорта должен состоять из 6 цифр".into(),
            "Passport number must be 6 digits".into(),
        ),
        Check::SubdivisionCodeFormat => (
            "Код подразделения должен иметь вид NNN-NNN".into(),
            "Subdivision code must look like NNN-NNN".into(),
        ),
        Check::PassportIssuedBefore14 => (
            "Паспорт выдан раньше 14-летия владельца".into(),
            "The passport was issued before the holder's 14th birthday".into(),
        ),
        Check::PassportIssuedBeforeIntroduction => (
            "Дата выдачи паспорта раньше 01.10.1997, начала выдачи паспортов этого образца"
                .into(),
            "The issue date is before 1 October 1997, when passports of this form were first issued"
                .into(),
        ),
        Check::PassportReplacementDue => (
            "Паспорт подлежал замене в 20 или 45 лет, и 90 дней после этого прошли".into(),
            "The passport was due for replacement at 20 or 45 and the 90 days' grace have passed"
                .into(),
        ),
        Check::MrzFormat => match detail {
            Detail::MrzLine(MrzProblem::Missing) => (
                format!("Распознана только одна строка машиночитаемой записи, нет поля{fr}"),
                format!("Only one line of the machine-readable zone was recognized, field{fe} is missing"),
            ),
            Detail::MrzLine(MrzProblem::NotRussianPassport) => (
                format!("Машиночитаемая запись (поле{fr}) не паспорта гражданина РФ (нет PNRUS)"),
                format!("The machine-readable zone (field{fe}) is not a Russian passport's (no PNRUS)"),
            ),
            _ => (
                format!("Машиночитаемая запись (поле{fr}) не читается: нужно 44 знака 0-9, A-Z, <"),
                format!("The machine-readable zone (field{fe}) is unreadable: 44 characters of 0-9, A-Z, < expected"),
            ),
        },
        Check::MrzCheckDigit => {
            let (ru, en) = match detail {
                Detail::Mrz(part) => (part.name_ru(), part.name_en()),
                _ => ("", ""),
            };
            (
                format!("Контрольная цифра машиночитаемой записи не совпадает: {ru}"),
                format!("A check digit of the machine-readable zone does not match: {en}"),
            )
        }
        Check::MrzMismatch => (
            format!("Поле{fr} не совпадает с машиночитаемой записью"),
            format!("Field{fe} does not match the machine-readable zone"),
        ),
        Check::Unknown(name) => (
            format!("Проверка «{name}»{fr}"),
            format!("Check \"{name}\"{fe}"),
        ),
    }
}

/// What the findings of a set add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Verdict {
    /// Nothing found.
    Clean,
    /// Warnings only: the set may go on.
    Warnings,
    /// At least one error: hold the set for a human decision.
    Hold,
    /// At least one fatal finding: fail the set.
    Fail,
}

/// Everything the checks found in one set.
///
/// ```
/// use hr_docs_checks::{Check, Finding, Report, Severity, Verdict};
/// let report = Report::new(vec![Finding::new(Check::LowConfidence, Severity::Warning)]);
/// assert!(!report.has_errors());
/// assert_eq!(report.verdict(), Verdict::Warnings);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The findings, in document order, set-level findings first.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report of these findings.
    pub fn new(findings: Vec<Finding>) -> Self {
        Self { findings }
    }

    /// Whether any finding is an error or fatal: the set must not go on unattended.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }

    /// Whether any finding is fatal: the set should be failed.
    pub fn has_fatal(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Fatal)
    }

    /// Whether any finding is a warning.
    pub fn has_warnings(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Warning)
    }

    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The errors and fatal findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> + '_ {
        self.findings.iter().filter(|f| f.is_error())
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> + '_ {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    /// The findings about the document with this key.
    pub fn for_document<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings
            .iter()
            .filter(move |f| f.document_key.as_deref() == Some(key))
    }

    /// What the findings add up to: the highest severity decides.
    pub fn verdict(&self) -> Verdict {
        match self.findings.iter().map(|f| f.severity).max() {
            None => Verdict::Clean,
            Some(Severity::Warning) => Verdict::Warnings,
            Some(Severity::Error) => Verdict::Hold,
            Some(Severity::Fatal) => Verdict::Fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_check_round_trips_and_has_messages() {
        for c in Check::known() {
            assert_eq!(c.as_str().parse::<Check>().unwrap(), *c);
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(serde_json::from_str::<Check>(&json).unwrap(), *c);
            let (ru, en) = messages(c, Some("Field"), &Detail::None);
            assert!(!ru.is_empty() && !en.is_empty(), "{c}");
            assert!(
                !c.as_str().contains(char::is_uppercase),
                "names are snake_case: {c}"
            );
        }
        let mut names: Vec<_> = Check::known().iter().map(Check::as_str).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "names are unique");
    }

    #[test]
    fn verdict_follows_the_highest_severity() {
        let w = Finding::new(Check::LowConfidence, Severity::Warning);
        let e = Finding::new(Check::SnilsCheckNumber, Severity::Error);
        let f = Finding::new(Check::DocumentBroken, Severity::Fatal);
        assert_eq!(Report::default().verdict(), Verdict::Clean);
        assert_eq!(Report::new(vec![w.clone()]).verdict(), Verdict::Warnings);
        let hold = Report::new(vec![w.clone(), e.clone()]);
        assert_eq!(hold.verdict(), Verdict::Hold);
        assert!(hold.has_errors() && !hold.has_fatal());
        assert_eq!(hold.errors().count(), 1);
        assert_eq!(hold.warnings().count(), 1);
        let fail = Report::new(vec![e, f, w]);
        assert_eq!(fail.verdict(), Verdict::Fail);
        assert!(fail.has_fatal() && fail.has_errors());
    }

    #[test]
    fn display_names_document_field_and_check() {
        let f = Finding::build(
            Check::PassportNumberFormat,
            Severity::Error,
            Some(("PASSPORT", &DocumentType::Passport)),
            Some("Number"),
            Detail::None,
        );
        assert_eq!(
            f.to_string(),
            "error PASSPORT/Number: passport_number_format: Passport number must be 6 digits"
        );
        assert_eq!(
            Finding::new(Check::NoDocuments, Severity::Error).to_string(),
            "error set: no_documents: The set has no recognized documents"
        );
    }
}
