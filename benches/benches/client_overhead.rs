//! Client overhead: the typed `beorg-client` / `saby-client` calls against hand-written
//! `reqwest` + `serde_json::Value` baselines, on the same loopback server and the same
//! `reqwest::Client` settings, at concurrency 1 and 32; and decoding a `RecognitionResult`,
//! a Saby `Документ` and a 50-event `СписокИзменений` page against decoding the same bytes
//! into a `serde_json::Value`.
//!
//! Run: `cargo bench -p hr-docs-benches --bench client_overhead`; `scripts/bench` turns the
//! medians into the ratio table (`bench-report`).

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::TryStreamExt as _;
use futures::future::try_join_all;
use hr_docs_benches::baseline::{RawBeorg, RawSaby};
use hr_docs_benches::fixtures;
use hr_docs_benches::server::{LoopbackServer, ServerConfig};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

/// Concurrency levels compared.
const CONCURRENCY: [usize; 2] = [1, 32];

/// Stops the benchmark with a message: a failing call must never be timed as a fast one.
fn or_exit<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => {
            eprintln!("client_overhead: {what} failed: {err}");
            std::process::exit(1)
        }
    }
}

/// Runs `n` copies of `call` concurrently on the current task.
async fn concurrently<F, Fut, T, E>(n: usize, call: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let results = try_join_all((0..n).map(call)).await;
    black_box(or_exit("call", results));
}

struct Fixture {
    _server: LoopbackServer,
    beorg: beorg_client::Client,
    saby: saby_client::Client,
    raw_beorg: RawBeorg,
    raw_saby: RawSaby,
    attachment: Vec<u8>,
}

fn runtime() -> Runtime {
    or_exit(
        "tokio runtime",
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
    )
}

