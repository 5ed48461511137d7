//! `ocp add`: a second component in an existing package, from the same templates as
//! `ocp new`. The two-component package passes `ocp check` and its own pytest in a real
//! environment with Osiris 0.5.7, publishes to a real git index, and each component installs
//! by name into a real environment where Osiris's `ComponentRegistry` finds both. Refusals
//! say what to do and change nothing.
//!
//! Needs Python 3.11+ as `python3` (or `OCP_TEST_PYTHON`) with the `uv` module installed.

mod common;
#[path = "common/python.rs"]
mod python;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Sandbox, assert_same_tree, run, run_ok, stderr, stdout, tree_state};
use python::{osiris_env, path_with_uv, run_python};

fn new_package(sandbox: &Sandbox, component: &str) -> PathBuf {
    run_ok(
        sandbox
            .ocp()
            .args(["new", component, "--author", "Jane Doe <jane@example.com>"]),
    );
    let family = component.split('.').next().expect("family");
    sandbox.work().join(format!("{family}-osiris"))
}

fn add(sandbox: &Sandbox, root: &Path, args: &[&str]) -> std::process::Output {
    run(sandbox.ocp_in(root).arg("add").args(args))
}

/// What Osiris sees: every `acme.*` component its registry loads, with the driver class
/// each spec names, imported as the runtime does.
const REGISTRY: &str = r#"
import importlib
from osiris.components.registry import ComponentRegistry
specs = ComponentRegistry().load_specs()
for name in sorted(n for n in specs if n.startswith("acme.")):
    module, cls = specs[name]["x-runtime"]["driver"].rsplit(".", 1)
    driver = getattr(importlib.import_module(module), cls)
    print(name, specs[name]["version"], driver.__name__)
"#;

#[test]
fn an_added_component_checks_tests_publishes_and_installs_by_name() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox, "acme.extractor");
    let output = add(&sandbox, &root, &["acme.processor"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).lines().take(3).collect::<Vec<_>>(),
        vec![
            "       Added `acme.processor` to acme-osiris v0.1.0 (sql-processor template)",
            "     Created src/acme_osiris/processor/__init__.py, src/acme_osiris/processor/connection.py, src/acme_osiris/processor/driver.py, src/acme_osiris/processor/spec.yaml, tests/test_processor_driver.py, tests/test_processor_pipeline.py, tests/test_processor_spec.py",
            "     Updated pyproject.toml, README.md, CHANGELOG.md",
        ]
    );
    let pyproject = fs::read_to_string(root.join("pyproject.toml")).expect("pyproject");
    assert!(
        pyproject.contains("\"acme.extractor\" = \"acme_osiris:load_spec\"\n\"acme.processor\" = \"acme_osiris.processor:load_spec\"\n"),
        "{pyproject}"
    );
    assert!(pyproject.contains("    \"duckdb>=0.9\",\n]"), "{pyproject}");
    assert!(
        pyproject.contains("version = \"0.1.0\""),
        "the version is left alone"
    );
    let readme = fs::read_to_string(root.join("README.md")).expect("readme");
    assert!(
        readme.contains("## `acme.processor`\n") && readme.contains("ocp install acme.processor"),
        "{readme}"
    );
    let changelog = fs::read_to_string(root.join("CHANGELOG.md")).expect("changelog");
    assert!(
        changelog.contains("## [Unreleased]\n\n### Added\n\n- The `acme.processor` component.\n"),
        "{changelog}"
    );

    let check = run_ok(sandbox.ocp().args(["check", "--path"]).arg(&root));
    assert_eq!(
        stderr(&check),
        "     Checked acme-osiris v0.1.0: no problems found\n"
    );

    // The package's own tests, both components', against its wheel in a real environment
    // with Osiris: unit tests and a real `osiris run` pipeline for each component.
    let junit = sandbox.dir.path().join("junit.xml");
    let tests = run(sandbox
        .ocp()
        .env("PATH", path_with_uv())
        .args(["test", "--osiris", "0.5.7", "--format", "json", "--path"])
        .arg(&root)
        .arg("--")
        .arg(format!("--junitxml={}", junit.display())));
    assert!(tests.status.success(), "{}", stderr(&tests));
    let report: serde_json::Value = serde_json::from_slice(&tests.stdout).expect("json");
    let summary = report["cells"][0]["summary"].as_str().expect("summary");
    assert!(
        summary.contains(" passed") && !summary.contains("failed") && !summary.contains("skipped"),
        "{summary}"
    );
    // Every module of both components ran (pytest's own record of what it ran).
    let ran = fs::read_to_string(&junit).expect("pytest's junit report");
    for module in [
        "test_processor_spec",
        "test_processor_driver",
        "test_processor_pipeline",
        "test_spec",
        "test_driver",
        "test_pipeline",
    ] {
        assert!(
            ran.contains(&format!("classname=\"tests.{module}\"")),
            "{module} did not run: {ran}"
        );
    }

    // Raise the version for the release: every file that states it follows.
    run_ok(
        sandbox
            .ocp_in(&root)
            .args(["version", "minor", "--date", "2026-03-04"]),
    );
    run_ok(sandbox.ocp().args(["check", "--path"]).arg(&root));

    let key = sandbox.signing_key("me");
    let publish = run_ok(
        sandbox
            .ocp()
            .args(["publish", "--format", "json", "--path"])
            .arg(&root)
            .arg("--key")
            .arg(&key),
    );
    let published: serde_json::Value = serde_json::from_slice(&publish.stdout).expect("json");
    assert_eq!(
        published["components"],
        serde_json::json!(["acme.extractor", "acme.processor"]),
        "{published:#}"
    );

    // Each component by name, each into its own environment: Osiris sees both either way.
    for component in ["acme.extractor", "acme.processor"] {
        let env = sandbox.dir.path().join(format!("env-{component}"));
        let python = osiris_env(&env, false);
        let install = run(sandbox
            .ocp()
            .args(["install", component, "--env"])
            .arg(&env)
            .args(["--lockfile", &format!("{component}.lock")]));
        assert!(install.status.success(), "{}", stderr(&install));
        assert!(
            stderr(&install)
                .contains("Installed acme-osiris v0.2.0: acme.extractor, acme.processor"),
            "{}",
            stderr(&install)
        );
        assert_eq!(
            run_python(&python, REGISTRY, &[]),
            "acme.extractor 0.2.0 AcmeExtractorDriver\nacme.processor 0.2.0 AcmeProcessorDriver\n",
            "after installing {component}"
        );
    }
}

