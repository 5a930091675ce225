//! The request dispatcher: routes, sessions, faults, and the JSON-RPC method table. It is
//! transport-agnostic: the axum server in `server.rs` feeds it plain requests.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::PaceUnit;
use crate::faults::{Injected, Target};
use crate::files;
use crate::rpc::{
    FILE_NOT_READY_CLASSID, JSON_RPC, RpcError, encode_segment, error_body, result_body,
};
use crate::state::{AuthHeaders, State};
use crate::{actions, auth, documents, feed, misc};

/// One HTTP request, as the engine sees it.
#[derive(Debug)]
pub(crate) struct HttpIn<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) auth: AuthHeaders<'a>,
    pub(crate) body: &'a [u8],
}

/// One HTTP answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            content_type: JSON_RPC.to_owned(),
            headers: Vec::new(),
            body: serde_json::to_vec(body).unwrap_or_default(),
            delay: Duration::ZERO,
        }
    }

    fn html(status: u16, html: &str) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8".to_owned(),
            headers: Vec::new(),
            body: html.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Auth,
    OAuth,
    Service,
    Download,
    Unknown,
}

fn route(method: &str, path: &str) -> Route {
    let trimmed = path.trim_end_matches('/');
    match (method, trimmed) {
        ("POST", "/auth/service") => Route::Auth,
        ("POST", "/oauth/service") => Route::OAuth,
        ("POST", "/service") => Route::Service,
        ("GET", p) if p.starts_with("/sandbox/") => Route::Download,
        _ => Route::Unknown,
    }
}

/// A parsed JSON-RPC envelope.
struct Envelope {
    id: Value,
    method: String,
    params: Map<String, Value>,
    /// The top-level `protocol`, if sent (public clients send 2 or 3, or none).
    protocol: Value,
}

/// A request that is no JSON-RPC envelope: the id (if any) and the error.
type Rejected = Box<(Value, RpcError)>;

fn parse_envelope(strict: bool, req: &HttpIn<'_>) -> Result<Envelope, Rejected> {
    let declares_utf8 = req
        .content_type
        .map(|c| c.to_ascii_lowercase().replace(' ', ""))
        .is_some_and(|c| c.contains("charset=utf-8"));
    if strict && !declares_utf8 && !req.body.is_ascii() {
        return Err(Box::new((
            Value::Null,
            RpcError::parse(
                "Тело запроса прочитано как windows-1251: укажите заголовок \
                 Content-Type: application/json-rpc;charset=utf-8",
            ),
        )));
    }
    let value: Value = serde_json::from_slice(req.body).map_err(|e| {
        Box::new((
            Value::Null,
            RpcError::parse(format!("JSON не разобран: {e}")),
        ))
    })?;
    let Value::Object(mut obj) = value else {
        return Err(Box::new((
            Value::Null,
            RpcError::invalid_request("ожидается объект JSON-RPC"),
        )));
    };
    let id = obj.remove("id").unwrap_or(Value::Null);
    let method = match obj.remove("method") {
        Some(Value::String(m)) if !m.is_empty() => m,
        _ => return Err(Box::new((id, RpcError::invalid_request("нет поля method")))),
    };
    let params = match obj.remove("params") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            return Err(Box::new((
                id,
                RpcError::invalid_params("params", "ожидается объект"),
            )));
        }
    };
    let protocol = obj.remove("protocol").unwrap_or(Value::Null);
    Ok(Envelope {
        id,
        method,
        params,
        protocol,
    })
}

fn error_reply(st: &mut State, id: &Value, error: &RpcError) -> Reply {
    st.errors += 1;
    let quirk = st.config.quirky_errors && st.errors.is_multiple_of(2);
    Reply::json(error.status, &error_body(id, error, quirk))
}

