//! The document model: `Документ` and everything hanging off it.
//!
//! Rust field names, Russian wire names (`#[serde(rename = "...")]`). Every struct keeps the
//! fields it does not know in `extra`, is `#[non_exhaustive]` (so Saby adding a field is not a
//! breaking change for us) and has constructors or `with_*` setters for what users build.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::de::deserialize_with_extra;

use super::state::State;
use super::wire::{Base64Data, SabyDate, SabyDateTime, one_or_many, string_or_number, yes_no};

/// `Документ`: a document with its attachments, stages, state and events.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Document {
    /// `Идентификатор`: a GUID; the client may choose it (that makes writes idempotent).
    #[serde(
        rename = "Идентификатор",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub id: Option<String>,
    /// `Тип`, e.g. `ДокОтгрИсх`.
    #[serde(rename = "Тип", default, skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    /// `Подтип`.
    #[serde(rename = "Подтип", default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    /// `Дата` (`ДД.ММ.ГГГГ`).
    #[serde(rename = "Дата", default, skip_serializing_if = "Option::is_none")]
    pub date: Option<SabyDate>,
    /// `Номер`.
    #[serde(
        rename = "Номер",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub number: Option<String>,
    /// `Название`.
    #[serde(rename = "Название", default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `Направление`: incoming or outgoing.
    #[serde(
        rename = "Направление",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub direction: Option<Direction>,
    /// `Примечание`.
    #[serde(
        rename = "Примечание",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub note: Option<String>,
    /// `Сумма` (kept as text: Saby sends it as a string or a number).
    #[serde(
        rename = "Сумма",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub sum: Option<String>,
    /// `Срок`: the due date.
    #[serde(rename = "Срок", default, skip_serializing_if = "Option::is_none")]
    pub due: Option<SabyDate>,
    /// `Удален`.
    #[serde(
        rename = "Удален",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub deleted: Option<bool>,
    /// `Регламент`: the exchange rules the document follows.
    #[serde(rename = "Регламент", default, skip_serializing_if = "Option::is_none")]
    pub regulation: Option<Regulation>,
    /// `НашаОрганизация`.
    #[serde(
        rename = "НашаОрганизация",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub our_organization: Option<Party>,
    /// `Контрагент`.
    #[serde(
        rename = "Контрагент",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub counterparty: Option<Party>,
    /// `Ответственный`.
    #[serde(
        rename = "Ответственный",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub responsible: Option<Person>,
    /// `Автор`.
    #[serde(rename = "Автор", default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Person>,
    /// `Подразделение` (shape not documented publicly; kept as JSON).
    #[serde(
        rename = "Подразделение",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub department: Option<Value>,
    /// `Редакция[]`: editions.
    #[serde(
        rename = "Редакция",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub editions: Vec<Edition>,
    /// `Вложение[]`: attachments.
    #[serde(
        rename = "Вложение",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub attachments: Vec<Attachment>,
    /// `Этап[]`: the stages available now (object or array on the wire).
    #[serde(
        rename = "Этап",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub stages: Vec<Stage>,
    /// `Состояние`.
    #[serde(rename = "Состояние", default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// `Событие[]`: the document's events.
    #[serde(
        rename = "Событие",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub events: Vec<Event>,
    /// `ДокументОснование[]`: documents this one is based on (links).
    #[serde(
        rename = "ДокументОснование",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub based_on: Vec<DocumentLink>,
    /// `ДокументСледствие[]`: documents based on this one.
    #[serde(
        rename = "ДокументСледствие",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub consequences: Vec<DocumentLink>,
    /// `СсылкаНаPDF`.
    #[serde(
        rename = "СсылкаНаPDF",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pdf_url: Option<String>,
    /// `СсылкаНаАрхив`: a zip of attachments and signatures.
    #[serde(
        rename = "СсылкаНаАрхив",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub archive_url: Option<String>,
    /// `СсылкаДляКонтрагент`: the counterparty's link to the document.
    #[serde(
        rename = "СсылкаДляКонтрагент",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub counterparty_url: Option<String>,
    /// Fields this crate does not model, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Document, "struct Document" {
        id: Option<String> = "Идентификатор", with string_or_number::deserialize;
        doc_type: Option<String> = "Тип";
        subtype: Option<String> = "Подтип";
        date: Option<SabyDate> = "Дата";
        number: Option<String> = "Номер", with string_or_number::deserialize;
        title: Option<String> = "Название";
        direction: Option<Direction> = "Направление";
        note: Option<String> = "Примечание";
        sum: Option<String> = "Сумма", with string_or_number::deserialize;
        due: Option<SabyDate> = "Срок";
        deleted: Option<bool> = "Удален", with yes_no::deserialize;
        regulation: Option<Regulation> = "Регламент";
        our_organization: Option<Party> = "НашаОрганизация";
        counterparty: Option<Party> = "Контрагент";
        responsible: Option<Person> = "Ответственный";
        author: Option<Person> = "Автор";
        department: Option<Value> = "Подразделение";
        editions: Vec<Edition> = "Редакция", with one_or_many::deserialize;
        attachments: Vec<Attachment> = "Вложение", with one_or_many::deserialize;
        stages: Vec<Stage> = "Этап", with one_or_many::deserialize;
        state: Option<State> = "Состояние";
        events: Vec<Event> = "Событие", with one_or_many::deserialize;
        based_on: Vec<DocumentLink> = "ДокументОснование", with one_or_many::deserialize;
        consequences: Vec<DocumentLink> = "ДокументСледствие", with one_or_many::deserialize;
        pdf_url: Option<String> = "СсылкаНаPDF";
        archive_url: Option<String> = "СсылкаНаАрхив";
        counterparty_url: Option<String> = "СсылкаДляКонтрагент";
    }
}

