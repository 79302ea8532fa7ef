//! `jco serve`'s rules (README, "Serving hosts"). jco's server (preview2-
//! shim's `HTTPServer`) calls each handler on its one JavaScript thread and
//! runs it to its end before it takes the next request: once the response
//! is read, the harness sends a second request (`GET /--list`), and its
//! answer shows the case's handler returned. An error the handler throws,
//! and a `response-outparam.set` with an error, end the whole server.
//!
//! | the server | outcome |
//! | --- | --- |
//! | answered the second request | `completed` |
//! | exited with an uncaught `RuntimeError` whose text is an engine's trap | `trap` by the guest, named as wasmtime names traps |
//! | exited with another uncaught `RuntimeError` (jco's glue refusing a call) | `trap` by the host |
//! | exited with an uncaught error of another kind (`TypeError`, ...) | `host-panic` |
//! | exited with status 1 and no uncaught error (preview2-shim prints the error of `set(err)` and exits) | `trap` by the host; the message is what it printed |
//! | exited with status 0: jco's CLI exits with its server's status, and with 0 when a signal killed the server (`process.exitCode = null`) | `crash` |
//! | neither within [`SETTLE`](super::SETTLE) | `hang` |
//! | killed by a signal | `crash` |
//!
//! The last two are every server's ([`Server::classify`](super::Server)).

use super::Settled;
use crate::outcome::{Outcome, Trap};
use std::net::SocketAddr;
use std::path::Path;

/// The engines' trap texts (V8's for Node and Deno, JavaScriptCore's for
/// Bun, and the wasmtime texts jco's glue rethrows) and wasmtime's names
/// for them: harness/jco/classify.mjs's `TRAP_CODES`, for the errors that
/// reach no runner (a test holds the two tables to the same texts).
const TRAP_CODES: [(&[&str], &str); 7] = [
    (&["unreachable"], "unreachable-code-reached"),
    (
        &["memory access out of bounds", "out of bounds memory access"],
        "memory-out-of-bounds",
    ),
    (
        &["divide by zero", "remainder by zero", "division by zero"],
        "integer-division-by-zero",
    ),
    (
        &["integer overflow", "divide result unrepresentable"],
        "integer-overflow",
    ),
    (
        &["float unrepresentable", "out of bounds trunc"],
        "bad-conversion-to-integer",
    ),
    (
        &[
            "table index is out of bounds",
            "out of bounds call_indirect",
        ],
        "table-out-of-bounds",
    ),
    (
        &[
            "null function",
            "function signature mismatch",
            "call_indirect to a signature that does not match",
            "call_indirect to a null table entry",
        ],
        "bad-signature",
    ),
];

/// `jco serve`'s arguments after jco's own program: the guest served at
/// `address`, transpiled into `dir` (a directory of the harness's, so that
/// nothing is left behind when the server is killed).
pub fn arguments(component: &str, address: SocketAddr, dir: &Path) -> Vec<String> {
    let (host, port) = (address.ip().to_string(), address.port().to_string());
    let dir = dir.display().to_string();
    [
        "serve",
        component,
        "--host",
        &host,
        "--port",
        &port,
        "--jco-dir",
        &dir,
    ]
    .map(str::to_string)
    .to_vec()
}

/// What a release's ready line says of where its server listens.
enum Listening {
    /// `Server listening @ HOST:PORT...` (jco 1.11 on).
    At(SocketAddr),
    /// `Server listening on port...` (1.10, which names no address). 1.4
    /// to 1.9, given `--port`, throw a `ReferenceError` printing theirs.
    Unnamed,
}

fn listening(line: &str) -> Option<Listening> {
    let said = line.trim().strip_prefix("Server listening ")?;
    let said = said.strip_suffix("...")?;
    match said.strip_prefix("@ ") {
        Some(address) => address.parse().ok().map(Listening::At),
        None => (said == "on port").then_some(Listening::Unnamed),
    }
}

