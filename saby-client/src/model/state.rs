//! `Состояние`: the document's state and its known codes.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::de::wire_struct;

wire_struct! {
    /// `Состояние{Код, Название, Описание, Примечание}`.
    ///
    /// `Описание` is text on most documents, but Tensor's own test output shows it as an array
    /// of `{Код, Название}` on others: such a value stays in `extra["Описание"]` (see
    /// [`State::description_items`]). A state sent without `Код` reads as
    /// `StateCode::Unknown("")`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct State {
        /// `Код` (sent as a number or a string).
        pub code: StateCode = "Код" => Code,
        /// `Название`.
        pub name: Option<String> = "Название" => Text,
        /// `Описание` (when sent as text).
        pub description: Option<String> = "Описание" => Text,
        /// `Примечание`.
        pub note: Option<String> = "Примечание" => Text,
    }
}

impl State {
    /// A state with just a code.
    pub fn new(code: StateCode) -> Self {
        Self {
            code,
            name: None,
            description: None,
            note: None,
            extra: Map::new(),
        }
    }
    /// Shorthand for `self.code.is_final()`.
    pub fn is_final(&self) -> bool {
        self.code.is_final()
    }
    /// `Описание` when Saby sent it as a list of `{Код, Название}`: the `Название` of each
    /// item (empty when it was text, see [`State::description`], or absent).
    pub fn description_items(&self) -> Vec<&str> {
        match self.extra.get("Описание") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.get("Название").and_then(Value::as_str))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// `Состояние.Код`: the known codes, with a catch-all for the others.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateCode {
    /// 0 — editing (a draft).
    Editing,
    /// 1 — has document.
    HasDocument,
    /// 2 — invitation sent.
    InvitationSent,
    /// 3 — sent.
    Sent,
    /// 4 — delivered.
    Delivered,
    /// 6 — error.
    Error,
    /// 7 — completed successfully.
    Completed,
    /// 9 — completed with problems (e.g. rejected).
    CompletedWithProblems,
    /// 10 — in processing.
    Processing,
    /// 19 — withdrawn by me.
    Withdrawn,
    /// 20 — deleted by the counterparty.
    DeletedByCounterparty,
    /// 22 — annulled by agreement of the parties.
    Annulled,
    /// 23 — awaiting signature.
    AwaitingSignature,
    /// 27 — awaiting annulment.
    AwaitingAnnulment,
    /// Any other code, as sent.
    Unknown(String),
}

impl StateCode {
    /// Maps a wire code (`"4"`, `4`) to the enum.
    pub fn from_code(code: &str) -> Self {
        match code.trim() {
            "0" => Self::Editing,
            "1" => Self::HasDocument,
            "2" => Self::InvitationSent,
            "3" => Self::Sent,
            "4" => Self::Delivered,
            "6" => Self::Error,
            "7" => Self::Completed,
            "9" => Self::CompletedWithProblems,
            "10" => Self::Processing,
            "19" => Self::Withdrawn,
            "20" => Self::DeletedByCounterparty,
            "22" => Self::Annulled,
            "23" => Self::AwaitingSignature,
            "27" => Self::AwaitingAnnulment,
            other => Self::Unknown(other.to_owned()),
        }
    }
    /// The wire code.
    pub fn code(&self) -> &str {
        match self {
            Self::Editing => "0",
            Self::HasDocument => "1",
            Self::InvitationSent => "2",
            Self::Sent => "3",
            Self::Delivered => "4",
            Self::Error => "6",
            Self::Completed => "7",
            Self::CompletedWithProblems => "9",
            Self::Processing => "10",
            Self::Withdrawn => "19",
            Self::DeletedByCounterparty => "20",
            Self::Annulled => "22",
            Self::AwaitingSignature => "23",
            Self::AwaitingAnnulment => "27",
            Self::Unknown(s) => s,
        }
    }
    /// True for states the workflow cannot leave: completed (7), completed with problems (9),
    /// withdrawn (19), deleted by the counterparty (20), annulled (22). Error (6) is not
    /// final: a stage can be repeated.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::CompletedWithProblems
                | Self::Withdrawn
                | Self::DeletedByCounterparty
                | Self::Annulled
        )
    }
}

impl fmt::Display for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for StateCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for StateCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StateCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a state code (number or string)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StateCode, E> {
                Ok(StateCode::from_code(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StateCode, E> {
                Ok(StateCode::from_code(&v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StateCode, E> {
                Ok(StateCode::from_code(&v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}