impl Document {
    /// A document with our own identifier (a GUID in the format of your system).
    pub fn new(id: impl Into<String>) -> Self {
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
    /// The identifier, or `""` when the document has none.
    pub fn id_str(&self) -> &str {
        self.id.as_deref().unwrap_or("")
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
}

impl Serialize for Direction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Direction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "Входящий" => Self::Incoming,
            "Исходящий" => Self::Outgoing,
            "Внутренний" => Self::Internal,
            _ => Self::Unknown(s),
        })
    }
}

/// `Регламент`: the exchange rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Regulation {
    /// `Идентификатор`.
    #[serde(
        rename = "Идентификатор",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub id: Option<String>,
    /// `Название`.
    #[serde(rename = "Название", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Regulation, "struct Regulation" {
        id: Option<String> = "Идентификатор", with string_or_number::deserialize;
        name: Option<String> = "Название";
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

/// `НашаОрганизация` / `Контрагент` / `Участник`: a legal entity (`СвЮЛ`) or an individual
/// (`СвФЛ`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Party {
    /// `СвЮЛ`.
    #[serde(rename = "СвЮЛ", default, skip_serializing_if = "Option::is_none")]
    pub legal_entity: Option<LegalEntity>,
    /// `СвФЛ`.
    #[serde(rename = "СвФЛ", default, skip_serializing_if = "Option::is_none")]
    pub individual: Option<Individual>,
    /// `ИдентификаторИС`: the party's id in your system.
    #[serde(
        rename = "ИдентификаторИС",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub system_id: Option<String>,
    /// `Email`.
    #[serde(rename = "Email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `Телефон`.
    #[serde(
        rename = "Телефон",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub phone: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Party, "struct Party" {
        legal_entity: Option<LegalEntity> = "СвЮЛ";
        individual: Option<Individual> = "СвФЛ";
        system_id: Option<String> = "ИдентификаторИС", with string_or_number::deserialize;
        email: Option<String> = "Email";
        phone: Option<String> = "Телефон", with string_or_number::deserialize;
    }
}

