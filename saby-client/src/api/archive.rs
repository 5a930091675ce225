//! The local archive's API calls: which files a document's archive holds (attachments,
//! their signatures, Saby's zip) and getting them — linked files written to disk as they
//! come (at most 256 KiB held in memory), not held whole. The writing itself (names, atomic writes, syncs) is in [`crate::fs`].

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::api::download::{Downloaded, landed_blocking};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::fs::archive::{MANIFEST_FILE_NAME, UniqueNames};
use crate::fs::atomic::{
    TempPath, create_private_dir_all, is_plain_file_name, keep_unless_same_blocking, sync_dir,
    write_if_changed_blocking,
};
use crate::fs::blocking::BlockingFiles;
use crate::fs::{ArchiveFile, ArchiveOptions, ArchiveReport, ArchiveSource, sanitize_file_name};
use crate::model::{Document, DocumentId};

/// One file of the plan: its name in the directory, where its bytes come from, and what
/// the manifest says about it.
struct Planned {
    name: String,
    source: Source,
    kind: &'static str,
    attachment_id: Option<String>,
}

enum Source {
    Inline(Bytes),
    Link(String),
}

/// The files of `doc`'s archive, named as a person expects: each attachment under its own
/// file name, each signature under its own name (else `<attachment file>.p7s`), the
/// document's zip under the document's title (else `document.zip`); sanitized, unique
/// case-insensitively (`a.pdf`, `a (2).pdf`), never [`MANIFEST_FILE_NAME`]. The ids live in
/// the manifest, not in the names.
fn plan(doc: &Document) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut names = UniqueNames::default();
    names.reserve(MANIFEST_FILE_NAME);
    for att in &doc.attachments {
        if att.deleted == Some(true) {
            continue;
        }
        let attachment_id = att.id.as_ref().map(ToString::to_string);
        let file_name = sanitize_file_name(att.file_name().unwrap_or("attachment"));
        let source = match (att.file.as_ref().and_then(|f| f.data.as_ref()), att.url()) {
            (Some(data), _) => Some(Source::Inline(data.0.clone())),
            (None, Some(url)) => Some(Source::Link(url.to_owned())),
            (None, None) => None,
        };
        if let Some(source) = source {
            out.push(Planned {
                name: names.unique(&file_name),
                source,
                kind: "attachment",
                attachment_id: attachment_id.clone(),
            });
        }
        for sig in &att.signatures {
            let Some(file) = &sig.file else { continue };
            let source = match (&file.data, &file.url) {
                (Some(data), _) => Source::Inline(data.0.clone()),
                (None, Some(url)) => Source::Link(url.clone()),
                (None, None) => continue,
            };
            let sig_name = match &file.name {
                Some(n) if !n.trim().is_empty() => sanitize_file_name(n),
                _ => sanitize_file_name(&format!("{file_name}.p7s")),
            };
            out.push(Planned {
                name: names.unique(&sig_name),
                source,
                kind: "signature",
                attachment_id: attachment_id.clone(),
            });
        }
    }
    if let Some(url) = &doc.archive_url {
        let title = doc
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("document");
        out.push(Planned {
            name: names.unique(&sanitize_file_name(&format!("{title}.zip"))),
            source: Source::Link(url.clone()),
            kind: "document_archive",
            attachment_id: None,
        });
    }
    out
}

