//! Events (`Событие`): what happened to a document.

use serde_json::Value;

use super::de::wire_struct;
use super::files::Attachment;
use super::ids::EventId;
use super::wire::SabyDateTime;

wire_struct! {
    /// `Событие`: something that happened to a document.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Event {
        /// `Идентификатор`.
        pub id: Option<EventId> = "Идентификатор" => Text,
        /// `Название`, e.g. `Получение`.
        pub name: Option<String> = "Название" => Text,
        /// `ДатаВремя`.
        pub datetime: Option<SabyDateTime> = "ДатаВремя" => Parsed,
        /// `Комментарий`.
        pub comment: Option<String> = "Комментарий" => Text,
        /// `Действие`: the action that caused the event (kept as JSON: seen as object and text).
        pub action: Option<Value> = "Действие" => Json,
        /// `Вложение[]`: the files the event brought.
        pub attachments: Vec<Attachment> = "Вложение" => List,
    }
}
