//! The default `User-Agent`.

/// The default `User-Agent` of a client crate: `"<crate name>/<crate version>"` of the crate
/// that expands the macro (it reads that crate's `CARGO_PKG_NAME` and `CARGO_PKG_VERSION`),
/// as a `&'static str`.
///
/// ```
/// let ua: &'static str = hr_docs_core::default_user_agent!();
/// assert_eq!(ua, concat!("hr-docs-core/", env!("CARGO_PKG_VERSION")));
/// ```
#[macro_export]
macro_rules! default_user_agent {
    () => {
        ::core::concat!(
            ::core::env!("CARGO_PKG_NAME"),
            "/",
            ::core::env!("CARGO_PKG_VERSION")
        )
    };
}
