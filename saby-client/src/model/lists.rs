//! Filters, pages and the small records of the account / misc methods.

use serde::Serialize;
use serde_json::{Map, Value};

use super::de::deserialize_with_extra;

use super::document::{Document, Party};
use super::wire::{SabyDate, one_or_many, string_or_number, yes_no};

/// `Навигация{РазмерСтраницы, Страница, ЕстьЕще}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Navigation {
    /// `РазмерСтраницы` (sent as text, read from text or number).
    #[serde(
        rename = "РазмерСтраницы",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub page_size: Option<String>,
    /// `Страница` (0-based).
    #[serde(
        rename = "Страница",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub page: Option<String>,
    /// `ЕстьЕще`: whether another page exists.
    #[serde(
        rename = "ЕстьЕще",
        default,
        skip_serializing_if = "Option::is_none",
        with = "yes_no"
    )]
    pub has_more: Option<bool>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Navigation, "struct Navigation" {
        page_size: Option<String> = "РазмерСтраницы", with string_or_number::deserialize;
        page: Option<String> = "Страница", with string_or_number::deserialize;
        has_more: Option<bool> = "ЕстьЕще", with yes_no::deserialize;
    }
}

impl Navigation {
    /// Page `page` (0-based) of `page_size` items.
    pub fn new(page_size: u32, page: u32) -> Self {
        Self {
            page_size: Some(page_size.to_string()),
            page: Some(page.to_string()),
            ..Self::default()
        }
    }
}

/// `Фильтр` of `СБИС.СписокДокументов`. Build with [`DocumentFilter::new`] and the setters;
/// [`crate::Client::list_documents`] handles `Навигация`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DocumentFilter {
    /// `Тип`.
    #[serde(rename = "Тип", default, skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    /// `Направление` (`Входящий` / `Исходящий`).
    #[serde(
        rename = "Направление",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub direction: Option<String>,
    /// `ДатаС`.
    #[serde(rename = "ДатаС", default, skip_serializing_if = "Option::is_none")]
    pub date_from: Option<SabyDate>,
    /// `ДатаПо`.
    #[serde(rename = "ДатаПо", default, skip_serializing_if = "Option::is_none")]
    pub date_to: Option<SabyDate>,
    /// `Состояние` (a state code or name).
    #[serde(rename = "Состояние", default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `Маска`: free-text search.
    #[serde(rename = "Маска", default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<String>,
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
    /// `Навигация` (set by the paging helpers; page size defaults to 50).
    #[serde(rename = "Навигация", default, skip_serializing_if = "Option::is_none")]
    pub navigation: Option<Navigation>,
    /// Other filter fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    DocumentFilter, "struct DocumentFilter" {
        doc_type: Option<String> = "Тип";
        direction: Option<String> = "Направление";
        date_from: Option<SabyDate> = "ДатаС";
        date_to: Option<SabyDate> = "ДатаПо";
        state: Option<String> = "Состояние";
        mask: Option<String> = "Маска";
        our_organization: Option<Party> = "НашаОрганизация";
        counterparty: Option<Party> = "Контрагент";
        navigation: Option<Navigation> = "Навигация";
    }
}

impl DocumentFilter {
    /// An empty filter (every document).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `Тип`.
    pub fn doc_type(mut self, t: impl Into<String>) -> Self {
        self.doc_type = Some(t.into());
        self
    }
    /// Sets `Направление`.
    pub fn direction(mut self, d: impl Into<String>) -> Self {
        self.direction = Some(d.into());
        self
    }
    /// Sets `ДатаС`.
    pub fn date_from(mut self, d: impl Into<SabyDate>) -> Self {
        self.date_from = Some(d.into());
        self
    }
    /// Sets `ДатаПо`.
    pub fn date_to(mut self, d: impl Into<SabyDate>) -> Self {
        self.date_to = Some(d.into());
        self
    }
    /// Sets `Состояние`.
    pub fn state(mut self, s: impl Into<String>) -> Self {
        self.state = Some(s.into());
        self
    }
    /// Sets `Маска`.
    pub fn mask(mut self, m: impl Into<String>) -> Self {
        self.mask = Some(m.into());
        self
    }
    /// Sets `НашаОрганизация`.
    pub fn our_organization(mut self, p: Party) -> Self {
        self.our_organization = Some(p);
        self
    }
    /// Sets `Контрагент`.
    pub fn counterparty(mut self, p: Party) -> Self {
        self.counterparty = Some(p);
        self
    }
    /// Sets the page size used by the paging helpers (default 50).
    pub fn page_size(mut self, size: u32) -> Self {
        let page = self.navigation.as_ref().and_then(|n| n.page.clone());
        self.navigation = Some(Navigation {
            page_size: Some(size.to_string()),
            page,
            ..Navigation::default()
        });
        self
    }
    /// Adds any other filter field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }
}

