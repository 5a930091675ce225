//! Write a Saby document with an attachment, sign and send it, and follow its events until
//! it reaches a final state.
//!
//! ```text
//! cargo run -p hr-docs-examples --example saby_send
//! SABY_LOGIN=… SABY_PASSWORD=… SABY_COUNTERPARTY_INN=… SABY_COUNTERPARTY_KPP=… \
//!     SABY_COUNTERPARTY_NAME=… SABY_FILE=contract.pdf \
//!     cargo run -p hr-docs-examples --example saby_send
//! ```
//!
//! Without Saby credentials in the environment (`SABY_LOGIN`/`SABY_PASSWORD`, or
//! `SABY_APP_CLIENT_ID`/`SABY_APP_SECRET`/`SABY_SECRET_KEY`) it runs against the in-process
//! sandbox, where the counterparty receives the document at the first feed poll and approves
//! it at the next. With credentials it uses `Client::from_env()` (`SABY_BASE_URL` selects the
//! host, e.g. `https://fix-online.sbis.ru`), the counterparty from `SABY_COUNTERPARTY_*`, the
//! file `SABY_FILE` and the document type `SABY_DOC_TYPE` (default `ДокОтгрИсх`), and waits
//! at most `SABY_FOLLOW_SECS` (default 300) for a final state.
//!
//! Signing uses server-side keys (`ServerSigner`): Saby signs. A certificate with a client-side
//! key needs a `Signer` that makes detached CMS signatures instead.
//!
//! When the account asks for a confirmation code at login, the example has Saby send it
//! (`send_auth_code`) and reads it from `SABY_CONFIRMATION_CODE` or, failing that, from the
//! terminal (three tries). `SABY_SANDBOX_CONFIRMATION=1` makes the sandbox ask for one too
//! (its code is printed, as an SMS would bring it).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use saby_client::{
    Attachment, Client, Document, Error, EventCursor, Party, ServerSigner, StateCode,
};
use saby_sandbox::{LoginConfirmation, Sandbox, SandboxConfig};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Logs in now; when Saby asks for a confirmation code, has it sent and confirms it (from
/// `SABY_CONFIRMATION_CODE`, else typed in; three tries).
async fn login(
    client: &Client,
    sandbox: Option<&Sandbox>,
) -> Result<(), Box<dyn std::error::Error>> {
    let info = match client.login_now().await {
        Ok(()) => return Ok(()),
        Err(Error::ConfirmationRequired(info)) => info,
        Err(e) => return Err(e.into()),
    };
    client.send_auth_code(&info).await?;
    println!(
        "Saby sent a confirmation code to {}",
        info.phone.as_deref().unwrap_or("your phone")
    );
    // The sandbox's "SMS": its code, as if the user had typed it.
    let sandbox_code = sandbox.and_then(Sandbox::last_confirmation_code);
    if let Some(code) = &sandbox_code {
        println!("(sandbox) the code is {code}");
    }
    for _ in 0..3 {
        let code = match env("SABY_CONFIRMATION_CODE").or_else(|| sandbox_code.clone()) {
            Some(code) => code,
            None => {
                println!("Enter the code:");
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line
            }
        };
        match client.confirm_login(&info, &code).await {
            Ok(()) => return Ok(()),
            Err(e @ Error::AuthFailed { .. })
                if env("SABY_CONFIRMATION_CODE").is_none() && sandbox_code.is_none() =>
            {
                println!("{e}");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err("the confirmation code was refused three times".into())
}

/// A fresh GUID-shaped identifier: our own id makes the write idempotent.
fn new_document_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        now.as_secs() & 0xffff_ffff,
        std::process::id() & 0xffff,
        u64::from(now.subsec_nanos())
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let real = env("SABY_LOGIN").is_some() || env("SABY_APP_CLIENT_ID").is_some();
    // Keep the sandbox alive for as long as the client talks to it.
    let (client, sandbox, poll, patience) = if real {
        let patience = env("SABY_FOLLOW_SECS")
            .and_then(|s| s.parse().ok())
            .map_or(Duration::from_secs(300), Duration::from_secs);
        (Client::from_env()?, None, Duration::from_secs(10), patience)
    } else {
        let mut config = SandboxConfig::default();
        if env("SABY_SANDBOX_CONFIRMATION").is_some() {
            config = config.login_confirmation(LoginConfirmation::RandomCode);
        }
        let sandbox = Sandbox::start(config).await;
        println!(
            "No SABY_* credentials: using the sandbox at {}",
            sandbox.uri()
        );
        (
            sandbox.client(),
            Some(sandbox),
            Duration::from_millis(200),
            Duration::from_secs(30),
        )
    };

    login(&client, sandbox.as_ref()).await?;

    let counterparty = Party::legal_entity(
        env("SABY_COUNTERPARTY_INN").unwrap_or_else(|| "7807654321".to_owned()),
        env("SABY_COUNTERPARTY_KPP").unwrap_or_else(|| "780701001".to_owned()),
        env("SABY_COUNTERPARTY_NAME").unwrap_or_else(|| "АО «Лютик»".to_owned()),
    );
    let (file_name, bytes) = match env("SABY_FILE") {
        Some(path) => {
            let bytes = std::fs::read(&path)?;
            let name = std::path::Path::new(&path).file_name().map_or_else(
                || "document.pdf".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            );
            (name, bytes)
        }
        None => (
            "Трудовой договор.txt".to_owned(),
            "Трудовой договор № 17 с Ивановым И. И.\n"
                .as_bytes()
                .to_vec(),
        ),
    };

    let id = new_document_id();
    let draft = Document::new(&id)
        .with_type(env("SABY_DOC_TYPE").unwrap_or_else(|| "ДокОтгрИсх".to_owned()))
        .with_title("Трудовой договор № 17")
        .with_counterparty(counterparty)
        .with_attachment(Attachment::from_bytes(format!("{id}-1"), file_name, bytes));
    let written = client.write_document(&draft).await?;
    println!(
        "written {id}: state {}",
        written.state.as_ref().map_or("?", |s| s.code.code())
    );

    let sent = match client.send(&id, &ServerSigner).await {
        Ok(doc) => doc,
        Err(Error::SignatureRequired { .. }) => {
            return Err("the certificate's key is client-side: sign with your own Signer".into());
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "sent: state {}",
        sent.state.as_ref().map_or("?", |s| s.code.code())
    );

    // Follow the feed from our own "sent" event: only later events come back.
    let mut cursor = EventCursor::start();
    if let Some(event) = sent.events.first() {
        cursor.event_id = event.id.clone();
        cursor.document_id = Some(id.as_str().into());
        cursor.since = event.datetime.as_ref().map(|d| d.as_str().to_owned());
    }
    let mut feed = client.events_follow(cursor, poll);
    let deadline = tokio::time::Instant::now() + patience;
    let final_state = loop {
        let next = tokio::time::timeout_at(deadline, feed.next()).await;
        let event = match next {
            Err(_) => break None,
            Ok(None) => break None,
            Ok(Some(Err(e))) => {
                eprintln!("feed error (will retry): {e}");
                continue;
            }
            Ok(Some(Ok(event))) => event,
        };
        if event.document_id().is_none_or(|d| *d != id) {
            continue;
        }
        let state = event.document.state.clone();
        println!(
            "event {:?} at {}: state {}",
            event.event.name.as_deref().unwrap_or("?"),
            event.event.datetime.as_ref().map_or("?", |d| d.as_str()),
            state.as_ref().map_or("?", |s| s.code.code())
        );
        if let Some(state) = state.filter(|s| s.is_final()) {
            break Some(state);
        }
    };
    match final_state {
        Some(state) if state.code == StateCode::Completed => {
            println!("done: the counterparty approved the document");
        }
        Some(state) => println!(
            "done: final state {} ({})",
            state.code,
            state.note.as_deref().unwrap_or("no note")
        ),
        None => println!(
            "no final state within {} s; resume later from the feed",
            patience.as_secs()
        ),
    }
    Ok(())
}
