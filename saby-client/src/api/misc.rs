//! Counterparties, our organizations, certificates, version.

use serde::Serialize;
use serde_json::json;

use crate::client::{CallOptions, Client};
use crate::error::Result;
use crate::model::{Certificate, Party, VersionInfo};
use crate::transport::{decode_list, decode_value};

impl Client {
    /// `СБИС.ИнформацияОКонтрагенте`: what Saby knows about a party (give `СвЮЛ{ИНН, КПП}` or
    /// `СвФЛ{ИНН}`, e.g. [`Party::legal_entity`]). The answer is returned as a [`Party`]
    /// (unwrapped from `Участник` when wrapped); unknown fields are in `extra`.
    pub async fn counterparty_info(&self, party: &Party) -> Result<Party> {
        #[derive(Serialize)]
        struct P<'a> {
            #[serde(rename = "Участник")]
            party: &'a Party,
        }
        let method = "СБИС.ИнформацияОКонтрагенте";
        let mut value: serde_json::Value = self.call(method, &P { party }).await?;
        if let Some(inner) = value.as_object_mut().and_then(|m| m.remove("Участник")) {
            return decode_value(method, "result.Участник", inner);
        }
        decode_value(method, "result", value)
    }

    /// `СБИС.СписокНашихОрганизаций`.
    pub async fn our_organizations(&self) -> Result<Vec<Party>> {
        let method = "СБИС.СписокНашихОрганизаций";
        let raw = self
            .call_raw(method, &json!({ "Фильтр": {} }), &CallOptions::new())
            .await?;
        decode_list(method, &raw, &["НашаОрганизация", "Организация"])
    }

    /// `СБИС.СписокСертификатов`: the certificates of the account (with their key types).
    pub async fn certificates(&self) -> Result<Vec<Certificate>> {
        let method = "СБИС.СписокСертификатов";
        let raw = self
            .call_raw(method, &json!({ "Фильтр": {} }), &CallOptions::new())
            .await?;
        decode_list(method, &raw, &["Сертификат"])
    }

    /// `СБИС.ИнформацияОВерсии`, sent with `{"Параметр": {}}` as Saby's own 1C connector
    /// sends it (`saby-integration/vo3_core`, `base/LocalHelper.bsl`,
    /// `local_helper_get_server_datetime`, which reads `result.ВнешнийИнтерфейс.ДатаВремяЗапроса`).
    pub async fn version_info(&self) -> Result<VersionInfo> {
        self.call("СБИС.ИнформацияОВерсии", &json!({ "Параметр": {} }))
            .await
    }
}
