//! A time-lapse (`cargo xtask timelapse`): what each host of
//! `timelapse.toml` did on each case, and where each kind of host changed
//! from one installed version to the next. History, not a gate: the types
//! of `target/witness/timelapse.json`, which the HTML report shows too.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One host of the time-lapse, as the matrix names it.
#[derive(Serialize, Deserialize, Clone)]
pub struct Column {
    pub name: String,
    pub kind: String,
    pub version: String,
    /// The WASI 0.2 release the guests run on this host carried (`0.2.0`).
    pub wit: String,
}

/// What one host did on one case: in the JSON, `{"did", "message"}`,
/// `{"not-applicable"}` or `{"error"}`.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
#[serde(untagged, rename_all_fields = "kebab-case")]
pub enum Cell {
    /// The outcome and observations, message texts aside, and the message.
    Did {
        did: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// What else the host did when the case ran again (only cells on
        /// either side of a change run again): a cell that varies is no
        /// evidence of a change.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        varies: Vec<String>,
        /// Where the records of this kind's hosts list what it did among
        /// the outcomes they vary between from run to run: which record,
        /// and why. Two such cells in a row are no evidence of a change,
        /// however steady each was when run again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alternates: Option<String>,
        /// Whether that is what the case's clause allows, where the clause
        /// holds in the release the guests carried.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict: Option<Verdict>,
    },
    /// Why this host cannot run the case (it cannot confine wasi:sockets, ...).
    NotApplicable { not_applicable: String },
    /// Why the harness could not run it (a guest not built, ...).
    Error { error: String },
}

/// A cell against its case's clause: what a draft's "last good release"
/// is made of. Divergences are not consulted: history says what each
/// release did, not what is tracked upstream.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Conforms,
    Violates,
}

impl Cell {
    /// What the change list compares and prints.
    pub fn summary(&self) -> String {
        match self {
            Cell::Did { did, varies, .. } => {
                let did = did.trim_end().replace('\n', " ");
                match varies.is_empty() {
                    true => did,
                    false => format!("{did}, or on another run: {}", varies.join(" | ")),
                }
            }
            Cell::NotApplicable { not_applicable } => format!("not applicable: {not_applicable}"),
            Cell::Error { error } => format!("harness error: {error}"),
        }
    }
}

impl Cell {
    /// This cell with what the host did when the case ran `again` (a run
    /// the harness could not make is no behaviour): the other behaviours,
    /// and a violation if any run violated (a host that breaks the clause
    /// some of the time breaks it).
    pub fn with_runs_again(mut self, again: &[Cell]) -> Cell {
        let first = self.summary();
        let again: Vec<&Cell> = (again.iter())
            .filter(|cell| !matches!(cell, Cell::Error { .. }))
            .collect();
        let violated = (again.iter()).any(|cell| {
            matches!(
                cell,
                Cell::Did {
                    verdict: Some(Verdict::Violates),
                    ..
                }
            )
        });
        if let Cell::Did {
            varies, verdict, ..
        } = &mut self
        {
            for other in again.iter().map(|cell| cell.summary()) {
                if other != first && !varies.contains(&other) {
                    varies.push(other);
                }
            }
            if violated {
                *verdict = Some(Verdict::Violates);
            }
        }
        self
    }
}

/// The first installed version of a kind of host that did otherwise than
/// the version before it.
#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "kebab-case")]
pub struct Change {
    pub host: String,
    /// The version before it, which behaved the old way.
    pub before_host: String,
    pub before: String,
    pub now: String,
    /// `0.2.0 → 0.2.12` when the guests' WASI release changed too: the
    /// change may be the guests', not only the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guests: Option<String>,
    /// The hosts of the kind between the two that ran the case and said
    /// nothing (their runs varied, or the harness could not run them):
    /// while there are any, the change is not exact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<String>,
}

/// One case on every host, and where each kind of host changed.
#[derive(Serialize, Deserialize, Clone)]
pub struct Row {
    pub case: String,
    /// For each WASI release the guests carried where the case's citation
    /// does not hold, why (the clause came later, the item did not exist
    /// yet): history too. Releases where it holds are absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub citations: BTreeMap<String, String>,
    pub cells: BTreeMap<String, Cell>,
    pub changes: Vec<Change>,
}

/// `target/witness/timelapse.json`.
#[derive(Serialize, Deserialize)]
pub struct Timelapse {
    pub hosts: Vec<Column>,
    pub cases: Vec<Row>,
}

impl Cell {
    /// Whether the host did otherwise when the case ran again.
    pub fn varies(&self) -> bool {
        matches!(self, Cell::Did { varies, .. } if !varies.is_empty())
    }

    /// Whether this cell says what the release does: not when its runs
    /// varied, nor when the harness could not run it.
    pub fn is_evidence(&self) -> bool {
        !self.varies() && !matches!(self, Cell::Error { .. })
    }

