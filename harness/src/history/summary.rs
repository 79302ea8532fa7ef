//! `history.toml`: what the time-lapse found, committed beside the cases so
//! that the drafts can say since which release a host behaves as they
//! report and the README's history table can be written, neither of them
//! needing the hosts installed. A run of `cargo xtask timelapse` on every
//! host rewrites it (a run of some cases rewrites theirs).

use super::matrix::{Cell, Row, Timelapse, Verdict};
use super::releases::numbers;
use crate::file_error::FileError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The kind of the WASI release columns: the newest wasmtime CLI with
/// the guests of each WASI 0.2 release, whose versions are the releases.
pub const WASI_RELEASES: &str = "wasi-releases";

const HEADER: &str = "# What `cargo xtask timelapse` found: written by it, do not edit. Read by\n# `cargo xtask upstream`, whose drafts say when each behaviour they report\n# first appeared, and which writes the README's history table from it.\n";

#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Summary {
    /// Each kind of host's releases in the time-lapse, oldest first.
    pub releases: BTreeMap<String, Vec<String>>,
    /// The cases the time-lapse ran: a case missing here is newer than
    /// the history.
    pub cases: BTreeSet<String>,
    /// Every case where a kind of host behaved otherwise from one release
    /// to the next.
    #[serde(default, rename = "change")]
    pub changes: Vec<Found>,
    /// Every case a kind's newest release violates: since when.
    #[serde(default, rename = "violation")]
    pub violations: Vec<Since>,
}

/// A change: the first release that behaves the new way.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Found {
    pub case: String,
    pub kind: String,
    /// The first release that behaves the new way.
    pub first: String,
    /// The release before it in the history, which behaves the old way:
    /// the change is exact when no release lies between the two and none
    /// was passed over.
    pub after: String,
    pub before: String,
    pub now: String,
    /// `0.2.0 → 0.2.12` when the guests' WASI release changed too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guests: Option<String>,
    /// Releases between the two that ran the case and said nothing (their
    /// runs varied, or the harness could not run them): the change is not
    /// exact while there are any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<String>,
}

/// Since which release a kind of host does what its newest release does
/// on a case that release violates.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Since {
    pub case: String,
    pub kind: String,
    /// The first release of the newest behaviour (the oldest release of
    /// the history when every release did so).
    pub first_seen: String,
    /// The newest release before that which conformed, if any did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good: Option<String>,
    /// The releases that gave no steady answer witness could read, from the
    /// first (or those before it since the last good one) on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

impl Summary {
    /// What `timelapse` found.
    pub fn of(timelapse: &Timelapse) -> Summary {
        let mut releases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for column in &timelapse.hosts {
            (releases.entry(column.kind.clone()).or_default()).push(column.version.clone());
        }
        let version = |host: &str| {
            let column = timelapse.hosts.iter().find(|column| column.name == host);
            column.map(|column| (column.kind.clone(), column.version.clone()))
        };
        let mut summary = Summary {
            releases,
            cases: (timelapse.cases.iter())
                .map(|row| row.case.clone())
                .collect(),
            ..Summary::default()
        };
        for row in &timelapse.cases {
            for change in &row.changes {
                let (Some((kind, first)), Some((_, after))) =
                    (version(&change.host), version(&change.before_host))
                else {
                    continue;
                };
                summary.changes.push(Found {
                    case: row.case.clone(),
                    kind,
                    first,
                    after,
                    before: change.before.clone(),
                    now: change.now.clone(),
                    guests: change.guests.clone(),
                    passed_over: (change.passed_over.iter())
                        .filter_map(|host| Some(version(host)?.1))
                        .collect(),
                });
            }
            // The WASI release columns are one host's: its violations are
            // its kind's already.
            let kinds: BTreeSet<&str> = (timelapse.hosts.iter())
                .map(|column| column.kind.as_str())
                .filter(|kind| *kind != WASI_RELEASES)
                .collect();
            for kind in kinds {
                if let Some(since) = since(timelapse, row, kind) {
                    summary.violations.push(since);
                }
            }
        }
        summary
    }

