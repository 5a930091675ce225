//! A stateful in-process emulator of the [Beorg](https://beorg.ru) document-recognition
//! API, for tests, demos and benchmarks of [`beorg_client`] (or of any other Beorg client:
//! it speaks plain HTTP and JSON).
//!
//! Add it as a dev-dependency next to `beorg-client`:
//!
//! ```toml
//! [dev-dependencies]
//! beorg-sandbox = "0.1"
//! ```
//!
//! [`Sandbox::start`] runs an HTTP server (axum, on a free `127.0.0.1` port and a
//! thread of its own; nothing is kept per request, so memory stays flat over any
//! number of requests) that behaves as Beorg's integration letter describes it:
//!
//! * The customer is a **company** (its number is the `project_id` of every call;
//!   default [`DEFAULT_PROJECT_ID`], `"4821"`) with named **contours** (default
//!   [`DEFAULT_CONTOURS`]: `Кадры-Москва` and `Кадры-Казань`). Set numbers are the
//!   company's: a set created without a contour goes to the next contour in turn,
//!   so the contours' numbers interleave (`s-1` on one, `s-2` on the other, ...).
//! * `POST /api/bescan/add_document` checks the token and the `project_id` (the
//!   company number, or a contour's name to upload to that contour), validates the
//!   base64 images and `process_info`, and creates a set `s-N` (numbered from
//!   [`SandboxConfig::first_set_number`]). Images are not recognized for real: the
//!   documents are generated from the `process_info` types (PASSPORT + SNILS when
//!   there is none) for a person drawn deterministically from a fixed list.
//! * A set is *processing* for its first [`SandboxConfig::polls_until_ready`] polls
//!   (each result request for it, and each ready request of the company, counts
//!   one poll); the result endpoint answers 425 meanwhile.
//! * `GET|POST /api/document/ready` (the company number as `project_id`; anything
//!   else is 404 `CampaignNotFound`) lists every ready set from `start_id` on in
//!   `ready`, and — when the company has more than one contour — which of them
//!   are ready on each contour in `by_project`. The wire shapes are selectable
//!   ([`SandboxConfig::by_project`], [`SandboxConfig::ready_ids`]), since the
//!   real one is not public: `{"ready": [16, 17], "by_project": {"Кадры-Москва":
//!   [16], "Кадры-Казань": [17]}}` by default.
//! * `GET|POST /api/document/result/s-N` returns realistic documents with Beorg's
//!   quirks (string/number/null confidences, `status` `0`/`""`, `{}` metadata,
//!   `broken: null`, `RegistrationDate: null`, `Firstname` casing, unknown fields)
//!   and a `FileName` of type plus surname (`Паспорт_Иванов`). The generated data is
//!   plausible (check numbers right, employees 25 to 44 years old this year, a passport
//!   issued after the 21st birthday), so it passes data checks such as `hr-docs-checks`. Seeded sets can instead come back
//!   broken as a whole ([`SetSpec::broken`]), without documents ([`SetSpec::empty`]),
//!   or never leave processing ([`SetSpec::never_ready`]); or be ready with one document
//!   marked broken ([`SetSpec::broken_document`]) or a SNILS whose check number is wrong
//!   ([`SetSpec::bad_snils_check_number`]).
//! * A wrong token gets 401, an unknown project 404 `CampaignNotFound`, an unknown
//!   set 404 `DocumentNotFound`, always as `{"errors": {"type": …, "message": …}}`.
//!
//! Knobs: a fixed [latency](SandboxConfig::latency) on every answer, and
//! [`Faults`] (shares of 5xx, 429 with `Retry-After`, slow answers, malformed and
//! truncated bodies) drawn from a seeded RNG, changeable at run time with
//! [`Sandbox::set_faults`]. Counters ([`Sandbox::requests_served`],
//! [`Sandbox::uploads`], ...) let tests check what happened.
//!
//! The sandbox builds its answers and reads its requests on its own, from JSON values and
//! its own small tables — never through `beorg-client`'s models — so it stays an
//! independent check of the client. It uses `beorg-client` only for the conveniences a
//! test double is for: [`Sandbox::client`] / [`Sandbox::client_builder`] (a client aimed
//! at it) and the [`SetId`] that [`Sandbox::add_set`] hands back.
//!
//! ```
//! use beorg_sandbox::{Faults, Sandbox, SandboxConfig, SetSpec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> beorg_client::Result<()> {
//! let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0)).await;
//! let a = sandbox.add_set(SetSpec::new().surname("Смирнов"));
//! let b = sandbox.add_set(SetSpec::new());
//! let client = sandbox.client();
//! let ready = client.ready(0).await?;
//! assert_eq!(ready.ready, vec![a.clone(), b.clone()]);
//! // Each set is on its own contour, in turn.
//! let sets = ready.sets();
//! assert_eq!(sets[0].contour.as_deref(), Some("Кадры-Москва"));
//! assert_eq!(sets[1].contour.as_deref(), Some("Кадры-Казань"));
//! let result = client.result(&a).await?.into_ready().expect("ready");
//! assert_eq!(result.documents[0].file_name(), Some("Паспорт_Смирнов"));
//!
//! // Make a third of the answers fail with 503: the client retries through them.
//! sandbox.set_faults(Faults::default().server_errors(0.3));
//! client.result(&a).await?;
//! # Ok(())
//! # }
//! ```

