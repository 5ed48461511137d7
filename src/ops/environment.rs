//! The environment lock as commands take it: waiting for it says so on the terminal,
//! transactions a killed ocp left are finished or undone (under the exclusive lock only)
//! and reported, and readers (`ocp list`, `ocp tree`, `--dry-run`) read under the shared
//! lock, so they never see a change half made.

use crate::activate::{self, ActivateError, ExclusiveLock, Outcome, Receipt, Recovery, SharedLock};
use crate::error::helped;
use crate::pyenv::PythonEnv;
use crate::shell::Shell;

/// The lock a command holds on its environment, if it has one.
#[derive(Debug)]
pub enum EnvLock {
    None,
    Shared(SharedLock),
    Exclusive(ExclusiveLock),
}

/// Takes the exclusive lock on `env`, then finishes or undoes what a killed ocp left.
pub fn lock_exclusive(shell: &mut Shell, env: &PythonEnv) -> anyhow::Result<ExclusiveLock> {
    let lock = ExclusiveLock::acquire(env, waiting(shell, env))?;
    if !lock.is_effective() {
        warn_unlocked(shell, env)?;
    }
    let recovered = activate::recover(env, &lock).map_err(|error| {
        let help = match &error {
            ActivateError::Journal { path, .. } => format!(
                "move `{}` out of the environment, then reinstall the packages its `plan.json` names",
                path.parent().unwrap_or(path).display()
            ),
            _ => "run the command again as a user who can write to the environment".to_owned(),
        };
        helped(
            format!(
                "failed to finish or undo what an interrupted ocp left in `{}`: {error}",
                env.root.display()
            ),
            help,
        )
    })?;
    for recovery in &recovered {
        report(shell, env, recovery)?;
    }
    Ok(lock)
}

/// Takes the shared lock on `env`. When a killed ocp left a transaction there, the lock is
/// first taken exclusively to finish or undo it.
pub fn lock_shared(shell: &mut Shell, env: &PythonEnv) -> anyhow::Result<SharedLock> {
    let lock = SharedLock::acquire(env, waiting(shell, env))?;
    if !activate::needs_recovery(env) {
        if !lock.is_effective() {
            warn_unlocked(shell, env)?;
        }
        return Ok(lock);
    }
    drop(lock);
    Ok(lock_exclusive(shell, env)?.downgrade()?)
}

/// The packages ocp installed in `env`, read under the shared lock.
pub fn installed(shell: &mut Shell, env: &PythonEnv) -> anyhow::Result<Vec<Receipt>> {
    let _lock = lock_shared(shell, env)?;
    Ok(activate::installed_receipts(env)?)
}

fn waiting<'s>(shell: &'s mut Shell, env: &PythonEnv) -> impl FnOnce() + 's {
    let message = format!("for another ocp to finish with `{}`", env.root.display());
    move || {
        let _ = shell.status("Waiting", message);
    }
}

fn warn_unlocked(shell: &mut Shell, env: &PythonEnv) -> anyhow::Result<()> {
    shell.warn(format!(
        "the filesystem of `{}` has no file locks; make sure no other ocp works in it at the same time",
        env.root.display()
    ))?;
    Ok(())
}

fn report(shell: &mut Shell, env: &PythonEnv, recovery: &Recovery) -> anyhow::Result<()> {
    let packages: Vec<String> = recovery
        .packages
        .iter()
        .map(|(name, from, to)| match (from, to) {
            (Some(from), Some(to)) => format!("{name} {from} -> {to}"),
            (None, Some(to)) => format!("{name} {to} (new)"),
            (Some(from), None) => format!("{name} {from} (removed)"),
            (None, None) => name.clone(),
        })
        .collect();
    let what = if packages.is_empty() {
        String::new()
    } else {
        format!(": {}", packages.join(", "))
    };
    let root = env.root.display();
    match recovery.outcome {
        Outcome::RolledBack => shell.status(
            "Recovered",
            format!("`{root}`: rolled back an interrupted change{what}"),
        )?,
        Outcome::Completed => shell.status(
            "Recovered",
            format!("`{root}`: completed an interrupted change{what}"),
        )?,
        Outcome::Discarded => shell.note(format!(
            "removed `{}`, which an interrupted ocp left before changing anything",
            recovery.dir.display()
        ))?,
    }
    Ok(())
}
