//! Memory stays flat: peak RSS (`VmHWM`) measured in fresh child processes.
//!
//! - `run_once` over `--small` (1,000) and `--large` (10,000) sets: the pipeline runs in a
//!   child process against both sandboxes, which run in this (parent) process, so the child's
//!   peak is the pipeline's alone. Target: large / small ≤ 1.2.
//! - One Saby document with a `--attachment-mib` (20) MiB attachment through `saby-client`,
//!   and one Beorg upload of an image that size through `beorg-client`, against the loopback
//!   server (which streams bodies away). Target: peak − baseline RSS ≤ 3 × the attachment.
//!   The same Saby write through the reqwest + `serde_json::Value` baseline is shown for
//!   reference.
//! - `Client::archive_document` of one Saby document whose `--attachment-mib` MiB attachment
//!   is behind a link (a loopback file server in the child that generates the body 64 KiB at
//!   a time): the file is streamed to disk, so the peak above baseline should not grow with
//!   the attachment (target: ≤ 3 × the attachment, like the rows above). The in-memory pair
//!   `archive_files` + `write_archive` is shown for reference.
//!
//! Usage: `bench-memory [--small N] [--large N] [--attachment-mib N] [--concurrency 8] [--dir DIR]`
//! (`--dir`: where the child's state file and archive go; default the system temp dir). Internally the binary
//! re-executes itself as `bench-memory child <kind> ...`; each child prints one
//! `MEM <baseline rss KiB> <peak KiB> <cpu ms>` line. `BENCH_CHILD_WRAPPER=heaptrack` runs
//! each child under that command (a heap profile of the pipeline alone).

use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hr_docs_benches::args::Args;
use hr_docs_benches::baseline::RawSaby;
use hr_docs_benches::flow::{self, FlowOptions, Sandboxes};
use hr_docs_benches::report::{Row, Target};
use hr_docs_benches::rss::{self, Memory};
use hr_docs_benches::server::{LoopbackServer, ServerConfig};
use hr_docs_benches::{Result, fixtures, http_client};
use serde_json::json;

/// What a child measured: RSS before the measured work, the peak during it (KiB), and the
/// child's CPU time (ms).
#[derive(Debug, Clone, Copy)]
struct Measured {
    baseline_kib: u64,
    peak_kib: u64,
    cpu_ms: u64,
}

impl Measured {
    fn above_baseline_mib(&self) -> f64 {
        rss::kib_to_mib(self.peak_kib.saturating_sub(self.baseline_kib))
    }
}

/// Reads the baseline and resets the peak, so the next reading covers only what follows.
fn start_measuring() -> Result<Memory> {
    let before = Memory::read()?;
    if let Err(err) = rss::reset_peak() {
        eprintln!("bench-memory: cannot reset VmHWM ({err}); the peak includes start-up");
    }
    Ok(before)
}

fn finish_measuring(before: Memory) -> Result<Measured> {
    let after = Memory::read()?;
    Ok(Measured {
        baseline_kib: before.rss_kib,
        peak_kib: after.hwm_kib,
        cpu_ms: cpu_ms()?,
    })
}

fn cpu_ms() -> Result<u64> {
    Ok(u64::try_from(rss::cpu_time()?.as_millis())?)
}

// ---------------------------------------------------------------- children

async fn saby_attachment(bytes: usize) -> Result<Measured> {
    let server = LoopbackServer::start(ServerConfig::new()).await?;
    let saby = saby_client::Client::builder()
        .base_url(server.uri())
        .credentials(saby_client::Credentials::password(
            fixtures::SABY_LOGIN,
            fixtures::SABY_PASSWORD,
        ))
        .http_client(http_client()?)
        .build()?;
    let document = |attachment: Vec<u8>| {
        saby_client::Document::new("6f1c1b1e-0000-4000-8000-000000000002")
            .with_type("ДокОтгрИсх")
            .with_counterparty(saby_client::Party::individual(
                "540612345678",
                "Иванов",
                "Иван",
                "Иванович",
            ))
            .with_attachment(saby_client::Attachment::from_bytes(
                "a1",
                "Скан_Иванов.pdf",
                attachment,
            ))
    };
    // Warm up: log in, open the connection, touch the code paths.
    saby.write_document(&document(fixtures::attachment_bytes(64 << 10)))
        .await?;
    let before = start_measuring()?;
    let written = saby
        .write_document(&document(fixtures::attachment_bytes(bytes)))
        .await?;
    drop(written);
    finish_measuring(before)
}

