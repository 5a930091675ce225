//! The pipeline against both in-process sandboxes: set-up shared by `bench-pipeline` and
//! `bench-memory`.

use std::path::Path;
use std::time::Duration;

use beorg_sandbox::{Sandbox as BeorgSandbox, SandboxConfig as BeorgConfig, SetSpec};
use hr_docs_pipeline::{DocumentTemplate, Pipeline, PipelineConfig};
use saby_client::Party;
use saby_sandbox::{Sandbox as SabySandbox, SandboxConfig as SabyConfig};

/// Surnames of the seeded sets (Cyrillic, as Beorg returns them).
pub const SURNAMES: [&str; 8] = [
    "Иванов",
    "Смирнова",
    "Кузнецов",
    "Попова",
    "Соколов",
    "Лебедева",
    "Новиков",
    "Морозова",
];

/// What each Saby document carries (same template as the pipeline's own tests).
pub fn template() -> DocumentTemplate {
    DocumentTemplate::new(
        "ДокОтгрИсх",
        Party::legal_entity("7605016030", "760501001", "ООО Ромашка"),
        Party::legal_entity("7707083893", "773601001", "ПАО Контрагент"),
    )
}

/// Both sandboxes, with `sets` ready sets seeded in Beorg.
#[derive(Debug)]
pub struct Sandboxes {
    /// The Beorg sandbox.
    pub beorg: BeorgSandbox,
    /// The Saby sandbox.
    pub saby: SabySandbox,
}

impl Sandboxes {
    /// Starts both sandboxes with `latency` per request (zero: none) and seeds `sets` sets
    /// that are ready at once.
    pub async fn start(latency: Duration, sets: usize) -> Self {
        let beorg =
            BeorgSandbox::start(BeorgConfig::default().polls_until_ready(0).latency(latency)).await;
        let saby = SabySandbox::start(SabyConfig::default().latency(latency)).await;
        for i in 0..sets {
            beorg.add_set(SetSpec::new().surname(SURNAMES[i % SURNAMES.len()]).ready());
        }
        Sandboxes { beorg, saby }
    }

    /// Requests both sandboxes have received so far (Beorg HTTP requests + Saby HTTP
    /// requests: JSON-RPC calls, logins and file downloads).
    pub fn requests(&self) -> u64 {
        self.beorg.requests_served() + self.saby.request_count() as u64
    }

    /// Requests that belong to one set or another: every request but the shared polls (Beorg
    /// `ready`, the Saby event feed) and the Saby logins — the `k` of issue 11.
    pub fn per_set_requests(&self) -> u64 {
        self.requests()
            - self.beorg.ready_requests()
            - self.saby.feed_poll_count() as u64
            - self.saby.login_count() as u64
    }

    /// A description of where the requests went, for the logs.
    pub fn breakdown(&self) -> String {
        format!(
            "beorg: {} ready, {} result, {} total; saby: {} requests = {} calls ({} feed, {} write, {} read, {} logins) + {} downloads",
            self.beorg.ready_requests(),
            self.beorg.result_requests(),
            self.beorg.requests_served(),
            self.saby.request_count(),
            self.saby.call_count(),
            self.saby.feed_poll_count(),
            self.saby.method_call_count("СБИС.ЗаписатьДокумент"),
            self.saby.method_call_count("СБИС.ПрочитатьДокумент"),
            self.saby.login_count(),
            self.saby.download_count(),
        )
    }
}

/// Pipeline knobs the benchmarks vary.
#[derive(Debug, Clone, Copy)]
pub struct FlowOptions {
    /// `PipelineConfig::concurrency`: API steps at once.
    pub concurrency: usize,
    /// `PipelineConfig::max_in_flight`: sets tracked at once.
    pub max_in_flight: usize,
    /// `PipelineConfig::poll_interval` (Beorg polling, event feed, scheduling passes).
    pub poll_interval: Duration,
}

/// Builds a pipeline over `beorg` and `saby` with its state and archive under `dir`.
///
/// The Saby client's own `max_in_flight` (default 5, Saby's advice per session) is raised to
/// the pipeline's concurrency, otherwise it, not the pipeline, would bound Saby calls.
///
/// # Errors
/// When the configuration is invalid or the state file cannot be opened.
pub fn pipeline(
    beorg: beorg_client::Client,
    saby: saby_client::Client,
    dir: &Path,
    options: FlowOptions,
) -> crate::Result<Pipeline> {
    pipeline_with(beorg, saby, dir, options, |_| {})
}

