//! The review queue from the command line: list the sets the data checks held, show one
//! next to its recognized fields, and record a decision — over the pipeline's state file.
//!
//! ```text
//! cargo run --example review -- list
//! cargo run --example review -- show s-104
//! cargo run --example review -- approve s-104 [--by WHO] [--reason TEXT]
//! cargo run --example review -- approve s-104 --without MEDBOOK1 [--without KEY …]
//! cargo run --example review -- reject s-104 --reason "uploaded twice" [--by WHO]
//! cargo run --example review -- refetch s-104 [--by WHO] [--reason TEXT]
//! ```
//!
//! It reads the variables `full_flow` reads: `PIPELINE_STATE_PATH` (the state file,
//! default `hr-docs-state/state.db`) and `BEORG_PROJECT_ID` (the company); `show` also
//! builds the Beorg client from `BEORG_BASE_URL`, `BEORG_TOKEN`, `BEORG_PROJECT_ID` and
//! `BEORG_MACHINE_UID`, since recognized values are never stored: they are fetched from
//! Beorg at show time and printed to this terminal only (no log line, no file).
//!
//! `--by` says who decides (default: `$USER`); `--reason` why. Both are stored with the
//! decision as given: never write an employee's data into them.
//!
//! The state file is opened exclusively: run the tool between pipeline runs (with a
//! `run_once` pipeline from cron, say); while a pipeline runs on the file, the tool exits
//! with code 2 ("in use"). A decision takes effect on the next run: the set is fetched
//! and checked again and sent (exactly once), or stays rejected.
//!
//! Exit codes: 0 — done (listed, shown, decision recorded); 1 — the decision was refused
//! and nothing was recorded (the set is not held, not found, or `--without` names a
//! document none of its findings names); 2 — usage or setup error (bad arguments, a
//! missing variable, no state file, the file in use, Beorg unreachable for `show`).

use std::path::PathBuf;
use std::process::ExitCode;

use beorg_client::SetId;
use hr_docs_pipeline::hr_docs_checks::Finding;
use hr_docs_pipeline::review::{self, Decision};
use hr_docs_pipeline::store::{SetRecord, SetStatus, SqliteStore, StateStore};
use hr_docs_pipeline::{Error, config};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: review list
       review show <set>
       review approve <set> [--without <document key>]... [--by <who>] [--reason <why>]
       review reject <set> --reason <why> [--by <who>]
       review refetch <set> [--by <who>] [--reason <why>]";

/// A command, parsed from the arguments.
#[derive(Debug)]
enum Command {
    List,
    Show(SetId),
    Decide(SetId, Decision),
}

/// Why the tool stops: a refused decision (exit 1) or a usage/setup error (exit 2).
enum Failure {
    Refused(String),
    Setup(String),
}

impl From<BoxError> for Failure {
    fn from(e: BoxError) -> Self {
        Failure::Setup(chain(e.as_ref()))
    }
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Parses `args` (without the program name).
fn parse(args: &[String]) -> Result<Command, String> {
    let (command, rest) = args.split_first().ok_or("no command given")?;
    if !["list", "show", "approve", "reject", "refetch"].contains(&command.as_str()) {
        return Err(format!("unknown command {command:?}"));
    }
    if command == "list" {
        return match rest {
            [] => Ok(Command::List),
            _ => Err("list takes no arguments".to_owned()),
        };
    }
    let (set, options) = rest
        .split_first()
        .ok_or_else(|| format!("{command} needs a set id (s-104)"))?;
    if set.starts_with("--") {
        return Err(format!("{command} needs a set id before its options"));
    }
    let set = SetId::new(set.as_str());
    if command == "show" {
        return match options {
            [] => Ok(Command::Show(set)),
            _ => Err("show takes no options".to_owned()),
        };
    }
    let (mut by, mut reason, mut without) = (None, None, Vec::new());
    let mut it = options.iter();
    while let Some(option) = it.next() {
        let mut value = || {
            it.next()
                .filter(|v| !v.starts_with("--"))
                .cloned()
                .ok_or_else(|| format!("{option} needs a value"))
        };
        match option.as_str() {
            "--by" => by = Some(value()?),
            "--reason" => reason = Some(value()?),
            "--without" if command == "approve" => {
                without.extend(
                    value()?
                        .split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned),
                );
            }
            other => return Err(format!("{command} does not take {other}")),
        }
    }
    let by = by
        .or_else(|| env("USER"))
        .or_else(|| env("USERNAME"))
        .ok_or("say who decides with --by (no $USER to default to)")?;
    let decision = match command.as_str() {
        "approve" if without.is_empty() => Decision::send_as_is(by),
        "approve" => Decision::send_without(without, by),
        "reject" => Decision::reject(
            by,
            reason
                .take()
                .ok_or("reject needs --reason: it is kept with the decision")?,
        ),
        "refetch" => Decision::refetch(by),
        other => return Err(format!("unknown command {other:?}")),
    };
    let decision = match reason {
        Some(r) => decision.with_reason(r),
        None => decision,
    };
    Ok(Command::Decide(set, decision))
}

