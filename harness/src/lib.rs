//! witness: a conformance and regression harness for WASI 0.2 hosts.
//!
//! Data flows one way through these modules:
//! [`case`] loads and validates case files → [`host`] runs a guest scenario
//! and reports an [`outcome::Outcome`] → [`observations`] parses what the
//! guest reported → [`verdict`] asks the two questions: does it conform
//! to what the spec allows ([`expectation`], built of [`outcome_pattern`]s
//! and [`pattern`]s), and did the host change since its [`records`]? →
//! [`report`] renders a failure. [`suite`] wires them into libtest-mimic
//! trials, [`results`] keeps each trial's verdicts for the console summary,
//! JSON and JUnit, and [`bless`] writes host records.

pub mod bless;
pub mod case;
pub mod diff;
pub mod expectation;
pub mod file_error;
pub mod host;
pub mod html;
pub mod layout;
pub mod observations;
pub mod outcome;
pub mod outcome_pattern;
pub mod pattern;
pub mod records;
pub mod report;
pub mod results;
pub mod spec;
pub mod suite;
pub mod timelapse;
pub mod upstream;
pub mod verdict;
pub mod worlds;
