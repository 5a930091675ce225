//! Serde helpers for Saby's wire quirks: `"Да"`/`"Нет"` flags, numbers sent as strings,
//! objects that may also arrive as arrays, dates in `ДД.ММ.ГГГГ` and base64 payloads.

use std::fmt;

use base64::Engine as _;
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use time::{Date, PrimitiveDateTime, Time};

/// `Option<bool>` written as `"Да"` / `"Нет"`; reads `"Да"`, `"Нет"`, booleans, `"true"`,
/// `"false"`, `"1"`, `"0"`, `1`, `0` and an empty string (as `None`).
pub(crate) mod yes_no {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(true) => s.serialize_str("Да"),
            Some(false) => s.serialize_str("Нет"),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_any(YesNoVisitor)
    }

    struct YesNoVisitor;

    impl<'de> Visitor<'de> for YesNoVisitor {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("\"Да\" or \"Нет\" (or a boolean)")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_yes_no(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(YesNoVisitor)
        }
    }

    pub(crate) fn parse_yes_no(v: &str) -> Option<Option<bool>> {
        let t = v.trim();
        if t.is_empty() {
            return Some(None);
        }
        let lower = t.to_lowercase();
        match lower.as_str() {
            "да" | "true" | "1" | "yes" => Some(Some(true)),
            "нет" | "false" | "0" | "no" => Some(Some(false)),
            _ => None,
        }
    }
}

/// `Option<String>` that also accepts numbers (`4` as well as `"4"`).
pub(crate) mod string_or_number {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(StrNum)
    }

    pub(crate) struct StrNum;

    impl<'de> Visitor<'de> for StrNum {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(StrNum)
        }
    }
}

/// `Vec<T>` that accepts `null`, a single object or an array.
pub(crate) mod one_or_many {
    use super::*;

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        // Decode through a Value so the element error (with its path) is reported for the
        // real shape instead of serde's opaque "did not match any variant".
        let v = Option::<serde_json::Value>::deserialize(d)?;
        match v {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    T::deserialize(item).map_err(|e| de::Error::custom(format_args!("[{i}]: {e}")))
                })
                .collect(),
            Some(serde_json::Value::String(s)) if s.is_empty() => Ok(Vec::new()),
            Some(other) => T::deserialize(other)
                .map(|one| vec![one])
                .map_err(de::Error::custom),
        }
    }
}

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[day].[month].[year]");
const TIME_DOT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[hour].[minute].[second]");
const TIME_COLON: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[hour]:[minute]:[second]");
const TIME_DOT_NO_SECONDS: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[hour].[minute]");

/// A Saby date (`ДД.ММ.ГГГГ`).
///
/// The wire text is always kept: when it does not parse (Saby has been seen sending other
/// shapes in free-form fields), [`SabyDate::date`] returns `None` and the raw text is sent
/// back unchanged — a strange date never makes a whole document fail to decode.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SabyDate {
    raw: String,
    parsed: Option<Date>,
}

impl SabyDate {
    /// Parses `ДД.ММ.ГГГГ`; anything else is kept as raw text.
    pub fn parse(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let parsed = Date::parse(raw.trim(), DATE_FORMAT).ok();
        Self { raw, parsed }
    }
    /// The parsed date, if the wire text was `ДД.ММ.ГГГГ`.
    pub fn date(&self) -> Option<Date> {
        self.parsed
    }
    /// The text as sent or received.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl From<Date> for SabyDate {
    fn from(d: Date) -> Self {
        let raw = d
            .format(DATE_FORMAT)
            .unwrap_or_else(|_| format!("{:02}.{:02}.{:04}", d.day(), d.month() as u8, d.year()));
        Self {
            raw,
            parsed: Some(d),
        }
    }
}

impl fmt::Debug for SabyDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SabyDate({:?})", self.raw)
    }
}

impl fmt::Display for SabyDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for SabyDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for SabyDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = d.deserialize_any(string_or_number::StrNum)?;
        Ok(Self::parse(s.unwrap_or_default()))
    }
}

/// A Saby date-time (`ДД.ММ.ГГГГ ЧЧ.ММ.СС`; `ЧЧ:ММ:СС` is accepted too).
///
/// Like [`SabyDate`], unparsable text is kept raw ([`SabyDateTime::datetime`] is `None`).
/// Saby sends local Moscow time without an offset, so this is a [`PrimitiveDateTime`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SabyDateTime {
    raw: String,
    parsed: Option<PrimitiveDateTime>,
}

impl SabyDateTime {
    /// Parses `ДД.ММ.ГГГГ ЧЧ.ММ.СС` (or with colons, or without seconds); anything else is
    /// kept as raw text.
    pub fn parse(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let parsed = parse_datetime(raw.trim());
        Self { raw, parsed }
    }
    /// The parsed date-time, if the wire text had a known shape.
    pub fn datetime(&self) -> Option<PrimitiveDateTime> {
        self.parsed
    }
    /// The text as sent or received.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

fn parse_datetime(s: &str) -> Option<PrimitiveDateTime> {
    let (d, t) = s.split_once(' ')?;
    let date = Date::parse(d, DATE_FORMAT).ok()?;
    let t = t.trim();
    // Drop fractional seconds or a trailing offset such as "+03".
    let t = t.split(['+', ',']).next().unwrap_or(t);
    let time = Time::parse(t, TIME_DOT)
        .or_else(|_| Time::parse(t, TIME_COLON))
        .or_else(|_| Time::parse(t, TIME_DOT_NO_SECONDS))
        .ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

impl From<PrimitiveDateTime> for SabyDateTime {
    fn from(dt: PrimitiveDateTime) -> Self {
        let raw = format!(
            "{:02}.{:02}.{:04} {:02}.{:02}.{:02}",
            dt.day(),
            dt.month() as u8,
            dt.year(),
            dt.hour(),
            dt.minute(),
            dt.second()
        );
        Self {
            raw,
            parsed: Some(dt),
        }
    }
}

impl fmt::Debug for SabyDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SabyDateTime({:?})", self.raw)
    }
}

impl fmt::Display for SabyDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for SabyDateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for SabyDateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = d.deserialize_any(string_or_number::StrNum)?;
        Ok(Self::parse(s.unwrap_or_default()))
    }
}

/// Binary file contents, base64 on the wire (`ДвоичныеДанные`).
///
/// Holds [`Bytes`] (cheap to clone). Serializing streams the base64 text straight into the
/// output writer (no intermediate `String` of the encoded file), so a 20 MB attachment costs
/// its bytes plus the request body, nothing more.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Base64Data(pub Bytes);

impl Base64Data {
    /// The decoded bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl fmt::Debug for Base64Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Data({} bytes)", self.0.len())
    }
}

impl From<Bytes> for Base64Data {
    fn from(b: Bytes) -> Self {
        Self(b)
    }
}

impl From<Vec<u8>> for Base64Data {
    fn from(b: Vec<u8>) -> Self {
        Self(Bytes::from(b))
    }
}

impl Serialize for Base64Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Base64Display::new(&self.0, &STANDARD))
    }
}

impl<'de> Deserialize<'de> for Base64Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let cleaned: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD
            .decode(cleaned.as_bytes())
            .map(|v| Self(Bytes::from(v)))
            .map_err(|e| de::Error::custom(format_args!("invalid base64: {e}")))
    }
}
