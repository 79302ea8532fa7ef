//! What a case expects, and whether an observed run meets it.

use crate::observations::Observations;
use crate::outcome::{Observed, Outcome, Trap};
use std::collections::BTreeMap;

/// The expected outcome and observations of one case on one host.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub outcome: ExpectedOutcome,
    /// Compared exactly: every observation, and nothing more.
    pub observations: Observations,
}

/// The outcome a case expects. Messages are matched as substrings and are
/// kept per host, because trap texts legitimately differ between hosts.
#[derive(Clone, Debug, PartialEq)]
pub enum ExpectedOutcome {
    Completed { exit: i32 },
    HostTrap { message: HostMessages },
    GuestTrap { code: String },
    Hang,
    HostPanic { message: HostMessages },
    Crash,
    LinkError { message: HostMessages },
}

/// Per host, a substring the message must contain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostMessages(pub BTreeMap<String, String>);

impl Expectation {
    /// Every way `observed` on `host` differs from this expectation; empty
    /// when it matches.
    pub fn mismatches(&self, host: &str, observed: &Observed) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(problem) = self.outcome.mismatch(host, &observed.outcome) {
            problems.push(problem);
        }
        match &observed.observations {
            Err(protocol) => problems.push(format!(
                "the guest broke the observation protocol: {protocol}"
            )),
            Ok(seen) => {
                let expected = &self.observations.0;
                for (name, value) in expected {
                    match seen.0.get(name) {
                        None => problems.push(format!(
                            "observation `{name}`: expected {value}, the guest did not report it"
                        )),
                        Some(got) if got != value => problems.push(format!(
                            "observation `{name}`: expected {value}, observed {got}"
                        )),
                        Some(_) => {}
                    }
                }
                for (name, got) in &seen.0 {
                    if !expected.contains_key(name) {
                        problems.push(format!(
                            "observation `{name}` = {got} is not in the expectation"
                        ));
                    }
                }
            }
        }
        problems
    }

    /// Case-file-shaped lines for `host`, for the side-by-side report.
    pub fn render(&self, host: &str) -> String {
        format!("{}{}", self.outcome.render(host), self.observations)
    }
}

impl ExpectedOutcome {
    fn mismatch(&self, host: &str, outcome: &Outcome) -> Option<String> {
        let wrong_kind = || {
            Some(format!(
                "outcome: expected {}, observed {}",
                self.kind(),
                outcome.kind()
            ))
        };
        match (self, outcome) {
            (ExpectedOutcome::Completed { exit }, Outcome::Completed { exit: got }) => {
                (exit != got).then(|| format!("exit code: expected {exit}, observed {got}"))
            }
            (
                ExpectedOutcome::HostTrap { message },
                Outcome::Trap(Trap::ByHost { message: got }),
            )
            | (ExpectedOutcome::HostPanic { message }, Outcome::HostPanic { message: got })
            | (ExpectedOutcome::LinkError { message }, Outcome::LinkError { message: got }) => {
                message.mismatch(host, got)
            }
            (
                ExpectedOutcome::GuestTrap { code },
                Outcome::Trap(Trap::ByGuest { code: got, .. }),
            ) => (code != got)
                .then(|| format!("guest trap code: expected {code:?}, observed {got:?}")),
            (ExpectedOutcome::HostTrap { .. }, Outcome::Trap(Trap::ByGuest { .. }))
            | (ExpectedOutcome::GuestTrap { .. }, Outcome::Trap(Trap::ByHost { .. })) => {
                Some(format!(
                    "trap: expected one raised by the {}, observed one raised by the {}",
                    self.trap_source(),
                    if matches!(outcome, Outcome::Trap(Trap::ByHost { .. })) {
                        "host"
                    } else {
                        "guest"
                    }
                ))
            }
            (ExpectedOutcome::Hang, Outcome::Hang { .. })
            | (ExpectedOutcome::Crash, Outcome::Crash { .. }) => None,
            _ => wrong_kind(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ExpectedOutcome::Completed { .. } => "completed",
            ExpectedOutcome::HostTrap { .. } => "a trap raised by the host",
            ExpectedOutcome::GuestTrap { .. } => "a trap raised by the guest",
            ExpectedOutcome::Hang => "hang",
            ExpectedOutcome::HostPanic { .. } => "host-panic",
            ExpectedOutcome::Crash => "crash",
            ExpectedOutcome::LinkError { .. } => "link-error",
        }
    }

    fn trap_source(&self) -> &'static str {
        if matches!(self, ExpectedOutcome::HostTrap { .. }) {
            "host"
        } else {
            "guest"
        }
    }

