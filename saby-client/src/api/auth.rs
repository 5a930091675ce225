//! Authentication: login (password, service application, certificate), the confirmation
//! code path, logout, accounts and the current user.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{AuthToken, CallOptions, Client};
use crate::config::Credentials;
use crate::error::{ConfirmationInfo, Error, Result};
use crate::model::{Account, Certificate, CurrentUser};
use crate::retry::Idempotency;
use crate::transport::{self, body_excerpt, decode, join};

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

#[derive(Deserialize)]
struct ServiceAppAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    sid: Option<String>,
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
                        password: password.expose_secret(),
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
                    app_secret: app_secret.expose_secret(),
                    secret_key: secret_key.expose_secret(),
                };
                self.service_app_login(&params).await
            }
            Credentials::Certificate {
                certificate,
                decryptor,
            } => {
                let params = json!({ "Параметр": certificate });
                let raw = self
                    .call_raw(
                        "СБИС.АутентифицироватьПоСертификату",
                        &params,
                        &CallOptions::new(),
                    )
                    .await
                    .map_err(login_error)?;
                let encrypted: String = decode(
                    "СБИС.АутентифицироватьПоСертификату",
                    200,
                    "result",
                    raw.get(),
                    true,
                )?;
                let cleaned: String = encrypted
                    .chars()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect();
                let enveloped =
                    STANDARD
                        .decode(cleaned.as_bytes())
                        .map_err(|_| Error::AuthFailed {
                            message: "certificate login answer is not base64".to_owned(),
                        })?;
                let sid = decryptor.decrypt(&enveloped).await.map_err(Error::Signer)?;
                if sid.expose_secret().trim().is_empty() {
                    return Err(Error::AuthFailed {
                        message: "decrypted session id is empty".to_owned(),
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
    ) -> Result<SecretString> {
        let raw = self
            .call_raw_as(method, params, &CallOptions::new(), temp_session)
            .await
            .map_err(login_error)?;
        let sid: Option<String> = decode(method, 200, "result", raw.get(), true)?;
        match sid {
            Some(s) if !s.trim().is_empty() => Ok(SecretString::from(s)),
            _ => Err(Error::AuthFailed {
                message: format!("{method} returned no session id"),
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
        let deadline = self.config().deadline;
        let (url, body) = (&url, &body);
        let answer = tracing::Instrument::instrument(
            self.run(
                false,
                Idempotency::Idempotent,
                deadline,
                move |_| async move {
                    let req = self
                        .http()
                        .post(url.clone())
                        .header(
                            reqwest::header::CONTENT_TYPE,
                            "application/json; charset=utf-8",
                        )
                        .timeout(self.config().timeout)
                        .body(body.clone());
                    let (status, headers, bytes) = self.send_http(req).await?;
                    if let Some(e) = transport::status_error(status, &headers, &bytes, true) {
                        return Err(e);
                    }
                    if !(200..300).contains(&status) {
                        return Err(Error::AuthFailed {
                            message: format!("service application login refused (HTTP {status})"),
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
        answer
            .token
            .or(answer.access_token)
            .or(answer.sid)
            .filter(|t| !t.trim().is_empty())
            .map(|t| AuthToken::Access(SecretString::from(t)))
            .ok_or_else(|| Error::AuthFailed {
                message: "service application login returned no token".to_owned(),
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
    pub async fn send_auth_code(&self, info: &ConfirmationInfo) -> Result<()> {
        let method = info
            .send_code_method
            .as_deref()
            .unwrap_or("СБИС.ОтправитьКодАутентификации");
        let params = json!({ "Параметр": { "Идентификатор": info.id } });
        let temp = info
            .session_id
            .clone()
            .map(|s| AuthToken::Session(SecretString::from(s)));
        let opts = CallOptions::new()
            .endpoint(transport::Endpoint::Auth)
            .idempotent(false);
        self.call_raw_as(method, &params, &opts, temp).await?;
        Ok(())
    }

    /// `СБИС.ПодтвердитьВход`: confirms the login with the code the user received; the
    /// confirmed session becomes the client's session.
    pub async fn confirm_login(&self, info: &ConfirmationInfo, code: &str) -> Result<()> {
        if code.trim().is_empty() {
            return Err(Error::InvalidInput(
                "the confirmation code is empty".to_owned(),
            ));
        }
        let params = json!({ "Параметр": { "Идентификатор": info.id, "Код": code.trim() } });
        let temp = info
            .session_id
            .clone()
            .map(|s| AuthToken::Session(SecretString::from(s)));
        let raw = self
            .call_raw_as("СБИС.ПодтвердитьВход", &params, &CallOptions::new(), temp)
            .await
            .map_err(login_error)?;
        let sid: Option<serde_json::Value> =
            decode("СБИС.ПодтвердитьВход", 200, "result", raw.get(), true)?;
        let sid = match sid {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s),
            _ => info.session_id.clone(),
        };
        let sid = sid.ok_or_else(|| Error::AuthFailed {
            message: "login confirmation returned no session".to_owned(),
        })?;
        self.set_session(Some(AuthToken::Session(SecretString::from(sid))))
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

    /// `СБИС.СписокАккаунтов`.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let raw = self
            .call_raw(
                "СБИС.СписокАккаунтов",
                &json!({}),
                &CallOptions::new().idempotent(true),
            )
            .await?;
        transport::decode_list("СБИС.СписокАккаунтов", &raw, &["Аккаунт", "Аккаунты"])
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
            self.set_session(Some(AuthToken::Session(SecretString::from(s))))
                .await;
        }
        Ok(())
    }

    /// `СБИС.ИнформацияОТекущемПользователе`.
    pub async fn current_user(&self) -> Result<CurrentUser> {
        self.call("СБИС.ИнформацияОТекущемПользователе", &json!({}))
            .await
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

/// A 401 on a login method means the credentials were refused, not a session to renew.
fn login_error(e: Error) -> Error {
    match e {
        Error::SessionExpired { message } => Error::AuthFailed { message },
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
            excerpt: body_excerpt(b"", true),
            source,
        },
        other => other,
    }
}
