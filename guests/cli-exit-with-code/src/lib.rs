//! `wasi:cli/exit`'s `exit-with-code` in the middle of a run, with status
//! codes 0, 1, 42 and 255. WASI 0.2.12 added it: the guest is one of its
//! own, so that the `cli` guest builds against every 0.2 release.

use common::exit_then;
use wasi::cli::exit::exit_with_code;

wit_bindgen::generate!({ path: "../../wit", world: "cli-exit-with-code", generate_all });

common::command![
    ("exit-with-code-0", || exit_then(|| exit_with_code(0))),
    ("exit-with-code-1", || exit_then(|| exit_with_code(1))),
    ("exit-with-code-42", || exit_then(|| exit_with_code(42))),
    ("exit-with-code-255", || exit_then(|| exit_with_code(255))),
];
