//! Component names that Osiris itself ships (`mysql.extractor`, `duckdb.processor`, ...) are
//! refused where a package is made or published, not only at install time: by `ocp new`,
//! `ocp add`, `ocp check`, `ocp publish`, and `ocp index verify` for an index that somehow
//! holds one. Each refusal names the Osiris releases and changes nothing on disk.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Sandbox, assert_same_tree, replace_in_file, run, run_ok, stderr, tree_state};

fn generate(sandbox: &Sandbox, component: &str, dir: &str) -> PathBuf {
    let root = sandbox.work().join(dir);
    run_ok(
        sandbox
            .ocp()
            .args(["new", component, "--author", "Jane Doe", "--path"])
            .arg(&root),
    );
    root
}

#[test]
fn ocp_new_refuses_a_name_osiris_ships_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let before = tree_state(&sandbox.work());
    let output = run(sandbox.ocp().args(["new", "mysql.extractor"]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: Osiris 0.5.1 to 0.5.7 ship their own `mysql.extractor`, and the Osiris range `>=0.5.0,<1.0.0` includes them\n\
         help: choose another name, such as `my-mysql.extractor`; a package may keep the name `mysql.extractor` only if its Osiris range excludes every release that ships it (`ocp migrate mysql.extractor` moves the built-in into such a package)\n"
    );
    let output = run(sandbox
        .ocp()
        .args(["new", "posthog.extractor", "--name", "acme-osiris"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .starts_with("error: Osiris 0.5.6 and 0.5.7 ship their own `posthog.extractor`")
            && stderr(&output).contains("such as `acme-posthog.extractor`"),
        "{}",
        stderr(&output)
    );
    assert_same_tree("the work directory", &before, &tree_state(&sandbox.work()));
}

#[test]
fn publish_refuses_a_name_osiris_ships_and_the_index_does_not_change() {
    let sandbox = Sandbox::new();
    let key = sandbox.signing_key("me");
    // A first publish creates the default index, so its state can be compared afterwards.
    let fine = generate(&sandbox, "shopify.extractor", "shopify-osiris");
    run_ok(
        sandbox
            .ocp()
            .args(["publish", "--path"])
            .arg(&fine)
            .arg("--key")
            .arg(&key),
    );
    let root = generate(&sandbox, "acme.extractor", "acme-osiris");
    replace_in_file(
        &root.join("src/acme_osiris/spec.yaml"),
        "name: acme.extractor",
        "name: mysql.extractor",
    );
    replace_in_file(
        &root.join("pyproject.toml"),
        "\"acme.extractor\" =",
        "\"mysql.extractor\" =",
    );
    let package_before = tree_state(&root);
    let home_before = tree_state(&sandbox.home());
    let output = run(sandbox
        .ocp()
        .args(["publish", "--path"])
        .arg(&root)
        .arg("--key")
        .arg(&key));
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("error[S023]: Osiris 0.5.1 to 0.5.7 ship their own `mysql.extractor`")
            && text.contains("--> src/acme_osiris/spec.yaml:3:7")
            && text.contains("help: choose another name, such as `acme-mysql.extractor`")
            && text.contains("error: cannot publish acme-osiris v0.1.0: `ocp check` found 1 error"),
        "{text}"
    );
    assert_same_tree("the package", &package_before, &tree_state(&root));
    assert_same_tree("OCP_HOME", &home_before, &tree_state(&sandbox.home()));
}

#[test]
fn index_verify_reports_a_version_that_provides_a_name_osiris_ships() {
    let sandbox = Sandbox::new();
    let key = sandbox.signing_key("me");
    let root = generate(&sandbox, "shopify.extractor", "shopify-osiris");
    run_ok(
        sandbox
            .ocp()
            .args(["publish", "--path"])
            .arg(&root)
            .arg("--key")
            .arg(&key),
    );
    let checkout = sandbox.dir.path().join("checkout");
    let cloned = Command::new("git")
        .args(["clone", "--quiet"])
        .arg(sandbox.home().join("index/default.git"))
        .arg(&checkout)
        .status()
        .expect("git clone");
    assert!(cloned.success());
    let (code, report) = verify(&sandbox, &checkout);
    assert_eq!(code, Some(0), "{report:#}");

    // Someone with write access adds a built-in name to the entry by hand.
    replace_in_file(
        &checkout.join("packages/sh/op/shopify-osiris"),
        "\"components\":[\"shopify.extractor\"]",
        "\"components\":[\"shopify.extractor\",\"duckdb.processor\"]",
    );
    let (code, report) = verify(&sandbox, &checkout);
    assert_eq!(code, Some(1));
    let finding = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|finding| finding["code"] == "I012")
        .unwrap_or_else(|| panic!("no I012 in {report:#}"));
    assert_eq!(
        finding["message"],
        "`shopify-osiris` provides `duckdb.processor`: Osiris 0.5.1 to 0.5.7 ship their own `duckdb.processor`"
    );
    assert_eq!(finding["file"], "packages/sh/op/shopify-osiris");
}

fn verify(sandbox: &Sandbox, checkout: &Path) -> (Option<i32>, serde_json::Value) {
    let output = run(sandbox
        .ocp()
        .args(["index", "verify", "--format", "json"])
        .arg(checkout));
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", stderr(&output)));
    (output.status.code(), report)
}

#[test]
fn installing_a_component_osiris_ships_says_it_is_already_there() {
    let sandbox = Sandbox::new();
    let output = run(sandbox.ocp().args([
        "install",
        "mysql.extractor",
        "--dry-run",
        "--osiris-version",
        "0.5.7",
        "--python-version",
        "3.11",
    ]));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: `mysql.extractor` is part of Osiris 0.5.7, which this environment already has\n\
         help: there is nothing to install; use the component in a pipeline as it is\n"
    );
    // Osiris 0.5.5 did not ship posthog.extractor, so there it is an ordinary name.
    let output = run(sandbox.ocp().args([
        "install",
        "posthog.extractor",
        "--dry-run",
        "--osiris-version",
        "0.5.5",
        "--python-version",
        "3.11",
    ]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("error: there is no package or component `posthog.extractor`"),
        "{}",
        stderr(&output)
    );
}
