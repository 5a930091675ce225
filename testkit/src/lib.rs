//! Test helpers shared by the integration tests of this workspace. Not published: each
//! crate names it as a *path-only* dev-dependency, which `cargo publish` drops.
//!
//! * [`errors`] — error chains that print each cause once; a loopback URL that refuses.
//! * [`logs`] — capture the log lines a test emits, and search them for terms that must
//!   not be there.
//! * [`zips`] — a zip built in memory from `(name, bytes)` entries.
//! * [`assert_every_test_file_is_a_module`] — each crate's integration tests are one test
//!   binary (`tests/it/main.rs` declares one module per file); this keeps a new file from
//!   being silently left out of the build.

pub mod errors;
pub mod logs;
pub mod zips;

use std::path::Path;

/// Asserts that every `*.rs` file (and every directory with a `mod.rs`) in the
/// `tests/it` directory of the crate at `manifest_dir` is declared as `mod <name>;` in
/// `main_rs`, the text of that directory's `main.rs`.
///
/// Call it from a `#[test]` in `tests/it/main.rs`:
///
/// ```text
/// #[test]
/// fn every_test_file_is_a_module() {
///     hr_docs_testkit::assert_every_test_file_is_a_module(
///         env!("CARGO_MANIFEST_DIR"),
///         include_str!("main.rs"),
///     );
/// }
/// ```
///
/// # Panics
///
/// When a file is not declared, naming it, or when the directory cannot be read (a
/// test's failure report).
#[allow(clippy::panic)] // a test's failure report
pub fn assert_every_test_file_is_a_module(manifest_dir: &str, main_rs: &str) {
    let dir = Path::new(manifest_dir).join("tests/it");
    let mut missing = Vec::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let is_module =
            path.extension().is_some_and(|e| e == "rs") || path.join("mod.rs").is_file();
        if is_module && stem != "main" && !main_rs.contains(&format!("\nmod {stem};")) {
            missing.push(stem.to_owned());
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "test files not declared in {}/main.rs: {missing:?}",
        dir.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "test files not declared")]
    fn an_undeclared_file_fails() {
        let dir = std::env::temp_dir().join(format!("testkit-modules-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tests/it")).unwrap();
        std::fs::write(dir.join("tests/it/main.rs"), "").unwrap();
        std::fs::write(dir.join("tests/it/forgotten.rs"), "").unwrap();
        assert_every_test_file_is_a_module(dir.to_str().unwrap(), "//!\nmod other;\n");
    }

    #[test]
    fn declared_files_pass() {
        let dir = std::env::temp_dir().join(format!("testkit-modules-ok-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tests/it/common")).unwrap();
        std::fs::write(dir.join("tests/it/main.rs"), "").unwrap();
        std::fs::write(dir.join("tests/it/flow.rs"), "").unwrap();
        std::fs::write(dir.join("tests/it/common/mod.rs"), "").unwrap();
        assert_every_test_file_is_a_module(dir.to_str().unwrap(), "//!\nmod common;\nmod flow;\n");
    }
}
