//! The adapter protocol: a host that is a program of its own, run once per
//! run of a case (README, "The adapter protocol"). The harness starts
//!
//! ```text
//! ADAPTER [its own arguments] --component PATH --scenario=NAME --reply FILE
//!         --deadline-ms N [--dir HOST::GUEST] [--stderr-capacity N]
//! ```
//!
//! in a process group of its own, with the guest's stdin bytes on its
//! stdin; the adapter's stdout and stderr are the guest's. Before the first
//! run of a component the harness runs `ADAPTER [its own arguments]
//! --prepare --component PATH` once, untimed, so that compiling or
//! transpiling the guest is not counted against a run's deadline. It writes how the
//! run ended to FILE as one JSON object, `{"outcome": "completed" | "trap" |
//! "hang" | "host-panic" | "link-error", "exit": N, "by": "host" | "guest",
//! "code": "...", "message": "..."}`, and exits. The adapter times the run
//! itself: one that ended after the deadline is a `hang`. The harness owns
//! the deadline all the same: an adapter still running 2 s past it is killed
//! with its whole process group, and the run is a hang. An adapter killed by a signal is
//! a `crash`; one that writes no reply, or one that does not parse, is a
//! harness error naming the adapter and showing what it printed.

use super::subprocess::{self, HostEnd};
use super::{Host, PerComponent, RunRequest, RunSettings};
use crate::outcome::{HostRun, Outcome, Trap};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Where a case's scratch directory appears to the guest.
pub const SCRATCH_DIR: &str = "/scratch";
/// How long after the deadline the harness waits for an adapter's own
/// `hang` reply before it kills it.
pub const GRACE: Duration = Duration::from_secs(2);
/// How long an adapter may take to prepare a component (compile,
/// transpile) before its first run.
const PREPARE_DEADLINE: Duration = Duration::from_secs(300);

/// A host reached through the adapter protocol.
pub struct AdapterHost {
    name: String,
    /// The adapter and its own arguments.
    command: Vec<OsString>,
    capabilities: Capabilities,
    /// Variables set in the adapter's environment, beyond the harness's own.
    env: Vec<(OsString, OsString)>,
    /// How much of each of the adapter's output streams the harness keeps
    /// ([`subprocess::OUTPUT_LIMIT`]; none only on a self-test host).
    output_limit: Option<u64>,
    /// The components prepared (`--prepare`) in this process.
    prepared: PerComponent<()>,
}

fn to_json(settings: &impl Serialize) -> String {
    serde_json::to_string(settings).expect("settings are JSON")
}

/// What an adapter can do beyond running a guest with stdio.
#[derive(Clone, Copy, Debug, Default)]
pub struct Capabilities {
    /// It honours `--stderr-capacity`.
    pub stderr_capacity: bool,
    /// It honours `--http-response`, `--http-request`, `--sockets` and
    /// `--loopback`: it answers wasi:http itself and confines wasi:sockets
    /// to the run's loopback address.
    pub confinement: bool,
}

/// How the run ended, as an adapter writes it.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl AdapterHost {
    /// `command` is the adapter program and its own arguments.
    pub fn new(name: &str, command: Vec<OsString>, capabilities: Capabilities) -> AdapterHost {
        AdapterHost {
            name: name.into(),
            command,
            capabilities,
            env: Vec::new(),
            output_limit: Some(subprocess::OUTPUT_LIMIT),
            prepared: PerComponent::default(),
        }
    }

    /// The same adapter with `name=value` in its environment.
    pub fn with_env(
        mut self,
        name: impl Into<OsString>,
        value: impl Into<OsString>,
    ) -> AdapterHost {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Self-tests only: the same adapter with all of its output kept, so
    /// that a self-test can show its check of the harness's output limit
    /// then fails. No host the suite runs is made this way.
    pub fn selftest_without_output_limit(mut self) -> AdapterHost {
        self.output_limit = None;
        self
    }
}

