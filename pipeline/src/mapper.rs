//! Turning a Beorg [`RecognitionResult`] into a Saby [`Document`]: the
//! replaceable [`DocumentMapper`] and the [`DefaultMapper`].

use std::collections::HashSet;

use async_trait::async_trait;
use beorg_client::{RecognitionResult, RecognizedDocument, SetId};
use hr_docs_checks::Finding;
use saby_client::{Attachment, Document, sanitize_file_name};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::config::DocumentTemplate;
use crate::error::MappingError;
use crate::ids;
use crate::review::{Decision, DecisionKind};

/// What a mapper knows about the set it maps.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MappingContext<'a> {
    /// The Beorg company (the client's `project_id`).
    pub company: &'a str,
    /// The contour Beorg's `by_project` put the set on, when it said. The
    /// [`template`](Self::template) already carries the contour's overrides
    /// (see [`PipelineConfig::template_for`](crate::PipelineConfig::template_for)).
    pub contour: Option<&'a str>,
    /// The set.
    pub set_id: &'a SetId,
    /// The Saby document id: the one stored with the set, else
    /// [`ids::document_id`]`(company, set id)`. The pipeline sets it on the
    /// mapped document whatever the mapper returns.
    pub document_id: Uuid,
    /// Type, regulation, organization and counterparty: the configuration's
    /// template with the set's contour's overrides applied.
    pub template: &'a DocumentTemplate,
    /// What the data checks found in the documents being sent: warnings, and
    /// the errors a review approved ([`crate::review`]). They never hold a
    /// recognized value. Make them travel with the document: the
    /// [`DefaultMapper`] adds them as an attachment (`data_checks_<set id>.json`);
    /// your mapper may put them into an attachment of its own or the note.
    pub findings: &'a [Finding],
    /// The review decision the set is sent under, if it was held
    /// ([`DecisionKind::SendAsIs`] or [`DecisionKind::SendWithout`]: the
    /// documents it leaves out are already removed from the result the mapper
    /// gets). Its `by` and `reason` are the reviewer's text, for the record:
    /// the default mapper does not put them into the document.
    pub decision: Option<&'a Decision>,
}

impl<'a> MappingContext<'a> {
    /// A context for `set_id` of `company`, without a contour, with the
    /// derived document id.
    pub fn new(company: &'a str, set_id: &'a SetId, template: &'a DocumentTemplate) -> Self {
        Self {
            company,
            contour: None,
            set_id,
            document_id: ids::document_id(company, set_id.as_str()),
            template,
            findings: &[],
            decision: None,
        }
    }

    /// With these findings of the data checks.
    pub fn with_findings(mut self, findings: &'a [Finding]) -> Self {
        self.findings = findings;
        self
    }

    /// Sent under this review decision.
    pub fn with_decision(mut self, decision: Option<&'a Decision>) -> Self {
        self.decision = decision;
        self
    }

    /// On this contour.
    pub fn with_contour(mut self, contour: Option<&'a str>) -> Self {
        self.contour = contour;
        self
    }

    /// With this document id (the one stored with the set).
    pub fn with_document_id(mut self, document_id: Uuid) -> Self {
        self.document_id = document_id;
        self
    }

    /// The deterministic id of the attachment named `file_name`.
    pub fn attachment_id(&self, file_name: &str) -> String {
        ids::attachment_id(&self.document_id, file_name).to_string()
    }

    /// A document with the deterministic id and everything from the template.
    pub fn base_document(&self) -> Document {
        let t = self.template;
        let mut doc = Document::new(self.document_id.to_string())
            .with_type(t.doc_type.clone())
            .with_our_organization(t.our_organization.clone())
            .with_counterparty(t.counterparty.clone());
        if let Some(r) = &t.regulation {
            doc = doc.with_regulation(r.clone());
        }
        doc
    }
}

