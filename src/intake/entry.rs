//! A stored package must be the package its index entry describes: the entry is what the
//! resolver chose from (name, version, components, dependencies, Python requirements, the
//! Osiris and Python ranges), and the tarball is what gets installed, so any difference
//! between them is refused. Ranges are compared as parsed specifiers, lists as sets.

use std::collections::BTreeSet;
use std::str::FromStr;

use crate::index::format::IndexEntry;
use crate::model::{PackageVersion, normalize_name};

use super::IntakeError;
use super::manifest::{CheckedManifest, range_text};

/// Refuses a package whose manifest says something other than `entry`.
pub fn check_entry(manifest: &CheckedManifest, entry: &IndexEntry) -> Result<(), IntakeError> {
    let mismatch = |field: &'static str, entry: String, tarball: String| {
        Err(IntakeError::EntryMismatch {
            field,
            entry,
            tarball,
        })
    };
    if normalize_name(&entry.name) != manifest.name.normalized() {
        return mismatch(
            "the package",
            format!("`{}`", entry.name.escape_debug()),
            format!("holds `{}`", manifest.name),
        );
    }
    if PackageVersion::from_str(&entry.version).ok().as_ref() != Some(&manifest.version) {
        return mismatch(
            "version",
            format!("`{}`", entry.version.escape_debug()),
            format!("holds version `{}`", manifest.version),
        );
    }
    let listed = |items: Vec<String>| {
        let set: BTreeSet<String> = items.into_iter().collect();
        let text = set
            .iter()
            .map(|item| format!("`{}`", item.escape_debug()))
            .collect::<Vec<_>>()
            .join(", ");
        (
            set,
            if text.is_empty() {
                "none".to_owned()
            } else {
                text
            },
        )
    };
    let comparisons: [(&'static str, &'static str, Vec<String>, Vec<String>); 3] = [
        (
            "components",
            "provides",
            entry.components.clone(),
            manifest
                .components
                .iter()
                .map(|c| c.name.to_string())
                .collect(),
        ),
        (
            "dependencies",
            "needs",
            entry
                .dependencies
                .iter()
                .map(|d| dependency_text(&d.name, &d.requirement))
                .collect(),
            manifest
                .dependencies
                .iter()
                .map(|d| format!("{}{}", d.name, range_text(&d.requirement)))
                .collect(),
        ),
        (
            "Python requirements",
            "needs",
            entry
                .python_dependencies
                .iter()
                .map(|r| r.trim().to_owned())
                .collect(),
            manifest
                .python_dependencies
                .iter()
                .map(ToString::to_string)
                .collect(),
        ),
    ];
    for (field, verb, entry_items, tarball_items) in comparisons {
        let (entry_set, entry_text) = listed(entry_items);
        let (tarball_set, tarball_text) = listed(tarball_items);
        if entry_set != tarball_set {
            return mismatch(field, entry_text, format!("{verb} {tarball_text}"));
        }
    }
    for (field, entry_range, tarball_range) in [
        ("the Osiris range", &entry.osiris, &manifest.osiris),
        ("the Python range", &entry.python, &manifest.python),
    ] {
        let entry_text = pep440_rs::VersionSpecifiers::from_str(entry_range)
            .map(|range| range_text(&range))
            .unwrap_or_else(|_| format!("{entry_range} (invalid)"));
        let tarball_text = range_text(tarball_range);
        if entry_text != tarball_text {
            return mismatch(
                field,
                format!("`{}`", entry_text.escape_debug()),
                format!("says `{tarball_text}`"),
            );
        }
    }
    Ok(())
}

/// A dependency as `name` plus its parsed range, so `>=1.0, <2` and `>=1.0,<2` agree.
fn dependency_text(name: &str, requirement: &str) -> String {
    let range = pep440_rs::VersionSpecifiers::from_str(requirement)
        .map(|range| range_text(&range))
        .unwrap_or_else(|_| format!("{requirement} (invalid)"));
    format!("{}{range}", normalize_name(name))
}
