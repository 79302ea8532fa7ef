//! What a guest reported: `@witness {"<name>": <json>}` lines on its stdout.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The prefix of an observation line; every other stdout line is ignored.
pub const PREFIX: &str = "@witness ";

/// The observations only the harness makes ([`crate::host::world::files`]).
const HARNESS_OBSERVES: [&str; 2] = [
    crate::host::world::files::TREE_CHANGES,
    crate::host::world::files::OUTSIDE_TOUCHED,
];

/// Whether only the harness makes the observation `name`.
pub fn by_harness(name: &str) -> bool {
    HARNESS_OBSERVES.contains(&name)
}

/// Named values the guest observed, each name at most once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observations(pub BTreeMap<String, Value>);

impl Observations {
    /// Reads the observation lines of a guest's stdout.
    pub fn parse(stdout: &str) -> Result<Observations, String> {
        let mut seen = BTreeMap::new();
        for (number, line) in stdout.lines().enumerate() {
            let Some(json) = line.strip_prefix(PREFIX) else {
                continue;
            };
            let malformed = || {
                format!(
                    "stdout line {}: `{line}` is not `{PREFIX}{{\"<name>\": <json>}}`",
                    number + 1
                )
            };
            let Ok(Value::Object(object)) = serde_json::from_str::<Value>(json) else {
                return Err(malformed());
            };
            let mut entries = object.into_iter();
            let (Some((name, value)), None) = (entries.next(), entries.next()) else {
                return Err(malformed());
            };
            if by_harness(&name) {
                return Err(format!(
                    "stdout line {}: `{name}` is what the harness observes of the files, from the host side: a guest cannot report it",
                    number + 1
                ));
            }
            if contains_null(&value) {
                return Err(format!(
                    "stdout line {}: `{name}` holds a null, which a case file or a record cannot write: report a string or a boolean instead",
                    number + 1
                ));
            }
            if seen.insert(name.clone(), value).is_some() {
                return Err(format!(
                    "stdout line {}: the guest reported `{name}` twice",
                    number + 1
                ));
            }
        }
        Ok(Observations(seen))
    }
}

/// TOML, the language of case files and records, has no null.
fn contains_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(contains_null),
        Value::Object(table) => table.values().any(contains_null),
        _ => false,
    }
}

impl fmt::Display for Observations {
    /// One `observations.<name> = <value>` line per observation, in TOML's
    /// inline syntax as case files and records write them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.0 {
            writeln!(f, "observations.{name} = {}", inline_toml(value))?;
        }
        Ok(())
    }
}

/// A value in TOML's inline syntax (`{ ok = 4 }`), as case files and
/// records write it; JSON where TOML has no form for it (null).
pub fn inline_toml(value: &Value) -> String {
    match toml::Value::try_from(value) {
        Ok(toml) => toml.to_string(),
        Err(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_prefixed_lines() {
        let seen =
            Observations::parse("hello\n@witness {\"ready\":false}\n@witness {\"n\":[0,1]}\n")
                .unwrap();
        assert_eq!(
            seen.to_string(),
            "observations.n = [0, 1]\nobservations.ready = false\n"
        );
    }

    #[test]
    fn rejects_repeated_and_malformed_lines() {
        assert!(
            Observations::parse("@witness {\"a\":1}\n@witness {\"a\":2}\n")
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            Observations::parse("@witness [1]\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(Observations::parse("@witness {\"a\":1,\"b\":2}\n").is_err());
        assert!(
            Observations::parse("@witness {\"a\":[1,null]}\n")
                .unwrap_err()
                .contains("null")
        );
    }
}
