//! Running a host in a child process: the harness owns the deadline, and
//! on expiry kills the child's whole process group, so a blocked host and
//! anything it started are stopped and nothing is left running.

use super::RunSettings;
use crate::outcome::HostRun;
use crate::outcome::Outcome;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
/// on its stdin, killed `grace` after the deadline.
pub fn run_host(
    command: Command,
    settings: &RunSettings,
    grace: Duration,
) -> Result<HostEnd, String> {
    let decided = |outcome, stdout, stderr| {
        Ok(HostEnd::Decided(HostRun {
            outcome,
            stdout,
            stderr,
        }))
    };
    match run(command, &settings.stdin, settings.deadline + grace)? {
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
/// standard input, for at most `deadline`.
pub fn run(mut command: Command, stdin: &[u8], deadline: Duration) -> Result<ChildEnd, String> {
    command
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
    let group = child.id() as libc::pid_t;
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    // Threads, so that a child that does not read its stdin, or fills a
    // pipe, never blocks the harness.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let (done, waited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    let ended = waited.recv_timeout(deadline);
    // Whatever happened, nothing the child started outlives the run.
    kill_group(group);
    let ended = match ended {
        Ok(ended) => ended,
        // Killed: its wait returns at once.
        Err(_) => match waited.recv() {
            Ok(_) => {
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
        Ok(status) => Ok(ChildEnd::Exited {
            status,
            stdout,
            stderr,
        }),
    }
}

/// The most of a host process's stdout or stderr the harness keeps: a
/// guest that floods its output cannot grow the harness without bound.
const OUTPUT_LIMIT: u64 = 4 << 20;

/// A pipe read to its end on a thread of its own, keeping its first
/// [`OUTPUT_LIMIT`] bytes and counting the rest.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (done, drained) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut pipe).take(OUTPUT_LIMIT).read_to_end(&mut bytes);
        let dropped = std::io::copy(&mut pipe, &mut std::io::sink()).unwrap_or(0);
        if dropped > 0 {
            bytes.extend_from_slice(
                format!("\n[witness: output cut: {dropped} more bytes dropped]\n").as_bytes(),
            );
        }
        let _ = done.send(bytes);
    });
    drained
}

/// What a pipe held, once everything that could write to it is gone; a
/// process that left the group (setsid) and kept the pipe is not waited for
/// past a bound, and its output is marked cut.
fn collect(drained: mpsc::Receiver<Vec<u8>>) -> Vec<u8> {
    drained.recv_timeout(DRAIN_AFTER_KILL).unwrap_or_else(|_| {
        b"[witness: output cut: a process outside the host's process group kept the pipe open]"
            .to_vec()
    })
}

fn kill_group(group: libc::pid_t) {
    // SAFETY: kill(2) with a negative pid signals that process group; the
    // group is the child's own (process_group(0)), never the harness's.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}
