//! `wasmtime-sync`: wasmtime with `add_to_linker_sync`, as embedders without
//! an async runtime run it. Nothing in-process can stop a guest blocked in a
//! sync host call, so each run happens in a child process,
//! `witness-wasmtime-sync` (src/bin/), an adapter like any other (see
//! [`super::adapter`]): a hang costs a process, never an abandoned thread,
//! and a child that dies of a signal is a `crash`.
//!
//! The child runs the guest on a thread of its own. At the deadline it
//! writes the reply `hang`, then what the guest wrote so far, and exits,
//! which ends the blocked thread with the process.

use super::adapter::{AdapterHost, FULL_CONTROL, Reply};
use super::wasmtime::{
    BREACHES_VARIABLE, Breaches, Guest, GuestState, ended, engine, error_text, guest_store,
    handle_arguments, output_pipes, panic_text, selftest_faulty_import,
};
use super::world::files::Granted;
use super::world::http::response_lines;
use super::world::http::wasmtime::observe_response;
use super::{RunRequest, RunSettings, compile_cache};
use crate::outcome::Outcome;
use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Instant;
use wasmtime::component::Linker;
use wasmtime_wasi::p2::bindings::sync::CommandPre;
use wasmtime_wasi_http::p2::bindings::sync::ProxyPre;

/// The `wasmtime-sync` host: `program` is `witness-wasmtime-sync`.
pub fn host(program: PathBuf, cache_dir: PathBuf) -> AdapterHost {
    AdapterHost::new(
        super::EMBEDDED_HOSTS[2],
        vec![program.into(), "--cache-dir".into(), cache_dir.into()],
        FULL_CONTROL,
    )
}

/// The same host with the self-tests' faulty import, under another name.
pub fn selftest_faulty_host(name: &str, program: PathBuf, cache_dir: PathBuf) -> AdapterHost {
    let command: Vec<OsString> = vec![
        program.into(),
        "--cache-dir".into(),
        cache_dir.into(),
        "--selftest-faulty-import".into(),
    ];
    AdapterHost::new(name, command, FULL_CONTROL)
}

/// A self-test host (with the faulty import) whose child leaves out the
/// caps and the confinement `breaches` names, told through
/// [`BREACHES_VARIABLE`], which the child reads only together with
/// `--selftest-faulty-import`: no host the suite runs can be breached.
pub fn selftest_breached_host(
    name: &str,
    program: PathBuf,
    cache_dir: PathBuf,
    breaches: Breaches,
) -> AdapterHost {
    selftest_faulty_host(name, program, cache_dir).with_env(BREACHES_VARIABLE, breaches.to_env())
}

/// The child's `--prepare`: the component compiled into the compile cache.
pub fn prepare(component: &Path, cache_dir: &Path) -> Result<(), String> {
    let engine = engine().map_err(|e| format!("{e:?}"))?;
    compile_cache::component(&engine, component, cache_dir)
        .map(drop)
        .map_err(|e| error_text(&e))
}

/// What one run in the child produced.
pub struct ChildRun {
    pub reply: Reply,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The child's side: one run with the sync linker, on a thread of this
/// process, with the directories `preopens` grants; at
/// `settings.deadline` the reply is `hang`, and the caller must then end
/// the process (returning from `main` does) to stop the run. `Err` is a
/// failure to set the run up, not an outcome. With `faulty` (the
/// self-tests' host), the limits [`BREACHES_VARIABLE`] names are left out.
pub fn run_here(
    component: &Path,
    scenario: &str,
    settings: &RunSettings,
    preopens: &[Granted],
    loopback: Option<Ipv4Addr>,
    cache_dir: &Path,
    faulty: bool,
) -> Result<ChildRun, String> {
    let engine = engine().map_err(|e| format!("{e:?}"))?;
    let mut linker = Linker::<GuestState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| format!("{e:?}"))?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)
        .map_err(|e| format!("{e:?}"))?;
    // Only a self-test host may be breached: the variable means nothing
    // to a host the suite runs.
    let breaches = match (faulty, std::env::var(BREACHES_VARIABLE)) {
        (true, Ok(text)) => Breaches::from_env(&text)?,
        _ => Breaches::NONE,
    };
    if faulty {
        selftest_faulty_import(&mut linker).map_err(|e| format!("{e:?}"))?;
    }
    let request = RunRequest {
        component,
        scenario,
        settings,
        preopens,
    };
    let (stdout, stderr) = output_pipes(&request, breaches);
    let pre = compile_cache::component(&engine, component, cache_dir)
        .and_then(|compiled| linker.instantiate_pre(&compiled))
        .and_then(|pre| Guest::of(pre, CommandPre::new, ProxyPre::new));
    let guest = match pre {
        Ok(guest) => guest,
        Err(e) => {
            let outcome = Outcome::LinkError {
                message: error_text(&e),
            };
            return Ok(ChildRun {
                reply: Reply::new(&outcome),
                stdout: Vec::new(),
                stderr: Vec::new(),
            });
        }
    };
    let mut store = guest_store(&engine, &request, &stdout, &stderr, loopback, breaches)?;
    // No epoch ever passes in this process: the deadline is never reached.
    store.set_epoch_deadline(u64::MAX);
    let incoming = guest.incoming(&request)?;
    let is_proxy = incoming.is_some();
    let (respond, response) = tokio::sync::oneshot::channel();
    let (done, ended_as) = std::sync::mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        // A panic in host code unwinds out of the wasm frames to here.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match guest {
            Guest::Command(pre) => {
                let command = pre.instantiate(&mut store)?;
                command.wasi_cli_run().call_run(&mut store)
            }
            Guest::Proxy(pre) => {
                let incoming = incoming.expect("a proxy's request is built before its run");
                let proxy = pre.instantiate(&mut store)?;
                let (request, outparam) = handle_arguments(&mut store, incoming, respond)?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, request, outparam)
                    .map(Ok)
            }
        }));
        let outcome = match run {
            Ok(result) => ended(result),
            Err(payload) => Outcome::HostPanic {
                message: panic_text(payload.as_ref()),
            },
        };
        let _ = done.send(outcome);
    });
    // Read while the guest runs: it may wait for room to write more.
    let response = if is_proxy {
        let reading = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a tokio runtime to read the response: {e}"))?
            .block_on(observe_response(response, settings.deadline));
        response_lines(scenario, &reading)
    } else {
        String::new()
    };
    let outcome = ended_as
        .recv_timeout(settings.deadline.saturating_sub(started.elapsed()))
        .unwrap_or(Outcome::Hang {
            deadline: settings.deadline,
        });
    let mut stdout = stdout.contents().to_vec();
    stdout.extend_from_slice(response.as_bytes());
    Ok(ChildRun {
        reply: Reply::new(&outcome),
        stdout,
        stderr: stderr.contents().to_vec(),
    })
}
