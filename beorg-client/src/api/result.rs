//! `/api/document/result/{set}`: the recognized documents of one set.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::client::{Call, Client};
use crate::config::HttpMethod;
use crate::error::{Endpoint, Error, Result};
use crate::model::{RecognitionResult, ResultStatus, SetId};

impl Client {
    /// The result of one set (`/api/document/result/s-N`).
    ///
    /// Gives [`ResultStatus::Processing`] while Beorg is still working on the set
    /// (HTTP 425 — the only "not yet"). A 200 is final: [`ResultStatus::Ready`],
    /// [`ResultStatus::Broken`] when its top level marks the whole set broken
    /// and no document is usable, or [`ResultStatus::NoDocuments`]. Other
    /// statuses become [`Error::Api`]; connect errors, timeouts, 429 and 5xx are
    /// retried first.
    ///
    /// With [`HttpMethod::Get`] the token travels in the query (`?token=…`); with
    /// [`HttpMethod::Post`] it travels in a JSON body `{"token": …}` instead.
    pub async fn result(&self, set_id: &SetId) -> Result<ResultStatus> {
        self.result_within(set_id, None).await
    }

    async fn result_within(
        &self,
        set_id: &SetId,
        deadline: Option<Duration>,
    ) -> Result<ResultStatus> {
        if set_id.as_str().is_empty() {
            return Err(Error::InvalidInput("the set id is empty".into()));
        }
        let mut url = self.endpoints().result.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("the base URL cannot have path segments".into()))?
            .pop_if_empty()
            .push(set_id.as_str());
        let body = match self.method() {
            HttpMethod::Get => {
                url.query_pairs_mut().append_pair("token", self.token());
                None
            }
            HttpMethod::Post => Some(Bytes::from(
                serde_json::to_vec(&serde_json::json!({ "token": self.token() }))
                    .unwrap_or_default(),
            )),
        };
        let call = Call {
            endpoint: Endpoint::Result,
            method: self.reqwest_method(),
            url,
            body,
            set_id: Some(set_id),
            idempotent: true,
            deadline,
            pass_statuses: &[425],
        };
        self.execute(&call, |raw| {
            if raw.status == 425 {
                return Ok(ResultStatus::Processing {
                    retry_after: raw.retry_after,
                });
            }
            let mut result: RecognitionResult = self.decode(Endpoint::Result, &raw)?;
            if result.document_id.as_str().is_empty() {
                result.document_id = set_id.clone();
            }
            Ok(ResultStatus::from_result(result))
        })
        .await
    }

    /// Polls [`result`](Client::result) until the set is ready or `max_wait` passes.
    ///
    /// Between polls it waits the server's `Retry-After` (capped by the retry
    /// policy's `max_retry_after`) or else an exponential backoff (see
    /// [`ClientBuilder::poll_backoff`](crate::ClientBuilder::poll_backoff)).
    /// When `max_wait` runs out while the set is still processing, fails with
    /// [`Error::StillProcessing`]; a set that came back broken as a whole fails
    /// at once with [`Error::SetBroken`], one without documents with
    /// [`Error::NoDocuments`]; other errors are returned as they come.
    pub async fn wait_for_result(
        &self,
        set_id: &SetId,
        max_wait: Duration,
    ) -> Result<RecognitionResult> {
        let started = Instant::now();
        let mut backoff = self.inner.poll_initial;
        let mut seen_processing = false;
        loop {
            let remaining = max_wait.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(Error::StillProcessing {
                    set_id: set_id.clone(),
                    waited: started.elapsed(),
                });
            }
            let deadline = Some(
                self.inner
                    .timeouts
                    .deadline()
                    .map_or(remaining, |d| d.min(remaining)),
            );
            let retry_after = match self.result_within(set_id, deadline).await {
                Ok(ResultStatus::Ready(r)) => return Ok(*r),
                Ok(ResultStatus::Processing { retry_after }) => {
                    seen_processing = true;
                    retry_after
                }
                Ok(ResultStatus::Broken(r)) => {
                    return Err(Error::SetBroken {
                        set_id: set_id.clone(),
                        reasons: r.broken_reason_text(),
                    });
                }
                Ok(_) => {
                    return Err(Error::NoDocuments {
                        set_id: set_id.clone(),
                    });
                }
                // `max_wait` itself ran out during a poll of a set known to be processing.
                Err(Error::DeadlineExceeded { .. })
                    if seen_processing && started.elapsed() >= max_wait =>
                {
                    return Err(Error::StillProcessing {
                        set_id: set_id.clone(),
                        waited: started.elapsed(),
                    });
                }
                Err(e) => return Err(e),
            };
            let delay = match retry_after {
                Some(ra) => ra.min(self.inner.retry.max_retry_after()),
                None => {
                    let d = backoff;
                    // Saturating: a configured backoff near `Duration::MAX` never overflows.
                    backoff = backoff.saturating_mul(2).min(self.inner.poll_max);
                    d
                }
            };
            tracing::debug!(
                set_id = set_id.as_str(),
                delay_ms = delay.as_millis() as u64,
                "set still processing"
            );
            if started.elapsed().saturating_add(delay) >= max_wait {
                return Err(Error::StillProcessing {
                    set_id: set_id.clone(),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(delay).await;
        }
    }
}
