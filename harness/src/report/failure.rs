//! The failure report: both verdicts, expected and observed side by side,
//! what differs, and the commands that reproduce the trial or record it.

use crate::case::expectation::Expectation;
use crate::case::{Case, Citation};
use crate::judge::records::{HostRecords, Record};
use crate::judge::verdict::{RecordVerdict, SpecVerdict, Verdicts};
use crate::layout::Layout;
use crate::outcome::Observed;
use crate::report::rerun::Rerun;
use crate::report::results::TrialDetail;
use similar::{ChangeTag, TextDiff};
use std::fmt::Write;

/// A case's trial in full, for the HTML report: the same texts the
/// terminal report is made of.
pub fn detail(
    rerun: &Rerun,
    trial: &str,
    host: &str,
    case: &Case,
    observed: &Observed,
    record: Option<&Record>,
) -> TrialDetail {
    TrialDetail {
        summary: case.summary.clone(),
        cites: case.spec.cites(),
        expected: case.expect.as_ref().map(Expectation::render),
        recorded: record.map(|record| record.seen.render()),
        observed: observed_text(observed),
        stderr: tail(&observed.stderr, STDERR_SHOWN).0.to_string(),
        reproduce: rerun.trial(host, trial),
    }
}

/// Renders a failed trial for the terminal.
#[allow(clippy::too_many_arguments)]
pub fn failure(
    layout: &Layout,
    rerun: &Rerun,
    trial: &str,
    host: &str,
    case: &Case,
    observed: &Observed,
    verdicts: &Verdicts,
    records: Option<&HostRecords>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "case:   {} ({})",
        layout.display(&case.path),
        case.summary
    );
    let _ = match &case.spec {
        Citation::Clause { .. } => writeln!(out, "cites:  {}", case.spec.cites()),
        Citation::Silent { .. } => writeln!(out, "spec:   {}", case.spec.cites()),
    };
    let record = records.and_then(|records| records.get(&case.name).map(|r| (records, r)));
    let _ = writeln!(out, "spec verdict:   {}", spec_line(&verdicts.spec, host));
    let _ = writeln!(
        out,
        "record verdict: {}",
        match (&verdicts.record, record) {
            (RecordVerdict::Changed { .. }, Some((records, record))) => format!(
                "changed since its record ({}:{})",
                layout.display(&records.path),
                record.at.line
            ),
            (RecordVerdict::Unrecorded, _) => format!(
                "unrecorded: nothing is recorded for `{host}` on this case; record what it did with `{}`",
                rerun.bless(host, trial)
            ),
            (verdict, _) => verdict.label().to_string(),
        }
    );
    let observed_lines = observed_text(observed);
    if let (SpecVerdict::Violates { .. } | SpecVerdict::StaleDivergence { .. }, Some(expect)) =
        (&verdicts.spec, &case.expect)
    {
        let _ = writeln!(out);
        // The spec names no message, trap code or deadline: the host's own
        // details stand beside nothing, and that is no difference.
        let matched = |l: &str, r: &str| {
            (l.is_empty()
                && ["message = ", "code = ", "deadline-ms = "]
                    .iter()
                    .any(|detail| r.starts_with(detail)))
                || observation_matched(expect, observed, l, r)
        };
        out.push_str(&side_by_side(
            "the spec allows",
            &expect.render(),
            &observed_lines,
            &matched,
        ));
    }
    if let (RecordVerdict::Changed { .. }, Some((_, record))) = (&verdicts.record, record) {
        let _ = writeln!(out);
        out.push_str(&side_by_side(
            "recorded",
            &record.seen.render(),
            &observed_lines,
            &|_, _| false,
        ));
    }
    if verdicts.record == RecordVerdict::Unrecorded && verdicts.spec.passes() {
        let _ = writeln!(out, "\nobserved:");
        for line in observed_lines.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let stale = match verdicts.spec {
        SpecVerdict::StaleDivergence { .. } => vec![format!(
            "the host now does what the spec allows; remove `{host}` from the case's [[divergence]]"
        )],
        _ => Vec::new(),
    };
    let problems = [
        ("citation", verdicts.citation.as_slice()),
        (
            "spec",
            match &verdicts.spec {
                SpecVerdict::Violates { problems } => problems.as_slice(),
                _ => stale.as_slice(),
            },
        ),
        (
            "record",
            match &verdicts.record {
                RecordVerdict::Changed { problems } => problems.as_slice(),
                _ => &[],
            },
        ),
    ];
    if problems.iter().any(|(_, problems)| !problems.is_empty()) {
        let _ = writeln!(out, "\nwhat differs:");
    }
    for (question, problems) in problems {
        for problem in problems {
            let _ = writeln!(out, "  - {question}: {problem}");
        }
    }
    if !observed.stderr.trim().is_empty() {
        let _ = writeln!(out, "\nguest stderr:");
        let (shown, left_out) = tail(&observed.stderr, STDERR_SHOWN);
        if left_out > 0 {
            let _ = writeln!(out, "  | ... ({left_out} bytes before these)");
        }
        for line in shown.lines() {
            let _ = writeln!(out, "  | {line}");
        }
    }
    let _ = writeln!(out, "\nreproduce: {}", rerun.trial(host, trial));
    if matches!(verdicts.record, RecordVerdict::Changed { .. }) {
        let _ = writeln!(
            out,
            "if the change is intended: {}",
            rerun.bless(host, trial)
        );
    }
    out
}

