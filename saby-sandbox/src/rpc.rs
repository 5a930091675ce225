//! JSON-RPC plumbing: errors, answers and helpers to read loosely-typed params.

use serde_json::{Map, Value, json};

/// The content type of every JSON-RPC answer.
pub(crate) const JSON_RPC: &str = "application/json-rpc;charset=utf-8";

/// The classid the real service uses for "file not ready yet".
pub(crate) const FILE_NOT_READY_CLASSID: &str = "{00000000-0000-0000-0000-1aa0000f1002}";

/// The classid of the "confirmation code required" login error (as the evidence writes it;
/// public clients compare it case-insensitively).
pub(crate) const CONFIRMATION_CLASSID: &str = "{00000000-0000-0000-0000-1FA000001002}";

/// A JSON-RPC error with the HTTP status it travels with.
#[derive(Debug, Clone)]
pub(crate) struct RpcError {
    pub(crate) status: u16,
    pub(crate) code: i64,
    pub(crate) message: String,
    pub(crate) details: String,
    pub(crate) kind: &'static str,
    pub(crate) classid: Option<&'static str>,
    /// `data.addinfo` when it is more than the details text (boxed: keeps the error small).
    pub(crate) addinfo: Option<Box<Value>>,
}

impl RpcError {
    fn new(status: u16, code: i64, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: String::new(),
            kind,
            classid: None,
            addinfo: None,
        }
    }

    /// `-32700`: the body is not JSON (HTTP 200, like the real service).
    pub(crate) fn parse(details: impl Into<String>) -> Self {
        Self::new(200, -32700, "error", "Parse error").details(details)
    }

    /// `-32600`: not a JSON-RPC request.
    pub(crate) fn invalid_request(details: impl Into<String>) -> Self {
        Self::new(200, -32600, "error", "Invalid Request").details(details)
    }

    /// `-32601`: no such method.
    pub(crate) fn method_not_found(method: &str) -> Self {
        Self::new(404, -32601, "error", format!("Метод «{method}» не найден"))
            .details(format!("Method not found: {method}"))
    }

    /// `-32602`: missing or malformed params; `path` names the field.
    pub(crate) fn invalid_params(path: &str, what: impl AsRef<str>) -> Self {
        Self::new(
            200,
            -32602,
            "error",
            format!("Неверный параметр «{path}»: {}", what.as_ref()),
        )
    }

    /// A business error (`-32000`, HTTP 500 as the real service sends them).
    pub(crate) fn business(message: impl Into<String>) -> Self {
        Self::new(500, -32000, "error", message)
    }

    /// Not found (`-32000`, HTTP 404).
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, -32000, "error", message)
    }

    /// Missing or expired session (HTTP 401).
    pub(crate) fn unauthorized() -> Self {
        Self::new(401, -32000, "auth", "Пользователь не авторизован")
            .details("Сессия отсутствует или истекла: выполните вход заново")
    }

    /// Wrong credentials (HTTP 200 with an error body, code `-32000`, type `auth`).
    pub(crate) fn bad_credentials(message: impl Into<String>) -> Self {
        Self::new(200, -32000, "auth", message).details("Проверьте логин, пароль и номер аккаунта")
    }

    pub(crate) fn details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }

    pub(crate) fn classid(mut self, classid: &'static str) -> Self {
        self.classid = Some(classid);
        self
    }

    pub(crate) fn addinfo(mut self, addinfo: Value) -> Self {
        self.addinfo = Some(Box::new(addinfo));
        self
    }

    pub(crate) fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The `error` object. `quirk` selects the real service's odd shapes: code as a string and
    /// `details` repeating `message`.
    pub(crate) fn to_json(&self, quirk: bool) -> Value {
        let code = if quirk {
            Value::String(self.code.to_string())
        } else {
            Value::from(self.code)
        };
        let details = if quirk || self.details.is_empty() {
            self.message.clone()
        } else {
            self.details.clone()
        };
        let mut data = Map::new();
        if let Some(classid) = self.classid {
            data.insert("classid".into(), Value::String(classid.to_owned()));
        }
        if let Some(addinfo) = &self.addinfo {
            data.insert("addinfo".into(), Value::clone(addinfo));
        } else if !self.details.is_empty() {
            data.insert(
                "addinfo".into(),
                json!({ "Описание": self.details.clone() }),
            );
        }
        json!({
            "code": code,
            "message": self.message,
            "details": details,
            "type": self.kind,
            "data": data,
        })
    }
}

/// `{"jsonrpc": "2.0", "result": ..., "id": ...}`.
pub(crate) fn result_body(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "result": result, "id": id })
}

