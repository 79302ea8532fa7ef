//! A `wasmtime` CLI of any version as a host: `wasmtime run COMPONENT
//! SCENARIO` in a process group of its own, stopped at the deadline, its
//! outcome read from its exit status and the error report it prints on
//! stderr. The rules (README, "Hosts"):
//!
//! | the CLI ended with | outcome |
//! | --- | --- |
//! | status 0 | `completed`, exit 0 |
//! | an error report with `wasm trap: <text>` | `trap` by the guest; the code is the wasmtime `Trap` whose text that is (`unreachable-code-reached`) |
//! | an error report with "failed to invoke `run` function" | `trap` by the host; the message is the report's last cause (`empty poll list`) |
//! | any other error report ("failed to run main module", instantiation failed) | `link-error`; the message is every cause |
//! | status 101, no error report, a Rust panic message (`thread '..' panicked at`) | `host-panic`: the CLI itself panicked |
//! | status 2, no error report, a usage error (`error: `, `Usage: `) | a harness error showing what the CLI printed |
//! | status 0 or 1 and no error report | `completed` with that status (the guest's `exit`, or `run`'s result) |
//! | another status and no error report | `completed` with that status where the guest imports `wasi:cli/exit` (`exit-with-code`); else a harness error |
//! | a signal | `crash` |
//!
//! The guest's own stderr is what the CLI printed before its error report.

use super::responder::{Responder, Wanted};
use super::serve::{self, Server};
use super::subprocess::{self, HostEnd};
use super::world::files::Granted;
use super::world::sockets::fresh_address;
use super::{Confinement, Host, RunRequest, RunSettings, private_network};
use crate::outcome::{HostRun, Outcome, Trap};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

/// The line a wasmtime CLI's error report starts with.
const ERROR_REPORT: &str = "Error: ";

/// A wasmtime CLI binary.
pub struct WasmtimeCliHost {
    name: String,
    program: PathBuf,
    /// As `wasmtime --version` says it: `49.0.3`.
    pub version: String,
    /// The names `wasmtime run -S help` lists (`cwd`, `cli-exit-with-code`).
    wasi_options: BTreeSet<String>,
    /// The options witness wants that this `wasmtime serve` has.
    serve_options: serve::wasmtime::ServeOptions,
    /// It runs in the private network, where there is one (all but a
    /// self-test's host that proves the network matters).
    in_private_network: bool,
}

impl WasmtimeCliHost {
    /// The CLI at `program`, named `name` or else `wasmtime-cli-<version>`.
    pub fn new(program: PathBuf, name: Option<String>) -> Result<WasmtimeCliHost, String> {
        let output = Command::new(&program)
            .arg("--version")
            .output()
            .map_err(|e| format!("cannot run {} --version: {e}", program.display()))?;
        let said = String::from_utf8_lossy(&output.stdout);
        // `wasmtime 49.0.3 (...)`; before about release 20, `wasmtime-cli 17.0.3`.
        let version = said
            .split_whitespace()
            .nth(1)
            .filter(|_| said.starts_with("wasmtime ") || said.starts_with("wasmtime-cli "))
            .ok_or_else(|| {
                format!(
                    "{} --version said {said:?}, not `wasmtime <version> ...`: is it a wasmtime CLI?",
                    program.display()
                )
            })?
            .to_string();
        let help = Command::new(&program)
            .args(["run", "-S", "help"])
            .output()
            .map_err(|e| format!("cannot run {} run -S help: {e}", program.display()))?;
        let wasi_options = wasi_options(&String::from_utf8_lossy(&help.stdout));
        let serve_help = Command::new(&program)
            .args(["serve", "--help"])
            .output()
            .map_err(|e| format!("cannot run {} serve --help: {e}", program.display()))?;
        let serve_help = String::from_utf8_lossy(&serve_help.stdout);
        let serve_options = serve::wasmtime::ServeOptions {
            cli: match wasi_options.contains("cli") {
                true => "cli",
                false => "common",
            },
            no_logging_prefix: serve_help.contains("--no-logging-prefix"),
            graceful: serve_help.contains("--shutdown-addr"),
        };
        Ok(WasmtimeCliHost {
            name: name.unwrap_or_else(|| format!("wasmtime-cli-{version}")),
            program,
            version,
            wasi_options,
            serve_options,
            in_private_network: true,
        })
    }

