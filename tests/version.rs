//! `ocp version`: shows the version, and sets it in pyproject.toml, every spec.yaml and every
//! `__version__` at once, keeping each file's formatting, and opens the release in
//! CHANGELOG.md. Refusals change nothing.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{Sandbox, assert_same_tree, run, run_ok, stderr, stdout, tree_state};

const FILES: &[&str] = &[
    "pyproject.toml",
    "src/acme_osiris/spec.yaml",
    "src/acme_osiris/__init__.py",
    "src/acme_osiris/processor/spec.yaml",
    "src/acme_osiris/processor/__init__.py",
    "CHANGELOG.md",
    "README.md",
];

/// `acme-osiris` with two components, and some formatting of the author's own to keep.
fn two_component_package(sandbox: &Sandbox) -> PathBuf {
    run_ok(
        sandbox
            .ocp()
            .args(["new", "acme.extractor", "--author", "Jane Doe"]),
    );
    let root = sandbox.work().join("acme-osiris");
    run_ok(sandbox.ocp_in(&root).args(["add", "acme.processor"]));
    edit(
        &root.join("pyproject.toml"),
        "version = \"0.1.0\"\n",
        "version   =   \"0.1.0\"   # the release, set by `ocp version`\n",
    );
    edit(
        &root.join("src/acme_osiris/processor/spec.yaml"),
        "version: 0.1.0\n",
        "version: \"0.1.0\"  # quoted on purpose\n",
    );
    root
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    fs::write(path, text.replacen(from, to, 1)).expect("write");
}

fn contents(root: &Path) -> BTreeMap<&'static str, String> {
    FILES
        .iter()
        .map(|file| (*file, fs::read_to_string(root.join(file)).expect("read")))
        .collect()
}

#[test]
fn a_bump_sets_every_version_and_keeps_formatting() {
    let sandbox = Sandbox::new();
    let root = two_component_package(&sandbox);
    let shown = run_ok(sandbox.ocp_in(&root).arg("version"));
    assert_eq!(stdout(&shown), "0.1.0\n");
    let before = contents(&root);

    let output = run_ok(
        sandbox
            .ocp_in(&root)
            .args(["version", "minor", "--date", "2026-03-04"]),
    );
    assert_eq!(
        stderr(&output),
        "      Bumped acme-osiris from 0.1.0 to 0.2.0\n     \
         Updated pyproject.toml, src/acme_osiris/processor/spec.yaml, src/acme_osiris/spec.yaml, src/acme_osiris/__init__.py, src/acme_osiris/processor/__init__.py, CHANGELOG.md\n        \
         Next review the CHANGELOG, commit, then `ocp publish` to release acme-osiris v0.2.0\n"
    );
    let after = contents(&root);
    // Each file differs from before only where the version is written.
    let expected = |file: &str, from: &str, to: &str| before[file].replacen(from, to, 1);
    assert_eq!(
        after["pyproject.toml"],
        expected(
            "pyproject.toml",
            "version   =   \"0.1.0\"   # the release",
            "version   =   \"0.2.0\"   # the release"
        )
    );
    assert_eq!(
        after["src/acme_osiris/spec.yaml"],
        expected(
            "src/acme_osiris/spec.yaml",
            "version: 0.1.0\n",
            "version: 0.2.0\n"
        )
    );
    assert_eq!(
        after["src/acme_osiris/processor/spec.yaml"],
        expected(
            "src/acme_osiris/processor/spec.yaml",
            "version: \"0.1.0\"  # quoted on purpose",
            "version: \"0.2.0\"  # quoted on purpose"
        )
    );
    for init in [
        "src/acme_osiris/__init__.py",
        "src/acme_osiris/processor/__init__.py",
    ] {
        assert_eq!(
            after[init],
            expected(init, "__version__ = \"0.1.0\"", "__version__ = \"0.2.0\"")
        );
    }
    assert_eq!(
        after["CHANGELOG.md"],
        expected(
            "CHANGELOG.md",
            "## [Unreleased]\n\n",
            "## [Unreleased]\n\n## [0.2.0] - 2026-03-04\n\n"
        )
    );
    assert!(
        after["CHANGELOG.md"].contains(
            "## [0.2.0] - 2026-03-04\n\n### Added\n\n- The `acme.processor` component.\n"
        ),
        "the unreleased notes become the release's:\n{}",
        after["CHANGELOG.md"]
    );
    assert_eq!(after["README.md"], before["README.md"]);
    let check = run_ok(sandbox.ocp().args(["check", "--path"]).arg(&root));
    assert_eq!(
        stderr(&check),
        "     Checked acme-osiris v0.2.0: no problems found\n"
    );
}

