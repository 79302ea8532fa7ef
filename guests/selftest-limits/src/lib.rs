//! The harness's self-test guest for limits and isolation: guests that push
//! a host to its limits, ones that report what of the host or of an
//! earlier run they can see, and ones that leave traces for the next run.
//! It imports nothing but WASI's command imports, so that every host
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
    ("leave-traces", leave_traces),
    ("leave-a-timer", || std::mem::forget(subscribe_duration(
        ONE_HOUR
    ))),
    ("report-run", report_run),
];

const ONE_HOUR: u64 = 3_600_000_000_000;

/// Leaves behind what a host that serves many runs in one process must
/// not let the next run see: a file in its preopens, a stdin read begun
/// and its stream and pollable never dropped, an open file never closed.
fn leave_traces() {
    use wasi::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};
    for (directory, _) in wasi::filesystem::preopens::get_directories() {
        let file = directory
            .open_at(
                PathFlags::empty(),
                "left-behind",
                OpenFlags::CREATE,
                DescriptorFlags::WRITE,
            )
            .expect("a file in the preopen");
        file.write(b"left behind", 0).expect("a write");
        std::mem::forget(file);
    }
    let stdin = wasi::cli::stdin::get_stdin();
    let _ = stdin.read(2);
    std::mem::forget(stdin.subscribe());
    std::mem::forget(stdin);
    common::write_stdout(b"traces left\n");
}

/// What this run was given: its arguments after the program's name, all
/// of its stdin, its environment variables' names and its preopens'
/// files.
fn report_run() {
    let arguments = wasi::cli::environment::get_arguments();
    observe("arguments", arguments.get(1..).unwrap_or_default().to_vec());
    let stdin = wasi::cli::stdin::get_stdin();
    let mut bytes = Vec::new();
    while let Ok(chunk) = stdin.blocking_read(4096) {
        bytes.extend(chunk);
    }
    observe("stdin", String::from_utf8_lossy(&bytes).into_owned());
    report_environment();
}

/// Pure wasm that never calls the host: only an interrupt can stop it.
fn spin_forever() {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Grows its memory until the host refuses even one more wasm page,
/// touching every 4 KiB page it gets so that the memory is really resident,
/// not only reserved; then reports how many bytes of memory it had when
/// the host refused (`memory-at-refusal`, flushed to stdout before the
/// trap) and traps (`unreachable`, as a Rust guest whose allocation fails
/// does). It grows 64 MiB at a time and halves the step at each refusal,
/// down to one page, so that what it reports is the host's limit itself,
/// whatever the guest's own initial memory.
fn grow_memory_forever() {
    use core::arch::wasm32::{memory_grow, memory_size, unreachable};
    const WASM_PAGE: usize = 64 << 10;
    const TOUCHES_PER_WASM_PAGE: usize = WASM_PAGE / 4096;
    // The allocator cannot grow the memory once the host refuses: give it
    // room now for the observation's few allocations, which it keeps.
    drop(std::hint::black_box(Vec::<u8>::with_capacity(WASM_PAGE)));
    let mut step_in_wasm_pages = 1024;
    loop {
        let first = memory_grow(0, step_in_wasm_pages);
        if first == usize::MAX {
            if step_in_wasm_pages == 1 {
                break;
            }
            step_in_wasm_pages /= 2;
            continue;
        }
        // Offsets from `first`'s start: the last page's end may be 4 GiB,
        // which a wasm32 usize cannot hold.
        for touch in 0..step_in_wasm_pages * TOUCHES_PER_WASM_PAGE {
            let byte = first * WASM_PAGE + touch * 4096;
            // SAFETY: the bytes were just added to the memory by
            // memory.grow, and nothing else of the guest uses them.
            unsafe { std::ptr::write_volatile(byte as *mut u8, 1) };
        }
    }
    observe(
        "memory-at-refusal",
        memory_size(0) as u64 * WASM_PAGE as u64,
    );
    unreachable();
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

/// What of the host a guest can see: the environment variables' names,
/// every directory the host preopened (`preopens`, their guest paths, as
/// `get-directories` lists them) and what is in them (`preopened-files`,
/// the first 20 entries, or the error reading one): a case grants none,
/// or a fresh empty `/scratch`.
fn report_environment() {
    observe("variables", common::env_names());
    let preopens = wasi::filesystem::preopens::get_directories();
    let paths: Vec<String> = preopens.iter().map(|(_, path)| path.clone()).collect();
    observe("preopens", paths);
    let files: Vec<String> = preopens
        .iter()
        .flat_map(|(directory, path)| entries(directory, path))
        .take(20)
        .collect();
    observe("preopened-files", files);
}

/// `<path>/<name>` of each entry of the preopened `directory`, or the
/// error reading it. It lists `.` opened in the preopen: jco's shim lists
/// no preopen itself (`bad-descriptor`).
fn entries(directory: &wasi::filesystem::types::Descriptor, path: &str) -> Vec<String> {
    use wasi::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};
    let path = path.trim_end_matches('/');
    let itself = directory.open_at(
        PathFlags::empty(),
        ".",
        OpenFlags::DIRECTORY,
        DescriptorFlags::READ,
    );
    let stream = match itself.as_ref().map(|itself| itself.read_directory()) {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => return vec![format!("{path}: {error:?}")],
        Err(error) => return vec![format!("{path}: {error:?}")],
    };
    let mut names = Vec::new();
    loop {
        match stream.read_directory_entry() {
            Ok(Some(entry)) => names.push(format!("{path}/{}", entry.name)),
            Ok(None) => return names,
            Err(error) => {
                names.push(format!("{path}: {error:?}"));
                return names;
            }
        }
    }
}
