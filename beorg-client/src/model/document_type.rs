//! The kinds of documents Beorg recognizes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! document_types {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal),* $(,)?) => {
        /// A document type (the `type` field), with a catch-all for types this
        /// version does not know.
        ///
        /// ```
        /// use beorg_client::DocumentType;
        /// assert_eq!("PASSPORT_REG".parse::<DocumentType>().unwrap(), DocumentType::PassportReg);
        /// assert_eq!(DocumentType::Snils.as_str(), "SNILS");
        /// let new = "MARRIAGE".parse::<DocumentType>().unwrap();
        /// assert_eq!(new, DocumentType::Unknown("MARRIAGE".into()));
        /// assert_eq!(new.as_str(), "MARRIAGE");
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum DocumentType {
            $($(#[$doc])* $variant,)*
            /// A type this version does not know, kept verbatim.
            Unknown(String),
        }

        impl DocumentType {
            /// The type as sent on the wire (`PASSPORT`, `SNILS`, ...).
            pub fn as_str(&self) -> &str {
                match self {
                    $(DocumentType::$variant => $wire,)*
                    DocumentType::Unknown(s) => s,
                }
            }

            /// Every known type (without `Unknown`).
            pub fn known() -> &'static [DocumentType] {
                &[$(DocumentType::$variant,)*]
            }
        }

        impl FromStr for DocumentType {
            type Err = std::convert::Infallible;
            /// Never fails: unknown names become [`DocumentType::Unknown`].
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($wire => DocumentType::$variant,)*
                    other => DocumentType::Unknown(other.to_owned()),
                })
            }
        }
    };
}

document_types! {
    /// Internal passport of the Russian Federation (main spread).
    Passport => "PASSPORT",
    /// Passport, registration (address) page.
    PassportReg => "PASSPORT_REG",
    /// SNILS (pension insurance number).
    Snils => "SNILS",
    /// INN (taxpayer number) certificate.
    Inn => "INN",
    /// Temporary residence permit (РВП).
    Rvp => "RVP",
    /// Residence permit (ВНЖ).
    Vng => "VNG",
    /// Birth certificate.
    Brth => "BRTH",
    /// International passport.
    Fprn => "FPRN",
    /// Foreign citizen's passport.
    PassportFrgn => "PASSPORT_FRGN",
    /// Driving licence.
    Dlic => "DLIC",
    /// Vehicle registration certificate (СТС).
    Sts => "STS",
    /// Electronic vehicle passport (ЭПТС).
    Epts => "EPTS",
    /// Invoice.
    Inv => "INV",
    /// Court order.
    Pr => "PR",
    /// Court order (other form).
    Otpr => "OTPR",
    /// PRSV document.
    Prsv => "PRSV",
}

impl DocumentType {
    /// A Russian name, as used by Beorg's `FileName` field (`Паспорт`, `СНИЛС`, ...).
    pub fn russian_name(&self) -> &str {
        match self {
            DocumentType::Passport => "Паспорт",
            DocumentType::PassportReg => "Паспорт_регистрация",
            DocumentType::Snils => "СНИЛС",
            DocumentType::Inn => "ИНН",
            DocumentType::Rvp => "РВП",
            DocumentType::Vng => "ВНЖ",
            DocumentType::Brth => "Свидетельство_о_рождении",
            DocumentType::Fprn => "Загранпаспорт",
            DocumentType::PassportFrgn => "Паспорт_иностранца",
            DocumentType::Dlic => "ВУ",
            other => other.as_str(),
        }
    }
}

impl Default for DocumentType {
    /// `Unknown("")`: what a document without a `type` field gets.
    fn default() -> Self {
        DocumentType::Unknown(String::new())
    }
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for DocumentType {
    fn from(s: &str) -> Self {
        match s.parse() {
            Ok(t) => t,
            Err(never) => match never {},
        }
    }
}

impl Serialize for DocumentType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DocumentType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Borrowed when the input allows: known types then cost no allocation.
        let s = super::de::Key::deserialize(d)?.0;
        Ok(DocumentType::from(&*s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_known_type() {
        for t in DocumentType::known() {
            assert_eq!(DocumentType::from(t.as_str()), *t);
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(serde_json::from_str::<DocumentType>(&json).unwrap(), *t);
        }
        assert_eq!(
            serde_json::from_str::<DocumentType>("\"NEW_TYPE\"").unwrap(),
            DocumentType::Unknown("NEW_TYPE".into())
        );
    }
}
