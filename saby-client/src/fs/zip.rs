//! A document's zip (`СсылкаНаАрхив`) on disk: checked entry by entry within limits (a zip
//! bomb, an entry named `../x` or `/etc/x`, a damaged entry are refused) and, when asked,
//! unpacked beside it — all streamed: no entry is ever held in memory whole.

use std::collections::BTreeSet;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::fs::archive::UniqueNames;
use crate::fs::atomic::{
    create_private_dir_all, create_private_file, same_contents_blocking, sync_dir, temp_path_beside,
};
use crate::fs::sanitize_file_name;

/// The limits a document's zip is checked against before anything of it is kept.
///
/// A zip names its own sizes, and a zip bomb lies about them or packs gigabytes into a few
/// kilobytes: every entry is read through the decompressor and counted as it comes, and the
/// check stops at the first byte past a limit, whatever the zip declares.
///
/// ```
/// use saby_client::ZipLimits;
///
/// let limits = ZipLimits::default().max_entries(200).max_unpacked_bytes(64 << 20);
/// assert_eq!(limits.entries(), 200);
/// assert_eq!(limits.unpacked_bytes(), 64 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZipLimits {
    max_entries: usize,
    max_unpacked_bytes: u64,
}

impl ZipLimits {
    /// Default: at most 10,000 entries (directories included).
    pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
    /// Default: at most 2 GiB uncompressed in all, four times the largest file download
    /// allowed by default
    /// ([`DEFAULT_MAX_DOWNLOAD_BYTES`](crate::hr_docs_core::net::DEFAULT_MAX_DOWNLOAD_BYTES)).
    pub const DEFAULT_MAX_UNPACKED_BYTES: u64 = 2 << 30;

    /// At most `n` entries (directories included).
    #[must_use]
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n;
        self
    }

    /// At most `bytes` uncompressed, all entries together.
    #[must_use]
    pub fn max_unpacked_bytes(mut self, bytes: u64) -> Self {
        self.max_unpacked_bytes = bytes;
        self
    }

    /// The entry limit.
    pub fn entries(&self) -> usize {
        self.max_entries
    }

    /// The uncompressed-size limit, in bytes.
    pub fn unpacked_bytes(&self) -> u64 {
        self.max_unpacked_bytes
    }
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self {
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            max_unpacked_bytes: Self::DEFAULT_MAX_UNPACKED_BYTES,
        }
    }
}

/// One file entry of a checked zip.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The entry's name as the zip gives it (`/`-separated).
    pub(crate) name: String,
    /// Its uncompressed size.
    pub(crate) size: u64,
    /// The SHA-256 of its uncompressed bytes.
    pub(crate) sha256: [u8; 32],
    /// Where it was unpacked (relative to the archive directory, `/`-separated), and
    /// whether that wrote the file (`false`: identical bytes were already there).
    pub(crate) unpacked: Option<(String, bool)>,
}

fn refused(reason: String) -> Error {
    Error::InvalidZip {
        reason,
        damaged: false,
    }
}

fn damaged(reason: String) -> Error {
    Error::InvalidZip {
        reason,
        damaged: true,
    }
}

