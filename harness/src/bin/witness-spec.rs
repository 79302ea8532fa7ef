//! `witness-spec`: the spec side of witness, run by `cargo xtask spec`.
//! `check` fails when a case's cited clause or item is gone from the WIT;
//! `coverage` lists the normative clauses and the cases that cite them;
//! `retarget` points a WIT tree's witness.wit at the versions it has;
//! `upstream` writes the draft upstream issues (`check` fails while one is
//! stale).

use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use witness::case::{Case, Citation};
use witness::layout::Layout;
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
    /// List each normative clause with the cases citing it; fail when a clause
    /// of wasi:io/poll or wasi:clocks/monotonic-clock is not covered.
    Coverage,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let layout = Layout::from_env();
    let wit = cli.wit.unwrap_or_else(|| layout.wit_dir());
    let ok = match cli.verb {
        Verb::Check => spec_and_cases(&layout, &wit).and_then(|(spec, cases)| {
            let cited = check(&layout, &spec, &cases);
            Ok(upstream(&layout, cases, true, None)? && cited)
        }),
        Verb::Coverage => {
            spec_and_cases(&layout, &wit).map(|(spec, cases)| coverage(&spec, &cases))
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
        return Ok(problems.is_empty());
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

fn coverage(spec: &Spec, cases: &[Case]) -> bool {
    let mut by_interface: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for clause in spec.coverage(cases) {
        by_interface
            .entry(clause.interface.clone())
            .or_default()
            .push(clause);
    }
    let mut complete = true;
    let (mut all_covered, mut all_total) = (0, 0);
    for (interface, clauses) in &by_interface {
        let covered = clauses.iter().filter(|clause| clause.is_covered()).count();
        let approached = clauses
            .iter()
            .filter(|clause| clause.is_only_approached())
            .count();
        println!(
            "{interface}: {covered}/{} normative clauses covered, {approached} more only approached",
            clauses.len()
        );
        for clause in clauses {
            let item = clause
                .item
                .rsplit_once('#')
                .map_or("(interface)", |(_, item)| item);
            let cases: Vec<&str> = clause
                .cases
                .iter()
                .map(|covering| covering.case.as_str())
                .collect();
            let mark = if clause.is_covered() {
                '✓'
            } else if clause.is_only_approached() {
                '~'
            } else {
                '✗'
            };
            println!("  {mark} {item}: {:?}", clause.sentence);
            if !cases.is_empty() {
                println!("      ← {}", cases.join(", "));
            }
            for why in clause
                .cases
                .iter()
                .filter_map(|covering| covering.nearest.as_deref())
            {
                println!("      only approached: {why}");
            }
        }
        if FULLY_COVERED_INTERFACES.contains(&interface.as_str())
            && covered + approached < clauses.len()
        {
            complete = false;
            println!(
                "  every normative clause of {interface} must be covered, or approached with the reason"
            );
        }
        all_covered += covered;
        all_total += clauses.len();
    }
    println!("spec coverage: {all_covered}/{all_total} normative clauses covered");
    complete
}
