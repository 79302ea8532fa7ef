//! Self-tests: the harness proves it can fail, and fails the right way.
//!
//! - Every verdict is shown: spec conforms, violates, known violation,
//!   stale divergence, not judged; record unchanged, changed, unrecorded.
//! - Each of the three embedded configurations, as a deliberately faulty
//!   host (`*-faulty`: it links an import that panics), classifies guest
//!   panics, exits, spins, blocked guests, host panics and missing imports.
//! - On those and on every other installed host (wasmtime CLIs, jco), a
//!   guest at a limit (memory, output, handles, stack, a spin) ends bounded,
//!   the next run is intact, and the guest sees nothing of the host. Each
//!   limit is a number held to the host's cap (the memory the guest had
//!   when refused, the output taken, the peak memory of the process that
//!   ran the guest), and the self-test hosts with a cap or the confinement
//!   removed on purpose (`*-breached`) show that each check then fails.
//! - Scenarios and cases pair up both ways; malformed case and records
//!   files name file:line:col and say what to do.
//! - A scripted host inside what a clause allows, but unlike wasmtime,
//!   conforms on real cases; bless keeps comments and touches only records.
//! - One edited expectation, one edited clause: exactly the right cases fail.
//!
//! The self-test hosts' records, and the other hosts' on the limits cases,
//! are in harness/tests/selftest-records/; to
//! record them again from real runs:
//! `cargo xtask selftest -- --ignored --exact bless_the_selftest_records`.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use witness::case::{self, Case, CaseName};
use witness::host::adapter::{AdapterHost, Capabilities, GRACE};
use witness::host::naive_filesystem;
use witness::host::registry::{Kind, Runtime, Status};
use witness::host::subprocess::{self, OUTPUT_LIMIT};
use witness::host::wasmtime::{
    BREACHES_VARIABLE, Breaches, Flavor, MEMORY_LIMIT, STDOUT_CAPACITY, WasmtimeHost,
    selftest_faulty_import,
};
use witness::host::wasmtime_cli::WasmtimeCliHost;
use witness::host::wasmtime_sync;
use witness::host::world::files::{Entry, Files, Preopen};
use witness::host::{Host, RunRequest, RunSettings, private_network};
use witness::judge::bless;
use witness::judge::records::HostRecords;
use witness::judge::verdict::{RecordVerdict, SpecVerdict, Verdicts};
use witness::layout::{Layout, SELFTEST_GUESTS, SELFTEST_HOSTS};
use witness::outcome::{HostRun, Observed, Outcome, Trap};
use witness::spec::Spec;
use witness::suite::Suite;

// ---------------------------------------------------------------------------
// The self-test hosts

/// The three embedded wasmtime configurations.
#[derive(Clone, Copy, Debug)]
enum Configuration {
    MultiThread,
    CurrentThread,
    Sync,
}

impl Configuration {
    const ALL: [Configuration; 3] = [
        Configuration::MultiThread,
        Configuration::CurrentThread,
        Configuration::Sync,
    ];

    /// The configuration with the self-tests' faulty import
    /// (`witness:guests/faulty#panic-in-host` panics), named `*-faulty`.
    fn faulty(self, layout: &Layout) -> Arc<dyn Host> {
        let cache = layout.compile_cache_dir();
        match self {
            Configuration::MultiThread => Arc::new(WasmtimeHost::with_extra_imports(
                SELFTEST_HOSTS[0],
                Flavor::MultiThread,
                cache,
                selftest_faulty_import,
            )),
            Configuration::CurrentThread => Arc::new(WasmtimeHost::with_extra_imports(
                SELFTEST_HOSTS[1],
                Flavor::CurrentThread,
                cache,
                selftest_faulty_import,
            )),
            Configuration::Sync => Arc::new(wasmtime_sync::selftest_faulty_host(
                SELFTEST_HOSTS[2],
                sync_program(),
                cache,
            )),
        }
    }

    /// The configuration as the conformance suite runs it: WASI only.
    fn plain(self, layout: &Layout) -> Arc<dyn Host> {
        let cache = layout.compile_cache_dir();
        match self {
            Configuration::MultiThread => Arc::new(WasmtimeHost::new(Flavor::MultiThread, cache)),
            Configuration::CurrentThread => {
                Arc::new(WasmtimeHost::new(Flavor::CurrentThread, cache))
            }
            Configuration::Sync => Arc::new(wasmtime_sync::host(sync_program(), cache)),
        }
    }
}

/// The child-process program of the sync configuration.
fn sync_program() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_witness-wasmtime-sync"))
}

/// The default self-test host: wasmtime, multi-thread, with the faulty import.
fn faulty_host() -> Arc<dyn Host> {
    Configuration::MultiThread.faulty(&Layout::from_env())
}

/// The self-test guests alone.
fn selftest_guests() -> BTreeSet<String> {
    SELFTEST_GUESTS
        .iter()
        .map(|name| name.to_string())
        .collect()
}

/// The self-test hosts' names.
fn selftest_hosts() -> BTreeSet<String> {
    SELFTEST_HOSTS.iter().map(|name| name.to_string()).collect()
}

// ---------------------------------------------------------------------------
// Running one case

/// One judged run of a case.
struct Judged {
    observed: Observed,
    verdicts: Verdicts,
    /// `Err` is the failure report.
    result: Result<(), String>,
}

impl Judged {
    fn report(&self) -> &str {
        match &self.result {
            Ok(()) => panic!(
                "expected a failure; the verdicts were {:?}, the outcome {:?}",
                self.verdicts, self.observed.outcome
            ),
            Err(report) => report,
        }
    }

    fn passes(&self) {
        if let Err(report) = &self.result {
            panic!("expected the trial to pass:\n{report}");
        }
    }
}

/// `<cases_dir>/<family>/<case>.toml` of `suite`, loaded.
fn load_case(suite: &Suite, family: &str, case: &str) -> Case {
    let path = suite.cases_dir.join(family).join(format!("{case}.toml"));
    let name = CaseName {
        family: family.into(),
        case: case.into(),
    };
    case::load(&path, name, &suite.known).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `<family>::<case>` of `suite` on `host` and judges it as its trial does.
fn judge_in(suite: &Suite, host: &dyn Host, family: &str, case: &str) -> Judged {
    let case = load_case(suite, family, case);
    let observed = suite.observe(host, &case).unwrap_or_else(|e| panic!("{e}"));
    let trial = format!("{}::{}", host.name(), case.name);
    let (verdicts, result) = suite.check(&trial, host.name(), &case, &observed);
    let verdicts = verdicts.unwrap_or_else(|| panic!("no verdicts: {result:?}"));
    Judged {
        observed,
        verdicts,
        result,
    }
}

/// Runs a self-test case on `host` against harness/tests/selftest-records/.
fn judge(host: &dyn Host, family: &str, case: &str) -> Judged {
    judge_in(&Suite::selftest(&Layout::from_env()), host, family, case)
}

fn assert_contains(report: &str, part: &str) {
    assert!(report.contains(part), "expected {part:?} in:\n{report}");
}

// ---------------------------------------------------------------------------
// The spec verdict

#[test]
fn spec_conforms_when_the_host_does_what_the_clause_requires() {
    let judged = judge(faulty_host().as_ref(), "behaviour", "host-trap");
    assert!(
        matches!(&judged.observed.outcome, Outcome::Trap(Trap::ByHost { message }) if message.contains("empty poll list")),
        "{:?}",
        judged.observed.outcome
    );
    assert_eq!(judged.verdicts.spec, SpecVerdict::Conforms);
    judged.passes();
}

#[test]
fn spec_violates_with_what_the_spec_allows_and_what_was_observed_side_by_side() {
    let judged = judge(faulty_host().as_ref(), "wrong", "observe-answer");
    assert!(
        matches!(judged.verdicts.spec, SpecVerdict::Violates { .. }),
        "{:?}",
        judged.verdicts
    );
    // What the host did is what it always does: only the spec question fails.
    assert_eq!(judged.verdicts.record, RecordVerdict::Unchanged);
    let report = judged.report();
    assert_contains(report, "spec verdict:   violates");
    assert_contains(report, "record verdict: unchanged");
    assert_contains(report, "the spec allows");
    assert_contains(
        report,
        "≠ observations.answer = 41 │ observations.answer = 42",
    );
    assert_contains(
        report,
        "  - spec: observation `answer`: expected 41, observed 42",
    );
    assert_contains(
        report,
        "reproduce: cargo xtask test --host wasmtime-faulty -- --exact wasmtime-faulty::wrong::observe-answer",
    );
}

#[test]
fn an_outcome_of_another_kind_than_the_spec_allows_is_named() {
    let judged = judge(faulty_host().as_ref(), "wrong", "outcome-kind");
    let report = judged.report();
    assert_contains(
        report,
        "  - spec: outcome: expected completed, observed trap",
    );
    assert_contains(report, "≠ outcome = \"completed\"");
}

#[test]
fn a_known_violation_passes() {
    let judged = judge(faulty_host().as_ref(), "divergence", "known");
    assert_eq!(
        judged.verdicts.spec,
        SpecVerdict::KnownViolation {
            upstream: "https://github.com/example/selftest/issues/1".into()
        }
    );
    judged.passes();
}

#[test]
fn an_intermittent_divergence_is_known_when_it_shows_and_not_stale_when_it_does_not() {
    let judged = judge(faulty_host().as_ref(), "divergence", "intermittent");
    assert_eq!(judged.verdicts.spec, SpecVerdict::Conforms);
    judged.passes();
    let suite = Suite::selftest(&Layout::from_env());
    let mut case = load_case(&suite, "divergence", "known");
    case.divergences[0].intermittent = Some(witness::case::Intermittent {
        reason: "on some runs".into(),
        times: 1,
        runs: 2,
    });
    let host = faulty_host();
    let observed = suite.observe(host.as_ref(), &case).unwrap();
    assert_eq!(
        SpecVerdict::judge(&case, host.name(), &observed),
        SpecVerdict::KnownViolation {
            upstream: "https://github.com/example/selftest/issues/1".into()
        }
    );
}

#[test]
fn an_intermittent_divergence_not_seen_in_enough_runs_fails_as_stale() {
    const INTERMITTENT: &str = "wasmtime-faulty::divergence::intermittent";
    // Seen 1 in 2 runs: 6 conforming runs are not yet evidence (0.5^6 > 1%), 7 are.
    for (repeat, stale) in [(6, false), (7, true)] {
        let mut suite = Suite::selftest(&Layout::from_env());
        suite.repeat = repeat;
        let suite = Arc::new(suite);
        let conclusion = run_trials(&suite, &[faulty_host()], INTERMITTENT, true);
        let result = (suite.results.all().into_iter())
            .find(|result| result.trial == INTERMITTENT)
            .unwrap();
        assert_eq!(
            result.intermittent.as_deref(),
            Some(format!("seen 0 of {repeat} runs (7 in a row without it retire it)").as_str())
        );
        assert_eq!(
            conclusion.num_failed,
            u64::from(stale),
            "{:?}",
            result.failure
        );
        if stale {
            assert_eq!(result.spec.as_deref(), Some("stale-divergence"));
            assert_contains(
                &result.failure.unwrap(),
                "stale intermittent divergence: seen 0 of 7 runs",
            );
        }
    }
}

#[test]
fn a_divergence_the_host_no_longer_shows_fails_as_stale() {
    let judged = judge(faulty_host().as_ref(), "divergence", "stale");
    assert_eq!(
        judged.verdicts.spec,
        SpecVerdict::StaleDivergence {
            upstream: "https://github.com/example/selftest/issues/2".into()
        }
    );
    let report = judged.report();
    assert_contains(
        report,
        "spec verdict:   stale divergence: `wasmtime-faulty` now does what the spec allows; the divergence (https://github.com/example/selftest/issues/2) is stale, remove it",
    );
    assert_contains(
        report,
        "  - spec: the host now does what the spec allows; remove `wasmtime-faulty` from the case's [[divergence]]",
    );
}

#[test]
fn a_divergence_from_a_required_trap_fails_as_stale_once_the_host_traps() {
    let judged = judge(faulty_host().as_ref(), "divergence", "stale-trap");
    assert!(
        matches!(judged.observed.outcome, Outcome::Trap(Trap::ByHost { .. })),
        "{:?}",
        judged.observed.outcome
    );
    assert_eq!(
        judged.verdicts.spec,
        SpecVerdict::StaleDivergence {
            upstream: "https://github.com/example/selftest/issues/4".into()
        }
    );
    assert_contains(judged.report(), "stale divergence: `wasmtime-faulty`");
}

#[test]
fn a_silent_case_is_not_judged() {
    let judged = judge(faulty_host().as_ref(), "behaviour", "observe-answer");
    assert_eq!(judged.verdicts.spec, SpecVerdict::NotJudged);
    judged.passes();
}

// ---------------------------------------------------------------------------
// The record verdict

/// The self-test cases with a records directory of their own.
fn selftest_suite_with_records(records_dir: &Path) -> Suite {
    let layout = Layout::from_env();
    Suite::new(
        &layout,
        layout.selftest_cases_dir(),
        records_dir.to_path_buf(),
        selftest_guests(),
        selftest_hosts(),
    )
}

#[test]
fn an_unchanged_record_passes() {
    let judged = judge(faulty_host().as_ref(), "behaviour", "host-trap");
    assert_eq!(judged.verdicts.record, RecordVerdict::Unchanged);
    judged.passes();
}

#[test]
fn a_changed_record_fails_with_recorded_and_observed_side_by_side_and_the_bless_command() {
    let records = tempfile::tempdir().unwrap();
    std::fs::write(
        records.path().join("wasmtime-faulty.toml"),
        "[\"behaviour::observe-answer\"]\noutcome = \"completed\"\nobservations = { answer = 40 }\n",
    )
    .unwrap();
    let suite = selftest_suite_with_records(records.path());
    let judged = judge_in(
        &suite,
        faulty_host().as_ref(),
        "behaviour",
        "observe-answer",
    );
    assert!(
        matches!(judged.verdicts.record, RecordVerdict::Changed { .. }),
        "{:?}",
        judged.verdicts
    );
    let report = judged.report();
    assert_contains(
        report,
        &format!(
            "record verdict: changed since its record ({}:1)",
            records.path().join("wasmtime-faulty.toml").display()
        ),
    );
    assert_contains(report, "  recorded ");
    assert_contains(
        report,
        "≠ observations.answer = 40 │ observations.answer = 42",
    );
    assert_contains(
        report,
        "  - record: observation `answer`: expected 40, observed 42",
    );
    assert_contains(
        report,
        "reproduce: cargo xtask test --host wasmtime-faulty -- --exact wasmtime-faulty::behaviour::observe-answer",
    );
    assert_contains(
        report,
        "if the change is intended: cargo xtask bless --host wasmtime-faulty --exact wasmtime-faulty::behaviour::observe-answer",
    );
}

#[test]
fn an_unrecorded_case_fails_and_prints_the_bless_command() {
    let records = tempfile::tempdir().unwrap();
    let suite = selftest_suite_with_records(records.path());
    let judged = judge_in(
        &suite,
        faulty_host().as_ref(),
        "behaviour",
        "observe-answer",
    );
    assert_eq!(judged.verdicts.record, RecordVerdict::Unrecorded);
    let report = judged.report();
    assert_contains(
        report,
        "record verdict: unrecorded: nothing is recorded for `wasmtime-faulty` on this case; record what it did with `cargo xtask bless --host wasmtime-faulty --exact wasmtime-faulty::behaviour::observe-answer`",
    );
    assert_contains(
        report,
        "\nobserved:\n  outcome = \"completed\"\n  exit = 0\n  observations.answer = 42\n",
    );
}

// ---------------------------------------------------------------------------
// Each configuration classifies what guests and hosts do

/// Runs a self-test case that must end as a hang at its 300 ms deadline.
/// That the run returned at all shows the guest was stopped; no wall time
/// is asserted.
fn assert_hang(configuration: Configuration, family: &str, case: &str) {
    let host = configuration.faulty(&Layout::from_env());
    let judged = judge(host.as_ref(), family, case);
    assert_eq!(
        judged.observed.outcome,
        Outcome::Hang {
            deadline: Duration::from_millis(300)
        },
        "{case} on {}",
        host.name()
    );
    judged.passes();
}

fn assert_host_panic_then_next_run_works(configuration: Configuration) {
    let host = configuration.faulty(&Layout::from_env());
    let judged = judge(host.as_ref(), "behaviour", "host-panic");
    assert!(
        matches!(&judged.observed.outcome, Outcome::HostPanic { message } if message.contains("the self-test host panics on purpose")),
        "{:?}",
        judged.observed.outcome
    );
    assert_eq!(
        judged.verdicts.spec,
        SpecVerdict::KnownViolation {
            upstream: "https://github.com/example/selftest/issues/3".into()
        }
    );
    judged.passes();
    let after = judge(host.as_ref(), "behaviour", "observe-answer");
    assert_eq!(after.observed.outcome, Outcome::Completed { exit: 0 });
    after.passes();
}

fn assert_guest_panic_is_a_guest_trap(configuration: Configuration) {
    let host = configuration.faulty(&Layout::from_env());
    let judged = judge(host.as_ref(), "behaviour", "guest-panic");
    assert!(
        matches!(&judged.observed.outcome, Outcome::Trap(Trap::ByGuest { code, .. }) if code == "unreachable-code-reached"),
        "{:?}",
        judged.observed.outcome
    );
    assert_contains(
        &judged.observed.stderr,
        "the selftest guest panics on purpose",
    );
    judged.passes();
}

fn assert_exit_3_is_completed_with_status_1(configuration: Configuration) {
    let host = configuration.faulty(&Layout::from_env());
    let judged = judge(host.as_ref(), "behaviour", "exit-code");
    assert_eq!(judged.observed.outcome, Outcome::Completed { exit: 1 });
    judged.passes();
}

fn assert_missing_import_is_a_link_error(configuration: Configuration) {
    let layout = Layout::from_env();
    let plain = configuration.plain(&layout);
    let suite = Suite::selftest(&layout);
    let case = load_case(&suite, "behaviour", "observe-answer");
    let observed = suite.observe(plain.as_ref(), &case).unwrap();
    assert!(
        matches!(&observed.outcome, Outcome::LinkError { message } if message.contains("witness:guests/faulty")),
        "{}: {:?}",
        plain.name(),
        observed.outcome
    );
}

// ---------------------------------------------------------------------------
// Limits: each observed as a number, held to the host's cap

/// wasm32's whole address space: what a guest reaches on a host without a
/// memory limit of its own (the wasmtime CLIs, jco).
const WASM32_MEMORY: u64 = 4 << 30;

/// What the process that ran a guest may hold beyond the guest's memory
/// and output: the harness itself (wasmtime, compiled guests, the tests
/// running beside the measured one), a wasmtime CLI, Node.
const PEAK_SLACK: u64 = 256 << 20;

/// What a host holds a guest at its limits to.
#[derive(Clone, Copy, Debug)]
struct Caps {
    /// The bytes of memory a guest has when the host refuses it more.
    memory: u64,
    output: OutputCap,
    /// The guest runs in a browser page: its memory is a renderer's of the
    /// browser, not the measured process's, and its output reaches the
    /// harness only when the run ends (a hang's is lost).
    in_a_page: bool,
}

/// How a host holds a guest's flood of output.
#[derive(Clone, Copy, Debug)]
enum OutputCap {
    /// Each of stdout and stderr accepts exactly this many bytes, then
    /// reports `closed`: the embedded configurations' capacities.
    Capacity(u64),
    /// The guest writes to a pipe without end; the harness keeps at most
    /// this much of each stream and says how much more it dropped.
    Kept(u64),
}

impl OutputCap {
    fn bytes(self) -> u64 {
        match self {
            OutputCap::Capacity(bytes) | OutputCap::Kept(bytes) => bytes,
        }
    }
}

impl Caps {
    /// The embedded configurations: `MEMORY_LIMIT`, and `STDOUT_CAPACITY`
    /// for stdout and the default stderr capacity for stderr, the same.
    fn embedded() -> Caps {
        let stdout = STDOUT_CAPACITY as u64;
        assert_eq!(
            RunSettings::default().stderr_capacity as u64,
            stdout,
            "the flood check holds both streams to one capacity"
        );
        Caps {
            memory: MEMORY_LIMIT as u64,
            output: OutputCap::Capacity(stdout),
            in_a_page: false,
        }
    }

    /// A wasmtime CLI or jco: wasm32's 4 GiB (their records say so), and
    /// the harness's `OUTPUT_LIMIT` of a host process's output.
    fn other_host() -> Caps {
        Caps {
            memory: WASM32_MEMORY,
            output: OutputCap::Kept(OUTPUT_LIMIT),
            in_a_page: false,
        }
    }

    /// jco in chromium: V8's 4 GiB as on Node, in a renderer process the
    /// harness does not measure (its runner, Node, is what it started).
    fn browser() -> Caps {
        Caps {
            in_a_page: true,
            ..Caps::other_host()
        }
    }

    /// The most the process that ran a guest may hold at its peak: the
    /// guest's memory, each output stream twice (the host's copy and the
    /// harness's), and [`PEAK_SLACK`].
    fn peak_bound(&self) -> u64 {
        self.memory + 4 * self.output.bytes() + PEAK_SLACK
    }
}

/// Only one measured run at a time in this process: the peak of an
/// in-process run is this whole process's, and the guests that fill 4 GiB
/// should not overlap.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A line of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .unwrap_or_else(|| panic!("Linux reports {field}"));
    line.trim().trim_end_matches("kB").trim().parse().unwrap()
}

