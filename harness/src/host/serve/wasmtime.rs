//! `wasmtime serve`'s rules (README, "Serving hosts"). The server is
//! stopped with SIGINT once the response is read: it then stops accepting
//! and exits when every connection and handler is done. What it printed
//! on stderr says how the handler ended:
//!
//! | the server | outcome |
//! | --- | --- |
//! | exited, stderr has `wasm trap: <text>`, or (before 31) an error's Debug form with `source: <trap>` | `trap` by the guest, named as the CLI's `run` names it |
//! | exited, stderr has `error while executing at wasm backtrace` and no wasm trap | `trap` by the host; the message is the report's last cause (before 31, the Debug form's quoted `source`) |
//! | exited, that report names no cause (39 to 45) | harness error: whose trap is unknown |
//! | exited, stderr has `panicked at` | `host-panic` |
//! | exited with status 0 otherwise | `completed` (`error: guest never invoked ...` or `error: ErrorCode::...` are the server's reasons for its 500, in the record) |
//! | still running [`SETTLE`](super::SETTLE) after SIGINT | `hang` |
//! | killed by a signal | `crash` |
//!
//! The last two are every server's ([`Server::classify`](super::Server)).
//! Before 32, SIGINT ends the server at once, dropping a handler still
//! running, and one stopped before its handler for SIGINT is in place dies
//! of it; neither is a crash ([`Settled::Dropped`](super::Settled)). On
//! those servers a run without a trap or a panic is a `hang` if its
//! response was still open when witness stopped the server, and
//! `completed` if it had ended: a handler that runs on after it ended its
//! response is not seen.

use super::Settled;
use crate::host::wasmtime_cli::{panic_message, trap_code, trap_named};
use crate::outcome::{Outcome, Trap};
use std::net::SocketAddr;
use std::time::Duration;

/// The options of a `wasmtime serve` that older releases lack.
pub struct ServeOptions {
    /// What `-S` calls the linker of every WASI interface beyond the proxy
    /// world's: `cli` from wasmtime 20, `common` before (20 kept it as an
    /// alias).
    pub cli: &'static str,
    /// `--no-logging-prefix` (wasmtime 29 added it, after
    /// bytecodealliance/wasmtime#9799): without it the server prefixes
    /// each line the guest prints, which [`unprefixed`] takes off.
    pub no_logging_prefix: bool,
    /// Graceful shutdown on SIGINT, which wasmtime 32 added with
    /// `--shutdown-addr` (bytecodealliance/wasmtime#10394).
    pub graceful: bool,
}

impl ServeOptions {
    /// A `wasmtime serve` that has every option witness passes.
    pub const NEWEST: ServeOptions = ServeOptions {
        cli: "cli",
        no_logging_prefix: true,
        graceful: true,
    };
}

/// `wasmtime serve`'s arguments: every WASI interface and wasi:http, at
/// `address` (witness's: `127.0.0.1:0`, a port the kernel picks), and the
/// guest's lines without a prefix where the CLI can leave it off.
pub fn arguments(component: &str, address: &str, options: &ServeOptions) -> Vec<String> {
    let wasi = format!("{},http", options.cli);
    let mut arguments = ["serve", "-S", &wasi, "--addr", address]
        .map(str::to_string)
        .to_vec();
    if options.no_logging_prefix {
        arguments.push("--no-logging-prefix".into());
    }
    arguments.push(component.into());
    arguments
}

/// What the guest printed on `stream` (`stdout`, `stderr`), from what a
/// `wasmtime serve` without `--no-logging-prefix` printed: each line's
/// `stdout [N] :: ` taken off. The server's own lines have none. wasmtime
/// 17 to 22 also end every write with a newline: a guest line written in
/// pieces comes back in as many lines, which then read as the guest's.
pub fn unprefixed(printed: &[u8], stream: &str) -> Vec<u8> {
    let prefix = format!("{stream} [");
    let mut guest = Vec::with_capacity(printed.len());
    for line in printed.split_inclusive(|byte| *byte == b'\n') {
        let after_id = (line.strip_prefix(prefix.as_bytes())).and_then(|rest| {
            let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
            (digits > 0).then_some(())?;
            rest[digits..].strip_prefix(b"] :: ")
        });
        guest.extend_from_slice(after_id.unwrap_or(line));
    }
    guest
}

