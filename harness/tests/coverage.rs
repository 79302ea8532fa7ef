//! The coverage ledger and its ratchet against the committed checkout: the
//! floors in coverage.toml hold, and removing one case makes them fail.

use witness::case::Case;
use witness::host::responder::{Responder, Wanted};
use witness::judge::records::HostRecords;
use witness::layout::Layout;
use witness::ledger::{Ledger, Measure, Ran, Status, ratchet};
use witness::spec::Spec;
use witness::suite::Suite;

fn checkout() -> (Layout, Spec, Vec<Case>) {
    let layout = Layout::from_env();
    let spec = Spec::load(&layout.wit_dir()).expect("wit/ parses (`cargo xtask wit sync`)");
    let cases = Suite::conformance(&layout)
        .load()
        .into_iter()
        .map(|(_, case)| case.expect("the committed cases load"))
        .collect();
    (layout, spec, cases)
}

/// The ledger of `cases`, with the checkout's guests and records, no run.
fn ledger_of(layout: &Layout, spec: &Spec, cases: &[Case]) -> Ledger {
    let records = HostRecords::load_all(&layout.records_dir()).expect("records/ reads");
    Ledger::build(spec, cases, &layout.guests_dir(), &records, &Ran::new()).unwrap()
}

#[test]
fn the_floors_hold_and_fail_when_one_case_is_removed() {
    let (layout, spec, cases) = checkout();
    let floors = ratchet::read(&layout.coverage_floors()).expect("coverage.toml reads");
    let ledger = ledger_of(&layout, &spec, &cases);
    let whole = ratchet::compare(&floors, &ledger.packages);
    assert!(whole.dropped.is_empty(), "{:?}", whole.dropped);
    // A case that alone covers something: without it, a figure falls.
    let alone = (ledger.entries.iter())
        .find(|entry| entry.status == Status::Covered && entry.cases.len() == 1)
        .expect("some entry is covered by one case");
    let removed = alone.cases[0].clone();
    let fewer: Vec<Case> = (cases.into_iter())
        .filter(|case| case.name.to_string() != removed)
        .collect();
    let without = ledger_of(&layout, &spec, &fewer);
    let comparison = ratchet::compare(&floors, &without.packages);
    let expected = format!("{} {}:", alone.package(), alone.measure.name());
    assert!(
        comparison
            .dropped
            .iter()
            .any(|line| line.starts_with(&expected)),
        "without {removed}, {expected} should fall below its floor: {comparison:?}"
    );
}

#[test]
fn every_wasi_function_is_in_the_ledger_once() {
    let (layout, spec, cases) = checkout();
    let ledger = ledger_of(&layout, &spec, &cases);
    let functions: Vec<&str> = (ledger.entries.iter())
        .filter(|entry| entry.measure == Measure::Functions)
        .map(|entry| entry.item.as_str())
        .collect();
    // Counted another way, from the text of wit/deps/*.wit: the `name: func`,
    // `name: static func` and `constructor(` declarations, less those gated
    // `@unstable` (the line before), which wit-parser leaves out by default.
    let mut declared = 0;
    for file in std::fs::read_dir(layout.wit_dir().join("deps")).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        declared += (1..lines.len())
            .filter(|&i| !lines[i - 1].starts_with("@unstable"))
            .filter(|&i| {
                lines[i].starts_with("constructor(")
                    || lines[i].split_once(": ").is_some_and(|(name, rest)| {
                        !name.contains(' ')
                            && (rest.starts_with("func(") || rest.starts_with("static func("))
                    })
            })
            .count();
    }
    assert_eq!(functions.len(), declared);
    let unique: std::collections::BTreeSet<&str> = functions.iter().copied().collect();
    assert_eq!(unique.len(), functions.len());
}

/// What the guests' shared plumbing (`guests/common`) calls on every run:
/// argv, stdout for observations, stderr for a panic's message, the
/// environment. The ledger never counts them for a case.
const PLUMBING: [&str; 5] = [
    "wasi:cli/environment#get-arguments",
    "wasi:cli/environment#get-environment",
    "wasi:cli/stdout#get-stdout",
    "wasi:cli/stderr#get-stderr",
    "wasi:io/streams#output-stream.blocking-write-and-flush",
];

