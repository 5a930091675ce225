//! Stages and actions: `СБИС.ПодготовитьДействие`, `СБИС.ВыполнитьДействие`,
//! `СБИС.ПовторитьЭтап` and the service-stage methods.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::render::{self, EventsView};
use crate::rpc::{
    RpcError, document_not_found, document_ref, flag, one_or_many, optional_object, page,
    required_text, text,
};
use crate::state::{
    Direction, DocState, Prepared, ServiceStage, State, StoredDoc, StoredFile, StoredSignature,
    fake_signature, service_xml,
};

/// The sending stage of an outgoing draft.
pub(crate) const SEND_STAGE: &str = "Отправка";
/// Its action.
pub(crate) const SEND_ACTION: &str = "Отправить";
/// The approval stage of an incoming document.
pub(crate) const APPROVAL_STAGE: &str = "Утверждение";
/// Approve.
pub(crate) const APPROVE_ACTION: &str = "Утвердить";
/// Reject (needs a comment).
pub(crate) const REJECT_ACTION: &str = "Отклонить";
/// The service stage.
pub(crate) const SERVICE_STAGE: &str = "Обработка служебных документов";
/// Its action.
pub(crate) const SERVICE_ACTION: &str = "Обработать служебное";

/// One action of a stage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActionDef {
    pub(crate) name: &'static str,
    pub(crate) requires_signature: bool,
    pub(crate) requires_comment: bool,
}

/// One stage available on a document.
#[derive(Debug, Clone)]
pub(crate) struct StageDef {
    pub(crate) name: &'static str,
    pub(crate) service: bool,
    pub(crate) generation: u32,
    pub(crate) actions: Vec<ActionDef>,
}

/// The stage's `Идентификатор` (stable for a given document, stage and generation).
pub(crate) fn stage_id(doc: &StoredDoc, def: &StageDef) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("{}/stage/{}/{}", doc.id, def.name, def.generation).as_bytes(),
    )
    .to_string()
}

/// The stages available on a document right now.
pub(crate) fn available_stages(st: &State, doc: &StoredDoc) -> Vec<StageDef> {
    let mut stages = Vec::new();
    if doc.deleted {
        return stages;
    }
    match (doc.direction, doc.state) {
        (Direction::Outgoing, DocState::Editing) => stages.push(StageDef {
            name: SEND_STAGE,
            service: false,
            generation: doc.edition,
            actions: vec![ActionDef {
                name: SEND_ACTION,
                requires_signature: true,
                requires_comment: false,
            }],
        }),
        (Direction::Incoming, DocState::Delivered | DocState::AwaitingSignature) => {
            stages.push(StageDef {
                name: APPROVAL_STAGE,
                service: false,
                generation: doc.edition,
                actions: vec![
                    ActionDef {
                        name: APPROVE_ACTION,
                        requires_signature: true,
                        requires_comment: false,
                    },
                    ActionDef {
                        name: REJECT_ACTION,
                        requires_signature: true,
                        requires_comment: true,
                    },
                ],
            });
        }
        _ => {}
    }
    if let Some(service) = &doc.service_stage
        && service.deferred_until.is_none_or(|until| until <= st.now())
    {
        stages.push(StageDef {
            name: SERVICE_STAGE,
            service: true,
            generation: service.generation,
            actions: vec![ActionDef {
                name: SERVICE_ACTION,
                requires_signature: true,
                requires_comment: false,
            }],
        });
    }
    stages
}

fn generated_id(doc: &StoredDoc, what: &str, generation: u32) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("{}/{what}/{generation}", doc.id).as_bytes(),
    )
    .to_string()
}

/// The files an action signs: the primary attachments, or a generated service file.
fn files_to_sign(doc: &StoredDoc, def: &StageDef, action: &ActionDef) -> Vec<StoredFile> {
    match action.name {
        REJECT_ACTION => {
            let mut f = StoredFile::new(
                generated_id(doc, "rejection-notice", def.generation),
                "Уведомление об уточнении".to_owned(),
                "УвУточ.xml".to_owned(),
                service_xml(
                    "УведомлениеОбУточнении",
                    &doc.id,
                    "Получатель отклонил документ",
                ),
            );
            f.service = true;
            vec![f]
        }
        SERVICE_ACTION => {
            let mut f = StoredFile::new(
                generated_id(doc, "service-receipt", def.generation),
                "Извещение о получении служебного документа".to_owned(),
                "ИзвПолучСлуж.xml".to_owned(),
                service_xml("ИзвещениеОПолучении", &doc.id, "Служебный документ получен"),
            );
            f.service = true;
            vec![f]
        }
        _ => doc
            .primary()
            .map(|f| {
                let mut copy = f.clone();
                copy.signatures.clear();
                copy
            })
            .collect(),
    }
}

