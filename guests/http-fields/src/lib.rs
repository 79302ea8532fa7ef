//! The `fields` resource on its own: construction, the syntax its
//! operations check, names that differ only in case, repeated names,
//! `entries` and `clone`. Nothing is sent: every scenario builds its fields.

use common::observe;
use wasi::http::types::Fields;

wit_bindgen::generate!({ path: "../../wit", world: "http-fields", generate_all });

#[allow(dead_code, reason = "each wasi:http guest uses a part of it")]
#[path = "../../http/src/fields_text.rs"]
mod fields_text;
use fields_text::{field_values, header_result, witness_fields};

common::command![
    ("new-is-empty", || {
        observe("entries", entries(&Fields::new()))
    }),
    ("new-is-mutable", || {
        observe(
            "append",
            header_result(Fields::new().append("x-witness", b"1")),
        )
    }),
    ("from-list-is-mutable", || {
        observe(
            "append",
            header_result(witness_fields().append("x-witness", b"2")),
        )
    }),
    ("from-list-repeated-name", || {
        observe("get", field_values(&repeated().get("x-witness")))
    }),
    ("from-list-name-with-space", || {
        from_list("x witness", b"1")
    }),
    ("from-list-name-empty", || from_list("", b"1")),
    ("from-list-name-with-colon", || {
        from_list("x:witness", b"1")
    }),
    ("from-list-name-non-ascii", || {
        from_list("x-w\u{ed}tness", b"1")
    }),
    ("from-list-value-with-crlf", || {
        from_list("x-witness", b"a\r\nb")
    }),
    ("from-list-value-with-nul", || {
        from_list("x-witness", b"a\0b")
    }),
    ("from-list-value-with-del", || {
        from_list("x-witness", b"a\x7fb")
    }),
    ("from-list-value-with-inner-whitespace", || {
        from_list("x-witness", b"a \tb")
    }),
    ("from-list-value-obs-text", || {
        from_list("x-witness", b"caf\xe9")
    }),
    ("from-list-value-leading-space", || {
        from_list("x-witness", b" a")
    }),
    ("from-list-forbidden-names", from_list_forbidden_names),
    ("get-absent-name", || {
        observe("get", field_values(&witness_fields().get("x-absent")))
    }),
    ("get-invalid-name", || {
        observe("get", field_values(&witness_fields().get("x witness")))
    }),
    ("get-empty-value", || {
        observe("get", field_values(&empty_value().get("x-witness")))
    }),
    ("get-other-case", || {
        observe("get", field_values(&witness_fields().get("X-Witness")))
    }),
    ("has-present-and-absent", || {
        let fields = witness_fields();
        observe("has", [fields.has("x-witness"), fields.has("x-absent")])
    }),
    ("has-invalid-name", || {
        observe("has", witness_fields().has("x witness"))
    }),
    ("has-empty-value", || {
        observe("has", empty_value().has("x-witness"))
    }),
    ("has-other-case", || {
        observe("has", witness_fields().has("X-WITNESS"))
    }),
    ("set-replaces-values", || {
        let fields = repeated();
        observe(
            "set",
            header_result(fields.set("x-witness", &[b"3".to_vec()])),
        );
        observe("get", field_values(&fields.get("x-witness")));
    }),
    ("set-several-values", || {
        let fields = Fields::new();
        let values = [b"1".to_vec(), b"2".to_vec()];
        observe("set", header_result(fields.set("x-witness", &values)));
        observe("get", field_values(&fields.get("x-witness")));
    }),
    ("set-other-case", || {
        let fields = repeated();
        observe(
            "set",
            header_result(fields.set("X-Witness", &[b"3".to_vec()])),
        );
        observe("get", field_values(&fields.get("x-witness")));
    }),
    ("set-invalid-name", || {
        let set = Fields::new().set("x witness", &[b"1".to_vec()]);
        observe("set", header_result(set))
    }),
    ("set-invalid-value", || {
        let set = Fields::new().set("x-witness", &[b"1".to_vec(), b"a\r\nb".to_vec()]);
        observe("set", header_result(set))
    }),
    ("append-keeps-values", || {
        let fields = witness_fields();
        observe("append", header_result(fields.append("x-witness", b"2")));
        observe("get", field_values(&fields.get("x-witness")));
    }),
    ("append-other-case", || {
        let fields = witness_fields();
        observe("append", header_result(fields.append("X-WITNESS", b"2")));
        observe("get", field_values(&fields.get("x-witness")));
    }),
    ("append-invalid-name", || {
        observe(
            "append",
            header_result(Fields::new().append("x witness", b"1")),
        )
    }),
    ("append-invalid-value", || {
        observe(
            "append",
            header_result(Fields::new().append("x-witness", b"a\nb")),
        )
    }),
    ("delete-removes-every-value", || {
        let fields = repeated();
        observe("delete", header_result(fields.delete("x-witness")));
        observe("get", field_values(&fields.get("x-witness")));
    }),
    ("delete-absent-name", || {
        let fields = witness_fields();
        observe("delete", header_result(fields.delete("x-absent")));
        observe("entries", entries(&fields));
    }),
    ("delete-other-case", || {
        let fields = repeated();
        observe("delete", header_result(fields.delete("X-Witness")));
        observe("get", field_values(&fields.get("x-witness")));
    }),
    ("delete-invalid-name", || {
        observe("delete", header_result(Fields::new().delete("x witness")))
    }),
    ("entries-repeated-name", || {
        let fields = Fields::from_list(&[
            ("x-witness".into(), b"1".to_vec()),
            ("x-other".into(), b"2".to_vec()),
            ("x-witness".into(), b"3".to_vec()),
        ])
        .expect("x-witness and x-other are fields");
        let names: Vec<String> = fields.entries().into_iter().map(|(name, _)| name).collect();
        observe("names", names)
    }),
    ("entries-original-casing", || {
        let fields = Fields::from_list(&[("X-Witness".into(), b"Yes".to_vec())])
            .expect("X-Witness is a field");
        observe("entries", entries(&fields))
    }),
    ("clone-is-deep", || {
        let fields = witness_fields();
        let clone = fields.clone();
        observe(
            "set",
            header_result(clone.set("x-witness", &[b"2".to_vec()])),
        );
        observe(
            "get",
            [
                field_values(&fields.get("x-witness")),
                field_values(&clone.get("x-witness")),
            ],
        );
    }),
    ("clone-has-the-entries", || {
        let fields = repeated();
        fields.append("x-other", b"3").expect("x-other is a field");
        let clone = entries(&fields.clone());
        observe("same-entries", clone == entries(&fields));
        observe("entries", clone);
    }),
];