mod documents;
mod responder;
mod server;
mod state;

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use beorg_client::{Client, ClientBuilder, RetryPolicy, SetId};

use state::{SetState, State};

/// The sandbox's default token.
pub const DEFAULT_TOKEN: &str = "sandbox-token";
/// The sandbox's default company number (the `project_id` of every call).
pub const DEFAULT_PROJECT_ID: &str = "4821";
/// The sandbox company's default contours.
pub const DEFAULT_CONTOURS: [&str; 2] = ["Кадры-Москва", "Кадры-Казань"];

/// How the ready answer spells `by_project` (the real shape is not public; the
/// client accepts all of these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ByProjectShape {
    /// `{"<contour>": [16, 18], ...}` — numbers (the default).
    #[default]
    MapOfNumbers,
    /// `{"<contour>": ["s-16", "s-18"], ...}`.
    MapOfStrings,
    /// `[{"project_id": "<contour>", "ready": [16, 18]}, ...]`.
    ListOfObjects,
    /// No `by_project` at all, even with several contours.
    Absent,
}

/// How the ready answer spells the ids of `ready`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdShape {
    /// `[16, 17]` (the default).
    #[default]
    Numbers,
    /// `["s-16", "s-17"]`.
    Strings,
}

/// How a [`Sandbox`] behaves. `Default` gives: token `sandbox-token`, company
/// `4821` with the contours `Кадры-Москва` and `Кадры-Казань`, `by_project` as
/// a map of numbers, sets ready after 2 polls, first set `s-1`, no latency, no
/// faults, seed 42.
#[derive(Debug, Clone)]
#[must_use]
pub struct SandboxConfig {
    pub(crate) token: String,
    pub(crate) project_id: String,
    pub(crate) contours: Vec<String>,
    pub(crate) by_project: ByProjectShape,
    pub(crate) ready_ids: IdShape,
    pub(crate) polls_until_ready: u32,
    pub(crate) latency: Duration,
    pub(crate) faults: Faults,
    pub(crate) seed: u64,
    pub(crate) first_set_number: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            token: DEFAULT_TOKEN.to_owned(),
            project_id: DEFAULT_PROJECT_ID.to_owned(),
            contours: DEFAULT_CONTOURS.iter().map(|c| (*c).to_owned()).collect(),
            by_project: ByProjectShape::default(),
            ready_ids: IdShape::default(),
            polls_until_ready: 2,
            latency: Duration::ZERO,
            faults: Faults::default(),
            seed: 42,
            first_set_number: 1,
        }
    }
}

