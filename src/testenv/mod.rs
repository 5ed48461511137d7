//! Test environments for `ocp test`: fresh virtual environments made with uv, in which a
//! package's wheel is installed (with its `[dev]` extra and one Osiris release) and its
//! tests run with pytest. Never the user's own environment.
//!
//! Stages, each a function the operation calls in turn: [`Uv::find_python`] (uv's discovery
//! with downloads switched off, so a missing Python is an error, never a download),
//! [`prepare`] (reuse or create the environment for a cell's inputs, then install the wheel
//! into it) and [`pytest::run`] (pytest with a time limit, output to a log file).
//!
//! Environments live under `OCP_HOME/test-envs/v1/<key>/`, where the key is a hash of what
//! decides their contents: the interpreter and its version, the Osiris version, the
//! package's requirements (with the `[dev]` extra) and the index. The wheel is not part of
//! the key: it is reinstalled (without touching the dependencies) whenever its sha256
//! differs from the one recorded, so editing the package does not rebuild the environment.
//! A lock file per key, held from preparing the environment until its tests have run, keeps
//! two runs from building or using the same environment at once; a complete environment is
//! marked by `inputs.json`, written last. This module never prints.

pub mod pytest;
pub mod releases;

use std::ffi::OsString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The folder under `OCP_HOME` that holds test environments, versioned.
pub const ROOT: &str = "test-envs/v1";
const INPUTS_FILE: &str = "inputs.json";
const WHEEL_MARKER: &str = "wheel.sha256";
/// How much of a failing uv command's stderr an error keeps.
const MAX_STDERR: usize = 4000;

#[derive(Debug, thiserror::Error)]
pub enum TestEnvError {
    #[error("the index's answer is not a simple-API JSON page: {reason}")]
    BadReleasePage { reason: String },
    #[error("no Python matching `{request}` is installed: {reason}")]
    PythonNotFound { request: String, reason: String },
    #[error("`{what}` failed:\n{stderr}")]
    Uv { what: String, stderr: String },
    #[error("failed to run `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to use `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TestEnvError + '_ {
    move |source| TestEnvError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An interpreter uv found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interpreter {
    pub path: PathBuf,
    /// `3.11.7`.
    pub version: String,
}

/// What decides an environment's contents; its hash names the environment's folder.
#[derive(Debug, Clone, Serialize)]
pub struct EnvInputs {
    pub format: u32,
    /// The distribution under test, whose wheel the environment holds.
    pub distribution: String,
    pub python: Interpreter,
    pub osiris: String,
    /// The package's requirements and its `[dev]` extra, sorted.
    pub requirements: Vec<String>,
    pub index_url: Option<String>,
}

impl EnvInputs {
    pub fn new(
        distribution: String,
        python: Interpreter,
        osiris: String,
        mut requirements: Vec<String>,
        index_url: Option<String>,
    ) -> Self {
        requirements.sort();
        requirements.dedup();
        EnvInputs {
            format: 1,
            distribution,
            python,
            osiris,
            requirements,
            index_url,
        }
    }

    fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The first 20 hex digits of the sha256 of the inputs' JSON.
    pub fn key(&self) -> String {
        hex::encode(Sha256::digest(self.to_json().as_bytes()))[..20].to_owned()
    }
}

/// A test environment's folder.
#[derive(Debug, Clone)]
pub struct TestEnv {
    pub dir: PathBuf,
}

impl TestEnv {
    pub fn venv(&self) -> PathBuf {
        self.dir.join("venv")
    }

    pub fn bin_dir(&self) -> PathBuf {
        if cfg!(windows) {
            self.venv().join("Scripts")
        } else {
            self.venv().join("bin")
        }
    }

    pub fn python(&self) -> PathBuf {
        if cfg!(windows) {
            self.bin_dir().join("python.exe")
        } else {
            self.bin_dir().join("python")
        }
    }
}

/// uv, run with Python downloads switched off and without the user's active environment.
#[derive(Debug, Clone)]
pub struct Uv {
    pub program: PathBuf,
    /// `--default-index` for installs, when not PyPI.
    pub index_url: Option<String>,
    pub offline: bool,
}

impl Uv {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_NO_PROGRESS", "1")
            .env_remove("VIRTUAL_ENV")
            .env_remove("CONDA_PREFIX")
            .env_remove("UV_PYTHON")
            .stdin(std::process::Stdio::null());
        crate::childenv::without_secrets(&mut command);
        command
    }

    fn run(&self, what: &str, command: &mut Command) -> Result<String, TestEnvError> {
        let output = command.output().map_err(|source| TestEnvError::Spawn {
            program: self.program.display().to_string(),
            source,
        })?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let start = stderr.len().saturating_sub(MAX_STDERR);
        let start = (start..stderr.len())
            .find(|i| stderr.is_char_boundary(*i))
            .unwrap_or(stderr.len());
        Err(TestEnvError::Uv {
            what: what.to_owned(),
            stderr: stderr[start..].to_owned(),
        })
    }

    /// The interpreter uv finds for `request` (`3.12`, `>=3.11`, a path), and its version.
    pub fn find_python(&self, request: &str) -> Result<Interpreter, TestEnvError> {
        let not_found = |error: TestEnvError| match error {
            TestEnvError::Uv { stderr, .. } => TestEnvError::PythonNotFound {
                request: request.to_owned(),
                reason: stderr.lines().next().unwrap_or_default().to_owned(),
            },
            other => other,
        };
        let what = format!("uv python find {request}");
        let path = self
            .run(
                &what,
                self.command()
                    // `--system`: an active or nearby virtual environment is not a base.
                    .args(["python", "find", "--no-project", "--system", request]),
            )
            .map_err(not_found)?;
        let version = self
            .run(
                &what,
                self.command().args([
                    "python",
                    "find",
                    "--no-project",
                    "--show-version",
                    path.as_str(),
                ]),
            )
            .map_err(not_found)?;
        // `python3` and `python3.11` are often links to one file: one environment for both.
        let path = PathBuf::from(path);
        Ok(Interpreter {
            path: fs::canonicalize(&path).unwrap_or(path),
            version,
        })
    }

