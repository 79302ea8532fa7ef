//! The embedded wasmtime 48 hosts: `wasmtime-wasi`'s WASI 0.2 as embedders
//! run it. Async on a multi-thread tokio runtime (`wasmtime`, the default)
//! and async on a current-thread runtime (`wasmtime-current-thread`) run in
//! this process; the sync configuration runs in a child process
//! (`host/wasmtime_sync.rs`) and shares the pieces here.
//!
//! One Engine per process; each guest compiled once (and kept on disk
//! across processes, `host/compile_cache.rs`) and pre-linked once; a fresh
//! Store per run with its own pipes and limits.

use super::world::http::response_lines;
use super::world::http::wasmtime::{OutgoingHandler, SentResponse, observe_response};
use super::{Confinement, Host, PerComponent, RunRequest, RunSettings, compile_cache};
use crate::outcome::{HostRun, Outcome, Trap};
use std::future::Future;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime::component::{InstancePre, Linker, Resource, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder, UpdateDeadline,
};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How often running wasm yields to tokio, so that a deadline can stop a
/// guest spinning in pure wasm as well as one blocked in a host call.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// How many bytes a guest's stdout accepts before it reports `closed`:
/// stdout carries the observations, so room for plenty of them. (stderr's
/// capacity is the case's, `RunSettings::stderr_capacity`.)
pub const STDOUT_CAPACITY: usize = 1 << 20;
/// A guest's linear memories may not grow past this many bytes: a
/// `memory.grow` past it returns -1.
pub const MEMORY_LIMIT: usize = 256 << 20;

/// Self-tests only: the caps and the confinement a self-test host leaves
/// out on purpose, so that a self-test can show its check then fails. Every
/// host the suite runs has none ([`Breaches::NONE`]); only
/// [`WasmtimeHost::selftest_breached`] and
/// `wasmtime_sync::selftest_breached_host` make others.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Breaches {
    /// No memory limit: a guest's memory grows to wasm32's 4 GiB.
    pub memory_cap: bool,
    /// No capacity on stdout or stderr: a guest's output grows without end.
    pub output_cap: bool,
    /// The harness's working directory preopened at [`EXTRA_PREOPEN`] too,
    /// read-only: a file of the host that no case granted.
    pub extra_preopen: bool,
    /// A preopen the case made read-only granted writable.
    pub writable_read_only: bool,
}

/// Where a host with the [`Breaches::extra_preopen`] breach preopens the
/// harness's working directory.
pub const EXTRA_PREOPEN: &str = "/host";

/// The environment variable that tells the sync child (run with
/// `--selftest-faulty-import`, never otherwise) which breaches to make:
/// [`Breaches::to_env`].
pub const BREACHES_VARIABLE: &str = "WITNESS_SELFTEST_BREACHES";

impl Breaches {
    /// Every cap and confinement in place: what every real host runs with.
    pub const NONE: Breaches = Breaches {
        memory_cap: false,
        output_cap: false,
        extra_preopen: false,
        writable_read_only: false,
    };

    const NAMES: [&str; 4] = [
        "memory-cap",
        "output-cap",
        "extra-preopen",
        "writable-read-only",
    ];

    fn flags(&self) -> [bool; 4] {
        [
            self.memory_cap,
            self.output_cap,
            self.extra_preopen,
            self.writable_read_only,
        ]
    }

