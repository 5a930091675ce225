//! The client-overhead set-up shared by the Criterion bench (`benches/client_overhead.rs`) and
//! the interleaved bench binary (`bench-overhead`): one loopback server, the typed clients and
//! the `reqwest` + `serde_json::Value` baselines, all on one shared `reqwest::Client`, and the
//! four calls compared.

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::TryStreamExt as _;
use futures::future::try_join_all;
use serde_json::{Value, json};

use crate::baseline::{RawBeorg, RawSaby};
use crate::fixtures;
use crate::server::{LoopbackServer, ServerConfig};

/// The calls compared, typed client against baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Beorg `ready` (a short list of ready sets).
    BeorgReady,
    /// Beorg `result` of a 4-document set (23 KB).
    BeorgResult,
    /// Saby `СБИС.ЗаписатьДокумент` with a 2 KiB attachment; answer: a full 6.6 KB `Документ`.
    SabyWrite,
    /// Saby `СБИС.СписокИзменений`: one page of 50 documents with one event each (~240 KB).
    SabyChanges,
}

impl Call {
    /// Every call, in report order.
    pub const ALL: [Call; 4] = [
        Call::BeorgReady,
        Call::BeorgResult,
        Call::SabyWrite,
        Call::SabyChanges,
    ];

    /// Criterion group name of the call in `benches/client_overhead.rs`.
    pub fn group(self) -> &'static str {
        match self {
            Call::BeorgReady => "beorg_ready",
            Call::BeorgResult => "beorg_result",
            Call::SabyWrite => "saby_write",
            Call::SabyChanges => "saby_changes",
        }
    }

    /// Label used in the results table.
    pub fn label(self) -> &'static str {
        match self {
            Call::BeorgReady => "Beorg ready",
            Call::BeorgResult => "Beorg result (4 docs, 23 KB)",
            Call::SabyWrite => "Saby ЗаписатьДокумент",
            Call::SabyChanges => "Saby СписокИзменений (50 events)",
        }
    }
}

/// Which side of a comparison runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The typed SDK client.
    Typed,
    /// Plain `reqwest` + `serde_json::Value`, each request under the typed clients' default
    /// per-attempt timeout (60 s): the careful hand-written client.
    Baseline,
    /// The same without any timeout: the bare baseline.
    Bare,
}

/// The careful baseline's per-request timeout: the typed clients' default per-attempt
/// timeout.
pub const BASELINE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Server, clients and request inputs of the comparison.
pub struct Fixture {
    /// The loopback server both sides talk to (kept alive with the fixture).
    pub server: LoopbackServer,
    /// Typed Beorg client.
    pub beorg: beorg_client::Client,
    /// Typed Saby client, already logged in.
    pub saby: saby_client::Client,
    /// Careful baseline Beorg calls (per-request timeout).
    pub raw_beorg: RawBeorg,
    /// Careful baseline Saby calls (per-request timeout), already logged in.
    pub raw_saby: RawSaby,
    /// Bare baseline Beorg calls (no timeout).
    pub bare_beorg: RawBeorg,
    /// Bare baseline Saby calls (no timeout), the same session.
    pub bare_saby: RawSaby,
    /// The document the typed side writes.
    pub typed_doc: saby_client::Document,
    /// The same document as JSON, for the baseline.
    pub raw_doc: Value,
    /// `ДатаВремяС` of the event-feed request.
    pub since: saby_client::SabyDateTime,
}

/// The request document as the baseline builds it: JSON with the attachment base64-encoded.
pub fn raw_document(attachment: &[u8]) -> Value {
    json!({
        "Идентификатор": "6f1c1b1e-0000-4000-8000-000000000001",
        "Тип": "ДокОтгрИсх",
        "Регламент": {"Название": "Кадровые документы (сотрудник)"},
        "НашаОрганизация": {"СвЮЛ": {"ИНН": "5406123456", "КПП": "540601001", "Название": "ООО «Сибирские Технологии»"}},
        "Контрагент": {"СвФЛ": {"ИНН": "540612345678", "Фамилия": "Иванов", "Имя": "Иван", "Отчество": "Иванович"}},
        "Вложение": [{
            "Идентификатор": "6f1c1b1e-0000-4000-8000-0000000000a1",
            "Файл": {"Имя": "Паспорт_Иванов.pdf", "ДвоичныеДанные": BASE64.encode(attachment)}
        }]
    })
}

/// The same document built with the typed model.
pub fn typed_document(attachment: &[u8]) -> saby_client::Document {
    saby_client::Document::new("6f1c1b1e-0000-4000-8000-000000000001")
        .with_type("ДокОтгрИсх")
        .with_regulation(saby_client::Regulation::by_name(
            "Кадровые документы (сотрудник)",
        ))
        .with_our_organization(saby_client::Party::legal_entity(
            "5406123456",
            "540601001",
            "ООО «Сибирские Технологии»",
        ))
        .with_counterparty(saby_client::Party::individual(
            "540612345678",
            "Иванов",
            "Иван",
            "Иванович",
        ))
        .with_attachment(saby_client::Attachment::from_bytes(
            "6f1c1b1e-0000-4000-8000-0000000000a1",
            "Паспорт_Иванов.pdf",
            attachment.to_vec(),
        ))
}

