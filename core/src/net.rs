//! Transport rules both clients apply, without an HTTP crate: which hosts may be spoken to
//! over plain HTTP, how large an answer may be, how many redirects a download follows.
//!
//! * [`is_loopback_host`] / [`plain_http_refusal`] — a plain `http://` URL is refused unless
//!   its host is the loopback interface (tests, sandboxes) or the caller opted in.
//! * [`BodyBuffer`] — collects an answer's body chunk by chunk and stops at a size limit
//!   ([`DEFAULT_MAX_BODY_BYTES`]) whatever `Content-Length` claimed; [`BodyTooLarge`] names
//!   the limit, never the body.
//! * [`DEFAULT_MAX_DOWNLOAD_BYTES`], [`MAX_REDIRECTS`] — the limits of file downloads.

use std::fmt;
use std::net::IpAddr;

/// The default largest answer (JSON-RPC answer, Beorg JSON answer) a client reads: 32 MiB.
/// An answer that grows past it is cut off and fails with a "too large" error naming the
/// limit.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;

/// The default largest file a client downloads (into memory or streamed to disk): 512 MiB,
/// five times the largest request Saby accepts (100 MB), so no document's file comes near
/// it, while a hostile or broken server cannot fill the disk or the memory.
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 512 * 1024 * 1024;

/// How many redirects a download follows before it gives up: 5.
pub const MAX_REDIRECTS: u32 = 5;

/// Whether `host` (as a URL gives it: a name, an IPv4 address, or an IPv6 address with or
/// without brackets) is the loopback interface: `localhost`, `127.0.0.0/8`, `::1`, or an
/// IPv4-mapped `::ffff:127.x`. Other names are not trusted to resolve to the loopback (not
/// even `*.localhost`: that is up to the resolver).
///
/// ```
/// use hr_docs_core::net::is_loopback_host;
///
/// assert!(is_loopback_host("127.0.0.1"));
/// assert!(is_loopback_host("127.8.9.10"));
/// assert!(is_loopback_host("[::1]"));
/// assert!(is_loopback_host("LocalHost"));
/// assert!(!is_loopback_host("online.sbis.ru"));
/// assert!(!is_loopback_host("127.0.0.1.nip.io"));
/// assert!(!is_loopback_host("10.0.0.1"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        };
    }
    bare.eq_ignore_ascii_case("localhost")
}

/// Why a URL with this `scheme` and `host` may not be used, or `None` when it may:
/// `https` always may; `http` only to a loopback host ([`is_loopback_host`]) or when
/// `allow_insecure_http` is set; any other scheme never. The reason names the host, never
/// the URL (which may carry a token).
///
/// ```
/// use hr_docs_core::net::plain_http_refusal;
///
/// assert_eq!(plain_http_refusal("https", Some("online.sbis.ru"), false), None);
/// assert_eq!(plain_http_refusal("http", Some("127.0.0.1"), false), None);
/// assert!(plain_http_refusal("http", Some("api.beorg.ru"), false).is_some());
/// assert_eq!(plain_http_refusal("http", Some("api.beorg.ru"), true), None);
/// assert!(plain_http_refusal("ftp", Some("example.org"), true).is_some());
/// ```
pub fn plain_http_refusal(
    scheme: &str,
    host: Option<&str>,
    allow_insecure_http: bool,
) -> Option<String> {
    match scheme {
        "https" => None,
        "http" if allow_insecure_http || host.is_some_and(is_loopback_host) => None,
        "http" => Some(format!(
            "plain http:// to {} is refused: credentials and personal data would travel \
             unencrypted (use https://, or opt in with allow_insecure_http(true))",
            host.unwrap_or("a URL without a host")
        )),
        other => Some(format!("the URL scheme {other:?} is not http(s)")),
    }
}

/// An answer grew past the size limit; it was not read further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BodyTooLarge {
    /// The limit in force, in bytes.
    pub limit: u64,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the answer is larger than the limit of {} bytes",
            self.limit
        )
    }
}

impl std::error::Error for BodyTooLarge {}

/// An answer's body, collected chunk by chunk up to a limit.
///
/// `Content-Length` is a claim, not a fact: a declared length above the limit is refused at
/// once ([`BodyBuffer::new`]), but the limit is enforced on the bytes that actually arrive,
/// so a server that lies (or sends no length) cannot make the client read more.
///
/// ```
/// use hr_docs_core::net::{BodyBuffer, BodyTooLarge};
///
/// let mut body = BodyBuffer::new(8, None)?;
/// body.push(b"1234")?;
/// body.push(b"5678")?;
/// assert_eq!(body.push(b"9"), Err(BodyTooLarge { limit: 8 }));
///
/// assert_eq!(BodyBuffer::new(8, Some(9)).err(), Some(BodyTooLarge { limit: 8 }));
/// # Ok::<(), BodyTooLarge>(())
/// ```
#[derive(Debug)]
pub struct BodyBuffer {
    limit: u64,
    bytes: Vec<u8>,
}

