//! One transaction per command and environment: the forward path.
//!
//! 1. [`Transaction::begin`] under the [`ExclusiveLock`]: a folder `.ocp-txn-<id>/` in
//!    `site-packages`, on the same filesystem, so every move below is one `rename`;
//! 2. [`Transaction::install`] and [`Transaction::remove`], once per package: the leaving
//!    distribution's files are listed, the arriving package is staged into `new/`;
//! 3. [`Transaction::prepare`]: conflicts are checked for the whole set, `plan.json` is
//!    written, the new lock file is staged beside its target, and the state becomes
//!    `prepared`. Until here nothing outside the folder has changed;
//! 4. [`Transaction::python_started`] / [`Transaction::python_finished`], around the caller's
//!    install of Python requirements, so that an undo also removes what they added;
//! 5. [`Transaction::commit`]: state `swapping`; leaving dist-infos and files move into
//!    `old/`, then the staged files and dist-infos move in (dist-infos last, so a package is
//!    visible to `importlib.metadata` only once its files are there); state `committed` is
//!    the commit point; then the lock file is renamed into place and the folder deleted.
//!
//! Any error before the commit point undoes everything (`recovery.rs`), and so does dropping
//! an unfinished transaction.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::additions::distribution_dirs;
use super::conflicts::{self, Arriving, Leaving};
use super::journal::{self, Journal, NEW, PackageChange, PendingLock, State};
use super::layout::{self, record_paths};
use super::lock::ExclusiveLock;
use super::recovery::{self, Steps};
use super::{ActivateError, Receipt, TXN_PREFIX, find_installed, io, read_receipt};
use crate::model::normalize_name;
use crate::pyenv::{Installed, PythonEnv};
use crate::store::StoredPackage;

/// Every change one command makes to one environment.
#[derive(Debug)]
pub struct Transaction<'a> {
    env: &'a PythonEnv,
    dir: PathBuf,
    journal: Journal,
    /// What is installed, read once under the lock.
    installed: Vec<Installed>,
    arriving: Vec<Arriving>,
    leaving: Vec<Leaving>,
    /// Every leaving file, to list each once.
    leaving_files: BTreeSet<String>,
    state: Option<State>,
    /// Committed or undone: nothing left for `Drop`.
    finished: bool,
    steps: Steps,
}