impl Fixture {
    /// Starts the loopback server and builds both sides; both log in to Saby here, outside
    /// any measurement. Must run inside a Tokio runtime.
    ///
    /// # Errors
    /// When the server cannot start, a client cannot be built or a login fails.
    pub async fn start() -> crate::Result<Self> {
        let server = LoopbackServer::start(ServerConfig::new()).await?;
        let http = crate::http_client()?;
        let bare_beorg = RawBeorg::new(
            http.clone(),
            server.uri(),
            fixtures::BEORG_TOKEN,
            fixtures::BEORG_PROJECT,
        );
        let bare_saby = RawSaby::login(
            http.clone(),
            server.uri(),
            fixtures::SABY_LOGIN,
            fixtures::SABY_PASSWORD,
        )
        .await?;
        let raw_beorg = bare_beorg.clone().with_timeout(BASELINE_TIMEOUT);
        let raw_saby = bare_saby.clone().with_timeout(BASELINE_TIMEOUT);
        let beorg = beorg_client::Client::builder()
            .base_url(server.uri())
            .token(fixtures::BEORG_TOKEN)
            .project_id(fixtures::BEORG_PROJECT)
            .machine_uid(fixtures::BEORG_MACHINE_UID)
            .http_client(http.clone())
            .build()?;
        // max_in_flight: the client's own limit (default 5, Saby's advice per session) would
        // queue calls the baseline makes at once; raise it so both sides do the same thing.
        let saby = saby_client::Client::builder()
            .base_url(server.uri())
            .credentials(saby_client::Credentials::password(
                fixtures::SABY_LOGIN,
                fixtures::SABY_PASSWORD,
            ))
            .http_client(http)
            .max_in_flight(64)
            .build()?;
        // The first call logs in.
        saby.write_document(&typed_document(&[])).await?;
        let attachment = fixtures::attachment_bytes(2048);
        Ok(Fixture {
            server,
            beorg,
            saby,
            raw_beorg,
            raw_saby,
            bare_beorg,
            bare_saby,
            typed_doc: typed_document(&attachment),
            raw_doc: raw_document(&attachment),
            since: saby_client::SabyDateTime::parse("23.11.2026 00.00.00"),
        })
    }

    /// Makes `n` copies of `call` at once on the current task, on `side`; the answers are
    /// decoded (typed or into `Value`) and dropped.
    ///
    /// # Errors
    /// The first call that failed: a failing call must never be timed as a fast one.
    pub async fn run(&self, call: Call, side: Side, n: usize) -> crate::Result<()> {
        let (raw_beorg, raw_saby) = match side {
            Side::Bare => (&self.bare_beorg, &self.bare_saby),
            Side::Typed | Side::Baseline => (&self.raw_beorg, &self.raw_saby),
        };
        match (call, side) {
            (Call::BeorgReady, Side::Typed) => {
                black_box(try_join_all((0..n).map(|_| self.beorg.ready(16))).await?);
            }
            (Call::BeorgReady, Side::Baseline | Side::Bare) => {
                black_box(try_join_all((0..n).map(|_| raw_beorg.ready(16))).await?);
            }
            (Call::BeorgResult, Side::Typed) => {
                black_box(
                    try_join_all((0..n).map(|i| {
                        let set = beorg_client::SetId::new(format!("s-{}", 12_340 + i));
                        async move { self.beorg.result(&set).await }
                    }))
                    .await?,
                );
            }
            (Call::BeorgResult, Side::Baseline | Side::Bare) => {
                black_box(
                    try_join_all((0..n).map(|i| {
                        let set = format!("s-{}", 12_340 + i);
                        async move { raw_beorg.result(&set).await }
                    }))
                    .await?,
                );
            }
            (Call::SabyWrite, Side::Typed) => {
                black_box(
                    try_join_all((0..n).map(|_| self.saby.write_document(&self.typed_doc))).await?,
                );
            }
            (Call::SabyWrite, Side::Baseline | Side::Bare) => {
                black_box(
                    try_join_all((0..n).map(|_| raw_saby.write_document(self.raw_doc.clone())))
                        .await?,
                );
            }
            (Call::SabyChanges, Side::Typed) => {
                black_box(
                    try_join_all((0..n).map(|_| {
                        self.saby
                            .events(saby_client::EventCursor::since(self.since.clone()))
                            .try_collect::<Vec<_>>()
                    }))
                    .await?,
                );
            }
            (Call::SabyChanges, Side::Baseline | Side::Bare) => {
                black_box(
                    try_join_all(
                        (0..n).map(|_| {
                            raw_saby.changes(json!({"ДатаВремяС": "23.11.2026 00.00.00"}))
                        }),
                    )
                    .await?,
                );
            }
        }
        Ok(())
    }
}
