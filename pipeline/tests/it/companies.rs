//! Several companies (several Beorg clients, one pipeline each) on one state
//! file and one archive directory: the same set ids in both never collide —
//! state keyed by (company, set id), Saby document ids derived from both, the
//! archive split by company.

// Test helpers may unwrap and panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use beorg_client::SetId;
use beorg_sandbox::{Sandbox as Beorg, SandboxConfig as BeorgConfig, SetSpec};
use hr_docs_pipeline::Pipeline;
use hr_docs_pipeline::ids;
use hr_docs_pipeline::store::{SetStatus, SqliteStore, StateStore};

use crate::common::{Env, SURNAMES};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_companies_on_one_state_file_and_archive_dir_never_collide() {
    // Company 4821 (the default) and company 7734, both numbering from s-1.
    let env = Env::start().await;
    let other = Beorg::start(
        BeorgConfig::default()
            .project_id("7734")
            .contours(["Кадры-Омск"])
            .polls_until_ready(0),
    )
    .await;
    for i in 0..3 {
        env.beorg.add_set(SetSpec::new().surname(SURNAMES[i]));
        other.add_set(SetSpec::new().surname(SURNAMES[i + 3]));
    }
    // One state store shared by both pipelines (one file, one lock), one archive.
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(env.state_path()).unwrap());
    let config = env.config().build().unwrap();
    let first = env
        .builder(config.clone())
        .store(Arc::clone(&store))
        .build()
        .unwrap();
    let second = Pipeline::builder(config, other.client(), env.saby.client())
        .store(Arc::clone(&store))
        .build()
        .unwrap();
    assert_eq!((first.company(), second.company()), ("4821", "7734"));
    let (a, b) = tokio::join!(first.run_once(), second.run_once());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.all_final() && b.all_final(), "{a} / {b}");
    assert_eq!((a.archived, b.archived), (3, 3));

    assert_eq!(
        env.saby.document_count(),
        6,
        "one document per company and set"
    );
    for company in ["4821", "7734"] {
        let records = store.list(company, None, None, 100).await.unwrap();
        assert_eq!(records.len(), 3, "{company}");
        for r in records {
            assert_eq!(r.status, SetStatus::Done);
            let id = ids::document_id(company, r.set_id.as_str()).to_string();
            assert_eq!(r.document_id.as_deref(), Some(id.as_str()));
            assert_eq!(env.sends_of(&id), 1, "{company} {}", r.set_id);
            let dir = env.archive_dir().join(company).join(r.set_id.as_str());
            assert!(
                std::fs::read_dir(&dir).unwrap().count() > 0,
                "{}",
                dir.display()
            );
        }
        assert_eq!(store.start_id(company).await.unwrap(), Some(4));
    }
    // s-1 of each company: two documents, two archive directories.
    assert_ne!(
        ids::document_id("4821", "s-1"),
        ids::document_id("7734", "s-1")
    );
    let omsk = store
        .get("7734", &SetId::from_number(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        omsk.contour, None,
        "a one-contour company gets no by_project"
    );
}
