//! The guest code a scenario runs: the `("scenario", code)` entry of the
//! guest's scenario table and every function of the same file that entry
//! reaches by naming or calling it. Parsed with syn, so a reformatted guest
//! still has the same code path: drafts quote it, the coverage ledger reads
//! which WIT functions it calls.

use proc_macro2::Span;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;
use syn::visit::Visit;

/// One quoted stretch of a guest's source.
#[derive(Debug, PartialEq)]
pub struct Excerpt {
    /// 1-based, inclusive.
    pub first_line: usize,
    pub last_line: usize,
    pub text: String,
}

/// The source of guest `guest` in `guests_dir`: its path and text.
pub fn guest_source(guests_dir: &Path, guest: &str) -> Result<(PathBuf, String), String> {
    let file = guests_dir.join(guest).join("src/lib.rs");
    let source = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok((file, source))
}

/// A guest's source, parsed; `file` names it in errors.
pub fn parse(source: &str, file: &Path) -> Result<syn::File, String> {
    syn::parse_file(source).map_err(|e| {
        let at = e.span().start();
        format!(
            "{}:{}:{}: cannot parse the guest: {e}",
            file.display(),
            at.line,
            at.column + 1
        )
    })
}

/// `parsed` (the guest's `lib.rs`, `file`) with the items of every module
/// it includes from another file (`mod name;` from `name.rs` beside it, or
/// `#[path = "..."] mod name;`, as the sockets guests share
/// `guests/sockets/src/loopback.rs`) put beside its own: the functions a scenario reaches there, and the WIT calls they
/// make, are then on its code path. For reading calls only: the spans of
/// those items point into their own files, not into `file`'s source.
pub fn with_included_modules(mut parsed: syn::File, file: &Path) -> Result<syn::File, String> {
    let directory = file.parent().unwrap_or(Path::new("."));
    let mut included = Vec::new();
    for item in &parsed.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        let path = module
            .attrs
            .iter()
            .find_map(|attribute| match &attribute.meta {
                syn::Meta::NameValue(pair) if pair.path.is_ident("path") => match &pair.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(path),
                        ..
                    }) => Some(path.value()),
                    _ => None,
                },
                _ => None,
            });
        if module.content.is_none() {
            let path = path.unwrap_or_else(|| format!("{}.rs", module.ident));
            let module_file = directory.join(path);
            let source = std::fs::read_to_string(&module_file)
                .map_err(|e| format!("cannot read {}: {e}", module_file.display()))?;
            included.extend(parse(&source, &module_file)?.items);
        }
    }
    parsed.items.extend(included);
    Ok(parsed)
}

/// What a scenario runs: its table entry's code, and the functions of the
/// file it reaches.
pub struct CodePath<'f> {
    entry: syn::Expr,
    entry_span: Span,
    pub functions: Vec<&'f syn::ItemFn>,
}

impl<'f> CodePath<'f> {
    /// `scenario`'s code path in `parsed` (the guest's `lib.rs`, `file`).
    pub fn find(
        parsed: &'f syn::File,
        scenario: &str,
        file: &Path,
    ) -> Result<CodePath<'f>, String> {
        let mut entries = EntryFinder {
            scenario,
            found: Vec::new(),
        };
        entries.visit_file(parsed);
        let count = entries.found.len();
        let Ok([entry]) = <[Entry; 1]>::try_from(entries.found) else {
            return Err(format!(
                "{}: expected one `(\"{scenario}\", ...)` entry in the guest's scenario table, found {count}",
                file.display(),
            ));
        };
        let functions: Vec<&syn::ItemFn> = parsed
            .items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Fn(function) => Some(function),
                _ => None,
            })
            .collect();
        // The functions the entry reaches, through the functions it names.
        let mut named = Names::default();
        named.visit_expr(&entry.code);
        let mut reached = BTreeSet::new();
        while let Some(function) = functions.iter().find(|function| {
            let name = function.sig.ident.to_string();
            named.0.contains(&name) && !reached.contains(&name)
        }) {
            reached.insert(function.sig.ident.to_string());
            named.visit_block(&function.block);
        }
        Ok(CodePath {
            entry: entry.code,
            entry_span: entry.span,
            functions: functions
                .into_iter()
                .filter(|function| reached.contains(&function.sig.ident.to_string()))
                .collect(),
        })
    }

    /// Walks the code path: the entry's code, then each function reached.
    pub fn visit(&self, visitor: &mut impl for<'a> Visit<'a>) {
        visitor.visit_expr(&self.entry);
        for function in &self.functions {
            visitor.visit_item_fn(function);
        }
    }

    /// The code path's stretches of `source`, in file order.
    pub fn excerpts(&self, source: &str) -> Vec<Excerpt> {
        let lines: Vec<&str> = source.lines().collect();
        let mut excerpts: Vec<Excerpt> = std::iter::once(self.entry_span)
            .chain(self.functions.iter().map(|function| function.span()))
            .map(|span| excerpt(&lines, span))
            .collect();
        excerpts.sort_by_key(|excerpt| excerpt.first_line);
        excerpts
    }
}