    /// `memory-cap,output-cap,extra-preopen`, the breaches made.
    pub fn to_env(&self) -> String {
        Self::NAMES
            .iter()
            .zip(self.flags())
            .filter(|(_, made)| *made)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The breaches [`Breaches::to_env`] wrote.
    pub fn from_env(text: &str) -> Result<Breaches, String> {
        let mut breaches = Breaches::NONE;
        for name in text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            match name {
                "memory-cap" => breaches.memory_cap = true,
                "output-cap" => breaches.output_cap = true,
                "extra-preopen" => breaches.extra_preopen = true,
                "writable-read-only" => breaches.writable_read_only = true,
                other => {
                    return Err(format!(
                        "{BREACHES_VARIABLE}: `{other}` is none of {}",
                        Self::NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(breaches)
    }
}

/// Which tokio runtime an async embedding runs its guests on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flavor {
    /// One multi-thread runtime for the process: `wasmtime`.
    MultiThread,
    /// A current-thread runtime per run, as many embedders use one per
    /// request: `wasmtime-current-thread`.
    CurrentThread,
}

/// The state a guest's Store carries.
pub struct GuestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outgoing: OutgoingHandler,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outgoing,
        }
    }
}

/// Adds imports beyond WASI to the linker (the self-tests' faulty host).
pub type ExtraImports = fn(&mut Linker<GuestState>) -> wasmtime::Result<()>;

/// wasmtime embedded in this process, async on tokio.
pub struct WasmtimeHost {
    name: String,
    flavor: Flavor,
    cache_dir: PathBuf,
    extra_imports: Option<ExtraImports>,
    /// None, but on a self-test host that breaks a limit on purpose.
    breaches: Breaches,
    /// Built on first use, so that listing trials costs nothing.
    runtime: OnceLock<Runtime>,
}

/// A guest compiled and pre-linked, or why it cannot be instantiated.
type Prepared = Result<Guest<CommandPre<GuestState>, ProxyPre<GuestState>>, String>;

/// What a guest component is: a command (`wasi:cli/run`) or a proxy
/// (`wasi:http/incoming-handler`), pre-instantiated with the async
/// bindings (here) or the sync ones (`host/wasmtime_sync.rs`).
#[derive(Clone)]
pub(crate) enum Guest<C, P> {
    Command(C),
    Proxy(P),
}

impl<C, P> Guest<C, P> {
    /// A command if the component exports `wasi:cli/run`, else a proxy if
    /// it exports the incoming handler; else why it is not a command.
    pub(crate) fn of(
        pre: InstancePre<GuestState>,
        command: impl FnOnce(InstancePre<GuestState>) -> wasmtime::Result<C>,
        proxy: impl FnOnce(InstancePre<GuestState>) -> wasmtime::Result<P>,
    ) -> wasmtime::Result<Guest<C, P>> {
        match command(pre.clone()) {
            Ok(command) => Ok(Guest::Command(command)),
            Err(not_a_command) => proxy(pre).map(Guest::Proxy).map_err(|_| not_a_command),
        }
    }

    /// A proxy's incoming request for `request`; none for a command.
    pub(crate) fn incoming(
        &self,
        request: &RunRequest<'_>,
    ) -> Result<Option<hyper::Request<WasiBody>>, String> {
        match self {
            Guest::Command(_) => Ok(None),
            Guest::Proxy(_) => request
                .settings
                .http_request
                .build(request.scenario)
                .map(Some),
        }
    }
}

struct Runtime {
    engine: Engine,
    cache_dir: PathBuf,
    linker: Linker<GuestState>,
    /// The multi-thread flavour's runtime; the current-thread flavour
    /// builds one per run.
    multi_thread: Option<tokio::runtime::Runtime>,
    prepared: PerComponent<Prepared>,
}

impl WasmtimeHost {
    /// `wasmtime` (multi-thread) or `wasmtime-current-thread`.
    pub fn new(flavor: Flavor, cache_dir: PathBuf) -> WasmtimeHost {
        let name = match flavor {
            Flavor::MultiThread => "wasmtime",
            Flavor::CurrentThread => "wasmtime-current-thread",
        };
        WasmtimeHost {
            name: name.into(),
            flavor,
            cache_dir,
            extra_imports: None,
            breaches: Breaches::NONE,
            runtime: OnceLock::new(),
        }
    }

    /// A host with imports added beyond WASI, under another name. Only the
    /// harness's self-tests use this, to link a deliberately faulty import.
    pub fn with_extra_imports(
        name: &str,
        flavor: Flavor,
        cache_dir: PathBuf,
        extra_imports: ExtraImports,
    ) -> WasmtimeHost {
        WasmtimeHost {
            name: name.into(),
            extra_imports: Some(extra_imports),
            ..WasmtimeHost::new(flavor, cache_dir)
        }
    }

    /// A self-test host (with the faulty import) that leaves out the caps
    /// and the confinement `breaches` names: the self-tests prove with it
    /// that their checks of those limits fail when a limit is gone. No
    /// host the suite runs is made this way.
    pub fn selftest_breached(
        name: &str,
        flavor: Flavor,
        cache_dir: PathBuf,
        breaches: Breaches,
    ) -> WasmtimeHost {
        WasmtimeHost {
            breaches,
            ..WasmtimeHost::with_extra_imports(name, flavor, cache_dir, selftest_faulty_import)
        }
    }

    fn runtime(&self) -> Result<&Runtime, String> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let runtime = Runtime::new(
            &self.cache_dir,
            self.flavor,
            self.extra_imports,
            !self.breaches.memory_cap,
        )
        .map_err(|e| format!("{e:?}"))?;
        Ok(self.runtime.get_or_init(|| runtime))
    }
}

