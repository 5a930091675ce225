//! The machine-readable zone (MRZ) of the Russian internal passport: check digits and
//! the fields it encodes.
//!
//! Passports issued since 1 July 2011 carry two 44-character lines (the layout of an
//! ICAO 9303 TD3 passport). The first line is `PNRUS` and the holder's names; the
//! second:
//!
//! | positions | content |
//! |---|---|
//! | 1–9 | first three digits of the series + the six-digit number |
//! | 10 | check digit of 1–9 |
//! | 11–13 | `RUS` |
//! | 14–19 | birth date `YYMMDD` |
//! | 20 | check digit of 14–19 |
//! | 21 | sex, `M` or `F` |
//! | 22–27 | expiry date: `<<<<<<` (the internal passport has none) |
//! | 28 | its check digit (`<` for an empty date) |
//! | 29–42 | optional data: last digit of the series, issue date `YYMMDD`, subdivision code (6 digits), `<` |
//! | 43 | check digit of 29–42 |
//! | 44 | composite check digit of 1–10, 14–20 and 22–43 |
//!
//! A check digit (ICAO 9303 part 3) is the sum of the characters' values times the
//! repeating weights 7, 3, 1, modulo 10; digits are their value, `A`–`Z` are 10–35 and
//! the filler `<` is 0. Sources are in `docs/checks.md`.
//!
//! Names are not read: the transliteration table of the internal passport's MRZ could
//! not be verified from a public source, so the surname is not compared.
//!
//! `Debug` of the line types prints no content: an MRZ line is personal data.

use std::fmt;

/// A check-digit-protected part of the second MRZ line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MrzField {
    /// Positions 1–9 (document number), check digit at 10.
    DocumentNumber,
    /// Positions 14–19 (birth date), check digit at 20.
    BirthDate,
    /// Positions 22–27 (expiry date), check digit at 28.
    ExpiryDate,
    /// Positions 29–42 (optional data), check digit at 43.
    OptionalData,
    /// Positions 1–10, 14–20, 22–43, check digit at 44.
    Composite,
}

impl MrzField {
    /// A stable name: `document_number`, `birth_date`, `expiry_date`,
    /// `optional_data`, `composite`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MrzField::DocumentNumber => "document_number",
            MrzField::BirthDate => "birth_date",
            MrzField::ExpiryDate => "expiry_date",
            MrzField::OptionalData => "optional_data",
            MrzField::Composite => "composite",
        }
    }

    pub(crate) fn name_ru(&self) -> &'static str {
        match self {
            MrzField::DocumentNumber => "серия и номер",
            MrzField::BirthDate => "дата рождения",
            MrzField::ExpiryDate => "срок действия",
            MrzField::OptionalData => "дополнительные данные",
            MrzField::Composite => "итоговая",
        }
    }

    pub(crate) fn name_en(&self) -> &'static str {
        match self {
            MrzField::DocumentNumber => "series and number",
            MrzField::BirthDate => "birth date",
            MrzField::ExpiryDate => "expiry date",
            MrzField::OptionalData => "optional data",
            MrzField::Composite => "composite",
        }
    }
}

impl fmt::Display for MrzField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an MRZ line cannot be read. Never includes the line's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum MrzError {
    /// The line is not 44 characters long (after removing whitespace).
    #[error("an MRZ line must be 44 characters, found {found}")]
    Length {
        /// How many characters were found.
        found: usize,
    },
    /// A character outside `0-9`, `A-Z`, `<` (1-based position).
    #[error("MRZ character {position} is not 0-9, A-Z or <")]
    Character {
        /// The 1-based position of the first bad character.
        position: usize,
    },
}

