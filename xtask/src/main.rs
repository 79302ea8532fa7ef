//! `cargo xtask <verb>`: witness's developer commands, in plain Rust.

mod bench;
mod guests;
mod package;
mod spec_gate;
mod timelapse;
mod wit;
mod wit_tree;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "witness's developer commands")]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Build the guests and run the conformance suite: every case on every chosen host.
    ///
    /// Installs the wasm32-unknown-unknown target if it is missing and materialises
    /// wit/deps/ first. Arguments after `--` go to the libtest harness:
    /// filters, `--exact`, `--list`, `--ignored`, `--test-threads`.
    Test {
        /// Run against another spec: a WIT tree in wit/'s layout (witness.wit
        /// and deps/). The guests are rebuilt against it in target/spec-gate/,
        /// every case's citation is checked against it, and the failures name
        /// each case whose clause changed or is gone, whose guest no longer
        /// builds, which no longer links, or whose outcome changed.
        #[arg(long, value_name = "DIR")]
        wit: Option<PathBuf>,
        #[command(flatten)]
        hosts: Hosts,
        #[command(flatten)]
        reports: Reports,
        /// Run each case N times; a trial fails on the first run that fails,
        /// or whose outcome or observations vary beyond what its record lists.
        #[arg(long, value_name = "N", default_value_t = 1)]
        repeat: u32,
        /// libtest arguments, e.g. `-- --exact wasmtime::poll::empty-list`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        libtest: Vec<String>,
    },
    /// Record what each host did into records/<host>.toml, and print the diff.
    ///
    /// Runs the selected cases like `test`, then writes each host's
    /// observed outcome where its record no longer matches (comments, key
    /// order and formatting kept; a record that matches is left as it is, so
    /// blessing twice changes nothing). It never edits a case file: a spec
    /// violation still fails until a person adds a [[divergence]] with its
    /// upstream issue or draft. The drafts in upstream/, which quote the
    /// records, are regenerated after.
    Bless {
        #[command(flatten)]
        hosts: Hosts,
        /// Only trials whose name contains this, e.g. `poll::` or
        /// `poll::empty-list` (libtest's filter).
        filter: Option<String>,
        /// Only the trial the filter names whole, e.g.
        /// `wasmtime::poll::empty-list` (as a failure's command gives it).
        #[arg(long, requires = "filter")]
        exact: bool,
    },
    /// Run the harness's own tests: unit tests and self-tests that prove it
    /// can fail (wrong expectations, guest panics, hangs, a panicking host).
    Selftest {
        /// Arguments for the test binaries, e.g. `-- --nocapture`, or
        /// `-- --ignored --exact bless_the_selftest_records`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        libtest: Vec<String>,
    },
    /// Build the guest components against wit/ (wasm32-unknown-unknown + wit-component).
    BuildGuests,
    /// Trace cases to the WIT: check citations, measure coverage.
    Spec {
        #[command(subcommand)]
        verb: SpecVerb,
    },
    /// List the hosts witness knows (hosts.toml) and whether each is installed;
    /// `install NAME...` installs hosts under target/hosts/.
    Hosts {
        /// `list` (the default) or `install NAME...`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        arguments: Vec<String>,
    },
    /// Work with the WIT the guests are built against.
    Wit {
        #[command(subcommand)]
        verb: WitVerb,
    },
    /// What changed between two runs written by `test --json`: new
    /// violations, fixed divergences, changed applicability, verdicts,
    /// behaviour and messages, trials added or gone. Exits 1 when a trial
    /// newly violates the spec.
    Diff {
        /// The earlier run's JSON.
        old: PathBuf,
        /// The later run's JSON.
        new: PathBuf,
    },
    /// Write the draft upstream issues in upstream/ from the committed
    /// evidence: one per divergence whose issue is not filed yet (to the
    /// host's repository), one per WIT item that silent cases ask about (to
    /// WebAssembly/WASI). Each quotes the clause or question, every host's
    /// record side by side, the guest's code and how to reproduce the case
    /// without witness. Titles, causes and proposed resolutions are written
    /// by hand in upstream/<draft>.toml.
    Upstream {
        /// Write nothing; fail when a draft is stale, missing or orphaned
        /// (`spec check` does this too).
        #[arg(long)]
        check: bool,
        /// Also build the guests and copy each draft's components to
        /// target/witness/upstream/<draft>/, to attach to the issue.
        #[arg(long)]
        components: bool,
    },
    /// Benchmark the hosts side by side: the same cases (those every
    /// installed host runs and none waits on) on each, per-case median and
    /// p95 and their ratios to the `wasmtime` host; then the suite's wall
    /// time and peak memory on the default hosts. Nothing asserts on time.
    Bench {
        /// Timed runs of each case on each host, after one warm-up run.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// Also print each case's median on each host.
        #[arg(long)]
        per_case: bool,
    },
    /// Package the suite for CI jobs with no Rust toolchain: one archive
    /// with the built guests, the cases, records, hosts registry, WIT and
    /// adapters, and a runner built for this platform without the embedded
    /// hosts (`./witness test --host wasmtime-cli=PATH --json out.json
    /// --junit out.xml`). Its manifest (witness-package.toml) names the
    /// commit, the WASI release and each guest's digest; the runner refuses
    /// guests other than those.
    Package {
        /// Where to write the archive.
        #[arg(long, value_name = "DIR", default_value = "target/package")]
        out: PathBuf,
        /// What the package is made of, for its manifest, where this is no
        /// git checkout (an action's download): `owner/witness@v1`.
        #[arg(long, value_name = "REF")]
        commit: Option<String>,
    },
    /// Run every case across the hosts of timelapse.toml (wasmtime's CLIs
    /// from 17, jco from 1.0 with its preview2-shim, and the WASI release
    /// columns: the newest CLI with the guests of each WASI 0.2 release),
    /// each kind oldest first, installing those missing, each host with the
    /// guests of the WASI release it implements. History, not a gate:
    /// nothing fails and records only say what varies. Names, per case, the first
    /// release of each kind that behaved otherwise than the one before; the
    /// matrix goes to target/witness/timelapse.json and, from a run on every
    /// host, the findings to history.toml (then `cargo xtask upstream`).
    Timelapse {
        /// Only cases whose name contains this, e.g. `poll::empty-list`.
        filter: Option<String>,
        /// Only these hosts of timelapse.toml (repeatable).
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
        /// Between two neighbouring releases that behave differently,
        /// install and run only the releases (from crates.io, PyPI, npm)
        /// that pinpoint the first to behave the new way; they join
        /// timelapse.toml.
        #[arg(long)]
        bisect: bool,
        /// Leave out the WASI release columns (the newest wasmtime CLI
        /// with the guests of every WASI 0.2 release a crate ships), which
        /// a run on every host has.
        #[arg(long)]
        no_wasi_releases: bool,
        /// Run every case afresh, rather than take what an earlier run of
        /// the same harness saw on the same release of a host
        /// (target/timelapse/cells/).
        #[arg(long)]
        fresh: bool,
        /// Run nothing: write history.toml again from the matrix an earlier
        /// run on every host saved (target/witness/timelapse.json), as
        /// this harness summarises it.
        #[arg(long, value_name = "JSON", conflicts_with_all = ["filter", "hosts", "bisect", "fresh"])]
        from_matrix: Option<PathBuf>,
    },
    /// Write a self-contained HTML page of a run: the case × host matrix
    /// with verdicts, filters by family, host and verdict, each cell
    /// opening the clause, what the spec allows, the record, what was
    /// observed and the reproduce command. Prints the page's path.
    Report {
        /// The run's JSON (`test --json`); default: the last run's.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Default: target/witness/report.html.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Add a time-lapse's view: the JSON `cargo xtask timelapse` wrote
        /// (target/witness/timelapse.json).
        #[arg(long, value_name = "FILE")]
        timelapse: Option<PathBuf>,
    },
}

