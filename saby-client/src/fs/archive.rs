//! The archive on disk: safe, stable file names, the files of a document's archive and
//! their atomic writes ([`write_archive`]).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::fs::atomic::{is_plain_file_name, run_blocking, sync_dir, write_if_changed_blocking};

/// What [`Client::archive`](crate::Client::archive) did.
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

/// One file of a document's archive, downloaded (or taken inline) but not written yet: what
/// [`Client::archive_files`](crate::Client::archive_files) returns and [`write_archive`] saves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchiveFile {
    /// The file name inside the archive directory, already sanitized and unique within the
    /// document (see [`Client::archive`](crate::Client::archive) for the naming scheme).
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

/// Saves `files` into `dir` (created if missing), blocking the calling thread: use it from
/// a blocking context (`tokio::task::spawn_blocking`), or call [`write_archive`].
///
/// The guarantees of [`Client::archive`](crate::Client::archive): each file is written atomically (a temporary file
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
/// blocking the async runtime. Cheap to call with the files [`Client::archive_files`](crate::Client::archive_files)
/// returned (their contents are reference-counted, not copied).
pub async fn write_archive(dir: &Path, files: &[ArchiveFile]) -> Result<ArchiveReport> {
    let dir_owned = dir.to_owned();
    let files = files.to_vec();
    // A join error (a panic or a cancelled task) stays the source, not a string.
    run_blocking(dir, move || write_archive_blocking(&dir_owned, &files)).await
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