/// Resets this process's peak resident memory (`VmHWM`) to what it holds
/// now, and returns that, in bytes.
fn reset_peak() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5")
        .expect("`echo 5 > /proc/self/clear_refs` resets the peak (Linux 4.0 and later)");
    status_kib("VmHWM:") << 10
}

/// How much of a guest's output stream a host gave back.
#[derive(Clone, Copy, Debug)]
struct Stream {
    /// Its length.
    bytes: u64,
    /// For a host process's stream: the bytes the harness kept of it, and
    /// the bytes it says it dropped past its limit (its marker aside).
    kept: u64,
    dropped: u64,
}

impl Stream {
    fn of(stream: &[u8]) -> Stream {
        let (kept, dropped) = kept_and_dropped(stream);
        Stream {
            bytes: stream.len() as u64,
            kept,
            dropped,
        }
    }
}

/// What one run of a guest took, beyond its outcome.
#[derive(Clone, Debug)]
struct Measurement {
    /// What the host gave back of the guest's stdout and stderr.
    stdout: Stream,
    stderr: Stream,
    /// The peak resident memory of the process that ran the guest: for a
    /// host in this process, how far this process's peak rose above what
    /// it held when the run began; for a host process (the sync child, a
    /// CLI, Node), its own peak, from `wait4`.
    guest_process_peak: u64,
    /// How far this process's peak rose during the run.
    harness_growth: u64,
    /// Whether the guest ran in this process.
    in_process: bool,
    /// A host process's peak no larger than this may be this process's
    /// own (`subprocess::Peak::spawner_kib`); 0 for a host in here.
    floor: u64,
    /// The most the process that ran the guest is sure to have held itself
    /// (`subprocess::Peak::own_at_least_kib`; the peak, for a host in here).
    own_at_least: u64,
}

/// A host whose runs are measured ([`Measurement`]), one at a time.
struct Measured<'a> {
    host: &'a dyn Host,
    last: std::sync::Mutex<Option<Measurement>>,
}

impl<'a> Measured<'a> {
    fn new(host: &'a dyn Host) -> Measured<'a> {
        Measured {
            host,
            last: std::sync::Mutex::new(None),
        }
    }

    fn last(&self) -> Measurement {
        self.last.lock().unwrap().clone().expect("a measured run")
    }
}

impl Host for Measured<'_> {
    fn name(&self) -> &str {
        self.host.name()
    }

    fn supports(&self, settings: &RunSettings) -> Result<(), String> {
        self.host.supports(settings)
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String> {
        let _alone = MEASURING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Memory freed but kept by the allocator (earlier runs' output,
        // say) would count into this process's peak and into the floor of
        // a host process's (`subprocess::Peak::spawner_kib`): give it back.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim(3) only returns free memory to the system.
        unsafe {
            libc::malloc_trim(0);
        }
        let before = reset_peak();
        let run = self.host.run(request)?;
        let harness_growth = (status_kib("VmHWM:") << 10).saturating_sub(before);
        // A host process's peak, or none: the host runs guests in here.
        let child_peak = subprocess::last_peak();
        *self.last.lock().unwrap() = Some(Measurement {
            stdout: Stream::of(&run.stdout),
            stderr: Stream::of(&run.stderr),
            guest_process_peak: child_peak.map_or(harness_growth, |peak| peak.kib << 10),
            harness_growth,
            in_process: child_peak.is_none(),
            floor: child_peak.map_or(0, |peak| peak.spawner_kib << 10),
            own_at_least: child_peak.map_or(harness_growth, |peak| peak.own_at_least_kib() << 10),
        });
        Ok(run)
    }
}

fn mib(bytes: u64) -> String {
    format!("{bytes} bytes ({:.1} MiB)", bytes as f64 / (1 << 20) as f64)
}

/// An output stream the harness kept of a host process: the bytes kept,
/// and the bytes it says it dropped past its limit (in the marker it
/// appends, `subprocess::cut_marker`).
fn kept_and_dropped(stream: &[u8]) -> (u64, u64) {
    const OPENING: &[u8] = b"\n[witness: output cut: ";
    let tail = &stream[stream.len().saturating_sub(100)..];
    let marker = (0..tail.len()).rev().find_map(|at| {
        let rest = tail[at..].strip_prefix(OPENING)?;
        let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
        let dropped: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        (tail[at..] == *subprocess::cut_marker(dropped).as_bytes())
            .then_some((stream.len() - tail.len() + at, dropped))
    });
    match marker {
        Some((at, dropped)) => (at as u64, dropped),
        None => (stream.len() as u64, 0),
    }
}

/// The limits check of one run of `limits::<case>`: every way it breaks
/// `caps`, or `Ok`. Each limit is held to a number the run shows, not only
/// to the outcome's kind: the memory the guest had when refused (its
/// `memory-at-refusal` observation) equals the host's memory cap; the
/// output the host took of a flood is its capacity, or no more than what
/// the harness keeps; the peak resident memory of the process that ran
/// the guest stays under [`Caps::peak_bound`], and rose at least by the
/// memory the guest touched.
fn check_limits(
    host: &str,
    case: &str,
    caps: Caps,
    observed: &Observed,
    measured: &Measurement,
) -> Result<(), String> {
    let mut problems = Vec::new();
    if !matches!(observed.outcome, Outcome::Trap(_) | Outcome::Hang { .. }) {
        problems.push(format!(
            "it ended unbounded or unexpectedly: {:?}",
            observed.outcome
        ));
    }
    let bound = caps.peak_bound();
    if measured.guest_process_peak > bound {
        problems.push(format!(
            "the process that ran the guest peaked at {}, over the bound of {} (the memory cap, the output caps, and {} for the host itself)",
            mib(measured.guest_process_peak),
            mib(bound),
            mib(PEAK_SLACK)
        ));
    }
    // A host process's output passes through the harness, which keeps
    // OUTPUT_LIMIT of each stream at most.
    let harness_bound = 4 * OUTPUT_LIMIT + PEAK_SLACK;
    if !measured.in_process && measured.harness_growth > harness_bound {
        problems.push(format!(
            "the harness grew by {} while a host process ran the guest, over {}",
            mib(measured.harness_growth),
            mib(harness_bound)
        ));
    }
    match case {
        "grow-memory-forever" => {
            let reported = observed
                .observations
                .as_ref()
                .ok()
                .and_then(|seen| seen.0.get("memory-at-refusal"))
                .and_then(Value::as_u64);
            match reported {
                None => problems.push(format!(
                    "the guest did not report `memory-at-refusal`: it was never refused memory (outcome {:?}, observations {:?})",
                    observed.outcome, observed.observations
                )),
                Some(memory) if memory != caps.memory => problems.push(format!(
                    "memory-at-refusal: the guest had {} when refused, not the cap of {}",
                    mib(memory),
                    mib(caps.memory)
                )),
                // The guest touched every page it got: a measurement that
                // does not see them does not see the guest.
                Some(memory) if !caps.in_a_page && measured.own_at_least < memory / 10 * 9 => {
                    problems.push(format!(
                        "the process that ran the guest held {} of its own at least, below the {} the guest touched: the measurement does not see the guest",
                        mib(measured.own_at_least),
                        mib(memory),
                    ))
                }
                Some(_) => {}
            }
            if !matches!(&observed.outcome, Outcome::Trap(Trap::ByGuest { code, .. }) if code == "unreachable-code-reached")
            {
                problems.push(format!(
                    "the guest did not end at its `unreachable` after the refusal: {:?}",
                    observed.outcome
                ));
            }
        }
        "flood-output" => {
            if !matches!(observed.outcome, Outcome::Hang { .. }) {
                problems.push(format!(
                    "the flood ended before the deadline: {:?}",
                    observed.outcome
                ));
            }
            let streams = match caps.in_a_page {
                true => vec![],
                false => vec![("stdout", measured.stdout), ("stderr", measured.stderr)],
            };
            for (stream, taken) in streams {
                match caps.output {
                    OutputCap::Capacity(capacity) => {
                        let accepted = taken.bytes;
                        if accepted != capacity {
                            problems.push(format!(
                                "{stream} accepted {} of the flood, not its capacity of {}",
                                mib(accepted),
                                mib(capacity)
                            ));
                        }
                    }
                    OutputCap::Kept(limit) => {
                        let (kept, dropped) = (taken.kept, taken.dropped);
                        if kept > limit || (dropped > 0 && kept != limit) {
                            problems.push(format!(
                                "the harness kept {} of {stream} (and dropped {}), not at most {}",
                                mib(kept),
                                mib(dropped),
                                mib(limit)
                            ));
                        }
                    }
                }
            }
        }
        _ => {}
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "limits::{case} on {host}:\n  - {}",
            problems.join("\n  - ")
        )),
    }
}

