//! Capturing the log lines a test emits, and searching them.
//!
//! The integration tests of a crate share one binary, and `tracing` caches each call
//! site's *interest* process-wide. A subscriber installed with `set_default` on one test's
//! thread can miss a call site that another test's thread registered at the same moment
//! with no subscriber: its interest is cached as "never", and the capture comes back empty
//! now and then. So [`Capture`] uses one **global** subscriber at TRACE, installed once,
//! whose writer sends each line to the buffer of the thread that emitted it. Tests that
//! capture run on a current-thread runtime, so every line of theirs is emitted on their
//! thread. A test that needs a subscriber of its own (a custom layer) calls [`install`]
//! first: with the global subscriber present, no call site is ever switched off, and its
//! `set_default` subscriber sees every event.
//!
//! Lines carry no timestamp: a time such as `…27.451027Z` contains `4510`, a passport
//! series a test may be looking for.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

thread_local! {
    /// Where this thread's log lines go while a capture is active.
    static SINK: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Writes to the current thread's capture buffer, or nowhere.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|sink| {
            if let Some(sink) = sink.borrow().as_ref() {
                sink.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the global TRACE subscriber of this test binary (once; later calls do
/// nothing). If another global subscriber was installed first, it stays, and captures
/// come back empty — a test that asserts something was logged then fails loudly.
pub fn install() {
    static GLOBAL: OnceLock<()> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| ThreadSink)
            .with_ansi(false)
            .without_time()
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Every log line (TRACE and up, span closings included) this thread emits until the
/// capture is dropped.
///
/// ```
/// let capture = hr_docs_testkit::logs::Capture::start();
/// tracing::info!(set_id = "s-1", "set seen");
/// assert!(capture.text().contains("set seen"));
/// ```
#[derive(Debug)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Starts capturing this thread's lines (installing the global subscriber if needed).
    pub fn start() -> Self {
        install();
        let buffer = Arc::new(Mutex::new(Vec::new()));
        SINK.with(|sink| *sink.borrow_mut() = Some(Arc::clone(&buffer)));
        Self(buffer)
    }

    /// What was captured so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        SINK.with(|sink| *sink.borrow_mut() = None);
    }
}

/// Whether `term` occurs in `text` (see [`find_term`]).
///
/// ```
/// use hr_docs_testkit::logs::contains_term;
/// assert!(contains_term("series 4510 number", "4510"));
/// assert!(!contains_term("port 45102", "4510"));
/// assert!(contains_term("Паспорт_Иванов.json", "Иванов"));
/// ```
pub fn contains_term(text: &str, term: &str) -> bool {
    find_term(text, term).is_some()
}

/// Where `term` first occurs in `text` (a byte offset). A term made only of ASCII digits
/// counts only where it stands alone — not inside a longer number (a port, a length, a
/// duration) — since a passport series such as `4510` would otherwise turn up by chance.
/// An empty term is never found.
pub fn find_term(text: &str, term: &str) -> Option<usize> {
    if term.is_empty() {
        return None;
    }
    let digits = term.bytes().all(|b| b.is_ascii_digit());
    let bytes = text.as_bytes();
    let digit_at = |i: Option<usize>| i.and_then(|i| bytes.get(i)).is_some_and(u8::is_ascii_digit);
    text.match_indices(term)
        .map(|(at, _)| at)
        .find(|&at| !digits || (!digit_at(at.checked_sub(1)) && !digit_at(Some(at + term.len()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_terms_stand_alone() {
        assert_eq!(find_term("passport 107919 issued", "107919"), Some(9));
        assert_eq!(find_term("port 1079190", "107919"), None);
        assert_eq!(find_term("x2107919", "107919"), None);
        assert_eq!(find_term("a 107919 b 1079190", "107919"), Some(2));
        assert_eq!(find_term("Паспорт_Иванов.json", "Иванов"), Some(15));
        assert!(contains_term("4510", "4510"));
        assert!(contains_term("a4510b", "4510"));
        assert!(!contains_term("14510", "4510"));
        assert!(!contains_term("45101", "4510"));
        assert!(contains_term("45101 4510", "4510"));
        assert!(!contains_term("anything", ""));
    }

    #[test]
    fn a_capture_sees_only_its_own_thread() {
        let capture = Capture::start();
        tracing::info!("mine");
        std::thread::spawn(|| tracing::info!("theirs"))
            .join()
            .unwrap();
        let text = capture.text();
        assert!(text.contains("mine"), "{text}");
        assert!(!text.contains("theirs"), "{text}");
    }
}
