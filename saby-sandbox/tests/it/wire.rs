//! The sandbox at the wire level, with raw reqwest: endpoints, JSON shapes, quirks, error
//! shapes, sessions, the feed's paging and fault injection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use std::time::Duration;

use base64::Engine as _;
use saby_sandbox::{Faults, Incoming, PaceUnit, ResultWrapping, Sandbox, SandboxConfig};
use serde_json::{Value, json};

const CT: &str = "application/json-rpc;charset=utf-8";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct Rpc {
    http: reqwest::Client,
    base: String,
    sid: Option<String>,
}

struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn result(&self) -> &Value {
        assert!(
            self.body.get("error").is_none(),
            "unexpected error {}: {}",
            self.status,
            self.body
        );
        &self.body["result"]
    }

    fn error_message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {}", self.body))
            .to_owned()
    }

    /// The document of a result, unwrapping `{"Документ": ...}`.
    fn document(&self) -> Value {
        let r = self.result();
        if r.get("Идентификатор").is_some() {
            r.clone()
        } else {
            r["Документ"].clone()
        }
    }
}

impl Rpc {
    async fn new(sb: &Sandbox) -> Rpc {
        Rpc::with_http(sb, reqwest::Client::new()).await
    }

    /// Shares an HTTP client (building one loads the TLS roots, which is slow).
    async fn with_http(sb: &Sandbox, http: reqwest::Client) -> Rpc {
        let mut rpc = Rpc {
            http,
            base: sb.uri(),
            sid: None,
        };
        rpc.login(sb).await;
        rpc
    }

    async fn login(&mut self, sb: &Sandbox) {
        let a = self
            .raw(
                "/auth/service/",
                "СБИС.Аутентифицировать",
                json!({"Параметр": {"Логин": sb.login(), "Пароль": sb.password()}}),
            )
            .await;
        self.sid = Some(a.result().as_str().unwrap().to_owned());
    }