/// The limits cases, each a guest that pushes a host to one limit.
const LIMITS_CASES: [&str; 5] = [
    "spin-forever",
    "grow-memory-forever",
    "flood-output",
    "create-handles-forever",
    "recurse-forever",
];

/// Runs `limits::<case>` on `host`, measured; with the limits check's
/// verdict against `caps`.
fn observe_limit(
    host: &dyn Host,
    caps: Caps,
    case: &str,
) -> (Observed, Measurement, Result<(), String>) {
    let suite = Suite::selftest(&Layout::from_env());
    let measured = Measured::new(host);
    let observed = suite
        .observe(&measured, &load_case(&suite, "limits", case))
        .unwrap_or_else(|e| panic!("{e}"));
    let measurement = measured.last();
    let checked = check_limits(host.name(), case, caps, &observed, &measurement);
    (observed, measurement, checked)
}

/// What `observed` of `limits::<case>` is judged as on the host named
/// `as_host`, against its record: `Err` is the failure report.
fn judge_as(as_host: &str, case: &str, observed: &Observed) -> Result<(), String> {
    let suite = Suite::selftest(&Layout::from_env());
    let case = load_case(&suite, "limits", case);
    let trial = format!("{as_host}::{}", case.name);
    suite.check(&trial, as_host, &case, observed).1
}

/// Runs `limits::<case>` on `host`, measured, and judges it as its trial
/// does; with the limits check's verdict against `caps`.
fn judge_limit(
    host: &dyn Host,
    caps: Caps,
    case: &str,
) -> (Judged, Measurement, Result<(), String>) {
    let (observed, measurement, checked) = observe_limit(host, caps, case);
    let suite = Suite::selftest(&Layout::from_env());
    let loaded = load_case(&suite, "limits", case);
    let trial = format!("{}::{}", host.name(), loaded.name);
    let (verdicts, result) = suite.check(&trial, host.name(), &loaded, &observed);
    let judged = Judged {
        verdicts: verdicts.unwrap_or_else(|| panic!("no verdicts: {result:?}")),
        observed,
        result,
    };
    (judged, measurement, checked)
}

/// Each guest that pushes `host` to a limit ends in a bounded outcome (a
/// trap, or a hang at its deadline), with the record's outcome and
/// observations, held to `caps` ([`check_limits`]); the next run on the
/// host is intact.
fn assert_limits_hold(host: &dyn Host, caps: Caps) {
    for case in LIMITS_CASES {
        let (judged, measurement, checked) = judge_limit(host, caps, case);
        checked.unwrap_or_else(|problems| panic!("{problems}"));
        judged.passes();
        eprintln!(
            "limits::{case} on {}: {} peak {} (its own at least {}; floor {}), harness +{}{}",
            host.name(),
            if measurement.in_process {
                "in-process"
            } else {
                "host process"
            },
            mib(measurement.guest_process_peak),
            mib(measurement.own_at_least),
            mib(measurement.floor),
            mib(measurement.harness_growth),
            match judged
                .observed
                .observations
                .as_ref()
                .ok()
                .and_then(|seen| seen.0.get("memory-at-refusal"))
            {
                Some(memory) => format!(", memory-at-refusal {memory}"),
                None => String::new(),
            }
        );
        if case == "flood-output" {
            eprintln!(
                "limits::flood-output on {}: stdout {:?}, stderr {:?}",
                host.name(),
                measurement.stdout,
                measurement.stderr
            );
        }
        let after = judge(host, "limits", "report-environment");
        assert_eq!(after.observed.outcome, Outcome::Completed { exit: 0 });
        after.passes();
    }
}

/// The isolation check of one run of `limits::report-environment` with
/// `case`'s settings: the guest sees no environment variable, exactly the
/// preopens the case granted (none, or `/scratch`), and nothing in them
/// (a granted scratch directory is fresh).
fn check_isolation(host: &str, case: &Case, observed: &Observed) -> Result<(), String> {
    let granted: BTreeSet<&str> = (case.run.files.iter())
        .flat_map(|files| files.preopens.iter().map(|preopen| preopen.guest.as_str()))
        .collect();
    let mut problems = Vec::new();
    if observed.outcome != (Outcome::Completed { exit: 0 }) {
        problems.push(format!("it did not complete: {:?}", observed.outcome));
    }
    let seen = match &observed.observations {
        Ok(seen) => &seen.0,
        Err(protocol) => return Err(format!("{host}: {protocol}")),
    };
    let strings = |name: &str| -> Result<Vec<String>, String> {
        match seen.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("`{name}` holds {item}"))
                })
                .collect(),
            other => Err(format!("`{name}` is not a list of strings: {other:?}")),
        }
    };
    match strings("variables") {
        Ok(variables) if variables.is_empty() => {}
        Ok(variables) => problems.push(format!(
            "the guest sees environment variables no case grants: {variables:?}"
        )),
        Err(problem) => problems.push(problem),
    }
    match strings("preopens") {
        Ok(preopens) => {
            let preopens: BTreeSet<&str> = preopens.iter().map(String::as_str).collect();
            if preopens != granted {
                problems.push(format!(
                    "the guest's preopens are {preopens:?}; the case granted {granted:?}"
                ));
            }
        }
        Err(problem) => problems.push(problem),
    }
    match strings("preopened-files") {
        Ok(files) if files.is_empty() => {}
        Ok(files) => problems.push(format!("the guest sees files in its preopens: {files:?}")),
        Err(problem) => problems.push(problem),
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "limits::report-environment on {host} (preopens: {granted:?}):\n  - {}",
            problems.join("\n  - ")
        )),
    }
}

/// `limits::report-environment` on `host`, as its case grants (nothing)
/// and with an empty directory granted at `/scratch`: the isolation check
/// of each.
fn isolation_checks(host: &dyn Host) -> [Result<(), String>; 2] {
    let suite = Suite::selftest(&Layout::from_env());
    let mut case = load_case(&suite, "limits", "report-environment");
    let as_granted = |case: &Case| {
        let observed = suite.observe(host, case).unwrap_or_else(|e| panic!("{e}"));
        check_isolation(host.name(), case, &observed)
    };
    let plain = as_granted(&case);
    case.run.files = Some(Files {
        tree: [("scratch".to_string(), Entry::Dir { dir: true })].into(),
        preopens: vec![Preopen {
            host: "scratch".into(),
            guest: "/scratch".into(),
            read_only: false,
            other_filesystem: false,
        }],
    });
    [plain, as_granted(&case)]
}

/// A guest sees no environment variable and no file of the host: exactly
/// the preopens its case granted, and its run matches the record.
fn assert_nothing_of_the_host_shows(host: &dyn Host) {
    for checked in isolation_checks(host) {
        checked.unwrap_or_else(|problems| panic!("{problems}"));
    }
    judge(host, "limits", "report-environment").passes();
}

/// The same tests, one module per configuration.
macro_rules! on_each_configuration {
    ($($module:ident: $configuration:expr;)*) => {$(
        mod $module {
            use super::*;
            const CONFIGURATION: Configuration = $configuration;

            #[test]
            fn a_guest_spinning_in_wasm_is_a_hang_at_the_deadline() {
                assert_hang(CONFIGURATION, "limits", "spin-forever");
            }

            #[test]
            fn a_guest_blocked_in_a_host_call_is_a_hang_at_the_deadline() {
                assert_hang(CONFIGURATION, "behaviour", "block-forever");
            }

            #[test]
            fn a_panicking_host_import_is_a_host_panic_and_the_next_run_still_works() {
                assert_host_panic_then_next_run_works(CONFIGURATION);
            }

            #[test]
            fn a_guest_panic_is_a_trap_raised_by_the_guest() {
                assert_guest_panic_is_a_guest_trap(CONFIGURATION);
            }

            #[test]
            fn a_guest_exit_3_is_completed_with_status_1() {
                assert_exit_3_is_completed_with_status_1(CONFIGURATION);
            }

            #[test]
            fn a_missing_import_is_a_link_error() {
                assert_missing_import_is_a_link_error(CONFIGURATION);
            }

            #[test]
            fn guests_at_the_limits_end_bounded_and_the_next_run_is_intact() {
                assert_limits_hold(CONFIGURATION.faulty(&Layout::from_env()).as_ref(), Caps::embedded());
            }

            #[test]
            fn a_guest_sees_no_host_variable_or_file() {
                assert_nothing_of_the_host_shows(CONFIGURATION.faulty(&Layout::from_env()).as_ref());
            }

            #[test]
            fn without_its_memory_cap_the_limits_check_fails() {
                assert_the_limits_check_fails_without_the_memory_cap(CONFIGURATION);
            }

            #[test]
            fn without_its_output_caps_the_limits_check_fails() {
                assert_the_limits_check_fails_without_the_output_caps(CONFIGURATION);
            }

            #[test]
            fn with_an_extra_preopen_the_isolation_check_fails() {
                assert_the_isolation_check_fails_with_an_extra_preopen(CONFIGURATION);
            }
        }
    )*};
}

on_each_configuration! {
    wasmtime_faulty: Configuration::MultiThread;
    wasmtime_current_thread_faulty: Configuration::CurrentThread;
    wasmtime_sync_faulty: Configuration::Sync;
}

/// The hosts of hosts.toml outside the harness (wasmtime CLIs, jco) that
/// are installed here; the others are named on stderr, with how to install
/// them (`.ci/run` installs every one before the self-tests).
fn installed_other_hosts() -> Vec<(Arc<dyn Host>, Caps)> {
    let registry = Layout::from_env().registry().unwrap();
    let mut installed = Vec::new();
    for (name, entry) in &registry.entries {
        if entry.kind == Kind::Embedded {
            continue;
        }
        let caps = match entry.runtime {
            Runtime::Chromium => Caps::browser(),
            _ => Caps::other_host(),
        };
        match registry.status(name, entry) {
            Status::Ready => {
                installed.push((registry.open_one_run_per_process(name).unwrap(), caps))
            }
            Status::NotInstalled { help } => {
                eprintln!("not proven on `{name}` here: it is {help}")
            }
        }
    }
    installed
}

/// The limits and isolation of the embedded configurations, on every other
/// host installed here, each against its own record in
/// harness/tests/selftest-records/: each guest at a limit ends bounded and
/// the next run is intact; a guest sees no host variable or file.
#[test]
fn on_every_installed_host_guests_at_the_limits_end_bounded_and_see_nothing_of_the_host() {
    // One host after the other: side by side, their guests filling 4 GiB
    // each would only slow one another down.
    for (host, caps) in installed_other_hosts() {
        if caps.in_a_page {
            eprintln!(
                "{}: its guests run in a page of chromium: the peaks below are its runner's alone, that the measurement sees the guest is not proven, and neither is how the harness keeps a flood of output (a hang's output stays in the page)",
                host.name()
            );
        }
        assert_limits_hold(host.as_ref(), caps);
        assert_nothing_of_the_host_shows(host.as_ref());
    }
}

// ---------------------------------------------------------------------------
// Each check fails when what it guards is gone

