//! Actions: `ПодготовитьДействие` / `ВыполнитьДействие`, the high-level [`Client::perform`]
//! that signs what must be signed, and the named helpers (send, approve, reject...).
//!
//! Stage and action names are never hard-coded into a request: they are read from the
//! document's own `Этап[].Действие[]`. The helpers look for known name candidates:
//!
//! | helper | stage names tried | action names tried |
//! |---|---|---|
//! | [`Client::send`] | `Отправка` | `Отправить` |
//! | [`Client::approve`] | `Утверждение` | `Утвердить` |
//! | [`Client::reject`] | `Отклонение`, `Утверждение`, `Согласование` | `Отклонить` |
//! | [`Client::coordinate`] | `Согласование` | `Согласовать` |
//! | [`Client::annul`] | `Аннулирование` | `Аннулировать` |
//! | [`Client::reassign`] | `Переадресация` | `Переадресовать` |
//!
//! Resolution order: a candidate stage holding a candidate action; else any stage holding a
//! candidate action; else a candidate stage with exactly one action. Otherwise
//! [`Error::ActionNotFound`] lists what the document offers.

use serde::Serialize;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{
    Action, AttachmentId, Certificate, Document, DocumentId, KeyType, Signature, Stage, StageId,
    names_match,
};
use crate::signer::{SignRequest, Signer};

/// A `ВыполнитьДействие` request: which document, stage and action, with the comment and
/// the signatures of the attachments Prepare returned.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Execution {
    /// The document.
    pub document_id: DocumentId,
    /// `Редакция.Идентификатор`, to act on a given edition.
    pub edition_id: Option<String>,
    /// `Этап.Идентификатор`.
    pub stage_id: Option<StageId>,
    /// `Этап.Название`.
    pub stage_name: String,
    /// `Действие.Название`.
    pub action_name: String,
    /// `Действие.Комментарий`.
    pub comment: Option<String>,
    /// The certificate to act with, sent as `Действие.Сертификат: [{"Отпечаток": ...}]`.
    /// [`Client::perform`] fills it with the certificate the document offers for the action
    /// (also for server-side keys).
    pub certificate: Option<Certificate>,
    /// `(attachment id, signature)` pairs, sent as `Вложение[{Идентификатор, Подпись[...]}]`.
    pub signatures: Vec<(AttachmentId, Signature)>,
}

impl Execution {
    /// Executes `action` of `stage` on `document_id`.
    pub fn new(
        document_id: impl Into<DocumentId>,
        stage: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        Self {
            document_id: document_id.into(),
            edition_id: None,
            stage_id: None,
            stage_name: stage.into(),
            action_name: action.into(),
            comment: None,
            certificate: None,
            signatures: Vec::new(),
        }
    }
    /// Sets the stage id.
    pub fn stage_id(mut self, id: impl Into<StageId>) -> Self {
        self.stage_id = Some(id.into());
        self
    }
    /// Sets the edition.
    pub fn edition(mut self, id: impl Into<String>) -> Self {
        self.edition_id = Some(id.into());
        self
    }
    /// Sets the comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }
    /// Sets the certificate.
    pub fn certificate(mut self, certificate: Certificate) -> Self {
        self.certificate = Some(certificate);
        self
    }
    /// Adds the signature of an attachment (e.g. [`Signature::detached`]).
    pub fn signature(
        mut self,
        attachment_id: impl Into<AttachmentId>,
        signature: Signature,
    ) -> Self {
        self.signatures.push((attachment_id.into(), signature));
        self
    }
}

#[derive(Serialize)]
struct ExecParams<'a> {
    #[serde(rename = "Документ")]
    document: ExecDoc<'a>,
}

#[derive(Serialize)]
struct ExecDoc<'a> {
    #[serde(rename = "Идентификатор")]
    id: &'a str,
    #[serde(rename = "Редакция", skip_serializing_if = "Option::is_none")]
    edition: Option<IdOnly<'a>>,
    #[serde(rename = "Этап")]
    stages: [ExecStage<'a>; 1],
}

#[derive(Serialize)]
struct IdOnly<'a> {
    #[serde(rename = "Идентификатор")]
    id: &'a str,
}

#[derive(Serialize)]
struct ExecStage<'a> {
    #[serde(rename = "Идентификатор", skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "Название")]
    name: &'a str,
    #[serde(rename = "Действие")]
    actions: [ExecAction<'a>; 1],
    #[serde(rename = "Вложение", skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<ExecAttachment<'a>>,
}

