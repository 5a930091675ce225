//! [`PipelineConfig`]: what the pipeline does and how hard it tries, built with
//! [`PipelineConfigBuilder`] or read from the environment
//! ([`PipelineConfig::from_env`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use beorg_client::watermark::{DEFAULT_GAP_GRACE, DEFAULT_MAX_JUMP, WatermarkRule};
use hr_docs_checks::{BrokenPolicy, Check, Policy, PolicyBuilder, Severity, validate_inn};
use saby_client::{ArchiveOptions, Party, Regulation, StateCode};

use crate::error::{Error, Result};
use crate::store::SkipReason;

/// Environment variable: the SQLite state file (default `hr-docs-state/state.db`).
pub const ENV_STATE_PATH: &str = "PIPELINE_STATE_PATH";
/// Environment variable: the local archive directory (default `hr-docs-archive`).
pub const ENV_ARCHIVE_DIR: &str = "PIPELINE_ARCHIVE_DIR";
/// Environment variable: where each set's archive comes from: `zip` (the default: the document's zip, one
/// request, kept as is), `zip+unpack` (the zip, also unpacked beside it) or `files` (every
/// attachment and signature, one request each) — see [`PipelineConfig::archive`].
pub const ENV_ARCHIVE: &str = "PIPELINE_ARCHIVE";
/// Environment variable: comma-separated Beorg contours to process (default:
/// all); the company's other sets are recorded as skipped. See
/// [`PipelineConfig::contours`].
pub const ENV_CONTOURS: &str = "PIPELINE_CONTOURS";
/// Removed environment variable: `PIPELINE_PROJECTS` named contours to treat as
/// projects with a `start_id` each, which could send a set twice. Its meaning
/// changed, so [`PipelineConfig::from_env`] refuses it rather than reinterpret
/// it: use [`ENV_CONTOURS`] to limit processing to named contours (the company
/// is the Beorg client's `project_id`).
pub const ENV_REMOVED_PROJECTS: &str = "PIPELINE_PROJECTS";
/// Environment variable: how long a set may stay "not ready" (HTTP 425) from
/// when it was first seen before it fails, e.g. `24h` (default `24h`).
pub const ENV_NOT_READY_TIMEOUT: &str = "PIPELINE_NOT_READY_TIMEOUT";
/// Environment variable: the largest step between consecutive Beorg set
/// numbers still taken as the same run (default 1000000); see
/// [`PipelineConfig::max_jump`].
pub const ENV_MAX_JUMP: &str = "PIPELINE_MAX_JUMP";
/// Prefix of the per-contour routing variables: `PIPELINE_ROUTE_<n>_CONTOUR`
/// (the contour's name, required for route `n`), and any of `_DOC_TYPE`,
/// `_REGULATION`, `_REGULATION_ID`, `_OUR_ORG_INN`, `_OUR_ORG_KPP`,
/// `_OUR_ORG_NAME`, `_COUNTERPARTY_INN`, `_COUNTERPARTY_KPP`,
/// `_COUNTERPARTY_NAME`, for `n` from 1 to [`MAX_ROUTES`]. See
/// [`PipelineConfig::contour_templates`].
pub const ENV_ROUTE_PREFIX: &str = "PIPELINE_ROUTE_";
/// The highest route number read from the environment.
pub const MAX_ROUTES: usize = 32;
/// Environment variable: sets worked on at once (default 4).
pub const ENV_CONCURRENCY: &str = "PIPELINE_CONCURRENCY";
/// Environment variable: sets tracked at once, including those waiting for a
/// final state (default 256).
pub const ENV_MAX_IN_FLIGHT: &str = "PIPELINE_MAX_IN_FLIGHT";
/// Environment variable: pause between passes (Beorg polls, retries, event
/// feed), e.g. `30s`, `500ms`, `2m` (default `30s`).
pub const ENV_POLL_INTERVAL: &str = "PIPELINE_POLL_INTERVAL";
/// Environment variable: how long a sent document may take to reach a final
/// state, e.g. `72h`, `3d` (default `72h`).
pub const ENV_FINAL_DEADLINE: &str = "PIPELINE_FINAL_DEADLINE";
/// Environment variable: how often a waiting document is re-read directly, in
/// case an event was missed (default `10m`).
pub const ENV_RECHECK_INTERVAL: &str = "PIPELINE_RECHECK_INTERVAL";
/// Environment variable: passes with a retryable error before a set is
/// recorded as failed (default 10).
pub const ENV_MAX_PASSES: &str = "PIPELINE_MAX_PASSES";
/// Environment variable: optional deadline of one `run_once`, e.g. `15m`.
pub const ENV_RUN_DEADLINE: &str = "PIPELINE_RUN_DEADLINE";
/// Environment variable: the first Beorg set number to poll from on a fresh
/// state file (default 1).
pub const ENV_START_ID: &str = "PIPELINE_START_ID";
/// Environment variable: how long an unseen Beorg set number below a seen one
/// (a gap) holds the `start_id` watermark, e.g. `15m`, `900` (seconds), `0` to
/// not wait for gaps (default `15m`; see [`PipelineConfig::gap_grace`]).
pub const ENV_GAP_GRACE: &str = "PIPELINE_GAP_GRACE";
/// Environment variable: comma-separated Saby state codes that count as final
/// (default `7,9,6,19,20,22`).
pub const ENV_FINAL_STATES: &str = "PIPELINE_FINAL_STATES";
/// Environment variable: Saby document type (`Тип`), required.
pub const ENV_DOC_TYPE: &str = "SABY_DOC_TYPE";
/// Environment variable: Saby regulation (`Регламент.Название`), optional.
pub const ENV_REGULATION: &str = "SABY_REGULATION";
/// Environment variable: Saby regulation id (`Регламент.Идентификатор`),
/// optional; wins over [`ENV_REGULATION`].
pub const ENV_REGULATION_ID: &str = "SABY_REGULATION_ID";
/// Environment variable: our organization's INN, required.
pub const ENV_OUR_ORG_INN: &str = "SABY_OUR_ORG_INN";
/// Environment variable: our organization's KPP, optional.
pub const ENV_OUR_ORG_KPP: &str = "SABY_OUR_ORG_KPP";
/// Environment variable: our organization's name, required.
pub const ENV_OUR_ORG_NAME: &str = "SABY_OUR_ORG_NAME";
/// Environment variable: the counterparty's INN, required.
pub const ENV_COUNTERPARTY_INN: &str = "SABY_COUNTERPARTY_INN";
/// Environment variable: the counterparty's KPP, optional.
pub const ENV_COUNTERPARTY_KPP: &str = "SABY_COUNTERPARTY_KPP";
/// Environment variable: the counterparty's name, required.
pub const ENV_COUNTERPARTY_NAME: &str = "SABY_COUNTERPARTY_NAME";
/// Environment variable: the data checks' confidence threshold, a number from
/// 0 to 1 (default 0.8): a recognized field Beorg is less sure of is a
/// `low_confidence` finding. See [`PipelineConfig::checks`].
pub const ENV_CHECK_CONFIDENCE: &str = "PIPELINE_CHECK_CONFIDENCE";
/// Environment variable: the allowed age of a document's holder in full
/// years, `MIN-MAX` (default `14-120`).
pub const ENV_CHECK_AGE: &str = "PIPELINE_CHECK_AGE";
/// Environment variable: what a document (or set) Beorg marked `broken` does:
/// `hold` (default: held for review) or `fail` (the set fails).
pub const ENV_CHECK_BROKEN: &str = "PIPELINE_CHECK_BROKEN";
/// Environment variable: comma-separated checks (their names, e.g.
/// `field_missing,low_confidence`) whose findings are errors: the set is held.
pub const ENV_CHECK_ERRORS: &str = "PIPELINE_CHECK_ERRORS";
/// Environment variable: comma-separated checks whose findings are warnings:
/// they travel with the document and do not stop it.
pub const ENV_CHECK_WARNINGS: &str = "PIPELINE_CHECK_WARNINGS";
/// Environment variable: comma-separated checks whose findings are fatal: the
/// set fails.
pub const ENV_CHECK_FATAL: &str = "PIPELINE_CHECK_FATAL";
/// Environment variable: comma-separated checks that do not run.
pub const ENV_CHECK_DISABLED: &str = "PIPELINE_CHECK_DISABLED";

