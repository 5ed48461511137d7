//! ocp as a Python package: the root `pyproject.toml` builds a wheel with maturin that pip
//! and uv install into fresh virtual environments (from the wheel, and from the source tree
//! with `pip install .` and `uv tool install .`), and the `ocp` in that environment's `bin/`
//! works, at the crate's version. The project's own wheels workflow covers Linux, macOS and
//! Windows, and the release workflow that `ocp new` writes runs for real against that wheel
//! (`release/workflow.rs`).
//!
//! Builds use the dev profile (`--profile dev`), so they reuse `target/debug` and only zip
//! the binary (uncompressed, which is quicker). maturin comes from PyPI, installed with uv
//! into the shared test environment. While maturin packs a wheel it moves `target/debug/ocp`
//! aside, so builds take turns ([`building`]) and no test in this file runs
//! `target/debug/ocp` itself (cargo runs test binaries one at a time, so other files are not
//! affected).

mod common;
#[path = "common/git_http.rs"]
mod git_http;
#[path = "common/python.rs"]
mod python;
#[path = "release/workflow.rs"]
mod workflow;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use common::{Sandbox, run_ok, stdout};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Held while maturin builds: one build at a time in this test binary.
fn building() -> MutexGuard<'static, ()> {
    static BUILDS: Mutex<()> = Mutex::new(());
    BUILDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The folder holding the one wheel `maturin build --profile dev` made in this run.
pub fn wheel_dir() -> &'static Path {
    static WHEELS: OnceLock<PathBuf> = OnceLock::new();
    WHEELS.get_or_init(|| {
        let shared = python::shared_env();
        python::uv_install(&shared.python, &["maturin>=1.9,<2"]);
        let out = shared.root.join("wheels");
        let _ = std::fs::remove_dir_all(&out);
        let _building = building();
        run_ok(
            outside_cargo(&mut Command::new(shared.root.join("bin/maturin")))
                .args(["build", "--quiet", "--profile", "dev"])
                .args(["--compression-method", "stored", "--out"])
                .arg(&out)
                .current_dir(repository()),
        );
        out
    })
}

/// The wheel built in this run.
fn wheel() -> PathBuf {
    let wheels: Vec<PathBuf> = std::fs::read_dir(wheel_dir())
        .expect("read the wheel folder")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    wheels[0].clone()
}

/// An `ocp` from an installed environment, run like the tests' own (clean environment, its
/// own `OCP_HOME`, in the sandbox's work directory).
fn installed_ocp(sandbox: &Sandbox, program: &Path) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OCP_") || key == "VIRTUAL_ENV" {
            command.env_remove(&key);
        }
    }
    command
        .env("OCP_HOME", sandbox.home())
        .env("NO_COLOR", "1")
        .current_dir(sandbox.work());
    command
}

/// `ocp --version` and `ocp new` work from `bin`, and the package it writes passes its check.
fn assert_ocp_works(sandbox: &Sandbox, bin: &Path) {
    let ocp = bin.join("ocp");
    let version = run_ok(installed_ocp(sandbox, &ocp).arg("--version"));
    assert_eq!(stdout(&version), format!("ocp {VERSION}\n"));
    run_ok(installed_ocp(sandbox, &ocp).args(["new", "shopify.extractor", "--author", "Jane"]));
    assert!(
        sandbox
            .work()
            .join("shopify-osiris/src/shopify_osiris/spec.yaml")
            .is_file()
    );
    run_ok(installed_ocp(sandbox, &ocp).args(["check", "--path", "shopify-osiris"]));
}

/// A build that runs cargo, with the variables cargo set for this test process taken out:
/// some build scripts rerun when those change (ring's watches `CARGO_MANIFEST_DIR`), so
/// passing them on would rebuild dependencies here and again in the next `cargo test`.
fn outside_cargo(command: &mut Command) -> &mut Command {
    const SET_BY_CARGO: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if SET_BY_CARGO.contains(&name.as_ref())
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || name.starts_with("CARGO_CFG_")
        {
            command.env_remove(&key);
        }
    }
    command
}

/// Source builds through the PEP 517 backend reuse `target/debug` too.
fn dev_profile(command: &mut Command) -> &mut Command {
    outside_cargo(command).env(
        "MATURIN_PEP517_ARGS",
        "--profile dev --compression-method stored",
    )
}

