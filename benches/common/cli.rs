//! Running the real tools from a benchmark (`install`, `audit`, `sparse`): `ocp` with its own
//! `OCP_HOME`, uv, fresh virtual environments, and the median and p95 of timed runs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Runs `command`, fails the benchmark if it fails, and returns its stdout.
pub fn run(command: &mut Command) -> String {
    let output = command.output().expect("run a command");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The release `ocp`, quiet, with `home` as `OCP_HOME` and nothing from the caller's
/// environment that would change what it reads (a virtual environment, an index).
pub fn ocp(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocp"));
    command
        .env("OCP_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("VIRTUAL_ENV")
        .env_remove("OCP_INDEX")
        .arg("-q");
    command
}

pub fn uv() -> Command {
    let mut command = Command::new(uv_binary());
    command
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env_remove("VIRTUAL_ENV");
    command
}

pub fn uv_binary() -> PathBuf {
    // Time the uv binary itself: `python3 -m uv` adds a Python start-up to every call, and
    // `uv` on PATH may be a shim script (pyenv's).
    let found = Command::new("python3")
        .args(["-c", "import uv; print(uv.find_uv_bin())"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    found.unwrap_or_else(|| PathBuf::from("uv"))
}

/// A new virtual environment at `dir` (with pip when `seed`); returns its Python.
pub fn fresh_env(dir: &Path, seed: bool) -> PathBuf {
    let mut command = uv();
    command.args(["venv", "--quiet", "--python", "python3"]);
    if seed {
        command.arg("--seed");
    }
    run(command.arg(dir));
    dir.join("bin/python")
}

/// A package made by `ocp new component` in `work`, with `dependencies` (OCP package names)
/// added to its pyproject.toml; returns its folder.
pub fn package(home: &Path, work: &Path, component: &str, dependencies: &[String]) -> PathBuf {
    let family = component.split('.').next().expect("family");
    let root = work.join(format!("{family}-osiris"));
    run(ocp(home)
        .args(["new", component, "--author", "Bench", "--path"])
        .arg(&root));
    let pyproject = root.join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).expect("read");
    let extra: String = dependencies
        .iter()
        .map(|d| format!("    \"{d}>=0.1\",\n"))
        .collect();
    std::fs::write(
        &pyproject,
        text.replacen(
            "    \"pyyaml>=6.0\",\n",
            &format!("    \"pyyaml>=6.0\",\n{extra}"),
            1,
        ),
    )
    .expect("write");
    root
}

/// The median and p95 of `samples`.
pub fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[((samples.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(samples.len() - 1)];
    (median, p95)
}

/// A benchmark's scratch space: a temporary folder, made the current directory (so no lock
/// file or project policy of the repository is read or written), with an `OCP_HOME` holding
/// a fresh signing key and an empty work folder for packages.
pub struct Workspace {
    pub temp: tempfile::TempDir,
    pub home: PathBuf,
    pub work: PathBuf,
}

pub fn workspace() -> Workspace {
    let temp = tempfile::tempdir().expect("tempdir");
    std::env::set_current_dir(temp.path()).expect("enter the temporary directory");
    let home = temp.path().join("home");
    let work = temp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    run(ocp(&home).args(["key", "generate", "--no-password"]));
    Workspace { temp, home, work }
}
