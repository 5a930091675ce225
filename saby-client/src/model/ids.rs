//! Typed identifiers: a document id cannot be passed where a stage id belongs.
//!
//! Each is a string newtype (Saby's identifiers are GUIDs or other text), serialized as the
//! plain string (serde-transparent), with `Display`, `AsRef<str>`, `Borrow<str>` (so a
//! `HashMap<DocumentId, _>` is looked up with a `&str`), `From<String>` / `From<&str>`,
//! `FromStr` and comparisons with `str`. Nothing converts one kind of id into another.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier as Saby sends it.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                Self(id.clone())
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self(s.to_owned()))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl crate::model::field::TextLike for $name {
            fn from_text(text: String) -> Self {
                Self(text)
            }
            fn as_text(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type! {
    /// `Документ.Идентификатор`: a document's id (a GUID, often chosen by the client, which
    /// makes writes idempotent).
    ///
    /// ```
    /// use saby_client::DocumentId;
    ///
    /// let id = DocumentId::from("3f1c2a9e-0000-4000-8000-000000000001");
    /// assert_eq!(id, "3f1c2a9e-0000-4000-8000-000000000001");
    /// assert_eq!(serde_json::to_string(&id).unwrap(), r#""3f1c2a9e-0000-4000-8000-000000000001""#);
    /// ```
    DocumentId
}

id_type! {
    /// `Вложение.Идентификатор`: an attachment's id.
    AttachmentId
}

id_type! {
    /// `Этап.Идентификатор`: a workflow stage's id.
    StageId
}

id_type! {
    /// `Событие.Идентификатор`: an event's id.
    EventId
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id: DocumentId = serde_json::from_str(r#""abc""#).unwrap();
        assert_eq!(id.as_str(), "abc");
        assert_eq!(serde_json::to_value(&id).unwrap(), serde_json::json!("abc"));
        assert_eq!(id.to_string(), "abc");
        assert_eq!(format!("{id:?}"), r#"DocumentId("abc")"#);
        assert_eq!("abc".parse::<StageId>().unwrap(), "abc");
    }

    #[test]
    fn a_map_of_ids_is_looked_up_with_text() {
        let mut m = HashMap::new();
        m.insert(DocumentId::from("d-1"), 1);
        assert_eq!(m.get("d-1"), Some(&1));
    }

    #[test]
    fn comparisons_with_text_both_ways() {
        let id = EventId::new(String::from("e"));
        let text = String::from("e");
        assert_eq!(id, "e");
        assert_eq!("e", id);
        assert_eq!(id, *"e");
        assert_eq!(id, text);
        assert_eq!(String::from(id.clone()), "e");
        assert_eq!(AttachmentId::from(&String::from("a")).into_string(), "a");
        assert_eq!(EventId::from(&id), id);
    }
}