/// Where the server listens: `Serving HTTP on http://ADDRESS/`.
pub fn ready(line: &str) -> Option<SocketAddr> {
    let address = line.trim().strip_prefix("Serving HTTP on http://")?;
    address.trim_end_matches('/').parse().ok()
}

pub fn classify(settled: &Settled, stderr: &str) -> Result<Outcome, String> {
    match settled {
        Settled::Exited(status) if let Some(code) = status.code() => printed(code, stderr),
        _ => Err(format!("no rule for {settled:?}")),
    }
}

/// A server without graceful shutdown, stopped by witness: what it printed
/// says how the handler ended, if it did; else the response does
/// (the module's rules).
pub fn classify_dropped(
    stderr: &str,
    unfinished: bool,
    deadline: Duration,
) -> Result<Outcome, String> {
    match printed(0, stderr)? {
        Outcome::Completed { .. } if unfinished => Ok(Outcome::Hang { deadline }),
        outcome => Ok(outcome),
    }
}

/// The outcome a server that exited with `code` shows in what it printed.
fn printed(code: i32, stderr: &str) -> Result<Outcome, String> {
    let lines: Vec<&str> = stderr.lines().collect();
    // 17 to 32 print the server's own error in hyper's Debug form,
    // `hyper::Error(User(Service), REPORT)`: its `)` ends the last line.
    let hyper = stderr.contains("hyper::Error(User(Service), ");
    let unwrapped = |text: &str| match hyper {
        true => text.strip_suffix(')').unwrap_or(text).to_string(),
        false => text.to_string(),
    };
    let by_guest = |text: String| {
        Outcome::Trap(Trap::ByGuest {
            code: trap_code(&text),
            message: text,
        })
    };
    if let Some(text) = (lines.iter()).find_map(|line| line.trim().strip_prefix("wasm trap: ")) {
        return Ok(by_guest(unwrapped(text)));
    }
    // Before 31 a handler's error is logged in its Debug form, `Error {
    // context: "error while executing at wasm backtrace: ...", source: S }`:
    // S names the trap the wasm raised (`UnreachableCodeReached`) or quotes
    // the host's error (`"unknown handle index 1"`).
    let source = (lines.iter())
        .skip_while(|line| !line.trim().starts_with("context: \"error while executing"))
        .take_while(|line| !line.starts_with('}'))
        .find_map(|line| line.trim().strip_prefix("source: ")?.strip_suffix(','));
    if let Some(source) = source {
        if let Some(trap) = trap_named(source) {
            let text = trap.to_string();
            return Ok(by_guest(
                text.strip_prefix("wasm trap: ").unwrap_or(&text).into(),
            ));
        }
        if let Ok(message) = serde_json::from_str::<String>(source) {
            return Ok(Outcome::Trap(Trap::ByHost { message }));
        }
    }
    let reports: Vec<usize> = (lines.iter().enumerate())
        .filter(|(_, line)| line.contains("error while executing at wasm backtrace"))
        .map(|(at, _)| at)
        .collect();
    if let Some(cause) = (reports.iter()).find_map(|at| cause(&lines[at + 1..])) {
        return Ok(Outcome::Trap(Trap::ByHost {
            message: unwrapped(cause.trim()),
        }));
    }
    if !reports.is_empty() {
        // 39 to 45 print `worker error: <context>` alone.
        return Err("the server reported a failed call without its cause, so whether the guest or the host trapped is unknown (wasmtime 39 to 45 print only `worker error: <context>`)".into());
    }
    if stderr.contains("panicked at") {
        return Ok(Outcome::HostPanic {
            message: panic_message(stderr),
        });
    }
    match code {
        0 => Ok(Outcome::Completed { exit: 0 }),
        _ => Err(format!(
            "status {code} without a trap or a panic: no rule says what that is"
        )),
    }
}

