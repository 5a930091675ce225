//! Typed wrappers of the Saby methods, as `impl Client` blocks, one file per area.

pub(crate) mod actions;
pub(crate) mod archive;
pub(crate) mod auth;
pub(crate) mod documents;
pub(crate) mod download;
pub(crate) mod events;
pub(crate) mod misc;
pub(crate) mod service_stages;