/// The value of an MRZ character: `0`–`9` → 0–9, `A`–`Z` → 10–35, `<` → 0.
fn value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The ICAO 9303 check digit of `data` (characters `0-9`, `A-Z`, `<`): the sum of the
/// values times 7, 3, 1, 7, 3, 1, …, modulo 10.
///
/// ```
/// use hr_docs_checks::mrz::mrz_check_digit;
/// // ICAO 9303's specimen passport: number L898902C3, check digit 6.
/// assert_eq!(mrz_check_digit("L898902C3"), Ok(6));
/// assert_eq!(mrz_check_digit("740812"), Ok(2));
/// assert!(mrz_check_digit("74O8l2").is_err());
/// ```
pub fn mrz_check_digit(data: &str) -> Result<u8, MrzError> {
    let mut sum = 0u32;
    for (i, c) in data.bytes().enumerate() {
        let v = value(c).ok_or(MrzError::Character { position: i + 1 })?;
        sum += v * [7, 3, 1][i % 3];
    }
    // A remainder modulo 10 fits in a u8.
    Ok((sum % 10) as u8)
}

/// An MRZ line as recognized: whitespace removed, ASCII letters upper-cased, then
/// exactly 44 characters of `0-9`, `A-Z`, `<`.
fn normalize(line: &str) -> Result<String, MrzError> {
    let s: String = line
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if let Some(i) = s.bytes().position(|b| value(b).is_none()) {
        // A multi-byte character counts as one position.
        let position = s[..i].chars().count() + 1;
        return Err(MrzError::Character { position });
    }
    if s.len() != 44 {
        return Err(MrzError::Length { found: s.len() });
    }
    Ok(s)
}

/// The first MRZ line: document code, issuing state and the names (not read here).
#[derive(Clone, PartialEq, Eq)]
pub struct MrzLine1 {
    line: String,
}

impl MrzLine1 {
    /// Reads a first line (see the [module docs](self) for what is accepted).
    pub fn parse(line: &str) -> Result<Self, MrzError> {
        normalize(line).map(|line| Self { line })
    }

    /// Positions 1–2 (`PN` for the internal passport).
    pub fn document_code(&self) -> &str {
        &self.line[0..2]
    }

    /// Positions 3–5 (`RUS`).
    pub fn issuing_state(&self) -> &str {
        &self.line[2..5]
    }

    /// Whether the line starts `PNRUS`, as the Russian internal passport's does.
    pub fn is_russian_internal_passport(&self) -> bool {
        self.line.starts_with("PNRUS")
    }
}

impl fmt::Debug for MrzLine1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MrzLine1([redacted])")
    }
}

/// The second MRZ line of a passport (TD3 layout).
///
/// ```
/// use hr_docs_checks::mrz::{MrzField, MrzLine2};
/// // ICAO 9303's specimen: every check digit is right.
/// let line = MrzLine2::parse("L898902C36UTO7408122F1204159ZE184226B<<<<<10")?;
/// assert!(line.failed_check_digits().is_empty());
/// assert_eq!(line.birth_date(), "740812");
/// // One digit of the birth date changed: its check digit and the composite fail.
/// let bad = MrzLine2::parse("L898902C36UTO7408132F1204159ZE184226B<<<<<10")?;
/// assert_eq!(bad.failed_check_digits(), [MrzField::BirthDate, MrzField::Composite]);
/// # Ok::<(), hr_docs_checks::mrz::MrzError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MrzLine2 {
    line: String,
}

impl MrzLine2 {
    /// Reads a second line (see the [module docs](self) for what is accepted).
    pub fn parse(line: &str) -> Result<Self, MrzError> {
        normalize(line).map(|line| Self { line })
    }

    /// Positions 1–9.
    pub fn document_number(&self) -> &str {
        &self.line[0..9]
    }

    /// Positions 11–13.
    pub fn nationality(&self) -> &str {
        &self.line[10..13]
    }

    /// Positions 14–19, `YYMMDD`.
    pub fn birth_date(&self) -> &str {
        &self.line[13..19]
    }

    /// Position 21: `M`, `F` or `<`.
    pub fn sex(&self) -> char {
        char::from(self.line.as_bytes()[20])
    }

    /// Positions 22–27, `YYMMDD` or fillers.
    pub fn expiry_date(&self) -> &str {
        &self.line[21..27]
    }

    /// Positions 29–42.
    pub fn optional_data(&self) -> &str {
        &self.line[28..42]
    }

