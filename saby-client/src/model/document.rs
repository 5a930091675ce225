//! `Документ` itself: its fields, direction, regulation, editions and links.
//!
//! Rust field names, Russian wire names. Every struct keeps the fields it does not know (and
//! the fields whose value did not fit) in `extra`, is `#[non_exhaustive]` (so Saby adding a
//! field is not a breaking change for us) and has constructors or `with_*` setters for what
//! users build.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::wire_struct;
use super::events::Event;
use super::files::Attachment;
use super::ids::DocumentId;
use super::parties::{Party, Person};
use super::stages::Stage;
use super::state::State;
use super::wire::SabyDate;
use super::wire::SabyDateTime;

wire_struct! {
    /// `Документ`: a document with its attachments, stages, state and events.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Document {
        /// `Идентификатор`: a GUID; the client may choose it (that makes writes idempotent).
        pub id: Option<DocumentId> = "Идентификатор" => Text,
        /// `Тип`, e.g. `ДокОтгрИсх`.
        pub doc_type: Option<String> = "Тип" => Text,
        /// `Подтип`.
        pub subtype: Option<String> = "Подтип" => Text,
        /// `Дата` (`ДД.ММ.ГГГГ`).
        pub date: Option<SabyDate> = "Дата" => Parsed,
        /// `Номер`.
        pub number: Option<String> = "Номер" => Text,
        /// `Название`.
        pub title: Option<String> = "Название" => Text,
        /// `Направление`: incoming or outgoing.
        pub direction: Option<Direction> = "Направление" => Parsed,
        /// `Примечание`.
        pub note: Option<String> = "Примечание" => Text,
        /// `Сумма` (kept as text: Saby sends it as a string or a number).
        pub sum: Option<String> = "Сумма" => Text,
        /// `Срок`: the due date.
        pub due: Option<SabyDate> = "Срок" => Parsed,
        /// `Удален`.
        pub deleted: Option<bool> = "Удален" => Flag,
        /// `Регламент`: the exchange rules the document follows.
        pub regulation: Option<Regulation> = "Регламент" => Object,
        /// `НашаОрганизация`.
        pub our_organization: Option<Party> = "НашаОрганизация" => Object,
        /// `Контрагент`.
        pub counterparty: Option<Party> = "Контрагент" => Object,
        /// `Ответственный`.
        pub responsible: Option<Person> = "Ответственный" => Object,
        /// `Автор`.
        pub author: Option<Person> = "Автор" => Object,
        /// `Подразделение` (shape not documented publicly; kept as JSON).
        pub department: Option<Value> = "Подразделение" => Json,
        /// `Редакция[]`: editions.
        pub editions: Vec<Edition> = "Редакция" => List,
        /// `Вложение[]`: attachments.
        pub attachments: Vec<Attachment> = "Вложение" => List,
        /// `Этап[]`: the stages available now (object or array on the wire).
        pub stages: Vec<Stage> = "Этап" => List,
        /// `Состояние`.
        pub state: Option<State> = "Состояние" => Object,
        /// `Событие[]`: the document's events.
        pub events: Vec<Event> = "Событие" => List,
        /// `ДокументОснование[]`: documents this one is based on (links).
        pub based_on: Vec<DocumentLink> = "ДокументОснование" => List,
        /// `ДокументСледствие[]`: documents based on this one.
        pub consequences: Vec<DocumentLink> = "ДокументСледствие" => List,
        /// `СсылкаНаPDF`.
        pub pdf_url: Option<String> = "СсылкаНаPDF" => Text,
        /// `СсылкаНаАрхив`: a zip of attachments and signatures.
        pub archive_url: Option<String> = "СсылкаНаАрхив" => Text,
        /// `СсылкаДляКонтрагент`: the counterparty's link to the document.
        pub counterparty_url: Option<String> = "СсылкаДляКонтрагент" => Text,
    }
}

