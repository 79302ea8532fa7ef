//! The drafts in upstream/ against the committed evidence: an integration
//! test, as it loads the cases through the suite (the library's stages
//! never depend on the suite that wires them).

use witness::layout::Layout;
use witness::report::upstream::{Draft, Evidence, Problem, check, write};
use witness::suite::Suite;

/// The drafts this checkout's committed evidence makes.
fn drafts() -> Vec<Draft> {
    let layout = Layout::from_env();
    let cases = Suite::conformance(&layout)
        .load()
        .into_iter()
        .map(|(_, case)| case.expect("the committed cases load"))
        .collect();
    let hosts = layout.registry().expect("hosts.toml reads").entries;
    Evidence::load(
        layout.root(),
        cases,
        hosts,
        &layout.records_dir(),
        &layout.drafts_dir(),
    )
    .expect("the records and kept parts read")
    .drafts()
    .expect("every draft is written")
}

#[test]
fn a_draft_edited_by_hand_missing_or_left_over_is_a_problem() {
    let drafts = drafts();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(write(dir.path(), &drafts).unwrap().len(), drafts.len());
    assert_eq!(check(dir.path(), &drafts), []);
    let edited = &drafts[0].file;
    std::fs::write(dir.path().join(edited), "edited by hand\n").unwrap();
    std::fs::remove_file(dir.path().join(&drafts[1].file)).unwrap();
    std::fs::write(dir.path().join("gone.toml"), "title = \"x\"\n").unwrap();
    let problems = check(dir.path(), &drafts);
    assert!(
        matches!(&problems[0], Problem::Stale { file, diff } if file == edited && diff.contains("-edited by hand")),
        "{problems:?}"
    );
    assert_eq!(
        problems[1..],
        [
            Problem::Missing {
                file: drafts[1].file.clone()
            },
            Problem::Orphan {
                file: "gone.toml".into()
            }
        ]
    );
}

#[test]
fn a_generated_draft_no_case_asks_for_is_deleted() {
    let drafts = drafts();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &drafts).unwrap();
    let written = write(dir.path(), &drafts[1..]).unwrap();
    assert_eq!(
        written,
        [format!(
            "deleted upstream/{}: no case asks for it any more",
            drafts[0].file
        )]
    );
    assert!(!dir.path().join(&drafts[0].file).exists());
}
