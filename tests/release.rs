//! ocp as a Python package: the root `pyproject.toml` builds a wheel with maturin that pip
//! and uv install into fresh virtual environments (from the wheel, and from the source tree
//! with `pip install .` and `uv tool install .`), and the `ocp` in that environment's `bin/`
//! works, at the crate's version.
//!
//! Builds use the dev profile (`--profile dev`), so they reuse `target/debug` and only zip
//! the binary (uncompressed, which is quicker). maturin comes from PyPI, installed with uv
//! into the shared test environment. While maturin packs a wheel it moves `target/debug/ocp`
//! aside, so builds take turns ([`building`]) and no test in this file runs
//! `target/debug/ocp` itself (cargo runs test binaries one at a time, so other files are not
//! affected).

mod common;
#[path = "common/python.rs"]
mod python;

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
            Command::new(shared.root.join("bin/maturin"))
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

/// Source builds through the PEP 517 backend reuse `target/debug` too.
fn dev_profile(command: &mut Command) -> &mut Command {
    command.env(
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
    run_ok(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--disable-pip-version-check",
            ])
            .arg(&wheel),
    );
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

#[test]
fn pip_install_dot_builds_and_installs_ocp() {
    let sandbox = Sandbox::new();
    let env = sandbox.dir.path().join("venv");
    let python = python::venv(&env, true);
    let turn = building();
    run_ok(dev_profile(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                ".",
            ])
            .current_dir(repository()),
    ));
    drop(turn);
    assert_ocp_works(&sandbox, &env.join("bin"));
}

#[test]
fn uv_pip_install_dot_and_uv_tool_install_dot_put_ocp_on_path() {
    let sandbox = Sandbox::new();
    let env = sandbox.dir.path().join("venv");
    let python = python::venv(&env, false);
    let turn = building();
    run_ok(dev_profile(
        python::uv()
            .args(["pip", "install", "--quiet", "--python"])
            .arg(&python)
            .args(["--refresh-package", "osiris-ocp", "."])
            .current_dir(repository()),
    ));
    drop(turn);
    assert_ocp_works(&sandbox, &env.join("bin"));

    // `uv tool install .`, with uv's tool folders inside the sandbox.
    let sandbox = Sandbox::new();
    let bin = sandbox.dir.path().join("tool-bin");
    let turn = building();
    run_ok(dev_profile(
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
            .env("UV_TOOL_BIN_DIR", &bin)
            .current_dir(repository()),
    ));
    drop(turn);
    assert_ocp_works(&sandbox, &bin);
}