/// The default final states: completed (7), completed with problems (9 — this
/// is where a rejection ends), error (6), withdrawn (19), deleted by the
/// counterparty (20), annulled (22). `Delivered` (4) is not final by default:
/// add it when your regulation asks nothing of the counterparty.
pub fn default_final_states() -> Vec<StateCode> {
    vec![
        StateCode::Completed,
        StateCode::CompletedWithProblems,
        StateCode::Error,
        StateCode::Withdrawn,
        StateCode::DeletedByCounterparty,
        StateCode::Annulled,
    ]
}

/// What every Saby document made from a set carries (used by the
/// [`DefaultMapper`](crate::DefaultMapper); custom mappers may use it too).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DocumentTemplate {
    /// `Тип` of the document, e.g. `ДокОтгрИсх` or your HR type.
    pub doc_type: String,
    /// `Регламент`, when your account needs one named.
    pub regulation: Option<Regulation>,
    /// `НашаОрганизация`.
    pub our_organization: Party,
    /// `Контрагент`.
    pub counterparty: Party,
}

impl DocumentTemplate {
    /// A template with the given type, our organization and counterparty.
    pub fn new(doc_type: impl Into<String>, our_organization: Party, counterparty: Party) -> Self {
        Self {
            doc_type: doc_type.into(),
            regulation: None,
            our_organization,
            counterparty,
        }
    }

    /// Sets the regulation.
    pub fn with_regulation(mut self, regulation: Regulation) -> Self {
        self.regulation = Some(regulation);
        self
    }

    /// This template with `overrides` applied (each given field replaces ours).
    pub fn with_overrides(&self, overrides: &TemplateOverride) -> DocumentTemplate {
        DocumentTemplate {
            doc_type: overrides
                .doc_type
                .clone()
                .unwrap_or_else(|| self.doc_type.clone()),
            regulation: overrides
                .regulation
                .clone()
                .or_else(|| self.regulation.clone()),
            our_organization: overrides
                .our_organization
                .clone()
                .unwrap_or_else(|| self.our_organization.clone()),
            counterparty: overrides
                .counterparty
                .clone()
                .unwrap_or_else(|| self.counterparty.clone()),
        }
    }
}

/// What one contour's documents carry differently from the default
/// [`DocumentTemplate`]: each field given replaces the default's, the others
/// fall back to it. See [`PipelineConfigBuilder::contour_template`].
///
/// ```
/// use hr_docs_pipeline::TemplateOverride;
/// use saby_client::{Party, Regulation};
///
/// let kazan = TemplateOverride::new()
///     .doc_type("ДокКадрКазань")
///     .regulation(Regulation::by_name("Кадровые документы Казань"))
///     .counterparty(Party::legal_entity("1655000003", "165501001", "АО Казань"));
/// assert_eq!(kazan.doc_type.as_deref(), Some("ДокКадрКазань"));
/// assert!(kazan.our_organization.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TemplateOverride {
    /// `Тип` of the contour's documents.
    pub doc_type: Option<String>,
    /// `Регламент`.
    pub regulation: Option<Regulation>,
    /// `НашаОрганизация`.
    pub our_organization: Option<Party>,
    /// `Контрагент`.
    pub counterparty: Option<Party>,
}

impl TemplateOverride {
    /// No override (the default template as it is).
    pub fn new() -> Self {
        Self::default()
    }

    /// The document type.
    pub fn doc_type(mut self, doc_type: impl Into<String>) -> Self {
        self.doc_type = Some(doc_type.into());
        self
    }

    /// The regulation.
    pub fn regulation(mut self, regulation: Regulation) -> Self {
        self.regulation = Some(regulation);
        self
    }

    /// Our organization.
    pub fn our_organization(mut self, party: Party) -> Self {
        self.our_organization = Some(party);
        self
    }

    /// The counterparty.
    pub fn counterparty(mut self, party: Party) -> Self {
        self.counterparty = Some(party);
        self
    }
}

