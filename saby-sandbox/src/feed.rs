//! The event feed, `СБИС.СписокИзменений`.
//!
//! The log is ordered by (time, event id). A request resumes strictly after
//! `ИдентификаторСобытия` when the sandbox knows it, else from `ДатаВремяС` inclusive (so a
//! client resuming by time alone sees the events of that second again and must skip the ones
//! it has). Several events share a second as soon as a flow moves quickly, so paging by time
//! alone is not enough — as with the real service.
//!
//! `ИдентификаторДокумента` has two meanings, as production clients observed: sent together
//! with the `ИдентификаторСобытия` of an event *of that document*, it is part of the paging
//! cursor (last event id + its document id + its time) and every document's later events are
//! listed; otherwise it filters the feed to that one document.

use serde_json::{Map, Value, json};

use crate::config::PaceUnit;
use crate::render::{self, EventsView};
use crate::rpc::{RpcError, flag, number, optional_object, text};
use crate::state::{State, parse_date_time};

/// Largest page the feed serves.
const MAX_PAGE: u64 = 500;

/// `СБИС.СписокИзменений`.
pub(crate) fn list_changes(st: &mut State, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let filter = optional_object(params, "Фильтр", "Фильтр")?;
    let empty = Map::new();
    let f = filter.unwrap_or(&empty);
    let from = match text(f, "ДатаВремяС") {
        Some(s) => Some(parse_date_time(&s).ok_or_else(|| {
            RpcError::invalid_params("Фильтр.ДатаВремяС", "ожидается ДД.ММ.ГГГГ ЧЧ.ММ.СС")
        })?),
        None => None,
    };
    let to = match text(f, "ДатаВремяПо") {
        Some(s) => Some(parse_date_time(&s).ok_or_else(|| {
            RpcError::invalid_params("Фильтр.ДатаВремяПо", "ожидается ДД.ММ.ГГГГ ЧЧ.ММ.СС")
        })?),
        None => None,
    };
    let after_event = text(f, "ИдентификаторСобытия");
    let only_doc = text(f, "ИдентификаторДокумента");
    let only_type = text(f, "Тип");
    let nav = optional_object(f, "Навигация", "Фильтр.Навигация")?;
    let size = match nav {
        Some(n) => number(n, "РазмерСтраницы", "Фильтр.Навигация.РазмерСтраницы")?,
        None => None,
    }
    .unwrap_or(st.config.feed_page_size as u64)
    .clamp(1, MAX_PAGE) as usize;

    st.counters.feed_polls += 1;
    if st.config.pace == PaceUnit::FeedPolls {
        st.step_flows();
    }

    let cursor_event = after_event
        .as_deref()
        .and_then(|id| st.event_index.get(id))
        .copied();
    // The document id is a cursor part when it names the cursor event's document.
    let only_doc = match (&only_doc, cursor_event.and_then(|i| st.events.get(i))) {
        (Some(doc), Some(event)) if event.doc_id == *doc => None,
        _ => only_doc,
    };
    let start = match cursor_event {
        Some(index) => index + 1,
        None => match from {
            Some(from) => st.events.partition_point(|e| e.time < from),
            None => 0,
        },
    };

    let mut picked: Vec<usize> = Vec::with_capacity(size + 1);
    let candidates: Box<dyn Iterator<Item = usize>> = match only_doc.as_deref() {
        Some(doc_id) => match st.docs.get(doc_id) {
            Some(doc) => Box::new(doc.events.clone().into_iter().filter(move |i| *i >= start)),
            None => Box::new(std::iter::empty()),
        },
        None => Box::new(start..st.events.len()),
    };
    for index in candidates {
        let Some(event) = st.events.get(index) else {
            continue;
        };
        if to.is_some_and(|to| event.time > to) {
            break;
        }
        let Some(doc) = st.docs.get(&event.doc_id) else {
            continue;
        };
        if only_type.as_deref().is_some_and(|t| {
            doc.fields
                .get("Тип")
                .and_then(Value::as_str)
                .unwrap_or_default()
                != t
        }) {
            continue;
        }
        picked.push(index);
        if picked.len() > size {
            break;
        }
    }
    let more = picked.len() > size;
    picked.truncate(size);

    // Consecutive events of one document share one `Документ` entry, so the page keeps the
    // log's order when flattened.
    let mut entries: Vec<Value> = Vec::new();
    let mut run: Vec<usize> = Vec::new();
    let flush = |run: &mut Vec<usize>, entries: &mut Vec<Value>| {
        if let Some(first) = run.first().and_then(|i| st.events.get(*i))
            && let Some(doc) = st.docs.get(&first.doc_id)
        {
            entries.push(render::document(st, doc, EventsView::Only(run)));
        }
        run.clear();
    };
    for index in picked {
        let same = run
            .last()
            .and_then(|i| st.events.get(*i))
            .zip(st.events.get(index))
            .is_some_and(|(a, b)| a.doc_id == b.doc_id);
        if !same {
            flush(&mut run, &mut entries);
        }
        run.push(index);
    }
    flush(&mut run, &mut entries);
    Ok(json!({
        "Документ": entries,
        "Навигация": { "ЕстьЕще": flag(more), "РазмерСтраницы": size.to_string() },
    }))
}
