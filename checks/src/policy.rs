//! [`Policy`]: which checks run, at which severity, with which bounds.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use crate::finding::{Check, Severity};

/// The default confidence threshold: a field Beorg recognized with less is a
/// [`Check::LowConfidence`] finding.
pub const DEFAULT_CONFIDENCE_THRESHOLD: f64 = 0.8;

/// The default bounds of an employee's age, in full years: 14 (a Russian passport is
/// first issued at 14; the Labour Code lets a 14-year-old work with consent) to 120.
pub const DEFAULT_AGE_BOUNDS: RangeInclusive<u16> = 14..=120;

/// What a document Beorg marked `broken` (or a set marked broken as a whole) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BrokenPolicy {
    /// An error: hold the set for a human decision (the default).
    #[default]
    Hold,
    /// Fatal: fail the set.
    Fail,
}

/// Which checks run, how severe their findings are, and the bounds they use.
///
/// Defaults (see [`Check::default_severity`] for every check): a failed check number
/// (SNILS, INN, MRZ), a malformed number, a date that cannot be right and a `broken`
/// document are **errors**; a low confidence, a missing field, Beorg's own verification
/// signals, an unreadable MRZ, an expired document and a passport past its
/// replacement age are **warnings**. Confidence threshold
/// [`DEFAULT_CONFIDENCE_THRESHOLD`], age bounds [`DEFAULT_AGE_BOUNDS`].
///
/// ```
/// use hr_docs_checks::{BrokenPolicy, Check, Policy, Severity};
/// let policy = Policy::builder()
///     .confidence_threshold(0.9)
///     .age_bounds(16..=80)
///     .broken(BrokenPolicy::Fail)
///     .severity(Check::FieldMissing, Severity::Error)
///     .disable(Check::PassportReplacementDue)
///     .build()?;
/// assert_eq!(policy.severity(&Check::DocumentBroken), Some(Severity::Fatal));
/// assert_eq!(policy.severity(&Check::FieldMissing), Some(Severity::Error));
/// assert_eq!(policy.severity(&Check::PassportReplacementDue), None);
/// assert_eq!(policy.severity(&Check::SnilsCheckNumber), Some(Severity::Error));
/// # Ok::<(), hr_docs_checks::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    confidence_threshold: f64,
    age_bounds: RangeInclusive<u16>,
    /// Per-check overrides; `None` = disabled.
    overrides: BTreeMap<Check, Option<Severity>>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            confidence_threshold: DEFAULT_CONFIDENCE_THRESHOLD,
            age_bounds: DEFAULT_AGE_BOUNDS,
            overrides: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Policy::default(),
        }
    }

    /// The severity findings of this check get, or `None` when the check is disabled.
    pub fn severity(&self, check: &Check) -> Option<Severity> {
        match self.overrides.get(check) {
            Some(over) => *over,
            None => Some(check.default_severity()),
        }
    }

    /// The confidence under which a field is a [`Check::LowConfidence`] finding.
    pub fn confidence_threshold(&self) -> f64 {
        self.confidence_threshold
    }

    /// The allowed age of a document's holder, in full years.
    pub fn age_bounds(&self) -> RangeInclusive<u16> {
        self.age_bounds.clone()
    }
}

/// Builds a [`Policy`]; [`build`](Self::build) checks the values.
#[derive(Debug, Clone)]
#[must_use]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// The confidence threshold, in `[0, 1]` (Beorg's scale). `0` turns the
    /// low-confidence check off in effect.
    pub fn confidence_threshold(mut self, threshold: f64) -> Self {
        self.policy.confidence_threshold = threshold;
        self
    }

    /// The allowed age of a document's holder, in full years (both ends included).
    pub fn age_bounds(mut self, bounds: RangeInclusive<u16>) -> Self {
        self.policy.age_bounds = bounds;
        self
    }

    /// What a `broken` document or set does: [`BrokenPolicy::Hold`] makes
    /// [`Check::DocumentBroken`] and [`Check::ResultBroken`] errors,
    /// [`BrokenPolicy::Fail`] makes them fatal.
    pub fn broken(self, policy: BrokenPolicy) -> Self {
        let severity = match policy {
            BrokenPolicy::Hold => Severity::Error,
            BrokenPolicy::Fail => Severity::Fatal,
        };
        self.severity(Check::DocumentBroken, severity)
            .severity(Check::ResultBroken, severity)
    }

    /// Findings of this check get this severity.
    pub fn severity(mut self, check: Check, severity: Severity) -> Self {
        self.policy.overrides.insert(check, Some(severity));
        self
    }

    /// This check does not run.
    pub fn disable(mut self, check: Check) -> Self {
        self.policy.overrides.insert(check, None);
        self
    }

    /// This check runs at its [default severity](Check::default_severity) again.
    pub fn reset(mut self, check: &Check) -> Self {
        self.policy.overrides.remove(check);
        self
    }

    /// The policy, or what is wrong with it.
    pub fn build(self) -> Result<Policy, PolicyError> {
        let p = self.policy;
        if !(0.0..=1.0).contains(&p.confidence_threshold) {
            return Err(PolicyError::ConfidenceThreshold);
        }
        if p.age_bounds.start() > p.age_bounds.end() {
            return Err(PolicyError::AgeBounds {
                min: *p.age_bounds.start(),
                max: *p.age_bounds.end(),
            });
        }
        Ok(p)
    }
}

/// A [`Policy`] value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The confidence threshold is not a number in `[0, 1]`.
    #[error("policy: the confidence threshold must be a number from 0 to 1")]
    ConfidenceThreshold,
    /// The age bounds are empty.
    #[error("policy: the age bounds {min}..={max} are empty (min > max)")]
    AgeBounds {
        /// The lower bound given.
        min: u16,
        /// The upper bound given.
        max: u16,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_table() {
        let p = Policy::default();
        assert_eq!(p.confidence_threshold(), 0.8);
        assert_eq!(p.age_bounds(), 14..=120);
        for c in [
            Check::SnilsCheckNumber,
            Check::InnCheckDigit,
            Check::MrzCheckDigit,
            Check::DateInvalid,
            Check::DateInFuture,
            Check::DocumentBroken,
            Check::ResultBroken,
        ] {
            assert_eq!(p.severity(&c), Some(Severity::Error), "{c}");
        }
        assert_eq!(p.severity(&Check::LowConfidence), Some(Severity::Warning));
    }

    #[test]
    fn bad_values_are_typed_errors() {
        for t in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
            assert_eq!(
                Policy::builder().confidence_threshold(t).build(),
                Err(PolicyError::ConfidenceThreshold),
                "{t}"
            );
        }
        #[allow(clippy::reversed_empty_ranges)]
        let e = Policy::builder().age_bounds(30..=20).build().unwrap_err();
        assert_eq!(e, PolicyError::AgeBounds { min: 30, max: 20 });
        assert!(e.to_string().contains("30..=20"), "{e}");
    }

    #[test]
    fn overrides_disable_and_reset() {
        let p = Policy::builder()
            .disable(Check::LowConfidence)
            .severity(Check::MrzFormat, Severity::Error)
            .reset(&Check::MrzFormat)
            .broken(BrokenPolicy::Fail)
            .broken(BrokenPolicy::Hold)
            .build()
            .unwrap();
        assert_eq!(p.severity(&Check::LowConfidence), None);
        assert_eq!(p.severity(&Check::MrzFormat), Some(Severity::Warning));
        assert_eq!(p.severity(&Check::DocumentBroken), Some(Severity::Error));
    }
}
