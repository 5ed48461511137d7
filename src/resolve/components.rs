//! Requests by component. `ocp install shopify.extractor` asks for "some version of a
//! package that provides `shopify.extractor`", so:
//!
//! - the packages that provide it come from the source ([`EntrySource::component_packages`]),
//!   the one whose newest version still provides it first;
//! - only versions whose entry lists the component satisfy the request ([`providing_range`]),
//!   so a package that dropped the component in 0.2.0 resolves to 0.1.0, never to a version
//!   that would remove the component the user asked for;
//! - the resolution says why it did not take the newest version ([`notes`]): "acme.extractor
//!   is provided by acme-osiris up to 0.1.0; 0.2.0 no longer provides it", or that the
//!   component moved to another package.
//!
//! A package requirement can carry components too (`ocp update` keeps the components a
//! locked package provided); the same range and notes apply.

use std::rc::Rc;

use pep440_rs::Version;
use pubgrub::Ranges;

use super::provider::{Candidate, Provider, ProviderError};
use super::request::Requirement;
use super::source::EntrySource;
use super::words::version_words;
use super::{Request, ResolveError};

/// How many choices of providing packages are tried before giving up with the first failure.
const MAX_BINDINGS: usize = 8;

/// For each requirement of `request`, the packages that may answer it: the package itself for
/// a package requirement; for a component request, the providers, preferred first (those
/// whose newest version still provides the component). `Err` when a component has none.
pub(super) fn providers(
    source: &dyn EntrySource,
    request: &Request,
) -> Result<Vec<Vec<String>>, ResolveError> {
    let mut all = Vec::new();
    for requirement in &request.requirements {
        let Some(component) = requirement.asked_component() else {
            all.push(vec![requirement.name().to_owned()]);
            continue;
        };
        let mut found: Vec<(bool, String)> = Vec::new();
        for package in source.component_packages(component)? {
            let mut entries = source.entries(&package)?;
            entries.retain(|entry| !entry.yanked);
            let newest = entries
                .iter()
                .filter_map(|entry| Some((entry.version.parse::<Version>().ok()?, entry)))
                .filter(|(version, _)| !version.any_prerelease())
                .max_by(|a, b| a.0.cmp(&b.0));
            let still_provides = newest.is_some_and(|(_, entry)| requirement.is_provided_by(entry));
            found.push((!still_provides, package));
        }
        if found.is_empty() {
            return Err(ResolveError::NoSolution {
                explanation: format!(
                    "no set of versions satisfies the request:\n  - you asked for {requirement}\n  - no package in the index provides {component}"
                ),
                suggestions: Vec::new(),
            });
        }
        found.sort();
        all.push(found.into_iter().map(|(_, package)| package).collect());
    }
    Ok(all)
}

/// The requests to try, each with every component request bound to one of its providers:
/// the preferred providers first, at most [`MAX_BINDINGS`] of them.
pub(super) fn bindings(request: &Request, providers: &[Vec<String>]) -> Vec<Request> {
    let mut choices = vec![0usize; providers.len()];
    let mut out = Vec::new();
    loop {
        let mut bound = request.clone();
        for (index, requirement) in bound.requirements.iter_mut().enumerate() {
            if requirement.asked_component().is_some()
                && let Some(package) = providers[index].get(choices[index])
            {
                *requirement = requirement.bound_to(package);
            }
        }
        out.push(bound);
        if out.len() >= MAX_BINDINGS {
            return out;
        }
        // The next choice, like counting with one digit per requirement.
        let mut position = providers.len();
        loop {
            if position == 0 {
                return out;
            }
            position -= 1;
            if choices[position] + 1 < providers[position].len() {
                choices[position] += 1;
                break;
            }
            choices[position] = 0;
        }
    }
}