/// The parts of an entry's name, or `None` when the name could leave the directory it is
/// unpacked into: an absolute path (`/x`, `\x`, `C:…`), a `..` part, or no part at all.
/// Empty parts and `.` are dropped (`a//./b` is `a/b`).
fn safe_parts(name: &str) -> Option<Vec<&str>> {
    if name.starts_with(['/', '\\']) {
        return None;
    }
    let mut parts = Vec::new();
    for (i, part) in name.split(['/', '\\']).enumerate() {
        match part {
            "" | "." => continue,
            ".." => return None,
            // A drive (`C:`) or an alternate data stream (`a:b`) on Windows.
            p if p.contains(':') && i == 0 => return None,
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then_some(parts)
}

/// Checks the zip at `zip_path` within `limits`: every entry read through the
/// decompressor (its CRC checked by it at the end), counted and hashed. With `unpack`, once
/// the whole zip passed, it is read a second time and each
/// file entry is also written under `dir` — its path's parts sanitized
/// ([`sanitize_file_name`]), the whole path unique case-insensitively against `names` —
/// atomically (a private temporary file beside it, synced, renamed), and left alone when it
/// already holds the same bytes. Every directory a rename happened in is synced, `dir`
/// excepted (the caller syncs it once for everything).
///
/// Errors name an entry by its position, never by its name (a name may hold a surname).
pub(crate) fn check(
    zip_path: &Path,
    dir: &Path,
    unpack: bool,
    limits: ZipLimits,
    names: &mut UniqueNames,
) -> Result<Vec<Entry>> {
    // The whole zip passes first: nothing is unpacked from a zip that fails at its last entry.
    let checked = pass(zip_path, dir, false, limits, &mut UniqueNames::default())?;
    if !unpack {
        return Ok(checked);
    }
    pass(zip_path, dir, true, limits, names)
}

/// One read of every entry of the zip (see [`check`]), unpacking them or not.
fn pass(
    zip_path: &Path,
    dir: &Path,
    unpack: bool,
    limits: ZipLimits,
    names: &mut UniqueNames,
) -> Result<Vec<Entry>> {
    let file = std::fs::File::open(zip_path).map_err(|source| Error::Io {
        path: zip_path.to_owned(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| damaged(format!("is not a readable zip ({})", zip_error_kind(&e))))?;
    if archive.len() > limits.max_entries {
        return Err(refused(format!(
            "has {} entries, more than the limit of {}",
            archive.len(),
            limits.max_entries
        )));
    }
    let mut total: u64 = 0;
    let mut entries = Vec::new();
    let mut touched_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for i in 0..archive.len() {
        let position = i + 1;
        let mut entry = archive.by_index(i).map_err(|e| {
            damaged(format!(
                "entry {position} is unreadable ({})",
                zip_error_kind(&e)
            ))
        })?;
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            return Err(refused(format!("entry {position} is a symbolic link")));
        }
        let name = entry
            .name()
            .map_err(|_| refused(format!("entry {position} has no readable name")))?
            .into_owned();
        let Some(parts) = safe_parts(&name) else {
            return Err(refused(format!(
                "entry {position} has an unsafe name (absolute, or with a `..` part)"
            )));
        };
        let left = limits.max_unpacked_bytes.saturating_sub(total);
        if entry.size() > left {
            return Err(refused(format!(
                "unpacks to more than the limit of {} bytes (entry {position})",
                limits.max_unpacked_bytes
            )));
        }
        let target = if unpack {
            let relative: Vec<String> = parts.iter().map(|p| sanitize_file_name(p)).collect();
            let relative = names.unique(&relative.join("/"));
            Some(relative)
        } else {
            None
        };
        // At most one byte past the limit is read: enough to know it is passed.
        let mut limited = (&mut entry).take(left.saturating_add(1));
        let (size, sha256, unpacked) = match &target {
            None => {
                let (size, sha256) = copy_hashed(&mut limited, &mut std::io::sink())
                    .map_err(|e| read_error(position, &std::io::Error::from(e)))?;
                (size, sha256, None)
            }
            Some(relative) => {
                let path = dir.join(relative);
                let parent = crate::fs::atomic::parent_dir(&path).to_owned();
                create_private_dir_all(&parent)?;
                let (size, sha256, written) = unpack_one(&mut limited, &path, position)?;
                if written && parent != dir {
                    touched_dirs.insert(parent);
                }
                (size, sha256, Some((relative.clone(), written)))
            }
        };
        if size > left {
            return Err(refused(format!(
                "unpacks to more than the limit of {} bytes (entry {position})",
                limits.max_unpacked_bytes
            )));
        }
        total += size;
        entries.push(Entry {
            name,
            size,
            sha256,
            unpacked,
        });
    }
    for d in touched_dirs {
        sync_dir(&d)?;
    }
    Ok(entries)
}

/// Streams `reader` into `path` atomically; returns the size, the SHA-256 and whether the
/// file was written (`false`: it already held these bytes). On any failure nothing is left.
fn unpack_one(
    reader: &mut impl Read,
    path: &Path,
    position: usize,
) -> Result<(u64, [u8; 32], bool)> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = temp_path_beside(path);
    let written = (|| {
        let mut out = create_private_file(&tmp).map_err(io)?;
        let (size, sha256) = copy_hashed(reader, &mut out).map_err(|e| match e {
            CopyError::Read(e) => read_error(position, &e),
            CopyError::Write(e) => io(e),
        })?;
        out.sync_data().map_err(io)?;
        drop(out);
        if same_contents_blocking(&tmp, path)? {
            let _ = std::fs::remove_file(&tmp);
            #[cfg(unix)]
            crate::fs::atomic::set_mode(path, 0o600).map_err(io)?;
            return Ok((size, sha256, false));
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok((size, sha256, true))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

impl From<CopyError> for std::io::Error {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Read(e) | CopyError::Write(e) => e,
        }
    }
}

/// Copies `reader` into `out` 64 KiB at a time, hashing as it goes.
fn copy_hashed(
    reader: &mut impl Read,
    out: &mut impl std::io::Write,
) -> std::result::Result<(u64, [u8; 32]), CopyError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(CopyError::Write)?;
        size += n as u64;
    }
    Ok((size, hasher.finalize().into()))
}

fn read_error(position: usize, e: &dyn std::fmt::Display) -> Error {
    // The zip crate's messages name no entry; its checksum error says "checksum".
    damaged(format!(
        "entry {position} could not be read back intact ({e})"
    ))
}

/// The zip crate's error without anything it may quote of the archive.
fn zip_error_kind(e: &zip::result::ZipError) -> &'static str {
    use zip::result::ZipError;
    match e {
        ZipError::Io(_) => "read error",
        ZipError::InvalidArchive(_) => "invalid archive",
        ZipError::UnsupportedArchive(_) => "unsupported archive",
        _ => "zip error",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "/etc/passwd",
            "\\x",
            "../x",
            "a/../../x",
            "a\\..\\x",
            "C:\\x",
            "c:x",
            "",
            "/",
            "./.",
        ] {
            assert!(safe_parts(bad).is_none(), "{bad:?}");
        }
        assert_eq!(safe_parts("a//./b").unwrap(), ["a", "b"]);
        assert_eq!(
            safe_parts("Служебные/Извещение.xml").unwrap(),
            ["Служебные", "Извещение.xml"]
        );
        assert_eq!(safe_parts("x..y").unwrap(), ["x..y"]);
    }
}
