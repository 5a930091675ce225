//! The sandbox with the real client: full cycles, contours, errors and fault injection.

use std::time::Duration;

use beorg_client::{
    DocumentType, Error, HttpMethod, ProcessInfo, ResultStatus, SetId, Stage, UploadRequest,
};
use beorg_sandbox::{Faults, Sandbox, SandboxConfig, SetSpec};
use futures::{StreamExt, TryStreamExt};

fn jpeg() -> Vec<u8> {
    vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F']
}

#[tokio::test]
async fn upload_ready_result_cycle() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(2)).await;
    let client = sandbox.client();
    let set = client
        .upload(
            UploadRequest::new()
                .image_with(
                    jpeg(),
                    ProcessInfo::of_type(DocumentType::Passport).stage(Stage::Verification),
                )
                .image_with(jpeg(), ProcessInfo::of_type(DocumentType::Snils))
                .image_with(jpeg(), ProcessInfo::new("INN-1", DocumentType::Inn)),
        )
        .await
        .unwrap();
    assert_eq!(set, SetId::from_number(1));
    assert_eq!(sandbox.uploads(), 1);

    // The stream finds it once it is ready, starting from 1.
    let mut stream = client.ready_stream(1, Duration::from_millis(1));
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.id, set);
    assert_eq!(first.contour.as_deref(), Some("Кадры-Москва"));
    assert_eq!(stream.next_start_id(), 2);
    drop(stream);

    let result = client
        .wait_for_result(&set, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(result.document_id, set);
    let types: Vec<_> = result
        .documents
        .iter()
        .map(|d| d.doc_type.clone())
        .collect();
    assert_eq!(
        types,
        vec![
            DocumentType::Passport,
            DocumentType::Snils,
            DocumentType::Inn
        ]
    );
    assert_eq!(result.documents[2].key, "INN-1");
    let passport = result.passport().unwrap();
    let surname = passport.last_name.clone().unwrap();
    assert!(
        surname
            .chars()
            .all(|c| ('А'..='я').contains(&c) || c == 'ё'),
        "{surname}"
    );
    assert_eq!(
        result.documents[0].file_name(),
        Some(format!("Паспорт_{surname}").as_str())
    );
    assert_eq!(
        result.documents[1].file_name(),
        Some(format!("СНИЛС_{surname}").as_str())
    );
    assert!(passport.birth_date.is_some() && passport.issue_date.is_some());
    let snils = result.documents[1].snils().unwrap();
    assert_eq!(snils.registration_date, None);
    assert_eq!(snils.digits().map(|d| d.len()), Some(11));
    // Quirks: string/number/null confidences, status "" and {} metadata_check.
    assert_eq!(result.documents[1].confidence("FirstName"), Some(0.97));
    assert_eq!(result.documents[1].metadata.verifications.status, None);
    assert!(result.documents[0].metadata.verifications.passed());
    assert_eq!(result.documents[0].extra["page_count"], 1);
}

#[tokio::test]
async fn sets_answer_425_until_ready() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(2)).await;
    let client = sandbox.client();
    let set = client
        .upload(UploadRequest::new().image(jpeg()))
        .await
        .unwrap();
    for _ in 0..2 {
        assert!(matches!(
            client.result(&set).await.unwrap(),
            ResultStatus::Processing { .. }
        ));
    }
    assert!(sandbox.is_ready(&set));
    let result = client.result(&set).await.unwrap().into_ready().unwrap();
    // No process_info: PASSPORT + SNILS.
    assert_eq!(result.documents.len(), 2);
    assert_eq!(sandbox.result_requests(), 3);
}

#[tokio::test]
async fn post_method_works_against_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0)).await;
    let client = sandbox
        .client_builder()
        .method(HttpMethod::Post)
        .build()
        .unwrap();
    let set = client
        .upload(UploadRequest::new().image(jpeg()))
        .await
        .unwrap();
    assert_eq!(client.ready(1).await.unwrap().ready, vec![set.clone()]);
    assert!(client.result(&set).await.unwrap().is_ready());
}

