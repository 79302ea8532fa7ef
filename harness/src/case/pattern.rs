//! What the spec allows one observation to be: a value, or a matcher exactly
//! as wide as the clause — the vocabulary of `[expect.observations]`.
//!
//! | written                      | matches                                              | for a clause like |
//! | ---------------------------- | ---------------------------------------------------- | ----------------- |
//! | a value (`true`, `[0]`, ...) | that value; inside arrays and tables, each part is a pattern | "returns an empty list" |
//! | `{ one-of = [a, b] }`        | any one of the patterns listed                       | "should succeed ..., or otherwise fail with `closed`" |
//! | `{ at-least = m, at-most = n }` | an integer in the bounds (either may be left out) | "up to `len` bytes; it may return fewer" |
//! | `{ any-order = [a, b] }`     | an array of exactly these values, in any order       | a set whose order is unspecified |
//! | `{ one-or-more-of = [a, b] }`| a non-empty array whose every element is listed      | "one or more indices of handles ... that is ready" |
//! | `{ any = true }`             | any value at all (the observation must still be reported) | a part the cited clause does not decide: a proxy's response headers |
//!
//! A table whose keys are all matcher words is a matcher; a table that mixes
//! them with other keys is an error. There is no expression language.

use serde_json::Value;
use std::fmt;

/// The words that make a table a matcher.
const MATCHER_WORDS: [&str; 6] = [
    "one-of",
    "at-least",
    "at-most",
    "any-order",
    "one-or-more-of",
    "any",
];

/// A pattern an observation must match.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// As written, for reports.
    written: Value,
    shape: Shape,
}

#[derive(Clone, Debug, PartialEq)]
enum Shape {
    Scalar(Value),
    Array(Vec<Pattern>),
    Table(Vec<(String, Pattern)>),
    OneOf(Vec<Pattern>),
    Bounds {
        at_least: Option<i128>,
        at_most: Option<i128>,
    },
    AnyOrder(Vec<Value>),
    OneOrMoreOf(Vec<Value>),
    /// `{ any = true }`: what the clause leaves open, whatever it is.
    Any,
}

impl Pattern {
    /// Reads a pattern as the case file wrote it; `Err` says what is wrong.
    pub fn parse(written: Value) -> Result<Pattern, String> {
        let shape = match &written {
            Value::Array(items) => Shape::Array(
                items
                    .iter()
                    .cloned()
                    .map(Pattern::parse)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(table) if is_matcher(table) => matcher(table)?,
            Value::Object(table) => {
                let mut parts = Vec::new();
                for (key, value) in table {
                    parts.push((key.clone(), Pattern::parse(value.clone())?));
                }
                Shape::Table(parts)
            }
            scalar => Shape::Scalar(scalar.clone()),
        };
        Ok(Pattern { written, shape })
    }

    /// A pattern that matches exactly `value`, matcher words and all: a
    /// host's record holds what the host did, never a matcher.
    pub fn literal(value: Value) -> Pattern {
        Pattern {
            shape: Shape::Scalar(value.clone()),
            written: value,
        }
    }

    /// Whether the pattern as written holds the string `value` anywhere.
    pub fn holds_string(&self, value: &str) -> bool {
        fn holds(written: &Value, value: &str) -> bool {
            match written {
                Value::String(text) => text == value,
                Value::Array(items) => items.iter().any(|item| holds(item, value)),
                Value::Object(table) => table.values().any(|item| holds(item, value)),
                _ => false,
            }
        }
        holds(&self.written, value)
    }

    pub fn matches(&self, value: &Value) -> bool {
        match (&self.shape, value) {
            (Shape::Scalar(expected), value) => expected == value,
            (Shape::Array(patterns), Value::Array(items)) => {
                patterns.len() == items.len()
                    && patterns.iter().zip(items).all(|(p, item)| p.matches(item))
            }
            (Shape::Table(parts), Value::Object(table)) => {
                parts.len() == table.len()
                    && parts
                        .iter()
                        .all(|(key, p)| table.get(key).is_some_and(|v| p.matches(v)))
            }
            (Shape::OneOf(patterns), value) => patterns.iter().any(|p| p.matches(value)),
            (Shape::Bounds { at_least, at_most }, value) => integer(value).is_some_and(|n| {
                at_least.is_none_or(|low| n >= low) && at_most.is_none_or(|high| n <= high)
            }),
            (Shape::AnyOrder(expected), Value::Array(items)) => {
                let mut left: Vec<&Value> = expected.iter().collect();
                items.len() == expected.len()
                    && items
                        .iter()
                        .all(|item| match left.iter().position(|v| *v == item) {
                            Some(i) => {
                                left.swap_remove(i);
                                true
                            }
                            None => false,
                        })
            }
            (Shape::Any, _) => true,
            (Shape::OneOrMoreOf(allowed), Value::Array(items)) => {
                !items.is_empty() && items.iter().all(|item| allowed.contains(item))
            }
            _ => false,
        }
    }
}

impl fmt::Display for Pattern {
    /// As the case file wrote it, in TOML's inline syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::outcome::observations::inline_toml(&self.written))
    }
}

fn is_matcher(table: &serde_json::Map<String, Value>) -> bool {
    table
        .keys()
        .any(|key| MATCHER_WORDS.contains(&key.as_str()))
}

