//! A transaction's journal, in its folder `site-packages/.ocp-txn-<id>/`:
//!
//! - `plan.json` ([`Journal`]): every path the transaction moves and the lock file it writes,
//!   written once, before anything in `site-packages` changes;
//! - `state` ([`State`]): how far the transaction got, replaced atomically (write, rename) at
//!   each step, so a reader finds the old word or the new one;
//! - `python-added.json`: the distributions that installing Python requirements added;
//! - `new/`: the staged files, moved into `site-packages` by the commit;
//! - `old/`: the files of leaving distributions, moved aside by the commit.
//!
//! A folder without `state` changed nothing (or finished) and is only deleted.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ActivateError, io};

pub(super) const PLAN: &str = "plan.json";
pub(super) const STATE: &str = "state";
pub(super) const PYTHON_ADDED: &str = "python-added.json";
pub(super) const NEW: &str = "new";
pub(super) const OLD: &str = "old";

/// The journal format this ocp writes and reads.
const FORMAT_VERSION: u32 = 1;

/// A journal larger than this is not one ocp wrote.
const MAX_JOURNAL_BYTES: u64 = 256 << 20;

/// How far a transaction got. Each step only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum State {
    /// Staged and journaled; nothing in `site-packages` has changed.
    Prepared,
    /// The Python requirements are being installed; they may have added distributions.
    Python,
    /// Files are moving: old ones aside, then new ones in.
    Swapping,
    /// The commit point: the new state stands, and only cleaning up remains.
    Committed,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Prepared => "prepared",
            State::Python => "python",
            State::Swapping => "swapping",
            State::Committed => "committed",
        }
    }

    fn parse(word: &str) -> Option<State> {
        [
            State::Prepared,
            State::Python,
            State::Swapping,
            State::Committed,
        ]
        .into_iter()
        .find(|state| state.word() == word.trim())
    }
}

/// One package the transaction changes, for the person who reads the journal or a
/// recovery report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PackageChange {
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The lock file the commit writes: staged beside its target, renamed onto it at commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PendingLock {
    pub pending: PathBuf,
    pub target: PathBuf,
}

impl PendingLock {
    /// Only a file beside the target, named as ocp names them, is ever renamed or deleted:
    /// the journal sits in `site-packages`, which is no place to name arbitrary files from.
    pub fn is_plausible(&self) -> bool {
        let target_name = self.target.file_name().map(|n| n.to_string_lossy());
        let pending_name = self.pending.file_name().map(|n| n.to_string_lossy());
        match (target_name, pending_name) {
            (Some(target), Some(pending)) => {
                self.pending.parent() == self.target.parent()
                    && pending.starts_with(&format!(".{target}{}", super::TXN_PREFIX))
            }
            _ => false,
        }
    }
}

/// `plan.json`: everything the transaction moves, relative to `site-packages`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Journal {
    pub format_version: u32,
    pub packages: Vec<PackageChange>,
    /// Files of leaving distributions, moved aside into `old/`.
    pub old_files: Vec<String>,
    /// Dist-info folders of leaving distributions, moved aside whole.
    pub old_dirs: Vec<String>,
    /// Staged files moved in from `new/`.
    pub new_files: Vec<String>,
    /// Staged dist-info folders moved in whole.
    pub new_dirs: Vec<String>,
    /// Folders that moving the new files in creates; an undo removes them again.
    pub created_dirs: Vec<String>,
    pub lockfile: Option<PendingLock>,
    /// The dist-info folders in `site-packages` before the Python requirements were installed.
    pub python_before: Vec<String>,
}

impl Journal {
    pub fn new() -> Journal {
        Journal {
            format_version: FORMAT_VERSION,
            ..Journal::default()
        }
    }

    /// Every path in the journal, to refuse one that leaves `site-packages`.
    fn paths(&self) -> impl Iterator<Item = &String> {
        self.old_files
            .iter()
            .chain(&self.old_dirs)
            .chain(&self.new_files)
            .chain(&self.new_dirs)
            .chain(&self.created_dirs)
            .chain(&self.python_before)
    }
}

/// True for a relative path that stays below the folder it is relative to.
pub(super) fn is_confined(relative: &str) -> bool {
    !relative.is_empty()
        && Path::new(relative)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Writes `name` in `dir` so that a reader sees the whole old file or the whole new one.
pub(super) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ActivateError> {
    let temporary = dir.join(format!("{name}.tmp"));
    fs::write(&temporary, bytes).map_err(io("write", &temporary))?;
    let target = dir.join(name);
    fs::rename(&temporary, &target).map_err(io("write", &target))
}

pub(super) fn write_state(dir: &Path, state: State) -> Result<(), ActivateError> {
    replace_file(dir, STATE, state.word().as_bytes())
}

/// The state of the transaction in `dir`; `None` when it never reached [`State::Prepared`]
/// or has finished.
pub(super) fn read_state(dir: &Path) -> Result<Option<State>, ActivateError> {
    let path = dir.join(STATE);
    match fs::read_to_string(&path) {
        Ok(word) => State::parse(&word)
            .map(Some)
            .ok_or_else(|| ActivateError::Journal {
                path,
                reason: format!("unknown state `{}`", word.trim()),
            }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ActivateError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

pub(super) fn write_plan(dir: &Path, journal: &Journal) -> Result<(), ActivateError> {
    let bytes = serde_json::to_vec(journal).map_err(|error| ActivateError::Journal {
        path: dir.join(PLAN),
        reason: error.to_string(),
    })?;
    replace_file(dir, PLAN, &bytes)
}

/// `plan.json` of the transaction in `dir`, or `None` when there is none.
pub(super) fn read_plan(dir: &Path) -> Result<Option<Journal>, ActivateError> {
    let path = dir.join(PLAN);
    let Some(bytes) = read_bounded(&path)? else {
        return Ok(None);
    };
    let bad = |reason: String| ActivateError::Journal {
        path: path.clone(),
        reason,
    };
    let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if journal.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "it has format version {}, and this ocp reads {FORMAT_VERSION}",
            journal.format_version
        )));
    }
    if let Some(path) = journal.paths().find(|p| !is_confined(p)) {
        return Err(bad(format!("`{path}` leaves site-packages")));
    }
    Ok(Some(journal))
}

pub(super) fn write_added(dir: &Path, added: &[String]) -> Result<(), ActivateError> {
    let bytes = serde_json::to_vec(added).unwrap_or_default();
    replace_file(dir, PYTHON_ADDED, &bytes)
}

/// `python-added.json`, or `None` when the Python requirements did not finish.
pub(super) fn read_added(dir: &Path) -> Result<Option<Vec<String>>, ActivateError> {
    let path = dir.join(PYTHON_ADDED);
    let Some(bytes) = read_bounded(&path)? else {
        return Ok(None);
    };
    let added: Vec<String> =
        serde_json::from_slice(&bytes).map_err(|error| ActivateError::Journal {
            path: path.clone(),
            reason: error.to_string(),
        })?;
    if let Some(name) = added.iter().find(|name| !is_confined(name)) {
        return Err(ActivateError::Journal {
            path,
            reason: format!("`{name}` leaves site-packages"),
        });
    }
    Ok(Some(added))
}

fn read_bounded(path: &PathBuf) -> Result<Option<Vec<u8>>, ActivateError> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ActivateError::Io {
                action: "read",
                path: path.clone(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_JOURNAL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io("read", path))?;
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(ActivateError::Journal {
            path: path.clone(),
            reason: format!("it is larger than {} MiB", MAX_JOURNAL_BYTES >> 20),
        });
    }
    Ok(Some(bytes))
}
