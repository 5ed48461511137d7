//! Moving a transaction's files, and finishing or undoing it: for a failing command right
//! away, and for one a killed process left, by [`recover`] under the exclusive lock.
//!
//! Every step is one `rename` or one deletion, and both directions can stop at any step and
//! start again from the top (a kill during a recovery is recovered by the next one):
//!
//! - undo, before the commit point: a staged path missing from `new/` while the environment
//!   has it was moved in, and goes back to `new/` (never deleted, so a second undo cannot
//!   mistake a restored old file for a new one); whatever is in `old/` goes back; folders the
//!   commit created are removed; distributions the Python requirements added are
//!   uninstalled; the staged lock file is deleted;
//! - finish, after it: the staged lock file is renamed onto the lock file, folders left
//!   empty are removed, and the transaction's folder is deleted.
//!
//! Deleting the folder starts with its `state`, so a half-deleted folder reads as one that
//! changed nothing.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::additions::{self, distribution_dirs};
use super::journal::{self, Journal, NEW, OLD, PackageChange, State};
use super::lock::ExclusiveLock;
use super::{ActivateError, TXN_PREFIX, io};
use crate::pyenv::PythonEnv;

/// What recovering a transaction that a killed process left did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The transaction's folder.
    pub dir: PathBuf,
    pub outcome: Outcome,
    /// `name`, `from` version, `to` version, for every package it changed.
    pub packages: Vec<(String, Option<String>, Option<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It had not reached its commit point: the environment is as before it.
    RolledBack,
    /// It had: its changes stand, and its lock file is written.
    Completed,
    /// It had changed nothing yet (or had already finished), and was only deleted.
    Discarded,
}

/// True when `env` holds a transaction folder; under a shared or exclusive lock, that is
/// one a killed process left, which [`recover`] must finish or undo before anyone reads.
pub fn needs_recovery(env: &PythonEnv) -> bool {
    transaction_dirs(&env.site_packages).is_ok_and(|dirs| !dirs.is_empty())
}

/// Finishes or undoes every transaction a killed process left in `env`. Only under the
/// exclusive lock: any folder found then belongs to nobody alive.
pub fn recover(env: &PythonEnv, lock: &ExclusiveLock) -> Result<Vec<Recovery>, ActivateError> {
    debug_assert!(lock.covers(env), "the lock is on another environment");
    recover_with(env, &Steps::default())
}

pub(super) fn recover_with(env: &PythonEnv, steps: &Steps) -> Result<Vec<Recovery>, ActivateError> {
    let mut out = Vec::new();
    for dir in transaction_dirs(&env.site_packages)? {
        let state = journal::read_state(&dir)?;
        let plan = journal::read_plan(&dir)?;
        let outcome = match (state, &plan) {
            (Some(State::Committed), Some(plan)) => {
                finish(env, &dir, plan, steps)?;
                Outcome::Completed
            }
            (Some(_), None) => {
                return Err(ActivateError::Journal {
                    path: dir.join(journal::PLAN),
                    reason: "it is missing".to_owned(),
                });
            }
            (Some(_), Some(_)) => {
                undo(env, &dir, plan.as_ref(), state, steps)?;
                Outcome::RolledBack
            }
            (None, _) => {
                undo(env, &dir, plan.as_ref(), None, steps)?;
                Outcome::Discarded
            }
        };
        out.push(Recovery {
            dir,
            outcome,
            packages: plan
                .map(|plan| plan.packages)
                .unwrap_or_default()
                .into_iter()
                .map(|PackageChange { name, from, to }| (name, from, to))
                .collect(),
        });
    }
    Ok(out)
}

fn transaction_dirs(site: &Path) -> Result<Vec<PathBuf>, ActivateError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(site).map_err(io("read", site))?.flatten() {
        let is_transaction = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(TXN_PREFIX));
        if is_transaction && entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Moves leaving dist-infos and files aside, then arriving files and dist-infos in.