fn matcher(table: &serde_json::Map<String, Value>) -> Result<Shape, String> {
    if let Some(other) = table
        .keys()
        .find(|key| !MATCHER_WORDS.contains(&key.as_str()))
    {
        return Err(format!(
            "`{other}` stands beside a matcher word in one table; a matcher table holds only {}",
            MATCHER_WORDS.join(", ")
        ));
    }
    let values = |word: &str| -> Result<Vec<Value>, String> {
        match &table[word] {
            Value::Array(items) if !items.is_empty() => Ok(items.clone()),
            _ => Err(format!("`{word}` takes a non-empty array")),
        }
    };
    let bound = |word: &str| -> Result<Option<i128>, String> {
        table
            .get(word)
            .map(|value| integer(value).ok_or_else(|| format!("`{word}` takes an integer")))
            .transpose()
    };
    let words: Vec<&str> = table.keys().map(String::as_str).collect();
    match words.as_slice() {
        ["one-of"] => Ok(Shape::OneOf(
            values("one-of")?
                .into_iter()
                .map(Pattern::parse)
                .collect::<Result<_, _>>()?,
        )),
        ["any-order"] => Ok(Shape::AnyOrder(values("any-order")?)),
        ["one-or-more-of"] => Ok(Shape::OneOrMoreOf(values("one-or-more-of")?)),
        ["any"] => match &table["any"] {
            Value::Bool(true) => Ok(Shape::Any),
            _ => Err("`any` takes `true`: `{ any = true }`".into()),
        },
        ["at-least"] | ["at-most"] | ["at-least", "at-most"] | ["at-most", "at-least"] => {
            let (at_least, at_most) = (bound("at-least")?, bound("at-most")?);
            if let (Some(low), Some(high)) = (at_least, at_most)
                && low > high
            {
                return Err(format!("`at-least = {low}` is above `at-most = {high}`"));
            }
            Ok(Shape::Bounds { at_least, at_most })
        }
        _ => Err(format!(
            "one matcher per table: `{}` cannot be combined (only at-least with at-most)",
            words.join("`, `")
        )),
    }
}

fn integer(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pattern(written: Value) -> Pattern {
        Pattern::parse(written).unwrap()
    }

    #[test]
    fn a_value_matches_only_itself() {
        let p = pattern(json!({ "ok": 4 }));
        assert!(p.matches(&json!({ "ok": 4 })));
        assert!(!p.matches(&json!({ "ok": 3 })));
        assert!(!p.matches(&json!({ "ok": 4, "more": 1 })));
    }

    #[test]
    fn bounds_are_inclusive_and_nest_inside_values() {
        let p = pattern(json!({ "ok": { "at-least": 0, "at-most": 4 } }));
        for n in 0..=4 {
            assert!(p.matches(&json!({ "ok": n })), "{n}");
        }
        assert!(!p.matches(&json!({ "ok": 5 })));
        assert!(!p.matches(&json!({ "ok": -1 })));
        assert!(!p.matches(&json!({ "err": "closed" })));
        assert!(!p.matches(&json!({ "ok": "4" })));
    }

    #[test]
    fn any_order_is_a_multiset() {
        let p = pattern(json!({ "any-order": [0, 1, 1] }));
        assert!(p.matches(&json!([1, 0, 1])));
        assert!(!p.matches(&json!([1, 0, 0])));
        assert!(!p.matches(&json!([0, 1])));
    }

    #[test]
    fn one_or_more_of_needs_a_non_empty_list_of_listed_values() {
        let p = pattern(json!({ "one-or-more-of": [0, 1] }));
        assert!(p.matches(&json!([1])));
        assert!(p.matches(&json!([1, 0])));
        assert!(!p.matches(&json!([])));
        assert!(!p.matches(&json!([2])));
    }

    #[test]
    fn one_of_takes_patterns() {
        let p = pattern(json!({ "one-of": [{ "ok": 0 }, { "err": "closed" }] }));
        assert!(p.matches(&json!({ "ok": 0 })));
        assert!(p.matches(&json!({ "err": "closed" })));
        assert!(!p.matches(&json!({ "ok": 1 })));
    }

    #[test]
    fn any_matches_every_value_but_not_a_missing_key() {
        let p = pattern(json!({ "any": true }));
        for value in [
            json!(0),
            json!("x"),
            json!(null),
            json!([]),
            json!({ "a": 1 }),
        ] {
            assert!(p.matches(&value), "{value}");
        }
        let partly = pattern(json!({ "status": { "any": true }, "end": "error" }));
        assert!(partly.matches(&json!({ "status": 500, "end": "error" })));
        assert!(
            !partly.matches(&json!({ "end": "error" })),
            "the key must be there"
        );
        assert!(!partly.matches(&json!({ "status": 500, "end": "complete" })));
        assert!(!partly.matches(&json!({ "status": 500, "end": "error", "trailers": {} })));
    }

    #[test]
    fn malformed_matchers_are_errors() {
        for (written, says) in [
            (json!({ "at-most": 4, "ok": 1 }), "beside a matcher word"),
            (json!({ "one-of": [] }), "non-empty array"),
            (json!({ "at-most": "4" }), "integer"),
            (json!({ "at-least": 5, "at-most": 4 }), "above"),
            (
                json!({ "one-of": [1], "any-order": [1] }),
                "one matcher per table",
            ),
            (json!({ "any": false }), "takes `true`"),
            (
                json!({ "any": true, "one-of": [1] }),
                "one matcher per table",
            ),
        ] {
            let error = Pattern::parse(written.clone()).unwrap_err();
            assert!(error.contains(says), "{written}: {error}");
        }
    }

    #[test]
    fn renders_as_written_in_toml() {
        assert_eq!(
            pattern(json!({ "ok": { "at-most": 4 } })).to_string(),
            "{ ok = { at-most = 4 } }"
        );
    }
}
