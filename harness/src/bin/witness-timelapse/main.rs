//! `witness-timelapse`, run by `cargo xtask timelapse`: every conformance
//! case on every installed host of `timelapse.toml`, oldest first. History,
//! not a gate: cells are judged by the clause only, and records are read
//! only for what they know to vary from run to run. For each kind of
//! host (wasmtime CLIs, jco) it names the first installed version whose
//! behaviour on a case differs from the version before; the whole matrix,
//! case × host, goes to `target/witness/timelapse.json`.

mod alternation;
mod bisection;
mod cache;

use alternation::Alternation;
use bisection::Bisection;
use cache::CellCache;
use clap::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use witness::case::Case;
use witness::case::Citation;
use witness::history::matrix::{Cell, Column, Row, Timelapse, Verdict, changes};
use witness::history::releases::numbers;
use witness::history::summary::{Summary, WASI_RELEASES};
use witness::host::Host;
use witness::host::registry::{Entry, Kind, Registry, Status};
use witness::judge::verdict::SpecVerdict;
use witness::layout::Layout;
use witness::spec::Spec;
use witness::suite::Suite;

#[derive(Parser)]
#[command(
    name = "witness-timelapse",
    about = "Run every case across the hosts of timelapse.toml, oldest first, and name what changed"
)]
struct Cli {
    /// Only cases whose name contains this, e.g. `poll::empty-list`.
    filter: Option<String>,
    /// Only these hosts of timelapse.toml (repeatable), e.g. the oldest and
    /// the newest.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    /// The guests built against the fixture RELEASE that hosts name with
    /// `wit = "RELEASE"`, in DIR (DIR/wit, DIR/target/components): what
    /// `cargo xtask timelapse` builds and passes.
    #[arg(long = "guests", value_name = "RELEASE=DIR", value_parser = release_and_dir)]
    guests: Vec<(String, PathBuf)>,
    /// Between two neighbouring hosts of a kind that behave differently,
    /// install and run only the releases the registries serve that
    /// pinpoint the first to behave the new way (a binary search), and
    /// keep them in timelapse.toml.
    #[arg(long)]
    bisect: bool,
    /// Add the WASI release columns: the newest wasmtime CLI of the
    /// lineup running the guests of every release `--guests` names and of
    /// wit/'s, so that a change the WIT made stands apart from one the host
    /// made.
    #[arg(long)]
    wasi_releases: bool,
    /// Run every case afresh rather than take what an earlier run of the
    /// same harness saw on the same release (target/timelapse/cells/).
    #[arg(long)]
    fresh: bool,
    /// Run nothing: write history.toml again from the matrix an earlier
    /// run on every host saved (target/witness/timelapse.json), as this
    /// harness summarises it.
    #[arg(long, value_name = "JSON", conflicts_with_all = ["filter", "hosts", "bisect", "fresh"])]
    from_matrix: Option<PathBuf>,
}

