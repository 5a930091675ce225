//! Keeping secrets and personal data out of `Debug`, errors and logs.
//!
//! * [`REDACTED`] is the one marker both clients print in place of a secret.
//! * [`Secret`] holds a credential (a token, a password, a session id): its `Debug` prints
//!   the marker, it has no `Display`, and its text is wiped from memory when dropped.
//! * [`scrub`] and [`scrub_param`] take secrets out of text that is about to go into an
//!   error (a server's message, a body excerpt, a URL); [`excerpt`] cuts a body to a short
//!   single line for an error message.

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
}
