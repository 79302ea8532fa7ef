//! `wasmtime-sync`: wasmtime with `add_to_linker_sync`, as embedders without
//! an async runtime run it. Nothing in-process can stop a guest blocked in a
//! sync host call, so each run happens in a child process
//! (`witness-wasmtime-sync`, src/bin/): a hang costs a process, never an
//! abandoned thread. A child that dies of a signal is a `crash`.
//!
//! The child reads the guest's stdin bytes on its stdin, runs the guest on
//! a thread of its own and prints one JSON line, a [`Reply`], on its stdout:
//! at the deadline it replies `hang` with what the guest had written so far
//! and exits, which ends the blocked thread with the process. Should the
//! child not reply in time, the harness kills its whole process group
//! [`CHILD_GRACE`] after the deadline: a hang all the same.

use super::subprocess::{self, ChildEnd};
use super::wasmtime::{
    GuestState, ended, engine, error_text, guest_store, output_pipes, panic_text,
    selftest_faulty_import,
};
use super::{Host, HostRun, RunRequest, RunSettings};
use crate::outcome::{Outcome, Trap};
use serde::{Deserialize, Serialize};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi::p2::bindings::sync::CommandPre;

/// How long after the deadline the harness waits for the child's own
/// `hang` reply before it kills the child.
pub const CHILD_GRACE: Duration = Duration::from_secs(2);

/// The parent's side: runs each request in a `witness-wasmtime-sync` child.
pub struct WasmtimeSyncHost {
    name: String,
    /// The `witness-wasmtime-sync` executable.
    program: PathBuf,
    cache_dir: PathBuf,
    /// Link the self-tests' faulty import (self-test hosts only).
    faulty: bool,
}

/// What the child prints: how the run ended and the guest's output.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// `completed`, `trap`, `hang`, `host-panic` or `link-error`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// `host` or `guest`, for a trap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub stdout: String,
    pub stderr: String,
}

impl WasmtimeSyncHost {
    pub fn new(program: PathBuf, cache_dir: PathBuf) -> WasmtimeSyncHost {
        WasmtimeSyncHost {
            name: "wasmtime-sync".into(),
            program,
            cache_dir,
            faulty: false,
        }
    }

    /// The same host with the self-tests' faulty import, under another name.
    pub fn selftest_faulty(name: &str, program: PathBuf, cache_dir: PathBuf) -> WasmtimeSyncHost {
        WasmtimeSyncHost {
            name: name.into(),
            faulty: true,
            ..WasmtimeSyncHost::new(program, cache_dir)
        }
    }
}

impl Host for WasmtimeSyncHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String> {
        let settings = request.settings;
        let mut child = Command::new(&self.program);
        child
            .arg("--component")
            .arg(request.component)
            .arg("--scenario")
            .arg(request.scenario)
            .arg("--stderr-capacity")
            .arg(settings.stderr_capacity.to_string())
            .arg("--deadline-ms")
            .arg(settings.deadline.as_millis().to_string())
            .arg("--cache-dir")
            .arg(&self.cache_dir);
        if settings.scratch_dir {
            child.arg("--scratch-dir");
        }
        if self.faulty {
            child.arg("--selftest-faulty-import");
        }
        let end = subprocess::run(child, &settings.stdin, settings.deadline + CHILD_GRACE)?;
        let (status, stdout, stderr) = match end {
            // The child's stdout is its reply, not the guest's: nothing of it counts.
            ChildEnd::DeadlinePassed { stderr, .. } => {
                return Ok(HostRun {
                    outcome: Outcome::Hang {
                        deadline: settings.deadline,
                    },
                    stdout: Vec::new(),
                    stderr,
                });
            }
            ChildEnd::Exited {
                status,
                stdout,
                stderr,
            } => (status, stdout, stderr),
        };
        if let Some(signal) = status.signal() {
            return Ok(HostRun {
                outcome: Outcome::Crash {
                    detail: format!("killed by signal {signal}"),
                },
                stdout: Vec::new(),
                stderr,
            });
        }
        let reply: Reply = serde_json::from_slice(&stdout).map_err(|e| {
            format!(
                "{} did not reply ({status}, {e}); it printed:\n{}\n{}",
                self.program.display(),
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            )
        })?;
        reply.into_run(settings.deadline)
    }
}

