//! Filters and pages: `Фильтр`, `Навигация`, and a page of documents.

use serde_json::Value;

use super::de::wire_struct;
use super::document::Document;
use super::ids::DocumentId;
use super::parties::Party;
use super::wire::SabyDate;

wire_struct! {
    /// `Навигация{РазмерСтраницы, Страница, ЕстьЕще}`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Navigation {
        /// `РазмерСтраницы` (sent as text, read from text or number).
        pub page_size: Option<String> = "РазмерСтраницы" => Text,
        /// `Страница` (0-based).
        pub page: Option<String> = "Страница" => Text,
        /// `ЕстьЕще`: whether another page exists.
        pub has_more: Option<bool> = "ЕстьЕще" => Flag,
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

wire_struct! {
    /// `Фильтр` of `СБИС.СписокДокументов`. Build with [`DocumentFilter::new`] and the setters;
    /// [`crate::Client::list_documents`] handles `Навигация`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct DocumentFilter {
        /// `Тип`.
        pub doc_type: Option<String> = "Тип" => Text,
        /// `Направление` (`Входящий` / `Исходящий`).
        pub direction: Option<String> = "Направление" => Text,
        /// `ДатаС`.
        pub date_from: Option<SabyDate> = "ДатаС" => Parsed,
        /// `ДатаПо`.
        pub date_to: Option<SabyDate> = "ДатаПо" => Parsed,
        /// `Состояние` (a state code or name).
        pub state: Option<String> = "Состояние" => Text,
        /// `Маска`: free-text search.
        pub mask: Option<String> = "Маска" => Text,
        /// `НашаОрганизация`.
        pub our_organization: Option<Party> = "НашаОрганизация" => Object,
        /// `Контрагент`.
        pub counterparty: Option<Party> = "Контрагент" => Object,
        /// `Навигация` (set by the paging helpers; page size defaults to 50).
        pub navigation: Option<Navigation> = "Навигация" => Object,
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

wire_struct! {
    /// `Фильтр` of `СБИС.СписокСлужебныхЭтапов`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ServiceStageFilter {
        /// `ИдентификаторДокумента`: only this document.
        pub document_id: Option<DocumentId> = "ИдентификаторДокумента" => Text,
        /// `НашаОрганизация`.
        pub our_organization: Option<Party> = "НашаОрганизация" => Object,
        /// `Навигация`.
        pub navigation: Option<Navigation> = "Навигация" => Object,
    }
}

impl ServiceStageFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only this document.
    pub fn document_id(mut self, id: impl Into<DocumentId>) -> Self {
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

wire_struct! {
    /// One page of documents: `{Документ[], Навигация{ЕстьЕще}}`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct DocumentPage {
        /// `Документ[]`.
        pub documents: Vec<Document> = "Документ" => List,
        /// `Навигация`.
        pub navigation: Option<Navigation> = "Навигация" => Object,
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