impl Runtime {
    fn new(
        cache_dir: &Path,
        flavor: Flavor,
        extra_imports: Option<ExtraImports>,
        memory_cap: bool,
    ) -> wasmtime::Result<Runtime> {
        let engine = in_process_engine(memory_cap)?;
        let ticker = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        if let Some(extra_imports) = extra_imports {
            extra_imports(&mut linker)?;
        }
        let multi_thread = match flavor {
            Flavor::MultiThread => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?,
            ),
            Flavor::CurrentThread => None,
        };
        Ok(Runtime {
            engine,
            cache_dir: cache_dir.to_path_buf(),
            linker,
            multi_thread,
            prepared: PerComponent::default(),
        })
    }

    /// The guest compiled and pre-linked, once per process; `Err` says why
    /// it cannot be instantiated.
    fn prepare(&self, component: &Path) -> Prepared {
        self.prepared.get(component, || {
            let compiled = compile_cache::component(&self.engine, component, &self.cache_dir)
                .map_err(|e| error_text(&e))?;
            self.linker
                .instantiate_pre(&compiled)
                .and_then(|pre| Guest::of(pre, CommandPre::new, ProxyPre::new))
                .map_err(|e| error_text(&e))
        })
    }

    fn run(
        &self,
        request: &RunRequest<'_>,
        stdout: &MemoryOutputPipe,
        stderr: &MemoryOutputPipe,
        breaches: Breaches,
    ) -> Result<(Outcome, String), String> {
        let guest = match self.prepare(request.component) {
            Err(message) => return Ok((Outcome::LinkError { message }, String::new())),
            Ok(guest) => guest,
        };
        let loopback = request
            .settings
            .sockets
            .as_ref()
            .map(|_| super::world::sockets::fresh_address());
        let mut store = guest_store(&self.engine, request, stdout, stderr, loopback, breaches)?;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        let deadline = request.settings.deadline;
        let incoming = guest.incoming(request)?;
        let scenario = request.scenario.to_string();
        let is_proxy = incoming.is_some();
        let run = async move {
            let (respond, response) = tokio::sync::oneshot::channel();
            let guest_run = async move {
                match guest {
                    Guest::Command(pre) => {
                        let command = pre.instantiate_async(&mut store).await?;
                        command.wasi_cli_run().call_run(&mut store).await
                    }
                    Guest::Proxy(pre) => {
                        let incoming = incoming.expect("a proxy's request is built before its run");
                        let proxy = pre.instantiate_async(&mut store).await?;
                        let (request, outparam) = handle_arguments(&mut store, incoming, respond)?;
                        proxy
                            .wasi_http_incoming_handler()
                            .call_handle(&mut store, request, outparam)
                            .await
                            .map(Ok)
                    }
                }
            };
            // Driven on the thread that waits for the run, as `wasmtime run`
            // does, rather than handed to a worker and back (two wake-ups,
            // a fifth of a run): a panic in host code is caught as it
            // unwinds out of a poll, and a guest that outlives its deadline
            // is no longer polled, then dropped with its store.
            // Outside the join: a guest past its deadline must live until
            // the response is read, since dropping it drops the response's
            // channels.
            let mut guest_run = CatchUnwind(Box::pin(guest_run));
            let running = tokio::time::timeout(deadline, &mut guest_run);
            // Read while the guest runs: it may wait for room to write more.
            let reading = CatchUnwind(Box::pin(async move {
                match is_proxy {
                    true => Some(observe_response(response, deadline).await),
                    false => None,
                }
            }));
            let (timed, read) = tokio::join!(running, reading);
            drop(guest_run);
            let response = match read {
                Ok(Some(response)) => response_lines(&scenario, &response),
                Ok(None) => String::new(),
                Err(panic) => {
                    let panic = panic_text(panic.as_ref());
                    return Err(format!("reading the response failed: {panic}"));
                }
            };
            let outcome = match timed {
                Err(_elapsed) => Outcome::Hang { deadline },
                Ok(Err(payload)) => Outcome::HostPanic {
                    message: panic_text(payload.as_ref()),
                },
                Ok(Ok(result)) => ended(result),
            };
            Ok((outcome, response))
        };
        match &self.multi_thread {
            Some(tokio) => tokio.block_on(run),
            None => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a current-thread tokio runtime: {e}"))?
                .block_on(run),
        }
    }
}

/// A future that turns a panic out of `F`'s poll into `Err(payload)`;
/// `F` is not polled again after one.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(context))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

