//! Typed models of what Saby sends and receives.

mod de;
mod document;
mod lists;
mod state;
pub(crate) mod wire;

pub(crate) use de::WireKey;
pub(crate) use document::names_match;
pub use document::{
    Action, Attachment, Certificate, Direction, Document, DocumentLink, Edition, Event, FileRef,
    Individual, Key, KeyType, LegalEntity, Party, Person, Regulation, Signature, Stage,
};
pub use lists::{
    Account, CurrentUser, DocumentFilter, DocumentPage, Navigation, ServiceStageFilter, VersionInfo,
};
pub use state::{State, StateCode};
pub use wire::{Base64Data, SabyDate, SabyDateTime};