impl Party {
    /// A legal entity (`СвЮЛ{ИНН, КПП, Название}`); pass `""` for an unknown KPP.
    pub fn legal_entity(
        inn: impl Into<String>,
        kpp: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        let kpp = kpp.into();
        Self {
            legal_entity: Some(LegalEntity {
                inn: Some(inn.into()),
                kpp: (!kpp.is_empty()).then_some(kpp),
                name: Some(name.into()),
                ..LegalEntity::default()
            }),
            ..Self::default()
        }
    }
    /// An individual (`СвФЛ{ИНН, Фамилия, Имя, Отчество}`); pass `""` for no middle name.
    pub fn individual(
        inn: impl Into<String>,
        last_name: impl Into<String>,
        first_name: impl Into<String>,
        middle_name: impl Into<String>,
    ) -> Self {
        let middle = middle_name.into();
        Self {
            individual: Some(Individual {
                inn: Some(inn.into()),
                last_name: Some(last_name.into()),
                first_name: Some(first_name.into()),
                middle_name: (!middle.is_empty()).then_some(middle),
                ..Individual::default()
            }),
            ..Self::default()
        }
    }
    /// Sets `Email`.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
    /// Sets `ИдентификаторИС`.
    pub fn with_system_id(mut self, id: impl Into<String>) -> Self {
        self.system_id = Some(id.into());
        self
    }
    /// The INN of whichever side is present.
    pub fn inn(&self) -> Option<&str> {
        self.legal_entity
            .as_ref()
            .and_then(|l| l.inn.as_deref())
            .or_else(|| self.individual.as_ref().and_then(|i| i.inn.as_deref()))
    }
}

/// `СвЮЛ`: a legal entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LegalEntity {
    /// `ИНН`.
    #[serde(
        rename = "ИНН",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub inn: Option<String>,
    /// `КПП`.
    #[serde(
        rename = "КПП",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub kpp: Option<String>,
    /// `Название`.
    #[serde(rename = "Название", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `КодФилиала`.
    #[serde(
        rename = "КодФилиала",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub branch_code: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    LegalEntity, "struct LegalEntity" {
        inn: Option<String> = "ИНН", with string_or_number::deserialize;
        kpp: Option<String> = "КПП", with string_or_number::deserialize;
        name: Option<String> = "Название";
        branch_code: Option<String> = "КодФилиала", with string_or_number::deserialize;
    }
}

/// `СвФЛ`: an individual.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Individual {
    /// `ИНН`.
    #[serde(
        rename = "ИНН",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub inn: Option<String>,
    /// `Фамилия`.
    #[serde(rename = "Фамилия", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `Имя`.
    #[serde(rename = "Имя", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// `Отчество`.
    #[serde(rename = "Отчество", default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `СНИЛС`.
    #[serde(
        rename = "СНИЛС",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub snils: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Individual, "struct Individual" {
        inn: Option<String> = "ИНН", with string_or_number::deserialize;
        last_name: Option<String> = "Фамилия";
        first_name: Option<String> = "Имя";
        middle_name: Option<String> = "Отчество";
        snils: Option<String> = "СНИЛС", with string_or_number::deserialize;
    }
}

/// A person (`Ответственный`, `Автор`): `{Фамилия, Имя, Отчество}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Person {
    /// `Фамилия`.
    #[serde(rename = "Фамилия", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `Имя`.
    #[serde(rename = "Имя", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// `Отчество`.
    #[serde(rename = "Отчество", default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Person, "struct Person" {
        last_name: Option<String> = "Фамилия";
        first_name: Option<String> = "Имя";
        middle_name: Option<String> = "Отчество";
    }
}

impl Person {
    /// A person by full name; pass `""` for no middle name.
    pub fn new(
        last_name: impl Into<String>,
        first_name: impl Into<String>,
        middle_name: impl Into<String>,
    ) -> Self {
        let middle = middle_name.into();
        Self {
            last_name: Some(last_name.into()),
            first_name: Some(first_name.into()),
            middle_name: (!middle.is_empty()).then_some(middle),
            ..Self::default()
        }
    }
}

/// `Редакция`: a document edition.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Edition {
    /// `Идентификатор`.
    #[serde(
        rename = "Идентификатор",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub id: Option<String>,
    /// `Актуален`.
    #[serde(
        rename = "Актуален",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub current: Option<bool>,
    /// `ДатаВремя`.
    #[serde(rename = "ДатаВремя", default, skip_serializing_if = "Option::is_none")]
    pub datetime: Option<SabyDateTime>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Edition, "struct Edition" {
        id: Option<String> = "Идентификатор", with string_or_number::deserialize;
        current: Option<bool> = "Актуален", with yes_no::deserialize;
        datetime: Option<SabyDateTime> = "ДатаВремя";
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

/// `ДокументОснование` / `ДокументСледствие`: a link between documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DocumentLink {
    /// `Документ`: the linked document (often just `{Идентификатор}`).
    #[serde(rename = "Документ", default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Box<Document>>,
    /// `ВидСвязи`: the kind of link.
    #[serde(rename = "ВидСвязи", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    DocumentLink, "struct DocumentLink" {
        document: Option<Box<Document>> = "Документ";
        kind: Option<String> = "ВидСвязи";
    }
}