/// The state file, opened only if it exists (a typo in the path must not create one).
fn open_store() -> Result<SqliteStore, Failure> {
    let path = env(config::ENV_STATE_PATH)
        .map_or_else(|| PathBuf::from("hr-docs-state/state.db"), PathBuf::from);
    if !path.is_file() {
        return Err(Failure::Setup(format!(
            "no state file at {} (set {})",
            path.display(),
            config::ENV_STATE_PATH
        )));
    }
    SqliteStore::open(&path).map_err(|e| Failure::Setup(chain(&e)))
}

fn company() -> Result<String, Failure> {
    env("BEORG_PROJECT_ID")
        .ok_or_else(|| Failure::Setup("BEORG_PROJECT_ID (the company) is not set".to_owned()))
}

/// `error SNILS/Number: snils_check_number: SNILS check number does not match`, and the
/// Russian message under it.
fn print_finding(indent: &str, f: &Finding) {
    println!("{indent}{f}");
    let pad = " ".repeat(indent.chars().count());
    println!("{pad}    {}", f.message_ru);
}

fn print_decisions(r: &SetRecord) {
    for d in &r.decisions {
        let reason = d
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        println!("  decided {} by {} at {}{reason}", d.kind, d.by, d.at);
    }
}

async fn list(store: &SqliteStore, company: &str) -> Result<(), Failure> {
    let held = review::held_sets(store, company)
        .await
        .map_err(|e| Failure::Setup(chain(&e)))?;
    if held.is_empty() {
        println!("no set of company {company} is held for review");
        return Ok(());
    }
    println!(
        "{} set(s) of company {company} held for review:",
        held.len()
    );
    for r in &held {
        let errors = r.findings.iter().filter(|f| f.is_error()).count();
        println!(
            "\n{} [{}]: {errors} error(s), {} warning(s); first seen {}",
            r.set_id,
            r.contour.as_deref().unwrap_or("no contour"),
            r.findings.len() - errors,
            r.first_seen
        );
        for f in &r.findings {
            print_finding("  ", f);
        }
        print_decisions(r);
    }
    println!("\ndecide with: review approve|reject|refetch <set> (see --help)");
    Ok(())
}

async fn show(store: &SqliteStore, company: &str, set: &SetId) -> Result<(), Failure> {
    let record = store
        .get(company, set)
        .await
        .map_err(|e| Failure::Setup(chain(&e)))?
        .ok_or_else(|| Failure::Refused(format!("set {set} is not in the state")))?;
    println!(
        "{} [{}]: {}",
        record.set_id,
        record.contour.as_deref().unwrap_or("no contour"),
        record.status
    );
    let set_level: Vec<&Finding> = record
        .findings
        .iter()
        .filter(|f| f.document_key.is_none())
        .collect();
    for f in &set_level {
        print_finding("  ", f);
    }
    print_decisions(&record);

    // The values come from Beorg now; the state never holds them.
    let beorg = beorg_client::Client::from_env().map_err(|e| {
        Failure::Setup(format!(
            "to show recognized fields, configure Beorg: {}",
            chain(&e)
        ))
    })?;
    let status = beorg
        .result(set)
        .await
        .map_err(|e| Failure::Setup(format!("fetching {set} from Beorg: {}", chain(&e))))?;
    let result = status
        .result()
        .ok_or_else(|| Failure::Setup(format!("Beorg is still recognizing {set}")))?;
    println!("\nRecognized fields (personal data: shown on this terminal only):");
    for doc in &result.documents {
        let broken = if doc.is_broken() {
            let reasons = if doc.broken_reasons_ru.is_empty() {
                &doc.broken_reasons
            } else {
                &doc.broken_reasons_ru
            };
            let reasons: Vec<String> = reasons
                .iter()
                .map(|r| r.as_str().map_or_else(|| r.to_string(), str::to_owned))
                .collect();
            format!(" — marked broken by Beorg: {}", reasons.join("; "))
        } else {
            String::new()
        };
        println!("\n  {} ({}){broken}", doc.key, doc.doc_type);
        let findings: Vec<&Finding> = record
            .findings
            .iter()
            .filter(|f| f.document_key.as_deref() == Some(doc.key.as_str()))
            .collect();
        for (name, value) in &doc.data {
            let shown = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "—".to_owned(),
                other => other.to_string(),
            };
            println!("    {name}: {shown}");
            for f in findings
                .iter()
                .filter(|f| f.field.as_deref() == Some(name.as_str()))
            {
                print_finding("      ← ", f);
            }
        }
        let elsewhere = findings.iter().filter(|f| {
            f.field
                .as_deref()
                .is_none_or(|field| !doc.data.contains_key(field))
        });
        for f in elsewhere {
            print_finding("    ← ", f);
        }
    }
    Ok(())
}

