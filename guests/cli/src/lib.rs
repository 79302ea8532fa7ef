//! `wasi:cli` as a command sees it: the arguments, environment and
//! initial working directory the case sets (`[run]`), `exit` in the
//! middle of a run, `run` returning `err`, the
//! standard streams got twice, and whether each is a terminal.

use common::{exit_then, observe};
use serde_json::json;
use wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_stderr, terminal_stdin, terminal_stdout,
};
use wasi::io::streams::OutputStream;

wit_bindgen::generate!({ path: "../../wit", world: "cli", generate_all });

common::command![
    ("arguments", || {
        // argv[0] is the host's to name (a path on some): left out.
        observe("arguments", environment::get_arguments().split_off(1))
    }),
    ("arguments-numbered", arguments_numbered),
    ("environment", || {
        observe("environment", pairs(environment::get_environment()))
    }),
    ("environment-twice", || {
        let first = environment::get_environment();
        observe("same", first == environment::get_environment());
    }),
    ("initial-cwd", || observe(
        "initial-cwd",
        environment::initial_cwd()
    )),
    ("initial-cwd-kind", || {
        let kind = environment::initial_cwd().map_or("none", |_| "some");
        observe("initial-cwd", kind)
    }),
    ("exit-ok", || exit_then(|| exit::exit(Ok(())))),
    ("exit-err", || exit_then(|| exit::exit(Err(())))),
    ("run-returns-err", || {
        observe("returning", "err");
        common::fail_run();
    }),
    ("stdin-twice", stdin_twice),
    ("stdout-twice", || twice(stdout::get_stdout)),
    ("stderr-twice", || twice(stderr::get_stderr)),
    ("terminal-stdin", || {
        observe(
            "terminal-stdin",
            terminal_stdin::get_terminal_stdin().is_some(),
        )
    }),
    ("terminal-stdout", || {
        observe(
            "terminal-stdout",
            terminal_stdout::get_terminal_stdout().is_some(),
        )
    }),
    ("terminal-stderr", || {
        observe(
            "terminal-stderr",
            terminal_stderr::get_terminal_stderr().is_some(),
        )
    }),
];

/// The arguments after the scenario, which the case numbers `a0`, `a1`,
/// ...: how many arrived, and whether each is where it was given.
fn arguments_numbered() {
    let given = environment::get_arguments().split_off(2);
    observe("count", given.len());
    let in_order = (given.iter().enumerate()).all(|(i, argument)| *argument == format!("a{i}"));
    observe("in-order", in_order);
}

/// The environment as `[name, value]` pairs, in the host's order.
fn pairs(environment: Vec<(String, String)>) -> serde_json::Value {
    (environment.into_iter())
        .map(|(name, value)| json!([name, value]))
        .collect()
}

/// Two handles of stdin, holding `ab`: what one byte read from each
/// gives, and then the first again.
fn stdin_twice() {
    let (first, second) = (stdin::get_stdin(), stdin::get_stdin());
    let read = |stream: &wasi::io::streams::InputStream| match stream.blocking_read(1) {
        Ok(bytes) => json!(String::from_utf8_lossy(&bytes)),
        Err(_) => json!("closed or failed"),
    };
    observe("first", read(&first));
    observe("second", read(&second));
    observe("first-again", read(&first));
}

/// Two handles of one output stream: the first dropped, whether the
/// second still writes.
fn twice(get: fn() -> OutputStream) {
    let (first, second) = (get(), get());
    observe(
        "first-write",
        common::kind(&first.blocking_write_and_flush(b"1\n")),
    );
    drop(first);
    observe(
        "second-write",
        common::kind(&second.blocking_write_and_flush(b"2\n")),
    );
}