/// The excerpts of `source` (the guest's `lib.rs`, `file`) that `scenario`
/// runs, in file order: its table entry, and every function of the file it
/// reaches.
pub fn of(source: &str, scenario: &str, file: &Path) -> Result<Vec<Excerpt>, String> {
    let parsed = parse(source, file)?;
    Ok(CodePath::find(&parsed, scenario, file)?.excerpts(source))
}

/// Whole lines, from the span's first to its last, with the doc comments
/// and attributes a function carries (they are part of its span).
fn excerpt(lines: &[&str], span: Span) -> Excerpt {
    let (first_line, last_line) = (span.start().line, span.end().line);
    Excerpt {
        first_line,
        last_line,
        text: lines[first_line - 1..last_line].join("\n"),
    }
}

/// The scenario table's `("<scenario>", code)` tuples, in expressions and
/// in macros whose input is a list of expressions (`common::command![...]`).
struct EntryFinder<'s> {
    scenario: &'s str,
    found: Vec<Entry>,
}

/// A table entry: where it is, and its code.
struct Entry {
    span: Span,
    code: syn::Expr,
}

impl Visit<'_> for EntryFinder<'_> {
    fn visit_expr_tuple(&mut self, tuple: &syn::ExprTuple) {
        if let [syn::Expr::Lit(name), _] = tuple.elems.iter().collect::<Vec<_>>().as_slice()
            && let syn::Lit::Str(name) = &name.lit
            && name.value() == self.scenario
        {
            self.found.push(Entry {
                span: tuple.span(),
                code: tuple.elems[1].clone(),
            });
        }
        syn::visit::visit_expr_tuple(self, tuple);
    }

    fn visit_macro(&mut self, invocation: &syn::Macro) {
        for expression in &macro_arguments(invocation) {
            self.visit_expr(expression);
        }
    }
}

/// The arguments of a macro whose input is a list of expressions
/// (`common::command![...]`, `assert_eq!(a, b)`, `format!("{}", x)`), which
/// syn leaves as tokens; none for any other macro.
pub(crate) fn macro_arguments(invocation: &syn::Macro) -> Vec<syn::Expr> {
    let list = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    invocation
        .parse_body_with(list)
        .map(|expressions| expressions.into_iter().collect())
        .unwrap_or_default()
}

/// Every single-segment path an expression mentions: the functions it
/// calls or names, in macro arguments too.
#[derive(Default)]
struct Names(BTreeSet<String>);

impl<'ast> Visit<'ast> for Names {
    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if let Some(ident) = path.path.get_ident() {
            self.0.insert(ident.to_string());
        }
    }

    fn visit_macro(&mut self, invocation: &'ast syn::Macro) {
        for expression in &macro_arguments(invocation) {
            self.visit_expr(expression);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUEST: &str = r#"common::command![
    ("one", || {
        helper(get())
    }),
    ("two", other),
];

/// Writes.
fn helper(x: u32) {
    observe("x", deeper(x));
}

fn deeper(x: u32) -> u32 { x }

fn other() {}

fn unrelated() {}
"#;

    #[test]
    fn a_closure_entry_brings_the_functions_it_reaches() {
        let excerpts = of(GUEST, "one", Path::new("lib.rs")).unwrap();
        let lines: Vec<_> = excerpts
            .iter()
            .map(|e| (e.first_line, e.last_line))
            .collect();
        assert_eq!(lines, [(2, 4), (8, 11), (13, 13)]);
        assert!(excerpts[1].text.starts_with("/// Writes.\nfn helper"));
    }

    #[test]
    fn a_named_function_entry_brings_that_function() {
        let excerpts = of(GUEST, "two", Path::new("lib.rs")).unwrap();
        assert_eq!(excerpts[1].text, "fn other() {}");
        assert_eq!(excerpts.len(), 2);
    }

    #[test]
    fn an_unknown_scenario_is_an_error_naming_the_file() {
        let error = of(GUEST, "three", Path::new("guests/g/src/lib.rs")).unwrap_err();
        assert!(
            error.starts_with("guests/g/src/lib.rs: expected one"),
            "{error}"
        );
    }
}
