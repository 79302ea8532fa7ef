//! Serving hosts: a proxy guest run by a host's own HTTP server (`wasmtime
//! serve`, `jco serve`), one server process per run, in the private
//! network (README, "Serving hosts"). The harness starts the server, waits
//! for the line that says where it listens, sends the case's request from
//! inside the network and reads the response frame by frame, as it reads
//! an embedded host's. Then it asks the server, in the way each server
//! allows ([`Server::settle`]), whether the handler returned, and reads the
//! run's outcome from how the server ended and what it printed
//! ([`Server::classify`]).

pub mod jco;
pub mod wasmtime;

use super::private_network::{self, PrivateNetwork};
use super::responder::{Responder, Wanted};
use super::subprocess::{self, kill_group};
use super::world::http::{HttpRequest, observe_received, response_lines};
use super::{RunRequest, RunSettings};
use crate::outcome::{HostRun, Outcome};
use bytes::Bytes;
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::time::timeout;
use wasmtime_wasi_http::io::TokioIo;

/// How long a server may take to say where it listens: it compiles or
/// transpiles the guest first. Not counted against the run's deadline.
const STARTUP: Duration = Duration::from_secs(120);
/// How long the harness waits, the response read, for the server to show
/// that the handler returned, before the run is a hang.
pub const SETTLE: Duration = Duration::from_secs(5);

/// The servers witness drives, each with its own rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Server {
    /// `wasmtime serve`: ends gracefully on SIGINT once every handler and
    /// connection is done.
    Wasmtime,
    /// `jco serve`: runs each handler on its one JavaScript thread, to the
    /// end, before it takes the next request.
    Jco,
}

/// What the harness learnt, the response read, of whether the handler
/// returned.
#[derive(Debug)]
pub enum Settled {
    /// The server process ended, with this status.
    Exited(ExitStatus),
    /// jco: a second request was answered, so the case's handler returned.
    Answered,
    /// Nothing showed it within [`SETTLE`]: the handler is still running.
    Running,
}

/// A server process of one run, with its output read on threads of their
/// own so that a server that floods a pipe never blocks the harness.
struct Process {
    group: libc::pid_t,
    /// The stderr lines as they come, until the reader stops listening.
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_done: mpsc::Receiver<()>,
    stdout: mpsc::Receiver<Vec<u8>>,
    exited: mpsc::Receiver<ExitStatus>,
}

impl Process {
    fn start(mut command: Command) -> Result<Process, String> {
        command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        let group = child.id() as libc::pid_t;
        let stdout = subprocess::drain(
            child.stdout.take().expect("stdout is piped"),
            Some(subprocess::OUTPUT_LIMIT),
        );
        let pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (line_sender, lines) = mpsc::channel();
        let (done, stderr_done) = mpsc::channel();
        let kept = stderr.clone();
        std::thread::spawn(move || {
            let mut pipe = BufReader::new(pipe);
            let mut line = Vec::new();
            while pipe.read_until(b'\n', &mut line).is_ok_and(|read| read > 0) {
                let _ = line_sender.send(String::from_utf8_lossy(&line).into_owned());
                let mut kept = kept.lock().expect("no panics while locked");
                let room = (subprocess::OUTPUT_LIMIT as usize).saturating_sub(kept.len());
                kept.extend_from_slice(&line[..line.len().min(room)]);
                line.clear();
            }
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            let _ = done.send(());
        });
        let (exit, exited) = mpsc::channel();
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = exit.send(status);
            }
        });
        Ok(Process {
            group,
            lines,
            stderr,
            stderr_done,
            stdout,
            exited,
        })
    }

    /// The address in the first stderr line `ready` finds one in; `Err`
    /// with how the server ended if it ended first (`None`: it is still
    /// running at `STARTUP`).
    fn listening(
        &self,
        ready: impl Fn(&str) -> Option<SocketAddr>,
    ) -> Result<SocketAddr, Option<ExitStatus>> {
        let until = Instant::now() + STARTUP;
        loop {
            match self
                .lines
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    if let Some(address) = ready(&line) {
                        return Ok(address);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Err(None),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.exited.recv_timeout(SETTLE).ok());
                }
            }
        }
    }

    /// Stops the server (its whole process group) and gives what it printed.
    fn stop(self) -> (Vec<u8>, Vec<u8>) {
        kill_group(self.group);
        let stdout = subprocess::collect(self.stdout);
        let _ = self.stderr_done.recv_timeout(SETTLE);
        let stderr = self.stderr.lock().expect("no panics while locked").clone();
        (stdout, stderr)
    }
}

