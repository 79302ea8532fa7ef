//! What the spec allows a case to end as: one or more alternatives, each as
//! wide as its clause. The conformance question is asked here.

use crate::case::outcome_pattern::OutcomePattern;
use crate::outcome::Observed;

/// A case's `[expect]` (one table) or `[[expect]]` (alternatives): the run
/// conforms when it matches any of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub allowed: Vec<OutcomePattern>,
}

impl Expectation {
    /// `Ok` when `observed` is one of the allowed outcomes; otherwise why
    /// not, measured against the alternatives of the observed kind (or all
    /// of them when none is of that kind).
    pub fn check(&self, observed: &Observed) -> Result<(), Vec<String>> {
        let mut tried = Vec::new();
        for allowed in &self.allowed {
            let problems = allowed.mismatches(observed);
            if problems.is_empty() {
                return Ok(());
            }
            tried.push((allowed.ending.same_kind(&observed.outcome), problems));
        }
        if self.allowed.len() > 1 && !tried.iter().any(|(same_kind, _)| *same_kind) {
            let kinds: Vec<&str> = self.allowed.iter().map(|a| a.ending.kind()).collect();
            return Err(vec![format!(
                "outcome: the spec allows {}, observed {}",
                kinds.join(" or "),
                observed.outcome.kind()
            )]);
        }
        let closest = tried
            .into_iter()
            .min_by_key(|(same_kind, problems)| (!same_kind, problems.len()));
        Err(closest.map(|(_, problems)| problems).unwrap_or_default())
    }

    /// Case-file-shaped lines, alternatives separated by `or`.
    pub fn render(&self) -> String {
        self.allowed
            .iter()
            .map(OutcomePattern::render)
            .collect::<Vec<_>>()
            .join("── or ──\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::outcome_pattern::Ending;
    use crate::case::pattern::Pattern;
    use crate::outcome::observations::Observations;
    use crate::outcome::{Outcome, Trap};
    use serde_json::json;

    fn observed(outcome: Outcome, stdout: &str) -> Observed {
        Observed {
            outcome,
            observations: Observations::parse(stdout),
            stderr: String::new(),
        }
    }

    /// `write` may trap, or return `closed`.
    fn may_trap() -> Expectation {
        Expectation {
            allowed: vec![
                OutcomePattern {
                    ending: Ending::HostTrap { message: None },
                    observations: Default::default(),
                },
                OutcomePattern {
                    ending: Ending::Completed {
                        exit: Pattern::literal(0.into()),
                    },
                    observations: [(
                        "write".to_string(),
                        Pattern::parse(json!({ "err": "closed" })).unwrap(),
                    )]
                    .into(),
                },
            ],
        }
    }

    #[test]
    fn any_alternative_conforms() {
        let trap = observed(
            Outcome::Trap(Trap::ByHost {
                message: "any text".into(),
            }),
            "",
        );
        assert_eq!(may_trap().check(&trap), Ok(()));
        let closed = observed(
            Outcome::Completed { exit: 0 },
            "@witness {\"write\":{\"err\":\"closed\"}}\n",
        );
        assert_eq!(may_trap().check(&closed), Ok(()));
    }

    #[test]
    fn a_violation_is_explained_against_the_alternative_of_its_kind() {
        let ok = observed(
            Outcome::Completed { exit: 0 },
            "@witness {\"write\":{\"ok\":true}}\n",
        );
        let problems = may_trap().check(&ok).unwrap_err();
        assert_eq!(
            problems,
            ["observation `write`: expected { err = \"closed\" }, observed { ok = true }"]
        );
    }

    #[test]
    fn an_outcome_of_another_kind_names_every_allowed_one() {
        let hang = observed(
            Outcome::Hang {
                deadline: std::time::Duration::from_millis(1),
            },
            "",
        );
        let problems = may_trap().check(&hang).unwrap_err();
        assert_eq!(
            problems,
            ["outcome: the spec allows a trap raised by the host or completed, observed hang"]
        );
    }
}
