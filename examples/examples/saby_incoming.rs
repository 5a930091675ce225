//! List the incoming Saby documents waiting for us, and approve or reject each one.
//!
//! ```text
//! cargo run -p hr-docs-examples --example saby_incoming
//! SABY_LOGIN=… SABY_PASSWORD=… cargo run -p hr-docs-examples --example saby_incoming
//! SABY_LOGIN=… SABY_PASSWORD=… SABY_APPLY=yes cargo run -p hr-docs-examples --example saby_incoming
//! ```
//!
//! The rule is an HR department's usual one: a document is approved when it carries a PDF
//! (its printable form), and rejected with a comment otherwise. Stage and action names are
//! read from each document (`Утверждение` / `Утвердить` / `Отклонить` in Saby), and pending
//! service stages (receipts) are processed too.
//!
//! Without Saby credentials in the environment it seeds three incoming documents into the
//! in-process sandbox and processes them. With credentials (`Client::from_env()`) it only
//! prints what it would do, unless `SABY_APPLY=yes`.

use futures::TryStreamExt;
use saby_client::{Client, Document, DocumentFilter, ServerSigner, ServiceStageFilter};
use saby_sandbox::{Incoming, Sandbox, SandboxConfig};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The decision for one document: `None` to approve, `Some(reason)` to reject.
fn rejection_reason(doc: &Document) -> Option<String> {
    let has_pdf = doc.attachments.iter().any(|a| {
        a.service != Some(true)
            && a.file_name()
                .is_some_and(|n| n.to_lowercase().ends_with(".pdf"))
    });
    (!has_pdf).then(|| "Нет печатной формы документа (PDF): пришлите документ повторно".to_owned())
}

/// Whether the document waits for our approval (its own stages offer it).
fn waits_for_us(doc: &Document) -> bool {
    !doc.state.as_ref().is_some_and(|s| s.is_final())
        && doc
            .stages
            .iter()
            .any(|s| s.service != Some(true) && !s.actions.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let real = env("SABY_LOGIN").is_some() || env("SABY_APP_CLIENT_ID").is_some();
    let (client, sandbox): (Client, Option<Sandbox>) = if real {
        (Client::from_env()?, None)
    } else {
        let sandbox = Sandbox::start(SandboxConfig::default()).await;
        println!(
            "No SABY_* credentials: using the sandbox at {}",
            sandbox.uri()
        );
        sandbox.add_incoming(
            Incoming::new("Приказ о приеме на работу № 41-к")
                .number("41-к")
                .attachment("Приказ 41-к.pdf", b"%PDF-1.7 order".to_vec()),
        );
        sandbox.add_incoming(
            Incoming::new("Заявление о переводе")
                .awaiting_signature(true)
                .attachment("scan.jpg", b"\xFF\xD8\xFF".to_vec()),
        );
        sandbox.add_incoming(
            Incoming::new("Дополнительное соглашение № 3")
                .attachment("Соглашение 3.pdf", b"%PDF-1.7 agreement".to_vec())
                .service_stage(true),
        );
        (sandbox.client(), Some(sandbox))
    };
    let apply = !real || env("SABY_APPLY").is_some_and(|v| v == "yes");

    let incoming: Vec<Document> = client
        .list_documents(DocumentFilter::new().direction("Входящий"))
        .try_collect()
        .await?;
    let waiting: Vec<&Document> = incoming.iter().filter(|d| waits_for_us(d)).collect();
    println!(
        "{} incoming document(s), {} waiting for us",
        incoming.len(),
        waiting.len()
    );

    let (mut approved, mut rejected) = (0, 0);
    for doc in waiting {
        let title = doc.title.as_deref().unwrap_or("(untitled)");
        let id = doc.required_id()?;
        match rejection_reason(doc) {
            None => {
                println!("approve  {title} [{id}]");
                if apply {
                    let done = client.approve(id, &ServerSigner).await?;
                    println!(
                        "         → {}",
                        done.state.map_or_else(String::new, |s| s.code.to_string())
                    );
                }
                approved += 1;
            }
            Some(reason) => {
                println!("reject   {title} [{id}]: {reason}");
                if apply {
                    let done = client.reject(id, &reason, &ServerSigner).await?;
                    println!(
                        "         → {}",
                        done.state.map_or_else(String::new, |s| s.code.to_string())
                    );
                }
                rejected += 1;
            }
        }
    }

    // Receipts and other service stages Saby asks us to process.
    let service = client.service_stages(&ServiceStageFilter::new()).await?;
    for doc in &service.documents {
        println!(
            "service stage on {} [{}]",
            doc.title.as_deref().unwrap_or("(untitled)"),
            doc.id.as_ref().map_or("no id", |id| id.as_str())
        );
        if apply {
            client.process_service_stages(doc, &ServerSigner).await?;
        }
    }

    println!(
        "{approved} approved, {rejected} rejected, {} service stage(s){}",
        service.documents.len(),
        if apply {
            ""
        } else {
            " (dry run: set SABY_APPLY=yes to act)"
        }
    );
    if let Some(sandbox) = sandbox {
        println!(
            "sandbox: {} calls, {} login(s), {} events",
            sandbox.call_count(),
            sandbox.login_count(),
            sandbox.events_count()
        );
    }
    Ok(())
}