/// `Действие` of `СБИС.ВыполнитьДействие`: the action carries its certificate as an array
/// of references, `"Сертификат": [{"Отпечаток": ...}]`, also for server-side keys — as
/// Tensor's own API tests and public clients send it (see `docs/saby-client.md`, evidence).
#[derive(Serialize)]
struct ExecAction<'a> {
    #[serde(rename = "Название")]
    name: &'a str,
    #[serde(rename = "Комментарий", skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(rename = "Сертификат", skip_serializing_if = "Option::is_none")]
    certificate: Option<[CertRef<'a>; 1]>,
}

/// `Действие` of `СБИС.ПодготовитьДействие`: the certificate as one object reference,
/// `"Сертификат": {"Отпечаток": ...}` (`tv1ce/nerpa`, `app/services/saby_tms_client.py`).
#[derive(Serialize)]
struct PrepareAction<'a> {
    #[serde(rename = "Название")]
    name: &'a str,
    #[serde(rename = "Сертификат", skip_serializing_if = "Option::is_none")]
    certificate: Option<CertRef<'a>>,
}

/// A certificate as an action names it: `{"Отпечаток": ...}` when it has a thumbprint, else
/// the certificate as given (e.g. `{ФИО, ИНН}`).
struct CertRef<'a>(&'a Certificate);

impl Serialize for CertRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        match self.0.thumbprint.as_deref().map(str::trim) {
            Some(thumbprint) if !thumbprint.is_empty() => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("Отпечаток", thumbprint)?;
                map.end()
            }
            _ => self.0.serialize(s),
        }
    }
}

#[derive(Serialize)]
struct ExecAttachment<'a> {
    #[serde(rename = "Идентификатор")]
    id: &'a str,
    #[serde(rename = "Подпись")]
    signatures: Vec<&'a Signature>,
}

#[derive(Serialize)]
struct PrepareParams<'a> {
    #[serde(rename = "Документ")]
    document: PrepareDoc<'a>,
}

#[derive(Serialize)]
struct PrepareDoc<'a> {
    #[serde(rename = "Идентификатор")]
    id: &'a str,
    #[serde(rename = "Этап")]
    stage: PrepareStage<'a>,
}

#[derive(Serialize)]
struct PrepareStage<'a> {
    #[serde(rename = "Идентификатор", skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "Название")]
    name: &'a str,
    #[serde(rename = "Действие")]
    action: PrepareAction<'a>,
}

/// Name candidates of a named helper.
struct Intent {
    label: &'static str,
    stages: &'static [&'static str],
    actions: &'static [&'static str],
}

const SEND: Intent = Intent {
    label: "send",
    stages: &["Отправка"],
    actions: &["Отправить"],
};
const APPROVE: Intent = Intent {
    label: "approve",
    stages: &["Утверждение"],
    actions: &["Утвердить"],
};
const REJECT: Intent = Intent {
    label: "reject",
    stages: &["Отклонение", "Утверждение", "Согласование"],
    actions: &["Отклонить"],
};
const COORDINATE: Intent = Intent {
    label: "coordinate",
    stages: &["Согласование"],
    actions: &["Согласовать"],
};
const ANNUL: Intent = Intent {
    label: "annul",
    stages: &["Аннулирование"],
    actions: &["Аннулировать"],
};
const REASSIGN: Intent = Intent {
    label: "reassign",
    stages: &["Переадресация"],
    actions: &["Переадресовать"],
};

fn any_match(name: Option<&str>, candidates: &[&str]) -> bool {
    name.is_some_and(|n| candidates.iter().any(|c| names_match(n, c)))
}

fn resolve<'d>(doc: &'d Document, intent: &Intent) -> Option<(&'d Stage, &'d Action)> {
    let in_candidate_stage = doc
        .stages
        .iter()
        .filter(|s| any_match(s.name.as_deref(), intent.stages))
        .find_map(|s| {
            s.actions
                .iter()
                .find(|a| any_match(a.name.as_deref(), intent.actions))
                .map(|a| (s, a))
        });
    in_candidate_stage
        .or_else(|| {
            doc.stages.iter().find_map(|s| {
                s.actions
                    .iter()
                    .find(|a| any_match(a.name.as_deref(), intent.actions))
                    .map(|a| (s, a))
            })
        })
        .or_else(|| {
            doc.stages
                .iter()
                .filter(|s| any_match(s.name.as_deref(), intent.stages) && s.actions.len() == 1)
                .find_map(|s| s.actions.first().map(|a| (s, a)))
        })
}

