//! Typed views over a document's raw `data` map.
//!
//! Views are lenient: a field that is missing, `null` or `""` is `None`, and so is a
//! date that is present but not a valid `dd.mm.yyyy` date (the raw text stays in
//! [`RecognizedDocument::data`]; use [`RecognizedDocument::date`] for a strict
//! parse that reports the bad value).

use time::Date;

use super::RecognizedDocument;
use super::de::value_as_bool;
use super::redacted::{Marker, redacted_debug};

/// A date that is not a valid `dd.mm.yyyy` date.
///
/// Its message and `Debug` do not quote the text (a birth date is personal data); read it
/// with [`value`](Self::value) where you need it.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a dd.mm.yyyy date")]
pub struct DateError {
    value: String,
}

impl std::fmt::Debug for DateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DateError").field("value", &Marker).finish()
    }
}

impl DateError {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
        }
    }

    /// The offending raw value (personal data: keep it out of logs).
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Parses Beorg's `dd.mm.yyyy` dates: `""` (unrecognized) gives `Ok(None)`.
///
/// ```
/// use beorg_client::parse_date;
/// let d = parse_date("01.02.1990").unwrap().unwrap();
/// assert_eq!((d.day(), u8::from(d.month()), d.year()), (1, 2, 1990));
/// assert_eq!(parse_date("").unwrap(), None);
/// assert!(parse_date("31.02.2020").is_err());
/// ```
pub fn parse_date(s: &str) -> Result<Option<Date>, DateError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[day].[month].[year]");
    Date::parse(s, &format)
        .map(Some)
        .map_err(|_| DateError::new(s))
}

/// Gender as printed in Russian documents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Gender {
    /// `М`, `МУЖ`, `M`.
    Male,
    /// `Ж`, `ЖЕН`, `F`.
    Female,
    /// Anything else, verbatim.
    Other(String),
}

impl Gender {
    fn parse(s: &str) -> Self {
        let up = s.trim().to_uppercase();
        let up = up.trim_end_matches('.');
        match up {
            "М" | "МУЖ" | "МУЖСКОЙ" | "M" | "MALE" => Gender::Male,
            "Ж" | "ЖЕН" | "ЖЕНСКИЙ" | "F" | "FEMALE" => Gender::Female,
            _ => Gender::Other(s.trim().to_owned()),
        }
    }
}

fn text(doc: &RecognizedDocument, key: &str) -> Option<String> {
    doc.field(key).map(str::to_owned)
}

fn date(doc: &RecognizedDocument, key: &str) -> Option<Date> {
    doc.date(key).ok().flatten()
}

fn gender(doc: &RecognizedDocument, key: &str) -> Option<Gender> {
    doc.field(key).map(Gender::parse)
}

fn flag(doc: &RecognizedDocument, key: &str) -> Option<bool> {
    doc.raw_field(key).and_then(value_as_bool)
}

/// A passport (`PASSPORT` main spread or `PASSPORT_REG` registration page).
///
/// `Debug` shows which fields are known, never their values (`last_name:
/// Some([REDACTED])`); so do the other views.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Passport {
    /// `LastName`.
    pub last_name: Option<String>,
    /// `FirstName`.
    pub first_name: Option<String>,
    /// `MiddleName` (patronymic).
    pub middle_name: Option<String>,
    /// `Gender`.
    pub gender: Option<Gender>,
    /// `BirthDate`.
    pub birth_date: Option<Date>,
    /// `BirthPlace`.
    pub birth_place: Option<String>,
    /// `Series` (4 digits).
    pub series: Option<String>,
    /// `Number` (6 digits).
    pub number: Option<String>,
    /// `IssuedBy`.
    pub issued_by: Option<String>,
    /// `IssueDate`.
    pub issue_date: Option<Date>,
    /// `IssueId` (department code, `540-004`).
    pub issue_id: Option<String>,
    /// `Address` (registration).
    pub address: Option<String>,
    /// `HasPhoto` (`"1"`).
    pub has_photo: Option<bool>,
    /// `HasOwnerSignature`.
    pub has_owner_signature: Option<bool>,
    /// `MRZ1`.
    pub mrz1: Option<String>,
    /// `MRZ2`.
    pub mrz2: Option<String>,
}

redacted_debug!(Passport {
    last_name,
    first_name,
    middle_name,
    gender,
    birth_date,
    birth_place,
    series,
    number,
    issued_by,
    issue_date,
    issue_id,
    address,
    has_photo,
    has_owner_signature,
    mrz1,
    mrz2
});