/// The manifest of a document's archive: for each file (by name, in the plan's order) its
/// kind (`attachment`, `signature`, `document_archive`), the Saby attachment id it belongs
/// to, its size and SHA-256. Deterministic (no time in it): archiving again writes it only
/// when a file changed. Holds no recognized value beyond the file names Saby gave.
fn manifest(document: &Document, files: &[(&Planned, u64, [u8; 32])]) -> Vec<u8> {
    let mut entries = Map::new();
    for (item, size, sha256) in files {
        let mut entry = Map::new();
        entry.insert("kind".into(), Value::from(item.kind));
        if let Some(id) = &item.attachment_id {
            entry.insert("attachment_id".into(), Value::from(id.as_str()));
        }
        entry.insert("size".into(), Value::from(*size));
        entry.insert("sha256".into(), Value::from(hex::encode(sha256)));
        entries.insert(item.name.clone(), Value::Object(entry));
    }
    let manifest = json!({
        "document_id": document.id.as_ref().map(DocumentId::as_str),
        "files": entries,
    });
    let mut bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The manifest of an archive kept from the document's zip: the zip (kind
/// `document_archive`, with its `entries` — name inside the zip, size, SHA-256, and where it
/// was unpacked when it was) and each unpacked file (kind `zip_entry`, with the zip and the
/// entry it came from). Deterministic, like [`manifest`].
fn zip_manifest(
    document_id: Option<&DocumentId>,
    zip_name: &str,
    zip_size: u64,
    zip_sha256: &[u8; 32],
    entries: &[crate::fs::zip::Entry],
) -> Vec<u8> {
    let mut files = Map::new();
    let listed: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut entry = Map::new();
            entry.insert("name".into(), Value::from(e.name.as_str()));
            entry.insert("size".into(), Value::from(e.size));
            entry.insert("sha256".into(), Value::from(hex::encode(e.sha256)));
            if let Some((path, _)) = &e.unpacked {
                entry.insert("unpacked_to".into(), Value::from(path.as_str()));
            }
            Value::Object(entry)
        })
        .collect();
    files.insert(
        zip_name.to_owned(),
        json!({
            "kind": "document_archive",
            "size": zip_size,
            "sha256": hex::encode(zip_sha256),
            "entries": listed,
        }),
    );
    for e in entries {
        if let Some((path, _)) = &e.unpacked {
            files.insert(
                path.clone(),
                json!({
                    "kind": "zip_entry",
                    "zip": zip_name,
                    "entry": e.name,
                    "size": e.size,
                    "sha256": hex::encode(e.sha256),
                }),
            );
        }
    }
    let manifest = json!({
        "document_id": document_id.map(DocumentId::as_str),
        "files": files,
    });
    let mut bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn sha256_of(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Client {
    /// Saves document `document_id` into `dir` (created if missing): every attachment under
    /// its own file name, each of its signatures under its own name (else `<attachment
    /// file>.p7s`), the zip of the whole document from `СсылкаНаАрхив` under the document's
    /// title (`<Название>.zip`, else `document.zip`), and a manifest
    /// ([`MANIFEST_FILE_NAME`](crate::MANIFEST_FILE_NAME), JSON: for each file name its
    /// kind, Saby attachment id, size and SHA-256 — the ids live there, not in the names).
    /// Names are sanitized ([`sanitize_file_name`]: at most 255 bytes, no Windows device
    /// names), unique case-insensitively (`a.pdf`, `a (2).pdf`) and stable.
    ///
    /// File names are the documents' own, and may hold a surname: on Unix `dir` is made
    /// `0700` and every file `0600` (temporary files included), whatever the umask.
    ///
    /// Files behind a link are downloaded to disk ([`Client::download_to_file`]'s way), one
    /// after another: memory stays bounded by 256 KiB and a network chunk, not by the size
    /// of the attachments or of the zip. Inline contents (`ДвоичныеДанные`) are written
    /// from memory. The disk work counts against the client's
    /// [`max_blocking_file_tasks`](crate::ClientBuilder::max_blocking_file_tasks).
    ///
    /// Each write is atomic (a hidden temporary file in the same directory, its data synced,
    /// then renamed over the target), and a file that already holds identical bytes is left
    /// alone — compared chunk by chunk with the freshly downloaded copy, which is then
    /// deleted: running it twice writes nothing the second time (see
    /// [`ArchiveReport::unchanged`]). When any file was written the directory is synced
    /// once at the end, so every rename is durable when this returns.
    ///
    /// Files are saved one by one: if one fails (after the retries of
    /// [`Client::download`]), the files before it stay saved (each complete), the failing
    /// one is left as it was and no temporary file remains; running it again completes the
    /// archive and reports the files already saved as unchanged.
    ///
    /// The same work is available in two halves, [`Client::archive_files`] (network only,
    /// into memory) and [`write_archive`](crate::write_archive) (disk only) — for example to download under a
    /// concurrency permit and write after releasing it — at the cost of holding the whole
    /// archive in memory in between.
    pub async fn archive(
        &self,
        document_id: impl Into<DocumentId>,
        dir: &Path,
    ) -> Result<ArchiveReport> {
        let doc = self.read_document(document_id).await?;
        self.archive_document(&doc, dir).await
    }

    /// [`Client::archive`] for a document already read.
    pub async fn archive_document(&self, document: &Document, dir: &Path) -> Result<ArchiveReport> {
        let dir_owned = dir.to_owned();
        self.files()
            .run(dir, move || create_private_dir_all(&dir_owned))
            .await?;
        let mut report = ArchiveReport {
            dir: dir.to_owned(),
            ..ArchiveReport::default()
        };
        let saved = self.archive_into(document, dir, &mut report).await;
        if !report.written.is_empty() {
            let dir_owned = dir.to_owned();
            let synced = self.files().run(dir, move || sync_dir(&dir_owned)).await;
            // The first error wins; the renames already done are made durable either way.
            saved?;
            synced?;
        } else {
            saved?;
        }
        tracing::info!(
            written = report.written.len(),
            unchanged = report.unchanged.len(),
            "archived document"
        );
        Ok(report)
    }

    /// [`Client::archive_document`] with a choice of where the files come from
    /// ([`ArchiveOptions`]).
    ///
    /// With [`ArchiveSource::Zip`] (the default) a document that links its zip
    /// (`СсылкаНаАрхив`) costs **one request**: the zip — which Saby describes as the document
    /// "with all attachments and e-signatures" — is streamed to a private temporary file
    /// beside its target (never into memory), then read back entry by entry through the
    /// decompressor within [`ZipLimits`](crate::ZipLimits) (entry count, uncompressed bytes;
    /// an entry named absolutely or with a `..` part, or a symbolic link, is refused; a
    /// damaged entry fails its checksum), and only then kept under the document's title
    /// (`<Название>.zip`, else `document.zip`), as Saby made it. With
    /// [`ArchiveOptions::unpack`] its entries are also written beside it. The manifest lists
    /// the zip with each of its entries (name, size, SHA-256). A zip that fails the check is
    /// not kept ([`Error::InvalidZip`]) and nothing else is written.
    ///
    /// A document without the link, and [`ArchiveSource::Files`], are archived file by file
    /// exactly as [`Client::archive_document`] does.
    ///
    /// Writes are atomic and durable as [`Client::archive`] describes: each file's data is
    /// synced before its rename, each directory a rename happened in is synced once, and a
    /// file already holding the same bytes is left alone (archiving twice writes nothing the
    /// second time). Modes as there: `0700` directories, `0600` files.
    pub async fn archive_document_with(
        &self,
        document: &Document,
        dir: &Path,
        options: &ArchiveOptions,
    ) -> Result<ArchiveReport> {
        match (options.source(), document.archive_url.as_deref()) {
            (ArchiveSource::Zip, Some(link)) if !link.trim().is_empty() => {
                self.archive_zip(document, link, dir, options).await
            }
            _ => self.archive_document(document, dir).await,
        }
    }

    async fn archive_zip(
        &self,
        document: &Document,
        link: &str,
        dir: &Path,
        options: &ArchiveOptions,
    ) -> Result<ArchiveReport> {
        self.download_zip(document, link, dir, options)
            .await?
            .finish()
            .await
    }

    /// The network half of archiving `document` from its zip
    /// ([`Client::archive_document_with`] with [`ArchiveSource::Zip`]): creates `dir` and
    /// streams the zip (`СсылкаНаАрхив`, one request) to a private temporary file beside its
    /// place in `dir`. Nothing is checked or kept yet: [`PendingZipArchive::finish`] does the
    /// disk half (the zip checked within the limits, unpacked if asked, kept, the manifest
    /// written, data and directory synced). Together they do exactly what
    /// [`Client::archive_document_with`] does; apart, a caller can hold a concurrency permit
    /// for the request only, not for the disk work.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `document` links no zip (archive it file by file, with
    /// [`Client::archive_document`]); otherwise the errors of [`Client::download_to_file`]
    /// and of creating `dir`.
    pub async fn download_zip_archive(
        &self,
        document: &Document,
        dir: &Path,
        options: &ArchiveOptions,
    ) -> Result<PendingZipArchive> {
        let Some(link) = document
            .archive_url
            .as_deref()
            .filter(|link| !link.trim().is_empty())
        else {
            return Err(Error::InvalidInput(
                "the document links no zip (СсылкаНаАрхив): archive it file by file".to_owned(),
            ));
        };
        self.download_zip(document, link, dir, options).await
    }

    async fn download_zip(
        &self,
        document: &Document,
        link: &str,
        dir: &Path,
        options: &ArchiveOptions,
    ) -> Result<PendingZipArchive> {
        let mut names = UniqueNames::default();
        names.reserve(MANIFEST_FILE_NAME);
        let title = document
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("document");
        let zip_name = names.unique(&sanitize_file_name(&format!("{title}.zip")));
        let zip_path = dir.join(&zip_name);
        // A zip up to 256 KiB stays in memory: `finish` writes it (creating `dir`, 0700), so
        // a caller holding a permit for the request holds it for the network only. A larger
        // one is written as it comes, `dir` created with its first write.
        let downloaded = self
            .download_to_temp(link, TempPath::beside(&zip_path)?, true, true)
            .await?;
        Ok(PendingZipArchive {
            dir: dir.to_owned(),
            document_id: document.id.clone(),
            zip_name,
            names,
            downloaded,
            unpack: options.unpacks(),
            limits: options.zip_limits(),
            files: self.files().clone(),
        })
    }

    async fn archive_into(
        &self,
        document: &Document,
        dir: &Path,
        report: &mut ArchiveReport,
    ) -> Result<()> {
        let planned = plan(document);
        let mut saved = Vec::with_capacity(planned.len());
        for (i, item) in planned.iter().enumerate() {
            // Never trust a name to stay inside `dir`. Not quoted: it may hold a surname.
            if !is_plain_file_name(&item.name) {
                return Err(Error::InvalidInput(format!(
                    "archive file {} of the document has no plain file name",
                    i + 1
                )));
            }
            let path = dir.join(&item.name);
            let (written, size, sha256) = match &item.source {
                Source::Inline(bytes) => {
                    let (target, bytes) = (path.clone(), bytes.clone());
                    let digest = sha256_of(&bytes);
                    let size = bytes.len() as u64;
                    let written = self
                        .files()
                        .run(&path, move || write_if_changed_blocking(&target, &bytes))
                        .await?;
                    (written, size, digest)
                }
                Source::Link(link) => self.archive_link(link, &path).await?,
            };
            saved.push((item, size, sha256));
            if written {
                report.written.push(path);
            } else {
                report.unchanged.push(path);
            }
        }
        // Last: the manifest describes a complete archive.
        let path = dir.join(MANIFEST_FILE_NAME);
        let bytes = manifest(document, &saved);
        let target = path.clone();
        if self
            .files()
            .run(&path, move || write_if_changed_blocking(&target, &bytes))
            .await?
        {
            report.written.push(path.clone());
        } else {
            report.unchanged.push(path.clone());
        }
        report.manifest = Some(path);
        Ok(())
    }

    /// Downloads `link` into a temporary file beside `path`, then keeps it (renamed over
    /// `path`) unless `path` already holds the same bytes — the comparison, the sync and the
    /// rename in one blocking step. Returns whether it wrote, and the file's size and
    /// SHA-256.
    async fn archive_link(&self, link: &str, path: &Path) -> Result<(bool, u64, [u8; 32])> {
        let Downloaded {
            tmp,
            file,
            held,
            bytes,
            sha256,
        } = self
            .download_to_temp(link, TempPath::beside(path)?, false, false)
            .await?;
        let target = path.to_owned();
        let written = self
            .files()
            .run(path, move || {
                let file = landed_blocking(&tmp, file, held, false)?;
                keep_unless_same_blocking(tmp, file, &target)
            })
            .await?;
        Ok((written, bytes, sha256))
    }

    /// Downloads what [`Client::archive`] would save for `document`, without writing
    /// anything: every attachment that is not deleted, each of its signatures and the
    /// document's zip (`СсылкаНаАрхив`), in that order, named as [`Client::archive`] names
    /// them, then the manifest ([`MANIFEST_FILE_NAME`](crate::MANIFEST_FILE_NAME)). Inline contents (`ДвоичныеДанные`) are taken as they are; everything else is
    /// downloaded from its `Ссылка` (one request per file). Save the result with
    /// [`write_archive`](crate::write_archive).
    ///
    /// The whole archive is held in memory until written. For documents with large files
    /// use [`Client::archive`] / [`Client::archive_document`], which stream every linked
    /// file to disk, or [`Client::download_to_file`] file by file.
    pub async fn archive_files(&self, document: &Document) -> Result<Vec<ArchiveFile>> {
        let planned = plan(document);
        let mut files = Vec::with_capacity(planned.len() + 1);
        let mut saved = Vec::with_capacity(planned.len());
        for item in &planned {
            let bytes = match &item.source {
                Source::Inline(b) => b.clone(),
                Source::Link(url) => self.download(url).await?,
            };
            saved.push((item, bytes.len() as u64, sha256_of(&bytes)));
            files.push(ArchiveFile {
                name: item.name.clone(),
                bytes,
            });
        }
        files.push(ArchiveFile {
            name: MANIFEST_FILE_NAME.to_owned(),
            bytes: Bytes::from(manifest(document, &saved)),
        });
        Ok(files)
    }
}

/// A document's zip downloaded by [`Client::download_zip_archive`] into a private temporary
/// file beside its place in the archive, not yet checked or kept. [`finish`](Self::finish)
/// does the rest, on disk only (no request). Dropped unfinished, it removes the temporary
/// file and leaves the archive directory as it was.
#[must_use = "nothing is archived until `finish` is called"]
pub struct PendingZipArchive {
    dir: PathBuf,
    document_id: Option<DocumentId>,
    zip_name: String,
    names: UniqueNames,
    downloaded: Downloaded,
    unpack: bool,
    limits: crate::ZipLimits,
    /// The client's bound of blocking file work: `finish` is one step of it.
    files: BlockingFiles,
}

impl std::fmt::Debug for PendingZipArchive {
    // The zip's name is the document's title, which may hold a surname: not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingZipArchive")
            .field("dir", &self.dir)
            .field("document_id", &self.document_id)
            .field("size", &self.downloaded.bytes)
            .field("unpack", &self.unpack)
            .finish_non_exhaustive()
    }
}

