//! The sandbox's request handling: routing, auth, faults. Transport-agnostic: the axum
//! server in `server.rs` feeds it plain requests and sends back its [`Reply`].

use std::time::Duration;

use serde_json::{Value, json};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::documents::{default_documents, result_json};
use crate::state::{NewSet, State, set_id};
use crate::{ByProjectShape, IdShape, Outcome, Shared};

/// The content type of JSON answers (and of corrupted "JSON" ones).
const JSON: &str = "application/json";

/// One HTTP request, as the sandbox sees it.
#[derive(Debug)]
pub(crate) struct HttpIn<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    /// The raw (still percent-encoded) query string, if any.
    pub(crate) query: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// One HTTP answer, to be sent after `delay`.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
}

impl Reply {
    fn raw(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body,
            delay: Duration::ZERO,
        }
    }

    fn json(status: u16, body: &Value) -> Self {
        Self::raw(status, JSON, serde_json::to_vec(body).unwrap_or_default())
    }
}

enum Fault {
    None,
    Server(u16),
    RateLimited,
    Malformed,
    Truncated,
}

fn error(status: u16, kind: &str, message: &str) -> Reply {
    Reply::json(status, &err_body(kind, message))
}

/// Parameters from the query (GET) or the JSON body (POST).
struct Params {
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl Params {
    fn of(req: &HttpIn<'_>) -> Self {
        Self {
            query: url::form_urlencoded::parse(req.query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            body: if req.body.is_empty() {
                None
            } else {
                serde_json::from_slice(req.body).ok()
            },
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        if let Some(v) = self.body.as_ref().and_then(|b| b.get(key)) {
            return match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
        }
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

/// Handles one request against the shared state: counts it, draws the faults, routes it.
/// The state is locked only for the duration of this call.
pub(crate) fn respond(shared: &Shared, req: &HttpIn<'_>) -> Reply {
    let mut st = shared.lock();
    st.counters.requests += 1;
    let (fault, slow) = draw_fault(&mut st);
    let delay = st.latency + slow;
    let mut reply = match fault {
        Fault::Server(status) => {
            st.counters.faults += 1;
            if status == 502 {
                Reply::raw(
                    502,
                    "text/html",
                    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>".to_vec(),
                )
            } else {
                error(status, "InternalError", "temporary failure, try again")
            }
        }
        Fault::RateLimited => {
            st.counters.faults += 1;
            let secs = st.faults.retry_after.as_secs_f64().ceil() as u64;
            let mut r = error(429, "TooManyRequests", "slow down");
            r.headers.push(("retry-after", secs.to_string()));
            r
        }
        Fault::None | Fault::Malformed | Fault::Truncated => {
            let (status, body) = route(shared, &mut st, req);
            if status == 200 && !matches!(fault, Fault::None) {
                st.counters.faults += 1;
                let corrupted = match fault {
                    Fault::Malformed => {
                        b"<html><body>Service temporarily unavailable</body></html>".to_vec()
                    }
                    // The JSON document cut in half: a complete HTTP answer (its
                    // content-length is the cut body's) whose body ends early.
                    _ => {
                        let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
                        bytes.truncate(bytes.len() / 2);
                        bytes
                    }
                };
                Reply::raw(200, JSON, corrupted)
            } else {
                Reply::json(status, &body)
            }
        }
    };
    reply.delay = delay;
    reply
}

fn draw_fault(st: &mut State) -> (Fault, Duration) {
    let f = st.faults.clone();
    let slow = if f.slow > 0.0 && st.rng.f64() < f.slow {
        st.counters.faults += 1;
        f.slow_delay
    } else {
        Duration::ZERO
    };
    if f.server_errors + f.rate_limited + f.malformed + f.truncated <= 0.0 {
        return (Fault::None, slow);
    }
    let r = st.rng.f64();
    let mut acc = f.server_errors;
    if r < acc {
        let status = [500, 502, 503][st.rng.usize(0..3)];
        return (Fault::Server(status), slow);
    }
    acc += f.rate_limited;
    if r < acc {
        return (Fault::RateLimited, slow);
    }
    acc += f.malformed;
    if r < acc {
        return (Fault::Malformed, slow);
    }
    acc += f.truncated;
    if r < acc {
        return (Fault::Truncated, slow);
    }
    (Fault::None, slow)
}

fn err_body(kind: &str, message: &str) -> Value {
    json!({"errors": {"type": kind, "message": message}})
}

/// Handles a request against the state; returns status and JSON body.
fn route(shared: &Shared, st: &mut State, req: &HttpIn<'_>) -> (u16, Value) {
    let path = req.path;
    let method = req.method;
    let params = Params::of(req);
    let token_ok = params.get("token").as_deref() == Some(shared.token.as_str());
    match (method, path) {
        ("POST", "/api/bescan/add_document") => {
            if !token_ok {
                return (401, err_body("Unauthorized", "invalid token"));
            }
            upload(st, &params)
        }
        ("GET" | "POST", "/api/document/ready") => {
            if !token_ok {
                return (401, err_body("Unauthorized", "invalid token"));
            }
            st.counters.ready += 1;
            ready(st, &params)
        }
        ("GET" | "POST", p) if p.starts_with("/api/document/result/") => {
            if !token_ok {
                return (401, err_body("Unauthorized", "invalid token"));
            }
            st.counters.result += 1;
            let id = p.trim_start_matches("/api/document/result/");
            let company = st.config.project_id.clone();
            match st.set_mut(id) {
                None => (
                    404,
                    err_body("DocumentNotFound", &format!("document {id} not found")),
                ),
                Some(set) if set.never_ready => (
                    425,
                    err_body("TooEarly", "the document is still being processed"),
                ),
                Some(set) if set.remaining_polls > 0 => {
                    set.remaining_polls -= 1;
                    (
                        425,
                        err_body("TooEarly", "the document is still being processed"),
                    )
                }
                Some(set) => (200, result_json(set, &company)),
            }
        }
        _ => (
            404,
            err_body("NotFound", &format!("no route for {method} {path}")),
        ),
    }
}

fn upload(st: &mut State, params: &Params) -> (u16, Value) {
    let Some(body) = params.body.as_ref() else {
        return (400, err_body("BadRequest", "the body must be JSON"));
    };
    // The company's number (the set goes to the next contour in turn) or a
    // contour's name (the set goes there).
    let project = params
        .get("project_id")
        .or_else(|| params.get("campaign_id"));
    let contour = match project {
        Some(p) if st.is_company(&p) => st.next_contour(),
        Some(p) if st.is_contour(&p) => Some(p),
        _ => return (404, err_body("CampaignNotFound", "project not found")),
    };
    let Some(images) = body
        .get("images")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return (
            400,
            err_body("BadRequest", "images must be a non-empty list"),
        );
    };
    for (i, img) in images.iter().enumerate() {
        if img
            .as_str()
            .and_then(|s| STANDARD.decode(s).ok())
            .is_none_or(|b| b.is_empty())
        {
            return (
                400,
                err_body("BadRequest", &format!("images[{i}] is not valid base64")),
            );
        }
    }
    let docs = match body.get("process_info") {
        None | Some(Value::Null) => default_documents(),
        Some(Value::Array(infos)) if infos.len() == images.len() => {
            let mut docs = Vec::new();
            for (i, info) in infos.iter().enumerate() {
                let Some(t) = info.get("type").and_then(Value::as_str) else {
                    return (
                        400,
                        err_body("BadRequest", &format!("process_info[{i}].type is required")),
                    );
                };
                let key = info.get("key").and_then(Value::as_str).unwrap_or(t);
                docs.push((key.to_owned(), t.to_owned()));
            }
            docs
        }
        Some(_) => {
            return (
                400,
                err_body(
                    "BadRequest",
                    "process_info must be a list with one entry per image",
                ),
            );
        }
    };
    st.counters.uploads += 1;
    let polls = st.config.polls_until_ready;
    let number = st.create_set(NewSet {
        contour,
        docs,
        surname: None,
        polls,
        outcome: Outcome::Documents,
        never_ready: false,
        broken_documents: Vec::new(),
        bad_snils: false,
    });
    (200, json!({"document_id": set_id(number)}))
}

fn ready(st: &mut State, params: &Params) -> (u16, Value) {
    let Some(project) = params.get("project_id") else {
        return (400, err_body("BadRequest", "project_id is required"));
    };
    // The letter: `project_id` is the company's number.
    if !st.is_company(&project) {
        return (404, err_body("CampaignNotFound", "project not found"));
    }
    let Some(start) = params
        .get("start_id")
        .and_then(|s| s.trim_start_matches("s-").parse::<u64>().ok())
    else {
        return (400, err_body("BadRequest", "start_id must be a number"));
    };
    let contours = st.config.contours.clone();
    let ids_shape = st.config.ready_ids;
    let by_project_shape = st.config.by_project;
    let mut per_contour: Vec<(String, Vec<u64>)> =
        contours.iter().map(|c| (c.clone(), Vec::new())).collect();
    let mut ready = Vec::new();
    for set in st.sets.range_mut(start..).map(|(_, s)| s) {
        if !set.listed() {
            set.remaining_polls -= 1;
            continue;
        }
        ready.push(set.number);
        if let Some((_, ids)) = per_contour
            .iter_mut()
            .find(|(c, _)| set.contour.as_ref() == Some(c))
        {
            ids.push(set.number);
        }
    }
    let number = |n: u64| json!(n);
    let string = |n: u64| json!(set_id(n));
    let ready_json: Vec<Value> = match ids_shape {
        IdShape::Numbers => ready.iter().copied().map(number).collect(),
        IdShape::Strings => ready.iter().copied().map(string).collect(),
    };
    let mut body = serde_json::Map::new();
    body.insert("ready".into(), Value::Array(ready_json));
    // The letter: `by_project` appears when the company has more than one contour.
    if contours.len() > 1 {
        let by_project = match by_project_shape {
            ByProjectShape::MapOfNumbers | ByProjectShape::MapOfStrings => {
                let as_id = if by_project_shape == ByProjectShape::MapOfNumbers {
                    number
                } else {
                    string
                };
                Some(Value::Object(
                    per_contour
                        .into_iter()
                        .map(|(c, ids)| (c, ids.into_iter().map(as_id).collect()))
                        .collect(),
                ))
            }
            ByProjectShape::ListOfObjects => Some(Value::Array(
                per_contour
                    .into_iter()
                    .map(|(c, ids)| json!({"project_id": c, "ready": ids}))
                    .collect(),
            )),
            ByProjectShape::Absent => None,
        };
        if let Some(v) = by_project {
            body.insert("by_project".into(), v);
        }
    }
    (200, Value::Object(body))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{Faults, SandboxConfig};

    fn shared(config: SandboxConfig) -> Shared {
        Shared {
            token: config.token.clone(),
            project_id: config.project_id.clone(),
            state: Mutex::new(State::new(config)),
        }
    }

    fn ready_request() -> HttpIn<'static> {
        HttpIn {
            method: "GET",
            path: "/api/document/ready",
            query: Some("token=sandbox-token&project_id=4821&start_id=1"),
            body: b"",
        }
    }

    #[test]
    fn latency_and_slow_answers_add_up_in_the_reply_delay() {
        let shared = shared(
            SandboxConfig::default()
                .latency(Duration::from_millis(20))
                .faults(Faults::default().slow(1.0, Duration::from_millis(30))),
        );
        let reply = respond(&shared, &ready_request());
        assert_eq!(reply.status, 200);
        assert_eq!(reply.delay, Duration::from_millis(50));

        shared.lock().faults = Faults::none();
        shared.lock().latency = Duration::ZERO;
        assert_eq!(respond(&shared, &ready_request()).delay, Duration::ZERO);
    }

    #[test]
    fn queries_are_form_decoded_and_the_body_wins_over_the_query() {
        let shared = shared(SandboxConfig::default());
        let reply = respond(
            &shared,
            &HttpIn {
                query: Some("token=sandbox%2Dtoken&project_id=4821&start_id=s%2D1"),
                ..ready_request()
            },
        );
        assert_eq!(reply.status, 200);
        let reply = respond(
            &shared,
            &HttpIn {
                method: "POST",
                body: br#"{"token": "wrong"}"#,
                ..ready_request()
            },
        );
        assert_eq!(reply.status, 401);
        assert_eq!(reply.content_type, JSON);
    }
}
