//! The conformance suite as a program: every case on every chosen host,
//! with libtest's command line, then the reports. The test binary that
//! `cargo xtask test` runs (harness/tests/suite.rs) and a packaged suite's
//! `witness test` (bin/witness.rs) both are this.

use crate::host::{self, Host};
use crate::layout::Layout;
use crate::ledger::Ledger;
use crate::report::diff::Run;
use crate::report::rerun::Rerun;
use crate::report::results::Results;
use crate::spec::Spec;
use crate::suite::Suite;
use libtest_mimic::Arguments;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// How a run goes, beyond libtest's arguments.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// `--host`: names of hosts.toml, or `wasmtime-cli=PATH`.
    pub hosts: Vec<String>,
    /// `--all-hosts`: every known host that is installed.
    pub all_hosts: bool,
    /// Where every trial's result goes, as JSON and as JUnit XML.
    pub json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    /// A Markdown summary is appended here (GitHub's job summary).
    pub markdown: Option<PathBuf>,
    /// The HTML report is written here.
    pub html: Option<PathBuf>,
    /// Only the cases of these families (`poll`, `http-outgoing`); all
    /// when empty.
    pub families: Vec<String>,
    /// Records what each host did instead of comparing with it.
    pub bless: bool,
    /// Runs each case this many times, every run judged.
    pub repeat: Option<usize>,
}

impl RunOptions {
    /// As `cargo xtask` passes them to the test binary: `WITNESS_HOSTS`
    /// (comma-separated), `WITNESS_ALL_HOSTS`, `WITNESS_JSON`,
    /// `WITNESS_JUNIT`, `GITHUB_STEP_SUMMARY`, `WITNESS_BLESS=1` and
    /// `WITNESS_REPEAT=N`.
    pub fn from_env() -> Result<RunOptions, String> {
        let path = |variable| std::env::var_os(variable).map(PathBuf::from);
        let repeat = match std::env::var("WITNESS_REPEAT") {
            Err(_) => None,
            Ok(repeat) => match repeat.parse() {
                Ok(repeat) if repeat > 0 => Some(repeat),
                _ => {
                    return Err(format!(
                        "WITNESS_REPEAT={repeat:?}: give a positive number of runs"
                    ));
                }
            },
        };
        Ok(RunOptions {
            hosts: (std::env::var("WITNESS_HOSTS")
                .unwrap_or_default()
                .split(','))
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect(),
            all_hosts: std::env::var_os("WITNESS_ALL_HOSTS").is_some(),
            json: path("WITNESS_JSON"),
            junit: path("WITNESS_JUNIT"),
            markdown: path("GITHUB_STEP_SUMMARY"),
            html: None,
            families: Vec::new(),
            bless: std::env::var_os("WITNESS_BLESS").is_some(),
            repeat,
        })
    }
}

impl RunOptions {
    /// Whether `trial` (`host::family::case`) is of a family this run
    /// takes.
    fn in_families(&self, trial: &str) -> bool {
        self.families.is_empty()
            || (trial.split("::").nth(1))
                .is_some_and(|family| self.families.iter().any(|f| f == family))
    }
}

