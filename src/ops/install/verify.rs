//! Stage 4, fetch and verify: every tarball the plan needs, downloaded into the cache (or
//! found there) and checked against the index entry's sha256, then against its owner's
//! signature. Nothing is unpacked before every tarball has passed.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::plan::InstallPlan;
use super::request::LocalTarball;
use super::{Change, InstallOpts};
use crate::error::helped;
use crate::fetch::{self, Cache, FetchItem, FetchOptions};
use crate::index::format::IndexEntry;
use crate::index::{Index, owners};
use crate::ops::registry::Freshness;

/// A tarball that passed every check, for one change of the plan.
#[derive(Debug, Clone)]
pub struct Verified<'p> {
    pub change: &'p Change,
    pub tarball: PathBuf,
}

/// Downloads and checks the tarball of every change in `plan`.
pub fn fetch_and_verify<'p>(
    index: &Index,
    plan: &'p InstallPlan,
    locals: &[LocalTarball],
    opts: &InstallOpts,
) -> anyhow::Result<Vec<Verified<'p>>> {
    let local = |change: &Change| locals.iter().find(|l| l.entry.name == change.name);
    let cache = Cache::new(opts.home.join("cache"));
    let mut items = Vec::new();
    for change in plan.changes.iter().filter(|c| local(c).is_none()) {
        let sha256 = change.entry.sha256.parse().map_err(|_| {
            helped(
                format!(
                    "the index entry of {} {} has an invalid sha256",
                    change.name, change.version
                ),
                "tell the index's maintainers; `ocp index verify` finds it",
            )
        })?;
        items.push(FetchItem {
            name: change.name.clone(),
            version: change.version.clone(),
            location: index.entry_location(&change.entry),
            sha256,
        });
    }
    let mut fetch_options = FetchOptions::new(index.root());
    fetch_options.offline = opts.freshness == Freshness::Offline;
    fetch_options.registry = opts.registry_login.clone();
    let fetched = fetch::fetch_all(&cache, &items, &fetch_options, opts.reporter.as_ref())
        .map_err(|error| match (error.help(), &error) {
            // The registry's own error is the cause worth showing.
            (Some(help), fetch::FetchError::Registry { .. }) => {
                crate::error::with_help(error, help)
            }
            (Some(help), _) => helped(error.to_string(), help),
            (None, _) => anyhow::Error::new(error),
        })?;
    let mut fetched = fetched.into_iter();
    let mut out = Vec::new();
    for change in &plan.changes {
        let tarball = match local(change) {
            // Checked against the trusted keys when it was read.
            Some(local) => local.path.clone(),
            None => {
                let Some(tarball) = fetched.next() else { break };
                verify_signature(index, &change.entry, &tarball.path)?;
                tarball.path
            }
        };
        out.push(Verified { change, tarball });
    }
    Ok(out)
}

/// Checks that an owner of the package signed exactly this tarball and every field of its
/// entry.
fn verify_signature(index: &Index, entry: &IndexEntry, tarball: &Path) -> anyhow::Result<()> {
    let events = index.events(&entry.name)?;
    let owners = owners::replay(&entry.name, &events)
        .with_context(|| format!("the owner log of `{}` is invalid", entry.name))?;
    let file = std::fs::File::open(tarball)
        .with_context(|| format!("failed to open `{}`", tarball.display()))?;
    crate::index::trust::check_tarball(entry, &owners, file).map_err(|error| {
        helped(
            format!(
                "refusing to install {} {}: {error}",
                entry.name, entry.version
            ),
            "nothing was installed; the index or the tarball was tampered with, or the package was signed by a key that does not own it",
        )
    })
}