/// Where the server listens, from its ready line, `passed` being the
/// address the harness gave it.
pub fn ready(line: &str, passed: SocketAddr) -> Option<SocketAddr> {
    match listening(line)? {
        Listening::At(address) => Some(address),
        Listening::Unnamed => Some(passed),
    }
}

pub fn classify(settled: &Settled, stderr: &str) -> Result<Outcome, String> {
    let code = match settled {
        Settled::Answered => return Ok(Outcome::Completed { exit: 0 }),
        Settled::Exited(status) => status.code(),
        Settled::Running | Settled::Dropped { .. } => None,
    };
    let Some(code) = code else {
        return Err(format!("no rule for {settled:?}"));
    };
    let printed: Vec<&str> = (stderr.lines())
        .skip_while(|line| listening(line).is_none())
        .skip(1)
        .collect();
    if let Some((kind, message)) = printed.iter().find_map(|line| uncaught(line)) {
        let message = message.to_string();
        if kind != "RuntimeError" {
            return Ok(Outcome::HostPanic {
                message: format!("{kind}: {message}"),
            });
        }
        let lower = message.to_lowercase();
        let trap = TRAP_CODES
            .iter()
            .find(|(texts, _)| texts.iter().any(|text| lower.contains(text)));
        return Ok(Outcome::Trap(match trap {
            Some((_, code)) => Trap::ByGuest {
                code: code.to_string(),
                message,
            },
            None => Trap::ByHost { message },
        }));
    }
    match code {
        0 => Ok(Outcome::Crash {
            detail: "the server ended with status 0, which jco's CLI also reports for a server killed by a signal".into(),
        }),
        1 => Ok(Outcome::Trap(Trap::ByHost {
            message: printed.join("\n").trim().to_string(),
        })),
        _ => Err(format!(
            "status {code} without an uncaught error: no rule says what that is"
        )),
    }
}

