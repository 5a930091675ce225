//! Error types: [`Error`] for the pipeline, [`StoreError`] for the state store,
//! [`MappingError`] for document mappers.

use std::path::PathBuf;

use beorg_client::SetId;

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
    /// The store's database reported an error (SQLite for
    /// `SqliteStore`; your driver's error for
    /// your own store, through [`StoreError::database`]).
    #[error("state store database error while {context}")]
    Database {
        /// What the store was doing.
        context: &'static str,
        /// The database's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
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
    /// Any other failure of a store (for
    /// [`StateStore`](crate::store::StateStore) implementations outside this
    /// crate, and a store call whose blocking task panicked).
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

    /// A custom store error with a message and its cause.
    pub fn other_with(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError::Other {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The database reported `source` while the store was doing `context`
    /// (`"saving a set"`, …).
    pub fn database(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError::Database {
            context,
            source: source.into(),
        }
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::database(context, source)
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
        set_id: SetId,
    },
    /// Beorg marked a document as broken (unreadable scan, wrong type, ...).
    ///
    /// The message counts Beorg's reasons and does not quote them: they are
    /// free text (nothing public says they never quote a recognized value),
    /// and the message is what the state file, the logs and progress events
    /// keep. Read them from `reasons`.
    #[error("document {key} of {set_id} is marked broken by Beorg ({})", count_reasons(reasons.len()))]
    Broken {
        /// The set.
        set_id: SetId,
        /// The recognized document's key.
        key: String,
        /// Beorg's reasons (Russian ones when it gave them, else English),
        /// empty when it gave none.
        reasons: Vec<String>,
    },
    /// A value could not be encoded.
    #[error("could not encode {what} of {set_id}")]
    Encode {
        /// The set.
        set_id: SetId,
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

/// `1 reason`, `2 reasons`, `no reason given`.
pub(crate) fn count_reasons(n: usize) -> String {
    match n {
        0 => "no reason given".to_owned(),
        1 => "1 reason".to_owned(),
        n => format!("{n} reasons"),
    }
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
    /// A set's task panicked or was cancelled unexpectedly; the run stops
    /// (every step finished before it is recorded).
    #[error("a pipeline task failed")]
    Task {
        /// The runtime's account of the task (a panic or a cancellation).
        #[source]
        source: tokio::task::JoinError,
    },
    /// A configured INN (of our organization or the counterparty, by default
    /// or for a contour) is not a valid INN: found when the configuration is
    /// built, before any employee's data goes anywhere. The error names where
    /// the INN was configured — the environment variable
    /// (`SABY_OUR_ORG_INN`, `PIPELINE_ROUTE_2_COUNTERPARTY_INN`) or the
    /// configuration field (`document.our_organization`,
    /// `contour_templates["Кадры-Казань"].counterparty`) — and what is wrong,
    /// never the value.
    #[error("{field}: not a valid INN")]
    InvalidInn {
        /// Where the INN was configured.
        field: String,
        /// What is wrong with it (format or check digit).
        #[source]
        source: hr_docs_checks::InnError,
    },
    /// A review decision was refused; nothing was recorded.
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
}

impl Error {
    /// Whether the set should stay pending for another pass (up to
    /// [`max_passes`](crate::PipelineConfig::max_passes)) rather than be
    /// recorded failed now. This is the *pipeline's* decision, made after the
    /// client's own retries gave up, from the clients' predicates only (never
    /// their variants); it is broader than the clients' per-request
    /// `is_retryable()`:
    ///
    /// - retried: whatever the client calls retryable (transport, timeouts,
    ///   5xx, 429, maintenance, an answer damaged on the way); for Beorg also
    ///   an exceeded call deadline and any answer that could not be decoded;
    ///   for Saby also an error with no HTTP status, not about authentication,
    ///   that has an underlying cause (a local file error while archiving, a
    ///   signer failure — an unreachable key);
    /// - failed at once: mapping errors; authentication failures; every other
    ///   error that carries an HTTP status (a 4xx, a Saby business error — bad
    ///   data or a refused document); errors without a status or a cause (the
    ///   client refused the call: invalid input, a missing action, comment or
    ///   signature, configuration).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Beorg(e) => e.is_retryable() || e.is_timeout() || e.is_decode(),
            Error::Saby(e) => {
                e.is_retryable()
                    || (!e.is_auth()
                        && e.status().is_none()
                        && std::error::Error::source(e).is_some())
            }
            Error::Store(_)
            | Error::Config(_)
            | Error::Env { .. }
            | Error::Mapping(_)
            | Error::Task { .. }
            | Error::InvalidInn { .. }
            | Error::Review(_) => false,
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
/// store's reason/last-error columns and progress events. Each error of the
/// chain prints only itself (none formats its source), so each cause appears
/// once.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
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
            saby_client::Error::Decode {
                method: "СБИС.ПрочитатьДокумент".into(),
                path: ".".into(),
                status: 200,
                excerpt: "<!DOCTYPE html>".into(),
                source: decode_error(),
            },
            // No status, not about authentication, with a cause: local.
            saby_client::Error::Io {
                path: "archive/s-1".into(),
                source: std::io::Error::other("disk full"),
            },
            saby_client::Error::Signer("the token is not plugged in".into()),
        ] {
            let e = saby(e);
            assert!(e.is_retryable(), "{e:?}");
        }
    }

    #[test]
    fn refusals_fail_the_set_at_once() {
        for e in [
            saby_client::Error::AuthFailed {
                message: "bad password".into(),
                status: Some(401),
            },
            saby_client::Error::SessionExpired {
                message: "x".into(),
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
            let e = saby(e);
            assert!(!e.is_retryable(), "{e:?}");
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

    /// An error of a custom mapper, with a cause of its own.
    #[derive(Debug, thiserror::Error)]
    #[error("the scan of page 2 is unreadable")]
    struct Unreadable(#[source] std::io::Error);

    /// Each error of a deep chain prints only itself: joined, every cause
    /// appears exactly once.
    #[test]
    fn a_deep_chain_prints_each_cause_once() {
        let root = std::io::Error::other("connection reset by peer");
        let e = Error::Mapping(MappingError::Custom {
            message: "the passport could not be read".into(),
            source: Some(Box::new(Unreadable(root))),
        });
        let line = chain(&e);
        assert_eq!(
            line,
            "mapping failed: the passport could not be read: the scan of page 2 is unreadable: \
             connection reset by peer"
        );
        for cause in [
            "mapping failed",
            "the passport could not be read",
            "the scan of page 2 is unreadable",
            "connection reset by peer",
        ] {
            assert_eq!(line.matches(cause).count(), 1, "{cause:?} in {line:?}");
        }

        let store = Error::Store(StoreError::database(
            "saving a set",
            std::io::Error::other("disk I/O error"),
        ));
        assert_eq!(
            chain(&store),
            "state store database error while saving a set: disk I/O error"
        );
    }

    #[tokio::test]
    async fn a_failed_task_keeps_its_join_error_as_the_source() {
        let joined = tokio::spawn(async { panic!("boom") }).await.unwrap_err();
        let e = Error::Task { source: joined };
        let source = std::error::Error::source(&e).expect("the join error is kept");
        assert!(source.to_string().contains("panic"), "{source}");
        assert_eq!(chain(&e).matches("panic").count(), 1, "{}", chain(&e));
    }
}
