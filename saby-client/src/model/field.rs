//! Lenient per-field decoding: how each kind of wire field is read and written.
//!
//! Saby varies the type of a field between documents (Tensor's own test output shows
//! `Состояние.Описание` as a string on one document and as an array of `{Код, Название}` on
//! another; numbers come as strings and strings as numbers; flags are `"Да"`/`"Нет"` or
//! booleans). A field whose value does not fit the model must never fail the document, let
//! alone a whole list or feed page: every kind below reads the shapes it understands into
//! the typed field and hands anything else back as a raw [`Value`], which the struct keeps in
//! its `extra` map under the field's wire key. Only a broken body (bad JSON syntax, a cut-off
//! answer) is still an error.
//!
//! The typed path reads straight from the input, as a derive would: a `serde_json::Value` is
//! built only for the unexpected subtree. Each kind is a unit struct implementing [`Kind`] for
//! the field types it serves; the `wire_struct!` macro picks the kind named in the field list.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::document::Direction;
use super::stages::KeyType;
use super::state::StateCode;
use super::wire::{Base64Data, SabyDate, SabyDateTime, yes_no};

/// A field value as read: the typed value (its "missing" value when the wire had something
/// else) and, when the wire value did not fit, that value as received.
pub(crate) struct Lenient<T> {
    pub(crate) value: T,
    /// Boxed: the typed path moves this struct for every field, and a `Value` (with
    /// `preserve_order`) is several words wide.
    pub(crate) raw: Option<Box<Value>>,
}

/// A raw value to keep.
fn kept(value: Value) -> Option<Box<Value>> {
    Some(Box::new(value))
}

impl<T> Lenient<T> {
    fn typed(value: T) -> Self {
        Self { value, raw: None }
    }
}

/// How one kind of field is read, written and recognised as absent.
pub(crate) trait Kind<T> {
    /// The value of a field not sent (or sent in a shape the kind does not read).
    fn missing() -> T;
    /// Reads the field; errors only on a broken input.
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<T>, D::Error>;
    /// What to serialize for the field.
    fn ser(value: &T) -> impl Serialize + '_;
    /// True when the field is not written at all.
    fn absent(value: &T) -> bool;
}

/// The seed handing one map value to its kind.
pub(crate) struct Seed<K, T>(PhantomData<(K, T)>);

impl<K, T> Seed<K, T> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, K: Kind<T>, T> DeserializeSeed<'de> for Seed<K, T> {
    type Value = Lenient<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Lenient<T>, D::Error> {
        K::decode(d)
    }
}

fn raw_map<'de, A: de::MapAccess<'de>>(map: A) -> Result<Value, A::Error> {
    Value::deserialize(MapAccessDeserializer::new(map))
}

fn raw_seq<'de, A: de::SeqAccess<'de>>(seq: A) -> Result<Value, A::Error> {
    Value::deserialize(SeqAccessDeserializer::new(seq))
}

fn number_u64(v: u64) -> Value {
    Value::from(v)
}

fn number_i64(v: i64) -> Value {
    Value::from(v)
}

fn number_f64(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// Implements the `Visitor` methods every lenient visitor shares: `null` is missing, an
/// `Option` wrapper is looked through, and each listed JSON type is kept raw.
macro_rules! raw_visits {
    (bool) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Lenient { value: Self::missing(), raw: kept(Value::Bool(v)) })
        }
    };
    (numbers) => {
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Lenient { value: Self::missing(), raw: kept(number_u64(v)) })
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Lenient { value: Self::missing(), raw: kept(number_i64(v)) })
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Lenient { value: Self::missing(), raw: kept(number_f64(v)) })
        }
    };
    (str) => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Lenient { value: Self::missing(), raw: kept(Value::String(v.to_owned())) })
        }
    };
    (map) => {
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Ok(Lenient { value: Self::missing(), raw: kept(raw_map(map)?) })
        }
    };
    (seq) => {
        fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Ok(Lenient { value: Self::missing(), raw: kept(raw_seq(seq)?) })
        }
    };
    (null) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Lenient::typed(Self::missing()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Lenient::typed(Self::missing()))
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    };
    ($($kind:ident),+) => { $( raw_visits!($kind); )+ };
}

