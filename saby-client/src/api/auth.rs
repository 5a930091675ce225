//! Authentication: login (password, service application, certificate), the confirmation
//! code path, logout, accounts and the current user.

use hr_docs_core::Secret;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{AuthToken, CallClock, CallOptions, Client};
use crate::config::Credentials;
use crate::error::{ConfirmationInfo, Error, Result};
use crate::model::{Account, Base64Data, Certificate, CurrentUser};
use crate::retry::Idempotency;
use crate::transport::{self, body_excerpt, decode, decode_value, join};

#[derive(Serialize)]
struct PasswordParams<'a> {
    #[serde(rename = "Параметр")]
    param: PasswordInner<'a>,
}

#[derive(Serialize)]
struct PasswordInner<'a> {
    #[serde(rename = "Логин")]
    login: &'a str,
    #[serde(rename = "Пароль")]
    password: &'a str,
    #[serde(rename = "НомерАккаунта", skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
}

#[derive(Serialize)]
struct ServiceAppParams<'a> {
    app_client_id: &'a str,
    app_secret: &'a str,
    secret_key: &'a str,
}

#[derive(Serialize)]
struct CertificateParams<'a> {
    #[serde(rename = "Сертификат")]
    certificate: CertificateData<'a>,
}

#[derive(Serialize)]
struct CertificateData<'a> {
    #[serde(rename = "ДвоичныеДанные")]
    data: &'a Base64Data,
}

/// The answer of `/oauth/service/`. `token` (or `access_token`) goes in `X-SBISAccessToken`;
/// an answer that carries only `sid` is a session id, sent as `X-SBISSessionID`.
#[derive(Deserialize)]
struct ServiceAppAnswer {
    // Read as JSON and kept only when text: another type is no token, not a decode error.
    #[serde(default)]
    token: Option<serde_json::Value>,
    #[serde(default)]
    access_token: Option<serde_json::Value>,
    #[serde(default)]
    sid: Option<serde_json::Value>,
}