impl BodyBuffer {
    /// An empty buffer for at most `limit` bytes; `declared` is the answer's
    /// `Content-Length`, if it gave one (a declared length above the limit is refused now;
    /// a smaller one only sizes the buffer, capped so a false claim costs little).
    pub fn new(limit: u64, declared: Option<u64>) -> Result<Self, BodyTooLarge> {
        if declared.is_some_and(|d| d > limit) {
            return Err(BodyTooLarge { limit });
        }
        let capacity = declared.unwrap_or(0).min(limit).min(1024 * 1024);
        Ok(Self {
            limit,
            bytes: Vec::with_capacity(usize::try_from(capacity).unwrap_or(0)),
        })
    }

    /// Appends `chunk`, or fails (keeping what was collected) when the body would pass the
    /// limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BodyTooLarge> {
        let len = (self.bytes.len() as u64).saturating_add(chunk.len() as u64);
        if len > self.limit {
            return Err(BodyTooLarge { limit: self.limit });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The bytes collected so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The body.
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes
    }
}

/// Counts the bytes of a body streamed elsewhere (to a file) against a limit.
///
/// ```
/// use hr_docs_core::net::{BodyTooLarge, ByteBudget};
///
/// let mut budget = ByteBudget::new(Some(10));
/// budget.take(6)?;
/// assert_eq!(budget.take(5), Err(BodyTooLarge { limit: 10 }));
/// assert_eq!(budget.used(), 6);
/// let mut unlimited = ByteBudget::new(None);
/// unlimited.take(u64::MAX)?;
/// # Ok::<(), BodyTooLarge>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteBudget {
    limit: Option<u64>,
    used: u64,
}

impl ByteBudget {
    /// A budget of `limit` bytes (`None`: unlimited).
    pub fn new(limit: Option<u64>) -> Self {
        Self { limit, used: 0 }
    }

    /// Counts `n` more bytes, or fails (counting nothing) when they would pass the limit.
    pub fn take(&mut self, n: u64) -> Result<(), BodyTooLarge> {
        let used = self.used.saturating_add(n);
        match self.limit {
            Some(limit) if used > limit => Err(BodyTooLarge { limit }),
            _ => {
                self.used = used;
                Ok(())
            }
        }
    }

    /// Whether a declared length already passes the limit.
    pub fn refuses(&self, declared: Option<u64>) -> Option<BodyTooLarge> {
        match (self.limit, declared) {
            (Some(limit), Some(d)) if d > limit => Some(BodyTooLarge { limit }),
            _ => None,
        }
    }

    /// The bytes counted so far.
    pub fn used(&self) -> u64 {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.255.255.254",
            "::1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "localhost",
            "localhost.",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "128.0.0.1",
            "0.0.0.0",
            "[::]",
            "[::2]",
            "10.1.2.3",
            "localhost.example.org",
            "api.localhost",
            "mylocalhost",
            "127.0.0.1.example.org",
            "online.sbis.ru",
            "[::ffff:10.0.0.1]",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn plain_http_is_refused_off_the_loopback_only() {
        assert_eq!(plain_http_refusal("https", Some("x.org"), false), None);
        assert_eq!(plain_http_refusal("https", None, false), None);
        assert_eq!(plain_http_refusal("http", Some("localhost"), false), None);
        assert_eq!(plain_http_refusal("http", Some("[::1]"), false), None);
        let why = plain_http_refusal("http", Some("api.beorg.ru"), false).unwrap();
        assert!(
            why.contains("api.beorg.ru") && why.contains("allow_insecure_http"),
            "{why}"
        );
        assert_eq!(plain_http_refusal("http", Some("api.beorg.ru"), true), None);
        assert!(plain_http_refusal("http", None, false).is_some());
        assert!(plain_http_refusal("file", None, true).is_some());
    }

    #[test]
    fn the_body_limit_holds_whatever_the_length_claims() {
        // A claim above the limit is refused up front.
        assert_eq!(
            BodyBuffer::new(10, Some(11)).err(),
            Some(BodyTooLarge { limit: 10 })
        );
        // A false small claim does not let more in.
        let mut b = BodyBuffer::new(10, Some(2)).unwrap();
        b.push(&[1; 10]).unwrap();
        assert_eq!(b.push(&[1]), Err(BodyTooLarge { limit: 10 }));
        assert_eq!(b.len(), 10);
        assert_eq!(b.into_vec(), vec![1; 10]);
        // A huge claim does not allocate.
        let b = BodyBuffer::new(u64::MAX, Some(u64::MAX)).unwrap();
        assert!(b.is_empty());
        assert!(b.bytes.capacity() <= 1024 * 1024);
        // The message names the limit.
        assert_eq!(
            BodyTooLarge { limit: 33 }.to_string(),
            "the answer is larger than the limit of 33 bytes"
        );
    }

    #[test]
    fn byte_budget_saturates() {
        let mut b = ByteBudget::new(Some(u64::MAX - 1));
        b.take(u64::MAX - 1).unwrap();
        b.take(0).unwrap();
        assert_eq!(
            b.take(u64::MAX),
            Err(BodyTooLarge {
                limit: u64::MAX - 1
            })
        );
        assert_eq!(b.used(), u64::MAX - 1);
        assert_eq!(b.refuses(Some(1)), None);
        assert_eq!(
            ByteBudget::new(Some(3)).refuses(Some(4)),
            Some(BodyTooLarge { limit: 3 })
        );
        assert_eq!(ByteBudget::new(None).refuses(Some(u64::MAX)), None);
    }
}