fn release_and_dir(text: &str) -> Result<(String, PathBuf), String> {
    let (release, dir) = text
        .split_once('=')
        .ok_or("expected RELEASE=DIR, e.g. wasi-0.2.0=target/timelapse/wasi-0.2.0")?;
    Ok((release.to_string(), PathBuf::from(dir)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match timelapse(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The guests of one WASI release, and what their cases are judged by.
struct Guests {
    /// As the WIT's wasi:io says: `0.2.0`.
    release: String,
    suite: Suite,
    spec: Spec,
}

impl Guests {
    fn of(layout: &Layout) -> Result<Guests, String> {
        let wit = layout.wit_dir();
        Ok(Guests {
            release: witness::spec::worlds::wasi_release(&wit).ok_or_else(|| {
                format!("{}/deps has no wasi:io, or does not parse", wit.display())
            })?,
            suite: Suite::conformance(layout),
            spec: Spec::load(&wit)?,
        })
    }
}

/// A host's `wit` (a fixture's name), or `None` for wit/'s.
type ReleaseKey = Option<String>;

fn timelapse(cli: &Cli) -> Result<(), String> {
    let layout = Layout::from_env();
    let registry = Registry::load(
        &layout.root().join("timelapse.toml"),
        layout.hosts_install_root(),
    )
    .map_err(|e| e.to_string())?;
    // One install directory per name: a host in both files must install the same.
    let known = layout.registry().map_err(|e| e.to_string())?;
    let installs = |entry: &Entry| {
        let Entry {
            kind,
            version,
            pypi,
            cargo,
            shim,
            runtime,
            ..
        } = entry.clone();
        (kind, version, pypi, cargo, shim, runtime)
    };
    for (name, entry) in &registry.entries {
        if known
            .entries
            .get(name)
            .is_some_and(|other| installs(other) != installs(entry))
        {
            return Err(format!(
                "`{name}` is in hosts.toml and timelapse.toml with a different kind, version, pypi, cargo, shim or runtime: make them the same"
            ));
        }
    }
    if let Some(matrix) = &cli.from_matrix {
        return history_from(&layout, &registry, matrix);
    }
    let mut guests: BTreeMap<ReleaseKey, Guests> = BTreeMap::from([(None, Guests::of(&layout)?)]);
    for (release, dir) in &cli.guests {
        guests.insert(
            Some(release.clone()),
            Guests::of(&layout.built_against(dir))?,
        );
    }
    let mut lineup = installed_in_order(&registry, &cli.hosts, &guests)?;
    if cli.wasi_releases {
        add_wasi_release_columns(&mut lineup, &guests)?;
    }
    let default = &guests[&None];
    let cases: Vec<Case> = (default.suite.load().into_iter())
        .filter_map(|(_, case)| case.ok())
        .filter(|case| {
            cli.filter
                .as_ref()
                .is_none_or(|filter| case.name.to_string().contains(filter))
        })
        .collect();
    println!(
        "witness timelapse: {} cases on {} hosts",
        cases.len(),
        lineup.columns.len()
    );
    for of in guests.values() {
        let hosts: Vec<&str> = (lineup.columns.iter())
            .filter(|column| column.wit == of.release)
            .map(|column| column.name.as_str())
            .collect();
        if !hosts.is_empty() {
            println!(
                "  guests carrying WASI {}: {}",
                of.release,
                hosts.join(", ")
            );
        }
    }
    let cache = CellCache::open(
        layout.root().join("target/timelapse/cells"),
        &layout.root().join("harness/jco"),
        cli.fresh,
    )?;
    let alternation = Alternation::load(&known, &layout.records_dir())?;
    let runner = Runner {
        guests: &guests,
        cache: &cache,
        alternation: &alternation,
    };
    let mut rows = rows_in_parallel(&runner, &lineup, &cases);
    let saving = Saving {
        layout: &layout,
        history: cli.hosts.is_empty() && lineup.left_out.is_empty(),
    };
    saving.save(&lineup.columns, &rows)?;
    let mut registry = registry;
    if cli.bisect {
        Bisection::new(
            layout.root().join("timelapse.toml"),
            layout.root().join("target/timelapse/failed-builds.toml"),
        )
        .run(
            &mut registry,
            &mut lineup,
            &runner,
            &cases,
            &mut rows,
            &saving,
        )?;
    }
    report(&rows);
    let out = saving.save(&lineup.columns, &rows)?;
    println!("\nthe matrix: {}", out.display());
    match (saving.history, lineup.left_out.is_empty()) {
        (true, _) => println!(
            "the history drafts and the README quote: history.toml (then run `cargo xtask upstream`)"
        ),
        (false, false) => println!(
            "history.toml left as it was: {} could not be installed here",
            lineup.left_out.join(", ")
        ),
        (false, true) => {}
    }
    println!(
        "as a view of the HTML report: cargo xtask report --timelapse {}",
        out.display()
    );
    Ok(())
}

/// Where a run's findings go: the matrix, and for a run on every host the
/// history of the cases it ran.
struct Saving<'a> {
    layout: &'a Layout,
    /// Only a run on every host says what the history is.
    history: bool,
}

impl Saving<'_> {
    /// Writes target/witness/timelapse.json (its path is returned) and,
    /// for a run on every host, history.toml.
    fn save(&self, columns: &[Column], rows: &[Row]) -> Result<PathBuf, String> {
        // Borrowed for the writing only.
        let timelapse = Timelapse {
            hosts: columns.to_vec(),
            cases: rows.to_vec(),
        };
        let out = self.layout.root().join("target/witness/timelapse.json");
        let json = serde_json::to_string_pretty(&timelapse).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(out.parent().expect("a file in a directory"))
            .and_then(|()| std::fs::write(&out, json))
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        if self.history {
            let path = self.layout.root().join("history.toml");
            let ran = rows.iter().map(|row| row.case.clone()).collect();
            let summary = (Summary::load(&path).map_err(|e| e.to_string())?)
                .merged(Summary::of(&timelapse), &ran);
            std::fs::write(&path, summary.render())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(out)
    }
}

/// history.toml from the saved matrix `path`, which must hold every host
/// of `registry`.
fn history_from(
    layout: &Layout,
    registry: &Registry,
    path: &std::path::Path,
) -> Result<(), String> {
    let mut matrix = Timelapse::load(path)?;
    let missing: Vec<&str> = (registry.entries.keys())
        .filter(|name| !(matrix.hosts.iter()).any(|column| column.name == **name))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} lacks {} of timelapse.toml: history.toml comes from a run on every host (`cargo xtask timelapse`)",
            path.display(),
            missing.join(", ")
        ));
    }
    // What counts as a change may have changed too.
    for row in &mut matrix.cases {
        row.changes = changes(&matrix.hosts, &row.cells);
    }
    let saving = Saving {
        layout,
        history: true,
    };
    saving.save(&matrix.hosts, &matrix.cases)?;
    println!(
        "history.toml written from {} ({} cases on {} hosts): then run `cargo xtask upstream`",
        path.display(),
        matrix.cases.len(),
        matrix.hosts.len()
    );
    Ok(())
}