impl Server {
    /// Runs `request`'s proxy guest on the server `command` starts: the
    /// guest's component is already among its arguments, and `ready` finds
    /// where it listens in a line of its stderr.
    pub fn run(
        self,
        mut command: Command,
        request: &RunRequest<'_>,
        ready: impl Fn(&str) -> Option<SocketAddr>,
    ) -> Result<HostRun, String> {
        let settings = request.settings;
        let network = private_network::get()
            .map_err(|problem| format!("a server runs in the private network, and {problem}"))?;
        // Lives until the server has stopped: it answers the guest's own
        // outgoing requests.
        let responder = Responder::for_run(Some(network), Wanted::of(settings, false))?;
        network.confine(
            &mut command,
            responder.as_ref().and_then(Responder::hosts_file),
        );
        let process = Process::start(command)?;
        let address = match process.listening(ready) {
            Ok(address) => address,
            Err(ended) => {
                let (stdout, stderr) = process.stop();
                let outcome = match ended {
                    None => Outcome::Hang { deadline: STARTUP },
                    Some(status) => Outcome::LinkError {
                        message: format!(
                            "the server ended ({status}) before it listened: {}",
                            String::from_utf8_lossy(&stderr).trim()
                        ),
                    },
                };
                return Ok(HostRun {
                    outcome,
                    stdout,
                    stderr,
                });
            }
        };
        let (response, settled) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a tokio runtime: {e}"))?
            .block_on(self.exchange(network, address, request, &process))?;
        let (mut stdout, stderr) = process.stop();
        let text = String::from_utf8_lossy(&stderr);
        let outcome = match settled {
            Settled::Running => Outcome::Hang {
                deadline: settings.deadline,
            },
            settled => self.classify(&settled, &text).map_err(|problem| {
                format!("{self:?} server: {problem}; it printed on stderr:\n{text}")
            })?,
        };
        stdout.extend_from_slice(response_lines(request.scenario, &response).as_bytes());
        Ok(HostRun {
            outcome,
            stdout,
            stderr,
        })
    }

    /// Sends the case's request, reads the response within the deadline,
    /// and settles: the `response` observation, and what the server showed.
    async fn exchange(
        self,
        network: &PrivateNetwork,
        address: SocketAddr,
        request: &RunRequest<'_>,
        process: &Process,
    ) -> Result<(Value, Settled), String> {
        let settings: &RunSettings = request.settings;
        let until = tokio::time::Instant::now() + settings.deadline;
        let sent = settings.http_request.to_send(request.scenario)?;
        let (connection, received) = send(network, address, sent, until).await;
        let response = match received {
            Err(observed) => observed,
            Ok(received) => observe_received(received, until).await,
        };
        // A response that ended lets the connection go, as a client would;
        // one still unfinished keeps it, so that a server that waits for
        // its connections does not end before the handler does.
        let unfinished = [&response, &response["end"]].contains(&&json!("unfinished"));
        let _kept = connection.filter(|_| unfinished);
        let settled = self.settle(network, address, process).await;
        Ok((response, settled))
    }

    /// What the server shows, within [`SETTLE`], of whether the handler
    /// returned.
    async fn settle(
        self,
        network: &PrivateNetwork,
        address: SocketAddr,
        process: &Process,
    ) -> Settled {
        let exited = |wait: Duration| match process.exited.recv_timeout(wait) {
            Ok(status) => Settled::Exited(status),
            Err(_) => Settled::Running,
        };
        match self {
            Server::Wasmtime => {
                // SAFETY: kill(2) to the server, the group's leader, which
                // is waited for (reaped) only by the exit thread.
                unsafe { libc::kill(process.group, libc::SIGINT) };
                exited(SETTLE)
            }
            Server::Jco => {
                let until = tokio::time::Instant::now() + SETTLE;
                let barrier = HttpRequest::default().to_send("--list");
                let barrier = barrier.expect("`--list` is a path");
                match send(network, address, barrier, until).await {
                    (_, Ok(_)) => Settled::Answered,
                    (_, Err(_)) => {
                        exited(until.saturating_duration_since(tokio::time::Instant::now()))
                    }
                }
            }
        }
    }

    fn classify(self, settled: &Settled, stderr: &str) -> Result<Outcome, String> {
        match self {
            Server::Wasmtime => wasmtime::classify(settled, stderr),
            Server::Jco => jco::classify(settled, stderr),
        }
    }
}

/// The connection of a request, open as long as it is held: its driver,
/// and the request in flight, which holds the connection's sender.
struct Connection {
    tasks: [tokio::task::AbortHandle; 2],
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.tasks.iter().for_each(tokio::task::AbortHandle::abort);
    }
}

/// Sends `request` to the server at `address`, from inside the private
/// network; with its connection, the response's head by `until`, or else
/// the `response` observation there is without one: `"unfinished"` (none
/// yet) or `"no-response"` (the connection ended without one).
async fn send<B>(
    network: &PrivateNetwork,
    address: SocketAddr,
    request: hyper::Request<B>,
    until: tokio::time::Instant,
) -> (Option<Connection>, Result<hyper::Response<Incoming>, Value>)
where
    B: hyper::body::Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
{
    let no_response = || json!("no-response");
    let connected = network
        .inside(|| std::net::TcpStream::connect_timeout(&address, SETTLE))
        .ok()
        .and_then(Result::ok)
        .filter(|stream| stream.set_nonblocking(true).is_ok())
        .and_then(|stream| tokio::net::TcpStream::from_std(stream).ok());
    let Some(stream) = connected else {
        return (None, Err(no_response()));
    };
    let Ok((mut sender, driver)) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    else {
        return (None, Err(no_response()));
    };
    let driver = tokio::spawn(async move {
        let _ = driver.await;
    });
    let mut response = tokio::spawn(async move { sender.send_request(request).await });
    let connection = Connection {
        tasks: [driver.abort_handle(), response.abort_handle()],
    };
    let left = until.saturating_duration_since(tokio::time::Instant::now());
    let response = match timeout(left, &mut response).await {
        Err(_elapsed) => Err(json!("unfinished")),
        Ok(Ok(Ok(response))) => Ok(response),
        Ok(_closed) => Err(no_response()),
    };
    (Some(connection), response)
}
