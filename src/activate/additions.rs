//! The distributions that installing Python requirements added during a transaction, and
//! how an undo takes them out again.
//!
//! The caller installs requirements without letting the installer change any distribution
//! that is already there (it pins them), so what the installer did is exactly the dist-info
//! folders that are new since the transaction was prepared. Each is uninstalled as pip
//! does: every file its RECORD lists (scripts in `bin/` too, never anything outside the
//! environment), then the dist-info itself.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::layout::record_entries;
use super::recovery::{Steps, remove_empty_dirs, remove_tree};
use super::{ActivateError, io};
use crate::pyenv::PythonEnv;

/// The dist-info folders in `site`, sorted.
pub(super) fn distribution_dirs(site: &Path) -> Result<Vec<String>, ActivateError> {
    let mut out: Vec<String> = fs::read_dir(site)
        .map_err(io("read", site))?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .filter(|name| name.ends_with(".dist-info"))
        .collect();
    out.sort();
    Ok(out)
}

/// Uninstalls the distributions whose dist-info folders are `added`.
pub(super) fn uninstall(
    env: &PythonEnv,
    added: &[String],
    steps: &Steps,
) -> Result<(), ActivateError> {
    let resolved = |path: &Path| std::path::absolute(path).ok().and_then(|p| lexical(&p));
    let (Some(root), Some(site)) = (resolved(&env.root), resolved(&env.site_packages)) else {
        return Err(ActivateError::NotInstalled {
            name: added.join(", "),
            env: env.root.clone(),
        });
    };
    for name in added {
        let dist_info = site.join(name);
        if !dist_info.is_dir() {
            continue;
        }
        let mut removed = Vec::new();
        for entry in record_entries(&dist_info)? {
            let Some(path) = lexical(&site.join(&entry)) else {
                continue;
            };
            if !path.starts_with(&root) || path == root || path.starts_with(&dist_info) {
                continue;
            }
            steps.step()?;
            match fs::remove_file(&path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(ActivateError::Io {
                        action: "remove",
                        path,
                        source: error,
                    });
                }
                _ => {}
            }
            if let Ok(relative) = path.strip_prefix(&site) {
                removed.push(relative.to_string_lossy().into_owned());
            }
        }
        steps.step()?;
        remove_tree(&dist_info)?;
        remove_empty_dirs(&site, removed.iter());
    }
    Ok(())
}

/// An absolute `path` with `.` and `..` resolved as text; `None` if it climbs above `/`.
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}
