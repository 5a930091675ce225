//! Downloads to disk: a body up to [`DOWNLOAD_BUFFER_BYTES`] is held in memory and written
//! to a hidden temporary file beside the target in one blocking step; a larger one goes to
//! that file in pieces of that size. The file's data is synced before it is renamed over the
//! target. Every blocking step takes a permit of the client's bound
//! ([`BlockingFiles`](crate::fs::atomic::BlockingFiles)).

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use hr_docs_core::net::{BodyTooLarge, ByteBudget};
use sha2::{Digest as _, Sha256};
use url::Url;

use crate::client::{Attempt, AuthToken, Client, ERROR_BODY_LIMIT, OpenDownload, download_failure};
use crate::error::{Error, Result};
use crate::fs::atomic::{
    TempGuard, TempPath, create_private_dir_all, create_private_file, parent_dir, sync_dir,
};

/// How much of a download's body is held in memory before it goes to its file: 256 KiB. A
/// body up to this size (a document's zip is typically tens of KiB) costs one blocking step
/// — create the file `0600`, write it, close it; a larger one is written in pieces of this
/// size, one blocking step each, so memory stays bounded by this plus one network chunk.
pub(crate) const DOWNLOAD_BUFFER_BYTES: usize = 256 * 1024;

// A JSON-RPC error answer is recognised in the body held in memory: it must fit.
const _: () = assert!(DOWNLOAD_BUFFER_BYTES >= ERROR_BODY_LIMIT);

/// A body downloaded completely into a temporary file.
pub(crate) struct Downloaded {
    /// The temporary file's name (removed when dropped unless persisted).
    pub(crate) tmp: TempPath,
    /// The temporary file, written and closed for writing by us (its data not synced yet);
    /// `None` when the body was held in memory (`held`) and nothing is on disk yet.
    pub(crate) file: Option<std::fs::File>,
    /// The whole body, when it was asked to be held (a body up to 256 KiB with
    /// `hold_small`) instead of written; empty otherwise.
    pub(crate) held: Vec<u8>,
    /// The body's length.
    pub(crate) bytes: u64,
    /// The SHA-256 of the body (for the archive's manifest).
    pub(crate) sha256: [u8; 32],
}

/// What one attempt received: the temporary file (or `None` and the body held in memory),
/// the held body, its length and SHA-256.
type Received = (Option<std::fs::File>, Vec<u8>, u64, [u8; 32]);

/// What the start of a 2xx body tells: it may be a JSON-RPC error answer (the whole body,
/// up to [`ERROR_BODY_LIMIT`] bytes, is then checked at the end) or it is a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniff {
    /// No byte seen yet.
    Undecided,
    /// Looks like JSON and small so far: to be checked for an `error` at the end.
    Keep,
    /// A file.
    Off,
}

impl Sniff {
    /// Takes the next chunk; `seen` is the body's length before it.
    fn feed(&mut self, seen: u64, chunk: &[u8]) {
        let within = seen + chunk.len() as u64 <= ERROR_BODY_LIMIT as u64;
        *self = match *self {
            Self::Undecided if chunk.first() == Some(&b'{') && within => Self::Keep,
            Self::Keep if within => Self::Keep,
            _ => Self::Off,
        };
    }
}

/// Writes `data` to the temporary file (blocking): creates it (`0600`, truncated: a retry
/// starts from byte zero) when `file` is `None`, first creating its directory (`0700`) when
/// `create_dir`. Hands `data` back, emptied, for the next piece. When the temporary file's
/// owner gave it up meanwhile, the file is removed.
pub(crate) fn write_piece(
    guard: &TempGuard,
    file: Option<std::fs::File>,
    create_dir: bool,
    mut data: Vec<u8>,
) -> Result<(std::fs::File, Vec<u8>)> {
    let path = guard.path();
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let result = (|| {
        let mut file = match file {
            Some(file) => file,
            None => {
                if create_dir {
                    create_private_dir_all(parent_dir(path))?;
                }
                // Private whatever the umask: the file may hold personal data.
                create_private_file(path).map_err(io)?
            }
        };
        file.write_all(&data).map_err(io)?;
        Ok(file)
    })();
    guard.remove_if_abandoned();
    data.clear();
    result.map(|file| (file, data))
}

/// The body of a download on disk in its temporary file (blocking): the file as received,
/// or — for a body held in memory — the file created now (its directory too with
/// `create_dir`, 0700) and the body written to it.
pub(crate) fn landed_blocking(
    tmp: &TempPath,
    file: Option<std::fs::File>,
    held: Vec<u8>,
    create_dir: bool,
) -> Result<std::fs::File> {
    match file {
        Some(file) => Ok(file),
        None => write_piece(&tmp.guard(), None, create_dir, held).map(|(file, _)| file),
    }
}

