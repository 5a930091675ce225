//! Keeping secrets and personal data out of `Debug`, errors and logs.
//!
//! * [`REDACTED`] is the one marker both clients print in place of a secret.
//! * [`Secret`] holds a credential (a token, a password, a session id): its `Debug` prints
//!   the marker, it has no `Display`, and its text is wiped from memory when dropped.
//! * [`scrub`] and [`scrub_param`] take secrets out of text that is about to go into an
//!   error (a server's message, a body excerpt, a URL); [`excerpt`] cuts a body to a short
//!   single line for an error message, and [`scrubbed_excerpt`] does both in the one safe
//!   order (scrub first, then cut, so a secret cut in half cannot survive).
//! * [`looks_like_json`] tells a JSON body (which may hold documents and people: never
//!   quoted) from a proxy's HTML or text page (quoted, scrubbed).
//! * [`without_values`] takes the input's values out of a decoder's message
//!   (`invalid type: string "Иванов", expected …` → `invalid type: string, expected …`).

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};

/// What is printed in place of a secret, everywhere: `[REDACTED]`.
pub const REDACTED: &str = "[REDACTED]";

/// A credential: an API token, a password, an app secret, a session id.
///
/// `Debug` prints [`REDACTED`]; there is no `Display`, so it cannot end up in a message by
/// accident; the text is zeroized when the last copy is dropped. Build one from a `String`
/// or `&str`; read it with [`expose`](Self::expose) only where it goes on the wire.
///
/// ```
/// use hr_docs_core::Secret;
///
/// let password = Secret::from("hunter2");
/// assert_eq!(format!("{password:?}"), "[REDACTED]");
/// assert_eq!(password.expose(), "hunter2");
/// ```
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self(SecretString::from(text.into()))
    }

    /// The secret text, for the one place it is needed (a header, a request body).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the secret is empty or only whitespace (a missing credential).
    pub fn is_blank(&self) -> bool {
        self.expose().trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

/// Replaces every occurrence of each non-empty secret in `text` with [`REDACTED`].
///
/// ```
/// use hr_docs_core::redact::scrub;
///
/// assert_eq!(scrub("token abc123 refused", &["abc123"]), "token [REDACTED] refused");
/// assert_eq!(scrub("nothing to hide", &[""]), "nothing to hide");
/// ```
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

/// Replaces the value of every `name=` parameter in `text` (a URL, a query string, a form
/// body, a message quoting one) with [`REDACTED`]. The value ends at `&`, a quote, `<` or
/// whitespace.
///
/// ```
/// use hr_docs_core::redact::scrub_param;
///
/// assert_eq!(
///     scrub_param("GET /ready?token=abc&start_id=1", "token"),
///     "GET /ready?token=[REDACTED]&start_id=1"
/// );
/// ```
pub fn scrub_param(text: &str, name: &str) -> String {
    let key = format!("{name}=");
    if name.is_empty() || !text.contains(&key) {
        return text.to_owned();
    }
    let mut out = text.to_owned();
    let mut from = 0;
    while let Some(pos) = out[from..].find(&key) {
        let start = from + pos + key.len();
        let end = out[start..]
            .find(|c: char| matches!(c, '&' | '"' | '\'' | '<') || c.is_whitespace())
            .map_or(out.len(), |e| start + e);
        if &out[start..end] != REDACTED {
            out.replace_range(start..end, REDACTED);
        }
        from = start + REDACTED.len();
    }
    out
}

/// The longest [`excerpt`], in characters (an ellipsis may follow).
pub const EXCERPT_CHARS: usize = 200;

/// A short excerpt of a response body for an error message: at most [`EXCERPT_CHARS`]
/// characters on one line (runs of whitespace, newlines included, become one space),
/// followed by `…` when the body is longer. Invalid UTF-8 is replaced, never an error.
///
/// It is **not** scrubbed: pass it through [`scrub`] / [`scrub_param`] when the body may
/// echo a secret.
///
/// ```
/// use hr_docs_core::redact::excerpt;
///
/// assert_eq!(excerpt(b"<html>\n  <body>Bad Gateway</body>\n</html>\n"), "<html> <body>Bad Gateway</body> </html>");
/// assert!(excerpt(&[b'x'; 1000]).ends_with('…'));
/// ```
pub fn excerpt(body: &[u8]) -> String {
    // Enough bytes for the longest characters, then cut on characters.
    let head = &body[..body.len().min(EXCERPT_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(EXCERPT_CHARS.min(text.len()) + 3);
    let mut chars = 0;
    let mut cut = false;
    for word in text.split_whitespace() {
        if chars > 0 {
            if chars == EXCERPT_CHARS {
                cut = true;
                break;
            }
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars == EXCERPT_CHARS {
                cut = true;
                break;
            }
            out.push(c);
            chars += 1;
        }
        if cut {
            break;
        }
    }
    if cut || body.len() > head.len() {
        out.push('…');
    }
    out
}

/// [`excerpt`] of `body` with every secret and every `param=` value replaced by
/// [`REDACTED`] **before** it is cut: a secret straddling the cut cannot leave its first
/// characters behind. Only the body's first 16 KiB are looked at (the excerpt shows far
/// less); the excerpt ends with `…` when the body is longer.
///
/// ```
/// use hr_docs_core::redact::scrubbed_excerpt;
///
/// let body = format!("{}sid-0123456789 tail", "x".repeat(190));
/// let short = scrubbed_excerpt(body.as_bytes(), &["sid-0123456789"], &["token"]);
/// assert!(!short.contains("sid-01"), "{short}");
/// assert_eq!(scrubbed_excerpt(b"GET /r?token=abc", &[], &["token"]), "GET /r?token=[REDACTED]");
/// ```
pub fn scrubbed_excerpt(body: &[u8], secrets: &[&str], params: &[&str]) -> String {
    const LOOK_AT: usize = 16 * 1024;
    let head = String::from_utf8_lossy(&body[..body.len().min(LOOK_AT)]);
    let mut text = scrub(&head, secrets);
    for param in params {
        text = scrub_param(&text, param);
    }
    let mut short = excerpt(text.as_bytes());
    if body.len() > LOOK_AT && !short.ends_with('…') {
        short.push('…');
    }
    short
}

/// Whether `body` is (the start of) a JSON object, array or string: its first non-blank
/// byte is `{`, `[` or `"` (a UTF-8 byte-order mark is skipped). Such a body is an API answer, which may
/// carry documents and people, so it is never quoted in an error; an HTML or text page (a
/// proxy's) is.
///
/// ```
/// use hr_docs_core::redact::looks_like_json;
///
/// assert!(looks_like_json(b"  {\"result\": 1"));
/// assert!(looks_like_json(b"\xEF\xBB\xBF[1]"));
/// assert!(!looks_like_json(b"<html>Bad Gateway</html>"));
/// assert!(!looks_like_json(b""));
/// ```
pub fn looks_like_json(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[' | b'"')
    )
}

/// The kinds of value serde names in its messages (`serde::de::Unexpected`), longest first.
const VALUE_KINDS: &[&str] = &[
    "floating point",
    "newtype variant",
    "newtype struct",
    "struct variant",
    "tuple variant",
    "unit variant",
    "Option value",
    "unit value",
    "byte array",
    "character",
    "sequence",
    "boolean",
    "integer",
    "string",
    "enum",
    "null",
    "map",
];

/// A decoder's error message without any value of the input it quotes.
///
/// Serde's messages quote the offending value: `invalid type: string "Иванов", expected a
/// map`, `invalid value: integer `4510`, expected …`, ``unknown variant `x`, expected …``.
/// When the input is a recognized document, that value is personal data. This keeps the
/// message's shape — what kind of value came, what was expected — and drops the value:
/// `invalid type: string, expected a map`. Messages that quote no input (`missing field
/// `x``, `invalid length 3, expected …`, syntax errors, this SDK's own messages) are
/// returned unchanged.
///
/// ```
/// use hr_docs_core::redact::without_values;
///
/// assert_eq!(
///     without_values(r#"invalid type: string "Иванов", expected a map"#),
///     "invalid type: string, expected a map"
/// );
/// assert_eq!(
///     without_values("invalid value: integer `4510`, expected a date"),
///     "invalid value: integer, expected a date"
/// );
/// assert_eq!(
///     without_values("unknown variant `Иванов`, expected one of `a`, `b`"),
///     "unknown variant, expected one of `a`, `b`"
/// );
/// assert_eq!(without_values("missing field `Идентификатор`"), "missing field `Идентификатор`");
/// ```
pub fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let kind = VALUE_KINDS
                .iter()
                .find(|k| rest.starts_with(**k))
                .copied()
                .unwrap_or("a value");
            // The expectation is the decoder's own text; a quoted string value may contain
            // ", expected " itself, but never after the real one.
            return match rest.rfind(", expected ") {
                Some(at) => format!("{prefix}{kind}{}", &rest[at..]),
                None => format!("{prefix}{kind}"),
            };
        }
    }
    for prefix in ["unknown variant ", "unknown field "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let what = prefix.trim_end();
            return match rest
                .find("`, expected ")
                .or_else(|| rest.find("`, there are no"))
            {
                Some(at) => format!("{what}{}", &rest[at + 1..]),
                None => what.to_owned(),
            };
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_one_and_the_same() {
        assert_eq!(REDACTED, "[REDACTED]");
        assert_eq!(format!("{:?}", Secret::from("s3cr3t")), REDACTED);
        assert_eq!(
            format!("{:?}", Some(Secret::new(String::from("x")))),
            "Some([REDACTED])"
        );
    }

    #[test]
    fn secret_exposes_only_on_request() {
        let s = Secret::from("  ");
        assert!(s.is_blank());
        let s = Secret::from("pa55");
        assert!(!s.is_blank());
        assert_eq!(s.clone().expose(), "pa55");
    }

    #[test]
    fn scrub_replaces_every_secret_everywhere() {
        assert_eq!(
            scrub("a=abc123 b=xyz abc123", &["abc123", "xyz", ""]),
            "a=[REDACTED] b=[REDACTED] [REDACTED]"
        );
        assert_eq!(scrub("clean", &[]), "clean");
    }

    #[test]
    fn scrub_param_replaces_every_value() {
        assert_eq!(
            scrub_param("GET /x?token=abc123&y=1 and 'token=zz' token=", "token"),
            "GET /x?token=[REDACTED]&y=1 and 'token=[REDACTED]' token=[REDACTED]"
        );
        assert_eq!(
            scrub_param("url http://h/r?token=other", "token"),
            "url http://h/r?token=[REDACTED]"
        );
        // Idempotent.
        let once = scrub_param("?token=a", "token");
        assert_eq!(scrub_param(&once, "token"), once);
        assert_eq!(scrub_param("no param here", "token"), "no param here");
        assert_eq!(scrub_param("x=1", ""), "x=1");
    }

    #[test]
    fn excerpt_is_short_single_line_and_never_fails() {
        let body = format!("<html>\n  <body>{}</body></html>", "x".repeat(1000));
        let e = excerpt(body.as_bytes());
        assert!(e.starts_with("<html> <body>xxx"), "{e}");
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"  short \r\n body "), "short body");
        assert_eq!(excerpt(b""), "");
        assert_eq!(excerpt(&[0xFF, b'a']), "\u{FFFD}a");
        // Cyrillic: characters, not bytes, are counted.
        let ru = "я".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(ru.as_bytes()), ru);
        let ru = "я".repeat(EXCERPT_CHARS + 1);
        assert_eq!(excerpt(ru.as_bytes()).chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn scrubbed_excerpt_scrubs_before_it_cuts() {
        let secret = "0123456789abcdef";
        // The secret starts 10 characters before the excerpt's cut.
        let body = format!("{}{secret} and more", "x".repeat(EXCERPT_CHARS - 10));
        let e = scrubbed_excerpt(body.as_bytes(), &[secret], &[]);
        assert!(!e.contains("0123"), "{e}");
        assert!(e.contains(REDACTED), "{e}");
        // Cutting first would have kept the secret's start: the reason for the order.
        assert!(scrub(&excerpt(body.as_bytes()), &[secret]).contains("0123"));
        // A token= value cut in half too.
        let body = format!("{}?token=abcdefabcdef", "y".repeat(EXCERPT_CHARS - 10));
        let e = scrubbed_excerpt(body.as_bytes(), &[], &["token"]);
        assert!(!e.contains("abc"), "{e}");
        // Long bodies are marked as cut.
        assert!(scrubbed_excerpt(&[b'z'; 20_000], &[], &[]).ends_with('…'));
        assert_eq!(scrubbed_excerpt(b"", &["x"], &["y"]), "");
    }

    #[test]
    fn json_bodies_are_told_from_pages() {
        assert!(looks_like_json(b"{}"));
        assert!(looks_like_json(b"\r\n\t [ 1 ]"));
        assert!(!looks_like_json(b"   "));
        assert!(!looks_like_json(b"null"));
        assert!(looks_like_json(b"\"a quoted string\""));
        assert!(!looks_like_json(b"<!DOCTYPE html>"));
        assert!(!looks_like_json(b"Bad Gateway"));
    }

    #[test]
    fn decoder_messages_lose_their_values() {
        let cases = [
            (
                r#"invalid type: string "Иванов", expected a map"#,
                "invalid type: string, expected a map",
            ),
            (
                r#"invalid type: string "a, expected b", expected u64"#,
                "invalid type: string, expected u64",
            ),
            (
                "invalid type: integer `4510123456`, expected a string",
                "invalid type: integer, expected a string",
            ),
            (
                "invalid type: floating point `1.5`, expected u8",
                "invalid type: floating point, expected u8",
            ),
            (
                "invalid type: boolean `true`, expected a sequence",
                "invalid type: boolean, expected a sequence",
            ),
            (
                "invalid type: character `я`, expected a map",
                "invalid type: character, expected a map",
            ),
            (
                "invalid type: map, expected a string",
                "invalid type: map, expected a string",
            ),
            (
                "invalid type: null, expected a string",
                "invalid type: null, expected a string",
            ),
            (
                "invalid value: string \"31.02.2020\", expected a date",
                "invalid value: string, expected a date",
            ),
            (
                "invalid type: something odd 123-456-789 01",
                "invalid type: a value",
            ),
            (
                "unknown variant `Петров`, expected `a` or `b`",
                "unknown variant, expected `a` or `b`",
            ),
            (
                "unknown variant `x`, there are no variants",
                "unknown variant, there are no variants",
            ),
            (
                "unknown field `Фамилия Иванов`, expected `a`",
                "unknown field, expected `a`",
            ),
            ("unknown field `x`", "unknown field"),
            ("missing field `Документ`", "missing field `Документ`"),
            ("duplicate field `result`", "duplicate field `result`"),
            (
                "invalid length 3, expected a tuple of 2",
                "invalid length 3, expected a tuple of 2",
            ),
            ("EOF while parsing a string", "EOF while parsing a string"),
            ("", ""),
        ];
        for (message, expected) in cases {
            assert_eq!(without_values(message), expected, "{message}");
        }
    }
}

