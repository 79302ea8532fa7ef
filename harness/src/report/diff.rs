//! What changed between two runs (`cargo xtask diff OLD.json NEW.json`,
//! two files `--json` wrote): the view a runtime team reads before a
//! release, or a spec editor after a WIT change. Trials are matched by
//! name, or by case when each run is of one host and the hosts differ (a
//! CLI's old version against its new one); each changed trial is listed
//! once, in the first section it fits.

use crate::report::results::TrialResult;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

/// The part of a `--json` file a diff reads.
#[derive(Deserialize)]
pub struct Run {
    pub trials: Vec<TrialResult>,
    /// The coverage ledger, when the run could make one.
    #[serde(default)]
    pub ledger: Option<crate::ledger::Ledger>,
}

/// Where a changed trial is listed, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// The spec verdict became a violation (known or not).
    NewViolations,
    /// A violation (known or not) now conforms: a divergence to retire.
    Fixed,
    /// The host can now run the case, or no longer can.
    Applicability,
    /// Another change of the spec verdict (a silent case became a clause…).
    VerdictChanged,
    /// What the host did: outcome, trap side or code, exit, observations.
    BehaviourChanged,
    /// Only the host's text changed.
    MessageChanged,
    /// A trial the old run did not have.
    Added,
    /// A trial the new run does not have.
    Gone,
}

/// What changed between two runs.
#[derive(Debug)]
pub struct Diff {
    /// `(old, new)` when each run is of one host and they differ: trials
    /// are then matched by case.
    pub hosts: Option<(String, String)>,
    pub changes: Vec<Change>,
}

/// One trial that changed, with what changed about it.
#[derive(Debug)]
pub struct Change {
    pub section: Section,
    pub trial: String,
    /// `(what, before, after)`: spec, did, message; only what differs.
    pub details: Vec<(&'static str, String, String)>,
}

const VIOLATIONS: [&str; 2] = ["violates", "known-violation"];
const CONFORMING: [&str; 2] = ["conforms", "stale-divergence"];
const NOT_APPLICABLE: &str = "not-applicable";

impl Run {
    pub fn load(path: &Path) -> Result<Run, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not the JSON of a witness run: {e}\n  help: write one with `cargo xtask test --json FILE`",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::NewViolations => "new violations",
            Section::Fixed => "fixed: violations that now conform",
            Section::Applicability => "applicability changed",
            Section::VerdictChanged => "spec verdict changed",
            Section::BehaviourChanged => "behaviour changed",
            Section::MessageChanged => "message changed",
            Section::Added => "added",
            Section::Gone => "gone",
        }
    }
}

/// The hosts a run's case trials name.
fn hosts(run: &Run) -> BTreeSet<&str> {
    (run.trials.iter())
        .filter_map(TrialResult::host_and_case)
        .map(|(host, _)| host)
        .collect()
}

/// Every trial that differs between `old` and `new`, in section order.
pub fn diff(old: &Run, new: &Run) -> Diff {
    let (old_hosts, new_hosts) = (hosts(old), hosts(new));
    let (old_hosts, new_hosts): (Vec<_>, Vec<_>) = (
        old_hosts.into_iter().collect(),
        new_hosts.into_iter().collect(),
    );
    let hosts = match (old_hosts.as_slice(), new_hosts.as_slice()) {
        ([old], [new]) if old != new => Some((old.to_string(), new.to_string())),
        _ => None,
    };
    // Matched by case: `<host>::<case>` → `<case>`, `records::<host>` → `records`.
    let key = |trial: &str, host: Option<&str>| -> String {
        let Some(host) = host else {
            return trial.to_string();
        };
        match trial.split_once("::") {
            Some((prefix, case)) if prefix == host => case.to_string(),
            Some(("records", name)) if name == host => "records".to_string(),
            _ => trial.to_string(),
        }
    };
    let by_key = |run: &Run, host: Option<&str>| -> BTreeMap<String, TrialResult> {
        (run.trials.iter())
            .map(|trial| (key(&trial.trial, host), trial.clone()))
            .collect()
    };
    let old = by_key(old, hosts.as_ref().map(|(old, _)| old.as_str()));
    let new = by_key(new, hosts.as_ref().map(|(_, new)| new.as_str()));
    let mut changes = Vec::new();
    for (name, before) in &old {
        match new.get(name) {
            None => changes.push(Change {
                section: Section::Gone,
                trial: name.clone(),
                details: Vec::new(),
            }),
            Some(after) => changes.extend(compare(name, before, after)),
        }
    }
    for name in new.keys().filter(|name| !old.contains_key(*name)) {
        changes.push(Change {
            section: Section::Added,
            trial: name.clone(),
            details: Vec::new(),
        });
    }
    changes.sort_by(|a, b| (a.section, &a.trial).cmp(&(b.section, &b.trial)));
    Diff { hosts, changes }
}