#[test]
fn pre_releases_are_spelled_for_each_file_and_finished_by_a_bump() {
    let sandbox = Sandbox::new();
    let root = two_component_package(&sandbox);
    run_ok(
        sandbox
            .ocp_in(&root)
            .args(["version", "1.0.0rc1", "--date", "2026-03-04"]),
    );
    let files = contents(&root);
    assert!(files["pyproject.toml"].contains("version   =   \"1.0.0rc1\""));
    assert!(files["src/acme_osiris/spec.yaml"].contains("\nversion: 1.0.0-rc.1\n"));
    assert!(files["src/acme_osiris/__init__.py"].contains("__version__ = \"1.0.0rc1\""));
    run_ok(sandbox.ocp().args(["check", "--path"]).arg(&root));

    run_ok(
        sandbox
            .ocp_in(&root)
            .args(["version", "major", "--date", "2026-03-05"]),
    );
    let shown = run_ok(sandbox.ocp_in(&root).arg("version"));
    assert_eq!(stdout(&shown), "1.0.0\n");
    let files = contents(&root);
    assert!(files["src/acme_osiris/processor/spec.yaml"].contains("version: \"1.0.0\""));
    assert!(
        files["CHANGELOG.md"]
            .contains("## [Unreleased]\n\n## [1.0.0] - 2026-03-05\n\n## [1.0.0rc1] - 2026-03-04\n"),
        "{}",
        files["CHANGELOG.md"]
    );
}

#[test]
fn a_dunder_version_that_is_not_the_package_version_is_left_alone() {
    let sandbox = Sandbox::new();
    let root = two_component_package(&sandbox);
    fs::write(
        root.join("src/acme_osiris/vendored.py"),
        "__version__ = \"3.2.1\"\n",
    )
    .expect("write");
    let output = run_ok(
        sandbox
            .ocp_in(&root)
            .args(["version", "patch", "--date", "2026-03-04"]),
    );
    assert!(
        stderr(&output).contains(
            "warning: left src/acme_osiris/vendored.py (`__version__ = \"3.2.1\"`) alone: it is not the package's version"
        ),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        fs::read_to_string(root.join("src/acme_osiris/vendored.py")).expect("read"),
        "__version__ = \"3.2.1\"\n"
    );
}

#[test]
fn refusals_and_dry_runs_change_nothing() {
    let sandbox = Sandbox::new();
    let root = two_component_package(&sandbox);
    let before = tree_state(&root);
    let cases: &[(&[&str], &str)] = &[
        (
            &["version", "0.0.9"],
            "error: 0.0.9 is not newer than the current version 0.1.0\nhelp: versions only go up",
        ),
        (
            &["version", "0.1.0"],
            "error: 0.1.0 is not newer than the current version 0.1.0",
        ),
        (
            &["version", "banana"],
            "error: `banana` is not a valid PEP 440 version",
        ),
        (
            &["version", "1.0.0.post1"],
            "error: version `1.0.0.post1` has no semver spelling",
        ),
        (
            &["version", "patch", "--date", "2026-02-30"],
            "error: `2026-02-30` is not a date\nhelp: write it as `YYYY-MM-DD`",
        ),
    ];
    for (args, message) in cases {
        let output = run(sandbox.ocp_in(&root).args(*args));
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).starts_with(message),
            "{args:?}:\n{}",
            stderr(&output)
        );
        assert_same_tree(
            &format!("the package after {args:?}"),
            &before,
            &tree_state(&root),
        );
    }
    let output = run_ok(
        sandbox
            .ocp_in(&root)
            .args(["version", "major", "--dry-run"]),
    );
    assert!(
        stderr(&output).starts_with(
            "  Would bump acme-osiris from 0.1.0 to 1.0.0\nWould update pyproject.toml,"
        ),
        "{}",
        stderr(&output)
    );
    assert_same_tree("the package after --dry-run", &before, &tree_state(&root));

    // A dynamic version has nothing to set.
    edit(
        &root.join("pyproject.toml"),
        "version   =   \"0.1.0\"   # the release, set by `ocp version`\n",
        "dynamic = [\"version\"]\n",
    );
    let before = tree_state(&root);
    let output = run(sandbox.ocp_in(&root).args(["version", "patch"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("error: pyproject.toml has no `project.version` written out"),
        "{}",
        stderr(&output)
    );
    assert_same_tree(
        "the package after a dynamic version",
        &before,
        &tree_state(&root),
    );
}
