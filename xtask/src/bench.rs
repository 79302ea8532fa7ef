//! The suite's share of `cargo xtask bench`: its wall time and peak memory.

use anyhow::{Context, Result, ensure};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// Runs the suite (`suite`, the conformance suite's command, already
/// built) and prints how long it took and the most memory one of its
/// processes held.
pub fn suite_wall_time_and_memory(mut suite: Command) -> Result<ExitCode> {
    let started = Instant::now();
    let child = suite
        .stdout(Stdio::null())
        .spawn()
        .context("cannot run the suite")?;
    let (succeeded, peak_kib) = wait_with_peak_memory(child.id())?;
    let wall = started.elapsed();
    println!(
        "\nsuite (`cargo xtask test`'s run, default hosts): wall {:.1} s, peak memory {} MiB{}",
        wall.as_secs_f64(),
        peak_kib / 1024,
        if succeeded { "" } else { " (it failed)" }
    );
    Ok(ExitCode::SUCCESS)
}

/// Waits for the child `pid` and returns whether it succeeded and the
/// largest resident set of it and the descendants it waited for, in KiB:
/// `wait4`'s resource usage of that child alone.
fn wait_with_peak_memory(pid: u32) -> Result<(bool, u64)> {
    let pid = libc::pid_t::try_from(pid).context("a pid fits pid_t")?;
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 writes the status and a rusage into the pointers it is
    // given; the child is ours and not waited for elsewhere.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
    ensure!(
        waited == pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    let succeeded = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((succeeded, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}
