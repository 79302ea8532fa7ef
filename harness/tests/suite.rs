//! The conformance suite as a libtest-mimic test binary: every case on
//! every chosen host (`witness::entry_point`). `cargo xtask test` builds
//! the guests and runs it, saying how in the environment
//! ([`RunOptions::from_env`]).

use libtest_mimic::Arguments;
use std::process::ExitCode;
use std::sync::Arc;
use witness::entry_point::{RunOptions, run_suite};
use witness::host::Host;
use witness::layout::Layout;

fn main() -> ExitCode {
    let arguments = Arguments::from_args();
    let layout = Layout::from_env();
    let options = match RunOptions::from_env() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    run_suite(&layout, &arguments, &options, embedded(&layout))
}

/// This build's embedded hosts.
#[cfg(feature = "embedded")]
fn embedded(layout: &Layout) -> Vec<Arc<dyn Host>> {
    let sync_program = std::path::PathBuf::from(env!("CARGO_BIN_EXE_witness-wasmtime-sync"));
    witness::host::embedded(layout.compile_cache_dir(), sync_program)
}

/// A build without the `embedded` feature has none.
#[cfg(not(feature = "embedded"))]
fn embedded(_: &Layout) -> Vec<Arc<dyn Host>> {
    Vec::new()
}
