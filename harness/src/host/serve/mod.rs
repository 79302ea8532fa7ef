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
use super::world::http::{HttpRequest, PlainBody, observe_received, response_lines};
use super::{RunRequest, RunSettings};
use crate::outcome::{HostRun, Outcome};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ChildStderr, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// How long a server may take to say where it listens: it compiles or
/// transpiles the guest first. Not counted against the run's deadline.
const STARTUP: Duration = Duration::from_secs(120);
/// How long the harness waits, the response read, for the server to show
/// that the handler returned, before the run is a hang.
pub const SETTLE: Duration = Duration::from_secs(5);
/// The longest stderr line the harness looks at for the ready line: a
/// guest's stderr is the server's, and may have no newline at all.
const LINE_LIMIT: u64 = 4096;

/// The servers witness drives, each with its own rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Server {
    /// `wasmtime serve`: from 32 (`graceful`) it ends on SIGINT once every
    /// handler and connection is done; before, it ends at once, dropping
    /// every handler still running (bytecodealliance/wasmtime#10394).
    Wasmtime { graceful: bool },
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
    /// A `wasmtime serve` without graceful shutdown ended at the SIGINT
    /// that stopped it, dropping the handler if it still ran, or died of
    /// that SIGINT before its own handler for it was in place: `unfinished`
    /// says whether the response was still open then. A handler that
    /// returns ends its response, so an open one shows it had not.
    Dropped { unfinished: bool },
    /// Nothing showed it within [`SETTLE`]: the handler is still running.
    Running,
}

