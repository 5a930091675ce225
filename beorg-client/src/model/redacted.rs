//! `Debug` for the models that hold recognized personal data: the shape (which fields,
//! which keys, how many) without a single value, so a `{:?}` in a log line or a panic
//! message cannot print a passport.

use std::fmt;

use hr_docs_core::REDACTED;
use serde_json::{Map, Value};

/// `Some([REDACTED])` or `None`: whether an optional field holds a value, not the value.
pub(crate) struct Presence(pub(crate) bool);

impl fmt::Debug for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 {
            write!(f, "Some({REDACTED})")
        } else {
            f.write_str("None")
        }
    }
}

/// A map's keys, each with `[REDACTED]` for its value: `{"LastName": [REDACTED]}`.
pub(crate) struct Keys<'a>(pub(crate) &'a Map<String, Value>);

impl fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, Marker)))
            .finish()
    }
}

/// `[REDACTED]`, unquoted.
pub(crate) struct Marker;

impl fmt::Debug for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// `n items`: how many entries a list holds, not what they say.
pub(crate) struct Count(pub(crate) usize);

impl fmt::Debug for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} item(s)", self.0)
    }
}

/// A redacting `Debug` for a struct whose fields are all `Option`s of personal data: each
/// field prints as `Some([REDACTED])` or `None`.
macro_rules! redacted_debug {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(
                        stringify!($field),
                        &$crate::model::redacted::Presence(self.$field.is_some()),
                    ))*
                    .finish()
            }
        }
    };
}
pub(crate) use redacted_debug;
