//! Sandbox configuration: credentials, sessions, signing, document-flow paces and quirks.

use std::time::Duration;

use crate::faults::Faults;

/// How a sandbox counts the "pace" of an outgoing document's progress
/// (Sent → Delivered → Completed / Rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PaceUnit {
    /// Every call of `СБИС.СписокИзменений` (the event feed) is one step. This is the default:
    /// a client that follows the feed sees its documents progress poll after poll.
    #[default]
    FeedPolls,
    /// Every authenticated JSON-RPC call (any method) is one step.
    Calls,
}

/// Whether `СБИС.ЗаписатьДокумент` answers with the bare `Документ` object or wrapped as
/// `{"Документ": {...}}` (both shapes are seen from the real service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResultWrapping {
    /// Always the bare document.
    Never,
    /// Always `{"Документ": {...}}`.
    Always,
    /// Every other answer is wrapped (the default, to exercise both shapes).
    #[default]
    Alternate,
}

/// Whether password login needs a confirmation code (two-factor login).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoginConfirmation {
    /// No confirmation: `СБИС.Аутентифицировать` answers with the session id (the default).
    #[default]
    Off,
    /// `СБИС.Аутентифицировать` answers with the "confirmation required" error
    /// (`classid {00000000-0000-0000-0000-1FA000001002}`); `СБИС.ОтправитьКодАутентификации`
    /// "sends" this code and `СБИС.ПодтвердитьВход` accepts it.
    Code(String),
    /// Like [`LoginConfirmation::Code`] with a fresh random 6-digit code per login, "sent" by
    /// `СБИС.ОтправитьКодАутентификации` and readable with
    /// [`Sandbox::last_confirmation_code`](crate::Sandbox::last_confirmation_code).
    RandomCode,
}

/// What `POST /oauth/service/` (service-application login) answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OAuthAnswer {
    /// `{"token", "access_token", "sid"}`: the token for `X-SBISAccessToken`, the sid for
    /// `X-SBISSessionID` (both name the same session). The default.
    #[default]
    TokenAndSid,
    /// Only `{"token"}`.
    TokenOnly,
    /// Only `{"sid"}`: a session id, accepted in `X-SBISSessionID` only.
    SidOnly,
}

/// An organization as the sandbox knows it (ours or a counterparty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOrganization {
    /// ИНН (10 digits).
    pub inn: String,
    /// КПП (9 digits).
    pub kpp: String,
    /// Full name.
    pub name: String,
}

impl SandboxOrganization {
    /// A legal entity with the given ИНН, КПП and name.
    pub fn new(inn: impl Into<String>, kpp: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            inn: inn.into(),
            kpp: kpp.into(),
            name: name.into(),
        }
    }
}

