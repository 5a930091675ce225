//! `/api/document/ready`: which sets are ready.

use bytes::Bytes;
use serde::de::Error as _;

use crate::client::{Call, Client};
use crate::config::HttpMethod;
use crate::error::{Endpoint, Result};
use crate::model::ReadySets;
use crate::model::ready::FastReady;

impl Client {
    /// The sets that are ready from set number `start_id` on (`/api/document/ready`).
    ///
    /// After handling sets up to N, ask with `start_id = N + 1` (or use
    /// [`ready_stream`](Client::ready_stream), which does the bookkeeping).
    /// Retried on connect errors, timeouts, 429 and 5xx.
    pub async fn ready(&self, start_id: u64) -> Result<ReadySets> {
        let mut url = self.endpoints().ready.clone();
        let method = self.reqwest_method();
        let body = match self.method() {
            HttpMethod::Get => {
                url.query_pairs_mut()
                    .append_pair("project_id", self.project_id())
                    .append_pair("start_id", &start_id.to_string())
                    .append_pair("token", self.token());
                None
            }
            HttpMethod::Post => Some(Bytes::from(
                serde_json::to_vec(&serde_json::json!({
                    "project_id": self.project_id(),
                    "start_id": start_id,
                    "token": self.token(),
                }))
                .unwrap_or_default(),
            )),
        };
        let call = Call {
            endpoint: Endpoint::Ready,
            method,
            url,
            body,
            set_id: None,
            idempotent: true,
            deadline: None,
            pass_statuses: &[],
        };
        self.execute(&call, |raw| {
            // The common shapes straight into ids; anything else through the lenient
            // parser, which also names the path of what it cannot use.
            if let Ok(FastReady(sets)) = serde_json::from_slice::<FastReady>(&raw.body) {
                return Ok(sets);
            }
            let value: serde_json::Value = self.decode(Endpoint::Ready, &raw)?;
            ReadySets::from_value(value).map_err(|(path, reason)| {
                self.decode_error(
                    Endpoint::Ready,
                    &raw,
                    path,
                    serde_json::Error::custom(reason),
                )
            })
        })
        .await
    }
}