fn find<'d>(doc: &'d Document, stage: &str, action: &str) -> Option<(&'d Stage, &'d Action)> {
    doc.stages
        .iter()
        .filter(|s| {
            s.name.as_deref().is_some_and(|n| names_match(n, stage))
                || s.id.as_ref().is_some_and(|id| id == stage)
        })
        .find_map(|s| s.action(action).map(|a| (s, a)))
}

impl Client {
    /// `СБИС.ПодготовитьДействие`: step 1 of a stage transition. Saby generates the service
    /// attachments; the answer's `Этап[].Вложение[]` are the files to sign.
    pub async fn prepare_action(
        &self,
        document_id: impl Into<DocumentId>,
        stage: &str,
        action: &str,
    ) -> Result<Document> {
        let document_id = document_id.into();
        let params = PrepareParams {
            document: PrepareDoc {
                id: document_id.as_str(),
                stage: PrepareStage {
                    id: None,
                    name: stage,
                    action: PrepareAction {
                        name: action,
                        certificate: None,
                    },
                },
            },
        };
        self.call_document("СБИС.ПодготовитьДействие", &params, false)
            .await
    }

    async fn prepare_found(
        &self,
        document_id: &DocumentId,
        stage: &Stage,
        action: &Action,
    ) -> Result<Document> {
        let params = PrepareParams {
            document: PrepareDoc {
                id: document_id.as_str(),
                stage: PrepareStage {
                    id: stage.id.as_ref().map(StageId::as_str),
                    name: stage.name.as_deref().unwrap_or_default(),
                    action: PrepareAction {
                        name: action.name.as_deref().unwrap_or_default(),
                        certificate: action.certificates.first().map(CertRef),
                    },
                },
            },
        };
        self.call_document("СБИС.ПодготовитьДействие", &params, false)
            .await
    }

    /// `СБИС.ВыполнитьДействие`: step 2, performs the action. Never retried once it may
    /// have reached the server.
    pub async fn execute_action(&self, execution: &Execution) -> Result<Document> {
        let attachments = execution.signatures.iter().fold(
            Vec::<ExecAttachment<'_>>::new(),
            |mut acc, (id, sig)| {
                match acc.iter_mut().find(|a| a.id == id.as_str()) {
                    Some(a) => a.signatures.push(sig),
                    None => acc.push(ExecAttachment {
                        id: id.as_str(),
                        signatures: vec![sig],
                    }),
                }
                acc
            },
        );
        let params = ExecParams {
            document: ExecDoc {
                id: execution.document_id.as_str(),
                edition: execution.edition_id.as_deref().map(|id| IdOnly { id }),
                stages: [ExecStage {
                    id: execution.stage_id.as_ref().map(StageId::as_str),
                    name: &execution.stage_name,
                    actions: [ExecAction {
                        name: &execution.action_name,
                        comment: execution.comment.as_deref(),
                        certificate: execution.certificate.as_ref().map(|c| [CertRef(c)]),
                    }],
                    attachments,
                }],
            },
        };
        self.call_document("СБИС.ВыполнитьДействие", &params, false)
            .await
    }

    /// Performs `action` of `stage` on a document: reads the document, finds the stage in
    /// its `Этап[]` and the action in that stage's `Действие[]` (case-insensitive), prepares,
    /// signs what must be signed and executes.
    ///
    /// Signing follows the action's certificate key type (`Сертификат.Ключ.Тип`):
    /// `Серверный` / `Отложенный` / `ОтложенныйСПодтверждением` → nothing is signed here;
    /// `Клиентский` → `signer` signs every attachment Prepare returned (downloaded from its
    /// `Ссылка` unless [`Signer::needs_content`] is false) and the detached signatures go into
    /// Execute as `Подпись[{Тип: "Отсоединенная", Файл{Имя: "<file>.p7s", ДвоичныеДанные}}]`;
    /// no key type given → `signer` is asked and whatever it returns is sent.
    pub async fn perform(
        &self,
        document_id: impl Into<DocumentId>,
        stage: &str,
        action: &str,
        comment: Option<&str>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        let document_id = document_id.into();
        let doc = self.read_document(&document_id).await?;
        let (s, a) = find(&doc, stage, action).ok_or_else(|| Error::ActionNotFound {
            document_id: Some(document_id.clone()),
            wanted: format!("{stage}/{action}"),
            available: doc.available_actions(),
        })?;
        self.perform_found(&doc, s, a, comment, signer).await
    }