async fn saby_attachment_raw(bytes: usize) -> Result<Measured> {
    let server = LoopbackServer::start(ServerConfig::new()).await?;
    let saby = RawSaby::login(
        http_client()?,
        server.uri(),
        fixtures::SABY_LOGIN,
        fixtures::SABY_PASSWORD,
    )
    .await?;
    let document = |attachment: Vec<u8>| {
        json!({
            "Идентификатор": "6f1c1b1e-0000-4000-8000-000000000002",
            "Тип": "ДокОтгрИсх",
            "Контрагент": {"СвФЛ": {"ИНН": "540612345678", "Фамилия": "Иванов", "Имя": "Иван", "Отчество": "Иванович"}},
            "Вложение": [{"Идентификатор": "a1", "Файл": {"Имя": "Скан_Иванов.pdf", "ДвоичныеДанные": BASE64.encode(attachment)}}]
        })
    };
    saby.write_document(document(fixtures::attachment_bytes(64 << 10)))
        .await?;
    let before = start_measuring()?;
    let written = saby
        .write_document(document(fixtures::attachment_bytes(bytes)))
        .await?;
    drop(written);
    finish_measuring(before)
}

async fn beorg_upload(bytes: usize) -> Result<Measured> {
    let server = LoopbackServer::start(ServerConfig::new()).await?;
    let beorg = beorg_client::Client::builder()
        .base_url(server.uri())
        .token(fixtures::BEORG_TOKEN)
        .project_id(fixtures::BEORG_PROJECT)
        .machine_uid(fixtures::BEORG_MACHINE_UID)
        .http_client(http_client()?)
        .build()?;
    beorg
        .upload(beorg_client::UploadRequest::new().image(fixtures::attachment_bytes(64 << 10)))
        .await?;
    let before = start_measuring()?;
    let set = beorg
        .upload(beorg_client::UploadRequest::new().image(fixtures::attachment_bytes(bytes)))
        .await?;
    drop(set);
    finish_measuring(before)
}

