//! What a run must look like to match: an outcome and the guest's
//! observations. A case's `[expect]` (what the spec allows) is a list of
//! these, and so is a host's record (what the host did); both are written
//! as the same TOML table, read here.

use crate::case::pattern::Pattern;
use crate::file_error::Invalid;
use crate::outcome::{Observed, Outcome, Trap};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use toml::Spanned;

/// An outcome and, for each observation the guest must report (and no
/// other), the pattern its value must match.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomePattern {
    pub ending: Ending,
    pub observations: BTreeMap<String, Pattern>,
}

/// How the run must end. `None` for a message or code: any will do.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// A case's `exit` may be a matcher (`{ at-least = 1 }`: a clause
    /// that says failure, not which status); a record's is a value.
    Completed {
        exit: Pattern,
    },
    HostTrap {
        message: Option<String>,
    },
    GuestTrap {
        code: Option<String>,
    },
    Hang,
    HostPanic {
        message: Option<String>,
    },
    Crash {
        message: Option<String>,
    },
    LinkError {
        message: Option<String>,
    },
}

/// Who writes the table: the rules differ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Writer {
    /// A case's `[expect]`: what the spec allows. Messages are host
    /// records, not spec; observations may use the matcher vocabulary.
    Spec,
    /// A host's record of what it did: exact values; every trap, panic,
    /// crash and link-error carries its message part, a guest trap its code.
    Record,
    /// An alternative a host was also seen to do, with its reason.
    Intermittent,
}

/// The table as a file writes it. Unknown keys are errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeTable {
    pub outcome: Spanned<OutcomeKind>,
    pub exit: Option<Spanned<toml::Value>>,
    pub by: Option<Spanned<TrapBy>>,
    pub code: Option<Spanned<String>>,
    pub message: Option<Spanned<String>>,
    #[serde(default)]
    pub observations: BTreeMap<String, Spanned<toml::Value>>,
    /// Records only: other outcomes this host was seen to produce.
    pub intermittent: Option<Spanned<Vec<Spanned<OutcomeTable>>>>,
    /// Intermittent alternatives only: why the host varies.
    pub reason: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    Completed,
    Trap,
    Hang,
    HostPanic,
    Crash,
    LinkError,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum TrapBy {
    Host,
    Guest,
}

