//! The coverage ledger: how much of the WIT under test the cases reach,
//! over every package and interface it has, in four measures.
//!
//! | measure     | an entry is                                  | covered when                                        |
//! | ----------- | -------------------------------------------- | --------------------------------------------------- |
//! | `functions` | a function, method, constructor or static    | some case's scenario code calls it ([`calls`]), or its guest exports it (the host calls it) |
//! | `clauses`   | a normative sentence ([`crate::spec`])       | some case quotes it (approached: only `nearest`)    |
//! | `traps`     | a normative sentence that says trap          | as a clause                                         |
//! | `errors`    | an error type's case; a "Typical errors" bullet | some case that calls a function returning that type (that quotes the bullet) has a host record showing the code |
//!
//! Each entry lists its cases and the hosts it was seen on: for errors, the
//! hosts whose records show the code; otherwise the hosts that ran one of
//! its cases in the run the ledger is of (none when built without one).

pub mod calls;
pub mod out_of_reach;
pub mod ratchet;
pub mod readme;

use crate::case::Case;
use crate::code_path::{self, CodePath};
use crate::judge::records::HostRecords;
use crate::spec::functions::package_of;
use crate::spec::{self, Spec};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    Functions,
    Clauses,
    Traps,
    Errors,
}

impl Measure {
    pub const ALL: [Measure; 4] = [
        Measure::Functions,
        Measure::Clauses,
        Measure::Traps,
        Measure::Errors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Measure::Functions => "functions",
            Measure::Clauses => "clauses",
            Measure::Traps => "traps",
            Measure::Errors => "errors",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Covered,
    /// A clause no case tests as written, but one approaches (`nearest`).
    Approached,
    Open,
}

/// One thing the WIT has that a case may reach.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub measure: Measure,
    /// `wasi:io/poll`.
    pub interface: String,
    /// The WIT item: the function, the error type, the item whose docs say it.
    pub item: String,
    /// The sentence of a clause or a bullet; the code of an error type's case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub status: Status,
    pub cases: Vec<String>,
    pub hosts: BTreeSet<String>,
}

impl Entry {
    /// `wasi:io`.
    pub fn package(&self) -> &str {
        package_of(&self.interface)
    }

    /// The item without its interface: `pollable.ready`, or `(interface)`.
    pub fn member(&self) -> &str {
        self.item
            .split_once('#')
            .map_or("(interface)", |(_, member)| member)
    }
}

/// How many of a measure's entries are covered, of how many.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub covered: usize,
    pub total: usize,
}

/// Figures by a key (a package or an interface), then by measure.
pub type Figures = BTreeMap<String, BTreeMap<Measure, Figure>>;

/// The ledger as a run's JSON carries it: the figures per package and per
/// interface, and every entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub packages: Figures,
    pub interfaces: Figures,
    pub entries: Vec<Entry>,
}

/// Which hosts ran each case (applicable, with an outcome): case → hosts.
pub type Ran = BTreeMap<String, BTreeSet<String>>;

