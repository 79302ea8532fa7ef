//! What the wasi:http guests report of fields, shared by `http`,
//! `http-fields` and `proxy` (as `#[path]` modules, as the sockets guests
//! share `loopback.rs`).

use crate::wasi::http::types::{Fields, HeaderError};

/// Fields with `x-witness: 1`.
pub fn witness_fields() -> Fields {
    Fields::from_list(&[("x-witness".into(), b"1".to_vec())]).expect("x-witness is a field")
}

/// `"ok"`, or the header-error's name.
pub fn header_result(result: Result<(), HeaderError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(HeaderError::InvalidSyntax) => "invalid-syntax",
        Err(HeaderError::Forbidden) => "forbidden",
        Err(HeaderError::Immutable) => "immutable",
    }
}

/// Field values as text, each apart.
pub fn field_values(values: &[Vec<u8>]) -> Vec<String> {
    (values.iter())
        .map(|value| String::from_utf8_lossy(value).into_owned())
        .collect()
}
