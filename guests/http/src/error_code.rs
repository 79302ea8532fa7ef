//! An `error-code` as the WIT spells its case: what the wasi:http guests
//! observe of an error, shared as a `#[path]` module.

use crate::wasi::http::types::ErrorCode;

/// An error code's case as the WIT spells it, without its payload:
/// `HTTP-response-incomplete`, `connection-refused`.
pub fn code_name(code: &ErrorCode) -> String {
    let debug = format!("{code:?}");
    let variant = debug.trim_start_matches("ErrorCode::");
    let variant = variant.split(['(', ' ', '{']).next().unwrap_or(variant);
    // The Rust name's words, kebab-cased, with the WIT's acronyms.
    let mut words: Vec<String> = Vec::new();
    for character in variant.chars() {
        match words.last_mut() {
            Some(word) if !character.is_ascii_uppercase() => word.push(character),
            _ => words.push(character.to_ascii_lowercase().to_string()),
        }
    }
    let words: Vec<String> = (words.into_iter())
        .map(|word| match word.as_str() {
            "dns" | "tls" | "http" | "uri" | "ip" => word.to_ascii_uppercase(),
            _ => word,
        })
        .collect();
    words.join("-")
}
