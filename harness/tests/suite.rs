//! The conformance suite as a libtest-mimic test binary: every case on
//! every host. `cargo xtask test` builds the guests and runs it.

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
    let trials = Arc::new(Suite::conformance(&layout)).trials(&hosts);
    libtest_mimic::run(&arguments, trials).exit_code()
}
