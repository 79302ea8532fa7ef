//! The adapter protocol: a host that is a program of its own, run once per
//! run of a case (README, "The adapter protocol"). The harness starts
//!
//! ```text
//! ADAPTER [its own arguments] --component PATH --scenario=NAME --reply FILE
//!         --deadline-ms N [--dir HOST::GUEST]... [--read-only-dir HOST::GUEST]...
//!         [--stderr-capacity N] [--argument=ARG]... [--env=NAME=VALUE]...
//!         [--initial-cwd=PATH]
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
//! with its whole process group, and the run is a hang unless the adapter
//! had written its reply by then (its own start and shutdown, a browser's
//! say, are not the guest's time; so a reply is written whole, to another
//! file first and then renamed). An adapter killed by a signal is
//! a `crash`; one that writes no reply, or one that does not parse, is a
//! harness error naming the adapter and showing what it printed.

pub mod pool;

use super::private_network::{self, PrivateNetwork};
use super::responder::{Responder, Wanted};
use super::serve::{self, Server};
use super::subprocess::{self, HostEnd};
use super::world::files::Granted;
use super::world::sockets::fresh_address;
use super::{Confinement, Host, PerComponent, RunRequest, RunSettings};
use crate::outcome::{HostRun, Outcome, Trap};
use pool::{Launch, Served, Servers};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

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
    /// Its serving processes, if it serves (`Capabilities::serving`).
    servers: Servers,
    /// Its serving processes in the private network that have a responder
    /// at `witness.invalid`, for the runs with `[run.http-response]`.
    answering: Servers,
    /// Its processes run in the private network, where there is one (all
    /// but a self-test's host that proves the network matters).
    in_private_network: bool,
    /// The server that runs its proxy guests, if it has one.
    proxy_server: Option<ProxyServer>,
}

/// How an adapter host's runtime serves a proxy guest: `jco serve`.
pub struct ProxyServer {
    /// The program and the arguments before `serve` (Node and jco's CLI).
    pub command: Vec<OsString>,
    /// Variables set in its environment, beyond the adapter's own.
    pub env: Vec<(OsString, OsString)>,
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
    /// It takes many runs in turn when started with `--serve`
    /// ([`pool`]).
    pub serving: bool,
    /// It honours `--read-only-dir`: a preopen the guest cannot change.
    pub read_only_preopens: bool,
    /// Its preopens are copies in memory of the granted directories, not
    /// the directories themselves (preview2-shim in a browser).
    pub files_in_memory: bool,
    /// It has no sockets: every wasi:sockets function fails or throws
    /// `not-supported` (preview2-shim in a browser, whose sockets.js is
    /// stubs), so no case that sets a socket up can reach what it tests.
    pub sockets_unsupported: bool,
    /// Its outgoing HTTP requests are a web page's `fetch`es, which reach a
    /// peer of another origin only as far as the peer allows by CORS
    /// (preview2-shim in a browser).
    pub cross_origin_requests: bool,
    /// Its guest's standard streams are its own process's, so that a
    /// stream the harness makes a terminal is the guest's (`terminal`).
    pub terminal: bool,
    /// It keeps the environment a list, in which a name may come twice;
    /// not an object keyed by name (preview2-shim's `_setEnv`).
    pub repeated_environment_names: bool,
}

/// Everything: what witness's own adapters for wasmtime can do.
pub const FULL_CONTROL: Capabilities = Capabilities {
    stderr_capacity: true,
    confinement: true,
    serving: false,
    read_only_preopens: true,
    files_in_memory: false,
    sockets_unsupported: false,
    cross_origin_requests: false,
    terminal: false,
    repeated_environment_names: true,
};

