//! A stateful in-process emulator of the Saby (formerly SBIS) EDO JSON-RPC API, for tests,
//! examples and benchmarks of [`saby_client`] (or of any other Saby client: it speaks plain
//! HTTP and JSON-RPC).
//!
//! Add it as a dev-dependency next to `saby-client`:
//!
//! ```toml
//! [dev-dependencies]
//! saby-sandbox = "0.1"
//! ```
//!
//! [`Sandbox::start`] binds a loopback HTTP server that speaks the real wire protocol:
//!
//! * `POST /auth/service/` — `СБИС.Аутентифицировать` (optionally with a confirmation code:
//!   `СБИС.ОтправитьКодАутентификации`, `СБИС.ПодтвердитьВход`, see
//!   [`LoginConfirmation`]), certificate login
//!   (`СБИС.СписокСертификатовДляАутентификации`, `СБИС.АутентифицироватьПоСертификату`),
//!   `СБИС.Выход`, `СБИС.СписокАккаунтов`, `СБИС.ПереключитьАккаунт`;
//! * `POST /oauth/service/` — service-application login (plain JSON);
//! * `POST /service/?srv=1` — documents, stages and actions, the event feed, service stages,
//!   reference methods;
//! * `GET /sandbox/...` — the `Ссылка` download links it hands out (attachments, signatures,
//!   PDF/HTML renderings, the document zip), which need the session header like the real ones.
//!
//! Documents move by themselves after sending: Sent (`3`) → Delivered (`4`, event
//! `Получение`) → Completed (`7`, event `Утверждение`) or rejected (`9` "completed with
//! problems", `Примечание` `Отклонен`, event `Отклонение`), one step per feed poll by default
//! (see [`SandboxConfig`]). Incoming documents are seeded with [`Sandbox::add_incoming`].
//! Faults (server errors, broken bodies, slow answers, session expiry, ...) are injected with
//! [`Faults`], and a request answered with a fault never changes the state.
//!
//! It answers in the shapes the public evidence shows (see `docs/saby-client.md`) and accepts
//! every request shape a public client is seen to send, e.g. `SecretDerped/pysaby`'s flat
//! login params, `"protocol": 2` and `POST /service/` without `?srv=1`.
//! [`Sandbox::last_call`] shows what a method last
//! received.
//!
//! The sandbox builds its answers and reads its requests on its own, as JSON values —
//! never through `saby-client`'s models — so it stays an independent check of the client.
//! It uses `saby-client` only for the conveniences a test double is for: a client aimed at
//! it ([`Sandbox::client`], [`Sandbox::client_builder`]), credentials it accepts
//! ([`Sandbox::credentials`], [`SandboxSessionDecryptor`], ...) and
//! [`Sandbox::document`], which decodes [`Sandbox::document_json`] for a test's
//! convenience.
//!
//! ```
//! use futures::StreamExt;
//! use saby_client::{Attachment, Document, EventCursor, Party, ServerSigner, StateCode};
//! use saby_sandbox::{Incoming, Sandbox, SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> saby_client::Result<()> {
//! let sandbox = Sandbox::start(SandboxConfig::default()).await;
//! let client = sandbox.client();
//!
//! let draft = Document::new("doc-1")
//!     .with_title("Трудовой договор")
//!     .with_counterparty(Party::legal_entity("7807654321", "780701001", "АО «Лютик»"))
//!     .with_attachment(Attachment::from_bytes("att-1", "contract.pdf", b"%PDF-1.7".to_vec()));
//! client.write_document(&draft).await?;
//! client.send("doc-1", &ServerSigner).await?;
//!
//! // One feed poll delivers the document, the next completes it.
//! let mut cursor = EventCursor::start();
//! for _ in 0..2 {
//!     let mut feed = client.events(cursor.clone());
//!     while let Some(event) = feed.next().await {
//!         println!("{:?}: {:?}", event?.document_id(), sandbox.state_code("doc-1"));
//!     }
//!     cursor = feed.cursor().clone();
//! }
//! let doc = client.read_document("doc-1").await?;
//! assert_eq!(doc.state.map(|s| s.code), Some(StateCode::Completed));
//!
//! // Incoming documents are seeded without HTTP.
//! let id = sandbox.add_incoming(Incoming::new("Приказ о приеме"));
//! client.approve(&id, &ServerSigner).await?;
//! assert_eq!(sandbox.login_count(), 1);
//! # Ok(())
//! # }
//! ```

