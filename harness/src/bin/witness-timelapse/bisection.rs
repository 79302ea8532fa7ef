//! `--bisect`: for each change between two neighbouring hosts of a kind,
//! the releases the registry serves between them, installed and run only
//! as a binary search needs them (each on the cases that changed there),
//! until every change names the first release that behaves the new way.
//! What it installs joins timelapse.toml, so the next run has it.

use super::{Lineup, ReleaseKey, Runner, Saving, identity, in_parallel};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use witness::case::Case;
use witness::history::bisect;
use witness::history::matrix::{Change, Column, Row, changes};
use witness::history::releases::numbers;
use witness::history::releases::{self, Release, train};
use witness::host::registry::{Entry, Kind, Registry, Status};

/// Releases to run next, by name: each with the guests it runs and the
/// rows (cases) it is for.
type Wanted = BTreeMap<String, (Release, ReleaseKey, Vec<usize>)>;

#[derive(Default)]
pub struct Bisection {
    /// Each kind's releases on its registry, asked once.
    served: BTreeMap<Kind, Vec<Release>>,
    /// Releases that could not be installed here, with why.
    refused: BTreeMap<String, String>,
    /// What this bisection installed, in order.
    installed: Vec<String>,
    /// Where what it installs is kept.
    timelapse_toml: PathBuf,
    /// Where builds this toolchain failed are kept.
    failed_builds: FailedBuilds,
}

impl Bisection {
    /// A bisection that keeps what it installs in `timelapse_toml` and
    /// the builds that failed on this toolchain in `failed_builds`, which
    /// it refuses from the start.
    pub fn new(timelapse_toml: PathBuf, failed_builds: PathBuf) -> Bisection {
        let failed_builds = FailedBuilds::open(failed_builds);
        Bisection {
            timelapse_toml,
            refused: failed_builds.refused(),
            failed_builds,
            ..Bisection::default()
        }
    }

