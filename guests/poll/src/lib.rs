//! `wasi:io/poll.poll` at the edges of its argument list: empty, out of
//! bounds, misaligned, longer than the host lets a call borrow, repeated
//! entries, and the order of the indices it returns.

use common::{observe, raw};
use wasi::clocks::monotonic_clock::{now, subscribe_duration, subscribe_instant};
use wasi::io::poll::{Pollable, poll};

wit_bindgen::generate!({ path: "../../wit", world: "poll", generate_all });

/// An address past the end of any linear memory a guest this size can have.
const FAR_OUT_OF_BOUNDS: usize = 0xFFFF_FFF0;
const ONE_MS: u64 = 1_000_000;
/// wasmtime's default store handle limit (`DEFAULT_MAX_COMPONENT_HANDLES`).
const HOST_HANDLE_LIMIT: usize = 100_000;

common::command![
    ("empty-list", empty_list),
    ("single-ready", single_ready),
    ("out-of-bounds", out_of_bounds),
    ("out-of-bounds-empty", out_of_bounds_empty),
    ("length-u32-max", length_u32_max),
    ("misaligned", misaligned),
    ("borrows-under-handle-limit", borrows_under_handle_limit),
    ("borrows-at-handle-limit", borrows_at_handle_limit),
    ("never-and-1ms", never_and_1ms),
    ("repeated-pollable", repeated_pollable),
    ("indices-order", indices_order),
    ("block-equals-poll", block_equals_poll),
    ("ready-reports-readiness", ready_reports_readiness),
];

/// A pollable that is ready once it has been waited for.
fn ready_timer() -> Pollable {
    let timer = subscribe_duration(0);
    timer.block();
    timer
}

fn empty_list() {
    observe("indices", poll(&[]));
}

fn single_ready() {
    let timer = ready_timer();
    observe("indices", poll(&[&timer]));
}

fn out_of_bounds() {
    observe("indices", raw::poll(FAR_OUT_OF_BOUNDS, 1));
}

fn out_of_bounds_empty() {
    observe("indices", raw::poll(FAR_OUT_OF_BOUNDS, 0));
}

fn length_u32_max() {
    let timer = ready_timer();
    let handles = [timer.handle()];
    observe(
        "indices",
        raw::poll(handles.as_ptr() as usize, u32::MAX as usize),
    );
}

fn misaligned() {
    let timer = ready_timer();
    // Two words of room, so that the handle written one byte in is in bounds.
    let mut words = [0u32; 2];
    let misaligned = (words.as_mut_ptr() as usize) + 1;
    // SAFETY: the four bytes at `misaligned` lie inside `words`.
    unsafe { (misaligned as *mut u32).write_unaligned(timer.handle()) };
    observe("indices", raw::poll(misaligned, 1));
}

/// Polls one ready timer borrowed `count` times in one list.
fn poll_borrowed(count: usize) {
    let timer = ready_timer();
    let list = vec![&timer; count];
    let indices = poll(&list);
    observe("ready-count", indices.len());
}

fn borrows_under_handle_limit() {
    poll_borrowed(HOST_HANDLE_LIMIT - 1_000);
}

fn borrows_at_handle_limit() {
    poll_borrowed(HOST_HANDLE_LIMIT);
}

/// poll must wait for the 1 ms timer: the clock shows it did.
fn never_and_1ms() {
    let start = now();
    let never = subscribe_instant(u64::MAX);
    let soon = subscribe_duration(ONE_MS);
    observe("indices", poll(&[&never, &soon]));
    observe("elapsed-at-least-1ms", now() - start >= ONE_MS);
}

fn repeated_pollable() {
    let timer = ready_timer();
    observe("indices", poll(&[&timer, &timer, &timer]));
}

/// Two ready timers, listed in the reverse of the order they were created.
fn indices_order() {
    let first = ready_timer();
    let second = ready_timer();
    observe("indices", poll(&[&second, &first]));
}

/// `block` is documented as `poll` on a one-element list: after either,
/// the same timer reports the same readiness.
fn block_equals_poll() {
    let by_block = subscribe_duration(ONE_MS);
    by_block.block();
    observe("ready-after-block", by_block.ready());
    let by_poll = subscribe_duration(ONE_MS);
    observe("indices", poll(&[&by_poll]));
    observe("ready-after-poll", by_poll.ready());
}

/// `ready` on a pollable that will never be ready, then on one that fired.
fn ready_reports_readiness() {
    observe("never-ready", subscribe_instant(u64::MAX).ready());
    observe("fired-ready", ready_timer().ready());
}
