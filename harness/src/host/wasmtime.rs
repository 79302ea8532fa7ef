//! The embedded wasmtime 48 host: `wasmtime-wasi`'s WASI 0.2, async on tokio.
//!
//! One Engine for the process; each guest compiled once (and kept in
//! wasmtime's on-disk cache across processes) and pre-linked once; a fresh
//! Store per run with its own pipes and limits.

use super::{Host, HostRun, RunRequest};
use crate::outcome::{Outcome, Trap};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline,
};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxView, WasiView};

/// How often running wasm yields to tokio, so that a deadline can stop a
/// guest spinning in pure wasm as well as one blocked in a host call.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// stdout carries the observations: room for plenty of them.
const STDOUT_CAPACITY: usize = 1 << 20;
/// Where a case's scratch directory appears to the guest.
const SCRATCH_DIR: &str = "/scratch";
/// A guest's linear memories may not grow past this.
const MEMORY_LIMIT: usize = 256 << 20;

/// The state a guest's Store carries.
pub struct GuestState {
    wasi: WasiCtx,
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

/// Adds imports beyond WASI to the linker (the self-tests' faulty host).
pub type ExtraImports = fn(&mut Linker<GuestState>) -> wasmtime::Result<()>;

/// wasmtime embedded in this process.
pub struct WasmtimeHost {
    name: String,
    cache_dir: PathBuf,
    extra_imports: Option<ExtraImports>,
    /// Built on first use, so that listing trials costs nothing.
    runtime: OnceLock<Runtime>,
}

/// A guest compiled and pre-linked, or why it cannot be instantiated.
type Prepared = Result<CommandPre<GuestState>, String>;

struct Runtime {
    engine: Engine,
    linker: Linker<GuestState>,
    tokio: tokio::runtime::Runtime,
    prepared: Mutex<HashMap<PathBuf, Arc<OnceLock<Prepared>>>>,
}

impl WasmtimeHost {
    /// The default host, named `wasmtime`.
    pub fn new(cache_dir: PathBuf) -> WasmtimeHost {
        WasmtimeHost {
            name: "wasmtime".into(),
            cache_dir,
            extra_imports: None,
            runtime: OnceLock::new(),
        }
    }

    /// A host with imports added beyond WASI, under another name. Only the
    /// harness's self-tests use this, to link a deliberately faulty import.
    pub fn with_extra_imports(
        name: &str,
        cache_dir: PathBuf,
        extra_imports: ExtraImports,
    ) -> WasmtimeHost {
        WasmtimeHost {
            name: name.into(),
            cache_dir,
            extra_imports: Some(extra_imports),
            runtime: OnceLock::new(),
        }
    }

    fn runtime(&self) -> Result<&Runtime, String> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let runtime =
            Runtime::new(&self.cache_dir, self.extra_imports).map_err(|e| format!("{e:?}"))?;
        Ok(self.runtime.get_or_init(|| runtime))
    }
}

