//! The local archive: the documents' own names, a manifest with the ids, atomic writes,
//! idempotent reruns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::common::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

async fn mount_files(server: &wiremock::MockServer, zip: &'static [u8]) {
    for (p, body) in [
        ("/disk/api/v1/in-att-1", b"<xml>prikaz</xml>".as_slice()),
        ("/disk/api/v1/in-att-1-sig", b"SIGNATURE".as_slice()),
        ("/archive/in-doc-7.zip", zip),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body.to_vec()))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn archive_writes_once_and_a_second_run_changes_nothing() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.ПрочитатьДокумент",
        reply(fx(include_str!("../fixtures/document_incoming.json"))),
        Some(3),
    )
    .await;
    mount_files(&server, b"PK-zip-v1").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("in-doc-7");
    let client = client(&server);

    let first = client.archive("in-doc-7", &target).await.unwrap();
    let mut names: Vec<String> = first
        .written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // The documents' own names (no ids in them); the zip under the document's title.
    let zip = "Приказ о приёме на работу.zip";
    assert_eq!(
        names,
        ["manifest.json", "prikaz.xml", "prikaz.xml.p7s", zip]
    );
    assert!(first.unchanged.is_empty());
    assert_eq!(first.manifest, Some(target.join("manifest.json")));
    assert_eq!(
        std::fs::read(target.join("prikaz.xml")).unwrap(),
        b"<xml>prikaz</xml>"
    );
    assert_eq!(
        std::fs::read(target.join("prikaz.xml.p7s")).unwrap(),
        b"SIGNATURE"
    );
    // The ids, kinds, sizes and hashes are in the manifest.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["document_id"], "in-doc-7");
    let files = &manifest["files"];
    assert_eq!(files["prikaz.xml"]["kind"], "attachment");
    assert_eq!(files["prikaz.xml"]["attachment_id"], "in-att-1");
    assert_eq!(files["prikaz.xml"]["size"], 17);
    // `printf '<xml>prikaz</xml>' | sha256sum`
    assert_eq!(
        files["prikaz.xml"]["sha256"],
        "51178416aa3171dd079f2e5b4f01beeb141fb377ff51d2d8dccb115e97e7abd0"
    );
    assert_eq!(files["prikaz.xml.p7s"]["kind"], "signature");
    assert_eq!(files["prikaz.xml.p7s"]["attachment_id"], "in-att-1");
    assert_eq!(files[zip]["kind"], "document_archive");
    assert_eq!(files[zip]["size"], 9);
    let modified = std::fs::metadata(target.join(zip))
        .unwrap()
        .modified()
        .unwrap();

    let second = client.archive("in-doc-7", &target).await.unwrap();
    assert!(second.written.is_empty(), "{second:?}");
    assert_eq!(second.unchanged.len(), 4, "three files and the manifest");
    assert_eq!(
        std::fs::metadata(target.join(zip))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 4);

    // A changed file on the server is replaced (atomically), the rest stays.
    server.reset().await;
    let server2 = &server;
    catch_all(server2).await;
    Mock::given(method("POST"))
        .and(path("/service/"))
        .and(rpc("СБИС.ПрочитатьДокумент"))
        .respond_with(reply(fx(include_str!(
            "../fixtures/document_incoming.json"
        ))))
        .mount(server2)
        .await;
    mount_files(server2, b"PK-zip-v2").await;
    let third = client.archive("in-doc-7", &target).await.unwrap();
    // The zip changed, and with it its hash in the manifest.
    assert_eq!(
        third.written,
        vec![target.join(zip), target.join("manifest.json")]
    );
    assert_eq!(third.unchanged.len(), 2);
    assert_eq!(std::fs::read(target.join(zip)).unwrap(), b"PK-zip-v2");
}

#[tokio::test]
async fn hostile_names_are_sanitized_and_inline_data_is_saved() {
    let server = server_with_login(Some(0)).await;
    let doc: saby_client::Document = serde_json::from_value(serde_json::json!({
        "Идентификатор": "d/../1",
        "Вложение": [
            {"Идентификатор": "../../etc", "Файл": {"Имя": "passwd", "ДвоичныеДанные": "cm9vdA=="}},
            {"Идентификатор": "a2", "Удален": "Да", "Файл": {"Имя": "gone.txt", "ДвоичныеДанные": "eA=="}}
        ]
    }))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = client(&server)
        .archive_document(&doc, dir.path())
        .await
        .unwrap();
    // The file's own name; the hostile id only in the manifest (as data, not as a path).
    assert_eq!(
        report.written,
        vec![dir.path().join("passwd"), dir.path().join("manifest.json")]
    );
    assert_eq!(std::fs::read(dir.path().join("passwd")).unwrap(), b"root");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["files"]["passwd"]["attachment_id"], "../../etc");
    assert_eq!(manifest["document_id"], "d/../1");
}

