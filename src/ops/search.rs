//! `ocp search` and `ocp info`: what an index holds.

use std::collections::BTreeSet;

use anyhow::Context;

use crate::error::helped;
use crate::index::format::IndexEntry;
use crate::index::{Index, owners};
use crate::model::{ComponentName, PackageName};
use crate::ops::owner::resolve_package;
use crate::ops::registry::{self, Freshness, IndexLocation};
use crate::policy::Policy;
use crate::shell::Shell;

/// One package found by `ocp search`.
#[derive(Debug)]
pub struct Hit {
    pub name: String,
    /// The newest version that is not yanked (or the newest of all when every one is).
    pub version: String,
    pub components: Vec<String>,
    pub osiris: String,
}

/// Packages whose name or components contain `text` (case-insensitive). The names come
/// from the index's listing (its folders, or its checkpoint's manifest), so only the files of
/// matching packages are read: over HTTP, a search fetches a few files, not the index.
pub fn search(
    shell: &mut Shell,
    location: &IndexLocation,
    freshness: Freshness,
    text: &str,
) -> anyhow::Result<Vec<Hit>> {
    let open = registry::open(location, freshness)?;
    open.report(shell)?;
    let index = &open.index;
    let needle = text.to_lowercase();
    let mut matched: BTreeSet<String> = index
        .package_names()?
        .into_iter()
        .filter(|name| name.contains(&needle))
        .collect();
    let components: Vec<ComponentName> = index
        .component_names()?
        .iter()
        .filter(|component| component.contains(&needle))
        .filter_map(|component| component.parse().ok())
        .collect();
    let records: Vec<String> = components.iter().map(Index::component_file).collect();
    index.reader().prefetch(&records);
    for component in &components {
        if let Some(package) = index.component_owner(component.as_str())? {
            matched.insert(package);
        }
    }
    let files: Vec<String> = matched
        .iter()
        .filter_map(|name| name.parse::<PackageName>().ok())
        .map(|name| Index::package_file(&name))
        .collect();
    index.reader().prefetch(&files);
    let mut hits = Vec::new();
    for name in matched {
        let entries = index.entries(&name)?;
        let Some(newest) = newest(&entries) else {
            continue;
        };
        hits.push(Hit {
            name,
            version: newest.version.clone(),
            components: newest.components.clone(),
            osiris: newest.osiris.clone(),
        });
    }
    Ok(hits)
}

/// The newest version not yanked, else the newest.
pub fn newest(entries: &[IndexEntry]) -> Option<&IndexEntry> {
    let key = |e: &&IndexEntry| e.version.parse::<crate::model::PackageVersion>().ok();
    entries
        .iter()
        .filter(|e| !e.yanked)
        .max_by_key(key)
        .or_else(|| entries.iter().max_by_key(key))
}

/// Everything `ocp info` shows about one package.
#[derive(Debug)]
pub struct Info {
    pub name: String,
    /// Every version, newest first.
    pub versions: Vec<IndexEntry>,
    pub owners: Vec<String>,
    /// What the plugin policy says of each version, in the order of `versions`.
    pub verdicts: Vec<Verdict>,
}

/// The plugin policy's verdict on one version, decided on its signed fields only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refused, with the rule and where it is written.
    Refused {
        rule: &'static str,
        reason: String,
    },
    /// Its entry is not what its owners signed, so the policy cannot judge it (and ocp
    /// would not install it).
    Unverified(String),
}

pub fn info(
    shell: &mut Shell,
    location: &IndexLocation,
    freshness: Freshness,
    query: &str,
    policy: &Policy,
) -> anyhow::Result<Info> {
    let open = registry::open(location, freshness)?;
    open.report(shell)?;
    let index: &Index = &open.index;
    let name = resolve_package(index, query).map_err(|_| {
        helped(
            format!(
                "there is no package or component `{query}` in the index `{}`",
                location.name
            ),
            format!(
                "look for it with `ocp search {}`",
                query.split(['.', '-']).next().unwrap_or(query)
            ),
        )
    })?;
    let mut versions = index.entries(&name)?;
    versions
        .sort_by_key(|e| std::cmp::Reverse(e.version.parse::<crate::model::PackageVersion>().ok()));
    let events = index.events(&name)?;
    let owners = owners::replay(&name, &events)
        .with_context(|| format!("the owner log of `{name}` is invalid"))?;
    let verdicts = versions
        .iter()
        .map(
            |entry| match crate::index::trust::check_entry(entry, &owners) {
                Err(error) => Verdict::Unverified(error.to_string()),
                Ok(_) => match policy.check_entry(entry) {
                    Ok(()) => Verdict::Allowed,
                    Err(refusal) => Verdict::Refused {
                        rule: refusal.rule(),
                        reason: refusal.to_string(),
                    },
                },
            },
        )
        .collect();
    Ok(Info {
        name,
        versions,
        owners: owners.current.keys().cloned().collect(),
        verdicts,
    })
}