/// How much of a guest's stderr a report shows: its end, where a trap's
/// message or a panic is.
const STDERR_SHOWN: usize = 4096;

/// The last `most` bytes of `text` (from a char boundary), and how many
/// bytes come before them.
fn tail(text: &str, most: usize) -> (&str, usize) {
    let mut start = text.len().saturating_sub(most);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    (&text[start..], start)
}

/// The spec verdict, said in a line.
fn spec_line(verdict: &SpecVerdict, host: &str) -> String {
    match verdict {
        SpecVerdict::Conforms => "conforms".into(),
        SpecVerdict::Violates { .. } => {
            "violates: the spec does not allow what the host did (a known violation needs a [[divergence]] with its upstream issue or draft)".into()
        }
        SpecVerdict::KnownViolation { upstream } => format!("known violation ({upstream})"),
        SpecVerdict::StaleDivergence { upstream } => format!(
            "stale divergence: `{host}` now does what the spec allows; the divergence ({upstream}) is stale, remove it"
        ),
        SpecVerdict::NotJudged => "not judged: the spec is silent".into(),
    }
}

fn observed_text(observed: &Observed) -> String {
    match &observed.observations {
        Ok(observations) => format!("{}{observations}", observed.outcome),
        Err(protocol) => format!(
            "{}(observations unreadable: {protocol})\n",
            observed.outcome
        ),
    }
}

/// Whether the row `observations.<name> = <pattern>` beside
/// `observations.<name> = <value>` agrees: the value matches a pattern the
/// spec allows for that observation.
fn observation_matched(expect: &Expectation, observed: &Observed, left: &str, right: &str) -> bool {
    let name_in = |line: &str| {
        line.strip_prefix("observations.")
            .and_then(|rest| rest.split_once(" = "))
            .map(|(name, _)| name.to_string())
    };
    let (Some(name), Ok(seen)) = (name_in(left), &observed.observations) else {
        return false;
    };
    name_in(right).as_ref() == Some(&name)
        && seen.0.get(&name).is_some_and(|value| {
            expect.allowed.iter().any(|allowed| {
                allowed
                    .observations
                    .get(&name)
                    .is_some_and(|pattern| pattern.matches(value))
            })
        })
}

/// Two columns, lines that agree on the same row; `≠` marks a row whose
/// sides differ (`agrees` says when two different lines agree all the same).
fn side_by_side(
    heading: &str,
    expected: &str,
    observed: &str,
    agrees: &dyn Fn(&str, &str) -> bool,
) -> String {
    let diff = TextDiff::from_lines(expected, observed);
    let mut rows: Vec<(String, String)> = Vec::new();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let flush =
        |rows: &mut Vec<(String, String)>, left: &mut Vec<String>, right: &mut Vec<String>| {
            for i in 0..left.len().max(right.len()) {
                rows.push((
                    left.get(i).cloned().unwrap_or_default(),
                    right.get(i).cloned().unwrap_or_default(),
                ));
            }
            left.clear();
            right.clear();
        };
    let mut same = Vec::new();
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end().to_string();
        match change.tag() {
            ChangeTag::Equal => {
                flush(&mut rows, &mut left, &mut right);
                same.push(rows.len());
                rows.push((line.clone(), line));
            }
            ChangeTag::Delete => left.push(line),
            ChangeTag::Insert => right.push(line),
        }
    }
    flush(&mut rows, &mut left, &mut right);
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(heading.chars().count());
    let mut out = format!("  {heading:width$}   observed\n");
    for (i, (l, r)) in rows.iter().enumerate() {
        let agree = same.contains(&i) || message_contained(l, r) || agrees(l, r);
        let mark = if agree { ' ' } else { '≠' };
        let _ = writeln!(out, "{mark} {l:width$} │ {r}");
    }
    out
}

/// `message contains "part"` beside `message = "...part..."`: the row agrees.
fn message_contained(expected: &str, observed: &str) -> bool {
    let quoted = |line: &str, prefix: &str| {
        line.strip_prefix(prefix)
            .map(|rest| rest.trim_matches('"').to_string())
    };
    match (
        quoted(expected, "message contains "),
        quoted(observed, "message = "),
    ) {
        (Some(part), Some(message)) => message.contains(&part),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::side_by_side;

    #[test]
    fn equal_lines_share_a_row_and_differences_are_marked() {
        let table = side_by_side(
            "expected",
            "outcome = \"trap\"\nx = 1\n",
            "outcome = \"completed\"\nx = 1\n",
            &|_, _| false,
        );
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 3);
        assert!(
            rows[1].starts_with('≠')
                && rows[1].contains("\"trap\"")
                && rows[1].contains("\"completed\"")
        );
        assert!(rows[2].starts_with(' ') && rows[2].matches("x = 1").count() == 2);
    }

    #[test]
    fn a_contained_message_agrees() {
        let table = side_by_side(
            "expected",
            "message contains \"empty\"\n",
            "message = \"empty poll list\"\n",
            &|_, _| false,
        );
        assert!(table.lines().nth(1).unwrap().starts_with(' '), "{table}");
        let table = side_by_side(
            "expected",
            "message contains \"full\"\n",
            "message = \"empty poll list\"\n",
            &|_, _| false,
        );
        assert!(table.lines().nth(1).unwrap().starts_with('≠'), "{table}");
    }
}
