//! `POST /api/bescan/add_document`: the upload request.

use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::client::{Call, Client};
use crate::error::{Endpoint, Error, Result};
use crate::model::{DocumentType, SetId};

/// A processing stage requested for a document (`options.stages`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// `verification`: validity checks.
    Verification,
    /// `biometry_match`: compare the face with a related document.
    BiometryMatch,
    /// `biometry_liveness`: liveness check.
    BiometryLiveness,
    /// Any other stage name, verbatim.
    Other(String),
}

impl Stage {
    /// The stage name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Stage::Verification => "verification",
            Stage::BiometryMatch => "biometry_match",
            Stage::BiometryLiveness => "biometry_liveness",
            Stage::Other(s) => s,
        }
    }
}

impl Serialize for Stage {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How one image should be processed (an entry of `process_info`).
///
/// ```
/// use beorg_client::{DocumentType, ProcessInfo, Stage};
/// let info = ProcessInfo::new("PASSPORT_REG1", DocumentType::PassportReg)
///     .stage(Stage::Verification);
/// assert_eq!(info.key(), "PASSPORT_REG1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    key: String,
    doc_type: DocumentType,
    stages: Vec<Stage>,
    relation: Vec<String>,
}

impl ProcessInfo {
    /// A document with this key (free text, to tell documents apart in the result)
    /// and type.
    pub fn new(key: impl Into<String>, doc_type: DocumentType) -> Self {
        Self {
            key: key.into(),
            doc_type,
            stages: Vec::new(),
            relation: Vec::new(),
        }
    }

    /// A document whose key is its type name.
    pub fn of_type(doc_type: DocumentType) -> Self {
        Self::new(doc_type.as_str().to_owned(), doc_type)
    }

    /// Adds a processing stage.
    pub fn stage(mut self, stage: Stage) -> Self {
        self.stages.push(stage);
        self
    }

    /// Links this document to another one of the same upload, by key (used by
    /// [`Stage::BiometryMatch`]).
    pub fn relation(mut self, key: impl Into<String>) -> Self {
        self.relation.push(key.into());
        self
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The document type.
    pub fn doc_type(&self) -> &DocumentType {
        &self.doc_type
    }

    /// The stages.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The related keys.
    pub fn relations(&self) -> &[String] {
        &self.relation
    }
}

impl Serialize for ProcessInfo {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Options<'a> {
            stages: &'a [Stage],
            relation: &'a [String],
        }
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("key", &self.key)?;
        m.serialize_entry("type", self.doc_type.as_str())?;
        m.serialize_entry(
            "options",
            &Options {
                stages: &self.stages,
                relation: &self.relation,
            },
        )?;
        m.end()
    }
}

/// A set of scans to upload: one employee's documents.
///
/// Images are raw file bytes (JPEG, PNG, PDF); the client base64-encodes them
/// straight into the request body without intermediate copies. Either every image
/// has a [`ProcessInfo`] or none has.
///
/// ```
/// use beorg_client::{DocumentType, ProcessInfo, UploadRequest};
/// let req = UploadRequest::new()
///     .image_with(vec![0xFF, 0xD8], ProcessInfo::of_type(DocumentType::Passport))
///     .image_with(vec![0xFF, 0xD8], ProcessInfo::of_type(DocumentType::Snils));
/// assert_eq!(req.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct UploadRequest {
    images: Vec<(Bytes, Option<ProcessInfo>)>,
}

impl std::fmt::Debug for UploadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadRequest")
            .field(
                "image_sizes",
                &self.images.iter().map(|(b, _)| b.len()).collect::<Vec<_>>(),
            )
            .field(
                "process_info",
                &self.images.iter().map(|(_, p)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl UploadRequest {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an image without processing info (Beorg classifies it).
    pub fn image(mut self, bytes: impl Into<Bytes>) -> Self {
        self.images.push((bytes.into(), None));
        self
    }

    /// Adds an image with its processing info.
    pub fn image_with(mut self, bytes: impl Into<Bytes>, info: ProcessInfo) -> Self {
        self.images.push((bytes.into(), Some(info)));
        self
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Total size of the raw images in bytes.
    pub fn total_bytes(&self) -> usize {
        self.images.iter().map(|(b, _)| b.len()).sum()
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.images.is_empty() {
            return Err(Error::InvalidInput(
                "an upload needs at least one image".into(),
            ));
        }
        if let Some(i) = self.images.iter().position(|(b, _)| b.is_empty()) {
            return Err(Error::InvalidInput(format!("image {i} is empty")));
        }
        let with_info = self.images.iter().filter(|(_, p)| p.is_some()).count();
        if with_info != 0 && with_info != self.images.len() {
            return Err(Error::InvalidInput(format!(
                "process_info must be given for every image or for none ({with_info} of {} have it)",
                self.images.len()
            )));
        }
        Ok(())
    }

    /// Serializes the JSON body, base64-encoding each image straight into the buffer.
    pub(crate) fn to_body(
        &self,
        project_id: &str,
        token: &str,
        machine_uid: Option<&str>,
    ) -> Result<Vec<u8>> {
        let encoded: usize = self
            .images
            .iter()
            .map(|(b, _)| base64::encoded_len(b.len(), true).unwrap_or(0))
            .sum();
        let mut buf = Vec::with_capacity(encoded + 512 + 128 * self.images.len());
        let body = UploadBody {
            project_id,
            token,
            machine_uid,
            req: self,
        };
        serde_json::to_writer(&mut buf, &body)
            .map_err(|e| Error::InvalidInput(format!("could not serialize the upload: {e}")))?;
        Ok(buf)
    }
}

struct UploadBody<'a> {
    project_id: &'a str,
    token: &'a str,
    machine_uid: Option<&'a str>,
    req: &'a UploadRequest,
}

struct Images<'a>(&'a [(Bytes, Option<ProcessInfo>)]);

struct B64<'a>(&'a [u8]);

