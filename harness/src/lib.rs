//! witness: a conformance and regression harness for WASI 0.2 hosts.
//!
//! Data flows one way through these modules:
//! [`case`] loads and validates case files → [`host`] runs a guest scenario
//! and reports an [`outcome::Outcome`] → [`observations`] parses what the
//! guest reported → [`expectation`] matches it → [`report`] renders a
//! failure. [`suite`] wires them into libtest-mimic trials, and
//! [`records`] keeps what each trial did for JSON and JUnit reports.

pub mod case;
pub mod expectation;
pub mod host;
pub mod layout;
pub mod observations;
pub mod outcome;
pub mod records;
pub mod report;
pub mod spec;
pub mod suite;
