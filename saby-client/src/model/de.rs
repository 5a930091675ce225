//! One declaration per wire struct: [`wire_struct!`] declares the struct, its `Serialize` and
//! its lenient single-pass `Deserialize` from one field list.
//!
//! Each field names its wire key and its kind (see [`super::field`]): how it is read, written
//! and recognised as absent. Deserializing reads known keys straight into their fields and
//! keeps every other key — and every known key whose value did not fit — in `extra` as
//! `serde_json::Value` read directly from the input (no `#[serde(flatten)]`, which would
//! buffer every unknown key and value into serde's private `Content` tree first).
//! Serializing writes the fields that are set, then `extra`, skipping an `extra` entry whose
//! key belongs to a field that is set (the field wins).

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

/// Declares a wire struct with its `Serialize` and lenient `Deserialize` impls.
///
/// ```text
/// wire_struct! {
///     /// `Регламент`.
///     #[derive(Debug, Clone, Default, PartialEq)]
///     pub struct Regulation {
///         /// `Идентификатор`.
///         pub id: Option<String> = "Идентификатор" => Text,
///         /// `Название` (also read from `Имя`).
///         pub name: Option<String> = "Название" | "Имя" => Text,
///     }
/// }
/// ```
///
/// The struct gets `#[non_exhaustive]` and a documented `extra` map. A field not sent gets its
/// kind's missing value (`None`, an empty list...). A key sent twice: the last one wins. An
/// alias is read like the wire key; the wire key (the first name) is what is written.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $ty:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $fty:ty = $wire:literal $(| $alias:literal)* => $kind:ident
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        pub struct $ty {
            $( $(#[$fmeta])* pub $field: $fty, )*
            /// Fields this crate does not model, and fields whose value did not fit the model
            /// (e.g. an array where text was expected), kept as received under their wire names.
            pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(None)?;
                $(
                    if !<$crate::model::field::$kind as $crate::model::field::Kind<$fty>>::absent(
                        &self.$field,
                    ) {
                        map.serialize_entry(
                            $wire,
                            &<$crate::model::field::$kind as $crate::model::field::Kind<$fty>>::ser(
                                &self.$field,
                            ),
                        )?;
                    }
                )*
                for (key, value) in &self.extra {
                    let shadowed = match key.as_str() {
                        $(
                            $wire $(| $alias)* => !<$crate::model::field::$kind as
                                $crate::model::field::Kind<$fty>>::absent(&self.$field),
                        )*
                        _ => false,
                    };
                    if !shadowed {
                        map.serialize_entry(key, value)?;
                    }
                }
                map.end()
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                struct WireVisitor;
                impl<'de> ::serde::de::Visitor<'de> for WireVisitor {
                    type Value = $ty;
                    fn expecting(
                        &self,
                        f: &mut ::std::fmt::Formatter<'_>,
                    ) -> ::std::fmt::Result {
                        f.write_str(concat!("an object (", stringify!($ty), ")"))
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> ::std::result::Result<$ty, A::Error> {
                        $(
                            let mut $field: $fty = <$crate::model::field::$kind as
                                $crate::model::field::Kind<$fty>>::missing();
                        )*
                        let mut extra = ::serde_json::Map::new();
                        while let Some(key) =
                            map.next_key::<$crate::model::WireKey<'de>>()?
                        {
                            match &*key.0 {
                                $(
                                    $wire $(| $alias)* => {
                                        let read = map.next_value_seed(
                                            $crate::model::field::Seed::<
                                                $crate::model::field::$kind,
                                                $fty,
                                            >::new(),
                                        )?;
                                        $field = read.value;
                                        if let Some(raw) = read.raw {
                                            extra.insert(key.0.into_owned(), *raw);
                                        }
                                    }
                                )*
                                _ => {
                                    let value = map.next_value::<::serde_json::Value>()?;
                                    extra.insert(key.0.into_owned(), value);
                                }
                            }
                        }
                        Ok($ty { $( $field, )* extra })
                    }
                }
                deserializer.deserialize_map(WireVisitor)
            }
        }
    };
}

pub(crate) use wire_struct;