    async fn raw(&self, path: &str, method: &str, params: Value) -> Answer {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        let mut req = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("content-type", CT)
            .body(serde_json::to_vec(&body).unwrap());
        if let Some(sid) = &self.sid {
            req = req.header("X-SBISSessionID", sid);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }

    async fn call(&self, method: &str, params: Value) -> Answer {
        self.raw("/service/?srv=1", method, params).await
    }

    /// The HTTP status of the cheapest call that needs a session (`СБИС.ИнформацияОВерсии`).
    async fn session_status(&self) -> u16 {
        self.call("СБИС.ИнформацияОВерсии", json!({})).await.status
    }

    async fn get(&self, url: &str) -> (u16, Vec<u8>) {
        let mut req = self.http.get(url);
        if let Some(sid) = &self.sid {
            req = req.header("X-SBISSessionID", sid);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
    }
}

fn draft(id: &str, title: &str) -> Value {
    json!({"Документ": {
        "Идентификатор": id,
        "Тип": "ДокОтгрИсх",
        "Название": title,
        "Контрагент": {"СвЮЛ": {"ИНН": "7807654321", "КПП": "780701001"}},
        "Вложение": [{"Идентификатор": format!("{id}-a1"), "Файл": {"Имя": "договор.txt", "ДвоичныеДанные": b64("Трудовой договор".as_bytes())}}],
    }})
}

fn stage_action(id: &str, stage: &str, action: &str) -> Value {
    json!({"Документ": {"Идентификатор": id, "Этап": {"Название": stage, "Действие": {"Название": action}}}})
}

async fn send(rpc: &Rpc, id: &str) -> Value {
    let prepared = rpc
        .call(
            "СБИС.ПодготовитьДействие",
            stage_action(id, "Отправка", "Отправить"),
        )
        .await;
    let stage = &prepared.document()["Этап"][0];
    assert_eq!(stage["Вложение"][0]["Файл"]["Имя"], "договор.txt");
    rpc.call(
        "СБИС.ВыполнитьДействие",
        stage_action(id, "Отправка", "Отправить"),
    )
    .await
    .document()
}

/// Polls the feed from the start, following `ИдентификаторСобытия`, until nothing is new;
/// returns (doc id, event name, event id) in order.
async fn drain_feed(
    rpc: &Rpc,
    after: &mut Option<(String, String)>,
    page: u64,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    loop {
        let mut filter = json!({"Навигация": {"РазмерСтраницы": page}});
        if let Some((event, doc)) = after {
            // The production paging cursor: last event id + its document id.
            filter["ИдентификаторСобытия"] = json!(event);
            filter["ИдентификаторДокумента"] = json!(doc);
        }
        let a = rpc
            .call("СБИС.СписокИзменений", json!({"Фильтр": filter}))
            .await;
        let r = a.result();
        for d in r["Документ"].as_array().unwrap() {
            for e in d["Событие"].as_array().unwrap() {
                let id = e["Идентификатор"].as_str().unwrap().to_owned();
                out.push((
                    d["Идентификатор"].as_str().unwrap().to_owned(),
                    e["Название"].as_str().unwrap().to_owned(),
                    id.clone(),
                ));
                *after = Some((id, d["Идентификатор"].as_str().unwrap().to_owned()));
            }
        }
        if r["Навигация"]["ЕстьЕще"] != "Да" {
            return out;
        }
    }
}

#[tokio::test]
async fn login_session_and_protocol_errors() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let mut rpc = Rpc {
        http: reqwest::Client::new(),
        base: sb.uri(),
        sid: None,
    };
    // No session → 401 with a JSON-RPC error body.
    let a = rpc.call("СБИС.ИнформацияОВерсии", json!({})).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["error"]["type"], "auth");
    // Wrong password → JSON-RPC error, no session.
    let a = rpc
        .raw(
            "/auth/service/",
            "СБИС.Аутентифицировать",
            json!({"Параметр": {"Логин": "sandbox", "Пароль": "nope"}}),
        )
        .await;
    assert!(a.error_message().contains("Неверный"));
    assert_eq!(sb.login_count(), 0);
    assert_eq!(sb.failed_login_count(), 1);
    rpc.login(&sb).await;
    assert_eq!(sb.login_count(), 1);
    // `ВнешнийИнтерфейс` is an object with `ДатаВремяЗапроса`, which Saby's own 1C connector
    // reads (saby-integration/vo3_core, base/LocalHelper.bsl, local_helper_get_server_datetime,
    // called with `{"Параметр": {}}`); `{}` is accepted too.
    for params in [json!({"Параметр": {}}), json!({})] {
        let a = rpc.call("СБИС.ИнформацияОВерсии", params).await;
        assert_eq!(a.status, 200);
        assert!(
            a.result()["ВнешнийИнтерфейс"]["ДатаВремяЗапроса"]
                .as_str()
                .is_some_and(|t| saby_client::SabyDateTime::parse(t).datetime().is_some()),
            "{}",
            a.body
        );
    }
    // Unknown method.
    let a = rpc.call("СБИС.НетТакогоМетода", json!({})).await;
    assert_eq!(
        a.body["error"]["code"].to_string().trim_matches('"'),
        "-32601"
    );
    assert!(a.error_message().contains("СБИС.НетТакогоМетода"));
    // Content type without charset and a Cyrillic body → -32700.
    let resp = rpc
        .http
        .post(format!("{}/service/?srv=1", sb.uri()))
        .header("content-type", "application/json")
        .header("X-SBISSessionID", rpc.sid.clone().unwrap())
        .body(r#"{"jsonrpc":"2.0","method":"СБИС.ИнформацияОВерсии","params":{},"id":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], CT);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"]["code"].to_string().trim_matches('"'),
        "-32700"
    );
    // Not JSON at all.
    let resp = rpc
        .http
        .post(format!("{}/service/?srv=1", sb.uri()))
        .header("content-type", CT)
        .body("{oops")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"]["code"].to_string().trim_matches('"'),
        "-32700"
    );
    // Login method on the wrong endpoint.
    let a = rpc
        .call(
            "СБИС.Аутентифицировать",
            json!({"Параметр": {"Логин": "sandbox", "Пароль": "sandbox-password"}}),
        )
        .await;
    assert!(
        a.body["error"]["details"]
            .as_str()
            .unwrap()
            .contains("auth")
            || a.body["error"]["data"]
                .to_string()
                .contains("/auth/service/")
    );
    // Logout closes the session.
    let a = rpc.raw("/auth/service/", "СБИС.Выход", json!({})).await;
    assert_eq!(a.status, 200);
    assert_eq!(rpc.session_status().await, 401);
    // Accounts and switching.
    rpc.login(&sb).await;
    let a = rpc
        .raw("/auth/service/", "СБИС.СписокАккаунтов", json!({}))
        .await;
    // `result.Список` of `{НомерАккаунта, НазваниеАккаунта}`, as Saby's own 1C connector reads
    // it (saby-integration/vo3_core, base/LocalHelper.bsl, local_helper_get_accoutslist).
    let list = a.result()["Список"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["НомерАккаунта"], sb.account());
    assert!(list[0]["НазваниеАккаунта"].is_string());
    let other = format!("{}-2", sb.account());
    let a = rpc
        .raw(
            "/auth/service/",
            "СБИС.ПереключитьАккаунт",
            json!({"Параметр": {"НомерАккаунта": other}}),
        )
        .await;
    let new_sid = a.result().as_str().unwrap().to_owned();
    assert_eq!(rpc.session_status().await, 401, "old sid closed");
    rpc.sid = Some(new_sid);
    // The user sits under `Пользователь` (vo3_core, local_helper_get_user_info, reads
    // `result["Пользователь"]["Аккаунт"]["Номер"]`), with or without `Параметр`.
    for params in [json!({"Параметр": {}}), json!({})] {
        let a = rpc
            .call("СБИС.ИнформацияОТекущемПользователе", params)
            .await;
        assert_eq!(a.result()["Пользователь"]["Аккаунт"]["Номер"], other);
    }
}