impl PendingZipArchive {
    /// The directory the archive goes to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The zip's size in bytes, as downloaded.
    pub fn size(&self) -> u64 {
        self.downloaded.bytes
    }

    /// The disk half: the zip read back entry by entry within the limits (unpacked beside
    /// it when asked), kept under the document's title unless the same bytes are already
    /// there, the manifest written, each file's data synced before its rename and the
    /// directory synced once — as [`Client::archive_document_with`] describes. All of it is
    /// one blocking step of the client's bound
    /// ([`ClientBuilder::max_blocking_file_tasks`](crate::ClientBuilder::max_blocking_file_tasks)).
    /// Dropped before it ends, the step still runs to its end (or its failure, which
    /// removes the temporary file).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidZip`] for a zip that fails the check (nothing is kept, the temporary
    /// file is removed); [`Error::Io`] for the file system.
    pub async fn finish(self) -> Result<ArchiveReport> {
        let files = self.files.clone();
        let dir = self.dir.clone();
        let (report, entries) = files.run(&dir, move || self.finish_blocking()).await?;
        tracing::info!(
            written = report.written.len(),
            unchanged = report.unchanged.len(),
            entries,
            "archived document from its zip"
        );
        Ok(report)
    }

    /// [`finish`](Self::finish)'s work, blocking. Returns the report and the zip's number
    /// of file entries.
    fn finish_blocking(self) -> Result<(ArchiveReport, usize)> {
        let Self {
            dir,
            document_id,
            zip_name,
            mut names,
            downloaded:
                Downloaded {
                    tmp,
                    file,
                    held,
                    bytes: zip_size,
                    sha256: zip_sha256,
                },
            unpack,
            limits,
            files: _,
        } = self;
        let zip_path = dir.join(&zip_name);
        // A zip held in memory reaches the disk here (its directory created, 0700).
        let file = match landed_blocking(&tmp, file, held, true) {
            Ok(file) => file,
            Err(e) => {
                tmp.remove_blocking();
                return Err(e);
            }
        };
        // Checked (and unpacked) from the temporary file: nothing is kept unless it passes.
        let entries = match crate::fs::zip::check(tmp.path(), &dir, unpack, limits, &mut names) {
            Ok(entries) => entries,
            Err(e) => {
                drop(file);
                tmp.remove_blocking();
                return Err(e);
            }
        };
        let mut report = ArchiveReport {
            dir: dir.clone(),
            ..ArchiveReport::default()
        };
        if keep_unless_same_blocking(tmp, file, &zip_path)? {
            report.written.push(zip_path);
        } else {
            report.unchanged.push(zip_path);
        }
        for e in &entries {
            if let Some((path, written)) = &e.unpacked {
                let path = dir.join(path);
                if *written {
                    report.written.push(path);
                } else {
                    report.unchanged.push(path);
                }
            }
        }
        let path = dir.join(MANIFEST_FILE_NAME);
        let bytes = zip_manifest(
            document_id.as_ref(),
            &zip_name,
            zip_size,
            &zip_sha256,
            &entries,
        );
        if write_if_changed_blocking(&path, &bytes)? {
            report.written.push(path.clone());
        } else {
            report.unchanged.push(path.clone());
        }
        report.manifest = Some(path);
        if !report.written.is_empty() {
            sync_dir(&dir)?;
        }
        Ok((report, entries.len()))
    }
}
