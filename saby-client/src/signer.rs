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

/// A shared signer signs as the signer it points to, so one `Arc` can be handed to several
/// clients or pipelines (`PipelineBuilder::signer` takes `impl Signer`).
#[async_trait]
impl<T: Signer + ?Sized> Signer for std::sync::Arc<T> {
    async fn sign(&self, request: SignRequest<'_>) -> Result<Option<Vec<u8>>> {
        (**self).sign(request).await
    }
    fn needs_content(&self) -> bool {
        (**self).needs_content()
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Signs with fixed bytes and asks for no content.
    struct Fixed;

    #[async_trait]
    impl Signer for Fixed {
        async fn sign(&self, _request: SignRequest<'_>) -> Result<Option<Vec<u8>>> {
            Ok(Some(b"p7s".to_vec()))
        }
        fn needs_content(&self) -> bool {
            false
        }
    }

    #[tokio::test]
    async fn a_shared_signer_forwards_to_the_signer_it_points_to() {
        let shared: Arc<dyn Signer> = Arc::new(Fixed);
        let id = DocumentId::from("d-1");
        let attachment = Attachment::default();
        let request = SignRequest {
            document_id: &id,
            stage: "Отправка",
            action: "Отправить",
            attachment: &attachment,
            content: None,
            hash: None,
            certificate: None,
            key_type: None,
        };
        assert!(!shared.needs_content());
        assert_eq!(shared.sign(request).await.unwrap(), Some(b"p7s".to_vec()));
        // And the blanket impl lets an `Arc` go where `impl Signer` is asked for.
        fn takes(_: impl Signer) {}
        takes(Arc::clone(&shared));
    }
}