impl OutcomeTable {
    /// Validates the table as `writer` may write it. `intermittent` and
    /// `reason` are left to the caller, which checks where they may stand.
    pub fn pattern(
        &self,
        table_span: std::ops::Range<usize>,
        writer: Writer,
    ) -> Result<OutcomePattern, Invalid> {
        let kind = *self.outcome.get_ref();
        let by = self.by.as_ref().map(|by| *by.get_ref());
        let is_guest_trap = kind == OutcomeKind::Trap && by == Some(TrapBy::Guest);
        let takes_message = writer != Writer::Spec
            && matches!(
                kind,
                OutcomeKind::Trap
                    | OutcomeKind::HostPanic
                    | OutcomeKind::Crash
                    | OutcomeKind::LinkError
            )
            && !is_guest_trap;
        let message_takers = if writer == Writer::Spec {
            "host records: the spec says which outcome, never a host's text (see \"Host records\" in the README)"
        } else {
            "a trap with by = \"host\", host-panic, crash and link-error"
        };
        // Each optional key, where it stands, whether this table takes it,
        // and which tables do.
        let keys = [
            (
                "exit",
                self.exit.as_ref().map(Spanned::span),
                kind == OutcomeKind::Completed,
                "outcome = \"completed\"",
            ),
            (
                "by",
                self.by.as_ref().map(Spanned::span),
                kind == OutcomeKind::Trap,
                "outcome = \"trap\"",
            ),
            (
                "code",
                self.code.as_ref().map(Spanned::span),
                is_guest_trap,
                "a trap with by = \"guest\"",
            ),
            (
                "message",
                self.message.as_ref().map(Spanned::span),
                takes_message,
                message_takers,
            ),
        ];
        for (key, span, applies, takers) in keys {
            if let Some(span) = span
                && !applies
            {
                return Err((
                    span,
                    format!("`{key}` applies only to {takers}"),
                    "remove it; see \"Case files\" and \"Host records\" in the README for the keys each outcome takes".into(),
                ));
            }
        }
        if writer == Writer::Spec && matches!(kind, OutcomeKind::HostPanic | OutcomeKind::Crash) {
            return Err((
                self.outcome.span(),
                "the spec never allows a host panic or a crash".into(),
                "a host that panics or dies violates every case; keep a known one green with a [[divergence]] naming its upstream issue".into(),
            ));
        }
        if kind == OutcomeKind::Trap && by.is_none() {
            return Err((
                self.outcome.span(),
                "a trap needs `by`".into(),
                "say `by = \"host\"` (a host import or the canonical ABI refused the call) or `by = \"guest\"` (the wasm code trapped)".into(),
            ));
        }
        let message = self.message.as_ref().map(|m| m.get_ref().clone());
        if writer != Writer::Spec
            && takes_message
            && message.as_deref().is_none_or(|m| m.trim().is_empty())
        {
            return Err((
                self.message.as_ref().map_or(table_span.clone(), Spanned::span),
                "a record of this outcome needs a non-empty `message`: a part of the host's text".into(),
                "record a part of the message the host gives, e.g. `message = \"empty poll list\"` (`cargo xtask bless` writes it)".into(),
            ));
        }
        let code = self.code.as_ref().map(|c| c.get_ref().clone());
        if writer != Writer::Spec && is_guest_trap && code.is_none() {
            return Err((
                table_span,
                "a record of a guest trap needs `code`".into(),
                "name the trap, e.g. `code = \"unreachable-code-reached\"` (`cargo xtask bless` writes it)".into(),
            ));
        }
        let exit = match &self.exit {
            None => Pattern::literal(0.into()),
            Some(exit) => {
                let json = serde_json::to_value(exit.get_ref()).expect("a TOML value is JSON");
                let invalid = |problem: String| {
                    (
                        exit.span(),
                        format!("`exit`: {problem}"),
                        "an exit status is an integer (a case may give a matcher: see \"What the spec allows\" in the README)".to_string(),
                    )
                };
                match writer {
                    Writer::Spec => Pattern::parse(json).map_err(invalid)?,
                    _ if json.is_i64() => Pattern::literal(json),
                    _ => return Err(invalid(format!("{json} is no integer"))),
                }
            }
        };
        let ending = match kind {
            OutcomeKind::Completed => Ending::Completed { exit },
            OutcomeKind::Trap if is_guest_trap => Ending::GuestTrap { code },
            OutcomeKind::Trap => Ending::HostTrap { message },
            OutcomeKind::Hang => Ending::Hang,
            OutcomeKind::HostPanic => Ending::HostPanic { message },
            OutcomeKind::Crash => Ending::Crash { message },
            OutcomeKind::LinkError => Ending::LinkError { message },
        };
        let mut observations = BTreeMap::new();
        for (name, value) in &self.observations {
            let json = serde_json::to_value(value.get_ref()).expect("a TOML value is JSON");
            let pattern = match writer {
                Writer::Spec => Pattern::parse(json).map_err(|problem| {
                    (
                        value.span(),
                        format!("observation `{name}`: {problem}"),
                        "see \"What the spec allows\" in the README for the matchers".into(),
                    )
                })?,
                Writer::Record | Writer::Intermittent => Pattern::literal(json),
            };
            observations.insert(name.clone(), pattern);
        }
        Ok(OutcomePattern {
            ending,
            observations,
        })
    }
}

impl OutcomePattern {
    /// Every way `observed` differs from this pattern; empty when it matches.
    pub fn mismatches(&self, observed: &Observed) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(problem) = self.ending.mismatch(&observed.outcome) {
            problems.push(problem);
        }
        match &observed.observations {
            Err(protocol) => problems.push(format!(
                "the guest broke the observation protocol: {protocol}"
            )),
            Ok(seen) => {
                for (name, pattern) in &self.observations {
                    match seen.0.get(name) {
                        None => problems.push(format!(
                            "observation `{name}`: expected {pattern}, {}",
                            if crate::outcome::observations::by_harness(name) {
                                "the harness did not observe it"
                            } else {
                                "the guest did not report it"
                            }
                        )),
                        Some(got) if !pattern.matches(got) => problems.push(format!(
                            "observation `{name}`: expected {pattern}, observed {}",
                            crate::outcome::observations::inline_toml(got)
                        )),
                        Some(_) => {}
                    }
                }
                for (name, got) in &seen.0 {
                    if !self.observations.contains_key(name) {
                        problems.push(format!(
                            "observation `{name}` = {} is not expected",
                            crate::outcome::observations::inline_toml(got)
                        ));
                    }
                }
            }
        }
        problems
    }

    /// Case-file-shaped lines, for the side-by-side report.
    pub fn render(&self) -> String {
        let mut out = self.ending.render();
        for (name, pattern) in &self.observations {
            let _ = writeln!(out, "observations.{name} = {pattern}");
        }
        out
    }
}