/// Which hosts run the cases.
#[derive(clap::Args, Clone, Default)]
struct Hosts {
    /// Run on this host (repeatable): a name from hosts.toml (`cargo xtask
    /// hosts` lists them), `wasmtime-cli=PATH` for any wasmtime CLI, or
    /// `adapter=COMMAND` for any program that speaks the adapter protocol
    /// (an absolute path: the suite runs in harness/); `NAME:` before
    /// either names it (records/NAME.toml).
    /// Default: the embedded hosts, and jco where Node is.
    #[arg(long = "host", value_name = "NAME")]
    names: Vec<String>,
    /// Run on every host that is installed; say which are skipped, and why.
    #[arg(long, conflicts_with = "names")]
    all_hosts: bool,
}

impl Hosts {
    /// Each host named: `--host a,b` is two, as the suite reads them.
    fn each(&self) -> impl Iterator<Item = &str> {
        (self.names.iter())
            .flat_map(|names| names.split(','))
            .map(str::trim)
    }
}

/// Where to write the run's results for CI.
#[derive(clap::Args, Clone)]
struct Reports {
    /// Write every trial's result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write every trial's result as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

impl Reports {
    fn none() -> Reports {
        Reports {
            json: None,
            junit: None,
        }
    }
}

#[derive(Subcommand)]
enum SpecVerb {
    /// Fail when a case quotes a clause its WIT item no longer says, or the item is gone.
    Check {
        /// The WIT tree to check against (default: wit/).
        #[arg(long, value_name = "DIR")]
        wit: Option<PathBuf>,
    },
    /// The coverage ledger of every WASI package: per package, the functions
    /// the cases call, the clauses and trap clauses they cite, the error
    /// codes they see hosts return. Fails when a clause of wasi:io/poll or
    /// monotonic-clock is neither covered nor approached.
    Coverage {
        /// The WIT tree to measure (default: wit/).
        #[arg(long, value_name = "DIR")]
        wit: Option<PathBuf>,
        /// List every open item: the work left, with the reason out-of-reach.toml gives.
        #[arg(long)]
        open: bool,
        /// List every item with its cases and hosts.
        #[arg(long)]
        entries: bool,
        /// Fail when a figure fell below its floor in coverage.toml.
        #[arg(long)]
        check: bool,
        /// Rewrite coverage.toml with the current figures (none may have fallen).
        #[arg(long)]
        raise_floor: bool,
        /// The run whose hosts to name (default: the last run's JSON).
        #[arg(long, value_name = "FILE")]
        results: Option<PathBuf>,
    },
    /// Record in wit/documents.lock the sentences of a document the WIT
    /// links (no package ships one; witness commits only their hashes), so
    /// that cases can quote it: FILE is the release's copy, e.g. a WASI
    /// checkout's proposals/sockets/TcpSocketOperationalSemantics.md.
    LockDocument {
        file: PathBuf,
        /// The package whose docs link it, e.g. wasi:sockets.
        #[arg(long)]
        package: String,
        /// The WASI release the copy is from, e.g. 0.2.12.
        #[arg(long)]
        release: String,
        /// The copy's address at the release's tag.
        #[arg(long)]
        source: String,
    },
}

#[derive(Subcommand)]
enum WitVerb {
    /// Copy the WASI 0.2 packages from the pinned wasmtime-wasi crate into
    /// wit/deps/ and check them against wit/deps.lock.
    Sync {
        /// Rewrite wit/deps.lock from the pinned crate instead of checking
        /// against it (after changing the wasmtime-wasi version on purpose).
        #[arg(long)]
        update_lock: bool,
    },
    /// Materialise an older WASI 0.2 release from the crate that ships it
    /// into target/wit-fixtures/NAME/, for `test --wit` (wasi-0.2.0), and
    /// print its path; checked against wit/fixtures/NAME.lock.
    Fixture {
        name: String,
        /// Rewrite the fixture's lock instead of checking against it.
        #[arg(long)]
        update_lock: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = workspace_root();
    match cli.verb {
        Verb::Test {
            wit,
            hosts,
            reports,
            repeat,
            libtest,
        } => {
            let build = Build::of(&root, &hosts)?;
            let mut test = suite(&root, build, &hosts, &reports, &libtest)?;
            test.env("WITNESS_REPEAT", repeat.to_string());
            match wit {
                None => {
                    // Listing runs nothing, so it needs no guests: keep it instant.
                    if !libtest.iter().any(|arg| arg == "--list") {
                        prepare(&root, build, &hosts)?;
                    }
                    status(test)
                }
                Some(wit) => {
                    wit::sync(&root, false)?;
                    spec_gate::run(&root, &std::path::absolute(wit)?, test)
                }
            }
        }
        Verb::Bless {
            hosts,
            filter,
            exact,
        } => {
            let build = Build::of(&root, &hosts)?;
            prepare(&root, build, &hosts)?;
            let libtest: Vec<String> = (filter.into_iter())
                .chain(exact.then(|| "--exact".to_string()))
                .collect();
            let mut bless = suite(&root, build, &hosts, &Reports::none(), &libtest)?;
            bless.env("WITNESS_BLESS", "1");
            let blessed = status(bless)?;
            // The drafts in upstream/ quote the records: keep them in step.
            succeed(witness_spec(&root, "upstream", None))?;
            Ok(blessed)
        }
        Verb::Selftest { libtest } => {
            prepare(&root, Build::Full, &Hosts::default())?;
            // One package at a time: `--workspace` would resolve features
            // across xtask too, and build wasmtime a second time, apart
            // from the suite's build.
            let mut test = cargo(&root);
            test.args([
                "test",
                "--package",
                "witness",
                "--lib",
                "--bins",
                "--test",
                "selftest",
                "--test",
                "drafts",
                "--test",
                "coverage",
            ])
            .arg("--")
            .args(&libtest);
            if status(test)? != ExitCode::SUCCESS {
                return Ok(ExitCode::FAILURE);
            }
            let mut test = cargo(&root);
            test.args(["test", "--package", "xtask", "--"])
                .args(&libtest);
            status(test)
        }
        Verb::BuildGuests => {
            prepare(&root, Build::Full, &Hosts::default())?;
            Ok(ExitCode::SUCCESS)
        }
        Verb::Spec { verb } => {
            let (verb, wit, options) = match verb {
                SpecVerb::LockDocument {
                    file,
                    package,
                    release,
                    source,
                } => {
                    let mut lock = witness_spec(&root, "lock-document", None);
                    lock.arg(std::path::absolute(file)?).args([
                        "--package",
                        &package,
                        "--release",
                        &release,
                        "--source",
                        &source,
                    ]);
                    return status(lock);
                }
                SpecVerb::Check { wit } => ("check", wit, Vec::new()),
                SpecVerb::Coverage {
                    wit,
                    open,
                    entries,
                    check,
                    raise_floor,
                    results,
                } => {
                    let flags = [
                        (open, "--open"),
                        (entries, "--entries"),
                        (check, "--check"),
                        (raise_floor, "--raise-floor"),
                    ];
                    let mut options: Vec<std::ffi::OsString> = (flags.iter())
                        .filter(|(set, _)| *set)
                        .map(|(_, flag)| flag.into())
                        .collect();
                    if let Some(results) = results {
                        options.extend(["--results".into(), std::path::absolute(results)?.into()]);
                    }
                    ("coverage", wit, options)
                }
            };
            wit::sync(&root, false)?;
            let copy = spec_gate::work_dir(&root).join("wit");
            if let Some(wit) = &wit {
                wit_tree::prepare(&root, &std::path::absolute(wit)?, &copy)?;
            }
            let mut spec = witness_spec(&root, verb, wit.map(|_| copy.as_path()));
            spec.args(options);
            status(spec)
        }
        Verb::Upstream { check, components } => {
            let mut upstream = witness_spec(&root, "upstream", None);
            if check {
                upstream.arg("--check");
            }
            if components {
                prepare(&root, Build::Full, &Hosts::default())?;
                upstream
                    .arg("--components")
                    .arg(root.join("target/witness/upstream"));
            }
            status(upstream)
        }
        Verb::Bench { runs, per_case } => {
            prepare(&root, Build::Full, &Hosts::default())?;
            let mut bench = witness_bin(&root, Build::Full, "witness-bench");
            bench
                .env("WITNESS_ALL_HOSTS", "1")
                .arg(format!("--runs={runs}"));
            if per_case {
                bench.arg("--per-case");
            }
            succeed(bench)?;
            // Built first: neither the wall time nor the peak memory may be rustc's.
            let mut build = cargo(&root);
            build.args([
                "test",
                "--quiet",
                "--package",
                "witness",
                "--test",
                "suite",
                "--no-run",
            ]);
            succeed(build)?;
            bench::suite_wall_time_and_memory(suite(
                &root,
                Build::Full,
                &Hosts::default(),
                &Reports::none(),
                &[],
            )?)
        }
        Verb::Timelapse {
            filter,
            hosts,
            bisect,
            no_wasi_releases,
            fresh,
            from_matrix,
        } => {
            prepare(&root, Build::Full, &Hosts::default())?;
            let mut timelapse = witness_bin(&root, Build::Full, "witness-timelapse");
            if let Some(matrix) = from_matrix {
                timelapse
                    .arg("--from-matrix")
                    .arg(std::path::absolute(matrix)?);
                return status(timelapse);
            }
            let wasi_releases = hosts.is_empty() && !no_wasi_releases;
            for (release, work) in timelapse::guests_per_release(&root, &hosts, wasi_releases)? {
                timelapse
                    .arg("--guests")
                    .arg(format!("{release}={}", work.display()));
            }
            if wasi_releases {
                timelapse.arg("--wasi-releases");
            }
            if bisect {
                timelapse.arg("--bisect");
            }
            if fresh {
                timelapse.arg("--fresh");
            }
            timelapse.args(filter);
            for host in hosts {
                timelapse.arg("--host").arg(host);
            }
            status(timelapse)
        }
        Verb::Package { out, commit } => {
            let archive = package::make(&root, &std::path::absolute(out)?, commit)?;
            println!("{}", archive.display());
            Ok(ExitCode::SUCCESS)
        }
        Verb::Hosts { arguments } => status(witness_hosts(&root, Build::Full, &arguments)),
        Verb::Report {
            json,
            out,
            timelapse,
        } => {
            let mut report = witness_bin(&root, Build::Full, "witness-report");
            for (flag, path) in [("--json", json), ("--out", out), ("--timelapse", timelapse)] {
                if let Some(path) = path {
                    report.arg(flag).arg(std::path::absolute(path)?);
                }
            }
            status(report)
        }
        Verb::Diff { old, new } => {
            let mut diff = witness_bin(&root, Build::Full, "witness-diff");
            diff.arg(old).arg(new);
            status(diff)
        }
        Verb::Wit {
            verb: WitVerb::Sync { update_lock },
        } => {
            wit::sync(&root, update_lock)?;
            Ok(ExitCode::SUCCESS)
        }
        Verb::Wit {
            verb: WitVerb::Fixture { name, update_lock },
        } => {
            println!("{}", wit::fixture(&root, &name, update_lock)?.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Everything a run needs before the harness starts: the WIT deps in
/// place, the guests built against them, the harness's programs built, and
/// the default hosts installed (jco, where Node is). The harness builds
/// beside the guests: their builds lock different directories, and on a
/// fresh clone the guests' build then hides inside the harness's.
fn prepare(root: &Path, build: Build, hosts: &Hosts) -> Result<()> {
    match build {
        Build::Full => {
            eprintln!("building the guests and the harness (about 5 minutes on a fresh clone)")
        }
        Build::Lean => eprintln!(
            "building the guests and the harness without the embedded hosts, as no host of this run is one"
        ),
    }
    let mut harness = cargo(root);
    harness
        .args(["build", "--quiet", "--package", "witness", "--bins"])
        .args(build.features());
    build_beside_guests(root, harness)?;
    // The hosts of hosts.toml this run names, or else the defaults, that
    // are not installed yet.
    let named: Vec<String> = (hosts.each())
        .filter(|name| !name.contains('='))
        .map(str::to_string)
        .collect();
    let mut install = vec!["install".to_string()];
    match named.is_empty() && hosts.names.is_empty() {
        true => install.push("--defaults".into()),
        false if named.is_empty() => return Ok(()),
        false => install.extend(std::iter::once("--missing".to_string()).chain(named)),
    }
    succeed(witness_hosts(root, build, &install))
}

/// Builds the guests (target/components/) while `harness` builds the harness.
fn build_beside_guests(root: &Path, mut harness: Command) -> Result<()> {
    wit::sync(root, false)?;
    guests::ensure_target(root)?;
    // Both quiet: two cargos' progress would only garble each other (and
    // the package cache's lock makes one wait for the other, saying so).
    let description = format!("{harness:?}");
    let mut harness = harness
        .spawn()
        .context("cannot start cargo to build the harness")?;
    let mut guests = guests::build(root, &root.join("guests"), &root.join("target"), None);
    guests.arg("--quiet");
    let guests = succeed(guests);
    if guests.is_err() {
        let _ = harness.kill();
    }
    let harness = harness
        .wait()
        .context("cannot wait for the harness's build")?;
    guests?;
    let target_dir = root.join("target");
    for guest in guests::names(&root.join("guests"))? {
        guests::componentize(&target_dir, &guest)?;
    }
    if !harness.success() {
        bail!("the harness does not build: {description} failed");
    }
    Ok(())
}

/// Which harness a verb builds: with the embedded wasmtime hosts, or lean,
/// without them (harness/Cargo.toml's `embedded` feature off), when every
/// host a run names is a process of its own: then no wasmtime is compiled.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Build {
    Full,
    Lean,
}

impl Build {
    /// Lean when `hosts` names hosts and none is embedded (hosts.toml's
    /// `kind = "embedded"`).
    fn of(root: &Path, hosts: &Hosts) -> Result<Build> {
        if hosts.names.is_empty() {
            return Ok(Build::Full);
        }
        let path = root.join("hosts.toml");
        let registry: toml::Table = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .parse()
            .with_context(|| format!("{} does not parse", path.display()))?;
        let embedded = |name: &String| {
            (registry.get(name))
                .and_then(|entry| entry.get("kind"))
                .is_some_and(|kind| kind.as_str() == Some("embedded"))
        };
        Ok(match hosts.each().any(|name| embedded(&name.to_string())) {
            true => Build::Full,
            false => Build::Lean,
        })
    }

    /// cargo's arguments for this build of the witness package.
    fn features(self) -> &'static [&'static str] {
        match self {
            Build::Full => &[],
            Build::Lean => &["--no-default-features"],
        }
    }
}

/// `cargo run` of one of the harness's programs; its arguments follow.
fn witness_bin(root: &Path, build: Build, program: &str) -> Command {
    let mut run = cargo(root);
    run.args(["run", "--quiet", "--package", "witness"])
        .args(build.features())
        .args(["--bin", program, "--"]);
    run
}

/// `witness hosts <arguments>`: list and install hosts.
fn witness_hosts(root: &Path, build: Build, arguments: &[String]) -> Command {
    let mut hosts = witness_bin(root, build, "witness");
    hosts.arg("hosts").args(arguments);
    hosts
}

/// The conformance suite's test binary, on the chosen hosts, with
/// libtest's arguments.
fn suite(
    root: &Path,
    build: Build,
    hosts: &Hosts,
    reports: &Reports,
    libtest: &[String],
) -> Result<Command> {
    let mut test = cargo(root);
    test.args(["test", "--package", "witness"])
        .args(build.features())
        .args(["--test", "suite", "--"])
        .args(libtest);
    if !hosts.names.is_empty() {
        // The test binary runs in harness/: a program's path must not be relative.
        let mut names = Vec::new();
        for name in hosts.each() {
            names.push(match name.split_once('=') {
                // `wasmtime-cli=PATH`, or named: `NAME:wasmtime-cli=PATH`.
                Some((kind, program))
                    if kind == "wasmtime-cli" || kind.ends_with(":wasmtime-cli") =>
                {
                    format!("{kind}={}", std::path::absolute(program)?.display())
                }
                // An adapter's command line is the user's to make absolute.
                _ => name.to_string(),
            });
        }
        test.env("WITNESS_HOSTS", names.join(","));
    }
    if hosts.all_hosts {
        test.env("WITNESS_ALL_HOSTS", "1");
    }
    for (variable, path) in [
        ("WITNESS_JSON", &reports.json),
        ("WITNESS_JUNIT", &reports.junit),
    ] {
        if let Some(path) = path {
            test.env(variable, std::path::absolute(path)?);
        }
    }
    Ok(test)
}

/// `witness-spec <verb>`: citations and coverage, against `wit` or wit/.
fn witness_spec(root: &Path, verb: &str, wit: Option<&Path>) -> Command {
    let mut spec = witness_bin(root, Build::Full, "witness-spec");
    spec.arg(verb);
    if let Some(wit) = wit {
        spec.arg("--wit").arg(wit);
    }
    spec
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ sits inside the workspace")
        .to_path_buf()
}

/// `cargo`, as the one that runs this xtask.
fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

/// Runs `command`, passing its exit code on.
fn status(mut command: Command) -> Result<ExitCode> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    match status.code() {
        Some(0) => Ok(ExitCode::SUCCESS),
        Some(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        None => bail!("{command:?} was killed: {status}"),
    }
}

/// Runs `command` and fails unless it succeeds.
fn succeed(command: Command) -> Result<()> {
    let description = format!("{command:?}");
    if status(command)? != ExitCode::SUCCESS {
        bail!("{description} failed");
    }
    Ok(())
}