impl Host for WasmtimeHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn supports(&self, settings: &RunSettings) -> Result<(), String> {
        settings.confinable(Confinement::InProcess)?;
        if !settings.invocation.terminal.is_empty() {
            return Err("its guests' standard streams are pipes in the harness's memory: it has no terminal to give one".into());
        }
        Ok(())
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String> {
        let (stdout, stderr) = output_pipes(request, self.breaches);
        let runtime = self
            .runtime()
            .map_err(|e| format!("the {} host could not start: {e}", self.name))?;
        let (outcome, response) = runtime.run(request, &stdout, &stderr, self.breaches)?;
        let mut stdout = stdout.contents().to_vec();
        stdout.extend_from_slice(response.as_bytes());
        Ok(HostRun {
            outcome,
            stdout,
            stderr: stderr.contents().to_vec(),
        })
    }
}

/// The Engine every embedded configuration uses, with epoch interruption,
/// which the async configurations need to stop running wasm at a deadline
/// in-process. The sync configuration's child never advances the epoch (its
/// deadline ends the process), but compiling with the same settings lets all
/// three share one compilation of each guest in the compile cache.
pub(crate) fn engine() -> wasmtime::Result<Engine> {
    Engine::new(&config())
}

fn config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config
}

/// The in-process configurations' Engine: [`engine`]'s settings, with the
/// instances' memories and tables taken from a pool reserved once and
/// reused (reset by `madvise`) rather than mapped and unmapped per run,
/// which was a third of an embedded run's cost. A memory may grow to
/// [`MEMORY_LIMIT`] in its slot (each slot reserves what an on-demand
/// memory reserves); `memory_cap: false` (a self-test host that breaches
/// it) maps each memory on demand, without that bound. The pool's other
/// limits are wasmtime's defaults (one memory and one table of at most
/// 20 000 elements per core module, 1 000 instances at once), which the
/// guests stay within.
fn in_process_engine(memory_cap: bool) -> wasmtime::Result<Engine> {
    let mut config = config();
    if memory_cap {
        let mut pool = PoolingAllocationConfig::default();
        pool.max_memory_size(MEMORY_LIMIT);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config)
}

