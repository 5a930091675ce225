//! # saby-client
//!
//! An async, typed client for the Saby (formerly SBIS) EDO API: JSON-RPC 2.0 over HTTPS,
//! one shared session with single-flight renewal, typed documents, prepare/execute actions
//! with signing, the event feed as a resumable stream, service stages and a local archive.
//!
//! ```no_run
//! use saby_client::{Attachment, Client, Credentials, Document, Party, Regulation, ServerSigner};
//!
//! # async fn run() -> saby_client::Result<()> {
//! let client = Client::builder()
//!     .base_url("https://online.sbis.ru")
//!     .credentials(Credentials::password("login", "password"))
//!     .build()?;
//!
//! // A document with our own identifiers (makes the write idempotent and retry-safe).
//! let doc = Document::new("3f1c2a9e-0000-4000-8000-000000000001")
//!     .with_type("ДокОтгрИсх")
//!     .with_regulation(Regulation::by_name("Исходящий документ"))
//!     .with_our_organization(Party::legal_entity("7605016030", "760501001", "ООО Ромашка"))
//!     .with_counterparty(Party::individual("500100732259", "Иванов", "Иван", "Иванович"))
//!     .with_attachment(Attachment::from_bytes("att-1", "contract.pdf", b"%PDF-1.7".to_vec()));
//! let written = client.write_document(&doc).await?;
//!
//! // Stage and action are read from the document itself; server-side keys sign on Saby.
//! let sent = client.send(written.required_id()?, &ServerSigner).await?;
//! println!("state: {:?}", sent.state.map(|s| s.code));
//! # Ok(()) }
//! ```
//!
//! ## Contents
//!
//! - [`Client`], [`ClientBuilder`], [`Credentials`], [`CallOptions`] — configuration, sessions
//!   and the generic [`Client::call`] / [`Client::call_with`] for methods not wrapped here.
//! - Authentication: [`Client::from_env`], [`Client::login_now`], [`Client::send_auth_code`] /
//!   [`Client::confirm_login`] (confirmation codes), [`Client::logout`], [`Client::accounts`],
//!   [`Client::switch_account`], [`Client::current_user`], [`Client::auth_certificates`].
//! - Documents: [`Client::write_document`], [`Client::write_attachments`],
//!   [`Client::read_document`], [`Client::list_documents`], [`Client::delete_document`],
//!   [`Client::link_documents`], [`Client::repeat_stage`], [`Client::render_html`],
//!   [`Client::download`] (into memory), [`Client::download_to_file`] (streamed to disk).
//! - Actions and signing: [`Client::perform`], [`Client::send`] (and
//!   [`Client::send_document`] for a document already read), [`Client::approve`],
//!   [`Client::reject`], [`Client::coordinate`], [`Client::annul`], [`Client::reassign`],
//!   [`Client::prepare_action`], [`Client::execute_action`], [`Signer`], [`ServerSigner`].
//!   Annulment and reassignment have no public method shape in Saby: they are modelled as
//!   stage actions read from the document.
//! - The event feed: [`Client::events`], [`Client::events_follow`], [`EventFeed`],
//!   [`EventCursor`].
//! - Service stages: [`Client::service_stages`], [`Client::process_service_stages`].
//! - The local archive: [`Client::archive`], [`ArchiveReport`] (linked files streamed to
//!   disk); in two halves held in memory, [`Client::archive_files`] (download only) and
//!   [`write_archive`] (disk only).
//! - Errors and retries: [`Error`], [`retry`].
//! - Lookups: [`Client::counterparty_info`], [`Client::our_organizations`],
//!   [`Client::certificates`], [`Client::version_info`].
//! - The document model: [`Document`] and friends in [`model`].
//! - Testing: the [`saby-sandbox`](https://docs.rs/saby-sandbox) crate is an in-process
//!   emulator of the API, with a client aimed at it (`Sandbox::client()`).
//!
//! - The shared vocabulary ([`hr_docs_core`], re-exported; `beorg-client` speaks it too):
//!   [`RetryPolicy`] and its pure decision, [`ServiceError`] (the error predicates),
//!   [`Secret`], [`DEFAULT_TIMEOUT`], [`DEFAULT_DEADLINE`].
//!
//! Secrets (passwords, app secrets, session ids, tokens) are [`Secret`]s and never appear
//! in `Debug`, errors or logs (`Debug` prints the one marker `[REDACTED]`); neither does an
//! answer that carries a session, nor any value of a JSON answer (documents and people).
//! JSON-RPC calls never follow a redirect, downloads follow them without sending the
//! session off Saby's hosts; plain `http://` is refused off the loopback unless
//! [`ClientBuilder::allow_insecure_http`]; answers and files have size limits; archived
//! files are private (`0600`/`0700` on Unix). See `docs/security.md`. Every request gets a
//! `tracing` span `saby.call` with `method`, `endpoint`, `attempt` and `status`.

mod api;
mod client;
mod config;
mod error;
mod fs;
pub mod model;
#[cfg(test)]
mod properties;
pub mod retry;
mod signer;
mod transport;

pub use api::actions::Execution;
pub use api::archive::PendingZipArchive;
pub use api::events::{ChangeEvent, EventCursor, EventFeed, EventFilter};
pub use api::service_stages::PROCESS_SERVICE_ACTION;
pub use client::{CallOptions, Client};
pub use config::{
    ClientBuilder, Credentials, DEFAULT_BASE_URL, DEFAULT_DEADLINE, DEFAULT_EVENT_HISTORY_WINDOW,
    DEFAULT_MAX_BLOCKING_FILE_TASKS, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, ENV_ACCOUNT,
    ENV_APP_CLIENT_ID, ENV_APP_SECRET, ENV_BASE_URL, ENV_LOGIN, ENV_PASSWORD, ENV_SECRET_KEY,
    SessionDecryptor,
};
pub use error::{
    CLASSID_CONFIRMATION_REQUIRED, CLASSID_FILE_NOT_READY, ConfirmationInfo, Error, ErrorCode,
    Result, RpcError,
};
pub use fs::{
    ArchiveFile, ArchiveOptions, ArchiveReport, ArchiveSource, MANIFEST_FILE_NAME,
    MAX_FILE_NAME_BYTES, ZipLimits, sanitize_file_name, write_archive, write_archive_blocking,
};
pub use hr_docs_core::{self, Secret, ServiceError};
pub use model::{
    Account, Action, Attachment, AttachmentId, Base64Data, Certificate, CurrentUser, Direction,
    Document, DocumentFilter, DocumentId, DocumentLink, DocumentPage, Edition, Event, EventId,
    ExternalInterface, FileRef, Individual, Key, KeyType, LegalEntity, Navigation, Party, Person,
    Regulation, SabyDate, SabyDateTime, ServiceStageFilter, Signature, Stage, StageId, State,
    StateCode, VersionInfo,
};
pub use retry::RetryPolicy;
pub use signer::{ServerSigner, SignRequest, Signer};
pub use transport::Endpoint;

// Compiles the README's examples as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