/// The letter's model: one company number, named contours, interleaved set
/// numbers; `ready` lists all, `by_project` breaks them down.
#[tokio::test]
async fn a_company_with_two_contours_and_start_id() {
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .polls_until_ready(0)
            .first_set_number(100),
    )
    .await;
    assert_eq!(sandbox.project_id(), "4821");
    assert_eq!(sandbox.contours(), ["Кадры-Москва", "Кадры-Казань"]);
    let client = sandbox.client();
    // Uploads with the company's number go to the contours in turn; with a
    // contour's name, to that contour.
    let a = client
        .upload(UploadRequest::new().image(jpeg()))
        .await
        .unwrap();
    let b = client
        .upload(UploadRequest::new().image(jpeg()))
        .await
        .unwrap();
    let kazan = sandbox
        .client_builder()
        .project_id("Кадры-Казань")
        .build()
        .unwrap();
    let c = kazan
        .upload(UploadRequest::new().image(jpeg()))
        .await
        .unwrap();
    let d = sandbox.add_set(SetSpec::new());
    assert_eq!(
        (a.number(), b.number(), c.number(), d.number()),
        (Some(100), Some(101), Some(102), Some(103))
    );
    assert_eq!(sandbox.contour_of(&a).as_deref(), Some("Кадры-Москва"));
    assert_eq!(sandbox.contour_of(&b).as_deref(), Some("Кадры-Казань"));
    assert_eq!(sandbox.contour_of(&c).as_deref(), Some("Кадры-Казань"));
    assert_eq!(sandbox.contour_of(&d).as_deref(), Some("Кадры-Москва"));

    let all = client.ready(0).await.unwrap();
    assert_eq!(all.ready, vec![a.clone(), b.clone(), c.clone(), d.clone()]);
    assert_eq!(all.by_project["Кадры-Москва"], vec![a.clone(), d.clone()]);
    assert_eq!(all.by_project["Кадры-Казань"], vec![b.clone(), c.clone()]);

    let later = client.ready(102).await.unwrap();
    assert_eq!(later.ready, vec![c.clone(), d.clone()]);
    assert_eq!(later.by_project["Кадры-Москва"], vec![d]);
    assert!(client.ready(104).await.unwrap().is_empty());

    // The ready call takes the company's number only.
    let err = kazan.ready(0).await.unwrap_err();
    assert!(err.is_not_found());
    let unknown = sandbox.client_builder().project_id("NOPE").build().unwrap();
    let err = unknown.ready(0).await.unwrap_err();
    assert!(err.is_not_found());
    match err {
        Error::Api { error_type, .. } => {
            assert_eq!(error_type.as_deref(), Some("CampaignNotFound"))
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = unknown
        .upload(UploadRequest::new().image(jpeg()))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

/// Every answer mode of the sandbox gives the same sets on the same contours.
#[tokio::test]
async fn every_ready_answer_shape_gives_the_same_sets() {
    use beorg_sandbox::{ByProjectShape, IdShape};
    for (by_project, ids) in [
        (ByProjectShape::MapOfNumbers, IdShape::Numbers),
        (ByProjectShape::MapOfStrings, IdShape::Numbers),
        (ByProjectShape::ListOfObjects, IdShape::Strings),
        (ByProjectShape::Absent, IdShape::Strings),
    ] {
        let sandbox = Sandbox::start(
            SandboxConfig::default()
                .polls_until_ready(0)
                .by_project(by_project)
                .ready_ids(ids),
        )
        .await;
        for _ in 0..3 {
            sandbox.add_set(SetSpec::new());
        }
        let raw: serde_json::Value = reqwest::get(format!(
            "{}/api/document/ready?token=sandbox-token&project_id=4821&start_id=1",
            sandbox.uri()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let first = &raw["ready"][0];
        match ids {
            IdShape::Numbers => assert_eq!(first, &serde_json::json!(1), "{raw}"),
            _ => assert_eq!(first, &serde_json::json!("s-1"), "{raw}"),
        }
        assert_eq!(
            raw.get("by_project").is_none(),
            by_project == ByProjectShape::Absent,
            "{raw}"
        );

        let sets = sandbox.client().ready(1).await.unwrap().sets();
        let got: Vec<(u64, Option<String>)> = sets
            .into_iter()
            .map(|s| (s.id.number().unwrap(), s.contour))
            .collect();
        let contour = |c: &str| (by_project != ByProjectShape::Absent).then(|| c.to_owned());
        assert_eq!(
            got,
            [
                (1, contour("Кадры-Москва")),
                (2, contour("Кадры-Казань")),
                (3, contour("Кадры-Москва")),
            ],
            "{by_project:?}"
        );
    }
}

/// One contour (or none): no `by_project`, as the letter says.
#[tokio::test]
async fn a_single_contour_company_has_no_by_project() {
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .contours(["Единственный"])
            .polls_until_ready(0),
    )
    .await;
    sandbox.add_set(SetSpec::new());
    let ready = sandbox.client().ready(1).await.unwrap();
    assert!(ready.by_project.is_empty());
    assert_eq!(ready.sets()[0].contour, None);
}

#[tokio::test]
async fn broken_empty_and_never_ready_sets() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0)).await;
    let broken = sandbox.add_set(SetSpec::new().broken());
    let empty = sandbox.add_set(SetSpec::new().empty());
    let stuck = sandbox.add_set(SetSpec::new().never_ready());
    let client = sandbox.client();
    // All three are listed as ready.
    assert_eq!(client.ready(1).await.unwrap().ready.len(), 3);
    match client.result(&broken).await.unwrap() {
        ResultStatus::Broken(r) => {
            assert!(r.is_broken());
            assert_eq!(
                r.broken_reason_text().as_deref(),
                Some("Изображение нечитаемо")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        client.result(&empty).await.unwrap(),
        ResultStatus::NoDocuments(_)
    ));
    for _ in 0..3 {
        assert!(client.result(&stuck).await.unwrap().is_processing());
    }
    assert!(!sandbox.is_ready(&stuck));
    let err = client
        .wait_for_result(&broken, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.is_unusable_result(), "{err}");
    assert!(err.to_string().contains("broken as a whole"), "{err}");
    let err = client
        .wait_for_result(&empty, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoDocuments { .. }), "{err}");
    assert!(sandbox.mark_ready(&stuck));
    assert!(client.result(&stuck).await.unwrap().is_ready());
}