fn raw_document(attachment: &[u8]) -> Value {
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

fn typed_document(attachment: &[u8]) -> saby_client::Document {
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

fn setup(rt: &Runtime) -> Fixture {
    rt.block_on(async {
        let server = or_exit(
            "loopback server",
            LoopbackServer::start(ServerConfig::new()).await,
        );
        let http = or_exit("reqwest client", hr_docs_benches::http_client());
        let raw_beorg = RawBeorg::new(
            http.clone(),
            server.uri(),
            fixtures::BEORG_TOKEN,
            fixtures::BEORG_PROJECT,
        );
        let raw_saby = or_exit(
            "baseline login",
            RawSaby::login(
                http.clone(),
                server.uri(),
                fixtures::SABY_LOGIN,
                fixtures::SABY_PASSWORD,
            )
            .await,
        );
        let beorg = or_exit(
            "beorg client",
            beorg_client::Client::builder()
                .base_url(server.uri())
                .token(fixtures::BEORG_TOKEN)
                .project_id(fixtures::BEORG_PROJECT)
                .machine_uid(fixtures::BEORG_MACHINE_UID)
                .http_client(http.clone())
                .build(),
        );
        // max_in_flight: the client's own limit (default 5, Saby's advice per session) would
        // queue calls the baseline makes at once; raise it so both sides do the same thing.
        let saby = or_exit(
            "saby client",
            saby_client::Client::builder()
                .base_url(server.uri())
                .credentials(saby_client::Credentials::password(
                    fixtures::SABY_LOGIN,
                    fixtures::SABY_PASSWORD,
                ))
                .http_client(http)
                .max_in_flight(64)
                .build(),
        );
        // Log in once (the first call does it), outside the measurement.
        or_exit(
            "typed login",
            saby.write_document(&typed_document(&[])).await,
        );
        Fixture {
            _server: server,
            beorg,
            saby,
            raw_beorg,
            raw_saby,
            attachment: fixtures::attachment_bytes(2048),
        }
    })
}

fn client_overhead(c: &mut Criterion) {
    let rt = runtime();
    let f = setup(&rt);
    let raw_doc = raw_document(&f.attachment);
    let typed_doc = typed_document(&f.attachment);
    let since = saby_client::SabyDateTime::parse("23.11.2026 00.00.00");

    let mut group = c.benchmark_group("beorg_result");
    for n in CONCURRENCY {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("typed", n), &n, |b, &n| {
            b.to_async(&rt).iter(|| {
                concurrently(n, |i| {
                    let set = beorg_client::SetId::new(format!("s-{}", 12_340 + i));
                    let client = &f.beorg;
                    async move { client.result(&set).await }
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("baseline", n), &n, |b, &n| {
            b.to_async(&rt).iter(|| {
                concurrently(n, |i| {
                    let set = format!("s-{}", 12_340 + i);
                    let raw = &f.raw_beorg;
                    async move { raw.result(&set).await }
                })
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("beorg_ready");
    for n in CONCURRENCY {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("typed", n), &n, |b, &n| {
            b.to_async(&rt)
                .iter(|| concurrently(n, |_| f.beorg.ready(16)));
        });
        group.bench_with_input(BenchmarkId::new("baseline", n), &n, |b, &n| {
            b.to_async(&rt)
                .iter(|| concurrently(n, |_| f.raw_beorg.ready(16)));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("saby_write");
    for n in CONCURRENCY {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("typed", n), &n, |b, &n| {
            b.to_async(&rt)
                .iter(|| concurrently(n, |_| f.saby.write_document(&typed_doc)));
        });
        group.bench_with_input(BenchmarkId::new("baseline", n), &n, |b, &n| {
            b.to_async(&rt)
                .iter(|| concurrently(n, |_| f.raw_saby.write_document(raw_doc.clone())));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("saby_changes");
    for n in CONCURRENCY {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("typed", n), &n, |b, &n| {
            b.to_async(&rt).iter(|| {
                concurrently(n, |_| {
                    f.saby
                        .events(saby_client::EventCursor::since(since.clone()))
                        .try_collect::<Vec<_>>()
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("baseline", n), &n, |b, &n| {
            b.to_async(&rt).iter(|| {
                concurrently(n, |_| {
                    f.raw_saby
                        .changes(json!({"ДатаВремяС": "23.11.2026 00.00.00"}))
                })
            });
        });
    }
    group.finish();
}

/// `typed`: `$ty` decoded from `$bytes` the way saby-client decodes a `result` that is
/// valid: one pass without path tracking (the client decodes again under
/// `serde_path_to_error` only when that pass fails, to name the JSON path); `typed_tracked`:
/// the same under `serde_path_to_error` (what a failing decode costs, and what the client
/// did before); `value`: the same bytes into a `serde_json::Value`. A macro: the bench crate
/// has no `serde` dependency to write the bound with.
macro_rules! decode_pair {
    ($c:expr, $ty:ty, $group:literal, $bytes:expr) => {{
        let bytes: &[u8] = $bytes;
        let mut group = $c.benchmark_group($group);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("typed", |b| {
            b.iter(|| black_box(serde_json::from_slice::<$ty>(black_box(bytes)).ok()))
        });
        group.bench_function("typed_tracked", |b| {
            b.iter(|| {
                let mut de = serde_json::Deserializer::from_slice(black_box(bytes));
                let result: Result<$ty, _> = serde_path_to_error::deserialize(&mut de);
                black_box((result.ok(), de.end().is_ok()))
            });
        });
        group.bench_function("value", |b| {
            b.iter(|| black_box(serde_json::from_slice::<Value>(black_box(bytes)).ok()))
        });
        group.finish();
    }};
}

fn decode(c: &mut Criterion) {
    let bytes = fixtures::BEORG_RESULT.as_bytes();
    let mut group = c.benchmark_group("decode_result");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("typed", |b| {
        b.iter(|| {
            // As beorg-client decodes: a plain serde_json decode; path tracking
            // (serde_path_to_error) only re-runs the decode when this one fails.
            let result =
                serde_json::from_slice::<beorg_client::RecognitionResult>(black_box(bytes));
            black_box(result.ok())
        });
    });
    group.bench_function("value", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Value>(black_box(bytes)).ok()))
    });
    group.finish();

    // Saby: the `Документ` of `СБИС.ЗаписатьДокумент` and the `result` of a 50-event
    // `СБИС.СписокИзменений` page, compact as the loopback server sends them.
    let document = or_exit(
        "saby document fixture",
        serde_json::from_str::<Value>(fixtures::SABY_DOCUMENT).and_then(|v| serde_json::to_vec(&v)),
    );
    let changes = or_exit(
        "saby changes fixture",
        fixtures::saby_changes().and_then(|v| serde_json::to_vec(&v)),
    );
    decode_pair!(c, saby_client::Document, "decode_saby_document", &document);
    decode_pair!(
        c,
        saby_client::DocumentPage,
        "decode_saby_changes",
        &changes
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = client_overhead, decode
}
criterion_main!(benches);