/// How the run ended, as an adapter writes it.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub outcome: String,
    /// A serving adapter's reply names its run by the request's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// A serving adapter takes no further run after this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub last: bool,
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
            servers: Servers::default(),
            answering: Servers::default(),
            in_private_network: true,
            proxy_server: None,
        }
    }

    /// The same adapter, whose proxy guests `server` runs.
    pub fn with_proxy_server(mut self, server: ProxyServer) -> AdapterHost {
        self.proxy_server = Some(server);
        self
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

    /// Whether it takes many runs per process.
    pub fn serves(&self) -> bool {
        self.capabilities.serving
    }

    /// How many serving processes it started so far: what the self-tests
    /// hold the reuse of a process to.
    pub fn serving_processes_started(&self) -> usize {
        self.servers.started()
    }

    /// Self-tests only: the same adapter with all of its output kept, so
    /// that a self-test can show its check of the harness's output limit
    /// then fails. No host the suite runs is made this way.
    pub fn selftest_without_output_limit(mut self) -> AdapterHost {
        self.output_limit = None;
        self
    }

    /// Self-tests only: the same adapter, named `<name>-breached`, with its
    /// processes in the harness's own network, so that a self-test can show
    /// its check of the private network then fails.
    pub fn selftest_outside_the_private_network(mut self) -> AdapterHost {
        self.in_private_network = false;
        self.name.push_str("-breached");
        self
    }

    /// Runs a proxy guest on `server`, at an address of the run's own.
    fn serve(&self, server: &ProxyServer, request: &RunRequest<'_>) -> Result<HostRun, String> {
        let (program, arguments) = (server.command.split_first())
            .ok_or_else(|| self.failed("its proxy server has no program".into()))?;
        let mut command = Command::new(program);
        let address = SocketAddr::from((fresh_address(), 80));
        let transpiled = tempfile::tempdir()
            .map_err(|e| format!("cannot make a directory for the transpiled guest: {e}"))?;
        let component = request.component.display().to_string();
        command
            .args(arguments)
            .args(serve::jco::arguments(
                &component,
                address,
                transpiled.path(),
            ))
            .envs(
                self.env
                    .iter()
                    .chain(&server.env)
                    .map(|(name, value)| (name, value)),
            );
        Server::Jco.run(command, request, |line| serve::jco::ready(line, address))
    }
}

