//! Documents: write, attach, read, list, delete / restore / destroy, link, repeat a stage,
//! render XML to HTML.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{CallOptions, Client};
use crate::error::{Error, Result};
use crate::model::{
    Base64Data, Document, DocumentFilter, DocumentId, DocumentLink, DocumentPage, Navigation,
};
use crate::transport::decode;

/// The default page size of [`Client::list_documents`].
const DEFAULT_PAGE_SIZE: u32 = 50;

#[derive(Serialize)]
pub(crate) struct DocParam<'a> {
    #[serde(rename = "Документ")]
    pub(crate) document: &'a Document,
}

#[derive(Serialize)]
struct FilterParam<'a, F> {
    #[serde(rename = "Фильтр")]
    filter: &'a F,
}

impl Client {
    /// `СБИС.ЗаписатьДокумент`: creates a draft, a new edition, or updates a document, with
    /// its attachments (file bytes go out as base64, streamed into the request body).
    ///
    /// Retried on transient failures only when the write is idempotent by design: the
    /// document has an `Идентификатор` and so does every attachment.
    pub async fn write_document(&self, document: &Document) -> Result<Document> {
        let idempotent =
            document.id.is_some() && document.attachments.iter().all(|a| a.id.is_some());
        self.call_document("СБИС.ЗаписатьДокумент", &DocParam { document }, idempotent)
            .await
    }

    /// `СБИС.ЗаписатьВложение`: adds or replaces attachments of an unfinished document.
    /// `document` carries `Идентификатор`, `Вложение[]` and optionally `Редакция` / `Этап`.
    /// Idempotent (retried) when every attachment has its own `Идентификатор`.
    pub async fn write_attachments(&self, document: &Document) -> Result<Document> {
        if document.id.is_none() {
            return Err(Error::InvalidInput(
                "write_attachments needs the document's Идентификатор".to_owned(),
            ));
        }
        let idempotent = document.attachments.iter().all(|a| a.id.is_some());
        self.call_document("СБИС.ЗаписатьВложение", &DocParam { document }, idempotent)
            .await
    }

    /// `СБИС.ПрочитатьДокумент`: the latest edition.
    pub async fn read_document(&self, id: impl Into<DocumentId>) -> Result<Document> {
        let id = id.into();
        let params = json!({ "Документ": { "Идентификатор": id } });
        self.call_document("СБИС.ПрочитатьДокумент", &params, true)
            .await
    }

    /// `СБИС.ПрочитатьДокумент` for a given edition (`Редакция.Идентификатор`).
    pub async fn read_document_edition(
        &self,
        id: impl Into<DocumentId>,
        edition_id: &str,
    ) -> Result<Document> {
        let id = id.into();
        let params = json!({ "Документ": { "Идентификатор": id, "Редакция": { "Идентификатор": edition_id } } });
        self.call_document("СБИС.ПрочитатьДокумент", &params, true)
            .await
    }

