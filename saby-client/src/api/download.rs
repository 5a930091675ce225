//! Streaming downloads to disk: the body goes chunk by chunk into a hidden temporary file
//! beside the target, whose data is synced before it is renamed over the target.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt as _;
use url::Url;

use crate::api::archive::sync_dir;
use crate::client::{AuthToken, Client, ERROR_BODY_LIMIT, OpenDownload, download_failure};
use crate::error::{Error, Result};

/// The hidden temporary name used to write `target` atomically:
/// `.<file name>.<16 random hex digits>.tmp` in the same directory. The leading dot keeps
/// it apart from every name [`crate::sanitize_file_name`] produces.
pub(crate) fn temp_path_beside(target: &Path) -> PathBuf {
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_else(|| "file".into());
    parent_dir(target).join(format!(".{file_name}.{:016x}.tmp", fastrand::u64(..)))
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary file beside a target. Removed on every failure path; if the future holding
/// it is dropped (cancelled), `Drop` removes it.
pub(crate) struct TempPath {
    path: PathBuf,
    armed: bool,
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
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file (if it exists) without blocking the runtime.
    pub(crate) async fn remove(mut self) {
        self.armed = false;
        let _ = tokio::fs::remove_file(&self.path).await;
    }

    /// Syncs `file`'s data (it must be this temporary file), closes it and renames the file
    /// over `target`. On any failure the temporary file is removed and `target` is untouched.
    pub(crate) async fn sync_and_persist(self, file: tokio::fs::File, target: &Path) -> Result<()> {
        // The data must be on disk before the rename makes it visible under the final name.
        if let Err(source) = file.sync_data().await {
            drop(file);
            self.remove().await;
            return Err(Error::Io {
                path: target.to_owned(),
                source,
            });
        }
        drop(file);
        self.persist(target).await
    }

    /// Renames the file over `target` (atomic on one file system).
    pub(crate) async fn persist(mut self, target: &Path) -> Result<()> {
        match tokio::fs::rename(&self.path, target).await {
            Ok(()) => {
                self.armed = false;
                Ok(())
            }
            Err(source) => {
                self.remove().await;
                Err(Error::Io {
                    path: target.to_owned(),
                    source,
                })
            }
        }
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        // Only reached when the download was cancelled (its future dropped): every other
        // path removes or persists the file itself, asynchronously.
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A body streamed completely into a temporary file.
pub(crate) struct Downloaded {
    /// The temporary file, flushed (its data not synced yet).
    pub(crate) file: tokio::fs::File,
    /// The body's length.
    pub(crate) bytes: u64,
}

/// What the start of a 2xx body tells: it may be a JSON-RPC error answer (kept, up to
/// [`ERROR_BODY_LIMIT`] bytes) or it is a file.
enum Sniff {
    /// No byte seen yet.
    Undecided,
    /// Looks like JSON and small so far: kept to be checked for an `error` at the end.
    Keep(Vec<u8>),
    /// A file.
    Off,
}

impl Sniff {
    fn feed(&mut self, chunk: &[u8]) {
        match self {
            Self::Undecided => {
                *self = if chunk.first() == Some(&b'{') && chunk.len() <= ERROR_BODY_LIMIT {
                    Self::Keep(chunk.to_vec())
                } else {
                    Self::Off
                };
            }
            Self::Keep(start) if start.len() + chunk.len() <= ERROR_BODY_LIMIT => {
                start.extend_from_slice(chunk);
            }
            Self::Keep(_) => *self = Self::Off,
            Self::Off => {}
        }
    }
}

/// Runs blocking file work on tokio's blocking pool; a join error (a panic) becomes an
/// [`Error::Io`] at `path`, with the join error as its source.
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

impl Client {
    /// Downloads any `Ссылка` (like [`Client::download`]) straight to the file `path`,
    /// streaming the body: memory stays bounded by one network chunk whatever the file's
    /// size. Returns the number of bytes written.
    ///
    /// The body goes into a hidden temporary file in `path`'s directory
    /// (`.<file name>.<random>.tmp`), whose data is synced before it is renamed over `path`
    /// (atomic on one file system); then the directory is synced so the rename is durable
    /// too. Readers of `path` see either the old file or the complete new one, never a part.
    /// The directory must exist. An existing `path` is replaced even when it already held
    /// the same bytes ([`Client::archive`] leaves identical files alone).
    ///
    /// Sessions, retries and the deadline are those of [`Client::download`]: the session
    /// header goes only to the base URL's host and to `*.sbis.ru` / `*.saby.ru`; HTTP 401
    /// renews the session once; 502/503/504, transport errors and timeouts are retried with
    /// backoff — including a connection cut in the middle of the body, after which the next
    /// attempt starts the file again from byte zero; a "file not ready yet" answer is asked
    /// again after [`ClientBuilder::file_not_ready_delay`](crate::ClientBuilder::file_not_ready_delay);
    /// the per-attempt timeout covers the whole body, the client's deadline all attempts.
    /// A JSON-RPC error answer instead of the file is an error, as for
    /// [`Client::download`] (recognised in the first 64 KiB of a body that starts with `{`
    /// or is sent as JSON).
    ///
    /// When the download fails (or the temporary file cannot be written or synced), the
    /// temporary file is removed and `path` is left as it was. An error syncing the
    /// directory after the rename is returned too, with `path` already replaced.
    ///
    /// ```no_run
    /// # async fn f(client: saby_client::Client, doc: saby_client::Document) -> saby_client::Result<()> {
    /// if let Some(link) = doc.archive_url.as_deref() {
    ///     let bytes = client
    ///         .download_to_file(link, std::path::Path::new("/var/archive/document.zip"))
    ///         .await?;
    ///     println!("saved {bytes} bytes");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn download_to_file(&self, link: &str, path: &Path) -> Result<u64> {
        let (tmp, downloaded) = self.download_to_temp(link, TempPath::beside(path)?).await?;
        let Downloaded { file, bytes } = downloaded;
        tmp.sync_and_persist(file, path).await?;
        let dir = parent_dir(path).to_owned();
        run_blocking(&dir.clone(), move || sync_dir(&dir)).await?;
        Ok(bytes)
    }

    /// Streams `link` into `tmp` with [`Client::download`]'s session, retry and deadline
    /// handling. On failure the temporary file is removed; on success it is returned with
    /// its open handle.
    pub(crate) async fn download_to_temp(
        &self,
        link: &str,
        tmp: TempPath,
    ) -> Result<(TempPath, Downloaded)> {
        let url = match self.resolve_link(link) {
            Ok(url) => url,
            Err(e) => {
                tmp.remove().await;
                return Err(e);
            }
        };
        let (url, tmp_path) = (&url, tmp.path());
        let res = self
            .download_loop(url, move |auth| self.file_attempt(url, auth, tmp_path))
            .await;
        match res {
            Ok(downloaded) => Ok((tmp, downloaded)),
            Err(e) => {
                tmp.remove().await;
                Err(e)
            }
        }
    }

    /// One attempt: GET, then the body into `tmp`, created afresh (truncated) so a retry
    /// after a body cut mid-way starts from byte zero.
    async fn file_attempt(
        &self,
        url: &Url,
        auth: Option<AuthToken>,
        tmp: &Path,
    ) -> Result<Downloaded> {
        let mut open = self.open_download(url, auth).await?;
        let mut file = tokio::fs::File::create(tmp)
            .await
            .map_err(|source| Error::Io {
                path: tmp.to_owned(),
                source,
            })?;
        match self.stream_body(&mut open, &mut file, tmp).await {
            Ok(bytes) => {
                file.flush().await.map_err(|source| Error::Io {
                    path: tmp.to_owned(),
                    source,
                })?;
                Ok(Downloaded { file, bytes })
            }
            Err(e) => {
                // Wait for a write still in flight on the blocking pool: it must not land
                // in the file after the next attempt has truncated it.
                let _ = file.flush().await;
                Err(e)
            }
        }
    }

    async fn stream_body(
        &self,
        open: &mut OpenDownload<'_>,
        file: &mut tokio::fs::File,
        tmp: &Path,
    ) -> Result<u64> {
        let json_type = open
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let mut sniff = if json_type {
            Sniff::Keep(Vec::new())
        } else {
            Sniff::Undecided
        };
        let mut bytes = 0u64;
        while let Some(chunk) = open
            .response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if chunk.is_empty() {
                continue;
            }
            sniff.feed(&chunk);
            file.write_all(&chunk).await.map_err(|source| Error::Io {
                path: tmp.to_owned(),
                source,
            })?;
            bytes += chunk.len() as u64;
        }
        tracing::debug!(status = open.status, bytes, "saby answer streamed to disk");
        if let Sniff::Keep(start) = &sniff
            && let Some(err) = download_failure(open.status, &open.headers, start)
        {
            return Err(err);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sniff_keeps_only_small_json_looking_starts() {
        let mut s = Sniff::Undecided;
        s.feed(b"%PDF");
        assert!(matches!(s, Sniff::Off));
        let mut s = Sniff::Undecided;
        s.feed(b"{\"error\"");
        s.feed(b":1}");
        assert!(matches!(&s, Sniff::Keep(b) if b == b"{\"error\":1}"));
        s.feed(&vec![b' '; ERROR_BODY_LIMIT]);
        assert!(matches!(s, Sniff::Off));
    }

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