pub(super) fn swap(
    site: &Path,
    dir: &Path,
    plan: &Journal,
    steps: &Steps,
) -> Result<(), ActivateError> {
    let (old, new) = (dir.join(OLD), dir.join(NEW));
    for relative in plan.old_dirs.iter().chain(&plan.old_files) {
        steps.step()?;
        match move_path(&site.join(relative), &old.join(relative)) {
            // Gone already (another tool removed it): nothing to move aside or to restore.
            Err(ActivateError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    for relative in plan.new_files.iter().chain(&plan.new_dirs) {
        steps.step()?;
        move_path(&new.join(relative), &site.join(relative))?;
    }
    Ok(())
}

/// Puts the environment back as it was before the transaction in `dir`, which reached
/// `state` (`None`: never prepared), and deletes the folder.
pub(super) fn undo(
    env: &PythonEnv,
    dir: &Path,
    plan: Option<&Journal>,
    state: Option<State>,
    steps: &Steps,
) -> Result<(), ActivateError> {
    let site = &env.site_packages;
    if let (Some(plan), Some(state)) = (plan, state) {
        if state >= State::Swapping {
            let (old, new) = (dir.join(OLD), dir.join(NEW));
            for relative in plan.new_dirs.iter().chain(&plan.new_files) {
                let (staged, placed) = (new.join(relative), site.join(relative));
                if !exists(&staged) && exists(&placed) {
                    steps.step()?;
                    move_path(&placed, &staged)?;
                }
            }
            for relative in plan.old_files.iter().chain(&plan.old_dirs) {
                let aside = old.join(relative);
                if exists(&aside) {
                    steps.step()?;
                    move_path(&aside, &site.join(relative))?;
                }
            }
            for relative in plan.created_dirs.iter().rev() {
                let folder = site.join(relative);
                if folder.is_dir() {
                    steps.step()?;
                    // Python may have compiled a new module while it was there.
                    let _ = fs::remove_dir_all(folder.join("__pycache__"));
                    let _ = fs::remove_dir(&folder);
                }
            }
        }
        if state >= State::Python {
            let added = match journal::read_added(dir)? {
                Some(added) => added,
                None => added_since(site, &plan.python_before)?,
            };
            additions::uninstall(env, &added, steps)?;
        }
    }
    if let Some(lock) = plan.and_then(|p| p.lockfile.as_ref())
        && lock.is_plausible()
        && exists(&lock.pending)
    {
        steps.step()?;
        fs::remove_file(&lock.pending).map_err(io("remove", &lock.pending))?;
    }
    discard(dir, steps)
}

/// Completes a committed transaction: the lock file, empty folders, the transaction folder.
pub(super) fn finish(
    env: &PythonEnv,
    dir: &Path,
    plan: &Journal,
    steps: &Steps,
) -> Result<(), ActivateError> {
    if let Some(lock) = &plan.lockfile
        && lock.is_plausible()
        && exists(&lock.pending)
    {
        steps.step()?;
        fs::rename(&lock.pending, &lock.target).map_err(io("write", &lock.target))?;
    }
    steps.step()?;
    remove_empty_dirs(&env.site_packages, plan.old_files.iter());
    discard(dir, steps)
}

/// The dist-info folders in `site` that are not in `before`.
pub(super) fn added_since(site: &Path, before: &[String]) -> Result<Vec<String>, ActivateError> {
    let before: BTreeSet<&String> = before.iter().collect();
    Ok(distribution_dirs(site)?
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect())
}

/// Deletes a transaction's folder, its `state` first.
fn discard(dir: &Path, steps: &Steps) -> Result<(), ActivateError> {
    steps.step()?;
    match fs::remove_file(dir.join(journal::STATE)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(ActivateError::Io {
                action: "remove",
                path: dir.join(journal::STATE),
                source: error,
            });
        }
        _ => {}
    }
    steps.step()?;
    remove_tree(dir)
}

/// Removes a folder and everything in it, making read-only parts writable if it must.
pub(super) fn remove_tree(dir: &Path) -> Result<(), ActivateError> {
    let first = match fs::remove_dir_all(dir) {
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => error,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => return other.map_err(io("remove", dir)),
    };
    crate::fsutil::make_writable(dir);
    match fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(ActivateError::Io {
            action: "remove",
            path: dir.to_path_buf(),
            source: if error.kind() == first.kind() {
                first
            } else {
                error
            },
        }),
        _ => Ok(()),
    }
}

/// True when something (a file, a folder, a link, even a dangling one) is at `path`.
fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

pub(super) fn move_path(from: &Path, to: &Path) -> Result<(), ActivateError> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    fs::rename(from, to).map_err(io("move", from))
}

/// Removes folders that held `paths` and are now empty (deepest first), and `__pycache__`
/// folders Python made in them.
pub(super) fn remove_empty_dirs<'p>(site: &Path, paths: impl Iterator<Item = &'p String>) {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for relative in paths {
        let mut current = Path::new(relative).parent();
        while let Some(dir) = current.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(site.join(dir));
            current = dir.parent();
        }
    }
    let mut ordered: Vec<PathBuf> = dirs.into_iter().collect();
    ordered.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in ordered {
        if dir.file_name().is_some_and(|n| n == "components") && dir.parent() == Some(site) {
            continue; // Osiris's own folder
        }
        let _ = fs::remove_dir_all(dir.join("__pycache__"));
        let _ = fs::remove_dir(&dir);
    }
}

/// Counts the steps that change the disk, so that tests can stop a transaction after any
/// one of them, as a kill would.
#[derive(Debug, Default)]
pub(super) struct Steps {
    #[cfg(test)]
    left: std::cell::Cell<Option<usize>>,
}

impl Steps {
    /// Called before each change to the disk.
    pub fn step(&self) -> Result<(), ActivateError> {
        #[cfg(test)]
        if let Some(left) = self.left.get() {
            if left == 0 {
                return Err(ActivateError::SimulatedKill);
            }
            self.left.set(Some(left - 1));
        }
        Ok(())
    }

    #[cfg(test)]
    pub fn stop_after(&self, steps: usize) {
        self.left.set(Some(steps));
    }
}

impl ActivateError {
    /// True for the error a test's simulated kill raises, after which nothing may be undone.
    pub(super) fn is_simulated_kill(&self) -> bool {
        #[cfg(test)]
        if matches!(self, ActivateError::SimulatedKill) {
            return true;
        }
        false
    }
}