impl Host for AdapterHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn supports(&self, settings: &RunSettings) -> Result<(), String> {
        if !self.capabilities.confinement {
            settings.needs_confinement()?;
        }
        if !self.capabilities.stderr_capacity
            && settings.stderr_capacity != RunSettings::default().stderr_capacity
        {
            return Err("it cannot give stderr a capacity".into());
        }
        Ok(())
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String> {
        self.prepare(request.component);
        let settings = request.settings;
        let work = tempfile::tempdir()
            .map_err(|e| format!("cannot make a temporary directory for the reply: {e}"))?;
        let reply_file = work.path().join("reply.json");
        let scratch = settings
            .scratch_dir
            .then(tempfile::tempdir)
            .transpose()
            .map_err(|e| format!("cannot create the scratch directory: {e}"))?;
        let (program, own_arguments) = self
            .command
            .split_first()
            .ok_or_else(|| format!("adapter `{}` has no command", self.name))?;
        let mut adapter = Command::new(program);
        adapter
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .args(own_arguments)
            .arg("--component")
            .arg(request.component)
            // One argument, so that a scenario like `--list` is a value.
            .arg(format!("--scenario={}", request.scenario))
            .arg("--reply")
            .arg(&reply_file)
            .arg("--deadline-ms")
            .arg(settings.deadline.as_millis().to_string());
        if let Some(dir) = &scratch {
            adapter
                .arg("--dir")
                .arg(format!("{}::{SCRATCH_DIR}", dir.path().display()));
        }
        if self.capabilities.stderr_capacity {
            adapter
                .arg("--stderr-capacity")
                .arg(settings.stderr_capacity.to_string());
        }
        if self.capabilities.confinement {
            if let Some(response) = &settings.http_response {
                adapter.arg("--http-response").arg(to_json(response));
            }
            adapter
                .arg("--http-request")
                .arg(to_json(&settings.http_request));
            if let Some(sockets) = &settings.sockets {
                adapter
                    .arg("--sockets")
                    .arg(to_json(sockets))
                    .arg("--loopback")
                    .arg(super::sockets::fresh_address().to_string());
            }
        }
        let started =
            subprocess::run_host(adapter, settings, GRACE, self.output_limit).map_err(|e| {
                format!(
                    "adapter `{}`: {e}; is it installed? `cargo xtask hosts` says",
                    self.name
                )
            })?;
        let (code, stdout, stderr) = match started {
            HostEnd::Decided(run) => return Ok(run),
            HostEnd::Exited {
                code,
                stdout,
                stderr,
            } => (code, stdout, stderr),
        };
        let outcome = std::fs::read_to_string(&reply_file)
            .map_err(|e| format!("no reply ({e})"))
            .and_then(|text| {
                serde_json::from_str::<Reply>(&text)
                    .map_err(|e| format!("a reply that does not parse ({e}): {text:?}"))
            })
            .and_then(|reply| reply.into_outcome(settings.deadline))
            .map_err(|problem| {
                format!(
                    "adapter `{}` ({}) broke the adapter protocol: {problem}; it exited with status {code} and printed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.name,
                    program.to_string_lossy(),
                    String::from_utf8_lossy(&stdout),
                    String::from_utf8_lossy(&stderr)
                )
            })?;
        Ok(HostRun {
            outcome,
            stdout,
            stderr,
        })
    }
}

impl AdapterHost {
    /// `ADAPTER --prepare --component P`, once per component and process,
    /// before its first run is timed: compiling or transpiling a guest is
    /// not part of a run. Best effort: a component that cannot be prepared
    /// shows as the run's own outcome (a link-error).
    fn prepare(&self, component: &Path) {
        self.prepared.get(component, || {
            let Some((program, own_arguments)) = self.command.split_first() else {
                return;
            };
            let mut prepare = Command::new(program);
            prepare
                .envs(self.env.iter().map(|(name, value)| (name, value)))
                .args(own_arguments)
                .arg("--prepare")
                .arg("--component")
                .arg(component);
            let _ = subprocess::run(
                prepare,
                &[],
                PREPARE_DEADLINE,
                Some(subprocess::OUTPUT_LIMIT),
            );
        });
    }
}

impl Reply {
    /// The reply for `outcome`, as an adapter writes it.
    pub fn new(outcome: &Outcome) -> Reply {
        let mut reply = Reply {
            outcome: outcome.kind().into(),
            exit: None,
            by: None,
            code: None,
            message: None,
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
            Outcome::Crash { detail } => reply.message = Some(detail.clone()),
            Outcome::Hang { .. } => {}
        }
        reply
    }

    /// The outcome this reply states; `Err` says what is wrong with it.
    pub fn into_outcome(self, deadline: Duration) -> Result<Outcome, String> {
        let message = || {
            self.message
                .clone()
                .ok_or_else(|| format!("`{}` needs a `message`", self.outcome))
        };
        Ok(match (self.outcome.as_str(), self.by.as_deref()) {
            ("completed", _) => Outcome::Completed {
                exit: self.exit.ok_or("`completed` needs an `exit`")?,
            },
            ("trap", Some("host")) => Outcome::Trap(Trap::ByHost {
                message: message()?,
            }),
            ("trap", Some("guest")) => Outcome::Trap(Trap::ByGuest {
                code: self.code.clone().ok_or("a guest `trap` needs a `code`")?,
                message: self.message.clone().unwrap_or_default(),
            }),
            ("trap", _) => return Err("a `trap` needs `by`: host or guest".into()),
            ("hang", _) => Outcome::Hang { deadline },
            ("host-panic", _) => Outcome::HostPanic {
                message: message()?,
            },
            ("crash", _) => Outcome::Crash { detail: message()? },
            ("link-error", _) => Outcome::LinkError {
                message: message()?,
            },
            (other, _) => return Err(format!("`{other}` is no outcome")),
        })
    }
}