    /// `history.toml`, or an empty history where there is none yet.
    pub fn load(path: &Path) -> Result<Summary, FileError> {
        let source = match std::fs::read_to_string(path) {
            Ok(source) => source,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Summary::default()),
            Err(e) => return Err(FileError::unreadable(path, &e)),
        };
        toml::from_str(&source).map_err(|e| {
            FileError::toml(
                path,
                &source,
                &e,
                "history.toml is written by `cargo xtask timelapse`: run it again rather than editing the file",
            )
        })
    }

    /// As `history.toml` holds it.
    pub fn render(&self) -> String {
        let body = toml::to_string_pretty(self).expect("a summary serialises");
        format!("{HEADER}\n{body}")
    }

    /// This summary with `fresh`'s findings for the cases `fresh` ran in
    /// place of its own: a run of some cases keeps the others'.
    pub fn merged(self, fresh: Summary, ran: &BTreeSet<String>) -> Summary {
        let kept = |case: &String| !ran.contains(case);
        let mut changes: Vec<Found> = self.changes.into_iter().filter(|f| kept(&f.case)).collect();
        changes.extend(fresh.changes);
        changes.sort_by(|a, b| (&a.case, &a.kind).cmp(&(&b.case, &b.kind)));
        let mut violations: Vec<Since> = (self.violations.into_iter())
            .filter(|s| kept(&s.case))
            .collect();
        violations.extend(fresh.violations);
        violations.sort_by(|a, b| (&a.case, &a.kind).cmp(&(&b.case, &b.kind)));
        let mut cases: BTreeSet<String> = self.cases.into_iter().filter(kept).collect();
        cases.extend(fresh.cases);
        Summary {
            releases: fresh.releases,
            cases,
            changes,
            violations,
        }
    }

    /// What the history says of `case` on `kind`'s releases: the
    /// violation's first release and last good one, if its newest violates.
    pub fn since(&self, case: &str, kind: &str) -> Option<&Since> {
        (self.violations.iter()).find(|since| since.case == case && since.kind == kind)
    }
}

/// The lines the README's history section sits between.
pub const README_BEGIN: &str =
    "<!-- history: generated by `cargo xtask upstream` from history.toml -->";
pub const README_END: &str = "<!-- history: end -->";

