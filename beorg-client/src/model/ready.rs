//! The answer of the ready endpoint.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::SetId;

/// Keys accepted for a contour's name inside a `by_project` list entry.
const PROJECT_KEYS: &[&str] = &[
    "project_id",
    "project",
    "campaign_id",
    "contour",
    "id",
    "name",
];
/// Keys accepted for a contour's ids inside a `by_project` entry.
const IDS_KEYS: &[&str] = &["ready", "ids", "sets", "document_ids", "documents", "items"];

/// One ready set and the contour it is ready on, from [`ReadySets::sets`].
///
/// The contour comes from `by_project`; it is `None` when the answer has no
/// `by_project` (a company with one contour) or does not attribute this set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub struct ReadySet {
    /// The set.
    pub id: SetId,
    /// The contour (`by_project` key) the set is ready on, if the answer says.
    pub contour: Option<String>,
}

impl ReadySet {
    /// A ready set on `contour` (`None`: not attributed).
    pub fn new(id: SetId, contour: Option<String>) -> Self {
        Self { id, contour }
    }
}

/// Sets that are ready, from the requested `start_id` on.
///
/// What the fields mean (Beorg's integration letter, the only description of
/// this call): the request's `project_id` is the **company's** number; `ready`
/// is the list of **all** the company's ready sets from `start_id` on and is
/// authoritative; `by_project` appears when the company has more than one
/// contour and breaks the same sets down by contour. Set numbers are global
/// to the company: sets of different contours interleave (`s-100` on one,
/// `s-101` on the other). Use [`sets`](Self::sets) to get every ready set once,
/// with its contour.
///
/// The shape of this answer is not public, so parsing is lenient. Accepted:
///
/// * the root: an object, or a bare list (taken as `ready`);
/// * ids: numbers (`16` → `s-16`), strings (`"s-16"`, kept verbatim), or objects
///   with an `id`, `document_id` or `set_id`;
/// * `ready`: a list of ids (or a single id); missing or `null` when `by_project`
///   is present (then `ready` is the union of the contours' ids);
/// * `by_project`: `null`, a map `{"<project>": [ids]}` (a value may also be an
///   object holding the ids under one of `ready`, `ids`, `sets`, `document_ids`,
///   `documents`, `items`), or a list of objects naming the contour under
///   `project_id`, `project`, `campaign_id`, `contour`, `id` or `name` and holding
///   the ids under one of the keys above;
/// * every other field is kept in `extra`.
///
/// Anything else fails with an error naming the field (`ready[2]`,
/// `by_project[1].project_id`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReadySets {
    /// Ready sets, in the server's order.
    pub ready: Vec<SetId>,
    /// Ready sets per contour (project).
    pub by_project: BTreeMap<String, Vec<SetId>>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ReadySets {
    /// Parses the answer leniently (see the type's docs). On failure, returns the
    /// JSON path of the unusable field and the reason.
    pub(crate) fn from_value(value: Value) -> Result<Self, (String, String)> {
        let mut obj = match value {
            Value::Object(o) => o,
            Value::Array(items) => {
                return Ok(Self {
                    ready: ids_from_list(&items).map_err(|f| under(f, format_args!("ready")))?,
                    ..Self::default()
                });
            }
            other => {
                return Err((
                    ".".into(),
                    format!("expected an object with `ready`, found {}", kind(&other)),
                ));
            }
        };
        let by_project = match obj.remove("by_project") {
            None | Some(Value::Null) => None,
            Some(v) => Some(by_project(v)?),
        };
        let ready = match obj.remove("ready") {
            None | Some(Value::Null) => match &by_project {
                Some(bp) => {
                    let all: BTreeSet<SetId> = bp.values().flatten().cloned().collect();
                    all.into_iter().collect()
                }
                None => return Err(("ready".into(), "missing field `ready`".into())),
            },
            Some(v) => ids_from(&v).map_err(|f| under(f, format_args!("ready")))?,
        };
        Ok(Self {
            ready,
            by_project: by_project.unwrap_or_default(),
            extra: obj,
        })
    }

    /// Every ready set once, with its contour: first the ids of `ready` in the
    /// server's order, then ids that only `by_project` lists (in [`SetId`]
    /// order; `ready` should hold them too, but a set is never dropped because
    /// it does not).
    ///
    /// * Every id of `ready` appears exactly once, whatever `by_project` says or
    ///   omits (an id repeated in `ready` is reported once).
    /// * A set's contour is the `by_project` key listing it, `None` when no key
    ///   does (or there is no `by_project`).
    /// * An id listed under two or more contours is reported once, on the first
    ///   of them in name order (byte-wise, as [`by_project`](Self::by_project)
    ///   is sorted), with a `tracing` warning naming the set id and the
    ///   contours.
    ///
    /// ```
    /// use beorg_client::{ReadySets, SetId};
    /// let sets: ReadySets = serde_json::from_value(serde_json::json!({
    ///     "ready": [100, 101, 102],
    ///     "by_project": {"Кадры-Москва": [100, 102], "Кадры-Казань": ["s-101", "s-103"]}
    /// }))?;
    /// let listed: Vec<(String, Option<String>)> = sets
    ///     .sets()
    ///     .into_iter()
    ///     .map(|s| (s.id.to_string(), s.contour))
    ///     .collect();
    /// assert_eq!(listed, [
    ///     ("s-100".to_owned(), Some("Кадры-Москва".to_owned())),
    ///     ("s-101".to_owned(), Some("Кадры-Казань".to_owned())),
    ///     ("s-102".to_owned(), Some("Кадры-Москва".to_owned())),
    ///     // Only in by_project: still reported.
    ///     ("s-103".to_owned(), Some("Кадры-Казань".to_owned())),
    /// ]);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn sets(&self) -> Vec<ReadySet> {
        let contour_of = self.contour_map();
        let mut out = Vec::with_capacity(self.ready.len());
        let mut reported: HashSet<&SetId> = HashSet::with_capacity(self.ready.len());
        for id in &self.ready {
            if reported.insert(id) {
                out.push(ReadySet::new(
                    id.clone(),
                    contour_of.get(id).map(|c| (*c).to_owned()),
                ));
            }
        }
        let only_by_project: BTreeSet<&SetId> = contour_of
            .keys()
            .copied()
            .filter(|id| !reported.contains(id))
            .collect();
        for id in only_by_project {
            out.push(ReadySet::new(
                id.clone(),
                contour_of.get(id).map(|c| (*c).to_owned()),
            ));
        }
        out
    }

    /// [`sets`](Self::sets), consuming the answer: the ids of `ready` are moved, not
    /// copied, so a long list (a first poll over a year's backlog) is held once.
    ///
    /// ```
    /// use beorg_client::{ReadySets, SetId};
    /// let sets: ReadySets = serde_json::from_value(serde_json::json!({"ready": [1, 2, 2]}))?;
    /// assert_eq!(sets.clone().into_sets(), sets.sets());
    /// assert_eq!(sets.into_sets().len(), 2);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn into_sets(self) -> Vec<ReadySet> {
        // Which ids of `ready` are reported (each once), their contours by position and
        // the ids only `by_project` lists — all borrowed — then the ids moved out.
        let (keep, contours, rest) = {
            let contour_of = self.contour_map();
            let mut reported: HashSet<&SetId> = HashSet::with_capacity(self.ready.len());
            let keep: Vec<bool> = self.ready.iter().map(|id| reported.insert(id)).collect();
            let contours: Vec<Option<String>> = self
                .ready
                .iter()
                .zip(&keep)
                .map(|(id, keep)| {
                    keep.then(|| contour_of.get(id).map(|c| (*c).to_owned()))
                        .flatten()
                })
                .collect();
            let only_by_project: BTreeSet<&SetId> = contour_of
                .keys()
                .copied()
                .filter(|id| !reported.contains(id))
                .collect();
            let rest: Vec<ReadySet> = only_by_project
                .into_iter()
                .map(|id| ReadySet::new(id.clone(), contour_of.get(id).map(|c| (*c).to_owned())))
                .collect();
            (keep, contours, rest)
        };
        let mut out: Vec<ReadySet> = self
            .ready
            .into_iter()
            .zip(keep)
            .zip(contours)
            .filter_map(|((id, keep), contour)| keep.then(|| ReadySet::new(id, contour)))
            .collect();
        out.extend(rest);
        out
    }

    /// What [`sets`](Self::sets) reports — each ready set once, in the same order, with its
    /// contour — borrowed from the answer: no id or contour name is copied (16 bytes a set
    /// instead of a [`ReadySet`] each), so a long answer (a year's backlog) can be turned into
    /// records a few at a time.
    ///
    /// ```
    /// use beorg_client::ReadySets;
    /// let sets: ReadySets = serde_json::from_value(serde_json::json!({
    ///     "ready": [100, 101, 100], "by_project": {"Кадры-Москва": [100]}
    /// }))?;
    /// let refs: Vec<(String, Option<&str>)> =
    ///     sets.set_refs().into_iter().map(|(id, c)| (id.to_string(), c)).collect();
    /// assert_eq!(refs, [("s-100".to_owned(), Some("Кадры-Москва")), ("s-101".to_owned(), None)]);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn set_refs(&self) -> Vec<(&SetId, Option<&str>)> {
        let contour_of = self.contour_map();
        let mut reported: HashSet<&SetId> = HashSet::with_capacity(self.ready.len());
        let mut out: Vec<(&SetId, Option<&str>)> = self
            .ready
            .iter()
            .filter(|id| reported.insert(id))
            .map(|id| (id, contour_of.get(id).copied()))
            .collect();
        let only_by_project: BTreeSet<&SetId> = contour_of
            .keys()
            .copied()
            .filter(|id| !reported.contains(id))
            .collect();
        out.extend(
            only_by_project
                .into_iter()
                .map(|id| (id, contour_of.get(id).copied())),
        );
        out
    }

    /// The contour of each id of `by_project`: the first key (in name order) listing it;
    /// an id under several contours is warned about.
    fn contour_map(&self) -> HashMap<&SetId, &str> {
        let mut contour_of: HashMap<&SetId, &str> = HashMap::new();
        let mut conflicts: BTreeMap<&SetId, Vec<&str>> = BTreeMap::new();
        for (contour, ids) in &self.by_project {
            for id in ids {
                match contour_of.get(id) {
                    None => {
                        contour_of.insert(id, contour);
                    }
                    Some(first) if *first != contour.as_str() => {
                        let listed = conflicts.entry(id).or_insert_with(|| vec![first]);
                        if !listed.contains(&contour.as_str()) {
                            listed.push(contour);
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        for (id, contours) in &conflicts {
            tracing::warn!(
                set_id = id.as_str(),
                contours = ?contours,
                chosen = contours[0],
                "Beorg listed a ready set under several contours; it is reported once, on the first"
            );
        }
        contour_of
    }

    /// Every ready id (from `ready` and `by_project`), deduplicated, in [`SetId`] order.
    pub fn all(&self) -> Vec<SetId> {
        let all: BTreeSet<&SetId> = self
            .ready
            .iter()
            .chain(self.by_project.values().flatten())
            .collect();
        all.into_iter().cloned().collect()
    }

    /// The highest set number among the ready ids.
    pub fn max_number(&self) -> Option<u64> {
        self.ready
            .iter()
            .chain(self.by_project.values().flatten())
            .filter_map(SetId::number)
            .max()
    }

    /// Whether no set is ready.
    pub fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.by_project.values().all(Vec::is_empty)
    }
}

impl<'de> Deserialize<'de> for ReadySets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        ReadySets::from_value(v)
            .map_err(|(path, reason)| D::Error::custom(format!("{path}: {reason}")))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

// The helpers below return errors with a path *relative* to the value they were
// given (`""`, `"[2]"`, `".id"`, ...); callers prefix it on the way out. So a path
// string is only built when parsing fails, never per id.

/// An unusable field: its path (relative while it bubbles up) and the reason.
type Fail = (String, String);

/// Prefixes the relative path of a failure with `prefix`.
fn under((rel, reason): Fail, prefix: fmt::Arguments<'_>) -> Fail {
    (format!("{prefix}{rel}"), reason)
}

fn id_from(v: &Value) -> Result<SetId, Fail> {
    match v {
        Value::Number(n) => n.as_u64().map(SetId::from_number).ok_or_else(|| {
            (
                String::new(),
                format!("set id {n} is not a non-negative integer"),
            )
        }),
        Value::String(s) if !s.trim().is_empty() => Ok(SetId::new(s.trim())),
        Value::Object(o) => {
            for key in ["id", "document_id", "set_id"] {
                if let Some(inner) = o.get(key) {
                    return id_from(inner).map_err(|f| under(f, format_args!(".{key}")));
                }
            }
            Err((
                String::new(),
                "object without `id`, `document_id` or `set_id`".into(),
            ))
        }
        other => Err((
            String::new(),
            format!("expected a set id, found {}", kind(other)),
        )),
    }
}

fn ids_from_list(items: &[Value]) -> Result<Vec<SetId>, Fail> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| id_from(v).map_err(|f| under(f, format_args!("[{i}]"))))
        .collect()
}

fn ids_from(v: &Value) -> Result<Vec<SetId>, Fail> {
    match v {
        Value::Array(items) => ids_from_list(items),
        Value::Null => Ok(Vec::new()),
        Value::Object(o) => {
            if let Some((key, inner)) = IDS_KEYS.iter().find_map(|k| o.get(*k).map(|v| (*k, v))) {
                ids_from(inner).map_err(|f| under(f, format_args!(".{key}")))
            } else {
                id_from(v).map(|id| vec![id])
            }
        }
        single => id_from(single).map(|id| vec![id]),
    }
}

fn project_name(v: &Value) -> Result<String, Fail> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err((
            String::new(),
            format!("expected a project id, found {}", kind(other)),
        )),
    }
}

