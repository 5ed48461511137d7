#![allow(dead_code)]

//! Real Python virtual environments for tests, made with uv: the `uv` on PATH (which `.ci/run`
//! installs), else `python -m uv` for the tests' interpreter. The interpreter is
//! `OCP_TEST_PYTHON` (default `python3`), any Python >= 3.11; versions and site-packages are
//! always read from the environment, never spelled out. Everything comes from uv's cache after
//! the first test, so a fresh environment with Osiris takes a second or two.
//!
//! Tests that only read an environment with Osiris share one per test binary
//! ([`shared_env`]); tests that change an environment make their own ([`venv`],
//! [`osiris_env`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{run_ok, stdout};

/// The Osiris release the tests install.
pub const OSIRIS: &str = "osiris-pipeline==0.5.7";

/// The tests' Python interpreter: `OCP_TEST_PYTHON`, default `python3`.
pub fn python() -> String {
    std::env::var("OCP_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// The absolute path of the tests' interpreter (`sys.executable`), found once.
pub fn interpreter() -> &'static str {
    static INTERPRETER: OnceLock<String> = OnceLock::new();
    INTERPRETER.get_or_init(|| {
        let output =
            run_ok(Command::new(python()).args(["-c", "import sys; print(sys.executable)"]));
        stdout(&output).trim().to_owned()
    })
}

/// How to start uv: `uv` when it is on PATH, else `<python> -m uv`.
fn uv_program() -> &'static [String] {
    static UV: OnceLock<Vec<String>> = OnceLock::new();
    UV.get_or_init(|| {
        let works = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .arg("--version")
                .output()
                .is_ok_and(|output| output.status.success())
        };
        if works("uv", &[]) {
            return vec!["uv".to_owned()];
        }
        if works(&python(), &["-m", "uv"]) {
            return vec![python(), "-m".to_owned(), "uv".to_owned()];
        }
        panic!(
            "the Python tests need uv: put it on PATH (`.ci/run` does), or install it for `{}` with `{} -m pip install uv`",
            python(),
            python()
        );
    })
}

/// A uv command that never downloads an interpreter and ignores an active virtual environment.
pub fn uv() -> Command {
    let program = uv_program();
    let mut command = Command::new(&program[0]);
    command
        .args(&program[1..])
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env_remove("VIRTUAL_ENV");
    command
}

/// A fresh virtual environment at `dir`; `seed` adds pip to it. Returns its interpreter.
pub fn venv(dir: &Path, seed: bool) -> PathBuf {
    let mut command = uv();
    command.args(["venv", "--quiet", "--python", interpreter()]);
    if seed {
        command.arg("--seed");
    }
    run_ok(command.arg(dir));
    dir.join("bin/python")
}

/// Installs `requirements` into the environment of `python` with uv.
pub fn uv_install(python: &Path, requirements: &[&str]) {
    run_ok(
        uv().args(["pip", "install", "--quiet", "--python"])
            .arg(python)
            .args(requirements),
    );
}

/// `python -m pip install --quiet` for the environment of `python`; add what to install.
pub fn pip_install(python: &Path) -> Command {
    let mut command = Command::new(python);
    command.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    command
}

/// A fresh virtual environment with Osiris 0.5.7 installed.
pub fn osiris_env(dir: &Path, seed: bool) -> PathBuf {
    let python = venv(dir, seed);
    uv_install(&python, &[OSIRIS]);
    python
}

/// One environment with Osiris 0.5.7, shared by the tests of one test binary that only read
/// it. Made once per run under cargo's `target/tmp/`, replacing the one an earlier run left.
pub struct SharedEnv {
    pub root: PathBuf,
    pub python: PathBuf,
}

/// The test binary's shared environment with Osiris 0.5.7, made on first use.
pub fn shared_env() -> &'static SharedEnv {
    static SHARED: OnceLock<SharedEnv> = OnceLock::new();
    SHARED.get_or_init(|| {
        let binary = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".to_owned());
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-envs");
        fs::create_dir_all(&base).expect("create target/tmp/python-envs");
        // One directory per test binary and interpreter; the lock keeps a second run of the
        // same binary from replacing it while this one still uses it (released at exit).
        let name = format!("{binary}-{}", slug(interpreter()));
        let lock = fs::File::create(base.join(format!("{name}.lock"))).expect("create a lock");
        lock.lock().expect("lock the shared environment");
        std::mem::forget(lock);
        let root = base.join(name);
        if root.exists() {
            fs::remove_dir_all(&root).expect("remove an earlier shared environment");
        }
        let python = osiris_env(&root, false);
        SharedEnv { root, python }
    })
}

fn slug(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .trim_matches('_')
        .to_owned()
}

/// The `purelib` site-packages directory of the environment whose interpreter is `python`,
/// as that interpreter reports it.
pub fn site_packages_of(python: &Path) -> PathBuf {
    PathBuf::from(
        run_python(
            python,
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            &[],
        )
        .trim(),
    )
}

/// The site-packages directory of the virtual environment at `env`.
pub fn site_packages(env: &Path) -> PathBuf {
    site_packages_of(&env.join("bin/python"))
}

/// The `X.Y.Z` version of the interpreter `python`.
pub fn python_version(python: &Path) -> String {
    run_python(
        python,
        "import platform; print(platform.python_version())",
        &[],
    )
    .trim()
    .to_owned()
}

/// Runs Python code in an environment and returns what it printed.
pub fn run_python(python: &Path, code: &str, args: &[&str]) -> String {
    stdout(&run_ok(Command::new(python).arg("-c").arg(code).args(args)))
}

/// `PATH` with a folder holding the `uv` executable first, for commands that look for `uv`
/// on PATH (`ocp test`, `ocp install`): PATH as it is when `uv` is on it, else with the folder
/// of the tests' Python's `uv` module's executable in front.
pub fn path_with_uv() -> std::ffi::OsString {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    if uv_program()[0] == "uv" {
        return inherited;
    }
    let output = run_ok(Command::new(python()).args([
        "-c",
        "import os, uv; print(os.path.dirname(uv.find_uv_bin()))",
    ]));
    let mut paths = vec![PathBuf::from(stdout(&output).trim())];
    paths.extend(std::env::split_paths(&inherited));
    std::env::join_paths(paths).expect("join PATH")
}
