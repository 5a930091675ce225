//! The review queue: sets the data checks hold, and the decisions a person
//! makes about them.
//!
//! Before anything of a set is written to Saby, the pipeline runs
//! [`hr_docs_checks::check_result`] on its result with the configured
//! [`Policy`](hr_docs_checks::Policy)
//! ([`PipelineConfig::checks`](crate::PipelineConfig::checks)):
//!
//! - nothing found, or warnings only: the set goes on; its findings travel
//!   with the document (the default mapper adds them as an attachment,
//!   `data_checks_<set id>.json`, see [`MappingContext::findings`](crate::MappingContext::findings));
//! - an error (a failed check number, a date that cannot be right, a `broken`
//!   document under [`BrokenPolicy::Hold`](hr_docs_checks::BrokenPolicy::Hold),
//!   …): the set is **held** ([`SetStatus::Held`]) with its findings — not
//!   sent, not failed, and it does not hold Beorg's `start_id` watermark;
//! - a fatal finding (e.g. [`BrokenPolicy::Fail`](hr_docs_checks::BrokenPolicy::Fail)):
//!   the set fails ([`FailureKind::DataCheck`](crate::store::FailureKind::DataCheck),
//!   or `SetBroken` / `NoDocuments` for a set broken as a whole or without
//!   documents).
//!
//! A held set waits for a [`Decision`], recorded with
//! [`Pipeline::decide`](crate::Pipeline::decide) (or [`decide`] over a store):
//!
//! | decision | what it does |
//! |---|---|
//! | [`send_as_is`](Decision::send_as_is) | back to pending: the result is fetched and checked again and sent with the errors the reviewer saw (they travel with the document) |
//! | [`send_without`](Decision::send_without) | the same, without the named documents (by key): the mapper never sees them |
//! | [`reject`](Decision::reject) | [`SetStatus::Rejected`]: recorded, never sent, never processed again |
//! | [`refetch`](Decision::refetch) | back to pending, approving nothing: the result (corrected in Beorg's Smart Archive) is fetched and checked again; it is held again if it still has an error |
//!
//! An approval covers the errors the reviewer saw and nothing else: when the
//! result is fetched again and holds an error that was not among the held
//! set's findings (the data changed meanwhile), the set is held again.
//!
//! A decided set goes through the normal steps exactly once: the decision and
//! the set's return to pending are one [`StateStore::save`]; the document id
//! is the set's own, and a document is read before it is sent, so a crash
//! between the decision and the send neither loses the decision nor sends
//! twice.

use std::fmt;

use beorg_client::SetId;
use hr_docs_checks::{Finding, Report};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, StoreError};
use crate::store::{SetRecord, SetStatus, StateStore, Step};

/// Page size when listing held sets.
const PAGE: usize = 500;

/// What a reviewer decided about a held set; see the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecisionKind {
    /// Send the set as Beorg recognized it, with the errors the reviewer saw.
    SendAsIs,
    /// Send the set without these documents (their keys, as in
    /// [`Finding::document_key`]): the mapper builds the Saby document from
    /// the others.
    SendWithout(Vec<String>),
    /// Never send the set.
    Reject,
    /// Fetch the result from Beorg again (after it was corrected there) and
    /// check it again.
    Refetch,
    /// A decision stored by a newer version, as its name.
    Unknown(String),
}

impl DecisionKind {
    /// The stable name stored in the state (`send_as_is`, `send_without`,
    /// `reject`, `refetch`).
    pub fn as_str(&self) -> &str {
        match self {
            DecisionKind::SendAsIs => "send_as_is",
            DecisionKind::SendWithout(_) => "send_without",
            DecisionKind::Reject => "reject",
            DecisionKind::Refetch => "refetch",
            DecisionKind::Unknown(s) => s,
        }
    }

    /// Whether the decision lets the set be sent despite the errors the
    /// reviewer saw ([`SendAsIs`](Self::SendAsIs), [`SendWithout`](Self::SendWithout)).
    pub fn is_approval(&self) -> bool {
        matches!(self, DecisionKind::SendAsIs | DecisionKind::SendWithout(_))
    }

    /// The keys of the documents left out ([`SendWithout`](Self::SendWithout));
    /// empty otherwise.
    pub fn excluded(&self) -> &[String] {
        match self {
            DecisionKind::SendWithout(keys) => keys,
            _ => &[],
        }
    }
}

impl fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecisionKind::SendWithout(keys) => write!(f, "send_without {}", keys.join(",")),
            other => f.write_str(other.as_str()),
        }
    }
}

