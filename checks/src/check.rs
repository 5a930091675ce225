//! The entry points: every check on a result, and on one document.

use beorg_client::{CheckStatus, DocumentType, Gender, RecognitionResult, RecognizedDocument};
use serde_json::Value;
use time::Date;

use crate::finding::{Check, Detail, Finding, MrzProblem, Report};
use crate::inn::{InnError, validate_inn};
use crate::mrz::{MrzField, MrzLine1, MrzLine2};
use crate::passport::{self, age_on};
use crate::policy::Policy;
use crate::snils::{SnilsError, validate_snils};

/// Runs every check on a set's result.
///
/// Set-level findings come first (a set Beorg marked broken as a whole, a set with no
/// documents), then each document's findings in document order (see
/// [`check_document`]). Pure: the same input, policy and `today` give the same report.
///
/// ```
/// use hr_docs_checks::{Check, Policy, Verdict, check_result};
/// use time::macros::date;
///
/// let result: beorg_client::RecognitionResult = serde_json::from_value(serde_json::json!({
///     "document_id": "s-7",
///     "documents": [{
///         "key": "SNILS", "type": "SNILS",
///         "data": {"Number": "112-233-445 96", "BirthDate": "01.02.1990"},
///         "metadata": {"confidences": {"Number": "0.99"}}
///     }]
/// }))?;
/// let report = check_result(&result, &Policy::default(), date!(2026-01-15));
/// assert_eq!(report.verdict(), Verdict::Hold);
/// let finding = &report.findings[0];
/// assert_eq!(finding.check, Check::SnilsCheckNumber);
/// assert_eq!(finding.field.as_deref(), Some("Number"));
/// assert_eq!(finding.message_en, "SNILS check number does not match");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn check_result(result: &RecognitionResult, policy: &Policy, today: Date) -> Report {
    let mut out = Vec::new();
    if result.is_broken() {
        let reasons = result
            .broken_reasons
            .len()
            .max(result.broken_reasons_ru.len());
        push(
            &mut out,
            policy,
            Check::ResultBroken,
            None,
            None,
            Detail::Reasons(reasons),
        );
    }
    if result.documents.is_empty() {
        push(
            &mut out,
            policy,
            Check::NoDocuments,
            None,
            None,
            Detail::None,
        );
    }
    for doc in &result.documents {
        out.extend(check_document(doc, policy, today));
    }
    Report::new(out)
}

/// Runs every check that applies to one document, by its type:
///
/// * every type: Beorg's signals (`broken`, `verifications`, `metadata_check`,
///   confidences under the threshold);
/// * `PASSPORT`: series, number and subdivision code formats, birth and issue dates,
///   age, issue at 14 or later and not before 1997-10-01, replacement at 20/45, the MRZ
///   (check digits and the fields it encodes); missing fields;
/// * `PASSPORT_REG`: the same on the fields present (a registration page need not
///   carry them);
/// * `SNILS`: the number (format, check number), birth and registration dates, age;
/// * `INN`: the number in `INN` or `Number` (format, check digits);
/// * `RVP`: birth date and age, decision and issue dates, expiry;
/// * `BRTH`: the child's birth date and the issue date;
/// * other types: Beorg's signals only.
///
/// ```
/// use hr_docs_checks::{Check, Policy, check_document};
/// use time::macros::date;
///
/// let doc: beorg_client::RecognizedDocument = serde_json::from_value(serde_json::json!({
///     "key": "INN", "type": "INN", "data": {"INN": "7707083894"}
/// }))?;
/// let findings = check_document(&doc, &Policy::default(), date!(2026-01-15));
/// assert_eq!(findings.len(), 1);
/// assert_eq!(findings[0].check, Check::InnCheckDigit);
/// assert!(!findings[0].message_en.contains("7707"));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn check_document(doc: &RecognizedDocument, policy: &Policy, today: Date) -> Vec<Finding> {
    let mut c = Ctx {
        doc,
        policy,
        today,
        out: Vec::new(),
    };
    c.beorg_signals();
    match &doc.doc_type {
        DocumentType::Passport => c.passport(true),
        DocumentType::PassportReg => c.passport(false),
        DocumentType::Snils => c.snils(),
        DocumentType::Inn => c.inn(),
        DocumentType::Rvp => c.rvp(),
        DocumentType::Brth => c.birth_certificate(),
        _ => {}
    }
    c.out
}

