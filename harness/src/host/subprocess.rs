//! Running a host in a child process: the harness owns the deadline, and
//! on expiry kills the child's whole process group, so a blocked host and
//! anything it started are stopped and nothing is left running. It keeps
//! at most [`OUTPUT_LIMIT`] of each output stream, and notes the peak
//! resident memory of each child ([`last_peak`]).

use super::RunSettings;
use super::terminal::Terminal;
use super::world::cli::Stream;
use crate::outcome::HostRun;
use crate::outcome::Outcome;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The peak resident memory of a host process, as `wait4(2)` reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    /// `ru_maxrss`, in KiB: the most the process (or a descendant it
    /// waited for) held, from its start to its end.
    pub kib: u64,
    /// This process's own peak (`VmHWM`) when it started the child, in
    /// KiB. Linux counts the memory of the spawning process into the
    /// child's `ru_maxrss` up to the child's `exec` (its `vfork`-shared
    /// memory is the child's until then), so a `kib` no larger than this
    /// says only that the child held no more; one larger is the child's own.
    pub spawner_kib: u64,
    /// The child's own peak (`VmHWM` of the program it `exec`ed), as last
    /// read from /proc every [`PEAK_POLL`] while it ran, in KiB: no more
    /// than its peak, and short of it by what it took in its last moments.
    pub seen_kib: u64,
}

impl Peak {
    /// What the harness itself may take between noting `spawner_kib` and
    /// the child's `exec`, in KiB.
    const SPAWN_MARGIN_KIB: u64 = 32 << 10;

    /// The most the child itself is sure to have held, in KiB: `kib` when
    /// it is clearly above what the harness held (then it is the child's
    /// own), else what was seen of the child.
    pub fn own_at_least_kib(&self) -> u64 {
        match self.kib > self.spawner_kib + Self::SPAWN_MARGIN_KIB {
            true => self.kib,
            false => self.seen_kib.min(self.kib),
        }
    }
}

/// How often the harness reads a host process's peak while it runs.
pub const PEAK_POLL: Duration = Duration::from_millis(5);

thread_local! {
    /// The peak of the child process this thread last ran to its end.
    static LAST_PEAK: Cell<Option<Peak>> = const { Cell::new(None) };
}

/// The peak resident memory of the child process the calling thread last
/// ran through [`run`] (a host's run: the wasmtime CLI, an adapter such as
/// the sync child or jco's Node); `None` before the first, or when it could
/// not be waited for. What the self-tests hold a host process's memory to.
pub fn last_peak() -> Option<Peak> {
    // Taken, not read: a later in-process run on this thread must not
    // find a host process's peak.
    LAST_PEAK.with(Cell::take)
}

