//! `witness-wasmtime-sync`: runs one guest scenario on wasmtime with the
//! sync WASI linker and prints the outcome as one JSON line. The harness
//! starts it for each run of the `wasmtime-sync` host (see
//! host/wasmtime_sync.rs). The guest's stdin is this process's stdin. At
//! the deadline it replies `hang` and returns from `main`, which ends the
//! guest's thread with the process.

use clap::Parser;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use witness::host::RunSettings;
use witness::host::wasmtime_sync::run_here;

#[derive(Parser)]
#[command(
    name = "witness-wasmtime-sync",
    about = "Run one guest scenario on wasmtime's sync WASI linker"
)]
struct Cli {
    /// The guest component.
    #[arg(long)]
    component: PathBuf,
    /// argv[1] of the guest.
    #[arg(long, allow_hyphen_values = true)]
    scenario: String,
    /// Bytes stderr accepts before it reports closed.
    #[arg(long)]
    stderr_capacity: usize,
    /// After this many milliseconds the run is a hang.
    #[arg(long)]
    deadline_ms: u64,
    /// Preopen a fresh empty directory at /scratch.
    #[arg(long)]
    scratch_dir: bool,
    /// wasmtime's compile cache.
    #[arg(long)]
    cache_dir: PathBuf,
    /// Self-tests only: link witness:guests/faulty, whose import panics on purpose.
    #[arg(long)]
    selftest_faulty_import: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdin = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut stdin) {
        eprintln!("error: cannot read the guest's stdin: {e}");
        return ExitCode::FAILURE;
    }
    let settings = RunSettings {
        stdin,
        stderr_capacity: cli.stderr_capacity,
        scratch_dir: cli.scratch_dir,
        deadline: std::time::Duration::from_millis(cli.deadline_ms),
    };
    match run_here(
        &cli.component,
        &cli.scenario,
        &settings,
        &cli.cache_dir,
        cli.selftest_faulty_import,
    ) {
        Ok(reply) => {
            println!(
                "{}",
                serde_json::to_string(&reply).expect("a reply is JSON")
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
