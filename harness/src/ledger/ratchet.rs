//! The ledger's ratchet: `coverage.toml` holds, per package, the number of
//! covered entries of each measure. `cargo xtask spec coverage --check`
//! fails when a figure falls below its floor (a case removed, a citation
//! lost, a call gone from a guest) and, when one rises, says how to raise
//! the floor with it.

use super::{Figures, Measure};
use crate::file_error::FileError;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// Package → measure → the covered count it may not fall below.
pub type Floors = BTreeMap<String, BTreeMap<Measure, usize>>;

const HELP: &str = "coverage.toml has a table per package (`[\"wasi:io\"]`) of `functions`, \
`clauses`, `traps` and `errors`, each a count: `cargo xtask spec coverage --raise-floor` writes it";

/// Reads the floors; a missing file has none.
pub fn read(path: &Path) -> Result<Floors, FileError> {
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Floors::new()),
        Err(e) => return Err(FileError::unreadable(path, &e)),
    };
    toml::from_str(&source).map_err(|e| FileError::toml(path, &source, &e, HELP))
}

/// How the figures stand against the floors.
#[derive(Debug, Default, PartialEq)]
pub struct Comparison {
    /// `wasi:io functions: 9, below its floor of 10`.
    pub dropped: Vec<String>,
    /// `wasi:io clauses: 41, above its floor of 40`.
    pub rose: Vec<String>,
}

/// Every figure against its floor; a package or measure without a floor
/// has floor 0, a floor whose package is gone a figure of 0.
pub fn compare(floors: &Floors, figures: &Figures) -> Comparison {
    let mut comparison = Comparison::default();
    let packages = floors.keys().chain(figures.keys());
    let packages: std::collections::BTreeSet<&String> = packages.collect();
    for package in packages {
        for measure in Measure::ALL {
            let floor = (floors.get(package))
                .and_then(|floors| floors.get(&measure))
                .copied()
                .unwrap_or(0);
            let now = (figures.get(package))
                .and_then(|figures| figures.get(&measure))
                .map_or(0, |figure| figure.covered);
            let name = measure.name();
            if now < floor {
                let line = format!("{package} {name}: {now}, below its floor of {floor}");
                comparison.dropped.push(line);
            } else if now > floor {
                let line = format!("{package} {name}: {now}, above its floor of {floor}");
                comparison.rose.push(line);
            }
        }
    }
    comparison
}

/// The floors file for `figures`: every package's covered counts.
pub fn render(figures: &Figures) -> String {
    let mut text = String::from(
        "# The coverage ledger's floors: per package, how many functions, clauses, trap\n\
         # clauses and error conditions the cases cover. `cargo xtask spec coverage --check`\n\
         # fails when a figure falls below its floor; `--raise-floor` rewrites this file\n\
         # when figures rose. Lower a floor only by hand, saying why in the commit.\n",
    );
    for (package, measures) in figures {
        let _ = writeln!(text, "\n[\"{package}\"]");
        for (measure, figure) in measures {
            let _ = writeln!(text, "{} = {}", measure.name(), figure.covered);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::Figure;
    use super::*;

    fn figures(functions: usize) -> Figures {
        let measures = Measure::ALL
            .into_iter()
            .map(|measure| {
                let covered = if measure == Measure::Functions {
                    functions
                } else {
                    1
                };
                (measure, Figure { covered, total: 20 })
            })
            .collect();
        BTreeMap::from([("wasi:io".to_string(), measures)])
    }

    #[test]
    fn a_figure_below_its_floor_dropped_and_above_it_rose() {
        let floors: Floors = toml::from_str(&render(&figures(5))).unwrap();
        assert_eq!(compare(&floors, &figures(5)), Comparison::default());
        let fell = compare(&floors, &figures(4));
        assert_eq!(fell.dropped, ["wasi:io functions: 4, below its floor of 5"]);
        let rose = compare(&floors, &figures(6));
        assert_eq!(rose.rose, ["wasi:io functions: 6, above its floor of 5"]);
        assert!(
            compare(&floors, &Figures::new()).dropped.len() == 4,
            "a package gone drops"
        );
    }

    #[test]
    fn an_unknown_measure_is_an_error_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coverage.toml");
        std::fs::write(&path, "[\"wasi:io\"]\nfunctions = 1\nfunctoins = 2\n").unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("coverage.toml:3:1"), "{error}");
    }
}