/// The stage and action a Prepare/Execute request names.
struct Requested<'a> {
    stage: &'a Map<String, Value>,
    stage_name: Option<String>,
    stage_id: Option<String>,
    action: Option<&'a Map<String, Value>>,
    action_name: String,
}

fn requested(doc: &Map<String, Value>) -> Result<Requested<'_>, RpcError> {
    let stage = one_or_many(doc.get("Этап"))
        .into_iter()
        .next()
        .and_then(Value::as_object)
        .ok_or_else(|| {
            RpcError::invalid_params("Документ.Этап", "обязательный параметр отсутствует")
        })?;
    let stage_name = text(stage, "Название");
    let stage_id = text(stage, "Идентификатор");
    if stage_name.is_none() && stage_id.is_none() {
        return Err(RpcError::invalid_params(
            "Документ.Этап.Название",
            "укажите название или идентификатор этапа",
        ));
    }
    let action = one_or_many(stage.get("Действие"))
        .into_iter()
        .next()
        .and_then(Value::as_object);
    let action_name = action.and_then(|a| text(a, "Название")).ok_or_else(|| {
        RpcError::invalid_params(
            "Документ.Этап.Действие.Название",
            "обязательный параметр отсутствует",
        )
    })?;
    Ok(Requested {
        stage,
        stage_name,
        stage_id,
        action,
        action_name,
    })
}

/// Finds the requested stage and action among the available ones, or explains why not.
fn resolve(
    st: &State,
    doc: &StoredDoc,
    req: &Requested<'_>,
) -> Result<(StageDef, ActionDef), RpcError> {
    let stages = available_stages(st, doc);
    let stage = stages.into_iter().find(|def| {
        req.stage_name.as_deref() == Some(def.name)
            || req.stage_id.as_deref() == Some(stage_id(doc, def).as_str())
    });
    let shown_stage = req
        .stage_name
        .clone()
        .or_else(|| req.stage_id.clone())
        .unwrap_or_default();
    let unavailable = || {
        let why = if doc.deleted {
            "документ удален".to_owned()
        } else {
            format!("документ в состоянии «{}»", doc.state.name())
        };
        RpcError::business(format!(
            "Действие «{}» этапа «{shown_stage}» недоступно: {why}",
            req.action_name
        ))
        .details(format!("Документ {}", doc.id))
    };
    let stage = stage.ok_or_else(unavailable)?;
    let action = stage
        .actions
        .iter()
        .find(|a| a.name == req.action_name)
        .copied()
        .ok_or_else(unavailable)?;
    Ok((stage, action))
}

/// The stored document `id`, or the not-found error.
pub(crate) fn find_doc<'a>(st: &'a State, id: &str) -> Result<&'a StoredDoc, RpcError> {
    st.docs.get(id).ok_or_else(|| document_not_found(id))
}

/// The stored document `id`, to change, or the not-found error.
pub(crate) fn find_doc_mut<'a>(st: &'a mut State, id: &str) -> Result<&'a mut StoredDoc, RpcError> {
    st.docs.get_mut(id).ok_or_else(|| document_not_found(id))
}

/// Checks what sending needs: a recipient and at least one attachment.
fn check_sendable(doc: &StoredDoc) -> Result<(), RpcError> {
    if !doc.fields.contains_key("Контрагент") {
        return Err(RpcError::business(
            "Не указан получатель документа (Контрагент)",
        ));
    }
    if doc.primary().next().is_none() {
        return Err(RpcError::business(
            "В документе нет вложений: отправлять нечего",
        ));
    }
    Ok(())
}

/// What a Prepare or Execute call names, found and resolved.
struct Named<'p, 's> {
    /// The document's id.
    id: String,
    /// The stage and action of the request.
    req: Requested<'p>,
    /// The stored document.
    doc: &'s StoredDoc,
    /// The stage and the action the request names, as the document offers them.
    def: StageDef,
    action: ActionDef,
}