impl Document {
    /// A document with our own identifier (a GUID in the format of your system).
    pub fn new(id: impl Into<DocumentId>) -> Self {
        Self {
            id: Some(id.into()),
            ..Self::default()
        }
    }
    /// Sets `Тип`.
    pub fn with_type(mut self, doc_type: impl Into<String>) -> Self {
        self.doc_type = Some(doc_type.into());
        self
    }
    /// Sets `Подтип`.
    pub fn with_subtype(mut self, subtype: impl Into<String>) -> Self {
        self.subtype = Some(subtype.into());
        self
    }
    /// Sets `Дата`.
    pub fn with_date(mut self, date: impl Into<SabyDate>) -> Self {
        self.date = Some(date.into());
        self
    }
    /// Sets `Номер`.
    pub fn with_number(mut self, number: impl Into<String>) -> Self {
        self.number = Some(number.into());
        self
    }
    /// Sets `Название`.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Sets `Примечание`.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
    /// Sets `Направление`.
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = Some(direction);
        self
    }
    /// Sets `Регламент`.
    pub fn with_regulation(mut self, regulation: Regulation) -> Self {
        self.regulation = Some(regulation);
        self
    }
    /// Sets `НашаОрганизация`.
    pub fn with_our_organization(mut self, party: Party) -> Self {
        self.our_organization = Some(party);
        self
    }
    /// Sets `Контрагент`.
    pub fn with_counterparty(mut self, party: Party) -> Self {
        self.counterparty = Some(party);
        self
    }
    /// Sets `Ответственный`.
    pub fn with_responsible(mut self, person: Person) -> Self {
        self.responsible = Some(person);
        self
    }
    /// Adds an attachment (`Вложение`).
    pub fn with_attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }
    /// Adds a link to a base document (`ДокументОснование`).
    pub fn with_base(mut self, link: DocumentLink) -> Self {
        self.based_on.push(link);
        self
    }
    /// The identifier, or [`Error::InvalidInput`](crate::Error::InvalidInput) when the
    /// document has none (a document must have one to be read, acted on or archived).
    pub fn required_id(&self) -> crate::Result<&DocumentId> {
        self.id.as_ref().ok_or_else(|| {
            crate::Error::InvalidInput("the document has no Идентификатор".to_owned())
        })
    }
    /// The current edition (`Редакция` with `Актуален = Да`, else the last one).
    pub fn current_edition(&self) -> Option<&Edition> {
        self.editions
            .iter()
            .find(|e| e.current == Some(true))
            .or_else(|| self.editions.last())
    }
    /// Finds a stage by name (case-insensitive, surrounding spaces ignored).
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|s| s.name.as_deref().is_some_and(|n| names_match(n, name)))
    }
    /// Every `(stage, action)` name pair the document offers now, in document order.
    pub fn available_actions(&self) -> Vec<(String, String)> {
        self.stages
            .iter()
            .flat_map(|s| {
                let stage = s.name.clone().unwrap_or_default();
                s.actions
                    .iter()
                    .map(move |a| (stage.clone(), a.name.clone().unwrap_or_default()))
            })
            .collect()
    }
}

/// Compares two Saby names the way humans mean them: case-insensitive, trimmed, `ё` = `е`.
pub(crate) fn names_match(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        s.trim().to_lowercase().replace('ё', "е")
    }
    norm(a) == norm(b)
}

/// `Направление`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// `Входящий`.
    Incoming,
    /// `Исходящий`.
    Outgoing,
    /// `Внутренний`.
    Internal,
    /// Anything else, as sent.
    Unknown(String),
}

impl Direction {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Incoming => "Входящий",
            Self::Outgoing => "Исходящий",
            Self::Internal => "Внутренний",
            Self::Unknown(s) => s,
        }
    }

    pub(crate) fn from_wire(s: String) -> Self {
        match s.as_str() {
            "Входящий" => Self::Incoming,
            "Исходящий" => Self::Outgoing,
            "Внутренний" => Self::Internal,
            _ => Self::Unknown(s),
        }
    }
}

impl Serialize for Direction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Direction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from_wire)
    }
}

wire_struct! {
    /// `Регламент`: the exchange rules.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Regulation {
        /// `Идентификатор`.
        pub id: Option<String> = "Идентификатор" => Text,
        /// `Название`.
        pub name: Option<String> = "Название" => Text,
    }
}

impl Regulation {
    /// A regulation given by name.
    pub fn by_name(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }
    /// A regulation given by identifier.
    pub fn by_id(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// `Редакция`: a document edition.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Edition {
        /// `Идентификатор`.
        pub id: Option<String> = "Идентификатор" => Text,
        /// `Актуален`.
        pub current: Option<bool> = "Актуален" => Flag,
        /// `ДатаВремя`.
        pub datetime: Option<SabyDateTime> = "ДатаВремя" => Parsed,
    }
}

impl Edition {
    /// An edition reference by identifier.
    pub fn by_id(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// `ДокументОснование` / `ДокументСледствие`: a link between documents.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct DocumentLink {
        /// `Документ`: the linked document (often just `{Идентификатор}`).
        pub document: Option<Box<Document>> = "Документ" => Boxed,
        /// `ВидСвязи`: the kind of link.
        pub kind: Option<String> = "ВидСвязи" => Text,
    }
}

impl DocumentLink {
    /// A link to the document with this identifier, optionally of a kind (`ВидСвязи`).
    pub fn to(document_id: impl Into<DocumentId>, kind: Option<&str>) -> Self {
        Self {
            document: Some(Box::new(Document::new(document_id))),
            kind: kind.map(str::to_owned),
            ..Self::default()
        }
    }
}
