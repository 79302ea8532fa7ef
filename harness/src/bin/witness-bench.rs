//! `witness-bench`, run by `cargo xtask bench`: what one case costs on
//! each installed host, measured side by side in one run. It runs the same
//! cases on every host — those every host can run and none was recorded
//! hanging on, outside the timer families — each once to warm up and then
//! `--runs` times, and prints each host's median and p95 of the per-case
//! medians, with the ratios to the `wasmtime` host. A benchmark, not a
//! test: nothing here asserts on time.

use clap::Parser;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use witness::case::Case;
use witness::case::outcome_pattern::Ending;
use witness::host::Host;
use witness::layout::Layout;
use witness::suite::Suite;

/// Families whose cases wait on timers by design: their time is the
/// timer's, not the host's.
const WAITING_FAMILIES: [&str; 1] = ["clocks"];

#[derive(Parser)]
#[command(
    name = "witness-bench",
    about = "Time each case on each installed host, side by side"
)]
struct Cli {
    /// Timed runs of each case on each host, after one warm-up run.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Also print each case's median on each host.
    #[arg(long)]
    per_case: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match bench(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn bench(cli: &Cli) -> Result<(), String> {
    let layout = Layout::from_env();
    // The sync host's child program is built beside this one.
    let sync_program = std::env::current_exe()
        .map_err(|e| format!("cannot find this program: {e}"))?
        .with_file_name("witness-wasmtime-sync");
    let registry = layout.registry().map_err(|e| e.to_string())?;
    let embedded = witness::host::embedded(layout.compile_cache_dir(), sync_program);
    // The hosts as `cargo xtask bench --host` names them.
    let options = witness::entry_point::RunOptions::from_env()?;
    let chosen = witness::host::choose(&registry, embedded, &options.hosts, options.all_hosts)?;
    let suite = Suite::conformance(&layout);
    let cases: Vec<Case> = suite
        .load()
        .into_iter()
        .filter_map(|(_, case)| case.ok())
        .filter(|case| runs_everywhere_without_waiting(&suite, &chosen.hosts, case))
        .collect();
    println!(
        "witness bench: {} cases that every host runs and none waits on, {} timed runs each after a warm-up",
        cases.len(),
        cli.runs
    );
    for (host, why) in &chosen.skipped {
        println!("  host {host} not measured: {why}");
    }
    let mut medians: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut per_case: Vec<(String, Vec<Duration>)> = Vec::new();
    for case in &cases {
        let mut row = Vec::new();
        for host in &chosen.hosts {
            let median = time_case(&suite, host.as_ref(), case, cli.runs)?;
            medians.entry(host.name()).or_default().push(median);
            row.push(median);
        }
        per_case.push((case.name.to_string(), row));
    }
    let baseline = medians.get("wasmtime").map(|times| percentile(times, 50));
    println!(
        "\n{:<26} {:>12} {:>12} {:>22}",
        "host", "median/case", "p95/case", "median ÷ wasmtime's"
    );
    for host in &chosen.hosts {
        let times = &medians[host.name()];
        let median = percentile(times, 50);
        let ratio = baseline.map_or("-".to_string(), |base| {
            format!("{:.1}×", median.as_secs_f64() / base.as_secs_f64())
        });
        println!(
            "{:<26} {:>12} {:>12} {:>22}",
            host.name(),
            millis(median),
            millis(percentile(times, 95)),
            ratio
        );
    }
    if cli.per_case {
        println!();
        let names: Vec<&str> = chosen.hosts.iter().map(|host| host.name()).collect();
        println!("{:<48} {}", "case (median)", names.join("  "));
        for (case, row) in per_case {
            let cells: Vec<String> = row.iter().map(|time| millis(*time)).collect();
            println!("{case:<48} {}", cells.join("  "));
        }
    }
    Ok(())
}

/// A case in the benchmark: every host can run it, none was recorded
/// hanging on it, and it is not about timers.
fn runs_everywhere_without_waiting(suite: &Suite, hosts: &[Arc<dyn Host>], case: &Case) -> bool {
    !WAITING_FAMILIES.contains(&case.name.family.as_str())
        && hosts.iter().all(|host| {
            host.supports(&case.run).is_ok()
                && match suite.host_records(host.name()).as_ref() {
                    Ok(records) => records
                        .get(&case.name)
                        .is_some_and(|record| record.seen.ending != Ending::Hang),
                    Err(_) => false,
                }
        })
}

/// The median of `runs` timed runs, after one to warm up (compiling,
/// transpiling, the first instantiation).
fn time_case(suite: &Suite, host: &dyn Host, case: &Case, runs: usize) -> Result<Duration, String> {
    suite.observe(host, case)?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        suite.observe(host, case)?;
        times.push(started.elapsed());
    }
    Ok(percentile(&times, 50))
}

/// The `p`th percentile (nearest rank) of `times`.
fn percentile(times: &[Duration], p: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn millis(time: Duration) -> String {
    format!("{:.2} ms", time.as_secs_f64() * 1e3)
}