/// The document, stage and action a Prepare or Execute call names; a send is checked to
/// have something to send.
fn named<'p, 's>(st: &'s State, params: &'p Map<String, Value>) -> Result<Named<'p, 's>, RpcError> {
    let (doc_param, id) = document_ref(params)?;
    let req = requested(doc_param)?;
    let doc = find_doc(st, &id)?;
    let (def, action) = resolve(st, doc, &req)?;
    if action.name == SEND_ACTION {
        check_sendable(doc)?;
    }
    Ok(Named {
        id,
        req,
        doc,
        def,
        action,
    })
}

/// `СБИС.ПодготовитьДействие`.
pub(crate) fn prepare(st: &mut State, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let Named {
        id,
        req: _,
        doc,
        def,
        action,
    } = named(st, params)?;
    let files = files_to_sign(doc, &def, &action);
    let mut answer = render::document(st, doc, EventsView::All);
    let mut stage_json = render::stage(st, doc, &def, &files);
    if let Some(actions) = stage_json.get_mut("Действие").and_then(Value::as_array_mut) {
        actions.retain(|a| a.get("Название").and_then(Value::as_str) == Some(action.name));
    }
    answer["Этап"] = json!([stage_json]);
    if let Some(doc) = st.docs.get_mut(&id) {
        doc.prepared = Some(Prepared {
            stage: def.name.to_owned(),
            action: action.name.to_owned(),
            files,
        });
    }
    Ok(answer)
}

