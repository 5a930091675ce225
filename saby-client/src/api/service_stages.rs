//! Service stages: receipts and notices Saby asks the client to process.

use serde::Serialize;
use serde_json::json;

use crate::client::{CallOptions, Client};
use crate::error::{Error, Result};
use crate::model::{Document, DocumentId, DocumentPage, ServiceStageFilter, StageId, names_match};
use crate::signer::Signer;

/// The action that processes a service stage.
pub const PROCESS_SERVICE_ACTION: &str = "Обработать служебное";

#[derive(Serialize)]
struct FilterParam<'a> {
    #[serde(rename = "Фильтр")]
    filter: &'a ServiceStageFilter,
}

impl Client {
    /// `СБИС.СписокСлужебныхЭтапов`: documents with pending service stages
    /// (`Этап[{Служебный: "Да"}]`).
    pub async fn service_stages(&self, filter: &ServiceStageFilter) -> Result<DocumentPage> {
        self.call("СБИС.СписокСлужебныхЭтапов", &FilterParam { filter })
            .await
    }

    /// Processes every service stage of `document` (as listed by
    /// [`Client::service_stages`]): Prepare + Execute with the action
    /// `Обработать служебное` (or the stage's only action), signing as
    /// [`Client::perform`] does. Returns the document after each stage.
    pub async fn process_service_stages(
        &self,
        document: &Document,
        signer: &dyn Signer,
    ) -> Result<Vec<Document>> {
        let mut done = Vec::new();
        for stage in document.stages.iter().filter(|s| s.service == Some(true)) {
            let action = stage
                .actions
                .iter()
                .find(|a| {
                    a.name
                        .as_deref()
                        .is_some_and(|n| names_match(n, PROCESS_SERVICE_ACTION))
                })
                .or_else(|| {
                    (stage.actions.len() == 1)
                        .then(|| stage.actions.first())
                        .flatten()
                });
            let action = match action {
                Some(a) => a.clone(),
                None if stage.actions.is_empty() => {
                    crate::model::Action::named(PROCESS_SERVICE_ACTION)
                }
                None => {
                    return Err(Error::ActionNotFound {
                        document_id: document.id.clone(),
                        wanted: format!(
                            "{}/{PROCESS_SERVICE_ACTION}",
                            stage.name.as_deref().unwrap_or("")
                        ),
                        available: document.available_actions(),
                    });
                }
            };
            done.push(
                self.perform_on(document, stage, &action, None, signer)
                    .await?,
            );
        }
        Ok(done)
    }

    /// `СБИС.ОтложитьСлужебныйЭтап`: postpones a service stage (Saby stops listing it in
    /// [`Client::service_stages`] for this session for a few minutes).
    ///
    /// Sent in the newer wrapped shape of Saby's own 1C connector,
    /// `{"Параметры": {"Документ": {Идентификатор, Этап{Идентификатор}}}}`
    /// (`saby-integration/vo3_core`, `base/LocalHelper.bsl`, `local_helper_delay_service_stage`;
    /// its older `src/LocalHelper.1c` sent `{"Документ": ...}` unwrapped).
    pub async fn defer_service_stage(
        &self,
        document_id: impl Into<DocumentId>,
        stage_id: impl Into<StageId>,
    ) -> Result<()> {
        let params = json!({ "Параметры": stage_ref(&document_id.into(), &stage_id.into()) });
        self.call_raw("СБИС.ОтложитьСлужебныйЭтап", &params, &CallOptions::new())
            .await?;
        Ok(())
    }

    /// `СБИС.УдалитьСлужебныйЭтап`: drops a service stage.
    ///
    /// No public source shows this method's shape; it is sent like
    /// `СБИС.ОтложитьСлужебныйЭтап`'s older form, `{"Документ": {Идентификатор,
    /// Этап{Идентификатор}}}`, and any answer is accepted.
    pub async fn delete_service_stage(
        &self,
        document_id: impl Into<DocumentId>,
        stage_id: impl Into<StageId>,
    ) -> Result<()> {
        let params = stage_ref(&document_id.into(), &stage_id.into());
        self.call_raw("СБИС.УдалитьСлужебныйЭтап", &params, &CallOptions::new())
            .await?;
        Ok(())
    }
}

/// `{"Документ": {"Идентификатор": ..., "Этап": {"Идентификатор": ...}}}`.
fn stage_ref(document_id: &DocumentId, stage_id: &StageId) -> serde_json::Value {
    json!({ "Документ": { "Идентификатор": document_id, "Этап": { "Идентификатор": stage_id } } })
}
