//! INN (ИНН, the taxpayer number): of an organization (10 digits, one check digit) or
//! of a person (12 digits, two check digits).
//!
//! The rule (Federal Tax Service; see `docs/checks.md` for the sources): a check digit
//! is the weighted sum of the digits before it, modulo 11, then modulo 10 (a remainder
//! of 10 gives 0), with the weights
//!
//! * organization, 10th digit: `2 4 10 3 5 9 4 6 8` over digits 1–9;
//! * person, 11th digit: `7 2 4 10 3 5 9 4 6 8` over digits 1–10;
//! * person, 12th digit: `3 7 2 4 10 3 5 9 4 6 8` over digits 1–11.
//!
//! The errors of this module never contain the number.

const ORGANIZATION: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const PERSON_11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const PERSON_12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

/// Whose INN it is, by its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InnKind {
    /// 10 digits: a legal entity.
    Organization,
    /// 12 digits: a person (including an individual entrepreneur).
    Person,
}

/// Why an INN is not valid. The text never includes the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum InnError {
    /// Not 10 or 12 ASCII digits.
    #[error("INN must be 10 digits (organization) or 12 digits (person)")]
    Format,
    /// A check digit does not match.
    #[error("INN check digit does not match")]
    CheckDigit,
}

/// Checks an INN: 10 digits (organization) or 12 (person) with the right check digits.
/// Surrounding whitespace is ignored; nothing else may be in between.
///
/// Use it at start-up on configured INNs too: the error says what is wrong without
/// repeating the value.
///
/// ```
/// use hr_docs_checks::inn::{InnError, InnKind, validate_inn};
/// assert_eq!(validate_inn("7707083893"), Ok(InnKind::Organization)); // Sberbank
/// assert_eq!(validate_inn("123456789047"), Ok(InnKind::Person));     // a sample number
/// assert_eq!(validate_inn("7707083894"), Err(InnError::CheckDigit));
/// assert_eq!(validate_inn("77070838"), Err(InnError::Format));
/// ```
pub fn validate_inn(input: &str) -> Result<InnKind, InnError> {
    let digits = digits(input.trim()).ok_or(InnError::Format)?;
    match digits.len() {
        10 => {
            if check_digit(&digits[..9], &ORGANIZATION) == digits[9] {
                Ok(InnKind::Organization)
            } else {
                Err(InnError::CheckDigit)
            }
        }
        12 => {
            let first = check_digit(&digits[..10], &PERSON_11);
            let second = check_digit(&digits[..11], &PERSON_12);
            if first == digits[10] && second == digits[11] {
                Ok(InnKind::Person)
            } else {
                Err(InnError::CheckDigit)
            }
        }
        _ => Err(InnError::Format),
    }
}

/// The check digits that complete an INN: from 9 digits, the organization's 10th
/// digit; from 10 digits, the person's 11th and 12th. Anything else is
/// [`InnError::Format`].
///
/// ```
/// use hr_docs_checks::inn::inn_check_digits;
/// assert_eq!(inn_check_digits("770708389"), Ok(vec![3]));
/// assert_eq!(inn_check_digits("1234567890"), Ok(vec![4, 7]));
/// ```
pub fn inn_check_digits(payload: &str) -> Result<Vec<u8>, InnError> {
    let mut digits = digits(payload).ok_or(InnError::Format)?;
    match digits.len() {
        9 => Ok(vec![check_digit(&digits, &ORGANIZATION)]),
        10 => {
            let first = check_digit(&digits, &PERSON_11);
            digits.push(first);
            Ok(vec![first, check_digit(&digits, &PERSON_12)])
        }
        _ => Err(InnError::Format),
    }
}

fn digits(s: &str) -> Option<Vec<u8>> {
    s.bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect()
}

/// `(Σ wᵢ·dᵢ mod 11) mod 10`.
fn check_digit(digits: &[u8], weights: &[u32]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    // A remainder modulo 10 fits in a u8.
    (sum % 11 % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_organizations() {
        // INNs printed on the public sites of these companies.
        for inn in [
            "7707083893", // Sberbank
            "7736050003", // Gazprom
            "7702070139", // VTB
            "7736207543", // Yandex
        ] {
            assert_eq!(validate_inn(inn), Ok(InnKind::Organization), "{inn}");
        }
    }

    #[test]
    fn formats() {
        for bad in [
            "",
            "770708389",
            "77070838931",
            "7707O83893",
            "7707 083893",
            "+707083893",
            "１23456789047",
        ] {
            assert_eq!(validate_inn(bad), Err(InnError::Format), "{bad:?}");
        }
        assert_eq!(validate_inn(" 7707083893\n"), Ok(InnKind::Organization));
        assert_eq!(inn_check_digits("12345678"), Err(InnError::Format));
        assert_eq!(inn_check_digits("12345678901"), Err(InnError::Format));
    }

    #[test]
    fn both_person_digits_are_checked() {
        assert_eq!(validate_inn("123456789047"), Ok(InnKind::Person));
        assert_eq!(validate_inn("123456789037"), Err(InnError::CheckDigit));
        assert_eq!(validate_inn("123456789048"), Err(InnError::CheckDigit));
    }
}
