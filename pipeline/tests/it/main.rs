//! Integration tests of `hr-docs-pipeline`, in one test binary.
//!
//! Each file of this directory is one module (one area of behaviour); linking one binary
//! instead of one per file keeps a clean `cargo test --workspace` small on disk and fast to
//! link. A new test file must be declared below — `every_test_file_is_a_module` checks it.

mod common;

mod claims;
mod companies;
mod contours;
mod crash;
mod efficiency;
mod faults;
mod flow;
mod leak;
mod migration;
mod out_of_order;
mod review;
mod security;
mod store;

/// Every `*.rs` file next to this one is declared as a module above, so no test file is
/// silently left out of the build.
#[test]
#[allow(clippy::panic)] // a test's failure report
fn every_test_file_is_a_module() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let this = include_str!("main.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let is_module =
            path.extension().is_some_and(|e| e == "rs") || path.join("mod.rs").is_file();
        if is_module && stem != "main" && !this.contains(&format!("\nmod {stem};")) {
            missing.push(stem.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "test files not declared in tests/it/main.rs: {missing:?}"
    );
}