/// The pipeline's configuration. Build it with [`PipelineConfig::builder`] or
/// [`PipelineConfig::from_env`]; every field is documented with its default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// The contours to process (`None`, the default: every set of the
    /// company). The company — the Beorg client's `project_id` — has one
    /// `start_id` and one list of ready sets; a contour is a property of each
    /// set (from `by_project`). With a filter, a set on another contour, or one
    /// whose contour Beorg's answer does not name, is recorded
    /// [`Skipped`](crate::store::SetStatus::Skipped) — visible in the state and
    /// the summary, never fetched or sent, and it never holds the watermark.
    pub contours: Option<Vec<String>>,
    /// What each Saby document carries (the default for every contour).
    pub document: DocumentTemplate,
    /// Per-contour overrides of [`document`](Self::document): the template of
    /// a set on contour `c` is `document.with_overrides(&contour_templates[c])`
    /// (the default as it is for other contours and sets without one).
    pub contour_templates: BTreeMap<String, TemplateOverride>,
    /// Sets whose API steps run at once (default 4). Each client's own
    /// connection pool is shared by all of them.
    pub concurrency: usize,
    /// Sets tracked at once, including those only waiting for a final state
    /// (default 256). Bounds memory: nothing else grows with the number of sets.
    /// Also the back-pressure threshold: while the store holds this many
    /// pending sets, Beorg is not polled.
    pub max_in_flight: usize,
    /// Pause between passes: Beorg polling, retries of pending sets, event
    /// feed polling (default 30 s).
    pub poll_interval: Duration,
    /// How long a sent document may take to reach a final state, counted from
    /// sending and persisted across restarts (default 72 h). Past it the set is
    /// recorded failed with reason "timed out waiting for final state".
    pub final_state_deadline: Duration,
    /// How often a waiting document is read directly in case its event was
    /// missed (default 10 min).
    pub recheck_interval: Duration,
    /// Saby states that end tracking (default [`default_final_states`]).
    pub final_states: Vec<StateCode>,
    /// The local archive: each set's files go to
    /// `<archive_dir>/<company>/<set id>/` (both sanitized as file names), so
    /// several companies can share one directory.
    pub archive_dir: PathBuf,
    /// How each set's archive is made (default [`ArchiveOptions::zip`]): from the
    /// document's zip (`СсылкаНаАрхив`, "all attachments and e-signatures" — Saby's help
    /// page), **one request**, kept as Saby made it and checked entry by entry within its
    /// [`ZipLimits`](saby_client::ZipLimits), with a `manifest.json` listing its entries;
    /// `.unpack(true)` also unpacks it beside the zip. A document that links no zip is
    /// archived file by file. [`ArchiveOptions::files`] archives file by file always (one
    /// request per attachment and per signature), for accounts whose zip is not available.
    pub archive: ArchiveOptions,
    /// The SQLite state file (used when no custom store is given).
    pub state_path: PathBuf,
    /// Passes ending in a retryable error at one step before the set is
    /// recorded failed (default 10). `425 Too Early` does not count.
    pub max_passes: u32,
    /// Upper bound of one [`run_once`](crate::Pipeline::run_once) (default
    /// none: until every seen set is settled).
    pub run_deadline: Option<Duration>,
    /// The Beorg set number to start from on a fresh state file (default 1).
    pub initial_start_id: u64,
    /// How long a *gap* — a set number not seen while a higher one was —
    /// holds Beorg's `start_id`, counted from when the gap became observable
    /// (the first sighting of a higher set) (default 15 min).
    ///
    /// Beorg recognizes sets at different speeds, so set 16 can become ready
    /// after set 17; once `start_id` moves past 16 it is never listed again.
    /// A gap may also be permanent (another customer's or contour's number, a
    /// deleted set), so it cannot hold forever. Beorg's slowest processing is
    /// about 150 s (poor `PASSPORT_REG` scans), so a set missing from behind a
    /// later one shows up within 150 s plus one
    /// [`poll_interval`](Self::poll_interval); 15 minutes leaves a wide margin
    /// for Beorg queueing and for polls that fail for a while (a gap is only
    /// released after a *successful* poll sent past its grace). A held gap
    /// delays nothing — sets above it are processed at once; it only makes
    /// each poll list the sets above it again (skipped by id).
    /// `Duration::ZERO` does not wait for gaps (a late set may then be lost).
    /// See [`crate::watermark`].
    pub gap_grace: Duration,
    /// The largest step between two consecutive set numbers the `start_id`
    /// watermark takes as one run (default 1,000,000): a number further above
    /// the previous one (say `s-9000000000` among sets in the hundreds) and
    /// every number above it are outliers that never move `start_id` (they are
    /// still processed, and logged as a warning). See [`crate::watermark`].
    pub max_jump: u64,
    /// How long a set may stay "not ready" (Beorg answers 425) from when it
    /// was first seen (default 24 h); past it the set fails
    /// ([`FailureKind::NotReadyExpired`](crate::store::FailureKind::NotReadyExpired))
    /// and stops holding the watermark.
    pub not_ready_timeout: Duration,
    /// How long [`run_until`](crate::Pipeline::run_until) waits for in-flight steps after
    /// the shutdown future completes before dropping them (safe: the store is consistent at every
    /// step boundary) (default 30 s).
    pub shutdown_grace: Duration,
    /// The data checks run on each fetched result before anything of it is
    /// written to Saby (default [`Policy::default`]): which checks run, at
    /// which severity, the confidence threshold and the age bounds. Errors
    /// hold the set for review, fatal findings fail it, warnings travel with
    /// the document (see [`crate::review`]). Defaults: a failed check number
    /// (SNILS, INN, MRZ), a malformed number, a date that cannot be right and
    /// a `broken` document are errors; a low confidence (under 0.8), a
    /// missing field and Beorg's own verification signals are warnings
    /// (`docs/checks.md` lists every check).
    pub checks: Policy,
}

impl PipelineConfig {
    /// A builder; `document` is the only required part.
    pub fn builder(document: DocumentTemplate) -> PipelineConfigBuilder {
        PipelineConfigBuilder {
            config: PipelineConfig {
                contours: None,
                document,
                contour_templates: BTreeMap::new(),
                concurrency: 4,
                max_in_flight: 256,
                poll_interval: Duration::from_secs(30),
                final_state_deadline: Duration::from_secs(72 * 3600),
                recheck_interval: Duration::from_secs(600),
                final_states: default_final_states(),
                archive_dir: PathBuf::from("hr-docs-archive"),
                archive: ArchiveOptions::zip(),
                state_path: PathBuf::from("hr-docs-state/state.db"),
                max_passes: 10,
                run_deadline: None,
                initial_start_id: 1,
                gap_grace: DEFAULT_GAP_GRACE,
                max_jump: DEFAULT_MAX_JUMP,
                not_ready_timeout: Duration::from_secs(24 * 3600),
                shutdown_grace: Duration::from_secs(30),
                checks: Policy::default(),
            },
        }
    }