    /// `uv pip install` into `env`, from the index and offline setting of this uv.
    pub fn pip_install(&self, env: &TestEnv, args: &[OsString]) -> Result<(), TestEnvError> {
        let mut command = self.command();
        command
            .args(["pip", "install", "--quiet", "--python"])
            .arg(env.python());
        if let Some(index) = &self.index_url {
            command.arg("--default-index").arg(index);
        }
        if self.offline {
            command.arg("--offline");
        }
        command.args(args);
        self.run("uv pip install", &mut command).map(drop)
    }
}

/// What [`prepare`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preparation {
    /// The environment was made now.
    Created,
    /// It existed; the wheel was reinstalled because it changed.
    WheelReinstalled,
    /// It existed with this very wheel.
    Reused,
}

/// The wheel to install: its path, sha256, distribution name and whether it has a `dev` extra.
#[derive(Debug, Clone)]
pub struct WheelToTest {
    pub path: PathBuf,
    pub sha256: String,
    pub distribution: String,
    pub has_dev_extra: bool,
}

/// Holds an environment for one run; dropping it lets the next run in.
#[derive(Debug)]
pub struct EnvLock {
    _file: File,
}

/// Makes sure the environment for `inputs` exists under `root` and holds `wheel`, and keeps
/// it for the caller until the returned lock is dropped.
pub fn prepare(
    uv: &Uv,
    root: &Path,
    inputs: &EnvInputs,
    wheel: &WheelToTest,
) -> Result<(TestEnv, Preparation, EnvLock), TestEnvError> {
    fs::create_dir_all(root).map_err(io_error(root))?;
    let key = inputs.key();
    let env = TestEnv {
        dir: root.join(&key),
    };
    let lock_path = root.join(format!("{key}.lock"));
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_error(&lock_path))?;
    lock.lock().map_err(io_error(&lock_path))?;
    let lock = EnvLock { _file: lock };

    let inputs_path = env.dir.join(INPUTS_FILE);
    let marker = env.dir.join(WHEEL_MARKER);
    if inputs_path.is_file() && env.python().exists() {
        if fs::read_to_string(&marker).is_ok_and(|sha| sha.trim() == wheel.sha256) {
            return Ok((env, Preparation::Reused, lock));
        }
        // Same dependencies (they are in the key): only the package itself changed.
        let _ = fs::remove_file(&marker);
        uv.pip_install(
            &env,
            &[
                "--no-deps".into(),
                "--reinstall-package".into(),
                wheel.distribution.clone().into(),
                wheel.path.clone().into_os_string(),
            ],
        )?;
        crate::fsutil::write_atomic(&marker, wheel.sha256.as_bytes())
            .map_err(|error| io_anyhow(&marker, error))?;
        return Ok((env, Preparation::WheelReinstalled, lock));
    }

    // Missing or left half-made by an interrupted run: start again.
    if env.dir.exists() {
        fs::remove_dir_all(&env.dir).map_err(io_error(&env.dir))?;
    }
    fs::create_dir_all(&env.dir).map_err(io_error(&env.dir))?;
    uv.run(
        "uv venv",
        uv.command()
            .args(["venv", "--quiet", "--no-project", "--python"])
            .arg(&inputs.python.path)
            .arg(env.venv()),
    )?;
    let mut wheel_requirement = wheel.path.clone().into_os_string();
    if wheel.has_dev_extra {
        wheel_requirement.push("[dev]");
    }
    let mut args = vec![
        wheel_requirement,
        format!("osiris-pipeline=={}", inputs.osiris).into(),
    ];
    if !wheel.has_dev_extra {
        args.push("pytest".into());
    }
    uv.pip_install(&env, &args)?;
    crate::fsutil::write_atomic(&marker, wheel.sha256.as_bytes())
        .map_err(|error| io_anyhow(&marker, error))?;
    crate::fsutil::write_atomic(&inputs_path, inputs.to_json().as_bytes())
        .map_err(|error| io_anyhow(&inputs_path, error))?;
    Ok((env, Preparation::Created, lock))
}

fn io_anyhow(path: &Path, error: anyhow::Error) -> TestEnvError {
    TestEnvError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("{error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(osiris: &str, requirements: &[&str]) -> EnvInputs {
        EnvInputs::new(
            "calc-osiris".to_owned(),
            Interpreter {
                path: PathBuf::from("/usr/bin/python3"),
                version: "3.11.7".to_owned(),
            },
            osiris.to_owned(),
            requirements.iter().map(|r| (*r).to_owned()).collect(),
            None,
        )
    }

    #[test]
    fn keys_follow_every_input_but_not_the_order_of_requirements() {
        let base = inputs("0.5.7", &["pandas>=2", "pytest>=7"]);
        assert_eq!(
            base.key(),
            inputs("0.5.7", &["pytest>=7", "pandas>=2"]).key()
        );
        assert_ne!(
            base.key(),
            inputs("0.5.5", &["pandas>=2", "pytest>=7"]).key()
        );
        assert_ne!(
            base.key(),
            inputs("0.5.7", &["pandas>=2.1", "pytest>=7"]).key()
        );
        assert_eq!(base.key().len(), 20);
    }
}