/// A column's host, the guests it runs, and what it is (its entry, for the
/// kept cells' key: another install of the same name is another host).
type Slot = (Arc<dyn Host>, ReleaseKey, String);

/// What `entry` installs and runs, for the kept cells' key: its `about`
/// is words, which a bisection adds to when it writes the entry.
fn identity(entry: &Entry) -> String {
    let installed = Entry {
        about: String::new(),
        ..entry.clone()
    };
    format!("{installed:?}")
}

/// The hosts in the matrix's order: their columns, and each host with the
/// guests it runs.
#[derive(Default)]
struct Lineup {
    columns: Vec<Column>,
    hosts: Vec<Slot>,
    /// Hosts that could not be installed here: a history without them
    /// would say less than the committed one.
    left_out: Vec<String>,
}

/// The hosts of the registry (only `wanted`, if any), each kind oldest
/// first, installing those that are not yet; one that cannot be installed
/// here is left out, saying why.
fn installed_in_order(
    registry: &Registry,
    wanted: &[String],
    guests: &BTreeMap<ReleaseKey, Guests>,
) -> Result<Lineup, String> {
    for name in wanted {
        if !registry.entries.contains_key(name) {
            return Err(format!("timelapse.toml has no host `{name}`"));
        }
    }
    let mut entries: Vec<(&String, &Entry)> = registry
        .entries
        .iter()
        .filter(|(name, _)| wanted.is_empty() || wanted.contains(name))
        .collect();
    entries.sort_by_key(|(_, entry)| (entry.kind.name(), version_key(entry)));
    let mut lineup = Lineup::default();
    for (name, entry) in entries {
        let Some(of) = guests.get(&entry.wit) else {
            return Err(format!(
                "`{name}` runs guests built against {}: run the time-lapse with `cargo xtask timelapse`, which builds them",
                entry.wit.as_deref().unwrap_or_default()
            ));
        };
        if let Status::NotInstalled { .. } = registry.status(name, entry) {
            println!("installing {name}");
            if let Err(why) = registry.install(name) {
                println!("  host {name} left out: {why}");
                lineup.left_out.push(name.clone());
                continue;
            }
        }
        let column = Column {
            name: name.clone(),
            kind: entry.kind.name().to_string(),
            version: entry.version.clone().unwrap_or_default(),
            wit: of.release.clone(),
        };
        lineup
            .hosts
            .push((registry.open(name)?, entry.wit.clone(), identity(entry)));
        lineup.columns.push(column);
    }
    Ok(lineup)
}

