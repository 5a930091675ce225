//! Streaming downloads to disk: the body goes chunk by chunk into a hidden temporary file
//! beside the target, whose data is synced before it is renamed over the target.

use std::path::Path;

use hr_docs_core::net::{BodyTooLarge, ByteBudget};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;
use url::Url;

use crate::client::{Attempt, AuthToken, Client, ERROR_BODY_LIMIT, OpenDownload, download_failure};
use crate::error::{Error, Result};
use crate::fs::atomic::{TempPath, create_private_file_async, parent_dir, run_blocking, sync_dir};

/// A body streamed completely into a temporary file.
pub(crate) struct Downloaded {
    /// The temporary file, flushed (its data not synced yet).
    pub(crate) file: tokio::fs::File,
    /// The body's length.
    pub(crate) bytes: u64,
    /// The SHA-256 of the body (for the archive's manifest).
    pub(crate) sha256: [u8; 32],
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
        let Downloaded { file, bytes, .. } = downloaded;
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
            .download_loop(url, move |attempt| {
                self.file_attempt(url, attempt, tmp_path)
            })
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
    async fn file_attempt(&self, url: &Url, attempt: Attempt, tmp: &Path) -> Result<Downloaded> {
        let mut open = self.open_download(url, attempt).await?;
        // Private whatever the umask: the file may hold personal data.
        let mut file = create_private_file_async(tmp)
            .await
            .map_err(|source| Error::Io {
                path: tmp.to_owned(),
                source,
            })?;
        match self.stream_body(&mut open, &mut file, tmp).await {
            Ok((bytes, sha256)) => {
                file.flush().await.map_err(|source| Error::Io {
                    path: tmp.to_owned(),
                    source,
                })?;
                Ok(Downloaded {
                    file,
                    bytes,
                    sha256,
                })
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
    ) -> Result<(u64, [u8; 32])> {
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
        let timeout = open.timeout;
        // The file's size limit, on the bytes that arrive (a declared length above it is
        // refused before any byte is written).
        let mut budget = ByteBudget::new(self.config().max_download_bytes);
        let mut hasher = Sha256::new();
        let too_large = |e: BodyTooLarge| Error::BodyTooLarge { limit: e.limit };
        if let Some(e) = budget.refuses(open.response.content_length()) {
            return Err(too_large(e));
        }
        while let Some(chunk) = open
            .response
            .chunk()
            .await
            .map_err(|e| Error::transport(e, timeout))?
        {
            if chunk.is_empty() {
                continue;
            }
            budget.take(chunk.len() as u64).map_err(too_large)?;
            sniff.feed(&chunk);
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(|source| Error::Io {
                path: tmp.to_owned(),
                source,
            })?;
            bytes += chunk.len() as u64;
        }
        tracing::debug!(status = open.status, bytes, "saby answer streamed to disk");
        if let Sniff::Keep(start) = &sniff {
            let session = open.session.as_ref().map(AuthToken::secret_text);
            if let Some(err) =
                download_failure(open.status, &open.headers, start, session.as_slice())
            {
                return Err(err);
            }
        }
        Ok((bytes, hasher.finalize().into()))
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
}
