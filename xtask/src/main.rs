//! `cargo xtask <verb>`: witness's developer commands, in plain Rust.

mod guests;
mod wit;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "witness's developer commands")]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Build the guests and run the conformance suite: every case on every host.
    ///
    /// Installs the wasm32-wasip2 target if it is missing and materialises
    /// wit/deps/ first. Arguments after `--` go to the libtest harness:
    /// filters, `--exact`, `--list`, `--ignored`, `--test-threads`.
    Test {
        /// libtest arguments, e.g. `-- --exact wasmtime::poll::empty-list`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        libtest: Vec<String>,
    },
    /// Run the harness's own tests: unit tests and self-tests that prove it
    /// can fail (wrong expectations, guest panics, hangs, a panicking host).
    Selftest {
        /// Arguments for `cargo test`, e.g. `-- --nocapture`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_test: Vec<String>,
    },
    /// Build the guest components for wasm32-wasip2 against wit/.
    BuildGuests,
    /// Work with the WIT the guests are built against.
    Wit {
        #[command(subcommand)]
        verb: WitVerb,
    },
}

#[derive(Subcommand)]
enum WitVerb {
    /// Copy the WASI 0.2 packages from the pinned wasmtime-wasi crate into
    /// wit/deps/ and check them against wit/deps.lock.
    Sync {
        /// Rewrite wit/deps.lock from the pinned crate instead of checking
        /// against it (after changing the wasmtime-wasi version on purpose).
        #[arg(long)]
        update_lock: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = workspace_root();
    match cli.verb {
        Verb::Test { libtest } => {
            prepare(&root)?;
            let mut test = cargo(&root);
            test.args(["test", "--package", "witness", "--test", "suite", "--"])
                .args(libtest);
            status(test)
        }
        Verb::Selftest { cargo_test } => {
            prepare(&root)?;
            let mut test = cargo(&root);
            test.args([
                "test",
                "--workspace",
                "--lib",
                "--bins",
                "--test",
                "selftest",
            ])
            .args(cargo_test);
            status(test)
        }
        Verb::BuildGuests => {
            prepare(&root)?;
            Ok(ExitCode::SUCCESS)
        }
        Verb::Wit {
            verb: WitVerb::Sync { update_lock },
        } => {
            wit::sync(&root, update_lock)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Everything a run needs before the harness starts: the WIT deps in
/// place and the guests built against them.
fn prepare(root: &Path) -> Result<()> {
    wit::sync(root, false)?;
    guests::build(root)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ sits inside the workspace")
        .to_path_buf()
}

/// `cargo`, as the one that runs this xtask.
fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

/// Runs `command`, passing its exit code on.
fn status(mut command: Command) -> Result<ExitCode> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    match status.code() {
        Some(0) => Ok(ExitCode::SUCCESS),
        Some(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        None => bail!("{command:?} was killed: {status}"),
    }
}

/// Runs `command` and fails unless it succeeds.
fn succeed(command: Command) -> Result<()> {
    let description = format!("{command:?}");
    if status(command)? != ExitCode::SUCCESS {
        bail!("{description} failed");
    }
    Ok(())
}