    /// Self-tests only: the same CLI, named `<name>-breached`, run in the
    /// harness's own network, so that a self-test can show its check of the
    /// private network then fails.
    pub fn selftest_outside_the_private_network(mut self) -> WasmtimeCliHost {
        self.in_private_network = false;
        self.name.push_str("-breached");
        self
    }
}

impl Host for WasmtimeCliHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn supports(&self, settings: &RunSettings) -> Result<(), String> {
        settings.confinable(Confinement::PrivateNetwork)?;
        if settings.stderr_capacity != RunSettings::default().stderr_capacity {
            return Err(
                "the CLI gives the guest the real stderr, a pipe: it cannot give stderr a capacity"
                    .into(),
            );
        }
        if settings.invocation.initial_cwd.is_some() && !self.wasi_options.contains("cwd") {
            return Err(
                "the CLI has no `-S cwd` (`wasmtime run -S help`; wasmtime 46 added it)".into(),
            );
        }
        if (settings.files.iter()).any(|files| files.preopens.iter().any(|p| p.read_only)) {
            return Err(
                "the CLI's `--dir HOST::GUEST` has no read-only form (`wasmtime run --help`)"
                    .into(),
            );
        }
        Ok(())
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String> {
        let settings = request.settings;
        let mut cli = Command::new(&self.program);
        // Backtraces of the CLI itself would only bury its error report.
        cli.env("RUST_BACKTRACE", "0")
            .env("WASMTIME_BACKTRACE_DETAILS", "0");
        if !settings.needs.command {
            let component = request.component.display().to_string();
            cli.args(serve::wasmtime::arguments(
                &component,
                "127.0.0.1:0",
                &self.serve_options,
            ));
            let mut run = Server::Wasmtime {
                graceful: self.serve_options.graceful,
            }
            .run(cli, request, serve::wasmtime::ready)?;
            if !self.serve_options.no_logging_prefix {
                run.stdout = serve::wasmtime::unprefixed(&run.stdout, "stdout");
                run.stderr = serve::wasmtime::unprefixed(&run.stderr, "stderr");
            }
            return Ok(run);
        }
        let network = (self.in_private_network.then(private_network::get)).and_then(Result::ok);
        // Lives until the CLI has exited: it answers the guest's requests.
        let responder = Responder::for_run(network, Wanted::of(settings, false))?;
        if let Some(network) = network {
            network.confine(&mut cli, responder.as_ref().and_then(Responder::hosts_file));
        }
        let mut options = network_options(settings, fresh_address());
        options.extend(self.invocation_options(settings));
        cli.args(run_arguments(
            &request.component.display().to_string(),
            request.scenario,
            request.preopens,
            &options,
            &settings.invocation.arguments,
        ));
        let (code, stdout, stderr) = match subprocess::run_host(
            cli,
            settings,
            std::time::Duration::ZERO,
            Some(subprocess::OUTPUT_LIMIT),
        )? {
            HostEnd::Decided(run) => return Ok(run),
            HostEnd::Exited {
                code,
                stdout,
                stderr,
            } => (code, stdout, stderr),
        };
        let text = String::from_utf8_lossy(&stderr).into_owned();
        // Only `exit-with-code` gives a status other than 0 and 1.
        let any_status = settings.needs.interfaces.contains("wasi:cli/exit");
        let outcome = classify(code, &text, any_status).map_err(|problem| {
            format!(
                "{} ({}): {problem}; it exited with status {code} and printed on stderr:\n{text}",
                self.name,
                self.program.display()
            )
        })?;
        Ok(HostRun {
            outcome,
            stdout,
            stderr,
        })
    }
}

impl WasmtimeCliHost {
    /// The options that hand the guest its case's environment and initial
    /// working directory, and `wasi:cli/exit`'s `exit-with-code` where the
    /// CLI has it behind a switch (`-S cli-exit-with-code`, through 49).
    fn invocation_options(&self, settings: &RunSettings) -> Vec<String> {
        let offered = |name: &str| self.wasi_options.contains(name);
        invocation_options(settings, offered("cli-exit-with-code"))
    }
}

