//! What every witness guest shares: the guest protocol (scenario dispatch on
//! the first argument, observations on stdout, a panic's message on stderr)
//! and the raw canonical-ABI imports that the typed bindings would not let a
//! guest misuse.
//!
//! The guests are built for `wasm32-unknown-unknown`: the standard library
//! brings no WASI of its own, so a guest imports the WIT under test alone
//! (world `protocol` here, the guest's own world beside it) and runs on any
//! host of that WASI release.

pub mod raw;

mod bindings {
    wit_bindgen::generate!({ path: "../../wit", world: "protocol", generate_all });
}

use bindings::wasi::cli::{environment, stderr, stdout};
use bindings::wasi::io::streams::OutputStream;

/// The prefix of an observation line on stdout; the harness ignores every
/// other line.
pub const OBSERVATION_PREFIX: &str = "@witness ";

/// Reports one thing the guest saw, as `@witness {"<name>": <value>}`.
///
/// Guests report facts and never judge them: expectations live in the case
/// files. A name is used at most once per run.
pub fn observe(name: &str, value: impl Into<serde_json::Value>) {
    let line = serde_json::json!({ name: value.into() });
    write_stdout(format!("{OBSERVATION_PREFIX}{line}\n").as_bytes());
}

/// Writes `bytes` to stdout, as far as the host takes them: what it
/// refuses is missing from the run, as a host's choice is.
pub fn write_stdout(bytes: &[u8]) {
    write_all(&stdout::get_stdout(), bytes)
}

/// Writes `bytes` to stderr, as far as the host takes them.
pub fn write_stderr(bytes: &[u8]) {
    write_all(&stderr::get_stderr(), bytes)
}

/// `blocking-write-and-flush` takes at most 4096 bytes a call.
fn write_all(stream: &OutputStream, bytes: &[u8]) {
    for chunk in bytes.chunks(4096) {
        if stream.blocking_write_and_flush(chunk).is_err() {
            return;
        }
    }
}

/// The value of environment variable `name`, if the host gave it.
pub fn env_var(name: &str) -> Option<String> {
    environment::get_environment()
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// The names of the environment variables the host gave.
pub fn env_names() -> Vec<String> {
    environment::get_environment()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
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

/// Observes `before-exit`, calls `exit` (a `wasi:cli/exit` function), and
/// observes `after-exit` if it returned.
pub fn exit_then(exit: impl FnOnce()) {
    observe("before-exit", true);
    exit();
    observe("after-exit", true);
}

/// What an `error`'s `to-debug-string` gave, as an observation: "text",
/// or "empty" (its words are the host's, and "should not be consumed
/// mechanically").
pub fn debug_string(text: &str) -> &'static str {
    if text.is_empty() { "empty" } else { "text" }
}

/// Set by [`fail_run`].
static RUN_FAILS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes `wasi:cli/run` return `err` once the scenario has returned: what
/// a scenario does to see what a host makes of a failed run.
pub fn fail_run() {
    RUN_FAILS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A scenario: its name (what a case file's `scenario` says) and its code.
pub type Scenario = (&'static str, fn());

/// A command guest's `wasi:cli/run`: the first argument names the scenario
/// to run; `--list` prints every scenario name, one per line. `Err` (exit
/// status 1) for an unknown scenario or none.
#[allow(
    clippy::result_unit_err,
    reason = "wasi:cli/run's result has no error type"
)]
pub fn run(scenarios: &[Scenario]) -> Result<(), ()> {
    std::panic::set_hook(Box::new(|panic| {
        write_stderr(format!("guest {panic}\n").as_bytes());
    }));
    let args = environment::get_arguments();
    match args.get(1).map(String::as_str) {
        Some("--list") => {
            let names: String = scenarios
                .iter()
                .map(|(name, _)| format!("{name}\n"))
                .collect();
            write_stdout(names.as_bytes());
            Ok(())
        }
        Some(wanted) => {
            match scenarios.iter().find(|(name, _)| *name == wanted) {
                Some((_, scenario)) => {
                    scenario();
                    match RUN_FAILS.load(std::sync::atomic::Ordering::Relaxed) {
                        false => Ok(()),
                        true => Err(()),
                    }
                }
                None => {
                    write_stderr(
                    format!("unknown scenario `{wanted}`: `--list` prints the scenarios of this guest\n")
                        .as_bytes(),
                );
                    Err(())
                }
            }
        }
        None => {
            write_stderr(b"usage: <guest> <scenario> | --list\n");
            Err(())
        }
    }
}

/// Makes the guest a command whose `wasi:cli/run` runs [`run`] over the
/// scenarios given, each a `("name", function)`. Used below the guest's
/// `wit_bindgen::generate!`, whose `exports` and `export!` it names.
#[macro_export]
macro_rules! command {
    ($($scenario:expr),* $(,)?) => {
        struct Command;

        impl exports::wasi::cli::run::Guest for Command {
            fn run() -> Result<(), ()> {
                $crate::run(&[$($scenario),*])
            }
        }

        export!(Command);
    };
}