async fn decide(
    store: &SqliteStore,
    company: &str,
    set: &SetId,
    decision: Decision,
) -> Result<(), Failure> {
    match review::decide(store, company, set, decision).await {
        Ok(r) => {
            let d = r.decision().map(|d| d.kind.to_string()).unwrap_or_default();
            println!("{set}: {d} recorded; the set is now {}", r.status);
            if r.status == SetStatus::Pending {
                println!("the next pipeline run fetches and checks it again, then sends it");
            }
            Ok(())
        }
        Err(Error::Review(refused)) => Err(Failure::Refused(refused.to_string())),
        Err(other) => Err(Failure::Setup(chain(&other))),
    }
}

async fn run(command: Command) -> Result<(), Failure> {
    let company = company()?;
    let store = open_store()?;
    match command {
        Command::List => list(&store, &company).await,
        Command::Show(set) => show(&store, &company, &set).await,
        Command::Decide(set, decision) => decide(&store, &company, &set, decision).await,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") || args.is_empty() {
        println!("{USAGE}");
        return if args.is_empty() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(e)) => {
            eprintln!("refused: {e}");
            ExitCode::from(1)
        }
        Err(Failure::Setup(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // a test's failure report
mod tests {
    use hr_docs_pipeline::DecisionKind;

    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn decision(line: &str) -> (SetId, Decision) {
        match parse(&args(line)) {
            Ok(Command::Decide(set, d)) => (set, d),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn commands_parse_into_decisions() {
        assert!(matches!(parse(&args("list")), Ok(Command::List)));
        assert!(
            matches!(parse(&args("show s-104")), Ok(Command::Show(s)) if s.as_str() == "s-104")
        );
        let (set, d) = decision("approve s-104 --by op");
        assert_eq!(
            (set.as_str(), &d.kind, d.by.as_str()),
            ("s-104", &DecisionKind::SendAsIs, "op")
        );
        let (_, d) = decision("approve s-104 --without MEDBOOK1 --without SNILS,INN --by op");
        assert_eq!(
            d.kind,
            DecisionKind::SendWithout(vec!["MEDBOOK1".into(), "SNILS".into(), "INN".into()])
        );
        let (_, d) = decision("reject s-104 --reason duplicate --by op");
        assert_eq!(
            (d.kind, d.reason.as_deref()),
            (DecisionKind::Reject, Some("duplicate"))
        );
        let (_, d) = decision("refetch s-104 --by op --reason corrected");
        assert_eq!(
            (d.kind, d.reason.as_deref()),
            (DecisionKind::Refetch, Some("corrected"))
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        for line in [
            "",
            "bogus s-1",
            "list s-1",
            "show",
            "show s-1 --by op",
            "approve --by op",
            "approve s-1 --by",
            "approve s-1 --reason --by op",
            "reject s-1 --by op",
            "refetch s-1 --without X --by op",
            "approve s-1 --force --by op",
        ] {
            assert!(parse(&args(line)).is_err(), "{line:?} was accepted");
        }
    }
}
