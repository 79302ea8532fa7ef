//! Raw canonical-ABI imports, for the calls the typed bindings forbid: a
//! handle after it was dropped, handle 0, a handle of another resource type,
//! a list whose pointer or length is wrong.
//!
//! Each is the very import the wit-bindgen bindings use (same module, name
//! and core signature), so the linker merges them into one component import.

/// A WASI resource handle as the canonical ABI passes it.
pub type Handle = u32;

/// Where a `list<u32>` result lands: the callee writes pointer and length.
#[repr(C)]
#[derive(Default)]
pub struct ListResult {
    pub ptr: usize,
    pub len: usize,
}

/// The import declarations, for the modules `poll` and `streams` name:
/// `wasi:io/poll@<version>` with the version of wasi:io in the WIT the
/// guests are built against (build.rs reads it, so that they build against
/// any WASI 0.2.x release).
macro_rules! imports {
    ($poll:literal, $streams:literal) => {
        mod imports {
            use super::{Handle, ListResult};

            #[link(wasm_import_module = $poll)]
            unsafe extern "C" {
                #[link_name = "poll"]
                pub fn poll(ptr: usize, len: usize, result: *mut ListResult);
                #[link_name = "[method]pollable.ready"]
                pub fn pollable_ready(pollable: Handle) -> i32;
                #[link_name = "[method]pollable.block"]
                pub fn pollable_block(pollable: Handle);
                #[link_name = "[resource-drop]pollable"]
                pub fn pollable_drop(pollable: Handle);
            }

            #[link(wasm_import_module = $streams)]
            unsafe extern "C" {
                #[link_name = "[resource-drop]input-stream"]
                pub fn input_stream_drop(stream: Handle);
                #[link_name = "[resource-drop]output-stream"]
                pub fn output_stream_drop(stream: Handle);
            }
        }
    };
}

include!(concat!(env!("OUT_DIR"), "/wasi_io_imports.rs"));

/// `wasi:io/poll.poll` with any pointer and length; returns the indices.
pub fn poll(ptr: usize, len: usize) -> Vec<u32> {
    let mut result = ListResult::default();
    // SAFETY: the host either traps or writes a valid list it allocated
    // through this module's `cabi_realloc`, which we take ownership of.
    unsafe {
        imports::poll(ptr, len, &mut result);
        Vec::from_raw_parts(result.ptr as *mut u32, result.len, result.len)
    }
}

/// `pollable.ready` on any handle.
pub fn pollable_ready(pollable: Handle) -> bool {
    unsafe { imports::pollable_ready(pollable) != 0 }
}

/// `pollable.block` on any handle.
pub fn pollable_block(pollable: Handle) {
    unsafe { imports::pollable_block(pollable) }
}

/// Drops any handle as a `pollable`.
pub fn pollable_drop(pollable: Handle) {
    unsafe { imports::pollable_drop(pollable) }
}

/// Drops any handle as an `input-stream`.
pub fn input_stream_drop(stream: Handle) {
    unsafe { imports::input_stream_drop(stream) }
}

/// Drops any handle as an `output-stream`.
pub fn output_stream_drop(stream: Handle) {
    unsafe { imports::output_stream_drop(stream) }
}
