//! `witness-report`: `cargo xtask report` — the HTML page of a run (see
//! `html.rs`), from its JSON: the last run's by default.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use witness::history::matrix::Timelapse;
use witness::layout::Layout;
use witness::report::diff::Run;

#[derive(Parser)]
#[command(
    name = "witness-report",
    about = "Write the HTML report of a run: the case × host matrix, filters, and each trial's clause, expectation, record, observation and reproduce command"
)]
struct Cli {
    /// The run's JSON (`test --json`); default: the last run's.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Where to write the page; default: target/witness/report.html.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Add a time-lapse's view (`cargo xtask timelapse` writes
    /// target/witness/timelapse.json).
    #[arg(long, value_name = "FILE")]
    timelapse: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let layout = Layout::from_env();
    let json = cli.json.unwrap_or_else(|| layout.last_run());
    let out = cli
        .out
        .unwrap_or_else(|| layout.last_run().with_file_name("report.html"));
    let run = match Run::load(&json) {
        Ok(run) => run,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let timelapse = match cli.timelapse.as_deref().map(Timelapse::load).transpose() {
        Ok(timelapse) => timelapse,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let page = witness::report::html::page(&run.trials, run.ledger.as_ref(), timelapse.as_ref());
    if let Err(error) = std::fs::write(&out, page) {
        eprintln!("error: cannot write {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!("{}", out.display());
    ExitCode::SUCCESS
}