impl Summary {
    /// The README's history section, markers included.
    pub fn readme_section(&self) -> String {
        let mut text = format!("{README_BEGIN}\n");
        text.push_str("The releases in the history, oldest first:\n\n");
        for (kind, releases) in &self.releases {
            text.push_str(&format!("- {kind}: {}\n", releases.join(", ")));
        }
        text.push_str(&format!(
            "\nOf {} cases, {} changed from one release to the next. Each change is named at the first release that behaves the new way, after the release before it in the history (the guests' WASI release in parentheses where it changed between the two: then the change may be the guests' as much as the host's):\n\n",
            self.cases.len(),
            (self.changes.iter().map(|found| &found.case)).collect::<BTreeSet<_>>().len()
        ));
        text.push_str("| case | host | first release | after | before | now |\n| --- | --- | --- | --- | --- | --- |\n");
        for found in &self.changes {
            let guests = (found.guests.as_ref())
                .map(|guests| format!(" (guests {guests})"))
                .unwrap_or_default();
            let passed_over = not_exact("them", &found.passed_over);
            text.push_str(&format!(
                "| `{}` | {} | {}{guests} | {}{passed_over} | {} | {} |\n",
                found.case,
                found.kind,
                found.first,
                found.after,
                cell(&found.before),
                cell(&found.now)
            ));
        }
        text.push_str(&format!(
            "\n{} times a kind's newest release violates a case's clause. Since when, and the newest release before that which conformed:\n\n| case | host | first seen | last good release |\n| --- | --- | --- | --- |\n",
            self.violations.len()
        ));
        for since in &self.violations {
            text.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                since.case,
                since.kind,
                self.first_seen(since),
                since.last_good.as_deref().unwrap_or("none in the history")
            ));
        }
        text.push_str(README_END);
        text.push('\n');
        text
    }

    /// `since`'s first release, said to be the history's oldest where it
    /// is, and not exact where the change to it passed over releases.
    pub fn first_seen(&self, since: &Since) -> String {
        let oldest = (self.releases.get(&since.kind)).and_then(|releases| releases.first());
        let change = (self.changes.iter()).find(|found| {
            (found.case == since.case && found.kind == since.kind)
                && found.first == since.first_seen
        });
        match (oldest == Some(&since.first_seen), change) {
            (true, _) if since.unread.is_empty() => format!(
                "{} (the oldest in the history: every release)",
                since.first_seen
            ),
            (true, _) => format!(
                "{} (the oldest in the history: every release but {}, which {NO_STEADY_ANSWER})",
                since.first_seen,
                since.unread.join(", ")
            ),
            (false, Some(change)) => {
                let after = since.last_good.as_ref().unwrap_or(&change.after);
                let between = format!("it and {after}");
                let unsure = not_exact(&between, &unsure(change, since));
                format!("{}{unsure}", since.first_seen)
            }
            (false, None) if !since.unread.is_empty() => format!(
                "{} (not exact: {} {NO_STEADY_ANSWER})",
                since.first_seen,
                since.unread.join(", ")
            ),
            (false, None) => since.first_seen.clone(),
        }
    }
}

/// What the history says of releases whose runs varied, or that witness
/// could not run or read.
const NO_STEADY_ANSWER: &str = "gave no steady answer witness could read";

/// ` (not exact: between BETWEEN, RELEASES gave no steady answer witness
/// could read)` (their runs varied, or witness could not run or read them),
/// or nothing where no release was passed over.
fn not_exact<S: AsRef<str>>(between: &str, releases: &[S]) -> String {
    match releases.is_empty() {
        true => String::new(),
        false => {
            let releases: Vec<&str> = releases.iter().map(AsRef::as_ref).collect();
            let releases = releases.join(", ");
            format!(" (not exact: between {between}, {releases} {NO_STEADY_ANSWER})")
        }
    }
}

/// The releases `change` passed over after `since`'s last good one: one
/// whose runs varied but all conformed is good, so the violation is not
/// before it.
fn unsure<'a>(change: &'a Found, since: &Since) -> Vec<&'a str> {
    let after_good = |release: &&String| {
        (since.last_good.as_ref()).is_none_or(|good| numbers(release) > numbers(good))
    };
    (change.passed_over.iter())
        .filter(after_good)
        .map(String::as_str)
        .collect()
}

/// `text` fit for a Markdown table's cell.
fn cell(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|").replace('`', "'"))
}

