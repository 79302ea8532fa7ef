//! What a command is invoked with, beyond its scenario: the arguments
//! after it, the environment, the initial working directory, and which of
//! its standard streams is a terminal (`arguments`, `environment`,
//! `initial-cwd`, `terminal` in a case's `[run]`).

use serde::Deserialize;
use std::collections::BTreeSet;

/// The invocation a case asks for; the default is none of it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Invocation {
    /// `get-arguments` after `argv[0]` and the scenario.
    pub arguments: Vec<String>,
    /// The variables `get-environment` gives, in this order, beside what
    /// the harness itself sets (`WITNESS_LOOPBACK`).
    pub environment: Vec<(String, String)>,
    /// What `initial-cwd` returns; without it, what the host says unasked.
    pub initial_cwd: Option<String>,
    /// The streams that are a pseudo-terminal the harness allocates.
    pub terminal: BTreeSet<Stream>,
}

/// A standard stream, as a case's `terminal` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stream {
    Stdin,
    Stdout,
    Stderr,
}

impl Invocation {
    /// What no host could be handed: `Err` names the problem. A command
    /// line and an environment cannot carry NUL, and a name cannot hold `=`.
    pub fn check(&self) -> Result<(), String> {
        if let Some(argument) = self.arguments.iter().find(|a| a.contains('\0')) {
            return Err(format!(
                "argument {argument:?} holds NUL, which no command line carries"
            ));
        }
        for (name, value) in &self.environment {
            if name == super::sockets::ADDRESS_VARIABLE {
                return Err(format!(
                    "{name} is the harness's own: it gives a sockets case its loopback address"
                ));
            }
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(format!(
                    "environment variable name {name:?} is empty or holds `=` or NUL"
                ));
            }
            if value.contains('\0') {
                return Err(format!("the value of {name} holds NUL"));
            }
        }
        if (self.initial_cwd.iter()).any(|cwd| cwd.contains('\0')) {
            return Err("initial-cwd holds NUL".into());
        }
        Ok(())
    }

    /// Some name is set twice.
    pub fn repeats_a_name(&self) -> bool {
        let mut names = BTreeSet::new();
        !(self.environment.iter()).all(|(name, _)| names.insert(name))
    }

    /// `NAME=VALUE`, each variable, in order.
    pub fn assignments(&self) -> impl Iterator<Item = String> + '_ {
        (self.environment.iter()).map(|(name, value)| format!("{name}={value}"))
    }
}