impl SandboxConfig {
    /// The token the sandbox accepts.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// The company's number: the `project_id` every call must carry.
    pub fn project_id(mut self, id: impl Into<String>) -> Self {
        self.project_id = id.into();
        self
    }

    /// The company's contours (names, in turn order; duplicates and empty
    /// names are dropped). With fewer than two, ready answers carry no
    /// `by_project` and sets have no contour (`[]`) or all the same one.
    pub fn contours<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<String> = Vec::new();
        for name in names.into_iter().map(Into::into) {
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
        self.contours = out;
        self
    }

    /// How ready answers spell `by_project` (default a map of numbers).
    pub fn by_project(mut self, shape: ByProjectShape) -> Self {
        self.by_project = shape;
        self
    }

    /// How ready answers spell the ids of `ready` (default numbers).
    pub fn ready_ids(mut self, shape: IdShape) -> Self {
        self.ready_ids = shape;
        self
    }

    /// How many polls a new set stays processing (425) before it is ready.
    pub fn polls_until_ready(mut self, n: u32) -> Self {
        self.polls_until_ready = n;
        self
    }

    /// A fixed latency on every answer (default none), for benchmarks and timeout tests: each
    /// answer leaves this long after its request arrived (the sandbox's own work included),
    /// to within about 0.1 ms.
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }

    /// The initial fault injection.
    pub fn faults(mut self, f: Faults) -> Self {
        self.faults = f;
        self
    }

    /// The seed of the fault RNG (same seed and requests → same faults).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The number of the first set created.
    pub fn first_set_number(mut self, n: u64) -> Self {
        self.first_set_number = n;
        self
    }
}

/// Faults injected into answers, each a share in `[0, 1]` of all requests.
///
/// One random draw per request picks at most one of: a 5xx (500/502/503, with a
/// JSON or an HTML body, and no effect on state), a 429 with `Retry-After`
/// (no effect), a malformed body, or a truncated body (both *after* the request
/// took effect). Slow answers are drawn separately and add a delay.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct Faults {
    pub(crate) server_errors: f64,
    pub(crate) rate_limited: f64,
    pub(crate) retry_after: Duration,
    pub(crate) slow: f64,
    pub(crate) slow_delay: Duration,
    pub(crate) malformed: f64,
    pub(crate) truncated: f64,
}

fn share(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Share of answers that are 500/502/503.
    pub fn server_errors(mut self, share_of_requests: f64) -> Self {
        self.server_errors = share(share_of_requests);
        self
    }

    /// Share of answers that are 429 with `Retry-After` (whole seconds, rounded up).
    pub fn rate_limited(mut self, share_of_requests: f64, retry_after: Duration) -> Self {
        self.rate_limited = share(share_of_requests);
        self.retry_after = retry_after;
        self
    }

    /// Share of answers delayed by `delay` (on top of the latency).
    pub fn slow(mut self, share_of_requests: f64, delay: Duration) -> Self {
        self.slow = share(share_of_requests);
        self.slow_delay = delay;
        self
    }

    /// Share of 200 answers whose body is not JSON.
    pub fn malformed(mut self, share_of_requests: f64) -> Self {
        self.malformed = share(share_of_requests);
        self
    }

    /// Share of 200 answers whose body is cut in half.
    pub fn truncated(mut self, share_of_requests: f64) -> Self {
        self.truncated = share(share_of_requests);
        self
    }
}

/// How a seeded set's result comes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Recognized documents.
    #[default]
    Documents,
    /// Top-level `broken: true` with reasons and no documents.
    Broken,
    /// A 200 with an empty `documents` list.
    Empty,
}

/// A set to seed with [`Sandbox::add_set`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SetSpec {
    pub(crate) surname: Option<String>,
    /// `(key, wire type)` of each document (`("PASSPORT", "PASSPORT")`, ...).
    pub(crate) documents: Vec<(String, String)>,
    pub(crate) contour: Option<String>,
    pub(crate) polls_until_ready: Option<u32>,
    pub(crate) outcome: Outcome,
    pub(crate) never_ready: bool,
    /// Keys (or wire types) of the documents to mark `broken`.
    pub(crate) broken_documents: Vec<String>,
    pub(crate) bad_snils: bool,
    pub(crate) number: Option<u64>,
}