#[tokio::test]
async fn wrong_token_and_unknown_set() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let bad = sandbox
        .client_builder()
        .token("wrong-token-123")
        .build()
        .unwrap();
    for err in [
        bad.ready(0).await.unwrap_err(),
        bad.result(&SetId::from_number(1)).await.unwrap_err(),
        bad.upload(UploadRequest::new().image(jpeg()))
            .await
            .unwrap_err(),
    ] {
        assert!(err.is_auth(), "{err:?}");
        assert!(!err.to_string().contains("wrong-token-123"));
        assert!(!format!("{err:?}").contains("wrong-token-123"));
    }
    let err = sandbox
        .client()
        .result(&SetId::from_number(999))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status: 404,
            error_type,
            message,
            ..
        } => {
            assert_eq!(error_type.as_deref(), Some("DocumentNotFound"));
            assert!(message.as_deref().unwrap().contains("s-999"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(sandbox.uploads(), 0);
}

#[tokio::test]
async fn seeded_sets_with_other_types_and_a_surname() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let set = sandbox.add_set(
        SetSpec::new()
            .surname("Каримова")
            .document("RVP")
            .document("BRTH")
            .document("MARRIAGE")
            .polls_until_ready(5),
    );
    let client = sandbox.client();
    assert!(!client.result(&set).await.unwrap().is_ready());
    assert!(sandbox.mark_ready(&set));
    let result = client.result(&set).await.unwrap().into_ready().unwrap();
    let rvp = result.documents[0].rvp().unwrap();
    assert_eq!(rvp.last_name.as_deref(), Some("Каримова"));
    assert!(rvp.expiry_date.is_some());
    assert_eq!(result.documents[0].file_name(), Some("РВП_Каримова"));
    let brth = result.documents[1].birth_certificate().unwrap();
    assert_eq!(brth.child_last_name.as_deref(), Some("Каримова"));
    assert_eq!(
        result.documents[2].doc_type,
        DocumentType::Unknown("MARRIAGE".into())
    );
    assert_eq!(result.documents[2].file_name(), Some("MARRIAGE_Каримова"));
    assert!(!sandbox.mark_ready("s-77"));
}

#[tokio::test]
async fn generation_is_deterministic_per_set() {
    let mut surnames = Vec::new();
    for _ in 0..2 {
        let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0)).await;
        let client = sandbox.client();
        let mut names = Vec::new();
        for _ in 0..4 {
            let set = sandbox.add_set(SetSpec::new());
            names.push(
                client
                    .result(&set)
                    .await
                    .unwrap()
                    .into_ready()
                    .unwrap()
                    .surname()
                    .unwrap(),
            );
        }
        surnames.push(names);
    }
    assert_eq!(surnames[0], surnames[1]);
    assert!(
        surnames[0].iter().any(|s| s != &surnames[0][0]),
        "people vary between sets"
    );
}