/// A reviewer's decision about a held set: what, who, why and when.
///
/// `by` and `reason` are the caller's text, stored as given (an operator's
/// login, a ticket number): never put a recognized value (a name, a number of
/// the employee's documents) into them — they are stored in the state and
/// shown by the review tool.
///
/// ```
/// use hr_docs_pipeline::review::{Decision, DecisionKind};
///
/// let d = Decision::send_without(["MEDBOOK1"], "hr-operator-7")
///     .with_reason("the medical book scan is unreadable; requested a new one");
/// assert_eq!(d.kind, DecisionKind::SendWithout(vec!["MEDBOOK1".to_owned()]));
/// assert!(d.kind.is_approval());
/// assert_eq!(Decision::reject("hr-operator-7", "not our employee").kind, DecisionKind::Reject);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// What was decided.
    pub kind: DecisionKind,
    /// Who decided (the caller's text).
    pub by: String,
    /// Why (the caller's text), if given.
    pub reason: Option<String>,
    /// When it was decided (default: when the value was built).
    pub at: OffsetDateTime,
}

impl Decision {
    /// A decision of `kind` by `by`, now, without a reason.
    pub fn new(kind: DecisionKind, by: impl Into<String>) -> Self {
        Self {
            kind,
            by: by.into(),
            reason: None,
            at: OffsetDateTime::now_utc(),
        }
    }

    /// Send the set as recognized ([`DecisionKind::SendAsIs`]).
    pub fn send_as_is(by: impl Into<String>) -> Self {
        Self::new(DecisionKind::SendAsIs, by)
    }

    /// Send the set without the documents with these keys
    /// ([`DecisionKind::SendWithout`]).
    pub fn send_without<I, S>(documents: I, by: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(
            DecisionKind::SendWithout(documents.into_iter().map(Into::into).collect()),
            by,
        )
    }

    /// Never send the set ([`DecisionKind::Reject`]), for `reason`.
    pub fn reject(by: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(DecisionKind::Reject, by).with_reason(reason)
    }

    /// Fetch and check the set again ([`DecisionKind::Refetch`]).
    pub fn refetch(by: impl Into<String>) -> Self {
        Self::new(DecisionKind::Refetch, by)
    }

    /// With this reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Made at `at` (default: when the value was built).
    pub fn with_at(mut self, at: OffsetDateTime) -> Self {
        self.at = at;
        self
    }
}

/// Why a decision was refused; nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// The state holds no such set (of this company).
    #[error("set {set_id} is not in the state")]
    NotFound {
        /// The set.
        set_id: SetId,
    },
    /// The set is not held for review (decided already, or never held).
    #[error("set {set_id} is not held for review: it is {status}")]
    NotHeld {
        /// The set.
        set_id: SetId,
        /// Its status.
        status: SetStatus,
    },
    /// [`DecisionKind::SendWithout`] names a key that no finding of the held
    /// set names (a typo, or a document nothing was found in).
    #[error(
        "set {set_id} has no flagged document with key {key:?}; the keys of its findings are: \
         {flagged}"
    )]
    UnknownDocument {
        /// The set.
        set_id: SetId,
        /// The key given.
        key: String,
        /// The document keys its findings name, comma-separated.
        flagged: String,
    },
    /// [`DecisionKind::SendWithout`] names no document.
    #[error("the decision to send {set_id} without some documents names none")]
    NoDocumentNamed {
        /// The set.
        set_id: SetId,
    },
    /// The decision does not say who made it (`by` is blank).
    #[error("the decision about {set_id} does not say who made it")]
    NoReviewer {
        /// The set.
        set_id: SetId,
    },
    /// A [`DecisionKind::Unknown`] cannot be recorded.
    #[error("{kind:?} is not a decision this version can record")]
    UnknownKind {
        /// Its name.
        kind: String,
    },
}