fn by_project(v: Value) -> Result<BTreeMap<String, Vec<SetId>>, Fail> {
    let mut out: BTreeMap<String, Vec<SetId>> = BTreeMap::new();
    match v {
        Value::Object(map) => {
            for (project, ids) in map {
                let ids =
                    ids_from(&ids).map_err(|f| under(f, format_args!("by_project.{project}")))?;
                out.entry(project).or_default().extend(ids);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let path = || format!("by_project[{i}]");
                let Value::Object(o) = item else {
                    return Err((path(), format!("expected an object, found {}", kind(item))));
                };
                let (pkey, pval) = PROJECT_KEYS
                    .iter()
                    .find_map(|k| o.get(*k).map(|v| (*k, v)))
                    .ok_or_else(|| {
                        (
                            format!("{}.project_id", path()),
                            format!(
                                "missing the contour's name (one of {})",
                                PROJECT_KEYS.join(", ")
                            ),
                        )
                    })?;
                let project =
                    project_name(pval).map_err(|f| under(f, format_args!("{}.{pkey}", path())))?;
                let (ikey, ival) = IDS_KEYS
                    .iter()
                    .find_map(|k| o.get(*k).map(|v| (*k, v)))
                    .ok_or_else(|| {
                        (
                            format!("{}.ready", path()),
                            format!("missing the contour's ids (one of {})", IDS_KEYS.join(", ")),
                        )
                    })?;
                let ids =
                    ids_from(ival).map_err(|f| under(f, format_args!("{}.{ikey}", path())))?;
                out.entry(project).or_default().extend(ids);
            }
        }
        other => {
            return Err((
                "by_project".into(),
                format!("expected a map or a list, found {}", kind(&other)),
            ));
        }
    }
    Ok(out)
}

