//! Renders stored documents, files and events as the JSON the real service answers with.

use serde_json::{Map, Value, json};

use crate::actions::{StageDef, available_stages, stage_id};
use crate::rpc::{encode_segment, flag};
use crate::state::{EventRec, State, StoredDoc, StoredFile, format_date, format_date_time};

/// Which events a rendered document carries in `Событие`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EventsView<'a> {
    /// All of the document's events, oldest first.
    All,
    /// Only these (indices into the log), in this order.
    Only(&'a [usize]),
}

/// Download link of a file.
pub(crate) fn file_link(st: &State, doc_id: &str, file_id: &str) -> String {
    format!(
        "{}/sandbox/file/{}/{}",
        st.base_uri,
        encode_segment(doc_id),
        encode_segment(file_id)
    )
}

fn signature_link(st: &State, doc_id: &str, file_id: &str, n: usize) -> String {
    format!(
        "{}/sandbox/signature/{}/{}/{n}",
        st.base_uri,
        encode_segment(doc_id),
        encode_segment(file_id)
    )
}

/// The `Сертификат` offered for actions (its `Ключ.Тип` follows the signing mode).
/// The thumbprint of the sandbox's one certificate.
pub(crate) const CERTIFICATE_THUMBPRINT: &str = "5AB1D0C0FFEE5AB1D0C0FFEE5AB1D0C0FFEE5AB1";

pub(crate) fn certificate(st: &State) -> Value {
    let key_type = if st.config.client_side_signing {
        "Клиентский"
    } else {
        "Серверный"
    };
    json!({
        "Отпечаток": CERTIFICATE_THUMBPRINT,
        "ФИО": "Иванов Иван Иванович",
        "Должность": "Генеральный директор",
        "ИНН": st.config.our_organization.inn,
        "СерийныйНомер": "01D9C0FFEE5AB1",
        "ДействителенС": "01.01.2026",
        "ДействителенПо": "31.12.2027",
        "Ключ": { "Тип": key_type, "Активирован": "Да" },
    })
}

/// A party (`НашаОрганизация` / `Контрагент`) in the legal-entity shape.
pub(crate) fn organization(inn: &str, kpp: &str, name: &str) -> Value {
    json!({ "СвЮЛ": { "ИНН": inn, "КПП": kpp, "Название": name } })
}

/// A file as a `Вложение` object: name, link, hash, signatures.
pub(crate) fn file(st: &State, doc_id: &str, f: &StoredFile) -> Value {
    let mut out = Map::new();
    for (k, v) in &f.extra {
        out.insert(k.clone(), v.clone());
    }
    out.insert("Идентификатор".into(), Value::String(f.id.clone()));
    out.insert("Название".into(), Value::String(f.title.clone()));
    out.insert("Служебный".into(), flag(f.service));
    out.insert("Удален".into(), flag(false));
    out.insert(
        "Файл".into(),
        json!({
            "Имя": f.file_name,
            "Ссылка": file_link(st, doc_id, &f.id),
            "Хеш": f.hash,
            "Размер": f.bytes.len().to_string(),
        }),
    );
    let signatures: Vec<Value> = f
        .signatures
        .iter()
        .enumerate()
        .map(|(n, s)| {
            json!({
                "Тип": "Отсоединенная",
                "Файл": { "Имя": s.file_name, "Ссылка": signature_link(st, doc_id, &f.id, n) },
                "Сертификат": { "ФИО": s.signer },
            })
        })
        .collect();
    out.insert("Подпись".into(), Value::Array(signatures));
    out.insert(
        "СсылкаНаPDF".into(),
        Value::String(format!(
            "{}/sandbox/pdf/{}/{}",
            st.base_uri,
            encode_segment(doc_id),
            encode_segment(&f.id)
        )),
    );
    out.insert(
        "СсылкаНаHTML".into(),
        Value::String(format!(
            "{}/sandbox/html/{}/{}",
            st.base_uri,
            encode_segment(doc_id),
            encode_segment(&f.id)
        )),
    );
    Value::Object(out)
}

