//! A suite: a directory of case files, the guests they run and the hosts'
//! records, turned into libtest-mimic trials named `<host>::<family>::<case>`.

use crate::case::{self, Case, CaseName, Known, LoadError};
use crate::file_error::FileError;
use crate::host::world::files::{Files, LaidOut};
use crate::host::{Host, RunRequest, RunSettings};
use crate::judge::bless::Blessings;
use crate::judge::records::HostRecords;
use crate::judge::verdict::{RecordVerdict, Sightings, SpecVerdict, Verdicts};
use crate::layout::{Layout, SELFTEST_GUESTS, SELFTEST_HOSTS};
use crate::outcome::{Observed, Outcome};
use crate::report::failure as report;
use crate::report::rerun::Rerun;
use crate::report::results::{Results, TrialDetail};
use crate::spec::{Spec, Stale};
use libtest_mimic::{Failed, Trial};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a guest may take to print its scenario list.
const LIST_DEADLINE: Duration = Duration::from_secs(30);

/// Case files, what they may refer to, the spec they cite and the hosts'
/// records.
pub struct Suite {
    pub layout: Layout,
    pub cases_dir: PathBuf,
    /// `<records_dir>/<host>.toml`: what each host did.
    pub records_dir: PathBuf,
    pub known: Known,
    /// wit/ read once, on the first trial that needs it.
    spec: OnceLock<Result<Spec, String>>,
    /// Each host's records, read once.
    records: Mutex<BTreeMap<String, Arc<Result<HostRecords, FileError>>>>,
    /// What each trial did, for the summary, JSON and JUnit.
    pub results: Results,
    /// Set by `cargo xtask bless`: trials collect what they observed, to be
    /// written as records, instead of comparing with the records.
    pub blessings: Option<Blessings>,
    /// The (trial, reason) pairs a host cannot run, listed as ignored.
    pub not_applicable: Mutex<Vec<(String, String)>>,
    /// How many times each trial runs its case (`cargo xtask test
    /// --repeat N`); every run must pass, so a case whose outcome varies
    /// beyond its record's intermittent alternatives fails.
    pub repeat: usize,
    /// How a failure's report says to run its trial again.
    pub rerun: Rerun,
}

/// What a case's trial saw and concluded: the run it reports, its
/// verdicts, its result and its detail for the HTML report.
type TrialRun = (
    Option<Observed>,
    Option<Verdicts>,
    Result<(), String>,
    Option<TrialDetail>,
);

impl Suite {
    /// `cases/` with every guest but the self-test ones, and `records/`;
    /// divergences may name every host of `hosts.toml` (a registry that does
    /// not read leaves the embedded ones: the suite reports its error).
    pub fn conformance(layout: &Layout) -> Suite {
        let mut guests = guests_in(layout);
        for selftest in SELFTEST_GUESTS {
            guests.remove(selftest);
        }
        let mut hosts = names(&crate::host::EMBEDDED_HOSTS);
        if let Ok(registry) = layout.registry() {
            hosts.extend(registry.entries.into_keys());
        }
        Suite::new(
            layout,
            layout.cases_dir(),
            layout.records_dir(),
            guests,
            hosts,
        )
    }

    /// The harness's self-test cases with the self-test guests and records.
    pub fn selftest(layout: &Layout) -> Suite {
        Suite::new(
            layout,
            layout.selftest_cases_dir(),
            layout.selftest_records_dir(),
            names(&SELFTEST_GUESTS),
            names(&SELFTEST_HOSTS),
        )
    }

    /// The suite of another directory of case files and records, whose
    /// cases may name `guests` and, in divergences, `hosts`.
    pub fn new(
        layout: &Layout,
        cases_dir: PathBuf,
        records_dir: PathBuf,
        guests: BTreeSet<String>,
        hosts: BTreeSet<String>,
    ) -> Suite {
        // A guest is known with its world, so that what it imports is
        // always known: no world, no guest.
        let (worlds, wit_problem) = match crate::spec::worlds::needs(&layout.wit_dir()) {
            Ok(worlds) => (worlds, None),
            Err(problem) => (BTreeMap::new(), Some(problem)),
        };
        let guests = guests
            .into_iter()
            .filter_map(|guest| Some((guest.clone(), worlds.get(&guest)?.clone())))
            .collect();
        let known = Known {
            guests,
            wit_problem,
            hosts,
            drafts_dir: layout.drafts_dir(),
        };
        Suite {
            layout: layout.clone(),
            cases_dir,
            records_dir,
            known,
            spec: OnceLock::new(),
            records: Mutex::default(),
            results: Results::carrying(layout.wit_dir()),
            blessings: None,
            not_applicable: Mutex::default(),
            repeat: 1,
            rerun: Rerun::new(layout, BTreeMap::new()),
        }
    }

    /// The same suite, blessing: see [`Suite::blessings`].
    pub fn blessing(self) -> Suite {
        Suite {
            blessings: Some(Blessings::default()),
            ..self
        }
    }

    pub fn load(&self) -> Vec<(CaseName, Result<Case, LoadError>)> {
        case::load_dir(&self.cases_dir, &self.known)
    }

