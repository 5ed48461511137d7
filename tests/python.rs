//! Generated and built packages in real Python virtual environments: each template's own
//! tests pass with `ocp test` (the wheel in a fresh environment, so the pipeline tests run
//! Osiris for real); after `pip install -e ".[dev]"` the unit tests pass and the pipeline
//! tests are skipped with a reason, because Osiris 0.5.7 cannot see an editable install; and
//! the built sdist installs with pip and uv so that `importlib.metadata` finds the component
//! and its spec loads.
//!
//! Needs Python 3.11+ as `python3` (or `OCP_TEST_PYTHON`) and uv (on PATH, as `.ci/run`
//! installs it, or as a module of that Python). Environments are made with uv, against
//! Osiris 0.5.7 from PyPI.

mod common;
#[path = "common/python.rs"]
mod python;

use std::path::PathBuf;
use std::process::Command;

use common::{Sandbox, run_ok, stderr, stdout};
use python::{OSIRIS, path_with_uv, uv, venv};

fn generate(sandbox: &Sandbox, component: &str) -> PathBuf {
    let family = component.split('.').next().expect("family");
    run_ok(
        sandbox
            .ocp()
            .args(["new", component, "--author", "Jane Doe <jane@example.com>"]),
    );
    let root = sandbox.work().join(format!("{family}-osiris"));
    run_ok(sandbox.ocp().args(["check", "--path"]).arg(&root));
    root
}

/// `ocp test` with Osiris 0.5.7: every test passes and none is skipped.
fn generated_package_passes_its_own_tests(component: &str) {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, component);
    let output = common::run(
        sandbox
            .ocp()
            .env("PATH", path_with_uv())
            .args(["test", "--osiris", "0.5.7", "--format", "json", "--path"])
            .arg(&root),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let summary = report["cells"][0]["summary"].as_str().expect("summary");
    assert!(
        summary.contains(" passed")
            && !summary.contains("failed")
            && !summary.contains("skipped")
            && !summary.contains("error"),
        "{summary}"
    );
}

#[test]
fn api_extractor_package_passes_its_own_tests() {
    generated_package_passes_its_own_tests("shopify.extractor");
}

#[test]
fn db_writer_package_passes_its_own_tests() {
    generated_package_passes_its_own_tests("postgres.writer");
}

#[test]
fn an_editable_install_passes_the_unit_tests_and_skips_the_pipeline_tests_with_a_reason() {
    let sandbox = Sandbox::new();
    let root = generate(&sandbox, "calc.processor");
    let python = venv(&sandbox.dir.path().join("venv"), false);
    run_ok(
        uv().args(["pip", "install", "--quiet", "--python"])
            .arg(&python)
            .args(["-e", ".[dev]", OSIRIS])
            .current_dir(&root),
    );
    let output = run_ok(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
            .current_dir(&root),
    );
    let text = stdout(&output);
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.contains(" passed, 2 skipped") && !last.contains("failed"),
        "{text}"
    );
    assert!(
        text.contains("Osiris does not see calc.processor")
            && text.contains("install the wheel (`ocp test` does)"),
        "{text}"
    );
}

#[test]
fn sql_processor_package_passes_its_own_tests() {
    generated_package_passes_its_own_tests("orders.processor");
}

const FIND_COMPONENT: &str = r#"
import importlib, importlib.metadata as metadata, sys
name = sys.argv[1]
found = [ep for ep in metadata.entry_points(group="osiris.components") if ep.name == name]
assert len(found) == 1, found
print("entry point", found[0].value)
print("version", metadata.version("shopify-osiris"))
print("spec.yaml shipped", any(f.name == "spec.yaml" for f in metadata.files("shopify-osiris")))
if "--load" in sys.argv:
    spec = found[0].load()()
    module, cls = spec["x-runtime"]["driver"].rsplit(".", 1)
    driver = getattr(importlib.import_module(module), cls)
    print("loaded", spec["name"], spec["version"], driver.__name__)
"#;

fn build(sandbox: &Sandbox) -> PathBuf {
    let root = generate(sandbox, "shopify.extractor");
    run_ok(sandbox.ocp().args(["build", "--path"]).arg(&root));
    root.join("dist/shopify_osiris-0.1.0.tar.gz")
}

#[test]
fn pip_installs_the_built_tarball_and_finds_the_entry_point() {
    let sandbox = Sandbox::new();
    let tarball = build(&sandbox);
    let python = venv(&sandbox.dir.path().join("venv"), true);
    // pip builds the wheel from the sdist with setuptools, as it would for any user.
    run_ok(python::pip_install(&python).arg("--no-deps").arg(&tarball));
    let output = run_ok(Command::new(&python).args(["-c", FIND_COMPONENT, "shopify.extractor"]));
    assert_eq!(
        stdout(&output),
        "entry point shopify_osiris:load_spec\nversion 0.1.0\nspec.yaml shipped True\n"
    );
}

#[test]
fn the_installed_tarball_loads_its_spec_and_driver_through_the_entry_point() {
    let sandbox = Sandbox::new();
    let tarball = build(&sandbox);
    let python = venv(&sandbox.dir.path().join("venv"), false);
    run_ok(
        uv().args(["pip", "install", "--quiet", "--python"])
            .arg(&python)
            .arg(&tarball)
            .arg(OSIRIS),
    );
    let output =
        run_ok(Command::new(&python).args(["-c", FIND_COMPONENT, "shopify.extractor", "--load"]));
    assert!(
        stdout(&output).ends_with("loaded shopify.extractor 0.1.0 ShopifyExtractorDriver\n"),
        "{}",
        stdout(&output)
    );
}
