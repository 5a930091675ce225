//! Login (password with an optional confirmation code, certificate, service application),
//! logout, accounts and the current user.
//!
//! The sandbox accepts every shape a public client is seen to send: `СБИС.Аутентифицировать`
//! with `{"Параметр": {Логин, Пароль}}` (the help pages, `magdv/sbis`) or flat
//! `{Логин, Пароль}` (`SecretDerped/pysaby`, newer `saby-integration/vo3_core`).

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::config::{LoginConfirmation, OAuthAnswer};
use crate::rpc::{CONFIRMATION_CLASSID, RpcError, object, required_text, text};
use crate::state::{PendingLogin, SecretKind, SessionKind, State};

/// A login by password (confirmed, if the sandbox asks for a code) that succeeded: a new
/// session for `account`, counted as a login; its sid is the call's answer.
fn password_login(st: &mut State, account: String) -> Value {
    let sid = new_secret();
    st.open_session(
        SessionKind::Password,
        account,
        vec![(sid.clone(), SecretKind::Sid)],
    );
    st.counters.logins += 1;
    Value::String(sid)
}

fn new_secret() -> String {
    format!(
        "{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The DER bytes of the sandbox's certificate (a stand-in, not a real X.509 certificate).
pub(crate) const CERTIFICATE_DER: &[u8] = b"\x30\x82\x00\x20saby-sandbox-certificate-der";

/// What the sandbox "encrypts" a session id to for certificate login: this prefix, then the
/// sid. Not encryption: a stand-in the sandbox's
/// [`SandboxSessionDecryptor`](crate::SandboxSessionDecryptor) reverses.
pub(crate) const ENVELOPE_PREFIX: &[u8] = b"saby-sandbox-enveloped-sid:";

/// The login params: wrapped in `Параметр`, or flat.
fn login_params(params: &Map<String, Value>) -> Result<(&Map<String, Value>, &str), RpcError> {
    match params.get("Параметр") {
        Some(Value::Object(p)) => Ok((p, "Параметр.")),
        Some(_) => Err(RpcError::invalid_params("Параметр", "ожидается объект")),
        None => Ok((params, "")),
    }
}

/// `СБИС.Аутентифицировать {Параметр{Логин, Пароль, НомерАккаунта?}}` (or the same fields
/// flat) → the sid, or the "confirmation required" error when the sandbox asks for a code.
pub(crate) fn authenticate(st: &mut State, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let (p, prefix) = login_params(params)?;
    let login = required_text(p, "Логин", &format!("{prefix}Логин"))?;
    let password = match p.get("Пароль") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(RpcError::invalid_params(
                &format!("{prefix}Пароль"),
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
    if st.config.login_confirmation != LoginConfirmation::Off {
        return Err(confirmation_required(st, account));
    }
    Ok(password_login(st, account))
}

/// Starts a confirmed login: the error the real service answers with (HTTP 200, code
/// `-32000`, the 2FA classid, `addinfo` naming the follow-up methods and the temporary
/// session).
fn confirmation_required(st: &mut State, account: String) -> RpcError {
    let id = uuid::Uuid::new_v4().to_string();
    let temp_sid = new_secret();
    st.pending_logins.insert(
        id.clone(),
        PendingLogin {
            temp_sid: temp_sid.clone(),
            account,
            code: None,
            wrong_codes: 0,
        },
    );
    let message = "Для входа введите полученный код подтверждения.";
    RpcError::bad_credentials(message)
        .details(message)
        .classid(CONFIRMATION_CLASSID)
        .addinfo(json!({
            "Сообщение": message,
            "Телефон": "+7 (9**) ***-**-12",
            "Идентификатор": id,
            "МетодОтправкиКодаПодтверждения": "СБИС.ОтправитьКодАутентификации",
            "МетодПроверкиКодаИсключения": "СБИС.ПодтвердитьВход",
            "ИдентификаторСессии": temp_sid,
        }))
}

/// The pending login a follow-up call names: flat `{"Идентификатор": ...}` (as
/// `SecretDerped/pysaby` sends it), with its temporary session in `X-SBISSessionID`.
fn pending<'a>(
    st: &'a mut State,
    params: &Map<String, Value>,
    sid: Option<&str>,
) -> Result<(String, &'a mut PendingLogin), RpcError> {
    let id = required_text(params, "Идентификатор", "Идентификатор")?;
    let login = st
        .pending_logins
        .get_mut(&id)
        .ok_or_else(|| RpcError::bad_credentials("Попытка входа не найдена или устарела"))?;
    if sid != Some(login.temp_sid.as_str()) {
        return Err(RpcError::unauthorized());
    }
    Ok((id, login))
}

/// `СБИС.ОтправитьКодАутентификации {Идентификатор}`: "sends" the code.
pub(crate) fn send_code(
    st: &mut State,
    params: &Map<String, Value>,
    sid: Option<&str>,
) -> Result<Value, RpcError> {
    let code = match &st.config.login_confirmation {
        LoginConfirmation::Code(code) => code.clone(),
        _ => format!("{:06}", fastrand::u32(0..1_000_000)),
    };
    let (_, login) = pending(st, params, sid)?;
    login.code = Some(code.clone());
    st.last_confirmation_code = Some(code);
    Ok(Value::Null)
}

/// `СБИС.ПодтвердитьВход {Идентификатор, Код}` → the new sid.
pub(crate) fn confirm(
    st: &mut State,
    params: &Map<String, Value>,
    sid: Option<&str>,
) -> Result<Value, RpcError> {
    let given = text(params, "Код")
        .ok_or_else(|| RpcError::invalid_params("Код", "обязательный параметр отсутствует"))?;
    let (id, login) = pending(st, params, sid)?;
    if login.code.as_deref() != Some(given.as_str()) {
        login.wrong_codes += 1;
        let exhausted = login.wrong_codes >= 5;
        if exhausted {
            st.pending_logins.remove(&id);
        }
        st.counters.failed_logins += 1;
        return Err(RpcError::bad_credentials(if exhausted {
            "Неверный код подтверждения. Попытки исчерпаны: войдите заново"
        } else {
            "Неверный код подтверждения"
        }));
    }
    let account = login.account.clone();
    st.pending_logins.remove(&id);
    Ok(password_login(st, account))
}

/// `СБИС.СписокСертификатовДляАутентификации` (no public shape; answered as
/// `{"Сертификат": [...]}`).
pub(crate) fn auth_certificates(st: &State) -> Value {
    let mut cert = crate::render::certificate(st);
    cert["ДвоичныеДанные"] =
        Value::String(base64::engine::general_purpose::STANDARD.encode(CERTIFICATE_DER));
    json!({ "Сертификат": [cert] })
}

/// `СБИС.АутентифицироватьПоСертификату {Сертификат{ДвоичныеДанные}}` (help page
/// `authinput_ep`) → the sid "encrypted" to the certificate, base64.
pub(crate) fn authenticate_by_certificate(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let cert = object(params, "Сертификат", "Сертификат")?;
    let data = required_text(cert, "ДвоичныеДанные", "Сертификат.ДвоичныеДанные")?;
    let cleaned: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| {
            RpcError::invalid_params("Сертификат.ДвоичныеДанные", format!("не base64: {e}"))
        })?;
    if der != CERTIFICATE_DER {
        st.counters.failed_logins += 1;
        return Err(RpcError::bad_credentials(
            "Сертификат не зарегистрирован для входа",
        ));
    }
    let sid = new_secret();
    let account = st.config.account.clone();
    st.open_session(
        SessionKind::Password,
        account,
        vec![(sid.clone(), SecretKind::Sid)],
    );
    st.counters.logins += 1;
    let mut envelope = ENVELOPE_PREFIX.to_vec();
    envelope.extend_from_slice(sid.as_bytes());
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(envelope),
    ))
}

