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
fn every_test_file_is_a_module() {
    hr_docs_testkit::assert_every_test_file_is_a_module(
        env!("CARGO_MANIFEST_DIR"),
        include_str!("main.rs"),
    );
}
