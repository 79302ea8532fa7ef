//! Self-tests: the harness proves it can fail. A wrong expectation fails
//! with a readable report, a guest panic is a guest trap, spinning and
//! blocked guests end as hangs at the deadline, a panicking host import is
//! a host-panic and the next run still works, malformed case files name
//! file:line:col.

use std::path::Path;
use witness::case::{self, Case, CaseName};
use witness::host::wasmtime::{GuestState, WasmtimeHost};
use witness::layout::{Layout, SELFTEST_GUEST};
use witness::outcome::{Observed, Outcome, Trap};
use witness::spec::Spec;
use witness::suite::Suite;

/// The faulty host's name, as case files key its messages.
const FAULTY_HOST: &str = "wasmtime-faulty";

/// wasmtime with one extra import that panics: a deliberately faulty host,
/// for self-tests only.
fn faulty_host(layout: &Layout) -> WasmtimeHost {
    WasmtimeHost::with_extra_imports(FAULTY_HOST, layout.compile_cache_dir(), |linker| {
        linker.instance("witness:guests/faulty")?.func_wrap(
            "panic-in-host",
            |_store: wasmtime::StoreContextMut<'_, GuestState>, (): ()| -> wasmtime::Result<()> {
                panic!("the self-test host panics on purpose")
            },
        )
    })
}

