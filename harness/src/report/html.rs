//! The HTML report of a run (`cargo xtask report`): one self-contained
//! page that opens on what a reader came for — a summary (per host, its
//! violations, known violations and changed records; per package, the
//! coverage ledger's bars) and the cases where hosts disagree, each cell
//! what the host did, coloured by its verdict. Below, collapsed, the whole
//! case × host matrix with filters by family, host and verdict; then one
//! coverage bar per package and interface; and, given a time-lapse, its
//! own view. Every cell opens the clause, what the spec allows, the
//! record, what was observed and the command that reproduces it. Every
//! text from a run is escaped: guest output is data, not markup.

use crate::history::matrix::{Cell, Timelapse, Verdict};
use crate::ledger::{Figure, Figures, Ledger, Measure};
use crate::report::results::{MatrixRow, TrialResult, matrix};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// `text` safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1em}table{border-collapse:collapse}\
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}td button{border:0;background:none;cursor:pointer;font:inherit}\
.conforms,.unchanged{background:#e6f4ea}.violates,.changed,.stale-divergence,.unrecorded{background:#fce8e6}\
.known-violation{background:#fef7e0}.not-judged{background:#f1f3f4}.not-applicable{background:#fff;color:#999}\
#panel{position:fixed;right:0;top:0;width:45%;height:100%;overflow:auto;background:#fff;border-left:2px solid #888;padding:1em}\
pre{white-space:pre-wrap;background:#f8f8f8;padding:4px}\
.bar{display:inline-block;width:7em;height:.7em;background:#e8e8e8;vertical-align:middle;margin-right:4px}.bar span{display:block;height:100%;background:#5a9}\
td.figure{white-space:nowrap}tr.package th{padding-top:.6em}tr.interface th{font-weight:normal;padding-left:1.5em}\
#disagreements td button{text-align:left;white-space:pre-line}details>summary{cursor:pointer;font-size:1.2em;margin:1em 0 .5em}\
.timeline h3{margin:1em 0 .2em;font-size:1em}.clause{margin:0;color:#666;font-size:12px}.strip{margin:.3em 0}.kind{display:inline-block;width:8em}\
.release{display:inline-block;min-width:1em;min-height:1em;padding:1px 3px;margin:1px;font-size:11px;border-left:1px solid #fff;vertical-align:middle}\
.release.change{border-left:4px solid #000}.release.violation{outline:2px solid #d93025}.legend{margin:0 0 0 8em;padding:0;list-style:none;font-size:12px}\
.b0{background:#cfe2f3}.b1{background:#f9cb9c}.b2{background:#b6d7a8}.b3{background:#d5a6bd}.b4{background:#ffe599}.b5{background:#a2c4c9}.b6{background:#ea9999}.b7{background:#b4a7d6}";

/// Filters rows by family, columns by host, cells by verdict; a cell's
/// button shows its details in the panel.
const SCRIPT: &str = r#"
const pick = id => document.getElementById(id).value;
function filter() {
  const family = pick('family'), host = pick('host'), verdict = pick('verdict');
  for (const cell of document.querySelectorAll('#matrix [data-host]')) {
    cell.hidden = host !== '' && cell.dataset.host !== host;
  }
  for (const row of document.querySelectorAll('#matrix tbody tr')) {
    const cells = [...row.querySelectorAll('td')].filter(c => !c.hidden);
    const shown = cells.some(c => c.dataset.verdict !== '' && (verdict === '' || c.dataset.verdict === verdict));
    row.hidden = (family !== '' && row.dataset.family !== family) || !shown;
  }
}
for (const id of ['family', 'host', 'verdict']) {
  document.getElementById(id).addEventListener('change', filter);
}
for (const button of document.querySelectorAll('td button.open')) {
  button.addEventListener('click', () => {
    document.getElementById('details').innerHTML = button.nextElementSibling.innerHTML;
    document.getElementById('panel').hidden = false;
  });
}
document.getElementById('close').addEventListener('click', () => {
  document.getElementById('panel').hidden = true;
});
"#;

/// The page for `trials` (a run's JSON) and its coverage `ledger`, with the
/// view of `timelapse`.
pub fn page(
    trials: &[TrialResult],
    ledger: Option<&Ledger>,
    timelapse: Option<&Timelapse>,
) -> String {
    let mut hosts = BTreeSet::new();
    let mut rows: BTreeMap<&str, BTreeMap<&str, &TrialResult>> = BTreeMap::new();
    for trial in trials {
        let Some((host, case)) = trial.host_and_case() else {
            continue;
        };
        hosts.insert(host);
        rows.entry(case).or_default().insert(host, trial);
    }
    let failed = trials.iter().filter(|trial| !trial.passed).count();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>witness: {} cases on {} hosts</title><style>{STYLE}</style></head><body>\n<h1>witness</h1>\n<p id=\"counts\">{} trials, {failed} failed, {} cases, {} hosts</p>\n",
        rows.len(),
        hosts.len(),
        trials.len(),
        rows.len(),
        hosts.len()
    );
    out.push_str(&summary(&hosts, &rows, ledger));
    out.push_str(&disagreements(&hosts, &rows, matrix(trials.to_vec())));
    let _ = writeln!(
        out,
        "<details id=\"all-cases\"><summary>All {} cases on every host</summary>",
        rows.len()
    );
    out.push_str(&whole_matrix(trials, &hosts, &rows));
    out.push_str("</details>\n");
    if let Some(ledger) = ledger {
        out.push_str(&coverage(ledger));
    }
    if let Some(timelapse) = timelapse {
        out.push_str(&timelapse_view(timelapse));
    }
    let _ = write!(
        out,
        "<div id=\"panel\" hidden><button id=\"close\">close</button><div id=\"details\"></div></div>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    out
}

type Rows<'t> = BTreeMap<&'t str, BTreeMap<&'t str, &'t TrialResult>>;

/// Per host, the trials that need a reader: violations, known violations,
/// stale divergences, changed and unrecorded records; per package, the
/// coverage ledger's bars.
fn summary(hosts: &BTreeSet<&str>, rows: &Rows, ledger: Option<&Ledger>) -> String {
    const COLUMNS: [(&str, &str); 8] = [
        ("violates", "violations"),
        ("known-violation", "known violations"),
        ("stale-divergence", "stale divergences"),
        ("changed", "changed records"),
        ("unrecorded", "unrecorded"),
        ("conforms", "conforms"),
        ("not-judged", "not judged"),
        ("not-applicable", "not applicable"),
    ];
    let mut out = String::from(
        "<section id=\"summary\"><h2>Summary</h2>\n<table id=\"host-summary\"><thead><tr><th>host</th>",
    );
    for (_, title) in COLUMNS {
        let _ = write!(out, "<th scope=\"col\">{title}</th>");
    }
    out.push_str("</tr></thead><tbody>\n");
    for host in hosts {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", escape(host));
        for (verdict, _) in COLUMNS {
            let count = (rows.values())
                .filter_map(|by_host| by_host.get(host))
                .filter(|trial| {
                    trial.spec.as_deref() == Some(verdict)
                        || trial.record.as_deref() == Some(verdict)
                })
                .count();
            let class = if count > 0 { verdict } else { "" };
            let _ = write!(
                out,
                "<td class=\"{class}\" data-count=\"{verdict}\">{count}</td>"
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    match ledger {
        Some(ledger) => {
            out.push_str("<h3>Coverage of the WIT under test, per package</h3>\n");
            out.push_str(&figures_table("package-summary", &ledger.packages, None));
        }
        None => out.push_str("<p>This run's JSON has no coverage ledger.</p>\n"),
    }
    out.push_str("</section>\n");
    out
}

/// The cases where hosts did different things, each cell what the host
/// did: its outcome and the observations that set it apart.
fn disagreements(hosts: &BTreeSet<&str>, rows: &Rows, matrix: Vec<MatrixRow>) -> String {
    let disagreeing: Vec<&MatrixRow> = matrix.iter().filter(|row| row.disagree).collect();
    let mut out = format!(
        "<section id=\"disagreements\"><h2>Where hosts disagree</h2>\n<p>{} of {} cases: each cell is what the host did — how the run ended, and the observations that differ between hosts — coloured by its spec verdict: <span class=\"conforms\">conforms</span> <span class=\"violates\">violates</span> <span class=\"known-violation\">known violation</span> <span class=\"not-judged\">not judged (the spec is silent)</span> <span class=\"not-applicable\">not applicable</span>. A cell opens its details.</p>\n",
        disagreeing.len(),
        rows.len()
    );
    if disagreeing.is_empty() {
        out.push_str("</section>\n");
        return out;
    }
    out.push_str("<table><thead><tr><th scope=\"col\">case</th>");
    for host in hosts {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(host));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in disagreeing {
        let behaviours: Vec<&str> = (row.hosts.values())
            .filter_map(|cell| cell.behaviour.as_deref())
            .collect();
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", escape(&row.case));
        for host in hosts {
            match rows
                .get(row.case.as_str())
                .and_then(|by_host| by_host.get(host))
            {
                Some(trial) => {
                    let did = match &trial.behaviour {
                        Some(behaviour) => deciding(behaviour, &behaviours),
                        None => trial.spec.clone().unwrap_or_default(),
                    };
                    out.push_str(&cell(host, trial, &did));
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></section>\n");
    out
}

/// A host's behaviour as the disagreement shows it: how the run ended, and
/// the observations not every host's behaviour (`all`) has — `name = (none)`
/// for one the others reported and this host did not.
fn deciding(behaviour: &str, all: &[&str]) -> String {
    let observation = |line: &str| line.strip_prefix("observations.").map(str::to_string);
    let name = |line: &str| {
        line.split_once(" = ")
            .map_or(line.to_string(), |(name, _)| name.to_string())
    };
    let mut lines = behaviour.lines();
    let mut shown = vec![lines.next().unwrap_or_default().to_string()];
    let own: Vec<String> = lines.filter_map(observation).collect();
    let everywhere = |line: &String| {
        all.iter()
            .all(|other| other.lines().filter_map(observation).any(|l| &l == line))
    };
    shown.extend(own.iter().filter(|line| !everywhere(line)).cloned());
    let own_names: BTreeSet<String> = own.iter().map(|line| name(line)).collect();
    let missing: BTreeSet<String> = (all.iter())
        .flat_map(|other| other.lines().filter_map(observation))
        .map(|line| name(&line))
        .filter(|other| !own_names.contains(other))
        .collect();
    shown.extend(missing.into_iter().map(|name| format!("{name} = (none)")));
    shown.join("\n")
}

/// Every case on every host, with the filters.
fn whole_matrix(trials: &[TrialResult], hosts: &BTreeSet<&str>, rows: &Rows) -> String {
    let families: BTreeSet<&str> = rows
        .keys()
        .filter_map(|case| case.split_once("::").map(|(family, _)| family))
        .collect();
    let verdicts: BTreeSet<&str> = (trials.iter())
        .filter_map(|trial| trial.spec.as_deref())
        .collect();
    let mut out = String::new();
    for (id, label, options) in [
        ("family", "family", &families),
        ("host", "host", hosts),
        ("verdict", "spec verdict", &verdicts),
    ] {
        let _ = write!(
            out,
            "<label>{label} <select id=\"{id}\"><option value=\"\">all</option>"
        );
        for option in options {
            let option = escape(option);
            let _ = write!(out, "<option>{option}</option>");
        }
        out.push_str("</select></label> ");
    }
    out.push_str("\n<table id=\"matrix\"><thead><tr><th>case</th>");
    for host in hosts {
        let _ = write!(out, "<th data-host=\"{0}\">{0}</th>", escape(host));
    }
    out.push_str("</tr></thead><tbody>\n");
    for (case, by_host) in rows {
        let family = case.split_once("::").map_or("", |(family, _)| family);
        let _ = write!(
            out,
            "<tr data-family=\"{}\"><th>{}</th>",
            escape(family),
            escape(case)
        );
        for host in hosts {
            match by_host.get(host) {
                Some(trial) => {
                    let label = format!(
                        "{} / {}",
                        trial.spec.as_deref().unwrap_or("-"),
                        trial.record.as_deref().unwrap_or("-")
                    );
                    out.push_str(&cell(host, trial, &label));
                }
                None => {
                    let _ = write!(
                        out,
                        "<td data-host=\"{}\" data-verdict=\"\"></td>",
                        escape(host)
                    );
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out
}

/// One bar per package, each followed by its interfaces' bars.
fn coverage(ledger: &Ledger) -> String {
    let mut out = String::from(
        "<section id=\"coverage\"><h2>Coverage</h2>\n<p>Per package and interface of the WIT under test: the functions some case's scenario code calls, the normative clauses and trap clauses cases cite, the error codes a host's record shows for a case (`cargo xtask spec coverage --open` lists what is open).</p>\n",
    );
    out.push_str(&figures_table(
        "coverage-bars",
        &ledger.packages,
        Some(&ledger.interfaces),
    ));
    out.push_str("</section>\n");
    out
}

/// A row per key of `figures`, a bar per measure; with `interfaces`, each
/// package's interfaces below it.
fn figures_table(id: &str, figures: &Figures, interfaces: Option<&Figures>) -> String {
    let mut out = format!("<table id=\"{id}\"><thead><tr><th></th>");
    for measure in Measure::ALL {
        let _ = write!(out, "<th>{}</th>", measure.name());
    }
    out.push_str("</tr></thead><tbody>\n");
    let row = |class: &str, name: &str, measures: &BTreeMap<Measure, Figure>| {
        let mut row = format!("<tr class=\"{class}\"><th>{}</th>", escape(name));
        for measure in Measure::ALL {
            let figure = measures.get(&measure).copied().unwrap_or_default();
            let percent = (figure.covered * 100)
                .checked_div(figure.total)
                .unwrap_or(0);
            let _ = write!(
                row,
                "<td class=\"figure\" title=\"{percent}%\"><span class=\"bar\"><span style=\"width:{percent}%\"></span></span>{}/{}</td>",
                figure.covered, figure.total
            );
        }
        row.push_str("</tr>\n");
        row
    };
    for (package, measures) in figures {
        out.push_str(&row("package", package, measures));
        for (interface, measures) in interfaces.into_iter().flatten() {
            if crate::spec::functions::package_of(interface) == package {
                out.push_str(&row("interface", interface, measures));
            }
        }
    }
    out.push_str("</tbody></table>\n");
    out
}

/// The time-lapse's view, a timeline per case some kind of host changed or
/// varied on: for each kind, a strip of its releases oldest first, each
/// coloured by what it did (a legend says what each colour is), the first
/// release of each new behaviour marked, a violation of the clause
/// outlined; above it, the WASI releases in which the citation does not
/// hold yet.
fn timelapse_view(timelapse: &Timelapse) -> String {
    let changed = (timelapse.cases.iter())
        .filter(|row| !row.changes.is_empty())
        .count();
    // A case whose host varied when run again is shown too: no change, but
    // history all the same.
    let shown: Vec<_> = (timelapse.cases.iter())
        .filter(|row| {
            !row.changes.is_empty()
                || (row.cells.values()).any(|cell| cell.varies() || cell.alternation().is_some())
        })
        .collect();
    let mut out = format!(
        "<section id=\"timelapse\"><h2>Time-lapse</h2>\n<p>{changed} of {} cases changed between installed versions; {} more varied from run to run on a host. Each release is coloured by what it did; a thick left edge marks the first release of a new behaviour, a red outline a violation of the clause; hover a release for what it did and the WASI release its guests carried.</p>\n",
        timelapse.cases.len(),
        shown.len() - changed,
    );
    let mut kinds: Vec<&str> = timelapse
        .hosts
        .iter()
        .map(|host| host.kind.as_str())
        .collect();
    kinds.dedup();
    // The WASI releases the guests carried, oldest first.
    let mut releases: Vec<&String> = timelapse.hosts.iter().map(|host| &host.wit).collect();
    releases.sort_by_key(|release| semver::Version::parse(release).ok());
    releases.dedup();
    for row in shown {
        let _ = writeln!(
            out,
            "<div class=\"timeline\"><h3>{}</h3>",
            escape(&row.case)
        );
        for (release, citation) in &row.citations {
            let _ = writeln!(
                out,
                "<p class=\"clause\">WASI {}: {}</p>",
                escape(release),
                escape(citation)
            );
        }
        if !row.citations.is_empty() {
            let holds = (releases.iter()).find(|release| !row.citations.contains_key(**release));
            let _ = writeln!(
                out,
                "<p class=\"clause\">{}</p>",
                match holds {
                    Some(release) => format!("The citation holds from WASI {}.", escape(release)),
                    None => "The citation holds in none of the releases the guests carried.".into(),
                }
            );
        }
        for kind in &kinds {
            let strip: Vec<_> = (timelapse.hosts.iter())
                .filter(|host| host.kind == *kind)
                .filter_map(|host| Some((host, row.cells.get(&host.name)?)))
                .collect();
            let mut behaviours: Vec<String> = Vec::new();
            let _ = write!(
                out,
                "<div class=\"strip\"><span class=\"kind\">{}</span>",
                escape(kind)
            );
            for (host, cell) in &strip {
                // Coloured as changes are found: not applicable is one.
                let summary = match cell {
                    Cell::Did {
                        alternates: Some(why),
                        ..
                    } => format!("{}; known to alternate ({why})", cell.summary()),
                    _ => cell.summary(),
                };
                let colour = (behaviours
                    .iter()
                    .position(|known| *known == cell.compared()))
                .unwrap_or_else(|| {
                    behaviours.push(cell.compared());
                    behaviours.len() - 1
                });
                let first = row.changes.iter().any(|change| change.host == host.name);
                let violates = matches!(
                    cell,
                    Cell::Did {
                        verdict: Some(Verdict::Violates),
                        ..
                    }
                );
                let _ = write!(
                    out,
                    "<span class=\"release b{}{}{}\" title=\"{} (guests: WASI {}): {}\">{}</span>",
                    colour % PALETTE,
                    if first { " change" } else { "" },
                    if violates { " violation" } else { "" },
                    escape(&host.name),
                    escape(&host.wit),
                    escape(&summary),
                    escape(&host.version)
                );
            }
            out.push_str("<ul class=\"legend\">");
            for (colour, behaviour) in behaviours.iter().enumerate() {
                let _ = write!(
                    out,
                    "<li><span class=\"release b{}\"></span>{}</li>",
                    colour % PALETTE,
                    escape(behaviour)
                );
            }
            out.push_str("</ul></div>\n");
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
    out
}

/// How many colours a strip has for behaviours (`.b0` to `.b7`).
const PALETTE: usize = 8;

/// One trial's cell: `label` on a button, its details beside it.
fn cell(host: &str, trial: &TrialResult, label: &str) -> String {
    let spec = trial.spec.as_deref().unwrap_or("-");
    let record = trial.record.as_deref().unwrap_or("-");
    let mut details = format!(
        "<h2>{}</h2><p>spec: <b>{}</b>, record: <b>{}</b></p>",
        escape(&trial.trial),
        escape(spec),
        escape(record)
    );
    let section = |title: &str, text: &str| format!("<h3>{title}</h3><pre>{}</pre>", escape(text));
    if let Some(reason) = &trial.not_applicable {
        details.push_str(&section("not applicable", reason));
    }
    if let Some(detail) = &trial.detail {
        let _ = write!(details, "<p>{}</p>", escape(&detail.summary));
        details.push_str(&section("the spec", &detail.cites));
        if let Some(expected) = &detail.expected {
            details.push_str(&section("the spec allows", expected));
        }
        if let Some(recorded) = &detail.recorded {
            details.push_str(&section("recorded", recorded));
        }
        details.push_str(&section("observed", &detail.observed));
        if !detail.stderr.trim().is_empty() {
            details.push_str(&section("guest stderr", &detail.stderr));
        }
        details.push_str(&section("reproduce", &detail.reproduce));
    }
    if let Some(failure) = &trial.failure {
        details.push_str(&section("failure", failure));
    }
    format!(
        "<td class=\"{spec}\" data-host=\"{host}\" data-verdict=\"{spec}\" title=\"{host}: spec {spec}, record {record}\"><button class=\"open\">{label}</button><div hidden>{details}</div></td>",
        spec = escape(spec),
        host = escape(host),
        record = escape(record),
        label = escape(label),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::results::TrialDetail;

    fn trial(name: &str, spec: &str, observed: &str) -> TrialResult {
        TrialResult {
            trial: name.into(),
            passed: spec != "violates",
            outcome: Some("completed".into()),
            behaviour: None,
            message: None,
            spec: Some(spec.into()),
            record: Some("unchanged".into()),
            upstream: None,
            not_applicable: None,
            seconds: 0.0,
            failure: None,
            intermittent: None,
            detail: Some(TrialDetail {
                summary: "a case".into(),
                cites: "wasi:io/poll#poll: \"...\"".into(),
                expected: Some("outcome = \"completed\"".into()),
                recorded: None,
                observed: observed.into(),
                stderr: String::new(),
                reproduce: format!("cargo xtask test -- --exact {name}"),
            }),
        }
    }

    #[test]
    fn a_run_becomes_a_matrix_with_every_text_escaped() {
        let page = page(
            &[
                trial(
                    "a::poll::x",
                    "conforms",
                    "observations.s = \"<script>alert(1)</script>\"",
                ),
                trial("b::poll::x", "violates", "outcome = \"trap\""),
                trial("a::clocks::y", "not-judged", "done & done"),
                TrialResult {
                    spec: None,
                    ..trial("records::a", "-", "-")
                },
            ],
            None,
            None,
        );
        assert!(
            page.contains("<p id=\"counts\">4 trials, 1 failed, 2 cases, 2 hosts</p>"),
            "{page}"
        );
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(page.contains("done &amp; done"), "{page}");
        assert_eq!(page.matches("<tr data-family=").count(), 2, "{page}");
        assert!(
            page.contains("<td class=\"violates\" data-host=\"b\" data-verdict=\"violates\" title=\"b: spec violates, record unchanged\">"),
            "{page}"
        );
        assert!(
            page.contains("cargo xtask test -- --exact b::poll::x"),
            "{page}"
        );
        assert_eq!(
            page.matches("<script>").count(),
            1,
            "only the page's own script"
        );
        assert!(!page.contains("Time-lapse"), "{page}");
    }

    #[test]
    fn the_page_opens_on_the_summary_and_what_each_host_did_where_they_disagree() {
        let did = |name: &str, spec: &str, behaviour: &str| TrialResult {
            behaviour: Some(behaviour.into()),
            ..trial(name, spec, "-")
        };
        let ledger = Ledger {
            packages: Figures::from([(
                "wasi:io".to_string(),
                BTreeMap::from([(
                    Measure::Functions,
                    Figure {
                        covered: 3,
                        total: 4,
                    },
                )]),
            )]),
            ..Ledger::default()
        };
        let page = page(
            &[
                did(
                    "a::poll::x",
                    "conforms",
                    "completed, exit 0\nobservations.ready = true\nobservations.same = 1",
                ),
                did(
                    "b::poll::x",
                    "violates",
                    "completed, exit 0\nobservations.ready = false\nobservations.same = 1",
                ),
                did("a::poll::y", "conforms", "trap by host"),
                did("b::poll::y", "conforms", "hang"),
                did("a::poll::z", "conforms", "hang"),
                did("b::poll::z", "conforms", "hang"),
                did(
                    "a::poll::w",
                    "conforms",
                    "completed, exit 0\nobservations.ready = true",
                ),
                did("b::poll::w", "conforms", "completed, exit 0"),
            ],
            Some(&ledger),
            None,
        );
        let summary = page.find("id=\"summary\"").unwrap();
        let disagreements = page.find("id=\"disagreements\"").unwrap();
        let matrix = page.find("id=\"all-cases\"").unwrap();
        assert!(summary < disagreements && disagreements < matrix, "{page}");
        assert!(
            page.contains("<td class=\"violates\" data-count=\"violates\">1</td>"),
            "{page}"
        );
        assert!(page.contains("3 of 4 cases"), "{page}");
        assert!(
            page.contains("<button class=\"open\">completed, exit 0\nready = (none)</button>"),
            "an observation another host made and this one did not: {page}"
        );
        assert!(
            page.contains("<button class=\"open\">trap by host</button>"),
            "{page}"
        );
        assert!(
            page.contains("<button class=\"open\">completed, exit 0\nready = false</button>"),
            "the observation that differs, not the one both have: {page}"
        );
        assert!(page.contains("width:75%"), "{page}");
        assert!(page.contains("3/4"), "{page}");
    }

    #[test]
    fn a_timelapse_view_shows_the_changed_cases_and_marks_the_first_version_that_did_otherwise() {
        use crate::history::matrix::{Cell, Column, Row, Verdict, changes};
        use std::collections::BTreeMap;
        let hosts: Vec<Column> = ["42.0.1", "45.0.2"]
            .map(|version| Column {
                name: format!("wasmtime-cli-{version}"),
                kind: "wasmtime-cli".into(),
                version: version.into(),
                wit: "0.2.12".into(),
            })
            .into();
        let row = |case: &str, before: &str, after: &str| {
            let cells = [before, after]
                .iter()
                .zip(&hosts)
                .map(|(did, host)| {
                    let cell = Cell::Did {
                        did: (*did).into(),
                        message: None,
                        varies: Vec::new(),
                        alternates: None,
                        verdict: (host.version == "45.0.2" && did.contains("ok"))
                            .then_some(Verdict::Violates),
                    };
                    (host.name.clone(), cell)
                })
                .collect();
            Row {
                case: case.into(),
                citations: BTreeMap::new(),
                changes: changes(&hosts, &cells),
                cells,
            }
        };
        let timelapse = Timelapse {
            cases: vec![
                row("streams::x", "read = <closed>", "read = { ok = 0 }"),
                row("poll::y", "trap by host", "trap by host"),
            ],
            hosts,
        };
        let page = page(&[], None, Some(&timelapse));
        assert!(
            page.contains("1 of 2 cases changed between installed versions; 0 more varied from run to run on a host."),
            "{page}"
        );
        assert!(
            page.contains("<div class=\"strip\"><span class=\"kind\">wasmtime-cli</span><span class=\"release b0\" title=\"wasmtime-cli-42.0.1 (guests: WASI 0.2.12): read = &lt;closed&gt;\">42.0.1</span><span class=\"release b1 change violation\" title=\"wasmtime-cli-45.0.2 (guests: WASI 0.2.12): read = { ok = 0 }\">45.0.2</span>"),
            "{page}"
        );
        assert!(
            page.contains("<li><span class=\"release b1\"></span>read = { ok = 0 }</li>"),
            "{page}"
        );
        assert!(!page.contains("poll::y"), "{page}");
    }
}
