//! What an OCP may do to an environment beyond its own files (which
//! [`CheckedManifest::installed_files`](super::CheckedManifest::installed_files) lists): it
//! never replaces or upgrades a distribution that ocp did not install (an OCP named `pip`
//! must not "upgrade" pip), and it never installs a top-level import package or module that
//! another distribution owns (by its RECORD or `top_level.txt`), so it cannot add files to
//! another distribution's folder or shadow its modules.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::model::normalize_name;
use crate::pyenv::{EnvError, PythonEnv};

use super::CheckedManifest;

/// The `INSTALLER` ocp writes.
const OCP_INSTALLER: &str = "ocp";

/// Why a package may not go into an environment.
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error(
        "`{name}` {version} in this environment was installed by {installer}, not by ocp; ocp never replaces a distribution it did not install"
    )]
    NotOurs {
        name: String,
        version: String,
        installer: String,
    },
    #[error("it would install the top-level module `{module}`, which belongs to {owner}")]
    ModuleTaken { module: String, owner: String },
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("failed to read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Refuses a package that would replace another installer's distribution or take another
/// distribution's top-level names.
pub fn check_environment(
    env: &PythonEnv,
    manifest: &CheckedManifest,
) -> Result<(), PlacementError> {
    let own = manifest.name.normalized();
    for installed in env.installed()? {
        if normalize_name(&installed.name) == own {
            if installed.installer.as_deref() != Some(OCP_INSTALLER) {
                return Err(PlacementError::NotOurs {
                    name: installed.name,
                    version: installed.version,
                    installer: installed
                        .installer
                        .map_or_else(|| "an unknown installer".to_owned(), |i| format!("`{i}`")),
                });
            }
            continue;
        }
        let taken = top_level_names(&installed.dist_info)?;
        if let Some(module) = manifest.code.packages.iter().find(|p| taken.contains(*p)) {
            return Err(PlacementError::ModuleTaken {
                module: module.clone(),
                owner: format!("`{}` {}", installed.name, installed.version),
            });
        }
    }
    Ok(())
}

/// The top-level import names a distribution installed: the first part of every path in its
/// RECORD (without `.py`), and the lines of its `top_level.txt`.
fn top_level_names(dist_info: &Path) -> Result<BTreeSet<String>, PlacementError> {
    let mut names = BTreeSet::new();
    let paths = crate::record::paths(dist_info).map_err(|source| PlacementError::Read {
        path: dist_info.join("RECORD"),
        source,
    })?;
    for path in paths {
        let first = path.split('/').next().unwrap_or_default();
        let is_metadata = [".dist-info", ".data", ".egg-info"]
            .iter()
            .any(|suffix| first.ends_with(suffix));
        if first.is_empty() || is_metadata || first == "__pycache__" {
            continue;
        }
        let module = first.strip_suffix(".py").unwrap_or(first);
        names.insert(module.to_owned());
    }
    if let Ok(text) = std::fs::read_to_string(dist_info.join("top_level.txt")) {
        names.extend(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(names)
}
