//! witness: a conformance and regression harness for WASI 0.2 hosts.
//!
//! Data flows one way, a folder per stage:
//! [`case`] loads and validates case files, with what the spec allows each
//! ([`case::expectation`]) → [`host`] runs a guest scenario → [`outcome`]
//! is how the run ended and what the guest observed → [`judge`] asks the two
//! questions: does it conform to what the spec allows, and did the host
//! change since its records? → [`report`] says so: a failure, the results
//! for CI, the HTML page, drafts upstream. [`spec`] reads the WIT under test
//! (citations, its functions, the guests' worlds); [`code_path`] finds the
//! guest code a scenario runs; [`ledger`] measures what of the WIT the
//! cases reach, with the ratchet that keeps it from falling; [`history`]
//! is what changed across host releases (the time-lapse, its bisection and
//! the committed summary drafts quote); [`suite`] wires the stages
//! into libtest-mimic trials; [`layout`] says where files are and
//! [`file_error`] how a bad one is reported.

pub mod case;
pub mod code_path;
pub mod entry_point;
pub mod file_error;
pub mod history;
pub mod host;
pub mod judge;
pub mod layout;
pub mod ledger;
pub mod outcome;
pub mod package;
pub mod report;
pub mod spec;
pub mod suite;
