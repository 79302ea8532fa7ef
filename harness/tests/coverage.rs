//! The coverage ledger and its ratchet against the committed checkout: the
//! floors in coverage.toml hold, and removing one case makes them fail.

use witness::case::Case;
use witness::layout::Layout;
use witness::ledger::{Ledger, Measure, Ran, Status, ratchet};
use witness::spec::Spec;
use witness::suite::Suite;

fn checkout() -> (Layout, Spec, Vec<Case>) {
    let layout = Layout::from_env();
    let spec = Spec::load(&layout.wit_dir()).expect("wit/ parses (`cargo xtask wit sync`)");
    let cases = Suite::conformance(&layout)
        .load()
        .into_iter()
        .map(|(_, case)| case.expect("the committed cases load"))
        .collect();
    (layout, spec, cases)
}

#[test]
fn the_floors_hold_and_fail_when_one_case_is_removed() {
    let (layout, spec, cases) = checkout();
    let floors = ratchet::read(&layout.coverage_floors()).expect("coverage.toml reads");
    let ledger = Ledger::of_checkout(&layout, &spec, &cases, &Ran::new()).unwrap();
    let whole = ratchet::compare(&floors, &ledger.packages);
    assert!(whole.dropped.is_empty(), "{:?}", whole.dropped);
    // A case that alone covers something: without it, a figure falls.
    let alone = (ledger.entries.iter())
        .find(|entry| entry.status == Status::Covered && entry.cases.len() == 1)
        .expect("some entry is covered by one case");
    let removed = alone.cases[0].clone();
    let fewer: Vec<Case> = (cases.into_iter())
        .filter(|case| case.name.to_string() != removed)
        .collect();
    let without = Ledger::of_checkout(&layout, &spec, &fewer, &Ran::new()).unwrap();
    let comparison = ratchet::compare(&floors, &without.packages);
    let expected = format!("{} {}:", alone.package(), alone.measure.name());
    assert!(
        comparison
            .dropped
            .iter()
            .any(|line| line.starts_with(&expected)),
        "without {removed}, {expected} should fall below its floor: {comparison:?}"
    );
}

#[test]
fn every_wasi_function_is_in_the_ledger_once() {
    let (layout, spec, cases) = checkout();
    let ledger = Ledger::of_checkout(&layout, &spec, &cases, &Ran::new()).unwrap();
    let functions: Vec<&str> = (ledger.entries.iter())
        .filter(|entry| entry.measure == Measure::Functions)
        .map(|entry| entry.item.as_str())
        .collect();
    // Counted another way, from the text of wit/deps/*.wit: the `name: func`,
    // `name: static func` and `constructor(` declarations, less those gated
    // `@unstable` (the line before), which wit-parser leaves out by default.
    let mut declared = 0;
    for file in std::fs::read_dir(layout.wit_dir().join("deps")).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        declared += (1..lines.len())
            .filter(|&i| !lines[i - 1].starts_with("@unstable"))
            .filter(|&i| {
                lines[i].starts_with("constructor(")
                    || lines[i].split_once(": ").is_some_and(|(name, rest)| {
                        !name.contains(' ')
                            && (rest.starts_with("func(") || rest.starts_with("static func("))
                    })
            })
            .count();
    }
    assert_eq!(functions.len(), declared);
    let unique: std::collections::BTreeSet<&str> = functions.iter().copied().collect();
    assert_eq!(unique.len(), functions.len());
}