impl Serialize for B64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // `collect_str` streams the Display output into serde_json's writer in
        // small chunks: no base64 String of the whole image is ever built.
        s.collect_str(&Base64Display::new(self.0, &STANDARD))
    }
}

impl Serialize for Images<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (bytes, _) in self.0 {
            seq.serialize_element(&B64(bytes))?;
        }
        seq.end()
    }
}

struct Infos<'a>(&'a [(Bytes, Option<ProcessInfo>)]);

impl Serialize for Infos<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for info in self.0.iter().filter_map(|(_, p)| p.as_ref()) {
            seq.serialize_element(info)?;
        }
        seq.end()
    }
}

impl Serialize for UploadBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("project_id", self.project_id)?;
        m.serialize_entry("token", self.token)?;
        if let Some(uid) = self.machine_uid {
            m.serialize_entry("machine_uid", uid)?;
        }
        m.serialize_entry("images", &Images(&self.req.images))?;
        if self.req.images.iter().any(|(_, p)| p.is_some()) {
            m.serialize_entry("process_info", &Infos(&self.req.images))?;
        }
        m.end()
    }
}

impl Client {
    /// Uploads a set of scans for recognition (`POST /api/bescan/add_document`) and
    /// returns the new set's id (`s-12345`).
    ///
    /// Fails with [`Error::InvalidInput`] before sending when the request has no
    /// images, an empty image, or `process_info` for only some images.
    ///
    /// An upload is **not** retried once the request may have reached the server
    /// (timeouts, 5xx, 429), because that could create a duplicate set; connect
    /// errors (the request never left) are retried. Opt in to full retries with
    /// [`ClientBuilder::retry_uploads`](crate::ClientBuilder::retry_uploads).
    pub async fn upload(&self, req: UploadRequest) -> Result<SetId> {
        req.validate()?;
        let body = Bytes::from(req.to_body(self.project_id(), self.token(), self.machine_uid())?);
        drop(req);
        let call = Call {
            endpoint: Endpoint::Upload,
            method: reqwest::Method::POST,
            url: self.endpoints().upload.clone(),
            body: Some(body),
            set_id: None,
            idempotent: self.inner.retry_uploads,
            deadline: None,
            pass_statuses: &[],
        };
        self.execute(&call, |raw| {
            #[derive(serde::Deserialize)]
            struct Answer {
                document_id: SetId,
            }
            self.decode::<Answer>(Endpoint::Upload, &raw)
                .map(|a| a.document_id)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::{Value, json};

    #[test]
    fn body_shape() {
        let req = UploadRequest::new()
            .image_with(
                b"hello".to_vec(),
                ProcessInfo::new("PASSPORT_REG1", DocumentType::PassportReg)
                    .stage(Stage::Verification),
            )
            .image_with(
                b"\xff\xfe".to_vec(),
                ProcessInfo::of_type(DocumentType::Snils).relation("PASSPORT_REG1"),
            );
        let body = req.to_body("U_RATE_2", "tok", Some("m1")).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({
                "project_id": "U_RATE_2", "token": "tok", "machine_uid": "m1",
                "images": ["aGVsbG8=", "//4="],
                "process_info": [
                    {"key": "PASSPORT_REG1", "type": "PASSPORT_REG", "options": {"stages": ["verification"], "relation": []}},
                    {"key": "SNILS", "type": "SNILS", "options": {"stages": [], "relation": ["PASSPORT_REG1"]}}
                ]
            })
        );
    }

    #[test]
    fn no_process_info_and_no_machine_uid() {
        let body = UploadRequest::new()
            .image(&b"abc"[..])
            .to_body("P", "t", None)
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"project_id": "P", "token": "t", "images": ["YWJj"]})
        );
    }

    #[test]
    fn large_image_is_encoded_in_one_buffer() {
        let image = vec![0xABu8; 3 * 1024 * 1024 + 1];
        let req = UploadRequest::new().image(image.clone());
        let body = req.to_body("P", "t", None).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        let decoded = STANDARD.decode(v["images"][0].as_str().unwrap()).unwrap();
        assert_eq!(decoded, image);
        // The buffer was sized up front: no reallocation to a larger capacity.
        assert!(body.capacity() <= base64::encoded_len(image.len(), true).unwrap() + 1024);
    }

    #[test]
    fn validation() {
        assert!(matches!(
            UploadRequest::new().validate(),
            Err(Error::InvalidInput(_))
        ));
        let mixed = UploadRequest::new()
            .image(vec![1])
            .image_with(vec![2], ProcessInfo::of_type(DocumentType::Inn));
        assert!(matches!(mixed.validate(), Err(Error::InvalidInput(_))));
        assert!(matches!(
            UploadRequest::new().image(Vec::new()).validate(),
            Err(Error::InvalidInput(_))
        ));
        assert!(UploadRequest::new().image(vec![1]).validate().is_ok());
    }
}