#[tokio::test]
async fn oauth_service_app() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let (id, secret, key) = sb.service_app();
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/oauth/service/", sb.uri()))
        .json(&json!({"app_client_id": id, "app_secret": secret, "secret_key": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http
        .post(format!("{}/oauth/service/", sb.uri()))
        .json(&json!({"app_client_id": id, "app_secret": secret, "secret_key": key}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    let resp = http
        .post(format!("{}/service/?srv=1", sb.uri()))
        .header("content-type", CT)
        .header("X-SBISAccessToken", token)
        .body(
            serde_json::to_vec(
                &json!({"jsonrpc":"2.0","method":"СБИС.СписокНашихОрганизаций","params":{},"id":7}),
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], 7);
    assert!(body["result"]["НашаОрганизация"][0]["СвЮЛ"]["ИНН"].is_string());
    assert_eq!(sb.login_count(), 1);
}

#[tokio::test]
async fn write_is_idempotent_and_files_download_with_session() {
    let sb =
        Sandbox::start(SandboxConfig::default().result_wrapping(ResultWrapping::Alternate)).await;
    let rpc = Rpc::new(&sb).await;
    let first = rpc
        .call("СБИС.ЗаписатьДокумент", draft("doc-1", "Договор"))
        .await;
    let second = rpc
        .call("СБИС.ЗаписатьДокумент", draft("doc-1", "Договор"))
        .await;
    // One of the two answers is wrapped.
    let shapes = [
        first.result().get("Документ").is_some(),
        second.result().get("Документ").is_some(),
    ];
    assert_eq!(shapes.iter().filter(|w| **w).count(), 1);
    assert_eq!(sb.document_count(), 1);
    let doc = second.document();
    assert_eq!(doc["Состояние"]["Код"], "0");
    assert_eq!(doc["Направление"], "Исходящий");
    assert_eq!(doc["Удален"], "Нет");
    assert_eq!(doc["Этап"][0]["Название"], "Отправка");
    assert_eq!(doc["Этап"][0]["Действие"][0]["Название"], "Отправить");
    assert_eq!(
        doc["Этап"][0]["Действие"][0]["Сертификат"][0]["Ключ"]["Тип"],
        "Серверный"
    );
    let file = &doc["Вложение"][0]["Файл"];
    assert_eq!(file["Имя"], "договор.txt");
    let link = file["Ссылка"].as_str().unwrap();
    let (status, bytes) = rpc.get(link).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, "Трудовой договор".as_bytes());
    use sha2::Digest as _;
    assert_eq!(file["Хеш"], b64(&sha2::Sha256::digest(&bytes)));
    // Without the session header → 401.
    let anon = reqwest::get(link).await.unwrap();
    assert_eq!(anon.status(), 401);
    // An update of the draft changes it in place.
    let mut changed = draft("doc-1", "Договор (ред.)");
    changed["Документ"]["Примечание"] = json!("правка");
    let doc = rpc.call("СБИС.ЗаписатьДокумент", changed).await.document();
    assert_eq!(doc["Название"], "Договор (ред.)");
    assert_eq!(sb.document_count(), 1);
    // Bad base64 names the field.
    let mut bad = draft("doc-2", "x");
    bad["Документ"]["Вложение"][0]["Файл"]["ДвоичныеДанные"] = json!("@@@");
    let a = rpc.call("СБИС.ЗаписатьДокумент", bad).await;
    assert!(
        a.error_message()
            .contains("Документ.Вложение[0].Файл.ДвоичныеДанные"),
        "{}",
        a.body
    );
    assert_eq!(sb.document_count(), 1);
    // Attachments without ids get stable ones: a retried write does not duplicate them.
    let no_id = json!({"Документ": {"Идентификатор": "doc-3", "Контрагент": {"СвЮЛ": {"ИНН": "7807654321"}},
        "Вложение": [{"Файл": {"Имя": "a.txt", "ДвоичныеДанные": b64(b"a")}}]}});
    rpc.call("СБИС.ЗаписатьДокумент", no_id.clone())
        .await
        .document();
    let doc = rpc.call("СБИС.ЗаписатьДокумент", no_id).await.document();
    assert_eq!(doc["Вложение"].as_array().unwrap().len(), 1);
    // ЗаписатьВложение adds one.
    let doc = rpc
        .call(
            "СБИС.ЗаписатьВложение",
            json!({"Документ": {"Идентификатор": "doc-3", "Вложение": [{"Идентификатор": "b", "Файл": {"Имя": "b.txt", "ДвоичныеДанные": b64(b"b")}}]}}),
        )
        .await
        .document();
    assert_eq!(doc["Вложение"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn send_then_feed_moves_the_document_to_completed() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let rpc = Rpc::new(&sb).await;
    rpc.call("СБИС.ЗаписатьДокумент", draft("d1", "Договор"))
        .await
        .document();
    let sent = send(&rpc, "d1").await;
    assert_eq!(sent["Состояние"]["Код"], "3");
    assert_eq!(sent["Событие"].as_array().unwrap().len(), 1);
    assert_eq!(sent["Событие"][0]["Название"], "Отправка");
    let sent_event = sent["Событие"][0]["Идентификатор"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent["Этап"].as_array().unwrap().is_empty());
    // Sending again is refused and names the action.
    let again = rpc
        .call(
            "СБИС.ВыполнитьДействие",
            stage_action("d1", "Отправка", "Отправить"),
        )
        .await;
    assert_eq!(again.status, 500);
    assert!(
        again.error_message().contains("Отправить"),
        "{}",
        again.error_message()
    );
    // A retried identical write of a sent document is a no-op; a change is refused.
    rpc.call("СБИС.ЗаписатьДокумент", draft("d1", "Договор"))
        .await
        .document();
    let a = rpc
        .call("СБИС.ЗаписатьДокумент", draft("d1", "Другой"))
        .await;
    assert!(a.error_message().contains("изменить"));

    let mut cursor = Some((sent_event, "d1".to_owned()));
    let events = drain_feed(&rpc, &mut cursor, 10).await;
    assert_eq!(
        events.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["Получение"]
    );
    assert_eq!(sb.state_code("d1").as_deref(), Some("4"));
    let events = drain_feed(&rpc, &mut cursor, 10).await;
    assert_eq!(
        events.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["Утверждение"]
    );
    assert_eq!(sb.state_code("d1").as_deref(), Some("7"));
    assert!(drain_feed(&rpc, &mut cursor, 10).await.is_empty());
    let doc = rpc
        .call(
            "СБИС.ПрочитатьДокумент",
            json!({"Документ": {"Идентификатор": "d1"}}),
        )
        .await
        .document();
    assert_eq!(doc["Состояние"]["Код"], "7");
    let names: Vec<&str> = doc["Событие"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Название"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Отправка", "Получение", "Утверждение"]);
    // The primary attachment now carries our and the counterparty's signatures.
    let sigs = doc["Вложение"][0]["Подпись"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    let (status, sig) = rpc.get(sigs[1]["Файл"]["Ссылка"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(sig.starts_with(b"SANDBOX-CMS-SIGNATURE"));
    // The zip holds files and signatures; twice the same bytes.
    let zip = doc["СсылкаНаАрхив"].as_str().unwrap();
    let (status, a) = rpc.get(zip).await;
    assert_eq!(status, 200);
    assert_eq!(&a[..4], b"PK\x03\x04");
    assert!(
        a.windows("договор.txt.p7s".len())
            .any(|w| w == "договор.txt.p7s".as_bytes())
    );
    assert_eq!(rpc.get(zip).await.1, a);
    let (status, pdf) = rpc.get(doc["СсылкаНаPDF"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF-"));
}

#[tokio::test]
async fn feed_pages_through_events_of_the_same_second_without_loss() {
    let sb = Sandbox::start(
        SandboxConfig::default()
            .delivery_after(0)
            .completion_after(0),
    )
    .await;
    let rpc = Rpc::new(&sb).await;
    for i in 0..7 {
        let id = format!("f{i}");
        rpc.call("СБИС.ЗаписатьДокумент", draft(&id, "Док"))
            .await
            .document();
        send(&rpc, &id).await;
    }
    // delivery/completion after 0 steps: each document has 3 events at once.
    assert_eq!(sb.events_count(), 21);
    let mut cursor = None;
    let all = drain_feed(&rpc, &mut cursor, 2).await;
    assert_eq!(all.len(), 21);
    let mut ids: Vec<&String> = all.iter().map(|e| &e.2).collect();
    let before = ids.clone();
    ids.sort();
    assert_eq!(ids, before, "ordered by (time, id)");
    ids.dedup();
    assert_eq!(ids.len(), 21, "no duplicates");
    for i in 0..7 {
        let id = format!("f{i}");
        let names: Vec<&str> = all
            .iter()
            .filter(|e| e.0 == id)
            .map(|e| e.1.as_str())
            .collect();
        assert_eq!(names, ["Отправка", "Получение", "Утверждение"]);
    }
    // Resuming by time alone repeats the second (inclusive).
    let a = rpc
        .call("СБИС.СписокИзменений", json!({"Фильтр": {"ДатаВремяС": "01.01.2000 00.00.00", "Навигация": {"РазмерСтраницы": 100}}}))
        .await;
    let n: usize = a.result()["Документ"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Событие"].as_array().unwrap().len())
        .sum();
    assert_eq!(n, 21);
    // One document only.
    let a = rpc
        .call(
            "СБИС.СписокИзменений",
            json!({"Фильтр": {"ИдентификаторДокумента": "f3"}}),
        )
        .await;
    let docs = a.result()["Документ"].as_array().unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["Событие"].as_array().unwrap().len(), 3);
    // A bad date names the field.
    let a = rpc
        .call(
            "СБИС.СписокИзменений",
            json!({"Фильтр": {"ДатаВремяС": "yesterday"}}),
        )
        .await;
    assert!(a.error_message().contains("Фильтр.ДатаВремяС"));
}

#[tokio::test]
async fn rejection_by_marker_and_by_share() {
    let sb = Sandbox::start(SandboxConfig::default().pace(PaceUnit::Calls)).await;
    let rpc = Rpc::new(&sb).await;
    rpc.call("СБИС.ЗаписатьДокумент", draft("r1", "Акт [reject]"))
        .await
        .document();
    send(&rpc, "r1").await;
    rpc.call("СБИС.ИнформацияОВерсии", json!({})).await;
    rpc.call("СБИС.ИнформацияОВерсии", json!({})).await;
    assert_eq!(sb.state_code("r1").as_deref(), Some("9"));
    assert_eq!(
        sb.event_names("r1"),
        ["Отправка", "Получение", "Отклонение"]
    );
    let doc = sb.document_json("r1").unwrap();
    assert_eq!(doc["Состояние"]["Примечание"], "Отклонен");

    let sb = Sandbox::start(
        SandboxConfig::default()
            .reject_share(1.0)
            .delivery_after(0)
            .completion_after(0),
    )
    .await;
    let rpc = Rpc::new(&sb).await;
    rpc.call("СБИС.ЗаписатьДокумент", draft("r2", "Акт"))
        .await
        .document();
    send(&rpc, "r2").await;
    assert_eq!(sb.state_code("r2").as_deref(), Some("9"));
}

#[tokio::test]
async fn client_side_keys_need_a_signature_per_file() {
    let sb = Sandbox::start(SandboxConfig::default().client_side_signing(true)).await;
    let rpc = Rpc::new(&sb).await;
    let doc = rpc
        .call("СБИС.ЗаписатьДокумент", draft("c1", "Договор"))
        .await
        .document();
    assert_eq!(
        doc["Этап"][0]["Действие"][0]["Сертификат"][0]["Ключ"]["Тип"],
        "Клиентский"
    );
    let prepared = rpc
        .call(
            "СБИС.ПодготовитьДействие",
            stage_action("c1", "Отправка", "Отправить"),
        )
        .await
        .document();
    let file = &prepared["Этап"][0]["Вложение"][0];
    let file_id = file["Идентификатор"].as_str().unwrap().to_owned();
    let (_, bytes) = rpc.get(file["Файл"]["Ссылка"].as_str().unwrap()).await;
    assert_eq!(bytes, "Трудовой договор".as_bytes());
    let a = rpc
        .call(
            "СБИС.ВыполнитьДействие",
            stage_action("c1", "Отправка", "Отправить"),
        )
        .await;
    assert!(
        a.error_message().contains("подпись"),
        "{}",
        a.error_message()
    );
    assert_eq!(
        sb.state_code("c1").as_deref(),
        Some("0"),
        "refused call changed nothing"
    );
    let mut signed = stage_action("c1", "Отправка", "Отправить");
    signed["Документ"]["Этап"]["Вложение"] = json!([{"Идентификатор": file_id, "Подпись": [{"Тип": "Отсоединенная", "Файл": {"Имя": "договор.txt.p7s", "ДвоичныеДанные": b64(b"CMS")}}]}]);
    let sent = rpc.call("СБИС.ВыполнитьДействие", signed).await.document();
    assert_eq!(sent["Состояние"]["Код"], "3");
    assert!(sent["Событие"][0]["Идентификатор"].is_string());
}

#[tokio::test]
async fn incoming_documents_are_approved_or_rejected() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let rpc = Rpc::new(&sb).await;
    let a = sb.add_incoming(
        Incoming::new("Приказ о приеме").attachment("приказ.pdf", b"%PDF-1.4".to_vec()),
    );
    let b = sb.add_incoming(Incoming::new("Заявление").awaiting_signature(true));
    assert_eq!(sb.state_code(&b).as_deref(), Some("23"));
    let list = rpc
        .call(
            "СБИС.СписокДокументов",
            json!({"Фильтр": {"Направление": "Входящий"}}),
        )
        .await;
    assert_eq!(list.result()["Документ"].as_array().unwrap().len(), 2);
    let doc = rpc
        .call(
            "СБИС.ПрочитатьДокумент",
            json!({"Документ": {"Идентификатор": a}}),
        )
        .await
        .document();
    assert_eq!(doc["Направление"], "Входящий");
    assert_eq!(doc["Состояние"]["Код"], "4");
    let stage = &doc["Этап"][0];
    assert_eq!(stage["Название"], "Утверждение");
    assert_eq!(stage["Действие"][1]["Название"], "Отклонить");
    assert_eq!(stage["Действие"][1]["ТребуетКомментария"], "Да");
    let done = rpc
        .call(
            "СБИС.ВыполнитьДействие",
            stage_action(&a, "Утверждение", "Утвердить"),
        )
        .await
        .document();
    assert_eq!(done["Состояние"]["Код"], "7");
    assert_eq!(done["Событие"][0]["Название"], "Утверждение");
    // Rejecting without a comment fails and changes nothing.
    let fail = rpc
        .call(
            "СБИС.ВыполнитьДействие",
            stage_action(&b, "Утверждение", "Отклонить"),
        )
        .await;
    assert!(fail.error_message().contains("комментарий"));
    assert_eq!(sb.state_code(&b).as_deref(), Some("23"));
    let mut with_comment = stage_action(&b, "Утверждение", "Отклонить");
    with_comment["Документ"]["Этап"]["Действие"]["Комментарий"] = json!("Неверная дата");
    let rejected = rpc
        .call("СБИС.ВыполнитьДействие", with_comment)
        .await
        .document();
    assert_eq!(rejected["Состояние"]["Код"], "9");
    assert_eq!(rejected["Событие"][0]["Комментарий"], "Неверная дата");
    assert_eq!(sb.event_names(&b), ["Получение", "Отклонение"]);
    // The generated rejection notice is now a service attachment.
    assert!(
        rejected["Вложение"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["Служебный"] == "Да")
    );
    // Repeating the approval stage reopens it.
    let again = rpc
        .call(
            "СБИС.ПовторитьЭтап",
            json!({"Документ": {"Идентификатор": b, "Этап": {"Название": "Утверждение"}}}),
        )
        .await
        .document();
    assert_eq!(again["Состояние"]["Код"], "4");
    assert_eq!(again["Этап"][0]["Название"], "Утверждение");
}

#[tokio::test]
async fn service_stages_are_listed_processed_deferred_and_deleted() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let rpc = Rpc::new(&sb).await;
    let a = sb.add_incoming(Incoming::new("A").service_stage(true));
    let b = sb.add_incoming(Incoming::new("B").service_stage(true));
    let c = sb.add_incoming(Incoming::new("C"));
    assert!(sb.add_service_stage(&c));
    let list = rpc
        .call("СБИС.СписокСлужебныхЭтапов", json!({"Фильтр": {}}))
        .await;
    let docs = list.result()["Документ"].as_array().unwrap().clone();
    assert_eq!(docs.len(), 3);
    let stage = &docs[0]["Этап"][0];
    assert_eq!(stage["Служебный"], "Да");
    let stage_name = stage["Название"].as_str().unwrap().to_owned();
    let action = stage["Действие"][0]["Название"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(action, "Обработать служебное");
    // Process A.
    let prepared = rpc
        .call(
            "СБИС.ПодготовитьДействие",
            stage_action(&a, &stage_name, &action),
        )
        .await
        .document();
    assert_eq!(prepared["Этап"][0]["Вложение"].as_array().unwrap().len(), 1);
    rpc.call(
        "СБИС.ВыполнитьДействие",
        stage_action(&a, &stage_name, &action),
    )
    .await
    .document();
    // Defer B, delete C.
    rpc.call(
        "СБИС.ОтложитьСлужебныйЭтап",
        json!({"Документ": {"Идентификатор": b}}),
    )
    .await
    .document();
    rpc.call(
        "СБИС.УдалитьСлужебныйЭтап",
        json!({"Документ": {"Идентификатор": c}}),
    )
    .await
    .document();
    let list = rpc.call("СБИС.СписокСлужебныхЭтапов", json!({})).await;
    assert!(list.result()["Документ"].as_array().unwrap().is_empty());
    sb.advance_clock(Duration::from_secs(11 * 60));
    // The session is idle-checked against the sandbox clock too, but 11 min is fine.
    let list = rpc.call("СБИС.СписокСлужебныхЭтапов", json!({})).await;
    let docs = list.result()["Документ"].as_array().unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["Идентификатор"], b.as_str());
    // No stage → error.
    let a2 = rpc
        .call(
            "СБИС.УдалитьСлужебныйЭтап",
            json!({"Документ": {"Идентификатор": a}}),
        )
        .await;
    assert_eq!(a2.status, 500);
}

#[tokio::test]
async fn sessions_expire_after_calls_and_by_fault() {
    let http = reqwest::Client::new();
    let sb = Sandbox::start(SandboxConfig::default().session_expires_after_calls(3)).await;
    let mut rpc = Rpc::with_http(&sb, http.clone()).await;
    for _ in 0..3 {
        assert_eq!(rpc.session_status().await, 200);
    }
    assert_eq!(rpc.session_status().await, 401);
    rpc.login(&sb).await;
    assert_eq!(rpc.session_status().await, 200);
    assert_eq!(sb.login_count(), 2);

    let sb = Sandbox::start(SandboxConfig::default()).await;
    let mut rpc = Rpc::with_http(&sb, http.clone()).await;
    sb.set_faults(Faults::none().expire_sessions_every(2));
    assert_eq!(rpc.session_status().await, 200);
    assert_eq!(rpc.session_status().await, 401);
    rpc.login(&sb).await;
    assert_eq!(rpc.session_status().await, 200);
    sb.expire_sessions();
    assert_eq!(rpc.session_status().await, 401);
    // At most 5 sessions: the 6th login closes the first.
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let first = Rpc::with_http(&sb, http.clone()).await;
    for _ in 0..5 {
        Rpc::with_http(&sb, http.clone()).await;
    }
    assert_eq!(sb.session_count(), 5);
    assert_eq!(first.session_status().await, 401);
}

#[tokio::test]
async fn faulted_requests_change_nothing() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let rpc = Rpc::new(&sb).await;
    sb.set_faults(Faults::none().server_errors(1.0));
    let mut statuses = std::collections::BTreeSet::new();
    for i in 0..20 {
        let a = rpc
            .call("СБИС.ЗаписатьДокумент", draft(&format!("x{i}"), "x"))
            .await;
        statuses.insert(a.status);
    }
    assert_eq!(statuses.into_iter().collect::<Vec<_>>(), [502, 503]);
    assert_eq!(sb.document_count(), 0);
    sb.set_faults(Faults::none().malformed(1.0));
    let mut shapes = std::collections::BTreeSet::new();
    for i in 0..20 {
        let a = rpc
            .call("СБИС.ЗаписатьДокумент", draft(&format!("x{i}"), "x"))
            .await;
        assert_eq!(a.status, 200);
        shapes.insert(if a.body.is_string() {
            a.body.as_str().unwrap().chars().next().unwrap()
        } else {
            'j'
        });
    }
    assert!(shapes.contains(&'{') && shapes.contains(&'<'), "{shapes:?}");
    assert_eq!(sb.document_count(), 0);
    sb.set_faults(Faults::none().business_errors(1.0));
    let a = rpc.call("СБИС.ЗаписатьДокумент", draft("x", "x")).await;
    assert_eq!(a.status, 500);
    assert!(a.body["error"]["message"].is_string());
    assert_eq!(sb.document_count(), 0);
    // Lost answers: applied, then 504.
    sb.set_faults(Faults::none().answer_lost(1.0));
    let a = rpc.call("СБИС.ЗаписатьДокумент", draft("lost", "x")).await;
    assert_eq!(a.status, 504);
    assert_eq!(sb.document_count(), 1);
    sb.set_faults(Faults::none());
    let a = rpc.call("СБИС.ЗаписатьДокумент", draft("lost", "x")).await;
    assert_eq!(a.document()["Идентификатор"], "lost");
    assert_eq!(sb.document_count(), 1);
    // Slow answers and fixed latency still answer (the delays themselves are unit-tested).
    sb.set_faults(Faults::none().slow(1.0, Duration::from_millis(3)));
    sb.set_latency(Duration::from_millis(2));
    rpc.call("СБИС.ИнформацияОВерсии", json!({})).await.result();
    // Files not ready yet.
    sb.set_latency(Duration::ZERO);
    sb.set_faults(Faults::none().file_not_ready(1.0));
    let link = sb.document_json("lost").unwrap()["Вложение"][0]["Файл"]["Ссылка"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = rpc.get(&link).await;
    assert_eq!(status, 500);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["error"]["data"]["classid"],
        "{00000000-0000-0000-0000-1aa0000f1002}"
    );
    assert!(sb.fault_count() >= 44);
}

#[tokio::test]
async fn lists_bin_and_reference_methods() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let rpc = Rpc::new(&sb).await;
    for i in 0..5 {
        rpc.call(
            "СБИС.ЗаписатьДокумент",
            draft(&format!("l{i}"), &format!("Док {i}")),
        )
        .await
        .document();
    }
    let page = |p: u64| json!({"Фильтр": {"Направление": "Исходящий", "Навигация": {"РазмерСтраницы": 2, "Страница": p}}});
    let a = rpc.call("СБИС.СписокДокументов", page(0)).await;
    assert_eq!(
        a.result()["Документ"][0]["Идентификатор"],
        "l4",
        "newest first"
    );
    assert_eq!(a.result()["Навигация"]["ЕстьЕще"], "Да");
    let a = rpc.call("СБИС.СписокДокументов", page(2)).await;
    assert_eq!(a.result()["Документ"].as_array().unwrap().len(), 1);
    assert_eq!(a.result()["Навигация"]["ЕстьЕще"], "Нет");
    let a = rpc
        .call(
            "СБИС.СписокДокументов",
            json!({"Фильтр": {"Маска": "док 3"}}),
        )
        .await;
    assert_eq!(a.result()["Документ"].as_array().unwrap().len(), 1);
    let a = rpc
        .call(
            "СБИС.СписокДокументов",
            json!({"Фильтр": {"Состояние": "7"}}),
        )
        .await;
    assert!(a.result()["Документ"].as_array().unwrap().is_empty());
    // Bin.
    let id = json!({"Документ": {"Идентификатор": "l0"}});
    let a = rpc.call("СБИС.УничтожитьДокумент", id.clone()).await;
    assert!(a.error_message().contains("корзин"));
    rpc.call("СБИС.УдалитьДокумент", id.clone()).await.result();
    assert_eq!(sb.document_json("l0").unwrap()["Удален"], "Да");
    let a = rpc.call("СБИС.СписокДокументов", json!({})).await;
    assert_eq!(a.result()["Документ"].as_array().unwrap().len(), 4);
    rpc.call("СБИС.ВосстановитьДокумент", id.clone())
        .await
        .result();
    assert_eq!(sb.document_json("l0").unwrap()["Удален"], "Нет");
    rpc.call("СБИС.УдалитьДокумент", id.clone()).await.result();
    rpc.call("СБИС.УничтожитьДокумент", id.clone())
        .await
        .result();
    assert!(sb.document_json("l0").is_none());
    let a = rpc.call("СБИС.ПрочитатьДокумент", id).await;
    assert_eq!(a.status, 404);
    // Reference methods.
    let html = rpc
        .call(
            "СБИС.СформироватьHTMLИзXML",
            json!({"Параметр": {"XML": b64("<Файл><Док>1</Док></Файл>".as_bytes())}}),
        )
        .await;
    let html = base64::engine::general_purpose::STANDARD
        .decode(html.result()["HTML"].as_str().unwrap())
        .unwrap();
    assert!(String::from_utf8(html).unwrap().contains("&lt;Док&gt;"));
    let a = rpc
        .call(
            "СБИС.ИнформацияОКонтрагенте",
            json!({"Участник": {"СвЮЛ": {"ИНН": "7807654321"}}}),
        )
        .await;
    assert_eq!(a.result()["СвЮЛ"]["Название"], "АО «Лютик» (песочница)");
    let a = rpc
        .call(
            "СБИС.ИнформацияОКонтрагенте",
            json!({"Участник": {"СвЮЛ": {"ИНН": "12"}}}),
        )
        .await;
    assert!(a.error_message().contains("Участник.СвЮЛ.ИНН"));
    let a = rpc.call("СБИС.СписокСертификатов", json!({})).await;
    assert_eq!(a.result()["Сертификат"][0]["Ключ"]["Тип"], "Серверный");
    // Sending a draft without a recipient is refused.
    rpc.call("СБИС.ЗаписатьДокумент", json!({"Документ": {"Идентификатор": "nr", "Вложение": [{"Файл": {"Имя": "a", "ДвоичныеДанные": b64(b"a")}}]}})).await.document();
    let a = rpc
        .call(
            "СБИС.ПодготовитьДействие",
            stage_action("nr", "Отправка", "Отправить"),
        )
        .await;
    assert!(a.error_message().contains("Контрагент"));
    // Deleting a sent document breaks its flow off.
    rpc.call("СБИС.ЗаписатьДокумент", draft("ds", "x"))
        .await
        .document();
    send(&rpc, "ds").await;
    rpc.call(
        "СБИС.УдалитьДокумент",
        json!({"Документ": {"Идентификатор": "ds"}}),
    )
    .await
    .result();
    sb.advance(5);
    assert_eq!(sb.state_code("ds").as_deref(), Some("19"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_load_stays_consistent() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let rpc = std::sync::Arc::new(Rpc::new(&sb).await);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let rpc = rpc.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let id = format!("t{t}-{}", i % 10);
                let a = rpc.call("СБИС.ЗаписатьДокумент", draft(&id, "x")).await;
                assert_eq!(a.status, 200, "{}", a.body);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(sb.document_count(), 80);
    assert_eq!(sb.method_call_count("СБИС.ЗаписатьДокумент"), 200);
    assert_eq!(rpc.session_status().await, 200);
    assert_eq!(sb.document_count(), 80);
}
