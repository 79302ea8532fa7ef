//! The harness's self-test guest for limits and isolation: guests that push
//! a host to its limits, and one that looks for what of the host it can
//! see. It imports nothing but WASI's command imports, so that every host
//! (embedded, a wasmtime CLI, jco) runs it.

use common::observe;
use std::io::Write;
use std::process::ExitCode;
use wasi::clocks::monotonic_clock::subscribe_duration;

wit_bindgen::generate!({ path: "../../wit", world: "selftest-limits", generate_all });

fn main() -> ExitCode {
    common::run(&[
        ("spin-forever", spin_forever),
        ("grow-memory-forever", grow_memory_forever),
        ("flood-output", flood_output),
        ("create-handles-forever", create_handles_forever),
        ("recurse-forever", || {
            recurse(0);
        }),
        ("report-environment", report_environment),
    ])
}

/// Pure wasm that never calls the host: only an interrupt can stop it.
fn spin_forever() {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Allocates and fills 1 MiB blocks until the host refuses memory.
fn grow_memory_forever() {
    let mut blocks = Vec::new();
    loop {
        blocks.push(std::hint::black_box(vec![1u8; 1 << 20]));
    }
}

/// Writes to stdout and stderr as fast as the host takes it, and goes on
/// when the host refuses: only the deadline stops it.
fn flood_output() {
    let chunk = [b'x'; 4096];
    loop {
        let _ = std::io::stdout().write_all(&chunk);
        let _ = std::io::stderr().write_all(&chunk);
    }
}

/// Creates timers and keeps them until the host refuses another handle.
fn create_handles_forever() {
    let mut timers = Vec::new();
    loop {
        timers.push(subscribe_duration(u64::MAX));
    }
}

/// Calls itself until the wasm stack is exhausted.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))) + 1
}

/// What of the host a guest can see that no case granted: environment
/// variables and files.
fn report_environment() {
    let variables: Vec<String> = std::env::vars().map(|(name, _)| name).collect();
    observe("variables", variables);
    observe("root-readable", std::fs::read_dir("/").is_ok());
    observe("etc-passwd-readable", std::fs::read("/etc/passwd").is_ok());
    observe("cwd-readable", std::fs::read_dir(".").is_ok());
}
