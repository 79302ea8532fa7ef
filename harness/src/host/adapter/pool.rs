//! The adapter protocol's serving mode (README, "Serving mode"): one
//! adapter process, started as `ADAPTER [its own arguments] --serve`,
//! takes many runs in turn, so that a runtime's start (Node's, say) is paid
//! once per process rather than once per run. Each request is one line of
//! JSON on the adapter's stdin: the one-run arguments as an object, plus
//! `stdin` (the file the run's stdin reads) and `token`. The adapter writes
//! the token to its stdout and its stderr before the run and again after
//! it, and the reply to the request's reply file (with `"run": token`)
//! before the second token: what lies between the tokens is the run's
//! output, and anything outside them belongs to no run.
//!
//! The harness keeps a few idle processes per host, as many as ran at
//! once. It owns the deadline as in one-run mode: a run with no end token
//! `GRACE` past it is a hang, and its process group is killed. The deadline
//! counts from the run's first token; before it, the process has
//! `BEGINNING` to start and load the guest. A process
//! that ended while idle is replaced; one that ends during a run ends the
//! run (a crash, or the reply it left); neither serves again.

use crate::host::private_network::PrivateNetwork;
use crate::host::responder::{Responder, Wanted};
use crate::host::subprocess::{cut_marker, kill_group};
use crate::outcome::{HostRun, Outcome};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// Runs a process serves before it is retired: what runs leave behind
/// that no reset reaches (memory, the shim's worker's tables) stays small.
const RUNS_PER_PROCESS: usize = 256;

/// How long a process may take to begin a run it took (its first token):
/// its own start, a runtime's or a browser's, and loading the guest, which
/// are not the guest's time and, under load, can take longer than a short
/// deadline.
const BEGINNING: Duration = Duration::from_secs(30);

/// How long the harness waits for what a killed or ended process still
/// had in its pipes.
const DRAIN_AFTER_END: Duration = Duration::from_secs(5);

/// The serving processes of one host.
#[derive(Default)]
pub struct Servers {
    idle: Mutex<Vec<Server>>,
    /// How many processes were started: what the self-tests hold reuse to.
    started: AtomicUsize,
}

/// How to start a host's serving process.
pub struct Launch<'a> {
    /// The adapter and its own arguments (`--serve` follows them).
    pub command: &'a [OsString],
    /// Variables set in its environment, beyond the harness's own.
    pub env: &'a [(OsString, OsString)],
    /// How much of each output stream of a run the harness keeps.
    pub output_limit: Option<u64>,
    /// The network its processes run in; the harness's own without it.
    pub network: Option<&'static PrivateNetwork>,
    /// How `witness.invalid` answers the run: a process in the private
    /// network then has a [`Responder`] of its own, set before each run.
    pub responder: Option<Wanted<'a>>,
}