/// The peak resident memory (`VmHWM`) of process `pid` (`self`: this
/// one), in KiB; 0 where Linux's /proc does not say (a process that
/// ended).
fn peak_kib_of(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// How long the output of a finished or killed host may take to drain.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(5);

/// How a child process ended.
#[derive(Debug)]
pub enum ChildEnd {
    /// It exited or was killed by a signal, with what it printed.
    Exited {
        status: ExitStatus,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
    /// The deadline passed first; its process group was killed. What it
    /// had printed by then.
    DeadlinePassed { stdout: Vec<u8>, stderr: Vec<u8> },
}

/// How a host's process ended, as far as the process alone tells.
pub enum HostEnd {
    /// A hang (past the deadline and `grace`) or a crash (a signal): the
    /// outcome is decided, with what the process printed.
    Decided(HostRun),
    /// It exited with `code`: the host's own rules say what that means.
    Exited {
        code: i32,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
}

/// Runs a host's `command` for one run with `settings`: the guest's stdin
/// on its stdin, killed `grace` after the deadline, keeping `output_limit`
/// bytes of each output stream ([`OUTPUT_LIMIT`]; `None` only for the
/// self-tests' host that proves the limit matters).
pub fn run_host(
    command: Command,
    settings: &RunSettings,
    grace: Duration,
    output_limit: Option<u64>,
) -> Result<HostEnd, String> {
    let decided = |outcome, stdout, stderr| {
        Ok(HostEnd::Decided(HostRun {
            outcome,
            stdout,
            stderr,
        }))
    };
    match run(
        command,
        &settings.stdin,
        &settings.invocation.terminal,
        settings.deadline + grace,
        output_limit,
    )? {
        ChildEnd::DeadlinePassed { stdout, stderr } => decided(
            Outcome::Hang {
                deadline: settings.deadline,
            },
            stdout,
            stderr,
        ),
        ChildEnd::Exited {
            status,
            stdout,
            stderr,
        } => match (status.code(), status.signal()) {
            (Some(code), _) => Ok(HostEnd::Exited {
                code,
                stdout,
                stderr,
            }),
            (None, signal) => decided(
                Outcome::Crash {
                    detail: match signal {
                        Some(signal) => format!("killed by signal {signal}"),
                        None => format!("ended with {status}"),
                    },
                },
                stdout,
                stderr,
            ),
        },
    }
}

/// Runs `command` in a process group of its own with `stdin` as its
/// standard input, for at most `deadline`, keeping the first `output_limit`
/// bytes of its stdout and of its stderr (all of them with `None`); its
/// peak memory is then [`last_peak`]. The streams of `terminal` are each a
/// pseudo-terminal of their own rather than a pipe.
pub fn run(
    mut command: Command,
    stdin: &[u8],
    terminal: &BTreeSet<Stream>,
    deadline: Duration,
    output_limit: Option<u64>,
) -> Result<ChildEnd, String> {
    LAST_PEAK.with(|peak| peak.set(None));
    let mut controllers = BTreeMap::new();
    let mut stdio = |stream: Stream| -> Result<Stdio, String> {
        if !terminal.contains(&stream) {
            return Ok(Stdio::piped());
        }
        let opened = Terminal::open().map_err(|e| format!("cannot open a pseudo-terminal: {e}"))?;
        controllers.insert(stream, opened.controller);
        Ok(Stdio::from(opened.stream))
    };
    let (input, output, error) = (
        stdio(Stream::Stdin)?,
        stdio(Stream::Stdout)?,
        stdio(Stream::Stderr)?,
    );
    command
        .process_group(0)
        .stdin(input)
        .stdout(output)
        .stderr(error);
    let spawner_kib = peak_kib_of("self");
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    // Its copies of the terminals' streams: a controller reads to its end
    // once the child and what it started closed theirs.
    drop(command);
    let group = child.id() as libc::pid_t;
    // A terminal stdin stays open until the run has ended: a terminal has
    // no end of input, so a guest that reads one to its end waits (a
    // pipe's ends once its bytes are written). The writer writes the
    // case's bytes to a second handle of its controller.
    let input: Box<dyn Write + Send> = match controllers.get(&Stream::Stdin) {
        Some(controller) => Box::new(
            (controller.try_clone())
                .map_err(|e| format!("cannot write to the stdin terminal: {e}"))?,
        ),
        None => Box::new(child.stdin.take().expect("stdin is piped")),
    };
    let stdin = stdin.to_vec();
    // Threads, so that a child that does not read its stdin, or fills a
    // pipe, never blocks the harness.
    let writer = std::thread::spawn(move || {
        let mut input = input;
        let _ = input.write_all(&stdin);
    });
    let mut output = |stream: Stream, pipe: Option<Box<dyn Read + Send>>| {
        let source = match controllers.remove(&stream) {
            Some(controller) => Box::new(controller),
            None => pipe.expect("a stream that is no terminal is piped"),
        };
        drain(source, output_limit)
    };
    let stdout = output(
        Stream::Stdout,
        (child.stdout.take()).map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let stderr = output(
        Stream::Stderr,
        (child.stderr.take()).map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let (done, waited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(wait_with_peak(group));
        // Reaped by wait4 already: dropping `child` neither waits nor kills.
        drop(child);
    });
    // Wait, reading the child's own peak as it goes.
    let started = std::time::Instant::now();
    let mut seen_kib = 0;
    let ended = loop {
        seen_kib = seen_kib.max(peak_kib_of(&group.to_string()));
        let left = deadline.saturating_sub(started.elapsed());
        match waited.recv_timeout(left.min(PEAK_POLL)) {
            Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => continue,
            ended => break ended,
        }
    };
    let peak = |kib| Peak {
        kib,
        spawner_kib,
        seen_kib,
    };
    // Whatever happened, nothing the child started outlives the run.
    kill_group(group);
    let ended = match ended {
        Ok(ended) => ended,
        // Killed: its wait returns at once.
        Err(_) => match waited.recv() {
            Ok(ended) => {
                if let Ok((_, kib)) = ended {
                    LAST_PEAK.with(|last| last.set(Some(peak(kib))));
                }
                return Ok(ChildEnd::DeadlinePassed {
                    stdout: collect(stdout),
                    stderr: collect(stderr),
                });
            }
            Err(e) => return Err(format!("cannot wait for the child process: {e}")),
        },
    };
    // The stdin writer is not waited for: a child that never read its
    // stdin leaves it blocked until the pipe closes, which the kill did.
    drop(writer);
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    match ended {
        Err(e) => Err(format!("cannot wait for the child process: {e}")),
        Ok((status, kib)) => {
            LAST_PEAK.with(|last| last.set(Some(peak(kib))));
            Ok(ChildEnd::Exited {
                status,
                stdout,
                stderr,
            })
        }
    }
}

/// Waits for the child `pid` to end: how it ended, and its peak resident
/// memory in KiB (`ru_maxrss`: its own, or that of a descendant it waited
/// for, whichever is larger).
fn wait_with_peak(pid: libc::pid_t) -> std::io::Result<(ExitStatus, u64)> {
    let mut status = 0;
    // SAFETY: rusage is plain data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4(2) on our own child, with pointers to locals that
        // outlive the call.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited == pid {
            let peak = u64::try_from(usage.ru_maxrss).unwrap_or(0);
            return Ok((ExitStatus::from_raw(status), peak));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// The most of a host process's stdout or stderr the harness keeps: a
/// guest that floods its output cannot grow the harness without bound.
pub const OUTPUT_LIMIT: u64 = 4 << 20;

/// The line the harness appends to an output stream it cut at its limit.
pub fn cut_marker(dropped: u64) -> String {
    format!("\n[witness: output cut: {dropped} more bytes dropped]\n")
}

/// A pipe read to its end on a thread of its own, keeping its first
/// `limit` bytes ([`OUTPUT_LIMIT`]; all with `None`) and counting the rest.
pub(super) fn drain(
    mut pipe: impl Read + Send + 'static,
    limit: Option<u64>,
) -> mpsc::Receiver<Vec<u8>> {
    let (done, drained) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut pipe)
            .take(limit.unwrap_or(u64::MAX))
            .read_to_end(&mut bytes);
        let dropped = std::io::copy(&mut pipe, &mut std::io::sink()).unwrap_or(0);
        if dropped > 0 {
            bytes.extend_from_slice(cut_marker(dropped).as_bytes());
        }
        let _ = done.send(bytes);
    });
    drained
}

/// What a pipe held, once everything that could write to it is gone; a
/// process that left the group (setsid) and kept the pipe is not waited for
/// past a bound, and its output is marked cut.
pub(super) fn collect(drained: mpsc::Receiver<Vec<u8>>) -> Vec<u8> {
    drained.recv_timeout(DRAIN_AFTER_KILL).unwrap_or_else(|_| {
        b"[witness: output cut: a process outside the host's process group kept the pipe open]"
            .to_vec()
    })
}

pub(crate) fn kill_group(group: libc::pid_t) {
    // SAFETY: kill(2) with a negative pid signals that process group; the
    // group is the child's own (process_group(0)), never the harness's.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}