impl Ledger {
    /// The ledger of `cases` (the conformance cases) against `spec`, with the
    /// guests' sources in `guests_dir`, what each host's `records` show and
    /// which hosts `ran` each case.
    pub fn build(
        spec: &Spec,
        cases: &[Case],
        guests_dir: &Path,
        records: &[(String, HostRecords)],
        ran: &Ran,
    ) -> Result<Ledger, String> {
        let calls = calls_by_case(spec, cases, guests_dir)?;
        let hosts_of = |cases: &[String]| -> BTreeSet<String> {
            cases
                .iter()
                .filter_map(|case| ran.get(case))
                .flatten()
                .cloned()
                .collect()
        };
        let mut entries = Vec::new();
        for function in &spec.functions {
            let calling: Vec<String> = (calls.iter())
                .filter(|(_, called)| called.contains(&function.item))
                .map(|(case, _)| case.clone())
                .collect();
            entries.push(Entry {
                measure: Measure::Functions,
                interface: function.interface.clone(),
                item: function.item.clone(),
                text: None,
                status: status(!calling.is_empty(), false),
                hosts: hosts_of(&calling),
                cases: calling,
            });
        }
        // The hosts whose record of `case` shows `code`.
        let shown = |case: &str, code: &str| -> BTreeSet<String> {
            records
                .iter()
                .filter(|(_, records)| {
                    records
                        .entries
                        .get(case)
                        .is_some_and(|record| record.shows(code))
                })
                .map(|(host, _)| host.clone())
                .collect()
        };
        // An error condition: observed in the cases of `callers` whose records show `code`.
        let observing =
            |item: &str, text: String, code: &str, callers: Vec<&String>, interface: &str| {
                let mut cases = Vec::new();
                let mut hosts = BTreeSet::new();
                for case in callers {
                    let showing = shown(case, code);
                    if !showing.is_empty() {
                        cases.push(case.clone());
                        hosts.extend(showing);
                    }
                }
                Entry {
                    measure: Measure::Errors,
                    interface: interface.to_string(),
                    item: item.to_string(),
                    text: Some(text),
                    status: status(!cases.is_empty(), false),
                    cases,
                    hosts,
                }
            };
        for (error_type, codes) in &spec.error_cases {
            let returning: BTreeSet<&String> = (spec.functions.iter())
                .filter(|function| function.errors.contains(error_type))
                .map(|function| &function.item)
                .collect();
            let callers: Vec<&String> = (calls.iter())
                .filter(|(_, called)| called.iter().any(|item| returning.contains(item)))
                .map(|(case, _)| case)
                .collect();
            let interface = error_type.split('#').next().unwrap_or_default();
            for code in codes {
                entries.push(observing(
                    error_type,
                    code.clone(),
                    code,
                    callers.clone(),
                    interface,
                ));
            }
        }
        for clause in spec.coverage(cases) {
            let cited: Vec<String> = clause.cases.iter().map(|c| c.case.clone()).collect();
            let status = status(clause.is_covered(), clause.is_only_approached());
            // A bullet is of "Typical errors" when it names a code the
            // function's error type has (a shutdown's `- `receive`:` is not).
            let error_codes: BTreeSet<&String> = (spec.functions.iter())
                .filter(|function| function.item == clause.item)
                .flat_map(|function| &function.errors)
                .filter_map(|error| spec.error_cases.get(error))
                .flatten()
                .collect();
            if let Some(code) = spec::typical_error(&clause.sentence)
                .filter(|code| error_codes.contains(&code.to_string()))
            {
                // A bullet names a condition, and only a case that quotes it
                // sets that condition up: the code is then the bullet's.
                let quoting: Vec<&String> = (clause.cases.iter())
                    .filter(|covering| covering.nearest.is_none())
                    .map(|covering| &covering.case)
                    .collect();
                entries.push(observing(
                    &clause.item,
                    clause.sentence.clone(),
                    code,
                    quoting,
                    &clause.interface,
                ));
            }
            let mut measures = vec![Measure::Clauses];
            if spec::is_trap_clause(&clause.sentence) {
                measures.push(Measure::Traps);
            }
            for measure in measures {
                entries.push(Entry {
                    measure,
                    interface: clause.interface.clone(),
                    item: clause.item.clone(),
                    text: Some(clause.sentence.clone()),
                    status,
                    hosts: hosts_of(&cited),
                    cases: cited.clone(),
                });
            }
        }
        Ok(Ledger {
            packages: figures(&entries, |entry| entry.package().to_string()),
            interfaces: figures(&entries, |entry| entry.interface.clone()),
            entries,
        })
    }
}

/// Each key's figures, every measure present.
fn figures(entries: &[Entry], key: impl Fn(&Entry) -> String) -> Figures {
    let mut figures = Figures::new();
    for entry in entries {
        let figure = (figures.entry(key(entry)).or_default())
            .entry(entry.measure)
            .or_default();
        figure.total += 1;
        figure.covered += usize::from(entry.status == Status::Covered);
    }
    for measures in figures.values_mut() {
        for measure in Measure::ALL {
            measures.entry(measure).or_default();
        }
    }
    figures
}

fn status(covered: bool, approached: bool) -> Status {
    match (covered, approached) {
        (true, _) => Status::Covered,
        (false, true) => Status::Approached,
        (false, false) => Status::Open,
    }
}

/// Case → the items of the WIT functions its scenario's code calls, and
/// those of the interfaces its guest exports, which the host calls.
fn calls_by_case(
    spec: &Spec,
    cases: &[Case],
    guests_dir: &Path,
) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let raw_file = guests_dir.join("common/src/raw.rs");
    let raw = std::fs::read_to_string(&raw_file)
        .map_err(|e| format!("cannot read {}: {e}", raw_file.display()))?;
    let bindings = calls::Bindings::new(&spec.functions, &raw);
    let mut parsed = BTreeMap::new();
    let mut calls = BTreeMap::new();
    for case in cases {
        if !parsed.contains_key(&case.guest) {
            let (file, source) = code_path::guest_source(guests_dir, &case.guest)?;
            let parsed_file = code_path::parse(&source, &file)?;
            let with_modules = code_path::with_included_modules(parsed_file, &file)?;
            parsed.insert(case.guest.clone(), (with_modules, file));
        }
        let (file, path) = &parsed[&case.guest];
        let code_path = CodePath::find(file, &case.scenario, path)?;
        let mut called = bindings.calls(file, &code_path);
        let exported = spec.exports.get(&case.guest).into_iter().flatten();
        for interface in exported {
            called.extend(
                (spec.functions.iter())
                    .filter(|function| &function.interface == interface)
                    .map(|function| function.item.clone()),
            );
        }
        calls.insert(case.name.to_string(), called);
    }
    Ok(calls)
}
