//! The archive from the document's zip (`СсылкаНаАрхив`): one request, the zip kept as Saby
//! made it and checked entry by entry, optionally unpacked; a zip bomb, an unsafe entry name
//! or a damaged zip is refused and nothing of it kept.
//!
//! What the zip holds: Saby's help page "Upload documents to the system or archive via the
//! API" (https://sbis.ru/help/eng_api/upload_doc/) — after approval or rejection "the document
//! is saved in a zip archive file with all attachments and e-signatures", and it recommends
//! archiving from the zip for key events. Its layout (folders) is not public.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::collections::BTreeMap;
use std::io::Read as _;

use crate::common::*;
use crate::sandbox_common::*;
use hr_docs_testkit::zips::zip_of;
use saby_client::{ArchiveOptions, Document, EventCursor, ServerSigner, ZipLimits};
use saby_sandbox::{Sandbox, SandboxConfig};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// Every entry of a zip file: name → bytes.
fn entries_of(zip: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut e = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (e.name().unwrap().into_owned(), bytes)
        })
        .collect()
}

/// The SHA-256 of `bytes`, hex.
fn hex_sha(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// An entry's name without the sandbox's `N_` prefix for a second file of the same name.
fn dedup_name(name: &str) -> String {
    let (dir, file) = name.rsplit_once('/').map_or(("", name), |(d, f)| (d, f));
    let file = match file.split_once('_') {
        Some((n, rest)) if n.parse::<u32>().is_ok() => rest,
        _ => file,
    };
    if dir.is_empty() {
        file.to_owned()
    } else {
        format!("{dir}/{file}")
    }
}

/// Every file under `dir` (hidden ones too), relative path → bytes.
fn tree(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

async fn completed(sb: &Sandbox, id: &str) -> Document {
    let client = sb.client();
    client.write_document(&draft(id, "Договор")).await.unwrap();
    client.send(id, &ServerSigner).await.unwrap();
    let mut cursor = EventCursor::start();
    follow_to_final(&client, sb, &mut cursor, &[id.to_owned()], 5).await;
    client.read_document(id).await.unwrap()
}

#[tokio::test]
async fn one_request_keeps_the_zip_with_every_file_and_signature() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let doc = completed(&sb, "zip-1").await;
    let client = sb.client();
    let downloads = sb.download_count();
    let dir = tempfile::tempdir().unwrap();
    let report = client
        .archive_document_with(&doc, dir.path(), &ArchiveOptions::zip())
        .await
        .unwrap();
    assert_eq!(sb.download_count() - downloads, 1, "the zip only");
    let files = tree(dir.path());
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        ["manifest.json", "Договор.zip"],
        "kept as is, nothing else"
    );
    assert_eq!(report.written.len(), 2);

    // The zip holds every attachment and every signature of the document, byte for byte
    // (two signatures of one file share its name in the document; the zip tells them apart).
    let entries = entries_of(&dir.path().join("Договор.zip"));
    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    for a in doc.attachments.iter().filter(|a| a.deleted != Some(true)) {
        let service = a.service == Some(true);
        let prefix = if service { "Служебные/" } else { "" };
        let name = a.file_name().unwrap();
        let bytes = client.download(a.url().unwrap()).await.unwrap();
        expected.push((format!("{prefix}{name}"), bytes.to_vec()));
        assert!(!a.signatures.is_empty(), "{name} is signed");
        for s in &a.signatures {
            let file = s.file.as_ref().unwrap();
            let bytes = client.download(file.url.as_deref().unwrap()).await.unwrap();
            expected.push((
                format!("{prefix}{}", file.name.as_deref().unwrap()),
                bytes.to_vec(),
            ));
        }
    }
    assert!(
        expected.iter().any(|(n, _)| n.starts_with("Служебные/")),
        "a receipt"
    );
    let digest = |v: &[u8]| format!("{} bytes, {}", v.len(), hex_sha(v));
    let mut got: Vec<(String, String)> = entries
        .iter()
        .map(|(n, b)| (dedup_name(n), digest(b)))
        .collect();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(n, b)| (n.clone(), digest(b)))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // The manifest lists the zip and each entry with its size and SHA-256.
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["document_id"], "zip-1");
    let zip = &manifest["files"]["Договор.zip"];
    assert_eq!(zip["kind"], "document_archive");
    let listed = zip["entries"].as_array().unwrap();
    assert_eq!(listed.len(), expected.len());
    for e in listed {
        let name = e["name"].as_str().unwrap();
        assert_eq!(e["size"], entries[name].len());
        assert_eq!(e["sha256"].as_str().unwrap(), hex_sha(&entries[name]));
    }

    // Private, and a second run changes nothing.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&dir.path().join("Договор.zip")), 0o600);
        assert_eq!(mode(&dir.path().join("manifest.json")), 0o600);
    }
    let again = client
        .archive_document_with(&doc, dir.path(), &ArchiveOptions::zip())
        .await
        .unwrap();
    assert!(again.written.is_empty(), "{:?}", again.written);
    assert!(tree(dir.path()) == files, "unchanged");
}