impl Client {
    /// Logs in with the configured credentials and returns the new auth header.
    ///
    /// Boxed: login runs through the call loop, which may itself need to log in.
    pub(crate) fn login(&self) -> futures::future::BoxFuture<'_, Result<AuthToken>> {
        Box::pin(self.login_inner())
    }

    async fn login_inner(&self) -> Result<AuthToken> {
        tracing::info!("logging in to Saby");
        match self.credentials() {
            Credentials::Password {
                login,
                password,
                account,
            } => {
                let params = PasswordParams {
                    param: PasswordInner {
                        login,
                        password: password.expose(),
                        account: account.as_deref(),
                    },
                };
                let sid = self
                    .login_call("СБИС.Аутентифицировать", &params, None)
                    .await?;
                Ok(AuthToken::Session(sid))
            }
            Credentials::ServiceApp {
                client_id,
                app_secret,
                secret_key,
            } => {
                let params = ServiceAppParams {
                    app_client_id: client_id,
                    app_secret: app_secret.expose(),
                    secret_key: secret_key.expose(),
                };
                self.service_app_login(&params).await
            }
            Credentials::Certificate {
                certificate,
                decryptor,
            } => {
                // Help page `authinput_ep`: params `{"Сертификат": {"ДвоичныеДанные": <DER,
                // base64>}}`; the result is the sid encrypted to that certificate, base64.
                let der = certificate.data.as_ref().ok_or_else(|| {
                    Error::InvalidInput(
                        "certificate login needs the certificate itself (Certificate.data, \
                         ДвоичныеДанные: DER); a thumbprint alone is not enough"
                            .to_owned(),
                    )
                })?;
                let params = CertificateParams {
                    certificate: CertificateData { data: der },
                };
                let method = "СБИС.АутентифицироватьПоСертификату";
                let raw = self
                    .call_raw(method, &params, &CallOptions::new())
                    .await
                    .map_err(login_error)?;
                let encrypted: String = decode(method, 200, "result", raw.get(), true)?;
                let enveloped =
                    Base64Data::decode_text(&encrypted).ok_or_else(|| Error::AuthFailed {
                        message: "certificate login answer is not base64".to_owned(),
                        status: None,
                    })?;
                let sid = decryptor
                    .decrypt(enveloped.bytes())
                    .await
                    .map_err(Error::Signer)?;
                if sid.is_blank() {
                    return Err(Error::AuthFailed {
                        message: "decrypted session id is empty".to_owned(),
                        status: None,
                    });
                }
                Ok(AuthToken::Session(sid))
            }
            Credentials::Session(sid) => Ok(AuthToken::Session(sid.clone())),
        }
    }

    /// Calls a login method whose result is a session id.
    async fn login_call<P: Serialize + Sync + ?Sized>(
        &self,
        method: &str,
        params: &P,
        temp_session: Option<AuthToken>,
    ) -> Result<Secret> {
        let raw = self
            .call_raw_as(method, params, &CallOptions::new(), temp_session)
            .await
            .map_err(login_error)?;
        let sid: Option<String> = decode(method, 200, "result", raw.get(), true)?;
        match sid {
            Some(s) if !s.trim().is_empty() => Ok(Secret::new(s)),
            _ => Err(Error::AuthFailed {
                message: format!("{method} returned no session id"),
                status: None,
            }),
        }
    }

    async fn service_app_login(&self, params: &ServiceAppParams<'_>) -> Result<AuthToken> {
        let url = join(self.base_url(), "/oauth/service/")?;
        let body = serde_json::to_vec(params).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let body = bytes::Bytes::from(body);
        let span = tracing::info_span!(
            "saby.call",
            method = "oauth/service",
            endpoint = "/oauth/service/",
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        let mut clock = CallClock::start(self.config().timeouts);
        let (url, body) = (&url, &body);
        let answer = tracing::Instrument::instrument(
            self.run(
                &mut clock,
                false,
                Idempotency::Idempotent,
                move |attempt| async move {
                    let req = self
                        .http()
                        .post(url.clone())
                        .header(
                            reqwest::header::CONTENT_TYPE,
                            "application/json; charset=utf-8",
                        )
                        .body(body.clone());
                    let (status, headers, bytes) = self.send_http(req, url, &attempt).await?;
                    if let Some(e) = transport::status_error(status, &headers, &bytes, true, &[]) {
                        return Err(e);
                    }
                    if !(200..300).contains(&status) {
                        return Err(Error::AuthFailed {
                            message: format!("service application login refused (HTTP {status})"),
                            status: Some(status),
                        });
                    }
                    decode::<ServiceAppAnswer>(
                        "oauth/service",
                        status,
                        "$",
                        &String::from_utf8_lossy(&bytes),
                        true,
                    )
                },
            ),
            span,
        )
        .await
        .map_err(login_error)?;
        let present = |t: Option<serde_json::Value>| match t {
            Some(serde_json::Value::String(t)) if !t.trim().is_empty() => Some(t),
            _ => None,
        };
        if let Some(token) = present(answer.token).or_else(|| present(answer.access_token)) {
            return Ok(AuthToken::Access(Secret::new(token)));
        }
        present(answer.sid)
            .map(|sid| AuthToken::Session(Secret::new(sid)))
            .ok_or_else(|| Error::AuthFailed {
                message: "service application login returned no token or sid".to_owned(),
                status: None,
            })
    }

    /// Logs in now (otherwise the first call does). Useful to fail fast on bad credentials
    /// or to get [`Error::ConfirmationRequired`] up front.
    pub async fn login_now(&self) -> Result<()> {
        let token = self.login().await?;
        self.set_session(Some(token)).await;
        Ok(())
    }

    /// `СБИС.ОтправитьКодАутентификации`: asks Saby to send the confirmation code described
    /// by `info` (from [`Error::ConfirmationRequired`]).
    ///
    /// Sent as public clients send it (`SecretDerped/pysaby`, `src/pysaby/auth.py`): params
    /// flat, `{"Идентификатор": info.id}`, to `/auth/service/`, with the temporary session
    /// `info.session_id` (`ИдентификаторСессии`) in `X-SBISSessionID`. The method name is
    /// `МетодОтправкиКодаПодтверждения` when Saby names one.
    pub async fn send_auth_code(&self, info: &ConfirmationInfo) -> Result<()> {
        let method = info
            .send_code_method
            .as_deref()
            .map(str::trim)
            .filter(|m| m.starts_with("СБИС."))
            .unwrap_or("СБИС.ОтправитьКодАутентификации");
        let params = CodeParams {
            id: confirmation_id(info)?,
            code: None,
        };
        // A method Saby names may return a session like the standard one: never quoted.
        let opts = CallOptions::new()
            .endpoint(transport::Endpoint::Auth)
            .idempotent(false)
            .secret_answer(true);
        self.call_raw_as(method, &params, &opts, temporary_session(info))
            .await
            .map_err(login_error)?;
        Ok(())
    }

    /// `СБИС.ПодтвердитьВход`: confirms the login with the code the user received; the
    /// session Saby returns (`result`, the new sid) becomes the client's session.
    ///
    /// Params flat, `{"Идентификатор": info.id, "Код": code}`, with the temporary session
    /// header, as for [`Client::send_auth_code`]. A code Saby refuses is
    /// [`Error::AuthFailed`] carrying Saby's message (ask the user again; the same `info`
    /// stays valid until Saby says otherwise).
    pub async fn confirm_login(&self, info: &ConfirmationInfo, code: &str) -> Result<()> {
        let code = code.trim();
        if code.is_empty() {
            return Err(Error::InvalidInput(
                "the confirmation code is empty".to_owned(),
            ));
        }
        let params = CodeParams {
            id: confirmation_id(info)?,
            code: Some(code),
        };
        let opts = CallOptions::new()
            .endpoint(transport::Endpoint::Auth)
            .secret_answer(true);
        let raw = self
            .call_raw_as(
                "СБИС.ПодтвердитьВход",
                &params,
                &opts,
                temporary_session(info),
            )
            .await
            .map_err(|e| match login_error(e) {
                Error::Rpc(rpc) => Error::AuthFailed {
                    message: format!("confirmation code refused: {}", rpc.message),
                    status: Some(rpc.http_status).filter(|s| !(200..300).contains(s)),
                },
                other => other,
            })?;
        let sid: serde_json::Value =
            decode("СБИС.ПодтвердитьВход", 200, "result", raw.get(), true)?;
        let sid = match sid {
            serde_json::Value::String(s) if !s.trim().is_empty() => s,
            _ => {
                return Err(Error::AuthFailed {
                    message: "login confirmation returned no session id".to_owned(),
                    status: None,
                });
            }
        };
        self.set_session(Some(AuthToken::Session(Secret::new(sid))))
            .await;
        Ok(())
    }

    /// `СБИС.Выход`: ends the session (if any). The next call logs in again.
    pub async fn logout(&self) -> Result<()> {
        if self.current_token().await.is_none() {
            return Ok(());
        }
        let opts = CallOptions::new().idempotent(true);
        let res = self.call_raw("СБИС.Выход", &json!({}), &opts).await;
        self.set_session(None).await;
        res.map(|_| ())
    }

    /// `СБИС.СписокАккаунтов` (on `/auth/service/`, params `{}`).
    ///
    /// Reads `result.Список` as Saby's own 1C connector does (`saby-integration/vo3_core`,
    /// `base/LocalHelper.bsl`, `local_helper_get_accoutslist`: a missing `Список` is an empty
    /// list), with items `{НомерАккаунта, НазваниеАккаунта}`. Older shapes are accepted too: a
    /// bare array, `Аккаунт` / `Аккаунты` keys, a single object.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let method = "СБИС.СписокАккаунтов";
        let raw = self
            .call_raw(method, &json!({}), &CallOptions::new().idempotent(true))
            .await?;
        transport::decode_list(method, &raw, &["Список", "Аккаунт", "Аккаунты"])
    }

    /// `СБИС.ПереключитьАккаунт`: switches to account `number`; the new session replaces
    /// the old one.
    pub async fn switch_account(&self, number: &str) -> Result<()> {
        let params = json!({ "Параметр": { "НомерАккаунта": number } });
        let raw = self
            .call_raw(
                "СБИС.ПереключитьАккаунт",
                &params,
                &CallOptions::new().idempotent(true),
            )
            .await?;
        let sid: Option<serde_json::Value> =
            decode("СБИС.ПереключитьАккаунт", 200, "result", raw.get(), true)?;
        if let Some(serde_json::Value::String(s)) = sid
            && !s.trim().is_empty()
        {
            self.set_session(Some(AuthToken::Session(Secret::new(s))))
                .await;
        }
        Ok(())
    }

    /// `СБИС.ИнформацияОТекущемПользователе`, sent with `{"Параметр": {}}`.
    ///
    /// Saby's own 1C connector reads the answer under `result.Пользователь`
    /// (`saby-integration/vo3_core`, `base/LocalHelper.bsl`, `local_helper_get_user_info`);
    /// a flat answer (the user's fields right in `result`) is accepted too. Keys next to
    /// `Пользователь` are kept in the user's `extra`.
    pub async fn current_user(&self) -> Result<CurrentUser> {
        let method = "СБИС.ИнформацияОТекущемПользователе";
        let raw = self
            .call_raw(method, &json!({ "Параметр": {} }), &CallOptions::new())
            .await?;
        let mut value: serde_json::Value = decode(method, 200, "result", raw.get(), false)?;
        if let Some(obj) = value.as_object_mut()
            && let Some(serde_json::Value::Object(_)) = obj.get("Пользователь")
            && let Some(inner) = obj.remove("Пользователь")
        {
            let mut user: CurrentUser = decode_value(method, "result.Пользователь", inner)?;
            for (k, v) in std::mem::take(obj) {
                user.extra.entry(k).or_insert(v);
            }
            return Ok(user);
        }
        decode_value(method, "result", value)
    }

    /// `СБИС.СписокСертификатовДляАутентификации`: certificates usable for
    /// [`Credentials::Certificate`] (no session needed).
    pub async fn auth_certificates(&self) -> Result<Vec<Certificate>> {
        let raw = self
            .call_raw(
                "СБИС.СписокСертификатовДляАутентификации",
                &json!({ "Фильтр": {} }),
                &CallOptions::new(),
            )
            .await?;
        transport::decode_list(
            "СБИС.СписокСертификатовДляАутентификации",
            &raw,
            &["Сертификат"],
        )
    }
}

/// Params of `СБИС.ОтправитьКодАутентификации` / `СБИС.ПодтвердитьВход`: flat, no `Параметр`.
#[derive(Serialize)]
struct CodeParams<'a> {
    #[serde(rename = "Идентификатор")]
    id: &'a str,
    #[serde(rename = "Код", skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
}

fn confirmation_id(info: &ConfirmationInfo) -> Result<&str> {
    info.id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            Error::InvalidInput(
                "the confirmation info has no Идентификатор (error.data.addinfo)".to_owned(),
            )
        })
}

/// The temporary session of a confirmation (`ИдентификаторСессии`), for `X-SBISSessionID`.
fn temporary_session(info: &ConfirmationInfo) -> Option<AuthToken> {
    info.session_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| AuthToken::Session(Secret::from(s)))
}

/// A 401 on a login method means the credentials were refused, not a session to renew.
fn login_error(e: Error) -> Error {
    match e {
        Error::SessionExpired { message, status } => Error::AuthFailed { message, status },
        Error::Decode {
            method,
            path,
            status,
            source,
            ..
        } => Error::Decode {
            method,
            path,
            status,
            excerpt: body_excerpt(b"", true, &[]),
            source,
        },
        other => other,
    }
}
