//! `witness-spec`: the spec side of witness, run by `cargo xtask spec`.
//! `check` fails when a case's cited clause or item is gone from the WIT;
//! `coverage` prints the coverage ledger per package (the functions the
//! cases call, the clauses and trap clauses they cite, the error codes
//! they see hosts return), lists what is open, and checks it against the
//! floors in coverage.toml;
//! `retarget` points a WIT tree's witness.wit at the versions it has;
//! `upstream` writes the draft upstream issues (`check` fails while one is
//! stale).

use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use witness::case::{Case, Citation};
use witness::history::summary;
use witness::judge::records::HostRecords;
use witness::layout::Layout;
use witness::ledger::{Entry, Ledger, Measure, Ran, Status, out_of_reach, ratchet, readme};
use witness::report::diff::Run;
use witness::report::results::ran;
use witness::report::upstream::Evidence;
use witness::spec::{FULLY_COVERED_INTERFACES, Spec, Stale, documents};
use witness::suite::Suite;

#[derive(Parser)]
#[command(
    name = "witness-spec",
    about = "Check case citations against the WIT, and measure coverage"
)]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
    /// The WIT tree, in wit/'s layout (default: the checkout's wit/).
    #[arg(long, global = true)]
    wit: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Verb {
    /// Fail when a quoted clause is no longer in its item's docs, or the
    /// item is gone, or a draft in upstream/ is stale.
    Check,
    /// The coverage ledger: per package, functions, clauses, trap clauses
    /// and error conditions covered; fails when a clause of wasi:io/poll or
    /// wasi:clocks/monotonic-clock is neither covered nor approached.
    Coverage(CoverageOptions),
    /// Rewrite the tree's witness.wit so that the packages its worlds import
    /// carry the versions its deps/ has: the guests then build against any
    /// WASI 0.2.x release.
    Retarget,
    /// Record FILE's sentences in the WIT tree's documents.lock.
    LockDocument {
        file: PathBuf,
        #[arg(long)]
        package: String,
        #[arg(long)]
        release: String,
        #[arg(long)]
        source: String,
    },
    /// Write upstream/'s drafts from the cases, the records and the kept
    /// parts (upstream/<draft>.toml).
    Upstream {
        /// Write nothing; fail when a draft is stale, missing or orphaned.
        #[arg(long)]
        check: bool,
        /// Also copy each draft's guest components to DIR/<draft>/.
        #[arg(long, value_name = "DIR")]
        components: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct CoverageOptions {
    /// List every open item, by package, interface and measure.
    #[arg(long)]
    open: bool,
    /// List every item with its cases and hosts.
    #[arg(long, conflicts_with = "open")]
    entries: bool,
    /// Fail when a figure fell below its floor in coverage.toml.
    #[arg(long)]
    check: bool,
    /// Rewrite coverage.toml with the current figures (none may have fallen).
    #[arg(long, conflicts_with = "check")]
    raise_floor: bool,
    /// The run whose hosts the ledger names (default: the last run's
    /// JSON, when there is one).
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let layout = Layout::from_env();
    let wit = cli.wit.unwrap_or_else(|| layout.wit_dir());
    let ok = match cli.verb {
        Verb::Check => spec_and_cases(&layout, &wit).and_then(|(spec, cases)| {
            let cited = check(&layout, &spec, &cases);
            Ok(upstream(&layout, cases, true, None)? && cited)
        }),
        Verb::Coverage(options) => {
            let own_wit = wit == layout.wit_dir();
            spec_and_cases(&layout, &wit)
                .and_then(|(spec, cases)| coverage(&layout, &spec, &cases, &options, own_wit))
        }
        Verb::Upstream { check, components } => {
            cases(&layout).and_then(|cases| upstream(&layout, cases, check, components.as_deref()))
        }
        Verb::LockDocument {
            file,
            package,
            release,
            source,
        } => lock_document(&wit, &file, package, release, source),
        Verb::Retarget => witness::spec::worlds::retarget(&wit).map(|changed| {
            for change in changed {
                println!("witness.wit now imports {change}");
            }
            true
        }),
    };
    match ok {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Adds or replaces `file`'s entry in `wit`'s documents.lock.
fn lock_document(
    wit: &Path,
    file: &Path,
    package: String,
    release: String,
    source: String,
) -> Result<bool, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = (file.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{} names no file", file.display()))?;
    let path = wit.join(documents::LOCK);
    let mut lock: documents::Lock = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?,
        Err(_) => documents::Lock::default(),
    };
    lock.documents.retain(|locked| locked.file != name);
    lock.documents.push(documents::Locked::new(
        name.clone(),
        package,
        release,
        source,
        &text,
    ));
    lock.documents.sort_by(|a, b| a.file.cmp(&b.file));
    let body = toml::to_string(&lock).map_err(|e| e.to_string())?;
    std::fs::write(&path, format!("{}{body}", documents::LOCK_HEADER))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{}: {name} locked", path.display());
    Ok(true)
}

/// The spec in `wit` and every conformance case, or the first error.
fn spec_and_cases(layout: &Layout, wit: &Path) -> Result<(Spec, Vec<Case>), String> {
    Ok((Spec::load(wit)?, cases(layout)?))
}

/// Every conformance case, or the first error.
fn cases(layout: &Layout) -> Result<Vec<Case>, String> {
    Suite::conformance(layout)
        .load()
        .into_iter()
        .map(|(_, case)| case.map_err(|error| error.to_string()))
        .collect()
}

/// Checks or writes the drafts in upstream/; copies their guests'
/// components to `components`/<draft>/ when asked.
fn upstream(
    layout: &Layout,
    cases: Vec<Case>,
    check_only: bool,
    components: Option<&Path>,
) -> Result<bool, String> {
    let hosts = layout.registry().map_err(|e| e.to_string())?.entries;
    let drafts_dir = layout.drafts_dir();
    let evidence = Evidence::load(
        layout.root(),
        cases,
        hosts,
        &layout.records_dir(),
        &drafts_dir,
    )
    .map_err(|e| e.to_string())?;
    let drafts = evidence.drafts()?;
    // The README's history table comes from history.toml, as the drafts' "since when".
    let readme_path = layout.root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .map_err(|e| format!("cannot read {}: {e}", readme_path.display()))?;
    let with_history = witness::ledger::readme::replaced_between(
        &readme,
        summary::README_BEGIN,
        summary::README_END,
        &evidence.history.readme_section(),
    )?;
    if check_only {
        let problems = witness::report::upstream::check(&drafts_dir, &drafts);
        for problem in &problems {
            println!("{problem}");
        }
        println!(
            "upstream check: {} drafts, {} stale, missing or orphaned",
            drafts.len(),
            problems.len()
        );
        let history_stale = with_history != readme;
        if history_stale {
            println!(
                "{}: the history section is stale against history.toml: run `cargo xtask upstream`",
                readme_path.display()
            );
        }
        return Ok(problems.is_empty() && !history_stale);
    }
    if with_history != readme {
        std::fs::write(&readme_path, with_history)
            .map_err(|e| format!("cannot write {}: {e}", readme_path.display()))?;
        println!("{}: the history section rewritten", readme_path.display());
    }
    let changes = witness::report::upstream::write(&drafts_dir, &drafts)
        .map_err(|e| format!("cannot write {}: {e}", drafts_dir.display()))?;
    for change in &changes {
        println!("{change}");
    }
    println!(
        "upstream: {} drafts, {} changed",
        drafts.len(),
        changes.len()
    );
    if let Some(dir) = components {
        for draft in &drafts {
            let into = dir.join(draft.file.trim_end_matches(".md"));
            std::fs::create_dir_all(&into)
                .map_err(|e| format!("cannot create {}: {e}", into.display()))?;
            for guest in &draft.guests {
                let component = layout.component(guest);
                std::fs::copy(&component, into.join(format!("{guest}.wasm"))).map_err(|e| {
                    format!(
                        "cannot copy {}: {e} (cargo xtask build-guests builds it)",
                        component.display()
                    )
                })?;
            }
        }
        println!(
            "the drafts' guest components are in {}/<draft>/",
            dir.display()
        );
    }
    Ok(true)
}

fn check(layout: &Layout, spec: &Spec, cases: &[Case]) -> bool {
    let mut stale = 0;
    for case in cases {
        let Some(problem) = spec.stale(case) else {
            continue;
        };
        stale += 1;
        let (item, quoted) = match &case.spec {
            Citation::Clause { item, clause, .. } => (item, Some(clause)),
            Citation::Silent { item, .. } => (item, None),
        };
        let path = layout.display(&case.path);
        println!(
            "{path}: {}: {}",
            case.name,
            problem.describe(item, "the WIT")
        );
        if let Stale::ClauseGone { current } = problem {
            println!(
                "  quoted:  {:?}",
                quoted.map(String::as_str).unwrap_or_default()
            );
            println!("  current: {current:?}");
        }
    }
    println!(
        "spec check: {} cases, {stale} citing a clause or item that changed or is gone",
        cases.len()
    );
    stale == 0
}

fn coverage(
    layout: &Layout,
    spec: &Spec,
    cases: &[Case],
    options: &CoverageOptions,
    own_wit: bool,
) -> Result<bool, String> {
    let results = options.results.clone().unwrap_or_else(|| layout.last_run());
    // No run yet (the default file absent) names no hosts; any other file must read.
    let ran = if options.results.is_none() && !results.exists() {
        Ran::new()
    } else {
        ran(&Run::load(&results)?.trials)
    };
    let records = HostRecords::load_all(&layout.records_dir()).map_err(|e| e.to_string())?;
    let ledger = Ledger::build(spec, cases, &layout.guests_dir(), &records, &ran)?;
    let reasons = out_of_reach::read(&layout.out_of_reach(), &ledger).map_err(|e| e.to_string())?;
    if options.open || options.entries {
        list(&ledger, &reasons, options.open);
    }
    print!("{}", ledger_table(&ledger));
    if ran.is_empty() {
        println!(
            "(no run to name hosts from: `cargo xtask test` writes {})",
            results.display()
        );
    }
    let mut ok = true;
    for interface in FULLY_COVERED_INTERFACES {
        let open: Vec<&Entry> = (ledger.entries.iter())
            .filter(|entry| entry.interface == interface && entry.measure == Measure::Clauses)
            .filter(|entry| entry.status == Status::Open)
            .collect();
        for entry in &open {
            println!(
                "every normative clause of {interface} must be covered, or approached with the reason: `{}` says {:?}",
                entry.member(),
                entry.text.as_deref().unwrap_or_default()
            );
        }
        ok &= open.is_empty();
    }
    let unreasoned = out_of_reach::unreasoned(&ledger, &reasons);
    for entry in &unreasoned {
        println!(
            "every open {} entry of {} must say why in {}: `{}` {:?}",
            entry.measure.name(),
            entry.package(),
            layout.out_of_reach().display(),
            entry.item,
            entry.text.as_deref().unwrap_or_default()
        );
    }
    ok &= unreasoned.is_empty();
    let path = layout.coverage_floors();
    let floors = ratchet::read(&path).map_err(|e| e.to_string())?;
    let comparison = ratchet::compare(&floors, &ledger.packages);
    if options.raise_floor {
        if !comparison.dropped.is_empty() {
            return Err(format!(
                "a figure fell, so the floors stay: {}\n  help: if that is meant (a case removed on purpose), lower its floor in {} by hand",
                comparison.dropped.join("; "),
                path.display()
            ));
        }
        std::fs::write(&path, ratchet::render(&ledger.packages))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("coverage floors written to {}", path.display());
        // The README speaks of witness's own WIT, not of one under review.
        if own_wit {
            let (readme_path, current, generated) =
                readme_section(layout, &ledger, cases, &records)?;
            if current != generated {
                std::fs::write(&readme_path, generated)
                    .map_err(|e| format!("cannot write {}: {e}", readme_path.display()))?;
                println!(
                    "\"What witness covers\" written to {}",
                    readme_path.display()
                );
            }
        }
    } else if options.check {
        for dropped in &comparison.dropped {
            println!("coverage fell: {dropped}");
        }
        if !comparison.rose.is_empty() {
            println!(
                "coverage rose ({}): raise the floors with `cargo xtask spec coverage --raise-floor` and commit coverage.toml",
                comparison.rose.join("; ")
            );
        }
        ok &= comparison.dropped.is_empty();
        if comparison.dropped.is_empty() {
            println!("coverage floors hold ({})", path.display());
        }
        if own_wit {
            let (readme_path, current, generated) =
                readme_section(layout, &ledger, cases, &records)?;
            if current != generated {
                println!(
                    "\"What witness covers\" in {} is stale: `cargo xtask spec coverage --raise-floor` rewrites it",
                    readme_path.display()
                );
                ok = false;
            }
        }
    }
    Ok(ok)
}

/// The README's path, its text, and its text with "What witness covers"
/// generated from `ledger`.
fn readme_section(
    layout: &Layout,
    ledger: &Ledger,
    cases: &[Case],
    records: &[(String, HostRecords)],
) -> Result<(PathBuf, String, String), String> {
    let path = layout.root().join("README.md");
    let current = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let section = readme::section(ledger, cases, records);
    let generated = readme::replaced(&current, &section)?;
    Ok((path, current, generated))
}

/// Per package, each measure as `covered/total`, and the sum.
fn ledger_table(ledger: &Ledger) -> String {
    let figures = &ledger.packages;
    let mut text = format!("{:<16}", "package");
    for measure in Measure::ALL {
        text.push_str(&format!("{:>12}", measure.name()));
    }
    text.push('\n');
    let mut all: BTreeMap<Measure, (usize, usize)> = BTreeMap::new();
    for (package, measures) in figures {
        text.push_str(&format!("{package:<16}"));
        for (measure, figure) in measures {
            text.push_str(&format!(
                "{:>12}",
                format!("{}/{}", figure.covered, figure.total)
            ));
            let sum = all.entry(*measure).or_default();
            sum.0 += figure.covered;
            sum.1 += figure.total;
        }
        text.push('\n');
    }
    text.push_str(&format!("{:<16}", "all"));
    for (covered, total) in all.values() {
        text.push_str(&format!("{:>12}", format!("{covered}/{total}")));
    }
    text.push('\n');
    text
}

/// Every entry (or only the open ones), by package, interface and measure;
/// an open one with its reason.
fn list(ledger: &Ledger, reasons: &out_of_reach::Reasons, open_only: bool) {
    let mut entries: Vec<(usize, &Entry)> = (ledger.entries.iter().enumerate())
        .filter(|(_, entry)| !open_only || entry.status == Status::Open)
        .collect();
    entries.sort_by(|(_, a), (_, b)| {
        (&a.interface, a.measure, &a.item).cmp(&(&b.interface, b.measure, &b.item))
    });
    let mut heading = None;
    for (index, entry) in entries {
        let this = (entry.interface.as_str(), entry.measure);
        if heading != Some(this) {
            println!("{} {}:", entry.interface, entry.measure.name());
            heading = Some(this);
        }
        let mark = match entry.status {
            Status::Covered => '✓',
            Status::Approached => '~',
            Status::Open => '✗',
        };
        match &entry.text {
            Some(text) => println!("  {mark} {}: {text:?}", entry.member()),
            None => println!("  {mark} {}", entry.member()),
        }
        if let Some(why) = reasons.get(&index) {
            println!("      out of reach: {why}");
        }
        if !open_only && !entry.cases.is_empty() {
            println!("      ← {}", entry.cases.join(", "));
            if !entry.hosts.is_empty() {
                let hosts: Vec<&str> = entry.hosts.iter().map(String::as_str).collect();
                println!("      on {}", hosts.join(", "));
            }
        }
    }
}