#[tokio::test]
async fn unpacking_writes_each_entry_beside_the_zip() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let doc = completed(&sb, "zip-2").await;
    let client = sb.client();
    let dir = tempfile::tempdir().unwrap();
    let options = ArchiveOptions::zip().unpack(true);
    client
        .archive_document_with(&doc, dir.path(), &options)
        .await
        .unwrap();
    let files = tree(dir.path());
    let entries = entries_of(&dir.path().join("Договор.zip"));
    for (name, bytes) in &entries {
        assert!(files.get(name) == Some(bytes), "{name} unpacked");
    }
    assert_eq!(files.len(), entries.len() + 2, "{:?}", files.keys());
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    for name in entries.keys() {
        assert_eq!(manifest["files"][name]["kind"], "zip_entry", "{name}");
        assert_eq!(manifest["files"][name]["entry"], name.as_str());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let service = dir.path().join("Служебные");
        assert_eq!(
            std::fs::metadata(&service).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
    let again = client
        .archive_document_with(&doc, dir.path(), &options)
        .await
        .unwrap();
    assert!(again.written.is_empty(), "{:?}", again.written);
}

#[tokio::test]
async fn without_a_zip_link_the_files_are_archived_one_by_one() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let mut doc = completed(&sb, "zip-3").await;
    doc.archive_url = None;
    let client = sb.client();
    let downloads = sb.download_count();
    let dir = tempfile::tempdir().unwrap();
    client
        .archive_document_with(&doc, dir.path(), &ArchiveOptions::zip())
        .await
        .unwrap();
    let files = tree(dir.path());
    assert!(
        !files.keys().any(|n| n.ends_with(".zip")),
        "{:?}",
        files.keys()
    );
    assert!(
        files.keys().any(|n| n.ends_with(".p7s")),
        "{:?}",
        files.keys()
    );
    assert_eq!(
        sb.download_count() - downloads,
        files.len() - 1,
        "one per file"
    );
}

/// A document linking `/archive/doc.zip` on `server`, which answers with `body`.
async fn linked_zip(server: &wiremock::MockServer, body: Vec<u8>) -> Document {
    Mock::given(method("GET"))
        .and(path("/archive/doc.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .mount(server)
        .await;
    serde_json::from_value(serde_json::json!({
        "Идентификатор": "doc",
        "Название": "Комплект",
        "СсылкаНаАрхив": format!("{}/archive/doc.zip", server.uri()),
    }))
    .unwrap()
}

async fn refused(body: Vec<u8>, options: ArchiveOptions) -> saby_client::Error {
    let server = server_with_login(None).await;
    let doc = linked_zip(&server, body).await;
    let dir = tempfile::tempdir().unwrap();
    let err = client(&server)
        .archive_document_with(&doc, dir.path(), &options)
        .await
        .unwrap_err();
    let left: Vec<String> = tree(dir.path()).into_keys().collect();
    assert!(left.is_empty(), "nothing kept: {left:?}");
    err
}

#[tokio::test]
async fn entries_that_would_leave_the_directory_are_refused() {
    for name in ["../evil.txt", "/etc/evil", "a/../../evil", "C:\\evil.txt"] {
        let body = zip_of(&[("ok.txt", b"ok"), (name, b"evil")]);
        let err = refused(body, ArchiveOptions::zip().unpack(true)).await;
        let text = err.to_string();
        assert!(
            matches!(err, saby_client::Error::InvalidZip { damaged: false, .. }),
            "{name}: {err:?}"
        );
        assert!(!err.is_retryable());
        assert!(text.contains("entry 2") && !text.contains("evil"), "{text}");
    }
}

#[tokio::test]
async fn a_zip_bomb_is_stopped_at_the_limits() {
    // 4 MiB of zeros deflate to a few kilobytes.
    let zeros = vec![0u8; 4 << 20];
    let body = zip_of(&[("a.bin", &zeros), ("b.bin", &zeros)]);
    assert!(body.len() < 64 * 1024, "{}", body.len());
    let limits = ZipLimits::default().max_unpacked_bytes(6 << 20);
    let err = refused(
        body.clone(),
        ArchiveOptions::zip().unpack(true).limits(limits),
    )
    .await;
    assert!(err.to_string().contains("limit"), "{err}");
    assert!(!err.is_retryable());
    // Not unpacking does not lift the limit: the check reads every entry the same way.
    let err = refused(body, ArchiveOptions::zip().limits(limits)).await;
    assert!(err.to_string().contains("limit"), "{err}");

    let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("{i}.txt"), vec![b'x'])).collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let err = refused(
        zip_of(&refs),
        ArchiveOptions::zip().limits(ZipLimits::default().max_entries(10)),
    )
    .await;
    assert!(err.to_string().contains("20 entries"), "{err}");
}

