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
mod support;

/// Every `*.rs` file next to this one is declared as a module above, so no test file is
/// silently left out of the build.
#[test]
fn every_test_file_is_a_module() {
    hr_docs_testkit::assert_every_test_file_is_a_module(
        env!("CARGO_MANIFEST_DIR"),
        include_str!("main.rs"),
    );
}
