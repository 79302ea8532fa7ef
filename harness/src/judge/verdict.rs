//! The two verdicts of a trial, one per question, kept apart: does the host
//! do what the spec allows (conformance), and did it change since its
//! behaviour was recorded (regression). A trial fails if either fails.

use crate::case::{Case, Citation};
use crate::judge::records::Record;
use crate::outcome::{Observed, Outcome};

/// Does the host do what the spec allows?
#[derive(Clone, Debug, PartialEq)]
pub enum SpecVerdict {
    Conforms,
    /// A violation no divergence accounts for: fails.
    Violates {
        problems: Vec<String>,
    },
    /// A violation the case's divergence for this host tracks upstream: passes.
    KnownViolation {
        upstream: String,
    },
    /// The case has a divergence for this host, but the host now conforms: fails.
    StaleDivergence {
        upstream: String,
    },
    /// The spec is silent on this case: nothing to judge.
    NotJudged,
}

/// Did the host change since its record?
#[derive(Clone, Debug, PartialEq)]
pub enum RecordVerdict {
    Unchanged,
    /// Fails: the host no longer does what its record says.
    Changed {
        problems: Vec<String>,
    },
    /// Fails: nothing is recorded for this host on this case.
    Unrecorded,
    /// `cargo xtask bless` is writing the record from this run.
    Blessed,
}

impl SpecVerdict {
    /// `observed` on `host` against what `case` says the spec allows.
    /// A host panic or a crash violates every case, silent ones included.
    pub fn judge(case: &Case, host: &str, observed: &Observed) -> SpecVerdict {
        match (Self::violation(case, observed), case.divergence(host)) {
            (Some(problems), None) => SpecVerdict::Violates { problems },
            (Some(_), Some(divergence)) => SpecVerdict::KnownViolation {
                upstream: divergence.upstream.clone(),
            },
            // An intermittent violation that did not show this time.
            (None, Some(divergence)) if divergence.intermittent.is_some() => SpecVerdict::Conforms,
            (None, Some(divergence)) => SpecVerdict::StaleDivergence {
                upstream: divergence.upstream.clone(),
            },
            (None, None) if matches!(case.spec, Citation::Silent { .. }) => SpecVerdict::NotJudged,
            (None, None) => SpecVerdict::Conforms,
        }
    }

    /// What in `observed` the spec does not allow, divergences aside.
    pub fn violation(case: &Case, observed: &Observed) -> Option<Vec<String>> {
        match (&observed.outcome, &case.spec) {
            (Outcome::HostPanic { .. } | Outcome::Crash { .. }, _) => Some(vec![format!(
                "outcome: {} is a violation on every case, whatever the spec allows",
                observed.outcome.kind()
            )]),
            (_, Citation::Silent { .. }) => None,
            (_, Citation::Clause { .. }) => case
                .expect
                .as_ref()
                .and_then(|expect| expect.check(observed).err()),
        }
    }

    pub fn passes(&self) -> bool {
        !matches!(
            self,
            SpecVerdict::Violates { .. } | SpecVerdict::StaleDivergence { .. }
        )
    }

    /// The verdict's name in reports: `conforms`, `violates`, ...
    pub fn label(&self) -> &'static str {
        match self {
            SpecVerdict::Conforms => "conforms",
            SpecVerdict::Violates { .. } => "violates",
            SpecVerdict::KnownViolation { .. } => "known-violation",
            SpecVerdict::StaleDivergence { .. } => "stale-divergence",
            SpecVerdict::NotJudged => "not-judged",
        }
    }
}

impl RecordVerdict {
    pub fn judge(record: Option<&Record>, observed: &Observed) -> RecordVerdict {
        match record.map(|record| record.check(observed)) {
            None => RecordVerdict::Unrecorded,
            Some(Ok(())) => RecordVerdict::Unchanged,
            Some(Err(problems)) => RecordVerdict::Changed { problems },
        }
    }

    pub fn passes(&self) -> bool {
        matches!(self, RecordVerdict::Unchanged | RecordVerdict::Blessed)
    }

    /// The verdict's name in reports: `unchanged`, `changed`, ...
    pub fn label(&self) -> &'static str {
        match self {
            RecordVerdict::Unchanged => "unchanged",
            RecordVerdict::Changed { .. } => "changed",
            RecordVerdict::Unrecorded => "unrecorded",
            RecordVerdict::Blessed => "blessed",
        }
    }
}

/// Everything a trial judged: both verdicts, and whether the case's
/// citation still stands in the spec under test.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdicts {
    pub spec: SpecVerdict,
    pub record: RecordVerdict,
    /// What is wrong with the case's citation; empty when it stands.
    pub citation: Vec<String>,
    /// Of an intermittent divergence: how often it showed in the runs
    /// this trial made (`--repeat N`).
    pub sightings: Option<Sightings>,
}

/// How often an intermittent divergence showed in a trial's runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Sightings {
    pub seen: u64,
    pub runs: u64,
    /// The runs in a row that, all conforming, make the divergence stale.
    pub retire_at: u64,
    /// The divergence's upstream issue.
    upstream: String,
}

impl Sightings {
    /// Counts the runs of `case` on `host` so far; `None` unless its
    /// divergence there is intermittent.
    pub fn start(case: &Case, host: &str) -> Option<Sightings> {
        let divergence = case.divergence(host)?;
        let intermittent = divergence.intermittent.as_ref()?;
        Some(Sightings {
            seen: 0,
            runs: 0,
            retire_at: intermittent.runs_to_retire(),
            upstream: divergence.upstream.clone(),
        })
    }

    pub fn count(&mut self, spec: &SpecVerdict) {
        self.runs += 1;
        if matches!(spec, SpecVerdict::KnownViolation { .. }) {
            self.seen += 1;
        }
    }

    /// The verdict of all the runs, when enough showed nothing: at the
    /// recorded rate a host still violating would have shown it with 99%
    /// probability, so the divergence is stale; with why, for the report.
    pub fn stale(&self) -> Option<(SpecVerdict, String)> {
        (self.seen == 0 && self.runs >= self.retire_at).then(|| {
            (
                SpecVerdict::StaleDivergence {
                    upstream: self.upstream.clone(),
                },
                format!(
                    "stale intermittent divergence: {}; at its recorded rate a host still violating would have shown it with 99% probability. The host seems fixed: remove the divergence (and its record's intermittent alternative), or record the lower rate you measured",
                    self.describe()
                ),
            )
        })
    }

    /// `seen 1 of 3 runs (483 in a row without it retire it)`.
    pub fn describe(&self) -> String {
        format!(
            "seen {} of {} runs ({} in a row without it retire it)",
            self.seen, self.runs, self.retire_at
        )
    }
}

impl Verdicts {
    pub fn passes(&self) -> bool {
        self.spec.passes() && self.record.passes() && self.citation.is_empty()
    }
}
