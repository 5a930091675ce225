//! Error types: [`Error`] for the pipeline, [`StoreError`] for the state store,
//! [`MappingError`] for document mappers.

use std::path::PathBuf;

/// Errors of a [`StateStore`](crate::store::StateStore).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process (or another store in this process) holds the state
    /// file's lock.
    #[error(
        "state store {path} is in use by another process (lock file {lock_path} is held); \
         run one pipeline per state file"
    )]
    Locked {
        /// The database file.
        path: PathBuf,
        /// The sibling lock file.
        lock_path: PathBuf,
    },
    /// File-system error around the state file or its lock.
    #[error("state store I/O error on {path}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite reported an error.
    #[error("state store database error while {context}")]
    Sqlite {
        /// What the store was doing.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be read back (hand-edited or newer file).
    #[error("state store holds an invalid value in {column}: {value:?}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// The offending value.
        value: String,
    },
    /// The state file was written by a newer version of this crate.
    #[error("state store schema version {found} is newer than supported version {supported}")]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Highest version this build understands.
        supported: i64,
    },
    /// A custom store failed (for [`StateStore`](crate::store::StateStore)
    /// implementations outside this crate).
    #[error("state store error: {message}")]
    Other {
        /// What failed.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    /// A custom store error with a message.
    pub fn other(message: impl Into<String>) -> Self {
        StoreError::Other {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn sqlite(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sqlite { context, source }
    }
}

/// Why a [`DocumentMapper`](crate::mapper::DocumentMapper) could not turn a
/// recognition result into a Saby document. Always permanent: the set is
/// recorded as failed (and can be replayed after the cause is fixed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The result holds no recognized document.
    #[error("recognition result of {set_id} holds no documents")]
    Empty {
        /// The set.
        set_id: String,
    },
    /// Beorg marked a document as broken (unreadable scan, wrong type, ...).
    #[error("document {key} of {set_id} is marked broken by Beorg: {reasons}")]
    Broken {
        /// The set.
        set_id: String,
        /// The recognized document's key.
        key: String,
        /// Beorg's reasons, joined.
        reasons: String,
    },
    /// A value could not be encoded.
    #[error("could not encode {what} of {set_id}")]
    Encode {
        /// The set.
        set_id: String,
        /// What was being encoded.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A custom mapper's own error.
    #[error("{message}")]
    Custom {
        /// What is wrong with the set.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl MappingError {
    /// A custom mapping error.
    pub fn custom(message: impl Into<String>) -> Self {
        MappingError::Custom {
            message: message.into(),
            source: None,
        }
    }
}

/// Errors returned by the [`Pipeline`](crate::Pipeline).
///
/// Per-set failures are *not* returned here: they are recorded in the state
/// store and reported through [`Progress`](crate::Progress). What comes back as
/// an `Error` stops the run (configuration, state store, a lost runtime task).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid configuration.
    #[error("invalid pipeline configuration: {0}")]
    Config(String),
    /// A required environment variable is missing or invalid, or a removed
    /// one is set.
    #[error("environment variable {name}: {problem}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong with it (never its value).
        problem: String,
    },
    /// The state store failed; the run stops so no step is performed without
    /// being recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A Beorg call failed.
    #[error("Beorg API error")]
    Beorg(#[from] beorg_client::Error),
    /// A Saby call failed.
    #[error("Saby API error")]
    Saby(#[from] saby_client::Error),
    /// The document mapper failed.
    #[error("mapping failed")]
    Mapping(#[from] MappingError),
    /// A background task panicked or was cancelled unexpectedly, or an internal invariant
    /// broke. The task's own error (tokio's `JoinError`, a closed semaphore) is the
    /// [`source`](std::error::Error::source), not a copy of its text.
    #[error("pipeline task failed: {what}")]
    Task {
        /// What failed.
        what: &'static str,
        /// The task's error, if there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Error {
    /// Whether the set should stay pending for another pass (up to
    /// [`max_passes`](crate::PipelineConfig::max_passes)) rather than be
    /// recorded failed now. This is the *pipeline's* decision, made after the
    /// client's own retries gave up; it is broader than the clients'
    /// per-request `is_retryable()`:
    ///
    /// - retried: whatever the client calls retryable (transport, timeouts,
    ///   5xx, 429, maintenance), an exceeded call deadline, an answer that could
    ///   not be decoded (truncated body, a proxy's HTML page), a Saby session
    ///   that could not be renewed, a signer failure (an unreachable key), and
    ///   local file errors while archiving;
    /// - failed at once: mapping errors, 4xx answers and Saby business errors
    ///   (bad data or a refused document), a missing action, refused
    ///   credentials or access, invalid input or configuration.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Beorg(e) => e.is_retryable() || e.is_timeout() || e.is_decode(),
            Error::Saby(e) => {
                e.is_retryable()
                    || matches!(
                        e,
                        saby_client::Error::DeadlineExceeded { .. }
                            | saby_client::Error::Decode { .. }
                            | saby_client::Error::IdMismatch { .. }
                            | saby_client::Error::SessionExpired { .. }
                            | saby_client::Error::Signer(_)
                            | saby_client::Error::Io { .. }
                    )
            }
            Error::Store(_)
            | Error::Config(_)
            | Error::Env { .. }
            | Error::Mapping(_)
            | Error::Task { .. } => false,
        }
    }

    /// Whether the error is an authentication failure on either service.
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Beorg(e) => e.is_auth(),
            Error::Saby(e) => e.is_auth(),
            _ => false,
        }
    }

    /// The HTTP status of a failed API call, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Beorg(e) => e.status(),
            Error::Saby(e) => e.status(),
            _ => None,
        }
    }
}