impl DocumentLink {
    /// A link to the document with this identifier, optionally of a kind (`ВидСвязи`).
    pub fn to(document_id: impl Into<String>, kind: Option<&str>) -> Self {
        Self {
            document: Some(Box::new(Document::new(document_id))),
            kind: kind.map(str::to_owned),
            ..Self::default()
        }
    }
}

/// `Вложение`: an attachment (a file of the document).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Attachment {
    /// `Идентификатор` (your own id makes attachment writes idempotent).
    #[serde(
        rename = "Идентификатор",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub id: Option<String>,
    /// `Название`.
    #[serde(rename = "Название", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Тип`.
    #[serde(rename = "Тип", default, skip_serializing_if = "Option::is_none")]
    pub attachment_type: Option<String>,
    /// `Подтип`.
    #[serde(rename = "Подтип", default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    /// `ВерсияФормата`.
    #[serde(
        rename = "ВерсияФормата",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub format_version: Option<String>,
    /// `Служебный`: a service attachment (titles, receipts).
    #[serde(
        rename = "Служебный",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub service: Option<bool>,
    /// `Удален`.
    #[serde(
        rename = "Удален",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub deleted: Option<bool>,
    /// `Файл`.
    #[serde(rename = "Файл", default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
    /// `Подпись[]`.
    #[serde(
        rename = "Подпись",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub signatures: Vec<Signature>,
    /// `СсылкаНаPDF`.
    #[serde(
        rename = "СсылкаНаPDF",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pdf_url: Option<String>,
    /// `СсылкаНаHTML`.
    #[serde(
        rename = "СсылкаНаHTML",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub html_url: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Attachment, "struct Attachment" {
        id: Option<String> = "Идентификатор", with string_or_number::deserialize;
        name: Option<String> = "Название";
        attachment_type: Option<String> = "Тип";
        subtype: Option<String> = "Подтип";
        format_version: Option<String> = "ВерсияФормата", with string_or_number::deserialize;
        service: Option<bool> = "Служебный", with yes_no::deserialize;
        deleted: Option<bool> = "Удален", with yes_no::deserialize;
        file: Option<FileRef> = "Файл";
        signatures: Vec<Signature> = "Подпись", with one_or_many::deserialize;
        pdf_url: Option<String> = "СсылкаНаPDF";
        html_url: Option<String> = "СсылкаНаHTML";
    }
}

impl Attachment {
    /// An attachment to upload: our own id, the file name and its bytes (sent as base64).
    pub fn from_bytes(
        id: impl Into<String>,
        file_name: impl Into<String>,
        bytes: impl Into<Bytes>,
    ) -> Self {
        Self {
            id: Some(id.into()),
            file: Some(FileRef {
                name: Some(file_name.into()),
                data: Some(Base64Data(bytes.into())),
                ..FileRef::default()
            }),
            ..Self::default()
        }
    }
    /// Sets `Название`.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Sets `Тип`.
    pub fn with_type(mut self, attachment_type: impl Into<String>) -> Self {
        self.attachment_type = Some(attachment_type.into());
        self
    }
    /// The file name (`Файл.Имя`), else `Название`.
    pub fn file_name(&self) -> Option<&str> {
        self.file
            .as_ref()
            .and_then(|f| f.name.as_deref())
            .or(self.name.as_deref())
    }
    /// The download link (`Файл.Ссылка`).
    pub fn url(&self) -> Option<&str> {
        self.file.as_ref().and_then(|f| f.url.as_deref())
    }
}

/// `Файл`: file contents in (`ДвоичныеДанные`) or a link out (`Ссылка`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FileRef {
    /// `Имя`.
    #[serde(rename = "Имя", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Ссылка`: where to download the file (with the session header).
    #[serde(rename = "Ссылка", default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `ДвоичныеДанные`: the contents, base64 on the wire.
    #[serde(
        rename = "ДвоичныеДанные",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<Base64Data>,
    /// `Хеш`: the hash Saby computed (used for signing without downloading).
    #[serde(rename = "Хеш", default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    FileRef, "struct FileRef" {
        name: Option<String> = "Имя";
        url: Option<String> = "Ссылка";
        data: Option<Base64Data> = "ДвоичныеДанные";
        hash: Option<String> = "Хеш";
    }
}

