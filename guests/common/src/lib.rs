//! What every witness guest shares: the guest protocol (scenario dispatch on
//! `argv[1]`, observations on stdout) and the raw canonical-ABI imports that
//! the typed bindings would not let a guest misuse.

pub mod raw;

use std::process::ExitCode;

/// The prefix of an observation line on stdout; the harness ignores every
/// other line.
pub const OBSERVATION_PREFIX: &str = "@witness ";

/// Reports one thing the guest saw, as `@witness {"<name>": <value>}`.
///
/// Guests report facts and never judge them: expectations live in the case
/// files. A name is used at most once per run.
pub fn observe(name: &str, value: impl Into<serde_json::Value>) {
    let line = serde_json::json!({ name: value.into() });
    println!("{OBSERVATION_PREFIX}{line}");
}

/// `"ok"` or `"error"`: all the at-most-once clauses of wasi:http speak of.
pub fn kind<T, E>(result: &Result<T, E>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(_) => "error",
    }
}

/// Field values or bodies as text, joined by `,`.
pub fn text(values: &[Vec<u8>]) -> String {
    values
        .iter()
        .map(|value| String::from_utf8_lossy(value).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

/// A scenario: its name (what a case file's `scenario` says) and its code.
pub type Scenario = (&'static str, fn());

/// The guest's `main`: `argv[1]` names the scenario to run; `--list` prints
/// every scenario name, one per line.
pub fn run(scenarios: &[Scenario]) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--list") => {
            for (name, _) in scenarios {
                println!("{name}");
            }
            ExitCode::SUCCESS
        }
        Some(wanted) => match scenarios.iter().find(|(name, _)| *name == wanted) {
            Some((_, scenario)) => {
                scenario();
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "unknown scenario `{wanted}`: `--list` prints the scenarios of this guest"
                );
                ExitCode::from(2)
            }
        },
        None => {
            eprintln!("usage: <guest> <scenario> | --list");
            ExitCode::from(2)
        }
    }
}