#[tokio::test]
async fn the_client_succeeds_through_5xx_and_429_shares() {
    let sandbox = Sandbox::start(
        SandboxConfig::default().polls_until_ready(0).faults(
            Faults::default()
                .server_errors(0.3)
                .rate_limited(0.2, Duration::from_secs(1)),
        ),
    )
    .await;
    let client = sandbox.client();
    let mut sets = Vec::new();
    for _ in 0..20 {
        sets.push(sandbox.add_set(SetSpec::new()));
    }
    for set in &sets {
        let r = client.result(set).await.unwrap().into_ready().unwrap();
        assert_eq!(r.document_id, *set);
    }
    assert_eq!(client.ready(1).await.unwrap().ready.len(), 20);
    let stream_ids: Vec<SetId> = client
        .ready_stream(1, Duration::from_millis(1))
        .take(20)
        .map_ok(|s| s.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(stream_ids, sets);
    assert!(sandbox.faults_injected() > 0);
    assert!(sandbox.requests_served() > 21);
    // Uploads opt in to retries here, so they get through too.
    let uploads = sandbox
        .client_builder()
        .retry_uploads(true)
        .build()
        .unwrap();
    for _ in 0..5 {
        uploads
            .upload(UploadRequest::new().image(jpeg()))
            .await
            .unwrap();
    }
    assert_eq!(sandbox.uploads(), 5);
}

#[tokio::test]
async fn truncated_and_malformed_bodies_are_retried_then_reported() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0).seed(7)).await;
    let client = sandbox.client();
    let set = sandbox.add_set(SetSpec::new());

    sandbox.set_faults(Faults::default().truncated(0.5));
    for _ in 0..10 {
        assert!(client.result(&set).await.unwrap().is_ready());
    }

    sandbox.set_faults(Faults::default().truncated(1.0));
    let err = client.result(&set).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { source, .. } if source.is_eof()),
        "{err:?}"
    );

    // An HTML page in place of the answer was damaged on the way: retried like a cut-off
    // body, and still retryable once the attempts are used up.
    sandbox.set_faults(Faults::default().malformed(1.0));
    let err = client.ready(1).await.unwrap_err();
    assert!(err.is_decode() && err.is_retryable(), "{err:?}");

    sandbox.set_faults(Faults::none());
    assert!(client.result(&set).await.unwrap().is_ready());
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0)).await;
    let set = sandbox.add_set(SetSpec::new());
    let client = sandbox
        .client_builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();

    sandbox.set_faults(Faults::default().slow(1.0, Duration::from_millis(300)));
    let err = client.result(&set).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    sandbox.set_faults(Faults::default().slow(0.3, Duration::from_millis(300)));
    for _ in 0..5 {
        assert!(client.result(&set).await.unwrap().is_ready());
    }
}

#[tokio::test]
async fn latency_knob_and_many_requests() {
    let sandbox = Sandbox::start(SandboxConfig::default().latency(Duration::from_millis(1))).await;
    let client = sandbox.client();
    sandbox.set_latency(Duration::ZERO);
    let n = 1000;
    let ok = futures::stream::iter(0..n)
        .map(|_| {
            let c = client.clone();
            async move { c.ready(1).await.is_ok() }
        })
        .buffer_unordered(32)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    assert_eq!(ok, n);
    assert_eq!(sandbox.requests_served(), n as u64);
    assert_eq!(sandbox.ready_requests(), n as u64);
}

#[tokio::test]
async fn bad_uploads_are_rejected_with_400() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    // Talk to the sandbox directly to send what the client would refuse to.
    let http = reqwest::Client::new();
    let url = format!("{}/api/bescan/add_document", sandbox.uri());
    for body in [
        serde_json::json!({"project_id": "4821", "token": "sandbox-token", "images": []}),
        serde_json::json!({"project_id": "4821", "token": "sandbox-token", "images": ["%%%"]}),
        serde_json::json!({"project_id": "4821", "token": "sandbox-token", "images": ["AQID"], "process_info": []}),
    ] {
        let resp = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{body}");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["errors"]["type"], "BadRequest");
    }
    assert_eq!(sandbox.uploads(), 0);
}