impl Ending {
    fn mismatch(&self, outcome: &Outcome) -> Option<String> {
        let message_mismatch = |wanted: &Option<String>, got: &str| {
            wanted
                .as_ref()
                .filter(|wanted| !got.contains(wanted.as_str()))
                .map(|wanted| {
                    format!("message: expected it to contain {wanted:?}, observed {got:?}")
                })
        };
        match (self, outcome) {
            (Ending::Completed { exit }, Outcome::Completed { exit: got }) => (!exit
                .matches(&(*got).into()))
            .then(|| format!("exit code: expected {exit}, observed {got}")),
            (Ending::HostTrap { message }, Outcome::Trap(Trap::ByHost { message: got }))
            | (Ending::HostPanic { message }, Outcome::HostPanic { message: got })
            | (Ending::LinkError { message }, Outcome::LinkError { message: got })
            | (Ending::Crash { message }, Outcome::Crash { detail: got }) => {
                message_mismatch(message, got)
            }
            (Ending::GuestTrap { code }, Outcome::Trap(Trap::ByGuest { code: got, .. })) => code
                .as_ref()
                .filter(|code| *code != got)
                .map(|code| format!("guest trap code: expected {code:?}, observed {got:?}")),
            (Ending::HostTrap { .. }, Outcome::Trap(Trap::ByGuest { .. })) => Some(
                "trap: expected one raised by the host, observed one raised by the guest".into(),
            ),
            (Ending::GuestTrap { .. }, Outcome::Trap(Trap::ByHost { .. })) => Some(
                "trap: expected one raised by the guest, observed one raised by the host".into(),
            ),
            (Ending::Hang, Outcome::Hang { .. }) => None,
            _ => Some(format!(
                "outcome: expected {}, observed {}",
                self.kind(),
                outcome.kind()
            )),
        }
    }

    /// The `outcome = "..."` name, with the trap's side.
    pub fn kind(&self) -> &'static str {
        match self {
            Ending::Completed { .. } => "completed",
            Ending::HostTrap { .. } => "a trap raised by the host",
            Ending::GuestTrap { .. } => "a trap raised by the guest",
            Ending::Hang => "hang",
            Ending::HostPanic { .. } => "host-panic",
            Ending::Crash { .. } => "crash",
            Ending::LinkError { .. } => "link-error",
        }
    }

    /// Whether `outcome` is of this kind (and a trap on this side), whatever its details.
    pub fn same_kind(&self, outcome: &Outcome) -> bool {
        matches!(
            (self, outcome),
            (Ending::Completed { .. }, Outcome::Completed { .. })
                | (Ending::HostTrap { .. }, Outcome::Trap(Trap::ByHost { .. }))
                | (
                    Ending::GuestTrap { .. },
                    Outcome::Trap(Trap::ByGuest { .. })
                )
                | (Ending::Hang, Outcome::Hang { .. })
                | (Ending::HostPanic { .. }, Outcome::HostPanic { .. })
                | (Ending::Crash { .. }, Outcome::Crash { .. })
                | (Ending::LinkError { .. }, Outcome::LinkError { .. })
        )
    }

    fn render(&self) -> String {
        let message = |m: &Option<String>| match m {
            Some(part) => format!("message contains {part:?}\n"),
            None => String::new(),
        };
        match self {
            Ending::Completed { exit } => format!("outcome = \"completed\"\nexit = {exit}\n"),
            Ending::HostTrap { message: m } => {
                format!("outcome = \"trap\"\nby = \"host\"\n{}", message(m))
            }
            Ending::GuestTrap { code } => format!(
                "outcome = \"trap\"\nby = \"guest\"\n{}",
                code.as_ref()
                    .map_or(String::new(), |code| format!("code = {code:?}\n"))
            ),
            Ending::Hang => "outcome = \"hang\"\n".into(),
            Ending::HostPanic { message: m } => format!("outcome = \"host-panic\"\n{}", message(m)),
            Ending::Crash { message: m } => format!("outcome = \"crash\"\n{}", message(m)),
            Ending::LinkError { message: m } => format!("outcome = \"link-error\"\n{}", message(m)),
        }
    }
}
