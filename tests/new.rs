//! `ocp new` and `ocp init`: generated trees match the fixtures, bad names and existing
//! directories are refused with the rule, and nothing is left behind on refusal.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{Sandbox, assert_same_tree, run, run_ok, stderr, tree_state};

/// Every file under `root`, relative path -> contents.
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .expect("prefix")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(relative, fs::read_to_string(&path).expect("utf-8 file"));
            }
        }
    }
    out
}

fn fixture_root(template: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/new")
        .join(template)
}

/// Fixture paths store a leading `.` as `dot_`, so the fixtures' `.gitignore` does not act on
/// this repository.
fn to_fixture_path(path: &str) -> String {
    path.split('/')
        .map(|part| {
            part.strip_prefix('.')
                .map_or(part.to_owned(), |rest| format!("dot_{rest}"))
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn from_fixture_path(path: &str) -> String {
    path.split('/')
        .map(|part| {
            part.strip_prefix("dot_")
                .map_or(part.to_owned(), |rest| format!(".{rest}"))
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Rewrites the fixture when `OCP_UPDATE_FIXTURES=1`, else compares against it.
fn assert_tree_matches_fixture(generated: &Path, template: &str) {
    let actual = tree(generated);
    let root = fixture_root(template);
    if std::env::var_os("OCP_UPDATE_FIXTURES").is_some() {
        let _ = fs::remove_dir_all(&root);
        for (path, contents) in &actual {
            let target = root.join(to_fixture_path(path));
            fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            fs::write(target, contents).expect("write fixture");
        }
        return;
    }
    let expected: BTreeMap<String, String> = tree(&root)
        .into_iter()
        .map(|(path, contents)| (from_fixture_path(&path), contents))
        .collect();
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "file lists differ for {template}"
    );
    for (path, contents) in &expected {
        assert_eq!(
            &actual[path], contents,
            "{template}: {path} differs from tests/fixtures/new/{template}/"
        );
    }
}

#[test]
fn every_template_matches_its_fixture_tree() {
    let sandbox = Sandbox::new();
    for (component, template) in [
        ("shopify.extractor", "api-extractor"),
        ("postgres.writer", "db-writer"),
        ("orders.processor", "sql-processor"),
    ] {
        run_ok(
            sandbox
                .ocp()
                .args(["new", component, "--author", "Jane Doe <jane@example.com>"]),
        );
        let family = component.split('.').next().expect("family");
        assert_tree_matches_fixture(&sandbox.work().join(format!("{family}-osiris")), template);
    }
}

#[test]
fn templates_can_be_chosen_and_names_overridden() {
    let sandbox = Sandbox::new();
    run_ok(sandbox.ocp().args([
        "new",
        "acme.loader",
        "--template",
        "db-writer",
        "--name",
        "acme-loader-osiris",
        "--license",
        "MIT",
        "--osiris",
        ">=0.5.7,<0.6.0",
    ]));
    let root = sandbox.work().join("acme-loader-osiris");
    let pyproject = fs::read_to_string(root.join("pyproject.toml")).expect("pyproject");
    assert!(pyproject.contains("name = \"acme-loader-osiris\""));
    assert!(
        pyproject.contains("\"osiris-pipeline>=0.5.7,<0.6.0\""),
        "{pyproject}"
    );
    assert!(pyproject.contains("license = \"MIT\""));
    let spec = fs::read_to_string(root.join("src/acme_loader_osiris/spec.yaml")).expect("spec");
    assert!(
        spec.contains("    - osiris>=0.5.7\n    - osiris<0.6.0\n"),
        "{spec}"
    );
    assert!(spec.contains("driver: acme_loader_osiris.driver.AcmeLoaderDriver"));
    assert!(
        fs::read_to_string(root.join("LICENSE"))
            .expect("license")
            .starts_with("MIT License")
    );
    run_ok(sandbox.ocp().args(["check", "--path"]).arg(&root));
}

#[test]
fn a_role_without_a_default_template_asks_for_one() {
    let sandbox = Sandbox::new();
    let output = run(sandbox.ocp().args(["new", "acme.thing"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--template api-extractor|db-writer|sql-processor"),
        "{}",
        stderr(&output)
    );
    assert!(!sandbox.work().join("acme-osiris").exists());
}

#[test]
fn bad_names_are_refused_with_the_rule() {
    let sandbox = Sandbox::new();
    let before = tree_state(&sandbox.work());
    for (name, rule) in [
        ("Shopify", "lowercase"),
        ("shopify", "has no role; a component name is `family.role`"),
        ("shop..x", "empty part"),
        ("shop.x.y", "more than one dot"),
    ] {
        let output = run(sandbox.ocp().args(["new", name]));
        assert_eq!(output.status.code(), Some(1), "{name}");
        let text = stderr(&output);
        assert!(text.starts_with("error: "), "{text}");
        assert!(text.contains(rule), "{name}: {text}");
        assert!(text.contains("help: "), "{text}");
    }
    assert_same_tree(
        "the work folder after refused names",
        &before,
        &tree_state(&sandbox.work()),
    );
}

#[test]
fn an_existing_directory_is_never_overwritten() {
    let sandbox = Sandbox::new();
    let existing = sandbox.work().join("shopify-osiris");
    fs::create_dir_all(&existing).expect("mkdir");
    fs::write(existing.join("keep.txt"), "mine").expect("write");
    let before = tree_state(&sandbox.work());
    let output = run(sandbox.ocp().args(["new", "shopify.extractor"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("already exists"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        tree(&existing).into_iter().collect::<Vec<_>>(),
        vec![("keep.txt".to_owned(), "mine".to_owned())]
    );
    // No staging directory may remain beside it.
    assert_same_tree(
        "the work folder after a refused `ocp new`",
        &before,
        &tree_state(&sandbox.work()),
    );
}

#[test]
fn init_fills_an_empty_directory_and_refuses_a_full_one() {
    let sandbox = Sandbox::new();
    let target = sandbox.work().join("mine");
    fs::create_dir_all(target.join(".git")).expect("mkdir");
    run_ok(sandbox.ocp_in(&target).args(["init", "orders.processor"]));
    assert!(target.join("src/orders_osiris/driver.py").exists());
    assert!(target.join(".git").is_dir());
    run_ok(sandbox.ocp_in(&target).arg("check"));

    let full = sandbox.work().join("full");
    fs::create_dir_all(&full).expect("mkdir");
    fs::write(full.join("notes.md"), "keep").expect("write");
    let output = run(sandbox.ocp_in(&full).args(["init", "orders.processor"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is not empty: it holds `notes.md`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(tree(&full).len(), 1);
}

#[test]
fn bad_options_are_refused_before_anything_is_written() {
    let sandbox = Sandbox::new();
    let before = tree_state(&sandbox.work());
    for (args, expected) in [
        (vec!["--license", "WTFPL"], "no license text for `WTFPL`"),
        (
            vec!["--osiris", "bananas"],
            "not a valid Osiris version range",
        ),
        (vec!["--template", "nope"], "there is no template `nope`"),
        (vec!["--name=-bad-"], "not a valid Python project name"),
    ] {
        let output = run(sandbox.ocp().args(["new", "shopify.extractor"]).args(&args));
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_same_tree(
        "the work folder after refused options",
        &before,
        &tree_state(&sandbox.work()),
    );
}
