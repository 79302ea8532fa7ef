//! Trial results: one per trial that ran, kept for the verdict summary on
//! the console and written for CI as JSON and JUnit XML once the run is over.

use crate::judge::verdict::Verdicts;
use crate::outcome::Observed;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// What one trial did: a line of the JSON results, read back by `diff`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrialResult {
    pub trial: String,
    pub passed: bool,
    /// The outcome kind observed (`completed`, `trap`, ...), when the case ran.
    pub outcome: Option<String>,
    /// What the host did, without its message texts: the outcome, a trap's
    /// side and code, the exit status and the observations. Two hosts
    /// disagree on a case when these differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<String>,
    /// The host's text: a trap's, a panic's or a link error's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The spec verdict (`conforms`, `violates`, `known-violation`,
    /// `stale-divergence`, `not-judged`), when the case ran.
    pub spec: Option<String>,
    /// The record verdict (`unchanged`, `changed`, `unrecorded`, `blessed`).
    pub record: Option<String>,
    /// The upstream issue of a known violation or a stale divergence.
    pub upstream: Option<String>,
    /// Why the host cannot run this case (`spec` and `record` are then
    /// `not-applicable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    pub seconds: f64,
    /// The failure report, as printed on the terminal.
    pub failure: Option<String>,
    /// What the HTML report shows of a case's trial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<TrialDetail>,
    /// Of an intermittent divergence: how often it showed in the trial's
    /// runs, and how many runs without it retire it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intermittent: Option<String>,
}

impl TrialResult {
    /// `(host, case)` of a case's trial, `<host>::<family>::<case>`: one
    /// with a spec verdict, the `records::<host>` and
    /// `guests::<guest>::scenarios` trials aside.
    pub fn host_and_case(&self) -> Option<(&str, &str)> {
        self.spec.as_ref()?;
        (self.trial.split_once("::")).filter(|(host, _)| !["records", "guests"].contains(host))
    }
}

/// The differential view of a run on more than one host: per case, each
/// host's outcome and spec verdict, the cases where hosts disagree first.
/// Empty for a run on one host.
pub fn matrix(trials: Vec<TrialResult>) -> Vec<MatrixRow> {
    let mut rows: BTreeMap<String, MatrixRow> = BTreeMap::new();
    let mut hosts = std::collections::BTreeSet::new();
    for result in trials {
        let Some((host, case)) = result.host_and_case() else {
            continue;
        };
        let spec = result
            .spec
            .clone()
            .expect("a case trial has a spec verdict");
        hosts.insert(host.to_string());
        let row = rows.entry(case.to_string()).or_insert_with(|| MatrixRow {
            case: case.to_string(),
            disagree: false,
            hosts: BTreeMap::new(),
        });
        row.hosts.insert(
            host.to_string(),
            MatrixCell {
                outcome: result.outcome.unwrap_or_else(|| "-".into()),
                spec,
                behaviour: result.behaviour.clone(),
            },
        );
    }
    if hosts.len() < 2 {
        return Vec::new();
    }
    let mut rows: Vec<MatrixRow> = rows.into_values().collect();
    for row in &mut rows {
        let seen: std::collections::BTreeSet<_> = row
            .hosts
            .values()
            .filter_map(|cell| cell.behaviour.as_ref())
            .collect();
        row.disagree = seen.len() > 1;
    }
    rows.sort_by_key(|row| !row.disagree);
    rows
}

/// Which hosts ran each case (applicable, with an outcome) in `trials`:
/// what the coverage ledger's `hosts` are.
pub fn ran(trials: &[TrialResult]) -> crate::ledger::Ran {
    let mut ran = crate::ledger::Ran::new();
    for trial in trials {
        if let Some((host, case)) = trial.host_and_case()
            && trial.not_applicable.is_none()
            && trial.outcome.is_some()
        {
            ran.entry(case.to_string())
                .or_default()
                .insert(host.to_string());
        }
    }
    ran
}

