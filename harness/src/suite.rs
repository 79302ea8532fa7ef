//! A suite: a directory of case files and the guests they run, turned into
//! libtest-mimic trials named `<host>::<family>::<case>`.

use crate::case::{self, Case, CaseName, Known, LoadError};
use crate::host::{Host, RunRequest, RunSettings};
use crate::layout::{Layout, SELFTEST_GUEST};
use crate::outcome::Observed;
use crate::report;
use libtest_mimic::{Failed, Trial};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a guest may take to print its scenario list.
const LIST_DEADLINE: Duration = Duration::from_secs(30);

/// Case files and what they may refer to.
pub struct Suite {
    pub layout: Layout,
    pub cases_dir: PathBuf,
    pub known: Known,
}

impl Suite {
    /// `cases/` with every guest but the self-test one.
    pub fn conformance(layout: &Layout) -> Suite {
        let mut guests = guests_in(layout);
        guests.remove(SELFTEST_GUEST);
        Suite {
            layout: layout.clone(),
            cases_dir: layout.cases_dir(),
            known: Known {
                guests,
                drafts_dir: layout.drafts_dir(),
            },
        }
    }

    /// The harness's self-test cases with the self-test guest.
    pub fn selftest(layout: &Layout) -> Suite {
        let guests = BTreeSet::from([SELFTEST_GUEST.to_string()]);
        Suite {
            layout: layout.clone(),
            cases_dir: layout.selftest_cases_dir(),
            known: Known {
                guests,
                drafts_dir: layout.drafts_dir(),
            },
        }
    }

    pub fn load(&self) -> Vec<(CaseName, Result<Case, LoadError>)> {
        case::load_dir(&self.cases_dir, &self.known)
    }

    /// One trial per (host, case), plus one per guest checking that its
    /// scenarios and the cases pair up both ways. Building them runs nothing.
    pub fn trials(&self, hosts: &[Arc<dyn Host>]) -> Vec<Trial> {
        let loaded = Arc::new(self.load());
        let mut trials = Vec::new();
        for host in hosts {
            for (name, case) in loaded.iter() {
                let trial = format!("{}::{name}", host.name());
                let (host, case, layout) = (host.clone(), case.clone(), self.layout.clone());
                trials.push(Trial::test(trial.clone(), move || {
                    let case = case.map_err(|e| Failed::from(e.to_string()))?;
                    let observed = observe(&layout, host.as_ref(), &case)?;
                    check(&layout, &trial, host.name(), &case, &observed).map_err(Failed::from)
                }));
            }
        }
        if let Some(host) = hosts.first() {
            for guest in &self.known.guests {
                let (host, loaded, layout, guest) = (
                    host.clone(),
                    loaded.clone(),
                    self.layout.clone(),
                    guest.clone(),
                );
                trials.push(Trial::test(
                    format!("guests::{guest}::scenarios"),
                    move || {
                        check_scenarios(&layout, host.as_ref(), &guest, &loaded)
                            .map_err(Failed::from)
                    },
                ));
            }
        }
        trials
    }
}

/// The guests: every `guests/<name>/src/main.rs`.
pub fn guests_in(layout: &Layout) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(layout.guests_dir()) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.path().join("src/main.rs").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Runs `case` on `host`. `Err` is a problem of the harness (the guest is
/// not built), not an outcome.
pub fn observe(layout: &Layout, host: &dyn Host, case: &Case) -> Result<Observed, String> {
    let component = built_component(layout, &case.guest)?;
    let request = RunRequest {
        component: &component,
        scenario: &case.scenario,
        settings: &case.run,
    };
    Ok(Observed::from_run(host.run(&request)))
}

/// Matches what was observed against what `case` expects on `host`; `Err`
/// is the failure report.
pub fn check(
    layout: &Layout,
    trial: &str,
    host: &str,
    case: &Case,
    observed: &Observed,
) -> Result<(), String> {
    let (expectation, _) = case.expectation_for(host);
    let problems = expectation.mismatches(host, observed);
    if problems.is_empty() {
        return Ok(());
    }
    Err(report::failure(
        layout, trial, host, case, observed, &problems,
    ))
}

fn built_component(layout: &Layout, guest: &str) -> Result<PathBuf, String> {
    let component = layout.component(guest);
    if component.is_file() {
        Ok(component)
    } else {
        Err(format!(
            "guest `{guest}` is not built ({} is missing): run `cargo xtask build-guests`, or run the suite with `cargo xtask test`",
            component.display()
        ))
    }
}

/// Every scenario of `guest` has a case, and every case's scenario exists.
fn check_scenarios(
    layout: &Layout,
    host: &dyn Host,
    guest: &str,
    loaded: &[(CaseName, Result<Case, LoadError>)],
) -> Result<(), String> {
    let component = built_component(layout, guest)?;
    let list_settings = RunSettings {
        deadline: LIST_DEADLINE,
        ..RunSettings::default()
    };
    let run = host.run(&RunRequest {
        component: &component,
        scenario: "--list",
        settings: &list_settings,
    });
    let listed: BTreeSet<String> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if listed.is_empty() {
        return Err(format!(
            "`{guest} --list` printed no scenarios; it ended as {:?}",
            run.outcome
        ));
    }
    let mut cases: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for case in loaded
        .iter()
        .filter_map(|(_, case)| case.as_ref().ok())
        .filter(|case| case.guest == guest)
    {
        cases.entry(case.scenario.as_str()).or_default().push(case);
    }
    let mut problems = Vec::new();
    for scenario in listed
        .iter()
        .filter(|scenario| !cases.contains_key(scenario.as_str()))
    {
        problems.push(format!(
            "scenario `{scenario}` of guest `{guest}` has no case: add a case file with `guest = \"{guest}\"` and `scenario = \"{scenario}\"`, or remove the scenario"
        ));
    }
    for (scenario, cases) in cases
        .iter()
        .filter(|(scenario, _)| !listed.contains(**scenario))
    {
        for case in cases {
            let at = case.scenario_at;
            problems.push(format!(
                "{}:{}:{}: guest `{guest}` has no scenario `{scenario}`; its scenarios: {}",
                layout.display(&case.path),
                at.line,
                at.column,
                listed
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
