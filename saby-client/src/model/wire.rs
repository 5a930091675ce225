//! Serde helpers for Saby's wire quirks: `"Да"`/`"Нет"` flags, numbers sent as strings,
//! objects that may also arrive as arrays, dates in `ДД.ММ.ГГГГ` and base64 payloads.

use std::fmt;

use base64::Engine as _;
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use time::{Date, PrimitiveDateTime, Time};

/// Flags: `Option<bool>` written as `"Да"` / `"Нет"`; [`yes_no::parse_yes_no`] reads `"Да"`,
/// `"Нет"` (any case), `"true"`, `"false"`, `"1"`, `"0"` and an empty string (as `None`).
pub(crate) mod yes_no {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(true) => s.serialize_str("Да"),
            Some(false) => s.serialize_str("Нет"),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn parse_yes_no(v: &str) -> Option<Option<bool>> {
        // Exact wire spellings first: no allocation on the common path.
        match v {
            "Да" => return Some(Some(true)),
            "Нет" => return Some(Some(false)),
            _ => {}
        }
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

/// Text that also accepts numbers (`4` as well as `"4"`), for the date types' own `Deserialize`.
pub(crate) mod string_or_number {
    use super::*;

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

    /// Decodes base64 text (line breaks and spaces ignored); `None` when it is not base64.
    ///
    /// Decoded straight from the text; a copy only when it holds line breaks or spaces
    /// (ASCII whitespace never occurs inside a multi-byte character).
    pub(crate) fn decode_text(text: &str) -> Option<Self> {
        let decoded = if text.bytes().any(|b| b.is_ascii_whitespace()) {
            let cleaned: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            STANDARD.decode(cleaned)
        } else {
            STANDARD.decode(text.as_bytes())
        };
        decoded.ok().map(|v| Base64Data(Bytes::from(v)))
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
        struct B64Visitor;
        impl Visitor<'_> for B64Visitor {
            type Value = Base64Data;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64Data, E> {
                Base64Data::decode_text(v).ok_or_else(|| de::Error::custom("invalid base64"))
            }
        }
        d.deserialize_str(B64Visitor)
    }
}
