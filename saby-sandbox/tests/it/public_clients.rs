//! The sandbox accepts what public Saby clients send, as the real service evidently does:
//! their requests replayed as raw JSON over HTTP (reqwest, not through this crate's client),
//! headers and all. Each test names the client and the file its requests come from.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

use saby_sandbox::{Incoming, LoginConfirmation, Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// An outgoing draft with a counterparty and one attachment, written through the client.
fn draft(id: &str) -> saby_client::Document {
    use saby_client::{Attachment, Document, Party};
    Document::new(id)
        .with_type("ДокОтгрИсх")
        .with_title("Договор")
        .with_counterparty(Party::legal_entity("7807654321", "780701001", "АО «Лютик»"))
        .with_attachment(Attachment::from_bytes(
            format!("{id}-att"),
            "договор.pdf",
            "%PDF-1.7 Договор".as_bytes().to_vec(),
        ))
}

/// A public client as the sandbox sees it: its own headers on every raw request.
#[derive(Clone)]
struct Caller<'a> {
    http: reqwest::Client,
    sb: &'a Sandbox,
    headers: Vec<(&'static str, String)>,
}

impl<'a> Caller<'a> {
    fn new(sb: &'a Sandbox, headers: &[(&'static str, &str)]) -> Self {
        Self {
            http: reqwest::Client::new(),
            sb,
            headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
        }
    }

    /// The same client, now also sending `X-SBISSessionID: sid`.
    fn with_session(&self, sid: &str) -> Self {
        let mut caller = self.clone();
        caller.headers.push(("X-SBISSessionID", sid.to_owned()));
        caller
    }

    /// One raw request: `path` on the sandbox, this client's headers, a JSON body.
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.sb.uri()))
            .body(serde_json::to_vec(&body).unwrap());
        for (name, value) in &self.headers {
            req = req.header(*name, value);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// The headers `SecretDerped/pysaby` sends on every call (`src/pysaby/api.py`).
const PYSABY_HEADERS: [(&str, &str); 3] = [
    ("Host", "online.sbis.ru"),
    ("Content-Type", "application/json-rpc; charset=utf-8"),
    ("Accept", "application/json-rpc"),
];

/// pysaby's login (`src/pysaby/auth.py`): the parameters flat, `"protocol": 2`, `"id": 0`.
fn pysaby_login(sb: &Sandbox) -> Value {
    json!({"jsonrpc": "2.0", "method": "СБИС.Аутентифицировать",
           "params": {"Логин": sb.login(), "Пароль": sb.password()},
           "protocol": 2, "id": 0})
}

/// `SecretDerped/pysaby` 0.1.4 (`src/pysaby/auth.py`, `src/pysaby/api.py`): login params flat
/// (`{"Логин", "Пароль"}`, no `Параметр`), `"protocol": 2` and `"id": 0` on every call, a
/// `Host: online.sbis.ru` header, `Content-Type: application/json-rpc; charset=utf-8` (with a
/// space), `Accept: application/json-rpc`, and calls posted to `/service/` without `?srv=1`.
#[tokio::test]
async fn pysaby_logs_in_flat_and_calls_with_protocol_2_on_service_without_srv() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let pysaby = Caller::new(&sb, &PYSABY_HEADERS);
    let (status, answer) = pysaby.post("/auth/service/", pysaby_login(&sb)).await;
    assert_eq!(status, 200, "{answer}");
    let sid = answer["result"].as_str().unwrap().to_owned();
    assert_eq!(sb.login_count(), 1);

    let with_sid = pysaby.with_session(&sid);
    // The README's examples.
    let (status, answer) = with_sid
        .post(
            "/service/",
            json!({"jsonrpc": "2.0", "method": "СБИС.СписокНашихОрганизаций",
               "params": {"Фильтр": {}}, "protocol": 2, "id": 0}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["result"]["НашаОрганизация"][0]["СвЮЛ"]["ИНН"].is_string());
    let (status, answer) = with_sid
        .post(
            "/service/",
            json!({"jsonrpc": "2.0", "method": "СБИС.СписокДокументов",
               "params": {"Фильтр": {"ДатаС": "20.06.2006", "ДатаПо": "09.12.2029",
                                     "Навигация": {"РазмерСтраницы": "50", "Страница": "0"}}},
               "protocol": 2, "id": 0}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["result"]["Документ"].is_array());
    assert_eq!(
        sb.last_call("СБИС.СписокДокументов").unwrap()["protocol"],
        2
    );
}

/// `SecretDerped/pysaby` (`src/pysaby/auth.py`, `_handle_sms_authentication`): on the login
/// error it compares `error.data.classid` with `{00000000-0000-0000-0000-1fa000001002}`
/// (lower case), then posts `СБИС.ОтправитьКодАутентификации {"Идентификатор"}` and
/// `СБИС.ПодтвердитьВход {"Идентификатор", "Код"}` to `/auth/service/` with
/// `X-SBISSessionID: addinfo.ИдентификаторСессии`, and takes `result` as the token.
#[tokio::test]
async fn pysaby_confirms_a_login_with_an_sms_code() {
    let sb = Sandbox::start(
        SandboxConfig::default().login_confirmation(LoginConfirmation::Code("4321".into())),
    )
    .await;
    let pysaby = Caller::new(&sb, &PYSABY_HEADERS);
    let (_, answer) = pysaby.post("/auth/service/", pysaby_login(&sb)).await;
    assert!(answer.get("result").is_none());
    let data = &answer["error"]["data"];
    assert_eq!(
        data["classid"].as_str().unwrap().to_lowercase(),
        "{00000000-0000-0000-0000-1fa000001002}"
    );
    let info = &data["addinfo"];
    let temp = info["ИдентификаторСессии"].as_str().unwrap().to_owned();
    let id = info["Идентификатор"].clone();
    let with_temp = pysaby.with_session(&temp);
    let (status, answer) = with_temp
        .post(
            "/auth/service/",
            json!({"jsonrpc": "2.0", "method": "СБИС.ОтправитьКодАутентификации",
               "params": {"Идентификатор": id}, "id": 0}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("error").is_none(), "{answer}");
    let (_, answer) = with_temp
        .post(
            "/auth/service/",
            json!({"jsonrpc": "2.0", "method": "СБИС.ПодтвердитьВход",
               "params": {"Идентификатор": id, "Код": "4321"}, "id": 0}),
        )
        .await;
    let sid = answer["result"].as_str().unwrap().to_owned();
    let with_sid = pysaby.with_session(&sid);
    let (status, _) = with_sid
        .post(
            "/service/",
            json!({"jsonrpc": "2.0", "method": "СБИС.СписокНашихОрганизаций",
               "params": {"Фильтр": {}}, "protocol": 2, "id": 0}),
        )
        .await;
    assert_eq!(status, 200);
    // The temporary session alone never was a session.
    let (status, _) = with_temp
        .post(
            "/service/",
            json!({"jsonrpc": "2.0", "method": "СБИС.СписокНашихОрганизаций",
               "params": {"Фильтр": {}}, "id": 0}),
        )
        .await;
    assert_eq!(status, 401);
}

/// Saby's own 1C connector, `saby-integration/vo3_core`: the newer `base/LocalHelper.bsl`
/// logs in flat (`Новый Структура("Логин, Пароль", ...)`), lists accounts with `{}`, reads the
/// user with `{"Параметр": {"ДопПоля": "Аккаунт,ИдПрофиля"}}` and the version with
/// `{"Параметр": {}}`, and defers a service stage wrapped in `Параметры`; its older
/// `src/LocalHelper.1c` defers unwrapped. Headers from `base/LocalHelper/ExecMethod.bsl`:
/// `Content-Type: application/json-rpc;charset=utf-8`, a `User-Agent` of its own, `id: 1`.
#[tokio::test]
async fn vo3_core_calls_in_its_newer_and_older_shapes() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let vo3 = Caller::new(
        &sb,
        &[
            ("Content-Type", "application/json-rpc;charset=utf-8"),
            ("User-Agent", "1С8;SABY_3.0"),
        ],
    );
    let call = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (_, answer) = vo3
        .post(
            "/auth/service/",
            call(
                "СБИС.Аутентифицировать",
                json!({"Логин": sb.login(), "Пароль": sb.password()}),
            ),
        )
        .await;
    let sid = answer["result"].as_str().unwrap().to_owned();
    let with_sid = vo3.with_session(&sid);

    let (_, answer) = with_sid
        .post("/auth/service/", call("СБИС.СписокАккаунтов", json!({})))
        .await;
    assert_eq!(answer["result"]["Список"][0]["НомерАккаунта"], sb.account());
    let (_, answer) = with_sid
        .post(
            "/service/?srv=1",
            call(
                "СБИС.ИнформацияОТекущемПользователе",
                json!({"Параметр": {"ДопПоля": "Аккаунт,ИдПрофиля"}}),
            ),
        )
        .await;
    assert_eq!(
        answer["result"]["Пользователь"]["Аккаунт"]["Номер"],
        sb.account()
    );
    let (_, answer) = with_sid
        .post(
            "/service/?srv=1",
            call("СБИС.ИнформацияОВерсии", json!({"Параметр": {}})),
        )
        .await;
    assert!(answer["result"]["ВнешнийИнтерфейс"]["ДатаВремяЗапроса"].is_string());

    for (i, wrapped) in [true, false].into_iter().enumerate() {
        let id = sb.add_incoming(Incoming::new(format!("Акт {i}")));
        assert!(sb.add_service_stage(&id));
        let (_, listed) = with_sid
            .post(
                "/service/?srv=1",
                call(
                    "СБИС.СписокСлужебныхЭтапов",
                    json!({"Фильтр": {"ИдентификаторДокумента": id}}),
                ),
            )
            .await;
        let stage = listed["result"]["Документ"][0]["Этап"][0]["Идентификатор"].clone();
        let document = json!({"Документ": {"Идентификатор": id, "Этап": {"Идентификатор": stage}}});
        let params = if wrapped {
            json!({ "Параметры": document })
        } else {
            document
        };
        let (status, answer) = with_sid
            .post(
                "/service/?srv=1",
                call("СБИС.ОтложитьСлужебныйЭтап", params),
            )
            .await;
        assert_eq!(status, 200, "wrapped {wrapped}: {answer}");
        assert!(answer.get("error").is_none(), "wrapped {wrapped}: {answer}");
    }
}

/// A public FastAPI EDO client ("checked in production" note on its `changes_page`): login
/// with `Content-Type: application/json; charset=utf-8` and `"protocol": 2`; service calls
/// *without* a `"jsonrpc"` member and `СБИС.СписокИзменений` with `"protocol": 3`, a filter of
/// `ДатаВремяС`, `ПолныйСертификатЭП: "Нет"`, `ДопПоля: "Расширение"`, paged by the last
/// event's id, its document's id and its time.
#[tokio::test]
async fn a_production_feed_client_pages_by_its_last_event_with_protocol_3() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let client = sb.client();
    for i in 0..3 {
        let id = format!("feed-{i}");
        client.write_document(&draft(&id)).await.unwrap();
        client.send(&id, &saby_client::ServerSigner).await.unwrap();
    }
    let feed = Caller::new(&sb, &[("Content-Type", "application/json; charset=utf-8")]);
    let (_, answer) = feed
        .post(
            "/auth/service/",
            json!({"jsonrpc": "2.0", "method": "СБИС.Аутентифицировать",
               "params": {"Параметр": {"Логин": sb.login(), "Пароль": sb.password()}},
               "protocol": 2, "id": 0}),
        )
        .await;
    let sid = answer["result"].as_str().unwrap().to_owned();
    let feed = Caller::new(
        &sb,
        &[("Content-Type", "application/json-rpc; charset=utf-8")],
    )
    .with_session(&sid);
    let mut filter = json!({"ДатаВремяС": "01.01.2020 00.00.00", "ПолныйСертификатЭП": "Нет",
                            "ДопПоля": "Расширение"});
    let mut seen = Vec::new();
    for _ in 0..20 {
        let (status, answer) = feed
            .post(
                "/service/?srv=1",
                json!({"method": "СБИС.СписокИзменений", "params": {"Фильтр": filter.clone()},
                   "protocol": 3, "id": 0}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        let docs = answer["result"]["Документ"].as_array().unwrap().clone();
        // The cursor of the next page: the last event of the last document.
        if let Some(last) = docs.last() {
            let event = last["Событие"].as_array().unwrap().last().unwrap();
            filter["ИдентификаторСобытия"] = event["Идентификатор"].clone();
            filter["ИдентификаторДокумента"] = last["Идентификатор"].clone();
            filter["ДатаВремяС"] = event["ДатаВремя"].clone();
        }
        for d in &docs {
            for e in d["Событие"].as_array().unwrap() {
                seen.push(e["Идентификатор"].as_str().unwrap().to_owned());
            }
        }
        if answer["result"]["Навигация"]["ЕстьЕще"] != "Да" && docs.is_empty() {
            break;
        }
    }
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice: {seen:?}");
    assert!(
        seen.len() >= 6,
        "sent, then delivered and completed: {seen:?}"
    );
    assert_eq!(sb.last_call("СБИС.СписокИзменений").unwrap()["protocol"], 3);
}

/// `tv1ce/nerpa` (`app/services/sbis_client.py`): `Content-Type: application/json;
/// charset=UTF-8`, `"id": "1"` as a string, and `СБИС.ПрочитатьДокумент` with the id flat,
/// `{"Идентификатор": ...}`.
#[tokio::test]
async fn nerpa_reads_a_document_by_a_flat_id() {
    let sb = Sandbox::start(SandboxConfig::default()).await;
    let id = sb.add_incoming(Incoming::new("Счет"));
    let nerpa = Caller::new(&sb, &[("Content-Type", "application/json; charset=UTF-8")]);
    let (_, answer) = nerpa
        .post(
            "/auth/service/",
            json!({"jsonrpc": "2.0", "method": "СБИС.Аутентифицировать",
               "params": {"Параметр": {"Логин": sb.login(), "Пароль": sb.password()}}, "id": "0"}),
        )
        .await;
    let sid = answer["result"].as_str().unwrap().to_owned();
    let with_sid = nerpa.with_session(&sid);
    let (status, answer) = with_sid
        .post(
            "/service/?srv=1",
            json!({"jsonrpc": "2.0", "method": "СБИС.ПрочитатьДокумент",
               "params": {"Идентификатор": id}, "id": "1"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["id"], "1");
    assert_eq!(answer["result"]["Идентификатор"], id.as_str());
}