/// The last cause of the report whose lines follow: the indented lines
/// after its `Caused by:` (36's log puts the server's next line right after
/// them). An unindented line starts another report, with causes of its own.
fn cause<'a>(report: &[&'a str]) -> Option<&'a str> {
    (report.iter())
        .take_while(|line| {
            line.starts_with(' ') || line.trim().is_empty() || line.trim() == "Caused by:"
        })
        .skip_while(|line| line.trim() != "Caused by:")
        .skip(1)
        .take_while(|line| line.starts_with(' ') && !line.trim().is_empty())
        .last()
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn exited(code: i32) -> Settled {
        Settled::Exited(ExitStatus::from_raw(code << 8))
    }

    #[test]
    fn an_older_serve_s_prefixes_come_off_the_guest_s_lines_and_nothing_else() {
        let printed =
            b"stdout [0] :: @witness a = 1\nstdout [12] :: b\nstdout [x] :: c\nstdout [] :: d\nplain";
        assert_eq!(
            unprefixed(printed, "stdout"),
            b"@witness a = 1\nb\nstdout [x] :: c\nstdout [] :: d\nplain"
        );
        let printed = b"stderr [3] :: the guest's\nwasm trap: the server's\n";
        assert_eq!(
            unprefixed(printed, "stderr"),
            b"the guest's\nwasm trap: the server's\n"
        );
    }

    /// What wasmtime 49.0.3 prints for a handler that traps before it sets
    /// its response (frames cut).
    const TRAP_BEFORE_SET_49: &str = "Serving HTTP on http://127.0.0.1:32819/
worker failed: error while executing at wasm backtrace:
    0:   0x7bae - proxy.wasm!core::ops::function::FnOnce::call_once

Caused by:
    wasm trap: wasm `unreachable` instruction executed

error: guest never invoked `response-outparam::set` method
";

    /// The same from wasmtime 36.0.9, through its log.
    const TRAP_BEFORE_SET_36: &str = "Serving HTTP on http://127.0.0.1:40919/
2026-12-05T05:22:02.918485Z ERROR wasmtime_cli::commands::serve: [0] :: error while executing at wasm backtrace:
    0:   0x7bae - proxy.wasm!core::ops::function::FnOnce::call_once

Caused by:
    wasm trap: wasm `unreachable` instruction executed    
error: guest never invoked `response-outparam::set` method

Caused by:
";

    #[test]
    fn the_ready_line_gives_the_address() {
        assert_eq!(
            ready("Serving HTTP on http://127.0.0.1:40919/\n"),
            Some("127.0.0.1:40919".parse().unwrap())
        );
        assert_eq!(ready("Listening for shutdown on tcp://127.0.0.1:1/"), None);
    }

    #[test]
    fn a_wasm_trap_is_a_trap_by_the_guest() {
        for stderr in [TRAP_BEFORE_SET_49, TRAP_BEFORE_SET_36] {
            assert_eq!(
                classify(&exited(0), stderr),
                Ok(Outcome::Trap(Trap::ByGuest {
                    code: "unreachable-code-reached".into(),
                    message: "wasm `unreachable` instruction executed".into()
                }))
            );
        }
    }

    #[test]
    fn a_server_without_graceful_shutdown_shows_a_hang_by_its_open_response() {
        let deadline = Duration::from_secs(1);
        let served = "Serving HTTP on http://127.0.0.1:40919/\n";
        assert_eq!(
            classify_dropped(served, true, deadline),
            Ok(Outcome::Hang { deadline })
        );
        assert_eq!(
            classify_dropped(served, false, deadline),
            Ok(Outcome::Completed { exit: 0 })
        );
        assert!(matches!(
            classify_dropped(TRAP_BEFORE_SET_49, true, deadline),
            Ok(Outcome::Trap(Trap::ByGuest { .. }))
        ));
    }

    /// What wasmtime 19.0.2 to 30.0.2 print for a handler that traps before
    /// it sets its response (frames cut); 17 and 18 end it at `method)`.
    const TRAP_BEFORE_SET_19: &str = "Serving HTTP on http://127.0.0.1:18751/
2026-12-06T05:17:19.840871Z ERROR wasmtime_cli::commands::serve: [0] :: Error {
    context: \"error while executing at wasm backtrace:\\n    0: 0x4437 - proxy.wasm!f\",
    source: UnreachableCodeReached,
}    
error: hyper::Error(User(Service), guest never invoked `response-outparam::set` method: error while executing at wasm backtrace:
    0: 0x4437 - proxy.wasm!f

Caused by:
    wasm trap: wasm `unreachable` instruction executed)