/// [`pipeline`] with a progress callback (`PipelineBuilder::on_progress`).
///
/// # Errors
/// As [`pipeline`].
pub fn pipeline_with(
    beorg: beorg_client::Client,
    saby: saby_client::Client,
    dir: &Path,
    options: FlowOptions,
    on_progress: impl Fn(&hr_docs_pipeline::Progress) + Send + Sync + 'static,
) -> crate::Result<Pipeline> {
    let config = PipelineConfig::builder(template())
        .state_path(dir.join("state.db"))
        .archive_dir(dir.join("archive"))
        .concurrency(options.concurrency)
        .max_in_flight(options.max_in_flight)
        .poll_interval(options.poll_interval)
        .recheck_interval(Duration::from_secs(5))
        .final_state_deadline(Duration::from_secs(600))
        .run_deadline(Duration::from_secs(900))
        .build()?;
    Ok(Pipeline::builder(config, beorg, saby)
        .on_progress(on_progress)
        .build()?)
}

/// The environment a measuring child process reads to reach its parent's sandboxes: the
/// memory benches run the pipeline in a fresh child so that its peak RSS is the pipeline's
/// alone, while the sandboxes stay in the parent.
pub mod child {
    use super::{BeorgSandbox, SabySandbox};
    use crate::{Result, http_client};

    const BEORG_URI: &str = "BENCH_BEORG_URI";
    const BEORG_TOKEN: &str = "BENCH_BEORG_TOKEN";
    const BEORG_PROJECT: &str = "BENCH_BEORG_PROJECT";
    const SABY_URI: &str = "BENCH_SABY_URI";
    const SABY_LOGIN: &str = "BENCH_SABY_LOGIN";
    const SABY_PASSWORD: &str = "BENCH_SABY_PASSWORD";
    /// Where the child puts its state file and archive (empty: the system temp dir).
    pub const WORK_DIR: &str = "BENCH_WORK_DIR";

    /// The parent's side: the variables that point a child at `beorg` and `saby`, with
    /// `work_dir` for its files.
    pub fn envs(beorg: &BeorgSandbox, saby: &SabySandbox, work_dir: &str) -> Vec<(String, String)> {
        vec![
            (BEORG_URI.to_owned(), beorg.uri()),
            (BEORG_TOKEN.to_owned(), beorg.token().to_owned()),
            (BEORG_PROJECT.to_owned(), beorg.project_id().to_owned()),
            (SABY_URI.to_owned(), saby.uri()),
            (SABY_LOGIN.to_owned(), saby.login()),
            (SABY_PASSWORD.to_owned(), saby.password()),
            (WORK_DIR.to_owned(), work_dir.to_owned()),
        ]
    }

    /// The runtime a measuring parent and its child run on: multi-threaded, 2 workers (the
    /// machine's cores), every driver enabled.
    pub fn runtime() -> Result<tokio::runtime::Runtime> {
        Ok(tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?)
    }

    /// The command that runs this benchmark binary as a child: under `BENCH_CHILD_WRAPPER`
    /// when it is set (`heaptrack`, or any command taking a program and its arguments — to
    /// profile the child's heap, or count its threads), else the binary itself.
    pub fn command() -> Result<std::process::Command> {
        let exe = std::env::current_exe()?;
        Ok(match std::env::var("BENCH_CHILD_WRAPPER") {
            Ok(wrapper) if !wrapper.is_empty() => {
                let mut c = std::process::Command::new(wrapper);
                c.arg(exe);
                c
            }
            _ => std::process::Command::new(exe),
        })
    }

    fn env(name: &str) -> Result<String> {
        std::env::var(name).map_err(|e| format!("{name}: {e}").into())
    }

    /// The child's side: both clients, built from [`envs`]'s variables, the Saby client
    /// with `concurrency` requests in flight.
    ///
    /// # Errors
    /// A variable missing, or a client that cannot be built.
    pub fn clients(concurrency: usize) -> Result<(beorg_client::Client, saby_client::Client)> {
        let http = http_client()?;
        let beorg = beorg_client::Client::builder()
            .base_url(env(BEORG_URI)?)
            .token(env(BEORG_TOKEN)?)
            .project_id(env(BEORG_PROJECT)?)
            .http_client(http.clone())
            .build()?;
        let saby = saby_client::Client::builder()
            .base_url(env(SABY_URI)?)
            .credentials(saby_client::Credentials::password(
                env(SABY_LOGIN)?,
                env(SABY_PASSWORD)?,
            ))
            .http_client(http)
            .max_in_flight(concurrency)
            .build()?;
        Ok((beorg, saby))
    }

    /// The child's side: a fresh directory under [`WORK_DIR`] (else the system temp dir).
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn work_dir() -> Result<tempfile::TempDir> {
        Ok(match std::env::var(WORK_DIR) {
            Ok(parent) if !parent.is_empty() => tempfile::tempdir_in(parent)?,
            _ => tempfile::tempdir()?,
        })
    }
}