/// Configuration of a [`Sandbox`](crate::Sandbox): `SandboxConfig::default()` plus
/// setters. Every knob is described in the crate documentation's "Sandbox" section.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub(crate) login: String,
    pub(crate) password: String,
    pub(crate) account: String,
    pub(crate) app_client_id: String,
    pub(crate) app_secret: String,
    pub(crate) secret_key: String,
    pub(crate) login_confirmation: LoginConfirmation,
    pub(crate) oauth_answer: OAuthAnswer,
    pub(crate) session_expires_after_calls: Option<u64>,
    pub(crate) session_ttl: Option<Duration>,
    pub(crate) session_idle_timeout: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) latency: Duration,
    pub(crate) client_side_signing: bool,
    pub(crate) pace: PaceUnit,
    pub(crate) delivery_after: u32,
    pub(crate) completion_after: u32,
    pub(crate) reject_share: f64,
    pub(crate) reject_marker: String,
    pub(crate) seed: u64,
    pub(crate) service_stage_on_delivery: bool,
    pub(crate) service_stage_defer: Duration,
    pub(crate) result_wrapping: ResultWrapping,
    pub(crate) quirky_errors: bool,
    pub(crate) strict_content_type: bool,
    pub(crate) feed_page_size: usize,
    pub(crate) our_organization: SandboxOrganization,
    pub(crate) counterparty: SandboxOrganization,
    pub(crate) faults: Faults,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            login: "sandbox".to_owned(),
            password: "sandbox-password".to_owned(),
            account: "1234567".to_owned(),
            app_client_id: "sandbox-app".to_owned(),
            app_secret: "sandbox-app-secret".to_owned(),
            secret_key: "sandbox-secret-key".to_owned(),
            login_confirmation: LoginConfirmation::Off,
            oauth_answer: OAuthAnswer::TokenAndSid,
            session_expires_after_calls: None,
            session_ttl: None,
            session_idle_timeout: Duration::from_secs(24 * 60 * 60),
            max_sessions: 5,
            latency: Duration::ZERO,
            client_side_signing: false,
            pace: PaceUnit::FeedPolls,
            delivery_after: 1,
            completion_after: 1,
            reject_share: 0.0,
            reject_marker: "[reject]".to_owned(),
            seed: 0x5AB1,
            service_stage_on_delivery: false,
            service_stage_defer: Duration::from_secs(10 * 60),
            result_wrapping: ResultWrapping::Alternate,
            quirky_errors: true,
            strict_content_type: true,
            feed_page_size: 25,
            our_organization: SandboxOrganization::new(
                "7701234567",
                "770101001",
                "ООО «Ромашка» (песочница)",
            ),
            counterparty: SandboxOrganization::new(
                "7807654321",
                "780701001",
                "АО «Лютик» (песочница)",
            ),
            faults: Faults::default(),
        }
    }
}

impl SandboxConfig {
    /// The login and password `СБИС.Аутентифицировать` accepts
    /// (default `sandbox` / `sandbox-password`).
    pub fn password_login(mut self, login: impl Into<String>, password: impl Into<String>) -> Self {
        self.login = login.into();
        self.password = password.into();
        self
    }

    /// The account number (`НомерАккаунта`) of the sandbox user (default `1234567`). A login
    /// naming another account is refused; `СБИС.ПереключитьАккаунт` accepts this one and
    /// `<account>-2`.
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    /// The service-application credentials `/oauth/service/` accepts
    /// (default `sandbox-app` / `sandbox-app-secret` / `sandbox-secret-key`).
    pub fn service_app(
        mut self,
        app_client_id: impl Into<String>,
        app_secret: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.app_client_id = app_client_id.into();
        self.app_secret = app_secret.into();
        self.secret_key = secret_key.into();
        self
    }

    /// Whether password login needs a confirmation code (default
    /// [`LoginConfirmation::Off`]). With a code, login follows the real two-step flow: the
    /// "confirmation required" error carrying `addinfo{Идентификатор, ИдентификаторСессии,
    /// Телефон, ...}`, then `СБИС.ОтправитьКодАутентификации {Идентификатор}` and
    /// `СБИС.ПодтвердитьВход {Идентификатор, Код}` sent with the temporary session in
    /// `X-SBISSessionID`; a wrong code is an error, five wrong codes end the attempt.
    pub fn login_confirmation(mut self, confirmation: LoginConfirmation) -> Self {
        self.login_confirmation = confirmation;
        self
    }

    /// What service-application login answers with (default [`OAuthAnswer::TokenAndSid`]).
    pub fn oauth_answer(mut self, answer: OAuthAnswer) -> Self {
        self.oauth_answer = answer;
        self
    }

    /// A session answers this many calls; the next one gets HTTP 401 (default: unlimited).
    pub fn session_expires_after_calls(mut self, calls: u64) -> Self {
        self.session_expires_after_calls = Some(calls);
        self
    }