/// Records `decision` on a held set, in place (the pure rule behind
/// [`decide`]): the decision is appended to [`SetRecord::decisions`] and the
/// set becomes [`Rejected`](SetStatus::Rejected) (reject) or pending again at
/// [`Step::Seen`] (the others: the next pass fetches and checks the result
/// again). Refused, leaving the record as it was, when the set is not
/// [`Held`](SetStatus::Held) or the decision is incomplete.
pub fn apply(record: &mut SetRecord, decision: Decision) -> Result<(), ReviewError> {
    let set_id = || record.set_id.clone();
    if record.status != SetStatus::Held {
        return Err(ReviewError::NotHeld {
            set_id: set_id(),
            status: record.status,
        });
    }
    if decision.by.trim().is_empty() {
        return Err(ReviewError::NoReviewer { set_id: set_id() });
    }
    match &decision.kind {
        DecisionKind::Unknown(kind) => {
            return Err(ReviewError::UnknownKind { kind: kind.clone() });
        }
        DecisionKind::SendWithout(keys) => {
            if keys.is_empty() {
                return Err(ReviewError::NoDocumentNamed { set_id: set_id() });
            }
            let flagged = flagged_documents(&record.findings);
            if let Some(key) = keys.iter().find(|k| !flagged.contains(k)) {
                return Err(ReviewError::UnknownDocument {
                    set_id: set_id(),
                    key: key.clone(),
                    flagged: flagged.join(", "),
                });
            }
        }
        DecisionKind::SendAsIs | DecisionKind::Reject | DecisionKind::Refetch => {}
    }
    record.status = match decision.kind {
        DecisionKind::Reject => SetStatus::Rejected,
        _ => SetStatus::Pending,
    };
    record.step = Step::Seen;
    record.attempts = 0;
    record.last_error = None;
    record.failure = None;
    record.updated_at = OffsetDateTime::now_utc();
    record.decisions.push(decision);
    Ok(())
}

/// The keys of the documents `findings` name, each once, in order.
pub fn flagged_documents(findings: &[Finding]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for key in findings.iter().filter_map(|f| f.document_key.as_ref()) {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    keys
}

/// Records `decision` on the held set `set_id` of `company` (see [`apply`]
/// for what each decision does) with one [`StateStore::save`], and returns
/// the record as saved.
///
/// [`Pipeline::decide`](crate::Pipeline::decide) calls it (one decision at a
/// time per pipeline) and reports a [`ProgressKind::Decided`](crate::ProgressKind::Decided).
/// The shipped stores serve one process, so a review tool calls it while no
/// pipeline runs on the state file (`examples/review.rs` does).
///
/// # Errors
///
/// [`Error::Review`] when the decision is refused (nothing recorded),
/// [`Error::Store`] when the store fails.
pub async fn decide(
    store: &dyn StateStore,
    company: &str,
    set_id: &SetId,
    decision: Decision,
) -> Result<SetRecord, Error> {
    let mut record = store
        .get(company, set_id)
        .await?
        .ok_or_else(|| ReviewError::NotFound {
            set_id: set_id.clone(),
        })?;
    apply(&mut record, decision)?;
    store.save(&record).await?;
    Ok(record)
}

/// Every held set of `company`, in set order, with its findings (read a page
/// at a time).
pub async fn held_sets(
    store: &dyn StateStore,
    company: &str,
) -> Result<Vec<SetRecord>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<(u64, SetId)> = None;
    loop {
        let page = store
            .list(
                company,
                Some(SetStatus::Held),
                after.as_ref().map(|(n, id)| (*n, id)),
                PAGE,
            )
            .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.number, last.set_id.clone()));
        out.extend(page.into_iter().filter(|r| r.status == SetStatus::Held));
    }
    Ok(out)
}

/// What the pipeline does with a checked result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judgement {
    /// Map, write and send it.
    Go,
    /// Hold it for review.
    Hold,
    /// Fail it.
    Fail,
}

/// What identifies a finding across two checks of the same set: the same
/// document, field, check and Beorg check (the messages may differ in a
/// confidence or a bound).
type Identity<'a> = (
    Option<&'a str>,
    Option<&'a beorg_client::DocumentType>,
    Option<&'a str>,
    &'a hr_docs_checks::Check,
    Option<&'a str>,
);

/// What identifies a finding (see [`Identity`]).
fn identity(f: &Finding) -> Identity<'_> {
    (
        f.document_key.as_deref(),
        f.document_type.as_ref(),
        f.field.as_deref(),
        &f.check,
        f.beorg_check.as_deref(),
    )
}

/// The rule: a fatal finding fails the set; no error lets it go; errors go on
/// only under an approval ([`DecisionKind::is_approval`]) that covers each of
/// them — each one is an error among `reviewed` (the findings the set was
/// held with, which the reviewer saw). Anything else holds it.
pub(crate) fn judge(
    report: &Report,
    decision: Option<&Decision>,
    reviewed: &[Finding],
) -> Judgement {
    if report.has_fatal() {
        return Judgement::Fail;
    }
    if !report.has_errors() {
        return Judgement::Go;
    }
    let approved = decision.is_some_and(|d| d.kind.is_approval());
    let covered = report.errors().all(|e| {
        reviewed
            .iter()
            .any(|r| r.is_error() && identity(r) == identity(e))
    });
    if approved && covered {
        Judgement::Go
    } else {
        Judgement::Hold
    }
}

