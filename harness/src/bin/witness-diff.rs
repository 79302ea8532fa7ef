//! `witness-diff`: `cargo xtask diff OLD.json NEW.json` — what changed
//! between two runs (see `diff.rs`). Exits 1 when a trial newly violates
//! the spec, so that a release can be gated on it; 2 when a file does not
//! read.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use witness::report::diff::{Run, diff};

#[derive(Parser)]
#[command(
    name = "witness-diff",
    about = "What changed between two runs: new violations, fixed divergences, changed behaviour and messages, trials added or gone"
)]
struct Cli {
    /// The earlier run's `--json` file.
    old: PathBuf,
    /// The later run's `--json` file.
    new: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (old, new) = match (Run::load(&cli.old), Run::load(&cli.new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let diff = diff(&old, &new);
    print!("{}", diff.render());
    if diff.has_new_violations() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