#[tokio::test]
async fn a_body_that_is_no_zip_or_a_damaged_one_is_not_kept_and_may_be_retried() {
    let err = refused(b"not a zip at all".to_vec(), ArchiveOptions::zip()).await;
    assert!(
        matches!(err, saby_client::Error::InvalidZip { damaged: true, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    // One byte of the deflated data flipped: the entry fails its checksum (or inflation).
    let mut body = zip_of(&[("a.txt", "Договор Договор Договор".repeat(50).as_bytes())]);
    let at = 30 + "a.txt".len() + 5;
    body[at] ^= 0xFF;
    let err = refused(body, ArchiveOptions::zip()).await;
    assert!(
        matches!(err, saby_client::Error::InvalidZip { damaged: true, .. }),
        "{err:?}"
    );
}

/// The two halves (`download_zip_archive` under a caller's permit, then `finish` with disk
/// work only) keep exactly what `archive_document_with` keeps, with the one request in the
/// first half; a half-done archive dropped leaves no temporary file behind.
#[tokio::test]
async fn the_two_halves_keep_what_the_one_call_keeps() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let doc = completed(&sb, "zip-halves").await;
    let client = sb.client();
    let options = ArchiveOptions::zip().unpack(true);

    let whole = tempfile::tempdir().unwrap();
    client
        .archive_document_with(&doc, whole.path(), &options)
        .await
        .unwrap();

    let halves = tempfile::tempdir().unwrap();
    let downloads = sb.download_count();
    let pending = client
        .download_zip_archive(&doc, halves.path(), &options)
        .await
        .unwrap();
    assert_eq!(
        sb.download_count() - downloads,
        1,
        "the request is in the first half"
    );
    assert_eq!(pending.dir(), halves.path());
    assert!(
        tree(halves.path()).keys().all(|name| name.starts_with('.')),
        "nothing but the hidden temporary file before `finish`: {:?}",
        tree(halves.path()).keys().collect::<Vec<_>>()
    );
    let debug = format!("{pending:?}");
    assert!(
        !debug.contains("Договор"),
        "the title is not printed: {debug}"
    );
    let report = pending.finish().await.unwrap();
    assert_eq!(
        sb.download_count() - downloads,
        1,
        "no request in the second half"
    );
    assert_eq!(
        tree(halves.path()),
        tree(whole.path()),
        "the same files, byte for byte"
    );
    assert_eq!(report.manifest, Some(halves.path().join("manifest.json")));

    // Dropped before `finish`: the temporary file goes, the archive stays as it was.
    let dropped = tempfile::tempdir().unwrap();
    let pending = client
        .download_zip_archive(&doc, dropped.path(), &options)
        .await
        .unwrap();
    drop(pending);
    assert!(
        tree(dropped.path()).is_empty(),
        "{:?}",
        tree(dropped.path()).keys()
    );
}

#[tokio::test]
async fn the_first_half_needs_a_zip_link() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let mut doc = completed(&sb, "zip-none").await;
    doc.archive_url = None;
    let dir = tempfile::tempdir().unwrap();
    let err = sb
        .client()
        .download_zip_archive(&doc, dir.path(), &ArchiveOptions::zip())
        .await
        .unwrap_err();
    assert!(
        matches!(err, saby_client::Error::InvalidInput(_)),
        "{err:?}"
    );
    assert!(tree(dir.path()).is_empty());
}
