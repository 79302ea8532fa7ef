//! A suite: a directory of case files and the guests they run, turned into
//! libtest-mimic trials named `<host>::<family>::<case>`.

use crate::case::{self, Case, CaseName, Known, LoadError};
use crate::host::{Host, RunRequest, RunSettings};
use crate::layout::{Layout, SELFTEST_GUEST};
use crate::outcome::{Observed, Outcome};
use crate::records::Records;
use crate::report;
use crate::spec::{Spec, Stale};
use libtest_mimic::{Failed, Trial};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long a guest may take to print its scenario list.
const LIST_DEADLINE: Duration = Duration::from_secs(30);

/// Case files, what they may refer to, and the spec they cite.
pub struct Suite {
    pub layout: Layout,
    pub cases_dir: PathBuf,
    pub known: Known,
    /// wit/ read once, on the first trial that needs it.
    spec: OnceLock<Result<Spec, String>>,
    /// What each trial did, for the JSON and JUnit reports.
    pub records: Records,
}

impl Suite {
    /// `cases/` with every guest but the self-test one.
    pub fn conformance(layout: &Layout) -> Suite {
        let mut guests = guests_in(layout);
        guests.remove(SELFTEST_GUEST);
        Suite::new(layout, layout.cases_dir(), guests)
    }

    /// The harness's self-test cases with the self-test guest.
    pub fn selftest(layout: &Layout) -> Suite {
        let guests = BTreeSet::from([SELFTEST_GUEST.to_string()]);
        Suite::new(layout, layout.selftest_cases_dir(), guests)
    }

    /// The suite of another directory of case files.
    pub fn new(layout: &Layout, cases_dir: PathBuf, guests: BTreeSet<String>) -> Suite {
        let known = Known {
            guests,
            drafts_dir: layout.drafts_dir(),
        };
        Suite {
            layout: layout.clone(),
            cases_dir,
            known,
            spec: OnceLock::new(),
            records: Records::default(),
        }
    }

    pub fn load(&self) -> Vec<(CaseName, Result<Case, LoadError>)> {
        case::load_dir(&self.cases_dir, &self.known)
    }

    /// One trial per (host, case), plus one per guest checking that its
    /// scenarios and the cases pair up both ways. Building them runs nothing.
    pub fn trials(self: Arc<Self>, hosts: &[Arc<dyn Host>]) -> Vec<Trial> {
        let loaded = Arc::new(self.load());
        let mut trials = Vec::new();
        for host in hosts {
            for (name, case) in loaded.iter() {
                let trial = format!("{}::{name}", host.name());
                let (suite, host, case) = (self.clone(), host.clone(), case.clone());
                trials.push(Trial::test(trial.clone(), move || {
                    let started = Instant::now();
                    let (outcome, result) = match case {
                        Err(error) => (None, Err(error.to_string())),
                        Ok(case) => match suite.observe(host.as_ref(), &case) {
                            Err(error) => (None, Err(error)),
                            Ok(observed) => (
                                Some(observed.outcome.kind()),
                                suite.check(&trial, host.name(), &case, &observed),
                            ),
                        },
                    };
                    suite
                        .records
                        .add(&trial, outcome, started.elapsed(), &result);
                    result.map_err(Failed::from)
                }));
            }
        }
        if let Some(host) = hosts.first() {
            for guest in &self.known.guests {
                let (suite, host, loaded, guest) =
                    (self.clone(), host.clone(), loaded.clone(), guest.clone());
                let trial = format!("guests::{guest}::scenarios");
                trials.push(Trial::test(trial.clone(), move || {
                    let started = Instant::now();
                    let result = suite.check_scenarios(host.as_ref(), &guest, &loaded);
                    suite.records.add(&trial, None, started.elapsed(), &result);
                    result.map_err(Failed::from)
                }));
            }
        }
        trials
    }

    /// Runs `case` on `host`. `Err` is a problem of the harness (the guest is
    /// not built), not an outcome.
    pub fn observe(&self, host: &dyn Host, case: &Case) -> Result<Observed, String> {
        let component = self.built_component(&case.guest)?;
        let request = RunRequest {
            component: &component,
            scenario: &case.scenario,
            settings: &case.run,
        };
        Ok(Observed::from_run(host.run(&request)?))
    }

    /// Checks that `case` still cites the spec correctly and that what was
    /// observed on `host` is what it expects; `Err` is the failure report.
    pub fn check(
        &self,
        trial: &str,
        host: &str,
        case: &Case,
        observed: &Observed,
    ) -> Result<(), String> {
        let (expectation, _) = case.expectation_for(host);
        let mut problems = self.citation_problems(case);
        problems.extend(expectation.mismatches(host, observed));
        if problems.is_empty() {
            return Ok(());
        }
        Err(report::failure(
            &self.layout,
            trial,
            host,
            case,
            observed,
            &problems,
        ))
    }

    /// What is wrong with `case`'s citation in the spec under test.
    fn citation_problems(&self, case: &Case) -> Vec<String> {
        let wit_dir = self.layout.wit_dir();
        let spec = self.spec.get_or_init(|| Spec::load(&wit_dir));
        let item = case.spec.item();
        match spec.as_ref().map(|spec| spec.stale(case)) {
            Err(error) => vec![format!("the spec under test does not parse: {error}")],
            Ok(None) => Vec::new(),
            Ok(Some(Stale::ItemGone)) => {
                vec![format!(
                    "spec: `{item}` is not in {} any more",
                    wit_dir.display()
                )]
            }
            Ok(Some(Stale::ClauseGone { current })) => {
                vec![format!(
                    "spec: `{item}` no longer says the quoted clause; its docs now read {current:?}"
                )]
            }
        }
    }

    fn built_component(&self, guest: &str) -> Result<PathBuf, String> {
        let component = self.layout.component(guest);
        if component.is_file() {
            return Ok(component);
        }
        match std::fs::read_to_string(self.layout.build_error(guest)) {
            Ok(error) => Err(format!(
                "guest `{guest}` no longer builds against the spec under test:\n{error}"
            )),
            Err(_) => Err(format!(
                "guest `{guest}` is not built ({} is missing): run `cargo xtask build-guests`, or run the suite with `cargo xtask test`",
                component.display()
            )),
        }
    }

    /// Every scenario of `guest` has a case, and every case's scenario exists.
    fn check_scenarios(
        &self,
        host: &dyn Host,
        guest: &str,
        loaded: &[(CaseName, Result<Case, LoadError>)],
    ) -> Result<(), String> {
        let component = self.built_component(guest)?;
        let list_settings = RunSettings {
            deadline: LIST_DEADLINE,
            ..RunSettings::default()
        };
        let run = host.run(&RunRequest {
            component: &component,
            scenario: "--list",
            settings: &list_settings,
        })?;
        if run.outcome != (Outcome::Completed { exit: 0 }) {
            return Err(format!(
                "`{guest} --list` did not complete: it ended as {:?}",
                run.outcome
            ));
        }
        let listed: BTreeSet<String> = String::from_utf8_lossy(&run.stdout)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_string)
            .collect();
        if listed.is_empty() {
            return Err(format!("`{guest} --list` printed no scenarios"));
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
                    self.layout.display(&case.path),
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
