//! Single-pass `Deserialize` for the model structs that keep unknown fields in `extra`.
//!
//! `#[serde(flatten)]` on the deserialize side makes serde buffer every unknown key and
//! value into its private `Content` tree and then replay it into the `Map` — on every
//! nested struct of a document. [`deserialize_with_extra!`] writes instead what a derive
//! without flatten would write, plus one arm: known wire keys go straight into their fields
//! (through the field's own helper, like `deserialize_with`), every other key goes into
//! `extra` as `serde_json::Value` read directly from the input. Serialization keeps its
//! derive (`flatten` does not buffer there).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A map key, borrowed from the input when it holds no escapes.
pub(crate) struct WireKey<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for WireKey<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = WireKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(WireKey(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(WireKey(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(WireKey(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Implements `Deserialize` for a struct with an `extra: Map<String, Value>` field.
///
/// ```text
/// deserialize_with_extra! {
///     Regulation, "struct Regulation" {
///         id: Option<String> = "Идентификатор", with string_or_number::deserialize;
///         name: Option<String> = "Название";
///         code: StateCode = "Код" (required);   // no `#[serde(default)]`
///         other: Option<String> = "Имя" | "ДругоеИмя";   // with an alias
///     }
/// }
/// ```
///
/// Every listed field not sent is `Default::default()`, except `(required)` ones (a
/// `missing field` error, as the derive gives). A field sent twice is a `duplicate field`
/// error (as the derive). `with path` is the field's `deserialize_with` function, wrapped in
/// a newtype per field the way serde derive does it.
macro_rules! deserialize_with_extra {
    (
        $ty:ident, $expecting:literal {
            $(
                $field:ident : $fty:ty = $wire:literal $(| $alias:literal)*
                    $(($req:ident))? $(, with $with:path)?
            );* $(;)?
        }
    ) => {
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                struct ExtraVisitor;
                impl<'de> ::serde::de::Visitor<'de> for ExtraVisitor {
                    type Value = $ty;
                    fn expecting(
                        &self,
                        f: &mut ::std::fmt::Formatter<'_>,
                    ) -> ::std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> ::std::result::Result<$ty, A::Error> {
                        $( let mut $field: ::std::option::Option<$fty> = None; )*
                        let mut extra = ::serde_json::Map::new();
                        while let Some(key) =
                            map.next_key::<$crate::model::de::WireKey<'de>>()?
                        {
                            match &*key.0 {
                                $(
                                    $wire $(| $alias)* => {
                                        if $field.is_some() {
                                            return Err(::serde::de::Error::duplicate_field($wire));
                                        }
                                        $field = Some($crate::model::de::next_field_value!(
                                            map, $fty $(, $with)?
                                        ));
                                    }
                                )*
                                _ => {
                                    let value = map.next_value::<::serde_json::Value>()?;
                                    extra.insert(key.0.into_owned(), value);
                                }
                            }
                        }
                        Ok($ty {
                            $( $field: $crate::model::de::field_or_default!(
                                $field, $wire $(, $req)?
                            ), )*
                            extra,
                        })
                    }
                }
                deserializer.deserialize_map(ExtraVisitor)
            }
        }
    };
}

/// The next map value of a field: plain `Deserialize`, or through its `with` function.
macro_rules! next_field_value {
    ($map:ident, $fty:ty) => {
        $map.next_value::<$fty>()?
    };
    ($map:ident, $fty:ty, $with:path) => {{
        struct With($fty);
        impl<'de> ::serde::Deserialize<'de> for With {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                $with(d).map(With)
            }
        }
        $map.next_value::<With>()?.0
    }};
}

/// A field's final value: its default when absent, or `missing field` when `required`.
macro_rules! field_or_default {
    ($v:ident, $wire:literal) => {
        $v.unwrap_or_default()
    };
    ($v:ident, $wire:literal, required) => {
        match $v {
            Some(v) => v,
            None => return Err(::serde::de::Error::missing_field($wire)),
        }
    };
}

pub(crate) use {deserialize_with_extra, field_or_default, next_field_value};
