//! The HTTP side of the sandbox: routing, auth, faults.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::Shared;
use super::documents::{default_documents, result_json};
use super::state::State;
use crate::api::upload::decode_base64;
use crate::model::DocumentType;

pub(crate) struct Responder {
    pub(crate) shared: Arc<Shared>,
}

enum Fault {
    None,
    Server(u16),
    RateLimited,
    Malformed,
    Truncated,
}

fn error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"errors": {"type": kind, "message": message}}))
}

fn ok_json(v: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        serde_json::to_vec(v).unwrap_or_default(),
        "application/json",
    )
}

/// Parameters from the query (GET) or the JSON body (POST).
struct Params {
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl Params {
    fn of(req: &Request) -> Self {
        Self {
            query: req
                .url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            body: if req.body.is_empty() {
                None
            } else {
                serde_json::from_slice(&req.body).ok()
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

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.shared.lock();
        st.counters.requests += 1;
        let (fault, slow) = draw_fault(&mut st);
        let delay = st.latency + slow;
        let template = match fault {
            Fault::Server(status) => {
                st.counters.faults += 1;
                if status == 502 {
                    ResponseTemplate::new(502).set_body_raw(
                        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
                        "text/html",
                    )
                } else {
                    error(status, "InternalError", "temporary failure, try again")
                }
            }
            Fault::RateLimited => {
                st.counters.faults += 1;
                let secs = st.faults.retry_after.as_secs_f64().ceil() as u64;
                error(429, "TooManyRequests", "slow down")
                    .insert_header("Retry-After", secs.to_string().as_str())
            }
            Fault::None | Fault::Malformed | Fault::Truncated => {
                let (status, body) = route(&self.shared, &mut st, req);
                if status == 200 && !matches!(fault, Fault::None) {
                    st.counters.faults += 1;
                    let bytes = serde_json::to_vec(&body).unwrap_or_default();
                    let corrupted = match fault {
                        Fault::Malformed => {
                            b"<html><body>Service temporarily unavailable</body></html>".to_vec()
                        }
                        _ => bytes[..bytes.len() / 2].to_vec(),
                    };
                    ResponseTemplate::new(200).set_body_raw(corrupted, "application/json")
                } else if status == 200 {
                    ok_json(&body)
                } else {
                    ResponseTemplate::new(status).set_body_json(body)
                }
            }
        };
        if delay > Duration::ZERO {
            template.set_delay(delay)
        } else {
            template
        }
    }
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
fn route(shared: &Shared, st: &mut State, req: &Request) -> (u16, Value) {
    let path = req.url.path().to_owned();
    let method = req.method.as_str().to_owned();
    let params = Params::of(req);
    let token_ok = params.get("token").as_deref() == Some(shared.token.as_str());
    match (method.as_str(), path.as_str()) {
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
            match st.set_mut(id) {
                None => (
                    404,
                    err_body("DocumentNotFound", &format!("document {id} not found")),
                ),
                Some(set) if set.remaining_polls > 0 => {
                    set.remaining_polls -= 1;
                    (
                        425,
                        err_body("TooEarly", "the document is still being processed"),
                    )
                }
                Some(set) => (200, result_json(set)),
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
    let project = params
        .get("project_id")
        .or_else(|| params.get("campaign_id"));
    let Some(project) = project.filter(|p| st.knows_project(p)) else {
        return (404, err_body("CampaignNotFound", "project not found"));
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
            .and_then(decode_base64)
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
                docs.push((key.to_owned(), DocumentType::from(t)));
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
    let id = st.create_set(project, docs, None, polls);
    (200, json!({"document_id": id.as_str()}))
}

fn ready(st: &mut State, params: &Params) -> (u16, Value) {
    let Some(project) = params.get("project_id") else {
        return (400, err_body("BadRequest", "project_id is required"));
    };
    if !st.knows_project(&project) {
        return (404, err_body("CampaignNotFound", "project not found"));
    }
    let Some(start) = params
        .get("start_id")
        .and_then(|s| s.trim_start_matches("s-").parse::<u64>().ok())
    else {
        return (400, err_body("BadRequest", "start_id must be a number"));
    };
    let mut by_project: serde_json::Map<String, Value> = st
        .projects()
        .into_iter()
        .map(|p| (p.to_owned(), Value::Array(Vec::new())))
        .collect();
    let mut ready = Vec::new();
    for set in st.sets.range_mut(start..).map(|(_, s)| s) {
        if set.remaining_polls > 0 {
            set.remaining_polls -= 1;
            continue;
        }
        ready.push(json!(set.number));
        if let Some(Value::Array(ids)) = by_project.get_mut(&set.project) {
            ids.push(json!(format!("s-{}", set.number)));
        }
    }
    (200, json!({"ready": ready, "by_project": by_project}))
}
