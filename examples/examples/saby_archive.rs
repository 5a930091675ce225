//! Save a Saby document's files locally: every attachment, every signature and the zip of the
//! whole document.
//!
//! ```text
//! cargo run -p hr-docs-examples --example saby_archive
//! SABY_LOGIN=… SABY_PASSWORD=… SABY_DOC_ID=… SABY_ARCHIVE_DIR=./archive \
//!     cargo run -p hr-docs-examples --example saby_archive
//! ```
//!
//! Without Saby credentials in the environment it sends a document through the in-process
//! sandbox, waits until the counterparty has approved it (so both signatures exist), and
//! archives it twice into a temporary directory: the second run writes nothing, since the
//! archive only rewrites files whose bytes changed. With credentials (`Client::from_env()`)
//! it archives the document `SABY_DOC_ID` into `SABY_ARCHIVE_DIR` (default `./saby-archive`).

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use saby_client::{ArchiveReport, Attachment, Client, Document, EventCursor, Party, ServerSigner};
use saby_sandbox::{Sandbox, SandboxConfig};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn print_report(label: &str, report: &ArchiveReport) {
    println!(
        "{label}: {} written, {} unchanged in {}",
        report.written.len(),
        report.unchanged.len(),
        report.dir.display()
    );
    for path in &report.written {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        println!("  {:>7} bytes  {}", size, name.unwrap_or_default());
    }
}

/// Sends a document through the sandbox and polls the feed until it is final.
async fn completed_sandbox_document(client: &Client) -> Result<String, Box<dyn std::error::Error>> {
    let id = "8d3b5c1e-7f00-4a00-9000-000000000042".to_owned();
    let draft = Document::new(&id)
        .with_type("ДокОтгрИсх")
        .with_title("Трудовой договор № 42")
        .with_counterparty(Party::individual(
            "500100732259",
            "Иванов",
            "Иван",
            "Иванович",
        ))
        .with_attachment(Attachment::from_bytes(
            "att-42",
            "Трудовой договор 42.pdf",
            b"%PDF-1.7 contract 42".to_vec(),
        ));
    client.write_document(&draft).await?;
    client.send(&id, &ServerSigner).await?;
    let mut cursor = EventCursor::start();
    for _ in 0..10 {
        let mut feed = client.events(cursor.clone());
        while let Some(event) = feed.next().await {
            let event = event?;
            println!(
                "event {:?}: {}",
                event.event.name.as_deref().unwrap_or("?"),
                event.document.state.as_ref().map_or("?", |s| s.code.code())
            );
        }
        cursor = feed.cursor().clone();
        let doc = client.read_document(&id).await?;
        if doc.state.is_some_and(|s| s.is_final()) {
            return Ok(id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the sandbox document did not reach a final state".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let real = env("SABY_LOGIN").is_some() || env("SABY_APP_CLIENT_ID").is_some();
    if real {
        let client = Client::from_env()?;
        let id = env("SABY_DOC_ID").ok_or("set SABY_DOC_ID to the document to archive")?;
        let dir =
            PathBuf::from(env("SABY_ARCHIVE_DIR").unwrap_or_else(|| "saby-archive".to_owned()));
        let report = client.archive(&id, &dir.join(&id)).await?;
        print_report("archive", &report);
        return Ok(());
    }

    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    println!(
        "No SABY_* credentials: using the sandbox at {}",
        sandbox.uri()
    );
    let client = sandbox.client();
    let id = completed_sandbox_document(&client).await?;

    let dir = std::env::temp_dir().join(format!("saby-archive-example-{}", std::process::id()));
    let first = client.archive(&id, &dir).await?;
    print_report("first run", &first);
    let second = client.archive(&id, &dir).await?;
    print_report("second run", &second);
    std::fs::remove_dir_all(&dir)?;
    if !second.written.is_empty() {
        return Err("the second run rewrote files".into());
    }
    println!(
        "sandbox: {} downloads, {} calls, {} login(s)",
        sandbox.download_count(),
        sandbox.call_count(),
        sandbox.login_count()
    );
    Ok(())
}
