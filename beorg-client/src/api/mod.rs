//! Endpoint-specific request types and helpers.

pub(crate) mod ready;
pub(crate) mod result;
pub(crate) mod upload;