/// Property tests (issue 9): the redaction helpers never panic and never let a secret or
/// a quoted value through, whatever the text. `HR_DOCS_FUZZ_CASES` raises the case count
/// (default 256; see docs/security.md).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn cases() -> u32 {
        std::env::var("HR_DOCS_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256)
    }

    /// Text without ASCII digits: the secrets below are all digits, so any digit left in
    /// an excerpt would be a piece of a secret.
    fn filler() -> impl Strategy<Value = String> {
        "[a-zA-Zа-яА-Я \\n\\t<>/=&?\"'.,;:_-]{0,400}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        #[test]
        fn excerpts_never_panic(body in prop::collection::vec(any::<u8>(), 0..2048)) {
            let e = excerpt(&body);
            prop_assert!(e.chars().count() <= EXCERPT_CHARS + 1);
            prop_assert!(!e.contains('\n'));
            let s = scrubbed_excerpt(&body, &["", "x"], &["token", ""]);
            prop_assert!(s.chars().count() <= EXCERPT_CHARS + 1);
            let _ = looks_like_json(&body);
        }

        /// A secret anywhere in a body — before, across or after the excerpt's cut, more
        /// than once, as a `token=` value — leaves not one of its characters behind.
        #[test]
        fn a_scrubbed_excerpt_keeps_no_piece_of_a_secret(
            before in filler(),
            secret in "[0-9]{6,40}",
            between in filler(),
            after in filler(),
            as_param in any::<bool>(),
        ) {
            let body = if as_param {
                format!("{before}?token={secret}&{between}{secret}{after}")
            } else {
                format!("{before}{secret}{between}{secret}{after}")
            };
            let short = scrubbed_excerpt(body.as_bytes(), &[&secret], &["token"]);
            let rest = short.replace(REDACTED, "");
            prop_assert!(
                !rest.chars().any(|c| c.is_ascii_digit()),
                "a piece of the secret survived: {short}"
            );
        }

        #[test]
        fn scrub_leaves_no_secret(text in ".{0,300}", secret in "[^\\[\\]]{3,20}") {
            let body = format!("{text}{secret}{text}");
            prop_assert!(!scrub(&body, &[&secret]).contains(&secret));
        }

        /// Whatever value serde quotes, it is gone; the expectation stays.
        #[test]
        fn decoder_messages_never_keep_a_quoted_value(
            value in "[^`]{1,60}",
            number in any::<i64>(),
            expected in "[a-z ]{1,30}",
        ) {
            let marker = format!("ПД{value}");
            for message in [
                format!("invalid type: string {marker:?}, expected {expected}"),
                format!("invalid value: string {marker:?}, expected {expected}"),
                format!("unknown variant `{marker}`, expected `{expected}`"),
                format!("unknown field `{marker}`, expected {expected}"),
            ] {
                let clean = without_values(&message);
                prop_assert!(!clean.contains("ПД"), "{message} → {clean}");
                prop_assert!(clean.ends_with(&expected) || clean.ends_with(&format!("{expected}`")),
                    "{message} → {clean}");
            }
            let clean = without_values(&format!("invalid type: integer `{number}`, expected {expected}"));
            prop_assert_eq!(clean, format!("invalid type: integer, expected {expected}"));
        }

        #[test]
        fn without_values_never_panics(message in ".{0,200}") {
            let _ = without_values(&message);
        }
    }
}