/// The configuration's self-test host with the caps or the confinement
/// `breaches` names left out on purpose, named `<faulty name>-breached`.
fn breached(configuration: Configuration, breaches: Breaches) -> Arc<dyn Host> {
    let cache = Layout::from_env().compile_cache_dir();
    let name = |index: usize| format!("{}-breached", SELFTEST_HOSTS[index]);
    match configuration {
        Configuration::MultiThread => Arc::new(WasmtimeHost::selftest_breached(
            &name(0),
            Flavor::MultiThread,
            cache,
            breaches,
        )),
        Configuration::CurrentThread => Arc::new(WasmtimeHost::selftest_breached(
            &name(1),
            Flavor::CurrentThread,
            cache,
            breaches,
        )),
        Configuration::Sync => Arc::new(wasmtime_sync::selftest_breached_host(
            &name(2),
            sync_program(),
            cache,
            breaches,
        )),
    }
}

const WITHOUT_MEMORY_CAP: Breaches = Breaches {
    memory_cap: true,
    ..Breaches::NONE
};
const WITHOUT_OUTPUT_CAPS: Breaches = Breaches {
    output_cap: true,
    ..Breaches::NONE
};
const WITH_AN_EXTRA_PREOPEN: Breaches = Breaches {
    extra_preopen: true,
    ..Breaches::NONE
};
const WITH_READ_ONLY_WRITABLE: Breaches = Breaches {
    writable_read_only: true,
    ..Breaches::NONE
};

/// Without its memory cap the configuration lets the guest grow to
/// wasm32's 4 GiB: the limits check fails on the memory the guest had
/// when refused and on the peak of the process that ran it, and so does
/// the trial judged against the capped host's record; the output check,
/// whose cap is still there, passes.
fn assert_the_limits_check_fails_without_the_memory_cap(configuration: Configuration) {
    let host = breached(configuration, WITHOUT_MEMORY_CAP);
    let (observed, measurement, checked) =
        observe_limit(host.as_ref(), Caps::embedded(), "grow-memory-forever");
    let problems = checked.expect_err("the limits check passes without the memory cap");
    eprintln!("{problems}\n{measurement:?}");
    assert_contains(
        &problems,
        &format!(
            "memory-at-refusal: the guest had {} when refused, not the cap of {}",
            mib(WASM32_MEMORY),
            mib(MEMORY_LIMIT as u64)
        ),
    );
    assert_contains(&problems, "the process that ran the guest peaked at");
    let faulty = configuration.faulty(&Layout::from_env());
    let report = judge_as(faulty.name(), "grow-memory-forever", &observed)
        .expect_err("the trial passes without the memory cap");
    assert_contains(
        &report,
        "observation `memory-at-refusal`: expected 268435456, observed 4294967296",
    );
    let (_, _, output) = observe_limit(host.as_ref(), Caps::embedded(), "flood-output");
    output.unwrap_or_else(|problems| panic!("{problems}"));
}

/// Without its output caps the configuration takes the whole flood: the
/// limits check fails on what each stream accepted, where the trial
/// passes (the flood is a hang either way, and it reports no
/// observation); the memory check, whose cap is still there, passes.
fn assert_the_limits_check_fails_without_the_output_caps(configuration: Configuration) {
    let host = breached(configuration, WITHOUT_OUTPUT_CAPS);
    let (observed, measurement, checked) =
        observe_limit(host.as_ref(), Caps::embedded(), "flood-output");
    let problems = checked.expect_err("the limits check passes without the output caps");
    eprintln!("{problems}\n{measurement:?}");
    for stream in ["stdout", "stderr"] {
        assert_contains(&problems, &format!("{stream} accepted "));
        assert_contains(
            &problems,
            &format!(
                " of the flood, not its capacity of {}",
                mib(STDOUT_CAPACITY as u64)
            ),
        );
    }
    let faulty = configuration.faulty(&Layout::from_env());
    judge_as(faulty.name(), "flood-output", &observed)
        .unwrap_or_else(|report| panic!("the record alone saw the missing cap:\n{report}"));
    let (_, _, memory) = observe_limit(host.as_ref(), Caps::embedded(), "grow-memory-forever");
    memory.unwrap_or_else(|problems| panic!("{problems}"));
}

/// With the harness's working directory preopened at /host as well, the
/// isolation check fails, with and without a granted scratch directory.
fn assert_the_isolation_check_fails_with_an_extra_preopen(configuration: Configuration) {
    let host = breached(configuration, WITH_AN_EXTRA_PREOPEN);
    for (checked, granted) in isolation_checks(host.as_ref())
        .into_iter()
        .zip(["{}", "{\"/scratch\"}"])
    {
        let problems = checked.expect_err("the isolation check passes with an extra preopen");
        let seen = match granted {
            "{}" => "{\"/host\"}".to_string(),
            _ => "{\"/host\", \"/scratch\"}".to_string(),
        };
        assert_contains(
            &problems,
            &format!("the guest's preopens are {seen}; the case granted {granted}"),
        );
        assert_contains(&problems, "the guest sees files in its preopens: [\"/host/");
    }
}

/// The variable that breaches the sync child's caps means nothing to a
/// host the suite runs: only the self-tests' faulty child reads it.
#[test]
fn the_breaches_variable_means_nothing_to_a_host_the_suite_runs() {
    let host = wasmtime_sync::host(sync_program(), Layout::from_env().compile_cache_dir())
        .with_env(
            BREACHES_VARIABLE,
            "memory-cap,output-cap,extra-preopen,writable-read-only",
        );
    let (observed, _, checked) = observe_limit(&host, Caps::embedded(), "grow-memory-forever");
    checked.unwrap_or_else(|problems| panic!("{problems}"));
    assert_eq!(
        observed.observations.unwrap().0["memory-at-refusal"],
        json!(MEMORY_LIMIT)
    );
    for checked in isolation_checks(&host) {
        checked.unwrap_or_else(|problems| panic!("{problems}"));
    }
    let judged = judge_conformance(&host, "filesystem", "read-only-unlink");
    let seen = judged.observed.observations.expect("the protocol kept");
    assert!(!seen.0.contains_key("tree-changes"), "{seen:?}");
}