/// The newest wasmtime CLI of `lineup` once more for each WASI release
/// whose guests were built, oldest release first: a kind of its own
/// ([`WASI_RELEASES`]), whose versions are the releases.
fn add_wasi_release_columns(
    lineup: &mut Lineup,
    guests: &BTreeMap<ReleaseKey, Guests>,
) -> Result<(), String> {
    let newest = (lineup.columns.iter())
        .rposition(|column| column.kind == Kind::WasmtimeCli.name())
        .ok_or("the WASI release columns run on a wasmtime CLI, and the lineup has none")?;
    let (host, _, identity) = lineup.hosts[newest].clone();
    let name = lineup.columns[newest].name.clone();
    let mut releases: Vec<(&ReleaseKey, &Guests)> = guests.iter().collect();
    releases.sort_by_key(|(_, of)| semver::Version::parse(&of.release).ok());
    println!(
        "  WASI release columns: {name} with the guests of WASI {}",
        (releases.iter())
            .map(|(_, of)| of.release.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (key, of) in releases {
        lineup.columns.push(Column {
            name: format!("{name}+wasi-{}", of.release),
            kind: WASI_RELEASES.to_string(),
            version: of.release.clone(),
            wit: of.release.clone(),
        });
        lineup
            .hosts
            .push((host.clone(), key.clone(), identity.clone()));
    }
    Ok(())
}

/// `36.0.9` as numbers, so that 100 comes after 99.
fn version_key(entry: &Entry) -> Vec<u64> {
    numbers(entry.version.as_deref().unwrap_or_default())
}

/// How many more times each cell on either side of a change runs, to tell
/// a change from a host that does otherwise from run to run.
const CONFIRMING_RUNS: usize = 3;

/// What runs a case on a column: the guests of each release, the cells
/// of earlier runs, and what the records know to vary.
struct Runner<'a> {
    guests: &'a BTreeMap<ReleaseKey, Guests>,
    cache: &'a CellCache,
    alternation: &'a Alternation,
}

/// One case on every host, each with the guests of its release; where
/// each kind of host changed; and in which releases the citation does not
/// hold.
fn row(runner: &Runner, lineup: &Lineup, case: &Case) -> Row {
    let cells: BTreeMap<String, Cell> = (lineup.columns.iter().zip(&lineup.hosts))
        .map(|(column, host)| (column.name.clone(), runner.cell(column, host, case)))
        .collect();
    let mut row = Row {
        case: case.name.to_string(),
        // Only the releases some host's guests carried.
        citations: (runner.guests.values())
            .filter(|of| (lineup.columns.iter()).any(|column| column.wit == of.release))
            .filter_map(|of| Some((of.release.clone(), citation(&of.spec, &of.release, case)?)))
            .collect(),
        changes: changes(&lineup.columns, &cells),
        cells,
    };
    // Until every side of every change is confirmed: a side that varies is
    // passed over, which makes its neighbours the sides of a change.
    let mut confirmed: BTreeSet<String> = BTreeSet::new();
    loop {
        let sides: BTreeSet<String> = (row.changes.iter())
            .flat_map(|change| [change.before_host.clone(), change.host.clone()])
            .filter(|side| !confirmed.contains(side))
            .collect();
        if sides.is_empty() {
            return row;
        }
        for side in sides {
            let at = (lineup.columns.iter().position(|column| column.name == side))
                .expect("a change names a column");
            let first = row.cells[&side].clone();
            let again = runner.confirmed(&lineup.columns[at], &lineup.hosts[at], case, first);
            row.cells.insert(side.clone(), again);
            confirmed.insert(side);
        }
        row.changes = changes(&lineup.columns, &row.cells);
    }
}

impl Runner<'_> {
    /// What `host`, the time-lapse's column `column`, did on `case`: as an
    /// earlier run saw it, or run now.
    fn cell(&self, column: &Column, host: &Slot, case: &Case) -> Cell {
        let key = self.key(column, host, case);
        if let Some((cell, _)) = key.as_deref().and_then(|key| self.cache.get(key)) {
            return cell;
        }
        let cell = self.observe(column, host, case);
        // A harness error may pass: it is not kept.
        if let (Some(key), false) = (key, matches!(cell, Cell::Error { .. })) {
            self.cache.put(&key, &cell, false);
        }
        cell
    }

    fn key(&self, column: &Column, (_, release, identity): &Slot, case: &Case) -> Option<String> {
        let component = self.guests[release]
            .suite
            .built_component(&case.guest)
            .ok()?;
        let alternation = self.alternation.key(&column.kind, case);
        self.cache.key(
            &format!("{}\n{identity}\n{alternation}", column.name),
            &component,
            case,
        )
    }

    /// What `host` did on `case`, judged by the clause where the clause
    /// holds in the release its guests carried.
    fn observe(&self, column: &Column, (host, release, _): &Slot, case: &Case) -> Cell {
        let of = &self.guests[release];
        // A guest calling what an older release lacks does not build
        // against it: history, not a harness error.
        if of.suite.built_component(&case.guest).is_err()
            && of.suite.layout.build_error(&case.guest).is_file()
        {
            return Cell::NotApplicable {
                not_applicable: format!(
                    "guest `{}` does not build against this WASI release",
                    case.guest
                ),
            };
        }
        match host.supports(&case.run) {
            Err(not_applicable) => Cell::NotApplicable { not_applicable },
            Ok(()) => match of.suite.observe(host.as_ref(), case) {
                Ok(observed) => Cell::Did {
                    did: observed.behaviour(),
                    message: observed.outcome.message().map(str::to_string),
                    varies: Vec::new(),
                    alternates: self.alternation.of(&column.kind, case, &observed),
                    // A panic or a crash violates every case, silent ones too.
                    verdict: match (
                        citation(&of.spec, &of.release, case),
                        SpecVerdict::violation(case, &observed),
                        &case.spec,
                    ) {
                        (Some(_), ..) => None,
                        (None, Some(_), _) => Some(Verdict::Violates),
                        (None, None, Citation::Clause { .. }) => Some(Verdict::Conforms),
                        (None, None, Citation::Silent { .. }) => None,
                    },
                },
                Err(error) => Cell::Error { error },
            },
        }
    }

    /// `first`, with what else `host` did when `case` ran again
    /// [`CONFIRMING_RUNS`] times: a cell that varies is no evidence of a
    /// change.
    fn confirmed(&self, column: &Column, host: &Slot, case: &Case, first: Cell) -> Cell {
        let key = self.key(column, host, case);
        if let Some((cell, true)) = key.as_deref().and_then(|key| self.cache.get(key)) {
            return cell;
        }
        let again: Vec<Cell> = (0..CONFIRMING_RUNS)
            .map(|_| self.observe(column, host, case))
            .collect();
        let first = first.with_runs_again(&again);
        // A harness error may pass: a cell with one is not kept.
        let error = (again.iter().chain([&first])).any(|cell| matches!(cell, Cell::Error { .. }));
        if let (Some(key), false) = (key, error) {
            self.cache.put(&key, &first, true);
        }
        first
    }
}