/// The stored form of a set's decisions: a JSON array of
/// `{"kind", "documents" (send_without only), "by", "reason" (if any), "at" (RFC 3339)}`.
/// `SqliteStore` keeps [`SetRecord::decisions`] as this text; a store of your
/// own may too (its findings are `serde_json::to_string(&record.findings)`).
///
/// ```
/// use hr_docs_pipeline::review::{Decision, decisions_from_json, decisions_to_json};
///
/// let at = time::macros::datetime!(2026-01-15 09:30 UTC);
/// let decisions = vec![Decision::send_without(["MEDBOOK1"], "hr-operator-7").with_at(at)];
/// let text = decisions_to_json(&decisions);
/// assert_eq!(
///     text,
///     r#"[{"kind":"send_without","documents":["MEDBOOK1"],"by":"hr-operator-7","at":"2026-01-15T09:30:00Z"}]"#
/// );
/// assert_eq!(decisions_from_json(&text), Some(decisions));
/// ```
pub fn decisions_to_json(decisions: &[Decision]) -> String {
    let list: Vec<Value> = decisions.iter().map(decision_to_json).collect();
    Value::Array(list).to_string()
}

fn decision_to_json(d: &Decision) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(d.kind.as_str()));
    if let DecisionKind::SendWithout(keys) = &d.kind {
        m.insert("documents".into(), json!(keys));
    }
    m.insert("by".into(), json!(d.by));
    if let Some(reason) = &d.reason {
        m.insert("reason".into(), json!(reason));
    }
    // RFC 3339 always formats a UTC instant; the fallback (a year beyond 9999)
    // cannot come from a clock.
    let at =
        d.at.format(&Rfc3339)
            .unwrap_or_else(|_| d.at.unix_timestamp().to_string());
    m.insert("at".into(), json!(at));
    Value::Object(m)
}

/// Reads [`decisions_to_json`]'s form back; `None` when it is not that form.
/// A kind this version does not know is kept as [`DecisionKind::Unknown`].
pub fn decisions_from_json(text: &str) -> Option<Vec<Decision>> {
    let Value::Array(list) = serde_json::from_str(text).ok()? else {
        return None;
    };
    list.iter().map(decision_from_json).collect()
}