impl Runtime {
    fn new(cache_dir: &Path, extra_imports: Option<ExtraImports>) -> wasmtime::Result<Runtime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let mut cache = CacheConfig::new();
        cache.with_directory(cache_dir);
        config.cache(Some(Cache::new(cache)?));
        let engine = Engine::new(&config)?;
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
        if let Some(extra_imports) = extra_imports {
            extra_imports(&mut linker)?;
        }
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(Runtime {
            engine,
            linker,
            tokio,
            prepared: Mutex::default(),
        })
    }

    /// The guest compiled and pre-linked, once per process; `Err` says why
    /// it cannot be instantiated.
    fn prepare(&self, component: &Path) -> Prepared {
        let slot = self
            .prepared
            .lock()
            .expect("no panics while locked")
            .entry(component.to_path_buf())
            .or_default()
            .clone();
        slot.get_or_init(|| {
            let compiled =
                Component::from_file(&self.engine, component).map_err(|e| error_text(&e))?;
            self.linker
                .instantiate_pre(&compiled)
                .and_then(CommandPre::new)
                .map_err(|e| error_text(&e))
        })
        .clone()
    }

    fn run(
        &self,
        request: &RunRequest<'_>,
        stdout: &MemoryOutputPipe,
        stderr: &MemoryOutputPipe,
    ) -> Result<Outcome, String> {
        let pre = match self.prepare(request.component) {
            Err(message) => return Ok(Outcome::LinkError { message }),
            Ok(pre) => pre,
        };
        let guest_name = request
            .component
            .file_stem()
            .map_or("guest".into(), |stem| stem.to_string_lossy().into_owned());
        let settings = request.settings;
        let mut wasi = WasiCtx::builder();
        wasi.args(&[guest_name.as_str(), request.scenario])
            .stdin(MemoryInputPipe::new(settings.stdin.clone()))
            .stdout(stdout.clone())
            .stderr(stderr.clone());
        // Lives until the run ends: the directory is deleted on drop.
        let scratch = settings
            .scratch_dir
            .then(tempfile::tempdir)
            .transpose()
            .map_err(|e| format!("cannot create the scratch directory: {e}"))?;
        if let Some(dir) = &scratch {
            wasi.preopened_dir(dir.path(), SCRATCH_DIR, FsPerms::ReadWrite)
                .map_err(|e| format!("cannot preopen the scratch directory: {e}"))?;
        }
        let wasi = wasi.build();
        let state = GuestState {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new().memory_size(MEMORY_LIMIT).build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        let deadline = settings.deadline;
        self.tokio.block_on(async move {
            // A task of its own: a panic in host code ends the task, not the
            // harness, and `abort` stops a guest that outlives its deadline.
            let task = tokio::spawn(async move {
                let command = pre.instantiate_async(&mut store).await?;
                command.wasi_cli_run().call_run(&mut store).await
            });
            let abort = task.abort_handle();
            Ok(match tokio::time::timeout(deadline, task).await {
                Err(_elapsed) => {
                    abort.abort();
                    Outcome::Hang { deadline }
                }
                Ok(Err(join_error)) => match join_error.try_into_panic() {
                    Ok(payload) => Outcome::HostPanic {
                        message: panic_text(payload.as_ref()),
                    },
                    // Only a runtime shutting down cancels the task.
                    Err(cancelled) => return Err(format!("the run was cancelled: {cancelled}")),
                },
                Ok(Ok(Ok(Ok(())))) => Outcome::Completed { exit: 0 },
                Ok(Ok(Ok(Err(())))) => Outcome::Completed { exit: 1 },
                Ok(Ok(Err(error))) => classify(&error),
            })
        })
    }
}

impl Host for WasmtimeHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String> {
        let stdout = MemoryOutputPipe::new(STDOUT_CAPACITY);
        let stderr = MemoryOutputPipe::new(request.settings.stderr_capacity);
        let runtime = self
            .runtime()
            .map_err(|e| format!("the wasmtime host could not start: {e}"))?;
        let outcome = runtime.run(request, &stdout, &stderr)?;
        Ok(HostRun {
            outcome,
            stdout: stdout.contents().to_vec(),
            stderr: stderr.contents().to_vec(),
        })
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
            code: kebab_case(&format!("{trap:?}")),
            message,
        }),
        None => Outcome::Trap(Trap::ByHost { message }),
    }
}

/// The error's messages, outermost first, without the wasm backtrace
/// (wasmtime attaches it as the outermost context).
fn error_text(error: &wasmtime::Error) -> String {
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

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => text.to_string(),
        (_, Some(text)) => text.clone(),
        _ => "a panic with a payload that is not text".into(),
    }
}

/// `UnreachableCodeReached` → `unreachable-code-reached`.
fn kebab_case(name: &str) -> String {
    let mut kebab = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            kebab.push('-');
        }
        kebab.extend(c.to_lowercase());
    }
    kebab
}

#[cfg(test)]
mod tests {
    #[test]
    fn trap_names_become_kebab_case() {
        assert_eq!(
            super::kebab_case("UnreachableCodeReached"),
            "unreachable-code-reached"
        );
        assert_eq!(super::kebab_case("Interrupt"), "interrupt");
    }
}