impl Host for AdapterHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn supports(&self, settings: &RunSettings) -> Result<(), String> {
        settings.confinable(match self.capabilities.confinement {
            true => Confinement::InProcess,
            false => Confinement::PrivateNetwork,
        })?;
        // An adapter that confines in-process hands the request over
        // itself (`--http-request`); one in the private network needs a
        // server to send it to.
        if !settings.needs.command && !self.capabilities.confinement && self.proxy_server.is_none()
        {
            return Err("the guest is a proxy, and this host has no server to hand it a request (jco serve runs on Node, Deno and Bun, not in a page)".into());
        }
        if !self.capabilities.stderr_capacity
            && settings.stderr_capacity != RunSettings::default().stderr_capacity
        {
            return Err("it cannot give stderr a capacity".into());
        }
        let read_only =
            (settings.files.iter()).any(|files| files.preopens.iter().any(|p| p.read_only));
        if read_only && !self.capabilities.read_only_preopens {
            return Err("its preopens carry no permissions: it cannot make one read-only".into());
        }
        // preview2-shim has no switch for its sockets: a guest that imports
        // them has them, whether its case grants them or not.
        if !self.capabilities.confinement
            && !self.capabilities.sockets_unsupported
            && settings.sockets.is_none()
            && settings.needs.imports.contains("wasi:sockets")
        {
            return Err(
                "its wasi:sockets cannot be turned off: it cannot run a guest that imports them with none granted"
                    .into(),
            );
        }
        let invocation = &settings.invocation;
        if !invocation.terminal.is_empty() && !self.capabilities.terminal {
            return Err("its guest's standard streams are not its process's: it cannot give the guest a terminal".into());
        }
        if invocation.repeats_a_name() && !self.capabilities.repeated_environment_names {
            return Err(
                "its environment is an object keyed by name: it cannot hold a name twice".into(),
            );
        }
        if self.capabilities.sockets_unsupported && settings.sockets.is_some() {
            return Err(
                "its wasi:sockets are stubs that throw `not-supported`: no socket can be set up"
                    .into(),
            );
        }
        if self.capabilities.files_in_memory
            && let Some(what) = (settings.files.iter()).find_map(|files| files.on_disk_only())
        {
            return Err(format!(
                "its files are an in-memory tree of strings, which cannot hold {what}"
            ));
        }
        Ok(())
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String> {
        if let (false, Some(server)) = (request.settings.needs.command, &self.proxy_server) {
            return self.serve(server, request);
        }
        self.prepare(request.component);
        let settings = request.settings;
        let work = tempfile::tempdir()
            .map_err(|e| format!("cannot make a temporary directory for the reply: {e}"))?;
        let reply_file = work.path().join("reply.json");
        let options = self.options(request, &reply_file);
        let network = self.private_network();
        let wanted = Wanted::of(settings, self.capabilities.cross_origin_requests)
            .filter(|_| network.is_some());
        // A serving process's responder listens for its whole life, and
        // answers every run's requests well: a run whose peer does not (it
        // listens not, closes early, never answers, or sends raw bytes) has
        // a serving process, and a responder, of its own (`alone`), which
        // lives until the run has ended, so that what that peer leaves in
        // the host (a socket's late error) cannot reach another run. It is
        // served all the same, so that its deadline counts from the run's
        // first token, not from the start of a runtime or a browser.
        // A run whose stdio is a terminal has a one-run process, whose
        // stdio the terminal is.
        let serves = self.capabilities.serving && settings.invocation.terminal.is_empty();
        let in_turn = serves && wanted.is_none_or(|wanted| wanted.keeps_to_http());
        let alone = Servers::default();
        // Processes with a responder are a pool of their own, so that
        // `witness.invalid` stays unnamed for the runs that want none.
        let serving = match (in_turn, serves, wanted.is_some()) {
            (true, _, true) => Some(&self.answering),
            (true, _, false) => Some(&self.servers),
            (false, true, _) => Some(&alone),
            (false, false, _) => None,
        };
        let responder = Responder::for_run(network, wanted.filter(|_| serving.is_none()))?;
        let (ended, token) = match serving {
            Some(servers) => {
                let stdin_file = work.path().join("stdin");
                std::fs::write(&stdin_file, &settings.stdin)
                    .map_err(|e| format!("cannot write the run's stdin file: {e}"))?;
                let mut request = serde_json::Map::new();
                for (name, value) in options {
                    // The preopens, arguments and variables are lists,
                    // however many there are.
                    if matches!(name, "dir" | "read-only-dir" | "argument" | "env") {
                        let list = request
                            .entry(name)
                            .or_insert_with(|| Vec::<serde_json::Value>::new().into());
                        if let serde_json::Value::Array(list) = list {
                            list.push(value.into());
                        }
                    } else {
                        request.insert(name.into(), value.into());
                    }
                }
                request.insert(
                    "stdin".into(),
                    stdin_file.to_string_lossy().into_owned().into(),
                );
                let token = pool::fresh_token()?;
                request.insert("token".into(), token.clone().into());
                let launch = Launch {
                    command: &self.command,
                    env: &self.env,
                    output_limit: self.output_limit,
                    network,
                    responder: wanted,
                };
                // Only a process that replied to this run as the protocol
                // says, and not `last`, serves a further run; a process of
                // the run's own serves none.
                let serves_on = || {
                    in_turn
                        && std::fs::read_to_string(&reply_file)
                            .ok()
                            .and_then(|text| serde_json::from_str::<Reply>(&text).ok())
                            .is_some_and(|reply| !reply.last && reply.run.as_ref() == Some(&token))
                };
                let served = servers
                    .run(&launch, request, settings.deadline, GRACE, serves_on)
                    .map_err(|e| self.failed(e))?;
                match served {
                    Served::Decided(run) => return Ok(run),
                    Served::Replied {
                        code,
                        stdout,
                        stderr,
                    } => (
                        Ended {
                            code,
                            stdout,
                            stderr,
                        },
                        Some(token),
                    ),
                }
            }
            None => match self.run_in_own_process(options, settings, responder.as_ref())? {
                // Killed at the backstop after it had replied: the reply
                // says how the guest's run ended.
                HostEnd::Decided(run)
                    if matches!(run.outcome, Outcome::Hang { .. }) && replied(&reply_file) =>
                {
                    (
                        Ended {
                            code: None,
                            stdout: run.stdout,
                            stderr: run.stderr,
                        },
                        None,
                    )
                }
                HostEnd::Decided(run) => return Ok(run),
                HostEnd::Exited {
                    code,
                    stdout,
                    stderr,
                } => (
                    Ended {
                        code: Some(code),
                        stdout,
                        stderr,
                    },
                    None,
                ),
            },
        };
        let outcome = std::fs::read_to_string(&reply_file)
            .map_err(|e| format!("no reply ({e})"))
            .and_then(|text| {
                serde_json::from_str::<Reply>(&text)
                    .map_err(|e| format!("a reply that does not parse ({e}): {text:?}"))
            })
            .and_then(|reply| match (&reply.run, &token) {
                (Some(run), Some(token)) if run != token => {
                    Err(format!("a reply for run `{run}`, not for this run (`{token}`)"))
                }
                (None, Some(_)) => Err("a reply without the run's token in `run`".into()),
                _ => reply.into_outcome(settings.deadline),
            })
            .map_err(|problem| {
                let status = match ended.code {
                    Some(code) => format!("it exited with status {code}"),
                    None => "it ended the run's output".into(),
                };
                format!(
                    "adapter `{}` ({}) broke the adapter protocol: {problem}; {status} and printed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.name,
                    self.command[0].to_string_lossy(),
                    String::from_utf8_lossy(&ended.stdout),
                    String::from_utf8_lossy(&ended.stderr)
                )
            })?;
        Ok(HostRun {
            outcome,
            stdout: ended.stdout,
            stderr: ended.stderr,
        })
    }
}

