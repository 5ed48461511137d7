//! `ocp test`: a scaffolded package's tests pass against its wheel with Osiris 0.5.5 and
//! 0.5.7 in real uv environments, a broken driver fails with the failing cells named, the
//! environments are reused, and bad input (a version outside the range, a Python that is not
//! installed, no uv, no way to learn the releases) is a clear error or a failed cell that
//! changes nothing.
//!
//! Needs Python 3.11+ as `python3` (or `OCP_TEST_PYTHON`) with the `uv` module installed;
//! `.ci/run` installs it. Osiris comes from PyPI through uv's cache.

mod common;
#[path = "common/http.rs"]
mod common_http;
#[path = "common/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Sandbox, assert_same_tree, run, run_ok, stderr, stdout, tree_state};

const SCHEMA: &str = include_str!("../schemas/test-report.schema.json");

fn new_package(sandbox: &Sandbox) -> PathBuf {
    run_ok(
        sandbox
            .ocp()
            .args(["new", "calc.processor", "--author", "Jane Doe"]),
    );
    sandbox.work().join("calc-osiris")
}

fn ocp_test(sandbox: &Sandbox, root: &Path, args: &[&str]) -> Output {
    run(sandbox
        .ocp()
        .env("PATH", python::path_with_uv())
        .arg("test")
        .arg("--path")
        .arg(root)
        .args(args))
}

fn json_report(output: &Output) -> serde_json::Value {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON\n--- stdout\n{}\n--- stderr\n{}",
            stdout(output),
            stderr(output)
        )
    });
    common::assert_matches_schema(SCHEMA, &report);
    report
}

fn cells(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["cells"].as_array().expect("cells")
}