impl FileRef {
    /// A file with contents.
    pub fn from_bytes(name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self {
            name: Some(name.into()),
            data: Some(Base64Data(bytes.into())),
            ..Self::default()
        }
    }
}

/// `Подпись`: a signature of an attachment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Signature {
    /// `Тип`, e.g. `Отсоединенная` (detached).
    #[serde(rename = "Тип", default, skip_serializing_if = "Option::is_none")]
    pub signature_type: Option<String>,
    /// `Файл`: the signature file (`.p7s`).
    #[serde(rename = "Файл", default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
    /// `Сертификат`: who signed.
    #[serde(
        rename = "Сертификат",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub certificate: Option<Certificate>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Signature, "struct Signature" {
        signature_type: Option<String> = "Тип";
        file: Option<FileRef> = "Файл";
        certificate: Option<Certificate> = "Сертификат";
    }
}

impl Signature {
    /// A detached CMS signature (`Тип: "Отсоединенная"`) stored as `<file_name>`.
    pub fn detached(file_name: impl Into<String>, cms: impl Into<Bytes>) -> Self {
        Self {
            signature_type: Some("Отсоединенная".to_owned()),
            file: Some(FileRef::from_bytes(file_name, cms)),
            ..Self::default()
        }
    }
}

/// `Этап`: a stage of the document's workflow, with the actions possible on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Stage {
    /// `Идентификатор`.
    #[serde(
        rename = "Идентификатор",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub id: Option<String>,
    /// `Название`, e.g. `Отправка`, `Утверждение`.
    #[serde(rename = "Название", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Служебный`: a service stage.
    #[serde(
        rename = "Служебный",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub service: Option<bool>,
    /// `Действие[]` (object or array on the wire).
    #[serde(
        rename = "Действие",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub actions: Vec<Action>,
    /// `Вложение[]`: after `ПодготовитьДействие`, the files to sign.
    #[serde(
        rename = "Вложение",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub attachments: Vec<Attachment>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Stage, "struct Stage" {
        id: Option<String> = "Идентификатор", with string_or_number::deserialize;
        name: Option<String> = "Название";
        service: Option<bool> = "Служебный", with yes_no::deserialize;
        actions: Vec<Action> = "Действие", with one_or_many::deserialize;
        attachments: Vec<Attachment> = "Вложение", with one_or_many::deserialize;
    }
}

impl Stage {
    /// Finds an action by name (case-insensitive).
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions
            .iter()
            .find(|a| a.name.as_deref().is_some_and(|n| names_match(n, name)))
    }
}

/// `Действие`: an action possible on a stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Action {
    /// `Название`, e.g. `Отправить`, `Утвердить`.
    #[serde(rename = "Название", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Комментарий`.
    #[serde(
        rename = "Комментарий",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    /// `ТребуетПодписания`.
    #[serde(
        rename = "ТребуетПодписания",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub requires_signature: Option<bool>,
    /// `ТребуетКомментария`.
    #[serde(
        rename = "ТребуетКомментария",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub requires_comment: Option<bool>,
    /// `Сертификат[]`: the certificates the action may be signed with.
    #[serde(
        rename = "Сертификат",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub certificates: Vec<Certificate>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Action, "struct Action" {
        name: Option<String> = "Название";
        comment: Option<String> = "Комментарий";
        requires_signature: Option<bool> = "ТребуетПодписания", with yes_no::deserialize;
        requires_comment: Option<bool> = "ТребуетКомментария", with yes_no::deserialize;
        certificates: Vec<Certificate> = "Сертификат", with one_or_many::deserialize;
    }
}

impl Action {
    /// An action reference by name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }
    /// The key type of the first certificate offered for the action, if any.
    pub fn key_type(&self) -> Option<&KeyType> {
        self.certificates
            .iter()
            .find_map(|c| c.key.as_ref().and_then(|k| k.key_type.as_ref()))
    }
}