fn selftest_case(layout: &Layout, family: &str, name: &str) -> Case {
    let path = layout
        .selftest_cases_dir()
        .join(family)
        .join(format!("{name}.toml"));
    let name = CaseName {
        family: family.into(),
        case: name.into(),
    };
    case::load(&path, name, &Suite::selftest(layout).known).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a self-test case on the faulty host and checks it.
fn run(host: &WasmtimeHost, family: &str, name: &str) -> (Observed, Result<(), String>) {
    let layout = Layout::from_env();
    let case = selftest_case(&layout, family, name);
    let suite = Suite::selftest(&layout);
    let observed = suite.observe(host, &case).unwrap_or_else(|e| panic!("{e}"));
    let trial = format!("{FAULTY_HOST}::{}", case.name);
    let verdict = suite.check(&trial, FAULTY_HOST, &case, &observed);
    (observed, verdict)
}

#[test]
fn a_wrong_expectation_fails_with_expected_and_observed_side_by_side() {
    let host = faulty_host(&Layout::from_env());
    let (_, verdict) = run(&host, "wrong", "observe-answer");
    let report = verdict.expect_err("answer = 41 is wrong: the guest observes 42");
    assert!(report.contains("≠ observations.answer = 41"), "{report}");
    assert!(report.contains("│ observations.answer = 42"), "{report}");
    assert!(
        report.contains("observation `answer`: expected 41, observed 42"),
        "{report}"
    );
    assert!(
        report.contains(
            "reproduce: cargo xtask test -- --exact wasmtime-faulty::wrong::observe-answer"
        ),
        "{report}"
    );
}

#[test]
fn a_known_divergence_holds_the_host_to_its_known_wrong_outcome() {
    let host = faulty_host(&Layout::from_env());
    run(&host, "divergence", "known").1.unwrap();
}

#[test]
fn a_divergence_the_host_no_longer_shows_fails_as_stale() {
    let host = faulty_host(&Layout::from_env());
    let report = run(&host, "divergence", "stale")
        .1
        .expect_err("the host now meets the spec");
    assert!(
        report.contains("https://github.com/example/selftest/issues/2"),
        "{report}"
    );
    assert!(
        report.contains(
            "the host now meets the spec's expectation: the divergence is stale, remove it"
        ),
        "{report}"
    );
}

#[test]
fn the_right_expectation_passes() {
    let host = faulty_host(&Layout::from_env());
    let (observed, verdict) = run(&host, "behaviour", "observe-answer");
    assert_eq!(observed.outcome, Outcome::Completed { exit: 0 });
    verdict.unwrap();
}

#[test]
fn a_guest_panic_is_a_trap_raised_by_the_guest() {
    let host = faulty_host(&Layout::from_env());
    let (observed, verdict) = run(&host, "behaviour", "guest-panic");
    assert!(
        matches!(&observed.outcome, Outcome::Trap(Trap::ByGuest { code, .. }) if code == "unreachable-code-reached"),
        "{:?}",
        observed.outcome
    );
    assert!(
        observed
            .stderr
            .contains("the selftest guest panics on purpose"),
        "{}",
        observed.stderr
    );
    verdict.unwrap();
}

/// Runs a self-test case that must end as a hang at its deadline.
fn assert_hang(name: &str) {
    let host = faulty_host(&Layout::from_env());
    let (observed, verdict) = run(&host, "behaviour", name);
    assert!(
        matches!(observed.outcome, Outcome::Hang { .. }),
        "{:?}",
        observed.outcome
    );
    verdict.unwrap();
}

#[test]
fn a_guest_spinning_in_wasm_is_a_hang_at_the_deadline() {
    assert_hang("spin-forever");
}

#[test]
fn a_guest_blocked_in_a_host_call_is_a_hang_at_the_deadline() {
    assert_hang("block-forever");
}

#[test]
fn a_panicking_host_import_is_a_host_panic_and_the_next_run_still_works() {
    let host = faulty_host(&Layout::from_env());
    let (observed, verdict) = run(&host, "behaviour", "host-panic");
    assert!(
        matches!(&observed.outcome, Outcome::HostPanic { message } if message.contains("panics on purpose")),
        "{:?}",
        observed.outcome
    );
    verdict.unwrap();
    let (after, verdict) = run(&host, "behaviour", "observe-answer");
    assert_eq!(after.outcome, Outcome::Completed { exit: 0 });
    verdict.unwrap();
}

#[test]
fn a_guest_exit_is_completed_with_its_status() {
    let host = faulty_host(&Layout::from_env());
    let (_, verdict) = run(&host, "behaviour", "exit-code");
    verdict.unwrap();
}

#[test]
fn a_missing_import_is_a_link_error() {
    let layout = Layout::from_env();
    let plain = WasmtimeHost::new(layout.compile_cache_dir());
    let case = selftest_case(&layout, "behaviour", "observe-answer");
    let observed = Suite::selftest(&layout).observe(&plain, &case).unwrap();
    assert!(
        matches!(&observed.outcome, Outcome::LinkError { message } if message.contains("witness:guests/faulty")),
        "{:?}",
        observed.outcome
    );
}

#[test]
fn every_selftest_scenario_has_a_case_and_every_case_a_scenario() {
    let layout = Layout::from_env();
    let host: std::sync::Arc<dyn witness::host::Host> = std::sync::Arc::new(faulty_host(&layout));
    let trials = std::sync::Arc::new(Suite::selftest(&layout)).trials(&[host]);
    let log = tempfile::NamedTempFile::new().unwrap();
    let arguments = libtest_mimic::Arguments {
        filter: Some(format!("guests::{SELFTEST_GUEST}::scenarios")),
        exact: true,
        logfile: Some(log.path().display().to_string()),
        ..Default::default()
    };
    let conclusion = libtest_mimic::run(&arguments, trials);
    assert_eq!((conclusion.num_passed, conclusion.num_failed), (1, 0));
}

/// Loads a malformed case file and returns its error text.
fn load_error(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/malformed-cases")
        .join(file);
    let name = CaseName {
        family: "malformed".into(),
        case: file.into(),
    };
    match case::load(&path, name, &Suite::selftest(&Layout::from_env()).known) {
        Ok(_) => panic!("{file} loaded"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn malformed_case_files_name_file_line_and_column() {
    for (file, at, says) in [
        (
            "unknown-key.toml",
            "unknown-key.toml:4:1:",
            "unknown field `colour`",
        ),
        (
            "key-for-another-outcome.toml",
            "key-for-another-outcome.toml:11:6:",
            "`by` applies only to outcome = \"trap\"",
        ),
        (
            "missing-guest.toml",
            "missing-guest.toml:2:9:",
            "there is no guest named `no-such-guest`",
        ),
        (
            "bad-syntax.toml",
            "bad-syntax.toml:10:",
            "invalid basic string",
        ),
        (
            "spec-without-clause.toml",
            "spec-without-clause.toml:5:1:",
            "exactly one of `clause` and `silent`",
        ),
        (
            "empty-clause.toml",
            "empty-clause.toml:5:1:",
            "`clause` is empty",
        ),
        (
            "divergence-without-link.toml",
            "divergence-without-link.toml:14:12:",
            "the upstream issue's address",
        ),
        (
            "divergence-missing-draft.toml",
            "divergence-missing-draft.toml:14:12:",
            "there is no draft issue `no-such-draft.md`",
        ),
        (
            "duplicate-divergence.toml",
            "duplicate-divergence.toml:18:8:",
            "a second divergence for host `wasmtime`",
        ),
        (
            "empty-message.toml",
            "empty-message.toml:12:1:",
            "an empty message part matches every message",
        ),
    ] {
        let error = load_error(file);
        assert!(error.contains(at), "{file}: {error}");
        assert!(error.contains(says), "{file}: {error}");
        assert!(error.contains("help: "), "{file}: {error}");
    }
}

/// Copies a directory tree (the case files: small, a few levels deep).
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
    assert!(
        text.contains("indices = [1]"),
        "the fixture edit no longer applies: {text}"
    );
    std::fs::write(&edited, text.replace("indices = [1]", "indices = [0]")).unwrap();

    let guests = Suite::conformance(&layout).known.guests;
    let suite = Suite::new(&layout, cases.path().to_path_buf(), guests);
    let host = WasmtimeHost::new(layout.compile_cache_dir());
    let mut failed = Vec::new();
    for (name, case) in suite.load() {
        let case = case.unwrap_or_else(|e| panic!("{e}"));
        let observed = suite.observe(&host, &case).unwrap();
        if let Err(report) = suite.check(&format!("wasmtime::{name}"), "wasmtime", &case, &observed)
        {
            failed.push((name.to_string(), report));
        }
    }
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let (name, report) = &failed[0];
    assert_eq!(name, "poll::never-and-1ms");
    assert!(
        report.contains("≠ observations.indices = [0] │ observations.indices = [1]"),
        "{report}"
    );
    assert!(
        report.contains("reproduce: cargo xtask test -- --exact wasmtime::poll::never-and-1ms"),
        "{report}"
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
        .map(|(_, case)| case.unwrap())
        .filter(|case| spec.stale(case).is_some())
        .map(|case| case.name.to_string())
        .collect();
    assert_eq!(stale, ["poll::empty-list"]);
}

#[test]
fn records_keep_each_trial_for_json_and_junit() {
    let layout = Layout::from_env();
    let host: std::sync::Arc<dyn witness::host::Host> = std::sync::Arc::new(faulty_host(&layout));
    let suite = std::sync::Arc::new(Suite::selftest(&layout));
    let out = tempfile::tempdir().unwrap();
    let arguments = libtest_mimic::Arguments {
        // behaviour::observe-answer passes, wrong::observe-answer fails.
        filter: Some("::observe-answer".into()),
        // The nested run's own report goes to a file, not into this test's output.
        logfile: Some(out.path().join("log").display().to_string()),
        ..Default::default()
    };
    let conclusion = libtest_mimic::run(&arguments, suite.clone().trials(&[host]));
    assert_eq!((conclusion.num_passed, conclusion.num_failed), (1, 1));

    let (json, junit) = (out.path().join("r.json"), out.path().join("r.xml"));
    suite.records.write_json(&json).unwrap();
    suite.records.write_junit(&junit).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(
        (json["passed"].as_u64(), json["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        json["trials"][1]["trial"],
        "wasmtime-faulty::wrong::observe-answer"
    );
    assert_eq!(json["trials"][1]["outcome"], "completed");
    let junit = std::fs::read_to_string(junit).unwrap();
    assert!(
        junit.contains(r#"tests="2""#) && junit.contains(r#"failures="1""#),
        "{junit}"
    );
    assert!(
        junit.contains("observation `answer`: expected 41, observed 42"),
        "{junit}"
    );
}
