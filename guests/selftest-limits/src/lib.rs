//! The harness's self-test guest for limits and isolation: guests that push
//! a host to its limits, and one that looks for what of the host it can
//! see. It imports nothing but WASI's command imports, so that every host
//! (embedded, a wasmtime CLI, jco) runs it.

use common::observe;
use wasi::clocks::monotonic_clock::subscribe_duration;

wit_bindgen::generate!({ path: "../../wit", world: "selftest-limits", generate_all });

common::command![
    ("spin-forever", spin_forever),
    ("grow-memory-forever", grow_memory_forever),
    ("flood-output", flood_output),
    ("create-handles-forever", create_handles_forever),
    ("recurse-forever", || {
        recurse(0);
    }),
    ("report-environment", report_environment),
];

/// Pure wasm that never calls the host: only an interrupt can stop it.
fn spin_forever() {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Grows its memory 64 MiB at a time until the host refuses (then traps:
/// `unreachable`, as a Rust guest whose allocation fails does), touching
/// every 4 KiB page it gets so that the memory is really resident, not
/// only reserved.
fn grow_memory_forever() {
    use core::arch::wasm32::{memory_grow, unreachable};
    const WASM_PAGE: usize = 64 << 10;
    const STEP_IN_WASM_PAGES: usize = 1024;
    loop {
        let first = memory_grow(0, STEP_IN_WASM_PAGES);
        if first == usize::MAX {
            unreachable();
        }
        let start = first * WASM_PAGE;
        for page in (start..start + STEP_IN_WASM_PAGES * WASM_PAGE).step_by(4096) {
            // SAFETY: the bytes were just added to the memory by memory.grow,
            // and nothing else of the guest uses them.
            unsafe { std::ptr::write_volatile(page as *mut u8, 1) };
        }
    }
}

/// Writes to stdout and stderr as fast as the host takes it, and goes on
/// when the host refuses: only the deadline stops it.
fn flood_output() {
    let chunk = [b'x'; 4096];
    loop {
        common::write_stdout(&chunk);
        common::write_stderr(&chunk);
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
    observe("variables", common::env_names());
    observe("root-readable", readable("/", "."));
    observe("etc-passwd-readable", readable("/", "etc/passwd"));
    observe("cwd-readable", readable(".", "."));
}

/// Whether `path` opens for reading in the directory the host preopened as
/// `preopen`: how a C or Rust program's `/...` or `./...` reaches a file.
fn readable(preopen: &str, path: &str) -> bool {
    use wasi::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};
    wasi::filesystem::preopens::get_directories()
        .into_iter()
        .filter(|(_, name)| name == preopen)
        .any(|(directory, _)| {
            directory
                .open_at(
                    PathFlags::empty(),
                    path,
                    OpenFlags::empty(),
                    DescriptorFlags::READ,
                )
                .is_ok()
        })
}
