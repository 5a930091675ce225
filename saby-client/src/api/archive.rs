//! The local archive: a document's attachments, their signatures and Saby's zip, saved with
//! stable names and atomic writes; linked files are streamed to disk, not held in memory.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::api::download::{TempPath, run_blocking, same_contents_blocking, temp_path_beside};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::Document;

/// What [`Client::archive`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchiveReport {
    /// The directory.
    pub dir: PathBuf,
    /// Files created or replaced (their contents changed).
    pub written: Vec<PathBuf>,
    /// Files already present with identical contents (left untouched).
    pub unchanged: Vec<PathBuf>,
}

/// Makes a safe, stable file name: letters (any script), digits, `.`, `-`, `_` kept; anything
/// else (path separators, `:`, `..`, control characters...) becomes `_`; no leading dot; at most
/// 150 characters; never empty.
pub fn sanitize_file_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len());
    for (i, &c) in chars.iter().enumerate() {
        let dot_run = c == '.'
            && (chars.get(i + 1) == Some(&'.') || (i > 0 && chars.get(i - 1) == Some(&'.')));
        let keep = !dot_run && (c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '));
        let c = if keep { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim().trim_start_matches('.').trim();
    let mut s: String = trimmed.chars().take(150).collect();
    if s.is_empty() || s.chars().all(|c| c == '.' || c == '_') {
        s = "file".to_owned();
    }
    s
}

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
        let id = att.id.clone().unwrap_or_else(|| format!("{}", i + 1));
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
        let name = sanitize_file_name(&format!("{}.zip", doc.id.as_deref().unwrap_or("document")));
        out.push(Planned {
            name: unique(name),
            source: Source::Link(url.clone()),
        });
    }
    out
}

/// One file of a document's archive, downloaded (or taken inline) but not written yet: what
/// [`Client::archive_files`] returns and [`write_archive`] saves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchiveFile {
    /// The file name inside the archive directory, already sanitized and unique within the
    /// document (see [`Client::archive`] for the naming scheme).
    pub name: String,
    /// The contents.
    pub bytes: Bytes,
}

impl ArchiveFile {
    /// A file named `name` holding `bytes`. The name is sanitized with
    /// [`sanitize_file_name`], so it can never leave the directory it is written to.
    pub fn new(name: impl AsRef<str>, bytes: impl Into<Bytes>) -> Self {
        Self {
            name: sanitize_file_name(name.as_ref()),
            bytes: bytes.into(),
        }
    }
}

/// Writes `bytes` to `path` unless it already holds exactly them (blocking). Atomic: a
/// temporary file in the same directory, its data synced, then renamed over the target.
/// Returns whether it wrote. The directory entry itself is synced by the caller, once for
/// all the files of a directory.
fn write_if_changed_blocking(path: &Path, bytes: &[u8]) -> Result<bool> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let tmp = temp_path_beside(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        // The data must be on disk before the rename makes it visible under the final
        // name: otherwise a power loss can leave a renamed but empty file.
        f.sync_data()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(true)
}

/// One normal path component, not hidden, no separators or control characters: a name that
/// stays inside the directory it is joined to and cannot clash with our temporary files.
fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(std::path::Component::Normal(_)))
        && components.next().is_none()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

/// Makes the directory's entries (the renames) durable: one `fsync` of the directory for
/// all its files. Not possible on every platform (Windows cannot open a directory as a
/// file); there the renames are as durable as the file system makes them.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    match std::fs::File::open(dir) {
        Ok(d) => d.sync_all().or_else(|e| match e.kind() {
            // Some file systems refuse fsync on a directory; the data is synced anyway.
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported => Ok(()),
            _ => Err(Error::Io {
                path: dir.to_owned(),
                source: e,
            }),
        }),
        Err(_) if cfg!(windows) => Ok(()),
        Err(source) => Err(Error::Io {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Saves `files` into `dir` (created if missing), blocking the calling thread: use it from
/// a blocking context (`tokio::task::spawn_blocking`), or call [`write_archive`].
///
/// The guarantees of [`Client::archive`]: each file is written atomically (a temporary file
/// in the same directory, its data synced, then renamed over the target), a file that
/// already holds identical bytes is not touched (reported in [`ArchiveReport::unchanged`]),
/// and when any file was written the directory is synced once at the end, so every rename
/// is durable when this returns.
pub fn write_archive_blocking(dir: &Path, files: &[ArchiveFile]) -> Result<ArchiveReport> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut report = ArchiveReport {
        dir: dir.to_owned(),
        ..ArchiveReport::default()
    };
    for file in files {
        // Never trust a name to stay inside `dir` (the fields are public).
        if !is_plain_file_name(&file.name) {
            return Err(Error::InvalidInput(format!(
                "archive file name {:?} is not a plain file name",
                file.name
            )));
        }
        let path = dir.join(&file.name);
        if write_if_changed_blocking(&path, &file.bytes)? {
            report.written.push(path);
        } else {
            report.unchanged.push(path);
        }
    }
    if !report.written.is_empty() {
        sync_dir(dir)?;
    }
    tracing::info!(
        written = report.written.len(),
        unchanged = report.unchanged.len(),
        "archived document"
    );
    Ok(report)
}

/// [`write_archive_blocking`] on tokio's blocking pool: saves `files` into `dir` without
/// blocking the async runtime. Cheap to call with the files [`Client::archive_files`]
/// returned (their contents are reference-counted, not copied).
pub async fn write_archive(dir: &Path, files: &[ArchiveFile]) -> Result<ArchiveReport> {
    let dir_owned = dir.to_owned();
    let files = files.to_vec();
    // A join error (a panic or a cancelled task) stays the source, not a string.
    run_blocking(dir, move || write_archive_blocking(&dir_owned, &files)).await
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
    /// into memory) and [`write_archive`] (disk only) — for example to download under a
    /// concurrency permit and write after releasing it — at the cost of holding the whole
    /// archive in memory in between.
    pub async fn archive(&self, document_id: &str, dir: &Path) -> Result<ArchiveReport> {
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
    /// [`write_archive`].
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

#[cfg(test)]
mod tests {
    use super::sanitize_file_name;

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize_file_name("a/b\\c:d.pdf"), "a_b_c_d.pdf");
        assert_eq!(sanitize_file_name("../../etc/passwd"), "_etc_passwd");
        assert_eq!(sanitize_file_name("Счёт №1.xml"), "Счёт _1.xml");
        assert_eq!(sanitize_file_name(""), "file");
        assert_eq!(sanitize_file_name(".."), "file");
        assert_eq!(sanitize_file_name(&"x".repeat(400)).chars().count(), 150);
    }
}