impl SetSpec {
    /// PASSPORT + SNILS of a person from the fixed list, on the next contour in
    /// turn, ready after the configured number of polls.
    pub fn new() -> Self {
        Self::default()
    }

    /// The surname (written into every document and its `FileName`).
    pub fn surname(mut self, s: impl Into<String>) -> Self {
        self.surname = Some(s.into());
        self
    }

    /// Adds a document of this type, given as its wire name (`"PASSPORT"`, `"SNILS"`,
    /// `"INN"`, `"RVP"`, `"BRTH"`, ...; any other name gives a document with only a
    /// `Number`), replacing the PASSPORT + SNILS default.
    pub fn document(mut self, doc_type: impl Into<String>) -> Self {
        let doc_type = doc_type.into();
        self.documents.push((doc_type.clone(), doc_type));
        self
    }

    /// Adds a document of wire type `doc_type` under its own `key` (as an upload's
    /// `process_info` can name it: `"MEDBOOK1"`), replacing the PASSPORT + SNILS default
    /// like [`document`](Self::document).
    pub fn keyed_document(mut self, key: impl Into<String>, doc_type: impl Into<String>) -> Self {
        self.documents.push((key.into(), doc_type.into()));
        self
    }

    /// Marks the document with this key broken, as Beorg marks a document it could not
    /// read: `"broken": true` with one reason in `broken_reasons` and `broken_reasons_ru`.
    /// A document's key is its wire type unless [`keyed_document`](Self::keyed_document)
    /// gave it another (the default documents' keys are `"PASSPORT"` and `"SNILS"`). The
    /// set itself is ready, with its other documents as usual.
    pub fn broken_document(mut self, key: impl Into<String>) -> Self {
        self.broken_documents.push(key.into());
        self
    }

    /// The SNILS number of the set's `SNILS` documents gets a wrong check number (the two
    /// last digits), as a misread digit would give; everything else is as usual.
    pub fn bad_snils_check_number(mut self) -> Self {
        self.bad_snils = true;
        self
    }

    /// The contour the set belongs to (a name the sandbox does not know is
    /// added to the company's contours).
    pub fn contour(mut self, name: impl Into<String>) -> Self {
        self.contour = Some(name.into());
        self
    }

    /// Processing polls before the set is ready (0: ready at once).
    pub fn polls_until_ready(mut self, n: u32) -> Self {
        self.polls_until_ready = Some(n);
        self
    }

    /// Ready at once (same as `polls_until_ready(0)`).
    pub fn ready(self) -> Self {
        self.polls_until_ready(0)
    }

    /// The result comes back broken as a whole: `200` with a top-level
    /// `broken: true`, `broken_reasons` / `broken_reasons_ru`, and no documents.
    pub fn broken(mut self) -> Self {
        self.outcome = Outcome::Broken;
        self
    }

    /// The result comes back as a `200` with an empty `documents` list.
    pub fn empty(mut self) -> Self {
        self.outcome = Outcome::Empty;
        self
    }

    /// The set is listed as ready but its result answers 425 forever (a set
    /// stuck at Beorg).
    pub fn never_ready(mut self) -> Self {
        self.never_ready = true;
        self
    }

    /// Seeds the set under this number (`s-<n>`) instead of the next one — for
    /// an id far from the others, such as `s-9000000000` among sets in the
    /// hundreds. The numbers of the sets seeded after it are not changed, and a
    /// set already under that number is replaced.
    pub fn number(mut self, n: u64) -> Self {
        self.number = Some(n);
        self
    }
}

pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) token: String,
    pub(crate) project_id: String,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Beorg emulator. Dropping it stops the server.