// ----- text -----

/// Text: a string, or a number written as text (`4` reads as `"4"`). Anything else is kept
/// raw.
pub(crate) struct Text;

struct TextVisitor;

impl TextVisitor {
    fn missing() -> Option<String> {
        None
    }
}

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Lenient<Option<String>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(v.to_string())))
    }
    raw_visits!(bool, map, seq, null);
}

/// The Rust type of a [`Text`] field: `String`, or one of the typed ids
/// ([`crate::DocumentId`]...), read and written as the same text.
pub(crate) trait TextLike {
    /// Wraps the text read.
    fn from_text(text: String) -> Self;
    /// The text to write.
    fn as_text(&self) -> &str;
}

impl TextLike for String {
    fn from_text(text: String) -> Self {
        text
    }
    fn as_text(&self) -> &str {
        self
    }
}

impl<T: TextLike> Kind<Option<T>> for Text {
    fn missing() -> Option<T> {
        None
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<Option<T>>, D::Error> {
        let read = d.deserialize_any(TextVisitor)?;
        Ok(Lenient {
            value: read.value.map(T::from_text),
            raw: read.raw,
        })
    }
    fn ser(value: &Option<T>) -> impl Serialize + '_ {
        value.as_ref().map(T::as_text)
    }
    fn absent(value: &Option<T>) -> bool {
        value.is_none()
    }
}

// ----- flags -----

/// A flag: `"Да"`/`"Нет"` (any case), booleans, `"true"`/`"false"`, `1`/`0`; an empty string
/// is missing. Written as `"Да"`/`"Нет"`. Other text or types are kept raw.
pub(crate) struct Flag;

struct FlagVisitor;

impl FlagVisitor {
    fn missing() -> Option<bool> {
        None
    }
}

impl<'de> Visitor<'de> for FlagVisitor {
    type Value = Lenient<Option<bool>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"Да\" or \"Нет\"")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(match v {
            0 => Lenient::typed(Some(false)),
            1 => Lenient::typed(Some(true)),
            _ => Lenient {
                value: None,
                raw: kept(number_u64(v)),
            },
        })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(match v {
            0 => Lenient::typed(Some(false)),
            1 => Lenient::typed(Some(true)),
            _ => Lenient {
                value: None,
                raw: kept(number_i64(v)),
            },
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match yes_no::parse_yes_no(v) {
            Some(flag) => Lenient::typed(flag),
            None => Lenient {
                value: None,
                raw: kept(Value::String(v.to_owned())),
            },
        })
    }
    raw_visits!(map, seq, null);
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Lenient {
            value: None,
            raw: kept(number_f64(v)),
        })
    }
}

/// Writes `Option<bool>` as `"Да"` / `"Нет"`.
pub(crate) struct YesNo<'a>(&'a Option<bool>);

impl Serialize for YesNo<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        yes_no::serialize(self.0, s)
    }
}

impl Kind<Option<bool>> for Flag {
    fn missing() -> Option<bool> {
        None
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<Option<bool>>, D::Error> {
        d.deserialize_any(FlagVisitor)
    }
    fn ser(value: &Option<bool>) -> impl Serialize + '_ {
        YesNo(value)
    }
    fn absent(value: &Option<bool>) -> bool {
        value.is_none()
    }
}

// ----- values made from text: dates, names -----

/// A value read from the wire's text (a number counts as its text).
pub(crate) trait FromWireText: Sized {
    fn from_wire_text(text: String) -> Self;
}

impl FromWireText for SabyDate {
    fn from_wire_text(text: String) -> Self {
        SabyDate::parse(text)
    }
}

impl FromWireText for SabyDateTime {
    fn from_wire_text(text: String) -> Self {
        SabyDateTime::parse(text)
    }
}

