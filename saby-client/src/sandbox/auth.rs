//! Login, logout, accounts and the service-application token endpoint.

use serde_json::{Map, Value, json};

use crate::sandbox::rpc::{RpcError, object, text};
use crate::sandbox::state::{SessionKind, State};

fn new_secret() -> String {
    format!(
        "{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// `СБИС.Аутентифицировать {Параметр{Логин, Пароль, НомерАккаунта?}}` → the sid.
pub(crate) fn authenticate(st: &mut State, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let p = object(params, "Параметр", "Параметр")?;
    let login = text(p, "Логин").ok_or_else(|| {
        RpcError::invalid_params("Параметр.Логин", "обязательный параметр отсутствует")
    })?;
    let password = match p.get("Пароль") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(RpcError::invalid_params(
                "Параметр.Пароль",
                "обязательный параметр отсутствует",
            ));
        }
    };
    if login != st.config.login || password != st.config.password {
        st.counters.failed_logins += 1;
        return Err(RpcError::bad_credentials("Неверный логин или пароль"));
    }
    let account = match text(p, "НомерАккаунта") {
        Some(a) if known_account(st, &a) => a,
        Some(a) => {
            st.counters.failed_logins += 1;
            return Err(RpcError::bad_credentials(format!(
                "Пользователь не имеет доступа к аккаунту «{a}»"
            )));
        }
        None => st.config.account.clone(),
    };
    let sid = new_secret();
    st.open_session(SessionKind::Password, account, vec![sid.clone()]);
    st.counters.logins += 1;
    Ok(Value::String(sid))
}

fn known_account(st: &State, account: &str) -> bool {
    account == st.config.account || account == format!("{}-2", st.config.account)
}

/// `POST /oauth/service/` with `{app_client_id, app_secret, secret_key}` →
/// `{"token", "sid", "access_token"}`. The token goes in `X-SBISAccessToken`, the sid in
/// `X-SBISSessionID`; both name the same session.
pub(crate) fn oauth(st: &mut State, body: &Value) -> Result<Value, RpcError> {
    let obj = body
        .as_object()
        .ok_or_else(|| RpcError::invalid_request("ожидается объект JSON"))?;
    let field = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (client_id, app_secret, secret_key) = (
        field("app_client_id"),
        field("app_secret"),
        field("secret_key"),
    );
    if client_id.is_empty() || app_secret.is_empty() || secret_key.is_empty() {
        st.counters.failed_logins += 1;
        return Err(
            RpcError::bad_credentials("Нужны app_client_id, app_secret и secret_key").status(400),
        );
    }
    if client_id != st.config.app_client_id
        || app_secret != st.config.app_secret
        || secret_key != st.config.secret_key
    {
        st.counters.failed_logins += 1;
        return Err(RpcError::bad_credentials("Неверные данные приложения").status(401));
    }
    let token = new_secret();
    let sid = new_secret();
    let account = st.config.account.clone();
    st.open_session(
        SessionKind::ServiceApp,
        account,
        vec![token.clone(), sid.clone()],
    );
    st.counters.logins += 1;
    Ok(json!({ "token": token, "access_token": token, "sid": sid }))
}

/// `СБИС.Выход`: closes the session named by the request (if any).
pub(crate) fn logout(st: &mut State, secret: Option<&str>) -> Value {
    if let Some(id) = secret.and_then(|s| st.session_by_secret.get(s).copied()) {
        st.close_session(id);
    }
    Value::Null
}

/// `СБИС.СписокАккаунтов`.
pub(crate) fn accounts(st: &State, session: u64) -> Value {
    let current = st
        .sessions
        .get(&session)
        .map(|s| s.account.clone())
        .unwrap_or_default();
    let main = st.config.account.clone();
    let second = format!("{main}-2");
    let org = &st.config.our_organization;
    json!({
        "Аккаунт": [
            { "НомерАккаунта": main, "Название": org.name, "Текущий": if current == main { "Да" } else { "Нет" } },
            { "НомерАккаунта": second, "Название": format!("{} (филиал)", org.name), "Текущий": if current == second { "Да" } else { "Нет" } },
        ]
    })
}

/// `СБИС.ПереключитьАккаунт {Параметр{НомерАккаунта}}` → a new sid for that account.
pub(crate) fn switch_account(
    st: &mut State,
    session: u64,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let p = object(params, "Параметр", "Параметр")?;
    let account = text(p, "НомерАккаунта").ok_or_else(|| {
        RpcError::invalid_params(
            "Параметр.НомерАккаунта",
            "обязательный параметр отсутствует",
        )
    })?;
    if !known_account(st, &account) {
        return Err(RpcError::business(format!(
            "Аккаунт «{account}» недоступен пользователю"
        )));
    }
    let kind = st
        .sessions
        .get(&session)
        .map(|s| s.kind)
        .unwrap_or(SessionKind::Password);
    st.close_session(session);
    let sid = new_secret();
    st.open_session(kind, account, vec![sid.clone()]);
    Ok(Value::String(sid))
}

/// `СБИС.ИнформацияОТекущемПользователе`.
pub(crate) fn current_user(st: &State, session: u64) -> Value {
    let account = st
        .sessions
        .get(&session)
        .map(|s| s.account.clone())
        .unwrap_or_default();
    json!({
        "Идентификатор": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, st.config.login.as_bytes()).to_string(),
        "Логин": st.config.login,
        "Фамилия": "Иванов",
        "Имя": "Иван",
        "Отчество": "Иванович",
        "НомерАккаунта": account,
        "Организация": {
            "ИНН": st.config.our_organization.inn,
            "КПП": st.config.our_organization.kpp,
            "Название": st.config.our_organization.name,
        },
    })
}
