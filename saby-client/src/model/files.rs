//! Files: attachments (`Вложение`), their file (`Файл`) and signatures (`Подпись`).

use bytes::Bytes;

use super::de::wire_struct;
use super::ids::AttachmentId;
use super::stages::Certificate;
use super::wire::Base64Data;

wire_struct! {
    /// `Вложение`: an attachment (a file of the document).
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Attachment {
        /// `Идентификатор` (your own id makes attachment writes idempotent).
        pub id: Option<AttachmentId> = "Идентификатор" => Text,
        /// `Название`.
        pub name: Option<String> = "Название" => Text,
        /// `Тип`.
        pub attachment_type: Option<String> = "Тип" => Text,
        /// `Подтип`.
        pub subtype: Option<String> = "Подтип" => Text,
        /// `ВерсияФормата`.
        pub format_version: Option<String> = "ВерсияФормата" => Text,
        /// `Служебный`: a service attachment (titles, receipts).
        pub service: Option<bool> = "Служебный" => Flag,
        /// `Удален`.
        pub deleted: Option<bool> = "Удален" => Flag,
        /// `Файл`.
        pub file: Option<FileRef> = "Файл" => Object,
        /// `Подпись[]`.
        pub signatures: Vec<Signature> = "Подпись" => List,
        /// `СсылкаНаPDF`.
        pub pdf_url: Option<String> = "СсылкаНаPDF" => Text,
        /// `СсылкаНаHTML`.
        pub html_url: Option<String> = "СсылкаНаHTML" => Text,
    }
}

impl Attachment {
    /// An attachment to upload: our own id, the file name and its bytes (sent as base64).
    pub fn from_bytes(
        id: impl Into<AttachmentId>,
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

wire_struct! {
    /// `Файл`: file contents in (`ДвоичныеДанные`) or a link out (`Ссылка`).
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct FileRef {
        /// `Имя`.
        pub name: Option<String> = "Имя" => Text,
        /// `Ссылка`: where to download the file (with the session header).
        pub url: Option<String> = "Ссылка" => Text,
        /// `ДвоичныеДанные`: the contents, base64 on the wire.
        pub data: Option<Base64Data> = "ДвоичныеДанные" => Binary,
        /// `Хеш`: the hash Saby computed (used for signing without downloading).
        pub hash: Option<String> = "Хеш" => Text,
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

wire_struct! {
    /// `Подпись`: a signature of an attachment.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Signature {
        /// `Тип`, e.g. `Отсоединенная` (detached).
        pub signature_type: Option<String> = "Тип" => Text,
        /// `Файл`: the signature file (`.p7s`).
        pub file: Option<FileRef> = "Файл" => Object,
        /// `Сертификат`: who signed.
        pub certificate: Option<Certificate> = "Сертификат" => Object,
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
