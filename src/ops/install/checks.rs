//! Checks that `ocp install` makes between its stages, kept apart from the stages
//! themselves: a locked version whose bytes or signer changed (refused even without
//! `--locked`), and the Python requirements handed to uv or pip, taken from the packages'
//! parsed manifests rather than from index text.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::helped;
use crate::lockfile::{self, Lockfile};
use crate::store::StoredPackage;

/// Refuses when a version that the lock file keeps (`kept`: the packages the user did not let
/// go with `ocp update`) now resolves to other bytes or another signer.
pub fn refuse_rewritten_versions(
    old: Option<&Lockfile>,
    new: &Lockfile,
    kept: &BTreeSet<String>,
    path: &Path,
) -> anyhow::Result<()> {
    let Some(old) = old else {
        return Ok(());
    };
    let found: Vec<lockfile::Rewritten> = lockfile::rewritten(old, new)
        .into_iter()
        .filter(|rewritten| kept.contains(&rewritten.name))
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = found.iter().map(|r| format!("  {r}")).collect();
    let names: Vec<&str> = found.iter().map(|r| r.name.as_str()).collect();
    Err(helped(
        format!(
            "the index changed a version that `{}` locks, and a published version never changes:\n{}",
            path.display(),
            lines.join("\n")
        ),
        format!(
            "nothing was installed; the index or its storage may have been tampered with. If the owner re-published it on purpose and you trust that, accept it with `ocp update {}`",
            names.join(" ")
        ),
    ))
}

/// The Python requirements of the packages to install, each once, in order.
pub fn python_requirements<'a>(
    packages: impl IntoIterator<Item = &'a StoredPackage>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for package in packages {
        for requirement in &package.manifest.python_dependencies {
            let text = requirement.to_string();
            if !out.contains(&text) {
                out.push(text);
            }
        }
    }
    out
}