/// `Сертификат`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Certificate {
    /// `Отпечаток` (thumbprint).
    #[serde(rename = "Отпечаток", default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// `ФИО`.
    #[serde(rename = "ФИО", default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// `ИНН`.
    #[serde(
        rename = "ИНН",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub inn: Option<String>,
    /// `СерийныйНомер`.
    #[serde(
        rename = "СерийныйНомер",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub serial_number: Option<String>,
    /// `ДействителенС`.
    #[serde(
        rename = "ДействителенС",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_from: Option<SabyDateTime>,
    /// `ДействителенПо`.
    #[serde(
        rename = "ДействителенПо",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_to: Option<SabyDateTime>,
    /// `ДвоичныеДанные`: the certificate itself (DER).
    #[serde(
        rename = "ДвоичныеДанные",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<Base64Data>,
    /// `Ключ`: where the private key lives.
    #[serde(rename = "Ключ", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Certificate, "struct Certificate" {
        thumbprint: Option<String> = "Отпечаток";
        full_name: Option<String> = "ФИО";
        inn: Option<String> = "ИНН", with string_or_number::deserialize;
        serial_number: Option<String> = "СерийныйНомер", with string_or_number::deserialize;
        valid_from: Option<SabyDateTime> = "ДействителенС";
        valid_to: Option<SabyDateTime> = "ДействителенПо";
        data: Option<Base64Data> = "ДвоичныеДанные";
        key: Option<Key> = "Ключ";
    }
}

impl Certificate {
    /// A certificate reference by thumbprint.
    pub fn by_thumbprint(thumbprint: impl Into<String>) -> Self {
        Self {
            thumbprint: Some(thumbprint.into()),
            ..Self::default()
        }
    }
}

/// `Ключ`: the private key of a certificate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Key {
    /// `Тип`: where signing happens.
    #[serde(rename = "Тип", default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<KeyType>,
    /// `Активирован`.
    #[serde(
        rename = "Активирован",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub activated: Option<bool>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Key, "struct Key" {
        key_type: Option<KeyType> = "Тип";
        activated: Option<bool> = "Активирован", with yes_no::deserialize;
    }
}

/// `Ключ.Тип`: where the signature is made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// `Серверный`: Saby signs on its server.
    Server,
    /// `Отложенный`: Saby signs on its server later.
    Deferred,
    /// `ОтложенныйСПодтверждением`: server-side, after a confirmation.
    DeferredWithConfirmation,
    /// `Клиентский`: the client makes a detached CMS signature.
    Client,
    /// `Дистанционный`: remote signing (not supported by `perform`).
    Remote,
    /// Anything else, as sent.
    Unknown(String),
}

impl KeyType {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Server => "Серверный",
            Self::Deferred => "Отложенный",
            Self::DeferredWithConfirmation => "ОтложенныйСПодтверждением",
            Self::Client => "Клиентский",
            Self::Remote => "Дистанционный",
            Self::Unknown(s) => s,
        }
    }
    /// True when Saby signs on its side (no signature must be sent).
    pub fn is_server_side(&self) -> bool {
        matches!(
            self,
            Self::Server | Self::Deferred | Self::DeferredWithConfirmation
        )
    }
}

impl Serialize for KeyType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KeyType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "Серверный" => Self::Server,
            "Отложенный" => Self::Deferred,
            "ОтложенныйСПодтверждением" => Self::DeferredWithConfirmation,
            "Клиентский" => Self::Client,
            "Дистанционный" => Self::Remote,
            _ => Self::Unknown(s),
        })
    }
}

/// `Событие`: something that happened to a document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Event {
    /// `Идентификатор`.
    #[serde(
        rename = "Идентификатор",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub id: Option<String>,
    /// `Название`, e.g. `Получение`.
    #[serde(rename = "Название", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ДатаВремя`.
    #[serde(rename = "ДатаВремя", default, skip_serializing_if = "Option::is_none")]
    pub datetime: Option<SabyDateTime>,
    /// `Комментарий`.
    #[serde(
        rename = "Комментарий",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    /// `Действие`: the action that caused the event (kept as JSON: seen as object and text).
    #[serde(rename = "Действие", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Value>,
    /// `Вложение[]`: the files the event brought.
    #[serde(
        rename = "Вложение",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many::deserialize"
    )]
    pub attachments: Vec<Attachment>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Event, "struct Event" {
        id: Option<String> = "Идентификатор", with string_or_number::deserialize;
        name: Option<String> = "Название";
        datetime: Option<SabyDateTime> = "ДатаВремя";
        comment: Option<String> = "Комментарий";
        action: Option<Value> = "Действие";
        attachments: Vec<Attachment> = "Вложение", with one_or_many::deserialize;
    }
}