#[test]
fn every_call_a_wasmtime_cli_traces_is_one_the_ledger_counts() {
    use witness::host::registry::{Kind, Status};
    use witness::host::subprocess::{self, HostEnd};
    let (layout, spec, cases) = checkout();
    let registry = layout.registry().expect("hosts.toml reads");
    let installed: Vec<_> = (registry.entries.iter())
        .filter(|(name, entry)| {
            entry.kind == Kind::WasmtimeCli && registry.status(name, entry) == Status::Ready
        })
        .collect();
    let Some((name, entry)) = installed.last() else {
        println!(
            "no wasmtime CLI installed: `cargo xtask hosts install wasmtime-cli-49.0.3` to run this check"
        );
        return;
    };
    let program = registry.program(name, entry);
    let ledger = ledger_of(&layout, &spec, &cases);
    let mut counted: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        Default::default();
    for entry in ledger
        .entries
        .iter()
        .filter(|e| e.measure == Measure::Functions)
    {
        for case in &entry.cases {
            counted.entry(case).or_default().insert(&entry.item);
        }
    }
    let (mut checked, mut traced_total) = (0, 0);
    let mut uncounted = Vec::new();
    for case in &cases {
        // What a CLI runs: a command guest, one importing wasi:http or
        // wasi:sockets only in the private network, as the CLI host does.
        let network = ["wasi:http", "wasi:sockets"]
            .iter()
            .any(|p| case.run.needs.imports.contains(*p));
        let private = witness::host::private_network::get().ok();
        if !case.run.needs.command || (network && private.is_none()) {
            continue;
        }
        let files = case
            .run
            .files
            .as_ref()
            .map(|files| files.lay_out().unwrap());
        let component = layout.component(&case.guest);
        let mut command = std::process::Command::new(&program);
        let responder = Responder::for_run(private, Wanted::of(&case.run, false)).unwrap();
        if let Some(private) = private {
            private.confine(
                &mut command,
                responder.as_ref().and_then(Responder::hosts_file),
            );
        }
        let loopback = witness::host::world::sockets::fresh_address();
        let mut options = witness::host::wasmtime_cli::network_options(&case.run, loopback);
        options.extend(witness::host::wasmtime_cli::invocation_options(
            &case.run, true,
        ));
        command
            .args(witness::host::wasmtime_cli::run_arguments(
                &component.to_string_lossy(),
                &case.scenario,
                files.as_ref().map_or(&[], |files| files.granted()),
                &options,
                &case.run.invocation.arguments,
            ))
            .env("WASMTIME_LOG", "wasmtime_wasi=trace,wasmtime_wasi_io=trace");
        // The calls before a hang are traced all the same: two seconds do.
        let settings = witness::host::RunSettings {
            deadline: case.run.deadline.min(std::time::Duration::from_secs(2)),
            ..case.run.clone()
        };
        let stderr = match subprocess::run_host(command, &settings, std::time::Duration::ZERO, None)
        {
            Ok(HostEnd::Decided(run)) => run.stderr,
            Ok(HostEnd::Exited { stderr, .. }) => stderr,
            Err(error) => panic!("{}: {error}", case.name),
        };
        let name = case.name.to_string();
        let traced = traced_calls(&String::from_utf8_lossy(&stderr));
        let counts = counted.get(name.as_str()).cloned().unwrap_or_default();
        for call in &traced {
            if !counts.contains(call.as_str()) && !PLUMBING.contains(&call.as_str()) {
                uncounted.push(format!("{name}: {call}"));
            }
        }
        // The other way is no error: a call on a path the host never
        // reached (a trap in the canonical ABI before the host function
        // began, a branch not taken). Shown, for the reader.
        // Exports are the host's calls into the guest, not traced.
        let exported = spec.exports.get(&case.guest).cloned().unwrap_or_default();
        let imported = |call: &&&str| {
            !exported
                .iter()
                .any(|interface| call.starts_with(&format!("{interface}#")))
        };
        for call in (counts.iter())
            .filter(imported)
            .filter(|call| !traced.contains(**call))
        {
            println!("counted, not traced: {name}: {call}");
        }
        traced_total += traced.len();
        checked += 1;
    }
    println!("{checked} cases traced on {name}: {traced_total} calls");
    assert!(checked > 50, "only {checked} cases could be traced");
    // A trace that no longer reads (wasmtime's format changed) must not pass.
    assert!(
        traced_total > 2 * checked,
        "only {traced_total} calls read from the traces"
    );
    assert_eq!(
        uncounted,
        Vec::<String>::new(),
        "called on {name}, not counted by the ledger"
    );
}

/// The WIT functions a wasmtime trace shows called: its bindings' spans
/// `wit-bindgen import{module=".." function="[method]pollable.ready"}:
/// wasmtime_wasi_io::bindings::wasi::io::poll: call`.
fn traced_calls(trace: &str) -> std::collections::BTreeSet<String> {
    let mut calls = std::collections::BTreeSet::new();
    for line in trace
        .lines()
        .filter(|line| line.ends_with(": call") || line.contains(": call "))
    {
        let Some((_, rest)) = line.split_once("function=\"") else {
            continue;
        };
        let Some((function, rest)) = rest.split_once('"') else {
            continue;
        };
        let Some(target) = rest.split(": ").nth(1) else {
            continue;
        };
        let Some((_, path)) = target.rsplit_once("::wasi::") else {
            continue;
        };
        let Some((package, interface)) = path.split_once("::") else {
            continue;
        };
        let member = match function.split_once(']') {
            Some(("[constructor", resource)) => format!("{resource}.constructor"),
            Some((_, member)) => member.to_string(),
            None => function.to_string(),
        };
        calls.insert(format!(
            "wasi:{package}/{}#{member}",
            interface.replace('_', "-")
        ));
    }
    calls
}