    /// `СБИС.СписокДокументов`, one page (`page` is 0-based; the page size comes from the
    /// filter, default 50).
    pub async fn list_documents_page(
        &self,
        filter: &DocumentFilter,
        page: u32,
    ) -> Result<DocumentPage> {
        let mut filter = filter.clone();
        let size = filter
            .navigation
            .as_ref()
            .and_then(|n| n.page_size.as_deref())
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_PAGE_SIZE);
        filter.navigation = Some(Navigation::new(size, page));
        self.call("СБИС.СписокДокументов", &FilterParam { filter: &filter })
            .await
    }

    /// `СБИС.СписокДокументов` as a stream of documents, page after page
    /// (`Навигация{РазмерСтраницы, Страница}`) while `ЕстьЕще = Да`. An error ends the stream
    /// after being yielded.
    pub fn list_documents(
        &self,
        filter: DocumentFilter,
    ) -> impl Stream<Item = Result<Document>> + Send + 'static {
        struct St {
            client: Client,
            filter: DocumentFilter,
            page: u32,
            buffer: std::vec::IntoIter<Document>,
            more: bool,
        }
        let st = St {
            client: self.clone(),
            filter,
            page: 0,
            buffer: Vec::new().into_iter(),
            more: true,
        };
        futures::stream::unfold(st, |mut st| async move {
            loop {
                if let Some(doc) = st.buffer.next() {
                    return Some((Ok(doc), st));
                }
                if !st.more {
                    return None;
                }
                match st.client.list_documents_page(&st.filter, st.page).await {
                    Ok(page) => {
                        st.more = page.has_more() && !page.documents.is_empty();
                        st.page += 1;
                        st.buffer = page.documents.into_iter();
                    }
                    Err(e) => {
                        st.more = false;
                        return Some((Err(e), st));
                    }
                }
            }
        })
    }

    /// `СБИС.УдалитьДокумент`: moves the document to the bin (breaks off an unfinished flow).
    pub async fn delete_document(&self, id: impl Into<DocumentId>) -> Result<()> {
        self.document_op("СБИС.УдалитьДокумент", &id.into()).await
    }

    /// `СБИС.ВосстановитьДокумент`: restores a deleted document.
    pub async fn restore_document(&self, id: impl Into<DocumentId>) -> Result<()> {
        self.document_op("СБИС.ВосстановитьДокумент", &id.into())
            .await
    }

    /// `СБИС.УничтожитьДокумент`: destroys a document permanently.
    pub async fn destroy_document(&self, id: impl Into<DocumentId>) -> Result<()> {
        self.document_op("СБИС.УничтожитьДокумент", &id.into())
            .await
    }

    async fn document_op(&self, method: &str, id: &DocumentId) -> Result<()> {
        let params = json!({ "Документ": { "Идентификатор": id } });
        self.call_raw(method, &params, &CallOptions::new()).await?;
        Ok(())
    }

    /// Links `document_id` to a base document (`ДокументОснование`) through
    /// `СБИС.ЗаписатьДокумент`; `kind` is `ВидСвязи`.
    pub async fn link_documents(
        &self,
        document_id: impl Into<DocumentId>,
        base_id: impl Into<DocumentId>,
        kind: Option<&str>,
    ) -> Result<Document> {
        let doc = Document::new(document_id).with_base(DocumentLink::to(base_id, kind));
        self.write_document(&doc).await
    }

    /// `СБИС.ПовторитьЭтап`: repeats a stage (e.g. after an error).
    pub async fn repeat_stage(
        &self,
        document_id: impl Into<DocumentId>,
        stage: &str,
    ) -> Result<Document> {
        let document_id = document_id.into();
        let params =
            json!({ "Документ": { "Идентификатор": document_id, "Этап": { "Название": stage } } });
        self.call_document("СБИС.ПовторитьЭтап", &params, false)
            .await
    }

    /// `СБИС.СформироватьHTMLИзXML`: renders a formalized XML document to HTML.
    pub async fn render_html(&self, xml: impl Into<Bytes>) -> Result<Bytes> {
        #[derive(Serialize)]
        struct P {
            #[serde(rename = "Параметр")]
            param: X,
        }
        #[derive(Serialize)]
        struct X {
            #[serde(rename = "XML")]
            xml: Base64Data,
        }
        #[derive(Deserialize)]
        struct R {
            #[serde(rename = "HTML")]
            html: String,
        }
        let method = "СБИС.СформироватьHTMLИзXML";
        let params = P {
            param: X {
                xml: Base64Data(xml.into()),
            },
        };
        let raw = self
            .call_raw(method, &params, &CallOptions::new().idempotent(true))
            .await?;
        let r: R = decode(method, 200, "result", raw.get(), false)?;
        let cleaned: String = r
            .html
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        STANDARD
            .decode(cleaned.as_bytes())
            .map(Bytes::from)
            .map_err(|e| Error::Decode {
                method: method.to_owned(),
                path: "result.HTML".to_owned(),
                status: 200,
                // The document rendered: never quoted.
                excerpt: String::new(),
                source: serde::de::Error::custom(format_args!("invalid base64: {e}")),
            })
    }
}
