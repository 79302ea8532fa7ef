//! The world a run sees, laid out by the harness the same on every host
//! that can express it: the invocation (arguments, environment, initial
//! working directory, terminals), the files (`[run.tree]`,
//! `[[run.preopen]]`), wasi:http answered in-process, and sockets on the
//! run's own loopback address.

pub mod cli;
pub mod files;
pub mod http;
pub mod sockets;