impl Passport {
    /// Reads the view from a document's data (whatever its type).
    pub fn from_document(doc: &RecognizedDocument) -> Self {
        Self {
            last_name: text(doc, "LastName"),
            first_name: text(doc, "FirstName"),
            middle_name: text(doc, "MiddleName"),
            gender: gender(doc, "Gender"),
            birth_date: date(doc, "BirthDate"),
            birth_place: text(doc, "BirthPlace"),
            series: text(doc, "Series"),
            number: text(doc, "Number"),
            issued_by: text(doc, "IssuedBy"),
            issue_date: date(doc, "IssueDate"),
            issue_id: text(doc, "IssueId"),
            address: text(doc, "Address"),
            has_photo: flag(doc, "HasPhoto"),
            has_owner_signature: flag(doc, "HasOwnerSignature"),
            mrz1: text(doc, "MRZ1"),
            mrz2: text(doc, "MRZ2"),
        }
    }

    /// `Series Number` joined (`4510 123456`), when both are known.
    pub fn series_and_number(&self) -> Option<String> {
        Some(format!(
            "{} {}",
            self.series.as_ref()?,
            self.number.as_ref()?
        ))
    }

    /// `LastName FirstName MiddleName`, skipping unknown parts.
    pub fn full_name(&self) -> Option<String> {
        full_name([&self.last_name, &self.first_name, &self.middle_name])
    }
}

fn full_name(parts: [&Option<String>; 3]) -> Option<String> {
    let joined = parts
        .iter()
        .filter_map(|p| p.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    (!joined.is_empty()).then_some(joined)
}

/// A SNILS card.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snils {
    /// `Number` (`123-456-789 01`).
    pub number: Option<String>,
    /// `LastName`.
    pub last_name: Option<String>,
    /// `FirstName`.
    pub first_name: Option<String>,
    /// `MiddleName`.
    pub middle_name: Option<String>,
    /// `Gender`.
    pub gender: Option<Gender>,
    /// `BirthDate`.
    pub birth_date: Option<Date>,
    /// `BirthPlace`.
    pub birth_place: Option<String>,
    /// `RegistrationDate` (often `null`).
    pub registration_date: Option<Date>,
}

redacted_debug!(Snils {
    number,
    last_name,
    first_name,
    middle_name,
    gender,
    birth_date,
    birth_place,
    registration_date
});

impl Snils {
    /// Reads the view from a document's data.
    pub fn from_document(doc: &RecognizedDocument) -> Self {
        Self {
            number: text(doc, "Number"),
            last_name: text(doc, "LastName"),
            first_name: text(doc, "FirstName"),
            middle_name: text(doc, "MiddleName"),
            gender: gender(doc, "Gender"),
            birth_date: date(doc, "BirthDate"),
            birth_place: text(doc, "BirthPlace"),
            registration_date: date(doc, "RegistrationDate"),
        }
    }

    /// The 11 digits of the number, without separators.
    pub fn digits(&self) -> Option<String> {
        let d: String = self
            .number
            .as_ref()?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        (d.len() == 11).then_some(d)
    }
}

/// A temporary residence permit (РВП).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rvp {
    /// `Gender`.
    pub gender: Option<Gender>,
    /// `LastName`.
    pub last_name: Option<String>,
    /// `FirstName`.
    pub first_name: Option<String>,
    /// `MiddleName`.
    pub middle_name: Option<String>,
    /// `BirthDate`.
    pub birth_date: Option<Date>,
    /// `BirthPlace`.
    pub birth_place: Option<String>,
    /// `Citizenship`.
    pub citizenship: Option<String>,
    /// `SolutionNumber` (decision number).
    pub solution_number: Option<String>,
    /// `SolutionDate`.
    pub solution_date: Option<Date>,
    /// `ExpiryDate`.
    pub expiry_date: Option<Date>,
    /// `IssuedBy`.
    pub issued_by: Option<String>,
    /// `IssueId`.
    pub issue_id: Option<String>,
    /// `IssueDate`.
    pub issue_date: Option<Date>,
}

redacted_debug!(Rvp {
    gender,
    last_name,
    first_name,
    middle_name,
    birth_date,
    birth_place,
    citizenship,
    solution_number,
    solution_date,
    expiry_date,
    issued_by,
    issue_id,
    issue_date
});