    /// Performs an action already picked from `document` (as read from Saby).
    pub async fn perform_on(
        &self,
        document: &Document,
        stage: &Stage,
        action: &Action,
        comment: Option<&str>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        self.perform_found(document, stage, action, comment, signer)
            .await
    }

    async fn perform_found(
        &self,
        doc: &Document,
        stage: &Stage,
        action: &Action,
        comment: Option<&str>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        let doc_id = doc.required_id()?;
        let stage_name = stage.name.clone().unwrap_or_default();
        let action_name = action.name.clone().unwrap_or_default();
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if action.requires_comment == Some(true) && comment.is_none() {
            return Err(Error::CommentRequired {
                action: action_name,
            });
        }
        let prepared = self.prepare_found(doc_id, stage, action).await?;
        let p_stage = prepared
            .stages
            .iter()
            .find(|s| stage.id.is_some() && s.id == stage.id)
            .or_else(|| {
                prepared.stages.iter().find(|s| {
                    s.name
                        .as_deref()
                        .is_some_and(|n| names_match(n, &stage_name))
                })
            })
            .or_else(|| prepared.stages.first());
        let p_action = p_stage.and_then(|s| s.action(&action_name));
        let certificate = p_action
            .and_then(|a| a.certificates.first())
            .or_else(|| action.certificates.first());
        let key_type = p_action
            .and_then(Action::key_type)
            .or_else(|| action.key_type());
        let client_side = match key_type {
            Some(k) if k.is_server_side() => false,
            Some(KeyType::Client) => true,
            Some(KeyType::Remote) => {
                return Err(Error::InvalidInput(
                    "remote signing (Ключ.Тип = Дистанционный) is not supported by perform; use call() with API3.InitRemoteSigning".to_owned(),
                ));
            }
            _ => {
                p_action
                    .and_then(|a| a.requires_signature)
                    .or(action.requires_signature)
                    != Some(false)
            }
        };
        let mut execution = Execution::new(doc_id, stage_name.clone(), action_name.clone());
        execution.stage_id = p_stage
            .and_then(|s| s.id.clone())
            .or_else(|| stage.id.clone());
        execution.comment = comment.map(str::to_owned);
        // The action names the certificate it is performed with, whatever the key type.
        execution.certificate = certificate.cloned();
        if client_side {
            let to_sign = p_stage
                .map(|s| s.attachments.as_slice())
                .unwrap_or_default();
            for (index, att) in to_sign
                .iter()
                .enumerate()
                .filter(|(_, a)| a.deleted != Some(true))
            {
                // The signature goes back under the attachment's id (else its file name).
                let att_id = att
                    .id
                    .clone()
                    .or_else(|| att.file_name().map(AttachmentId::from));
                // The label errors show: the id, or the position; never the file name
                // (it may hold a surname).
                let att_label = att
                    .id
                    .as_ref()
                    .map_or_else(|| format!("Вложение[{index}]"), ToString::to_string);
                let inline = att
                    .file
                    .as_ref()
                    .and_then(|f| f.data.as_ref())
                    .map(|d| d.0.clone());
                let content = match (signer.needs_content(), inline, att.url()) {
                    (false, _, _) => None,
                    (true, Some(bytes), _) => Some(bytes),
                    (true, None, Some(url)) => Some(self.download(url).await?),
                    (true, None, None) => None,
                };
                let request = SignRequest {
                    document_id: doc_id,
                    stage: &stage_name,
                    action: &action_name,
                    attachment: att,
                    content: content.as_deref(),
                    hash: att.file.as_ref().and_then(|f| f.hash.as_deref()),
                    certificate,
                    key_type,
                };
                match signer.sign(request).await? {
                    Some(cms) => {
                        let Some(att_id) = att_id else {
                            return Err(Error::InvalidInput(format!(
                                "{att_label} of the prepared action has neither an \
                                 Идентификатор nor a file name to attach its signature to"
                            )));
                        };
                        let base = att.file_name().unwrap_or(att_id.as_str());
                        let file = format!("{base}.p7s");
                        execution
                            .signatures
                            .push((att_id, Signature::detached(file, cms)));
                    }
                    None if key_type == Some(&KeyType::Client) => {
                        return Err(Error::SignatureRequired {
                            action: action_name,
                            attachment: att_label,
                        });
                    }
                    None => {}
                }
            }
        }
        tracing::info!(stage = %stage_name, action = %action_name, signatures = execution.signatures.len(), "executing action");
        self.execute_action(&execution).await
    }