fn decision_from_json(v: &Value) -> Option<Decision> {
    let text = |key: &str| v.get(key).and_then(Value::as_str);
    let kind = match text("kind")? {
        "send_as_is" => DecisionKind::SendAsIs,
        "send_without" => DecisionKind::SendWithout(
            v.get("documents")?
                .as_array()?
                .iter()
                .map(|k| k.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
        ),
        "reject" => DecisionKind::Reject,
        "refetch" => DecisionKind::Refetch,
        other => DecisionKind::Unknown(other.to_owned()),
    };
    let at = text("at")?;
    let at = OffsetDateTime::parse(at, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::from_unix_timestamp(at.parse().ok()?).ok())?;
    Some(Decision {
        kind,
        by: text("by")?.to_owned(),
        reason: text("reason").map(str::to_owned),
        at,
    })
}

#[cfg(test)]
mod tests {
    use beorg_client::DocumentType;
    use hr_docs_checks::{Check, Severity};

    use super::*;

    fn error(key: &str, check: Check) -> Finding {
        Finding::new(check, Severity::Error)
            .document(key, DocumentType::Snils)
            .field("Number")
    }

    fn held(findings: Vec<Finding>) -> SetRecord {
        let mut r = SetRecord::seen("4821", SetId::from_number(104));
        r.hold(findings);
        r
    }

    #[test]
    fn approvals_cover_the_errors_the_reviewer_saw_and_nothing_more() {
        let snils = error("SNILS", Check::SnilsCheckNumber);
        let medbook = error("MEDBOOK1", Check::DocumentBroken);
        let warning = Finding::new(Check::LowConfidence, Severity::Warning);
        let reviewed = vec![snils.clone(), warning.clone()];
        let approve = Decision::send_as_is("op");
        let report = Report::new(vec![snils.clone(), warning.clone()]);

        assert_eq!(judge(&report, None, &[]), Judgement::Hold);
        assert_eq!(judge(&report, Some(&approve), &reviewed), Judgement::Go);
        assert_eq!(
            judge(&report, Some(&Decision::refetch("op")), &reviewed),
            Judgement::Hold,
            "a refetch approves nothing"
        );
        // A new error (the data changed after the review) holds it again.
        let changed = Report::new(vec![snils.clone(), medbook.clone()]);
        assert_eq!(judge(&changed, Some(&approve), &reviewed), Judgement::Hold);
        // A finding the reviewer saw as a warning is not an approved error.
        let mut upgraded = warning.clone();
        upgraded.severity = Severity::Error;
        let report = Report::new(vec![upgraded]);
        assert_eq!(judge(&report, Some(&approve), &reviewed), Judgement::Hold);
        // Warnings alone never hold; a fatal finding always fails.
        assert_eq!(judge(&Report::new(vec![warning]), None, &[]), Judgement::Go);
        let mut fatal = medbook;
        fatal.severity = Severity::Fatal;
        let report = Report::new(vec![fatal.clone()]);
        assert_eq!(judge(&report, Some(&approve), &[fatal]), Judgement::Fail);
    }

    #[test]
    fn a_decision_puts_a_held_set_back_or_rejects_it() {
        let findings = vec![error("SNILS", Check::SnilsCheckNumber)];
        for (decision, status) in [
            (Decision::send_as_is("op"), SetStatus::Pending),
            (Decision::send_without(["SNILS"], "op"), SetStatus::Pending),
            (Decision::refetch("op"), SetStatus::Pending),
            (Decision::reject("op", "duplicate"), SetStatus::Rejected),
        ] {
            let mut r = held(findings.clone());
            r.attempts = 3;
            apply(&mut r, decision.clone()).unwrap();
            assert_eq!((r.status, r.step, r.attempts), (status, Step::Seen, 0));
            assert_eq!(r.decision(), Some(&decision));
            assert_eq!(r.findings, findings, "the findings stay for the record");
        }
    }

    #[test]
    fn incomplete_or_misdirected_decisions_are_refused_and_change_nothing() {
        let id = SetId::from_number(104);
        let mut r = held(vec![error("SNILS", Check::SnilsCheckNumber)]);
        let before = r.clone();
        let refused = [
            (
                Decision::send_without(["MEDBOOK1"], "op"),
                ReviewError::UnknownDocument {
                    set_id: id.clone(),
                    key: "MEDBOOK1".into(),
                    flagged: "SNILS".into(),
                },
            ),
            (
                Decision::send_without(Vec::<String>::new(), "op"),
                ReviewError::NoDocumentNamed { set_id: id.clone() },
            ),
            (
                Decision::send_as_is("  "),
                ReviewError::NoReviewer { set_id: id.clone() },
            ),
            (
                Decision::new(DecisionKind::Unknown("escalate".into()), "op"),
                ReviewError::UnknownKind {
                    kind: "escalate".into(),
                },
            ),
        ];
        for (decision, expected) in refused {
            assert_eq!(apply(&mut r, decision), Err(expected));
            assert_eq!(r, before);
        }
        // Decided once: a second decision is refused.
        apply(&mut r, Decision::send_as_is("op")).unwrap();
        assert_eq!(
            apply(&mut r, Decision::reject("op", "late")),
            Err(ReviewError::NotHeld {
                set_id: id,
                status: SetStatus::Pending
            })
        );
    }

    #[test]
    fn decisions_round_trip_through_their_stored_form() {
        let at = OffsetDateTime::from_unix_timestamp(1_760_000_000).unwrap();
        let decisions = vec![
            Decision::refetch("op-1").with_at(at),
            Decision::send_without(["MEDBOOK1", "SNILS"], "op-2")
                .with_reason("скан нечитаем")
                .with_at(at),
            Decision::reject("op-3", "not our employee").with_at(at),
            Decision::send_as_is("op-4").with_at(at),
        ];
        let text = decisions_to_json(&decisions);
        assert_eq!(decisions_from_json(&text), Some(decisions));
        assert!(
            text.contains(r#""kind":"send_without","documents":["MEDBOOK1","SNILS"]"#),
            "{text}"
        );
        // A kind of a newer version is kept by name; garbage is refused.
        let newer = r#"[{"kind":"escalate","by":"x","at":"2025-10-09T08:53:20Z"}]"#;
        assert_eq!(
            decisions_from_json(newer).unwrap()[0].kind,
            DecisionKind::Unknown("escalate".into())
        );
        assert_eq!(decisions_from_json("[]"), Some(Vec::new()));
        assert_eq!(decisions_from_json(r#"[{"kind":"reject"}]"#), None);
        assert_eq!(decisions_from_json("{}"), None);
    }
}