/// Maps one recognized set to one Saby document. Replace the default with
/// [`PipelineBuilder::mapper`](crate::PipelineBuilder::mapper) (an `Arc` of a
/// mapper is a mapper too).
///
/// A mapping error is permanent: the set is recorded failed with the error as
/// its reason (replay it once the cause is fixed). The document's id is always
/// forced to [`MappingContext::document_id`]; give attachments deterministic
/// ids too ([`MappingContext::attachment_id`]) so a rewrite replaces them.
#[async_trait]
pub trait DocumentMapper: Send + Sync {
    /// Builds the Saby document for `result`.
    async fn map(
        &self,
        ctx: &MappingContext<'_>,
        result: &RecognitionResult,
    ) -> Result<Document, MappingError>;
}

#[async_trait]
impl<M: DocumentMapper + ?Sized> DocumentMapper for std::sync::Arc<M> {
    async fn map(
        &self,
        ctx: &MappingContext<'_>,
        result: &RecognitionResult,
    ) -> Result<Document, MappingError> {
        (**self).map(ctx, result).await
    }
}

/// The default mapping: one document per set with the configured type,
/// regulation, our organization and counterparty, titled
/// `Комплект документов <set id>` — never a recognized value: Saby may quote a
/// document's title in an error message, which the pipeline stores and logs —
/// with
///
/// - one attachment per recognized document, named from its `FileName`
///   (else its key, else its type), sanitized and made unique
///   (`Паспорт_Иванов.json`, `Паспорт_Иванов (2).json`), holding the recognized
///   fields (`data`) as UTF-8 JSON;
/// - one more attachment, `beorg_result_<set id>.json`, with the whole result;
/// - when the data checks found something (warnings, or errors a review
///   approved) or the set is sent under a review decision, one more:
///   `data_checks_<set id>.json`, the findings in `hr_docs_checks`' serde
///   form (no recognized value) and the decision's kind, time and the
///   documents it left out (not who made it or why).
///
/// A set with no documents fails permanently. Documents Beorg marked broken
/// are the data checks' business (held for review by default, see
/// [`BrokenPolicy`](hr_docs_checks::BrokenPolicy)) and are mapped like any
/// other — a reviewer may have decided to send them;
/// [`allow_broken(false)`](Self::allow_broken) makes the mapper refuse them
/// whatever the checks or a review decided.
#[derive(Debug, Clone)]
pub struct DefaultMapper {
    allow_broken: bool,
}

impl Default for DefaultMapper {
    fn default() -> Self {
        Self { allow_broken: true }
    }
}

impl DefaultMapper {
    /// The default mapper (broken documents are mapped: the data checks
    /// decide about them before the mapper is called).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether documents Beorg marked broken are mapped (default `true`);
    /// with `false` the set fails with [`MappingError::Broken`] — even after a
    /// review decided to send it as is.
    pub fn allow_broken(mut self, allow: bool) -> Self {
        self.allow_broken = allow;
        self
    }
}

/// The content of `data_checks_<set id>.json`: the findings and, for a set
/// sent under a review decision, its kind, time and left-out documents.
fn checks_attachment(ctx: &MappingContext<'_>) -> Result<Vec<u8>, MappingError> {
    let mut m = Map::new();
    m.insert("set_id".into(), json!(ctx.set_id.as_str()));
    let findings = serde_json::to_value(ctx.findings).map_err(|source| MappingError::Encode {
        set_id: ctx.set_id.clone(),
        what: "the findings of the data checks".to_owned(),
        source,
    })?;
    m.insert("findings".into(), findings);
    if let Some(d) = ctx.decision {
        let mut review = Map::new();
        review.insert("decision".into(), json!(d.kind.as_str()));
        if let DecisionKind::SendWithout(keys) = &d.kind {
            review.insert("documents_left_out".into(), json!(keys));
        }
        if let Ok(at) = d.at.format(&Rfc3339) {
            review.insert("at".into(), json!(at));
        }
        m.insert("review".into(), Value::Object(review));
    }
    serde_json::to_vec_pretty(&Value::Object(m)).map_err(|source| MappingError::Encode {
        set_id: ctx.set_id.clone(),
        what: "the findings of the data checks".to_owned(),
        source,
    })
}

/// The base name (no extension) of a recognized document's attachment:
/// `FileName`, else its key, else its type.
fn base_name(doc: &RecognizedDocument) -> String {
    let raw = doc
        .file_name()
        .map(str::to_owned)
        .or_else(|| Some(doc.key.trim().to_owned()).filter(|k| !k.is_empty()))
        .unwrap_or_else(|| doc.doc_type.as_str().to_owned());
    sanitize_file_name(&raw)
}

