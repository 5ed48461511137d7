//! The first stage of the site: the index read into packages, each with its versions (newest
//! first), whether each version's signature verified (by the index's own check,
//! [`crate::index::trust::check_entry`], against the replayed owner log), which Osiris
//! releases each version's range admits, its current owners, and the details read from the
//! tarball of its featured version. Packages are read in parallel.
//!
//! Nothing here stops the site: a package that cannot be read, a component claimed by another
//! package, a tarball out of reach are [`Problem`]s, shown on the page where they apply and
//! returned to the caller to report.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use rayon::prelude::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::details::{self, Details, TarballAccess};
use crate::index::format::IndexEntry;
use crate::index::{Index, owners};
use crate::model::{ComponentName, PackageVersion};
use crate::progress::Reporter;

/// The osiris-pipeline releases on PyPI when this ocp was made, oldest first: the columns of
/// the compatibility matrix and the choices of the Osiris filter, unless the caller names
/// others.
pub const OSIRIS_RELEASES: &[&str] = &[
    "0.5.1", "0.5.2", "0.5.3", "0.5.4", "0.5.5", "0.5.6", "0.5.7",
];

/// A release holds the maintained badge this long after its publication.
pub const MAINTAINED_DAYS: i64 = 365;

/// Something the site could not show as it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub package: String,
    pub message: String,
}

/// Where a package stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// An installable version published within [`MAINTAINED_DAYS`] of the site's date.
    Maintained,
    /// Installable, but its newest installable version is older than that.
    Stale,
    /// Every version is yanked: nothing new installs it.
    Yanked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Maintained => "maintained",
            Status::Stale => "stale",
            Status::Yanked => "yanked",
        }
    }

    pub const ALL: [Status; 3] = [Status::Maintained, Status::Stale, Status::Yanked];
}

/// One published version.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub entry: IndexEntry,
    /// `Err` says why the signature does not verify.
    pub signature: Result<(), String>,
    /// For each Osiris release (in the catalog's order), whether the version's range admits it.
    pub osiris_fits: Vec<bool>,
    /// The date part of `published`.
    pub date: String,
}

/// A current owner of a package.
#[derive(Debug, Clone)]
pub struct Owner {
    pub key_id: String,
    pub public_key: String,
}

/// One package and everything its pages show.
#[derive(Debug, Clone)]
pub struct PackageView {
    pub name: String,
    /// Newest first.
    pub versions: Vec<VersionView>,
    /// The version the pages describe: the newest not yanked, else the newest.
    pub featured: usize,
    /// The components of the featured version that this package owns, sorted.
    pub components: Vec<ComponentName>,
    pub owners: Result<Vec<Owner>, String>,
    pub details: Result<Details, String>,
    pub status: Status,
    /// For each Osiris release, whether some installable version admits it.
    pub compatible: Vec<bool>,
}

impl PackageView {
    pub fn featured(&self) -> &VersionView {
        &self.versions[self.featured]
    }
}

/// Everything the pages are made from.
#[derive(Debug)]
pub struct Catalog {
    /// Oldest first, as given.
    pub osiris_releases: Vec<String>,
    /// Sorted by name.
    pub packages: Vec<PackageView>,
    pub problems: Vec<Problem>,
}

