#![allow(dead_code)]

//! Real Python virtual environments for tests, made with uv (`python3 -m uv`, which `.ci/run`
//! installs). Everything comes from uv's cache after the first test, so a fresh environment
//! with Osiris takes a second or two.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{run_ok, stdout};

/// The Osiris release the tests install.
pub const OSIRIS: &str = "osiris-pipeline==0.5.7";

pub fn python() -> String {
    std::env::var("OCP_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

pub fn uv() -> Command {
    let mut command = Command::new(python());
    command
        .args(["-m", "uv"])
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env_remove("VIRTUAL_ENV");
    command
}

/// A fresh virtual environment at `dir`; `seed` adds pip to it. Returns its interpreter.
pub fn venv(dir: &Path, seed: bool) -> PathBuf {
    let interpreter =
        run_ok(Command::new(python()).args(["-c", "import sys; print(sys.executable)"]));
    let interpreter = stdout(&interpreter).trim().to_owned();
    let mut command = uv();
    command.args(["venv", "--quiet", "--python", &interpreter]);
    if seed {
        command.arg("--seed");
    }
    run_ok(command.arg(dir));
    dir.join("bin/python")
}

/// A fresh virtual environment with Osiris 0.5.7 installed.
pub fn osiris_env(dir: &Path, seed: bool) -> PathBuf {
    let python = venv(dir, seed);
    run_ok(
        uv().args(["pip", "install", "--quiet", "--python"])
            .arg(&python)
            .arg(OSIRIS),
    );
    python
}

/// Runs Python code in an environment and returns what it printed.
pub fn run_python(python: &Path, code: &str, args: &[&str]) -> String {
    stdout(&run_ok(Command::new(python).arg("-c").arg(code).args(args)))
}

/// `PATH` with the folder of the tests' Python's `uv` executable first, for commands that
/// look for `uv` on PATH (`ocp test`, `ocp install`).
pub fn path_with_uv() -> std::ffi::OsString {
    let output = run_ok(Command::new(python()).args([
        "-c",
        "import os, uv; print(os.path.dirname(uv.find_uv_bin()))",
    ]));
    let mut paths = vec![PathBuf::from(stdout(&output).trim())];
    if let Some(inherited) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&inherited));
    }
    std::env::join_paths(paths).expect("join PATH")
}

/// The environment's `site-packages`, as its interpreter reports it.
pub fn purelib(python: &Path) -> PathBuf {
    PathBuf::from(
        run_python(
            python,
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            &[],
        )
        .trim(),
    )
}