    /// Reads the configuration from the process environment (see the `ENV_*`
    /// constants of this module and `docs/configuration.md`).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with a custom variable lookup (for tests
    /// and for configuration kept elsewhere).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &str| {
            get(name).ok_or_else(|| Error::Env {
                name: name.to_owned(),
                problem: "is not set".to_owned(),
            })
        };
        if get(ENV_REMOVED_PROJECTS).is_some() {
            return Err(Error::Env {
                name: ENV_REMOVED_PROJECTS.to_owned(),
                problem: format!(
                    "is no longer supported: its meaning changed (it made each named contour a \
                     project with its own start_id, which could send a set twice). The company \
                     is the Beorg client's project_id (BEORG_PROJECT_ID) and every ready set of \
                     it is processed; to process only some contours, set {ENV_CONTOURS}=a,b \
                     instead, and remove {ENV_REMOVED_PROJECTS}"
                ),
            });
        }
        let our_organization = Party::legal_entity(
            inn(ENV_OUR_ORG_INN, required(ENV_OUR_ORG_INN)?)?,
            get(ENV_OUR_ORG_KPP).unwrap_or_default(),
            required(ENV_OUR_ORG_NAME)?,
        );
        let counterparty = Party::legal_entity(
            inn(ENV_COUNTERPARTY_INN, required(ENV_COUNTERPARTY_INN)?)?,
            get(ENV_COUNTERPARTY_KPP).unwrap_or_default(),
            required(ENV_COUNTERPARTY_NAME)?,
        );
        let mut document =
            DocumentTemplate::new(required(ENV_DOC_TYPE)?, our_organization, counterparty);
        document.regulation = match (get(ENV_REGULATION_ID), get(ENV_REGULATION)) {
            (Some(id), _) => Some(Regulation::by_id(id)),
            (None, Some(name)) => Some(Regulation::by_name(name)),
            (None, None) => None,
        };
        let mut b = PipelineConfig::builder(document);
        if let Some(v) = get(ENV_STATE_PATH) {
            b = b.state_path(v);
        }
        if let Some(v) = get(ENV_ARCHIVE_DIR) {
            b = b.archive_dir(v);
        }
        if let Some(v) = get(ENV_ARCHIVE) {
            b = b.archive(match v.to_ascii_lowercase().as_str() {
                "zip" => ArchiveOptions::zip(),
                "zip+unpack" => ArchiveOptions::zip().unpack(true),
                "files" => ArchiveOptions::files(),
                _ => {
                    return Err(Error::Env {
                        name: ENV_ARCHIVE.to_owned(),
                        problem: "expected zip, zip+unpack or files".to_owned(),
                    });
                }
            });
        }
        if let Some(v) = get(ENV_CONTOURS) {
            b = b.contours(
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
        }
        for n in 1..=MAX_ROUTES {
            let var = |suffix: &str| format!("{ENV_ROUTE_PREFIX}{n}_{suffix}");
            let value = |suffix: &str| get(&var(suffix));
            let any = ROUTE_SUFFIXES.iter().any(|sfx| value(sfx).is_some());
            let Some(contour) = value("CONTOUR") else {
                if any {
                    return Err(Error::Env {
                        name: var("CONTOUR"),
                        problem: format!(
                            "is not set, but other {ENV_ROUTE_PREFIX}{n}_* variables are"
                        ),
                    });
                }
                continue;
            };
            let mut o = TemplateOverride::new();
            if let Some(t) = value("DOC_TYPE") {
                o = o.doc_type(t);
            }
            match (value("REGULATION_ID"), value("REGULATION")) {
                (Some(id), _) => o = o.regulation(Regulation::by_id(id)),
                (None, Some(name)) => o = o.regulation(Regulation::by_name(name)),
                (None, None) => {}
            }
            if let Some(party) = route_party(&value, &var, "OUR_ORG")? {
                o = o.our_organization(party);
            }
            if let Some(party) = route_party(&value, &var, "COUNTERPARTY")? {
                o = o.counterparty(party);
            }
            b = b.contour_template(contour, o);
        }
        if let Some(v) = get(ENV_CONCURRENCY) {
            b = b.concurrency(parse_number(ENV_CONCURRENCY, &v)?);
        }
        if let Some(v) = get(ENV_MAX_IN_FLIGHT) {
            b = b.max_in_flight(parse_number(ENV_MAX_IN_FLIGHT, &v)?);
        }
        if let Some(v) = get(ENV_POLL_INTERVAL) {
            b = b.poll_interval(parse_duration_env(ENV_POLL_INTERVAL, &v)?);
        }
        if let Some(v) = get(ENV_FINAL_DEADLINE) {
            b = b.final_state_deadline(parse_duration_env(ENV_FINAL_DEADLINE, &v)?);
        }
        if let Some(v) = get(ENV_RECHECK_INTERVAL) {
            b = b.recheck_interval(parse_duration_env(ENV_RECHECK_INTERVAL, &v)?);
        }
        if let Some(v) = get(ENV_MAX_PASSES) {
            b = b.max_passes(parse_number(ENV_MAX_PASSES, &v)?);
        }
        if let Some(v) = get(ENV_RUN_DEADLINE) {
            b = b.run_deadline(parse_duration_env(ENV_RUN_DEADLINE, &v)?);
        }
        if let Some(v) = get(ENV_START_ID) {
            b = b.initial_start_id(parse_number(ENV_START_ID, &v)?);
        }
        if let Some(v) = get(ENV_GAP_GRACE) {
            b = b.gap_grace(parse_duration_env(ENV_GAP_GRACE, &v)?);
        }
        if let Some(v) = get(ENV_MAX_JUMP) {
            b = b.max_jump(parse_number(ENV_MAX_JUMP, &v)?);
        }
        if let Some(v) = get(ENV_NOT_READY_TIMEOUT) {
            b = b.not_ready_timeout(parse_duration_env(ENV_NOT_READY_TIMEOUT, &v)?);
        }
        if let Some(v) = get(ENV_FINAL_STATES) {
            b = b.final_states(
                v.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(StateCode::from_code),
            );
        }
        b.checks(checks_from_lookup(&get)?).build()
    }

    /// Whether `code` ends tracking.
    pub fn is_final(&self, code: &StateCode) -> bool {
        self.final_states.contains(code)
    }

    /// The template of a set on `contour`: [`document`](Self::document) with
    /// the contour's [override](Self::contour_templates) applied, if any.
    pub fn template_for(&self, contour: Option<&str>) -> DocumentTemplate {
        match contour.and_then(|c| self.contour_templates.get(c)) {
            Some(o) => self.document.with_overrides(o),
            None => self.document.clone(),
        }
    }

    /// Why a set on `contour` is skipped under the [contour
    /// filter](Self::contours), `None` when it is processed.
    pub fn skip_reason(&self, contour: Option<&str>) -> Option<SkipReason> {
        let filter = self.contours.as_ref()?;
        match contour {
            Some(c) if filter.iter().any(|f| f == c) => None,
            Some(_) => Some(SkipReason::ContourFiltered),
            None => Some(SkipReason::ContourUnknown),
        }
    }

    /// The `start_id` rule: [`gap_grace`](Self::gap_grace) and
    /// [`max_jump`](Self::max_jump).
    pub fn watermark_rule(&self) -> WatermarkRule {
        WatermarkRule::new()
            .with_gap_grace(self.gap_grace)
            .with_max_jump(self.max_jump)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_party_inn("document.our_organization", &self.document.our_organization)?;
        check_party_inn("document.counterparty", &self.document.counterparty)?;
        for (contour, o) in &self.contour_templates {
            if let Some(party) = &o.our_organization {
                check_party_inn(
                    &format!("contour_templates[{contour:?}].our_organization"),
                    party,
                )?;
            }
            if let Some(party) = &o.counterparty {
                check_party_inn(
                    &format!("contour_templates[{contour:?}].counterparty"),
                    party,
                )?;
            }
        }
        if self.concurrency == 0 {
            return Err(Error::Config("concurrency must be at least 1".to_owned()));
        }
        if self.max_in_flight == 0 {
            return Err(Error::Config("max_in_flight must be at least 1".to_owned()));
        }
        if self.max_passes == 0 {
            return Err(Error::Config("max_passes must be at least 1".to_owned()));
        }
        if self.final_states.is_empty() {
            return Err(Error::Config(
                "final_states must name at least one state".to_owned(),
            ));
        }
        if self.document.doc_type.trim().is_empty() {
            return Err(Error::Config("the Saby document type is empty".to_owned()));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::Config("poll_interval must be positive".to_owned()));
        }
        if self.max_jump == 0 {
            return Err(Error::Config("max_jump must be at least 1".to_owned()));
        }
        if let Some(contours) = &self.contours {
            if contours.is_empty() {
                return Err(Error::Config(
                    "the contour filter names no contour (leave it unset to process every set)"
                        .to_owned(),
                ));
            }
            if contours.iter().any(|c| c.trim().is_empty()) {
                return Err(Error::Config("a contour in the filter is empty".to_owned()));
            }
        }
        for (contour, o) in &self.contour_templates {
            if contour.trim().is_empty() {
                return Err(Error::Config(
                    "a contour template has an empty contour name".to_owned(),
                ));
            }
            if o.doc_type.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return Err(Error::Config(format!(
                    "the document type of contour {contour:?} is empty"
                )));
            }
        }
        Ok(())
    }
}