    fn render(&self, host: &str) -> String {
        let message = |messages: &HostMessages| match messages.0.get(host) {
            Some(part) => format!("message contains {part:?}\n"),
            None => String::new(),
        };
        match self {
            ExpectedOutcome::Completed { exit } => {
                format!("outcome = \"completed\"\nexit = {exit}\n")
            }
            ExpectedOutcome::HostTrap { message: m } => {
                format!("outcome = \"trap\"\nby = \"host\"\n{}", message(m))
            }
            ExpectedOutcome::GuestTrap { code } => {
                format!("outcome = \"trap\"\nby = \"guest\"\ncode = {code:?}\n")
            }
            ExpectedOutcome::Hang => "outcome = \"hang\"\n".to_string(),
            ExpectedOutcome::HostPanic { message: m } => {
                format!("outcome = \"host-panic\"\n{}", message(m))
            }
            ExpectedOutcome::Crash => "outcome = \"crash\"\n".to_string(),
            ExpectedOutcome::LinkError { message: m } => {
                format!("outcome = \"link-error\"\n{}", message(m))
            }
        }
    }
}

impl HostMessages {
    /// Messages differ between hosts, so each host must have its own part
    /// recorded: a host without one fails, showing the message to record.
    fn mismatch(&self, host: &str, got: &str) -> Option<String> {
        match self.0.get(host) {
            None => Some(format!(
                "no message is recorded for host `{host}`: add `message.{host}` with a part of {got:?}"
            )),
            Some(wanted) => (!got.contains(wanted.as_str()))
                .then(|| format!("message: expected it to contain {wanted:?}, observed {got:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(outcome: Outcome) -> Observed {
        Observed {
            outcome,
            observations: Ok(Observations::default()),
            stderr: String::new(),
        }
    }

    fn host_trap(part: &str) -> Expectation {
        let message = HostMessages([("wasmtime".to_string(), part.to_string())].into());
        Expectation {
            outcome: ExpectedOutcome::HostTrap { message },
            observations: Observations::default(),
        }
    }

    #[test]
    fn a_host_trap_matches_on_a_part_of_its_message() {
        let trap = observed(Outcome::Trap(Trap::ByHost {
            message: "empty poll list".into(),
        }));
        assert!(
            host_trap("empty poll")
                .mismatches("wasmtime", &trap)
                .is_empty()
        );
        assert_eq!(host_trap("full").mismatches("wasmtime", &trap).len(), 1);
    }

    #[test]
    fn a_host_without_a_recorded_message_fails() {
        let trap = observed(Outcome::Trap(Trap::ByHost {
            message: "empty poll list".into(),
        }));
        let problems = host_trap("empty").mismatches("jco", &trap);
        assert!(
            problems[0].contains("no message is recorded for host `jco`"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_trap_by_the_other_side_is_a_mismatch() {
        let guest = observed(Outcome::Trap(Trap::ByGuest {
            code: "unreachable-code-reached".into(),
            message: String::new(),
        }));
        let problems = host_trap("empty").mismatches("wasmtime", &guest);
        assert!(
            problems[0]
                .contains("expected one raised by the host, observed one raised by the guest"),
            "{problems:?}"
        );
    }

    #[test]
    fn observations_are_compared_exactly() {
        let expect = Expectation {
            outcome: ExpectedOutcome::Completed { exit: 0 },
            observations: Observations([("a".to_string(), 1.into())].into()),
        };
        let mut run = observed(Outcome::Completed { exit: 0 });
        run.observations = Observations::parse("@witness {\"a\":1}\n@witness {\"b\":2}\n");
        let problems = expect.mismatches("wasmtime", &run);
        assert_eq!(problems, ["observation `b` = 2 is not in the expectation"]);
    }
}