/// [`WasmtimeCliHost::invocation_options`], for a CLI that has (or not)
/// `-S cli-exit-with-code`.
pub fn invocation_options(settings: &RunSettings, exit_with_code_switch: bool) -> Vec<String> {
    let invocation = &settings.invocation;
    let mut options = Vec::new();
    if exit_with_code_switch && settings.needs.interfaces.contains("wasi:cli/exit") {
        options.extend(["-S".to_string(), "cli-exit-with-code".to_string()]);
    }
    if let Some(cwd) = &invocation.initial_cwd {
        options.extend(["-S".to_string(), format!("cwd={cwd}")]);
    }
    for assignment in invocation.assignments() {
        options.extend(["--env".to_string(), assignment]);
    }
    options
}

/// The names of the `-S` options `wasmtime run -S help` lists:
/// `  -S   cwd=val -- ...`, `  -S   cli-exit-with-code[=y|n] -- ...`.
fn wasi_options(help: &str) -> BTreeSet<String> {
    help.lines()
        .filter_map(|line| line.trim_start().strip_prefix("-S"))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|option| {
            option
                .split(['=', '['])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// `wasmtime <arguments>` that runs `scenario` of `component` with the
/// guest's further `guest_arguments`, `preopens` granted (none read-only)
/// and `options` ([`network_options`], [`invocation_options`]): what
/// witness runs, and what a draft upstream issue tells a maintainer to run.
pub fn run_arguments(
    component: &str,
    scenario: &str,
    preopens: &[Granted],
    options: &[String],
    guest_arguments: &[String],
) -> Vec<String> {
    let mut arguments = vec!["run".to_string()];
    arguments.extend_from_slice(options);
    for preopen in preopens {
        arguments.extend([
            "--dir".into(),
            format!("{}::{}", preopen.host.display(), preopen.guest),
        ]);
    }
    arguments.extend([component.to_string(), scenario.to_string()]);
    arguments.extend_from_slice(guest_arguments);
    arguments
}

/// The options that give a guest the network its case grants, and no
/// other guest any: wasi:sockets with `[run.sockets]` (TCP and UDP, name
/// lookup where the case asks for it, the run's own address in
/// `WITNESS_LOOPBACK`), wasi:http to a guest importing it. Without
/// `inherit-network` a CLI allows no address; TCP and UDP are said
/// outright since their defaults changed (on until wasmtime 48, which turns
/// them off). The spellings are those of wasmtime 17 to 49.
pub fn network_options(settings: &RunSettings, loopback: Ipv4Addr) -> Vec<String> {
    let mut wasi = Vec::new();
    if let Some(sockets) = &settings.sockets {
        wasi.extend(["inherit-network", "tcp", "udp"]);
        if sockets.name_lookup {
            wasi.push("allow-ip-name-lookup");
        }
    }
    if settings.needs.imports.contains("wasi:http") {
        wasi.push("http");
    }
    let mut options = Vec::new();
    if !wasi.is_empty() {
        options.extend(["-S".to_string(), wasi.join(",")]);
    }
    if settings.sockets.is_some() {
        options.extend([
            "--env".to_string(),
            format!("{}={loopback}", super::world::sockets::ADDRESS_VARIABLE),
        ]);
    }
    options
}

/// The outcome of a CLI run that exited with `code` and printed `stderr`;
/// `any_status` where the guest may exit with any status (it imports
/// `wasi:cli/exit`, whose `exit-with-code` takes a u8).
fn classify(code: i32, stderr: &str, any_status: bool) -> Result<Outcome, String> {
    let Some(report) = error_report(stderr) else {
        // Rust's panic message names its thread; a guest's (written by
        // the guest itself) does not. clap's usage errors start `error: `.
        return match code {
            101 if stderr.contains("' panicked at ") => Ok(Outcome::HostPanic {
                message: panic_message(stderr),
            }),
            2 if stderr.starts_with("error: ") || stderr.contains("\nUsage: ") => Err(
                "status 2 with a usage error: this CLI does not take the options witness gave it"
                    .into(),
            ),
            0 | 1 => Ok(Outcome::Completed { exit: code }),
            _ if any_status => Ok(Outcome::Completed { exit: code }),
            _ => Err(format!(
                "status {code} without an error report, from a guest without `exit-with-code`: no rule says what that is"
            )),
        };
    };
    if code == 0 {
        return Err("status 0 with an error report".into());
    }
    let causes = causes(report);
    if let Some(text) = causes
        .iter()
        .find_map(|cause| cause.strip_prefix("wasm trap: "))
    {
        return Ok(Outcome::Trap(Trap::ByGuest {
            code: trap_code(text),
            message: text.to_string(),
        }));
    }
    if causes
        .iter()
        .any(|cause| cause.starts_with("failed to invoke `run` function"))
    {
        let message = causes.last().cloned().unwrap_or_default();
        return Ok(Outcome::Trap(Trap::ByHost { message }));
    }
    Ok(Outcome::LinkError {
        message: causes.join(": "),
    })
}

/// The CLI's error report: from its last `Error: ` line on, or, where the
/// guest's own stderr did not end its last line, from the last
/// `Error: failed to` the CLI's reports start with.
fn error_report(stderr: &str) -> Option<&str> {
    if stderr.starts_with(ERROR_REPORT) {
        return Some(stderr);
    }
    stderr
        .rfind(&format!("\n{ERROR_REPORT}"))
        .map(|at| at + 1)
        .or_else(|| stderr.rfind(&format!("{ERROR_REPORT}failed to")))
        .map(|at| &stderr[at..])
}

/// The report's message and its numbered causes, without the wasm
/// backtrace frames some versions print at the causes' indentation.
fn causes(report: &str) -> Vec<String> {
    let mut causes = Vec::new();
    let mut lines = report.lines();
    if let Some(first) = lines.next() {
        causes.push(first.trim_start_matches(ERROR_REPORT).trim().to_string());
    }
    for line in lines {
        let Some(rest) = line.strip_prefix("    ") else {
            continue;
        };
        let Some((number, text)) = rest.split_once(": ") else {
            continue;
        };
        let is_frame = text.starts_with(' ') || text.trim_start().starts_with("0x");
        if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) && !is_frame {
            causes.push(text.trim().to_string());
        }
    }
    causes
}

/// The text after the CLI's `panicked at ...:` line.
pub(in crate::host) fn panic_message(stderr: &str) -> String {
    let mut lines = stderr
        .lines()
        .skip_while(|line| !line.contains("panicked at"));
    let at = lines.next().unwrap_or_default();
    let message: Vec<&str> = lines
        .take_while(|line| !line.starts_with("note:"))
        .collect();
    match message.is_empty() {
        true => at.to_string(),
        false => message.join("\n"),
    }
}

/// wasmtime's name for the trap whose text this is, in kebab case as the
/// embedded host names traps; the text itself when no trap says it.
pub(in crate::host) fn trap_code(text: &str) -> String {
    // A trap displays as `wasm trap: <text>`, as the CLI prints it.
    trap_where(|trap| trap.to_string().strip_prefix("wasm trap: ") == Some(text))
        .map(|trap| crate::outcome::trap_name(&trap))
        .unwrap_or_else(|| text.to_string())
}

/// The trap an error's Debug form names (`source: UnreachableCodeReached`).
pub(in crate::host) fn trap_named(variant: &str) -> Option<wasmtime_environ::Trap> {
    trap_where(|trap| format!("{trap:?}") == variant)
}

fn trap_where(is: impl Fn(&wasmtime_environ::Trap) -> bool) -> Option<wasmtime_environ::Trap> {
    (0..=u8::MAX)
        .filter_map(wasmtime_environ::Trap::from_u8)
        .find(is)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What wasmtime 49.0.3 prints for poll on an empty list (frames cut).
    const HOST_TRAP_49: &str = "Error: failed to run main module `poll.wasm`

Caused by:
    0: failed to invoke `run` function
    1: error while executing at wasm backtrace:
    0:  0x25272 - <unknown>!<wasm function 0>
    1:   0x380a - poll.wasm!poll::empty_list
    2: empty poll list
";

    /// The same from wasmtime 36.0.9, whose frames are indented further.
    const HOST_TRAP_36: &str = "Error: failed to run main module `poll.wasm`

Caused by:
    0: failed to invoke `run` function
    1: error while executing at wasm backtrace:
           0:  0x25272 - <unknown>!<wasm function 0>
    2: empty poll list
";

    #[test]
    fn a_host_trap_is_the_last_cause() {
        for report in [HOST_TRAP_49, HOST_TRAP_36] {
            assert_eq!(
                classify(1, report, false),
                Ok(Outcome::Trap(Trap::ByHost {
                    message: "empty poll list".into()
                }))
            );
        }
    }

    #[test]
    fn a_guest_trap_is_named_as_the_embedded_host_names_it() {
        let stderr = "thread 'main' (1) panicked at src/main.rs:1:1:\nboom\nError: failed to run main module `x.wasm`\n\nCaused by:\n    0: failed to invoke `run` function\n    1: error while executing at wasm backtrace:\n    0:   0x1 - x!abort\n    2: wasm trap: wasm `unreachable` instruction executed\n";
        assert_eq!(
            classify(134, stderr, false),
            Ok(Outcome::Trap(Trap::ByGuest {
                code: "unreachable-code-reached".into(),
                message: "wasm `unreachable` instruction executed".into()
            }))
        );
    }

    #[test]
    fn an_instantiation_failure_is_a_link_error() {
        let stderr = "Error: failed to run main module `s.wasm`\n\nCaused by:\n    0: component imports instance `witness:guests/faulty`, but a matching implementation was not found in the linker\n    1: instance export `panic-in-host` has the wrong type\n";
        let Ok(Outcome::LinkError { message }) = classify(1, stderr, false) else {
            panic!("{:?}", classify(1, stderr, false));
        };
        assert!(message.contains("witness:guests/faulty"), "{message}");
    }

    #[test]
    fn a_report_after_guest_output_without_a_newline_is_found() {
        let stderr = format!("xxxx{HOST_TRAP_49}");
        assert_eq!(
            classify(1, &stderr, false),
            Ok(Outcome::Trap(Trap::ByHost {
                message: "empty poll list".into()
            }))
        );
    }

    #[test]
    fn the_s_options_are_read_from_the_help() {
        let help = "Available wasi options:\n\n  -S             cli-exit-with-code[=y|n] -- Enable WASI APIs\n  -S                              cwd=val -- Initial current working directory\n";
        let options: Vec<String> = super::wasi_options(help).into_iter().collect();
        assert_eq!(options, ["cli-exit-with-code", "cwd"]);
    }

    #[test]
    fn no_report_is_the_guest_s_exit_or_a_panic_of_the_cli() {
        assert_eq!(
            classify(0, "guest text", false),
            Ok(Outcome::Completed { exit: 0 })
        );
        assert_eq!(classify(1, "", false), Ok(Outcome::Completed { exit: 1 }));
        for usage_error in [
            "error: unexpected argument '--x' found\n\nUsage: wasmtime run [OPTIONS]\n",
            "error: invalid value 'x' for '-S <KEY[=VAL[,..]]>': unknown wasi option\n",
        ] {
            assert!(classify(2, usage_error, true).is_err());
        }
        // Another status is a guest's only where it can exit with one.
        assert!(classify(42, "", false).is_err());
        // exit-with-code: any u8, 101 and 2 among them.
        for code in [2, 42, 101, 255] {
            assert_eq!(
                classify(code, "guest panicked at src/lib.rs:1:1:\nUsage", true),
                Ok(Outcome::Completed { exit: code })
            );
        }
        assert_eq!(
            classify(
                101,
                "thread 'main' panicked at crates/x.rs:1:1:\nbad state\nnote: run with `RUST_BACKTRACE=1`\n",
                true
            ),
            Ok(Outcome::HostPanic {
                message: "bad state".into()
            })
        );
    }
}