fn fault_reply(st: &mut State, id: &Value, fault: Injected) -> Reply {
    match fault {
        Injected::BadGateway => Reply::html(
            502,
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
             <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        ),
        Injected::Unavailable => error_reply(
            st,
            id,
            &RpcError::business("Сервис временно недоступен, повторите запрос позже")
                .details("Внедренный сбой песочницы: 503")
                .status(503),
        ),
        Injected::TruncatedJson => {
            let mut reply = Reply::json(200, &Value::Null);
            reply.body =
                br#"{"jsonrpc": "2.0", "result": {"\xD0\x98\xD0\xB4\xD0\xB5\xD0\xBD\xD1\x82"#
                    .to_vec();
            reply
        }
        Injected::HtmlPage => Reply::html(
            200,
            "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Saby</title></head>\
             <body><h1>Ведутся технические работы</h1><p>Попробуйте зайти позже.</p></body></html>",
        ),
        Injected::BusinessError => error_reply(
            st,
            id,
            &RpcError::business("Ошибка выполнения метода на сервере")
                .details("Внедренный сбой песочницы: деловая ошибка с HTTP 500"),
        ),
        Injected::FileNotReady => error_reply(
            st,
            id,
            &RpcError::business("Файл еще не сформирован, повторите запрос через секунду")
                .classid(FILE_NOT_READY_CLASSID),
        ),
        // Needs the call's params: answered by `echoing_reply`.
        Injected::EchoingError => echoing_reply(st, id, &Map::new()),
    }
}

