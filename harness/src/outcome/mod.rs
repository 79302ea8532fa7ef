//! What a run of one case on one host produced (the README's outcome table).

pub mod observations;

use crate::outcome::observations::Observations;
use std::fmt;
use std::time::Duration;

/// How a run ended, as the host saw it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The guest ran to the end and exited with this code.
    Completed { exit: i32 },
    /// The instance trapped.
    Trap(Trap),
    /// Nothing finished before the deadline; the harness stopped the guest.
    Hang { deadline: Duration },
    /// The host implementation panicked.
    HostPanic { message: String },
    /// The host process died (only seen when a case runs in its own process).
    Crash { detail: String },
    /// The component could not be instantiated.
    LinkError { message: String },
}

/// What the host reports: how the run ended and the guest's raw output.
#[derive(Clone, Debug)]
pub struct HostRun {
    pub outcome: Outcome,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Who raised a trap.
#[derive(Clone, Debug, PartialEq)]
pub enum Trap {
    /// A host import refused the call, or the runtime's canonical ABI
    /// checks rejected it ("empty poll list", "unknown handle index 3").
    ByHost { message: String },
    /// The wasm code trapped: `code` names the trap ("unreachable-code-reached"
    /// for a Rust guest's panic), `message` is the runtime's text.
    ByGuest { code: String, message: String },
}

/// Everything the harness learnt from one run: the outcome, the guest's
/// observations and its stderr (shown on failure).
#[derive(Clone, Debug)]
pub struct Observed {
    pub outcome: Outcome,
    /// `Err` when the guest broke the observation protocol.
    pub observations: Result<Observations, String>,
    pub stderr: String,
}

impl Outcome {
    /// The `outcome = "..."` name a case file uses.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Completed { .. } => "completed",
            Outcome::Trap(_) => "trap",
            Outcome::Hang { .. } => "hang",
            Outcome::HostPanic { .. } => "host-panic",
            Outcome::Crash { .. } => "crash",
            Outcome::LinkError { .. } => "link-error",
        }
    }
}

impl Outcome {
    /// The host's own text about how the run ended, if it gave one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Outcome::Trap(Trap::ByHost { message } | Trap::ByGuest { message, .. })
            | Outcome::HostPanic { message }
            | Outcome::LinkError { message } => Some(message),
            Outcome::Crash { detail } => Some(detail),
            Outcome::Completed { .. } | Outcome::Hang { .. } => None,
        }
    }
}

impl fmt::Display for Outcome {
    /// Case-file-shaped lines, for the side-by-side failure report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "outcome = {:?}", self.kind())?;
        match self {
            Outcome::Completed { exit } => writeln!(f, "exit = {exit}"),
            Outcome::Trap(Trap::ByHost { message }) => {
                writeln!(f, "by = \"host\"")?;
                writeln!(f, "message = {message:?}")
            }
            Outcome::Trap(Trap::ByGuest { code, message }) => {
                writeln!(f, "by = \"guest\"")?;
                writeln!(f, "code = {code:?}")?;
                writeln!(f, "message = {message:?}")
            }
            Outcome::Hang { deadline } => writeln!(f, "deadline-ms = {}", deadline.as_millis()),
            Outcome::HostPanic { message } | Outcome::LinkError { message } => {
                writeln!(f, "message = {message:?}")
            }
            Outcome::Crash { detail } => writeln!(f, "detail = {detail:?}"),
        }
    }
}

impl Observed {
    /// What a host did, message texts aside (they differ between hosts
    /// legitimately): the differential view and the time-lapse compare these.
    pub fn behaviour(&self) -> String {
        let ending = match &self.outcome {
            Outcome::Trap(Trap::ByHost { .. }) => "trap by host".to_string(),
            Outcome::Trap(Trap::ByGuest { code, .. }) => format!("trap by guest ({code})"),
            Outcome::Completed { exit } => format!("completed, exit {exit}"),
            other => other.kind().to_string(),
        };
        match &self.observations {
            Ok(observations) => format!("{ending}\n{observations}"),
            Err(protocol) => format!("{ending}\n{protocol}"),
        }
    }

    /// Adds what the harness observed itself (of the files, from the host
    /// side) to what the guest reported.
    pub fn add_harness_observations(&mut self, observed: Vec<(String, serde_json::Value)>) {
        if let Ok(observations) = &mut self.observations {
            observations.0.extend(observed);
        }
    }

    /// Reads the guest's observations out of what the host captured.
    pub fn from_run(run: HostRun) -> Observed {
        Observed {
            outcome: run.outcome,
            observations: Observations::parse(&String::from_utf8_lossy(&run.stdout)),
            stderr: String::from_utf8_lossy(&run.stderr).into_owned(),
        }
    }
}

/// A guest trap's code: wasmtime's name for the trap in kebab case
/// (`UnreachableCodeReached` → `unreachable-code-reached`), as both the
/// embedded hosts and a CLI's report are read.
pub fn trap_name(trap: &wasmtime_environ::Trap) -> String {
    let mut kebab = String::new();
    for (i, c) in format!("{trap:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            kebab.push('-');
        }
        kebab.extend(c.to_lowercase());
    }
    kebab
}

#[cfg(test)]
mod tests {
    #[test]
    fn trap_names_become_kebab_case() {
        use wasmtime_environ::Trap;
        assert_eq!(
            super::trap_name(&Trap::UnreachableCodeReached),
            "unreachable-code-reached"
        );
        assert_eq!(super::trap_name(&Trap::Interrupt), "interrupt");
    }
}
