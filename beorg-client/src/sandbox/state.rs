//! The sandbox's mutable state.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Faults, SandboxConfig};
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
    pub(crate) project: String,
    pub(crate) docs: Vec<(String, DocumentType)>,
    pub(crate) surname: Option<String>,
    pub(crate) remaining_polls: u32,
}

pub(crate) struct State {
    pub(crate) config: SandboxConfig,
    pub(crate) faults: Faults,
    pub(crate) latency: Duration,
    pub(crate) rng: fastrand::Rng,
    pub(crate) sets: BTreeMap<u64, SetState>,
    pub(crate) next_number: u64,
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
            counters: Counters::default(),
            config,
        }
    }

    /// Every contour of the customer, main one first.
    pub(crate) fn projects(&self) -> Vec<&str> {
        let mut out = vec![self.config.project_id.as_str()];
        for p in &self.config.projects {
            if !out.contains(&p.as_str()) {
                out.push(p);
            }
        }
        out
    }

    pub(crate) fn knows_project(&self, p: &str) -> bool {
        self.projects().contains(&p)
    }

    pub(crate) fn create_set(
        &mut self,
        project: String,
        docs: Vec<(String, DocumentType)>,
        surname: Option<String>,
        polls: u32,
    ) -> SetId {
        let number = self.next_number;
        self.next_number += 1;
        self.sets.insert(
            number,
            SetState {
                number,
                project,
                docs,
                surname,
                remaining_polls: polls,
            },
        );
        SetId::from_number(number)
    }

    pub(crate) fn set_mut(&mut self, id: &str) -> Option<&mut SetState> {
        let n = SetId::new(id).number()?;
        self.sets.get_mut(&n)
    }
}