/// Since when `kind`'s releases do on `row`'s case what the newest does,
/// when that violates the clause: the first release of its newest change
/// (as [`super::matrix::changes`] names them), or the oldest release with a
/// cell when it never changed, but never at or before a release that
/// conformed.
fn since(timelapse: &Timelapse, row: &Row, kind: &str) -> Option<Since> {
    let lineage: Vec<(&str, &str, &Cell)> = (timelapse.hosts.iter())
        .filter(|column| column.kind == kind)
        .filter_map(|column| {
            let cell = row.cells.get(&column.name)?;
            Some((column.name.as_str(), column.version.as_str(), cell))
        })
        .collect();
    let (_, _, newest) = lineage.last()?;
    let verdict = |cell: &Cell| match cell {
        Cell::Did { verdict, .. } => *verdict,
        _ => None,
    };
    if verdict(newest) != Some(Verdict::Violates) {
        return None;
    }
    // A release conformed when what it did conforms and is not one run of
    // outcomes a record knows the kind to alternate between (no evidence).
    let good =
        |cell: &Cell| verdict(cell) == Some(Verdict::Conforms) && cell.alternation().is_none();
    // After the newest release that conformed too: one whose runs varied,
    // all conforming, is no side of a change, yet it conformed.
    let changed = (row.changes.iter().rev())
        .find_map(|change| lineage.iter().position(|(name, ..)| *name == change.host))
        .unwrap_or(0);
    let conformed = (lineage.iter())
        .rposition(|(_, _, cell)| good(cell))
        .map_or(0, |at| at + 1);
    let start = changed.max(conformed);
    // Releases that said nothing at the start are not where it was seen.
    let first = (lineage[start..].iter())
        .position(|(_, _, cell)| cell.is_evidence())
        .map_or(start, |at| start + at);
    let last_good = (lineage[..first].iter().rev())
        .find(|(_, _, cell)| good(cell))
        .map(|(_, version, _)| version.to_string());
    let unread = (lineage[start..].iter())
        .filter(|(_, _, cell)| !cell.is_evidence())
        .map(|(_, version, _)| version.to_string())
        .collect();
    Some(Since {
        case: row.case.clone(),
        kind: kind.to_string(),
        first_seen: lineage[first].1.to_string(),
        last_good,
        unread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::matrix::Column;

    fn column(version: &str) -> Column {
        Column {
            name: format!("wasmtime-cli-{version}"),
            kind: "wasmtime-cli".into(),
            version: version.into(),
            wit: "0.2.12".into(),
        }
    }

    fn did(text: &str, verdict: Option<Verdict>) -> Cell {
        Cell::Did {
            did: text.into(),
            message: None,
            varies: Vec::new(),
            alternates: None,
            verdict,
        }
    }

    /// The history of `case` on the CLIs of `cells`, one cell each.
    fn history(case: &str, cells: Vec<(&str, Cell)>) -> Summary {
        let hosts: Vec<Column> = cells.iter().map(|(version, _)| column(version)).collect();
        let cells: BTreeMap<String, Cell> = (cells.into_iter())
            .map(|(version, cell)| (format!("wasmtime-cli-{version}"), cell))
            .collect();
        let row = Row {
            case: case.into(),
            citations: BTreeMap::new(),
            changes: crate::history::matrix::changes(&hosts, &cells),
            cells,
        };
        Summary::of(&Timelapse {
            hosts,
            cases: vec![row],
        })
    }

    #[test]
    fn a_violation_is_first_seen_where_the_newest_behaviour_began_and_last_good_where_it_conformed()
    {
        use Verdict::*;
        let summary = history(
            "streams::closed-input-read-zero",
            vec![
                ("17.0.3", did("hang", Some(Violates))),
                ("18.0.4", did("err(closed)", Some(Conforms))),
                ("44.0.1", did("trap by host", Some(Violates))),
                ("45.0.2", did("ok([])", Some(Violates))),
                ("49.0.3", did("ok([])", Some(Violates))),
            ],
        );
        let since = summary
            .since("streams::closed-input-read-zero", "wasmtime-cli")
            .unwrap();
        assert_eq!(since.first_seen, "45.0.2");
        // 44.0.1 violated too, otherwise: the last good release is older.
        assert_eq!(since.last_good.as_deref(), Some("18.0.4"));
        assert_eq!(summary.changes.len(), 3);
        assert_eq!(summary.changes[2].first, "45.0.2");
        assert_eq!(summary.changes[2].after, "44.0.1");
        // Outcomes a record knows the kind to alternate between, one run
        // each: one that conformed is no evidence the release was good.
        let alternating = |text: &str, verdict| Cell::Did {
            did: text.into(),
            message: None,
            varies: Vec::new(),
            alternates: Some("records/wasmtime-cli-49.0.3.toml: timing".into()),
            verdict: Some(verdict),
        };
        let alternation = history(
            "poll::timing",
            vec![
                ("44.0.1", alternating("ready", Conforms)),
                ("45.0.2", alternating("hang", Violates)),
                ("49.0.3", alternating("hang", Violates)),
            ],
        );
        assert!(alternation.changes.is_empty());
        let since = alternation.since("poll::timing", "wasmtime-cli").unwrap();
        assert_eq!(since.first_seen, "44.0.1");
        assert_eq!(since.last_good, None);
        // A release whose runs varied, every one conforming, is no side of
        // a change, yet the last good release.
        let all_conforming = Cell::Did {
            did: "indices = [0, 1]".into(),
            message: None,
            varies: vec!["indices = [1, 0]".into()],
            alternates: None,
            verdict: Some(Conforms),
        };
        let varied = history(
            "poll::order",
            vec![
                ("44.0.1", did("hang", Some(Violates))),
                ("45.0.2", all_conforming.clone()),
                ("49.0.3", did("hang", Some(Violates))),
            ],
        );
        assert!(varied.changes.is_empty());
        let since = varied.since("poll::order", "wasmtime-cli").unwrap();
        assert_eq!(since.first_seen, "49.0.3");
        assert_eq!(since.last_good.as_deref(), Some("45.0.2"));
        // A change across a release that said nothing is not exact, and
        // the README's table says so.
        let across = history(
            "poll::order",
            vec![
                ("44.0.1", did("hang", Some(Violates))),
                (
                    "45.0.2",
                    Cell::Error {
                        error: "the guest was not built".into(),
                    },
                ),
                ("49.0.3", did("trap by host", Some(Violates))),
            ],
        );
        assert_eq!(across.changes[0].passed_over, ["45.0.2"]);
        let since = across.since("poll::order", "wasmtime-cli").unwrap();
        assert_eq!(
            across.first_seen(since),
            "49.0.3 (not exact: between it and 44.0.1, 45.0.2 gave no steady answer witness could read)"
        );
        assert!(across.readme_section().contains(
            "| 44.0.1 (not exact: between them, 45.0.2 gave no steady answer witness could read) |"
        ));
        // A release passed over whose runs all conformed is the last good
        // one: the violation is not said to be unsure across it.
        let good_between = history(
            "poll::order",
            vec![
                ("44.0.1", did("hang", Some(Violates))),
                ("45.0.2", all_conforming),
                ("49.0.3", did("trap by host", Some(Violates))),
            ],
        );
        assert_eq!(good_between.changes[0].passed_over, ["45.0.2"]);
        let since = good_between.since("poll::order", "wasmtime-cli").unwrap();
        assert_eq!(since.last_good.as_deref(), Some("45.0.2"));
        assert_eq!(good_between.first_seen(since), "49.0.3");
        // A violation of every release but one that said nothing.
        let unread = history(
            "poll::order",
            vec![
                ("44.0.1", did("hang", Some(Violates))),
                (
                    "45.0.2",
                    Cell::Error {
                        error: "no cause".into(),
                    },
                ),
                ("49.0.3", did("hang", Some(Violates))),
            ],
        );
        let since = unread.since("poll::order", "wasmtime-cli").unwrap();
        assert_eq!(
            unread.first_seen(since),
            "44.0.1 (the oldest in the history: every release but 45.0.2, which gave no steady answer witness could read)"
        );
        // One that said nothing at the history's start is not where the
        // violation was first seen.
        let unread_first = history(
            "poll::order",
            vec![
                (
                    "44.0.1",
                    Cell::Error {
                        error: "no cause".into(),
                    },
                ),
                ("45.0.2", did("hang", Some(Violates))),
                ("49.0.3", did("hang", Some(Violates))),
            ],
        );
        let since = unread_first.since("poll::order", "wasmtime-cli").unwrap();
        assert_eq!(
            unread_first.first_seen(since),
            "45.0.2 (not exact: 44.0.1 gave no steady answer witness could read)"
        );
        // Read back as written.
        assert_eq!(
            toml::from_str::<Summary>(&summary.render()).unwrap(),
            summary
        );
    }
}
