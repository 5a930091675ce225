//! The archive on disk: safe, stable file names, the files of a document's archive and
//! their atomic writes ([`write_archive`]).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::fs::atomic::{
    create_private_dir_all, is_plain_file_name, run_blocking, sync_dir, write_if_changed_blocking,
};

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
    /// The manifest ([`MANIFEST_FILE_NAME`]), when one was written or already up to date
    /// (it is also in `written` or `unchanged`).
    pub manifest: Option<PathBuf>,
}

/// Where [`Client::archive_document_with`](crate::Client::archive_document_with) takes a
/// document's files from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ArchiveSource {
    /// The document's zip (`СсылкаНаАрхив`) — "a zip archive file with all attachments and
    /// e-signatures", in Saby's words — in **one request**, kept as Saby made it and checked
    /// entry by entry (optionally unpacked beside it, see [`ArchiveOptions::unpack`]). A
    /// document without the link is archived file by file instead (as [`Files`](Self::Files)).
    #[default]
    Zip,
    /// Every attachment and each of its signatures downloaded one by one (one request each),
    /// plus the zip when the document links one: what
    /// [`Client::archive_document`](crate::Client::archive_document) does. For accounts whose
    /// zip is not available, or to keep each file under its own name without unpacking.
    Files,
}

/// How [`Client::archive_document_with`](crate::Client::archive_document_with) saves a
/// document: where its files come from ([`ArchiveSource`]), whether the zip is also unpacked,
/// and the zip's [`ZipLimits`](crate::ZipLimits).
///
/// ```
/// use saby_client::{ArchiveOptions, ArchiveSource, ZipLimits};
///
/// let options = ArchiveOptions::default(); // the zip, kept as is, checked
/// assert_eq!(options.source(), ArchiveSource::Zip);
/// assert!(!options.unpacks());
/// let unpacked = ArchiveOptions::zip().unpack(true).limits(ZipLimits::default().max_entries(500));
/// assert!(unpacked.unpacks());
/// assert_eq!(ArchiveOptions::files().source(), ArchiveSource::Files);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ArchiveOptions {
    source: ArchiveSource,
    unpack: bool,
    limits: crate::fs::zip::ZipLimits,
}

impl ArchiveOptions {
    /// From the document's zip ([`ArchiveSource::Zip`], the default), kept as is.
    pub fn zip() -> Self {
        Self::default()
    }

    /// File by file ([`ArchiveSource::Files`]).
    pub fn files() -> Self {
        Self {
            source: ArchiveSource::Files,
            ..Self::default()
        }
    }

    /// Also unpacks the zip's entries beside it (default `false`): each under its own path
    /// inside the zip, every part of it sanitized like any archived name, the whole unique
    /// case-insensitively. Each unpacked file costs a write and an `fsync` of its own.
    #[must_use]
    pub fn unpack(mut self, unpack: bool) -> Self {
        self.unpack = unpack;
        self
    }

    /// The limits the zip is checked against (default [`ZipLimits::default`](crate::ZipLimits)).
    #[must_use]
    pub fn limits(mut self, limits: crate::fs::zip::ZipLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Where the files come from.
    pub fn source(&self) -> ArchiveSource {
        self.source
    }

    /// Whether the zip is unpacked too.
    pub fn unpacks(&self) -> bool {
        self.unpack
    }

    /// The zip's limits.
    pub fn zip_limits(&self) -> crate::fs::zip::ZipLimits {
        self.limits
    }
}

/// The longest file name written, in bytes: 255, the limit of Linux's file systems (and of
/// NTFS and APFS in UTF-16 units / UTF-8 bytes respectively, which 255 bytes never exceed).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// The name of the manifest [`Client::archive`](crate::Client::archive) writes into each
/// document's directory (never taken by a document's file).
pub const MANIFEST_FILE_NAME: &str = "manifest.json";

/// The longest extension kept whole when a name is cut to [`MAX_FILE_NAME_BYTES`].
const MAX_EXTENSION_BYTES: usize = 32;

/// Makes a safe, stable file name, the same on every platform:
///
/// - letters (any script), digits, `.`, `-`, `_` and spaces are kept; anything else (path
///   separators, `:`, `..`, control characters…) becomes `_` (runs of `_` collapse);
/// - no leading dot (hidden files, and our temporary files, start with one), no trailing
///   dot or space (Windows drops them);
/// - a Windows device name (`CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9`, in any
///   case, with or without an extension) gets a `_` after it: `CON.txt` → `CON_.txt`;
/// - at most [`MAX_FILE_NAME_BYTES`] bytes (UTF-8), cut at a character boundary with the
///   extension kept: a long Cyrillic name stays a valid name on Linux;
/// - never empty (`file`);
/// - stable: a sanitized name sanitizes to itself.
///
/// ```
/// use saby_client::{MAX_FILE_NAME_BYTES, sanitize_file_name};
///
/// assert_eq!(sanitize_file_name("../../etc/passwd"), "_etc_passwd");
/// assert_eq!(sanitize_file_name("nul.pdf"), "nul_.pdf");
/// let long = sanitize_file_name(&format!("{}.pdf", "я".repeat(200)));
/// assert!(long.len() <= MAX_FILE_NAME_BYTES && long.ends_with(".pdf"));
/// ```
pub fn sanitize_file_name(name: &str) -> String {
    // One pass can leave a name another pass changes: a cut can bring a dot within an
    // extension's length of the end, and the second pass then trims a space before that
    // "extension". Passes only cut and trim once the first has run, so a few reach the
    // fixed point (two in every case found; the bound is a guard, not a guess).
    let mut name = sanitize_once(name);
    for _ in 0..8 {
        let again = sanitize_once(&name);
        if again == name {
            break;
        }
        name = again;
    }
    name
}

/// One pass of [`sanitize_file_name`].
fn sanitize_once(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len().min(4 * MAX_FILE_NAME_BYTES));
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
    let mut s = trim_name(&out).to_owned();
    if s.is_empty() || s.chars().all(|c| c == '.' || c == '_') {
        s = "file".to_owned();
    }
    if is_windows_device_name(&s) {
        let stem_end = s.find('.').unwrap_or(s.len());
        s.insert(stem_end, '_');
    }
    cap_name(&s, "")
}

