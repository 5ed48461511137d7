//! Activation: turning packages in the store into real installs in a Python environment, and
//! taking them out again, as one transaction per command and environment.
//!
//! An installed package is one that Python and pip recognize ([`layout`]): its modules in
//! `site-packages`, a `{name}-{version}.dist-info/` holding `METADATA`, `INSTALLER` (`ocp`),
//! `RECORD` with hashes, `REQUESTED`, `entry_points.txt` (the `osiris.components` entries) and
//! `ocp_install.json` (the [`Receipt`]), and each component's spec at
//! `site-packages/components/<name>/spec.yaml`, where Osiris 0.5.x's `ComponentRegistry`
//! reads specs. `pip uninstall` removes all of it.
//!
//! - [`lock`]: the environment lock, shared for readers and exclusive for writers, taken on
//!   the environment's own folder so that it lives with the environment;
//! - [`Transaction`] (`transaction.rs`): every package that arrives or leaves is planned and
//!   staged first, checked for conflicts as a whole (`conflicts.rs`), described by a journal
//!   (`journal.rs`), then moved in place and committed once, together with the lock file;
//! - [`recover`] (`recovery.rs`): the undo and the roll-forward of a transaction, used by a
//!   failing command and, under the exclusive lock only, for one that a killed process left.
//!
//! Whenever a process dies, the environment is in the old state or the new one across all
//! packages of the command; `docs/transactions.md` walks through every crash point.
//!
//! Domain code: it never prints, and never runs Python or uv. The caller installs Python
//! requirements between [`Transaction::python_started`] and [`Transaction::python_finished`].

use std::fs;
use std::path::{Path, PathBuf};

use crate::model::normalize_name;
use crate::pyenv::{EnvError, PythonEnv};

mod additions;
mod conflicts;
mod journal;
pub mod layout;
pub mod lock;
mod recovery;
mod transaction;

pub use lock::{ExclusiveLock, SharedLock};
pub use recovery::{Outcome, Recovery, needs_recovery, recover};
pub use transaction::Transaction;

/// The prefix of a transaction's folder in `site-packages`.
const TXN_PREFIX: &str = ".ocp-txn-";

#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    #[error(
        "the component `{component}` is already provided by {owner}; two packages cannot provide one component"
    )]
    ComponentTaken { component: String, owner: String },
    #[error("`{path}` in site-packages already belongs to {owner}")]
    FileTaken { path: String, owner: String },
    #[error("`{name}` was installed by {installer}, not by ocp")]
    NotOurs { name: String, installer: String },
    #[error("`{name}` is not installed in `{env}`")]
    NotInstalled { name: String, env: PathBuf },
    #[error("{name} is changed twice in one transaction")]
    ChangedTwice { name: String },
    #[error("refusing to install it: {0}")]
    Refused(#[from] crate::intake::PlacementError),
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    #[error("the journal of an interrupted transaction, `{path}`, is unreadable: {reason}")]
    Journal { path: PathBuf, reason: String },
    #[error(
        "the change is committed, but ocp could not finish cleaning up; the next ocp command in this environment finishes it"
    )]
    Unfinished(#[source] Box<ActivateError>),
    #[error("failed to {action} `{path}`")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A test stopped the transaction here, as a kill would.
    #[cfg(test)]
    #[error("stopped by a test")]
    SimulatedKill,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ActivateError {
    let path = path.to_path_buf();
    move |source| ActivateError::Io {
        action,
        path,
        source,
    }
}

/// Where an installed package came from, kept in its dist-info as `ocp_install.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub key_id: String,
    pub index: String,
    pub requested: bool,
    pub components: Vec<String>,
    pub dependencies: Vec<String>,
}

/// The dist-info folder name of a distribution.
pub fn dist_info_name(name: &str, version: &str) -> String {
    format!(
        "{}-{version}.dist-info",
        normalize_name(name).replace('-', "_")
    )
}

/// The install receipts of every package ocp installed in `env`. The caller holds the
/// environment lock (shared is enough).
pub fn installed_receipts(env: &PythonEnv) -> Result<Vec<Receipt>, ActivateError> {
    let mut out = Vec::new();
    for installed in env.installed()? {
        if installed.installer.as_deref() != Some("ocp") {
            continue;
        }
        if let Some(receipt) = read_receipt(&installed.dist_info) {
            out.push(receipt);
        }
    }
    Ok(out)
}

/// Every distribution ocp installed in `env` (its `INSTALLER` says `ocp`), with its receipt,
/// `None` when the receipt is missing or unreadable. The caller holds the environment lock.
pub fn ocp_installed(
    env: &PythonEnv,
) -> Result<Vec<(crate::pyenv::Installed, Option<Receipt>)>, ActivateError> {
    Ok(env
        .installed()?
        .into_iter()
        .filter(|installed| installed.installer.as_deref() == Some("ocp"))
        .map(|installed| {
            let receipt = read_receipt(&installed.dist_info);
            (installed, receipt)
        })
        .collect())
}

fn read_receipt(dist_info: &Path) -> Option<Receipt> {
    fs::read_to_string(dist_info.join("ocp_install.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
}

/// The installed distribution called `name`, or the ocp package whose receipt lists the
/// component `name`.
fn find_installed<'i>(
    installed: &'i [crate::pyenv::Installed],
    name: &str,
) -> Option<&'i crate::pyenv::Installed> {
    let wanted = normalize_name(name);
    installed
        .iter()
        .find(|i| normalize_name(&i.name) == wanted)
        .or_else(|| {
            installed.iter().find(|i| {
                read_receipt(&i.dist_info).is_some_and(|r| r.components.iter().any(|c| c == name))
            })
        })
}

#[cfg(test)]
mod tests;
