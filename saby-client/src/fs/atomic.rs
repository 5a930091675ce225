//! Atomic, durable file writes: hidden temporary files beside their target, data synced
//! before the rename, directories synced after it, contents compared without reading a
//! file whole. (Where the blocking work runs: [`crate::fs::blocking`].)

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// The hidden temporary name used to write `target` atomically:
/// `.<file name>.<16 random hex digits>.tmp` in the same directory, the file name cut to
/// [`TEMP_PREFIX_BYTES`] so the whole stays within 255 bytes whatever the target's length.
/// The leading dot keeps it apart from every name [`crate::sanitize_file_name`] produces.
pub(crate) fn temp_path_beside(target: &Path) -> PathBuf {
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_else(|| "file".into());
    let mut cut = file_name.len().min(TEMP_PREFIX_BYTES);
    while !file_name.is_char_boundary(cut) {
        cut -= 1;
    }
    parent_dir(target).join(format!(
        ".{}.{:016x}.tmp",
        &file_name[..cut],
        fastrand::u64(..)
    ))
}

/// How much of the target's name a temporary name keeps: 200 bytes, so that
/// `.` + 200 + `.` + 16 + `.tmp` = 222 bytes fit every file system's 255.
pub(crate) const TEMP_PREFIX_BYTES: usize = 200;

/// Creates `dir` and its missing parents, private to the user on Unix: each directory
/// created is `0700` (the umask can only narrow that), and `dir` itself is set to exactly
/// `0700` whether it was created now or existed (it holds personal data).
pub(crate) fn create_private_dir_all(dir: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io)?;
    #[cfg(unix)]
    set_mode(dir, 0o700).map_err(io)?;
    Ok(())
}

/// Sets `path`'s permission bits to exactly `mode` (Unix; not subject to the umask).
#[cfg(unix)]
pub(crate) fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Opens `path` for writing, created or truncated, private to the user on Unix: created
/// `0600` and set to exactly `0600` (whatever the umask, and if it existed before).
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary file beside a target. Removed on every failure path; if the future holding
/// it is dropped (cancelled), `Drop` removes it — and a blocking write still running for it
/// at that moment removes it when it ends (see [`TempPath::guard`]).
pub(crate) struct TempPath {
    path: PathBuf,
    armed: bool,
    /// Set when the owner dropped it unfinished: a write in flight must not leave the file.
    abandoned: Arc<AtomicBool>,
}

/// What a blocking write needs to know about the [`TempPath`] it writes: its path, and
/// whether its owner gave it up while the write ran.
pub(crate) struct TempGuard {
    path: PathBuf,
    abandoned: Arc<AtomicBool>,
}