/// Whether a one-run adapter wrote a whole reply to `reply_file`.
fn replied(reply_file: &Path) -> bool {
    (std::fs::read_to_string(reply_file).ok())
        .is_some_and(|text| serde_json::from_str::<Reply>(&text).is_ok())
}

/// What a run's process printed, and how it exited if it did.
struct Ended {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl AdapterHost {
    /// The run's arguments, by name: `--NAME VALUE` for a process of its
    /// own, the members of the request for a serving one.
    fn options(&self, request: &RunRequest<'_>, reply_file: &Path) -> Vec<(&'static str, String)> {
        let settings = request.settings;
        let mut options = vec![
            (
                "component",
                request.component.to_string_lossy().into_owned(),
            ),
            ("scenario", request.scenario.to_string()),
            ("reply", reply_file.to_string_lossy().into_owned()),
            ("deadline-ms", settings.deadline.as_millis().to_string()),
        ];
        options.extend(request.preopens.iter().map(Granted::option));
        let invocation = &settings.invocation;
        options
            .extend((invocation.arguments.iter()).map(|argument| ("argument", argument.clone())));
        options.extend(
            invocation
                .assignments()
                .map(|assignment| ("env", assignment)),
        );
        if let Some(cwd) = &invocation.initial_cwd {
            options.push(("initial-cwd", cwd.clone()));
        }
        if self.capabilities.stderr_capacity {
            options.push(("stderr-capacity", settings.stderr_capacity.to_string()));
        }
        if self.capabilities.confinement {
            if let Some(response) = &settings.http_response {
                options.push(("http-response", to_json(response)));
            }
            options.push(("http-request", to_json(&settings.http_request)));
            if let Some(sockets) = &settings.sockets {
                options.push(("sockets", to_json(sockets)));
            }
        }
        if settings.sockets.is_some() {
            options.push((
                "loopback",
                super::world::sockets::fresh_address().to_string(),
            ));
        }
        options
    }

    /// The run in a process of its own, with the guest's stdin on its stdin.
    fn run_in_own_process(
        &self,
        options: Vec<(&'static str, String)>,
        settings: &RunSettings,
        responder: Option<&Responder>,
    ) -> Result<HostEnd, String> {
        let (program, own_arguments) = self
            .command
            .split_first()
            .ok_or_else(|| format!("adapter `{}` has no command", self.name))?;
        let mut adapter = Command::new(program);
        if let Some(network) = self.private_network() {
            network.confine(&mut adapter, responder.and_then(Responder::hosts_file));
        }
        adapter
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .args(own_arguments);
        for (name, value) in options {
            match name {
                // One argument, so that a value like `--list` is a value.
                "scenario" | "argument" | "env" | "initial-cwd" => {
                    adapter.arg(format!("--{name}={value}"))
                }
                _ => adapter.arg(format!("--{name}")).arg(value),
            };
        }
        subprocess::run_host(adapter, settings, GRACE, self.output_limit)
            .map_err(|e| self.failed(e))
    }

    /// The network its processes run in: the private network, where there
    /// is one, for an adapter that does not confine the guest itself.
    fn private_network(&self) -> Option<&'static PrivateNetwork> {
        (self.in_private_network && !self.capabilities.confinement)
            .then(private_network::get)
            .and_then(Result::ok)
    }

    fn failed(&self, problem: String) -> String {
        format!(
            "adapter `{}`: {problem}; is it installed? `cargo xtask hosts` says",
            self.name
        )
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
            if let Some(network) = self.private_network() {
                network.confine(&mut prepare, None);
            }
            prepare
                .envs(self.env.iter().map(|(name, value)| (name, value)))
                .args(own_arguments)
                .arg("--prepare")
                .arg("--component")
                .arg(component);
            let _ = subprocess::run(
                prepare,
                &[],
                &Default::default(),
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
            run: None,
            last: false,
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