/// Hidden (temporary) entries of `dir`.
fn hidden_entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// A document whose attachment and zip are behind links.
fn linked_document() -> saby_client::Document {
    serde_json::from_value(serde_json::json!({
        "Идентификатор": "big-doc",
        "Вложение": [
            {"Идентификатор": "a1", "Файл": {"Имя": "scan.pdf", "Ссылка": "/disk/big-scan"}}
        ],
        "СсылкаНаАрхив": "/archive/big-doc.zip"
    }))
    .unwrap()
}

/// `len` bytes that differ from one position to the next.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

async fn mount_big(server: &wiremock::MockServer, scan: &[u8], zip: &[u8]) {
    for (p, body) in [("/disk/big-scan", scan), ("/archive/big-doc.zip", zip)] {
        Mock::given(method("GET"))
            .and(path(p))
            .and(wiremock::matchers::header("X-SBISSessionID", SID))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body.to_vec()))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn streamed_files_are_compared_on_disk_and_identical_ones_never_rewritten() {
    use std::os::unix::fs::MetadataExt as _;

    let server = server_with_login(Some(1)).await;
    let scan = pattern(3 << 20, 5);
    let mut zip = pattern(2 << 20, 6);
    mount_big(&server, &scan, &zip).await;
    let dir = tempfile::tempdir().unwrap();
    let client = client(&server);
    let doc = linked_document();
    let (scan_path, zip_path, manifest) = (
        dir.path().join("scan.pdf"),
        dir.path().join("document.zip"),
        dir.path().join("manifest.json"),
    );

    let first = client.archive_document(&doc, dir.path()).await.unwrap();
    assert_eq!(
        first.written,
        vec![scan_path.clone(), zip_path.clone(), manifest.clone()]
    );
    assert!(first.unchanged.is_empty());
    assert!(std::fs::read(&scan_path).unwrap() == scan, "scan differs");
    assert!(std::fs::read(&zip_path).unwrap() == zip, "zip differs");
    let before = |p: &std::path::Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.ino(), m.modified().unwrap())
    };
    let (scan_meta, zip_meta) = (before(&scan_path), before(&zip_path));

    // Second run: downloaded again, found identical, the existing files left alone (same
    // inode: not replaced by a rename; same mtime: not written to).
    let second = client.archive_document(&doc, dir.path()).await.unwrap();
    assert!(second.written.is_empty(), "{second:?}");
    assert_eq!(
        second.unchanged,
        vec![scan_path.clone(), zip_path.clone(), manifest.clone()]
    );
    assert_eq!(before(&scan_path), scan_meta);
    assert_eq!(before(&zip_path), zip_meta);
    assert!(hidden_entries(dir.path()).is_empty());

    // The zip changes in its very last byte only (same length, past the first compared
    // chunk): it is replaced, the scan stays.
    *zip.last_mut().unwrap() ^= 0xff;
    server.reset().await;
    catch_all(&server).await;
    mount_big(&server, &scan, &zip).await;
    let third = client.archive_document(&doc, dir.path()).await.unwrap();
    assert_eq!(third.written, vec![zip_path.clone(), manifest.clone()]);
    assert_eq!(third.unchanged, vec![scan_path.clone()]);
    assert!(std::fs::read(&zip_path).unwrap() == zip, "zip not replaced");
    assert_ne!(before(&zip_path).0, zip_meta.0, "replaced by a rename");
    assert_eq!(before(&scan_path), scan_meta);
    assert!(hidden_entries(dir.path()).is_empty());
}

#[tokio::test]
async fn a_failed_download_leaves_no_temporary_file_and_earlier_files_saved() {
    let server = server_with_login(Some(1)).await;
    Mock::given(method("GET"))
        .and(path("/disk/big-scan"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"scan".to_vec()))
        .expect(1)
        .mount(&server)
        .await;
    // The zip keeps failing with a retryable status until the attempts run out.
    Mock::given(method("GET"))
        .and(path("/archive/big-doc.zip"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(4)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("document.zip"), b"old zip").unwrap();

    let err = client(&server)
        .archive_document(&linked_document(), dir.path())
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(502), "{err:?}");
    assert_eq!(std::fs::read(dir.path().join("scan.pdf")).unwrap(), b"scan");
    assert_eq!(
        std::fs::read(dir.path().join("document.zip")).unwrap(),
        b"old zip"
    );
    // No manifest for an archive that is not complete.
    assert!(!dir.path().join("manifest.json").exists());
    assert!(hidden_entries(dir.path()).is_empty());
}