    /// A session expires this long after login, whatever its use (default: never).
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = Some(ttl);
        self
    }

    /// A session expires after this long without calls (default 24 h, as the real service).
    pub fn session_idle_timeout(mut self, timeout: Duration) -> Self {
        self.session_idle_timeout = timeout;
        self
    }

    /// At most this many live sessions per user; one more login closes the oldest (default 5,
    /// as the real service).
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions.max(1);
        self
    }

    /// A fixed latency on every answer (default none), for benchmarks and timeout tests: each
    /// answer leaves this long after its request arrived (the sandbox's own work included),
    /// to within about 0.1 ms.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// `true`: actions offer a client-side key (`Ключ.Тип = "Клиентский"`) and
    /// `СБИС.ВыполнитьДействие` refuses to run without a `Подпись` for every file the stage
    /// signs. `false` (default): server-side keys (`"Серверный"`), no signature needed.
    pub fn client_side_signing(mut self, client_side: bool) -> Self {
        self.client_side_signing = client_side;
        self
    }

    /// What counts as one step of an outgoing document's progress (default
    /// [`PaceUnit::FeedPolls`]).
    pub fn pace(mut self, unit: PaceUnit) -> Self {
        self.pace = unit;
        self
    }

    /// Steps after sending until the document is Delivered (`4`, event `Получение`); default 1.
    pub fn delivery_after(mut self, steps: u32) -> Self {
        self.delivery_after = steps;
        self
    }

    /// Steps after delivery until the document is Completed (`7`, event `Утверждение`) or
    /// rejected (`9`, event `Отклонение`); default 1.
    pub fn completion_after(mut self, steps: u32) -> Self {
        self.completion_after = steps;
        self
    }

    /// Share (0.0–1.0) of sent documents the counterparty rejects (default 0), drawn from a
    /// seeded generator (see [`SandboxConfig::seed`]).
    pub fn reject_share(mut self, share: f64) -> Self {
        self.reject_share = share.clamp(0.0, 1.0);
        self
    }

    /// Documents whose `Название` or `Примечание` contains this marker are always rejected by
    /// the counterparty (default `[reject]`).
    pub fn reject_marker(mut self, marker: impl Into<String>) -> Self {
        self.reject_marker = marker.into();
        self
    }

    /// Seed of the generator deciding rejections (default fixed, so runs repeat).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// `true`: when an outgoing document is delivered, a service stage (`Служебный = "Да"`,
    /// action `Обработать служебное`) appears on it, as with the real service's receipts
    /// (default `false`).
    pub fn service_stage_on_delivery(mut self, enabled: bool) -> Self {
        self.service_stage_on_delivery = enabled;
        self
    }

    /// How long `СБИС.ОтложитьСлужебныйЭтап` hides a service stage (default 10 min of sandbox
    /// time; see [`Sandbox::advance_clock`](crate::Sandbox::advance_clock)).
    pub fn service_stage_defer(mut self, defer: Duration) -> Self {
        self.service_stage_defer = defer;
        self
    }

    /// Shape of `СБИС.ЗаписатьДокумент` answers (default [`ResultWrapping::Alternate`]).
    pub fn result_wrapping(mut self, wrapping: ResultWrapping) -> Self {
        self.result_wrapping = wrapping;
        self
    }

    /// `true` (default): error bodies alternate the real service's quirks — `code` as a string
    /// instead of a number, `details` equal to `message`.
    pub fn quirky_errors(mut self, quirky: bool) -> Self {
        self.quirky_errors = quirky;
        self
    }

    /// `true` (default): a JSON-RPC body with non-ASCII text whose `Content-Type` lacks
    /// `charset=utf-8` fails with `-32700`, as the real service reads it as cp1251.
    pub fn strict_content_type(mut self, strict: bool) -> Self {
        self.strict_content_type = strict;
        self
    }

    /// Default page size of the event feed when the request names none (default 25).
    pub fn feed_page_size(mut self, size: usize) -> Self {
        self.feed_page_size = size.max(1);
        self
    }

    /// Our organization (`НашаОрганизация`), filled in when a written document has none.
    pub fn our_organization(mut self, org: SandboxOrganization) -> Self {
        self.our_organization = org;
        self
    }

    /// The default counterparty: the sender of [`Incoming`](crate::Incoming) documents
    /// and an entry `СБИС.ИнформацияОКонтрагенте` knows by name.
    pub fn counterparty(mut self, org: SandboxOrganization) -> Self {
        self.counterparty = org;
        self
    }

    /// Faults injected from the start (default none); change them later with
    /// [`Sandbox::set_faults`](crate::Sandbox::set_faults).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }
}