/// The signatures an Execute request carries, by attachment id.
fn signatures(
    stage: &Map<String, Value>,
) -> Result<HashMap<String, Vec<StoredSignature>>, RpcError> {
    let mut out: HashMap<String, Vec<StoredSignature>> = HashMap::new();
    for (i, item) in one_or_many(stage.get("Вложение")).into_iter().enumerate() {
        let path = format!("Документ.Этап.Вложение[{i}]");
        let item = item
            .as_object()
            .ok_or_else(|| RpcError::invalid_params(&path, "ожидается объект"))?;
        let id = required_text(item, "Идентификатор", &format!("{path}.Идентификатор"))?;
        let entry = out.entry(id).or_default();
        for (j, sig) in one_or_many(item.get("Подпись")).into_iter().enumerate() {
            let sig_path = format!("{path}.Подпись[{j}].Файл.ДвоичныеДанные");
            let file = sig.get("Файл").and_then(Value::as_object).ok_or_else(|| {
                RpcError::invalid_params(
                    &format!("{path}.Подпись[{j}].Файл"),
                    "обязательный параметр отсутствует",
                )
            })?;
            let data = text(file, "ДвоичныеДанные")
                .ok_or_else(|| RpcError::invalid_params(&sig_path, "подпись пуста"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.as_bytes())
                .map_err(|e| RpcError::invalid_params(&sig_path, format!("не base64: {e}")))?;
            if bytes.is_empty() {
                return Err(RpcError::invalid_params(&sig_path, "подпись пуста"));
            }
            let file_name = text(file, "Имя").unwrap_or_else(|| "signature.p7s".to_owned());
            entry.push(StoredSignature {
                file_name,
                bytes,
                signer: "Наша организация (клиентский ключ)".to_owned(),
            });
        }
    }
    Ok(out)
}

/// Checks `Действие.Сертификат` when the request names one: an object or an array of objects
/// (Tensor's tests and public clients send `[{"Отпечаток": ...}]`), each naming the
/// sandbox's certificate by `Отпечаток` (or carrying no thumbprint at all).
fn check_certificates(action: Option<&Map<String, Value>>) -> Result<(), RpcError> {
    let Some(action) = action else {
        return Ok(());
    };
    for (i, cert) in one_or_many(action.get("Сертификат"))
        .into_iter()
        .enumerate()
    {
        let path = format!("Документ.Этап.Действие.Сертификат[{i}]");
        let cert = cert
            .as_object()
            .ok_or_else(|| RpcError::invalid_params(&path, "ожидается объект"))?;
        if let Some(thumbprint) = text(cert, "Отпечаток")
            && !thumbprint.eq_ignore_ascii_case(render::CERTIFICATE_THUMBPRINT)
        {
            return Err(RpcError::business(format!(
                "Сертификат с отпечатком «{thumbprint}» не найден"
            )));
        }
    }
    Ok(())
}

/// `СБИС.ВыполнитьДействие`.
pub(crate) fn execute(st: &mut State, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let Named {
        id,
        req,
        doc,
        def,
        action,
    } = named(st, params)?;
    let comment = req
        .action
        .and_then(|a| text(a, "Комментарий"))
        .or_else(|| text(req.stage, "Комментарий"))
        .unwrap_or_default();
    if action.requires_comment && comment.is_empty() {
        return Err(RpcError::business(format!(
            "Для действия «{}» необходимо указать комментарий",
            action.name
        ))
        .details("Документ.Этап.Действие.Комментарий"));
    }
    check_certificates(req.action)?;
    let files = match &doc.prepared {
        Some(p) if p.stage == def.name && p.action == action.name => p.files.clone(),
        _ => files_to_sign(doc, &def, &action),
    };
    let mut given = signatures(req.stage)?;
    if let Some(unknown) = given.keys().find(|k| !files.iter().any(|f| &f.id == *k)) {
        return Err(RpcError::invalid_params(
            "Документ.Этап.Вложение.Идентификатор",
            format!("вложение «{unknown}» не подписывается на этом этапе"),
        ));
    }
    let client_side = st.config.client_side_signing;
    let mut signed: Vec<(StoredFile, Vec<StoredSignature>)> = Vec::new();
    for file in files {
        let sigs = given.remove(&file.id).unwrap_or_default();
        if action.requires_signature && client_side && sigs.is_empty() {
            return Err(RpcError::business(format!(
                "Не передана подпись вложения «{}» ({}): сертификат с клиентским ключом, \
                 подпишите файлы, полученные в СБИС.ПодготовитьДействие",
                file.file_name, file.id
            )));
        }
        let sigs = if sigs.is_empty() {
            vec![fake_signature(&file, "Наша организация (серверный ключ)")]
        } else {
            sigs
        };
        signed.push((file, sigs));
    }

    // Everything is checked: apply.
    let reject_share = st.config.reject_share;
    let marker = st.config.reject_marker.clone();
    let draw = if reject_share > 0.0 {
        st.flow_rng.f64() < reject_share
    } else {
        false
    };
    let Some(doc) = st.docs.get_mut(&id) else {
        return Err(document_not_found(&id));
    };
    let mut touched = Vec::new();
    for (file, sigs) in signed {
        touched.push(file.id.clone());
        if let Some(existing) = doc.attachments.iter_mut().find(|f| f.id == file.id) {
            existing.signatures.extend(sigs);
        } else {
            let mut file = file;
            file.signatures = sigs;
            doc.attachments.push(file);
        }
    }
    doc.prepared = None;
    let (event, start) = match action.name {
        SEND_ACTION => {
            doc.state = DocState::Sent;
            doc.state_note = String::new();
            let title = doc.text_field("Название");
            let note = doc.text_field("Примечание");
            let reject =
                !marker.is_empty() && (title.contains(&marker) || note.contains(&marker)) || draw;
            ("Отправка", Some(reject))
        }
        APPROVE_ACTION => {
            doc.state = DocState::Completed;
            doc.state_note = String::new();
            ("Утверждение", None)
        }
        REJECT_ACTION => {
            doc.state = DocState::Rejected;
            doc.state_note = format!("Отклонен: {comment}");
            ("Отклонение", None)
        }
        _ => {
            doc.service_stage = None;
            ("Обработка служебных документов", None)
        }
    };
    let index = st.record_event(&id, event, &comment, Some(action.name), touched);
    if let Some(reject) = start {
        st.start_progress(&id, reject);
    }
    let doc = find_doc(st, &id)?;
    Ok(render::document(st, doc, EventsView::Only(&[index])))
}

/// `СБИС.ПовторитьЭтап`: reopens the approval of an incoming document already approved or
/// rejected.
pub(crate) fn repeat_stage(st: &mut State, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let (doc_param, id) = document_ref(params)?;
    let stage_name = one_or_many(doc_param.get("Этап"))
        .into_iter()
        .next()
        .and_then(Value::as_object)
        .and_then(|s| text(s, "Название"))
        .unwrap_or_else(|| APPROVAL_STAGE.to_owned());
    let doc = find_doc(st, &id)?;
    let repeatable = doc.direction == Direction::Incoming
        && !doc.deleted
        && matches!(doc.state, DocState::Completed | DocState::Rejected)
        && stage_name == APPROVAL_STAGE;
    if !repeatable {
        return Err(RpcError::business(format!(
            "Этап «{stage_name}» нельзя повторить: документ в состоянии «{}»",
            doc.state.name()
        )));
    }
    let now = st.now();
    if let Some(doc) = st.docs.get_mut(&id) {
        doc.state = DocState::Delivered;
        doc.state_note = String::new();
        doc.edition += 1;
        doc.edition_time = now;
    }
    st.record_event(&id, "Повтор этапа", "", None, Vec::new());
    let doc = find_doc(st, &id)?;
    Ok(render::document(st, doc, EventsView::All))
}

/// `СБИС.СписокСлужебныхЭтапов`.
pub(crate) fn list_service_stages(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let filter = optional_object(params, "Фильтр", "Фильтр")?;
    let only_doc = filter.and_then(|f| text(f, "ИдентификаторДокумента"));
    let nav = match filter {
        Some(f) => optional_object(f, "Навигация", "Фильтр.Навигация")?,
        None => None,
    };
    let (size, page) = page(nav)?;
    let mut docs: Vec<&StoredDoc> = st
        .docs
        .values()
        .filter(|d| only_doc.as_deref().is_none_or(|id| d.id == id))
        .filter(|d| available_stages(st, d).iter().any(|s| s.service))
        .collect();
    docs.sort_by_key(|d| d.seq);
    let skip = (page as usize).saturating_mul(size);
    let more = docs.len() > skip.saturating_add(size);
    let items: Vec<Value> = docs
        .into_iter()
        .skip(skip)
        .take(size)
        .map(|d| {
            let mut v = render::document(st, d, EventsView::Only(&[]));
            let service: Vec<Value> = available_stages(st, d)
                .iter()
                .filter(|s| s.service)
                .map(|s| render::stage(st, d, s, &[]))
                .collect();
            v["Этап"] = Value::Array(service);
            v
        })
        .collect();
    Ok(json!({
        "Документ": items,
        "Навигация": { "ЕстьЕще": flag(more), "РазмерСтраницы": size.to_string(), "Страница": page.to_string() },
    }))
}

/// The document of a service-stage call: `{"Документ": ...}`, or wrapped as
/// `{"Параметры": {"Документ": ...}}` as newer `saby-integration/vo3_core` sends
/// `СБИС.ОтложитьСлужебныйЭтап` (`base/LocalHelper.bsl`; its older `src/LocalHelper.1c` sends
/// the unwrapped form). Both are accepted for both service-stage methods.
fn service_stage_params(params: &Map<String, Value>) -> Result<&Map<String, Value>, RpcError> {
    match params.get("Параметры") {
        Some(Value::Object(inner)) if !params.contains_key("Документ") => Ok(inner),
        Some(Value::Object(_)) | None => Ok(params),
        Some(_) => Err(RpcError::invalid_params("Параметры", "ожидается объект")),
    }
}

fn with_service_stage<'a>(
    st: &'a mut State,
    params: &Map<String, Value>,
) -> Result<(String, &'a mut StoredDoc), RpcError> {
    let (_, id) = document_ref(service_stage_params(params)?)?;
    let doc = find_doc_mut(st, &id)?;
    if doc.service_stage.is_none() {
        return Err(RpcError::business(format!(
            "У документа «{id}» нет служебного этапа"
        )));
    }
    Ok((id, doc))
}

/// `СБИС.ОтложитьСлужебныйЭтап`: hides the stage for the configured time.
pub(crate) fn defer_service_stage(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let until = st.now() + st.config.service_stage_defer;
    let (id, doc) = with_service_stage(st, params)?;
    if let Some(stage) = doc.service_stage.as_mut() {
        stage.deferred_until = Some(until);
    }
    let doc = find_doc(st, &id)?;
    Ok(render::document(st, doc, EventsView::All))
}

/// `СБИС.УдалитьСлужебныйЭтап`: drops the stage unprocessed.
pub(crate) fn delete_service_stage(
    st: &mut State,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let (id, doc) = with_service_stage(st, params)?;
    doc.service_stage = None;
    let doc = find_doc(st, &id)?;
    Ok(render::document(st, doc, EventsView::All))
}

/// Adds a pending service stage to a document (inspection API).
pub(crate) fn add_service_stage(st: &mut State, id: &str) -> bool {
    let Some(doc) = st.docs.get_mut(id) else {
        return false;
    };
    doc.service_generation += 1;
    doc.service_stage = Some(ServiceStage {
        generation: doc.service_generation,
        deferred_until: None,
    });
    true
}
