//! What a transaction may not do to other distributions: give a component that another
//! distribution provides to a second one, or put a file where another distribution's file
//! is. Checked once for the whole transaction, so a file or a component that one package
//! leaves and another takes in the same command is not a conflict.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use super::ActivateError;
use super::layout::record_paths;
use crate::check::ENTRY_POINT_GROUP;
use crate::model::normalize_name;
use crate::pyenv::{Installed, PythonEnv};

/// A package a transaction moves in.
#[derive(Debug, Clone)]
pub(super) struct Arriving {
    /// As its manifest writes it.
    pub name: String,
    pub version: String,
    /// The components its manifest declares, which its entry points and specs provide.
    pub components: Vec<String>,
    pub dist_info: String,
    /// Files outside the dist-info, relative to site-packages.
    pub files: Vec<String>,
}

/// An installed distribution a transaction moves out.
#[derive(Debug, Clone)]
pub(super) struct Leaving {
    /// Normalized.
    pub name: String,
    pub dist_info: String,
    /// Files outside the dist-info that are there, relative to site-packages.
    pub files: Vec<String>,
}

/// Refuses a transaction that would take another distribution's component or file.
pub(super) fn check(
    env: &PythonEnv,
    installed: &[Installed],
    arriving: &[Arriving],
    leaving: &[Leaving],
) -> Result<(), ActivateError> {
    let site = &env.site_packages;
    let leaving_names: BTreeSet<&str> = leaving.iter().map(|l| l.name.as_str()).collect();
    let freed: BTreeSet<&str> = leaving
        .iter()
        .flat_map(|l| l.files.iter().chain([&l.dist_info]))
        .map(String::as_str)
        .collect();
    let label = |a: &Arriving| format!("`{}` {}", a.name, a.version);

    // Every staying distribution's entry points, read once for all components.
    let mut declared: Vec<(String, String)> = Vec::new();
    for other in installed {
        if leaving_names.contains(normalize_name(&other.name).as_str()) {
            continue;
        }
        if let Ok(text) = fs::read_to_string(other.dist_info.join("entry_points.txt")) {
            declared.push((format!("`{}` {}", other.name, other.version), text));
        }
    }
    let mut claimed: BTreeMap<&str, &Arriving> = BTreeMap::new();
    for package in arriving {
        for component in &package.components {
            let taken = |owner: String| ActivateError::ComponentTaken {
                component: component.clone(),
                owner,
            };
            if let Some(other) = claimed.insert(component, package) {
                return Err(taken(label(other)));
            }
            let spec = format!("components/{component}/spec.yaml");
            if site.join(&spec).exists() && !freed.contains(spec.as_str()) {
                return Err(taken(owner_of(installed, &spec)?.unwrap_or_else(|| {
                    "Osiris itself (a built-in component)".to_owned()
                })));
            }
            if let Some((owner, _)) = declared.iter().find(|(_, text)| declares(text, component)) {
                return Err(taken(owner.clone()));
            }
        }
    }

    let mut placed: BTreeMap<&str, &Arriving> = BTreeMap::new();
    for package in arriving {
        for path in package.files.iter().chain([&package.dist_info]) {
            let taken = |owner: String| ActivateError::FileTaken {
                path: path.clone(),
                owner,
            };
            if let Some(other) = placed.insert(path, package) {
                return Err(taken(label(other)));
            }
            let target = site.join(path);
            if (target.exists() || target.is_symlink()) && !freed.contains(path.as_str()) {
                return Err(taken(
                    owner_of(installed, path)?.unwrap_or_else(|| "another installer".to_owned()),
                ));
            }
        }
    }
    Ok(())
}

/// The distribution whose RECORD lists `relative` (or whose dist-info it is).
fn owner_of(installed: &[Installed], relative: &str) -> Result<Option<String>, ActivateError> {
    for installed in installed {
        let own_folder = installed
            .dist_info
            .file_name()
            .is_some_and(|name| name.to_string_lossy() == relative);
        if own_folder
            || record_paths(&installed.dist_info)?
                .iter()
                .any(|p| p == relative)
        {
            return Ok(Some(format!("`{}` {}", installed.name, installed.version)));
        }
    }
    Ok(None)
}

/// True when an entry_points.txt declares `component` in the Osiris group.
pub(super) fn declares(text: &str, component: &str) -> bool {
    let mut in_group = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_group = line == format!("[{ENTRY_POINT_GROUP}]");
        } else if in_group && line.split('=').next().map(str::trim) == Some(component) {
            return true;
        }
    }
    false
}