impl TempGuard {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// To call after the write (the file created or written): when the owner dropped the
    /// [`TempPath`] meanwhile, its `Drop` may have run before the file existed, so the file
    /// is removed here. Whichever of the two comes last removes it.
    pub(crate) fn remove_if_abandoned(&self) {
        if self.abandoned.load(Ordering::SeqCst) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl TempPath {
    /// A fresh temporary name for `target` (nothing is created yet).
    pub(crate) fn beside(target: &Path) -> Result<Self> {
        if target.file_name().is_none() {
            return Err(Error::InvalidInput(format!(
                "download target {} has no file name",
                target.display()
            )));
        }
        Ok(Self {
            path: temp_path_beside(target),
            armed: true,
            abandoned: Arc::new(AtomicBool::new(false)),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The handle a blocking write of this file takes along (see [`TempGuard`]).
    pub(crate) fn guard(&self) -> TempGuard {
        TempGuard {
            path: self.path.clone(),
            abandoned: Arc::clone(&self.abandoned),
        }
    }

    /// Forgets the file without removing it: for a name nothing was ever written under.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }

    /// Removes the file, if it exists (blocking).
    pub(crate) fn remove_blocking(mut self) {
        self.armed = false;
        let _ = std::fs::remove_file(&self.path);
    }

    /// Syncs `file`'s data (it must be this temporary file), closes it and renames it over
    /// `target` (blocking; atomic on one file system). The data is on disk before the rename
    /// makes it visible under the final name. On any failure the temporary file is removed
    /// and `target` is untouched. The directory entry is synced by the caller.
    pub(crate) fn persist_blocking(mut self, file: std::fs::File, target: &Path) -> Result<()> {
        let result = file.sync_data().and_then(|()| {
            drop(file);
            std::fs::rename(&self.path, target)
        });
        match result {
            Ok(()) => {
                self.armed = false;
                Ok(())
            }
            Err(source) => {
                self.remove_blocking();
                Err(Error::Io {
                    path: target.to_owned(),
                    source,
                })
            }
        }
    }
}

/// Keeps the downloaded `tmp` (its open `file`) as `target` unless `target` already holds
/// the same bytes (blocking): compared chunk by chunk, then either the temporary file is
/// removed and `target` left alone (made `0600` on Unix: an older version may have written
/// it `0644`), or its data is synced and it is renamed over `target`. Returns whether it
/// wrote. On any failure the temporary file is removed. The directory is synced by the
/// caller.
pub(crate) fn keep_unless_same_blocking(
    tmp: TempPath,
    file: std::fs::File,
    target: &Path,
) -> Result<bool> {
    match same_contents_blocking(tmp.path(), target) {
        Ok(false) => {
            tmp.persist_blocking(file, target)?;
            Ok(true)
        }
        Ok(true) => {
            drop(file);
            tmp.remove_blocking();
            #[cfg(unix)]
            set_mode(target, 0o600).map_err(|source| Error::Io {
                path: target.to_owned(),
                source,
            })?;
            Ok(false)
        }
        Err(e) => {
            drop(file);
            tmp.remove_blocking();
            Err(e)
        }
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        // Reached when the download was cancelled (its future dropped) or a blocking step
        // that owned it failed: every other path removes or persists the file itself.
        if self.armed {
            self.abandoned.store(true, Ordering::SeqCst);
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `path` unless it already holds exactly them (blocking). Atomic: a
/// temporary file in the same directory, its data synced, then renamed over the target.
/// Returns whether it wrote. The directory entry itself is synced by the caller, once for
/// all the files of a directory.
pub(crate) fn write_if_changed_blocking(path: &Path, bytes: &[u8]) -> Result<bool> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => {
            // Left alone, but private (a file an older version wrote may be 0644).
            #[cfg(unix)]
            set_mode(path, 0o600).map_err(io)?;
            return Ok(false);
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let tmp = temp_path_beside(path);
    let result = (|| {
        let mut f = create_private_file(&tmp)?;
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

/// One normal path component, not hidden, no separators or control characters, at most
/// [`MAX_FILE_NAME_BYTES`](crate::MAX_FILE_NAME_BYTES) bytes: a name that stays inside the
/// directory it is joined to, that every file system accepts, and that cannot clash with
/// our temporary files.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(std::path::Component::Normal(_)))
        && components.next().is_none()
        && name.len() <= crate::fs::archive::MAX_FILE_NAME_BYTES
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

/// Runs blocking file work on tokio's blocking pool, unbounded (for [`crate::write_archive`],
/// one task per call, which has no client; a client's own file work goes through its
/// [`BlockingFiles`](crate::fs::blocking::BlockingFiles)). A join error (a panic) becomes an [`Error::Io`] at `path`, with the
/// join error as its source.
pub(crate) async fn run_blocking<T, F>(path: &Path, f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Io {
            path: path.to_owned(),
            source: std::io::Error::other(e),
        })?
}

/// Reads until `buf` is full or the file ends; returns how much was read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Whether `existing` holds exactly the bytes of `new` (blocking), compared 64 KiB at a time
/// so neither file is read into memory whole. A missing `existing` is not the same.
pub(crate) fn same_contents_blocking(new: &Path, existing: &Path) -> Result<bool> {
    const CHUNK: usize = 64 * 1024;
    let io_at = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut old = match std::fs::File::open(existing) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_at(existing)(e)),
    };
    let mut new_file = std::fs::File::open(new).map_err(io_at(new))?;
    let old_len = old.metadata().map_err(io_at(existing))?.len();
    let new_len = new_file.metadata().map_err(io_at(new))?.len();
    if old_len != new_len {
        return Ok(false);
    }
    let (mut a, mut b) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    loop {
        let n = read_full(&mut new_file, &mut a).map_err(io_at(new))?;
        let m = read_full(&mut old, &mut b).map_err(io_at(existing))?;
        if a[..n] != b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn temp_names_are_hidden_and_beside_the_target() {
        let tmp = temp_path_beside(Path::new("/a/b/c.zip"));
        assert_eq!(tmp.parent(), Some(Path::new("/a/b")));
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(".c.zip.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_eq!(
            temp_path_beside(Path::new("c.zip")).parent(),
            Some(Path::new("."))
        );
        assert!(TempPath::beside(Path::new("/")).is_err());
    }

    #[test]
    fn compares_contents_chunk_by_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let mut body = vec![7u8; 200 * 1024];
        std::fs::write(&a, &body).unwrap();
        assert!(
            !same_contents_blocking(&a, &b).unwrap(),
            "missing is different"
        );
        std::fs::write(&b, &body).unwrap();
        assert!(same_contents_blocking(&a, &b).unwrap());
        // Same length, one byte different in the last chunk.
        *body.last_mut().unwrap() = 8;
        std::fs::write(&b, &body).unwrap();
        assert!(!same_contents_blocking(&a, &b).unwrap());
        std::fs::write(&b, &body[..100]).unwrap();
        assert!(!same_contents_blocking(&a, &b).unwrap());
        std::fs::write(&a, b"").unwrap();
        std::fs::write(&b, b"").unwrap();
        assert!(same_contents_blocking(&a, &b).unwrap());
    }
}
