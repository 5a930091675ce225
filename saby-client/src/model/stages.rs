//! The workflow: stages (`Этап`), their actions (`Действие`) and the certificates
//! (`Сертификат`, `Ключ`) an action may be signed with.

use serde::{Deserialize, Serialize};

use super::de::wire_struct;
use super::document::names_match;
use super::files::Attachment;
use super::ids::StageId;
use super::wire::{Base64Data, SabyDateTime};

wire_struct! {
    /// `Этап`: a stage of the document's workflow, with the actions possible on it.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Stage {
        /// `Идентификатор`.
        pub id: Option<StageId> = "Идентификатор" => Text,
        /// `Название`, e.g. `Отправка`, `Утверждение`.
        pub name: Option<String> = "Название" => Text,
        /// `Служебный`: a service stage.
        pub service: Option<bool> = "Служебный" => Flag,
        /// `Действие[]` (object or array on the wire).
        pub actions: Vec<Action> = "Действие" => List,
        /// `Вложение[]`: after `ПодготовитьДействие`, the files to sign.
        pub attachments: Vec<Attachment> = "Вложение" => List,
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

wire_struct! {
    /// `Действие`: an action possible on a stage.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Action {
        /// `Название`, e.g. `Отправить`, `Утвердить`.
        pub name: Option<String> = "Название" => Text,
        /// `Комментарий`.
        pub comment: Option<String> = "Комментарий" => Text,
        /// `ТребуетПодписания`.
        pub requires_signature: Option<bool> = "ТребуетПодписания" => Flag,
        /// `ТребуетКомментария`.
        pub requires_comment: Option<bool> = "ТребуетКомментария" => Flag,
        /// `Сертификат[]`: the certificates the action may be signed with.
        pub certificates: Vec<Certificate> = "Сертификат" => List,
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

wire_struct! {
    /// `Сертификат`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Certificate {
        /// `Отпечаток` (thumbprint).
        pub thumbprint: Option<String> = "Отпечаток" => Text,
        /// `ФИО`.
        pub full_name: Option<String> = "ФИО" => Text,
        /// `ИНН`.
        pub inn: Option<String> = "ИНН" => Text,
        /// `СерийныйНомер`.
        pub serial_number: Option<String> = "СерийныйНомер" => Text,
        /// `ДействителенС`.
        pub valid_from: Option<SabyDateTime> = "ДействителенС" => Parsed,
        /// `ДействителенПо`.
        pub valid_to: Option<SabyDateTime> = "ДействителенПо" => Parsed,
        /// `ДвоичныеДанные`: the certificate itself (DER).
        pub data: Option<Base64Data> = "ДвоичныеДанные" => Binary,
        /// `Ключ`: where the private key lives.
        pub key: Option<Key> = "Ключ" => Object,
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
    /// A certificate given by its DER bytes (`ДвоичныеДанные`), as certificate login needs.
    pub fn from_der(der: impl Into<bytes::Bytes>) -> Self {
        Self {
            data: Some(Base64Data(der.into())),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// `Ключ`: the private key of a certificate.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Key {
        /// `Тип`: where signing happens.
        pub key_type: Option<KeyType> = "Тип" => Parsed,
        /// `Активирован`.
        pub activated: Option<bool> = "Активирован" => Flag,
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

    pub(crate) fn from_wire(s: String) -> Self {
        match s.as_str() {
            "Серверный" => Self::Server,
            "Отложенный" => Self::Deferred,
            "ОтложенныйСПодтверждением" => Self::DeferredWithConfirmation,
            "Клиентский" => Self::Client,
            "Дистанционный" => Self::Remote,
            _ => Self::Unknown(s),
        }
    }
}

impl Serialize for KeyType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KeyType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from_wire)
    }
}