    /// Which record lists what the host did among the outcomes it varies
    /// between, and why.
    pub fn alternation(&self) -> Option<&str> {
        match self {
            Cell::Did { alternates, .. } => alternates.as_deref(),
            _ => None,
        }
    }
}

/// Each column whose cell differs from the column before it of the same
/// kind: the first installed version that behaved otherwise. Passed over:
/// columns without a cell for the case (a release a bisection installed for
/// other cases), cells that varied when run again and cells the harness
/// could not run (no evidence either way, which must not hide a change
/// between their neighbours). Nor is a difference between two outcomes one
/// record knows the kind to alternate between a change.
pub fn changes(columns: &[Column], cells: &BTreeMap<String, Cell>) -> Vec<Change> {
    let present: Vec<(&Column, &Cell)> = (columns.iter())
        .filter_map(|column| Some((column, cells.get(&column.name)?)))
        .filter(|(_, cell)| cell.is_evidence())
        .collect();
    present
        .windows(2)
        .filter(|pair| pair[0].0.kind == pair[1].0.kind)
        .filter(|pair| {
            let alternation = pair[0].1.alternation();
            alternation.is_none() || alternation != pair[1].1.alternation()
        })
        .filter_map(|pair| {
            let ((was, before), (is, now)) = (pair[0], pair[1]);
            (before.compared() != now.compared()).then(|| Change {
                host: is.name.clone(),
                before_host: was.name.clone(),
                before: before.summary(),
                now: now.summary(),
                guests: (was.wit != is.wit).then(|| format!("{} → {}", was.wit, is.wit)),
                passed_over: (columns.iter())
                    .skip_while(|column| column.name != was.name)
                    .skip(1)
                    .take_while(|column| column.name != is.name)
                    .filter(|column| column.kind == is.kind && cells.contains_key(&column.name))
                    .map(|column| column.name.clone())
                    .collect(),
            })
        })
        .collect()
}

impl Cell {
    /// What a change compares: the summary, but not applicable is no
    /// behaviour, whatever the reason.
    pub fn compared(&self) -> String {
        match self {
            Cell::NotApplicable { .. } => "not applicable".to_string(),
            cell => cell.summary(),
        }
    }
}

impl Timelapse {
    /// A time-lapse's JSON, read back.
    pub fn load(path: &Path) -> Result<Timelapse, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(kind: &'static str, version: &str, wit: &str) -> Column {
        Column {
            name: format!("{kind}-{version}"),
            kind: kind.into(),
            version: version.into(),
            wit: wit.into(),
        }
    }

    fn did(text: &str) -> Cell {
        Cell::Did {
            did: text.into(),
            message: None,
            varies: Vec::new(),
            alternates: None,
            verdict: None,
        }
    }

