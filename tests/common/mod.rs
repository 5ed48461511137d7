//! Shared helpers for the integration tests: run the real `ocp` binary in a clean
//! environment (its own temporary `OCP_HOME`, no inherited `OCP_*` variables, no colors).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary world for one test: a home for ocp and a working directory.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ocp-test-")
            .tempdir()
            .expect("create a temporary directory");
        std::fs::create_dir_all(dir.path().join("home")).expect("create OCP_HOME");
        std::fs::create_dir_all(dir.path().join("work")).expect("create the work directory");
        Sandbox { dir }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// `ocp` with this sandbox's environment, run in the work directory.
    pub fn ocp(&self) -> Command {
        self.ocp_in(&self.work())
    }

    /// `ocp` with this sandbox's environment, run in `dir`.
    pub fn ocp_in(&self, dir: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ocp"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("OCP_")
                || key == "SOURCE_DATE_EPOCH"
                || key == "VIRTUAL_ENV"
            {
                command.env_remove(&key);
            }
        }
        command
            .env("OCP_HOME", self.home())
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(dir);
        command
    }
}

/// Runs a command and returns its output, whatever the exit status.
pub fn run(command: &mut Command) -> Output {
    command.output().expect("run the command")
}

/// Runs a command that must succeed, and returns its output.
pub fn run_ok(command: &mut Command) -> Output {
    let output = run(command);
    assert!(
        output.status.success(),
        "command failed: {command:?}\n--- stdout\n{}\n--- stderr\n{}",
        stdout(&output),
        stderr(&output)
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
