//! Resource handles used wrongly: after drop, twice dropped, handle 0,
//! handles of another resource type, and parents dropped before the
//! pollables derived from them.

use common::{observe, raw};
use wasi::cli::{stdin::get_stdin, stdout::get_stdout};
use wasi::clocks::monotonic_clock::subscribe_duration;

wit_bindgen::generate!({ path: "../../wit", world: "resources", generate_all });

common::command![
    ("use-after-drop-ready", || {
        raw::pollable_ready(dropped_pollable());
    }),
    ("use-after-drop-block", || {
        raw::pollable_block(dropped_pollable())
    }),
    ("use-after-drop-in-poll", use_after_drop_in_poll),
    ("double-drop", double_drop),
    ("handle-zero-ready", || {
        raw::pollable_ready(0);
    }),
    ("handle-zero-drop", || raw::pollable_drop(0)),
    ("stream-as-pollable", stream_as_pollable),
    ("pollable-dropped-as-stream", pollable_dropped_as_stream),
    (
        "input-stream-dropped-before-pollable",
        input_stream_dropped_before_pollable,
    ),
    (
        "output-stream-dropped-before-pollable",
        output_stream_dropped_before_pollable,
    ),
    (
        "pollable-dropped-before-stream",
        pollable_dropped_before_stream,
    ),
];

/// A timer pollable's handle, already dropped. Nothing may write to stdout
/// between the drop and the use: its stdout handle would take the freed slot.
fn dropped_pollable() -> raw::Handle {
    let handle = subscribe_duration(0).take_handle();
    raw::pollable_drop(handle);
    handle
}

fn use_after_drop_in_poll() {
    let live = subscribe_duration(0);
    let handles = [live.handle(), dropped_pollable()];
    observe(
        "indices",
        raw::poll(handles.as_ptr() as usize, handles.len()),
    );
}

fn double_drop() {
    let handle = dropped_pollable();
    raw::pollable_drop(handle);
}

/// An `output-stream` handle passed where a `pollable` is expected.
fn stream_as_pollable() {
    let stdout = get_stdout();
    raw::pollable_ready(stdout.handle());
}

/// A `pollable` handle dropped as an `output-stream`.
fn pollable_dropped_as_stream() {
    let timer = subscribe_duration(0);
    raw::output_stream_drop(timer.take_handle());
}

fn input_stream_dropped_before_pollable() {
    let stdin = get_stdin();
    let pollable = stdin.subscribe();
    raw::input_stream_drop(stdin.take_handle());
    observe("pollable-ready", pollable.ready());
}

fn output_stream_dropped_before_pollable() {
    let stdout = get_stdout();
    let pollable = stdout.subscribe();
    raw::output_stream_drop(stdout.take_handle());
    observe("pollable-ready", pollable.ready());
}

/// The order the WIT asks for: children first, then the parent.
fn pollable_dropped_before_stream() {
    let stdout = get_stdout();
    let pollable = stdout.subscribe();
    observe("pollable-ready", pollable.ready());
    drop(pollable);
    drop(stdout);
    observe("dropped-both", true);
}