    #[test]
    fn a_change_is_named_at_the_first_version_that_did_otherwise_within_its_kind() {
        let columns = [
            column("jco", "1.35.0", "0.2.12"),
            column("wasmtime-cli", "17.0.3", "0.2.0"),
            column("wasmtime-cli", "36.0.9", "0.2.12"),
            column("wasmtime-cli", "42.0.1", "0.2.12"),
            column("wasmtime-cli", "45.0.2", "0.2.12"),
            column("wasmtime-cli", "49.0.3", "0.2.12"),
        ];
        let cells = BTreeMap::from([
            ("jco-1.35.0".to_string(), did("hang")),
            ("wasmtime-cli-17.0.3".to_string(), did("hang")),
            ("wasmtime-cli-36.0.9".to_string(), did("trap by host")),
            ("wasmtime-cli-42.0.1".to_string(), did("trap by host")),
            ("wasmtime-cli-45.0.2".to_string(), did("completed, exit 0")),
            ("wasmtime-cli-49.0.3".to_string(), did("completed, exit 0")),
        ]);
        let changes = changes(&columns, &cells);
        // jco is another kind: not compared with the CLI after it.
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].host, "wasmtime-cli-36.0.9");
        assert_eq!(changes[0].guests.as_deref(), Some("0.2.0 → 0.2.12"));
        assert_eq!(changes[1].host, "wasmtime-cli-45.0.2");
        assert_eq!(changes[1].before, "trap by host");
        assert_eq!(changes[1].now, "completed, exit 0");
        assert_eq!(changes[1].guests, None);
    }

    #[test]
    fn not_applicable_for_another_reason_is_no_change() {
        let columns = [
            column("wasmtime-cli", "36.0.9", "0.2.12"),
            column("wasmtime-cli", "46.0.1", "0.2.12"),
        ];
        let not_applicable = |why: &str| Cell::NotApplicable {
            not_applicable: why.into(),
        };
        let cells = BTreeMap::from([
            (
                "wasmtime-cli-36.0.9".to_string(),
                not_applicable("no -S cwd"),
            ),
            (
                "wasmtime-cli-46.0.1".to_string(),
                not_applicable("no terminal"),
            ),
        ]);
        assert!(changes(&columns, &cells).is_empty());
    }

    #[test]
    fn a_cell_that_varied_when_run_again_is_no_change() {
        let columns = [
            column("wasmtime-cli", "17.0.3", "0.2.0"),
            column("wasmtime-cli", "36.0.9", "0.2.12"),
        ];
        let varying = Cell::Did {
            did: "indices = [0, 1]".into(),
            message: None,
            varies: vec!["indices = [1, 0]".into()],
            alternates: None,
            verdict: None,
        };
        let cells = BTreeMap::from([
            ("wasmtime-cli-17.0.3".to_string(), varying.clone()),
            ("wasmtime-cli-36.0.9".to_string(), did("indices = [1, 0]")),
        ]);
        assert!(changes(&columns, &cells).is_empty());
        assert_eq!(
            varying.summary(),
            "indices = [0, 1], or on another run: indices = [1, 0]"
        );
    }

    #[test]
    fn a_cell_that_violates_on_some_run_violates() {
        let judged = |text: &str, verdict| Cell::Did {
            did: text.into(),
            message: None,
            varies: Vec::new(),
            alternates: None,
            verdict: Some(verdict),
        };
        let first = judged("completed, exit 0", Verdict::Conforms);
        let again = [
            judged("completed, exit 0", Verdict::Conforms),
            judged("hang", Verdict::Violates),
            judged("hang", Verdict::Violates),
        ];
        let cell = first.clone().with_runs_again(&again);
        assert_eq!(cell.summary(), "completed, exit 0, or on another run: hang");
        assert!(matches!(
            cell,
            Cell::Did {
                verdict: Some(Verdict::Violates),
                ..
            }
        ));
        let steady = first.clone().with_runs_again(&again[..1]);
        assert!(steady == first);
    }

    #[test]
    fn two_outcomes_a_record_knows_the_kind_to_alternate_between_are_no_change() {
        let columns = [
            column("jco", "1.2.4", "0.2.12"),
            column("jco", "1.16.1", "0.2.12"),
            column("jco", "1.25.2", "0.2.12"),
        ];
        let alternating = |did: &str| Cell::Did {
            did: did.into(),
            message: None,
            varies: Vec::new(),
            alternates: Some("records/jco.toml: the worker's timing".into()),
            verdict: None,
        };
        let cells = BTreeMap::from([
            ("jco-1.2.4".to_string(), did("trap by guest")),
            (
                "jco-1.16.1".to_string(),
                alternating("before-poll = pending"),
            ),
            ("jco-1.25.2".to_string(), alternating("before-poll = ok")),
        ]);
        let found = changes(&columns, &cells);
        // Into the alternation is a change; within it is none.
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].host, "jco-1.16.1");
        // Outcomes two records list, each its own alternation, are a change.
        let other = Cell::Did {
            did: "before-poll = ok".into(),
            message: None,
            varies: Vec::new(),
            alternates: Some("records/jco-1.25.2.toml: another timing".into()),
            verdict: None,
        };
        let cells = BTreeMap::from([
            (
                "jco-1.16.1".to_string(),
                alternating("before-poll = pending"),
            ),
            ("jco-1.25.2".to_string(), other),
        ]);
        assert_eq!(changes(&columns, &cells).len(), 1);
    }

    #[test]
    fn a_release_that_varied_or_could_not_run_between_two_that_differ_does_not_hide_their_change() {
        let columns = [
            column("wasmtime-cli", "19.0.2", "0.2.0"),
            column("wasmtime-cli", "28.0.1", "0.2.0"),
            column("wasmtime-cli", "36.0.9", "0.2.0"),
        ];
        let varying = Cell::Did {
            did: "hang".into(),
            message: None,
            varies: vec!["trap by host".into()],
            alternates: None,
            verdict: None,
        };
        let cells = BTreeMap::from([
            ("wasmtime-cli-19.0.2".to_string(), did("hang")),
            ("wasmtime-cli-28.0.1".to_string(), varying),
            ("wasmtime-cli-36.0.9".to_string(), did("trap by host")),
        ]);
        let found = changes(&columns, &cells);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].before_host, "wasmtime-cli-19.0.2");
        assert_eq!(found[0].host, "wasmtime-cli-36.0.9");
        // Which makes the change inexact.
        assert_eq!(found[0].passed_over, ["wasmtime-cli-28.0.1"]);
        // Nor does one the harness could not run.
        let mut cells = cells;
        cells.insert(
            "wasmtime-cli-28.0.1".to_string(),
            Cell::Error {
                error: "the guest was not built".into(),
            },
        );
        let found = changes(&columns, &cells);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].before_host, "wasmtime-cli-19.0.2");
    }
}