#[test]
fn a_component_of_another_family_gets_its_own_subpackage() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox, "acme.extractor");
    let output = add(
        &sandbox,
        &root,
        &["partner.loader", "--template", "db-writer"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        root.join("src/acme_osiris/partner_loader/spec.yaml")
            .is_file()
    );
    assert!(root.join("tests/test_partner_loader_driver.py").is_file());
    let spec =
        fs::read_to_string(root.join("src/acme_osiris/partner_loader/spec.yaml")).expect("spec");
    assert!(
        spec.contains("driver: acme_osiris.partner_loader.driver.PartnerLoaderDriver"),
        "{spec}"
    );
    let check = run(sandbox
        .ocp()
        .args(["check", "--format", "json", "--path"])
        .arg(&root));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    assert_eq!(
        report["package"]["components"],
        serde_json::json!(["acme.extractor", "partner.loader"])
    );
}

#[test]
fn an_added_components_readme_names_the_packages_wheel_at_its_version() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox, "acme.extractor");
    run_ok(sandbox.ocp_in(&root).args(["version", "1.2.0"]));
    let output = add(&sandbox, &root, &["acme.writer"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let readme = fs::read_to_string(root.join("README.md")).expect("README");
    let section = readme
        .split("## `acme.writer`")
        .nth(1)
        .expect("a section for the added component");
    assert!(
        section.contains("`pip install dist/acme_osiris-1.2.0-py3-none-any.whl`"),
        "{section}"
    );
    assert!(
        section.contains("(`dist/acme_osiris-<version>-py3-none-any.whl`)"),
        "{section}"
    );
    assert!(!readme.contains("acme_osiris.writer-"), "{readme}");
}

#[test]
fn refused_additions_say_why_and_change_nothing() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox, "acme.extractor");
    fs::create_dir_all(root.join("src/acme_osiris/writer")).expect("mkdir");
    fs::write(root.join("src/acme_osiris/writer/notes.txt"), "mine").expect("write");
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["mysql.extractor"],
            "error: Osiris 0.5.1 to 0.5.7 ship their own `mysql.extractor`, and the Osiris range `>=0.5.0,<1.0.0` includes them",
            "help: choose another name, such as `acme-mysql.extractor`",
        ),
        (
            &["acme.extractor"],
            "error: acme-osiris already provides `acme.extractor`",
            "help: choose another role",
        ),
        (
            &["acme.writer"],
            "error: `src/acme_osiris/writer` already exists, and `ocp add` would put `acme.writer` there",
            "help: move it away",
        ),
        (
            &["acme.thing"],
            "error: the role `thing` has no default template",
            "help: choose one with `--template api-extractor|db-writer|sql-processor`",
        ),
        (
            &["acme.thing", "--template", "csv-reader"],
            "error: there is no template `csv-reader`",
            "",
        ),
        (
            &["Acme.Thing"],
            "error: component name `Acme.Thing` has uppercase letters",
            "help: component names look like",
        ),
    ];
    for (args, message, help) in cases {
        let before = tree_state(&root);
        let output = add(&sandbox, &root, args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        let text = stderr(&output);
        assert!(
            text.starts_with(message) && text.contains(help),
            "{args:?}:\n{text}"
        );
        assert_same_tree(
            &format!("the package after {args:?}"),
            &before,
            &tree_state(&root),
        );
    }

    // Outside a package: nothing to add to.
    let empty = sandbox.work().join("empty");
    fs::create_dir_all(&empty).expect("mkdir");
    let output = add(&sandbox, &empty, &["acme.processor"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("error: no readable `pyproject.toml` in `.`")
            && stderr(&output).contains("run `ocp new acme.processor`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_dir(&empty).expect("read").count(), 0);
}

#[test]
fn ocp_new_points_at_ocp_add_when_the_family_package_exists() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox, "acme.extractor");
    let before = tree_state(&sandbox.work());
    let output = run(sandbox.ocp().args(["new", "acme.processor"]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: destination `acme-osiris` already holds a package\n\
         help: add `acme.processor` to it with `ocp add acme.processor --path acme-osiris`, or make a separate package with `--path` and `--name`\n"
    );
    assert_same_tree("the work directory", &before, &tree_state(&sandbox.work()));

    // The way out it names works, and a separate package under its own name gets no warning.
    run_ok(
        sandbox
            .ocp()
            .args(["add", "acme.processor", "--path", "acme-osiris"]),
    );
    assert!(root.join("src/acme_osiris/processor/spec.yaml").is_file());
    run_ok(sandbox.ocp().args([
        "new",
        "acme.writer",
        "--name",
        "acme-writer-osiris",
        "--path",
        "acme-writer",
    ]));
    let check = run_ok(sandbox.ocp().args(["check", "--path", "acme-writer"]));
    assert_eq!(
        stderr(&check),
        "     Checked acme-writer-osiris v0.1.0: no problems found\n"
    );
}

#[test]
fn the_distribution_name_advice_counts_every_component() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox, "acme.extractor");
    run_ok(sandbox.ocp_in(&root).args(["add", "acme.processor"]));
    let pyproject = root.join("pyproject.toml");
    let text = fs::read_to_string(&pyproject).expect("read");
    fs::write(
        &pyproject,
        text.replacen("name = \"acme-osiris\"", "name = \"tools-osiris\"", 1),
    )
    .expect("write");
    let output = run(sandbox
        .ocp()
        .args(["check", "--format", "json", "--path"])
        .arg(&root));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let naming: Vec<&serde_json::Value> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == "P009")
        .collect();
    assert_eq!(naming.len(), 1, "{report:#}");
    assert_eq!(
        naming[0]["message"],
        "components `acme.extractor` and `acme.processor` are conventionally shipped together as `acme-osiris`, not `tools-osiris`"
    );
    assert_eq!(naming[0]["severity"], "warning");
    assert_eq!(naming[0]["line"], 6);
}