/// How a served run ended, as far as the process tells.
pub enum Served {
    /// A hang or a crash: decided, with the run's output.
    Decided(HostRun),
    /// The reply file holds the outcome: both end tokens came (`code`
    /// none), or the process exited with `code` during the run (an
    /// adapter that exits on purpose replies first).
    Replied {
        code: Option<i32>,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
}

impl Servers {
    /// How many serving processes this host started so far.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Runs `request` (the run's arguments as JSON object members, `stdin`
    /// a file, `token` from [`fresh_token`]) on an idle process or a new
    /// one, ending it at `deadline` plus `grace`; once the run's output is
    /// framed, the process serves on if `serves_on` says so.
    pub fn run(
        &self,
        launch: &Launch<'_>,
        request: serde_json::Map<String, serde_json::Value>,
        deadline: Duration,
        grace: Duration,
        serves_on: impl FnOnce() -> bool,
    ) -> Result<Served, String> {
        let token = request
            .get("token")
            .and_then(|token| token.as_str())
            .ok_or("a request needs its token")?
            .to_string();
        let line = format!("{}\n", serde_json::Value::Object(request));
        // A process that ends before it began the run (it was ending when
        // it took the request), or that has not begun it in `BEGINNING` (a
        // start that stalled: seen of Bun, a fresh process that never wrote
        // its first frame token), tells nothing of the run: once, another.
        let mut retried = false;
        let (mut server, mut frames, mut started) = self.begin(launch, &line, &token)?;
        while !frames.iter().all(Frame::ended) {
            let allowed = match begun(&frames) {
                true => deadline + grace,
                false => BEGINNING,
            };
            let left = allowed.saturating_sub(started.elapsed());
            match server.output.recv_timeout(left) {
                Ok((stream, Some(bytes))) => {
                    let was_begun = begun(&frames);
                    server.leftover[stream] = frames[stream].feed(bytes);
                    // The run's time starts at its first token: what the
                    // adapter does before it (a browser loading the guest)
                    // is the adapter's start, not the guest's.
                    if !was_begun && begun(&frames) {
                        started = Instant::now();
                    }
                }
                Ok((stream, None)) => {
                    server.open[stream] = false;
                    if server.open.iter().any(|open| *open) {
                        continue;
                    }
                    if !retried && !begun(&frames) {
                        retried = true;
                        server.kill();
                        (server, frames, started) = self.begin(launch, &line, &token)?;
                        continue;
                    }
                    return Ok(server.ended(frames));
                }
                Err(_) if !retried && !begun(&frames) => {
                    retried = true;
                    server.kill();
                    (server, frames, started) = self.begin(launch, &line, &token)?;
                }
                Err(_) => {
                    server.kill();
                    server.drain_into(&mut frames);
                    let had_begun = begun(&frames);
                    let [stdout, mut stderr] = frames.map(Frame::output);
                    // Where the time went, for whoever reads the failure:
                    // an adapter that never began the run hung before the
                    // guest could.
                    stderr.extend_from_slice(
                        hang_note(had_begun, server.runs, started.elapsed()).as_bytes(),
                    );
                    return Ok(Served::Decided(HostRun {
                        outcome: Outcome::Hang { deadline },
                        stdout,
                        stderr,
                    }));
                }
            }
        }
        server.runs += 1;
        if server.runs < RUNS_PER_PROCESS && serves_on() {
            self.idle
                .lock()
                .expect("no panics while locked")
                .push(server);
        }
        let [stdout, stderr] = frames.map(Frame::output);
        Ok(Served::Replied {
            code: None,
            stdout,
            stderr,
        })
    }

    /// A process that took `line` ([`Servers::take`]), the run's frames
    /// with what the process wrote before it fed in, and the time the run
    /// began: where a run starts, and starts again when retried.
    fn begin(
        &self,
        launch: &Launch<'_>,
        line: &str,
        token: &str,
    ) -> Result<(Server, [Frame; 2], Instant), String> {
        let mut server = self.take(launch, line)?;
        let mut frames = [
            Frame::new(token, launch.output_limit),
            Frame::new(token, launch.output_limit),
        ];
        for (frame, leftover) in frames.iter_mut().zip(&mut server.leftover) {
            *leftover = frame.feed(std::mem::take(leftover));
        }
        Ok((server, frames, Instant::now()))
    }

    /// An idle process that took `line`, or a new one: one found ended
    /// (it cannot take the line) is replaced.
    fn take(&self, launch: &Launch<'_>, line: &str) -> Result<Server, String> {
        loop {
            let idle = self.idle.lock().expect("no panics while locked").pop();
            let mut server = match idle {
                Some(server) => server,
                None => self.start(launch)?,
            };
            let fresh = server.runs == 0;
            if !fresh {
                match server.child.try_wait() {
                    Ok(None) => {}
                    Ok(Some(_)) => {
                        server.reaped = true;
                        continue;
                    }
                    Err(_) => {
                        server.kill();
                        continue;
                    }
                }
            }
            if let (Some(responder), Some(wanted)) = (&server.responder, launch.responder) {
                responder.answer(wanted);
            }
            match server.requests.write_all(line.as_bytes()) {
                Ok(()) => return Ok(server),
                Err(e) if fresh => {
                    server.kill();
                    return Err(format!("the adapter took no request ({e})"));
                }
                Err(_) => server.kill(),
            }
        }
    }

