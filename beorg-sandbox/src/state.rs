//! The sandbox's mutable state.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Faults, Outcome, SandboxConfig};
use crate::model::{DocumentType, SetId};

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
    pub(crate) docs: Vec<(String, DocumentType)>,
    pub(crate) surname: Option<String>,
    pub(crate) remaining_polls: u32,
    pub(crate) outcome: Outcome,
    /// Listed as ready, but its result answers 425 forever.
    pub(crate) never_ready: bool,
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
    pub(crate) docs: Vec<(String, DocumentType)>,
    pub(crate) surname: Option<String>,
    pub(crate) polls: u32,
    pub(crate) outcome: Outcome,
    pub(crate) never_ready: bool,
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

    pub(crate) fn create_set(&mut self, new: NewSet) -> SetId {
        let number = self.next_number;
        self.next_number += 1;
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
            },
        );
        SetId::from_number(number)
    }

    pub(crate) fn set_mut(&mut self, id: &str) -> Option<&mut SetState> {
        let n = SetId::new(id).number()?;
        self.sets.get_mut(&n)
    }
}
