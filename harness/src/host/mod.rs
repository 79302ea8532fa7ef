//! Hosts: the WASI implementations a case runs on.

pub mod adapter;
#[cfg(feature = "embedded")]
pub mod compile_cache;
#[cfg(feature = "embedded")]
pub mod naive_filesystem;
pub mod private_network;
pub mod registry;
pub mod responder;
pub mod serve;
pub mod subprocess;
pub mod terminal;
#[cfg(feature = "embedded")]
pub mod wasmtime;
pub mod wasmtime_cli;
#[cfg(feature = "embedded")]
pub mod wasmtime_sync;
pub mod world;

use crate::outcome::HostRun;
use crate::spec::worlds::Needs;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// One run of one guest scenario.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    /// The guest's component file.
    pub component: &'a Path,
    /// `argv[1]`: the scenario to run, or `--list`.
    pub scenario: &'a str,
    pub settings: &'a RunSettings,
    /// The directories granted, laid out by the harness from
    /// `settings.files` for this run.
    pub preopens: &'a [world::files::Granted],
}

/// What a case may set about the world its guest runs in.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    /// After this long the harness stops the guest and records a hang.
    pub deadline: Duration,
    /// The bytes the guest's stdin holds; it is closed after them.
    pub stdin: Vec<u8>,
    /// How many bytes stderr accepts before it reports `closed`.
    pub stderr_capacity: usize,
    /// Arguments, environment, initial working directory and terminals.
    pub invocation: world::cli::Invocation,
    /// The tree laid out for the run and the directories of it the guest
    /// is granted; none without it.
    pub files: Option<world::files::Files>,
    /// How the outgoing handler answers `http://witness.invalid/...`;
    /// without it every outgoing request is refused.
    pub http_response: Option<world::http::HttpResponse>,
    /// The request a proxy guest's incoming handler gets.
    pub http_request: world::http::HttpRequest,
    /// TCP and UDP on the run's own loopback address; none without it.
    pub sockets: Option<world::sockets::Sockets>,
    /// What the guest's world imports (`wasi:http`, ...), and whether it
    /// is a command: a host that cannot confine an import, or run that
    /// kind of guest, cannot run the case.
    pub needs: Needs,
}

impl Default for RunSettings {
    fn default() -> RunSettings {
        RunSettings {
            deadline: Duration::from_secs(10),
            stdin: Vec::new(),
            stderr_capacity: 1 << 20,
            invocation: world::cli::Invocation::default(),
            files: None,
            http_response: None,
            http_request: world::http::HttpRequest::default(),
            sockets: None,
            needs: Needs {
                imports: BTreeSet::new(),
                interfaces: BTreeSet::new(),
                command: true,
            },
        }
    }
}

/// The packages a host must confine to run a guest that imports them: no
/// case may reach a network, nor a server beyond those the harness runs.
const CONFINED_PACKAGES: [&str; 2] = ["wasi:http", "wasi:sockets"];

/// How a host keeps a guest's network to what its case allows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Confinement {
    /// In its own process: it answers wasi:http itself and checks every
    /// socket address against the case (the embedded hosts, witness's own
    /// adapters). Its network is the machine's.
    InProcess,
    /// Its process runs in the harness's [`private_network`], where there
    /// is nothing but loopback to reach (the CLIs, preview2-shim).
    PrivateNetwork,
}

impl RunSettings {
    /// Why a host confining the guest's network as `confinement` says
    /// cannot run these settings' guest, if it cannot.
    pub fn confinable(&self, confinement: Confinement) -> Result<(), String> {
        let sockets = self.sockets.clone().unwrap_or_default();
        match confinement {
            Confinement::InProcess if sockets.private_network => Err(
                "the case aims at addresses this host's confinement refuses before the host itself answers (its network is the machine's): only a host in the private network runs it".into(),
            ),
            Confinement::InProcess if sockets.name_lookup => Err(
                "the case looks names up, which on this host's network, the machine's, asks the machine's resolver: only a host in the private network runs it".into(),
            ),
            Confinement::InProcess
                if (self.http_response.as_ref())
                    .is_some_and(|response| response.error == Some(world::http::HttpError::DnsError)) =>
            {
                Err("the case needs a name that resolves to nothing, where this host's lookups ask the machine's resolver: only a host in the private network runs it".into())
            }
            Confinement::InProcess => Ok(()),
            Confinement::PrivateNetwork => {
                let Some(package) = (CONFINED_PACKAGES.iter())
                    .find(|package| self.needs.imports.contains(**package))
                else {
                    return Ok(());
                };
                private_network::get()
                    .map_err(|problem| format!("the guest imports {package}, and {problem}"))?;
                Ok(())
            }
        }
    }
}

