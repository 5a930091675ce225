//! Integration tests of `hr-docs-checks`, in one test binary.
//!
//! Each file of this directory is one module (one area of behaviour). A new test file
//! must be declared below — `every_test_file_is_a_module` checks it.

mod common;

mod beorg_signals;
mod documents;
mod inn;
mod mrz;
mod passport;
mod privacy;
mod properties;
mod serde_shape;
mod snils;

/// Every `*.rs` file next to this one is declared as a module above, so no test file is
/// silently left out of the build.
#[test]
fn every_test_file_is_a_module() {
    hr_docs_testkit::assert_every_test_file_is_a_module(
        env!("CARGO_MANIFEST_DIR"),
        include_str!("main.rs"),
    );
}
