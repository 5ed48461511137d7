//! Stage 6, the commit: every change of the plan as one transaction in the environment
//! ([`crate::activate::Transaction`]). Packages are staged in dependency order, the whole
//! set is checked for conflicts, the lock file is staged, the Python requirements are
//! installed, and only then does anything move into place, committed once. Any error on
//! the way leaves the environment and the lock file as they were.

use std::error::Error as _;
use std::path::Path;

use anyhow::Context;

use super::plan::InstallPlan;
use super::python::install_python_requirements;
use super::stage::Stored;
use super::{Change, InstallOpts};
use crate::activate::{ActivateError, ExclusiveLock, Receipt, Transaction};
use crate::pyenv::{Installed, PythonEnv};
use crate::shell::Shell;

/// The environment to commit to, and its exclusive lock.
pub struct Target<'a> {
    pub env: &'a PythonEnv,
    pub lock: &'a ExclusiveLock,
}

/// Applies `plan` to the environment; `lockfile` is the lock file's path and new bytes.
pub fn commit(
    shell: &mut Shell,
    target: &Target<'_>,
    plan: &InstallPlan,
    stored: &[Stored<'_>],
    opts: &InstallOpts,
    lockfile: Option<(&Path, &[u8])>,
) -> anyhow::Result<()> {
    let Target { env, lock } = *target;
    let mut txn = Transaction::begin(env, lock)
        .with_context(|| format!("failed to start a transaction in `{}`", env.root.display()))?;
    let installed = env.installed()?;
    for change in plan.ordered() {
        let Some(stored) = stored.iter().find(|s| s.change.name == change.name) else {
            continue;
        };
        txn.install(
            &stored.package,
            &receipt(&installed, change, &opts.location.name),
        )
        .with_context(|| format!("failed to install {} {}", change.name, change.version))?;
    }
    txn.prepare(lockfile)
        .context("failed to install the packages")?;
    let requirements = super::checks::python_requirements(stored.iter().map(|s| &s.package));
    install_python_requirements(shell, env, lock, &mut txn, &opts.python_deps, &requirements)?;
    match txn.commit() {
        // Committed: the install stands, and the next ocp command tidies up.
        Err(error @ ActivateError::Unfinished(_)) => shell.warn(format!(
            "{error}: {}",
            error.source().map(ToString::to_string).unwrap_or_default()
        ))?,
        other => other.context("failed to install the packages")?,
    }
    Ok(())
}

/// What the dist-info records about where a package came from. A package asked for before
/// stays asked for when a dependency's upgrade replaces it.
fn receipt(installed: &[Installed], change: &Change, index: &str) -> Receipt {
    let name = crate::model::normalize_name(&change.name);
    let asked_before = installed
        .iter()
        .find(|i| crate::model::normalize_name(&i.name) == name)
        .is_some_and(|i| i.dist_info.join("REQUESTED").exists());
    Receipt {
        name: change.name.clone(),
        version: change.version.clone(),
        sha256: change.entry.sha256.clone(),
        key_id: change.entry.key_id.clone(),
        index: index.to_owned(),
        requested: change.requested || asked_before,
        components: change.entry.components.clone(),
        dependencies: change
            .entry
            .dependencies
            .iter()
            .map(|d| format!("{}{}", d.name, d.requirement))
            .collect(),
    }
}
