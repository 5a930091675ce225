//! Response and request models.

mod de;
mod document_type;
pub(crate) mod ready;
mod redacted;
mod result;
mod set_id;
mod views;

pub use document_type::DocumentType;
pub use ready::{ReadySet, ReadySets};
pub use result::{
    Check, CheckStatus, Confidences, Metadata, MetadataCheck, RecognitionResult,
    RecognizedDocument, ResultStatus, Verifications,
};
pub use set_id::{ParseSetIdError, SetId};
pub use views::{BirthCertificate, DateError, Gender, Passport, Rvp, Snils, parse_date};
