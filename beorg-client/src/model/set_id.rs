//! The opaque id of a set of documents.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use compact_str::{CompactString, ToCompactString as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The id of a *set* (a «комплект» of one employee's documents), such as `"s-12345"`.
///
/// Ids are opaque strings that keep their `s-` prefix. Beorg sometimes sends them as
/// bare numbers: deserializing `16` gives `"s-16"`. A string is kept verbatim
/// (`"16"` stays `"16"`, which the result endpoint reads as a single document id on
/// passport-only contours).
///
/// Ordering is numeric where both ids have a number (`s-9 < s-10`), then textual.
///
/// An id of up to 24 bytes (every `s-<number>`) is stored inline, without an allocation:
/// a first poll over a year's backlog holds hundreds of thousands of them.
///
/// ```
/// use beorg_client::SetId;
/// let id = SetId::from_number(16);
/// assert_eq!(id.as_str(), "s-16");
/// assert_eq!(id.number(), Some(16));
/// assert_eq!("s-16".parse::<SetId>().unwrap(), id);
/// assert!(SetId::from_number(9) < SetId::from_number(10));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SetId(CompactString);

impl SetId {
    /// An id taken verbatim (no prefix added).
    pub fn new(id: impl Into<String>) -> Self {
        let id: String = id.into();
        Self(CompactString::from(id.as_str()))
    }

    /// The id `s-N` of set number `n`.
    pub fn from_number(n: u64) -> Self {
        let mut id = CompactString::const_new("s-");
        id.push_str(&n.to_compact_string());
        Self(id)
    }

    /// The set number: `s-16` and `16` give `Some(16)`; anything else `None`.
    pub fn number(&self) -> Option<u64> {
        let digits = self.0.strip_prefix("s-").unwrap_or(&self.0);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the id, returning the string.
    pub fn into_string(self) -> String {
        self.0.into_string()
    }
}

impl fmt::Debug for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetId({:?})", self.0)
    }
}

impl fmt::Display for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SetId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<u64> for SetId {
    fn from(n: u64) -> Self {
        Self::from_number(n)
    }
}

impl Ord for SetId {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.number(), other.number()) {
            (Some(a), Some(b)) => a.cmp(&b).then_with(|| self.0.cmp(&other.0)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.0.cmp(&other.0),
        }
    }
}

impl PartialOrd for SetId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The error of parsing an empty or blank [`SetId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a set id must not be empty or contain whitespace or `/`")]
pub struct ParseSetIdError;

impl FromStr for SetId {
    type Err = ParseSetIdError;

    /// Accepts any non-empty string without whitespace or `/`, verbatim.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(ParseSetIdError);
        }
        Ok(Self(CompactString::from(s)))
    }
}

impl Serialize for SetId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SetId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = SetId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a set id: a string like \"s-16\" or a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SetId, E> {
                Ok(SetId::from_number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SetId, E> {
                u64::try_from(v)
                    .map(SetId::from_number)
                    .map_err(|_| E::custom(format!("negative set id {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SetId, E> {
                let v = v.trim();
                if v.is_empty() {
                    return Err(E::custom("empty set id"));
                }
                Ok(SetId(CompactString::from(v)))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings() {
        let a: SetId = serde_json::from_str("16").unwrap();
        let b: SetId = serde_json::from_str("\"s-16\"").unwrap();
        assert_eq!(a, b);
        let c: SetId = serde_json::from_str("\"16\"").unwrap();
        assert_eq!(c.as_str(), "16");
        assert_eq!(c.number(), Some(16));
        assert!(serde_json::from_str::<SetId>("\"\"").is_err());
        assert!(serde_json::from_str::<SetId>("-1").is_err());
        assert!(serde_json::from_str::<SetId>("true").is_err());
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"s-16\"");
        assert_eq!(SetId::new("s-x").number(), None);
        assert!("a b".parse::<SetId>().is_err());
    }

    #[test]
    fn short_ids_are_inline_and_long_ids_kept_whole() {
        assert_eq!(std::mem::size_of::<SetId>(), 24);
        let n = SetId::from_number(u64::MAX);
        assert_eq!(n.as_str(), format!("s-{}", u64::MAX));
        assert!(!n.0.is_heap_allocated(), "s-<u64> fits inline");
        assert_eq!(n.number(), Some(u64::MAX));
        let long = "комплект-сотрудника-0000000001";
        let id: SetId = long.parse().unwrap();
        assert_eq!(id.as_str(), long);
        assert_eq!(id.clone().into_string(), long);
        assert_eq!(SetId::new(long.to_owned()), id);
        assert!(!SetId::new("s-0").0.is_heap_allocated());
    }

    #[test]
    fn ordering_is_numeric() {
        let mut v = vec![
            SetId::new("zzz"),
            SetId::from_number(10),
            SetId::from_number(9),
        ];
        v.sort();
        assert_eq!(
            v,
            vec![
                SetId::from_number(9),
                SetId::from_number(10),
                SetId::new("zzz")
            ]
        );
    }
}