impl Client {
    /// Downloads any `Ссылка` (like [`Client::download`]) straight to the file `path`:
    /// memory stays bounded by 256 KiB and one network chunk whatever the file's size.
    /// Returns the number of bytes written.
    ///
    /// The body goes into a hidden temporary file in `path`'s directory
    /// (`.<file name>.<random>.tmp`), whose data is synced before it is renamed over `path`
    /// (atomic on one file system); then the directory is synced so the rename is durable
    /// too. A body up to 256 KiB is held in memory and written at its end in one blocking
    /// step; a larger one is written as it comes, 256 KiB at a time. The blocking file
    /// steps (the writes; then the sync, rename and directory sync, together) count
    /// against the client's
    /// [`max_blocking_file_tasks`](crate::ClientBuilder::max_blocking_file_tasks). Readers of `path` see either the old file or the complete new one, never a part.
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
    /// temporary file is removed and `path` is left as it was; so it is when the returned
    /// future is dropped (a write still running removes the file when it ends). An error syncing the
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
        let Downloaded {
            tmp,
            file,
            held,
            bytes,
            ..
        } = self
            .download_to_temp(link, TempPath::beside(path)?, false, false)
            .await?;
        let target = path.to_owned();
        // One blocking step: the data synced, the rename, the directory synced.
        self.files()
            .run(path, move || {
                let file = landed_blocking(&tmp, file, held, false)?;
                tmp.persist_blocking(file, &target)?;
                sync_dir(parent_dir(&target))
            })
            .await?;
        Ok(bytes)
    }

    /// Downloads `link` into `tmp` with [`Client::download`]'s session, retry and deadline
    /// handling, creating `tmp`'s directory first when `create_dir`. On failure the
    /// temporary file is removed; on success it is returned with its open handle.
    pub(crate) async fn download_to_temp(
        &self,
        link: &str,
        tmp: TempPath,
        create_dir: bool,
        hold_small: bool,
    ) -> Result<Downloaded> {
        let url = self.resolve_link(link)?;
        // Whether an attempt got as far as creating the file (else nothing to remove).
        let touched = AtomicBool::new(false);
        let (url, tmp_ref, touched_ref) = (&url, &tmp, &touched);
        let res = self
            .download_loop(url, move |attempt| {
                self.file_attempt(url, attempt, tmp_ref, create_dir, hold_small, touched_ref)
            })
            .await;
        match res {
            Ok((file, held, bytes, sha256)) => Ok(Downloaded {
                tmp,
                file,
                held,
                bytes,
                sha256,
            }),
            Err(e) if touched.load(Ordering::Relaxed) => {
                // An attempt may have left part of a body in it. (A panic of the removal
                // is reported as the download's error would have been: the error wins.)
                let at = tmp.path().to_owned();
                let _ = self
                    .files()
                    .run(&at, move || {
                        tmp.remove_blocking();
                        Ok(())
                    })
                    .await;
                Err(e)
            }
            Err(e) => {
                tmp.disarm();
                Err(e)
            }
        }
    }

    /// One attempt: GET, then the body into `tmp`, created afresh (truncated) so a retry
    /// after a body cut mid-way starts from byte zero.
    async fn file_attempt(
        &self,
        url: &Url,
        attempt: Attempt,
        tmp: &TempPath,
        create_dir: bool,
        hold_small: bool,
        touched: &AtomicBool,
    ) -> Result<Received> {
        let mut open = self.open_download(url, attempt).await?;
        self.receive_body(&mut open, tmp, create_dir, hold_small, touched)
            .await
    }

    /// Reads the body of `open` into memory, and into `tmp` each time
    /// [`DOWNLOAD_BUFFER_BYTES`] have arrived and at the end; checks its size against the
    /// limit, a JSON-RPC error answer in its place, and hashes it. Every write is awaited
    /// before the next chunk is read, so no write of this attempt is left running when it
    /// ends (the next attempt's truncation cannot be overtaken).
    async fn receive_body(
        &self,
        open: &mut OpenDownload<'_>,
        tmp: &TempPath,
        create_dir: bool,
        hold_small: bool,
        touched: &AtomicBool,
    ) -> Result<Received> {
        let json_type = open
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let mut sniff = if json_type {
            Sniff::Keep
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
        let declared = open.response.content_length();
        if let Some(e) = budget.refuses(declared) {
            return Err(too_large(e));
        }
        let capacity = declared.map_or(DOWNLOAD_BUFFER_BYTES as u64, |len| {
            len.min(DOWNLOAD_BUFFER_BYTES as u64)
        });
        let mut buf = Vec::with_capacity(capacity as usize);
        let mut file: Option<std::fs::File> = None;
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
            sniff.feed(bytes, &chunk);
            hasher.update(&chunk);
            buf.extend_from_slice(&chunk);
            bytes += chunk.len() as u64;
            if buf.len() >= DOWNLOAD_BUFFER_BYTES {
                touched.store(true, Ordering::Relaxed);
                let (written, emptied) =
                    self.write_piece(tmp, file.take(), create_dir, buf).await?;
                (file, buf) = (Some(written), emptied);
            }
        }
        tracing::debug!(
            status = open.status,
            bytes,
            "saby answer received for a file"
        );
        if sniff == Sniff::Keep {
            // The whole body is in `buf` (it is within ERROR_BODY_LIMIT): an error answer
            // never reaches the disk.
            let session = open.session.as_ref().map(AuthToken::secret_text);
            if let Some(err) =
                download_failure(open.status, &open.headers, &buf, session.as_slice())
            {
                return Err(err);
            }
        }
        let sha256 = hasher.finalize().into();
        let file = match file {
            // The whole body is in `buf`: the caller writes it later (off its permit).
            None if hold_small => return Ok((None, buf, bytes, sha256)),
            // The last piece went out with the loop's last chunk.
            Some(file) if buf.is_empty() => file,
            file => {
                touched.store(true, Ordering::Relaxed);
                self.write_piece(tmp, file, create_dir, buf).await?.0
            }
        };
        Ok((Some(file), Vec::new(), bytes, sha256))
    }

    /// [`write_piece`] under the client's bound of blocking file steps.
    async fn write_piece(
        &self,
        tmp: &TempPath,
        file: Option<std::fs::File>,
        create_dir: bool,
        data: Vec<u8>,
    ) -> Result<(std::fs::File, Vec<u8>)> {
        let guard = tmp.guard();
        self.files()
            .run(tmp.path(), move || {
                write_piece(&guard, file, create_dir, data)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    use std::path::PathBuf;
    use std::time::Duration;

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::{ArchiveOptions, ClientBuilder, Credentials, Document};
    use hr_docs_testkit::zips::zip_of;

    /// `len` bytes that differ from one position to the next.
    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
            .collect()
    }

    fn client(server: &MockServer, bound: usize) -> Client {
        ClientBuilder::new()
            .base_url(server.uri())
            .credentials(Credentials::session("sid"))
            .max_in_flight(64)
            .max_blocking_file_tasks(bound)
            .build()
            .unwrap()
    }

    const SMALL: usize = 20 * 1024;
    const LARGE: usize = 600 * 1024;

    /// A server with `/small/{i}`, `/large/{i}` and `/zip/{i}`, `n` of each.
    async fn server(n: usize) -> (MockServer, Vec<u8>) {
        let server = MockServer::start().await;
        let zip = zip_of(&[("a.pdf", &pattern(5000, 3)), ("a.pdf.p7s", b"SIG")]);
        for i in 0..n {
            for (kind, body) in [
                ("small", pattern(SMALL, i as u8)),
                ("large", pattern(LARGE, i as u8)),
                ("zip", zip.clone()),
            ] {
                Mock::given(method("GET"))
                    .and(path(format!("/{kind}/{i}")))
                    .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
                    .mount(&server)
                    .await;
            }
        }
        (server, zip)
    }

    /// `n` small downloads, `n` large ones and `n` zip archives (both halves), all at once
    /// on `client`, each checked byte for byte.
    async fn everything_at_once(client: &Client, uri: &str, zip: &[u8], n: usize, dir: &Path) {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            for (kind, len) in [("small", SMALL), ("large", LARGE)] {
                let (client, target) = (client.clone(), dir.join(format!("{kind}-{i}")));
                tasks.spawn(async move {
                    let written = client
                        .download_to_file(&format!("/{kind}/{i}"), &target)
                        .await
                        .unwrap();
                    assert_eq!(written, len as u64);
                    assert!(std::fs::read(&target).unwrap() == pattern(len, i as u8));
                });
            }
            let client = client.clone();
            let mut doc = Document::new(format!("doc-{i}"));
            doc.title = Some("Комплект".to_owned());
            doc.archive_url = Some(format!("{uri}/zip/{i}"));
            let (dir, zip) = (dir.join(format!("archive-{i}")), zip.to_vec());
            tasks.spawn(async move {
                let report = client
                    .download_zip_archive(&doc, &dir, &ArchiveOptions::zip())
                    .await
                    .unwrap()
                    .finish()
                    .await
                    .unwrap();
                assert_eq!(report.written.len(), 2, "{report:?}");
                assert!(std::fs::read(dir.join("Комплект.zip")).unwrap() == zip);
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    }

    /// Without the bound, many downloads finishing together each take a thread. The probe
    /// counts the client's blocking file steps running at once and its file threads; each
    /// step is held 3 ms so that concurrent ones overlap (the assertions are on counts).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_downloads_never_run_more_file_steps_than_the_bound() {
        let (server, zip) = server(8).await;
        let dir = tempfile::tempdir().unwrap();

        let bounded = client(&server, 3);
        bounded
            .files()
            .probe
            .hold_each_step(Duration::from_millis(3));
        everything_at_once(&bounded, &server.uri(), &zip, 8, dir.path()).await;
        let peak = bounded.files().probe.peak();
        assert!(peak <= 3, "{peak} blocking file steps at once, bound 3");
        assert!(
            peak >= 2,
            "the steps never overlapped ({peak}): the test proves nothing"
        );
        let threads = bounded.files().probe.peak_threads();
        assert!(threads <= 3, "{threads} file threads, bound 3");

        // The same work with a bound too high to matter: the steps do overlap beyond 3, so
        // the assertion above would fail without the bound.
        let loose = client(&server, 512);
        loose.files().probe.hold_each_step(Duration::from_millis(3));
        let again = tempfile::tempdir().unwrap();
        everything_at_once(&loose, &server.uri(), &zip, 8, again.path()).await;
        let peak = loose.files().probe.peak();
        assert!(peak > 3, "only {peak} steps at once without a real bound");
        assert!(loose.files().probe.peak_threads() > 3);
    }

    /// The blocking steps a download costs: a body up to 256 KiB one write, a larger one a
    /// write per 256 KiB; then one step to sync, rename and sync the directory. A zip
    /// archive up to 256 KiB: nothing on disk during the download (a caller's permit covers
    /// the network only), then `finish` — the directory, the write and the rest — as one.
    #[tokio::test]
    async fn a_small_body_is_one_write_and_a_large_one_a_write_per_256_kib() {
        let (server, zip) = server(1).await;
        let dir = tempfile::tempdir().unwrap();
        let steps = |c: &Client| c.files().probe.steps();

        let c = client(&server, 4);
        c.download_to_file("/small/0", &dir.path().join("s"))
            .await
            .unwrap();
        assert_eq!(steps(&c), 2, "write, then sync + rename + directory sync");

        let c = client(&server, 4);
        c.download_to_file("/large/0", &dir.path().join("l"))
            .await
            .unwrap();
        // Every piece but the last holds at least 256 KiB (a network chunk may carry it
        // past): 600 KiB is two or three writes, never one per network chunk.
        let writes = steps(&c) - 1;
        assert!(
            (2..=LARGE.div_ceil(DOWNLOAD_BUFFER_BYTES)).contains(&writes),
            "{writes} writes"
        );

        let c = client(&server, 4);
        let mut doc = Document::new("doc");
        doc.archive_url = Some(format!("{}/zip/0", server.uri()));
        let archive = dir.path().join("new").join("set");
        let pending = c
            .download_zip_archive(&doc, &archive, &ArchiveOptions::zip())
            .await
            .unwrap();
        assert_eq!(steps(&c), 0, "a small zip stays in memory until finish");
        assert!(!archive.exists(), "nothing on disk before finish");
        let report = pending.finish().await.unwrap();
        assert_eq!(steps(&c), 1, "finish is one step, the zip's write included");
        assert!(std::fs::read(archive.join("document.zip")).unwrap() == zip);
        assert_eq!(report.written.len(), 2, "{report:?}");
        let manifest: PathBuf = archive.join(crate::MANIFEST_FILE_NAME);
        assert!(manifest.exists());
    }

    #[test]
    fn sniff_keeps_only_small_json_looking_starts() {
        let mut s = Sniff::Undecided;
        s.feed(0, b"%PDF");
        assert_eq!(s, Sniff::Off);
        let mut s = Sniff::Undecided;
        s.feed(0, b"{\"error\"");
        s.feed(8, b":1}");
        assert_eq!(s, Sniff::Keep);
        s.feed(11, &vec![b' '; ERROR_BODY_LIMIT]);
        assert_eq!(s, Sniff::Off);
        s.feed(11 + ERROR_BODY_LIMIT as u64, b"}");
        assert_eq!(s, Sniff::Off, "off stays off");
        let mut s = Sniff::Undecided;
        s.feed(0, &vec![b'{'; ERROR_BODY_LIMIT + 1]);
        assert_eq!(s, Sniff::Off, "too long from the start");
    }
}