/// A server process of one run, with its output read on threads of their
/// own so that a server that floods a pipe never blocks the harness.
struct Process {
    group: libc::pid_t,
    /// The stderr lines as they come, until the ready line is found (then
    /// dropped, and the reader sends no more).
    lines: Option<mpsc::Receiver<String>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_done: mpsc::Receiver<()>,
    /// What the server printed on stdout, once it ended; taken by `stop`.
    stdout: Option<mpsc::Receiver<Vec<u8>>>,
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
            let mut listening = Some(line_sender);
            let read_line = |pipe: &mut BufReader<ChildStderr>, line: &mut Vec<u8>| {
                (Read::take(pipe, LINE_LIMIT).read_until(b'\n', line)).is_ok_and(|read| read > 0)
            };
            while read_line(&mut pipe, &mut line) {
                let text = String::from_utf8_lossy(&line).into_owned();
                listening = listening.filter(|sender| sender.send(text).is_ok());
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
            lines: Some(lines),
            stderr,
            stderr_done,
            stdout: Some(stdout),
            exited,
        })
    }

    /// The address in the first stderr line `ready` finds one in; `Err`
    /// with how the server ended if it ended first (`None`: it did not say
    /// where it listens within [`STARTUP`], nor end).
    fn listening(
        &mut self,
        ready: impl Fn(&str) -> Option<SocketAddr>,
    ) -> Result<SocketAddr, Option<ExitStatus>> {
        let until = Instant::now() + STARTUP;
        let lines = self.lines.take().expect("listened for once");
        loop {
            match lines.recv_timeout(until.saturating_duration_since(Instant::now())) {
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
    fn stop(mut self) -> (Vec<u8>, Vec<u8>) {
        kill_group(self.group);
        let stdout = subprocess::collect(self.stdout.take().expect("stopped once"));
        let ended = self.stderr_done.recv_timeout(SETTLE).is_ok();
        let mut stderr = self.stderr.lock().expect("no panics while locked").clone();
        if !ended {
            stderr.extend_from_slice(b"\n[witness: output cut: a process outside the server's process group kept stderr open]\n");
        }
        (stdout, stderr)
    }
}

/// Whatever ends a run, its server does not outlive it.
impl Drop for Process {
    fn drop(&mut self) {
        kill_group(self.group);
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
        let sent = settings.http_request.to_send(request.scenario)?;
        let runtime = (tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build())
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
        // Lives until the server has stopped: it answers the guest's own
        // outgoing requests.
        let responder = Responder::for_run(Some(network), Wanted::of(settings, false))?;
        network.confine(
            &mut command,
            responder.as_ref().and_then(Responder::hosts_file),
        );
        let mut process = Process::start(command)?;
        let address = match process.listening(ready) {
            Ok(address) => address,
            Err(ended) => {
                let (stdout, stderr) = process.stop();
                let printed = String::from_utf8_lossy(&stderr);
                let Some(status) = ended else {
                    return Err(format!(
                        "{self:?} server: it did not say where it listens within {STARTUP:?}; it printed on stderr:\n{printed}"
                    ));
                };
                // A guest the server cannot load: what `wasmtime run` says
                // of one it cannot instantiate.
                let message = format!(
                    "the server ended ({status}) before it listened: {}",
                    printed.trim()
                );
                return Ok(HostRun {
                    outcome: Outcome::LinkError { message },
                    stdout,
                    stderr,
                });
            }
        };
        let (response, settled) =
            runtime.block_on(self.exchange(network, address, sent, request, &process));
        let (mut stdout, stderr) = process.stop();
        let text = String::from_utf8_lossy(&stderr);
        let outcome = self
            .classify(&settled, &text, settings.deadline)
            .map_err(|problem| {
                format!("{self:?} server: {problem}; it printed on stderr:\n{text}")
            })?;
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
        sent: hyper::Request<PlainBody>,
        request: &RunRequest<'_>,
        process: &Process,
    ) -> (Value, Settled) {
        let settings: &RunSettings = request.settings;
        let until = tokio::time::Instant::now() + settings.deadline;
        let (connection, mut received) = send(network, address, sent, until).await;
        let response = match &mut received {
            Err(observed) => observed.clone(),
            Ok(received) => observe_received(received, until).await,
        };
        // A response that ended lets the connection go, as a client would;
        // one still unfinished keeps it, and its body, so that a server
        // that waits for its connections does not end before the handler.
        let unfinished = response == "unfinished" || response["end"] == "unfinished";
        let _kept = unfinished.then_some((connection, received));
        // Lets the tasks of a connection let go run their aborts (closing
        // it) before the settling, which blocks this thread.
        tokio::task::yield_now().await;
        let settled = self.settle(network, address, process, unfinished).await;
        (response, settled)
    }

    /// What the server shows, within [`SETTLE`], of whether the handler
    /// returned.
    async fn settle(
        self,
        network: &PrivateNetwork,
        address: SocketAddr,
        process: &Process,
        unfinished: bool,
    ) -> Settled {
        let exited = |wait: Duration| match process.exited.recv_timeout(wait) {
            Ok(status) => Settled::Exited(status),
            Err(_) => Settled::Running,
        };
        match self {
            Server::Wasmtime { graceful } => {
                // SAFETY: kill(2) to the server, the group's leader, which
                // is waited for (reaped) only by the exit thread.
                unsafe { libc::kill(process.group, libc::SIGINT) };
                stopped(exited(SETTLE), graceful, unfinished)
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

    /// The run's outcome: a hang while the handler runs on, else what the
    /// server's rules make of how it ended and what it printed.
    fn classify(
        self,
        settled: &Settled,
        stderr: &str,
        deadline: Duration,
    ) -> Result<Outcome, String> {
        match (settled, self) {
            (Settled::Running, _) => Ok(Outcome::Hang { deadline }),
            (Settled::Exited(status), _) if status.code().is_none() => {
                let detail = match status.signal() {
                    Some(signal) => format!("killed by signal {signal}"),
                    None => format!("ended with {status}"),
                };
                Ok(Outcome::Crash { detail })
            }
            (Settled::Dropped { unfinished }, _) => {
                wasmtime::classify_dropped(stderr, *unfinished, deadline)
            }
            (_, Server::Wasmtime { .. }) => wasmtime::classify(settled, stderr),
            (_, Server::Jco) => jco::classify(settled, stderr),
        }
    }
}

/// How a `wasmtime serve` ended after witness's SIGINT: one without
/// graceful shutdown that exited, or died of that signal, dropped its
/// handler.
fn stopped(settled: Settled, graceful: bool, unfinished: bool) -> Settled {
    match settled {
        Settled::Exited(status)
            if !graceful && (status.code() == Some(0) || status.signal() == Some(libc::SIGINT)) =>
        {
            Settled::Dropped { unfinished }
        }
        settled => settled,
    }
}

/// The connection of a request, open as long as it is held (with the
/// response's body, if one came): its driver, the request in flight, and
/// once it is answered the connection's sender.
struct Connection {
    tasks: [tokio::task::AbortHandle; 2],
    sender: Option<Box<dyn std::any::Any + Send>>,
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
    let wait = until.saturating_duration_since(tokio::time::Instant::now());
    let connected = network
        .inside(|| {
            std::net::TcpStream::connect_timeout(
                &address,
                wait.clamp(Duration::from_millis(1), SETTLE),
            )
        })
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
    let mut response = tokio::spawn(async move {
        let response = sender.send_request(request).await;
        (sender, response)
    });
    let mut connection = Connection {
        tasks: [driver.abort_handle(), response.abort_handle()],
        sender: None,
    };
    let left = until.saturating_duration_since(tokio::time::Instant::now());
    let response = match timeout(left, &mut response).await {
        Err(_elapsed) => Err(json!("unfinished")),
        Ok(Ok((sender, Ok(response)))) => {
            connection.sender = Some(Box::new(sender));
            Ok(response)
        }
        Ok(_closed) => Err(no_response()),
    };
    (Some(connection), response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handler_still_running_is_a_hang_and_a_signal_a_crash_on_every_server() {
        let deadline = Duration::from_secs(1);
        let servers = [true, false].map(|graceful| Server::Wasmtime { graceful });
        for server in servers.into_iter().chain([Server::Jco]) {
            assert_eq!(
                server.classify(&Settled::Running, "", deadline),
                Ok(Outcome::Hang { deadline })
            );
            let killed = Settled::Exited(ExitStatus::from_raw(libc::SIGKILL));
            assert!(matches!(
                server.classify(&killed, "", deadline),
                Ok(Outcome::Crash { .. })
            ));
        }
    }

    #[test]
    fn a_server_that_drops_its_handler_when_stopped_has_not_crashed() {
        let deadline = Duration::from_secs(1);
        let sigint = || Settled::Exited(ExitStatus::from_raw(libc::SIGINT));
        let exit_0 = || Settled::Exited(ExitStatus::from_raw(0));
        for ended in [sigint(), exit_0()] {
            let settled = stopped(ended, false, false);
            assert_eq!(
                Server::Wasmtime { graceful: false }.classify(&settled, "", deadline),
                Ok(Outcome::Completed { exit: 0 })
            );
        }
        let open = Settled::Dropped { unfinished: true };
        assert_eq!(
            Server::Wasmtime { graceful: false }.classify(&open, "", deadline),
            Ok(Outcome::Hang { deadline })
        );
        let exit_1 = Settled::Exited(ExitStatus::from_raw(1 << 8));
        assert!(matches!(stopped(exit_1, false, false), Settled::Exited(_)));
        // A graceful server ends after its handler: SIGINT's death is one.
        assert!(matches!(stopped(sigint(), true, false), Settled::Exited(_)));
        let segv = Settled::Exited(ExitStatus::from_raw(libc::SIGSEGV));
        assert!(matches!(stopped(segv, false, false), Settled::Exited(_)));
    }
}