    /// Bisects every change of `rows` until each is exact, saving the
    /// findings after each round (a bisection may take hours).
    pub fn run(
        mut self,
        registry: &mut Registry,
        lineup: &mut Lineup,
        runner: &Runner,
        cases: &[Case],
        rows: &mut [Row],
        saving: &Saving,
    ) -> Result<(), String> {
        let started = Instant::now();
        let mut round = 0;
        loop {
            let wanted = self.next_releases(registry, lineup, rows)?;
            if wanted.is_empty() {
                break;
            }
            round += 1;
            println!(
                "\nbisection, round {round} ({}s so far): {}",
                started.elapsed().as_secs(),
                (wanted.iter())
                    .map(|(name, (_, _, rows))| format!("{name} for {} case(s)", rows.len()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for (name, (release, wit, indices)) in wanted {
                if !(lineup.columns.iter()).any(|column| column.name == name)
                    && let Err(why) = self.join(registry, lineup, runner, &release, wit)
                {
                    println!("  {name} left out: {why}");
                    self.refused.insert(name, why);
                    continue;
                }
                let at = (lineup.columns.iter().position(|column| column.name == name))
                    .expect("the release joined the lineup");
                // The cases a few at a time, as the matrix runs them.
                let cells = in_parallel(
                    &indices,
                    |index| {
                        let case = &cases[*index];
                        let (column, host) = (&lineup.columns[at], &lineup.hosts[at]);
                        let first = runner.cell(column, host, case);
                        let cell = runner.confirmed(column, host, case, first);
                        println!("  {} on {name}: {}", case.name, cell.summary());
                        cell
                    },
                    |_| {},
                );
                for (index, cell) in indices.iter().zip(cells) {
                    rows[*index].cells.insert(name.clone(), cell);
                    rows[*index].changes = changes(&lineup.columns, &rows[*index].cells);
                }
            }
            saving.save(&lineup.columns, rows)?;
        }
        self.report(lineup, rows, started);
        Ok(())
    }

    /// For each change that still has releases between its two sides, the
    /// middle one: by name, the release, the guests it runs (those of the
    /// older side: the host holds them constant) and the rows it is for.
    fn next_releases(
        &mut self,
        registry: &Registry,
        lineup: &Lineup,
        rows: &[Row],
    ) -> Result<Wanted, String> {
        let older = |change: &Change| {
            (registry.entries.get(&change.before_host)).filter(|older| older.kind != Kind::Embedded)
        };
        // The registries first: what they serve may refuse releases.
        for change in rows.iter().flat_map(|row| &row.changes) {
            if let Some(older) = older(change) {
                self.served(older.kind)?;
            }
        }
        let refused: BTreeSet<String> = self.refused.keys().cloned().collect();
        let mut wanted = Wanted::new();
        for (index, row) in rows.iter().enumerate() {
            let ran = ran(&lineup.columns, row);
            for change in &row.changes {
                let Some(older) = older(change) else {
                    continue;
                };
                let served = &self.served[&older.kind];
                let between = bisect::between(served, older.kind, &ran, change, &refused);
                if let Some(next) = bisect::middle(&between) {
                    let slot = wanted
                        .entry(next.name.clone())
                        .or_insert_with(|| (next.clone(), older.wit.clone(), Vec::new()));
                    if !slot.2.contains(&index) {
                        slot.2.push(index);
                    }
                }
            }
        }
        Ok(wanted)
    }

    fn served(&mut self, kind: Kind) -> Result<&[Release], String> {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.served.entry(kind) {
            println!("asking {}'s registry which releases it serves", kind.name());
            let served = releases::served(kind)?;
            // A release witness cannot install is refused, so that no
            // change across it is said to be exact.
            for release in &served {
                if let Some(why) = &release.unusable {
                    self.refused.insert(release.name.clone(), why.clone());
                }
            }
            slot.insert(served);
        }
        Ok(&self.served[&kind])
    }

    /// Installs `release` (unless it is), adds it to timelapse.toml and to
    /// the lineup, in its place.
    fn join(
        &mut self,
        registry: &mut Registry,
        lineup: &mut Lineup,
        runner: &Runner,
        release: &Release,
        wit: ReleaseKey,
    ) -> Result<(), String> {
        let name = &release.name;
        let entry = match registry.entries.get(name) {
            // In timelapse.toml, but not in this run's lineup.
            Some(entry) => entry.clone(),
            None => Entry {
                wit,
                ..release.entry.clone()
            },
        };
        let of = (runner.guests.get(&entry.wit)).ok_or("its guests' WASI release was not built")?;
        let fresh = !registry.entries.contains_key(name);
        registry.entries.insert(name.clone(), entry.clone());
        if let Status::NotInstalled { .. } = registry.status(name, &entry) {
            let installing = Instant::now();
            let how = match (&entry.pypi, &entry.cargo, &entry.shim) {
                (Some(wheel), ..) => format!("pip's wheel {wheel}, seconds"),
                (_, Some(_), _) => "`cargo install --locked`, minutes".to_string(),
                _ => "npm, seconds".to_string(),
            };
            println!(
                "  installing {name} ({}, the {} install of this bisection; {how})",
                (release.version),
                ordinal(self.installed.len() + 1)
            );
            let result = while_saying(name, installing, || registry.install(name));
            if let Err(why) = result {
                registry.entries.remove(name);
                // A build that failed fails again with this toolchain.
                if entry.cargo.is_some() {
                    self.failed_builds.add(name, &why);
                }
                return Err(why);
            }
            println!("  installed {name} in {}s", installing.elapsed().as_secs());
            self.installed.push(name.clone());
        }
        let host = registry.open(name).inspect_err(|_| {
            registry.entries.remove(name);
        })?;
        if fresh {
            // An old release may build only with an older Rust: say which.
            let built = entry.cargo.is_some() && self.installed.contains(name);
            let how = match built {
                true => format!(
                    "installed by a bisection, built with {}",
                    self.failed_builds.toolchain
                ),
                false => "installed by a bisection".to_string(),
            };
            append(&self.timelapse_toml, name, &entry, &how)?;
        }
        let column = Column {
            name: name.clone(),
            kind: entry.kind.name().to_string(),
            version: entry.version.clone().unwrap_or_default(),
            wit: of.release.clone(),
        };
        // Before the first column of its kind with a later version: a
        // bisected release lies between two columns, so there is one.
        let at = (lineup.columns.iter())
            .position(|other| {
                other.kind == column.kind && numbers(&other.version) > numbers(&column.version)
            })
            .expect("a bisected release is older than a column of its kind");
        lineup.columns.insert(at, column);
        lineup
            .hosts
            .insert(at, (host, entry.wit.clone(), identity(&entry)));
        Ok(())
    }

    /// Each change, exact or not; what was installed against what a full
    /// sweep of the ranges would have installed.
    fn report(&self, lineup: &Lineup, rows: &[Row], started: Instant) {
        println!(
            "\nbisection done in {}s: installed {} release(s){}",
            started.elapsed().as_secs(),
            self.installed.len(),
            match self.installed.is_empty() {
                true => String::new(),
                false => format!(" ({})", self.installed.join(", ")),
            }
        );
        // Every release of each range that was not a column before.
        let sweep: usize = (self.served.iter())
            .map(|(kind, served)| {
                let trains: Vec<(u64, u64)> = (lineup.columns.iter())
                    .filter(|column| column.kind == kind.name())
                    .filter(|column| !self.installed.contains(&column.name))
                    .filter_map(|column| semver::Version::parse(&column.version).ok())
                    .map(|version| train(*kind, &version))
                    .collect();
                let (Some(low), Some(high)) = (trains.iter().min(), trains.iter().max()) else {
                    return 0;
                };
                (served.iter())
                    .map(|release| train(*kind, &release.version))
                    .filter(|at| low < at && at < high && !trains.contains(at))
                    .count()
            })
            .sum();
        println!("a full sweep of the same ranges would have installed {sweep} release(s)");
        for (name, why) in &self.refused {
            println!("not installed here: {name}: {why}");
        }
        for row in rows {
            let ran = ran(&lineup.columns, row);
            for change in &row.changes {
                let column = lineup
                    .columns
                    .iter()
                    .find(|column| column.name == change.host);
                let Some((kind, served)) = (self.served.iter())
                    .find(|(kind, _)| column.is_some_and(|column| column.kind == kind.name()))
                else {
                    continue;
                };
                let untried = bisect::between(served, *kind, &ran, change, &BTreeSet::new());
                let mut unknown = Vec::new();
                if !untried.is_empty() {
                    unknown.push(format!(
                        "{} could not be installed or did not run the case",
                        (untried.iter())
                            .map(|release| release.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                if !change.passed_over.is_empty() {
                    unknown.push(format!(
                        "{} gave no steady answer witness could read",
                        change.passed_over.join(", ")
                    ));
                }
                let why = match unknown.is_empty() {
                    true => "exactly".to_string(),
                    false => format!("not exactly: between them, {}", unknown.join("; ")),
                };
                println!(
                    "{}: first {} (after {}), {why}",
                    row.case, change.host, change.before_host
                );
            }
        }
    }
}

/// The columns that ran `row`'s case: a release installed for other cases
/// is tried on this one as any other, without installing it again.
fn ran(columns: &[Column], row: &Row) -> Vec<Column> {
    (columns.iter())
        .filter(|column| row.cells.contains_key(&column.name))
        .cloned()
        .collect()
}

fn ordinal(n: usize) -> String {
    match n {
        1 => "1st".into(),
        2 => "2nd".into(),
        3 => "3rd".into(),
        n => format!("{n}th"),
    }
}

/// Runs `install`, saying every half minute that it still is.
fn while_saying<T>(name: &str, since: Instant, install: impl FnOnce() -> T) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut said = since;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if said.elapsed() >= Duration::from_secs(30) {
                    println!(
                        "    still installing {name} ({}s)",
                        since.elapsed().as_secs()
                    );
                    said = Instant::now();
                }
            }
        });
        let result = install();
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// Adds host `name` to timelapse.toml, keeping the file's comments,
/// saying `how` it was installed.
fn append(path: &Path, name: &str, entry: &Entry, how: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut document: toml_edit::DocumentMut =
        (text.parse()).map_err(|e| format!("{} does not parse: {e}", path.display()))?;
    let mut table = toml_edit::Table::new();
    table["kind"] = toml_edit::value(entry.kind.name());
    let fields = [
        ("version", &entry.version),
        ("pypi", &entry.pypi),
        ("cargo", &entry.cargo),
        ("shim", &entry.shim),
        ("wit", &entry.wit),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            table[key] = toml_edit::value(value.as_str());
        }
    }
    table["about"] = toml_edit::value(format!("{} ({how})", entry.about));
    document[name] = toml_edit::Item::Table(table);
    std::fs::write(path, document.to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The `cargo install`s that failed with this machine's rustc (old
/// wasmtimes some newer rustc rejects), kept across runs so that a
/// bisection does not spend ten minutes on each again.
#[derive(Default)]
struct FailedBuilds {
    path: PathBuf,
    /// `rustc --version`: another toolchain may build them.
    toolchain: String,
    builds: BTreeMap<String, FailedBuild>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FailedBuild {
    toolchain: String,
    why: String,
}

impl FailedBuilds {
    fn open(path: PathBuf) -> FailedBuilds {
        // The rustc `cargo install` uses: RUSTC's, else PATH's.
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let toolchain = std::process::Command::new(rustc)
            .arg("--version")
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
            .unwrap_or_default();
        // A file that does not read or parse only costs the builds again.
        let builds = (std::fs::read_to_string(&path).ok())
            .and_then(|text| toml::from_str(&text).ok())
            .unwrap_or_default();
        FailedBuilds {
            path,
            toolchain,
            builds,
        }
    }

    /// Those that failed on this toolchain, with why.
    fn refused(&self) -> BTreeMap<String, String> {
        (self.builds.iter())
            .filter(|(_, build)| build.toolchain == self.toolchain)
            .map(|(name, build)| {
                let why = format!(
                    "its build failed with {} in an earlier run ({}; delete that file to try again): {}",
                    build.toolchain,
                    self.path.display(),
                    build.why
                );
                (name.clone(), why)
            })
            .collect()
    }

    /// Keeps a failed build; one that cannot be kept only costs its build
    /// again next time.
    fn add(&mut self, name: &str, why: &str) {
        let build = FailedBuild {
            toolchain: self.toolchain.clone(),
            why: why.to_string(),
        };
        self.builds.insert(name.to_string(), build);
        let written =
            (toml::to_string_pretty(&self.builds).map_err(|e| e.to_string())).and_then(|text| {
                (self.path.parent().map_or(Ok(()), std::fs::create_dir_all))
                    .and_then(|()| std::fs::write(&self.path, text))
                    .map_err(|e| e.to_string())
            });
        if let Err(error) = written {
            println!(
                "  (cannot keep the failed build in {}: {error})",
                self.path.display()
            );
        }
    }
}