/// The change of one trial, if anything about it changed.
fn compare(name: &str, before: &TrialResult, after: &TrialResult) -> Option<Change> {
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    let mut details = Vec::new();
    for (what, a, b) in [
        ("spec", &before.spec, &after.spec),
        ("did", &before.behaviour, &after.behaviour),
        ("message", &before.message, &after.message),
    ] {
        if a != b {
            details.push((what, text(a), text(b)));
        }
    }
    let (spec_before, spec_after) = (
        before.spec.as_deref().unwrap_or("-"),
        after.spec.as_deref().unwrap_or("-"),
    );
    let section = if spec_before == spec_after {
        if before.behaviour != after.behaviour {
            Section::BehaviourChanged
        } else if before.message != after.message {
            Section::MessageChanged
        } else {
            return None;
        }
    } else if spec_before == NOT_APPLICABLE || spec_after == NOT_APPLICABLE {
        Section::Applicability
    } else if VIOLATIONS.contains(&spec_after) && !VIOLATIONS.contains(&spec_before) {
        Section::NewViolations
    } else if VIOLATIONS.contains(&spec_before) && CONFORMING.contains(&spec_after) {
        Section::Fixed
    } else {
        Section::VerdictChanged
    };
    Some(Change {
        section,
        trial: name.to_string(),
        details,
    })
}

impl Diff {
    /// Whether a trial newly violates the spec.
    pub fn has_new_violations(&self) -> bool {
        (self.changes.iter()).any(|change| change.section == Section::NewViolations)
    }

    /// The changes as text: the hosts compared, a count per section, then
    /// each section.
    pub fn render(&self) -> String {
        let compared = match &self.hosts {
            Some((old, new)) => format!("{old} → {new}, case by case\n"),
            None => String::new(),
        };
        format!("{compared}{}", render(&self.changes))
    }
}