impl<'a> Transaction<'a> {
    /// Starts a transaction on `env`, whose exclusive lock the caller holds. A transaction a
    /// killed process left there is finished or undone first.
    pub fn begin(
        env: &'a PythonEnv,
        lock: &'a ExclusiveLock,
    ) -> Result<Transaction<'a>, ActivateError> {
        debug_assert!(lock.covers(env), "the lock is on another environment");
        recovery::recover(env, lock)?;
        let site = &env.site_packages;
        let dir = tempfile::Builder::new()
            .prefix(TXN_PREFIX)
            .tempdir_in(site)
            .map_err(io("create a folder in", site))?
            .keep();
        Ok(Transaction {
            env,
            dir,
            journal: Journal::new(),
            installed: env.installed()?,
            arriving: Vec::new(),
            leaving: Vec::new(),
            leaving_files: BTreeSet::new(),
            state: None,
            finished: false,
            steps: Steps::default(),
        })
    }

    /// Plans installing `package`, replacing any version of it that is installed, and
    /// stages its files.
    pub fn install(
        &mut self,
        package: &StoredPackage,
        receipt: &Receipt,
    ) -> Result<(), ActivateError> {
        let manifest = &package.manifest;
        let name = manifest.name.normalized();
        self.claim(&name)?;
        let from = match self.find(&name) {
            Some(old) => {
                // Never replace what another installer put there (an OCP named `pip`).
                if old.installer.as_deref() != Some("ocp") {
                    return Err(ActivateError::NotOurs {
                        name: old.name.clone(),
                        installer: old
                            .installer
                            .clone()
                            .unwrap_or_else(|| "an unknown installer".to_owned()),
                    });
                }
                let version = old.version.clone();
                self.leave(&old)?;
                Some(version)
            }
            None => None,
        };
        let staged = layout::stage(package, receipt, &self.dir.join(NEW))?;
        self.journal.new_files.extend(staged.files.iter().cloned());
        self.journal.new_dirs.push(staged.dist_info.clone());
        self.arriving.push(Arriving {
            name: manifest.name.to_string(),
            version: manifest.version.to_string(),
            components: manifest
                .components
                .iter()
                .map(|c| c.name.to_string())
                .collect(),
            dist_info: staged.dist_info,
            files: staged.files,
        });
        self.journal.packages.push(PackageChange {
            name,
            from,
            to: Some(manifest.version.to_string()),
        });
        Ok(())
    }

    /// Plans removing an ocp-installed package, named by distribution or component.
    pub fn remove(&mut self, name: &str) -> Result<Receipt, ActivateError> {
        let installed = find_installed(&self.installed, name)
            .cloned()
            .ok_or_else(|| ActivateError::NotInstalled {
                name: name.to_owned(),
                env: self.env.root.clone(),
            })?;
        let installer = installed
            .installer
            .clone()
            .unwrap_or_else(|| "an unknown installer".to_owned());
        if installer != "ocp" {
            return Err(ActivateError::NotOurs {
                name: installed.name,
                installer,
            });
        }
        let receipt = read_receipt(&installed.dist_info).unwrap_or(Receipt {
            name: installed.name.clone(),
            version: installed.version.clone(),
            sha256: String::new(),
            key_id: String::new(),
            index: String::new(),
            requested: false,
            components: Vec::new(),
            dependencies: Vec::new(),
        });
        let normalized = normalize_name(&installed.name);
        self.claim(&normalized)?;
        self.leave(&installed)?;
        self.journal.packages.push(PackageChange {
            name: normalized,
            from: Some(installed.version),
            to: None,
        });
        Ok(receipt)
    }

    /// Checks the whole change for conflicts, writes the journal and stages the lock file
    /// (`target` and its new bytes). Nothing outside the transaction's folder has changed
    /// until here, and nothing but the staged lock file when this returns.
    pub fn prepare(&mut self, lockfile: Option<(&Path, &[u8])>) -> Result<(), ActivateError> {
        if self.state.is_some() {
            return Ok(());
        }
        let site = &self.env.site_packages;
        conflicts::check(self.env, &self.installed, &self.arriving, &self.leaving)?;
        let mut created = BTreeSet::new();
        for file in &self.journal.new_files {
            let mut current = Path::new(file).parent();
            while let Some(dir) = current.filter(|d| !d.as_os_str().is_empty()) {
                if !site.join(dir).is_dir() {
                    created.insert(dir.to_string_lossy().into_owned());
                }
                current = dir.parent();
            }
        }
        self.journal.created_dirs = created.into_iter().collect();
        self.journal.python_before = distribution_dirs(site)?;
        if let Some((target, _)) = lockfile {
            let target = std::path::absolute(target).map_err(io("find", target))?;
            let id = self
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.journal.lockfile = Some(PendingLock {
                pending: target.with_file_name(format!(".{name}{id}")),
                target,
            });
        }
        journal::write_plan(&self.dir, &self.journal)?;
        if let (Some(pending), Some((_, bytes))) = (&self.journal.lockfile, lockfile) {
            write_pending(pending, bytes)?;
        }
        journal::write_state(&self.dir, State::Prepared)?;
        self.state = Some(State::Prepared);
        Ok(())
    }

    /// Call before installing the packages' Python requirements: from here on, an undo also
    /// removes the distributions they add.
    pub fn python_started(&mut self) -> Result<(), ActivateError> {
        self.prepare(None)?;
        journal::write_state(&self.dir, State::Python)?;
        self.state = Some(State::Python);
        Ok(())
    }

    /// Call when the Python requirements are installed: records which distributions they
    /// added.
    pub fn python_finished(&mut self) -> Result<(), ActivateError> {
        let added = recovery::added_since(&self.env.site_packages, &self.journal.python_before)?;
        journal::write_added(&self.dir, &added)
    }

    /// Moves everything in place and commits. On an error before the commit point, the
    /// environment (and the lock file) are as they were before the transaction began.
    pub fn commit(mut self) -> Result<(), ActivateError> {
        self.prepare(None)?;
        let site = self.env.site_packages.clone();
        let moved = journal::write_state(&self.dir, State::Swapping)
            .and_then(|()| {
                self.state = Some(State::Swapping);
                recovery::swap(&site, &self.dir, &self.journal, &self.steps)
            })
            .and_then(|()| self.steps.step())
            .and_then(|()| journal::write_state(&self.dir, State::Committed));
        if let Err(error) = moved {
            return Err(self.abandon(error));
        }
        self.state = Some(State::Committed);
        self.finished = true;
        recovery::finish(self.env, &self.dir, &self.journal, &self.steps)
            .map_err(|error| ActivateError::Unfinished(Box::new(error)))
    }

    /// Undoes everything the transaction did.
    pub fn rollback(mut self) -> Result<(), ActivateError> {
        self.finished = true;
        self.undo()
    }

    /// Undoes after `error`, unless `error` is a test's simulated kill, and returns it.
    fn abandon(&mut self, error: ActivateError) -> ActivateError {
        self.finished = true;
        if !error.is_simulated_kill() {
            let _ = self.undo();
        }
        error
    }

    fn undo(&self) -> Result<(), ActivateError> {
        recovery::undo(
            self.env,
            &self.dir,
            Some(&self.journal),
            self.state,
            &self.steps,
        )
    }

    fn find(&self, normalized: &str) -> Option<Installed> {
        self.installed
            .iter()
            .find(|i| normalize_name(&i.name) == normalized)
            .cloned()
    }

    fn claim(&self, normalized: &str) -> Result<(), ActivateError> {
        if self.state.is_some() {
            return Err(ActivateError::ChangedTwice {
                name: normalized.to_owned(),
            });
        }
        if self.journal.packages.iter().any(|p| p.name == normalized) {
            return Err(ActivateError::ChangedTwice {
                name: normalized.to_owned(),
            });
        }
        Ok(())
    }

    /// Plans moving an installed distribution out: its dist-info as a whole, and every file
    /// its RECORD lists that is there.
    fn leave(&mut self, installed: &Installed) -> Result<(), ActivateError> {
        let site = &self.env.site_packages;
        let dist_info = installed
            .dist_info
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let inside = format!("{dist_info}/");
        let mut files = Vec::new();
        for path in record_paths(&installed.dist_info)? {
            let target = site.join(&path);
            if path.starts_with(&inside)
                || !(target.is_file() || target.is_symlink())
                || !self.leaving_files.insert(path.clone())
            {
                continue;
            }
            files.push(path);
        }
        self.journal.old_files.extend(files.iter().cloned());
        self.journal.old_dirs.push(dist_info.clone());
        self.leaving.push(Leaving {
            name: normalize_name(&installed.name),
            dist_info,
            files,
        });
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.undo();
        }
    }
}

/// The new lock file, beside its target, with the target's permissions (0644 for a new one).
fn write_pending(pending: &PendingLock, bytes: &[u8]) -> Result<(), ActivateError> {
    use std::io::Write;
    let mode = fs::metadata(&pending.target)
        .map(|m| crate::fsutil::mode_of(&m))
        .unwrap_or(0o644);
    let path = &pending.pending;
    let mut file = fs::File::create(path).map_err(io("write", path))?;
    crate::fsutil::set_mode(path, mode).map_err(io("set permissions of", path))?;
    file.write_all(bytes).map_err(io("write", path))?;
    // The lock file is the user's own record: flushed to disk before it can replace the old one.
    file.sync_all().map_err(io("write", path))
}

#[cfg(test)]
impl Transaction<'_> {
    /// Makes the transaction stop after `steps` more changes to the disk, as if killed.
    pub(super) fn stop_after(&self, steps: usize) {
        self.steps.stop_after(steps);
    }
}