/// A case's trial in full, for `cargo xtask report`: the clause, what the
/// spec allows, the host's record, what was observed, and the command
/// that reproduces it; each as the case-file-shaped lines the terminal shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrialDetail {
    pub summary: String,
    /// `item: "clause"`, or `item is silent: question`.
    pub cites: String,
    pub expected: Option<String>,
    pub recorded: Option<String>,
    pub observed: String,
    pub stderr: String,
    pub reproduce: String,
}

/// One case across the hosts of a run.
#[derive(Clone, Debug, Serialize)]
pub struct MatrixRow {
    pub case: String,
    /// Hosts did different things (outcome, trap side or code, exit,
    /// observations; message texts aside).
    pub disagree: bool,
    pub hosts: BTreeMap<String, MatrixCell>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MatrixCell {
    pub outcome: String,
    pub spec: String,
    /// What the host did, message texts aside.
    #[serde(rename = "did")]
    pub behaviour: Option<String>,
}

/// The results of a run, filled in by trials running in parallel.
#[derive(Debug, Default)]
pub struct Results {
    trials: Mutex<Vec<TrialResult>>,
    /// The WIT the guests were built against: the JSON and JUnit reports
    /// name its WASI release, read only when they are written.
    wit_dir: Option<PathBuf>,
    /// The coverage ledger of the run, once it is over: the JSON carries it.
    pub ledger: std::sync::OnceLock<crate::ledger::Ledger>,
}

impl Results {
    /// Empty results of a run whose guests were built against `wit_dir`.
    pub fn carrying(wit_dir: PathBuf) -> Results {
        Results {
            wit_dir: Some(wit_dir),
            ..Results::default()
        }
    }

    /// The WASI 0.2 release the guests carry (`0.2.12`), when known.
    fn wit(&self) -> Option<String> {
        crate::spec::worlds::wasi_release(self.wit_dir.as_deref()?)
    }

    pub fn add(
        &self,
        trial: &str,
        observed: Option<&Observed>,
        verdicts: Option<&Verdicts>,
        took: Duration,
        result: &Result<(), String>,
        detail: Option<TrialDetail>,
    ) {
        use crate::judge::verdict::SpecVerdict::{KnownViolation, StaleDivergence};
        let upstream = verdicts.and_then(|v| match &v.spec {
            KnownViolation { upstream } | StaleDivergence { upstream } => Some(upstream.clone()),
            _ => None,
        });
        let result = TrialResult {
            trial: trial.to_string(),
            passed: result.is_ok(),
            outcome: observed.map(|observed| observed.outcome.kind().to_string()),
            behaviour: observed.map(Observed::behaviour),
            message: observed
                .and_then(|observed| observed.outcome.message())
                .map(str::to_string),
            spec: verdicts.map(|v| v.spec.label().to_string()),
            record: verdicts.map(|v| v.record.label().to_string()),
            upstream,
            not_applicable: None,
            seconds: took.as_secs_f64(),
            failure: result.as_ref().err().cloned(),
            detail,
            intermittent: (verdicts.and_then(|v| v.sightings.as_ref())).map(|s| s.describe()),
        };
        self.trials
            .lock()
            .expect("no panics while locked")
            .push(result);
    }

    /// A trial the host cannot run: not a pass, not a failure, counted apart.
    pub fn add_not_applicable(&self, trial: &str, reason: &str) {
        let result = TrialResult {
            trial: trial.to_string(),
            passed: true,
            outcome: None,
            behaviour: None,
            message: None,
            spec: Some("not-applicable".into()),
            record: Some("not-applicable".into()),
            upstream: None,
            not_applicable: Some(reason.to_string()),
            seconds: 0.0,
            failure: None,
            detail: None,
            intermittent: None,
        };
        self.trials
            .lock()
            .expect("no panics while locked")
            .push(result);
    }

    /// The results, in trial-name order.
    pub fn all(&self) -> Vec<TrialResult> {
        let mut results = self.trials.lock().expect("no panics while locked").clone();
        results.sort_by(|a, b| a.trial.cmp(&b.trial));
        results
    }