fn render(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no trial changed\n".into();
    }
    let mut counts: BTreeMap<Section, usize> = BTreeMap::new();
    for change in changes {
        *counts.entry(change.section).or_default() += 1;
    }
    let summary: Vec<String> = (counts.iter())
        .map(|(section, n)| format!("{n} {}", section.title().split(':').next().unwrap_or("")))
        .collect();
    let mut out = format!("{}\n", summary.join(", "));
    let mut section = None;
    for change in changes {
        if section != Some(change.section) {
            section = Some(change.section);
            let _ = writeln!(
                out,
                "\n{} ({})",
                change.section.title(),
                counts[&change.section]
            );
        }
        let _ = writeln!(out, "  {}", change.trial);
        for (what, before, after) in &change.details {
            let one_line = |text: &str| {
                text.trim_end()
                    .replace("observations.", "")
                    .replace('\n', "; ")
            };
            let _ = writeln!(
                out,
                "    {what:8} {} → {}",
                one_line(before),
                one_line(after)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(name: &str, spec: &str, did: &str, message: Option<&str>) -> TrialResult {
        TrialResult {
            trial: name.into(),
            passed: true,
            outcome: Some(did.split(',').next().unwrap_or(did).into()),
            behaviour: Some(did.into()),
            message: message.map(str::to_string),
            spec: Some(spec.into()),
            record: Some("unchanged".into()),
            upstream: None,
            not_applicable: None,
            seconds: 0.0,
            failure: None,
            detail: None,
            intermittent: None,
        }
    }

    fn sections(old: Vec<TrialResult>, new: Vec<TrialResult>) -> Vec<(Section, String)> {
        diff(
            &Run {
                trials: old,
                ledger: None,
            },
            &Run {
                trials: new,
                ledger: None,
            },
        )
        .changes
        .into_iter()
        .map(|change| (change.section, change.trial))
        .collect()
    }

    #[test]
    fn each_change_lands_in_its_section() {
        let done = "completed, exit 0";
        let old = vec![
            trial("h::a", "conforms", done, None),
            trial("h::b", "known-violation", done, None),
            trial("h::c", "conforms", "trap by host", Some("empty poll list")),
            trial("h::d", "not-judged", done, None),
            trial("h::e", "conforms", done, None),
            trial("h::f", "conforms", done, None),
            trial("h::same", "conforms", done, None),
            trial("h::gone", "conforms", done, None),
        ];
        let new = vec![
            trial("h::a", "violates", "trap by host", Some("boom")),
            trial("h::b", "stale-divergence", "trap by host", None),
            trial("h::c", "conforms", "trap by host", Some("empty list")),
            trial("h::d", "not-judged", "hang", None),
            trial("h::e", "not-applicable", "-", None),
            trial("h::f", "known-violation", done, None),
            trial("h::same", "conforms", done, None),
            trial("h::added", "conforms", done, None),
        ];
        assert_eq!(
            sections(old, new),
            [
                (Section::NewViolations, "h::a".into()),
                (Section::NewViolations, "h::f".into()),
                (Section::Fixed, "h::b".into()),
                (Section::Applicability, "h::e".into()),
                (Section::BehaviourChanged, "h::d".into()),
                (Section::MessageChanged, "h::c".into()),
                (Section::Added, "h::added".into()),
                (Section::Gone, "h::gone".into()),
            ]
        );
    }

    #[test]
    fn the_report_shows_before_and_after_of_what_changed() {
        let old = Run {
            trials: vec![trial(
                "h::a",
                "conforms",
                "completed, exit 0\nindices = [0]",
                None,
            )],
            ledger: None,
        };
        let new = Run {
            trials: vec![trial(
                "h::a",
                "violates",
                "trap by host",
                Some("empty poll list"),
            )],
            ledger: None,
        };
        let report = diff(&old, &new).render();
        assert!(report.starts_with("1 new violations\n"), "{report}");
        assert!(
            report.contains("\nnew violations (1)\n  h::a\n"),
            "{report}"
        );
        assert!(
            report.contains("    spec     conforms → violates\n"),
            "{report}"
        );
        assert!(
            report.contains("    did      completed, exit 0; indices = [0] → trap by host\n"),
            "{report}"
        );
        assert!(
            report.contains("    message  - → empty poll list\n"),
            "{report}"
        );
        assert_eq!(diff(&old, &old).render(), "no trial changed\n");
    }

    #[test]
    fn runs_of_one_host_each_are_compared_case_by_case() {
        let done = "completed, exit 0";
        let old = Run {
            trials: vec![
                trial("cli-36::poll::a", "conforms", done, None),
                trial("cli-36::poll::b", "conforms", done, None),
                trial("guests::poll::scenarios", "-", "-", None),
            ],
            ledger: None,
        };
        let new = Run {
            trials: vec![
                trial("cli-49::poll::a", "conforms", done, None),
                trial("cli-49::poll::b", "conforms", "hang", None),
                trial("guests::poll::scenarios", "-", "-", None),
            ],
            ledger: None,
        };
        let diff = diff(&old, &new);
        assert_eq!(diff.hosts, Some(("cli-36".into(), "cli-49".into())));
        assert!(
            diff.render()
                .starts_with("cli-36 → cli-49, case by case\n1 behaviour changed\n")
        );
        assert_eq!(diff.changes.len(), 1);
        assert_eq!(diff.changes[0].trial, "poll::b");
    }
}
