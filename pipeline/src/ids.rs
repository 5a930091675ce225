//! Deterministic identifiers for Saby documents and attachments.
//!
//! A Saby document's `Идентификатор` is chosen by the client. The pipeline
//! derives it from `(project, set id)` with UUID v5 under [`NAMESPACE`], so a
//! retried or resumed write updates the same document instead of creating a
//! second one — across restarts, machines and state-file loss.

use uuid::Uuid;

/// The fixed UUID v5 namespace of this SDK's document ids. Never change it:
/// doing so would make every resumed set create a new document.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x7528_618d_66b2_401e_84a6_5841_cfb4_5bfa);

/// The Saby document id of Beorg set `set_id` of `project`.
///
/// ```
/// let a = pipeline::ids::document_id("U_RATE_2", "s-12");
/// assert_eq!(a, pipeline::ids::document_id("U_RATE_2", "s-12"));
/// assert_ne!(a, pipeline::ids::document_id("U_RATE_3", "s-12"));
/// ```
pub fn document_id(project: &str, set_id: &str) -> Uuid {
    // Length-prefix the project so ("a/b", "c") and ("a", "b/c") differ.
    let name = format!("beorg-set:{}:{project}/{set_id}", project.len());
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// The id of the attachment named `file_name` of document `document_id`.
///
/// File names within one document are unique (the default mapper makes them
/// so), hence so are the ids.
pub fn attachment_id(document_id: &Uuid, file_name: &str) -> Uuid {
    Uuid::new_v5(document_id, format!("attachment:{file_name}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_ids_are_stable_v5() {
        let id = document_id("proj", "s-1");
        assert_eq!(id.get_version_num(), 5);
        assert_eq!(id, document_id("proj", "s-1"));
        assert_ne!(id, document_id("proj", "s-2"));
        assert_ne!(document_id("a/b", "c"), document_id("a", "b/c"));
    }

    #[test]
    fn attachment_ids_depend_on_document_and_name() {
        let d1 = document_id("p", "s-1");
        let d2 = document_id("p", "s-2");
        assert_eq!(attachment_id(&d1, "x.json"), attachment_id(&d1, "x.json"));
        assert_ne!(attachment_id(&d1, "x.json"), attachment_id(&d1, "y.json"));
        assert_ne!(attachment_id(&d1, "x.json"), attachment_id(&d2, "x.json"));
    }
}