impl FromWireText for Direction {
    fn from_wire_text(text: String) -> Self {
        Direction::from_wire(text)
    }
}

impl FromWireText for KeyType {
    fn from_wire_text(text: String) -> Self {
        KeyType::from_wire(text)
    }
}

/// A value parsed from text: dates and date-times (which keep their text even when it does not
/// parse) and the name enums (`Направление`, `Ключ.Тип`, which keep unknown names in
/// `Unknown`). A number counts as its text; objects, arrays and booleans are kept raw.
pub(crate) struct Parsed;

struct ParsedVisitor<T>(PhantomData<T>);

impl<T> ParsedVisitor<T> {
    fn missing() -> Option<T> {
        None
    }
}

impl<'de, T: FromWireText> Visitor<'de> for ParsedVisitor<T> {
    type Value = Lenient<Option<T>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(T::from_wire_text(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(T::from_wire_text(v))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(T::from_wire_text(v.to_string()))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(T::from_wire_text(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Lenient::typed(Some(T::from_wire_text(v.to_string()))))
    }
    raw_visits!(bool, map, seq, null);
}

impl<T: FromWireText + Serialize> Kind<Option<T>> for Parsed {
    fn missing() -> Option<T> {
        None
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<Option<T>>, D::Error> {
        d.deserialize_any(ParsedVisitor(PhantomData))
    }
    fn ser(value: &Option<T>) -> impl Serialize + '_ {
        value
    }
    fn absent(value: &Option<T>) -> bool {
        value.is_none()
    }
}

// ----- state codes -----

/// `Состояние.Код`: a number or a string. Missing (or another type, kept raw):
/// `StateCode::Unknown("")`.
pub(crate) struct Code;

struct CodeVisitor;

impl CodeVisitor {
    fn missing() -> StateCode {
        StateCode::Unknown(String::new())
    }
}

impl<'de> Visitor<'de> for CodeVisitor {
    type Value = Lenient<StateCode>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a state code (number or string)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lenient::typed(StateCode::from_code(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Lenient::typed(StateCode::from_code(&v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Lenient::typed(StateCode::from_code(&v.to_string())))
    }
    raw_visits!(bool, map, seq, null);
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Lenient {
            value: Self::missing(),
            raw: kept(number_f64(v)),
        })
    }
}

impl Kind<StateCode> for Code {
    fn missing() -> StateCode {
        CodeVisitor::missing()
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<StateCode>, D::Error> {
        d.deserialize_any(CodeVisitor)
    }
    fn ser(value: &StateCode) -> impl Serialize + '_ {
        value
    }
    fn absent(value: &StateCode) -> bool {
        matches!(value, StateCode::Unknown(s) if s.is_empty())
    }
}

// ----- base64 -----

/// `ДвоичныеДанные`: base64 text (line breaks and spaces ignored). Text that is not base64,
/// and any other type, is kept raw.
pub(crate) struct Binary;

struct BinaryVisitor;

impl BinaryVisitor {
    fn missing() -> Option<Base64Data> {
        None
    }
}

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Lenient<Option<Base64Data>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("base64 text")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match Base64Data::decode_text(v) {
            Some(data) => Lenient::typed(Some(data)),
            None => Lenient {
                value: None,
                raw: kept(Value::String(v.to_owned())),
            },
        })
    }
    raw_visits!(bool, numbers, map, seq, null);
}

impl Kind<Option<Base64Data>> for Binary {
    fn missing() -> Option<Base64Data> {
        None
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<Option<Base64Data>>, D::Error> {
        d.deserialize_any(BinaryVisitor)
    }
    fn ser(value: &Option<Base64Data>) -> impl Serialize + '_ {
        value
    }
    fn absent(value: &Option<Base64Data>) -> bool {
        value.is_none()
    }
}

// ----- free-form JSON -----

/// A field kept as JSON whatever it holds (`null` is missing).
pub(crate) struct Json;

