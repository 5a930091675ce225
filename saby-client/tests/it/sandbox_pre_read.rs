//! Working from a document already read: `send_document` (no second read) and the archive
//! in two halves (`archive_files` downloads only, `write_archive` writes only).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::sandbox_common::*;
use saby_client::{ArchiveFile, EventCursor, ServerSigner, StateCode, write_archive};
use saby_sandbox::{Sandbox, SandboxConfig};

const READ: &str = "СБИС.ПрочитатьДокумент";

#[tokio::test]
async fn send_document_sends_once_without_reading_again() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    client
        .write_document(&draft("pre", "Договор"))
        .await
        .unwrap();
    let current = client.read_document("pre").await.unwrap();
    assert_eq!(sb.method_call_count(READ), 1);

    let sent = client.send_document(&current, &ServerSigner).await.unwrap();

    // Prepare + Execute only: the stage came from `current`.
    assert_eq!(sb.method_call_count(READ), 1, "no second read");
    assert_eq!(sb.method_call_count("СБИС.ПодготовитьДействие"), 1);
    assert_eq!(sb.method_call_count("СБИС.ВыполнитьДействие"), 1);
    let sends = sb
        .event_names("pre")
        .iter()
        .filter(|n| n.as_str() == "Отправка")
        .count();
    assert_eq!(sends, 1, "{:?}", sb.event_names("pre"));
    let code = sent.state.map(|s| s.code);
    assert!(!matches!(code, None | Some(StateCode::Editing)), "{code:?}");

    // The same (now stale) copy no longer offers a send Saby accepts, and nothing
    // is sent twice.
    let again = client.send_document(&current, &ServerSigner).await;
    assert!(again.is_err(), "{again:?}");
    let sends = sb
        .event_names("pre")
        .iter()
        .filter(|n| n.as_str() == "Отправка")
        .count();
    assert_eq!(sends, 1);
}

#[tokio::test]
async fn archive_in_two_halves_downloads_then_writes_idempotently() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    client
        .write_document(&draft("halves", "Договор"))
        .await
        .unwrap();
    client.send("halves", &ServerSigner).await.unwrap();
    let mut cursor = EventCursor::start();
    follow_to_final(&client, &sb, &mut cursor, &["halves".to_owned()], 5).await;
    let doc = client.read_document("halves").await.unwrap();

    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("halves");
    let downloads = sb.download_count();
    let files = client.archive_files(&doc).await.unwrap();
    assert!(!dir.exists(), "archive_files writes nothing");
    assert_eq!(
        sb.download_count() - downloads,
        files.len() - 1,
        "one GET per file; the manifest is made, not downloaded"
    );
    assert_eq!(
        files.last().map(|f| f.name.as_str()),
        Some(saby_client::MANIFEST_FILE_NAME)
    );
    let mut names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert!(
        names.iter().any(|n| n.ends_with("договор.pdf")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with(".p7s")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".zip")), "{names:?}");

    // The same names and bytes as the one-call archive of the same document.
    let reference = tempfile::tempdir().unwrap();
    let one_call = client
        .archive_document(&doc, reference.path())
        .await
        .unwrap();
    let mut reference_names: Vec<String> = one_call
        .written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    reference_names.sort();
    names.sort_unstable();
    assert_eq!(names, reference_names);

    let first = write_archive(&dir, &files).await.unwrap();
    assert_eq!(first.written.len(), files.len());
    assert!(first.unchanged.is_empty());
    for f in &files {
        assert_eq!(std::fs::read(dir.join(&f.name)).unwrap(), f.bytes.as_ref());
    }
    let modified: Vec<_> = files
        .iter()
        .map(|f| {
            std::fs::metadata(dir.join(&f.name))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();

    // Again: nothing touched.
    let second = write_archive(&dir, &files).await.unwrap();
    assert!(second.written.is_empty(), "{second:?}");
    assert_eq!(second.unchanged.len(), files.len());
    for (f, m) in files.iter().zip(&modified) {
        assert_eq!(
            &std::fs::metadata(dir.join(&f.name))
                .unwrap()
                .modified()
                .unwrap(),
            m
        );
    }

    // One changed file is replaced, the others stay; no temporary file is left.
    let mut changed = files.clone();
    changed[0] = ArchiveFile::new(&files[0].name, b"new contents".to_vec());
    let third = write_archive(&dir, &changed).await.unwrap();
    assert_eq!(third.written, vec![dir.join(&files[0].name)]);
    assert_eq!(third.unchanged.len(), files.len() - 1);
    assert_eq!(
        std::fs::read(dir.join(&files[0].name)).unwrap(),
        b"new contents"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), files.len());
}

#[tokio::test]
async fn write_archive_refuses_names_leaving_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("inner");
    // `new` sanitizes...
    let safe = ArchiveFile::new("../../etc/passwd", b"x".to_vec());
    assert_eq!(safe.name, "_etc_passwd");
    // ...and a name changed afterwards is checked when writing.
    let too_long = "я".repeat(128);
    for bad in [
        "../evil",
        "a/b",
        ".hidden",
        "",
        "..",
        "/abs",
        too_long.as_str(),
    ] {
        let mut file = safe.clone();
        file.name = bad.to_owned();
        let err = write_archive(&dir, &[file]).await.unwrap_err();
        assert!(
            err.to_string().contains("no plain file name"),
            "{bad}: {err}"
        );
        // The name itself is not quoted (a real one may hold a surname).
        if !bad.is_empty() {
            assert!(!err.to_string().contains(bad), "{bad}: {err}");
        }
    }
    assert!(!root.path().join("evil").exists());
    assert!(!dir.join("a").exists());
}