/// A set with one document Beorg could not read, and one with a misread SNILS check
/// number — what the review queue is for. Both sets are ready; only the marked document
/// (or the SNILS number) differs.
///
/// Shapes: a document's `broken` is `null` or `true` and `broken_reasons` /
/// `broken_reasons_ru` are lists in Beorg's published result examples
/// (`/work/shared/api/beorg.md`, "Result of one set"; docs/beorg-client.md); no public
/// example shows a non-empty per-document list, but a public PHP client (a Laravel
/// `DocumentDataProcessor`, found through the code index) merges both lists of each
/// document into its error messages, so they are lists of texts.
#[tokio::test]
async fn a_broken_document_and_a_bad_snils_check_number() {
    let sandbox = Sandbox::start(SandboxConfig::default().polls_until_ready(0)).await;
    let broken = sandbox.add_set(
        SetSpec::new()
            .document("PASSPORT")
            .keyed_document("MEDBOOK1", "MEDBOOK")
            .broken_document("MEDBOOK1"),
    );
    let bad = sandbox.add_set(SetSpec::new().bad_snils_check_number());
    let fine = sandbox.add_set(SetSpec::new());
    let raw = |set: &SetId| {
        let url = format!(
            "{}/api/document/result/{set}?token={}",
            sandbox.uri(),
            sandbox.token()
        );
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let body = raw(&broken).await;
    let docs = body["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        (docs[0]["key"].as_str(), docs[0]["broken"].clone()),
        (Some("PASSPORT"), serde_json::Value::Null)
    );
    assert_eq!(docs[0]["broken_reasons_ru"], serde_json::json!([]));
    assert_eq!(
        (docs[1]["key"].as_str(), docs[1]["type"].as_str()),
        (Some("MEDBOOK1"), Some("MEDBOOK"))
    );
    assert_eq!(docs[1]["broken"], serde_json::Value::Bool(true));
    assert_eq!(
        docs[1]["broken_reasons"],
        serde_json::json!(["The document is unreadable"])
    );
    assert_eq!(
        docs[1]["broken_reasons_ru"],
        serde_json::json!(["Документ нечитаем"])
    );
    assert!(body.get("broken").is_none(), "the set itself is not broken");
    // The client sees a ready set whose second document is broken.
    let result = sandbox
        .client()
        .result(&broken)
        .await
        .unwrap()
        .into_ready()
        .unwrap();
    assert!(!result.documents[0].is_broken());
    assert!(result.documents[1].is_broken());

    // The SNILS check number: the nine digits weighted 9..1, summed; < 100 as is,
    // 100/101 → 00, else mod 101 (100 → 00) — computed here, not by the sandbox's code.
    let snils = |body: &serde_json::Value| {
        let docs = body["documents"].as_array().unwrap();
        let snils = docs.iter().find(|d| d["type"] == "SNILS").unwrap();
        snils["data"]["Number"].as_str().unwrap().to_owned()
    };
    let valid = |number: &str| {
        let d: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = d[..9].iter().zip((1..=9).rev()).map(|(a, w)| a * w).sum();
        let check = match sum {
            s if s < 100 => s,
            100 | 101 => 0,
            s => (s % 101) % 100,
        };
        d.len() == 11 && d[9] * 10 + d[10] == check
    };
    let bad_number = snils(&raw(&bad).await);
    assert!(!valid(&bad_number), "a wrong check number");
    assert!(valid(&snils(&raw(&fine).await)), "others are valid");

    // Corrected at Beorg: the next results are clean; marked again: broken again.
    assert!(sandbox.correct(&broken) && sandbox.correct(&bad));
    assert!(raw(&broken).await["documents"][1]["broken"].is_null());
    let corrected = snils(&raw(&bad).await);
    assert!(valid(&corrected));
    assert_eq!(
        corrected[..11],
        bad_number[..11],
        "only the check number changed"
    );
    assert!(sandbox.mark_broken(&fine, "SNILS"));
    assert_eq!(
        raw(&fine).await["documents"][1]["broken"],
        serde_json::Value::Bool(true)
    );
    assert!(!sandbox.correct("s-99") && !sandbox.mark_broken("s-99", "SNILS"));
}

/// A year's backlog seeded at once: every set listed by one ready answer, each with the
/// default documents (a set seeded alone gives the same result).
#[tokio::test]
async fn a_hundred_thousand_sets_are_seeded_and_listed_at_once() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await;
    let client = sandbox.client();
    let numbers = sandbox.add_ready_sets(100_000);
    assert_eq!(numbers.clone().count(), 100_000);
    assert_eq!(sandbox.set_count(), 100_000);
    let single = sandbox.add_set(SetSpec::new().ready());
    let ready = client.ready(numbers.start).await.unwrap();
    assert_eq!(ready.ready.len(), 100_001);
    assert_eq!(ready.ready[0], SetId::from_number(numbers.start));
    assert_eq!(ready.ready[99_999], SetId::from_number(numbers.end - 1));
    let bulk = client
        .result(&SetId::from_number(numbers.start))
        .await
        .unwrap();
    let alone = client.result(&single).await.unwrap();
    let types = |s: &beorg_client::ResultStatus| match s {
        beorg_client::ResultStatus::Ready(r) => r
            .documents
            .iter()
            .map(|d| d.doc_type.to_string())
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(types(&bulk), types(&alone));
    assert_eq!(types(&bulk), ["PASSPORT", "SNILS"]);
}