fn push(
    out: &mut Vec<Finding>,
    policy: &Policy,
    check: Check,
    doc: Option<&RecognizedDocument>,
    field: Option<&str>,
    detail: Detail,
) {
    if let Some(severity) = policy.severity(&check) {
        let document = doc.map(|d| (d.key.as_str(), &d.doc_type));
        out.push(Finding::build(check, severity, document, field, detail));
    }
}

/// A name from Beorg (a field or check key) that may go into a finding: ASCII letters,
/// digits, `_` and `-`, at most 64 characters. Anything else could be free text, so it
/// is left out rather than risk a recognized value in a finding.
fn safe_name(s: &str) -> Option<&str> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(s)
}

/// A text field as read for a check.
enum Text {
    /// Missing, `null`, or blank.
    Missing,
    /// A string (trimmed) or a number (as written).
    Value(String),
    /// A boolean, list or object where text was expected.
    Other,
}

/// A date field as read for a check.
enum DateField {
    Missing,
    Valid(Date),
    Invalid,
}

struct Ctx<'a> {
    doc: &'a RecognizedDocument,
    policy: &'a Policy,
    today: Date,
    out: Vec<Finding>,
}

impl Ctx<'_> {
    fn push(&mut self, check: Check, field: Option<&str>, detail: Detail) {
        push(
            &mut self.out,
            self.policy,
            check,
            Some(self.doc),
            field,
            detail,
        );
    }

    fn text(&self, field: &str) -> Text {
        match self.doc.raw_field(field) {
            None | Some(Value::Null) => Text::Missing,
            Some(Value::String(s)) if s.trim().is_empty() => Text::Missing,
            Some(Value::String(s)) => Text::Value(s.trim().to_owned()),
            Some(Value::Number(n)) => Text::Value(n.to_string()),
            Some(_) => Text::Other,
        }
    }

    /// A date field; an invalid one is reported here (the caller gets `Invalid` to
    /// skip the rules that need the date).
    fn date(&mut self, field: &str, required: bool) -> DateField {
        match self.doc.date(field) {
            Ok(None) => {
                if required {
                    self.push(Check::FieldMissing, Some(field), Detail::None);
                }
                DateField::Missing
            }
            Ok(Some(d)) => DateField::Valid(d),
            Err(_) => {
                // The error holds the raw value: it is dropped, never formatted.
                self.push(Check::DateInvalid, Some(field), Detail::None);
                DateField::Invalid
            }
        }
    }

    /// A date that must not be after today; `Some` only when valid and not future.
    fn past_date(&mut self, field: &str, required: bool) -> Option<Date> {
        match self.date(field, required) {
            DateField::Valid(d) if d > self.today => {
                self.push(Check::DateInFuture, Some(field), Detail::None);
                None
            }
            DateField::Valid(d) => Some(d),
            DateField::Missing | DateField::Invalid => None,
        }
    }

    /// The holder's birth date: valid, past, and an age within the policy's bounds.
    fn birth_date(&mut self, field: &str, required: bool) -> Option<Date> {
        let birth = self.past_date(field, required)?;
        let bounds = self.policy.age_bounds();
        if age_on(birth, self.today).is_none_or(|age| !bounds.contains(&age)) {
            self.push(
                Check::AgeOutOfRange,
                Some(field),
                Detail::AgeBounds {
                    min: *bounds.start(),
                    max: *bounds.end(),
                },
            );
        }
        Some(birth)
    }

    /// A date of an event in the holder's life: valid, past, not before birth.
    fn event_date(&mut self, field: &str, birth: Option<Date>, required: bool) -> Option<Date> {
        let d = self.past_date(field, required)?;
        if birth.is_some_and(|b| d < b) {
            self.push(Check::IssuedBeforeBirth, Some(field), Detail::None);
        }
        Some(d)
    }

    fn beorg_signals(&mut self) {
        let doc = self.doc;
        if doc.is_broken() {
            let reasons = doc.broken_reasons.len().max(doc.broken_reasons_ru.len());
            self.push(Check::DocumentBroken, None, Detail::Reasons(reasons));
        }

        let v = &doc.metadata.verifications;
        let before = self.out.len();
        for item in v.check_items() {
            if item.status == Some(CheckStatus::Failed) {
                let key = item.key.as_deref().unwrap_or(&item.group);
                let key = safe_name(key).unwrap_or("unnamed").to_owned();
                self.push(Check::BeorgCheckFailed, None, Detail::BeorgCheck(key));
            }
        }
        for field in &v.bad_fields {
            self.push(Check::BeorgBadField, safe_name(field), Detail::None);
        }
        if v.status == Some(CheckStatus::Failed) && self.out.len() == before {
            self.push(Check::BeorgVerificationFailed, None, Detail::None);
        }
        if doc.metadata.metadata_check.status == Some(CheckStatus::Failed) {
            self.push(Check::BeorgSourceCheckFailed, None, Detail::None);
        }

        let threshold = self.policy.confidence_threshold();
        let low: Vec<(Option<String>, f64)> = doc
            .metadata
            .confidences
            .iter()
            .filter_map(|(field, value)| Some((field, value?)))
            .filter(|(_, value)| *value < threshold)
            // An empty field's confidence says nothing (Beorg sends `"MRZ1": "0"`
            // for an MRZ it did not find).
            .filter(|(field, _)| !matches!(self.text(field), Text::Missing))
            .map(|(field, value)| (safe_name(field).map(str::to_owned), value))
            .collect();
        for (field, value) in low {
            self.push(
                Check::LowConfidence,
                field.as_deref(),
                Detail::Confidence { value, threshold },
            );
        }
    }

    /// `PASSPORT` (everything required) or `PASSPORT_REG` (only what is present).
    fn passport(&mut self, main_spread: bool) {
        let series = match self.text("Series") {
            Text::Missing => {
                if main_spread {
                    self.push(Check::FieldMissing, Some("Series"), Detail::None);
                }
                None
            }
            Text::Value(s) => {
                let digits = passport::series_digits(&s);
                if digits.is_none() {
                    self.push(Check::PassportSeriesFormat, Some("Series"), Detail::None);
                }
                digits
            }
            Text::Other => {
                self.push(Check::PassportSeriesFormat, Some("Series"), Detail::None);
                None
            }
        };
        let number = self.formatted(
            "Number",
            main_spread,
            Check::PassportNumberFormat,
            passport::is_valid_number,
        );
        let subdivision = self.formatted(
            "IssueId",
            main_spread,
            Check::SubdivisionCodeFormat,
            passport::is_valid_subdivision_code,
        );

        let birth = self.birth_date("BirthDate", main_spread);
        let issued = self.event_date("IssueDate", birth, main_spread);
        if let Some(issued) = issued {
            if issued < passport::FIRST_ISSUE {
                self.push(
                    Check::PassportIssuedBeforeIntroduction,
                    Some("IssueDate"),
                    Detail::None,
                );
            }
            match birth {
                // Before the birth date: reported above, nothing more to say.
                Some(birth) if issued < birth => {}
                Some(birth)
                    if passport::anniversary(birth, passport::ISSUE_AGE)
                        .is_some_and(|fourteen| issued < fourteen) =>
                {
                    self.push(
                        Check::PassportIssuedBefore14,
                        Some("IssueDate"),
                        Detail::None,
                    );
                }
                Some(birth) if passport::replacement_overdue(birth, issued, self.today) => {
                    self.push(
                        Check::PassportReplacementDue,
                        Some("IssueDate"),
                        Detail::None,
                    );
                }
                _ => {}
            }
        }

        self.mrz(&Recognized {
            series,
            number,
            subdivision,
            birth,
            issued,
        });
    }

    /// A text field that must match `valid`; returns the value when it does.
    fn formatted(
        &mut self,
        field: &str,
        required: bool,
        check: Check,
        valid: fn(&str) -> bool,
    ) -> Option<String> {
        match self.text(field) {
            Text::Missing => {
                if required {
                    self.push(Check::FieldMissing, Some(field), Detail::None);
                }
                None
            }
            Text::Value(v) if valid(&v) => Some(v),
            Text::Value(_) | Text::Other => {
                self.push(check, Some(field), Detail::None);
                None
            }
        }
    }

    fn mrz(&mut self, rec: &Recognized) {
        let line1 = self.text("MRZ1");
        let line2 = self.text("MRZ2");
        let (line1, line2) = match (line1, line2) {
            // No MRZ (passports issued before July 2011, or not recognized).
            (Text::Missing, Text::Missing) => return,
            (l1, l2) => (l1, l2),
        };

        match line1 {
            Text::Missing => self.push(
                Check::MrzFormat,
                Some("MRZ1"),
                Detail::MrzLine(MrzProblem::Missing),
            ),
            Text::Other => self.push(
                Check::MrzFormat,
                Some("MRZ1"),
                Detail::MrzLine(MrzProblem::Unreadable),
            ),
            Text::Value(s) => match MrzLine1::parse(&s) {
                Ok(l) if l.is_russian_internal_passport() => {}
                Ok(_) => self.push(
                    Check::MrzFormat,
                    Some("MRZ1"),
                    Detail::MrzLine(MrzProblem::NotRussianPassport),
                ),
                Err(_) => self.push(
                    Check::MrzFormat,
                    Some("MRZ1"),
                    Detail::MrzLine(MrzProblem::Unreadable),
                ),
            },
        }

        let line2 = match line2 {
            Text::Value(s) => MrzLine2::parse(&s).ok(),
            Text::Missing => {
                self.push(
                    Check::MrzFormat,
                    Some("MRZ2"),
                    Detail::MrzLine(MrzProblem::Missing),
                );
                return;
            }
            Text::Other => None,
        };
        let Some(line2) = line2 else {
            self.push(
                Check::MrzFormat,
                Some("MRZ2"),
                Detail::MrzLine(MrzProblem::Unreadable),
            );
            return;
        };

        let failed = line2.failed_check_digits();
        for part in &failed {
            self.push(Check::MrzCheckDigit, Some("MRZ2"), Detail::Mrz(*part));
        }
        // Compare only what a passing check digit vouches for: a field whose check
        // digit failed was misread in the MRZ, already reported above.
        let vouched = |part: MrzField| !failed.contains(&part);
        let p = line2.internal_passport();
        let mut mismatches: Vec<&'static str> = Vec::new();

        if vouched(MrzField::DocumentNumber) {
            if let Some(series) = &rec.series
                && series.get(..3) != Some(&line2.document_number()[..3])
            {
                mismatches.push("Series");
            }
            if rec.number.as_deref().is_some_and(|n| n != p.number()) {
                mismatches.push("Number");
            }
        }
        if vouched(MrzField::OptionalData) {
            if let Some(series) = &rec.series
                && series.get(3..) != p.series().get(3..)
                && !mismatches.contains(&"Series")
            {
                mismatches.push("Series");
            }
            if rec.issued.is_some_and(|d| yymmdd(d) != p.issue_date()) {
                mismatches.push("IssueDate");
            }
            if let Some(code) = &rec.subdivision {
                let digits: String = code.chars().filter(char::is_ascii_digit).collect();
                if digits != p.subdivision_code() {
                    mismatches.push("IssueId");
                }
            }
        }
        if vouched(MrzField::BirthDate)
            && rec.birth.is_some_and(|d| yymmdd(d) != line2.birth_date())
        {
            mismatches.push("BirthDate");
        }
        // The sex has no check digit of its own; the composite covers it not either
        // (ICAO leaves position 21 out), so only a clear M/F is compared.
        let mrz_sex = match line2.sex() {
            'M' => Some(Gender::Male),
            'F' => Some(Gender::Female),
            _ => None,
        };
        let recognized_sex = self.doc.passport().and_then(|view| view.gender);
        if let (Some(m), Some(r @ (Gender::Male | Gender::Female))) = (mrz_sex, recognized_sex)
            && m != r
        {
            mismatches.push("Gender");
        }
        for field in mismatches {
            self.push(Check::MrzMismatch, Some(field), Detail::None);
        }
    }

    fn snils(&mut self) {
        match self.text("Number") {
            Text::Missing => self.push(Check::FieldMissing, Some("Number"), Detail::None),
            Text::Other => self.push(Check::SnilsFormat, Some("Number"), Detail::None),
            Text::Value(n) => match validate_snils(&n) {
                Ok(_) => {}
                Err(SnilsError::CheckNumber) => {
                    self.push(Check::SnilsCheckNumber, Some("Number"), Detail::None);
                }
                Err(_) => self.push(Check::SnilsFormat, Some("Number"), Detail::None),
            },
        }
        let birth = self.birth_date("BirthDate", false);
        self.event_date("RegistrationDate", birth, false);
    }

    fn inn(&mut self) {
        // No public example of an INN document's fields: `INN`, else `Number`.
        let field = if matches!(self.text("INN"), Text::Missing) {
            "Number"
        } else {
            "INN"
        };
        match self.text(field) {
            Text::Missing => self.push(Check::FieldMissing, Some("INN"), Detail::None),
            Text::Other => self.push(Check::InnFormat, Some(field), Detail::None),
            Text::Value(n) => match validate_inn(&n) {
                Ok(_) => {}
                Err(InnError::CheckDigit) => {
                    self.push(Check::InnCheckDigit, Some(field), Detail::None);
                }
                Err(_) => self.push(Check::InnFormat, Some(field), Detail::None),
            },
        }
    }

    fn rvp(&mut self) {
        let birth = self.birth_date("BirthDate", false);
        self.event_date("SolutionDate", birth, false);
        self.event_date("IssueDate", birth, false);
        if let DateField::Valid(expiry) = self.date("ExpiryDate", false)
            && expiry < self.today
        {
            self.push(Check::DocumentExpired, Some("ExpiryDate"), Detail::None);
        }
    }

    fn birth_certificate(&mut self) {
        let birth = self.past_date("ChildBirthDate", false);
        self.event_date("IssueDate", birth, false);
    }
}

/// The passport's fields that passed their own checks, for the MRZ comparison.
struct Recognized {
    /// Four digits.
    series: Option<String>,
    number: Option<String>,
    subdivision: Option<String>,
    birth: Option<Date>,
    issued: Option<Date>,
}

/// A date as the MRZ writes it.
fn yymmdd(d: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        d.year().rem_euclid(100),
        u8::from(d.month()),
        d.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_keep_identifiers_only() {
        assert_eq!(safe_name("Series"), Some("Series"));
        assert_eq!(
            safe_name("fio_series_number_mrz"),
            Some("fio_series_number_mrz")
        );
        assert_eq!(safe_name("Иванов"), None);
        assert_eq!(safe_name("bad field"), None);
        assert_eq!(safe_name(""), None);
        assert_eq!(safe_name(&"a".repeat(65)), None);
    }

    #[test]
    fn mrz_dates() {
        assert_eq!(yymmdd(time::macros::date!(2011 - 03 - 28)), "110328");
        assert_eq!(yymmdd(time::macros::date!(1990 - 02 - 01)), "900201");
        assert_eq!(yymmdd(time::macros::date!(2000 - 12 - 31)), "001231");
    }
}