/// A fresh Store for one run of `request`: argv, stdin, the pipes, its
/// preopens (read-only where the case says), and limits ([`MEMORY_LIMIT`];
/// none that `breaches` leaves out).
pub(crate) fn guest_store(
    engine: &Engine,
    request: &RunRequest<'_>,
    stdout: &MemoryOutputPipe,
    stderr: &MemoryOutputPipe,
    loopback: Option<Ipv4Addr>,
    breaches: Breaches,
) -> Result<Store<GuestState>, String> {
    let guest_name = request
        .component
        .file_stem()
        .map_or("guest".into(), |stem| stem.to_string_lossy().into_owned());
    let settings = request.settings;
    let mut wasi = WasiCtx::builder();
    let invocation = &settings.invocation;
    let leading = [guest_name.as_str(), request.scenario];
    let arguments = leading
        .into_iter()
        .chain(invocation.arguments.iter().map(String::as_str));
    wasi.args(&arguments.collect::<Vec<_>>())
        .envs(&invocation.environment)
        .stdin(MemoryInputPipe::new(settings.stdin.clone()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    if let Some(cwd) = &invocation.initial_cwd {
        wasi.initial_cwd(cwd);
    }
    for preopen in request.preopens {
        let perms = match preopen.read_only && !breaches.writable_read_only {
            true => FsPerms::ReadOnly,
            false => FsPerms::ReadWrite,
        };
        wasi.preopened_dir(&preopen.host, &preopen.guest, perms)
            .map_err(|e| format!("cannot preopen {}: {e}", preopen.guest))?;
    }
    if breaches.extra_preopen {
        let cwd = std::env::current_dir()
            .map_err(|e| format!("cannot find the working directory to preopen: {e}"))?;
        wasi.preopened_dir(cwd, EXTRA_PREOPEN, FsPerms::ReadOnly)
            .map_err(|e| format!("cannot preopen the working directory: {e}"))?;
    }
    if let (Some(sockets), Some(own)) = (&settings.sockets, loopback) {
        super::world::sockets::confine(&mut wasi, sockets, own);
    }
    let state = GuestState {
        wasi: wasi.build(),
        http: WasiHttpCtx::new(),
        outgoing: OutgoingHandler::for_run(settings)?,
        table: ResourceTable::new(),
        limits: match breaches.memory_cap {
            false => StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).build(),
            true => StoreLimitsBuilder::new().build(),
        },
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    Ok(store)
}

/// The arguments of a proxy guest's `handle`: the case's request, and the
/// outparam whose response goes to `respond`.
pub(crate) fn handle_arguments(
    store: &mut Store<GuestState>,
    incoming: hyper::Request<WasiBody>,
    respond: tokio::sync::oneshot::Sender<SentResponse>,
) -> wasmtime::Result<(
    Resource<HostIncomingRequest>,
    Resource<HostResponseOutparam>,
)> {
    let mut http = store.data_mut().http();
    let request = http.new_incoming_request(Scheme::Http, incoming)?;
    let outparam = http.new_response_outparam(respond)?;
    Ok((request, outparam))
}

/// The pipes a run's stdout and stderr go to: [`STDOUT_CAPACITY`] and the
/// case's stderr capacity, or no capacity when `breaches` leaves it out.
pub(crate) fn output_pipes(
    request: &RunRequest<'_>,
    breaches: Breaches,
) -> (MemoryOutputPipe, MemoryOutputPipe) {
    let (stdout, stderr) = match breaches.output_cap {
        false => (STDOUT_CAPACITY, request.settings.stderr_capacity),
        true => (usize::MAX, usize::MAX),
    };
    (MemoryOutputPipe::new(stdout), MemoryOutputPipe::new(stderr))
}

/// What `call_run` returned, as an outcome.
pub(crate) fn ended(result: wasmtime::Result<Result<(), ()>>) -> Outcome {
    match result {
        Ok(Ok(())) => Outcome::Completed { exit: 0 },
        Ok(Err(())) => Outcome::Completed { exit: 1 },
        Err(error) => classify(&error),
    }
}

/// Tells an exit, a trap in wasm code and an error raised by the host apart.
fn classify(error: &wasmtime::Error) -> Outcome {
    if let Some(I32Exit(code)) = error.downcast_ref::<I32Exit>() {
        return Outcome::Completed { exit: *code };
    }
    let message = error_text(error);
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => Outcome::Trap(Trap::ByGuest {
            code: crate::outcome::trap_name(trap),
            message,
        }),
        None => Outcome::Trap(Trap::ByHost { message }),
    }
}

/// The error's messages, outermost first, without the wasm backtrace
/// (wasmtime attaches it as the outermost context).
pub(crate) fn error_text(error: &wasmtime::Error) -> String {
    let backtrace = error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(ToString::to_string);
    error
        .chain()
        .filter(|cause| backtrace.as_deref() != Some(&cause.to_string()))
        .map(|cause| cause.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => text.to_string(),
        (_, Some(text)) => text.clone(),
        _ => "a panic with a payload that is not text".into(),
    }
}

/// The self-tests' deliberately faulty import: `witness:guests/faulty`'s
/// `panic-in-host` panics. Only self-test hosts link it, named `*-faulty`.
pub fn selftest_faulty_import(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.instance("witness:guests/faulty")?.func_wrap(
        "panic-in-host",
        |_store: wasmtime::StoreContextMut<'_, GuestState>, (): ()| -> wasmtime::Result<()> {
            panic!("the self-test host panics on purpose")
        },
    )
}

#[cfg(test)]
mod tests {
    use std::hash::{DefaultHasher, Hash, Hasher};

    fn compatibility(engine: &wasmtime::Engine) -> u64 {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.finish()
    }

    /// The pooled engines load what the sync child's engine compiled, and
    /// the other way round: one compilation of each guest serves all three.
    #[test]
    fn every_embedded_engine_shares_one_compilation_of_a_guest() {
        let on_demand = compatibility(&super::engine().unwrap());
        assert_eq!(
            compatibility(&super::in_process_engine(true).unwrap()),
            on_demand
        );
        assert_eq!(
            compatibility(&super::in_process_engine(false).unwrap()),
            on_demand
        );
    }

    #[test]
    fn breaches_go_through_the_environment_and_back() {
        use super::Breaches;
        assert_eq!(Breaches::NONE.to_env(), "");
        assert_eq!(Breaches::from_env(""), Ok(Breaches::NONE));
        let all = Breaches {
            memory_cap: true,
            output_cap: true,
            extra_preopen: true,
            writable_read_only: true,
        };
        assert_eq!(
            all.to_env(),
            "memory-cap,output-cap,extra-preopen,writable-read-only"
        );
        assert_eq!(Breaches::from_env(&all.to_env()), Ok(all));
        assert!(Breaches::from_env("stack").is_err());
    }
}