    /// One trial per (host, case); one per host checking its records file;
    /// one per guest checking that its scenarios and the cases pair up both
    /// ways. Building them runs nothing.
    pub fn trials(self: Arc<Self>, hosts: &[Arc<dyn Host>]) -> Vec<Trial> {
        let loaded = Arc::new(self.load());
        let mut trials = Vec::new();
        for host in hosts {
            for (name, case) in loaded.iter() {
                let trial = format!("{}::{name}", host.name());
                let unsupported = case
                    .as_ref()
                    .ok()
                    .and_then(|case| host.supports(&case.run).err());
                if let Some(reason) = unsupported {
                    trials.push(self.not_applicable_trial(trial, host.name(), reason));
                    continue;
                }
                let (suite, host, case) = (self.clone(), host.clone(), case.clone());
                trials.push(Trial::test(trial.clone(), move || {
                    let started = Instant::now();
                    let (observed, verdicts, result, detail) = match case {
                        Err(error) => (None, None, Err(error.to_string()), None),
                        Ok(case) => suite.run_trial(&trial, host.as_ref(), &case),
                    };
                    suite.results.add(
                        &trial,
                        observed.as_ref(),
                        verdicts.as_ref(),
                        started.elapsed(),
                        &result,
                        detail,
                    );
                    result.map_err(Failed::from)
                }));
            }
            let (suite, loaded, host) = (self.clone(), loaded.clone(), host.name().to_string());
            let trial = format!("records::{host}");
            trials.push(Trial::test(trial.clone(), move || {
                let started = Instant::now();
                let result = suite.check_records(&host, &loaded);
                suite
                    .results
                    .add(&trial, None, None, started.elapsed(), &result, None);
                result.map_err(Failed::from)
            }));
        }
        for guest in self.known.guests.keys() {
            let trial = format!("guests::{guest}::scenarios");
            let settings = self.list_settings(guest);
            // The first host of the run that can run the guest at all.
            let host = match hosts.iter().find(|host| host.supports(&settings).is_ok()) {
                Some(host) => host.clone(),
                None => {
                    if let Some(host) = hosts.first() {
                        let reason = host.supports(&settings).err().unwrap_or_default();
                        trials.push(self.not_applicable_trial(trial, host.name(), reason));
                    }
                    continue;
                }
            };
            let (suite, loaded, guest) = (self.clone(), loaded.clone(), guest.clone());
            trials.push(Trial::test(trial.clone(), move || {
                let started = Instant::now();
                let result = suite.check_scenarios(host.as_ref(), &guest, &settings, &loaded);
                suite
                    .results
                    .add(&trial, None, None, started.elapsed(), &result, None);
                result.map_err(Failed::from)
            }));
        }
        trials
    }

    /// Runs `case` on `host` `repeat` times, judging each run against the
    /// spec and the host's record (whose intermittent alternatives are the
    /// only variation allowed): the trial is the first run that fails, else
    /// the last.
    fn run_trial(&self, trial: &str, host: &dyn Host, case: &Case) -> TrialRun {
        let mut sightings = Sightings::start(case, host.name());
        let mut run = 0;
        let (observed, mut verdicts, mut result) = loop {
            run += 1;
            let observed = match self.observe(host, case) {
                Ok(observed) => observed,
                Err(error) => return (None, None, Err(error), None),
            };
            let (verdicts, result) = self.check(trial, host.name(), case, &observed);
            if let (Some(sightings), Some(verdicts)) = (&mut sightings, &verdicts) {
                sightings.count(&verdicts.spec);
            }
            if result.is_err() || run == self.repeat {
                break (observed, verdicts, result);
            }
        };
        if let Some(verdicts) = &mut verdicts {
            if let Some((stale, why)) = sightings.as_ref().and_then(Sightings::stale)
                && result.is_ok()
            {
                verdicts.spec = stale;
                result = Err(why);
            }
            verdicts.sightings = sightings;
        }
        let result = match result {
            Err(failure) if self.repeat > 1 => {
                Err(format!("run {run} of {}: {failure}", self.repeat))
            }
            result => result,
        };
        // The detail of the run the trial reports, not of every run.
        let detail = self.detail(trial, host.name(), case, &observed);
        (Some(observed), verdicts, result, Some(detail))
    }

    /// Runs `case` on `host`. `Err` is a problem of the harness (the guest is
    /// not built), not an outcome.
    pub fn observe(&self, host: &dyn Host, case: &Case) -> Result<Observed, String> {
        let component = self.built_component(&case.guest)?;
        // Laid out afresh for each run, and looked at again after it.
        let files = (case.run.files.as_ref().map(Files::lay_out)).transpose()?;
        let request = RunRequest {
            component: &component,
            scenario: &case.scenario,
            settings: &case.run,
            preopens: files.as_ref().map_or(&[], LaidOut::granted),
        };
        let mut observed = Observed::from_run(host.run(&request)?);
        if let Some(files) = files {
            observed.add_harness_observations(files.observe()?);
        }
        Ok(observed)
    }

