//! Timer pollables from `wasi:clocks/monotonic-clock`, which have no parent
//! resource: zero, past, present and unreachable deadlines seen through
//! `ready`, `block` and `poll`; timers dropped early; many timers alive.

use common::observe;
use wasi::clocks::monotonic_clock::{now, resolution, subscribe_duration, subscribe_instant};
use wasi::clocks::wall_clock;
use wasi::io::poll::{Pollable, poll};

wit_bindgen::generate!({ path: "../../wit", world: "clocks", generate_all });

const ONE_MS: u64 = 1_000_000;
const ONE_HOUR: u64 = 3_600 * 1_000_000_000;

common::command![
    ("duration-zero-ready", || ready_twice(subscribe_duration(0))),
    ("duration-zero-block", || block(subscribe_duration(0))),
    ("duration-zero-poll", || poll_one(subscribe_duration(0))),
    ("instant-zero-ready", || ready_twice(subscribe_instant(0))),
    ("instant-zero-block", || block(subscribe_instant(0))),
    ("instant-zero-poll", || poll_one(subscribe_instant(0))),
    ("instant-past-ready", || {
        ready_twice(subscribe_instant(past()))
    }),
    ("instant-past-poll", || poll_one(subscribe_instant(past()))),
    ("instant-past-block", || block(subscribe_instant(past()))),
    ("instant-now-ready", || {
        ready_twice(subscribe_instant(now()))
    }),
    ("instant-now-block", || block(subscribe_instant(now()))),
    ("instant-now-poll", || poll_one(subscribe_instant(now()))),
    ("duration-max-ready", || {
        ready_twice(subscribe_duration(u64::MAX))
    }),
    ("instant-max-ready", || {
        ready_twice(subscribe_instant(u64::MAX))
    }),
    ("duration-max-block", || block(subscribe_duration(u64::MAX))),
    ("instant-max-poll", || poll_one(subscribe_instant(u64::MAX))),
    ("dropped-before-fire", dropped_before_fire),
    ("many-alive", many_alive),
    ("duration-1ms-not-early", duration_1ms_not_early),
    ("instant-1ms-not-early", instant_1ms_not_early),
    ("now", || {
        now();
        observe("returned", true);
    }),
    ("now-non-decreasing", now_non_decreasing),
    ("resolution", || {
        observe("resolution-positive", resolution() > 0)
    }),
    ("wall-now", || {
        let now = wall_clock::now();
        observe("nanoseconds-below-1e9", now.nanoseconds < 1_000_000_000);
        observe(
            "seconds-in-this-century",
            (CENTURY_START..CENTURY_END).contains(&now.seconds),
        );
    }),
    ("wall-resolution", || {
        let resolution = wall_clock::resolution();
        observe(
            "nanoseconds-below-1e9",
            resolution.nanoseconds < 1_000_000_000,
        );
    }),
];

/// 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z in seconds since the
/// Unix epoch: a clock counting from another origin, or in other units,
/// reads outside them.
const CENTURY_START: u64 = 946_684_800;
const CENTURY_END: u64 = 4_102_444_800;

/// An instant that has occurred: one before now, or now itself on a clock
/// that still reads 0 (its initial value is unspecified).
fn past() -> u64 {
    now().saturating_sub(1)
}

/// `ready` twice in a row: whether readiness needs a turn of the host's
/// event loop shows as `false` then `true`.
fn ready_twice(timer: Pollable) {
    observe("first-ready", timer.ready());
    observe("second-ready", timer.ready());
}

fn block(timer: Pollable) {
    timer.block();
    observe("ready-after-block", timer.ready());
}

fn poll_one(timer: Pollable) {
    observe("indices", poll(&[&timer]));
}

/// A timer dropped long before its deadline leaves nothing behind: a later
/// timer still works.
fn dropped_before_fire() {
    drop(subscribe_duration(ONE_HOUR));
    let next = subscribe_duration(ONE_MS);
    next.block();
    observe("next-ready", next.ready());
}

/// Ten thousand timers alive at once; the last one created is polled
/// together with a ready one.
fn many_alive() {
    let timers: Vec<Pollable> = (0..10_000).map(|_| subscribe_duration(ONE_HOUR)).collect();
    let soon = subscribe_duration(0);
    let last = timers.last().expect("ten thousand timers");
    observe("indices", poll(&[last, &soon]));
}

/// After `block` on a 1 ms timer, at least 1 ms has passed on the same clock.
fn duration_1ms_not_early() {
    let start = now();
    subscribe_duration(ONE_MS).block();
    observe("elapsed-at-least-1ms", now() - start >= ONE_MS);
}

/// After `block` on a timer for now + 1 ms, that instant has come.
fn instant_1ms_not_early() {
    let when = now() + ONE_MS;
    subscribe_instant(when).block();
    observe("now-at-least-deadline", now() >= when);
}

/// Ten thousand readings in a row never go backwards.
fn now_non_decreasing() {
    let readings: Vec<u64> = (0..10_000).map(|_| now()).collect();
    observe(
        "non-decreasing",
        readings.windows(2).all(|pair| pair[0] <= pair[1]),
    );
}