/// Builds a [`PipelineConfig`]; see its fields for meanings and defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct PipelineConfigBuilder {
    config: PipelineConfig,
}

impl PipelineConfigBuilder {
    /// Processes only the sets on these contours; the company's others are
    /// recorded as skipped (see [`PipelineConfig::contours`]).
    pub fn contours<I, S>(mut self, contours: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.contours = Some(contours.into_iter().map(Into::into).collect());
        self
    }

    /// Processes every set of the company, whatever its contour (the default).
    pub fn all_contours(mut self) -> Self {
        self.config.contours = None;
        self
    }

    /// Routes the documents of `contour` with these overrides of the default
    /// template (a later call for the same contour replaces the earlier).
    ///
    /// ```
    /// use hr_docs_pipeline::{DocumentTemplate, PipelineConfig, TemplateOverride};
    /// use saby_client::Party;
    ///
    /// let template = DocumentTemplate::new(
    ///     "ДокКадр",
    ///     Party::legal_entity("7605016030", "760501001", "ООО Ромашка"),
    ///     Party::legal_entity("7707083893", "773601001", "ПАО Контрагент"),
    /// );
    /// let config = PipelineConfig::builder(template)
    ///     .contour_template("Кадры-Казань", TemplateOverride::new().doc_type("ДокКадрКазань"))
    ///     .build()?;
    /// assert_eq!(config.template_for(Some("Кадры-Казань")).doc_type, "ДокКадрКазань");
    /// assert_eq!(config.template_for(Some("Кадры-Москва")).doc_type, "ДокКадр");
    /// assert_eq!(config.template_for(None).doc_type, "ДокКадр");
    /// # Ok::<(), hr_docs_pipeline::Error>(())
    /// ```
    pub fn contour_template(mut self, contour: impl Into<String>, o: TemplateOverride) -> Self {
        self.config.contour_templates.insert(contour.into(), o);
        self
    }
    /// Sets whose API steps run at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n;
        self
    }
    /// Sets tracked at once (including those waiting for a final state).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.config.max_in_flight = n;
        self
    }
    /// Pause between passes.
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.config.poll_interval = d;
        self
    }
    /// Deadline for a sent document to reach a final state.
    pub fn final_state_deadline(mut self, d: Duration) -> Self {
        self.config.final_state_deadline = d;
        self
    }
    /// How often a waiting document is re-read directly.
    pub fn recheck_interval(mut self, d: Duration) -> Self {
        self.config.recheck_interval = d;
        self
    }
    /// Saby states that end tracking.
    pub fn final_states(mut self, states: impl IntoIterator<Item = StateCode>) -> Self {
        self.config.final_states = states.into_iter().collect();
        self
    }

    /// How each set's archive is made ([`PipelineConfig::archive`]).
    pub fn archive(mut self, options: ArchiveOptions) -> Self {
        self.config.archive = options;
        self
    }

    /// The local archive directory.
    pub fn archive_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.archive_dir = dir.into();
        self
    }
    /// The SQLite state file.
    pub fn state_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.state_path = path.into();
        self
    }
    /// Retryable passes per step before a set fails.
    pub fn max_passes(mut self, n: u32) -> Self {
        self.config.max_passes = n;
        self
    }
    /// Upper bound of one `run_once`.
    pub fn run_deadline(mut self, d: Duration) -> Self {
        self.config.run_deadline = Some(d);
        self
    }
    /// First Beorg set number on a fresh state file.
    pub fn initial_start_id(mut self, n: u64) -> Self {
        self.config.initial_start_id = n;
        self
    }
    /// How long an unseen set number below a seen one holds `start_id`
    /// (`Duration::ZERO`: not at all).
    pub fn gap_grace(mut self, d: Duration) -> Self {
        self.config.gap_grace = d;
        self
    }
    /// The largest step between consecutive set numbers taken as one run.
    pub fn max_jump(mut self, n: u64) -> Self {
        self.config.max_jump = n;
        self
    }
    /// How long a set may stay "not ready" from when it was first seen.
    pub fn not_ready_timeout(mut self, d: Duration) -> Self {
        self.config.not_ready_timeout = d;
        self
    }
    /// Grace period for in-flight steps after cancellation.
    pub fn shutdown_grace(mut self, d: Duration) -> Self {
        self.config.shutdown_grace = d;
        self
    }
    /// The data checks' policy (see [`PipelineConfig::checks`]).
    ///
    /// ```
    /// use hr_docs_pipeline::hr_docs_checks::{BrokenPolicy, Check, Policy, Severity};
    /// use hr_docs_pipeline::{DocumentTemplate, PipelineConfig};
    /// use saby_client::Party;
    ///
    /// let template = DocumentTemplate::new(
    ///     "ДокКадр",
    ///     Party::legal_entity("7605016030", "760501001", "ООО Ромашка"),
    ///     Party::legal_entity("7707083893", "773601001", "ПАО Контрагент"),
    /// );
    /// let policy = Policy::builder()
    ///     .confidence_threshold(0.9)
    ///     .broken(BrokenPolicy::Fail)
    ///     .severity(Check::FieldMissing, Severity::Error)
    ///     .build()?;
    /// let config = PipelineConfig::builder(template).checks(policy).build()?;
    /// assert_eq!(config.checks.confidence_threshold(), 0.9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checks(mut self, policy: Policy) -> Self {
        self.config.checks = policy;
        self
    }
    /// Validates and returns the configuration.
    pub fn build(self) -> Result<PipelineConfig> {
        self.config.validate()?;
        Ok(self.config)
    }
}

/// `value`, when it is a valid INN; else [`Error::InvalidInn`] naming `field`
/// (a variable or a configuration field), never the value.
fn inn(field: &str, value: String) -> Result<String> {
    validate_inn(&value).map_err(|source| Error::InvalidInn {
        field: field.to_owned(),
        source,
    })?;
    Ok(value)
}

/// Checks the INN of `party` (when it has one), naming `field` on error.
fn check_party_inn(field: &str, party: &Party) -> Result<()> {
    match party.inn() {
        Some(value) => inn(field, value.to_owned()).map(drop),
        None => Ok(()),
    }
}

