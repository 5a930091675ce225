//! Keeping a local archive from the sandbox with the real client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::sandbox_common::*;
use saby_client::{EventCursor, ServerSigner};
use saby_sandbox::{Faults, Incoming, Sandbox, SandboxConfig};

#[tokio::test]
async fn archiving_twice_changes_nothing_the_second_time() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    client
        .write_document(&draft("arc", "Договор"))
        .await
        .unwrap();
    client.send("arc", &ServerSigner).await.unwrap();
    let mut cursor = EventCursor::start();
    follow_to_final(&client, &sb, &mut cursor, &["arc".to_owned()], 5).await;

    let dir = tempfile::tempdir().unwrap();
    let first = client.archive("arc", dir.path()).await.unwrap();
    assert!(first.unchanged.is_empty());
    let names: Vec<String> = first
        .written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("договор.pdf")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with(".p7s")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".zip")), "{names:?}");
    let pdf = first
        .written
        .iter()
        .find(|p| p.to_string_lossy().ends_with("договор.pdf"))
        .unwrap();
    assert_eq!(std::fs::read(pdf).unwrap(), "%PDF-1.7 Договор".as_bytes());

    let second = client.archive("arc", dir.path()).await.unwrap();
    assert!(second.written.is_empty(), "{:?}", second.written);
    assert_eq!(second.unchanged.len(), first.written.len());
}

#[tokio::test]
async fn archiving_survives_files_that_are_not_ready_yet() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    let id =
        sb.add_incoming(Incoming::new("Приказ").attachment("приказ.pdf", b"%PDF-1.7 p".to_vec()));
    client.approve(&id, &ServerSigner).await.unwrap();
    sb.set_faults(sandbox_faults());
    let dir = tempfile::tempdir().unwrap();
    let report = client.archive(&id, dir.path()).await.unwrap();
    assert!(!report.written.is_empty());
    assert!(sb.fault_count() > 0, "some downloads were refused first");
    let pdf = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("приказ.pdf"))
        .unwrap();
    assert_eq!(std::fs::read(pdf).unwrap(), b"%PDF-1.7 p");
}

fn sandbox_faults() -> Faults {
    Faults::none().file_not_ready(0.5).seed(11)
}
