//! The conformance suite as a libtest-mimic test binary: every case on
//! every chosen host. `cargo xtask test` builds the guests and runs it.
//!
//! Environment (set by `cargo xtask`): `WITNESS_HOSTS` names the hosts
//! (comma-separated: names from hosts.toml, or `wasmtime-cli=PATH`);
//! `WITNESS_ALL_HOSTS` runs every installed host; `WITNESS_JSON` and
//! `WITNESS_JUNIT` name files to write every trial's result to, and a
//! Markdown summary is appended to `GITHUB_STEP_SUMMARY` when it is set;
//! `WITNESS_BLESS=1` records what each host did into records/ instead of
//! comparing with it (`cargo xtask bless`); `WITNESS_REPEAT=N` runs each
//! case N times, every run judged (`cargo xtask test --repeat N`).

use libtest_mimic::Arguments;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use witness::layout::Layout;
use witness::ledger::Ledger;
use witness::report::results::Results;
use witness::spec::Spec;
use witness::suite::Suite;

fn main() -> ExitCode {
    let arguments = Arguments::from_args();
    let layout = Layout::from_env();
    let sync_program = PathBuf::from(env!("CARGO_BIN_EXE_witness-wasmtime-sync"));
    let chosen = layout
        .registry()
        .map_err(|e| e.to_string())
        .and_then(|registry| {
            witness::host::choose(&registry, layout.compile_cache_dir(), sync_program)
        });
    let chosen = match chosen {
        Ok(chosen) => chosen,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut suite = Suite::conformance(&layout);
    if std::env::var_os("WITNESS_BLESS").is_some() {
        suite = suite.blessing();
    } else if let Ok(repeat) = std::env::var("WITNESS_REPEAT") {
        match repeat.parse() {
            Ok(repeat) if repeat > 0 => suite.repeat = repeat,
            _ => {
                eprintln!("error: WITNESS_REPEAT={repeat:?}: give a positive number of runs");
                return ExitCode::FAILURE;
            }
        }
    }
    let suite = Arc::new(suite);
    let conclusion = libtest_mimic::run(&arguments, suite.clone().trials(&chosen.hosts));
    if !arguments.ignored && !arguments.list {
        for (trial, reason) in suite.not_applicable.lock().expect("no panics").iter() {
            if selected(&arguments, trial) {
                suite.results.add_not_applicable(trial, reason);
            }
        }
    }
    // The ledger measures the whole suite; cargo-nextest runs a process per
    // trial, where it would cost each trial twice its run and say nothing.
    let whole_run = std::env::var_os("NEXTEST_RUN_ID").is_none();
    if !arguments.list && whole_run {
        match ledger(&layout, &suite) {
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
        ("WITNESS_JSON", Results::write_json as fn(&_, &_) -> _),
        ("WITNESS_JUNIT", Results::write_junit),
        // GitHub Actions' job summary: appended to, as other steps may write it.
        ("GITHUB_STEP_SUMMARY", Results::append_markdown),
    ];
    for (variable, write) in reports {
        if let Some(path) = std::env::var_os(variable).map(PathBuf::from)
            && let Err(error) = write(&suite.results, &path)
        {
            eprintln!(
                "error: cannot write {} ({variable}): {error}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }
    // Kept for `cargo xtask report`; a listing ran nothing.
    if !arguments.list {
        let last_run = layout.last_run();
        let kept = (last_run.parent())
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| suite.results.write_json(&last_run));
        if let Err(error) = kept {
            eprintln!(
                "warning: cannot keep the run in {}: {error}",
                last_run.display()
            );
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
    let ran = witness::report::results::ran(&suite.results.all());
    let records = witness::judge::records::HostRecords::load_all(&layout.records_dir())
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