#[test]
fn a_scaffolded_package_passes_with_osiris_0_5_5_and_0_5_7_and_a_broken_driver_fails() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox);
    let before = tree_state(&root);

    let output = ocp_test(
        &sandbox,
        &root,
        &["--osiris", "0.5.5,0.5.7", "--format", "json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_report(&output);
    assert_eq!(
        (report["passed"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(0))
    );
    let versions: Vec<&str> = cells(&report)
        .iter()
        .map(|cell| cell["osiris"].as_str().expect("osiris"))
        .collect();
    assert_eq!(versions, ["0.5.5", "0.5.7"]);
    for cell in cells(&report) {
        assert_eq!(cell["result"], "passed", "{cell}");
        assert_eq!(cell["environment_state"], "created", "{cell}");
        let summary = cell["summary"].as_str().expect("a pytest summary");
        // The pipeline tests ran: nothing was skipped for want of an installed component.
        assert!(
            summary.contains(" passed") && !summary.contains("skipped"),
            "{summary}"
        );
    }
    assert!(
        stderr(&output).contains("Finished calc-osiris v0.1.0: 2 cells passed"),
        "{}",
        stderr(&output)
    );
    assert_same_tree("the package after `ocp test`", &before, &tree_state(&root));

    // A driver that loses every row: the unit and pipeline tests fail in both cells.
    let driver = root.join("src/calc_osiris/driver.py");
    let text = std::fs::read_to_string(&driver).expect("read the driver");
    assert!(text.contains("return {\"df\": result}"));
    std::fs::write(
        &driver,
        text.replace("return {\"df\": result}", "return {\"df\": result.head(0)}"),
    )
    .expect("break the driver");
    let output = ocp_test(
        &sandbox,
        &root,
        &["--osiris", "0.5.5,0.5.7", "--format", "json", "--", "-x"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = json_report(&output);
    assert_eq!(report["failed"], 2);
    for cell in cells(&report) {
        assert_eq!(cell["result"], "failed", "{cell}");
        assert_eq!(cell["environment_state"], "wheel-reinstalled", "{cell}");
        assert!(
            cell["reason"]
                .as_str()
                .expect("reason")
                .contains("1 failed"),
            "{cell}"
        );
    }
    let python = cells(&report)[0]["python"]
        .as_str()
        .expect("python")
        .to_owned();
    let errors = stderr(&output);
    assert!(
        errors.contains(&format!(
            "error: 2 of 2 cells failed: osiris 0.5.5, python {python}; osiris 0.5.7, python {python}"
        )),
        "{errors}"
    );
    assert!(
        errors.contains("--- pytest output (osiris 0.5.5"),
        "{errors}"
    );

    // The same wheel again: the environment is reused as it is, and the table says so.
    let output = ocp_test(&sandbox, &root, &["--osiris", "0.5.7", "-v", "--", "-x"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("(reused)"), "{}", stderr(&output));
    let table = stdout(&output);
    let mut lines = table.lines();
    let header = lines.next().expect("a header");
    assert!(
        header.starts_with("cell") && header.contains("result"),
        "{table}"
    );
    let row = lines.next().expect("a row");
    assert!(
        row.starts_with(&format!("osiris 0.5.7, python {python}")) && row.contains("FAILED"),
        "{table}"
    );

    // Tests that hang are stopped, and their cell fails: never a hang of `ocp test`.
    std::fs::write(
        root.join("tests/test_hang.py"),
        "import time\n\n\ndef test_hang() -> None:\n    time.sleep(600)\n",
    )
    .expect("write a hanging test");
    let started = std::time::Instant::now();
    let output = ocp_test(
        &sandbox,
        &root,
        &[
            "--osiris",
            "0.5.7",
            "--timeout",
            "20",
            "--format",
            "json",
            "--",
            "-k",
            "hang",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(started.elapsed() < std::time::Duration::from_secs(120));
    let report = json_report(&output);
    assert_eq!(
        cells(&report)[0]["reason"],
        "the tests ran longer than 20 seconds and were stopped"
    );
}

#[test]
fn a_python_that_is_not_installed_fails_its_cell_without_a_download() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox);
    let output = ocp_test(
        &sandbox,
        &root,
        &["--osiris", "0.5.7", "--python", "3.99", "--format", "json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = json_report(&output);
    let cell = &cells(&report)[0];
    assert_eq!(cell["python"], serde_json::Value::Null);
    assert_eq!(cell["environment"], serde_json::Value::Null);
    assert!(
        cell["reason"]
            .as_str()
            .expect("reason")
            .starts_with("no Python matching `3.99` is installed"),
        "{cell}"
    );
    assert!(
        stderr(&output).contains("error: 1 of 1 cell failed: osiris 0.5.7, python 3.99"),
        "{}",
        stderr(&output)
    );
    // No environment was made.
    let envs = sandbox.home().join("test-envs/v1");
    let made: Vec<String> = std::fs::read_dir(&envs)
        .expect("the test cache")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name != "wheels")
        .collect();
    assert!(made.is_empty(), "{made:?}");
}

#[test]
fn versions_outside_the_range_and_a_missing_uv_are_refused_and_change_nothing() {
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox);
    let package = tree_state(&root);
    let home = tree_state(&sandbox.home());

    let output = ocp_test(&sandbox, &root, &["--osiris", "0.5.7,0.4.0"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "error: Osiris 0.4.0 is outside the range `>=0.5.0,<1.0.0` that calc-osiris v0.1.0 supports"
        ),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("help: test with versions inside the range"));

    let output = ocp_test(&sandbox, &root, &["--osiris", "latest"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("error: `latest` is not an Osiris version"),
        "{}",
        stderr(&output)
    );

    // A PATH without uv.
    let empty = sandbox.dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty).expect("create a folder");
    let output = run(sandbox
        .ocp()
        .env("PATH", &empty)
        .args(["test", "--osiris", "0.5.7", "--path"])
        .arg(&root));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("error: `ocp test` needs uv, and there is no `uv` on PATH\nhelp: install it with `pip install uv`"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir(&empty).expect("remove the folder");

    // A package that `ocp check` refuses is not tested.
    let spec = root.join("src/calc_osiris/spec.yaml");
    let text = std::fs::read_to_string(&spec).expect("read the spec");
    std::fs::write(
        &spec,
        text.replace("version: 0.1.0\n", "version: 0.1.0\nfamily: calc\n"),
    )
    .expect("write the spec");
    let output = ocp_test(&sandbox, &root, &["--osiris", "0.5.7"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("error: cannot test calc-osiris v0.1.0: `ocp check` found 1 error"),
        "{}",
        stderr(&output)
    );
    std::fs::write(&spec, text).expect("restore the spec");

    assert_same_tree("the package", &package, &tree_state(&root));
    assert_same_tree("OCP_HOME", &home, &tree_state(&sandbox.home()));
}

#[test]
fn osiris_releases_come_from_the_index_or_the_list_saved_for_offline_use() {
    let server = common_http::FileServer::start(None);
    server.put_file(
        "/simple/osiris-pipeline/",
        br#"{
            "meta": {"api-version": "1.1"},
            "name": "osiris-pipeline",
            "versions": ["0.4.0", "0.5.1", "0.5.5", "0.5.6", "0.6.0rc1", "1.0.0"],
            "files": [
                {"filename": "osiris_pipeline-0.4.0.tar.gz", "yanked": false},
                {"filename": "osiris_pipeline-0.5.1.tar.gz", "yanked": false},
                {"filename": "osiris_pipeline-0.5.5.tar.gz", "yanked": "broken"},
                {"filename": "osiris_pipeline-0.5.6-py3-none-any.whl", "yanked": false},
                {"filename": "osiris_pipeline-0.6.0rc1.tar.gz", "yanked": false},
                {"filename": "osiris_pipeline-1.0.0.tar.gz", "yanked": false}
            ]
        }"#,
    );
    let index = format!("{}/simple", server.base);
    let sandbox = Sandbox::new();
    let root = new_package(&sandbox);
    let chosen = |output: &Output| -> Vec<String> {
        cells(&json_report(output))
            .iter()
            .map(|cell| cell["osiris"].as_str().expect("osiris").to_owned())
            .collect()
    };

    // The oldest and newest releases inside `>=0.5.0,<1.0.0`, leaving out the yanked 0.5.5
    // and the pre-release. The cells fail on a Python that does not exist, so no
    // environment is made.
    let args = [
        "--index-url",
        index.as_str(),
        "--matrix",
        "--python",
        "3.99",
        "--format",
        "json",
    ];
    let output = ocp_test(&sandbox, &root, &args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(chosen(&output), ["0.5.1", "0.5.6"]);
    assert_eq!(server.get_count(), 1);
    let newest_only = ocp_test(
        &sandbox,
        &root,
        &[
            "--index-url",
            &index,
            "--python",
            "3.99",
            "--format",
            "json",
        ],
    );
    assert_eq!(chosen(&newest_only), ["0.5.6"]);

    // Offline: the list saved by the last run, and no request.
    let requests = server.get_count();
    let mut offline = args.to_vec();
    offline.push("--offline");
    let output = ocp_test(&sandbox, &root, &offline);
    assert_eq!(chosen(&output), ["0.5.1", "0.5.6"]);
    assert_eq!(server.get_count(), requests);

    // No saved list and an index that cannot be reached: an error that says what to do.
    let fresh = Sandbox::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let unreachable = format!("http://{}/simple", closed.local_addr().expect("address"));
    drop(closed);
    let output = ocp_test(&fresh, &root, &["--index-url", &unreachable]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(
        errors.contains("error: cannot tell which Osiris releases exist:")
            && errors
                .contains("help: name the versions to test with, for example `--osiris 0.5.7`"),
        "{errors}"
    );
}