/// The kind and message of an uncaught error's line: `RuntimeError: ...`
/// (Node, Bun), `error: Uncaught (in promise) RuntimeError: ...` (Deno).
fn uncaught(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    let line = (line.strip_prefix("error: Uncaught (in promise) "))
        .or_else(|| line.strip_prefix("error: Uncaught "))
        .unwrap_or(line);
    let (kind, message) = line.split_once(": ")?;
    let is_error = kind.ends_with("Error") && kind.chars().all(|c| c.is_ascii_alphanumeric());
    is_error.then_some((kind, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    /// The texts a pattern of classify.mjs matches: its alternatives, each
    /// group's expanded (`a (b|c)` → `a b`, `a c`), lower-cased.
    fn alternatives(pattern: &str) -> Vec<String> {
        let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
        for (at, c) in pattern.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                '|' if depth == 0 => {
                    parts.push(&pattern[start..at]);
                    start = at + 1;
                }
                _ => {}
            }
        }
        parts.push(&pattern[start..]);
        parts
            .into_iter()
            .flat_map(|part| match (part.find('('), part.rfind(')')) {
                (Some(open), Some(close)) => alternatives(&part[open + 1..close])
                    .into_iter()
                    .flat_map(|inner| {
                        alternatives(&format!("{}{inner}{}", &part[..open], &part[close + 1..]))
                    })
                    .collect(),
                _ => vec![part.to_lowercase()],
            })
            .collect()
    }

    #[test]
    fn the_trap_texts_are_classify_mjs_s() {
        let source =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/jco/classify.mjs"))
                .expect("harness/jco/classify.mjs reads");
        let table = source
            .split_once("const TRAP_CODES = [")
            .and_then(|(_, rest)| rest.split_once("];"))
            .expect("classify.mjs has its TRAP_CODES table")
            .0;
        let javascript: BTreeSet<(String, String)> = table
            .lines()
            .filter_map(|line| line.trim().strip_prefix("[/"))
            .flat_map(|entry| {
                let (pattern, rest) = entry.rsplit_once("/").expect("a /pattern/");
                let code = rest.split('\'').nth(1).expect("a 'code'").to_string();
                alternatives(pattern)
                    .into_iter()
                    .map(move |text| (text, code.clone()))
            })
            .collect();
        let rust: BTreeSet<(String, String)> = TRAP_CODES
            .iter()
            .flat_map(|(texts, code)| {
                texts
                    .iter()
                    .map(|text| (text.to_string(), code.to_string()))
            })
            .collect();
        assert_eq!(rust, javascript);
    }

    fn exited(code: i32) -> Settled {
        Settled::Exited(ExitStatus::from_raw(code << 8))
    }

    const READY: &str = "Server listening @ 127.0.0.1:18085...\n";

    #[test]
    fn each_release_s_ready_line_gives_the_address() {
        let passed: SocketAddr = "10.0.0.2:80".parse().unwrap();
        assert_eq!(
            ready(READY, passed),
            Some("127.0.0.1:18085".parse().unwrap())
        );
        // jco 1.10.2, which names no address.
        assert_eq!(ready("Server listening on port...\n", passed), Some(passed));
        assert_eq!(ready("Listening", passed), None);
        assert_eq!(ready("Server listening on port", passed), None);
    }

    #[test]
    fn what_follows_an_older_release_s_ready_line_is_classified() {
        let stderr = "Server listening on port...\nTypeError: x is not a function\n";
        assert_eq!(
            classify(&exited(1), stderr),
            Ok(Outcome::HostPanic {
                message: "TypeError: x is not a function".into()
            })
        );
    }

    #[test]
    fn an_answered_second_request_is_a_completed_run() {
        assert_eq!(
            classify(&Settled::Answered, READY),
            Ok(Outcome::Completed { exit: 0 })
        );
    }

    #[test]
    fn an_engine_trap_is_a_trap_by_the_guest_on_each_runtime() {
        // Node 20, Deno 2.9 and Bun 1.4 on a handler that runs `unreachable`.
        for uncaught in [
            "node:internal/event_target:1105\n  process.nextTick(() => { throw err; });\n\nRuntimeError: wasm trap: wasm `unreachable` instruction executed\n    at proxy.wasm.f (wasm://wasm/proxy.wasm:1:1)\n\nNode.js v20.20.2\n",
            "error: Uncaught (in promise) RuntimeError: wasm trap: wasm `unreachable` instruction executed\n",
            "1696 |       throw err;\n                   ^\nRuntimeError: Unreachable code should not be executed (evaluating 'fn()')\n\nBun v1.4.5 (Linux x64)\n",
        ] {
            let Ok(Outcome::Trap(Trap::ByGuest { code, .. })) =
                classify(&exited(1), &format!("{READY}{uncaught}"))
            else {
                panic!("{uncaught}: {:?}", classify(&exited(1), uncaught));
            };
            assert_eq!(code, "unreachable-code-reached");
        }
    }

    #[test]
    fn a_runtime_error_of_jco_s_glue_is_a_trap_by_the_host() {
        let stderr = format!("{READY}RuntimeError: unknown handle index 3\n");
        assert_eq!(
            classify(&exited(1), &stderr),
            Ok(Outcome::Trap(Trap::ByHost {
                message: "unknown handle index 3".into()
            }))
        );
    }

    #[test]
    fn another_uncaught_error_is_a_host_panic() {
        let stderr = format!("{READY}TypeError: x is not a function\n");
        assert_eq!(
            classify(&exited(1), &stderr),
            Ok(Outcome::HostPanic {
                message: "TypeError: x is not a function".into()
            })
        );
    }

    #[test]
    fn an_exit_after_set_with_an_error_is_a_trap_by_the_host() {
        let stderr = format!("{READY}{{ tag: 'internal-error', val: 'witness' }}\n");
        assert_eq!(
            classify(&exited(1), &stderr),
            Ok(Outcome::Trap(Trap::ByHost {
                message: "{ tag: 'internal-error', val: 'witness' }".into()
            }))
        );
    }

    #[test]
    fn status_0_is_a_crash_and_another_status_has_no_rule() {
        assert!(matches!(
            classify(&exited(0), READY),
            Ok(Outcome::Crash { .. })
        ));
        assert!(classify(&exited(3), READY).is_err());
    }
}