/// `Фильтр` of `СБИС.СписокСлужебныхЭтапов`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ServiceStageFilter {
    /// `ИдентификаторДокумента`: only this document.
    #[serde(
        rename = "ИдентификаторДокумента",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub document_id: Option<String>,
    /// `НашаОрганизация`.
    #[serde(
        rename = "НашаОрганизация",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub our_organization: Option<Party>,
    /// `Навигация`.
    #[serde(rename = "Навигация", default, skip_serializing_if = "Option::is_none")]
    pub navigation: Option<Navigation>,
    /// Other filter fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    ServiceStageFilter, "struct ServiceStageFilter" {
        document_id: Option<String> = "ИдентификаторДокумента";
        our_organization: Option<Party> = "НашаОрганизация";
        navigation: Option<Navigation> = "Навигация";
    }
}

impl ServiceStageFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only this document.
    pub fn document_id(mut self, id: impl Into<String>) -> Self {
        self.document_id = Some(id.into());
        self
    }
    /// Only this organization.
    pub fn our_organization(mut self, p: Party) -> Self {
        self.our_organization = Some(p);
        self
    }
    /// Sets `Навигация`.
    pub fn navigation(mut self, n: Navigation) -> Self {
        self.navigation = Some(n);
        self
    }
}

/// One page of documents: `{Документ[], Навигация{ЕстьЕще}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DocumentPage {
    /// `Документ[]`.
    #[serde(
        rename = "Документ",
        default,
        deserialize_with = "one_or_many::deserialize"
    )]
    pub documents: Vec<Document>,
    /// `Навигация`.
    #[serde(rename = "Навигация", default, skip_serializing_if = "Option::is_none")]
    pub navigation: Option<Navigation>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    DocumentPage, "struct DocumentPage" {
        documents: Vec<Document> = "Документ", with one_or_many::deserialize;
        navigation: Option<Navigation> = "Навигация";
    }
}

impl DocumentPage {
    /// `Навигация.ЕстьЕще`, `false` when absent.
    pub fn has_more(&self) -> bool {
        self.navigation
            .as_ref()
            .and_then(|n| n.has_more)
            .unwrap_or(false)
    }
}

/// An account of `СБИС.СписокАккаунтов` (shape not publicly documented: the known fields
/// are typed, the rest kept in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Account {
    /// `НомерАккаунта`.
    #[serde(
        rename = "НомерАккаунта",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub number: Option<String>,
    /// `Название`.
    #[serde(rename = "Название", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    Account, "struct Account" {
        number: Option<String> = "НомерАккаунта", with string_or_number::deserialize;
        name: Option<String> = "Название";
    }
}

/// `СБИС.ИнформацияОТекущемПользователе` (known fields typed, the rest in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CurrentUser {
    /// `Идентификатор`.
    #[serde(
        rename = "Идентификатор",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub id: Option<String>,
    /// `Фамилия`.
    #[serde(rename = "Фамилия", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `Имя`.
    #[serde(rename = "Имя", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// `Отчество`.
    #[serde(rename = "Отчество", default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `Логин`.
    #[serde(rename = "Логин", default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    CurrentUser, "struct CurrentUser" {
        id: Option<String> = "Идентификатор", with string_or_number::deserialize;
        last_name: Option<String> = "Фамилия";
        first_name: Option<String> = "Имя";
        middle_name: Option<String> = "Отчество";
        login: Option<String> = "Логин";
    }
}

/// `СБИС.ИнформацияОВерсии` (known fields typed, the rest in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct VersionInfo {
    /// `ВнешнийИнтерфейс`: the API version.
    #[serde(
        rename = "ВнешнийИнтерфейс",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub api_version: Option<String>,
    /// `Версия`.
    #[serde(
        rename = "Версия",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number::deserialize"
    )]
    pub version: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

deserialize_with_extra! {
    VersionInfo, "struct VersionInfo" {
        api_version: Option<String> = "ВнешнийИнтерфейс", with string_or_number::deserialize;
        version: Option<String> = "Версия", with string_or_number::deserialize;
    }
}