impl Kind<Option<Value>> for Json {
    fn missing() -> Option<Value> {
        None
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<Option<Value>>, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(Lenient::typed((!v.is_null()).then_some(v)))
    }
    fn ser(value: &Option<Value>) -> impl Serialize + '_ {
        value
    }
    fn absent(value: &Option<Value>) -> bool {
        value.is_none()
    }
}

// ----- nested objects -----

/// A nested object (`Регламент`, `Файл`, `Состояние`...), itself a lenient wire struct. `null`
/// and `""` are missing; an array, a number, other text or a boolean is kept raw.
pub(crate) struct Object;

struct ObjectVisitor<T>(PhantomData<T>);

impl<T> ObjectVisitor<T> {
    fn missing() -> Option<T> {
        None
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Lenient<Option<T>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|v| Lenient::typed(Some(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(if v.trim().is_empty() {
            Lenient::typed(None)
        } else {
            Lenient {
                value: None,
                raw: kept(Value::String(v.to_owned())),
            }
        })
    }
    raw_visits!(bool, numbers, seq, null);
}

impl<T: for<'de> Deserialize<'de> + Serialize> Kind<Option<T>> for Object {
    fn missing() -> Option<T> {
        None
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<Option<T>>, D::Error> {
        d.deserialize_any(ObjectVisitor(PhantomData))
    }
    fn ser(value: &Option<T>) -> impl Serialize + '_ {
        value
    }
    fn absent(value: &Option<T>) -> bool {
        value.is_none()
    }
}

/// [`Object`] behind a `Box` (a document inside a document link).
pub(crate) struct Boxed;

impl<T: for<'de> Deserialize<'de> + Serialize> Kind<Option<Box<T>>> for Boxed {
    fn missing() -> Option<Box<T>> {
        None
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<Option<Box<T>>>, D::Error> {
        let l = <Object as Kind<Option<T>>>::decode(d)?;
        Ok(Lenient {
            value: l.value.map(Box::new),
            raw: l.raw,
        })
    }
    fn ser(value: &Option<Box<T>>) -> impl Serialize + '_ {
        value
    }
    fn absent(value: &Option<Box<T>>) -> bool {
        value.is_none()
    }
}

// ----- lists -----

/// A list of objects, sent as an array, a single object, `null` or `""`. Items that are not
/// objects are kept raw (as an array of those items); another type for the whole field is
/// kept raw as sent.
pub(crate) struct List;

enum Item<T> {
    Typed(T),
    Raw(Value),
    Skip,
}

struct ItemSeed<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ItemSeed<T> {
    type Value = Item<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ItemSeed<T> {
    type Value = Item<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Item<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Item::Typed)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Item<T>, A::Error> {
        raw_seq(seq).map(Item::Raw)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Item<T>, E> {
        Ok(Item::Raw(Value::String(v.to_owned())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Item<T>, E> {
        Ok(Item::Raw(Value::Bool(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Item<T>, E> {
        Ok(Item::Raw(number_u64(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Item<T>, E> {
        Ok(Item::Raw(number_i64(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Item<T>, E> {
        Ok(Item::Raw(number_f64(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Item<T>, E> {
        Ok(Item::Skip)
    }
    fn visit_none<E: de::Error>(self) -> Result<Item<T>, E> {
        Ok(Item::Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Item<T>, D::Error> {
        d.deserialize_any(self)
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<T> ListVisitor<T> {
    fn missing() -> Vec<T> {
        Vec::new()
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = Lenient<Vec<T>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array, an object or null")
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Cap the hint: it comes from the input.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        let mut raw = Vec::new();
        while let Some(item) = seq.next_element_seed(ItemSeed::<T>(PhantomData))? {
            match item {
                Item::Typed(t) => items.push(t),
                Item::Raw(v) => raw.push(v),
                Item::Skip => {}
            }
        }
        Ok(Lenient {
            value: items,
            raw: (!raw.is_empty()).then(|| Box::new(Value::Array(raw))),
        })
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|one| Lenient::typed(vec![one]))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(if v.trim().is_empty() {
            Lenient::typed(Vec::new())
        } else {
            Lenient {
                value: Vec::new(),
                raw: kept(Value::String(v.to_owned())),
            }
        })
    }
    raw_visits!(bool, numbers, null);
}

impl<T: for<'de> Deserialize<'de> + Serialize> Kind<Vec<T>> for List {
    fn missing() -> Vec<T> {
        Vec::new()
    }
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Lenient<Vec<T>>, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
    fn ser(value: &Vec<T>) -> impl Serialize + '_ {
        value
    }
    fn absent(value: &Vec<T>) -> bool {
        value.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<K: Kind<T>, T>(json: &str) -> Lenient<T> {
        let mut de = serde_json::Deserializer::from_str(json);
        Seed::<K, T>::new().deserialize(&mut de).unwrap()
    }

    #[test]
    fn text_reads_strings_and_numbers_and_keeps_the_rest() {
        assert_eq!(
            read::<Text, Option<String>>(r#""x""#).value.as_deref(),
            Some("x")
        );
        assert_eq!(
            read::<Text, Option<String>>("42").value.as_deref(),
            Some("42")
        );
        assert_eq!(
            read::<Text, Option<String>>("-1.5").value.as_deref(),
            Some("-1.5")
        );
        assert!(read::<Text, Option<String>>("null").value.is_none());
        let odd = read::<Text, Option<String>>(r#"[{"Код":"1"}]"#);
        assert!(odd.value.is_none());
        assert_eq!(odd.raw.unwrap()[0]["Код"], "1");
        assert_eq!(
            read::<Text, Option<String>>("true").raw,
            kept(Value::Bool(true))
        );
    }

    #[test]
    fn flags_read_every_spelling_and_keep_strange_ones() {
        for (json, want) in [
            (r#""Да""#, Some(true)),
            (r#""нет""#, Some(false)),
            ("true", Some(true)),
            ("0", Some(false)),
            (r#""""#, None),
            ("null", None),
        ] {
            let l = read::<Flag, Option<bool>>(json);
            assert_eq!(l.value, want, "{json}");
            assert!(l.raw.is_none(), "{json}");
        }
        let odd = read::<Flag, Option<bool>>(r#""Может быть""#);
        assert_eq!(odd.value, None);
        assert_eq!(odd.raw, kept(Value::String("Может быть".into())));
        assert_eq!(read::<Flag, Option<bool>>("7").raw, kept(Value::from(7)));
    }

    #[test]
    fn codes_and_lists() {
        assert_eq!(read::<Code, StateCode>("7").value, StateCode::Completed);
        let odd = read::<Code, StateCode>(r#"{"x":1}"#);
        assert_eq!(odd.value, StateCode::Unknown(String::new()));
        assert!(odd.raw.is_some());
        let l = read::<List, Vec<super::super::Regulation>>(
            r#"[{"Название":"a"}, "строка", null, {"Название":"b"}]"#,
        );
        assert_eq!(l.value.len(), 2);
        assert_eq!(l.raw, kept(serde_json::json!(["строка"])));
        let one = read::<List, Vec<super::super::Regulation>>(r#"{"Название":"a"}"#);
        assert_eq!(one.value.len(), 1);
        assert!(
            read::<List, Vec<super::super::Regulation>>(r#""""#)
                .value
                .is_empty()
        );
    }

    #[test]
    fn binary_keeps_what_is_not_base64() {
        let ok = read::<Binary, Option<Base64Data>>(r#""aGk=\r\n""#);
        assert_eq!(ok.value.unwrap().bytes().as_ref(), b"hi");
        let bad = read::<Binary, Option<Base64Data>>(r#""не base64""#);
        assert!(bad.value.is_none());
        assert_eq!(bad.raw, kept(Value::String("не base64".into())));
    }

    #[test]
    fn a_broken_input_is_still_an_error() {
        let mut de = serde_json::Deserializer::from_str(r#"{"Название": "#);
        assert!(
            Seed::<Object, Option<super::super::Regulation>>::new()
                .deserialize(&mut de)
                .is_err()
        );
    }
}