/// A loopback server for `GET /file/{bytes}`: that many bytes, generated 64 KiB at a time
/// (it never holds more than one chunk). Returns its URI; it stops with the runtime.
async fn file_server() -> Result<String> {
    use axum::body::{Body, Bytes};
    use axum::extract::Path;
    const CHUNK: usize = 64 << 10;
    let app = axum::Router::new().route(
        "/file/{bytes}",
        axum::routing::get(|Path(bytes): Path<usize>| async move {
            let chunk = Bytes::from(vec![0x5a_u8; CHUNK]);
            let pieces = (0..bytes).step_by(CHUNK).map(move |offset| {
                Ok::<_, std::convert::Infallible>(chunk.slice(..(bytes - offset).min(CHUNK)))
            });
            Body::from_stream(futures::stream::iter(pieces))
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let uri = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(uri)
}

/// `archive_document` of a document with one linked attachment of `bytes` bytes, streamed
/// to disk (`in_memory`: through `archive_files` + `write_archive` instead).
async fn saby_archive(bytes: usize, in_memory: bool) -> Result<Measured> {
    let uri = file_server().await?;
    let saby = saby_client::Client::builder()
        .base_url(&uri)
        .credentials(saby_client::Credentials::session("bench-session"))
        .http_client(http_client()?)
        .build()?;
    let document = |bytes: usize| -> Result<saby_client::Document> {
        Ok(serde_json::from_value(json!({
            "Идентификатор": "6f1c1b1e-0000-4000-8000-000000000003",
            "Вложение": [{"Идентификатор": "a1", "Файл": {"Имя": "Скан_Иванов.pdf", "Ссылка": format!("/file/{bytes}")}}]
        }))?)
    };
    let dir = flow::child::work_dir()?;
    let archive = |doc: saby_client::Document| {
        let (saby, dir) = (&saby, dir.path());
        async move {
            if in_memory {
                let files = saby.archive_files(&doc).await?;
                saby_client::write_archive(dir, &files).await
            } else {
                saby.archive_document(&doc, dir).await
            }
        }
    };
    // Warm up: open the connection, touch the code paths.
    archive(document(64 << 10)?).await?;
    let before = start_measuring()?;
    let report = archive(document(bytes)?).await?;
    // The attachment, and the manifest beside it.
    let files = report
        .written
        .iter()
        .filter(|p| Some(p.as_path()) != report.manifest.as_deref())
        .count();
    if files != 1 {
        return Err(format!("expected one file written besides the manifest: {report:?}").into());
    }
    finish_measuring(before)
}

/// `run_once` over whatever the parent's sandboxes hold; the peak covers the whole run.
async fn run_once(concurrency: usize) -> Result<Measured> {
    let before = Memory::read()?;
    let (beorg, saby) = flow::child::clients(concurrency)?;
    let dir = flow::child::work_dir()?;
    let options = FlowOptions {
        concurrency,
        max_in_flight: 256,
        poll_interval: Duration::from_millis(50),
    };
    let pipeline = flow::pipeline(beorg, saby, dir.path(), options)?;
    // BENCH_RSS_TRACE=1: print RSS every 2 s (does it grow with time, or plateau?).
    let trace = std::env::var("BENCH_RSS_TRACE")
        .is_ok_and(|v| v == "1")
        .then(|| {
            tokio::spawn(async {
                let started = Instant::now();
                loop {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    if let Ok(m) = Memory::read() {
                        eprintln!(
                            "rss t={:.0}s rss={:.1} MiB hwm={:.1} MiB",
                            started.elapsed().as_secs_f64(),
                            m.rss_mib(),
                            m.hwm_mib()
                        );
                    }
                }
            })
        });
    let summary = pipeline.run_once().await?;
    if let Some(task) = trace {
        task.abort();
    }
    eprintln!("run-once child: {summary}");
    if !summary.all_final() {
        return Err(format!("not every set reached the end: {summary}").into());
    }
    let after = Memory::read()?;
    Ok(Measured {
        baseline_kib: before.rss_kib,
        peak_kib: after.hwm_kib,
        cpu_ms: cpu_ms()?,
    })
}

fn child(args: &Args) -> Result<()> {
    let kind = args.positional(1).ok_or("child: which kind?")?;
    let bytes = args.get("mib", 20usize)? << 20;
    let rt = flow::child::runtime()?;
    let measured = match kind {
        "saby-attachment" => rt.block_on(saby_attachment(bytes))?,
        "saby-attachment-raw" => rt.block_on(saby_attachment_raw(bytes))?,
        "beorg-upload" => rt.block_on(beorg_upload(bytes))?,
        "saby-archive" => rt.block_on(saby_archive(bytes, false))?,
        "saby-archive-in-memory" => rt.block_on(saby_archive(bytes, true))?,
        "run-once" => rt.block_on(run_once(args.get("concurrency", 8usize)?))?,
        other => return Err(format!("unknown child kind {other}").into()),
    };
    println!(
        "MEM {} {} {}",
        measured.baseline_kib, measured.peak_kib, measured.cpu_ms
    );
    Ok(())
}

// ---------------------------------------------------------------- parent

/// Runs `bench-memory child <args>` and reads its `MEM` line.
fn run_child(args: &[String], envs: &[(String, String)]) -> Result<Measured> {
    let mut command = flow::child::command()?;
    let output = command
        .arg("child")
        .args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "child {args:?} failed ({}; its stderr is above): {stdout}",
            output.status
        )
        .into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MEM "))
        .ok_or("child printed no MEM line")?;
    let mut numbers = line.split_whitespace().map(str::parse::<u64>);
    match (numbers.next(), numbers.next(), numbers.next()) {
        (Some(Ok(baseline_kib)), Some(Ok(peak_kib)), Some(Ok(cpu_ms))) => Ok(Measured {
            baseline_kib,
            peak_kib,
            cpu_ms,
        }),
        _ => Err(format!("bad MEM line: {line}").into()),
    }
}

fn attachment_rows(mib: usize, work_dir: &str) -> Result<()> {
    let limit = 3.0 * mib as f64;
    let cases = [
        (
            "saby-attachment",
            format!("Saby write_document, {mib} MiB attachment: peak RSS above baseline"),
            true,
        ),
        (
            "beorg-upload",
            format!("Beorg upload, {mib} MiB image: peak RSS above baseline"),
            true,
        ),
        (
            "saby-attachment-raw",
            "(reference) same Saby write with reqwest+Value: peak RSS above baseline".to_owned(),
            false,
        ),
        (
            "saby-archive",
            format!("Saby archive_document, {mib} MiB linked attachment: peak RSS above baseline"),
            true,
        ),
        (
            "saby-archive-in-memory",
            "(reference) same archive via archive_files + write_archive: peak RSS above baseline"
                .to_owned(),
            false,
        ),
    ];
    let envs = [(flow::child::WORK_DIR.to_owned(), work_dir.to_owned())];
    for (kind, label, has_target) in cases {
        let m = run_child(&[kind.to_owned(), "--mib".into(), mib.to_string()], &envs)?;
        let above = m.above_baseline_mib();
        let ours = format!("{above:.1} MiB ({:.1}× the file)", above / mib as f64);
        if has_target {
            Row::new(
                label,
                ours,
                format!("{limit:.0} MiB (3 × {mib} MiB)"),
                above / mib as f64,
                Target::AtMost(3.0),
            )
            .print();
        } else {
            Row::info(label, ours, "-").print();
        }
    }
    Ok(())
}

/// Seeds `sets` sets in fresh sandboxes (served by this process) and runs `run_once` over
/// them in a child process.
fn run_once_peak(
    rt: &tokio::runtime::Runtime,
    sets: usize,
    concurrency: usize,
    work_dir: &str,
) -> Result<Measured> {
    rt.block_on(async {
        let seeding = Instant::now();
        let sandboxes = Sandboxes::start(Duration::ZERO, sets).await;
        eprintln!("bench-memory: {sets} sets seeded in {:.1?}", seeding.elapsed());
        let envs = flow::child::envs(&sandboxes.beorg, &sandboxes.saby, work_dir);
        let args = vec!["run-once".to_owned(), "--concurrency".to_owned(), concurrency.to_string()];
        let started = Instant::now();
        let parent_cpu = rss::cpu_time()?;
        let measured = tokio::task::spawn_blocking(move || run_child(&args, &envs)).await??;
        let sandbox_cpu = rss::cpu_time()?.saturating_sub(parent_cpu);
        eprintln!(
            "bench-memory: run_once over {sets} sets took {:.1?}; CPU: pipeline (child) {:.1} ms/set, sandboxes (parent) {:.1} ms/set; {}",
            started.elapsed(),
            measured.cpu_ms as f64 / sets as f64,
            sandbox_cpu.as_secs_f64() * 1000.0 / sets as f64,
            sandboxes.breakdown()
        );
        Ok(measured)
    })
}

fn main() -> Result<()> {
    let args = Args::from_env()?;
    if args.positional(0) == Some("child") {
        return child(&args);
    }
    let small: usize = args.get("small", 1000)?;
    let large: usize = args.get("large", 10_000)?;
    let concurrency: usize = args.get("concurrency", 8)?;
    let work_dir: String = args.get("dir", String::new())?;
    if small > 0 && large > 0 {
        let rt = flow::child::runtime()?;
        let at_small = run_once_peak(&rt, small, concurrency, &work_dir)?;
        let at_large = run_once_peak(&rt, large, concurrency, &work_dir)?;
        let (s, l) = (
            rss::kib_to_mib(at_small.peak_kib),
            rss::kib_to_mib(at_large.peak_kib),
        );
        Row::new(
            format!("run_once peak RSS (VmHWM), {large} vs {small} sets"),
            format!("{l:.1} MiB"),
            format!("{s:.1} MiB"),
            l / s,
            Target::AtMost(1.2),
        )
        .print();
    }
    attachment_rows(args.get("attachment-mib", 20usize)?, &work_dir)?;
    Ok(())
}