    async fn perform_intent(
        &self,
        document_id: DocumentId,
        intent: &Intent,
        comment: Option<&str>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        let doc = self.read_document(&document_id).await?;
        self.perform_intent_on(Some(&document_id), &doc, intent, comment, signer)
            .await
    }

    async fn perform_intent_on(
        &self,
        document_id: Option<&DocumentId>,
        doc: &Document,
        intent: &Intent,
        comment: Option<&str>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        let (stage, action) = resolve(doc, intent).ok_or_else(|| Error::ActionNotFound {
            document_id: document_id.cloned(),
            wanted: format!(
                "{} (stage {} / action {})",
                intent.label,
                intent.stages.join("|"),
                intent.actions.join("|")
            ),
            available: doc.available_actions(),
        })?;
        self.perform_found(doc, stage, action, comment, signer)
            .await
    }

    /// Sends a draft: stage `Отправка`, action `Отправить` (read from the document).
    pub async fn send(
        &self,
        document_id: impl Into<DocumentId>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        self.perform_intent(document_id.into(), &SEND, None, signer)
            .await
    }

    /// [`Client::send`] for a document already read with [`Client::read_document`]: the
    /// stage and action are resolved from `document`'s own `Этап[]` without reading it
    /// again (one request fewer: Prepare + Execute only). `document` must be the current
    /// read: an older copy may offer a stage Saby no longer has, and Saby then refuses the
    /// action. Like every action it is never retried once it may have reached the server.
    pub async fn send_document(
        &self,
        document: &Document,
        signer: &dyn Signer,
    ) -> Result<Document> {
        self.perform_intent_on(document.id.as_ref(), document, &SEND, None, signer)
            .await
    }

    /// [`Client::approve`] for a document already read (see [`Client::send_document`]).
    pub async fn approve_document(
        &self,
        document: &Document,
        signer: &dyn Signer,
    ) -> Result<Document> {
        self.perform_intent_on(document.id.as_ref(), document, &APPROVE, None, signer)
            .await
    }

    /// Approves an incoming document: `Утверждение` / `Утвердить`.
    pub async fn approve(
        &self,
        document_id: impl Into<DocumentId>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        self.perform_intent(document_id.into(), &APPROVE, None, signer)
            .await
    }

    /// Rejects an incoming document: action `Отклонить`. A comment is required
    /// ([`Error::CommentRequired`] when empty).
    pub async fn reject(
        &self,
        document_id: impl Into<DocumentId>,
        comment: &str,
        signer: &dyn Signer,
    ) -> Result<Document> {
        if comment.trim().is_empty() {
            return Err(Error::CommentRequired {
                action: "Отклонить".to_owned(),
            });
        }
        self.perform_intent(document_id.into(), &REJECT, Some(comment), signer)
            .await
    }

    /// Coordinates (agrees) a document: `Согласование` / `Согласовать`.
    pub async fn coordinate(
        &self,
        document_id: impl Into<DocumentId>,
        comment: Option<&str>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        self.perform_intent(document_id.into(), &COORDINATE, comment, signer)
            .await
    }

    /// Annuls a document by agreement: `Аннулирование` / `Аннулировать`. Saby has no public
    /// method shape for annulment; it is modelled as a stage action read from the document.
    pub async fn annul(
        &self,
        document_id: impl Into<DocumentId>,
        comment: Option<&str>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        self.perform_intent(document_id.into(), &ANNUL, comment, signer)
            .await
    }

    /// Reassigns a stage's executor: `Переадресация` / `Переадресовать`. No public method
    /// shape exists; modelled as a stage action read from the document.
    pub async fn reassign(
        &self,
        document_id: impl Into<DocumentId>,
        comment: Option<&str>,
        signer: &dyn Signer,
    ) -> Result<Document> {
        self.perform_intent(document_id.into(), &REASSIGN, comment, signer)
            .await
    }
}
