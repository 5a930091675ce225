//! Data checks on recognized Russian HR documents.
//!
//! [Beorg](https://beorg.ru) recognizes scans of passports, SNILS cards, INN
//! certificates, residence permits and birth certificates; nothing checks that what
//! it read can be right. This crate does, with pure functions over
//! [`beorg_client`]'s result types:
//!
//! * **SNILS** — format and the Pension Fund's check number ([`snils`]);
//! * **INN** — 10 digits (organization) or 12 (person) with the tax service's check
//!   digits ([`inn`]); [`validate_inn`] also suits configured INNs at start-up;
//! * **passport** — series, number, subdivision code, dates that exist, a plausible
//!   age, issued at 14 or later and not before 1 October 1997, replacement at 20/45
//!   ([`passport`]);
//! * **MRZ** — ICAO 9303 check digits and the passport fields the zone encodes
//!   ([`mrz`]);
//! * **Beorg's own signals** — `broken`, failed verifications, bad fields, low
//!   confidences.
//!
//! Each problem is a typed [`Finding`]: document key and type, field, [`Check`],
//! [`Severity`] and a message in Russian and English. **A finding never contains a
//! recognized value** — no name, number or date — so findings can be stored and
//! logged. A [`Policy`] decides which checks run, how severe they are and their
//! bounds; nothing here reads a clock (every function that needs "today" takes it).
//!
//! # Example
//!
//! ```
//! use hr_docs_checks::{Policy, Verdict, check_result};
//! use time::macros::date;
//!
//! let result: beorg_client::RecognitionResult = serde_json::from_value(serde_json::json!({
//!     "document_id": "s-12",
//!     "documents": [{
//!         "key": "PASSPORT", "type": "PASSPORT",
//!         "data": {
//!             "Series": "4510", "Number": "123456", "IssueId": "540-004",
//!             "BirthDate": "31.02.1990", "IssueDate": "28.03.2011",
//!             "MRZ1": "", "MRZ2": ""
//!         },
//!         "metadata": {"confidences": {"Number": "0.42", "MRZ1": "0"}}
//!     }]
//! }))?;
//!
//! let report = check_result(&result, &Policy::default(), date!(2026-01-15));
//! assert_eq!(report.verdict(), Verdict::Hold); // an error: hold for a human
//! for finding in &report.findings {
//!     // warning PASSPORT/Number: low_confidence: Low recognition confidence for field "Number": 0.42 < 0.80
//!     // error PASSPORT/BirthDate: date_invalid: Field "BirthDate" is not a dd.mm.yyyy date, …
//!     println!("{finding}");
//! }
//! assert_eq!(report.findings.len(), 2);
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! # Contents
//!
//! * [`check_result`], [`check_document`] — run every applicable check.
//! * [`Policy`], [`PolicyBuilder`], [`BrokenPolicy`] — what runs and how severe it is.
//! * [`Report`], [`Finding`], [`Check`], [`Severity`], [`Verdict`] — what was found.
//! * [`snils`], [`inn`], [`passport`], [`mrz`] — the individual rules, as pure
//!   functions with typed errors that never repeat the value.

mod check;
mod finding;
pub mod inn;
pub mod mrz;
pub mod passport;
mod policy;
pub mod snils;

pub use check::{check_document, check_result};
pub use finding::{Check, Finding, Report, Severity, Verdict};
pub use inn::{InnError, InnKind, validate_inn};
pub use policy::{
    BrokenPolicy, DEFAULT_AGE_BOUNDS, DEFAULT_CONFIDENCE_THRESHOLD, Policy, PolicyBuilder,
    PolicyError,
};
pub use snils::{SnilsError, SnilsValidity, validate_snils};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