/// `{"jsonrpc": "2.0", "error": ..., "id": ...}`.
pub(crate) fn error_body(id: &Value, error: &RpcError, quirk: bool) -> Value {
    json!({ "jsonrpc": "2.0", "error": error.to_json(quirk), "id": id })
}

/// `"Да"` / `"Нет"`.
pub(crate) fn flag(value: bool) -> Value {
    Value::String(if value { "Да" } else { "Нет" }.to_owned())
}

/// Reads a flag sent as `"Да"`/`"Нет"`, `true`/`false` or `1`/`0`.
pub(crate) fn read_flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::String(s)) => {
            let s = s.trim().to_lowercase();
            s == "да" || s == "true" || s == "1"
        }
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

/// A value that may be sent as an object or as an array of objects.
pub(crate) fn one_or_many(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// A text field sent as a string or a number; empty strings count as absent.
pub(crate) fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative integer sent as a number or a string.
pub(crate) fn number(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<u64>, RpcError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| RpcError::invalid_params(path, "ожидается неотрицательное целое")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| RpcError::invalid_params(path, "ожидается неотрицательное целое")),
        Some(_) => Err(RpcError::invalid_params(path, "ожидается число")),
    }
}

/// `Фильтр.Навигация` (`nav`, if sent) of a listing: its page size (25 unless sent, kept
/// within 1..=1000) and its page number (0 unless sent).
pub(crate) fn page(nav: Option<&Map<String, Value>>) -> Result<(usize, u64), RpcError> {
    let (size, page) = match nav {
        Some(n) => (
            number(n, "РазмерСтраницы", "Фильтр.Навигация.РазмерСтраницы")?.unwrap_or(25),
            number(n, "Страница", "Фильтр.Навигация.Страница")?.unwrap_or(0),
        ),
        None => (25, 0),
    };
    Ok((size.clamp(1, 1000) as usize, page))
}

/// The error of a call naming a document the sandbox does not hold.
pub(crate) fn document_not_found(id: &str) -> RpcError {
    RpcError::not_found(format!("Документ «{id}» не найден"))
}

/// The text field `map[key]` (see [`text`]), or an error naming `path` when it is absent.
pub(crate) fn required_text(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<String, RpcError> {
    text(map, key)
        .ok_or_else(|| RpcError::invalid_params(path, "обязательный параметр отсутствует"))
}

/// The object at `params[key]`, or an error naming it.
pub(crate) fn object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Map<String, Value>, RpcError> {
    match map.get(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(RpcError::invalid_params(path, "ожидается объект")),
        None => Err(RpcError::invalid_params(
            path,
            "обязательный параметр отсутствует",
        )),
    }
}

/// The object at `params[key]` if present.
pub(crate) fn optional_object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, RpcError> {
    match map.get(key) {
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(Value::Null) | None => Ok(None),
        Some(_) => Err(RpcError::invalid_params(path, "ожидается объект")),
    }
}

/// The `Документ` object of the params and its `Идентификатор`.
pub(crate) fn document_ref(
    params: &Map<String, Value>,
) -> Result<(&Map<String, Value>, String), RpcError> {
    let doc = object(params, "Документ", "Документ")?;
    let id = required_text(doc, "Идентификатор", "Документ.Идентификатор")?;
    Ok((doc, id))
}

/// Percent-encodes a path segment.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a percent-encoded path segment; `None` when it is not valid UTF-8.
pub(crate) fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip() {
        for s in ["abc", "a b/c", "Документ №1", "%", "x%2"] {
            assert_eq!(decode_segment(&encode_segment(s)).as_deref(), Some(s));
        }
    }

    #[test]
    fn error_quirks() {
        let e = RpcError::business("Ошибка").details("Подробно");
        let plain = e.to_json(false);
        assert_eq!(plain["code"], -32000);
        assert_eq!(plain["details"], "Подробно");
        let quirky = e.to_json(true);
        assert_eq!(quirky["code"], "-32000");
        assert_eq!(quirky["details"], "Ошибка");
    }

    #[test]
    fn flags_and_numbers() {
        assert!(read_flag(Some(&json!("Да"))));
        assert!(!read_flag(Some(&json!("Нет"))));
        assert!(read_flag(Some(&json!(true))));
        let m = json!({"a": "5", "b": 6, "c": "x"});
        let m = m.as_object().unwrap();
        assert_eq!(number(m, "a", "a").unwrap(), Some(5));
        assert_eq!(number(m, "b", "b").unwrap(), Some(6));
        assert!(number(m, "c", "c").is_err());
        assert_eq!(number(m, "z", "z").unwrap(), None);
    }
}