#[test]
fn the_wheel_is_named_for_the_crate_version_and_installs_with_pip() {
    let wheel = wheel();
    let name = wheel
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&format!("osiris_ocp-{VERSION}-py3-none-")),
        "{name}"
    );
    let sandbox = Sandbox::new();
    let env = sandbox.dir.path().join("venv");
    let python = python::venv(&env, true);
    run_ok(python::pip_install(&python).arg("--no-index").arg(&wheel));
    assert_eq!(
        python::run_python(
            &python,
            "import importlib.metadata as m; print(m.version('osiris-ocp'))",
            &[]
        ),
        format!("{VERSION}\n")
    );
    assert_ocp_works(&sandbox, &env.join("bin"));
}

/// Runs `install` (pip or uv, building this source tree) in the repository, then checks the
/// `ocp` it put in `bin`.
fn install_from_source(sandbox: &Sandbox, install: &mut Command, bin: &Path) {
    let turn = building();
    run_ok(dev_profile(install.current_dir(repository())));
    drop(turn);
    assert_ocp_works(sandbox, bin);
}

#[test]
fn pip_install_dot_builds_and_installs_ocp() {
    let sandbox = Sandbox::new();
    let env = sandbox.dir.path().join("venv");
    let python = python::venv(&env, true);
    install_from_source(
        &sandbox,
        python::pip_install(&python).arg("."),
        &env.join("bin"),
    );
}

#[test]
fn uv_pip_install_dot_and_uv_tool_install_dot_put_ocp_on_path() {
    let sandbox = Sandbox::new();
    let env = sandbox.dir.path().join("venv");
    let python = python::venv(&env, false);
    install_from_source(
        &sandbox,
        python::uv()
            .args(["pip", "install", "--quiet", "--python"])
            .arg(&python)
            .args(["--refresh-package", "osiris-ocp", "."]),
        &env.join("bin"),
    );

    // `uv tool install .`, with uv's tool folders inside the sandbox.
    let sandbox = Sandbox::new();
    let bin = sandbox.dir.path().join("tool-bin");
    install_from_source(
        &sandbox,
        python::uv()
            .args([
                "tool",
                "install",
                "--quiet",
                "--python",
                python::interpreter(),
            ])
            .args(["--refresh-package", "osiris-ocp", "."])
            .env("UV_TOOL_DIR", sandbox.dir.path().join("tools"))
            .env("UV_TOOL_BIN_DIR", &bin),
        &bin,
    );
}

#[test]
fn the_wheels_workflow_builds_for_linux_macos_and_windows_on_a_version_tag() {
    use saphyr::{LoadableYamlNode, YamlOwned};
    let text = std::fs::read_to_string(repository().join(".github/workflows/wheels.yml"))
        .expect("read .github/workflows/wheels.yml");
    let documents = YamlOwned::load_from_str(&text).expect("wheels.yml is YAML");
    let workflow = documents.first().expect("one document");
    let tags: Vec<&str> = workflow
        .as_mapping_get("on")
        .and_then(|on| on.as_mapping_get("push"))
        .and_then(|push| push.as_mapping_get("tags"))
        .and_then(YamlOwned::as_sequence)
        .expect("on.push.tags")
        .iter()
        .filter_map(YamlOwned::as_str)
        .collect();
    assert_eq!(tags, ["v*"]);
    let jobs = workflow.as_mapping_get("jobs").expect("jobs");
    let wheels = jobs.as_mapping_get("wheels").expect("the wheels job");
    let runners: Vec<&str> = wheels
        .as_mapping_get("strategy")
        .and_then(|s| s.as_mapping_get("matrix"))
        .and_then(|m| m.as_mapping_get("platform"))
        .and_then(YamlOwned::as_sequence)
        .expect("strategy.matrix.platform")
        .iter()
        .filter_map(|platform| platform.as_mapping_get("runner")?.as_str())
        .collect();
    for os in ["ubuntu", "macos", "windows"] {
        assert!(
            runners.iter().any(|runner| runner.starts_with(os)),
            "no {os} runner in {runners:?}"
        );
    }
    let steps = wheels
        .as_mapping_get("steps")
        .and_then(YamlOwned::as_sequence)
        .expect("steps");
    let uses: Vec<&str> = steps
        .iter()
        .filter_map(|step| step.as_mapping_get("uses")?.as_str())
        .collect();
    assert!(uses.contains(&"PyO3/maturin-action@v1"), "{uses:?}");
    let needs: Vec<&str> = jobs
        .as_mapping_get("publish")
        .and_then(|publish| publish.as_mapping_get("needs"))
        .and_then(YamlOwned::as_sequence)
        .expect("publish.needs")
        .iter()
        .filter_map(YamlOwned::as_str)
        .collect();
    assert_eq!(needs, ["wheels", "sdist"]);
}