impl Catalog {
    /// Every component with its package, sorted by component name.
    pub fn components(&self) -> Vec<(&ComponentName, &PackageView)> {
        let mut all: Vec<_> = self
            .packages
            .iter()
            .flat_map(|package| package.components.iter().map(move |c| (c, package)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }
}

/// Parses Osiris release numbers given by the user (`0.5.7`).
pub fn parse_releases(texts: &[String]) -> Result<Vec<Version>, String> {
    let mut releases = texts
        .iter()
        .map(|text| {
            Version::from_str(text.trim())
                .map_err(|error| format!("`{text}` is not an Osiris version: {error}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    releases.sort();
    releases.dedup();
    Ok(releases)
}

/// Reads every package of `index`.
pub fn collect(
    index: &Index,
    releases: &[Version],
    today: OffsetDateTime,
    access: &TarballAccess,
    reporter: &dyn Reporter,
) -> Result<Catalog, crate::index::IndexError> {
    let names = index.package_names()?;
    reporter.start(names.len());
    let results: Vec<(Option<PackageView>, Vec<Problem>)> = names
        .par_iter()
        .map(|name| {
            let outcome = package(index, name, releases, today, access);
            reporter.item_done(name, true);
            outcome
        })
        .collect();
    reporter.finish();
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    for (package, found) in results {
        packages.extend(package);
        problems.extend(found);
    }
    Ok(Catalog {
        osiris_releases: releases.iter().map(ToString::to_string).collect(),
        packages,
        problems,
    })
}

fn package(
    index: &Index,
    name: &str,
    releases: &[Version],
    today: OffsetDateTime,
    access: &TarballAccess,
) -> (Option<PackageView>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut problem = |message: String| {
        problems.push(Problem {
            package: name.to_owned(),
            message,
        })
    };
    let entries = match index.entries(name) {
        Ok(entries) if entries.is_empty() => return (None, Vec::new()),
        Ok(entries) => entries,
        Err(error) => {
            problem(format!("left out: {error}"));
            return (None, problems);
        }
    };
    let owners = index
        .events(name)
        .map_err(|error| error.to_string())
        .and_then(|events| owners::replay(name, &events).map_err(|error| error.to_string()));
    let foreign = entries.iter().filter(|entry| entry.name != name).count();
    if foreign > 0 {
        problem(format!(
            "{foreign} entr{} of its file name{} another package and {} left out",
            if foreign == 1 { "y" } else { "ies" },
            if foreign == 1 { "s" } else { "" },
            if foreign == 1 { "is" } else { "are" },
        ));
    }
    let mut versions: Vec<VersionView> = entries
        .into_iter()
        .filter(|entry| entry.name == name)
        .map(|entry| {
            let signature = match &owners {
                Err(reason) => Err(format!("the owner log is invalid: {reason}")),
                Ok(owners) => crate::index::trust::check_entry(&entry, owners)
                    .map(|_| ())
                    .map_err(|error| error.to_string()),
            };
            let range = VersionSpecifiers::from_str(&entry.osiris).ok();
            let osiris_fits = releases
                .iter()
                .map(|release| range.as_ref().is_some_and(|range| range.contains(release)))
                .collect();
            let date = entry.published.get(..10).unwrap_or_default().to_owned();
            VersionView {
                entry,
                signature,
                osiris_fits,
                date,
            }
        })
        .collect();
    if versions.is_empty() {
        return (None, problems);
    }
    versions
        .sort_by_cached_key(|v| std::cmp::Reverse(v.entry.version.parse::<PackageVersion>().ok()));
    let featured = versions
        .iter()
        .position(|v| !v.entry.yanked)
        .unwrap_or_default();
    let mut components = Vec::new();
    for component in &versions[featured].entry.components {
        let parsed = match component.parse::<ComponentName>() {
            Ok(parsed) => parsed,
            Err(error) => {
                problem(format!("component left out: {error}"));
                continue;
            }
        };
        match index.component_owner(parsed.as_str()) {
            Ok(Some(owner)) if owner != name => problem(format!(
                "component `{parsed}` left out: it belongs to `{owner}`"
            )),
            Err(error) => problem(format!("component `{parsed}` left out: {error}")),
            Ok(_) => components.push(parsed),
        }
    }
    components.sort();
    components.dedup();
    let details = details::load(index, &versions[featured].entry, access);
    if let Err(reason) = &details {
        problem(format!(
            "no README or spec shown for {}: {reason}",
            versions[featured].entry.version
        ));
    }
    let installable: Vec<&VersionView> = versions.iter().filter(|v| !v.entry.yanked).collect();
    let status = match installable.first() {
        None => Status::Yanked,
        Some(newest) => {
            let published = OffsetDateTime::parse(&newest.entry.published, &Rfc3339).ok();
            match published {
                Some(at) if (today - at).whole_days() <= MAINTAINED_DAYS => Status::Maintained,
                _ => Status::Stale,
            }
        }
    };
    let compatible = (0..releases.len())
        .map(|at| installable.iter().any(|v| v.osiris_fits[at]))
        .collect();
    let owners = owners.map(|owners| {
        owners
            .current
            .iter()
            .map(|(key_id, key)| Owner {
                key_id: key_id.clone(),
                public_key: key.to_base64(),
            })
            .collect()
    });
    let view = PackageView {
        name: name.to_owned(),
        versions,
        featured,
        components,
        owners,
        details,
        status,
        compatible,
    };
    (Some(view), problems)
}
