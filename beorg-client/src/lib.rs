//! An async, typed client for the [Beorg](https://beorg.ru) document-recognition API.
//!
//! Beorg recognizes scans of Russian HR documents (passport, SNILS, INN, residence
//! permits, ...). The flow this crate covers:
//!
//! 1. [`Client::upload`] a *set* of scans (one employee's documents) → a [`SetId`];
//! 2. [`Client::ready`] / [`Client::ready_stream`] tell which of the company's sets are
//!    recognized, and on which contour;
//! 3. [`Client::result`] / [`Client::wait_for_result`] fetch a set's
//!    [`RecognitionResult`]: every [`RecognizedDocument`] with its raw `data`,
//!    metadata and typed views ([`Passport`], [`Snils`], [`Rvp`], [`BirthCertificate`])
//!    — or tell that the set is still processing, came back broken as a whole, or
//!    holds no documents ([`ResultStatus`]).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use beorg_client::{DocumentType, ProcessInfo, UploadRequest};
//! use beorg_sandbox::{Sandbox, SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> beorg_client::Result<()> {
//! // An in-process emulator (the `beorg-sandbox` crate, a dev-dependency); use
//! // `Client::from_env()` for the real API.
//! let sandbox = Sandbox::start(SandboxConfig::default()).await;
//! let client = sandbox.client();
//!
//! let set = client
//!     .upload(
//!         UploadRequest::new()
//!             .image_with(vec![0xFF, 0xD8, 0xFF], ProcessInfo::of_type(DocumentType::Passport))
//!             .image_with(vec![0xFF, 0xD8, 0xFF], ProcessInfo::of_type(DocumentType::Snils)),
//!     )
//!     .await?;
//!
//! let result = client.wait_for_result(&set, Duration::from_secs(10)).await?;
//! for doc in &result.documents {
//!     println!("{} {:?}", doc.doc_type, doc.file_name());
//! }
//! let passport = result.passport().expect("a passport was uploaded");
//! assert!(passport.last_name.is_some());
//! # Ok(())
//! # }
//! ```
//!
//! # Contents
//!
//! * [`Client`], [`ClientBuilder`], [`HttpMethod`] — configuration (also from the
//!   `BEORG_*` environment variables) and the calls.
//! * [`UploadRequest`], [`ProcessInfo`], [`Stage`] — what to upload.
//! * [`ReadySets`], [`ReadySet`], [`ReadyStream`], [`ReadyCheckpoint`] — which sets are
//!   ready, on which contour; [`watermark`] — the `start_id` rule they share with the
//!   pipeline.
//! * [`ResultStatus`], [`RecognitionResult`], [`RecognizedDocument`], [`Metadata`],
//!   [`DocumentType`] and the typed views — what was recognized.
//! * [`Error`], [`ApiErrorKind`], [`Endpoint`] — one error type with predicates, also
//!   through the [`ServiceError`] trait it shares with `saby-client`.
//! * [`RetryPolicy`] and its pure decision function [`RetryPolicy::decide`], `Retry-After`
//!   ([`parse_retry_after`]), the timeouts — the vocabulary of the
//!   [`hr_docs_core`] crate, which `saby-client` speaks too (re-exported here).
//!
//! For tests, the [`beorg-sandbox`](https://docs.rs/beorg-sandbox) crate is a stateful
//! in-process emulator of the API, with a client aimed at it (`Sandbox::client()`).
//!
//! # Features
//!
//! * `rustls` (default) — TLS through rustls.
//! * `native-tls` — TLS through the platform library.
//!
//! # Secrets
//!
//! The token is kept as an [`hr_docs_core::Secret`]. It never appears in a `Debug` or
//! `Display` output, an error, or a tracing span/event — including the URLs of
//! transport errors, which would otherwise carry `?token=…`; where it would, the one
//! marker `[REDACTED]` ([`hr_docs_core::REDACTED`]) is printed. Redirects are never
//! followed (the token would go with them), plain `http://` is refused off the loopback
//! unless [`ClientBuilder::allow_insecure_http`], and answers are read up to
//! [`ClientBuilder::max_body_bytes`].
//!
//! # Personal data
//!
//! No error message and no `Debug` of the models shows a recognized value: a result body
//! is never quoted, decoder messages name the kind of a bad value but not the value, and
//! [`RecognitionResult`]'s `Debug` prints `[REDACTED]` for every value. See
//! `docs/security.md`.

mod api;
mod client;
mod config;
mod error;
mod model;
#[cfg(test)]
mod properties;
mod retry;
mod stream;
pub mod watermark;

pub use api::upload::{ProcessInfo, Stage, UploadRequest};
pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_DEADLINE, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT,
    ENV_BASE_URL, ENV_MACHINE_UID, ENV_PROJECT_ID, ENV_TOKEN, HttpMethod,
};
pub use error::{ApiErrorKind, Endpoint, Error, Result};
pub use hr_docs_core::{self, ServiceError};
pub use model::{
    BirthCertificate, Check, CheckStatus, Confidences, DateError, DocumentType, Gender, Metadata,
    MetadataCheck, ParseSetIdError, Passport, ReadySet, ReadySets, RecognitionResult,
    RecognizedDocument, ResultStatus, Rvp, SetId, Snils, Verifications, parse_date,
};
pub use retry::{
    AttemptState, Failure, Idempotency, RetryDecision, RetryPolicy, StopReason, parse_retry_after,
};
pub use stream::{ReadyCheckpoint, ReadyStream};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