/// The common shapes of a ready answer, read straight into ids without building a
/// `serde_json::Value` (which, with `preserve_order`, costs 80 bytes per id — most of a
/// long answer's memory, and most of a short answer's decode time): an object whose
/// `ready` is a list of numbers or non-blank strings, and whose `by_project` (if present
/// and not `null`) maps contour names to such lists; other keys are kept in `extra`.
/// Anything else fails, and the caller falls back to the lenient
/// [`ReadySets::from_value`], which accepts every documented shape and names the path of
/// what it cannot use.
pub(crate) struct FastReady(pub(crate) ReadySets);

/// One id of the fast path: a number (`16` → `s-16`) or a non-blank string (trimmed).
struct FastId(SetId);

impl<'de> Deserialize<'de> for FastId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = FastId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a set number or id")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<FastId, E> {
                Ok(FastId(SetId::from_number(n)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<FastId, E> {
                let s = s.trim();
                if s.is_empty() {
                    return Err(E::custom("a blank id"));
                }
                Ok(FastId(SetId::new(s)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of [`FastId`]s, collected straight into ids.
struct FastIds(Vec<SetId>);

impl<'de> Deserialize<'de> for FastIds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FastIds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of set ids")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<FastIds, A::Error> {
                let mut ids = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(FastId(id)) = seq.next_element()? {
                    ids.push(id);
                }
                Ok(FastIds(ids))
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de> Deserialize<'de> for FastReady {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FastReady;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object with `ready`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FastReady, A::Error> {
                let mut ready: Option<Vec<SetId>> = None;
                let mut by_project: Option<BTreeMap<String, Vec<SetId>>> = None;
                let mut extra = Map::new();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "ready" if ready.is_none() => ready = Some(map.next_value::<FastIds>()?.0),
                        "by_project" if by_project.is_none() => {
                            let contours: Option<BTreeMap<String, FastIds>> = map.next_value()?;
                            by_project = Some(
                                contours
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|(k, v)| (k, v.0))
                                    .collect(),
                            );
                        }
                        "ready" | "by_project" => {
                            return Err(A::Error::custom("a repeated key"));
                        }
                        other => {
                            let value: Value = map.next_value()?;
                            extra.insert(other.to_owned(), value);
                        }
                    }
                }
                let by_project = by_project.unwrap_or_default();
                let ready = match ready {
                    Some(ready) => ready,
                    // Missing `ready` with a `by_project`: the lenient path decides.
                    None => return Err(A::Error::custom("no `ready` list")),
                };
                Ok(FastReady(ReadySets {
                    ready,
                    by_project,
                    extra,
                }))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(ns: &[u64]) -> Vec<SetId> {
        ns.iter().copied().map(SetId::from_number).collect()
    }

    #[test]
    fn map_form_with_mixed_ids() {
        let r = ReadySets::from_value(json!({
            "ready": [16, "s-17", {"id": 18}],
            "by_project": {"A": [16], "B": ["s-17", "s-18"]},
            "total": 3
        }))
        .unwrap();
        assert_eq!(r.ready, ids(&[16, 17, 18]));
        assert_eq!(r.by_project["B"], ids(&[17, 18]));
        assert_eq!(r.extra["total"], 3);
        assert_eq!(r.max_number(), Some(18));
    }

    #[test]
    fn list_form_with_various_key_names() {
        let r = ReadySets::from_value(json!({
            "ready": [],
            "by_project": [
                {"project_id": "A", "ready": [1, 2]},
                {"project": 7, "ids": "s-3"},
                {"name": "C", "sets": null}
            ]
        }))
        .unwrap();
        assert_eq!(r.by_project["A"], ids(&[1, 2]));
        assert_eq!(r.by_project["7"], ids(&[3]));
        assert_eq!(r.by_project["C"], Vec::<SetId>::new());
    }

    #[test]
    fn missing_ready_is_the_union_of_contours() {
        let r = ReadySets::from_value(json!({"by_project": {"A": [5, 3], "B": [4]}})).unwrap();
        assert_eq!(r.ready, ids(&[3, 4, 5]));
        let r = ReadySets::from_value(json!([1, 2])).unwrap();
        assert_eq!(r.ready, ids(&[1, 2]));
    }

    fn listed(r: &ReadySets) -> Vec<(String, Option<String>)> {
        r.sets()
            .into_iter()
            .map(|s| (s.id.into_string(), s.contour))
            .collect()
    }

    fn on(id: &str, contour: Option<&str>) -> (String, Option<String>) {
        (id.to_owned(), contour.map(str::to_owned))
    }

    #[test]
    fn sets_report_every_ready_id_once_with_its_contour() {
        // Interleaved contours, a repeated id, an id by_project does not attribute.
        let r = ReadySets::from_value(json!({
            "ready": [100, "s-101", 100, 102, 104],
            "by_project": {"Казань": ["s-101"], "Москва": [100, 102]}
        }))
        .unwrap();
        assert_eq!(
            listed(&r),
            [
                on("s-100", Some("Москва")),
                on("s-101", Some("Казань")),
                on("s-102", Some("Москва")),
                on("s-104", None),
            ]
        );
    }

    #[test]
    fn sets_without_by_project_have_no_contour() {
        let r = ReadySets::from_value(json!({"ready": ["s-7", 8]})).unwrap();
        assert_eq!(listed(&r), [on("s-7", None), on("s-8", None)]);
        let r = ReadySets::from_value(json!({"ready": [7], "by_project": null})).unwrap();
        assert_eq!(listed(&r), [on("s-7", None)]);
    }

    #[test]
    fn ids_only_in_by_project_are_reported_after_ready() {
        let r = ReadySets::from_value(json!({
            "ready": [5],
            "by_project": {"A": [9, 5], "B": [6]}
        }))
        .unwrap();
        assert_eq!(
            listed(&r),
            [
                on("s-5", Some("A")),
                on("s-6", Some("B")),
                on("s-9", Some("A"))
            ]
        );
    }

    #[test]
    fn an_id_under_two_contours_is_reported_once_on_the_first_by_name() {
        let r = ReadySets::from_value(json!({
            "ready": [1, 2],
            "by_project": [
                {"project_id": "Zeta", "ready": [1, 2]},
                {"project_id": "Alpha", "ready": [2]},
                {"project_id": "Zeta", "ready": [2]}
            ]
        }))
        .unwrap();
        assert_eq!(
            listed(&r),
            [on("s-1", Some("Zeta")), on("s-2", Some("Alpha"))]
        );
        // The same answer always gives the same choice.
        assert_eq!(listed(&r), listed(&r.clone()));
    }

    #[test]
    fn serde_deserialize_uses_the_lenient_parser() {
        let r: ReadySets = serde_json::from_value(json!({"ready": ["s-1", 2]})).unwrap();
        assert_eq!(r.ready, ids(&[1, 2]));
        let e = serde_json::from_value::<ReadySets>(json!({"ready": [1, true]})).unwrap_err();
        assert!(e.to_string().contains("ready[1]"), "{e}");
    }

    #[test]
    fn unusable_shapes_name_the_field() {
        let cases = [
            (json!({}), "ready"),
            (json!("nope"), "."),
            (json!({"ready": [1, true]}), "ready[1]"),
            (json!({"ready": [-1]}), "ready[0]"),
            (json!({"ready": [], "by_project": 5}), "by_project"),
            (
                json!({"ready": [], "by_project": [{"ready": [1]}]}),
                "by_project[0].project_id",
            ),
            (
                json!({"ready": [], "by_project": [{"project_id": "A"}]}),
                "by_project[0].ready",
            ),
            (
                json!({"ready": [], "by_project": [{"project_id": null, "ready": []}]}),
                "by_project[0].project_id",
            ),
            (
                json!({"ready": [], "by_project": {"A": [{"x": 1}]}}),
                "by_project.A[0]",
            ),
        ];
        for (v, path) in cases {
            let (p, _) = ReadySets::from_value(v.clone()).unwrap_err();
            assert_eq!(p, path, "{v}");
        }
    }
}
