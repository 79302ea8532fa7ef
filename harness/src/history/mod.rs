//! What changed across host releases: history, not a gate. The time-lapse
//! ([`matrix`]) runs every case on every host of `timelapse.toml`; a
//! bisection ([`bisect`]) installs, between two neighbouring releases that
//! behave differently, only the releases that pinpoint the change, from
//! what the registries serve ([`releases`]); [`summary`] is what a run
//! found, committed as `history.toml`, from which the drafts say when a
//! behaviour first appeared and the README's history table is written.

pub mod bisect;
pub mod matrix;
pub mod releases;
pub mod summary;
