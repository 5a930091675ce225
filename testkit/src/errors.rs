//! Error chains: what `err.source()` after `err.source()` prints, and the rule that each
//! cause is printed once (no level's message repeats a deeper level's), which both clients'
//! errors keep.

/// Every level of `err`'s source chain as it prints (`Display`), outermost first.
pub fn source_chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut levels = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        levels.push(s.to_string());
        source = s.source();
    }
    levels
}

/// Asserts that printing the chain one level after another shows each cause once: no
/// level's own message repeats a deeper level's (non-empty) message. Returns the levels,
/// outermost first, for further assertions.
///
/// # Panics
///
/// When a level repeats a deeper one, naming both and printing the whole chain (a test's
/// failure report).
pub fn assert_each_cause_once(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let levels = source_chain(err);
    for (i, outer) in levels.iter().enumerate() {
        for inner in levels.iter().skip(i + 1).filter(|t| !t.is_empty()) {
            assert!(
                !outer.contains(inner.as_str()),
                "level {i} {outer:?} repeats its cause {inner:?}; chain: {levels:#?}"
            );
        }
    }
    levels
}

/// Every text an error shows: its `Display`, its `Debug` (plain and pretty), and the
/// `Display` and `Debug` of each level of its source chain. What a leak test searches.
pub fn error_texts(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![err.to_string(), format!("{err:?}"), format!("{err:#?}")];
    let mut source = err.source();
    while let Some(s) = source {
        out.push(s.to_string());
        out.push(format!("{s:?}"));
        source = s.source();
    }
    out
}

/// `http://127.0.0.1:<port>` of a loopback port nothing listens on (bound, then freed):
/// connecting to it is refused, so a request never leaves the machine.
///
/// # Panics
///
/// When no loopback port can be bound (the test cannot run).
#[allow(clippy::expect_used)] // a test's failure report
pub fn closed_loopback_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Level(&'static str, Option<Box<Level>>);

    impl std::fmt::Display for Level {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Level {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn a_chain_that_prints_each_cause_once_passes_and_is_returned() {
        let err = Level("deadline", Some(Box::new(Level("decode", None))));
        assert_eq!(assert_each_cause_once(&err), ["deadline", "decode"]);
    }

    #[test]
    #[should_panic(expected = "repeats its cause")]
    fn a_level_that_repeats_its_cause_fails() {
        let err = Level("deadline: decode", Some(Box::new(Level("decode", None))));
        assert_each_cause_once(&err);
    }

    #[test]
    fn the_texts_are_display_and_debug_of_every_level() {
        let err = Level("outer", Some(Box::new(Level("inner", None))));
        let texts = error_texts(&err);
        assert_eq!(texts[0], "outer");
        assert_eq!(texts[1], format!("{err:?}"));
        assert_eq!(texts[2], format!("{err:#?}"));
        assert_eq!(texts[3], "inner");
        assert!(texts[4].starts_with("Level(\"inner\""), "{texts:?}");
        assert_eq!(texts.len(), 5);
    }

    #[test]
    fn the_closed_port_refuses() {
        let url = closed_loopback_url();
        let addr = url.trim_start_matches("http://");
        assert!(std::net::TcpStream::connect(addr).is_err(), "{url}");
    }
}
