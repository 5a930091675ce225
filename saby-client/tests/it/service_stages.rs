//! Service stages: list, process (Prepare + Execute "Обработать служебное"), defer, delete.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use crate::common::*;
use saby_client::{ServerSigner, ServiceStageFilter};
use serde_json::json;

#[tokio::test]
async fn list_process_defer_and_delete_service_stages() {
    let server = server_with_login(Some(1)).await;
    mount_rpc(
        &server,
        "СБИС.СписокСлужебныхЭтапов",
        reply(fx(include_str!("../fixtures/service_stages.json"))),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ПодготовитьДействие",
        result(json!({"Идентификатор": "svc-doc-1"})),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ВыполнитьДействие",
        result(json!({"Идентификатор": "svc-doc-1"})),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.ОтложитьСлужебныйЭтап",
        result(json!(null)),
        Some(1),
    )
    .await;
    mount_rpc(
        &server,
        "СБИС.УдалитьСлужебныйЭтап",
        result(json!(null)),
        Some(1),
    )
    .await;
    let client = client(&server);

    let page = client
        .service_stages(
            &ServiceStageFilter::new()
                .document_id("svc-doc-1")
                .navigation(saby_client::Navigation::new(20, 0)),
        )
        .await
        .unwrap();
    assert!(!page.has_more());
    let doc = &page.documents[0];
    assert_eq!(doc.stages[0].service, Some(true));
    let filter = &bodies(&server, "СБИС.СписокСлужебныхЭтапов").await[0]["params"]["Фильтр"];
    assert_eq!(filter["ИдентификаторДокумента"], "svc-doc-1");
    assert_eq!(filter["Навигация"]["РазмерСтраницы"], "20");

    let done = client
        .process_service_stages(doc, &ServerSigner)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    let exec = &bodies(&server, "СБИС.ВыполнитьДействие").await[0]["params"]["Документ"]["Этап"][0];
    assert_eq!(exec["Идентификатор"], "svc-stage-1");
    assert_eq!(exec["Действие"][0]["Название"], "Обработать служебное");

    client
        .defer_service_stage("svc-doc-1", "svc-stage-1")
        .await
        .unwrap();
    client
        .delete_service_stage("svc-doc-1", "svc-stage-1")
        .await
        .unwrap();
    let stage_ref = json!({"Документ": {"Идентификатор": "svc-doc-1", "Этап": {"Идентификатор": "svc-stage-1"}}});
    // The newer wrapped shape of Saby's own 1C connector (saby-integration/vo3_core,
    // base/LocalHelper.bsl, local_helper_delay_service_stage).
    assert_eq!(
        bodies(&server, "СБИС.ОтложитьСлужебныйЭтап").await[0]["params"],
        json!({ "Параметры": stage_ref.clone() })
    );
    // No public shape: sent like the older form.
    assert_eq!(
        bodies(&server, "СБИС.УдалитьСлужебныйЭтап").await[0]["params"],
        stage_ref
    );
}