/// A WASI 0.2 implementation that runs guest components.
///
/// A host must turn every way a run can end — a trap, a panic inside its
/// own code, a guest that never returns — into an [`Outcome`]; it must never
/// panic or block past the deadline itself. `Err` is for what is not an
/// outcome of the guest: the host or the run's set-up failed.
pub trait Host: Send + Sync {
    /// The first part of every trial name on this host.
    fn name(&self) -> &str;

    /// `Err` says why this host cannot provide `settings` (a case's `[run]`):
    /// the case is *not applicable* on it, reported as such, never run.
    fn supports(&self, _settings: &RunSettings) -> Result<(), String> {
        Ok(())
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String>;
}

/// Work done once per guest component and process (compiling, pre-linking,
/// transpiling), shared by the trials that run in parallel.
pub(crate) struct PerComponent<T>(Mutex<HashMap<PathBuf, Arc<OnceLock<T>>>>);

impl<T: Clone> PerComponent<T> {
    /// The value for `component`, made by `make` on its first use.
    pub(crate) fn get(&self, component: &Path, make: impl FnOnce() -> T) -> T {
        let slot = self
            .0
            .lock()
            .expect("no panics while locked")
            .entry(component.to_path_buf())
            .or_default()
            .clone();
        slot.get_or_init(make).clone()
    }
}

impl<T> Default for PerComponent<T> {
    fn default() -> Self {
        PerComponent(Mutex::default())
    }
}

/// The names of the [`embedded`] hosts, in their order: what trial names,
/// records files and divergences call them.
pub const EMBEDDED_HOSTS: [&str; 3] = ["wasmtime", "wasmtime-current-thread", "wasmtime-sync"];

/// The embedded wasmtime configurations, each a host of its own: async on a
/// multi-thread runtime (the default), async on a current-thread runtime,
/// and sync in a child process (`sync_program`, `witness-wasmtime-sync`).
#[cfg(feature = "embedded")]
pub fn embedded(cache_dir: PathBuf, sync_program: PathBuf) -> Vec<Arc<dyn Host>> {
    use self::wasmtime::{Flavor, WasmtimeHost};
    vec![
        Arc::new(WasmtimeHost::new(Flavor::MultiThread, cache_dir.clone())),
        Arc::new(WasmtimeHost::new(Flavor::CurrentThread, cache_dir.clone())),
        Arc::new(wasmtime_sync::host(sync_program, cache_dir)),
    ]
}

/// `--host adapter=COMMAND`: any program that speaks the adapter protocol
/// (README, "The adapter protocol"), its arguments after it as a shell
/// would split them, named `given` or else for the program (`my-runtime`
/// for `/opt/my-runtime --flag`: records/my-runtime.toml). It claims no
/// capability beyond the protocol's core.
fn adapter_host(command: &str, given: Option<String>) -> Result<adapter::AdapterHost, String> {
    let words = (shlex::split(command))
        .filter(|words| !words.is_empty())
        .ok_or_else(|| {
            format!("`adapter={command}`: give the adapter's program, then its own arguments, as a shell command line")
        })?;
    let name = given.unwrap_or_else(|| {
        (Path::new(&words[0]).file_stem())
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| words[0].clone())
    });
    let command = words.into_iter().map(Into::into).collect();
    Ok(adapter::AdapterHost::new(
        &name,
        command,
        adapter::Capabilities::default(),
    ))
}

/// Why an embedded host is not in a lean build.
const NOT_IN_THIS_BUILD: &str = "an embedded host, and this witness was built without them (without the `embedded` feature: a packaged suite, or `cargo xtask test` naming only hosts in processes of their own); in a checkout, `cargo xtask test --host wasmtime` builds them";

