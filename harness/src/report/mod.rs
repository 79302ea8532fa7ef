//! Report: what a run judged, for the people who read it — a trial's
//! [`failure`] (with the commands that [`rerun`] it), every trial's [`results`] (console, JSON, JUnit), two runs'
//! [`diff`], the [`html`] page (with the time-lapse's view of
//! [`crate::history`]) and the [`upstream`] drafts.

pub mod diff;
pub mod failure;
pub mod html;
pub mod rerun;
pub mod results;
pub mod upstream;