/// The error chain of `e` as one line (`outer: inner: root`), for the state
/// store's reason/last-error columns and progress events.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn saby(e: saby_client::Error) -> Error {
        Error::Saby(e)
    }

    fn decode_error() -> serde_json::Error {
        serde_json::from_str::<serde_json::Value>("<html>").unwrap_err()
    }

    #[test]
    fn transient_saby_errors_are_retried_across_passes() {
        for e in [
            saby_client::Error::Maintenance {
                status: 503,
                retry_after: None,
            },
            saby_client::Error::Timeout {
                timeout: Duration::from_secs(1),
            },
            saby_client::Error::DeadlineExceeded {
                deadline: Duration::from_secs(1),
                attempts: 1,
                last_error: None,
            },
            saby_client::Error::SessionExpired {
                message: "x".into(),
                status: Some(401),
            },
            saby_client::Error::Decode {
                method: "СБИС.ПрочитатьДокумент".into(),
                path: ".".into(),
                status: 200,
                excerpt: "<!DOCTYPE html>".into(),
                source: decode_error(),
            },
        ] {
            assert!(saby(e).is_retryable());
        }
    }

    #[test]
    fn refusals_fail_the_set_at_once() {
        for e in [
            saby_client::Error::AuthFailed {
                message: "bad password".into(),
                status: Some(401),
            },
            saby_client::Error::AccessDenied { message: None },
            saby_client::Error::InvalidInput("x".into()),
            saby_client::Error::ActionNotFound {
                document_id: Some("d".into()),
                wanted: "send".into(),
                available: Vec::new(),
            },
            saby_client::Error::Http {
                status: 400,
                excerpt: String::new(),
                retry_after: None,
            },
        ] {
            assert!(!saby(e).is_retryable());
        }
        assert!(!Error::Mapping(MappingError::custom("bad")).is_retryable());
        assert!(!Error::Store(StoreError::other("disk")).is_retryable());
    }

    #[test]
    fn beorg_decode_and_timeouts_are_retried() {
        let decode = beorg_client::Error::Decode {
            endpoint: beorg_client::Endpoint::Result,
            status: 200,
            path: ".".into(),
            excerpt: "{".into(),
            source: decode_error(),
        };
        assert!(Error::Beorg(decode).is_retryable());
        let not_found = beorg_client::Error::Api {
            endpoint: beorg_client::Endpoint::Result,
            status: 404,
            error_type: Some("DocumentNotFound".into()),
            message: None,
            retry_after: None,
            questionary_id: None,
        };
        let e = Error::Beorg(not_found);
        assert!(!e.is_retryable());
        assert_eq!(e.status(), Some(404));
    }

    #[tokio::test]
    async fn a_task_join_error_is_kept_as_the_source() {
        let joined = tokio::spawn(async { std::future::pending::<()>().await });
        joined.abort();
        let join_error = joined.await.unwrap_err();
        let e = Error::Task {
            what: "a set's task failed",
            source: Some(Box::new(join_error)),
        };
        let source = std::error::Error::source(&e).unwrap();
        assert!(source.downcast_ref::<tokio::task::JoinError>().is_some());
        let text = chain(&e);
        assert!(
            text.starts_with("pipeline task failed: a set's task failed: "),
            "{text}"
        );
        assert_eq!(text.matches("cancelled").count(), 1, "{text}");
    }

    #[test]
    fn chain_joins_sources_without_repeats() {
        let e = Error::Mapping(MappingError::custom("the passport is unreadable"));
        assert_eq!(chain(&e), "mapping failed: the passport is unreadable");
    }
}