/// The harness keeps `OUTPUT_LIMIT` of each stream of a host process, which
/// the limits check of the CLIs and jco holds it to: the sync child
/// without its own output caps floods the harness's pipes, and the check
/// passes with the harness's limit in place, and fails without it.
#[test]
fn without_the_harness_output_limit_the_limits_check_of_host_processes_fails() {
    let host = breached(Configuration::Sync, WITHOUT_OUTPUT_CAPS);
    let (_, measurement, checked) =
        observe_limit(host.as_ref(), Caps::other_host(), "flood-output");
    checked.unwrap_or_else(|problems| panic!("{problems}"));
    for stream in [measurement.stdout, measurement.stderr] {
        assert_eq!(stream.kept, OUTPUT_LIMIT, "{measurement:?}");
        assert!(stream.dropped > 0, "{measurement:?}");
    }
    let unlimited = wasmtime_sync::selftest_breached_host(
        "wasmtime-sync-faulty-breached",
        sync_program(),
        Layout::from_env().compile_cache_dir(),
        WITHOUT_OUTPUT_CAPS,
    )
    .selftest_without_output_limit();
    let (_, measurement, checked) = observe_limit(&unlimited, Caps::other_host(), "flood-output");
    let problems = checked.expect_err("the limits check passes without the harness's output limit");
    eprintln!("{problems}\n{measurement:?}");
    for stream in ["stdout", "stderr"] {
        assert_contains(
            &problems,
            &format!(
                "of {stream} (and dropped 0 bytes (0.0 MiB)), not at most {}",
                mib(OUTPUT_LIMIT)
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// The files a run sees: the sandbox and the look after the run

/// wasmtime with the naive filesystem of `host::naive_filesystem`: an
/// `open-at` that resolves `..` and links out of its preopen, a
/// `create-directory-at` that answers ok and creates nothing.
fn naive_filesystem_host() -> WasmtimeHost {
    WasmtimeHost::with_extra_imports(
        "selftest-naive-filesystem",
        Flavor::MultiThread,
        Layout::from_env().compile_cache_dir(),
        naive_filesystem::link,
    )
}

/// The conformance cases, judged on `host`: its spec verdict and what it
/// did. The self-test hosts have no records; only the spec verdict counts.
fn judge_conformance(host: &dyn Host, family: &str, case: &str) -> Judged {
    judge_in(&Suite::conformance(&Layout::from_env()), host, family, case)
}

fn violations(judged: &Judged) -> Vec<String> {
    match &judged.verdicts.spec {
        SpecVerdict::Violates { problems } => problems.clone(),
        other => panic!("expected a violation, the spec verdict is {other:?}"),
    }
}

/// A guest that climbs out of its preopen (`../outside/secret`) on a
/// host that lets it: the case fails, on the call's result and on what
/// the harness saw touch `outside/`. The same case passes on wasmtime.
#[test]
fn a_host_that_lets_a_guest_out_of_its_preopen_fails_the_sandbox_cases() {
    let host = naive_filesystem_host();
    for case in [
        "open-dotdot",
        "open-symlink-out",
        "open-through-symlink-to-parent",
    ] {
        let problems = violations(&judge_conformance(&host, "filesystem", case)).join("\n");
        assert_contains(
            &problems,
            "observation `open-at`: expected { err = \"not-permitted\" }, observed { ok = true }",
        );
        assert_contains(
            &problems,
            "observation `outside-touched` = [\"opened outside/secret\"] is not expected",
        );
    }
    let confined = Configuration::MultiThread.plain(&Layout::from_env());
    let judged = judge_conformance(confined.as_ref(), "filesystem", "open-dotdot");
    assert_eq!(judged.verdicts.spec, SpecVerdict::Conforms);
}

/// A host that grants a read-only preopen writable: each read-only case
/// fails on the change the harness sees from the host side, whatever the
/// guest was told. wasmtime, which keeps the preopen read-only (though it
/// answers `not-permitted`, a known violation), changes nothing.
#[test]
fn a_host_that_grants_a_read_only_preopen_writable_fails_the_read_only_cases() {
    let writable = breached(Configuration::MultiThread, WITH_READ_ONLY_WRITABLE);
    let confined = Configuration::MultiThread.plain(&Layout::from_env());
    for (case, change) in [
        ("read-only-unlink", r#"{ "data/a.txt" = "gone" }"#),
        ("read-only-open-truncate", r#"{ "data/a.txt" = "" }"#),
        ("link-from-read-only", r#"{ "ro/a.txt" = { file = """"#),
        ("rename-into-read-only", r#"{ "ro/b.txt" = """"#),
    ] {
        let problems = violations(&judge_conformance(writable.as_ref(), "filesystem", case));
        assert_contains(
            &problems.join("\n"),
            &format!("observation `tree-changes` = {change}"),
        );
        let judged = judge_conformance(confined.as_ref(), "filesystem", case);
        let seen = judged
            .observed
            .observations
            .as_ref()
            .expect("the protocol kept");
        assert!(!seen.0.contains_key("tree-changes"), "{case}: {seen:?}");
    }
}

/// A host whose `create-directory-at` answers ok and creates nothing:
/// the harness's look at the tree, from the host side, finds no
/// directory, though the guest saw ok. On wasmtime, which creates it, the
/// look finds it and the case passes.
#[test]
fn the_look_after_the_run_catches_a_call_that_answers_ok_and_does_nothing() {
    let judged = judge_conformance(&naive_filesystem_host(), "filesystem", "create-directory");
    assert_eq!(
        violations(&judged),
        [
            "observation `tree-changes`: expected { \"data/made\" = { dir = true } }, the harness did not observe it"
        ]
    );
    let real = Configuration::MultiThread.plain(&Layout::from_env());
    let judged = judge_conformance(real.as_ref(), "filesystem", "create-directory");
    assert_eq!(judged.verdicts.spec, SpecVerdict::Conforms);
}

// ---------------------------------------------------------------------------
// Repeated runs

/// `behaviour::varies` reports the clock's parity: odd or even, run to run.
const VARIES: &str = "wasmtime-faulty::behaviour::varies";

#[test]
fn repeated_runs_fail_on_a_variation_the_record_does_not_list() {
    let records = tempfile::tempdir().unwrap();
    std::fs::write(
        records.path().join("wasmtime-faulty.toml"),
        "[\"behaviour::varies\"]\noutcome = \"completed\"\nobservations = { odd = true }\n",
    )
    .unwrap();
    let mut suite = selftest_suite_with_records(records.path());
    // All 40 odd by chance: once in 2^40 runs of this test.
    suite.repeat = 40;
    let suite = Arc::new(suite);
    let _ = run_trials(&suite, &[faulty_host()], VARIES, true);
    let failure = failure_of(&suite, VARIES).expect("a variation the record does not list fails");
    assert_contains(&failure, " of 40: ");
    assert_contains(&failure, "odd = false");
}

#[test]
fn repeated_runs_pass_when_the_record_lists_every_variation() {
    let layout = Layout::from_env();
    let mut suite = selftest_suite_with_records(&layout.selftest_records_dir());
    suite.repeat = 40;
    let suite = Arc::new(suite);
    let _ = run_trials(&suite, &[faulty_host()], VARIES, true);
    assert_eq!(failure_of(&suite, VARIES), None);
}

// ---------------------------------------------------------------------------
// Trials through libtest-mimic

/// Runs the trials of `suite` on `hosts` that `filter` selects; the nested
/// run's own output goes to a log file, not into this test's output.
fn run_trials(
    suite: &Arc<Suite>,
    hosts: &[Arc<dyn Host>],
    filter: &str,
    exact: bool,
) -> libtest_mimic::Conclusion {
    let log = tempfile::NamedTempFile::new().unwrap();
    let arguments = libtest_mimic::Arguments {
        filter: Some(filter.into()),
        exact,
        logfile: Some(log.path().display().to_string()),
        ..Default::default()
    };
    libtest_mimic::run(&arguments, suite.clone().trials(hosts))
}

/// The failure report of `trial`, from the suite's results.
fn failure_of(suite: &Suite, trial: &str) -> Option<String> {
    suite
        .results
        .all()
        .into_iter()
        .find(|result| result.trial == trial)
        .unwrap_or_else(|| panic!("{trial} did not run"))
        .failure
}

const SCENARIOS_TRIAL: &str = "guests::selftest::scenarios";

#[test]
fn every_selftest_scenario_has_a_case_and_every_case_a_scenario() {
    let suite = Arc::new(Suite::selftest(&Layout::from_env()));
    let conclusion = run_trials(&suite, &[faulty_host()], SCENARIOS_TRIAL, true);
    assert_eq!(
        (conclusion.num_passed, conclusion.num_failed),
        (1, 0),
        "{:?}",
        failure_of(&suite, SCENARIOS_TRIAL)
    );
}

#[test]
fn a_scenario_without_a_case_and_a_case_without_a_scenario_fail_the_pairing() {
    let layout = Layout::from_env();
    let cases = tempfile::tempdir().unwrap();
    copy_tree(&layout.selftest_cases_dir(), cases.path());
    // `exit-code` loses its only case...
    std::fs::remove_file(cases.path().join("behaviour/exit-code.toml")).unwrap();
    // ...and a case names a scenario the guest does not have.
    let renamed = cases.path().join("wrong/outcome-kind.toml");
    let text = std::fs::read_to_string(&renamed).unwrap();
    assert!(text.contains("scenario = \"guest-panic\"\n"), "{text}");
    std::fs::write(
        &renamed,
        text.replace(
            "scenario = \"guest-panic\"",
            "scenario = \"no-such-scenario\"",
        ),
    )
    .unwrap();

    let suite = Arc::new(Suite::new(
        &layout,
        cases.path().to_path_buf(),
        layout.selftest_records_dir(),
        selftest_guests(),
        selftest_hosts(),
    ));
    let conclusion = run_trials(&suite, &[faulty_host()], SCENARIOS_TRIAL, true);
    assert_eq!((conclusion.num_passed, conclusion.num_failed), (0, 1));
    let failure = failure_of(&suite, SCENARIOS_TRIAL).unwrap();
    assert_contains(
        &failure,
        "scenario `exit-code` of guest `selftest` has no case: add a case file with `guest = \"selftest\"` and `scenario = \"exit-code\"`, or remove the scenario",
    );
    assert_contains(
        &failure,
        &format!(
            "{}:3:12: guest `selftest` has no scenario `no-such-scenario`; its scenarios: ",
            renamed.display()
        ),
    );
    assert_eq!(failure.lines().count(), 2, "{failure}");
}

#[test]
fn the_selftest_suite_fails_exactly_its_deliberately_failing_trials_on_every_configuration() {
    // Its trials run the limits cases in this process: not beside a
    // measured run, whose peak is this process's.
    let _alone = MEASURING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let layout = Layout::from_env();
    let suite = Arc::new(Suite::selftest(&layout));
    let hosts: Vec<Arc<dyn Host>> = Configuration::ALL
        .iter()
        .map(|configuration| configuration.faulty(&layout))
        .collect();
    // Every trial: the cases, each host's records, the scenario pairing.
    let conclusion = run_trials(&suite, &hosts, "", false);
    // 26 cases on 3 hosts, a records trial per host, a pairing trial per guest.
    assert_eq!(conclusion.num_passed + conclusion.num_failed, 84);
    let failed: Vec<String> = suite
        .results
        .all()
        .into_iter()
        .filter(|result| !result.passed)
        .map(|result| result.trial)
        .collect();
    let mut expected: Vec<String> = hosts
        .iter()
        .flat_map(|host| {
            [
                "divergence::stale",
                "divergence::stale-trap",
                "wrong::observe-answer",
                "wrong::outcome-kind",
            ]
            .map(|case| format!("{}::{case}", host.name()))
        })
        .collect();
    expected.sort();
    assert_eq!(failed, expected);
    let results = suite.results.all();
    for trial in [
        "guests::selftest::scenarios",
        "records::wasmtime-faulty",
        "records::wasmtime-current-thread-faulty",
        "records::wasmtime-sync-faulty",
    ] {
        assert!(
            results
                .iter()
                .any(|result| result.trial == trial && result.passed),
            "{trial}"
        );
    }
}

#[test]
fn json_and_junit_results_carry_both_verdicts_and_the_guests_wasi_release() {
    let suite = Arc::new(Suite::selftest(&Layout::from_env()));
    // behaviour::observe-answer passes, wrong::observe-answer fails.
    let conclusion = run_trials(&suite, &[faulty_host()], "::observe-answer", false);
    assert_eq!((conclusion.num_passed, conclusion.num_failed), (1, 1));

    let out = tempfile::tempdir().unwrap();
    let (json, junit) = (out.path().join("r.json"), out.path().join("r.xml"));
    suite.results.write_json(&json).unwrap();
    suite.results.write_junit(&junit).unwrap();
    let json: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(
        (&json["passed"], &json["failed"]),
        (&json!(1), &json!(1)),
        "{json:#}"
    );
    assert_eq!(json["spec"], json!({ "not-judged": 1, "violates": 1 }));
    // The WASI release the guests were built against: wit/'s.
    assert_eq!(json["wit"], "0.2.12");
    assert_eq!(json["record"], json!({ "unchanged": 2 }));
    let trials = &json["trials"];
    for (i, (trial, spec, passed)) in [
        (
            "wasmtime-faulty::behaviour::observe-answer",
            "not-judged",
            true,
        ),
        ("wasmtime-faulty::wrong::observe-answer", "violates", false),
    ]
    .into_iter()
    .enumerate()
    {
        let row = &trials[i];
        assert_eq!(
            (&row["trial"], &row["spec"], &row["record"], &row["passed"]),
            (
                &json!(trial),
                &json!(spec),
                &json!("unchanged"),
                &json!(passed)
            ),
            "{json:#}"
        );
    }
    assert_eq!(trials[1]["outcome"], "completed");

    let junit = std::fs::read_to_string(junit).unwrap();
    assert!(
        junit.contains(r#"tests="2""#) && junit.contains(r#"failures="1""#),
        "{junit}"
    );
    for property in [
        r#"<property name="spec" value="not-judged"/>"#,
        r#"<property name="spec" value="violates"/>"#,
        r#"<property name="record" value="unchanged"/>"#,
    ] {
        assert_contains(&junit, property);
    }
    assert_contains(&junit, "observation `answer`: expected 41, observed 42");
    assert_contains(&junit, r#"<property name="wit" value="0.2.12"/>"#);
}

// ---------------------------------------------------------------------------
// Malformed files

fn malformed(dir: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir)
        .join(file)
}

/// Loads a malformed case file and returns its error text.
fn case_load_error(file: &str) -> String {
    let path = malformed("malformed-cases", file);
    let name = CaseName {
        family: "malformed".into(),
        case: file.into(),
    };
    match case::load(&path, name, &Suite::selftest(&Layout::from_env()).known) {
        Ok(_) => panic!("{file} loaded"),
        Err(error) => error.to_string(),
    }
}

/// Loads a malformed records file and returns its error text.
fn records_load_error(file: &str) -> String {
    match HostRecords::load(&malformed("malformed-records", file)) {
        Ok(_) => panic!("{file} loaded"),
        Err(error) => error.to_string(),
    }
}

fn assert_names_place_and_help(file: &str, error: &str, at: &str, says: &str) {
    assert!(error.contains(&format!("{file}:{at}")), "{file}: {error}");
    assert!(error.contains(says), "{file}: {error}");
    assert!(error.contains("\n  help: "), "{file}: {error}");
}

#[test]
fn malformed_case_files_name_file_line_and_column_and_say_what_to_do() {
    for (file, at, says) in [
        ("unknown-key.toml", "4:1:", "unknown field `colour`"),
        (
            "key-for-another-outcome.toml",
            "11:6:",
            "`by` applies only to outcome = \"trap\"",
        ),
        (
            "missing-guest.toml",
            "2:9:",
            "there is no guest named `no-such-guest`",
        ),
        ("bad-syntax.toml", "10:", "invalid basic string"),
        (
            "spec-without-clause.toml",
            "5:1:",
            "exactly one of `clause` and `silent`",
        ),
        ("empty-clause.toml", "5:1:", "`clause` is empty"),
        (
            "clause-without-expect.toml",
            "5:1:",
            "a case that cites a clause needs [expect]",
        ),
        (
            "expect-in-silent-case.toml",
            "9:1:",
            "a silent case makes no conformance claim, so it has no [expect]",
        ),
        (
            "divergence-without-link.toml",
            "11:12:",
            "the upstream issue's address",
        ),
        (
            "intermittent-without-seen.toml",
            "15:16:",
            "an intermittent divergence needs `seen`",
        ),
        ("seen-zero-times.toml", "16:8:", "`seen` says 0 in 100 runs"),
        (
            "seen-without-intermittent.toml",
            "15:8:",
            "`seen` goes with `intermittent`",
        ),
        (
            "document-with-silent.toml",
            "8:12:",
            "`document` goes with `clause`",
        ),
        (
            "divergence-missing-draft.toml",
            "11:12:",
            "there is no draft issue `no-such-draft.md`",
        ),
        (
            "duplicate-divergence.toml",
            "14:34:",
            "host `wasmtime-faulty` is named by a second divergence",
        ),
        (
            "divergence-unknown-host.toml",
            "13:29:",
            "there is no host named `wasmtim`",
        ),
        ("trap-without-by.toml", "10:11:", "a trap needs `by`"),
        (
            "upstream-on-a-clause.toml",
            "8:12:",
            "`upstream` in [spec] is the address of a silent case's question",
        ),
        (
            "silent-upstream-not-filed.toml",
            "8:12:",
            "`upstream` must be the filed issue's address (https://...)",
        ),
        (
            "nearest-with-silent.toml",
            "5:1:",
            "`nearest` goes with `clause`, not `silent`",
        ),
        (
            "zero-deadline.toml",
            "10:15:",
            "`deadline-ms` must be positive",
        ),
        (
            "grant-outside-loopback.toml",
            "9:1:",
            "[run.sockets] grants 93.184.216.34:80, which is not a loopback address",
        ),
        (
            "tree-outside-root.toml",
            "11:1:",
            "`../escaped.txt` is not a path under the run's root",
        ),
        (
            "tree-unmeant-dangling-link.toml",
            "11:1:",
            "`data/to-a` links to `a.text`, which the tree does not lay out: add `dangling = true`",
        ),
        (
            "preopen-of-no-directory.toml",
            "16:1:",
            "`data/a.txt` is no directory of the tree",
        ),
        (
            "tree-entry-of-two-kinds.toml",
            "10:12:",
            "a tree entry of one kind only: an entry is \"contents\", { dir = true }",
        ),
        (
            "tree-entry-unknown-key.toml",
            "10:12:",
            "is no key of a tree entry",
        ),
        (
            "preopen-inside-preopen.toml",
            "12:1:",
            "`data` holds the preopen `data/sub`: give each preopen a directory of its own",
        ),
        (
            "link-across-filesystems.toml",
            "11:1:",
            "`apart/to-a` links across filesystems",
        ),
        (
            "error-with-response.toml",
            "9:1:",
            "[run.http-response] cannot be built: `error` answers instead of a response: give it alone",
        ),
        (
            "framing-field-in-response.toml",
            "9:1:",
            "`Content-Length` frames the body, which the harness does from `body` and `trailers`: leave it out",
        ),
        (
            "raw-with-response.toml",
            "9:1:",
            "`raw` is the whole response: give it alone",
        ),
        (
            "chunks-with-body.toml",
            "9:1:",
            "`chunks` is the body: leave `body` out",
        ),
        (
            "list-as-scenario.toml",
            "3:12:",
            "`--list` cannot name a scenario",
        ),
        (
            "message-in-expect.toml",
            "12:11:",
            "`message` applies only to host records",
        ),
        (
            "host-panic-in-expect.toml",
            "10:11:",
            "the spec never allows a host panic or a crash",
        ),
        (
            "malformed-matcher.toml",
            "13:8:",
            "observation `read`: `at-least = 5` is above `at-most = 4`",
        ),
    ] {
        assert_names_place_and_help(file, &case_load_error(file), at, says);
    }
}

#[test]
fn malformed_records_files_name_file_line_and_column_and_say_what_to_do() {
    for (file, at, says) in [
        (
            "guest-trap-without-code.toml",
            "2:1:",
            "a record of a guest trap needs `code`",
        ),
        (
            "empty-message.toml",
            "4:11:",
            "a record of this outcome needs a non-empty `message`",
        ),
        (
            "intermittent-without-reason.toml",
            "3:17:",
            "an intermittent alternative needs a `reason`",
        ),
    ] {
        assert_names_place_and_help(file, &records_load_error(file), at, says);
    }
}

// ---------------------------------------------------------------------------
// A scripted host on real conformance cases: the spec verdict alone

/// A host that runs nothing: for each scenario, a canned outcome and the
/// observation lines its guest would print.
struct ScriptedHost {
    runs: BTreeMap<String, (Outcome, String)>,
}

impl ScriptedHost {
    const NAME: &str = "scripted-selftest";

    fn new(scenario: &str, outcome: Outcome, observations: &[(&str, Value)]) -> ScriptedHost {
        let stdout = observations
            .iter()
            .map(|(name, value)| format!("@witness {}\n", json!({ *name: value })))
            .collect();
        ScriptedHost {
            runs: BTreeMap::from([(scenario.to_string(), (outcome, stdout))]),
        }
    }
}

impl Host for ScriptedHost {
    fn name(&self) -> &str {
        ScriptedHost::NAME
    }

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String> {
        let (outcome, stdout) = self
            .runs
            .get(request.scenario)
            .ok_or_else(|| format!("no script for scenario `{}`", request.scenario))?;
        Ok(HostRun {
            outcome: outcome.clone(),
            stdout: stdout.clone().into_bytes(),
            stderr: Vec::new(),
        })
    }
}

/// What the scripted host's run of the conformance case `name` gets: the
/// spec verdict, and the record verdict against wasmtime's records (to show
/// the run is not what wasmtime does).
fn scripted(
    name: &str,
    outcome: Outcome,
    observations: &[(&str, Value)],
) -> (SpecVerdict, RecordVerdict) {
    let layout = Layout::from_env();
    let suite = Suite::conformance(&layout);
    let (family, case) = name.split_once("::").unwrap();
    let case = load_case(&suite, family, case);
    let host = ScriptedHost::new(&case.scenario, outcome, observations);
    let observed = suite
        .observe(&host, &case)
        .unwrap_or_else(|e| panic!("{e}"));
    let wasmtime = HostRecords::load(&layout.records_dir().join("wasmtime.toml")).unwrap();
    (
        SpecVerdict::judge(&case, ScriptedHost::NAME, &observed),
        RecordVerdict::judge(wasmtime.get(&case.name), &observed),
    )
}

const COMPLETED: Outcome = Outcome::Completed { exit: 0 };

#[test]
fn a_shorter_read_conforms_and_a_read_past_the_bound_violates() {
    // "up to `len` bytes; it may return fewer than requested, but not more".
    let (spec, record) = scripted(
        "streams::open-input-read-4",
        COMPLETED,
        &[("read", json!({ "ok": 2 }))],
    );
    assert_eq!(spec, SpecVerdict::Conforms);
    assert!(
        matches!(record, RecordVerdict::Changed { .. }),
        "{record:?}"
    );
    let (spec, _) = scripted(
        "streams::open-input-read-4",
        COMPLETED,
        &[("read", json!({ "ok": 5 }))],
    );
    assert!(matches!(spec, SpecVerdict::Violates { .. }), "{spec:?}");
}

#[test]
fn completing_where_the_clause_says_implementations_may_trap_conforms() {
    let (spec, record) = scripted(
        "resources::input-stream-dropped-before-pollable",
        COMPLETED,
        &[("pollable-ready", json!(true))],
    );
    assert_eq!(spec, SpecVerdict::Conforms);
    assert!(
        matches!(record, RecordVerdict::Changed { .. }),
        "{record:?}"
    );
}

#[test]
fn ready_indices_in_another_order_than_wasmtime_s_conform() {
    let (spec, record) = scripted(
        "poll::indices-order",
        COMPLETED,
        &[("indices", json!([0, 1]))],
    );
    assert_eq!(spec, SpecVerdict::Conforms);
    assert!(
        matches!(record, RecordVerdict::Changed { .. }),
        "{record:?}"
    );
}

// ---------------------------------------------------------------------------
// Bless

/// A records file as a person keeps it: comments everywhere, an
/// intermittent alternative with its reason.
const COMMENTED_RECORDS: &str = r#"# What `scripted-selftest` did on each case.
# A second header line.

["behaviour::exit-code"]
outcome = "completed" # a trailing comment
exit = 1

# A comment above an entry.
["behaviour::observe-answer"]
outcome = "completed"
observations = { answer = 42 } # the one thing the guest reports

["behaviour::spin-forever"]
outcome = "hang"
intermittent = [
  # A comment inside the alternatives.
  { reason = "a loaded machine may let it run past the deadline", outcome = "trap", by = "guest", code = "interrupt" },
]
"#;

fn observed(outcome: Outcome, stdout: &str) -> Observed {
    Observed::from_run(HostRun {
        outcome,
        stdout: stdout.as_bytes().to_vec(),
        stderr: Vec::new(),
    })
}

/// What the scripted host did on each case of [`COMMENTED_RECORDS`], with
/// the answer it observed.
fn commented_records_observations(answer: u32) -> BTreeMap<String, Observed> {
    BTreeMap::from([
        (
            "behaviour::exit-code".to_string(),
            observed(Outcome::Completed { exit: 1 }, ""),
        ),
        (
            "behaviour::observe-answer".to_string(),
            observed(COMPLETED, &format!("@witness {{\"answer\":{answer}}}\n")),
        ),
        (
            "behaviour::spin-forever".to_string(),
            observed(
                Outcome::Hang {
                    deadline: Duration::from_millis(300),
                },
                "",
            ),
        ),
    ])
}

/// `bless::bless` of `source` (written to a file and loaded as records).
fn bless_text(source: &str, observations: &BTreeMap<String, Observed>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scripted-selftest.toml");
    std::fs::write(&path, source).unwrap();
    let records = HostRecords::load(&path).unwrap_or_else(|e| panic!("{e}"));
    bless::bless(source, &records, observations).unwrap()
}

#[test]
fn blessing_what_the_records_already_say_changes_nothing() {
    let blessed = bless_text(COMMENTED_RECORDS, &commented_records_observations(42));
    assert_eq!(blessed, COMMENTED_RECORDS);
    // An intermittent alternative counts as recorded.
    let mut observations = commented_records_observations(42);
    observations.insert(
        "behaviour::spin-forever".into(),
        observed(
            Outcome::Trap(Trap::ByGuest {
                code: "interrupt".into(),
                message: "wasm trap: interrupt".into(),
            }),
            "",
        ),
    );
    assert_eq!(
        bless_text(COMMENTED_RECORDS, &observations),
        COMMENTED_RECORDS
    );
}

#[test]
fn blessing_a_changed_observation_rewrites_only_that_record_and_is_idempotent() {
    let changed = commented_records_observations(43);
    let blessed = bless_text(COMMENTED_RECORDS, &changed);
    assert_eq!(
        blessed,
        COMMENTED_RECORDS.replace("answer = 42", "answer = 43"),
        "every comment and every other record stays byte for byte"
    );
    assert_eq!(bless_text(&blessed, &changed), blessed);
}

/// Every file under `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for path in std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()) {
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn bless_writes_the_records_dir_and_nothing_else() {
    let layout = Layout::from_env();
    let root = tempfile::tempdir().unwrap();
    let (cases, records) = (root.path().join("cases"), root.path().join("records"));
    copy_tree(&layout.selftest_cases_dir(), &cases);
    let before = snapshot(root.path());

    let suite = Arc::new(
        Suite::new(
            &layout,
            cases.clone(),
            records.clone(),
            selftest_guests(),
            selftest_hosts(),
        )
        .blessing(),
    );
    // behaviour::observe-answer, and wrong::observe-answer: blessing never
    // makes a spec violation pass.
    let conclusion = run_trials(&suite, &[faulty_host()], "::observe-answer", false);
    assert_eq!((conclusion.num_passed, conclusion.num_failed), (1, 1));
    let diff = suite.blessings.as_ref().unwrap().write(&records).unwrap();
    assert_contains(&diff, "+[\"wrong::observe-answer\"]");

    let mut after = snapshot(root.path());
    let written = records.join("wasmtime-faulty.toml");
    assert!(after.remove(&written).is_some(), "{after:#?}");
    assert_eq!(
        after,
        before,
        "bless changed a file outside {}",
        records.display()
    );
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(
        text.starts_with("# What `wasmtime-faulty` did on each case")
            && text.contains("\n[\"behaviour::observe-answer\"]\n"),
        "a new records file starts with its header, then the records:\n{text}"
    );
    let blessed = HostRecords::load(&written).unwrap();
    assert_eq!(
        blessed.entries.keys().collect::<Vec<_>>(),
        ["behaviour::observe-answer", "wrong::observe-answer"]
    );
}

/// Records what the three faulty hosts do on every self-test case, and
/// every other installed host on the limits cases, into
/// harness/tests/selftest-records/, printing the diff. Not a test: run it
/// on purpose after changing the self-test guests or cases, and review the
/// diff like code.
#[test]
#[ignore = "writes harness/tests/selftest-records/: run it on purpose"]
fn bless_the_selftest_records() {
    // Its trials run the limits cases in this process: not beside a
    // measured run, whose peak is this process's.
    let _alone = MEASURING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let layout = Layout::from_env();
    let suite = Arc::new(Suite::selftest(&layout).blessing());
    let hosts: Vec<Arc<dyn Host>> = Configuration::ALL
        .iter()
        .map(|configuration| configuration.faulty(&layout))
        .collect();
    // The case trials: `<host>-faulty::<family>::<case>`.
    let _ = run_trials(&suite, &hosts, "-faulty::", false);
    let others: Vec<Arc<dyn Host>> = installed_other_hosts()
        .into_iter()
        .map(|(host, _)| host)
        .collect();
    let _ = run_trials(&suite, &others, "::limits::", false);
    let diff = suite
        .blessings
        .as_ref()
        .unwrap()
        .write(&layout.selftest_records_dir())
        .unwrap();
    if diff.is_empty() {
        println!("bless: every self-test record already matches");
    } else {
        println!("bless: self-test records written\n{diff}");
    }
}

// ---------------------------------------------------------------------------
// The conformance cases: one edit, exactly the right failures

/// Copies a directory tree (case files, WIT: small, a few levels deep).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn changing_one_expectation_fails_exactly_that_case() {
    let layout = Layout::from_env();
    let cases = tempfile::tempdir().unwrap();
    copy_tree(&layout.cases_dir(), cases.path());
    let edited = cases.path().join("poll/never-and-1ms.toml");
    let text = std::fs::read_to_string(&edited).unwrap();
    let (allowed, edit) = (
        "indices = { one-or-more-of = [1] }",
        "indices = { one-or-more-of = [0] }",
    );
    assert!(
        text.contains(allowed),
        "the fixture edit no longer applies: {text}"
    );
    std::fs::write(&edited, text.replace(allowed, edit)).unwrap();

    let known = Suite::conformance(&layout).known;
    let suite = Suite::new(
        &layout,
        cases.path().to_path_buf(),
        layout.records_dir(),
        known.guests.into_keys().collect(),
        known.hosts,
    );
    let host = Configuration::MultiThread.plain(&layout);
    let loaded = suite.load();
    // Hangs wait for their deadlines: run the cases side by side, as many
    // at once as libtest would.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(4, usize::from);
    let mut failed: Vec<(String, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut failed = Vec::new();
                    while let Some((name, case)) =
                        loaded.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        let case = case.as_ref().unwrap_or_else(|e| panic!("{e}"));
                        // As the suite: a case the host cannot provide is not run.
                        if host.supports(&case.run).is_err() {
                            continue;
                        }
                        let observed = suite.observe(host.as_ref(), case).unwrap();
                        let trial = format!("wasmtime::{name}");
                        if let (_, Err(report)) = suite.check(&trial, "wasmtime", case, &observed) {
                            failed.push((name.to_string(), report));
                        }
                    }
                    failed
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    failed.sort();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let (name, report) = &failed[0];
    assert_eq!(name, "poll::never-and-1ms");
    assert_contains(report, "spec verdict:   violates");
    assert_contains(report, "record verdict: unchanged");
    assert_contains(
        report,
        "≠ observations.indices = { one-or-more-of = [0] } │ observations.indices = [1]",
    );
    assert_contains(
        report,
        "reproduce: cargo xtask test --host wasmtime -- --exact wasmtime::poll::never-and-1ms",
    );
}

#[test]
fn a_spec_edit_names_exactly_the_cases_that_cite_the_changed_clause() {
    let layout = Layout::from_env();
    let wit = tempfile::tempdir().unwrap();
    copy_tree(&layout.wit_dir(), wit.path());
    let io = wit.path().join("deps/io.wit");
    let text = std::fs::read_to_string(&io).unwrap();
    let removed = "  /// - the list is empty, or:\n";
    assert!(
        text.contains(removed),
        "the fixture edit no longer applies to {}",
        io.display()
    );
    std::fs::write(&io, text.replace(removed, "")).unwrap();

    let spec = Spec::load(wit.path()).unwrap();
    let stale: Vec<String> = Suite::conformance(&layout)
        .load()
        .into_iter()
        .map(|(_, case)| case.unwrap_or_else(|e| panic!("{e}")))
        .filter(|case| spec.stale(case).is_some())
        .map(|case| case.name.to_string())
        .collect();
    assert_eq!(stale, ["poll::empty-list", "poll::out-of-bounds-empty"]);
}

// ---------------------------------------------------------------------------
// A host in a process of its own: a fake wasmtime CLI

/// harness/tests/fake-hosts/<name>.
fn fake_host_program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fake-hosts")
        .join(name)
}

/// harness/tests/fake-hosts/wasmtime: answers `--version`, and behaves as
/// the scenario says.
fn fake_cli() -> WasmtimeCliHost {
    WasmtimeCliHost::new(fake_host_program("wasmtime"), None).unwrap()
}

/// harness/tests/fake-hosts/adapter: speaks the adapter protocol, and
/// ends as the scenario says.
fn fake_adapter() -> AdapterHost {
    AdapterHost::new(
        "fake-adapter",
        vec![fake_host_program("adapter").into()],
        Capabilities::default(),
    )
}

/// Runs `scenario` on `host` with a 300 ms deadline.
fn run_on(host: &dyn Host, scenario: &str) -> Result<HostRun, String> {
    let settings = RunSettings {
        deadline: Duration::from_millis(300),
        ..RunSettings::default()
    };
    host.run(&RunRequest {
        component: Path::new("no-component.wasm"),
        scenario,
        settings: &settings,
        preopens: &[],
    })
}

fn run_fake(scenario: &str) -> Result<HostRun, String> {
    run_on(&fake_cli(), scenario)
}

/// The grandchild whose pid `run` printed no longer runs (a zombie at
/// most, until init reaps it).
fn assert_grandchild_gone(run: &HostRun) {
    let stdout = String::from_utf8_lossy(&run.stdout);
    let pid = stdout
        .trim()
        .strip_prefix("grandchild ")
        .unwrap_or_else(|| panic!("the fake host printed {stdout:?}"));
    let alive = || {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        state
            .split(") ")
            .nth(1)
            .is_some_and(|rest| !rest.starts_with('Z'))
    };
    // SIGKILL is delivered asynchronously: give the kernel a moment to
    // finish the process (a bound on waiting, not a measure of time).
    for _ in 0..500 {
        if !alive() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("grandchild {pid} still runs after its group was killed");
}

#[test]
fn a_cli_host_is_named_for_the_version_it_reports() {
    assert_eq!(fake_cli().name(), "wasmtime-cli-0.0.0-fake");
}

/// The fake wasmtime CLI and the fake adapter: both hosts in a process of
/// their own, whose process group the harness owns.
fn fake_host_processes() -> [Box<dyn Host>; 2] {
    [Box::new(fake_cli()), Box::new(fake_adapter())]
}

#[test]
fn a_host_process_past_its_deadline_is_a_hang_and_nothing_it_started_outlives_it() {
    for host in fake_host_processes() {
        let run = run_on(host.as_ref(), "hang-with-grandchild").unwrap();
        assert_eq!(
            run.outcome,
            Outcome::Hang {
                deadline: Duration::from_millis(300)
            },
            "{}",
            host.name()
        );
        assert_grandchild_gone(&run);
    }
}

/// An adapter's own start and shutdown (a browser's) are not the guest's
/// time: one that had replied before the harness killed it at its
/// backstop ran the guest as its reply says.
#[test]
fn an_adapter_killed_after_its_reply_ended_the_run_as_it_replied() {
    let run = run_on(&fake_adapter(), "reply-then-linger").unwrap();
    assert_eq!(run.outcome, Outcome::Completed { exit: 0 });
    assert_eq!(String::from_utf8_lossy(&run.stdout), "guest output\n");
}

#[test]
fn a_host_process_killed_by_a_signal_is_a_crash() {
    for host in fake_host_processes() {
        let run = run_on(host.as_ref(), "crash").unwrap();
        assert_eq!(
            run.outcome,
            Outcome::Crash {
                detail: "killed by signal 11".into()
            },
            "{}",
            host.name()
        );
    }
}

#[test]
fn each_way_a_cli_ends_is_classified() {
    for (scenario, expected) in [
        ("exit-1", Outcome::Completed { exit: 1 }),
        (
            "host-panic",
            Outcome::HostPanic {
                message: "the fake CLI panics".into(),
            },
        ),
        (
            "guest-trap",
            Outcome::Trap(Trap::ByGuest {
                code: "unreachable-code-reached".into(),
                message: "wasm `unreachable` instruction executed".into(),
            }),
        ),
        (
            "host-trap",
            Outcome::Trap(Trap::ByHost {
                message: "empty poll list".into(),
            }),
        ),
    ] {
        assert_eq!(run_fake(scenario).unwrap().outcome, expected, "{scenario}");
    }
}

#[test]
fn a_cli_report_that_fits_no_rule_is_a_harness_error_showing_what_it_printed() {
    let error = run_fake("garbage").unwrap_err();
    assert_contains(&error, "wasmtime-cli-0.0.0-fake");
    assert_contains(&error, "status 0 with an error report");
    assert_contains(&error, "this is no report a wasmtime CLI prints");
}

// ---------------------------------------------------------------------------
// The adapter protocol, with a fake adapter

#[test]
fn each_reply_of_an_adapter_is_an_outcome() {
    for (scenario, expected) in [
        ("exit-3", Outcome::Completed { exit: 3 }),
        (
            "guest-trap",
            Outcome::Trap(Trap::ByGuest {
                code: "unreachable-code-reached".into(),
                message: "unreachable".into(),
            }),
        ),
        (
            "host-trap",
            Outcome::Trap(Trap::ByHost {
                message: "empty poll list".into(),
            }),
        ),
        (
            "host-panic",
            Outcome::HostPanic {
                message: "TypeError: x is undefined".into(),
            },
        ),
        (
            "link-error",
            Outcome::LinkError {
                message: "missing import".into(),
            },
        ),
        (
            "hang",
            Outcome::Hang {
                deadline: Duration::from_millis(300),
            },
        ),
    ] {
        let run = run_on(&fake_adapter(), scenario).unwrap();
        assert_eq!(run.outcome, expected, "{scenario}");
    }
    let run = run_on(&fake_adapter(), "exit-3").unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "guest output\n");
}

#[test]
fn an_adapter_that_breaks_the_protocol_is_a_harness_error_showing_what_it_printed() {
    for (scenario, says) in [
        ("garbage", "a reply that does not parse"),
        ("no-reply", "no reply"),
        ("trap-without-by", "a `trap` needs `by`"),
    ] {
        let error = run_on(&fake_adapter(), scenario).unwrap_err();
        assert_contains(&error, "adapter `fake-adapter`");
        assert_contains(&error, "broke the adapter protocol");
        assert_contains(&error, says);
    }
    let error = run_on(&fake_adapter(), "no-reply").unwrap_err();
    assert_contains(&error, "the fake adapter forgot its reply");
}

// ---------------------------------------------------------------------------
// Serving: one adapter process, many runs

/// harness/tests/fake-hosts/serving-adapter: serves runs as their
/// scenarios say.
fn fake_serving_adapter() -> AdapterHost {
    let serving = Capabilities {
        serving: true,
        ..Capabilities::default()
    };
    AdapterHost::new(
        "fake-serving-adapter",
        vec![fake_host_program("serving-adapter").into()],
        serving,
    )
}

/// One serving process takes run after run; what it prints outside a
/// run's tokens is no run's; one that ended between runs, died or crashed
/// during one, or broke the protocol is replaced for the next run, which
/// ends as it would have on a fresh process (one that broke the protocol
/// serves no further run); the deadline counts from the run's first token;
/// one that never answers is a hang at the deadline, its process group
/// killed.
#[test]
fn a_serving_adapter_takes_run_after_run_and_its_faults_stay_in_their_run() {
    let host = fake_serving_adapter();
    let answered = |host: &AdapterHost, started: usize| {
        let run = run_on(host, "answer").unwrap();
        assert_eq!(run.outcome, Outcome::Completed { exit: 0 });
        assert_eq!(String::from_utf8_lossy(&run.stdout), "guest output\n");
        assert_eq!(String::from_utf8_lossy(&run.stderr), "");
        assert_eq!(
            host.serving_processes_started(),
            started,
            "processes started"
        );
    };
    answered(&host, 1);
    answered(&host, 1);
    // Its stray output before and after the run is in no run's output.
    let run = run_on(&host, "stray-output-then-answer").unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "guest output\n");
    answered(&host, 1);
    // Ended between runs: the next run has a new process.
    run_on(&host, "die-after-answer").unwrap();
    answered(&host, 2);
    let error = run_on(&host, "die-during-run").unwrap_err();
    assert_contains(&error, "adapter `fake-serving-adapter`");
    assert_contains(&error, "no reply");
    assert_contains(&error, "exited with status 3");
    assert_contains(&error, "partial output");
    answered(&host, 3);
    let run = run_on(&host, "crash-during-run").unwrap();
    assert_eq!(
        run.outcome,
        Outcome::Crash {
            detail: "killed by signal 11".into()
        }
    );
    answered(&host, 4);
    for (scenario, says) in [
        ("garbage-reply", "a reply that does not parse"),
        (
            "wrong-run",
            "a reply for run `[witness run 0]`, not for this run",
        ),
        ("no-run", "a reply without the run's token"),
    ] {
        let error = run_on(&host, scenario).unwrap_err();
        assert_contains(&error, "adapter `fake-serving-adapter`");
        assert_contains(&error, "broke the adapter protocol");
        assert_contains(&error, says);
    }
    answered(&host, 7);
    // What a process does before the run's first token is not the run's
    // time: one that begins past the deadline and grace and then answers
    // completed the run, in the same process.
    let run = run_on(&host, "slow-start-then-answer").unwrap();
    assert_eq!(run.outcome, Outcome::Completed { exit: 0 });
    assert_eq!(String::from_utf8_lossy(&run.stdout), "guest output\n");
    answered(&host, 7);
    let started = std::time::Instant::now();
    let run = run_on(&host, "never-answer").unwrap();
    assert_eq!(
        run.outcome,
        Outcome::Hang {
            deadline: Duration::from_millis(300)
        }
    );
    assert!(started.elapsed() < Duration::from_millis(300) + GRACE + Duration::from_secs(1));
    answered(&host, 8);
}

/// Whether a serving process of a runtime serves on after a run.
type ServesOn = fn(Runtime) -> bool;

/// On every installed host that serves many runs per process (jco on
/// Node, on Bun and in chromium), what a run leaves behind (a file in its scratch
/// directory, a stdin read begun, handles never dropped, a one-hour timer,
/// a timer the shim re-arms every millisecond, a hang, a stack overflow, a
/// host panic, the shim's shared stdout flushed) is invisible to the next
/// run: it reports exactly what it reports in a process of its own (its
/// arguments, all of its stdin, no variable, an empty scratch directory).
/// Runs that leave only handles the shim can let go, files and timers
/// Node holds are served by the same process; the others end or spend
/// theirs.
#[test]
fn on_every_serving_host_what_a_run_leaves_is_invisible_to_the_next() {
    let layout = Layout::from_env();
    let registry = layout.registry().unwrap();
    let selftest = Suite::selftest(&layout);
    let conformance = Suite::conformance(&layout);
    let report = load_case(&selftest, "limits", "report-run");
    let mut spin = load_case(&selftest, "limits", "spin-forever");
    spin.run.deadline = Duration::from_millis(500);
    // (the case, whether the process that ran it serves the next run on
    // each runtime: the shim's Node build keeps what a run left in its
    // worker; in the browser only a hang ends the process)
    let browser_only = |runtime| runtime == Runtime::Chromium;
    let always = |_| true;
    let leavers: [(Case, ServesOn); 8] = [
        // Both take their stdin, which the Node build's worker reads ahead
        // in the background: a read begun there could take the next run's
        // stdin. This one keeps a pollable of it, too.
        (load_case(&selftest, "limits", "leave-traces"), browser_only),
        (
            load_case(&conformance, "streams", "open-input-read-4"),
            browser_only,
        ),
        (load_case(&selftest, "limits", "recurse-forever"), always),
        (
            load_case(&conformance, "resources", "handle-zero-ready"),
            always,
        ),
        (load_case(&selftest, "limits", "leave-a-timer"), always),
        // A timer past Node's largest timeout, which the Node build re-arms.
        (
            load_case(&conformance, "poll", "never-and-1ms"),
            browser_only,
        ),
        (spin, |_| false),
        (
            load_case(
                &conformance,
                "streams",
                "blocking-write-zeroes-and-flush-4096",
            ),
            browser_only,
        ),
    ];
    let mut proven = 0;
    for (name, entry) in &registry.entries {
        if entry.kind != Kind::Jco || registry.status(name, entry) != Status::Ready {
            continue;
        }
        let host = registry.open_jco(name, entry, true).unwrap();
        if !host.serves() {
            eprintln!("`{name}` runs one run per process: nothing to prove");
            continue;
        }
        let alone = registry.open_jco(name, entry, false).unwrap();
        let expected = selftest.observe(&alone, &report).unwrap();
        assert_eq!(expected.outcome, Outcome::Completed { exit: 0 }, "{name}");
        for (leaver, serves_on) in &leavers {
            let serves_on = serves_on(entry.runtime);
            let suite = match leaver.name.family.as_str() {
                "limits" => &selftest,
                _ => &conformance,
            };
            suite.observe(&host, leaver).unwrap();
            let started = host.serving_processes_started();
            let next = selftest.observe(&host, &report).unwrap();
            assert_eq!(
                (&next.outcome, &next.observations),
                (&expected.outcome, &expected.observations),
                "on {name}, after {}",
                leaver.name
            );
            let by = host.serving_processes_started() - started;
            assert_eq!(
                by,
                usize::from(!serves_on),
                "on {name}, processes started for the run after {}",
                leaver.name
            );
        }
        proven += 1;
    }
    if proven == 0 {
        eprintln!(
            "no serving host is installed here: `cargo xtask hosts install jco` installs one"
        );
    }
}

// ---------------------------------------------------------------------------
// Confinement: no guest reaches what its case did not grant

/// A TCP listener and a UDP socket on 127.0.0.1 and a listener on `[::1]`
/// that no case grants: a wasi:http request, a TCP connect and a datagram
/// aimed at them never arrive, and no bind outside the run's own address
/// succeeds, on every configuration; the controls next to them do arrive
/// (a connect and a datagram the case grants, a request to the reserved
/// authority).
#[test]
fn no_guest_reaches_an_address_its_case_did_not_grant() {
    let ipv6_listener = std::net::TcpListener::bind("[::1]:0").unwrap();
    ipv6_listener.set_nonblocking(true).unwrap();
    let ipv6_address = ipv6_listener.local_addr().unwrap().to_string();
    let peers = Peers::bind();
    let layout = Layout::from_env();
    let suite = Suite::selftest(&layout);
    let aimed = |case: &str, at: &str, grant: bool| {
        let mut case = load_case(&suite, "confinement", case);
        case.run.stdin = format!("{at}\n").into_bytes();
        if grant {
            let grant = at.parse().unwrap();
            case.run.sockets.as_mut().unwrap().grant.push(grant);
        }
        case
    };
    let listener_address = peers.tcp.to_string();
    let request = aimed("request-to-ungranted-authority", &listener_address, false);
    let reserved = aimed("request-to-ungranted-authority", "witness.invalid", false);
    let connect = aimed("connect-to-ungranted-address", &listener_address, false);
    let connect_ipv6 = aimed("connect-to-ungranted-address", &ipv6_address, false);
    let granted = aimed("connect-to-ungranted-address", &listener_address, true);
    let udp_address = peers.udp.to_string();
    let datagram = aimed("datagram-to-ungranted-address", &udp_address, false);
    let granted_datagram = aimed("datagram-to-ungranted-address", &udp_address, true);
    let binds = ["127.0.0.1:0", "0.0.0.0:0"].map(|at| aimed("bind-to-another-address", at, false));
    for configuration in Configuration::ALL {
        let host = configuration.faulty(&layout);
        let observe = |case: &Case, name: &str| {
            let observed = suite.observe(host.as_ref(), case).unwrap();
            assert_eq!(
                observed.outcome,
                Outcome::Completed { exit: 0 },
                "{configuration:?} {}: {}",
                case.name,
                observed.stderr
            );
            observed.observations.unwrap().0[name].clone()
        };
        assert_eq!(
            observe(&request, "response"),
            json!("ErrorCode::HttpRequestDenied"),
            "{configuration:?}"
        );
        assert_eq!(
            observe(&connect, "connect"),
            json!("access-denied"),
            "{configuration:?}"
        );
        assert_eq!(
            observe(&connect_ipv6, "connect"),
            json!("access-denied"),
            "{configuration:?}: [::1] is the machine's"
        );
        assert!(
            ipv6_listener.accept().is_err(),
            "{configuration:?}: a guest reached the listener on [::1]"
        );
        assert_eq!(
            observe(&datagram, "send"),
            json!("access-denied"),
            "{configuration:?}"
        );
        for bind in &binds {
            assert_eq!(
                observe(bind, "bind"),
                json!("access-denied"),
                "{configuration:?}"
            );
        }
        assert_eq!(
            peers.connections(),
            0,
            "{configuration:?}: a guest reached the listener"
        );
        assert_eq!(
            peers.datagrams(Duration::ZERO),
            0,
            "{configuration:?}: a guest's datagram arrived"
        );
        assert_eq!(
            observe(&reserved, "response"),
            json!(200),
            "{configuration:?}"
        );
        assert_eq!(
            observe(&granted, "connect"),
            json!("connected"),
            "{configuration:?}"
        );
        assert_eq!(
            peers.connections(),
            1,
            "{configuration:?}: the granted connect did not arrive"
        );
        assert_eq!(
            observe(&granted_datagram, "send"),
            json!("sent"),
            "{configuration:?}"
        );
        assert_eq!(
            peers.datagrams(Duration::from_secs(5)),
            1,
            "{configuration:?}: the granted datagram did not arrive"
        );
    }
}

/// Out-of-process hosts run in the private network: a TCP listener and a
/// UDP socket on the machine's 127.0.0.1, outside it, never see a guest's
/// request, connect or datagram, on every installed host that has sockets;
/// the controls, a listener and a UDP socket inside the private network,
/// do; and the same host run outside the private network on purpose
/// (`-breached`) reaches the listener outside, so the check fails when the
/// confinement is gone.
#[test]
fn on_every_installed_host_no_guest_reaches_beyond_the_private_network() {
    let network = match private_network::get() {
        Ok(network) => network,
        Err(problem) => return eprintln!("not proven here: {problem}"),
    };
    let outside = Peers::bind();
    let inside = network.inside(Peers::bind).unwrap();
    // A name the machine's /etc/hosts has and witness's resolver files do not.
    let machine_name = std::fs::read_to_string("/etc/hosts")
        .ok()
        .and_then(|hosts| {
            (hosts.lines())
                .filter(|line| !line.trim_start().starts_with('#'))
                .flat_map(|line| line.split_whitespace().skip(1))
                .find(|name| *name != "localhost")
                .map(str::to_string)
        });
    let layout = Layout::from_env();
    let suite = Suite::selftest(&layout);
    let registry = layout.registry().unwrap();
    let aimed = |case: &str, at: SocketAddr| {
        let mut case = load_case(&suite, "confinement", case);
        case.run.stdin = format!("{at}\n").into_bytes();
        case.run.deadline = Duration::from_secs(3);
        case
    };
    // What the guest observed as `name`, or how its run ended without it.
    let observe = |host: &dyn Host, case: &Case, name: &str| {
        let observed = suite.observe(host, case).unwrap();
        match observed
            .observations
            .map(|found| found.0.get(name).cloned())
        {
            Ok(Some(value)) => value,
            _ => json!(format!("{:?}: {}", observed.outcome, observed.stderr)),
        }
    };
    for (host, _) in installed_other_hosts() {
        let connect = aimed("connect-to-ungranted-address", outside.tcp);
        if let Err(reason) = host.supports(&connect.run) {
            eprintln!("not proven on {}: {reason}", host.name());
            continue;
        }
        let name = host.name();
        let datagram = aimed("datagram-to-ungranted-address", outside.udp);
        let request = aimed("request-to-ungranted-authority", outside.tcp);
        for case in [&connect, &datagram, &request] {
            observe(host.as_ref(), case, "");
        }
        assert_eq!(
            outside.connections(),
            0,
            "{name}: a guest reached the listener outside"
        );
        assert_eq!(
            outside.datagrams(Duration::from_millis(200)),
            0,
            "{name}: a datagram left"
        );
        let control = aimed("connect-to-ungranted-address", inside.tcp);
        assert_eq!(
            observe(host.as_ref(), &control, "connect"),
            json!("connected"),
            "{name}"
        );
        assert_eq!(
            inside.connections(),
            1,
            "{name}: the connect inside did not arrive"
        );
        let control = aimed("datagram-to-ungranted-address", inside.udp);
        match observe(host.as_ref(), &control, "send") {
            sent if sent == json!("sent") => {
                let arrived = inside.datagrams(Duration::from_secs(5));
                assert_eq!(arrived, 1, "{name}: the datagram inside did not arrive");
            }
            failed => eprintln!("not proven for datagrams on {name}, which sends none: {failed}"),
        }
        let breached = registry.selftest_outside_the_private_network(name).unwrap();
        let reached = observe(breached.as_ref(), &connect, "connect");
        assert_eq!(reached, json!("connected"), "{name}-breached");
        assert_eq!(
            outside.connections(),
            1,
            "{name}-breached: the connect did not arrive"
        );
        // Name lookups: `localhost` resolves inside; a name only the
        // machine's /etc/hosts has resolves outside alone.
        let lookup = |at: &str| {
            let mut case = load_case(
                &suite,
                "confinement",
                "resolve-a-name-only-the-machine-knows",
            );
            case.run.stdin = format!("{at}\n").into_bytes();
            case
        };
        let resolved = |value: &Value| value.as_array().is_some_and(|list| !list.is_empty());
        let local = observe(host.as_ref(), &lookup("localhost"), "resolved");
        assert!(resolved(&local), "{name}: localhost resolved as {local}");
        match &machine_name {
            Some(machine) => {
                let inside = observe(host.as_ref(), &lookup(machine), "resolved");
                assert!(!resolved(&inside), "{name}: {machine} resolved as {inside}");
                let outside = observe(breached.as_ref(), &lookup(machine), "resolved");
                assert!(
                    resolved(&outside),
                    "{name}-breached: {machine} as {outside}"
                );
            }
            None => eprintln!("lookups not proven: /etc/hosts names nothing but localhost"),
        }
    }
}

/// A TCP listener and a UDP socket on 127.0.0.1, counting what reaches them.
struct Peers {
    listener: std::net::TcpListener,
    tcp: SocketAddr,
    socket: std::net::UdpSocket,
    udp: SocketAddr,
}

impl Peers {
    fn bind() -> Peers {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        Peers {
            tcp: listener.local_addr().unwrap(),
            udp: socket.local_addr().unwrap(),
            listener,
            socket,
        }
    }

    /// The connections that arrived since last asked.
    fn connections(&self) -> usize {
        std::iter::from_fn(|| self.listener.accept().ok()).count()
    }

    /// The datagrams that arrived since last asked, waiting at most
    /// `bound` for the first: a datagram is not instant, even on loopback.
    fn datagrams(&self, bound: Duration) -> usize {
        let mut buffer = [0; 64];
        let until = std::time::Instant::now() + bound;
        loop {
            let got = std::iter::from_fn(|| self.socket.recv(&mut buffer).ok()).count();
            if got > 0 || std::time::Instant::now() >= until {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Which hosts run a case's network: in the private network, the CLIs and
/// adapters run sockets cases and wasi:http cases, those the responder
/// answers too, and a name that resolves to nothing; a proxy guest runs on
/// the CLI (`wasmtime serve`), not on an adapter without a server to hand
/// its request to; in-process hosts run neither a case aiming at addresses
/// they refuse nor a name lookup, nor a name that must resolve to nothing,
/// which would reach the machine's network.
#[test]
fn which_hosts_run_which_network_cases() {
    let layout = Layout::from_env();
    let suite = Suite::conformance(&layout);
    let loaded = suite.load();
    let case = |name: &str| {
        let (_, case) = loaded
            .iter()
            .find(|(case, _)| case.to_string() == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        case.as_ref().unwrap().clone()
    };
    let private: [Arc<dyn Host>; 2] = [Arc::new(fake_cli()), Arc::new(fake_adapter())];
    let sockets = case("sockets::tcp-start-connect-again");
    if let Err(problem) = private_network::get() {
        // Not root: every network case is not applicable there, saying why.
        for host in &private {
            assert_contains(&host.supports(&sockets.run).unwrap_err(), problem);
        }
        return eprintln!("the private network's hosts not proven here: {problem}");
    }
    let http = case("http::outgoing-request-body-again");
    let answered = case("http::incoming-response-consume-again");
    let proxy = case("proxy::incoming-request-consume-again");
    let unnamed = case("http-outgoing::name-resolves-to-nothing");
    for host in &private {
        assert_eq!(host.supports(&sockets.run), Ok(()), "{}", host.name());
        assert_eq!(host.supports(&http.run), Ok(()), "{}", host.name());
        assert_eq!(host.supports(&answered.run), Ok(()), "{}", host.name());
        assert_eq!(host.supports(&unnamed.run), Ok(()), "{}", host.name());
    }
    assert_eq!(fake_cli().supports(&proxy.run), Ok(()));
    assert_contains(
        &fake_adapter().supports(&proxy.run).unwrap_err(),
        "the guest is a proxy",
    );
    let mut beyond = sockets.run.clone();
    beyond.sockets.as_mut().unwrap().private_network = true;
    let mut lookup = sockets.run.clone();
    lookup.sockets.as_mut().unwrap().name_lookup = true;
    for configuration in Configuration::ALL {
        let host = configuration.plain(&layout);
        for run in [&sockets.run, &http.run, &answered.run, &proxy.run] {
            assert_eq!(host.supports(run), Ok(()), "{configuration:?}");
        }
        assert_contains(
            &host.supports(&beyond).unwrap_err(),
            "aims at addresses this host's confinement refuses",
        );
        assert_contains(&host.supports(&lookup).unwrap_err(), "looks names up");
        assert_contains(
            &host.supports(&unnamed.run).unwrap_err(),
            "a name that resolves to nothing",
        );
    }
    for host in &private {
        assert_eq!(host.supports(&beyond), Ok(()));
        assert_eq!(host.supports(&lookup), Ok(()));
    }
}

// ---------------------------------------------------------------------------
// Between runs: `cargo xtask diff`

/// Two real runs of the self-test cases, the second with one expectation
/// edited: `witness-diff` names exactly that trial a new violation and
/// exits 1; the same run against itself changes nothing; a file that is not
/// a run's JSON is an error with its place.
#[test]
fn diff_names_the_trial_that_newly_violates_between_two_runs() {
    let layout = Layout::from_env();
    let out = tempfile::tempdir().unwrap();
    let run = |cases_dir: PathBuf, file: &str, failing: u64| {
        let suite = Arc::new(Suite::new(
            &layout,
            cases_dir,
            layout.selftest_records_dir(),
            selftest_guests(),
            selftest_hosts(),
        ));
        // The host's cases, whose outcomes do not vary from run to run.
        let conclusion = run_trials(&suite, &[faulty_host()], "behaviour::host-", false);
        assert_eq!(conclusion.num_failed, failing, "{file}");
        let path = out.path().join(file);
        suite.results.write_json(&path).unwrap();
        path
    };
    let before = run(layout.selftest_cases_dir(), "before.json", 0);
    let cases = tempfile::tempdir().unwrap();
    copy_tree(&layout.selftest_cases_dir(), cases.path());
    let edited = cases.path().join("behaviour/host-trap.toml");
    let text = std::fs::read_to_string(&edited).unwrap();
    assert!(text.contains("by = \"host\""), "{text}");
    std::fs::write(&edited, text.replace("by = \"host\"", "by = \"guest\"")).unwrap();
    let after = run(cases.path().to_path_buf(), "after.json", 1);

    let diff = |old: &Path, new: &Path| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_witness-diff"))
            .arg(old)
            .arg(new)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (status, report, _) = diff(&before, &after);
    assert_eq!(status, Some(1), "{report}");
    assert!(report.starts_with("1 new violations\n"), "{report}");
    assert_contains(
        &report,
        "new violations (1)\n  wasmtime-faulty::behaviour::host-trap\n    spec     conforms → violates\n",
    );
    assert_eq!(diff(&before, &before).1, "no trial changed\n");
    let broken = out.path().join("broken.json");
    std::fs::write(&broken, "{\"trials\": 3}").unwrap();
    let (status, _, error) = diff(&before, &broken);
    assert_eq!(status, Some(2));
    assert_contains(&error, &format!("{}:1:", broken.display()));
    assert_contains(
        &error,
        "help: write one with `cargo xtask test --json FILE`",
    );
}
