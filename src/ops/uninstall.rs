//! `ocp uninstall`: every named package leaves the environment in one transaction, and
//! leaves the lock file (with what only it needed) in the same commit.

use std::path::PathBuf;

use crate::activate::{ActivateError, Receipt, Transaction};
use crate::error::helped;
use crate::lockfile::{self, Lockfile};
use crate::ops::environment;
use crate::pyenv::PythonEnv;
use crate::shell::Shell;

pub struct UninstallOpts {
    pub env: PythonEnv,
    /// Distributions (`shopify-osiris`) or components (`shopify.extractor`).
    pub names: Vec<String>,
    pub dry_run: bool,
    /// The lock file to take the packages out of, if there is one and it exists.
    pub lockfile: Option<PathBuf>,
}

/// What an uninstall removed (or, with `--dry-run`, would remove).
#[derive(Debug)]
pub struct Uninstalled {
    pub removed: Vec<Receipt>,
    /// The names the lock file no longer holds, when it changed.
    pub unlocked: Vec<String>,
}

pub fn uninstall(shell: &mut Shell, opts: &UninstallOpts) -> anyhow::Result<Uninstalled> {
    let env = &opts.env;
    if opts.dry_run {
        let receipts = environment::installed(shell, env)?;
        let mut removed = Vec::new();
        for name in &opts.names {
            let found = receipts.iter().find(|r| {
                crate::model::normalize_name(&r.name) == crate::model::normalize_name(name)
                    || r.components.iter().any(|c| c == name)
            });
            match found {
                Some(receipt) => removed.push(receipt.clone()),
                None => {
                    return Err(helped(
                        format!(
                            "`{name}` is not installed by ocp in `{}`",
                            env.root.display()
                        ),
                        "see what is installed with `ocp list`",
                    ));
                }
            }
        }
        return Ok(Uninstalled {
            removed,
            unlocked: Vec::new(),
        });
    }
    let lock = environment::lock_exclusive(shell, env)?;
    let mut txn = Transaction::begin(env, &lock)?;
    let mut removed = Vec::new();
    for name in &opts.names {
        let receipt = txn.remove(name).map_err(|error| {
            let help = match &error {
                ActivateError::NotOurs { .. } => "remove it with `pip uninstall`",
                _ => "see what is installed with `ocp list`",
            };
            helped(error.to_string(), help)
        })?;
        removed.push(receipt);
    }
    let mut unlocked = Vec::new();
    let mut new_lock = None;
    let old_lock = match &opts.lockfile {
        Some(path) => lockfile::read(path)?,
        None => None,
    };
    if let Some(mut lock) = old_lock {
        for receipt in &removed {
            if forget_in_lock(&mut lock, &receipt.name) {
                unlocked.push(receipt.name.clone());
            }
        }
        if !unlocked.is_empty() {
            new_lock = Some(lockfile::to_toml(&lock).into_bytes());
        }
    }
    txn.prepare(
        new_lock
            .as_deref()
            .zip(opts.lockfile.as_deref())
            .map(|(bytes, path)| (path, bytes)),
    )?;
    match txn.commit() {
        // Committed: the packages are gone, and the next ocp command tidies up.
        Err(error @ ActivateError::Unfinished(_)) => shell.warn(error)?,
        other => other?,
    }
    Ok(Uninstalled { removed, unlocked })
}

/// Takes a removed package out of `lock`, with the packages only it needed. Returns whether
/// the lock changed.
pub fn forget_in_lock(lock: &mut Lockfile, name: &str) -> bool {
    let name = crate::model::normalize_name(name);
    let before = lock.packages.len();
    lock.packages.retain(|package| {
        package.name != name && !package.components.iter().any(|c| c.as_str() == name)
    });
    // Keep what is still reachable from a requested package.
    let mut keep: Vec<String> = lock
        .packages
        .iter()
        .filter(|p| p.requested)
        .map(|p| p.name.clone())
        .collect();
    let mut index = 0;
    while index < keep.len() {
        let current = keep[index].clone();
        if let Some(package) = lock.package(&current) {
            for dependency in &package.dependencies {
                if !keep.iter().any(|k| k == dependency.name()) {
                    keep.push(dependency.name().to_owned());
                }
            }
        }
        index += 1;
    }
    lock.packages.retain(|package| keep.contains(&package.name));
    lock.packages.len() != before
}