impl Reply {
    fn new(outcome: &Outcome, stdout: &[u8], stderr: &[u8]) -> Reply {
        let mut reply = Reply {
            outcome: outcome.kind().into(),
            exit: None,
            by: None,
            code: None,
            message: None,
            stdout: String::from_utf8_lossy(stdout).into_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
        };
        match outcome {
            Outcome::Completed { exit } => reply.exit = Some(*exit),
            Outcome::Trap(Trap::ByHost { message }) => {
                reply.by = Some("host".into());
                reply.message = Some(message.clone());
            }
            Outcome::Trap(Trap::ByGuest { code, message }) => {
                reply.by = Some("guest".into());
                reply.code = Some(code.clone());
                reply.message = Some(message.clone());
            }
            Outcome::HostPanic { message } | Outcome::LinkError { message } => {
                reply.message = Some(message.clone());
            }
            Outcome::Hang { .. } | Outcome::Crash { .. } => {}
        }
        reply
    }

    fn into_run(self, deadline: Duration) -> Result<HostRun, String> {
        let message = self.message.unwrap_or_default();
        let outcome = match (self.outcome.as_str(), self.by.as_deref()) {
            ("completed", _) => Outcome::Completed {
                exit: self.exit.unwrap_or(0),
            },
            ("trap", Some("host")) => Outcome::Trap(Trap::ByHost { message }),
            ("trap", Some("guest")) => Outcome::Trap(Trap::ByGuest {
                code: self.code.unwrap_or_default(),
                message,
            }),
            ("hang", _) => Outcome::Hang { deadline },
            ("host-panic", _) => Outcome::HostPanic { message },
            ("link-error", _) => Outcome::LinkError { message },
            (other, by) => {
                return Err(format!(
                    "the wasmtime-sync child replied an outcome it cannot have: {other} (by {by:?})"
                ));
            }
        };
        Ok(HostRun {
            outcome,
            stdout: self.stdout.into_bytes(),
            stderr: self.stderr.into_bytes(),
        })
    }
}

/// The child's side: one run with the sync linker, on a thread of this
/// process; at `settings.deadline` the reply is `hang`, and the caller
/// must then end the process (returning from `main` does) to stop the run.
/// `Err` is a failure to set the run up, not an outcome.
pub fn run_here(
    component: &Path,
    scenario: &str,
    settings: &RunSettings,
    cache_dir: &Path,
    faulty: bool,
) -> Result<Reply, String> {
    let engine = engine(cache_dir, false).map_err(|e| format!("{e:?}"))?;
    let mut linker = Linker::<GuestState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| format!("{e:?}"))?;
    if faulty {
        selftest_faulty_import(&mut linker).map_err(|e| format!("{e:?}"))?;
    }
    let request = RunRequest {
        component,
        scenario,
        settings,
    };
    let (stdout, stderr) = output_pipes(&request);
    let pre = Component::from_file(&engine, component)
        .and_then(|compiled| linker.instantiate_pre(&compiled))
        .and_then(CommandPre::new);
    let pre = match pre {
        Ok(pre) => pre,
        Err(e) => {
            let outcome = Outcome::LinkError {
                message: error_text(&e),
            };
            return Ok(Reply::new(&outcome, &[], &[]));
        }
    };
    let (mut store, scratch) = guest_store(&engine, &request, &stdout, &stderr)?;
    let (done, ended_as) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // A panic in host code unwinds out of the wasm frames to here.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let command = pre.instantiate(&mut store)?;
            command.wasi_cli_run().call_run(&mut store)
        }));
        let outcome = match run {
            Ok(result) => ended(result),
            Err(payload) => Outcome::HostPanic {
                message: panic_text(payload.as_ref()),
            },
        };
        let _ = done.send(outcome);
    });
    let outcome = ended_as
        .recv_timeout(settings.deadline)
        .unwrap_or(Outcome::Hang {
            deadline: settings.deadline,
        });
    let reply = Reply::new(&outcome, &stdout.contents(), &stderr.contents());
    drop(scratch);
    Ok(reply)
}
