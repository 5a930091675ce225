//! Reference methods: counterparty lookup, our organizations, certificates, version, and
//! rendering a formalized XML as HTML.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::render::{certificate, organization};
use crate::rpc::{RpcError, object, required_text, text};
use crate::state::{State, format_date_time, xml_escape};

/// `СБИС.ИнформацияОКонтрагенте {Участник{СвЮЛ{ИНН, КПП}} | Участник{СвФЛ{ИНН, ...}}}`.
/// Any well-formed ИНН is "registered"; the configured counterparty and our organization
/// answer with their names.
pub(crate) fn counterparty_info(
    st: &State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let who = object(params, "Участник", "Участник")?;
    let (legal, party, path) = if let Some(Value::Object(ul)) = who.get("СвЮЛ") {
        (true, ul, "Участник.СвЮЛ.ИНН")
    } else if let Some(Value::Object(fl)) = who.get("СвФЛ") {
        (false, fl, "Участник.СвФЛ.ИНН")
    } else {
        return Err(RpcError::invalid_params(
            "Участник",
            "ожидается СвЮЛ или СвФЛ",
        ));
    };
    let inn = text(party, "ИНН")
        .ok_or_else(|| RpcError::invalid_params(path, "обязательный параметр отсутствует"))?;
    let expected = if legal { 10 } else { 12 };
    if inn.len() != expected || !inn.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RpcError::invalid_params(
            path,
            format!("ИНН должен состоять из {expected} цифр"),
        ));
    }
    let id = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("party/{inn}").as_bytes(),
    )
    .to_string();
    if !legal {
        let mut fl = party.clone();
        fl.entry("Фамилия")
            .or_insert_with(|| Value::String("Петров".to_owned()));
        fl.entry("Имя")
            .or_insert_with(|| Value::String("Пётр".to_owned()));
        return Ok(json!({ "Идентификатор": id, "СвФЛ": fl, "ЭДО": "Да" }));
    }
    let kpp = text(party, "КПП");
    let known = [&st.config.counterparty, &st.config.our_organization]
        .into_iter()
        .find(|o| o.inn == inn && kpp.as_deref().is_none_or(|k| k == o.kpp));
    let (kpp, name) = match known {
        Some(o) => (o.kpp.clone(), o.name.clone()),
        None => (
            kpp.unwrap_or_else(|| format!("{}01001", &inn[..4])),
            format!("ООО «Контрагент {inn}»"),
        ),
    };
    let mut answer = organization(&inn, &kpp, &name);
    answer["Идентификатор"] = Value::String(id);
    answer["ЭДО"] = Value::String("Да".to_owned());
    answer["Роуминг"] = Value::String("Нет".to_owned());
    Ok(answer)
}

/// `СБИС.СписокНашихОрганизаций`.
pub(crate) fn our_organizations(st: &State) -> Value {
    let o = &st.config.our_organization;
    json!({
        "НашаОрганизация": [organization(&o.inn, &o.kpp, &o.name)],
        "Навигация": { "ЕстьЕще": "Нет" },
    })
}

/// `СБИС.СписокСертификатов`.
pub(crate) fn certificates(st: &State) -> Value {
    json!({ "Сертификат": [certificate(st)] })
}

/// `СБИС.ИнформацияОВерсии` (params `{"Параметр": {}}` or `{}`): `ВнешнийИнтерфейс` is an
/// object whose `ДатаВремяЗапроса` Saby's own 1C connector reads
/// (`saby-integration/vo3_core`, `local_helper_get_server_datetime`).
pub(crate) fn version(st: &State) -> Value {
    let now = st.now();
    json!({
        "ВнешнийИнтерфейс": {
            "ДатаВремяЗапроса": format_date_time(now),
        },
        "Сервер": "saby-client sandbox",
        "ВерсияПесочницы": env!("CARGO_PKG_VERSION"),
    })
}

/// `СБИС.СформироватьHTMLИзXML {Параметр{XML: base64}}` → `{HTML: base64}`.
pub(crate) fn html_from_xml(params: &Map<String, Value>) -> Result<Value, RpcError> {
    let p = object(params, "Параметр", "Параметр")?;
    let data = required_text(p, "XML", "Параметр.XML")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .map_err(|e| RpcError::invalid_params("Параметр.XML", format!("не base64: {e}")))?;
    let xml = String::from_utf8(bytes)
        .map_err(|_| RpcError::invalid_params("Параметр.XML", "XML не в UTF-8"))?;
    if !xml.trim_start().starts_with('<') {
        return Err(RpcError::business("Файл не является XML-документом"));
    }
    let html = xml_to_html(&xml);
    Ok(json!({ "HTML": base64::engine::general_purpose::STANDARD.encode(html) }))
}

/// An HTML page showing the XML.
pub(crate) fn xml_to_html(xml: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Документ</title></head>\
         <body><pre>{}</pre></body></html>\n",
        xml_escape(xml)
    )
}