/// Trims what no file name may start or end with: whitespace, leading dots, trailing dots.
fn trim_name(name: &str) -> &str {
    name.trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .trim()
}

/// Whether the part of `name` before its first dot is a Windows device name.
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        _ => match (upper.get(..3), upper.get(3..)) {
            (Some("COM" | "LPT"), Some(digit)) => {
                matches!(digit.as_bytes(), [b'0'..=b'9']) || matches!(digit, "¹" | "²" | "³")
            }
            _ => false,
        },
    }
}

/// `name` with `suffix` put before its extension (`a.pdf` + ` (2)` → `a (2).pdf`), cut to
/// [`MAX_FILE_NAME_BYTES`] at a character boundary with the suffix and the extension kept.
pub(crate) fn cap_name(name: &str, suffix: &str) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES => name.split_at(dot),
        _ => (name, ""),
    };
    let room = MAX_FILE_NAME_BYTES.saturating_sub(suffix.len() + ext.len());
    let mut cut = stem.len().min(room);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = stem[..cut].trim_end_matches(['.', ' ']);
    let stem = if stem.is_empty() { "file" } else { stem };
    format!("{stem}{suffix}{ext}")
}

/// Hands out names unique within one directory, case-insensitively (two names that differ
/// only in case are one file on Windows and macOS): the first `a.pdf` keeps its name, the
/// next ones become `a (2).pdf`, `a (3).pdf`… in the order asked — deterministic for a
/// document read the same way.
#[derive(Debug, Default)]
pub(crate) struct UniqueNames {
    used: std::collections::HashSet<String>,
}

impl UniqueNames {
    /// Reserves `name` (e.g. the manifest's) so no file takes it.
    pub(crate) fn reserve(&mut self, name: &str) {
        self.used.insert(name.to_lowercase());
    }