impl Rvp {
    /// Reads the view from a document's data.
    pub fn from_document(doc: &RecognizedDocument) -> Self {
        Self {
            gender: gender(doc, "Gender"),
            last_name: text(doc, "LastName"),
            first_name: text(doc, "FirstName"),
            middle_name: text(doc, "MiddleName"),
            birth_date: date(doc, "BirthDate"),
            birth_place: text(doc, "BirthPlace"),
            citizenship: text(doc, "Citizenship"),
            solution_number: text(doc, "SolutionNumber"),
            solution_date: date(doc, "SolutionDate"),
            expiry_date: date(doc, "ExpiryDate"),
            issued_by: text(doc, "IssuedBy"),
            issue_id: text(doc, "IssueId"),
            issue_date: date(doc, "IssueDate"),
        }
    }
}

/// A birth certificate (`BRTH`).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BirthCertificate {
    /// `ChildGender`.
    pub child_gender: Option<Gender>,
    /// `ChildLastName`.
    pub child_last_name: Option<String>,
    /// `ChildFirstName`.
    pub child_first_name: Option<String>,
    /// `ChildMiddleName`.
    pub child_middle_name: Option<String>,
    /// `ChildBirthDate`.
    pub child_birth_date: Option<Date>,
    /// `IssueDate`.
    pub issue_date: Option<Date>,
    /// `Series` (e.g. `IV-АГ`).
    pub series: Option<String>,
    /// `Number`.
    pub number: Option<String>,
}

redacted_debug!(BirthCertificate {
    child_gender,
    child_last_name,
    child_first_name,
    child_middle_name,
    child_birth_date,
    issue_date,
    series,
    number
});

impl BirthCertificate {
    /// Reads the view from a document's data.
    pub fn from_document(doc: &RecognizedDocument) -> Self {
        Self {
            child_gender: gender(doc, "ChildGender"),
            child_last_name: text(doc, "ChildLastName"),
            child_first_name: text(doc, "ChildFirstName"),
            child_middle_name: text(doc, "ChildMiddleName"),
            child_birth_date: date(doc, "ChildBirthDate"),
            issue_date: date(doc, "IssueDate"),
            series: text(doc, "Series"),
            number: text(doc, "Number"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DocumentType;
    use serde_json::json;
    use time::macros::date;

    #[test]
    fn parses_dates() {
        assert_eq!(
            parse_date("28.03.2011").unwrap(),
            Some(date!(2011 - 03 - 28))
        );
        assert_eq!(
            parse_date(" 01.02.1990 ").unwrap(),
            Some(date!(1990 - 02 - 01))
        );
        assert_eq!(parse_date("").unwrap(), None);
        assert_eq!(parse_date("   ").unwrap(), None);
        for bad in [
            "31.02.2020",
            "2020-01-01",
            "1.2.1990",
            "32.01.2000",
            "ab.cd.efgh",
            "01.13.2000",
        ] {
            let e = parse_date(bad).unwrap_err();
            assert_eq!(e.value(), bad.trim());
        }
        assert_eq!(
            parse_date("29.02.2024").unwrap(),
            Some(date!(2024 - 02 - 29))
        );
    }

    #[test]
    fn garbage_dates_are_none_in_views_but_raw_is_kept() {
        let data = json!({"LastName": "Иванов", "BirthDate": "3l.O2.199O", "IssueDate": "", "Gender": "Ж"});
        let doc =
            RecognizedDocument::new(DocumentType::Passport, data.as_object().unwrap().clone());
        let p = doc.passport().unwrap();
        assert_eq!(p.birth_date, None);
        assert_eq!(p.issue_date, None);
        assert_eq!(p.gender, Some(Gender::Female));
        assert_eq!(doc.field("BirthDate"), Some("3l.O2.199O"));
        assert!(doc.date("BirthDate").is_err());
        assert_eq!(doc.date("IssueDate").unwrap(), None);
        assert_eq!(doc.date("Missing").unwrap(), None);
        assert!(doc.snils().is_none());
    }

    #[test]
    fn snils_digits_and_null_registration_date() {
        let data =
            json!({"Number": "123-456-789 01", "RegistrationDate": null, "Firstname": "Иван"});
        let doc = RecognizedDocument::new(DocumentType::Snils, data.as_object().unwrap().clone());
        let s = doc.snils().unwrap();
        assert_eq!(s.digits().as_deref(), Some("12345678901"));
        assert_eq!(s.registration_date, None);
        assert_eq!(
            s.first_name.as_deref(),
            Some("Иван"),
            "case-insensitive key lookup"
        );
    }
}
