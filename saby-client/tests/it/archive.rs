//! The local archive: stable names, atomic writes, idempotent reruns.

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
    assert_eq!(
        names,
        [
            "in-att-1_prikaz.xml",
            "in-att-1_prikaz.xml.p7s",
            "in-doc-7.zip"
        ]
    );
    assert!(first.unchanged.is_empty());
    assert_eq!(
        std::fs::read(target.join("in-att-1_prikaz.xml")).unwrap(),
        b"<xml>prikaz</xml>"
    );
    assert_eq!(
        std::fs::read(target.join("in-att-1_prikaz.xml.p7s")).unwrap(),
        b"SIGNATURE"
    );
    let modified = std::fs::metadata(target.join("in-doc-7.zip"))
        .unwrap()
        .modified()
        .unwrap();

    let second = client.archive("in-doc-7", &target).await.unwrap();
    assert!(second.written.is_empty(), "{second:?}");
    assert_eq!(second.unchanged.len(), 3);
    assert_eq!(
        std::fs::metadata(target.join("in-doc-7.zip"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 3);

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
    assert_eq!(third.written, vec![target.join("in-doc-7.zip")]);
    assert_eq!(third.unchanged.len(), 2);
    assert_eq!(
        std::fs::read(target.join("in-doc-7.zip")).unwrap(),
        b"PK-zip-v2"
    );
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
    assert_eq!(report.written, vec![dir.path().join("_etc_passwd")]);
    assert_eq!(
        std::fs::read(dir.path().join("_etc_passwd")).unwrap(),
        b"root"
    );
}