/// Makes `name` + `ext` unique (case-insensitively) among `used`.
fn unique_name(used: &mut HashSet<String>, base: &str, ext: &str) -> String {
    let mut candidate = format!("{base}{ext}");
    let mut n = 2;
    while !used.insert(candidate.to_lowercase()) {
        candidate = format!("{base} ({n}){ext}");
        n += 1;
    }
    candidate
}

/// Beorg's reasons for a broken document, Russian ones first (else English;
/// a reason that is not text as its JSON).
fn reasons(doc: &RecognizedDocument) -> Vec<String> {
    let list = if doc.broken_reasons_ru.is_empty() {
        &doc.broken_reasons
    } else {
        &doc.broken_reasons_ru
    };
    list.iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect()
}

#[async_trait]
impl DocumentMapper for DefaultMapper {
    async fn map(
        &self,
        ctx: &MappingContext<'_>,
        result: &RecognitionResult,
    ) -> Result<Document, MappingError> {
        let set_id = ctx.set_id.as_str();
        if result.documents.is_empty() {
            return Err(MappingError::Empty {
                set_id: ctx.set_id.clone(),
            });
        }
        if let Some(bad) = result
            .documents
            .iter()
            .find(|d| d.is_broken() && !self.allow_broken)
        {
            return Err(MappingError::Broken {
                set_id: ctx.set_id.clone(),
                key: bad.key.clone(),
                reasons: reasons(bad),
            });
        }
        // No surname in the title: Saby may quote the title in an error, and
        // errors end up in the state file, the logs and progress events.
        let mut doc = ctx
            .base_document()
            .with_title(format!("Комплект документов {set_id}"));
        let mut used = HashSet::new();
        for recognized in &result.documents {
            let name = unique_name(&mut used, &base_name(recognized), ".json");
            let bytes = serde_json::to_vec_pretty(&recognized.data).map_err(|source| {
                MappingError::Encode {
                    set_id: ctx.set_id.clone(),
                    what: format!("the fields of {}", recognized.key),
                    source,
                }
            })?;
            doc = doc.with_attachment(Attachment::from_bytes(
                ctx.attachment_id(&name),
                name.clone(),
                bytes,
            ));
        }
        let whole = unique_name(
            &mut used,
            &sanitize_file_name(&format!("beorg_result_{set_id}")),
            ".json",
        );
        let bytes = serde_json::to_vec_pretty(result).map_err(|source| MappingError::Encode {
            set_id: ctx.set_id.clone(),
            what: "the recognition result".to_owned(),
            source,
        })?;
        doc = doc.with_attachment(Attachment::from_bytes(
            ctx.attachment_id(&whole),
            whole,
            bytes,
        ));
        if !ctx.findings.is_empty() || ctx.decision.is_some() {
            let name = unique_name(
                &mut used,
                &sanitize_file_name(&format!("data_checks_{set_id}")),
                ".json",
            );
            doc = doc.with_attachment(Attachment::from_bytes(
                ctx.attachment_id(&name),
                name,
                checks_attachment(ctx)?,
            ));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use beorg_client::{DocumentType, RecognitionResult, RecognizedDocument, SetId};
    use saby_client::Party;
    use serde_json::{Map, Value, json};

    use super::*;

    fn template() -> DocumentTemplate {
        DocumentTemplate::new(
            "ДокОтгрИсх",
            Party::legal_entity("7605016030", "760501001", "ООО Ромашка"),
            Party::legal_entity("7707083893", "", "ПАО Контрагент"),
        )
        .with_regulation(saby_client::Regulation::by_name("Кадровые документы"))
    }

    fn doc(doc_type: DocumentType, data: Value) -> RecognizedDocument {
        let Value::Object(map) = data else {
            panic!("data must be an object")
        };
        RecognizedDocument::new(doc_type, map)
    }

    fn result(set: &str, docs: Vec<RecognizedDocument>) -> RecognitionResult {
        let mut r = RecognitionResult::default();
        r.document_id = SetId::new(set);
        r.documents = docs;
        r
    }

    fn names(d: &Document) -> Vec<&str> {
        d.attachments.iter().filter_map(|a| a.file_name()).collect()
    }

    #[test]
    fn names_are_uniquified_case_insensitively() {
        let mut used = HashSet::new();
        assert_eq!(
            unique_name(&mut used, "Паспорт_Иванов", ".json"),
            "Паспорт_Иванов.json"
        );
        assert_eq!(
            unique_name(&mut used, "паспорт_иванов", ".json"),
            "паспорт_иванов (2).json"
        );
        assert_eq!(
            unique_name(&mut used, "Паспорт_Иванов", ".json"),
            "Паспорт_Иванов (3).json"
        );
        assert_eq!(
            unique_name(&mut used, "СНИЛС_Иванов", ".json"),
            "СНИЛС_Иванов.json"
        );
    }

    #[tokio::test]
    async fn default_mapping_names_and_fills_the_document() {
        let set = SetId::new("s-12");
        let t = template();
        let ctx = MappingContext::new("4821", &set, &t);
        let mut with_key = doc(DocumentType::Snils, json!({"Number": "123-456-789 00"}));
        with_key.key = "SNILS_MAIN".to_owned();
        let r = result(
            "s-12",
            vec![
                doc(
                    DocumentType::Passport,
                    json!({"LastName": "Иванов", "FileName": "Паспорт_Иванов"}),
                ),
                doc(
                    DocumentType::PassportReg,
                    json!({"LastName": "Иванов", "FileName": "Паспорт_Иванов"}),
                ),
                doc(DocumentType::Inn, json!({"FileName": "ИНН/Иванов: копия"})),
                with_key,
                doc(DocumentType::Rvp, json!({})),
            ],
        );
        let d = DefaultMapper::new().map(&ctx, &r).await.unwrap();

        assert_eq!(
            d.id.as_ref().map(|i| i.as_str()),
            Some(ctx.document_id.to_string().as_str())
        );
        assert_eq!(d.doc_type.as_deref(), Some("ДокОтгрИсх"));
        assert_eq!(d.regulation, t.regulation);
        assert_eq!(
            d.our_organization.as_ref().and_then(Party::inn),
            Some("7605016030")
        );
        assert_eq!(
            d.counterparty.as_ref().and_then(Party::inn),
            Some("7707083893")
        );
        // No recognized value in the title (Saby may quote it in an error).
        assert_eq!(d.title.as_deref(), Some("Комплект документов s-12"));
        assert_eq!(
            names(&d),
            [
                "Паспорт_Иванов.json",
                "Паспорт_Иванов (2).json",
                "ИНН_Иванов_ копия.json",
                "SNILS_MAIN.json",
                "RVP.json",
                "beorg_result_s-12.json",
            ]
        );
        // Deterministic, distinct attachment ids.
        let ids: HashSet<_> = d.attachments.iter().filter_map(|a| a.id.clone()).collect();
        assert_eq!(ids.len(), d.attachments.len());
        assert_eq!(
            d.attachments[0].id.as_ref().map(|i| i.as_str()),
            Some(ctx.attachment_id("Паспорт_Иванов.json").as_str())
        );
        // Recognized fields as UTF-8 JSON, Cyrillic unescaped.
        let bytes = &d.attachments[0]
            .file
            .as_ref()
            .unwrap()
            .data
            .as_ref()
            .unwrap()
            .0;
        let text = std::str::from_utf8(bytes).unwrap();
        assert!(text.contains("\"LastName\": \"Иванов\""), "{text}");
        let whole: Map<String, Value> = serde_json::from_slice(
            &d.attachments[5]
                .file
                .as_ref()
                .unwrap()
                .data
                .as_ref()
                .unwrap()
                .0,
        )
        .unwrap();
        assert_eq!(whole["documents"].as_array().unwrap().len(), 5);
    }

    #[tokio::test]
    async fn mapping_is_deterministic() {
        let set = SetId::new("s-1");
        let t = template();
        let ctx = MappingContext::new("P", &set, &t);
        let r = result(
            "s-1",
            vec![doc(
                DocumentType::Passport,
                json!({"FileName": "Паспорт_Ли"}),
            )],
        );
        let a = DefaultMapper::new().map(&ctx, &r).await.unwrap();
        let b = DefaultMapper::new().map(&ctx, &r).await.unwrap();
        assert_eq!(a, b);
    }

    #[tokio::test]
    async fn empty_and_broken_results_are_mapping_errors() {
        let set = SetId::new("s-3");
        let t = template();
        let ctx = MappingContext::new("P", &set, &t);
        let err = DefaultMapper::new()
            .map(&ctx, &result("s-3", Vec::new()))
            .await
            .unwrap_err();
        assert!(matches!(err, MappingError::Empty { .. }), "{err}");

        let mut broken = doc(DocumentType::Passport, json!({}));
        broken.broken = Some(true);
        broken.broken_reasons_ru = vec![json!("нечитаемый скан")];
        broken.key = "PASSPORT_MAIN".to_owned();
        let r = result("s-3", vec![broken]);
        // Broken documents are the data checks' business: mapped by default.
        assert!(DefaultMapper::new().map(&ctx, &r).await.is_ok());
        let err = DefaultMapper::new()
            .allow_broken(false)
            .map(&ctx, &r)
            .await
            .unwrap_err();
        // Beorg's free text is kept in the field, out of the message (the
        // message is what the failure reason and progress events store).
        let MappingError::Broken { key, reasons, .. } = &err else {
            panic!("unexpected {err:?}")
        };
        assert_eq!(key, "PASSPORT_MAIN");
        assert_eq!(reasons, &["нечитаемый скан"]);
        assert_eq!(
            err.to_string(),
            "document PASSPORT_MAIN of s-3 is marked broken by Beorg (1 reason)"
        );
    }

    #[tokio::test]
    async fn findings_and_a_decision_travel_as_an_attachment_without_values() {
        use hr_docs_checks::{Check, Finding, Severity};

        let set = SetId::new("s-104");
        let t = template();
        let r = result(
            "s-104",
            vec![doc(
                DocumentType::Snils,
                json!({"Number": "112-233-445 96", "FileName": "СНИЛС_Петрова"}),
            )],
        );
        // Nothing found, no decision: no findings attachment.
        let ctx = MappingContext::new("4821", &set, &t);
        let plain = DefaultMapper::new().map(&ctx, &r).await.unwrap();
        assert_eq!(
            names(&plain),
            ["СНИЛС_Петрова.json", "beorg_result_s-104.json"]
        );

        let findings = vec![
            Finding::new(Check::SnilsCheckNumber, Severity::Error)
                .document("SNILS", DocumentType::Snils)
                .field("Number"),
            Finding::new(Check::LowConfidence, Severity::Warning),
        ];
        let decision = Decision::send_without(["MEDBOOK1"], "op-7")
            .with_reason("скан медкнижки нечитаем")
            .with_at(time::OffsetDateTime::from_unix_timestamp(1_760_000_000).unwrap());
        let ctx = ctx.with_findings(&findings).with_decision(Some(&decision));
        let d = DefaultMapper::new().map(&ctx, &r).await.unwrap();
        assert_eq!(
            names(&d),
            [
                "СНИЛС_Петрова.json",
                "beorg_result_s-104.json",
                "data_checks_s-104.json"
            ]
        );
        let att = &d.attachments[2];
        assert_eq!(
            att.id.as_ref().map(|i| i.as_str()),
            Some(ctx.attachment_id("data_checks_s-104.json").as_str())
        );
        let body: Value =
            serde_json::from_slice(&att.file.as_ref().unwrap().data.as_ref().unwrap().0).unwrap();
        assert_eq!(body["set_id"], "s-104");
        assert_eq!(body["findings"], serde_json::to_value(&findings).unwrap());
        assert_eq!(
            body["review"],
            json!({"decision": "send_without", "documents_left_out": ["MEDBOOK1"],
                   "at": "2025-10-09T08:53:20Z"})
        );
        let text = String::from_utf8(att.file.as_ref().unwrap().data.as_ref().unwrap().0.to_vec())
            .unwrap();
        for value in ["112-233-445 96", "Петрова", "op-7", "медкнижки"] {
            assert!(!text.contains(value), "{value} in {text}");
        }
    }
}