fn known_account(st: &State, account: &str) -> bool {
    account == st.config.account || account == format!("{}-2", st.config.account)
}

/// `POST /oauth/service/` with `{app_client_id, app_secret, secret_key}` → by default
/// `{"token", "access_token", "sid"}` (see [`OAuthAnswer`]). The token is accepted in
/// `X-SBISAccessToken`, the sid in `X-SBISSessionID`; both name the same session.
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
    let (answer, secrets) = match st.config.oauth_answer {
        OAuthAnswer::TokenAndSid => (
            json!({ "token": token, "access_token": token, "sid": sid }),
            vec![(token, SecretKind::Token), (sid, SecretKind::Sid)],
        ),
        OAuthAnswer::TokenOnly => (json!({ "token": token }), vec![(token, SecretKind::Token)]),
        OAuthAnswer::SidOnly => (json!({ "sid": sid }), vec![(sid, SecretKind::Sid)]),
    };
    st.open_session(SessionKind::ServiceApp, account, secrets);
    st.counters.logins += 1;
    Ok(answer)
}

/// `СБИС.Выход`: closes the session named by the request (if any).
pub(crate) fn logout(st: &mut State, session: Option<u64>) -> Value {
    if let Some(id) = session {
        st.close_session(id);
    }
    Value::Null
}

/// `СБИС.СписокАккаунтов` → `{"Список": [{НомерАккаунта, НазваниеАккаунта}]}`, the shape
/// Saby's own 1C connector reads (`saby-integration/vo3_core`, `base/LocalHelper.bsl`).
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
        "Список": [
            { "НомерАккаунта": main, "НазваниеАккаунта": org.name, "Текущий": if current == main { "Да" } else { "Нет" } },
            { "НомерАккаунта": second, "НазваниеАккаунта": format!("{} (филиал)", org.name), "Текущий": if current == second { "Да" } else { "Нет" } },
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
    let account = required_text(p, "НомерАккаунта", "Параметр.НомерАккаунта")?;
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
    st.open_session(kind, account, vec![(sid.clone(), SecretKind::Sid)]);
    Ok(Value::String(sid))
}

/// `СБИС.ИнформацияОТекущемПользователе` (params `{"Параметр": {...}}` or `{}`) →
/// `{"Пользователь": {...}}`, where Saby's own 1C connector reads it (`vo3_core`,
/// `local_helper_get_user_info`: `result["Пользователь"]`, `["Аккаунт"]["Номер"]`).
pub(crate) fn current_user(st: &State, session: u64) -> Value {
    let account = st
        .sessions
        .get(&session)
        .map(|s| s.account.clone())
        .unwrap_or_default();
    json!({
        "Пользователь": {
            "Идентификатор": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, st.config.login.as_bytes()).to_string(),
            "Логин": st.config.login,
            "Фамилия": "Иванов",
            "Имя": "Иван",
            "Отчество": "Иванович",
            "Аккаунт": { "Номер": account },
            "Организация": {
                "ИНН": st.config.our_organization.inn,
                "КПП": st.config.our_organization.kpp,
                "Название": st.config.our_organization.name,
            },
        }
    })
}