/// A stage as an `Этап` object; `files` are the files to sign (from Prepare), if any.
pub(crate) fn stage(st: &State, doc: &StoredDoc, def: &StageDef, files: &[StoredFile]) -> Value {
    let cert = certificate(st);
    let actions: Vec<Value> = def
        .actions
        .iter()
        .map(|a| {
            json!({
                "Название": a.name,
                "Комментарий": "",
                "ТребуетПодписания": flag(a.requires_signature),
                "ТребуетКомментария": flag(a.requires_comment),
                "Сертификат": [cert.clone()],
            })
        })
        .collect();
    let mut out = json!({
        "Идентификатор": stage_id(doc, def),
        "Название": def.name,
        "Служебный": flag(def.service),
        "Действие": actions,
    });
    if !files.is_empty() {
        out["Вложение"] = Value::Array(files.iter().map(|f| file(st, &doc.id, f)).collect());
    }
    out
}

/// An event as a `Событие` object.
pub(crate) fn event(st: &State, doc: &StoredDoc, e: &EventRec) -> Value {
    let files: Vec<Value> = e
        .files
        .iter()
        .filter_map(|id| doc.file(id))
        .map(|f| file(st, &doc.id, f))
        .collect();
    let mut out = json!({
        "Идентификатор": e.id,
        "Название": e.name,
        "ДатаВремя": format_date_time(e.time),
        "Комментарий": e.comment,
        "Вложение": files,
    });
    if let Some(action) = &e.action {
        out["Действие"] = json!({ "Название": action });
    }
    out
}

/// The full `Документ` object.
pub(crate) fn document(st: &State, doc: &StoredDoc, events: EventsView<'_>) -> Value {
    let mut out = Map::new();
    out.insert("Идентификатор".into(), Value::String(doc.id.clone()));
    for (k, v) in &doc.fields {
        out.insert(k.clone(), v.clone());
    }
    out.entry("Тип")
        .or_insert_with(|| Value::String("ДокОтгрИсх".to_owned()));
    out.entry("Дата")
        .or_insert_with(|| Value::String(format_date(doc.created)));
    out.entry("Название")
        .or_insert_with(|| Value::String(format!("Документ {}", doc.id)));
    let our = &st.config.our_organization;
    out.entry("НашаОрганизация")
        .or_insert_with(|| organization(&our.inn, &our.kpp, &our.name));
    out.insert(
        "Направление".into(),
        Value::String(doc.direction.as_str().to_owned()),
    );
    out.insert("Удален".into(), flag(doc.deleted));
    out.insert(
        "Состояние".into(),
        json!({
            "Код": doc.state.code(),
            "Название": doc.state.name(),
            "Описание": doc.state.description(doc.direction),
            "Примечание": doc.state_note,
        }),
    );
    out.insert(
        "Редакция".into(),
        json!([{
            "Идентификатор": uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("{}/edition/{}", doc.id, doc.edition).as_bytes(),
            ).to_string(),
            "Актуален": "Да",
            "ДатаВремя": format_date_time(doc.edition_time),
        }]),
    );
    out.insert(
        "Вложение".into(),
        Value::Array(
            doc.attachments
                .iter()
                .map(|f| file(st, &doc.id, f))
                .collect(),
        ),
    );
    let stages: Vec<Value> = available_stages(st, doc)
        .iter()
        .map(|def| stage(st, doc, def, &[]))
        .collect();
    out.insert("Этап".into(), Value::Array(stages));
    let indices: &[usize] = match events {
        EventsView::All => &doc.events,
        EventsView::Only(list) => list,
    };
    let rendered: Vec<Value> = indices
        .iter()
        .filter_map(|i| st.events.get(*i))
        .map(|e| event(st, doc, e))
        .collect();
    out.insert("Событие".into(), Value::Array(rendered));
    let id = encode_segment(&doc.id);
    out.insert(
        "СсылкаНаPDF".into(),
        Value::String(format!("{}/sandbox/pdf/{id}", st.base_uri)),
    );
    out.insert(
        "СсылкаНаАрхив".into(),
        Value::String(format!("{}/sandbox/archive/{id}.zip", st.base_uri)),
    );
    out.insert(
        "СсылкаДляКонтрагент".into(),
        Value::String(format!("{}/sandbox/share/{id}", st.base_uri)),
    );
    Value::Object(out)
}