    /// How many trials got each verdict: `(spec, record)`.
    fn counts(results: &[TrialResult]) -> (BTreeMap<&str, usize>, BTreeMap<&str, usize>) {
        let (mut spec, mut record) = (BTreeMap::new(), BTreeMap::new());
        for result in results {
            if let (Some(s), Some(r)) = (result.spec.as_deref(), result.record.as_deref()) {
                *spec.entry(s).or_default() += 1;
                *record.entry(r).or_default() += 1;
            }
        }
        (spec, record)
    }

    /// The verdicts in a few lines for the console, after libtest's own
    /// summary: both questions' counts and every known violation.
    pub fn summary(&self) -> String {
        let results = self.all();
        let (spec, record) = Results::counts(&results);
        if spec.is_empty() {
            return String::new();
        }
        let line = |counts: &BTreeMap<&str, usize>| {
            counts
                .iter()
                .map(|(label, n)| format!("{n} {label}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = format!(
            "verdicts — spec: {}\n           record: {}\n",
            line(&spec),
            line(&record)
        );
        for result in results
            .iter()
            .filter(|r| r.spec.as_deref() == Some("known-violation"))
        {
            let _ = writeln!(
                out,
                "known violation: {} ({})",
                result.trial,
                result.upstream.as_deref().unwrap_or_default()
            );
        }
        for result in &results {
            if let Some(sightings) = &result.intermittent {
                let _ = writeln!(
                    out,
                    "intermittent divergence: {}: {sightings}",
                    result.trial
                );
            }
        }
        out.push_str(&not_applicable(&results));
        out
    }

    /// The differential view of the run: see [`matrix`].
    pub fn matrix(&self) -> Vec<MatrixRow> {
        matrix(self.all())
    }

    /// The cases where hosts disagree, for the console: per case, what each
    /// host did and its spec verdict; then how many cases every host agrees
    /// on. The JSON has every case.
    pub fn matrix_table(&self) -> String {
        let all = self.matrix();
        if all.is_empty() {
            return String::new();
        }
        let disagreements: Vec<&MatrixRow> = all.iter().filter(|row| row.disagree).collect();
        let mut out = format!(
            "\nhosts compared: they disagree on {} cases, agree on {}\n",
            disagreements.len(),
            all.len() - disagreements.len()
        );
        for row in disagreements {
            let _ = writeln!(out, "≠ {}", row.case);
            let width = row.hosts.keys().map(String::len).max().unwrap_or(0);
            for (host, cell) in &row.hosts {
                let did = cell
                    .behaviour
                    .as_deref()
                    .unwrap_or("-")
                    .replace("observations.", "");
                let did: Vec<&str> = did.lines().collect();
                let _ = writeln!(out, "    {host:width$}  {} [{}]", did.join("; "), cell.spec);
            }
        }
        out
    }

    /// The run as Markdown, for a CI job's summary
    /// (`$GITHUB_STEP_SUMMARY`): counts, the failed trials with the command
    /// that reproduces each, the known violations with their upstream
    /// issues, and the cases the hosts disagree on.
    pub fn markdown(&self) -> String {
        let results = self.all();
        let passed = (results.iter())
            .filter(|r| r.passed && r.not_applicable.is_none())
            .count();
        let failed: Vec<&TrialResult> = results.iter().filter(|r| !r.passed).collect();
        let (spec, record) = Results::counts(&results);
        let mut out = format!(
            "## witness: {passed} passed, {} failed\n\n| verdicts | |\n| --- | --- |\n",
            failed.len()
        );
        for (question, counts) in [("spec", &spec), ("record", &record)] {
            let counts: Vec<String> = counts
                .iter()
                .map(|(label, n)| format!("{n} {label}"))
                .collect();
            let _ = writeln!(out, "| {question} | {} |", counts.join(", "));
        }
        if !failed.is_empty() {
            let _ = writeln!(out, "\n### Failed\n");
            for result in failed {
                // The command that runs it again, where the case ran.
                let reproduce = (result.detail.as_ref())
                    .map(|detail| format!(": `{}`", detail.reproduce))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "- `{}` (spec: {}, record: {}){reproduce}",
                    result.trial,
                    result.spec.as_deref().unwrap_or("-"),
                    result.record.as_deref().unwrap_or("-"),
                );
            }
        }
        let known: Vec<&TrialResult> = (results.iter())
            .filter(|r| r.spec.as_deref() == Some("known-violation"))
            .collect();
        if !known.is_empty() {
            let _ = writeln!(out, "\n### Known violations\n");
            for result in known {
                let upstream = result.upstream.as_deref().unwrap_or_default();
                let _ = writeln!(out, "- `{}`: {upstream}", result.trial);
            }
        }
        let disagreements: Vec<MatrixRow> = self
            .matrix()
            .into_iter()
            .filter(|row| row.disagree)
            .collect();
        if let Some(first) = disagreements.first() {
            let hosts: Vec<&String> = first.hosts.keys().collect();
            let _ = writeln!(out, "\n### Where the hosts disagree\n");
            let header: Vec<String> = hosts.iter().map(|host| format!(" {host} |")).collect();
            let _ = writeln!(out, "| case |{}", header.concat());
            let _ = writeln!(out, "| --- |{}", " --- |".repeat(hosts.len()));
            for row in &disagreements {
                let cells: Vec<String> = (hosts.iter())
                    .map(|host| match row.hosts.get(*host) {
                        Some(cell) => {
                            let did = (cell.behaviour.as_deref().unwrap_or("-").trim_end())
                                .replace("observations.", "")
                                .replace('\n', "; ")
                                .replace('|', "\\|");
                            format!(" {did} ({}) |", cell.spec)
                        }
                        None => " - |".to_string(),
                    })
                    .collect();
                let _ = writeln!(out, "| `{}` |{}", row.case, cells.concat());
            }
        }
        out
    }

    /// Appends [`Results::markdown`] to `path`, as a job summary file wants.
    pub fn append_markdown(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(self.markdown().as_bytes())
    }

    /// `{"passed": n, "failed": n, "spec": {verdict: n}, "record": {verdict: n},
    /// "trials": [...], "matrix": [...], "ledger": {...}}`; not-applicable
    /// trials count in neither `passed` nor `failed`. The ledger (`null`
    /// when it could not be made) has the figures per package and
    /// interface, and every entry with its cases and the hosts that ran them.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let trials = self.all();
        let passed = trials
            .iter()
            .filter(|result| result.passed && result.not_applicable.is_none())
            .count();
        let failed = trials.iter().filter(|result| !result.passed).count();
        let (spec, record) = Results::counts(&trials);
        let json = serde_json::json!({
            "wit": self.wit(),
            "passed": passed,
            "failed": failed,
            "spec": spec,
            "record": record,
            "trials": trials,
            "matrix": self.matrix(),
            "ledger": self.ledger.get(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
    }

    /// One JUnit test suite named `witness`, a test case per trial, its
    /// verdicts as the properties `spec` and `record`.
    pub fn write_junit(&self, path: &Path) -> std::io::Result<()> {
        let mut suite = TestSuite::new("witness");
        if let Some(wit) = self.wit() {
            suite.add_property(Property::new("wit", wit));
        }
        for result in self.all() {
            let status = match &result.failure {
                None if result.not_applicable.is_some() => TestCaseStatus::skipped(),
                None => TestCaseStatus::success(),
                Some(report) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_description(report.as_str());
                    status
                }
            };
            let (classname, name) = result
                .trial
                .rsplit_once("::")
                .unwrap_or(("witness", &result.trial));
            let mut case = TestCase::new(name, status);
            case.set_classname(classname)
                .set_time(Duration::from_secs_f64(result.seconds));
            for (property, value) in [("spec", result.spec), ("record", result.record)] {
                if let Some(value) = value {
                    case.add_property(Property::new(property, value));
                }
            }
            suite.add_test_case(case);
        }
        let mut report = Report::new("witness");
        report.add_test_suite(suite);
        let xml = report.to_string().map_err(std::io::Error::other)?;
        std::fs::write(path, xml)
    }
}

/// The trials not applicable, one line per host and reason: the count and
/// the families, then the reason (a host that cannot run a guest says the
/// same of every case of it).
fn not_applicable(results: &[TrialResult]) -> String {
    let mut groups: BTreeMap<(&str, &str), (usize, std::collections::BTreeSet<&str>)> =
        BTreeMap::new();
    for result in results {
        let Some(reason) = &result.not_applicable else {
            continue;
        };
        let mut parts = result.trial.split("::");
        let host = parts.next().unwrap_or_default();
        let family = parts.next().unwrap_or_default();
        let group = groups.entry((host, reason)).or_default();
        group.0 += 1;
        group.1.insert(family);
    }
    let mut out = String::new();
    for ((host, reason), (count, families)) in groups {
        let families: Vec<String> = families.iter().map(|f| format!("{f}::")).collect();
        let trials = if count == 1 { "trial" } else { "trials" };
        let _ = writeln!(
            out,
            "not applicable on {host}: {count} {trials} ({}): {reason}",
            families.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::{RecordVerdict, SpecVerdict};
    use crate::outcome::Outcome;
    use crate::outcome::observations::Observations;

    fn add(results: &Results, trial: &str, stdout: &str) {
        let observed = Observed {
            outcome: Outcome::Completed { exit: 0 },
            observations: Observations::parse(stdout),
            stderr: String::new(),
        };
        let verdicts = Verdicts {
            spec: SpecVerdict::Conforms,
            record: RecordVerdict::Unchanged,
            citation: Vec::new(),
            sightings: None,
        };
        results.add(
            trial,
            Some(&observed),
            Some(&verdicts),
            Duration::ZERO,
            &Ok(()),
            None,
        );
    }

    #[test]
    fn the_matrix_lists_the_cases_hosts_disagree_on_first() {
        let results = Results::default();
        add(&results, "a::f::agreed", "@witness {\"x\":1}\n");
        add(&results, "b::f::agreed", "@witness {\"x\":1}\n");
        add(&results, "a::f::split", "@witness {\"x\":1}\n");
        add(&results, "b::f::split", "@witness {\"x\":2}\n");
        let matrix = results.matrix();
        let rows: Vec<(&str, bool)> = matrix
            .iter()
            .map(|r| (r.case.as_str(), r.disagree))
            .collect();
        assert_eq!(rows, [("f::split", true), ("f::agreed", false)]);
        let table = results.matrix_table();
        assert!(table.contains("disagree on 1 cases, agree on 1"), "{table}");
        assert!(table.contains("≠ f::split"), "{table}");
        assert!(!table.contains("f::agreed"), "{table}");
    }

    #[test]
    fn the_markdown_summary_has_counts_failures_and_disagreements() {
        let results = Results::default();
        add(&results, "a::f::split", "@witness {\"x\":1}\n");
        add(&results, "b::f::split", "@witness {\"x\":\"1|2\"}\n");
        results.add(
            "a::f::broken",
            None,
            None,
            Duration::ZERO,
            &Err("the guest is not built".into()),
            None,
        );
        let markdown = results.markdown();
        assert!(
            markdown.starts_with("## witness: 2 passed, 1 failed\n"),
            "{markdown}"
        );
        assert!(markdown.contains("| spec | 2 conforms |\n"), "{markdown}");
        assert!(
            markdown.contains("- `a::f::broken` (spec: -, record: -)\n"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| case | a | b |\n| --- | --- | --- |\n"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| `f::split` | completed, exit 0; x = 1 (conforms) | completed, exit 0; x = \"1\\|2\" (conforms) |"),
            "{markdown}"
        );
    }

    #[test]
    fn one_host_has_no_matrix() {
        let results = Results::default();
        add(&results, "a::f::c", "@witness {\"x\":1}\n");
        assert!(results.matrix().is_empty());
        assert_eq!(results.matrix_table(), "");
    }
}