/// Every case's row, a few cases at a time (a host mostly waits on the
/// processes it starts), in the cases' order, saying how far it got.
fn rows_in_parallel(runner: &Runner, lineup: &Lineup, cases: &[Case]) -> Vec<Row> {
    let started = Instant::now();
    in_parallel(
        cases,
        |case| row(runner, lineup, case),
        |done| {
            if done.is_multiple_of(PROGRESS_EVERY) || done == cases.len() {
                eprintln!(
                    "  {done}/{} cases on {} hosts ({}s)",
                    cases.len(),
                    lineup.columns.len(),
                    started.elapsed().as_secs()
                );
            }
        },
    )
}

/// `work` on each of `items`, [`WORKERS`] at a time, in the items' order;
/// `done` hears how many are done after each.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> R + Sync,
    done: impl Fn(usize) + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(at) else { break };
                    *results[at].lock().expect("no worker panics") = Some(work(item));
                    done(finished.fetch_add(1, Ordering::Relaxed) + 1);
                }
            });
        }
    });
    (results.into_iter())
        .map(|result| (result.into_inner().expect("no worker panics")).expect("every item ran"))
        .collect()
}

/// How many cases run at once.
const WORKERS: usize = 4;

/// How often the time-lapse says how far it got, in cases.
const PROGRESS_EVERY: usize = 50;

