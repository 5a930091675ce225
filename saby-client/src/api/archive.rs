//! The local archive's API calls: which files a document's archive holds (attachments,
//! their signatures, Saby's zip) and getting them — linked files streamed to disk, not held
//! in memory. The writing itself (names, atomic writes, syncs) is in [`crate::fs`].

use std::collections::HashSet;
use std::path::Path;

use bytes::Bytes;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::fs::atomic::{
    TempPath, is_plain_file_name, run_blocking, same_contents_blocking, sync_dir,
    write_if_changed_blocking,
};
use crate::fs::{ArchiveFile, ArchiveReport, sanitize_file_name};
use crate::model::{Document, DocumentId};

struct Planned {
    name: String,
    source: Source,
}

enum Source {
    Inline(Bytes),
    Link(String),
}

fn plan(doc: &Document) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut used = HashSet::new();
    let mut unique = |name: String| -> String {
        let mut candidate = name.clone();
        let mut n = 2;
        while !used.insert(candidate.clone()) {
            candidate = match name.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}_{n}.{ext}"),
                None => format!("{name}_{n}"),
            };
            n += 1;
        }
        candidate
    };
    for (i, att) in doc.attachments.iter().enumerate() {
        if att.deleted == Some(true) {
            continue;
        }
        // The file name's prefix: the attachment's id, else its position.
        let id = att
            .id
            .as_ref()
            .map_or_else(|| format!("{}", i + 1), ToString::to_string);
        let file_name = att.file_name().unwrap_or("attachment");
        let base = sanitize_file_name(&format!("{id}_{file_name}"));
        let source = match (att.file.as_ref().and_then(|f| f.data.as_ref()), att.url()) {
            (Some(data), _) => Some(Source::Inline(data.0.clone())),
            (None, Some(url)) => Some(Source::Link(url.to_owned())),
            (None, None) => None,
        };
        if let Some(source) = source {
            out.push(Planned {
                name: unique(base.clone()),
                source,
            });
        }
        for (j, sig) in att.signatures.iter().enumerate() {
            let Some(file) = &sig.file else { continue };
            let source = match (&file.data, &file.url) {
                (Some(data), _) => Source::Inline(data.0.clone()),
                (None, Some(url)) => Source::Link(url.clone()),
                (None, None) => continue,
            };
            let sig_name = match &file.name {
                Some(n) => format!("{id}_{n}"),
                None => format!("{base}.{}.p7s", j + 1),
            };
            out.push(Planned {
                name: unique(sanitize_file_name(&sig_name)),
                source,
            });
        }
    }
    if let Some(url) = &doc.archive_url {
        let name = sanitize_file_name(&format!(
            "{}.zip",
            doc.id.as_ref().map_or("document", DocumentId::as_str)
        ));
        out.push(Planned {
            name: unique(name),
            source: Source::Link(url.clone()),
        });
    }
    out
}

impl Client {
    /// Saves document `document_id` into `dir` (created if missing): every attachment
    /// (`<id>_<file name>`), each of its signatures (`<id>_<signature file name>`, or
    /// `<id>_<file name>.<n>.p7s`) and the zip of the whole document from `СсылкаНаАрхив`
    /// (`<document id>.zip`). Names are sanitized ([`sanitize_file_name`]) and stable.
    ///
    /// Files behind a link are streamed to disk ([`Client::download_to_file`]'s way), one
    /// after another: memory stays bounded by a network chunk, not by the size of the
    /// attachments or of the zip. Inline contents (`ДвоичныеДанные`) are written from
    /// memory.
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
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        let mut report = ArchiveReport {
            dir: dir.to_owned(),
            ..ArchiveReport::default()
        };
        let saved = self.archive_into(document, dir, &mut report).await;
        if !report.written.is_empty() {
            let dir_owned = dir.to_owned();
            let synced = run_blocking(dir, move || sync_dir(&dir_owned)).await;
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

    async fn archive_into(
        &self,
        document: &Document,
        dir: &Path,
        report: &mut ArchiveReport,
    ) -> Result<()> {
        for item in plan(document) {
            // Never trust a name to stay inside `dir`.
            if !is_plain_file_name(&item.name) {
                return Err(Error::InvalidInput(format!(
                    "archive file name {:?} is not a plain file name",
                    item.name
                )));
            }
            let path = dir.join(&item.name);
            let written = match item.source {
                Source::Inline(bytes) => {
                    let target = path.clone();
                    run_blocking(&path, move || write_if_changed_blocking(&target, &bytes)).await?
                }
                Source::Link(link) => self.archive_link(&link, &path).await?,
            };
            if written {
                report.written.push(path);
            } else {
                report.unchanged.push(path);
            }
        }
        Ok(())
    }

    /// Streams `link` into a temporary file beside `path`, then keeps it (renamed over
    /// `path`) unless `path` already holds the same bytes. Returns whether it wrote.
    async fn archive_link(&self, link: &str, path: &Path) -> Result<bool> {
        let (tmp, downloaded) = self.download_to_temp(link, TempPath::beside(path)?).await?;
        let (new, existing) = (tmp.path().to_owned(), path.to_owned());
        let same = run_blocking(path, move || same_contents_blocking(&new, &existing)).await;
        let file = downloaded.file;
        match same {
            Ok(false) => {}
            Ok(true) => {
                drop(file);
                tmp.remove().await;
                return Ok(false);
            }
            Err(e) => {
                drop(file);
                tmp.remove().await;
                return Err(e);
            }
        }
        tmp.sync_and_persist(file, path).await?;
        Ok(true)
    }

    /// Downloads what [`Client::archive`] would save for `document`, without writing
    /// anything: every attachment that is not deleted, each of its signatures and the
    /// document's zip (`СсылкаНаАрхив`), in that order, named as [`Client::archive`] names
    /// them. Inline contents (`ДвоичныеДанные`) are taken as they are; everything else is
    /// downloaded from its `Ссылка` (one request per file). Save the result with
    /// [`write_archive`](crate::write_archive).
    ///
    /// The whole archive is held in memory until written. For documents with large files
    /// use [`Client::archive`] / [`Client::archive_document`], which stream every linked
    /// file to disk, or [`Client::download_to_file`] file by file.
    pub async fn archive_files(&self, document: &Document) -> Result<Vec<ArchiveFile>> {
        let planned = plan(document);
        let mut files = Vec::with_capacity(planned.len());
        for item in planned {
            let bytes = match item.source {
                Source::Inline(b) => b,
                Source::Link(url) => self.download(&url).await?,
            };
            files.push(ArchiveFile {
                name: item.name,
                bytes,
            });
        }
        Ok(files)
    }
}