/// The hosts a run uses, and the known hosts it leaves out with the reason.
pub struct Chosen {
    pub hosts: Vec<Arc<dyn Host>>,
    pub skipped: Vec<(String, String)>,
    /// A host's `--host` value where it is not the host's name
    /// (`wasmtime-cli=PATH`, `NAME:adapter=COMMAND`).
    pub selected_as: BTreeMap<String, String>,
}

/// The hosts of this run, `embedded` those of this build ([`embedded`];
/// none in a build without the `embedded` feature). `wanted` names them
/// (`--host`): hosts of `registry` or `wasmtime-cli=PATH`. Without it, the
/// embedded hosts and the registry's `default` ones (jco) that are ready;
/// with `all` (`--all-hosts`), every known host that is installed. The
/// others are skipped, each with the reason.
pub fn choose(
    registry: &registry::Registry,
    embedded: Vec<Arc<dyn Host>>,
    wanted: &[String],
    all: bool,
) -> Result<Chosen, String> {
    let lean = embedded.is_empty();
    let mut chosen = Chosen {
        hosts: Vec::new(),
        skipped: Vec::new(),
        selected_as: BTreeMap::new(),
    };
    if wanted.is_empty() {
        chosen.hosts = embedded;
        for (name, entry) in &registry.entries {
            if EMBEDDED_HOSTS.contains(&name.as_str()) {
                if lean {
                    chosen
                        .skipped
                        .push((name.clone(), NOT_IN_THIS_BUILD.into()));
                }
                continue;
            }
            match (all || entry.default, registry.status(name, entry)) {
                (true, registry::Status::Ready) => chosen.hosts.push(registry.open(name)?),
                (true, registry::Status::NotInstalled { help }) => {
                    chosen.skipped.push((name.clone(), help))
                }
                (false, _) => chosen.skipped.push((
                    name.clone(),
                    "not selected: --all-hosts or --host runs it".into(),
                )),
            }
        }
        return Ok(chosen);
    }
    for wanted in wanted {
        // `NAME:wasmtime-cli=PATH`, `NAME:adapter=COMMAND`: named by the user.
        let (given, name) = match wanted.split_once(':') {
            Some((given, rest))
                if rest.starts_with("wasmtime-cli=") || rest.starts_with("adapter=") =>
            {
                (Some(given.to_string()), rest)
            }
            _ => (None, wanted.as_str()),
        };
        if let Some(program) = name.strip_prefix("wasmtime-cli=") {
            let host = wasmtime_cli::WasmtimeCliHost::new(PathBuf::from(program), given)?;
            chosen.hosts.push(Arc::new(host));
        } else if let Some(command) = name.strip_prefix("adapter=") {
            chosen.hosts.push(Arc::new(adapter_host(command, given)?));
        } else if let Some(host) = embedded.iter().find(|host| host.name() == name) {
            chosen.hosts.push(host.clone());
        } else if EMBEDDED_HOSTS.contains(&name) {
            return Err(format!("host `{name}`: {NOT_IN_THIS_BUILD}"));
        } else {
            chosen.hosts.push(registry.open(name)?);
        }
        let host = chosen.hosts.last().expect("just chosen").name();
        if host != wanted {
            chosen.selected_as.insert(host.to_string(), wanted.clone());
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_adapter_command_is_split_as_a_shell_would_and_named_for_its_program() {
        use super::Host;
        let host = super::adapter_host("'/opt/my runtime/run-wasi.sh' --fast 'a b'", None);
        assert_eq!(host.unwrap().name(), "run-wasi");
        let host = super::adapter_host("/opt/run-wasi.sh", Some("mine".into()));
        assert_eq!(host.unwrap().name(), "mine");
        assert!(super::adapter_host("'unclosed", None).is_err());
        assert!(super::adapter_host("", None).is_err());
    }

    #[cfg(feature = "embedded")]
    #[test]
    fn the_embedded_hosts_are_named_as_listed() {
        let hosts = super::embedded("cache".into(), "sync".into());
        let names: Vec<&str> = hosts.iter().map(|host| host.name()).collect();
        assert_eq!(names, super::EMBEDDED_HOSTS);
    }
}
