//! The sandbox's mutable state.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::{Faults, Outcome, SandboxConfig};

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: u64,
    pub(crate) uploads: u64,
    pub(crate) ready: u64,
    pub(crate) result: u64,
    pub(crate) faults: u64,
}

#[derive(Debug)]
pub(crate) struct SetState {
    pub(crate) number: u64,
    pub(crate) contour: Option<String>,
    /// `(key, wire type)` of each document; empty: the default documents (so a set
    /// seeded in bulk costs no allocation for them).
    pub(crate) docs: Vec<(String, String)>,
    pub(crate) surname: Option<String>,
    pub(crate) remaining_polls: u32,
    pub(crate) outcome: Outcome,
    /// Listed as ready, but its result answers 425 forever.
    pub(crate) never_ready: bool,
    /// Keys (or wire types) of the documents marked `broken`.
    pub(crate) broken_documents: Vec<String>,
    /// The SNILS number's check number is wrong.
    pub(crate) bad_snils: bool,
}

impl SetState {
    /// Whether the ready endpoint lists the set.
    pub(crate) fn listed(&self) -> bool {
        self.never_ready || self.remaining_polls == 0
    }
}

/// What a new set is made of.
pub(crate) struct NewSet {
    pub(crate) contour: Option<String>,
    pub(crate) docs: Vec<(String, String)>,
    pub(crate) surname: Option<String>,
    pub(crate) polls: u32,
    pub(crate) outcome: Outcome,
    pub(crate) never_ready: bool,
    pub(crate) broken_documents: Vec<String>,
    pub(crate) bad_snils: bool,
}

pub(crate) struct State {
    pub(crate) config: SandboxConfig,
    pub(crate) faults: Faults,
    pub(crate) latency: Duration,
    pub(crate) rng: fastrand::Rng,
    pub(crate) sets: BTreeMap<u64, SetState>,
    pub(crate) next_number: u64,
    /// Sets created without a contour so far (the next one's turn).
    pub(crate) turns: usize,
    pub(crate) counters: Counters,
}

impl State {
    pub(crate) fn new(config: SandboxConfig) -> Self {
        Self {
            faults: config.faults.clone(),
            latency: config.latency,
            rng: fastrand::Rng::with_seed(config.seed),
            next_number: config.first_set_number,
            sets: BTreeMap::new(),
            turns: 0,
            counters: Counters::default(),
            config,
        }
    }

    /// Whether `p` is the company's number.
    pub(crate) fn is_company(&self, p: &str) -> bool {
        p == self.config.project_id
    }

    /// Whether `p` names one of the company's contours.
    pub(crate) fn is_contour(&self, p: &str) -> bool {
        self.config.contours.iter().any(|c| c == p)
    }

    /// The contour of the next set created without one (in turn).
    pub(crate) fn next_contour(&mut self) -> Option<String> {
        let contours = &self.config.contours;
        if contours.is_empty() {
            return None;
        }
        let c = contours[self.turns % contours.len()].clone();
        self.turns += 1;
        Some(c)
    }

    /// Creates a set and returns its number (its id is [`set_id`] of it).
    pub(crate) fn create_set(&mut self, new: NewSet) -> u64 {
        let number = self.next_number;
        self.next_number = self.next_number.saturating_add(1);
        self.sets.insert(
            number,
            SetState {
                number,
                contour: new.contour,
                docs: new.docs,
                surname: new.surname,
                remaining_polls: new.polls,
                outcome: new.outcome,
                never_ready: new.never_ready,
                broken_documents: new.broken_documents,
                bad_snils: new.bad_snils,
            },
        );
        number
    }

    /// The set an id names (`s-16` or `16`), if it exists.
    pub(crate) fn set_mut(&mut self, id: &str) -> Option<&mut SetState> {
        let n = set_number(id)?;
        self.sets.get_mut(&n)
    }
}

/// The id of set number `n` on the wire: `s-N`.
pub(crate) fn set_id(n: u64) -> String {
    format!("s-{n}")
}

/// The number of a set id: `s-16` and `16` give `Some(16)`; anything else `None`.
pub(crate) fn set_number(id: &str) -> Option<u64> {
    let digits = id.strip_prefix("s-").unwrap_or(id);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_ids_and_numbers() {
        assert_eq!(set_id(16), "s-16");
        assert_eq!(set_number("s-16"), Some(16));
        assert_eq!(set_number("16"), Some(16));
        for bad in [
            "",
            "s-",
            "s-1a",
            "x-16",
            "s--1",
            " 16",
            "s-99999999999999999999",
        ] {
            assert_eq!(set_number(bad), None, "{bad:?}");
        }
    }
}
