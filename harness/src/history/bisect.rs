//! Bisection: where two neighbouring time-lapse hosts of one kind behave
//! differently on a case, the release to run next is the middle one of
//! those the registry serves between them, so each run halves what is
//! left; when none is left, the later of the two is exactly the first
//! release that behaves the new way.

use super::matrix::{Change, Column};
use super::releases::{Release, train};
use crate::host::registry::Kind;
use semver::Version;
use std::collections::BTreeSet;

/// The releases of `served` (one kind's, oldest first) strictly between
/// the two columns of `change`, leaving out those that cannot be installed
/// here (`refused`) and the trains a column has already (the caller passes
/// the columns that ran the case): a column passed over because it varied
/// is not run again (it would vary again), nor one the harness could not
/// run (the change then says it passed over it).
pub fn between<'a>(
    served: &'a [Release],
    kind: Kind,
    columns: &[Column],
    change: &Change,
    refused: &BTreeSet<String>,
) -> Vec<&'a Release> {
    let version_of = |name: &str| {
        let column = columns.iter().find(|column| column.name == name)?;
        Version::parse(&column.version).ok()
    };
    let (Some(before), Some(after)) = (version_of(&change.before_host), version_of(&change.host))
    else {
        return Vec::new();
    };
    let (low, high) = (train(kind, &before), train(kind, &after));
    let columns_trains: BTreeSet<(u64, u64)> = (columns.iter())
        .filter(|column| column.kind == kind.name())
        .filter_map(|column| Version::parse(&column.version).ok())
        .map(|version| train(kind, &version))
        .collect();
    (served.iter())
        .filter(|release| !columns_trains.contains(&train(kind, &release.version)))
        .filter(|release| {
            (low < train(kind, &release.version)) && train(kind, &release.version) < high
        })
        .filter(|release| !refused.contains(&release.name))
        .collect()
}

/// The release to run next: the middle one.
pub fn middle<'a>(between: &[&'a Release]) -> Option<&'a Release> {
    between.get(between.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::registry::Entry;

    fn release(version: &str) -> Release {
        let version = Version::parse(version).unwrap();
        Release {
            name: format!("wasmtime-cli-{version}"),
            entry: Entry::release(Kind::WasmtimeCli, &version, String::new()),
            version,
            unusable: None,
        }
    }

    fn column(version: &str) -> Column {
        Column {
            name: format!("wasmtime-cli-{version}"),
            kind: "wasmtime-cli".into(),
            version: version.into(),
            wit: "0.2.0".into(),
        }
    }

    fn change(before: &str, after: &str) -> Change {
        Change {
            host: format!("wasmtime-cli-{after}"),
            before_host: format!("wasmtime-cli-{before}"),
            before: "hang".into(),
            now: "trap by host".into(),
            guests: None,
            passed_over: Vec::new(),
        }
    }

    /// Bisects `served` for the first release at or after `flip` (a
    /// major), as the time-lapse does: returns that release and the
    /// releases it ran on the way.
    fn bisect(served: &[Release], flip: u64) -> (String, Vec<String>) {
        let mut columns = vec![column("19.0.2"), column("36.0.9")];
        let mut tried = Vec::new();
        loop {
            let (low, high) = columns
                .windows(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()))
                .find(|(low, high)| {
                    let flipped =
                        |column: &Column| Version::parse(&column.version).unwrap().major >= flip;
                    !flipped(low) && flipped(high)
                })
                .unwrap();
            let change = change(&low.version, &high.version);
            let between = between(
                served,
                Kind::WasmtimeCli,
                &columns,
                &change,
                &BTreeSet::new(),
            );
            let Some(next) = middle(&between) else {
                return (high.version, tried);
            };
            tried.push(next.version.to_string());
            let at = columns
                .iter()
                .position(|column| Version::parse(&column.version).unwrap() > next.version)
                .unwrap();
            columns.insert(at, column(&next.version.to_string()));
        }
    }

    #[test]
    fn a_bisection_names_the_first_release_of_the_new_behaviour_in_a_logarithm_of_runs() {
        let served: Vec<Release> = (17..=49)
            .map(|major| release(&format!("{major}.0.1")))
            .collect();
        // The 16 releases from 20 to 35 lie between the two columns.
        for flip in 20..=36 {
            let (first, tried) = bisect(&served, flip);
            let expected = match flip {
                36 => "36.0.9".to_string(),
                _ => format!("{flip}.0.1"),
            };
            assert_eq!(first, expected, "tried {tried:?}");
            assert!(
                tried.len() <= 5,
                "{} runs for 16 releases: {tried:?}",
                tried.len()
            );
        }
    }

    #[test]
    fn a_train_with_a_column_is_not_run_again() {
        let served: Vec<Release> = ["19.0.2", "28.0.1", "30.0.0", "36.0.0"]
            .iter()
            .map(|version| release(version))
            .collect();
        // 28's column varied, so the change runs from 19 to 36 across it.
        let columns = [column("19.0.2"), column("28.0.1"), column("36.0.9")];
        let between = between(
            &served,
            Kind::WasmtimeCli,
            &columns,
            &change("19.0.2", "36.0.9"),
            &BTreeSet::new(),
        );
        let names: Vec<&str> = between
            .iter()
            .map(|release| release.name.as_str())
            .collect();
        assert_eq!(names, ["wasmtime-cli-30.0.0"]);
    }

    #[test]
    fn the_trains_of_the_two_columns_and_releases_refused_here_are_not_between() {
        let served: Vec<Release> = ["19.0.0", "20.0.1", "21.0.1", "36.0.0"]
            .iter()
            .map(|version| release(version))
            .collect();
        let columns = [column("19.0.2"), column("36.0.9")];
        let refused = BTreeSet::from(["wasmtime-cli-20.0.1".to_string()]);
        let between = between(
            &served,
            Kind::WasmtimeCli,
            &columns,
            &change("19.0.2", "36.0.9"),
            &refused,
        );
        let names: Vec<&str> = between
            .iter()
            .map(|release| release.name.as_str())
            .collect();
        assert_eq!(names, ["wasmtime-cli-21.0.1"]);
    }
}
