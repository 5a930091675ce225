//! The claim hooks a store shared by several workers would implement: the
//! pipeline takes its sets through `claim_pending` under its worker id and
//! lease, renews the claims of its sets in flight, and releases each set when
//! its task ends. (No shipped store implements claims; this checks the
//! pipeline's side of the contract with a store that records the calls.)

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use beorg_client::SetId;
use hr_docs_pipeline::store::{Claim, MemoryStore, SetRecord};
use hr_docs_pipeline::{Error, StoreError};
use saby_client::StateCode;

use crate::common::Env;
use crate::support::store_over_inner;

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Claim(Claim, Vec<SetId>),
    Renew(Claim, Vec<SetId>),
    Release(Claim, SetId),
}

/// A memory store that records every claim call.
#[derive(Debug, Default)]
struct Recording {
    inner: MemoryStore,
    calls: Mutex<Vec<Call>>,
}

store_over_inner!(Recording {
    async fn compare_and_set_start_id(
        &self,
        company: &str,
        expected: u64,
        new: u64,
    ) -> Result<bool, StoreError> {
        self.inner
            .compare_and_set_start_id(company, expected, new)
            .await
    }
    async fn claim_pending(
        &self,
        company: &str,
        claim: &Claim,
        after: Option<(u64, &SetId)>,
        limit: usize,
    ) -> Result<Vec<SetRecord>, StoreError> {
        let page = self
            .inner
            .claim_pending(company, claim, after, limit)
            .await?;
        self.calls.lock().unwrap().push(Call::Claim(
            claim.clone(),
            page.iter().map(|r| r.set_id.clone()).collect(),
        ));
        Ok(page)
    }
    async fn renew_claims(
        &self,
        _company: &str,
        claim: &Claim,
        set_ids: &[SetId],
    ) -> Result<(), StoreError> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Renew(claim.clone(), set_ids.to_vec()));
        Ok(())
    }
    async fn release_claim(
        &self,
        _company: &str,
        claim: &Claim,
        set_id: &SetId,
    ) -> Result<(), StoreError> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Release(claim.clone(), set_id.clone()));
        Ok(())
    }
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_are_claimed_renewed_while_in_flight_and_released() {
    let env = Env::start().await;
    let sets = env.add_sets(3);
    let store = std::sync::Arc::new(Recording::default());
    // Nothing reaches a final state: every set stays in flight (waiting)
    // until its 400 ms deadline, far longer than a third of the lease.
    let config = env
        .config()
        .final_states([StateCode::Annulled])
        .final_state_deadline(Duration::from_millis(400))
        .recheck_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let lease = Duration::from_millis(60);
    let pipeline = env
        .builder(config)
        .store(std::sync::Arc::clone(&store))
        .worker_id("host-a")
        .claim_lease(lease)
        .build()
        .unwrap();
    let summary = pipeline.run_once().await.unwrap();
    assert_eq!(summary.failed, 3, "{summary}");

    let calls = store.calls.lock().unwrap().clone();
    let ours = Claim::new("host-a").lease(lease);
    let mut claimed: BTreeMap<SetId, usize> = BTreeMap::new();
    let mut released: BTreeMap<SetId, usize> = BTreeMap::new();
    let mut renewed = 0;
    for call in &calls {
        match call {
            Call::Claim(claim, ids) => {
                assert_eq!(claim, &ours);
                for id in ids {
                    *claimed.entry(id.clone()).or_default() += 1;
                }
            }
            Call::Renew(claim, ids) => {
                assert_eq!(claim, &ours);
                assert!(!ids.is_empty(), "renewing nothing");
                for id in ids {
                    assert!(
                        claimed.contains_key(id),
                        "{id} renewed before it was claimed"
                    );
                }
                renewed += 1;
            }
            Call::Release(claim, id) => {
                assert_eq!(claim, &ours);
                assert!(
                    claimed.contains_key(id),
                    "{id} released before it was claimed"
                );
                *released.entry(id.clone()).or_default() += 1;
            }
        }
    }
    assert!(renewed >= 1, "no claim renewed in 400 ms: {calls:?}");
    for set in &sets {
        assert!(claimed.contains_key(set), "{set} never claimed");
        assert!(released.contains_key(set), "{set} never released");
    }
    // Each set settled once (failed at its deadline): its task ran once and
    // released it once.
    assert_eq!(released.values().copied().collect::<Vec<_>>(), [1, 1, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_too_short_to_renew_is_refused() {
    let env = Env::start().await;
    let err = env
        .builder(env.config().build().unwrap())
        .store(MemoryStore::new())
        .claim_lease(Duration::from_millis(1))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}
