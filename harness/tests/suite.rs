//! The conformance suite as a libtest-mimic test binary: every case on
//! every host. `cargo xtask test` builds the guests and runs it.
//!
//! `WITNESS_JSON` and `WITNESS_JUNIT` name files to write the run's records
//! to, for CI (`cargo xtask test --json PATH --junit PATH` sets them).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use witness::host::Host;
use witness::host::wasmtime::WasmtimeHost;
use witness::layout::Layout;
use witness::suite::Suite;

fn main() -> ExitCode {
    let arguments = libtest_mimic::Arguments::from_args();
    let layout = Layout::from_env();
    let hosts: Vec<Arc<dyn Host>> = vec![Arc::new(WasmtimeHost::new(layout.compile_cache_dir()))];
    let suite = Arc::new(Suite::conformance(&layout));
    let conclusion = libtest_mimic::run(&arguments, suite.clone().trials(&hosts));
    let reports = [
        (
            "WITNESS_JSON",
            witness::records::Records::write_json as fn(&_, &_) -> _,
        ),
        ("WITNESS_JUNIT", witness::records::Records::write_junit),
    ];
    for (variable, write) in reports {
        if let Some(path) = std::env::var_os(variable).map(PathBuf::from)
            && let Err(error) = write(&suite.records, &path)
        {
            eprintln!(
                "error: cannot write {} ({variable}): {error}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }
    conclusion.exit_code()
}
