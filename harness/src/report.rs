//! The failure report: expected and observed side by side, what differs,
//! and one command that reproduces just this trial.

use crate::case::{Case, Citation};
use crate::layout::Layout;
use crate::outcome::Observed;
use similar::{ChangeTag, TextDiff};
use std::fmt::Write;

/// Renders a failed trial for the terminal.
pub fn failure(
    layout: &Layout,
    trial: &str,
    host: &str,
    case: &Case,
    observed: &Observed,
    problems: &[String],
) -> String {
    let (expectation, divergence) = case.expectation_for(host);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "case:   {} ({})",
        layout.display(&case.path),
        case.summary
    );
    let _ = match &case.spec {
        Citation::Clause { item, clause, .. } => writeln!(out, "cites:  {item}: {clause:?}"),
        Citation::Silent { item, question } => {
            writeln!(out, "spec:   {item} is silent: {question}")
        }
    };
    if let Some(divergence) = divergence {
        // Stale when the host now does what the spec asks.
        let verdict = if case.expect.mismatches(host, observed).is_empty() {
            "the host now meets the spec's expectation: the divergence is stale, remove it"
        } else {
            "the host now diverges in another way than recorded"
        };
        let _ = writeln!(
            out,
            "note:   on {} this case expects a known divergence ({}); {verdict}",
            divergence.host, divergence.upstream
        );
    }
    let _ = writeln!(out);
    out.push_str(&side_by_side(
        &expectation.render(host),
        &observed_text(observed),
    ));
    let _ = writeln!(out, "\nwhat differs:");
    for problem in problems {
        let _ = writeln!(out, "  - {problem}");
    }
    if !observed.stderr.trim().is_empty() {
        let _ = writeln!(out, "\nguest stderr:");
        for line in observed.stderr.lines() {
            let _ = writeln!(out, "  | {line}");
        }
    }
    let _ = writeln!(out, "\nreproduce: {}", reproduce(trial));
    out
}

/// The command that runs just this trial.
pub fn reproduce(trial: &str) -> String {
    format!("cargo xtask test -- --exact {trial}")
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

/// Two columns, lines that agree on the same row; `≠` marks a row whose
/// sides differ.
fn side_by_side(expected: &str, observed: &str) -> String {
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
        .max("expected".len());
    let mut out = format!("  {:width$}   observed\n", "expected");
    for (i, (l, r)) in rows.iter().enumerate() {
        let agree = same.contains(&i) || message_contained(l, r);
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
            "outcome = \"trap\"\nx = 1\n",
            "outcome = \"completed\"\nx = 1\n",
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
            "message contains \"empty\"\n",
            "message = \"empty poll list\"\n",
        );
        assert!(table.lines().nth(1).unwrap().starts_with(' '), "{table}");
        let table = side_by_side(
            "message contains \"full\"\n",
            "message = \"empty poll list\"\n",
        );
        assert!(table.lines().nth(1).unwrap().starts_with('≠'), "{table}");
    }
}
