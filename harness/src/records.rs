//! Report records: one per trial that ran, written for CI as JSON and as
//! JUnit XML once the run is over.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// What one trial did.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub trial: String,
    pub passed: bool,
    /// The outcome kind observed (`completed`, `trap`, ...), when the case ran.
    pub outcome: Option<&'static str>,
    pub seconds: f64,
    /// The failure report, as printed on the terminal.
    pub failure: Option<String>,
}

/// The records of a run, filled in by trials running in parallel.
#[derive(Debug, Default)]
pub struct Records(Mutex<Vec<Record>>);

impl Records {
    pub fn add(
        &self,
        trial: &str,
        outcome: Option<&'static str>,
        took: Duration,
        result: &Result<(), String>,
    ) {
        let record = Record {
            trial: trial.to_string(),
            passed: result.is_ok(),
            outcome,
            seconds: took.as_secs_f64(),
            failure: result.as_ref().err().cloned(),
        };
        self.0.lock().expect("no panics while locked").push(record);
    }

    /// The records, in trial-name order.
    pub fn all(&self) -> Vec<Record> {
        let mut records = self.0.lock().expect("no panics while locked").clone();
        records.sort_by(|a, b| a.trial.cmp(&b.trial));
        records
    }

    /// `{"passed": n, "failed": n, "trials": [record, ...]}`.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let trials = self.all();
        let passed = trials.iter().filter(|record| record.passed).count();
        let json = serde_json::json!({ "passed": passed, "failed": trials.len() - passed, "trials": trials });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
    }

    /// One JUnit test suite named `witness`, a test case per trial.
    pub fn write_junit(&self, path: &Path) -> std::io::Result<()> {
        let mut suite = TestSuite::new("witness");
        for record in self.all() {
            let status = match &record.failure {
                None => TestCaseStatus::success(),
                Some(report) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_description(report.as_str());
                    status
                }
            };
            let (classname, name) = record
                .trial
                .rsplit_once("::")
                .unwrap_or(("witness", &record.trial));
            let mut case = TestCase::new(name, status);
            case.set_classname(classname)
                .set_time(Duration::from_secs_f64(record.seconds));
            suite.add_test_case(case);
        }
        let mut report = Report::new("witness");
        report.add_test_suite(suite);
        let xml = report.to_string().map_err(std::io::Error::other)?;
        std::fs::write(path, xml)
    }
}
