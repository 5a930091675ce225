//! Integration tests of `saby-client`, in one test binary.
//!
//! Each file of this directory is one module (one area of behaviour); linking one binary
//! instead of one per file keeps a clean `cargo test --workspace` small on disk and fast to
//! link. A new test file must be declared below — `every_test_file_is_a_module` checks it.

mod common;
mod sandbox_common;

mod actions;
mod archive;
mod auth;
mod documents;
mod download_to_file;
mod events;
mod evidence;
mod in_flight;
mod lenient;
mod model;
mod model_decode;
mod sandbox_archive;
mod sandbox_flow;
mod sandbox_incoming;
mod sandbox_pre_read;
mod sandbox_resilience;
mod secrets;
mod security;
mod send_sync;
mod service_stages;
mod tracing_fields;
mod transport;
mod vocabulary;
mod zip_archive;

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