/// Why `case`'s citation does not hold in WASI `wit`, the release the
/// guests carried; `None` when it holds.
fn citation(spec: &Spec, wit: &str, case: &Case) -> Option<String> {
    let item = case.spec.item();
    spec.stale(case)
        .map(|stale| stale.describe(item, &format!("WASI {wit}")))
}

/// The cases some kind of host changed on: each change with the first
/// version that did otherwise, and what it did before and after; then the
/// cells that varied when run again.
fn report(rows: &[Row]) {
    let changed: Vec<&Row> = rows.iter().filter(|row| !row.changes.is_empty()).collect();
    println!(
        "\n{} of {} cases changed between installed versions:",
        changed.len(),
        rows.len()
    );
    for row in &changed {
        println!("{}", row.case);
        for citation in row.citations.values() {
            println!("  ({citation})");
        }
        for change in &row.changes {
            let guests = (change.guests.as_ref())
                .map(|guests| format!(" (the guests too: WASI {guests})"))
                .unwrap_or_default();
            println!("  from {}{guests}: {}", change.host, change.now);
            println!(
                "  {:width$}  before: {}",
                "",
                change.before,
                width = 5 + change.host.len()
            );
        }
    }
    // Where a change seemed to be, one side did otherwise when run again.
    let varying: Vec<(&Row, &String, &Cell)> = (rows.iter())
        .flat_map(|row| (row.cells.iter()).map(move |(host, cell)| (row, host, cell)))
        .filter(|(_, _, cell)| cell.varies())
        .collect();
    if !varying.is_empty() {
        println!("\nno change, but a host that varies from run to run:");
        for (row, host, cell) in varying {
            println!("{} on {host}: {}", row.case, cell.summary());
        }
    }
    // Cases where a kind did otherwise only between outcomes a record
    // knows it to alternate between.
    let alternating: BTreeMap<&str, BTreeSet<&str>> = (rows.iter())
        .flat_map(|row| {
            (row.cells.values())
                .filter_map(move |cell| Some((row.case.as_str(), cell.alternation()?)))
        })
        .fold(BTreeMap::new(), |mut by_case, (case, why)| {
            by_case.entry(case).or_default().insert(why);
            by_case
        });
    if !alternating.is_empty() {
        println!(
            "\noutcomes a record knows the host to alternate between (no change between them):"
        );
        for (case, why) in alternating {
            println!(
                "{case}: {}",
                why.into_iter().collect::<Vec<_>>().join(" | ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_as_numbers() {
        let entry = |version: &str| Entry {
            kind: witness::host::registry::Kind::WasmtimeCli,
            version: Some(version.into()),
            pypi: None,
            cargo: None,
            shim: None,
            wit: None,
            default: false,
            runtime: Default::default(),
            about: String::new(),
        };
        assert!(version_key(&entry("9.0.0")) < version_key(&entry("17.0.3")));
        assert!(version_key(&entry("49.0.3")) < version_key(&entry("100.0.0")));
    }
}