mod actions;
mod auth;
mod config;
mod documents;
mod engine;
mod faults;
mod feed;
mod files;
mod incoming;
mod misc;
mod render;
mod rpc;
mod server;
mod state;

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

pub use crate::config::{
    LoginConfirmation, OAuthAnswer, PaceUnit, ResultWrapping, SandboxConfig, SandboxOrganization,
};
pub use crate::faults::Faults;
pub use crate::incoming::Incoming;

use crate::state::State;

/// Decrypts the session id the sandbox's certificate login answers with. The sandbox does no
/// real encryption: its "envelope" is a fixed prefix and the sid, which this reverses (and
/// anything else is an error).
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxSessionDecryptor;

#[async_trait::async_trait]
impl saby_client::SessionDecryptor for SandboxSessionDecryptor {
    async fn decrypt(
        &self,
        enveloped: &[u8],
    ) -> std::result::Result<saby_client::Secret, Box<dyn std::error::Error + Send + Sync>> {
        let sid = enveloped
            .strip_prefix(auth::ENVELOPE_PREFIX)
            .ok_or("not an envelope of the Saby sandbox")?;
        Ok(saby_client::Secret::from(String::from_utf8(sid.to_vec())?))
    }
}

#[derive(Debug)]
struct Inner {
    server: server::Server,
    state: Arc<Mutex<State>>,
}