    fn start(&self, launch: &Launch<'_>) -> Result<Server, String> {
        let (program, arguments) = launch.command.split_first().ok_or("no command")?;
        let mut command = Command::new(program);
        command
            .args(arguments)
            .arg("--serve")
            .envs(launch.env.iter().map(|(name, value)| (name, value)))
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // It dies with the harness, even one busy in a run, which would
        // never read the end of its requests: its parent is a thread that
        // lives as long as the harness (the signal comes when the thread
        // that started it ends).
        // SAFETY: prctl(2) is async-signal-safe, run in the child before exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let responder = Responder::for_run(launch.network, launch.responder)?;
        if let Some(network) = launch.network {
            network.confine(
                &mut command,
                responder.as_ref().and_then(Responder::hosts_file),
            );
        }
        let mut child = spawn_from_the_spawner(command)
            .map_err(|e| format!("cannot start {program:?}: {e}"))?;
        self.started.fetch_add(1, Ordering::SeqCst);
        let (sender, output) = mpsc::channel();
        forward(child.stdout.take().expect("piped"), 0, sender.clone());
        forward(child.stderr.take().expect("piped"), 1, sender);
        Ok(Server {
            requests: child.stdin.take().expect("piped"),
            child,
            output,
            leftover: [Vec::new(), Vec::new()],
            open: [true, true],
            runs: 0,
            reaped: false,
            responder,
        })
    }
}

/// Starts `command` from a thread that lives as long as the harness, so that
/// no test thread that ends takes a serving process with it.
fn spawn_from_the_spawner(command: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::spawn(move || {
            for (mut command, spawned) in queue {
                let _ = spawned.send(command.spawn());
            }
        });
        jobs
    });
    let (spawned, child) = mpsc::channel();
    let gone = || std::io::Error::other("the spawner thread is gone");
    spawner.send((command, spawned)).map_err(|_| gone())?;
    child.recv().map_err(|_| gone())?
}

/// Reads `pipe` on a thread of its own, sending what it reads as
/// `(stream, Some(bytes))` and its end as `(stream, None)`.
fn forward(
    mut pipe: impl Read + Send + 'static,
    stream: usize,
    to: mpsc::Sender<(usize, Option<Vec<u8>>)>,
) {
    std::thread::spawn(move || {
        let mut buffer = vec![0; 64 << 10];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.send((stream, Some(buffer[..n].to_vec()))).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = to.send((stream, None));
    });
}

/// A run's token: 128 random bits, which no guest can guess and print.
pub fn fresh_token() -> Result<String, String> {
    let mut bits = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bits))
        .map_err(|e| format!("cannot read /dev/urandom for a run's token: {e}"))?;
    let hex: String = bits.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("[witness run {hex}]"))
}

struct Server {
    child: Child,
    requests: ChildStdin,
    /// What the process writes to its stdout (0) and stderr (1).
    output: mpsc::Receiver<(usize, Option<Vec<u8>>)>,
    /// What came after the last run's end token, per stream.
    leftover: [Vec<u8>; 2],
    /// Whether each stream is still open.
    open: [bool; 2],
    runs: usize,
    /// Whether the process was waited for: its group is then not
    /// signalled again (the number may name another group by then).
    reaped: bool,
    /// What `witness.invalid` names in its hosts file.
    responder: Option<Responder>,
}

impl Server {
    /// Kills the process group and reaps the process.
    fn kill(&mut self) {
        if self.reaped {
            return;
        }
        kill_group(self.child.id() as libc::pid_t);
        let _ = self.child.wait();
        self.reaped = true;
    }

    /// Feeds `frames` what the pipes still hold, until both end.
    fn drain_into(&mut self, frames: &mut [Frame; 2]) {
        let until = Instant::now() + DRAIN_AFTER_END;
        while self.open.iter().any(|open| *open) {
            match self
                .output
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok((stream, Some(bytes))) => {
                    frames[stream].feed(bytes);
                }
                Ok((stream, None)) => self.open[stream] = false,
                Err(_) => break,
            }
        }
    }

    /// The run's end when both of the process's pipes closed during it.
    fn ended(mut self, frames: [Frame; 2]) -> Served {
        // The pipes closed: the process is gone or going; a process that
        // closed them and lives on is killed.
        let status = match wait_at_most(&mut self.child, DRAIN_AFTER_END) {
            Some(status) => {
                self.reaped = true;
                status
            }
            None => {
                self.kill();
                self.child.wait().unwrap_or_default()
            }
        };
        let [stdout, stderr] = frames.map(Frame::output);
        match status.code() {
            Some(code) => Served::Replied {
                code: Some(code),
                stdout,
                stderr,
            },
            None => Served::Decided(HostRun {
                outcome: Outcome::Crash {
                    detail: match status.signal() {
                        Some(signal) => format!("killed by signal {signal}"),
                        None => format!("ended with {status}"),
                    },
                },
                stdout,
                stderr,
            }),
        }
    }
}

