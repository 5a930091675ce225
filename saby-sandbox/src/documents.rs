//! Document methods: write, read, list, attachments, delete / restore / destroy, and seeding
//! incoming documents.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::actions::{find_doc, find_doc_mut};
use crate::config::ResultWrapping;
use crate::incoming::Incoming;
use crate::render::{self, EventsView, organization};
use crate::rpc::{
    RpcError, document_ref, flag, object, one_or_many, optional_object, page, read_flag,
    required_text, text,
};
use crate::state::{
    Direction, DocState, ServiceStage, State, StoredDoc, StoredFile, counterparty_signature,
    parse_date_time,
};

/// Keys of `Документ` the sandbox owns; a client's values for them are ignored.
const OWNED: &[&str] = &[
    "Идентификатор",
    "Вложение",
    "Этап",
    "Событие",
    "Состояние",
    "Редакция",
    "Направление",
    "Удален",
    "СсылкаНаPDF",
    "СсылкаНаАрхив",
    "СсылкаДляКонтрагент",
];

/// Keys of `Вложение` the sandbox owns.
const OWNED_FILE: &[&str] = &[
    "Идентификатор",
    "Название",
    "Файл",
    "Подпись",
    "Служебный",
    "Удален",
    "СсылкаНаPDF",
    "СсылкаНаHTML",
];

/// Parses the `Вложение` list of a written document. Attachments without an id get a stable
/// one derived from the document id, the file name and the position, so a retried write never
/// duplicates them.
fn parse_attachments(doc_id: &str, doc: &Map<String, Value>) -> Result<Vec<StoredFile>, RpcError> {
    let mut files = Vec::new();
    for (i, item) in one_or_many(doc.get("Вложение")).into_iter().enumerate() {
        let path = format!("Документ.Вложение[{i}]");
        let item = item
            .as_object()
            .ok_or_else(|| RpcError::invalid_params(&path, "ожидается объект"))?;
        let file = object(item, "Файл", &format!("{path}.Файл"))?;
        let name = required_text(file, "Имя", &format!("{path}.Файл.Имя"))?;
        let data_path = format!("{path}.Файл.ДвоичныеДанные");
        let data = match file.get("ДвоичныеДанные") {
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(RpcError::invalid_params(
                    &data_path,
                    "ожидается строка base64",
                ));
            }
            None => {
                return Err(RpcError::invalid_params(
                    &data_path,
                    "обязательный параметр отсутствует (содержимое файла в base64)",
                ));
            }
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim().as_bytes())
            .map_err(|e| RpcError::invalid_params(&data_path, format!("не base64: {e}")))?;
        let id = text(item, "Идентификатор").unwrap_or_else(|| {
            uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("{doc_id}/attachment/{i}/{name}").as_bytes(),
            )
            .to_string()
        });
        let title = text(item, "Название").unwrap_or_else(|| name.clone());
        let mut stored = StoredFile::new(id, title, name, bytes);
        for (k, v) in item {
            if !OWNED_FILE.contains(&k.as_str()) {
                stored.extra.insert(k.clone(), v.clone());
            }
        }
        files.push(stored);
    }
    Ok(files)
}

