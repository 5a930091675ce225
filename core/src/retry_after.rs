//! `Retry-After` (RFC 9110, section 10.2.3).

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` header value into how long to wait from `now`.
///
/// Accepts delay-seconds (`"120"`; a fraction such as `"1.5"` too, as some servers send
/// one) and an HTTP date in any of the three forms RFC 9110 asks recipients to accept:
/// `"Sun, 06 Nov 1994 08:49:37 GMT"` (IMF-fixdate), `"Sunday, 06-Nov-94 08:49:37 GMT"`
/// (RFC 850) and `"Sun Nov  6 08:49:37 1994"` (asctime). A date in the past means "now"
/// ([`Duration::ZERO`]); anything else (empty, negative, garbage) is `None`.
///
/// **Saturating**: a value too large for any clock (`"18446744073709551616"`, a date in
/// year 9999) never overflows or panics; it comes out as a very long (at most
/// [`Duration::MAX`]) wait, which the [`RetryPolicy`](crate::RetryPolicy) cuts to its
/// [`max_retry_after`](crate::RetryPolicy::max_retry_after).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use hr_docs_core::parse_retry_after;
///
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_747); // Sun, 06 Nov 1994 08:49:07 GMT
/// assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
/// assert_eq!(
///     parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
///     Some(Duration::from_secs(30))
/// );
/// assert_eq!(parse_retry_after("soon", now), None);
/// assert_eq!(parse_retry_after("18446744073709551616", SystemTime::now()), Some(Duration::MAX));
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(delay) = delay_seconds(value) {
        return Some(delay);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `digits` or `digits.digits`, saturating at [`Duration::MAX`]; `None` for anything else.
fn delay_seconds(value: &str) -> Option<Duration> {
    let (whole, fraction) = match value.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (value, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    // Only digits are left, so the one way `parse` can fail is overflow.
    let Ok(secs) = whole.parse::<u64>() else {
        return Some(Duration::MAX);
    };
    let nanos = fraction.map_or(0, |f| {
        // The first nine digits are the nanoseconds; the rest is below a clock's tick.
        let digits: String = f.chars().chain(std::iter::repeat('0')).take(9).collect();
        digits.parse::<u32>().unwrap_or(0)
    });
    Some(Duration::new(secs, 0).saturating_add(Duration::from_nanos(u64::from(nanos))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// Mon, 23 Nov 2026 12:00:00 GMT.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_435_200)
    }

    #[test]
    fn delay_seconds_whole_and_fractional() {
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now()),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("0.0000000019", now()),
            Some(Duration::from_nanos(1))
        );
    }

    #[test]
    fn every_http_date_form_relative_to_now() {
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 12:00:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Monday, 23-Nov-26 12:01:00 GMT", now()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Mon Nov 23 12:00:05 2026", now()),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn a_past_date_means_now() {
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_none() {
        for v in [
            "",
            "   ",
            "soon",
            "-3",
            "+3",
            "1e3",
            "1.",
            ".5",
            "1.2.3",
            "12 s",
            "Mon, 32 Nov 2026 12:00:30 GMT",
            "Mon, 23 Nov 2026 25:00:00 GMT",
            "٣", // an Arabic-Indic digit is not a delay-second
        ] {
            assert_eq!(parse_retry_after(v, now()), None, "{v:?}");
        }
    }

    #[test]
    fn absurd_values_saturate_instead_of_overflowing() {
        assert_eq!(
            parse_retry_after("18446744073709551615", now()),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_retry_after("18446744073709551616", now()),
            Some(Duration::MAX)
        );
        assert_eq!(
            parse_retry_after(&"9".repeat(400), now()),
            Some(Duration::MAX)
        );
        assert_eq!(
            parse_retry_after("18446744073709551615.999999999999", now()),
            Some(Duration::MAX)
        );
        // The latest date the format can hold.
        let far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now()).unwrap();
        assert!(far > Duration::from_secs(250_000_000_000), "{far:?}");
        // Whatever `now` is.
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", UNIX_EPOCH),
            Some(Duration::from_secs(253_402_300_799))
        );
    }

    #[test]
    fn the_policy_caps_what_the_parser_saturates() {
        use crate::{AttemptState, Failure, RetryDecision, RetryPolicy};
        for v in ["18446744073709551615", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            let f = Failure::Status {
                status: 503,
                retry_after: parse_retry_after(v, now()),
            };
            assert_eq!(
                RetryPolicy::default().decide(&f, &AttemptState::new(1, Duration::ZERO)),
                RetryDecision::Retry(crate::DEFAULT_MAX_RETRY_AFTER),
                "{v}"
            );
        }
    }
}