/// The business error of [`Faults::echoing_errors`](crate::Faults::echoing_errors): it
/// quotes the title and the first attachment's file name of the document the call names
/// (from the call's `Документ`, else from the stored document of its `Идентификатор`).
fn echoing_reply(st: &mut State, id: &Value, params: &Map<String, Value>) -> Reply {
    let sent = params.get("Документ").and_then(Value::as_object);
    let stored = sent
        .and_then(|d| d.get("Идентификатор"))
        .and_then(Value::as_str)
        .and_then(|doc_id| st.docs.get(doc_id));
    let title = sent
        .and_then(|d| d.get("Название"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| stored.map(|d| d.text_field("Название").to_owned()))
        .filter(|t| !t.is_empty());
    let sent_file = sent
        .and_then(|d| d.get("Вложение"))
        .and_then(|v| match v {
            Value::Array(items) => items.first(),
            other => Some(other),
        })
        .and_then(|a| a.get("Файл"))
        .and_then(|f| f.get("Имя"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let file = sent_file
        .or_else(|| stored.and_then(|d| d.attachments.first().map(|f| f.file_name.clone())));
    let mut message = "Документ не прошел проверку".to_owned();
    if let Some(title) = title {
        message = format!("Документ «{title}» не прошел проверку");
    }
    if let Some(file) = file {
        message.push_str(&format!(": вложение «{file}» не соответствует формату"));
    }
    error_reply(
        st,
        id,
        &RpcError::business(message)
            .details("Внедренный сбой песочницы: деловая ошибка, цитирующая документ"),
    )
}

fn lost_answer() -> Reply {
    Reply::html(
        504,
        "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n\
         <center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    )
}

/// Handles one request against the shared state.
pub(crate) fn handle(shared: &Mutex<State>, req: &HttpIn<'_>) -> Reply {
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let st = &mut *guard;
    st.counters.requests += 1;
    let route = route(req.method, req.path);
    let mut reply = match route {
        Route::Auth | Route::Service => rpc(st, route, req),
        Route::OAuth => oauth(st, req),
        Route::Download => download(st, req),
        Route::Unknown => {
            let e = RpcError::not_found(format!("Адрес «{} {}» не найден", req.method, req.path))
                .status(404);
            error_reply(st, &Value::Null, &e)
        }
    };
    reply.delay += st.config.latency;
    reply
}

fn draw(st: &mut State, target: Target) -> crate::faults::Decision {
    if st.faults.is_none() {
        return crate::faults::Decision::default();
    }
    let faults = st.faults.clone();
    let decision = faults.decide(&mut st.fault_rng, target);
    if decision.fault.is_some() || decision.extra_delay.is_some() || decision.lose_answer {
        st.counters.faults += 1;
    }
    decision
}

fn oauth(st: &mut State, req: &HttpIn<'_>) -> Reply {
    let decision = draw(st, Target::Auth);
    let extra = decision.extra_delay.unwrap_or_default();
    if let Some(fault) = decision.fault {
        let mut r = fault_reply(st, &Value::Null, fault);
        r.delay += extra;
        return r;
    }
    let mut reply = match serde_json::from_slice::<Value>(req.body) {
        Err(e) => error_reply(
            st,
            &Value::Null,
            &RpcError::parse(format!("JSON не разобран: {e}")),
        ),
        Ok(body) => match auth::oauth(st, &body) {
            Ok(answer) => {
                let mut r = Reply::json(200, &answer);
                r.content_type = "application/json; charset=utf-8".to_owned();
                r
            }
            Err(e) => error_reply(st, &Value::Null, &e),
        },
    };
    reply.delay += extra;
    reply
}

fn download(st: &mut State, req: &HttpIn<'_>) -> Reply {
    let decision = draw(st, Target::Download);
    let extra = decision.extra_delay.unwrap_or_default();
    let mut reply = if let Some(fault) = decision.fault {
        fault_reply(st, &Value::Null, fault)
    } else if files::needs_session(req.path) && st.use_auth(req.auth).is_none() {
        st.counters.unauthorized += 1;
        error_reply(st, &Value::Null, &RpcError::unauthorized())
    } else {
        st.counters.downloads += 1;
        match files::download(st, req.path) {
            Ok(d) => Reply {
                status: 200,
                content_type: d.content_type,
                headers: vec![(
                    "content-disposition",
                    format!(
                        "attachment; filename*=UTF-8''{}",
                        encode_segment(&d.file_name)
                    ),
                )],
                body: d.bytes,
                delay: Duration::ZERO,
            },
            Err(e) => error_reply(st, &Value::Null, &e),
        }
    };
    reply.delay += extra;
    reply
}

/// Methods that only live on `/auth/service/`.
const AUTH_ONLY: &[&str] = &[
    "СБИС.Аутентифицировать",
    "СБИС.АутентифицироватьПоСертификату",
];

/// Methods that need no session (the confirmation steps check their temporary session
/// themselves).
const NO_SESSION: &[&str] = &[
    "СБИС.Аутентифицировать",
    "СБИС.Выход",
    "СБИС.ОтправитьКодАутентификации",
    "СБИС.ПодтвердитьВход",
    "СБИС.АутентифицироватьПоСертификату",
    "СБИС.СписокСертификатовДляАутентификации",
];

/// What the inspection API keeps of a call: params and `protocol`, passwords redacted.
fn recorded_call(method: &str, params: &Map<String, Value>, protocol: &Value) -> Value {
    let mut params = params.clone();
    if method == "СБИС.Аутентифицировать" {
        let redact = |m: &mut Map<String, Value>| {
            if m.contains_key("Пароль") {
                m.insert("Пароль".into(), Value::String("[redacted]".into()));
            }
        };
        redact(&mut params);
        if let Some(Value::Object(inner)) = params.get_mut("Параметр") {
            redact(inner);
        }
    }
    serde_json::json!({ "params": params, "protocol": protocol })
}

fn rpc(st: &mut State, route: Route, req: &HttpIn<'_>) -> Reply {
    let envelope = match parse_envelope(st.config.strict_content_type, req) {
        Ok(e) => e,
        Err(rejected) => {
            let (id, e) = *rejected;
            return error_reply(st, &id, &e);
        }
    };
    let Envelope {
        id,
        method,
        params,
        protocol,
    } = envelope;
    st.counters.calls += 1;
    *st.counters.per_method.entry(method.clone()).or_insert(0) += 1;
    st.last_calls
        .insert(method.clone(), recorded_call(&method, &params, &protocol));

    // Faults come first: a faulted request changes nothing.
    let target = if route == Route::Service {
        Target::Service
    } else {
        Target::Auth
    };
    let decision = draw(st, target);
    let extra = decision.extra_delay.unwrap_or_default();
    if let Some(fault) = decision.fault {
        let mut r = if fault == Injected::EchoingError {
            echoing_reply(st, &id, &params)
        } else {
            fault_reply(st, &id, fault)
        };
        r.delay += extra;
        return r;
    }

    let result = call(st, route, &method, &params, req.auth);
    let mut reply = match result {
        Ok(value) => Reply::json(200, &result_body(&id, value)),
        Err(e) => {
            if e.status == 401 {
                st.counters.unauthorized += 1;
            }
            error_reply(st, &id, &e)
        }
    };
    if decision.lose_answer && reply.status != 401 {
        reply = lost_answer();
    }
    reply.delay += extra;
    reply
}

fn call(
    st: &mut State,
    route: Route,
    method: &str,
    params: &Map<String, Value>,
    auth: AuthHeaders<'_>,
) -> Result<Value, RpcError> {
    if route == Route::Service && AUTH_ONLY.contains(&method) {
        return Err(RpcError::method_not_found(method).details(format!(
            "Метод {method} вызывается по адресу /auth/service/"
        )));
    }
    if NO_SESSION.contains(&method) {
        return match method {
            "СБИС.Аутентифицировать" => auth::authenticate(st, params),
            "СБИС.ОтправитьКодАутентификации" => {
                auth::send_code(st, params, auth.sid)
            }
            "СБИС.ПодтвердитьВход" => auth::confirm(st, params, auth.sid),
            "СБИС.АутентифицироватьПоСертификату" => {
                auth::authenticate_by_certificate(st, params)
            }
            "СБИС.СписокСертификатовДляАутентификации" => {
                Ok(auth::auth_certificates(st))
            }
            _ => {
                let session = st.session_of(auth);
                Ok(auth::logout(st, session))
            }
        };
    }
    if route == Route::Service
        && let Some(every) = st.faults.expire_sessions_every
    {
        st.authenticated_calls += 1;
        if st.authenticated_calls.is_multiple_of(every) {
            st.counters.faults += 1;
            st.expire_all_sessions();
        }
    }
    let session = st.use_auth(auth).ok_or_else(RpcError::unauthorized)?;
    if st.config.pace == PaceUnit::Calls {
        st.step_flows();
    }
    match method {
        "СБИС.СписокАккаунтов" => Ok(auth::accounts(st, session)),
        "СБИС.ПереключитьАккаунт" => {
            auth::switch_account(st, session, params)
        }
        "СБИС.ИнформацияОТекущемПользователе" => {
            Ok(auth::current_user(st, session))
        }
        _ if route == Route::Auth => Err(RpcError::method_not_found(method).details(format!(
            "Метод {method} вызывается по адресу /service/?srv=1"
        ))),
        "СБИС.ЗаписатьДокумент" => documents::write_document(st, params),
        "СБИС.ЗаписатьВложение" => documents::write_attachment(st, params),
        "СБИС.ПрочитатьДокумент" => documents::read_document(st, params),
        "СБИС.СписокДокументов" => documents::list_documents(st, params),
        "СБИС.УдалитьДокумент" => documents::delete_document(st, params),
        "СБИС.ВосстановитьДокумент" => {
            documents::restore_document(st, params)
        }
        "СБИС.УничтожитьДокумент" => documents::destroy_document(st, params),
        "СБИС.ПодготовитьДействие" => actions::prepare(st, params),
        "СБИС.ВыполнитьДействие" => actions::execute(st, params),
        "СБИС.ПовторитьЭтап" => actions::repeat_stage(st, params),
        "СБИС.СписокСлужебныхЭтапов" => {
            actions::list_service_stages(st, params)
        }
        "СБИС.ОтложитьСлужебныйЭтап" => {
            actions::defer_service_stage(st, params)
        }
        "СБИС.УдалитьСлужебныйЭтап" => {
            actions::delete_service_stage(st, params)
        }
        "СБИС.СписокИзменений" => feed::list_changes(st, params),
        "СБИС.СформироватьHTMLИзXML" => misc::html_from_xml(params),
        "СБИС.ИнформацияОКонтрагенте" => {
            misc::counterparty_info(st, params)
        }
        "СБИС.СписокНашихОрганизаций" => Ok(misc::our_organizations(st)),
        "СБИС.СписокСертификатов" => Ok(misc::certificates(st)),
        "СБИС.ИнформацияОВерсии" => Ok(misc::version(st)),
        _ => Err(RpcError::method_not_found(method)),
    }
}

/// The JSON the inspection API hands out for a document.
pub(crate) fn document_json(st: &State, id: &str) -> Option<Value> {
    let doc = st.docs.get(id)?;
    Some(crate::render::document(
        st,
        doc,
        crate::render::EventsView::All,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SandboxConfig;
    use crate::faults::Faults;

    fn post<'a>(path: &'a str, session: Option<&'a str>, body: &'a [u8]) -> HttpIn<'a> {
        HttpIn {
            method: "POST",
            path,
            content_type: Some(JSON_RPC),
            auth: AuthHeaders {
                sid: session,
                token: None,
            },
            body,
        }
    }

    fn login(shared: &Mutex<State>) -> String {
        let body = serde_json::json!({"jsonrpc": "2.0", "method": "СБИС.Аутентифицировать",
            "params": {"Параметр": {"Логин": "sandbox", "Пароль": "sandbox-password"}}, "id": 1});
        let body = serde_json::to_vec(&body).unwrap();
        let reply = handle(shared, &post("/auth/service/", None, &body));
        let v: Value = serde_json::from_slice(&reply.body).unwrap();
        v["result"].as_str().unwrap().to_owned()
    }

    fn write(id: &str) -> Vec<u8> {
        serde_json::to_vec(
            &serde_json::json!({"jsonrpc": "2.0", "method": "СБИС.ЗаписатьДокумент",
            "params": {"Документ": {"Идентификатор": id}}, "id": 2}),
        )
        .unwrap()
    }

    #[test]
    fn latency_and_slow_answers_add_up_in_the_reply_delay() {
        let config = SandboxConfig::default()
            .latency(Duration::from_millis(20))
            .faults(Faults::none().slow(1.0, Duration::from_millis(30)));
        let shared = Mutex::new(State::new(config));
        let sid = login(&shared);
        let reply = handle(&shared, &post("/service/", Some(&sid), &write("a")));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.delay, Duration::from_millis(50));
        let plain = Mutex::new(State::new(SandboxConfig::default()));
        let sid = login(&plain);
        let reply = handle(&plain, &post("/service/", Some(&sid), &write("a")));
        assert_eq!(reply.delay, Duration::ZERO);
    }

    #[test]
    fn faulted_calls_are_not_applied_but_lost_answers_are() {
        let shared = Mutex::new(State::new(SandboxConfig::default()));
        let sid = login(&shared);
        for faults in [
            Faults::none().server_errors(1.0),
            Faults::none().malformed(1.0),
            Faults::none().business_errors(1.0),
        ] {
            shared.lock().unwrap().set_faults(faults);
            let reply = handle(&shared, &post("/service/", Some(&sid), &write("x")));
            assert!(reply.status != 200 || serde_json::from_slice::<Value>(&reply.body).is_err());
            assert!(shared.lock().unwrap().docs.is_empty());
        }
        shared
            .lock()
            .unwrap()
            .set_faults(Faults::none().answer_lost(1.0));
        let reply = handle(&shared, &post("/service/", Some(&sid), &write("x")));
        assert_eq!(reply.status, 504);
        assert_eq!(shared.lock().unwrap().docs.len(), 1);
    }

    #[test]
    fn echoing_errors_quote_the_document_named_and_change_nothing() {
        let shared = Mutex::new(State::new(SandboxConfig::default()));
        let sid = login(&shared);
        shared
            .lock()
            .unwrap()
            .set_faults(Faults::none().echoing_errors(1.0));
        let body = serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0",
            "method": "СБИС.ЗаписатьДокумент", "id": 4, "params": {"Документ": {
                "Идентификатор": "d-1", "Название": "Комплект Петрова",
                "Вложение": [{"Файл": {"Имя": "Паспорт_Петрова.json", "ДвоичныеДанные": "e30="}}]}}}))
        .unwrap();
        let reply = handle(&shared, &post("/service/", Some(&sid), &body));
        assert_eq!(reply.status, 500);
        let v: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            v["error"]["message"],
            "Документ «Комплект Петрова» не прошел проверку: вложение «Паспорт_Петрова.json» \
             не соответствует формату"
        );
        assert!(shared.lock().unwrap().docs.is_empty(), "not applied");
        // A call naming a stored document quotes the stored one.
        shared.lock().unwrap().set_faults(Faults::none());
        handle(&shared, &post("/service/", Some(&sid), &body));
        shared
            .lock()
            .unwrap()
            .set_faults(Faults::none().echoing_errors(1.0));
        let read = r#"{"jsonrpc":"2.0","method":"СБИС.ПрочитатьДокумент","params":{"Документ":{"Идентификатор":"d-1"}},"id":5}"#;
        let reply = handle(&shared, &post("/service/", Some(&sid), read.as_bytes()));
        let v: Value = serde_json::from_slice(&reply.body).unwrap();
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("«Комплект Петрова»"), "{message}");
        assert!(message.contains("«Паспорт_Петрова.json»"), "{message}");
        assert_eq!(
            shared.lock().unwrap().counters.writes.get("d-1"),
            Some(&1),
            "only the write without a fault reached the document"
        );
    }

    #[test]
    fn unknown_paths_and_methods_are_json_rpc_errors() {
        let shared = Mutex::new(State::new(SandboxConfig::default()));
        let reply = handle(
            &shared,
            &HttpIn {
                method: "GET",
                path: "/nowhere",
                content_type: None,
                auth: AuthHeaders::default(),
                body: b"",
            },
        );
        assert_eq!(reply.status, 404);
        assert_eq!(reply.content_type, JSON_RPC);
        let sid = login(&shared);
        let body = br#"{"jsonrpc":"2.0","method":"X.Y","params":{},"id":3}"#;
        let reply = handle(&shared, &post("/service/", Some(&sid), body));
        let v: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(v["id"], 3);
        assert!(v["error"]["message"].as_str().unwrap().contains("X.Y"));
    }
}