/// A running sandbox. Cheap to clone (clones share the server); the server stops when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl Sandbox {
    /// Starts a sandbox: an axum server on a free loopback port (`127.0.0.1`), running on a
    /// thread of its own.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound or the server's thread cannot be started (a broken
    /// environment); [`Sandbox::try_start`] returns that as an error instead.
    #[allow(clippy::expect_used)] // documented above; `try_start` is the fallible form
    pub async fn start(config: SandboxConfig) -> Sandbox {
        Self::try_start(config)
            .await
            .expect("the Saby sandbox binds a loopback port and starts its server thread")
    }

    /// Like [`Sandbox::start`], but returns the error when no loopback port can be bound or
    /// the server's thread cannot be started.
    pub async fn try_start(config: SandboxConfig) -> io::Result<Sandbox> {
        let state = Arc::new(Mutex::new(State::new(config)));
        let server = server::start(state.clone()).await?;
        Ok(Sandbox {
            inner: Arc::new(Inner { server, state }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Base URL of the sandbox (`http://127.0.0.1:<port>`), to use as the client's base URL.
    pub fn uri(&self) -> String {
        self.inner.server.uri()
    }

    /// Login/password credentials the sandbox accepts.
    pub fn credentials(&self) -> saby_client::Credentials {
        let st = self.state();
        saby_client::Credentials::password(st.config.login.clone(), st.config.password.clone())
    }

    /// Service-application credentials the sandbox accepts (`/oauth/service/`).
    pub fn service_app_credentials(&self) -> saby_client::Credentials {
        let st = self.state();
        saby_client::Credentials::service_app(
            st.config.app_client_id.clone(),
            st.config.app_secret.clone(),
            st.config.secret_key.clone(),
        )
    }

    /// A client builder aimed at this sandbox: its URL, [`Sandbox::credentials`], short
    /// backoffs (5–50 ms, 6 attempts), a 20 ms wait for files "not ready yet", a 10 s
    /// per-attempt timeout and a 60 s deadline. Override anything before `build()`.
    pub fn client_builder(&self) -> saby_client::ClientBuilder {
        saby_client::Client::builder()
            .base_url(self.uri())
            .credentials(self.credentials())
            .retry_policy(
                saby_client::RetryPolicy::default()
                    .with_max_attempts(6)
                    .with_initial_backoff(Duration::from_millis(5))
                    .with_max_backoff(Duration::from_millis(50))
                    .with_max_retry_after(Duration::from_millis(100)),
            )
            .file_not_ready_delay(Duration::from_millis(20))
            .timeout(Duration::from_secs(10))
            .deadline(Duration::from_secs(60))
    }

    /// A client built from [`Sandbox::client_builder`].
    ///
    /// # Panics
    ///
    /// Only if the HTTP client cannot be built at all (no TLS backend); the sandbox's own URL
    /// and credentials are always valid.
    #[allow(clippy::expect_used)] // the sandbox's URL and credentials are always valid
    pub fn client(&self) -> saby_client::Client {
        self.client_builder()
            .build()
            .expect("the sandbox's client configuration is valid")
    }

    /// The login `СБИС.Аутентифицировать` accepts.
    pub fn login(&self) -> String {
        self.state().config.login.clone()
    }

    /// The password `СБИС.Аутентифицировать` accepts.
    pub fn password(&self) -> String {
        self.state().config.password.clone()
    }

    /// The account number (`НомерАккаунта`) of the sandbox user.
    pub fn account(&self) -> String {
        self.state().config.account.clone()
    }

    /// The service-application credentials `(app_client_id, app_secret, secret_key)`.
    pub fn service_app(&self) -> (String, String, String) {
        let st = self.state();
        (
            st.config.app_client_id.clone(),
            st.config.app_secret.clone(),
            st.config.secret_key.clone(),
        )
    }

    /// Certificate-login credentials the sandbox accepts: its certificate
    /// ([`Sandbox::certificate`]) and [`SandboxSessionDecryptor`].
    pub fn certificate_credentials(&self) -> saby_client::Credentials {
        saby_client::Credentials::certificate(
            Self::certificate(),
            std::sync::Arc::new(SandboxSessionDecryptor),
        )
    }

    /// The sandbox's certificate for `СБИС.АутентифицироватьПоСертификату`: its DER bytes
    /// (`ДвоичныеДанные`; a stand-in, not a real X.509 certificate).
    pub fn certificate() -> saby_client::Certificate {
        saby_client::Certificate::from_der(auth::CERTIFICATE_DER.to_vec())
    }

    /// The last confirmation code `СБИС.ОтправитьКодАутентификации` "sent" (see
    /// [`LoginConfirmation`]), as a user would read it from the SMS.
    pub fn last_confirmation_code(&self) -> Option<String> {
        self.state().last_confirmation_code.clone()
    }

    /// What `method` last received: `{"params": ..., "protocol": ...}` (`protocol` is `null`
    /// when not sent; login passwords are redacted). `None` when it was never called.
    pub fn last_call(&self, method: &str) -> Option<Value> {
        self.state().last_calls.get(method).cloned()
    }

    /// Replaces the injected faults (and restarts their seeded generator).
    pub fn set_faults(&self, faults: Faults) {
        self.state().set_faults(faults);
    }

    /// The faults injected now.
    pub fn faults(&self) -> Faults {
        self.state().faults.clone()
    }

    /// Changes the fixed delay added to every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.state().config.latency = latency;
    }

    /// Invalidates every session now: the next call of every client gets HTTP 401.
    pub fn expire_sessions(&self) {
        self.state().expire_all_sessions();
    }

    /// Runs `steps` pace steps of every document in flight, as that many feed polls would.
    pub fn advance(&self, steps: u32) {
        let mut st = self.state();
        for _ in 0..steps {
            st.step_flows();
        }
    }

    /// Moves the sandbox clock forward (event times, session lifetimes, deferred service
    /// stages).
    pub fn advance_clock(&self, by: Duration) {
        self.state().clock_offset += by;
    }

    /// Seeds an incoming document waiting for our approval; returns its `Идентификатор`.
    pub fn add_incoming(&self, incoming: Incoming) -> String {
        documents::add_incoming(&mut self.state(), incoming)
    }

    /// Puts a pending service stage (`Служебный = "Да"`, action `Обработать служебное`) on a
    /// document; `false` when there is no such document.
    pub fn add_service_stage(&self, document_id: &str) -> bool {
        actions::add_service_stage(&mut self.state(), document_id)
    }

    /// The stored document as the API would answer `СБИС.ПрочитатьДокумент` (all events
    /// included), without counting as a call.
    pub fn document_json(&self, id: &str) -> Option<Value> {
        engine::document_json(&self.state(), id)
    }

    /// A convenience for tests: [`Sandbox::document_json`] decoded into the client's
    /// [`saby_client::Document`]. `None` when there is no such document (or, defensively, if
    /// its JSON did not decode — the sandbox's tests check that every shape it produces
    /// does). The sandbox itself never reads its state through this type.
    pub fn document(&self, id: &str) -> Option<saby_client::Document> {
        serde_json::from_value(self.document_json(id)?).ok()
    }

    /// `Состояние.Код` of a stored document.
    pub fn state_code(&self, id: &str) -> Option<String> {
        self.state().docs.get(id).map(|d| d.state.code().to_owned())
    }

    /// Names of a document's events, oldest first.
    pub fn event_names(&self, id: &str) -> Vec<String> {
        let st = self.state();
        st.docs
            .get(id)
            .map(|d| {
                d.events
                    .iter()
                    .filter_map(|i| st.events.get(*i))
                    .map(|e| e.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Number of stored documents (the bin included).
    pub fn document_count(&self) -> usize {
        self.state().docs.len()
    }

    /// Number of successful logins (password and service-application).
    pub fn login_count(&self) -> usize {
        usize::try_from(self.state().counters.logins).unwrap_or(usize::MAX)
    }

    /// Number of refused logins.
    pub fn failed_login_count(&self) -> usize {
        usize::try_from(self.state().counters.failed_logins).unwrap_or(usize::MAX)
    }

    /// Number of JSON-RPC calls received (every well-formed envelope, logins and faulted calls
    /// included).
    pub fn call_count(&self) -> usize {
        usize::try_from(self.state().counters.calls).unwrap_or(usize::MAX)
    }

    /// Number of JSON-RPC calls of one method.
    pub fn method_call_count(&self, method: &str) -> usize {
        self.state()
            .counters
            .per_method
            .get(method)
            .map_or(0, |n| usize::try_from(*n).unwrap_or(usize::MAX))
    }

    /// Number of HTTP requests received (calls, downloads, malformed requests).
    pub fn request_count(&self) -> usize {
        usize::try_from(self.state().counters.requests).unwrap_or(usize::MAX)
    }

    /// Number of answers HTTP 401 (missing or expired session).
    pub fn unauthorized_count(&self) -> usize {
        usize::try_from(self.state().counters.unauthorized).unwrap_or(usize::MAX)
    }

    /// Number of successful or failed downloads that passed the session check.
    pub fn download_count(&self) -> usize {
        usize::try_from(self.state().counters.downloads).unwrap_or(usize::MAX)
    }

    /// Number of `СБИС.ЗаписатьДокумент` calls that reached document `id` — whether they
    /// created it, changed it, changed nothing or were refused (a document already sent
    /// only takes a write that changes nothing). A call answered with an injected fault
    /// did not reach it; one whose answer was lost ([`Faults::answer_lost`]) did.
    pub fn write_count(&self, id: &str) -> usize {
        self.state()
            .counters
            .writes
            .get(id)
            .map_or(0, |n| usize::try_from(*n).unwrap_or(usize::MAX))
    }

    /// Number of event-feed polls (`СБИС.СписокИзменений`).
    pub fn feed_poll_count(&self) -> usize {
        usize::try_from(self.state().counters.feed_polls).unwrap_or(usize::MAX)
    }

    /// Number of faults injected so far.
    pub fn fault_count(&self) -> usize {
        usize::try_from(self.state().counters.faults).unwrap_or(usize::MAX)
    }

    /// Number of events in the log.
    pub fn events_count(&self) -> usize {
        self.state().events.len()
    }

    /// Every session id and access token the sandbox ever handed out (password, certificate
    /// and service-application logins, confirmed logins, account switches), oldest first —
    /// expired and closed ones included: for tests that check no credential leaked.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.state().issued_secrets.clone()
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        self.state().sessions.len()
    }
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
