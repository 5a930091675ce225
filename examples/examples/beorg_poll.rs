//! Poll Beorg for the company's ready sets and print, for each, its contour and
//! what was recognized — document types, how many fields, whether the typed
//! views parse and how confident Beorg was — never the recognized values
//! themselves (names, dates, numbers are personal data).
//!
//! Without `BEORG_TOKEN` in the environment the example starts the in-process
//! sandbox (a company with two contours), seeds a few sets (one broken as a
//! whole), uploads one, and polls it. With `BEORG_TOKEN` and `BEORG_PROJECT_ID`
//! (the company's number) set (plus optionally `BEORG_BASE_URL` for staging and
//! `BEORG_MACHINE_UID`) it polls the real server instead.
//!
//! ```text
//! cargo run -p hr-docs-examples --example beorg_poll
//! BEORG_TOKEN=… BEORG_PROJECT_ID=U_RATE_2 BEORG_START_ID=16 \
//!     cargo run -p hr-docs-examples --example beorg_poll
//! ```
//!
//! A set Beorg returns broken as a whole (or without documents) is reported as
//! such. The example stops once no new set became ready for a while
//! (`BEORG_IDLE_SECS`, default 30 s against a server, 0.5 s in the sandbox) and
//! prints the `start_id` to resume from next time.

use std::time::Duration;

use beorg_client::{
    Client, DocumentType, ProcessInfo, RecognitionResult, RecognizedDocument, UploadRequest,
};
use beorg_sandbox::{Sandbox, SandboxConfig, SetSpec};
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
        let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(1)).await;
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
        let contour = set.contour.as_deref().unwrap_or("no contour");
        match client
            .wait_for_result(&set.id, Duration::from_secs(180))
            .await
        {
            Ok(result) => print_result(&result, contour),
            Err(e) => eprintln!("set {} [{contour}]: {e}", set.id),
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
            .contour("Кадры-Казань")
            .document(DocumentType::Rvp.as_str())
            .document(DocumentType::Brth.as_str()),
    );
    sandbox.add_set(SetSpec::new().broken());
    sandbox.add_set(
        SetSpec::new()
            .document(DocumentType::PassportReg.as_str())
            .document(DocumentType::Inn.as_str()),
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

fn print_result(result: &RecognitionResult, contour: &str) {
    println!(
        "Set {} [{contour}] — {} document(s)",
        result.document_id,
        result.documents.len()
    );
    for doc in &result.documents {
        println!("  {:<14} {}", doc.doc_type.as_str(), summary(doc));
    }
}

/// What was recognized in a document, without the values: fields filled, the
/// typed view, the lowest confidence.
fn summary(doc: &RecognizedDocument) -> String {
    let filled = doc.data.keys().filter(|k| doc.field(k).is_some()).count();
    let view = if let Some(p) = doc.passport() {
        format!(
            "passport view: name {}, birth date {}, series/number {}",
            yes_no(p.full_name().is_some()),
            yes_no(p.birth_date.is_some()),
            yes_no(p.series_and_number().is_some())
        )
    } else if let Some(s) = doc.snils() {
        format!("SNILS view: number {}", yes_no(s.number.is_some()))
    } else if let Some(r) = doc.rvp() {
        format!("RVP view: expiry date {}", yes_no(r.expiry_date.is_some()))
    } else if let Some(b) = doc.birth_certificate() {
        format!(
            "birth certificate view: child's birth date {}",
            yes_no(b.child_birth_date.is_some())
        )
    } else {
        "no typed view".to_owned()
    };
    let lowest = doc
        .metadata
        .confidences
        .iter()
        .filter_map(|(_, c)| c)
        .fold(None, |m: Option<f64>, c| Some(m.map_or(c, |m| m.min(c))));
    match lowest {
        Some(c) => format!(
            "{filled}/{} fields filled; {view}; lowest confidence {c:.2}",
            doc.data.len()
        ),
        None => format!("{filled}/{} fields filled; {view}", doc.data.len()),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "recognized" } else { "missing" }
}
