//! Poll Beorg for ready sets and print what was recognized in each.
//!
//! Without `BEORG_TOKEN` in the environment the example starts the in-process
//! sandbox, seeds a few sets (and uploads one), and polls it. With `BEORG_TOKEN`
//! and `BEORG_PROJECT_ID` set (plus optionally `BEORG_BASE_URL` for staging and
//! `BEORG_MACHINE_UID`) it polls the real server instead.
//!
//! ```text
//! cargo run -p hr-docs-examples --example beorg_poll
//! BEORG_TOKEN=… BEORG_PROJECT_ID=U_RATE_2 BEORG_START_ID=16 \
//!     cargo run -p hr-docs-examples --example beorg_poll
//! ```
//!
//! The example stops once no new set became ready for a while
//! (`BEORG_IDLE_SECS`, default 30 s against a server, 0.5 s in the sandbox) and
//! prints the `start_id` to resume from next time.

use std::time::Duration;

use beorg_client::sandbox::{Sandbox, SandboxConfig, SetSpec};
use beorg_client::{
    Client, DocumentType, ProcessInfo, RecognitionResult, RecognizedDocument, UploadRequest,
};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let start_id: u64 = std::env::var("BEORG_START_ID")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);

    // Keep the sandbox alive for as long as the client talks to it.
    let (client, idle, _sandbox) = if std::env::var_os("BEORG_TOKEN").is_some() {
        let idle = std::env::var("BEORG_IDLE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(Duration::from_secs(30), Duration::from_secs);
        println!("Polling the Beorg server from set {start_id}");
        (Client::from_env()?, idle, None)
    } else {
        let sandbox = Sandbox::start(
            SandboxConfig::default()
                .project_id("U_RATE_2")
                .projects(["U_RATE_3"])
                .polls_until_ready(1),
        )
        .await;
        seed(&sandbox).await?;
        println!(
            "BEORG_TOKEN is not set: polling the sandbox at {} from set {start_id}",
            sandbox.uri()
        );
        (sandbox.client(), Duration::from_millis(500), Some(sandbox))
    };

    let mut ready = client.ready_stream(start_id, Duration::from_millis(200).min(idle));
    loop {
        let set = match tokio::time::timeout(idle, ready.next()).await {
            Err(_) | Ok(None) => break, // nothing new for a while, or the stream ended
            Ok(Some(Err(e))) if e.is_retryable() => {
                eprintln!("poll failed, will retry: {e}");
                continue;
            }
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(Some(Ok(set))) => set,
        };
        match client.wait_for_result(&set, Duration::from_secs(180)).await {
            Ok(result) => print_result(&result),
            Err(e) => eprintln!("set {set}: {e}"),
        }
    }
    println!(
        "No new sets. Next time start from start_id={}",
        ready.next_start_id()
    );
    Ok(())
}

/// Seeds the sandbox: three sets directly, one through a real upload call.
async fn seed(sandbox: &Sandbox) -> Result<(), beorg_client::Error> {
    sandbox.add_set(SetSpec::new().surname("Иванов"));
    sandbox.add_set(
        SetSpec::new()
            .surname("Каримова")
            .project("U_RATE_3")
            .document(DocumentType::Rvp)
            .document(DocumentType::Brth),
    );
    sandbox.add_set(
        SetSpec::new()
            .document(DocumentType::PassportReg)
            .document(DocumentType::Inn),
    );
    let scan = vec![0xFF, 0xD8, 0xFF, 0xE0]; // a (tiny) JPEG header stands in for a scan
    sandbox
        .client()
        .upload(
            UploadRequest::new()
                .image_with(scan.clone(), ProcessInfo::of_type(DocumentType::Passport))
                .image_with(scan, ProcessInfo::of_type(DocumentType::Snils)),
        )
        .await?;
    Ok(())
}

fn print_result(result: &RecognitionResult) {
    println!(
        "Set {} — {} document(s)",
        result.document_id,
        result.documents.len()
    );
    for doc in &result.documents {
        println!(
            "  {:<14} {:<32} {}",
            doc.doc_type.as_str(),
            doc.file_name().unwrap_or("-"),
            summary(doc)
        );
    }
}

fn date(d: Option<impl std::fmt::Display>) -> String {
    d.map_or_else(|| "?".to_owned(), |d| d.to_string())
}

fn or_q(s: Option<String>) -> String {
    s.unwrap_or_else(|| "?".to_owned())
}

/// The main fields of a document, one line.
fn summary(doc: &RecognizedDocument) -> String {
    if let Some(p) = doc.passport() {
        return format!(
            "{}, born {}, passport {}",
            or_q(p.full_name()),
            date(p.birth_date),
            or_q(p.series_and_number())
        );
    }
    if let Some(s) = doc.snils() {
        return format!(
            "SNILS {} ({} {})",
            or_q(s.number),
            or_q(s.last_name),
            or_q(s.first_name)
        );
    }
    if let Some(r) = doc.rvp() {
        return format!(
            "{} {}, {}, permit valid until {}",
            or_q(r.last_name),
            or_q(r.first_name),
            or_q(r.citizenship),
            date(r.expiry_date)
        );
    }
    if let Some(b) = doc.birth_certificate() {
        return format!(
            "child {} {}, born {}",
            or_q(b.child_last_name),
            or_q(b.child_first_name),
            date(b.child_birth_date)
        );
    }
    match doc.field("Number") {
        Some(n) => format!("number {n} ({} fields)", doc.data.len()),
        None => format!("{} fields", doc.data.len()),
    }
}