/// The data checks' policy from the `PIPELINE_CHECK_*` variables (the
/// defaults for those unset).
fn checks_from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Policy> {
    let mut b = Policy::builder();
    if let Some(v) = get(ENV_CHECK_CONFIDENCE) {
        let threshold: f64 = v.parse().map_err(|_| Error::Env {
            name: ENV_CHECK_CONFIDENCE.to_owned(),
            problem: format!("expected a number from 0 to 1, got {v:?}"),
        })?;
        b = b.confidence_threshold(threshold);
    }
    if let Some(v) = get(ENV_CHECK_AGE) {
        let bounds = v
            .split_once('-')
            .and_then(|(lo, hi)| Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?)));
        let Some((lo, hi)) = bounds else {
            return Err(Error::Env {
                name: ENV_CHECK_AGE.to_owned(),
                problem: format!("expected MIN-MAX in full years, such as 14-120, got {v:?}"),
            });
        };
        b = b.age_bounds(lo..=hi);
    }
    if let Some(v) = get(ENV_CHECK_BROKEN) {
        let broken = match v.to_ascii_lowercase().as_str() {
            "hold" => BrokenPolicy::Hold,
            "fail" => BrokenPolicy::Fail,
            _ => {
                return Err(Error::Env {
                    name: ENV_CHECK_BROKEN.to_owned(),
                    problem: format!("expected hold or fail, got {v:?}"),
                });
            }
        };
        b = b.broken(broken);
    }
    // Each check in one list at most; a name this version does not know is a
    // typo, refused rather than ignored.
    let mut named: Vec<(Check, &str)> = Vec::new();
    for (var, severity) in [
        (ENV_CHECK_ERRORS, Some(Severity::Error)),
        (ENV_CHECK_WARNINGS, Some(Severity::Warning)),
        (ENV_CHECK_FATAL, Some(Severity::Fatal)),
        (ENV_CHECK_DISABLED, None),
    ] {
        let Some(v) = get(var) else { continue };
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let check = match name.parse::<Check>() {
                Ok(Check::Unknown(_)) | Err(_) => {
                    let known: Vec<&str> = Check::known().iter().map(Check::as_str).collect();
                    return Err(Error::Env {
                        name: var.to_owned(),
                        problem: format!(
                            "{name:?} is not a check; the checks are: {}",
                            known.join(", ")
                        ),
                    });
                }
                Ok(check) => check,
            };
            if let Some((_, other)) = named.iter().find(|(c, _)| *c == check) {
                return Err(Error::Env {
                    name: var.to_owned(),
                    problem: format!("names {check}, which {other} names too"),
                });
            }
            named.push((check.clone(), var));
            b = set_severity(b, check, severity);
        }
    }
    b.build().map_err(|e| {
        let name = match e {
            hr_docs_checks::PolicyError::ConfidenceThreshold => ENV_CHECK_CONFIDENCE,
            _ => ENV_CHECK_AGE,
        };
        Error::Env {
            name: name.to_owned(),
            problem: e.to_string(),
        }
    })
}

fn set_severity(b: PolicyBuilder, check: Check, severity: Option<Severity>) -> PolicyBuilder {
    match severity {
        Some(s) => b.severity(check, s),
        None => b.disable(check),
    }
}

/// The suffixes of a route's variables (`PIPELINE_ROUTE_<n>_<suffix>`).
const ROUTE_SUFFIXES: [&str; 10] = [
    "CONTOUR",
    "DOC_TYPE",
    "REGULATION",
    "REGULATION_ID",
    "OUR_ORG_INN",
    "OUR_ORG_KPP",
    "OUR_ORG_NAME",
    "COUNTERPARTY_INN",
    "COUNTERPARTY_KPP",
    "COUNTERPARTY_NAME",
];

/// A route's party (`<what>_INN`, `_KPP`, `_NAME`): none of them set → `None`;
/// INN and name are required once any is.
fn route_party(
    value: &dyn Fn(&str) -> Option<String>,
    var: &dyn Fn(&str) -> String,
    what: &str,
) -> Result<Option<Party>> {
    let inn = value(&format!("{what}_INN"));
    let kpp = value(&format!("{what}_KPP"));
    let name = value(&format!("{what}_NAME"));
    if inn.is_none() && kpp.is_none() && name.is_none() {
        return Ok(None);
    }
    let missing = |suffix: &str| Error::Env {
        name: var(&format!("{what}_{suffix}")),
        problem: format!("is not set, but other {what} variables of its route are"),
    };
    let inn_value = self::inn(
        &var(&format!("{what}_INN")),
        inn.ok_or_else(|| missing("INN"))?,
    )?;
    Ok(Some(Party::legal_entity(
        inn_value,
        kpp.unwrap_or_default(),
        name.ok_or_else(|| missing("NAME"))?,
    )))
}

/// The variable's value is not quoted (see [`Error::Env`]).
fn parse_number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T> {
    v.parse().map_err(|_| Error::Env {
        name: name.to_owned(),
        problem: format!(
            "expected a whole number that fits a {}",
            std::any::type_name::<T>()
        ),
    })
}

/// The variable's value is not quoted (see [`Error::Env`]).
fn parse_duration_env(name: &str, v: &str) -> Result<Duration> {
    parse_duration(v).ok_or_else(|| Error::Env {
        name: name.to_owned(),
        problem: "expected a duration such as 30s, 500ms, 10m, 72h or 3d (bare numbers are \
                  seconds) that fits in 64 bits of seconds"
            .to_owned(),
    })
}