/// How `child` ended, if it does within `bound`.
fn wait_at_most(child: &mut Child, bound: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + bound;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What the harness knows of a serving process's hang: whether the run
/// had begun (its first frame token came), and how many runs the process
/// had served before.
fn hang_note(begun: bool, served: usize, waited: Duration) -> String {
    let stage = if begun {
        "the adapter had begun the run"
    } else {
        "the adapter had not begun the run (no frame token came)"
    };
    format!(
        "\nwitness: {stage} when the harness killed it after {} ms; its process had served {served} runs before\n",
        waited.as_millis()
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether the run has begun: its first token came on either stream.
fn begun(frames: &[Frame]) -> bool {
    frames.iter().any(|frame| frame.begun)
}

/// One stream of one run: what lies between the run's two tokens, of
/// which the first `limit` bytes are kept.
struct Frame {
    token: Vec<u8>,
    limit: Option<u64>,
    /// Bytes not yet known to hold no part of a token.
    pending: Vec<u8>,
    begun: bool,
    ended: bool,
    kept: Vec<u8>,
    dropped: u64,
}

impl Frame {
    fn new(token: &str, limit: Option<u64>) -> Frame {
        Frame {
            token: token.as_bytes().to_vec(),
            limit,
            pending: Vec::new(),
            begun: false,
            ended: false,
            kept: Vec::new(),
            dropped: 0,
        }
    }

    fn ended(&self) -> bool {
        self.ended
    }

    /// Takes `bytes`; returns what came after the end token (the next
    /// run's, or nobody's), if it came.
    fn feed(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        if self.ended {
            return bytes;
        }
        self.pending.extend(bytes);
        loop {
            let found = self
                .pending
                .windows(self.token.len())
                .position(|window| window == self.token);
            match (found, self.begun) {
                // Before the run: nobody's.
                (Some(at), false) => {
                    self.pending.drain(..at + self.token.len());
                    self.begun = true;
                }
                (Some(at), true) => {
                    let rest = self.pending.split_off(at + self.token.len());
                    self.pending.truncate(at);
                    let body = std::mem::take(&mut self.pending);
                    self.keep(&body);
                    self.ended = true;
                    return rest;
                }
                (None, begun) => {
                    // All but what may be the start of a token is settled.
                    let settled = self.pending.len().saturating_sub(self.token.len() - 1);
                    let body: Vec<u8> = self.pending.drain(..settled).collect();
                    if begun {
                        self.keep(&body);
                    }
                    return Vec::new();
                }
            }
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = self
            .limit
            .map_or(usize::MAX, |limit| {
                usize::try_from(limit).unwrap_or(usize::MAX)
            })
            .saturating_sub(self.kept.len());
        let kept = bytes.len().min(room);
        self.kept.extend_from_slice(&bytes[..kept]);
        self.dropped += (bytes.len() - kept) as u64;
    }

    /// The run's output: an unfinished run's includes what it left
    /// pending; a cut one says how much was dropped.
    fn output(mut self) -> Vec<u8> {
        if self.begun && !self.ended {
            let pending = std::mem::take(&mut self.pending);
            self.keep(&pending);
        }
        if self.dropped > 0 {
            self.kept
                .extend_from_slice(cut_marker(self.dropped).as_bytes());
        }
        self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::Frame;

    fn framed(chunks: &[&[u8]]) -> (Vec<u8>, Vec<u8>, bool) {
        let mut frame = Frame::new("<T>", Some(5));
        let mut rest = Vec::new();
        for chunk in chunks {
            rest = frame.feed(chunk.to_vec());
        }
        let ended = frame.ended();
        (frame.output(), rest, ended)
    }

    #[test]
    fn a_frame_is_what_lies_between_the_tokens_wherever_the_chunks_split() {
        assert_eq!(
            framed(&[b"old<T>abc<T>next"]),
            (b"abc".to_vec(), b"next".to_vec(), true)
        );
        assert_eq!(
            framed(&[b"old<", b"T>a", b"bc<T", b">"]),
            (b"abc".to_vec(), vec![], true)
        );
        assert_eq!(framed(&[b"<T><T>"]), (vec![], vec![], true));
    }

    #[test]
    fn a_frame_keeps_its_limit_and_an_unfinished_one_what_came() {
        let (output, _, ended) = framed(&[b"<T>0123456789<T>"]);
        assert!(ended);
        assert!(output.starts_with(b"01234\n[witness: output cut: 5 more bytes dropped]"));
        assert_eq!(framed(&[b"<T>ab<"]), (b"ab<".to_vec(), vec![], false));
        assert_eq!(framed(&[b"nothing yet"]), (vec![], vec![], false));
    }
}
