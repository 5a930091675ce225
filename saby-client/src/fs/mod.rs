//! Writing files: what the archive and the downloads to disk share, kept apart from the API
//! calls in `api/` (which decide *what* to download; this module only writes it durably).
//!
//! - [`atomic`]: temporary files beside their target, `fsync` of the data before the rename
//!   and of the directory after it, content comparison.
//! - [`blocking`]: where a client's blocking file work runs, bounded per client.
//! - [`archive`]: file names ([`sanitize_file_name`]), [`ArchiveFile`], [`ArchiveReport`] and
//!   [`write_archive`] / [`write_archive_blocking`].

pub(crate) mod archive;
pub(crate) mod atomic;
pub(crate) mod blocking;
pub(crate) mod zip;

pub use archive::{
    ArchiveFile, ArchiveOptions, ArchiveReport, ArchiveSource, MANIFEST_FILE_NAME,
    MAX_FILE_NAME_BYTES, sanitize_file_name, write_archive, write_archive_blocking,
};
pub use zip::ZipLimits;
