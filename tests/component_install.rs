//! Installing a component by name from a real git index into a real environment with Osiris
//! 0.5.7, when the package's versions do not all provide it: `acme-osiris` 0.1.0 provides
//! `acme.extractor`, 0.2.0 only `acme.processor` (what a second `ocp new` under the default
//! distribution name used to publish). `ocp install acme.extractor` must install 0.1.0 and
//! say why, `ocp update` must keep it, and a later version that provides both is taken.
//!
//! Needs Python 3.11+ as `python3` (or `OCP_TEST_PYTHON`) with the `uv` module installed.

mod common;
#[path = "common/python.rs"]
mod python;

use std::path::Path;

use common::{Sandbox, run, run_ok, stderr, stdout};
use python::{osiris_env, run_python};

const NOTE: &str =
    "acme.extractor is provided by acme-osiris up to 0.1.0; 0.2.0 no longer provides it";

const REGISTRY: &str = r#"
from osiris.components.registry import ComponentRegistry
print(sorted(n for n in ComponentRegistry().load_specs() if n.startswith("acme.")))
"#;

fn publish(sandbox: &Sandbox, root: &Path, key: &Path) {
    run_ok(
        sandbox
            .ocp()
            .args(["publish", "--path"])
            .arg(root)
            .arg("--key")
            .arg(key),
    );
}

fn ocp_in_env(sandbox: &Sandbox, command: &str, env: &Path, args: &[&str]) -> std::process::Output {
    run(sandbox
        .ocp()
        .arg(command)
        .args(args)
        .args(["--no-python-deps", "--env"])
        .arg(env))
}

/// Asserts that the command succeeded and its stderr holds each of `texts`.
fn succeeds_with(output: &std::process::Output, texts: &[&str]) {
    let text = stderr(output);
    assert!(output.status.success(), "{text}");
    for expected in texts {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
}

#[test]
fn a_component_installs_from_the_last_version_that_provides_it_and_update_keeps_it() {
    let sandbox = Sandbox::new();
    let key = sandbox.signing_key("me");
    run_ok(
        sandbox
            .ocp()
            .args(["new", "acme.extractor", "--author", "Jane"]),
    );
    publish(&sandbox, &sandbox.work().join("acme-osiris"), &key);
    // A second package made for the processor, under the same distribution name.
    let processor = sandbox.work().join("acme-processor");
    run_ok(
        sandbox
            .ocp()
            .args(["new", "acme.processor", "--author", "Jane", "--path"])
            .arg(&processor),
    );
    run_ok(sandbox.ocp_in(&processor).args(["version", "0.2.0"]));
    publish(&sandbox, &processor, &key);

    let env = sandbox.dir.path().join("venv");
    let python = osiris_env(&env, false);
    succeeds_with(
        &ocp_in_env(&sandbox, "install", &env, &["acme.extractor"]),
        &[
            &format!("warning: {NOTE}\n"),
            "Installed acme-osiris v0.1.0: acme.extractor\n",
        ],
    );
    assert_eq!(run_python(&python, REGISTRY, &[]), "['acme.extractor']\n");

    // The plan in JSON carries the note too, and follows its schema.
    let plan = run_ok(
        sandbox
            .ocp()
            .args([
                "install",
                "acme.extractor",
                "--dry-run",
                "--format",
                "json",
                "--env",
            ])
            .arg(&env),
    );
    let report: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("json");
    common::assert_matches_schema(
        include_str!("../schemas/install-report.schema.json"),
        &report,
    );
    assert_eq!(report["notes"], serde_json::json!([NOTE]));
    assert_eq!(report["packages"][0]["version"], "0.1.0");

    // An update never takes the component away: it stays at 0.1.0 and says why.
    succeeds_with(
        &ocp_in_env(&sandbox, "update", &env, &[]),
        &[
            &format!("warning: {NOTE}\n"),
            "Unchanged everything requested is already installed",
        ],
    );
    let lock = std::fs::read_to_string(sandbox.work().join("ocp.lock")).expect("lock");
    assert!(
        lock.contains("name = \"acme-osiris\"\nversion = \"0.1.0\""),
        "{lock}"
    );
    assert_eq!(run_python(&python, REGISTRY, &[]), "['acme.extractor']\n");

    // The processor alone resolves to the newest version, which provides it.
    let plan = run_ok(
        sandbox
            .ocp()
            .args([
                "install",
                "acme.processor",
                "--dry-run",
                "--lockfile",
                "other.lock",
                "--env",
            ])
            .arg(&env),
    );
    assert!(
        stderr(&plan).contains("Would upgrade acme-osiris v0.2.0 (was 0.1.0): acme.processor"),
        "{}",
        stderr(&plan)
    );
    assert!(!stderr(&plan).contains("warning"), "{}", stderr(&plan));

    // Once a version provides both again, the update takes it, with nothing to warn about.
    run_ok(sandbox.ocp_in(&processor).args(["add", "acme.extractor"]));
    run_ok(sandbox.ocp_in(&processor).args(["version", "minor"]));
    publish(&sandbox, &processor, &key);
    let output = ocp_in_env(&sandbox, "update", &env, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("Upgraded acme-osiris v0.3.0 (was 0.1.0): acme.extractor, acme.processor")
            && !text.contains("warning"),
        "{text}"
    );
    assert_eq!(
        run_python(&python, REGISTRY, &[]),
        "['acme.extractor', 'acme.processor']\n"
    );
}
