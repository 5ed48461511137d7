//! Running pytest in a test environment: from the package's root (so its `tests/` and
//! pytest settings apply) against the installed wheel, with the environment's `bin` first on
//! `PATH` (so `osiris` is the environment's), no bytecode or cache files written into the
//! package, ocp's own secrets removed from the environment, and a time limit after which the
//! run is stopped. Output goes to a log file; only its end is read back.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{TestEnv, TestEnvError, io_error};

/// How much of the end of pytest's output is kept.
pub const TAIL_BYTES: u64 = 64 * 1024;
/// Variables that would point Python elsewhere.
const REMOVED_VARIABLES: &[&str] = &["PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "CONDA_PREFIX"];

/// How a pytest run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PytestRun {
    /// The exit code; `None` when the run was stopped or killed by a signal.
    pub code: Option<i32>,
    pub timed_out: bool,
    /// The end of the output (at most [`TAIL_BYTES`]).
    pub tail: String,
}

impl PytestRun {
    /// pytest's closing line (`16 passed in 19.67s`), if it printed one.
    pub fn summary(&self) -> Option<String> {
        self.tail
            .lines()
            .rev()
            .map(|line| line.trim().trim_matches('=').trim())
            .find(|line| {
                [
                    " passed",
                    " failed",
                    " error",
                    "no tests ran",
                    " skipped",
                    " deselected",
                ]
                .iter()
                .any(|word| line.contains(word))
            })
            .map(str::to_owned)
    }
}

/// Runs `python -m pytest -p no:cacheprovider <args>` in `package_root`, writing the output
/// to `log`, and stops it after `timeout`.
pub fn run(
    env: &TestEnv,
    package_root: &Path,
    args: &[String],
    timeout: Duration,
    log: &Path,
) -> Result<PytestRun, TestEnvError> {
    let output = File::create(log).map_err(io_error(log))?;
    let errors = output.try_clone().map_err(io_error(log))?;
    let mut path = std::ffi::OsString::from(env.bin_dir());
    if let Some(inherited) = std::env::var_os("PATH") {
        path.push(if cfg!(windows) { ";" } else { ":" });
        path.push(inherited);
    }
    let mut command = Command::new(env.python());
    command
        .args(["-m", "pytest", "-p", "no:cacheprovider"])
        .args(args)
        .current_dir(package_root)
        .env("PATH", path)
        .env("VIRTUAL_ENV", env.venv())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors);
    // The package's tests are code nobody reviewed: they never see ocp's secrets.
    crate::childenv::without_secrets(&mut command);
    for variable in REMOVED_VARIABLES {
        command.env_remove(variable);
    }
    let mut child = command.spawn().map_err(|source| TestEnvError::Spawn {
        program: env.python().display().to_string(),
        source,
    })?;
    let started = Instant::now();
    let (status, timed_out) = loop {
        match child.try_wait().map_err(io_error(log))? {
            Some(status) => break (Some(status), false),
            None if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break (None, true);
            }
            None => std::thread::sleep(Duration::from_millis(25)),
        }
    };
    Ok(PytestRun {
        code: status.and_then(|status| status.code()),
        timed_out,
        tail: read_tail(log)?,
    })
}

fn read_tail(log: &Path) -> Result<String, TestEnvError> {
    let mut file = File::open(log).map_err(io_error(log))?;
    let length = file.metadata().map_err(io_error(log))?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(TAIL_BYTES)))
        .map_err(io_error(log))?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io_error(log))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(tail: &str) -> PytestRun {
        PytestRun {
            code: Some(0),
            timed_out: false,
            tail: tail.to_owned(),
        }
    }

    #[test]
    fn the_summary_is_pytests_closing_line() {
        assert_eq!(
            run_with("....\n16 passed in 19.67s\n").summary().as_deref(),
            Some("16 passed in 19.67s")
        );
        assert_eq!(
            run_with("F.\n==== 1 failed, 1 passed in 2.00s ====\n")
                .summary()
                .as_deref(),
            Some("1 failed, 1 passed in 2.00s")
        );
        assert_eq!(run_with("Traceback\n").summary(), None);
    }
}