/// `x-witness: 1` and `x-witness: 2`.
fn repeated() -> Fields {
    Fields::from_list(&[
        ("x-witness".into(), b"1".to_vec()),
        ("x-witness".into(), b"2".to_vec()),
    ])
    .expect("x-witness is a field")
}

/// `x-witness` with an empty value.
fn empty_value() -> Fields {
    Fields::from_list(&[("x-witness".into(), Vec::new())]).expect("an empty value is a value")
}

/// Observes `from-list` of the one field `name: value`: `"ok"` or the
/// header-error.
fn from_list(name: &str, value: &[u8]) {
    let fields = Fields::from_list(&[(name.into(), value.to_vec())]);
    observe("from-list", header_result(fields.map(drop)));
}

/// `from-list` of each field a host may forbid: which it does.
fn from_list_forbidden_names() {
    let names = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "host",
        "http2-settings",
        "content-length",
        "proxy-authorization",
    ];
    let results: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .map(|name| {
            let fields = Fields::from_list(&[((*name).into(), b"1".to_vec())]);
            (name.to_string(), header_result(fields.map(drop)).into())
        })
        .collect();
    observe("from-list", results)
}

/// The entries as `[name, value]` pairs, values as text.
fn entries(fields: &Fields) -> Vec<[String; 2]> {
    fields
        .entries()
        .into_iter()
        .map(|(name, value)| [name, String::from_utf8_lossy(&value).into_owned()])
        .collect()
}
