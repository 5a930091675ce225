//! Signing: the [`Signer`] trait the caller implements for client-side keys, and
//! [`ServerSigner`] for keys kept on Saby's servers.

use async_trait::async_trait;

use crate::error::Result;
use crate::model::{Attachment, Certificate, DocumentId, KeyType};

/// What [`crate::Client::perform`] asks a [`Signer`] to sign: one attachment returned by
/// `ПодготовитьДействие`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SignRequest<'a> {
    /// The document.
    pub document_id: &'a DocumentId,
    /// The stage name.
    pub stage: &'a str,
    /// The action name.
    pub action: &'a str,
    /// The attachment to sign (as returned by Prepare: `Файл{Имя, Ссылка, Хеш}`).
    pub attachment: &'a Attachment,
    /// The file's bytes (downloaded from `Ссылка`, or sent inline), when
    /// [`Signer::needs_content`] is true and Saby offered them.
    pub content: Option<&'a [u8]>,
    /// `Файл.Хеш`, when Saby computed it (sign the hash instead of the content).
    pub hash: Option<&'a str>,
    /// The certificate Saby offered for the action, if any.
    pub certificate: Option<&'a Certificate>,
    /// The key type of that certificate, if known.
    pub key_type: Option<&'a KeyType>,
}

/// Makes detached CMS signatures (`.p7s`) for client-side keys (`Ключ.Тип = Клиентский`).
///
/// Return `Ok(Some(der_bytes))` with a detached CMS signature of the attachment, or
/// `Ok(None)` to send no signature for it (an error is raised when the key type is
/// `Клиентский`: Saby would refuse the action).
#[async_trait]
pub trait Signer: Send + Sync {
    /// Signs one attachment.
    async fn sign(&self, request: SignRequest<'_>) -> Result<Option<Vec<u8>>>;

    /// Whether [`crate::Client::perform`] should download each file to sign (default
    /// `true`). Return `false` when you sign `Хеш` only.
    fn needs_content(&self) -> bool {
        true
    }
}

/// For certificates whose key lives on Saby's servers (`Серверный`, `Отложенный`,
/// `ОтложенныйСПодтверждением`): Saby signs, so this signer signs nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerSigner;

#[async_trait]
impl Signer for ServerSigner {
    async fn sign(&self, _request: SignRequest<'_>) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn needs_content(&self) -> bool {
        false
    }
}
