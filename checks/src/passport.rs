//! The Russian internal passport: formats of its numbers and the rules of its dates.
//!
//! * Series: 4 digits (printed `45 10`; a space between the pairs is accepted).
//! * Number: 6 digits.
//! * Subdivision code (`IssueId`): `NNN-NNN`.
//! * Issued from the 14th birthday on (Положение о паспорте гражданина РФ), and not
//!   before 1 October 1997, when this form was first issued.
//! * Replaced at 20 and at 45: a passport issued before the holder turned 20 (or 45)
//!   stays valid until the new one is issued, but no longer than 90 days after that
//!   birthday. A passport issued at 45 or later does not expire.
//!
//! Anniversaries follow the Civil Code's rule for periods (ГК РФ ст. 192): someone born
//! on 29 February turns a year older on 28 February of a common year.
//!
//! Sources are in `docs/checks.md`. No function here reads a clock: "today" is an
//! argument.

use time::{Date, Duration, Month};

/// The day the current passport form was first issued: 1 October 1997.
pub const FIRST_ISSUE: Date = time::macros::date!(1997 - 10 - 01);

/// The age at which a passport is first issued.
pub const ISSUE_AGE: u16 = 14;

/// The ages at which a passport must be replaced.
pub const REPLACEMENT_AGES: [u16; 2] = [20, 45];

/// How long a passport due for replacement stays valid after the birthday.
pub const REPLACEMENT_GRACE_DAYS: i64 = 90;

