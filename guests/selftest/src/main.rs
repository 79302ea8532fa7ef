//! The harness's self-test guest: behaviours the harness must classify
//! correctly that no conforming host or guest would show on purpose.

use common::observe;
use std::process::ExitCode;
use wasi::clocks::monotonic_clock::subscribe_duration;

wit_bindgen::generate!({ path: "../../wit", world: "selftest", generate_all });

fn main() -> ExitCode {
    common::run(&[
        ("observe-answer", || observe("answer", 42)),
        ("guest-panic", || {
            panic!("the selftest guest panics on purpose")
        }),
        ("spin-forever", spin_forever),
        ("block-forever", || subscribe_duration(u64::MAX).block()),
        ("host-panic", witness::guests::faulty::panic_in_host),
        ("exit-code", || std::process::exit(3)),
        // An empty poll list: the host refuses the call with a trap.
        ("host-trap", || {
            wasi::io::poll::poll(&[]);
        }),
    ])
}

/// Pure wasm that never calls the host: only an interrupt can stop it.
fn spin_forever() {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
