//! `witness-wasmtime-sync`: the `wasmtime-sync` host's adapter. It runs one
//! guest scenario on wasmtime with the sync WASI linker and speaks the
//! adapter protocol (host/adapter/mod.rs): the guest's stdin is this process's
//! stdin, its stdout and stderr are written to this process's, and how the
//! run ended goes to the reply file. At the deadline it replies `hang` and
//! returns from `main`, which ends the guest's thread with the process.

use clap::Parser;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use witness::host::RunSettings;
use witness::host::wasmtime_sync::{prepare, run_here};
use witness::host::world::cli::Invocation;
use witness::host::world::files::Granted;
use witness::host::world::http::{HttpRequest, HttpResponse};
use witness::host::world::sockets::Sockets;

#[derive(Parser)]
#[command(
    name = "witness-wasmtime-sync",
    about = "Run one guest scenario on wasmtime's sync WASI linker (the adapter protocol)"
)]
struct Cli {
    /// The guest component.
    #[arg(long)]
    component: PathBuf,
    /// Compile the component into the cache and stop: before any run is timed.
    #[arg(long)]
    prepare: bool,
    /// argv[1] of the guest.
    #[arg(long, allow_hyphen_values = true, required_unless_present = "prepare")]
    scenario: Option<String>,
    /// Where to write how the run ended, as JSON.
    #[arg(long, required_unless_present = "prepare")]
    reply: Option<PathBuf>,
    /// After this many milliseconds the run is a hang.
    #[arg(long, default_value_t = 10_000)]
    deadline_ms: u64,
    /// HOST::GUEST: preopen the directory HOST at GUEST (repeatable).
    #[arg(long)]
    dir: Vec<String>,
    /// HOST::GUEST: preopen the directory HOST at GUEST, read-only (repeatable).
    #[arg(long)]
    read_only_dir: Vec<String>,
    /// A further argument after the scenario (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    argument: Vec<String>,
    /// NAME=VALUE: an environment variable, in order (repeatable).
    #[arg(long, allow_hyphen_values = true, value_parser = assignment)]
    env: Vec<(String, String)>,
    /// What initial-cwd returns.
    #[arg(long)]
    initial_cwd: Option<String>,
    /// Bytes stderr accepts before it reports closed.
    #[arg(long, default_value_t = 1 << 20)]
    stderr_capacity: usize,
    /// JSON: how the outgoing handler answers http://witness.invalid.
    #[arg(long, value_parser = json::<HttpResponse>)]
    http_response: Option<HttpResponse>,
    /// JSON: the request a proxy guest gets.
    #[arg(long, value_parser = json::<HttpRequest>)]
    http_request: Option<HttpRequest>,
    /// JSON: TCP and UDP on the --loopback address, and the grants.
    #[arg(long, value_parser = json::<Sockets>, requires = "loopback")]
    sockets: Option<Sockets>,
    /// The run's own loopback address.
    #[arg(long, requires = "sockets")]
    loopback: Option<Ipv4Addr>,
    /// wasmtime's compile cache.
    #[arg(long)]
    cache_dir: PathBuf,
    /// Self-tests only: link witness:guests/faulty, whose import panics on purpose.
    #[arg(long)]
    selftest_faulty_import: bool,
}

fn assignment(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or("NAME=VALUE has no `=`")?;
    Ok((name.into(), value.into()))
}

fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.prepare {
        return match prepare(&cli.component, &cli.cache_dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let (Some(scenario), Some(reply_file)) = (&cli.scenario, &cli.reply) else {
        unreachable!("clap requires --scenario and --reply without --prepare");
    };
    let mut stdin = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut stdin) {
        eprintln!("error: cannot read the guest's stdin: {e}");
        return ExitCode::FAILURE;
    }
    let preopens: Result<Vec<Granted>, String> =
        (cli.dir.iter().map(|dir| Granted::parse(dir, false)))
            .chain(
                cli.read_only_dir
                    .iter()
                    .map(|dir| Granted::parse(dir, true)),
            )
            .collect();
    let preopens = match preopens {
        Ok(preopens) => preopens,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let settings = RunSettings {
        stdin,
        stderr_capacity: cli.stderr_capacity,
        invocation: Invocation {
            arguments: cli.argument,
            environment: cli.env,
            initial_cwd: cli.initial_cwd,
            // The adapter has no terminal capability: none comes here.
            terminal: Default::default(),
        },
        // The harness laid the tree out: the child only grants it.
        files: None,
        deadline: std::time::Duration::from_millis(cli.deadline_ms),
        http_response: cli.http_response,
        http_request: cli.http_request.unwrap_or_default(),
        sockets: cli.sockets,
        // The harness checked what the guest imports before it came here.
        needs: RunSettings::default().needs,
    };
    let run = match run_here(
        &cli.component,
        scenario,
        &settings,
        &preopens,
        cli.loopback,
        &cli.cache_dir,
        cli.selftest_faulty_import,
    ) {
        Ok(run) => run,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let reply = serde_json::to_string(&run.reply).expect("a reply is JSON");
    if let Err(e) = std::fs::write(reply_file, reply) {
        eprintln!("error: cannot write {}: {e}", reply_file.display());
        return ExitCode::FAILURE;
    }
    let _ = std::io::stdout().write_all(&run.stdout);
    let _ = std::io::stderr().write_all(&run.stderr);
    ExitCode::SUCCESS
}
