//! The harness's self-test guest: behaviours the harness must classify
//! correctly that no conforming host or guest would show on purpose.

use common::observe;
use wasi::clocks::monotonic_clock::{now, subscribe_duration};

wit_bindgen::generate!({ path: "../../wit", world: "selftest", generate_all });

common::command![
    ("observe-answer", || observe("answer", 42)),
    // Which half of a microsecond the clock is in: varies from run to run.
    ("observe-clock-parity", || {
        observe("odd", now() / 1_000 % 2 == 1)
    }),
    ("guest-panic", || {
        panic!("the selftest guest panics on purpose")
    }),
    ("block-forever", || subscribe_duration(u64::MAX).block()),
    ("host-panic", witness::guests::faulty::panic_in_host),
    ("exit-code", || wasi::cli::exit::exit(Err(()))),
    // An empty poll list: the host refuses the call with a trap.
    ("host-trap", || {
        wasi::io::poll::poll(&[]);
    }),
];
