//! The packages' own Python requirements (`pyyaml>=6.0`), installed inside the commit's
//! transaction, after the packages are staged and before anything moves into place.
//!
//! - Requirements that installed distributions already satisfy are not handed to any
//!   installer (most OCPs need only what Osiris brings).
//! - The rest go to uv (or pip) with every installed distribution pinned as a constraint, so
//!   the installer can add distributions but never replace or remove one: an undo then only
//!   has to uninstall what is new ([`Transaction::python_started`]).
//! - The child inherits a handle on the environment lock (an open descriptor, not its
//!   standard input, which build backends read), so that if ocp
//!   is killed while uv runs, the next ocp waits for uv to finish before it undoes anything.

use std::io::Write;
use std::process::{Command, Stdio};
use std::str::FromStr;

use anyhow::Context;

use super::PythonDeps;
use crate::activate::{ExclusiveLock, Transaction};
use crate::error::helped;
use crate::model::normalize_name;
use crate::pyenv::PythonEnv;
use crate::shell::Shell;

/// Installs `requirements` into `env` as part of `txn`.
pub fn install_python_requirements(
    shell: &mut Shell,
    env: &PythonEnv,
    lock: &ExclusiveLock,
    txn: &mut Transaction<'_>,
    how: &PythonDeps,
    requirements: &[String],
) -> anyhow::Result<()> {
    let requirements = match how {
        PythonDeps::Skip => return Ok(()),
        _ => unsatisfied(env, requirements)?,
    };
    if requirements.is_empty() {
        return Ok(());
    }
    let constraints = pins(env)?;
    let mut command = match how {
        PythonDeps::Skip => return Ok(()),
        PythonDeps::Uv(uv) => {
            let mut command = Command::new(uv);
            command
                .args(["pip", "install", "--quiet", "--python"])
                .arg(&env.python);
            command
        }
        PythonDeps::Pip => {
            let mut command = Command::new(&env.python);
            command.args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
            ]);
            command
        }
    };
    command.arg("--constraint").arg(constraints.path());
    // After `--`, no requirement can be read as an option; and the build backends that
    // uv or pip run never see ocp's signing key or upload tokens.
    command.arg("--").args(&requirements);
    crate::childenv::without_secrets(&mut command);
    // uv or pip reads nothing from a terminal; the build backends they start may read stdin.
    command.stdin(Stdio::null());
    if let Some(handle) = lock.child_handle()? {
        keep_open_in_child(&mut command, handle);
    }
    shell.status(
        "Installing",
        format!("Python requirements: {}", requirements.join(", ")),
    )?;
    txn.python_started()?;
    let output = command
        .output()
        .with_context(|| format!("failed to run `{:?}`", command.get_program()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(helped(
            format!(
                "installing the Python requirements failed, so the install was rolled back:\n{}",
                stderr.trim()
            ),
            "fix the requirement or the network and try again, or pass `--no-python-deps` to install them yourself; ocp never changes a distribution that is already installed, so a requirement that needs another version of one needs you to change it first",
        ));
    }
    txn.python_finished()?;
    Ok(())
}

/// The requirements that no installed distribution satisfies. Requirements with markers,
/// extras or URLs are always handed to the installer, which knows best.
fn unsatisfied(env: &PythonEnv, requirements: &[String]) -> anyhow::Result<Vec<String>> {
    let installed = env.installed()?;
    let satisfied = |text: &str| {
        let Ok(requirement) = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(text)
        else {
            return false;
        };
        if !requirement.marker.is_true() || !requirement.extras.is_empty() {
            return false;
        }
        let name = normalize_name(requirement.name.as_ref());
        let Some(version) = installed
            .iter()
            .find(|i| normalize_name(&i.name) == name)
            .and_then(|i| pep440_rs::Version::from_str(&i.version).ok())
        else {
            return false;
        };
        match &requirement.version_or_url {
            None => true,
            Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) => {
                specifiers.contains(&version)
            }
            Some(pep508_rs::VersionOrUrl::Url(_)) => false,
        }
    };
    let mut out: Vec<String> = requirements
        .iter()
        .filter(|text| !satisfied(text))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// A constraints file pinning every installed distribution to its version.
fn pins(env: &PythonEnv) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix("ocp-constraints-")
        .suffix(".txt")
        .tempfile()
        .context("failed to create a temporary constraints file")?;
    for installed in env.installed()? {
        let pin = format!("{}=={}", normalize_name(&installed.name), installed.version);
        if pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(&pin).is_ok() {
            writeln!(file, "{pin}").context("failed to write the constraints file")?;
        }
    }
    file.flush()
        .context("failed to write the constraints file")?;
    Ok(file)
}

/// Lets the child inherit `handle` (a handle on the environment lock) as an open descriptor,
/// so the lock lasts until the child and everything it starts have exited. Not as its
/// standard input: a Python build backend that uv starts inherits stdin and refuses to start
/// when stdin is a folder.
#[cfg(unix)]
fn keep_open_in_child(command: &mut Command, handle: std::fs::File) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let descriptor = handle.as_raw_fd();
    // SAFETY: the closure runs in the child between fork and exec, and only calls `fcntl`,
    // which is async-signal-safe. It clears close-on-exec on a descriptor this process holds
    // open (`handle` lives in the closure, and the closure in `command`, until the child is
    // started), so the descriptor survives the exec; nothing else is touched.
    unsafe {
        command.pre_exec(move || {
            let _held = &handle;
            if libc::fcntl(descriptor, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Where descriptors cannot be handed on, the lock ends with this process.
#[cfg(not(unix))]
fn keep_open_in_child(_command: &mut Command, _handle: std::fs::File) {}