/// Parses `500ms`, `30s`, `30`, `10m`, `72h`, `3d`.
pub(crate) fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: u64 = number.parse().ok()?;
    let secs = |mult: u64| n.checked_mul(mult).map(Duration::from_secs);
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "" | "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const REQUIRED: &[(&str, &str)] = &[
        (ENV_DOC_TYPE, "ДокОтгрИсх"),
        (ENV_OUR_ORG_INN, "7605016030"),
        (ENV_OUR_ORG_NAME, "ООО Ромашка"),
        (ENV_COUNTERPARTY_INN, "7707083893"),
        (ENV_COUNTERPARTY_NAME, "ПАО Контрагент"),
    ];

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("72h"), Some(Duration::from_secs(72 * 3600)));
        assert_eq!(parse_duration("3d"), Some(Duration::from_secs(3 * 86_400)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn durations_too_large_are_refused_or_kept_never_wrapped() {
        // Fits a Duration (584 billion years): kept; the run saturates its
        // deadlines (see run.rs).
        assert_eq!(
            parse_duration("18446744073709551615"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_duration("18446744073709551615ms"),
            Some(Duration::from_millis(u64::MAX))
        );
        // Does not fit: refused, never wrapped around to a small value.
        for v in [
            "18446744073709551615d",
            "18446744073709551615m",
            "18446744073709551616",
        ] {
            assert_eq!(parse_duration(v), None, "{v}");
        }
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_FINAL_DEADLINE, "99999999999999999999h"));
        let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
        assert!(
            matches!(&err, Error::Env { name, .. } if name == ENV_FINAL_DEADLINE),
            "{err}"
        );
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_POLL_INTERVAL, "18446744073709551615"));
        let c = PipelineConfig::from_lookup(env(&pairs)).unwrap();
        assert_eq!(c.poll_interval, Duration::from_secs(u64::MAX));
    }

    #[test]
    fn from_lookup_reads_required_and_defaults() {
        let c = PipelineConfig::from_lookup(env(REQUIRED)).unwrap();
        assert_eq!(c.document.doc_type, "ДокОтгрИсх");
        assert_eq!(c.document.our_organization.inn(), Some("7605016030"));
        assert_eq!(c.document.counterparty.inn(), Some("7707083893"));
        assert!(c.document.regulation.is_none());
        assert_eq!(c.concurrency, 4);
        assert_eq!(c.max_passes, 10);
        assert_eq!(c.final_states, default_final_states());
        assert_eq!(c.gap_grace, Duration::from_secs(15 * 60));
        assert!(c.contours.is_none());
        assert!(c.contour_templates.is_empty());
        assert_eq!(c.not_ready_timeout, Duration::from_secs(24 * 3600));
        assert_eq!(c.max_jump, 1_000_000);
    }

    #[test]
    fn from_lookup_reads_every_option() {
        let mut pairs = REQUIRED.to_vec();
        pairs.extend_from_slice(&[
            (ENV_STATE_PATH, "/var/lib/hr/state.db"),
            (ENV_ARCHIVE_DIR, "/var/lib/hr/archive"),
            (ENV_CONTOURS, "A, B,,C"),
            (ENV_NOT_READY_TIMEOUT, "2h"),
            (ENV_MAX_JUMP, "5000"),
            (ENV_CONCURRENCY, "8"),
            (ENV_MAX_IN_FLIGHT, "32"),
            (ENV_POLL_INTERVAL, "5s"),
            (ENV_FINAL_DEADLINE, "2d"),
            (ENV_RECHECK_INTERVAL, "1m"),
            (ENV_MAX_PASSES, "3"),
            (ENV_RUN_DEADLINE, "15m"),
            (ENV_START_ID, "100"),
            (ENV_GAP_GRACE, "5m"),
            (ENV_FINAL_STATES, "7, 4"),
            (ENV_REGULATION, "Кадровый документ"),
        ]);
        let c = PipelineConfig::from_lookup(env(&pairs)).unwrap();
        assert_eq!(c.state_path, PathBuf::from("/var/lib/hr/state.db"));
        assert_eq!(c.archive_dir, PathBuf::from("/var/lib/hr/archive"));
        assert_eq!(
            c.contours.as_deref(),
            Some(&["A", "B", "C"].map(String::from)[..])
        );
        assert_eq!(c.not_ready_timeout, Duration::from_secs(7200));
        assert_eq!(c.max_jump, 5000);
        assert_eq!(c.concurrency, 8);
        assert_eq!(c.max_in_flight, 32);
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        assert_eq!(c.final_state_deadline, Duration::from_secs(2 * 86_400));
        assert_eq!(c.recheck_interval, Duration::from_secs(60));
        assert_eq!(c.max_passes, 3);
        assert_eq!(c.run_deadline, Some(Duration::from_secs(900)));
        assert_eq!(c.initial_start_id, 100);
        assert_eq!(c.gap_grace, Duration::from_secs(300));
        assert_eq!(c.final_states, [StateCode::Completed, StateCode::Delivered]);
        assert_eq!(
            c.document.regulation,
            Some(Regulation::by_name("Кадровый документ"))
        );
    }

    #[test]
    fn gap_grace_zero_and_bare_seconds_from_the_environment() {
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_GAP_GRACE, "0"));
        let c = PipelineConfig::from_lookup(env(&pairs)).unwrap();
        assert_eq!(c.gap_grace, Duration::ZERO);
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_GAP_GRACE, "600"));
        let c = PipelineConfig::from_lookup(env(&pairs)).unwrap();
        assert_eq!(c.gap_grace, Duration::from_secs(600));
    }

    #[test]
    fn from_lookup_names_the_missing_or_bad_variable() {
        let err = PipelineConfig::from_lookup(env(&REQUIRED[1..])).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Env { name, .. } if name == ENV_DOC_TYPE
            ),
            "{err}"
        );
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_CONCURRENCY, "many"));
        let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Env { name, .. } if name == ENV_CONCURRENCY
            ),
            "{err}"
        );
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_GAP_GRACE, "a while"));
        let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Env { name, .. } if name == ENV_GAP_GRACE
            ),
            "{err}"
        );
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_CONCURRENCY, "0"));
        assert!(matches!(
            PipelineConfig::from_lookup(env(&pairs)),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn the_removed_projects_variable_is_refused_pointing_to_contours() {
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_REMOVED_PROJECTS, "A,B"));
        let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
        let Error::Env { name, problem } = &err else {
            panic!("unexpected {err:?}")
        };
        assert_eq!(name, "PIPELINE_PROJECTS");
        assert!(problem.contains("PIPELINE_CONTOURS"), "{problem}");
        // Set but empty counts as unset.
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_REMOVED_PROJECTS, " "));
        assert!(PipelineConfig::from_lookup(env(&pairs)).is_ok());
    }

    #[test]
    fn contour_routes_from_the_environment() {
        let mut pairs = REQUIRED.to_vec();
        pairs.extend_from_slice(&[
            ("PIPELINE_ROUTE_1_CONTOUR", "Кадры-Казань"),
            ("PIPELINE_ROUTE_1_DOC_TYPE", "ДокКадрКазань"),
            ("PIPELINE_ROUTE_1_COUNTERPARTY_INN", "1655000003"),
            ("PIPELINE_ROUTE_1_COUNTERPARTY_NAME", "АО Казань"),
            ("PIPELINE_ROUTE_3_CONTOUR", "Кадры-Москва"),
            ("PIPELINE_ROUTE_3_REGULATION_ID", "reg-77"),
        ]);
        let c = PipelineConfig::from_lookup(env(&pairs)).unwrap();
        let kazan = c.template_for(Some("Кадры-Казань"));
        assert_eq!(kazan.doc_type, "ДокКадрКазань");
        assert_eq!(kazan.counterparty.inn(), Some("1655000003"));
        assert_eq!(
            kazan.our_organization.inn(),
            Some("7605016030"),
            "falls back"
        );
        assert_eq!(kazan.regulation, None);
        let moscow = c.template_for(Some("Кадры-Москва"));
        assert_eq!(moscow.doc_type, "ДокОтгрИсх");
        assert_eq!(moscow.regulation, Some(Regulation::by_id("reg-77")));
        assert_eq!(c.template_for(None), c.document);
        assert_eq!(c.template_for(Some("Другой")), c.document);

        // A route without its contour, or a party without its name, is refused.
        let mut pairs = REQUIRED.to_vec();
        pairs.push(("PIPELINE_ROUTE_2_DOC_TYPE", "X"));
        let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
        assert!(
            matches!(&err, Error::Env { name, .. } if name == "PIPELINE_ROUTE_2_CONTOUR"),
            "{err}"
        );
        let mut pairs = REQUIRED.to_vec();
        pairs.push(("PIPELINE_ROUTE_1_CONTOUR", "A"));
        pairs.push(("PIPELINE_ROUTE_1_OUR_ORG_INN", "7605016030"));
        let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
        assert!(
            matches!(&err, Error::Env { name, .. } if name == "PIPELINE_ROUTE_1_OUR_ORG_NAME"),
            "{err}"
        );
    }

    #[test]
    fn the_contour_filter_decides_skips() {
        let c =
            PipelineConfig::builder(PipelineConfig::from_lookup(env(REQUIRED)).unwrap().document)
                .contours(["A"])
                .build()
                .unwrap();
        assert_eq!(c.skip_reason(Some("A")), None);
        assert_eq!(c.skip_reason(Some("B")), Some(SkipReason::ContourFiltered));
        assert_eq!(c.skip_reason(None), Some(SkipReason::ContourUnknown));
        let all = PipelineConfig::builder(c.document.clone()).build().unwrap();
        assert_eq!(all.skip_reason(None), None);
        assert_eq!(all.skip_reason(Some("B")), None);
        let empty: [&str; 0] = [];
        assert!(
            PipelineConfig::builder(c.document.clone())
                .contours(empty)
                .build()
                .is_err()
        );
    }

    #[test]
    fn a_configured_inn_with_a_typo_fails_at_start_up_naming_where_not_the_value() {
        // 7707083893 is valid; one digit off is not.
        for (var, typo) in [
            (ENV_OUR_ORG_INN, "7605016031"),
            (ENV_COUNTERPARTY_INN, "77070838"),
        ] {
            let mut pairs: Vec<(&str, &str)> = REQUIRED
                .iter()
                .filter(|(k, _)| *k != var)
                .copied()
                .collect();
            pairs.push((var, typo));
            let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
            let Error::InvalidInn { field, source } = &err else {
                panic!("unexpected {err:?}")
            };
            assert_eq!(field, var);
            let expected = if typo.len() == 10 {
                hr_docs_checks::InnError::CheckDigit
            } else {
                hr_docs_checks::InnError::Format
            };
            assert_eq!(*source, expected);
            let text = format!("{err} {}", crate::error::chain(&err));
            assert!(!text.contains(typo), "{text}");
        }
        // A route's party, by its variable.
        let mut pairs = REQUIRED.to_vec();
        pairs.extend_from_slice(&[
            ("PIPELINE_ROUTE_2_CONTOUR", "Кадры-Казань"),
            ("PIPELINE_ROUTE_2_COUNTERPARTY_INN", "1655000000"),
            ("PIPELINE_ROUTE_2_COUNTERPARTY_NAME", "АО Казань"),
        ]);
        let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInn { field, .. } if field == "PIPELINE_ROUTE_2_COUNTERPARTY_INN"),
            "{err:?}"
        );
        // Built in code: the field of the configuration.
        let good = PipelineConfig::from_lookup(env(REQUIRED)).unwrap().document;
        let mut bad = good.clone();
        bad.counterparty = Party::legal_entity("7707083894", "", "ПАО Контрагент");
        let err = PipelineConfig::builder(bad).build().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInn { field, .. } if field == "document.counterparty"),
            "{err:?}"
        );
        let err = PipelineConfig::builder(good)
            .contour_template(
                "Кадры-Казань",
                TemplateOverride::new().our_organization(Party::legal_entity("123", "", "ООО")),
            )
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInn { field, .. }
                if field == "contour_templates[\"Кадры-Казань\"].our_organization"),
            "{err:?}"
        );
        // A person's INN (12 digits) is valid too.
        let mut pairs = REQUIRED.to_vec();
        pairs.retain(|(k, _)| *k != ENV_COUNTERPARTY_INN);
        pairs.push((ENV_COUNTERPARTY_INN, "123456789047"));
        assert!(PipelineConfig::from_lookup(env(&pairs)).is_ok());
    }

    #[test]
    fn the_check_policy_defaults_and_comes_from_the_environment() {
        let c = PipelineConfig::from_lookup(env(REQUIRED)).unwrap();
        assert_eq!(c.checks, Policy::default());
        assert_eq!(
            c.checks.severity(&Check::SnilsCheckNumber),
            Some(Severity::Error)
        );
        assert_eq!(
            c.checks.severity(&Check::DocumentBroken),
            Some(Severity::Error)
        );
        assert_eq!(
            c.checks.severity(&Check::LowConfidence),
            Some(Severity::Warning)
        );

        let mut pairs = REQUIRED.to_vec();
        pairs.extend_from_slice(&[
            (ENV_CHECK_CONFIDENCE, "0.9"),
            (ENV_CHECK_AGE, "16-80"),
            (ENV_CHECK_BROKEN, "fail"),
            (ENV_CHECK_ERRORS, "field_missing, low_confidence"),
            (ENV_CHECK_WARNINGS, "mrz_mismatch"),
            (ENV_CHECK_FATAL, "inn_check_digit"),
            (ENV_CHECK_DISABLED, "passport_replacement_due"),
        ]);
        let p = PipelineConfig::from_lookup(env(&pairs)).unwrap().checks;
        assert_eq!(p.confidence_threshold(), 0.9);
        assert_eq!(p.age_bounds(), 16..=80);
        assert_eq!(p.severity(&Check::DocumentBroken), Some(Severity::Fatal));
        assert_eq!(p.severity(&Check::ResultBroken), Some(Severity::Fatal));
        assert_eq!(p.severity(&Check::FieldMissing), Some(Severity::Error));
        assert_eq!(p.severity(&Check::LowConfidence), Some(Severity::Error));
        assert_eq!(p.severity(&Check::MrzMismatch), Some(Severity::Warning));
        assert_eq!(p.severity(&Check::InnCheckDigit), Some(Severity::Fatal));
        assert_eq!(p.severity(&Check::PassportReplacementDue), None);
        assert_eq!(p.severity(&Check::SnilsCheckNumber), Some(Severity::Error));
    }

    #[test]
    fn a_bad_check_variable_is_named() {
        for (var, value) in [
            (ENV_CHECK_CONFIDENCE, "high"),
            (ENV_CHECK_CONFIDENCE, "1.5"),
            (ENV_CHECK_AGE, "sixteen"),
            (ENV_CHECK_AGE, "80-16"),
            (ENV_CHECK_BROKEN, "ignore"),
            (ENV_CHECK_ERRORS, "snils_chek_number"),
            (ENV_CHECK_DISABLED, "some_future_check"),
        ] {
            let mut pairs = REQUIRED.to_vec();
            pairs.push((var, value));
            let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
            assert!(
                matches!(&err, Error::Env { name, .. } if name == var),
                "{var}={value}: {err:?}"
            );
        }
        // A check in two lists is a contradiction, named by the second list.
        let mut pairs = REQUIRED.to_vec();
        pairs.push((ENV_CHECK_ERRORS, "low_confidence"));
        pairs.push((ENV_CHECK_DISABLED, "low_confidence"));
        let err = PipelineConfig::from_lookup(env(&pairs)).unwrap_err();
        let Error::Env { name, problem } = &err else {
            panic!("unexpected {err:?}")
        };
        assert_eq!(name, ENV_CHECK_DISABLED);
        assert!(problem.contains(ENV_CHECK_ERRORS), "{problem}");
    }
}
