//! Seeding incoming documents (sent to us by a counterparty) without HTTP.

use crate::config::SandboxOrganization;

/// An incoming document to seed with [`Sandbox::add_incoming`](crate::Sandbox::add_incoming).
///
/// It arrives with `Направление = "Входящий"`, state `4` (Delivered) or `23` (awaiting
/// signature, see [`Incoming::awaiting_signature`]), the event `Получение`, and the stage
/// `Утверждение` with the actions `Утвердить` and `Отклонить` (the latter requires a comment).
#[derive(Debug, Clone)]
pub struct Incoming {
    pub(crate) id: Option<String>,
    pub(crate) title: String,
    pub(crate) doc_type: String,
    pub(crate) number: Option<String>,
    pub(crate) note: Option<String>,
    pub(crate) sender: Option<SandboxOrganization>,
    pub(crate) attachments: Vec<(String, Vec<u8>)>,
    pub(crate) awaiting_signature: bool,
    pub(crate) service_stage: bool,
}

impl Incoming {
    /// An incoming document titled `title` (`Название`), of type `ДокОтгрВх`, from the
    /// configured counterparty, with one generated PDF attachment unless others are added.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            id: None,
            title: title.into(),
            doc_type: "ДокОтгрВх".to_owned(),
            number: None,
            note: None,
            sender: None,
            attachments: Vec::new(),
            awaiting_signature: false,
            service_stage: false,
        }
    }

    /// Its `Идентификатор` (default: a new GUID).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Its `Тип` (default `ДокОтгрВх`).
    pub fn doc_type(mut self, doc_type: impl Into<String>) -> Self {
        self.doc_type = doc_type.into();
        self
    }

    /// Its `Номер`.
    pub fn number(mut self, number: impl Into<String>) -> Self {
        self.number = Some(number.into());
        self
    }

    /// Its `Примечание`.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The sender (`Контрагент`); default: the configured counterparty.
    pub fn sender(mut self, sender: SandboxOrganization) -> Self {
        self.sender = Some(sender);
        self
    }

    /// Adds an attachment (`Вложение`) with this file name and content.
    pub fn attachment(mut self, file_name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        self.attachments.push((file_name.into(), bytes.into()));
        self
    }

    /// `true`: state `23` ("awaiting signature") instead of `4` ("delivered").
    pub fn awaiting_signature(mut self, awaiting: bool) -> Self {
        self.awaiting_signature = awaiting;
        self
    }

    /// `true`: the document also carries a pending service stage (`Служебный = "Да"`).
    pub fn service_stage(mut self, pending: bool) -> Self {
        self.service_stage = pending;
        self
    }
}
