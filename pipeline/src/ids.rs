//! Deterministic identifiers for Saby documents and attachments.
//!
//! A Saby document's `Идентификатор` is chosen by the client. The pipeline
//! derives it from `(company, set id)` — the company being the Beorg client's
//! `project_id` — with UUID v5 under [`NAMESPACE`], so a retried or resumed
//! write updates the same document instead of creating a second one — across
//! restarts, machines and state-file loss — and two companies' sets with the
//! same id (set numbers are per company) never share a document.
//!
//! The id is derived once, when the set is first fetched, and stored with the
//! set; from then on the stored id is used, never derived again. So a state file
//! written by an older version (which derived it from a configured *project*)
//! keeps every document id it wrote. For a single-project state the derivation
//! is unchanged: `document_id(project, set)` with the client's project id gives
//! the same id as before.

use uuid::Uuid;

/// The fixed UUID v5 namespace of this SDK's document ids. Never change it:
/// doing so would make every resumed set create a new document.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x7528_618d_66b2_401e_84a6_5841_cfb4_5bfa);

/// The Saby document id of Beorg set `set_id` of `company`.
///
/// ```
/// let a = hr_docs_pipeline::ids::document_id("4821", "s-12");
/// assert_eq!(a, hr_docs_pipeline::ids::document_id("4821", "s-12"));
/// assert_ne!(a, hr_docs_pipeline::ids::document_id("7734", "s-12"));
/// ```
pub fn document_id(company: &str, set_id: &str) -> Uuid {
    // Length-prefix the company so ("a/b", "c") and ("a", "b/c") differ.
    let name = format!("beorg-set:{}:{company}/{set_id}", company.len());
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

    /// The ids the first release wrote — documents and attachments — pinned:
    /// derived independently (Python's `uuid.uuid5` over the same namespace and
    /// name), so a change to the derivation — which would make every resumed
    /// set create a new document, or duplicate its attachments — fails here.
    #[test]
    fn document_ids_are_the_ones_written_before() {
        for (company, set, id) in [
            ("U_RATE_2", "s-12", "e51bfe46-c33c-5b15-be43-2305965c14c9"),
            ("4821", "s-1", "42cd897e-a7bd-547b-9a14-035f84b48395"),
            ("SANDBOX", "s-1", "4702be5e-ce92-5edc-809b-1175f10c0b54"),
            // A Cyrillic name: the length prefix counts bytes (UTF-8), not characters.
            (
                "Кадры-Казань",
                "s-7",
                "6178473d-60d5-5f62-bc97-ef94948ee20e",
            ),
        ] {
            assert_eq!(document_id(company, set).to_string(), id, "{company} {set}");
        }
        for (company, set, file, id) in [
            (
                "4821",
                "s-1",
                "Паспорт_Иванов.json",
                "86e3cfdc-a66d-57d8-8335-015bed545f57",
            ),
            (
                "U_RATE_2",
                "s-12",
                "beorg_result_s-12.json",
                "935339db-0103-5594-9563-d8450cd169d2",
            ),
        ] {
            let doc = document_id(company, set);
            assert_eq!(
                attachment_id(&doc, file).to_string(),
                id,
                "{company} {set} {file}"
            );
        }
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