    /// The check digits that do not match, in line order.
    ///
    /// A check digit may be `<` only when its field is all fillers (an empty expiry
    /// date or optional data); a digit is compared with the computed one.
    pub fn failed_check_digits(&self) -> Vec<MrzField> {
        let l = &self.line;
        let composite = format!("{}{}{}", &l[0..10], &l[13..20], &l[21..43]);
        [
            (MrzField::DocumentNumber, &l[0..9], 9),
            (MrzField::BirthDate, &l[13..19], 19),
            (MrzField::ExpiryDate, &l[21..27], 27),
            (MrzField::OptionalData, &l[28..42], 42),
            (MrzField::Composite, composite.as_str(), 43),
        ]
        .into_iter()
        .filter(|(_, data, at)| !check_digit_matches(data, l.as_bytes()[*at]))
        .map(|(field, _, _)| field)
        .collect()
    }

    /// The Russian internal passport's fields in this line. The values are what the
    /// line says, whether or not they make sense; compare them with the recognized
    /// fields.
    pub fn internal_passport(&self) -> InternalPassportMrz<'_> {
        InternalPassportMrz { line: &self.line }
    }
}

impl fmt::Debug for MrzLine2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MrzLine2([redacted])")
    }
}

fn check_digit_matches(data: &str, check: u8) -> bool {
    match check {
        b'<' => data.bytes().all(|b| b == b'<'),
        b'0'..=b'9' => mrz_check_digit(data) == Ok(check - b'0'),
        _ => false,
    }
}

/// What the second line of a Russian internal passport's MRZ says about the passport.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InternalPassportMrz<'a> {
    line: &'a str,
}

impl InternalPassportMrz<'_> {
    /// The four-digit series: positions 1–3 and 29.
    pub fn series(&self) -> String {
        format!("{}{}", &self.line[0..3], &self.line[28..29])
    }

    /// The six-digit number: positions 4–9.
    pub fn number(&self) -> &str {
        &self.line[3..9]
    }

    /// The issue date, `YYMMDD`: positions 30–35.
    pub fn issue_date(&self) -> &str {
        &self.line[29..35]
    }

    /// The subdivision code's six digits (no hyphen): positions 36–41.
    pub fn subdivision_code(&self) -> &str {
        &self.line[35..41]
    }
}

impl fmt::Debug for InternalPassportMrz<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InternalPassportMrz([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ICAO Doc 9303 part 4 (TD3), the specimen passport of "Utopia"; its check
    /// digits are printed in the standard.
    const SPECIMEN: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn the_icao_specimen_verifies() {
        let l = MrzLine2::parse(SPECIMEN).unwrap();
        assert!(l.failed_check_digits().is_empty());
        assert_eq!(l.document_number(), "L898902C3");
        assert_eq!(l.nationality(), "UTO");
        assert_eq!(l.sex(), 'F');
        assert_eq!(l.expiry_date(), "120415");
        assert_eq!(l.optional_data(), "ZE184226B<<<<<");
    }

    #[test]
    fn normalizes_and_rejects() {
        let spaced = "l898902c36 uto7408122f1204159ze184226b<<<<<10 ";
        assert!(MrzLine2::parse(spaced).is_ok());
        assert_eq!(
            MrzLine2::parse("L898902C36UTO"),
            Err(MrzError::Length { found: 13 })
        );
        let cyr = SPECIMEN.replacen('C', "С", 1); // Cyrillic Es at position 8
        assert_eq!(
            MrzLine2::parse(&cyr),
            Err(MrzError::Character { position: 8 })
        );
        assert_eq!(
            mrz_check_digit("AB-"),
            Err(MrzError::Character { position: 3 })
        );
    }

    #[test]
    fn filler_check_digits_only_for_empty_fields() {
        assert!(check_digit_matches("<<<<<<", b'<'));
        assert!(check_digit_matches("<<<<<<", b'0'));
        assert!(!check_digit_matches("120415", b'<'));
        assert!(!check_digit_matches("120415", b'A'));
    }

    #[test]
    fn debug_prints_no_content() {
        let l = MrzLine2::parse(SPECIMEN).unwrap();
        assert_eq!(format!("{l:?}"), "MrzLine2([redacted])");
        assert_eq!(
            format!("{:?}", l.internal_passport()),
            "InternalPassportMrz([redacted])"
        );
    }
}