pub struct Sandbox {
    server: server::Server,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("uri", &self.server.uri())
            .field("project_id", &self.shared.project_id)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox on a random loopback port (`127.0.0.1`), its server running on a
    /// thread of its own.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound or the server's thread cannot be started (a
    /// broken environment); [`try_start`](Self::try_start) returns that as an error
    /// instead.
    #[allow(clippy::expect_used)] // documented above; `try_start` is the fallible form
    pub async fn start(config: SandboxConfig) -> Sandbox {
        Self::try_start(config)
            .await
            .expect("the Beorg sandbox binds a loopback port and starts its server thread")
    }

    /// Like [`start`](Self::start), but returns the error when no loopback port can be
    /// bound or the server's thread cannot be started.
    pub async fn try_start(config: SandboxConfig) -> io::Result<Sandbox> {
        let shared = Arc::new(Shared {
            token: config.token.clone(),
            project_id: config.project_id.clone(),
            state: Mutex::new(State::new(config)),
        });
        let server = server::start(Arc::clone(&shared)).await?;
        Ok(Sandbox { server, shared })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The accepted token.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The company's number (the `project_id` of every call).
    pub fn project_id(&self) -> &str {
        &self.shared.project_id
    }

    /// The company's contours, in turn order.
    pub fn contours(&self) -> Vec<String> {
        self.shared.lock().config.contours.clone()
    }

    /// The contour of a set, named by its id (a [`SetId`], `"s-16"` or `"16"`); `None` for
    /// an unknown set or a company without contours.
    pub fn contour_of(&self, id: impl AsRef<str>) -> Option<String> {
        let mut st = self.shared.lock();
        st.set_mut(id.as_ref()).and_then(|s| s.contour.clone())
    }

    /// A builder preconfigured with this sandbox's URL, token and company, and
    /// short timeouts and backoffs suited to tests (10 attempts, 1–10 ms backoff,
    /// `Retry-After` capped at 20 ms, 2 s per attempt, 30 s deadline, 2–20 ms
    /// result-poll backoff).
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .base_url(self.uri())
            .token(self.shared.token.clone())
            .project_id(self.shared.project_id.clone())
            .timeout(Duration::from_secs(2))
            .deadline(Duration::from_secs(30))
            .retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(10)
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_max_backoff(Duration::from_millis(10))
                    .with_max_retry_after(Duration::from_millis(20)),
            )
            .poll_backoff(Duration::from_millis(2), Duration::from_millis(20))
    }

    /// A client from [`client_builder`](Self::client_builder).
    ///
    /// # Panics
    ///
    /// If the HTTP client cannot be created (the TLS backend failed to
    /// initialize); the sandbox's own configuration is always valid.
    #[allow(clippy::expect_used)]
    pub fn client(&self) -> Client {
        self.client_builder()
            .build()
            .expect("the sandbox's client configuration is valid")
    }

    /// Replaces the fault injection (takes effect on the next request).
    pub fn set_faults(&self, f: Faults) {
        self.shared.lock().faults = f;
    }

    /// Changes the fixed latency (takes effect on the next request).
    pub fn set_latency(&self, d: Duration) {
        self.shared.lock().latency = d;
    }

    /// Seeds a set without HTTP and returns its id (`s-N`), as the client's
    /// [`SetId`] to pass to [`Client::result`] and friends.
    pub fn add_set(&self, spec: SetSpec) -> SetId {
        let mut st = self.shared.lock();
        let docs = if spec.documents.is_empty() {
            documents::default_documents()
        } else {
            spec.documents
        };
        let polls = if spec.never_ready {
            u32::MAX
        } else {
            spec.polls_until_ready
                .unwrap_or(st.config.polls_until_ready)
        };
        let contour = match spec.contour {
            Some(c) => {
                if !st.config.contours.contains(&c) {
                    st.config.contours.push(c.clone());
                }
                Some(c)
            }
            None => st.next_contour(),
        };
        let next = st.next_number;
        if let Some(n) = spec.number {
            st.next_number = n;
        }
        let number = st.create_set(state::NewSet {
            contour,
            docs,
            surname: spec.surname,
            polls,
            outcome: spec.outcome,
            never_ready: spec.never_ready,
            broken_documents: spec.broken_documents,
            bad_snils: spec.bad_snils,
        });
        if spec.number.is_some() {
            st.next_number = next;
        }
        SetId::new(state::set_id(number))
    }

    /// Seeds `n` sets at once, each as [`SetSpec::new()`] would (the default documents
    /// of a person from the fixed list, the next contour in turn) and ready at once, and
    /// returns their numbers (`s-<number>`). Cheap enough for a year's backlog: one lock
    /// for all of them, and no per-set copy of the default documents, so 100,000 sets
    /// cost a few megabytes and milliseconds; the ready answer then lists them all.
    pub fn add_ready_sets(&self, n: u64) -> std::ops::Range<u64> {
        let mut st = self.shared.lock();
        let first = st.next_number;
        for _ in 0..n {
            let contour = st.next_contour();
            st.create_set(state::NewSet {
                contour,
                docs: Vec::new(),
                surname: None,
                polls: 0,
                outcome: Outcome::Documents,
                never_ready: false,
                broken_documents: Vec::new(),
                bad_snils: false,
            });
        }
        first..st.next_number
    }

    /// Makes a set ready at once (the id as for [`contour_of`](Self::contour_of)). Returns
    /// `false` for an unknown set.
    pub fn mark_ready(&self, id: impl AsRef<str>) -> bool {
        let mut st = self.shared.lock();
        match st.set_mut(id.as_ref()) {
            Some(s) => {
                s.remaining_polls = 0;
                s.never_ready = false;
                true
            }
            None => false,
        }
    }

    /// The set as someone corrected it in Beorg's Smart Archive: no document marked broken
    /// any more ([`SetSpec::broken_document`]) and the SNILS check number right
    /// ([`SetSpec::bad_snils_check_number`]); its next result says so. Returns `false` for
    /// an unknown set (the id as for [`contour_of`](Self::contour_of)).
    pub fn correct(&self, id: impl AsRef<str>) -> bool {
        let mut st = self.shared.lock();
        match st.set_mut(id.as_ref()) {
            Some(s) => {
                s.broken_documents.clear();
                s.bad_snils = false;
                true
            }
            None => false,
        }
    }

    /// Marks one more document of a set broken (by key, as
    /// [`SetSpec::broken_document`]): its next result says so — a set whose data
    /// changed at Beorg. Returns `false` for an unknown set.
    pub fn mark_broken(&self, id: impl AsRef<str>, key: impl Into<String>) -> bool {
        let mut st = self.shared.lock();
        match st.set_mut(id.as_ref()) {
            Some(s) => {
                s.broken_documents.push(key.into());
                true
            }
            None => false,
        }
    }

    /// Whether the set exists and is ready (the id as for [`contour_of`](Self::contour_of)).
    pub fn is_ready(&self, id: impl AsRef<str>) -> bool {
        let mut st = self.shared.lock();
        st.set_mut(id.as_ref())
            .is_some_and(|s: &mut SetState| s.remaining_polls == 0)
    }

    /// Requests answered so far (all endpoints, faults included).
    pub fn requests_served(&self) -> u64 {
        self.shared.lock().counters.requests
    }

    /// Sets created by uploads (not by [`add_set`](Self::add_set)).
    pub fn uploads(&self) -> u64 {
        self.shared.lock().counters.uploads
    }

    /// Ready requests answered.
    pub fn ready_requests(&self) -> u64 {
        self.shared.lock().counters.ready
    }

    /// Result requests answered.
    pub fn result_requests(&self) -> u64 {
        self.shared.lock().counters.result
    }

    /// Answers replaced or corrupted by a fault.
    pub fn faults_injected(&self) -> u64 {
        self.shared.lock().counters.faults
    }

    /// Number of sets (uploaded and seeded).
    pub fn set_count(&self) -> usize {
        self.shared.lock().sets.len()
    }
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
