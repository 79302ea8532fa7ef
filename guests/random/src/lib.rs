//! `wasi:random`: secure and insecure bytes at lengths 0, 1, 4096, 1 MiB
//! and just over wasmtime's 64 MiB limit, `u64`s, whether two draws
//! differ, and `insecure-seed` called twice in one instance.

use common::observe;
use wasi::random::{insecure, insecure_seed, random};

wit_bindgen::generate!({ path: "../../wit", world: "random", generate_all });

/// One byte more than wasmtime-wasi's default limit of a call (64 MiB).
const OVER_64_MIB: u64 = (64 << 20) + 1;

common::command![
    ("random-bytes-0", || length(random::get_random_bytes(0))),
    ("random-bytes-1", || length(random::get_random_bytes(1))),
    ("random-bytes-4096", || length(random::get_random_bytes(
        4096
    ))),
    ("random-bytes-1mib", || length(random::get_random_bytes(
        1 << 20
    ))),
    ("random-bytes-over-64mib", || {
        length(random::get_random_bytes(OVER_64_MIB))
    }),
    ("random-bytes-fresh", || {
        observe(
            "differ",
            random::get_random_bytes(32) != random::get_random_bytes(32),
        )
    }),
    ("random-u64", || {
        random::get_random_u64();
        observe("returned", true);
    }),
    ("random-u64-fresh", || {
        observe(
            "differ",
            random::get_random_u64() != random::get_random_u64(),
        )
    }),
    ("insecure-random-bytes-0", || {
        length(insecure::get_insecure_random_bytes(0))
    }),
    ("insecure-random-bytes-1", || {
        length(insecure::get_insecure_random_bytes(1))
    }),
    ("insecure-random-bytes-1mib", || {
        length(insecure::get_insecure_random_bytes(1 << 20))
    }),
    ("insecure-random-u64", || {
        insecure::get_insecure_random_u64();
        observe("returned", true);
    }),
    ("insecure-seed", || {
        insecure_seed::insecure_seed();
        observe("returned", true);
    }),
    ("insecure-seed-twice", || {
        observe(
            "same",
            insecure_seed::insecure_seed() == insecure_seed::insecure_seed(),
        )
    }),
];

fn length(bytes: Vec<u8>) {
    observe("length", bytes.len());
}