fn client_fields(doc: &Map<String, Value>) -> Map<String, Value> {
    doc.iter()
        .filter(|(k, _)| !OWNED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Upserts attachments by id; `true` when anything changed.
fn upsert(target: &mut Vec<StoredFile>, files: Vec<StoredFile>) -> bool {
    let mut changed = false;
    for file in files {
        match target.iter_mut().find(|f| f.id == file.id) {
            Some(existing) => {
                if existing.hash != file.hash
                    || existing.file_name != file.file_name
                    || existing.title != file.title
                {
                    *existing = file;
                    changed = true;
                }
            }
            None => {
                target.push(file);
                changed = true;
            }
        }
    }
    changed
}

fn wrap(st: &mut State, doc: Value) -> Value {
    st.answers += 1;
    let wrapped = match st.config.result_wrapping {
        ResultWrapping::Never => false,
        ResultWrapping::Always => true,
        ResultWrapping::Alternate => st.answers.is_multiple_of(2),
    };
    if wrapped {
        json!({ "Документ": doc })
    } else {
        doc
    }
}

/// `СБИС.ЗаписатьДокумент`: creates a draft, or updates one with the same `Идентификатор`.
/// Writing a document already sent is accepted only when nothing would change (a retried
/// write); a real change is refused.
pub(crate) fn write_document(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let doc_param = object(params, "Документ", "Документ")?;
    let id = text(doc_param, "Идентификатор").unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    *st.counters.writes.entry(id.clone()).or_insert(0) += 1;
    let files = parse_attachments(&id, doc_param)?;
    let fields = client_fields(doc_param);
    let now = st.now();
    match st.docs.get_mut(&id) {
        Some(doc) => {
            if doc.deleted {
                return Err(RpcError::business(format!(
                    "Документ «{id}» удален: восстановите его, чтобы изменить"
                )));
            }
            let editable = doc.direction == Direction::Outgoing && doc.state == DocState::Editing;
            if editable {
                let mut changed = false;
                for (k, v) in fields {
                    if doc.fields.get(&k) != Some(&v) {
                        doc.fields.insert(k, v);
                        changed = true;
                    }
                }
                changed |= upsert(&mut doc.attachments, files);
                if changed {
                    doc.edition_time = now;
                    doc.prepared = None;
                }
            } else {
                let same_fields = fields.iter().all(|(k, v)| doc.fields.get(k) == Some(v));
                let same_files = files.iter().all(|f| {
                    doc.attachments
                        .iter()
                        .any(|e| e.id == f.id && e.hash == f.hash && e.file_name == f.file_name)
                });
                if !(same_fields && same_files) {
                    return Err(RpcError::business(format!(
                        "Документ «{id}» в состоянии «{}»: изменить его нельзя",
                        doc.state.name()
                    )));
                }
            }
        }
        None => {
            let seq = st.next_seq();
            let doc = StoredDoc {
                id: id.clone(),
                seq,
                fields,
                direction: Direction::Outgoing,
                state: DocState::Editing,
                state_note: String::new(),
                attachments: files,
                prepared: None,
                progress: None,
                service_stage: None,
                service_generation: 0,
                deleted: false,
                created: now,
                edition: 1,
                edition_time: now,
                events: Vec::new(),
            };
            st.docs.insert(id.clone(), doc);
        }
    }
    let rendered = render::document(st, find_doc(st, &id)?, EventsView::All);
    Ok(wrap(st, rendered))
}

/// `СБИС.ЗаписатьВложение`: adds or replaces attachments of a draft.
pub(crate) fn write_attachment(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let (doc_param, id) = document_ref(params)?;
    let files = parse_attachments(&id, doc_param)?;
    if files.is_empty() {
        return Err(RpcError::invalid_params(
            "Документ.Вложение",
            "обязательный параметр отсутствует",
        ));
    }
    let now = st.now();
    let doc = find_doc_mut(st, &id)?;
    if doc.deleted || doc.direction != Direction::Outgoing || doc.state != DocState::Editing {
        return Err(RpcError::business(format!(
            "Вложения документа «{id}» в состоянии «{}» изменить нельзя",
            doc.state.name()
        )));
    }
    if upsert(&mut doc.attachments, files) {
        doc.edition_time = now;
        doc.prepared = None;
    }
    let doc = &st.docs[&id];
    Ok(render::document(st, doc, EventsView::All))
}

/// `СБИС.ПрочитатьДокумент`.
pub(crate) fn read_document(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    // `{"Документ": {"Идентификатор"}}` as documented; a public client (`tv1ce/nerpa`,
    // `app/services/sbis_client.py`) sends the id flat, `{"Идентификатор"}`: accepted too.
    let id = match (params.get("Документ"), text(params, "Идентификатор")) {
        (None, Some(id)) => id,
        _ => document_ref(params)?.1,
    };
    let doc = find_doc(st, &id)?;
    Ok(render::document(st, doc, EventsView::All))
}

/// `СБИС.СписокДокументов`: newest first, paged by `Навигация{РазмерСтраницы, Страница}`.
pub(crate) fn list_documents(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let filter = optional_object(params, "Фильтр", "Фильтр")?;
    let empty = Map::new();
    let f = filter.unwrap_or(&empty);
    let direction = text(f, "Направление");
    let doc_type = text(f, "Тип");
    let state = text(f, "Состояние").or_else(|| {
        f.get("Состояние")
            .and_then(Value::as_object)
            .and_then(|s| text(s, "Код"))
    });
    let mask = text(f, "Маска").map(|m| m.to_lowercase());
    let date_from = match text(f, "ДатаС") {
        Some(d) => Some(
            parse_date_time(&d)
                .ok_or_else(|| RpcError::invalid_params("Фильтр.ДатаС", "ожидается ДД.ММ.ГГГГ"))?,
        ),
        None => None,
    };
    let date_to = match text(f, "ДатаПо") {
        Some(d) => Some(
            parse_date_time(&d)
                .ok_or_else(|| RpcError::invalid_params("Фильтр.ДатаПо", "ожидается ДД.ММ.ГГГГ"))?,
        ),
        None => None,
    };
    let deleted = read_flag(f.get("Удален"));
    let nav = optional_object(f, "Навигация", "Фильтр.Навигация")?;
    let (size, page) = page(nav)?;
    let mut docs: Vec<&StoredDoc> = st
        .docs
        .values()
        .filter(|d| d.deleted == deleted)
        .filter(|d| {
            direction
                .as_deref()
                .is_none_or(|v| d.direction.as_str() == v)
        })
        .filter(|d| {
            doc_type.as_deref().is_none_or(|v| {
                d.fields
                    .get("Тип")
                    .and_then(Value::as_str)
                    .unwrap_or(match d.direction {
                        Direction::Outgoing => "ДокОтгрИсх",
                        Direction::Incoming => "ДокОтгрВх",
                    })
                    == v
            })
        })
        .filter(|d| state.as_deref().is_none_or(|v| d.state.code() == v))
        .filter(|d| {
            mask.as_deref().is_none_or(|m| {
                d.text_field("Название").to_lowercase().contains(m)
                    || d.text_field("Номер").to_lowercase().contains(m)
                    || d.text_field("Примечание").to_lowercase().contains(m)
            })
        })
        .filter(|d| {
            let date = d
                .fields
                .get("Дата")
                .and_then(Value::as_str)
                .and_then(parse_date_time)
                .unwrap_or(d.created);
            date_from.is_none_or(|from| date >= from)
                && date_to.is_none_or(|to| date < to + time::Duration::days(1))
        })
        .collect();
    docs.sort_by_key(|d| std::cmp::Reverse(d.seq));
    let skip = (page as usize).saturating_mul(size);
    let more = docs.len() > skip.saturating_add(size);
    let items: Vec<Value> = docs
        .into_iter()
        .skip(skip)
        .take(size)
        .map(|d| render::document(st, d, EventsView::Only(&[])))
        .collect();
    Ok(json!({
        "Документ": items,
        "Навигация": { "ЕстьЕще": flag(more), "РазмерСтраницы": size.to_string(), "Страница": page.to_string() },
    }))
}

/// `СБИС.УдалитьДокумент`: to the bin; an unfinished flow is broken off (state 19).
pub(crate) fn delete_document(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let (_, id) = document_ref(params)?;
    let doc = find_doc_mut(st, &id)?;
    if doc.deleted {
        return Ok(json!({}));
    }
    doc.deleted = true;
    let unfinished = doc.state != DocState::Editing && !doc.state.is_final();
    let direction = doc.direction;
    if unfinished {
        doc.state = DocState::Withdrawn;
        st.stop_progress(&id);
        let event = match direction {
            Direction::Outgoing => "Уведомление об удалении на стороне отправителя",
            Direction::Incoming => "Уведомление об удалении на стороне получателя",
        };
        st.record_event(&id, event, "", None, Vec::new());
    }
    Ok(json!({}))
}

/// `СБИС.ВосстановитьДокумент`: back from the bin (a broken-off flow stays broken off).
pub(crate) fn restore_document(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let (_, id) = document_ref(params)?;
    let doc = find_doc_mut(st, &id)?;
    doc.deleted = false;
    Ok(json!({}))
}

/// `СБИС.УничтожитьДокумент`: removes a document from the bin for good.
pub(crate) fn destroy_document(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let (_, id) = document_ref(params)?;
    let doc = find_doc(st, &id)?;
    if !doc.deleted {
        return Err(RpcError::business(format!(
            "Документ «{id}» не в корзине: сначала удалите его (СБИС.УдалитьДокумент)"
        )));
    }
    st.stop_progress(&id);
    st.docs.remove(&id);
    Ok(json!({}))
}

/// A small but valid one-page PDF carrying `text` (ASCII only is drawn).
pub(crate) fn tiny_pdf(text: &str) -> Vec<u8> {
    let ascii: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && c != '(' && c != ')' && c != '\\' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let stream = format!("BT /F1 12 Tf 72 720 Td ({ascii}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Seeds an incoming document (no HTTP involved); returns its id.
pub(crate) fn add_incoming(st: &mut State, spec: Incoming) -> String {
    let id = spec.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let now = st.now();
    let sender = spec
        .sender
        .unwrap_or_else(|| st.config.counterparty.clone());
    let our = st.config.our_organization.clone();
    let mut fields = Map::new();
    fields.insert("Тип".into(), Value::String(spec.doc_type));
    fields.insert("Название".into(), Value::String(spec.title.clone()));
    if let Some(number) = spec.number {
        fields.insert("Номер".into(), Value::String(number));
    }
    if let Some(note) = spec.note {
        fields.insert("Примечание".into(), Value::String(note));
    }
    fields.insert(
        "Контрагент".into(),
        organization(&sender.inn, &sender.kpp, &sender.name),
    );
    fields.insert(
        "НашаОрганизация".into(),
        organization(&our.inn, &our.kpp, &our.name),
    );
    let mut attachments = spec.attachments;
    if attachments.is_empty() {
        attachments.push((format!("{}.pdf", spec.title), tiny_pdf(&spec.title)));
    }
    let files: Vec<StoredFile> = attachments
        .into_iter()
        .enumerate()
        .map(|(i, (name, bytes))| {
            let file_id = uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("{id}/attachment/{i}/{name}").as_bytes(),
            )
            .to_string();
            let mut f = StoredFile::new(file_id, name.clone(), name, bytes);
            f.signatures.push(counterparty_signature(&f));
            f
        })
        .collect();
    let file_ids: Vec<String> = files.iter().map(|f| f.id.clone()).collect();
    let seq = st.next_seq();
    let service_stage = spec.service_stage.then_some(ServiceStage {
        generation: 1,
        deferred_until: None,
    });
    st.docs.insert(
        id.clone(),
        StoredDoc {
            id: id.clone(),
            seq,
            fields,
            direction: Direction::Incoming,
            state: if spec.awaiting_signature {
                DocState::AwaitingSignature
            } else {
                DocState::Delivered
            },
            state_note: String::new(),
            attachments: files,
            prepared: None,
            progress: None,
            service_generation: u32::from(spec.service_stage),
            service_stage,
            deleted: false,
            created: now,
            edition: 1,
            edition_time: now,
            events: Vec::new(),
        },
    );
    st.record_event(&id, "Получение", "", None, file_ids);
    id
}