/// Runs the suite of `layout` on the hosts `options` choose among
/// `embedded` (this build's embedded hosts) and hosts.toml's.
pub fn run_suite(
    layout: &Layout,
    arguments: &Arguments,
    options: &RunOptions,
    embedded: Vec<Arc<dyn Host>>,
) -> ExitCode {
    let is_family = |family: &String| {
        (family.chars()).all(|c| c.is_ascii_alphanumeric() || c == '-')
            && layout.cases_dir().join(family).is_dir()
    };
    if let Some(family) = (options.families.iter()).find(|family| !is_family(family)) {
        let known: std::collections::BTreeSet<String> = (std::fs::read_dir(layout.cases_dir())
            .into_iter()
            .flatten()
            .flatten())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
        eprintln!(
            "error: there is no family `{family}`: a family is a directory of {}; they are {}",
            layout.display(&layout.cases_dir()),
            Vec::from_iter(known).join(", ")
        );
        return ExitCode::FAILURE;
    }
    let chosen = layout
        .registry()
        .map_err(|e| e.to_string())
        .and_then(|registry| host::choose(&registry, embedded, &options.hosts, options.all_hosts));
    let chosen = match chosen {
        Ok(chosen) if chosen.hosts.is_empty() => {
            eprintln!("error: no host to run the suite on:");
            for (host, why) in &chosen.skipped {
                eprintln!("  {host}: {why}");
            }
            eprintln!(
                "name one with --host (a host of hosts.toml, wasmtime-cli=PATH, adapter=COMMAND)"
            );
            return ExitCode::FAILURE;
        }
        Ok(chosen) => chosen,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut suite = Suite::conformance(layout);
    suite.rerun = Rerun::new(layout, chosen.selected_as.clone());
    if options.bless {
        suite = suite.blessing();
    } else if let Some(repeat) = options.repeat {
        suite.repeat = repeat;
    }
    let suite = Arc::new(suite);
    let mut trials = suite.clone().trials(&chosen.hosts);
    trials.retain(|trial| options.in_families(trial.name()));
    let conclusion = libtest_mimic::run(arguments, trials);
    if !arguments.ignored && !arguments.list {
        for (trial, reason) in suite.not_applicable.lock().expect("no panics").iter() {
            if selected(arguments, trial) && options.in_families(trial) {
                suite.results.add_not_applicable(trial, reason);
            }
        }
    }
    // The ledger measures the whole suite; cargo-nextest runs a process per
    // trial, where it would cost each trial twice its run and say nothing.
    let whole_run = std::env::var_os("NEXTEST_RUN_ID").is_none();
    if !arguments.list && whole_run {
        match ledger(layout, &suite) {
            Ok(ledger) => drop(suite.results.ledger.set(ledger)),
            Err(error) => eprintln!("warning: no coverage ledger in the run's JSON: {error}"),
        }
    }
    print!("{}", suite.results.summary());
    print!("{}", suite.results.matrix_table());
    if !arguments.list {
        for (host, why) in &chosen.skipped {
            println!("host {host} skipped: {why}");
        }
    }
    let reports = [
        (
            "--json",
            &options.json,
            Results::write_json as fn(&_, &_) -> _,
        ),
        ("--junit", &options.junit, Results::write_junit),
        // GitHub Actions' job summary: appended to, as other steps may write it.
        (
            "GITHUB_STEP_SUMMARY",
            &options.markdown,
            Results::append_markdown,
        ),
    ];
    for (what, path, write) in reports {
        if let Some(path) = path
            && let Err(error) = write(&suite.results, path)
        {
            eprintln!("error: cannot write {} ({what}): {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    // Kept for `cargo xtask report`; a listing ran nothing.
    if !arguments.list {
        let last_run = layout.last_run();
        let kept = (last_run.parent())
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| suite.results.write_json(&last_run));
        if let Err(error) = &kept {
            eprintln!(
                "warning: cannot keep the run in {}: {error}",
                last_run.display()
            );
        }
        // The page is made of this run's JSON, as `cargo xtask report` makes it.
        if let Some(html) = &options.html {
            let json = match (&options.json, kept) {
                (Some(json), _) => json,
                (None, Ok(())) => &last_run,
                (None, Err(_)) => {
                    eprintln!(
                        "error: the HTML report (--html) is made of the run's JSON: give --json FILE"
                    );
                    return ExitCode::FAILURE;
                }
            };
            let page = Run::load(json)
                .map(|run| crate::report::html::page(&run.trials, run.ledger.as_ref(), None));
            if let Err(error) = page.and_then(|page| {
                std::fs::write(html, page)
                    .map_err(|e| format!("cannot write {}: {e}", html.display()))
            }) {
                eprintln!("error: the HTML report (--html): {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(blessings) = &suite.blessings {
        match blessings.write(&suite.records_dir) {
            Ok(diff) if diff.is_empty() => println!("bless: every record already matches"),
            Ok(diff) => print!("bless: records written\n{diff}"),
            Err(error) => {
                eprintln!("error: bless: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    conclusion.exit_code()
}

/// The coverage ledger of the WIT under test, its hosts those of this run.
fn ledger(layout: &Layout, suite: &Suite) -> Result<Ledger, String> {
    let spec = Spec::load(&layout.wit_dir())?;
    let cases: Vec<_> = (suite.load().into_iter())
        .filter_map(|(_, case)| case.ok())
        .collect();
    let ran = crate::report::results::ran(&suite.results.all());
    let records = crate::judge::records::HostRecords::load_all(&layout.records_dir())
        .map_err(|e| e.to_string())?;
    Ledger::build(&spec, &cases, &layout.guests_dir(), &records, &ran)
}

/// Whether libtest's filter (and `--skip`) selects `trial`, as libtest-mimic
/// applies them.
fn selected(arguments: &Arguments, trial: &str) -> bool {
    let matches = |pattern: &str| match arguments.exact {
        true => trial == pattern,
        false => trial.contains(pattern),
    };
    arguments.filter.as_deref().is_none_or(matches)
        && !arguments.skip.iter().any(|skip| matches(skip))
}