/// Whether `s` is a passport series: 4 ASCII digits, optionally `NN NN`.
///
/// ```
/// use hr_docs_checks::passport::is_valid_series;
/// assert!(is_valid_series("4510") && is_valid_series("45 10"));
/// assert!(!is_valid_series("451") && !is_valid_series("45-10") && !is_valid_series("IV-АГ"));
/// ```
pub fn is_valid_series(s: &str) -> bool {
    let b = s.trim().as_bytes();
    match b.len() {
        4 => b.iter().all(u8::is_ascii_digit),
        5 => {
            b[2] == b' '
                && b[..2].iter().all(u8::is_ascii_digit)
                && b[3..].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// The four digits of a valid series (`"45 10"` → `"4510"`).
pub fn series_digits(s: &str) -> Option<String> {
    is_valid_series(s).then(|| s.chars().filter(char::is_ascii_digit).collect())
}

/// Whether `s` is a passport number: 6 ASCII digits.
///
/// ```
/// use hr_docs_checks::passport::is_valid_number;
/// assert!(is_valid_number("123456"));
/// assert!(!is_valid_number("12345") && !is_valid_number("12345O"));
/// ```
pub fn is_valid_number(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() == 6 && b.iter().all(u8::is_ascii_digit)
}

/// Whether `s` is a subdivision code `NNN-NNN`.
///
/// ```
/// use hr_docs_checks::passport::is_valid_subdivision_code;
/// assert!(is_valid_subdivision_code("540-004"));
/// assert!(!is_valid_subdivision_code("540004") && !is_valid_subdivision_code("54-0004"));
/// ```
pub fn is_valid_subdivision_code(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() == 7
        && b[3] == b'-'
        && b[..3].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_digit)
}

/// The day someone born on `birth` turns `years` old (29 February → 28 February in a
/// common year). `None` past the calendar's range.
///
/// ```
/// use hr_docs_checks::passport::anniversary;
/// use time::macros::date;
/// assert_eq!(anniversary(date!(2004-02-29), 14), Some(date!(2018-02-28)));
/// assert_eq!(anniversary(date!(1990-02-01), 20), Some(date!(2010-02-01)));
/// ```
pub fn anniversary(birth: Date, years: u16) -> Option<Date> {
    let year = birth.year().checked_add(i32::from(years))?;
    Date::from_calendar_date(year, birth.month(), birth.day())
        .or_else(|_| {
            // Only 29 February is missing from some years.
            Date::from_calendar_date(year, Month::February, 28)
        })
        .ok()
}

/// Full years of age on `today`; `None` when `birth` is after `today`.
///
/// ```
/// use hr_docs_checks::passport::age_on;
/// use time::macros::date;
/// assert_eq!(age_on(date!(1990-02-01), date!(2010-01-31)), Some(19));
/// assert_eq!(age_on(date!(1990-02-01), date!(2010-02-01)), Some(20));
/// assert_eq!(age_on(date!(2030-01-01), date!(2010-02-01)), None);
/// ```
pub fn age_on(birth: Date, today: Date) -> Option<u16> {
    if birth > today {
        return None;
    }
    let mut years = u16::try_from(today.year() - birth.year()).ok()?;
    while years > 0 && anniversary(birth, years).is_none_or(|d| d > today) {
        years -= 1;
    }
    Some(years)
}

/// The last day a passport issued on `issued` to someone born on `birth` is valid, or
/// `None` when it does not expire (issued at 45 or later).
///
/// The passport is replaced at the first of the ages 20, 45 it was issued before; it
/// stays valid 90 days after that birthday.
///
/// ```
/// use hr_docs_checks::passport::valid_until;
/// use time::macros::date;
/// // Issued at 14: valid until 90 days after the 20th birthday.
/// assert_eq!(valid_until(date!(1990-02-01), date!(2004-03-01)), Some(date!(2010-05-02)));
/// // Issued at 25: until 90 days after the 45th birthday.
/// assert_eq!(valid_until(date!(1990-02-01), date!(2015-03-01)), Some(date!(2035-05-02)));
/// // Issued at 45: no end.
/// assert_eq!(valid_until(date!(1960-02-01), date!(2005-02-01)), None);
/// ```
pub fn valid_until(birth: Date, issued: Date) -> Option<Date> {
    REPLACEMENT_AGES
        .iter()
        .filter_map(|age| anniversary(birth, *age))
        .find(|birthday| issued < *birthday)
        .and_then(|birthday| birthday.checked_add(Duration::days(REPLACEMENT_GRACE_DAYS)))
}

/// Whether the passport is past its replacement age and grace on `today`.
pub fn replacement_overdue(birth: Date, issued: Date, today: Date) -> bool {
    valid_until(birth, issued).is_some_and(|last| today > last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn leap_day_birthdays() {
        let b = date!(2000 - 02 - 29);
        assert_eq!(anniversary(b, 4), Some(date!(2004 - 02 - 29)));
        assert_eq!(anniversary(b, 1), Some(date!(2001 - 02 - 28)));
        assert_eq!(age_on(b, date!(2001 - 02 - 27)), Some(0));
        assert_eq!(age_on(b, date!(2001 - 02 - 28)), Some(1));
        assert_eq!(age_on(b, date!(2014 - 02 - 28)), Some(14));
        assert_eq!(age_on(b, b), Some(0));
    }

    #[test]
    fn grace_ends_on_day_ninety() {
        let birth = date!(1990 - 02 - 01);
        let issued = date!(2004 - 03 - 01);
        let last = date!(2010 - 05 - 02);
        assert_eq!(last - date!(2010 - 02 - 01), Duration::days(90));
        assert!(!replacement_overdue(birth, issued, last));
        assert!(replacement_overdue(birth, issued, date!(2010 - 05 - 03)));
        // Replaced on the 20th birthday itself: the next replacement is at 45.
        assert_eq!(
            valid_until(birth, date!(2010 - 02 - 01)),
            Some(date!(2035 - 05 - 02))
        );
    }

    #[test]
    fn formats() {
        for bad in ["", "45101", "4 510", "45  10", "45\t10", "４510"] {
            assert!(!is_valid_series(bad), "{bad:?}");
        }
        assert_eq!(series_digits(" 45 10 ").as_deref(), Some("4510"));
        for bad in ["540 004", "540–004", "540-0045", "a40-004", ""] {
            assert!(!is_valid_subdivision_code(bad), "{bad:?}");
        }
    }
}