    /// `name` (already sanitized), or the first free `name (n)`.
    pub(crate) fn unique(&mut self, name: &str) -> String {
        if self.used.insert(name.to_lowercase()) {
            return name.to_owned();
        }
        let mut n = 2u32;
        loop {
            let candidate = cap_name(name, &format!(" ({n})"));
            if self.used.insert(candidate.to_lowercase()) {
                return candidate;
            }
            n = n.saturating_add(1);
        }
    }
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
/// is durable when this returns. On Unix the directory is `0700` and every file `0600`,
/// whatever the umask (they hold personal data).
pub fn write_archive_blocking(dir: &Path, files: &[ArchiveFile]) -> Result<ArchiveReport> {
    create_private_dir_all(dir)?;
    let mut report = ArchiveReport {
        dir: dir.to_owned(),
        ..ArchiveReport::default()
    };
    for (i, file) in files.iter().enumerate() {
        // Never trust a name to stay inside `dir` (the fields are public). The name is not
        // quoted: it may hold a surname.
        if !is_plain_file_name(&file.name) {
            return Err(Error::InvalidInput(format!(
                "archive file {} has no plain file name (a path, a hidden name, or longer \
                 than {MAX_FILE_NAME_BYTES} bytes)",
                i + 1
            )));
        }
        let path = dir.join(&file.name);
        if write_if_changed_blocking(&path, &file.bytes)? {
            report.written.push(path);
        } else {
            report.unchanged.push(path);
        }
    }
    if files.iter().any(|f| f.name == MANIFEST_FILE_NAME) {
        report.manifest = Some(dir.join(MANIFEST_FILE_NAME));
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
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Found by the property suite: one pass cut this name so that its last dot came
    /// within an extension's length of the end, and a second pass trimmed the space
    /// before it (252 bytes, then 251).
    #[test]
    fn a_cut_name_is_stable() {
        let raw = ".\u{16af0}എ0A ¹AA¹A𘳿𛲐𑒀𝔻 a ".repeat(40);
        let once = sanitize_once(&raw);
        assert_ne!(
            sanitize_once(&once),
            once,
            "the case still needs a second pass"
        );
        let safe = sanitize_file_name(&raw);
        assert_eq!(sanitize_file_name(&safe), safe);
        assert!(safe.len() <= MAX_FILE_NAME_BYTES);
    }

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize_file_name("a/b\\c:d.pdf"), "a_b_c_d.pdf");
        assert_eq!(sanitize_file_name("../../etc/passwd"), "_etc_passwd");
        assert_eq!(sanitize_file_name("Счёт №1.xml"), "Счёт _1.xml");
        assert_eq!(sanitize_file_name(""), "file");
        assert_eq!(sanitize_file_name(".."), "file");
        assert_eq!(sanitize_file_name("report. . ."), "report");
        assert_eq!(sanitize_file_name("  .hidden "), "hidden");
    }

    #[test]
    fn names_are_capped_in_bytes_with_the_extension_kept() {
        let ascii = sanitize_file_name(&"x".repeat(400));
        assert_eq!(ascii.len(), MAX_FILE_NAME_BYTES);
        // Two bytes a character: cut at a character boundary, extension kept.
        let cyrillic = sanitize_file_name(&format!("{}.pdf", "я".repeat(300)));
        assert!(cyrillic.len() <= MAX_FILE_NAME_BYTES, "{}", cyrillic.len());
        assert!(cyrillic.len() >= MAX_FILE_NAME_BYTES - 1);
        assert!(cyrillic.ends_with(".pdf"));
        assert!(cyrillic.starts_with("яяя"));
        // Four bytes a character.
        let emoji = sanitize_file_name(&format!("{}.json", "𝔸".repeat(100)));
        assert!(emoji.len() <= MAX_FILE_NAME_BYTES && emoji.ends_with(".json"));
        // A very long "extension" is not one.
        let odd = sanitize_file_name(&format!("a.{}", "b".repeat(300)));
        assert_eq!(odd.len(), MAX_FILE_NAME_BYTES);
    }

    #[test]
    fn windows_device_names_are_taken_apart() {
        for (name, safe) in [
            ("CON", "CON_"),
            ("con.txt", "con_.txt"),
            ("Nul.tar.gz", "Nul_.tar.gz"),
            ("aux", "aux_"),
            ("PRN.pdf", "PRN_.pdf"),
            ("COM1.json", "COM1_.json"),
            ("lpt9", "lpt9_"),
            ("COM¹", "COM¹_"),
        ] {
            assert_eq!(sanitize_file_name(name), safe, "{name}");
        }
        for name in [
            "CONSOLE.txt",
            "COM10",
            "NULL",
            "icon.png",
            "com.pdf",
            "Кон",
            "яяяя",
        ] {
            assert_eq!(sanitize_file_name(name), name, "{name}");
        }
    }

    #[test]
    fn unique_names_ignore_case_and_keep_the_extension() {
        let mut names = UniqueNames::default();
        names.reserve(MANIFEST_FILE_NAME);
        assert_eq!(names.unique("a.pdf"), "a.pdf");
        assert_eq!(names.unique("A.PDF"), "A (2).PDF");
        assert_eq!(names.unique("a.pdf"), "a (3).pdf");
        assert_eq!(names.unique("Manifest.json"), "Manifest (2).json");
        assert_eq!(names.unique("noext"), "noext");
        assert_eq!(names.unique("NOEXT"), "NOEXT (2)");
        // A name at the limit still gets its suffix within the limit.
        let long = sanitize_file_name(&format!("{}.pdf", "ж".repeat(200)));
        assert_eq!(names.unique(&long), long);
        let second = names.unique(&long);
        assert!(second.len() <= MAX_FILE_NAME_BYTES, "{}", second.len());
        assert!(second.ends_with(" (2).pdf"), "{second}");
    }
}
