//! `witness-timelapse`, run by `cargo xtask timelapse`: every conformance
//! case on every installed host of `timelapse.toml`, oldest first. History,
//! not a gate: nothing is judged and no record is read. For each kind of
//! host (wasmtime CLIs, jco) it names the first installed version whose
//! behaviour on a case differs from the version before; the whole matrix,
//! case × host, goes to `target/witness/timelapse.json`.

use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use witness::case::Case;
use witness::host::Host;
use witness::host::registry::{Entry, Registry, Status};
use witness::layout::Layout;
use witness::spec::{Spec, Stale};
use witness::suite::Suite;
use witness::timelapse::{Cell, Column, Row, Timelapse, changes};

#[derive(Parser)]
#[command(
    name = "witness-timelapse",
    about = "Run every case across the hosts of timelapse.toml, oldest first, and name what changed"
)]
struct Cli {
    /// Only cases whose name contains this, e.g. `poll::empty-list`.
    filter: Option<String>,
    /// Only these hosts of timelapse.toml (repeatable), e.g. the oldest and
    /// the newest.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match timelapse(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn timelapse(cli: &Cli) -> Result<(), String> {
    let layout = Layout::from_env();
    let registry = Registry::load(
        &layout.root().join("timelapse.toml"),
        layout.hosts_install_root(),
    )
    .map_err(|e| e.to_string())?;
    // One install directory per name: a host in both files must install the same.
    let known = layout.registry().map_err(|e| e.to_string())?;
    let installs = |entry: &Entry| (entry.kind, entry.version.clone(), entry.pypi.clone());
    for (name, entry) in &registry.entries {
        if known
            .entries
            .get(name)
            .is_some_and(|other| installs(other) != installs(entry))
        {
            return Err(format!(
                "`{name}` is in hosts.toml and timelapse.toml with a different kind, version or pypi: make them the same"
            ));
        }
    }
    let wit = witness::worlds::wasi_release(&layout.wit_dir())
        .ok_or("wit/deps has no wasi:io, or does not parse")?;
    let (columns, hosts) = installed_in_order(&registry, &cli.hosts)?;
    let suite = Suite::conformance(&layout);
    let cases: Vec<Case> = suite
        .load()
        .into_iter()
        .filter_map(|(_, case)| case.ok())
        .filter(|case| {
            cli.filter
                .as_ref()
                .is_none_or(|filter| case.name.to_string().contains(filter))
        })
        .collect();
    println!(
        "witness timelapse: {} cases on {} hosts, the guests built against WASI {wit}",
        cases.len(),
        hosts.len()
    );
    let spec = Spec::load(&layout.wit_dir())?;
    let rows: Vec<Row> = cases
        .iter()
        .map(|case| Row {
            citation: citation(&spec, &wit, case),
            ..row(&suite, &columns, &hosts, case)
        })
        .collect();
    report(&rows);
    let out = layout.root().join("target/witness/timelapse.json");
    let json = serde_json::to_string_pretty(&Timelapse {
        wit,
        hosts: columns,
        cases: rows,
    })
    .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out.parent().expect("a file in a directory"))
        .and_then(|()| std::fs::write(&out, json))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("\nthe matrix: {}", out.display());
    println!(
        "as a view of the HTML report: cargo xtask report --timelapse {}",
        out.display()
    );
    Ok(())
}

/// The hosts in the matrix's order, and each host's column.
type Lineup = (Vec<Column>, Vec<Arc<dyn Host>>);

/// The hosts of the registry (only `wanted`, if any), each kind oldest
/// first, installing those that are not yet; one that cannot be installed
/// here is left out, saying why.
fn installed_in_order(registry: &Registry, wanted: &[String]) -> Result<Lineup, String> {
    for name in wanted {
        if !registry.entries.contains_key(name) {
            return Err(format!("timelapse.toml has no host `{name}`"));
        }
    }
    let mut entries: Vec<(&String, &Entry)> = registry
        .entries
        .iter()
        .filter(|(name, _)| wanted.is_empty() || wanted.contains(name))
        .collect();
    entries.sort_by_key(|(_, entry)| (entry.kind.name(), version_key(entry)));
    let (mut columns, mut hosts) = (Vec::new(), Vec::new());
    for (name, entry) in entries {
        if let Status::NotInstalled { .. } = registry.status(name, entry) {
            println!("installing {name}");
            if let Err(why) = registry.install(name) {
                println!("  host {name} left out: {why}");
                continue;
            }
        }
        hosts.push(registry.open(name)?);
        columns.push(Column {
            name: name.clone(),
            kind: entry.kind.name().to_string(),
            version: entry.version.clone().unwrap_or_default(),
        });
    }
    Ok((columns, hosts))
}

/// `36.0.9` as numbers, so that 100 comes after 99.
fn version_key(entry: &Entry) -> Vec<u64> {
    let version = entry.version.as_deref().unwrap_or_default();
    version
        .split('.')
        .filter_map(|part| part.parse().ok())
        .collect()
}

/// One case on every host, and where each kind of host changed.
fn row(suite: &Suite, columns: &[Column], hosts: &[Arc<dyn Host>], case: &Case) -> Row {
    let cells = columns
        .iter()
        .zip(hosts)
        .map(|(column, host)| {
            let cell = match host.supports(&case.run) {
                Err(not_applicable) => Cell::NotApplicable { not_applicable },
                Ok(()) => match suite.observe(host.as_ref(), case) {
                    Ok(observed) => Cell::Did {
                        did: observed.behaviour(),
                        message: observed.outcome.message().map(str::to_string),
                    },
                    Err(error) => Cell::Error { error },
                },
            };
            (column.name.clone(), cell)
        })
        .collect();
    Row {
        case: case.name.to_string(),
        citation: None,
        changes: changes(columns, &cells),
        cells,
    }
}

/// Why `case`'s citation does not hold in WASI `wit`, the release the
/// guests carried; `None` when it holds.
fn citation(spec: &Spec, wit: &str, case: &Case) -> Option<String> {
    let item = case.spec.item();
    spec.stale(case).map(|stale| match stale {
        Stale::ItemGone => format!("`{item}` is not in WASI {wit}"),
        Stale::OtherVersion { found } => format!("WASI {wit} has `{item}` at {found} only"),
        Stale::ClauseGone { .. } => {
            format!("the quoted clause is not in WASI {wit}'s docs of `{item}`")
        }
    })
}

/// The cases some kind of host changed on: each change with the first
/// version that did otherwise, and what it did before and after.
fn report(rows: &[Row]) {
    let changed: Vec<&Row> = rows.iter().filter(|row| !row.changes.is_empty()).collect();
    println!(
        "\n{} of {} cases changed between installed versions:",
        changed.len(),
        rows.len()
    );
    for row in &changed {
        println!("{}", row.case);
        if let Some(citation) = &row.citation {
            println!("  ({citation})");
        }
        for change in &row.changes {
            println!("  from {}: {}", change.host, change.now);
            println!(
                "  {:width$}  before: {}",
                "",
                change.before,
                width = 5 + change.host.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_as_numbers() {
        let entry = |version: &str| Entry {
            kind: witness::host::registry::Kind::WasmtimeCli,
            version: Some(version.into()),
            pypi: None,
            default: false,
            about: String::new(),
        };
        assert!(version_key(&entry("9.0.0")) < version_key(&entry("17.0.3")));
        assert!(version_key(&entry("49.0.3")) < version_key(&entry("100.0.0")));
    }
}