";

    #[test]
    fn an_older_server_s_reports_of_a_wasm_trap_are_a_trap_by_the_guest() {
        let unreachable = Ok(Outcome::Trap(Trap::ByGuest {
            code: "unreachable-code-reached".into(),
            message: "wasm `unreachable` instruction executed".into(),
        }));
        assert_eq!(classify(&exited(0), TRAP_BEFORE_SET_19), unreachable);
        let debug_form_alone = TRAP_BEFORE_SET_19.split("error: hyper").next().unwrap();
        assert_eq!(classify(&exited(0), debug_form_alone), unreachable);
        let host_s =
            debug_form_alone.replace("UnreachableCodeReached", "\"unknown handle index 1\"");
        assert_eq!(
            classify(&exited(0), &host_s),
            Ok(Outcome::Trap(Trap::ByHost {
                message: "unknown handle index 1".into()
            }))
        );
    }

    #[test]
    fn the_debug_form_is_read_only_inside_its_braces_and_else_the_next_report_s_cause() {
        let unknown_source = TRAP_BEFORE_SET_19
            .replace("UnreachableCodeReached", "NotPresent")
            .replace(
                "wasm trap: wasm `unreachable` instruction executed)",
                "empty poll list)",
            );
        assert_eq!(
            classify(&exited(0), &unknown_source),
            Ok(Outcome::Trap(Trap::ByHost {
                message: "empty poll list".into()
            }))
        );
        // A guest's own line, outside any Debug form, names no trap.
        let guest_line = "source: UnreachableCodeReached,\nworker failed: error while executing at wasm backtrace:\n    0: 0x1 - p!f\n\nCaused by:\n    empty poll list\n";
        assert_eq!(
            classify(&exited(0), guest_line),
            Ok(Outcome::Trap(Trap::ByHost {
                message: "empty poll list".into()
            }))
        );
    }

    #[test]
    fn a_failed_call_reported_without_a_cause_is_not_read() {
        // wasmtime 39.0.2 on a handler that traps after its response.
        let stderr = "worker error: error while executing at wasm backtrace:\n    0:   0x4095 - proxy.wasm!f\n";
        assert!(classify(&exited(0), stderr).is_err());
        // Before its response is set: the server's own error that follows
        // has a cause, which is not the handler's.
        let before_set = format!(
            "{stderr}error: guest never invoked `response-outparam::set` method\n\nCaused by:\n    channel closed\n"
        );
        assert!(classify(&exited(0), &before_set).is_err());
    }

    #[test]
    fn a_failed_call_without_a_wasm_trap_is_a_trap_by_the_host() {
        // 49's worker report, then 36's log record, which the server's own
        // line follows at once.
        for stderr in [
            "worker failed: error while executing at wasm backtrace:\n    0: 0x1 - p!f\n\nCaused by:\n    empty poll list\n",
            "2026-12-05T05:22:02Z ERROR wasmtime_cli::commands::serve: [0] :: error while executing at wasm backtrace:\n    0: 0x1 - p!f\n\nCaused by:\n    empty poll list    \nerror: guest never invoked `response-outparam::set` method\n",
        ] {
            assert_eq!(
                classify(&exited(0), stderr),
                Ok(Outcome::Trap(Trap::ByHost {
                    message: "empty poll list".into()
                }))
            );
        }
    }

    #[test]
    fn the_server_s_own_500_reasons_are_a_completed_run() {
        for stderr in [
            "error: guest never invoked `response-outparam::set` method\n",
            "error: ErrorCode::InternalError(Some(\"witness\"))\n",
            "",
        ] {
            assert_eq!(
                classify(&exited(0), stderr),
                Ok(Outcome::Completed { exit: 0 })
            );
        }
    }

    #[test]
    fn a_panic_and_an_unknown_status() {
        let panic = "thread 'tokio-runtime-worker' panicked at src/x.rs:1:1:\nbad state\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            classify(&exited(101), panic),
            Ok(Outcome::HostPanic {
                message: "bad state".into()
            })
        );
        assert!(classify(&exited(2), "error: unexpected argument").is_err());
    }
}
