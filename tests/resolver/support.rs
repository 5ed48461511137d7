//! Shared by the resolver tests: building index entries, and an independent check that a
//! resolution satisfies every constraint. The check uses `pep440_rs`'s own `contains`, not
//! the resolver's interval conversion, so a bug in that conversion shows up here.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::str::FromStr;

use ocp::index::format::{EntryDependency, IndexEntry};
use ocp::resolve::{Request, Requirement, Resolution, ResolveOptions};
use pep440_rs::{Version, VersionSpecifiers};

/// An entry with the fields the resolver reads; the rest are placeholders. It provides
/// `{family}.extractor` (set `components` for others).
pub fn entry(
    name: &str,
    version: &str,
    dependencies: &[(&str, &str)],
    osiris: &str,
    python: &str,
    yanked: bool,
) -> IndexEntry {
    IndexEntry {
        name: name.to_owned(),
        version: version.to_owned(),
        components: vec![format!("{}.extractor", name.trim_end_matches("-osiris"))],
        dependencies: dependencies
            .iter()
            .map(|(name, requirement)| EntryDependency {
                name: (*name).to_owned(),
                requirement: (*requirement).to_owned(),
            })
            .collect(),
        osiris: osiris.to_owned(),
        python: python.to_owned(),
        python_dependencies: Vec::new(),
        sha256: "0".repeat(64),
        signature: String::new(),
        key_id: "0123456789ABCDEF".to_owned(),
        yanked,
        published: "2026-01-01T00:00:00Z".to_owned(),
        oci_manifest: None,
    }
}

fn contains(specifiers: &str, version: &Version) -> Result<bool, String> {
    if specifiers.trim().is_empty() {
        return Ok(true);
    }
    VersionSpecifiers::from_str(specifiers)
        .map(|specifiers| specifiers.contains(version))
        .map_err(|error| format!("`{specifiers}`: {error}"))
}

/// The package that answers a requirement: its name, or for a component request the chosen
/// package that provides the component.
fn package_of<'a>(requirement: &'a Requirement, resolution: &'a Resolution) -> &'a str {
    match requirement.asked_component() {
        Some(component) => resolution
            .packages
            .iter()
            .find(|(_, package)| package.entry.components.iter().any(|c| c == component))
            .map_or(requirement.name(), |(name, _)| name.as_str()),
        None => requirement.name(),
    }
}

/// Every way `resolution` breaks the request's constraints; empty when it keeps them all.
pub fn violations(
    request: &Request,
    options: &ResolveOptions,
    resolution: &Resolution,
) -> Vec<String> {
    let mut problems = Vec::new();
    let chosen: BTreeMap<&str, &Version> = resolution.versions();
    let mut needed: Vec<&str> = Vec::new();
    for requirement in &request.requirements {
        let name = package_of(requirement, resolution);
        needed.push(name);
        match (chosen.get(name), resolution.packages.get(name)) {
            (Some(version), Some(package)) => {
                if contains(&requirement.specifiers(), version) != Ok(true) {
                    problems.push(format!("{name} {version} breaks `{requirement}`"));
                }
                for component in requirement.components() {
                    if !package.entry.components.contains(component) {
                        problems.push(format!(
                            "{name} {version} does not provide {component}, which `{requirement}` needs"
                        ));
                    }
                }
            }
            _ => problems.push(format!("{requirement} was asked for but not chosen")),
        }
    }
    for (name, package) in &resolution.packages {
        let entry = &package.entry;
        let version = &package.version;
        if entry.version.parse::<Version>().ok().as_ref() != Some(version) {
            problems.push(format!(
                "{name}: entry version {} is not {version}",
                entry.version
            ));
        }
        for dependency in &entry.dependencies {
            needed.push(&dependency.name);
            match chosen.get(dependency.name.as_str()) {
                None => problems.push(format!(
                    "{name} {version} needs {} but it was not chosen",
                    dependency.name
                )),
                Some(chosen_version) => {
                    if contains(&dependency.requirement, chosen_version) != Ok(true) {
                        problems.push(format!(
                            "{name} {version} needs {} {} but {chosen_version} was chosen",
                            dependency.name, dependency.requirement
                        ));
                    }
                }
            }
        }
        if contains(&entry.osiris, &request.osiris) != Ok(true) {
            problems.push(format!(
                "{name} {version} needs osiris {} but the environment has {}",
                entry.osiris, request.osiris
            ));
        }
        if contains(&entry.python, &request.python) != Ok(true) {
            problems.push(format!(
                "{name} {version} needs python {} but the environment has {}",
                entry.python, request.python
            ));
        }
        let locked = request.preferences.get(name.as_str()) == Some(version);
        if entry.yanked && !locked {
            problems.push(format!("{name} {version} is yanked and not locked"));
        }
        let asked_for_prerelease = request.requirements.iter().any(|requirement| {
            package_of(requirement, resolution) == name
                && VersionSpecifiers::from_str(&requirement.specifiers())
                    .map(|specifiers| specifiers.iter().any(|s| s.version().any_prerelease()))
                    .unwrap_or(false)
        });
        if version.any_prerelease()
            && !locked
            && !options.allow_prereleases
            && !asked_for_prerelease
        {
            problems.push(format!(
                "{name} {version} is a pre-release nobody asked for"
            ));
        }
    }
    for name in chosen.keys() {
        if !needed.contains(name) {
            problems.push(format!("{name} was chosen but nothing needs it"));
        }
    }
    problems
}
