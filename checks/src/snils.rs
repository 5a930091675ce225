//! SNILS (СНИЛС, the pension insurance number): format and check number.
//!
//! A SNILS is 11 digits, printed `NNN-NNN-NNN NN`: nine digits of the number and a
//! two-digit check number. The rule (Pension Fund of Russia, «Алгоритм формирования
//! контрольного числа Страхового номера»; see `docs/checks.md` for the sources):
//!
//! * multiply the nine digits by 9, 8, …, 1 (the weight is the position counted from
//!   the end) and add the products up;
//! * a sum under 100 is the check number; 100 and 101 give `00`; a sum over 101 is
//!   taken modulo 101, and a remainder of 100 again gives `00`;
//! * numbers up to `001-001-998` have no check number: only their format is checked.
//!
//! The errors of this module never contain the number.

use std::fmt;

/// The highest number (first nine digits) that has no check number.
const UNCHECKED_UP_TO: u32 = 1_001_998;

/// What [`validate_snils`] could verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SnilsValidity {
    /// The format and the check number are right.
    Checked,
    /// The format is right; the number is `001-001-998` or lower, for which no check
    /// number is defined.
    FormatOnly,
}

/// Why a SNILS is not valid. The text never includes the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SnilsError {
    /// Not 11 digits, optionally grouped `NNN-NNN-NNN NN` (`-` or a space between the
    /// groups).
    #[error("SNILS must be 11 digits, optionally written NNN-NNN-NNN NN")]
    Format,
    /// The check number does not match the first nine digits.
    #[error("SNILS check number does not match")]
    CheckNumber,
}

/// Checks a SNILS: its format and, above `001-001-998`, its check number.
///
/// Accepts `11223344595`, `112-233-445 95`, `112-233-445-95` and `112 233 445 95`
/// (surrounding whitespace is ignored).
///
/// ```
/// use hr_docs_checks::snils::{SnilsError, SnilsValidity, validate_snils};
/// // The example printed with the official rule.
/// assert_eq!(validate_snils("112-233-445 95"), Ok(SnilsValidity::Checked));
/// assert_eq!(validate_snils("112-233-445 96"), Err(SnilsError::CheckNumber));
/// assert_eq!(validate_snils("001-001-998 00"), Ok(SnilsValidity::FormatOnly));
/// assert_eq!(validate_snils("112-233-44595"), Ok(SnilsValidity::Checked));
/// assert_eq!(validate_snils("11223344"), Err(SnilsError::Format));
/// ```
pub fn validate_snils(input: &str) -> Result<SnilsValidity, SnilsError> {
    let digits = parse(input)?;
    let number = digits[..9].iter().fold(0u32, |n, d| n * 10 + u32::from(*d));
    if number <= UNCHECKED_UP_TO {
        return Ok(SnilsValidity::FormatOnly);
    }
    let given = digits[9] * 10 + digits[10];
    if check_number_of(&digits[..9]) == given {
        Ok(SnilsValidity::Checked)
    } else {
        Err(SnilsError::CheckNumber)
    }
}

/// The check number (0–99) of a SNILS's first nine digits (`"112233445"` → 95).
///
/// The input is exactly nine ASCII digits; anything else is [`SnilsError::Format`].
/// The rule is applied to every input, including numbers up to `001-001-998` for which
/// [`validate_snils`] does not check it.
///
/// ```
/// use hr_docs_checks::snils::snils_check_number;
/// assert_eq!(snils_check_number("112233445"), Ok(95));
/// assert_eq!(snils_check_number("12345"), Err(hr_docs_checks::snils::SnilsError::Format));
/// ```
pub fn snils_check_number(first_nine: &str) -> Result<u8, SnilsError> {
    let b = first_nine.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return Err(SnilsError::Format);
    }
    let digits: Vec<u8> = b.iter().map(|c| c - b'0').collect();
    Ok(check_number_of(&digits))
}

/// Weights 9..1; `< 100` → the sum; 100, 101 → 0; `> 101` → mod 101, 100 → 0.
/// All of it is `(sum mod 101) mod 100`: the sum is at most 9·45 = 405.
fn check_number_of(nine: &[u8]) -> u8 {
    let sum: u32 = nine
        .iter()
        .zip((1..=9u32).rev())
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    // Both remainders are below 101, so the narrowing is exact.
    (sum % 101 % 100) as u8
}

/// The 11 digits of a SNILS written with or without separators.
fn parse(input: &str) -> Result<[u8; 11], SnilsError> {
    let mut out = [0u8; 11];
    let mut n = 0usize;
    let mut separator_after_group = false;
    for c in input.trim().chars() {
        match c {
            '0'..='9' => {
                if n == 11 {
                    return Err(SnilsError::Format);
                }
                out[n] = c as u8 - b'0';
                n += 1;
                separator_after_group = false;
            }
            // One separator, only between the groups 3-3-3-2.
            '-' | ' ' if matches!(n, 3 | 6 | 9) && !separator_after_group => {
                separator_after_group = true;
            }
            _ => return Err(SnilsError::Format),
        }
    }
    if n == 11 {
        Ok(out)
    } else {
        Err(SnilsError::Format)
    }
}

impl fmt::Display for SnilsValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SnilsValidity::Checked => "format and check number verified",
            SnilsValidity::FormatOnly => {
                "format verified (no check number at or below 001-001-998)"
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_only_between_groups() {
        for ok in [
            "11223344595",
            "112-233-445 95",
            "112-233-445-95",
            "112 233 445 95",
            "  112-233-445 95 ",
            "112233445 95",
        ] {
            assert_eq!(validate_snils(ok), Ok(SnilsValidity::Checked), "{ok:?}");
        }
        for bad in [
            "",
            "1122334459",
            "112233445950",
            "11-2233445 95",
            "112--233-445 95",
            "112-233-445  95",
            "112.233.445 95",
            "112-233-445 9５",
            "-11223344595",
            "11223344595-",
            "１12-233-445 95",
        ] {
            assert_eq!(validate_snils(bad), Err(SnilsError::Format), "{bad:?}");
        }
    }

    #[test]
    fn the_rule_at_its_boundaries() {
        let sum_of = |nine: &str| -> u32 {
            nine.bytes()
                .zip((1..=9u32).rev())
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum()
        };
        // (first nine digits, weighted sum, check number)
        for (nine, sum, check) in [
            ("001239570", 99, 99), // under 100: the sum itself
            ("001326679", 100, 0), // 100 → 00
            ("001508816", 101, 0), // 101 → 00
            ("001437545", 102, 1), // over 101: mod 101
            ("017996174", 201, 0), // remainder 100 → 00
            ("999999999", 405, 1), // the largest sum
            ("112233445", 95, 95), // the official example
        ] {
            assert_eq!(sum_of(nine), sum, "{nine}");
            assert_eq!(snils_check_number(nine), Ok(check), "{nine}");
        }
    }

    #[test]
    fn below_the_threshold_only_the_format_counts() {
        assert_eq!(
            validate_snils("001-001-998 00"),
            Ok(SnilsValidity::FormatOnly)
        );
        assert_eq!(
            validate_snils("000-000-001 77"),
            Ok(SnilsValidity::FormatOnly)
        );
        // One above: the check number applies. 001001999 → 9·0+8·0+7·1+6·0+5·0+4·1+3·9+2·9+1·9 = 65.
        assert_eq!(validate_snils("001-001-999 65"), Ok(SnilsValidity::Checked));
        assert_eq!(
            validate_snils("001-001-999 00"),
            Err(SnilsError::CheckNumber)
        );
    }
}