/// The other providers of each requirement's component, for the notes of a resolution made
/// with the requirements bound as in `request`.
pub(super) fn others(request: &Request, providers: &[Vec<String>]) -> Vec<Vec<String>> {
    request
        .requirements
        .iter()
        .zip(providers)
        .map(|(requirement, packages)| {
            packages
                .iter()
                .filter(|package| *package != requirement.name())
                .cloned()
                .collect()
        })
        .collect()
}

/// The versions of the requirement's package that provide every component it needs.
pub(super) fn providing_range(
    provider: &Provider,
    requirement: &Requirement,
) -> Result<Ranges<Version>, ProviderError> {
    let name: Rc<str> = Rc::from(requirement.name());
    let candidates = provider.candidates(&name)?;
    // Whether a version may be chosen depends on the components its entry lists: that is
    // acting on the entry, so every version's signature is checked first, and a tampered
    // one is an error rather than a version silently passed over.
    for candidate in candidates.iter() {
        provider.vouch(&candidate.entry)?;
    }
    Ok(candidates
        .iter()
        .filter(|candidate| requirement.is_provided_by(&candidate.entry))
        .fold(Ranges::empty(), |range, candidate| {
            range.union(&Ranges::singleton(candidate.version.clone()))
        }))
}

/// What a resolution should say about the components that were asked for: which newer
/// versions dropped one, and where a component moved to.
pub(super) fn notes(
    provider: &Provider,
    request: &Request,
    others: &[Vec<String>],
    chosen: &std::collections::BTreeMap<String, super::ResolvedPackage>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for (index, requirement) in request.requirements.iter().enumerate() {
        if !chosen.contains_key(requirement.name()) {
            continue;
        }
        let name: Rc<str> = Rc::from(requirement.name());
        let Ok(candidates) = provider.candidates(&name) else {
            continue;
        };
        let range = requirement.range();
        let usable: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| range.contains(&c.version) && provider.is_eligible(&name, c))
            .collect();
        for component in requirement.components() {
            if let Some(dropped) = dropped(component, &usable) {
                notes.push(format!(
                    "{component} is provided by {name} up to {}; {}",
                    dropped.last,
                    dropped.newer()
                ));
            }
            for other in others.get(index).into_iter().flatten() {
                let other: Rc<str> = Rc::from(other.as_str());
                let Ok(other_candidates) = provider.candidates(&other) else {
                    continue;
                };
                let usable: Vec<&Candidate> = other_candidates
                    .iter()
                    .filter(|c| provider.is_eligible(&other, c))
                    .collect();
                if let Some(dropped) = dropped(component, &usable) {
                    notes.push(format!(
                        "{component} moved from {other} (which stopped providing it after {}) to {name}",
                        dropped.last
                    ));
                }
            }
        }
    }
    notes
}

/// A component that newer versions of a package no longer provide.
struct Dropped {
    /// The newest version that provides it.
    last: String,
    /// The first version after that one, which does not.
    first_lacking: String,
    /// More than one newer version lacks it.
    several: bool,
}

impl Dropped {
    /// "0.2.0 no longer provides it", "0.2.0 and later versions no longer provide it".
    fn newer(&self) -> String {
        if self.several {
            format!(
                "{} and later versions no longer provide it",
                self.first_lacking
            )
        } else {
            format!("{} no longer provides it", self.first_lacking)
        }
    }
}

/// Whether the newest of `usable` (newest first) lacks `component` while an older one has it.
fn dropped(component: &str, usable: &[&Candidate]) -> Option<Dropped> {
    let provides =
        |candidate: &Candidate| candidate.entry.components.iter().any(|c| c == component);
    let newest = usable.first()?;
    if provides(newest) {
        return None;
    }
    let last = usable.iter().find(|candidate| provides(candidate))?;
    let lacking: Vec<&&Candidate> = usable
        .iter()
        .take_while(|candidate| candidate.version > last.version)
        .collect();
    let first_lacking = lacking.last()?;
    Some(Dropped {
        last: version_words(&last.version),
        first_lacking: version_words(&first_lacking.version),
        several: lacking.len() > 1,
    })
}
