//! The local archive: a document's attachments, their signatures and Saby's zip, saved with
//! stable names and atomic writes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;

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

/// Writes `bytes` to `path` unless it already holds exactly them. Atomic: a temporary file
/// in the same directory, flushed, then renamed over the target. Returns whether it wrote.
pub(crate) async fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    match tokio::fs::read(path).await {
        Ok(existing) if existing == bytes => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{file_name}.{:016x}.tmp", fastrand::u64(..)));
    let result = async {
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(bytes).await?;
        f.sync_all().await?;
        drop(f);
        tokio::fs::rename(&tmp, path).await
    }
    .await;
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io(e));
    }
    Ok(true)
}

impl Client {
    /// Saves document `document_id` into `dir` (created if missing): every attachment
    /// (`<id>_<file name>`), each of its signatures (`<id>_<signature file name>`, or
    /// `<id>_<file name>.<n>.p7s`) and the zip of the whole document from `СсылкаНаАрхив`
    /// (`<document id>.zip`). Names are sanitized ([`sanitize_file_name`]) and stable.
    ///
    /// Each write is atomic (temporary file in the same directory + rename), and a file that
    /// already holds identical bytes is left alone: running it twice writes nothing the
    /// second time (see [`ArchiveReport::unchanged`]).
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
        for item in plan(document) {
            let bytes = match item.source {
                Source::Inline(b) => b,
                Source::Link(url) => self.download(&url).await?,
            };
            let path = dir.join(&item.name);
            if write_if_changed(&path, &bytes).await? {
                report.written.push(path);
            } else {
                report.unchanged.push(path);
            }
        }
        tracing::info!(
            written = report.written.len(),
            unchanged = report.unchanged.len(),
            "archived document"
        );
        Ok(report)
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