    /// Judges what was observed on `host`: the case's citation still
    /// stands, the spec verdict and the record verdict. `Err` is the failure
    /// report; the verdicts are `None` when the host's records cannot be read.
    pub fn check(
        &self,
        trial: &str,
        host: &str,
        case: &Case,
        observed: &Observed,
    ) -> (Option<Verdicts>, Result<(), String>) {
        let records = self.host_records(host);
        let records = match records.as_ref() {
            Ok(records) => records,
            Err(error) => {
                return (
                    None,
                    Err(format!("the host's records cannot be read:\n{error}")),
                );
            }
        };
        let record = match &self.blessings {
            Some(blessings) => {
                blessings.add(host, &case.name, observed);
                RecordVerdict::Blessed
            }
            None => RecordVerdict::judge(records.get(&case.name), observed),
        };
        let verdicts = Verdicts {
            spec: SpecVerdict::judge(case, host, observed),
            record,
            citation: self.citation_problems(case),
            sightings: None,
        };
        let result = if verdicts.passes() {
            Ok(())
        } else {
            Err(report::failure(
                &self.layout,
                &self.rerun,
                trial,
                host,
                case,
                observed,
                &verdicts,
                Some(records),
            ))
        };
        (Some(verdicts), result)
    }

    /// A case's trial in full, for the HTML report.
    fn detail(&self, trial: &str, host: &str, case: &Case, observed: &Observed) -> TrialDetail {
        let records = self.host_records(host);
        let record = (records.as_ref().as_ref().ok()).and_then(|records| records.get(&case.name));
        report::detail(&self.rerun, trial, host, case, observed, record)
    }

    /// `<records_dir>/<host>.toml`, read once.
    pub fn host_records(&self, host: &str) -> Arc<Result<HostRecords, FileError>> {
        self.records
            .lock()
            .expect("no panics while locked")
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(HostRecords::load(
                    &self.records_dir.join(format!("{host}.toml")),
                ))
            })
            .clone()
    }

    /// The host's records file reads, and every record names a case.
    fn check_records(
        &self,
        host: &str,
        loaded: &[(CaseName, Result<Case, LoadError>)],
    ) -> Result<(), String> {
        let records = self.host_records(host);
        let records = records.as_ref().as_ref().map_err(ToString::to_string)?;
        let cases: BTreeSet<String> = loaded.iter().map(|(name, _)| name.to_string()).collect();
        let orphans: Vec<String> = records
            .entries
            .iter()
            .filter(|(case, _)| !cases.contains(*case))
            .map(|(case, record)| {
                format!(
                    "{}:{}:{}: a record for `{case}`, which is not a case: remove it, or restore the case file",
                    self.layout.display(&records.path),
                    record.at.line,
                    record.at.column
                )
            })
            .collect();
        if orphans.is_empty() {
            Ok(())
        } else {
            Err(orphans.join("\n"))
        }
    }

    /// What is wrong with `case`'s citation in the spec under test.
    fn citation_problems(&self, case: &Case) -> Vec<String> {
        let wit_dir = self.layout.wit_dir();
        let spec = self.spec.get_or_init(|| Spec::load(&wit_dir));
        let item = case.spec.item();
        match spec.as_ref().map(|spec| spec.stale(case)) {
            Err(error) => vec![format!("the spec under test does not parse: {error}")],
            Ok(None) => Vec::new(),
            Ok(Some(stale)) => {
                let mut problems = vec![stale.describe(item, &wit_dir.display().to_string())];
                if let Stale::ClauseGone { current } = stale {
                    problems.push(format!("it now reads {current:?}"));
                }
                problems
            }
        }
    }

    /// The component of `guest`, or why it is not built.
    pub fn built_component(&self, guest: &str) -> Result<PathBuf, String> {
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
    /// A trial listed as ignored (nextest's convention for what a platform
    /// cannot run); run with --ignored, it says why.
    fn not_applicable_trial(&self, trial: String, host: &str, reason: String) -> Trial {
        self.not_applicable
            .lock()
            .expect("no panics while locked")
            .push((trial.clone(), reason.clone()));
        let host = host.to_string();
        Trial::test(trial, move || {
            Err(Failed::from(format!("not applicable on {host}: {reason}")))
        })
        .with_ignored_flag(true)
    }

    /// The world `--list` runs in: the guest's imports, nothing granted.
    fn list_settings(&self, guest: &str) -> RunSettings {
        RunSettings {
            deadline: LIST_DEADLINE,
            needs: self.known.guests.get(guest).cloned().unwrap_or_default(),
            ..RunSettings::default()
        }
    }

    fn check_scenarios(
        &self,
        host: &dyn Host,
        guest: &str,
        list_settings: &RunSettings,
        loaded: &[(CaseName, Result<Case, LoadError>)],
    ) -> Result<(), String> {
        let component = self.built_component(guest)?;
        let run = host.run(&RunRequest {
            component: &component,
            scenario: "--list",
            settings: list_settings,
            preopens: &[],
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

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// The directories of guests/: each is a guest if wit/witness.wit has its
/// world (the shared `common` has none).
pub fn guests_in(layout: &Layout) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(layout.guests_dir()) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}
