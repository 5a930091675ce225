//! Typed models of what Saby sends and receives, one file per concern.
//!
//! Every wire struct is declared once with `wire_struct!` (see `de.rs`): the struct, its
//! `Serialize` and its lenient `Deserialize` come from one field list. Decoding never fails
//! on a field whose type differs from the model (a number where text was expected is read as
//! text; an array where text was expected is kept raw in the struct's `extra` under its wire
//! key), so one odd document never fails a list or an event-feed page.

mod account;
mod de;
mod document;
mod events;
pub(crate) mod field;
mod files;
mod ids;
mod lists;
mod parties;
mod stages;
mod state;
pub(crate) mod wire;

pub(crate) use de::{WireKey, wire_struct};
pub(crate) use document::names_match;

pub use account::{Account, CurrentUser, ExternalInterface, VersionInfo};
pub use document::{Direction, Document, DocumentLink, Edition, Regulation};
pub use events::Event;
pub use files::{Attachment, FileRef, Signature};
pub use ids::{AttachmentId, DocumentId, EventId, StageId};
pub use lists::{DocumentFilter, DocumentPage, Navigation, ServiceStageFilter};
pub use parties::{Individual, LegalEntity, Party, Person};
pub use stages::{Action, Certificate, Key, KeyType, Stage};
pub use state::{State, StateCode};
pub use wire::{Base64Data, SabyDate, SabyDateTime};
