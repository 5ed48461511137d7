//! The resolver: which version of each OCP to install, given the request, the index and the
//! target environment, with pubgrub doing the search. When nothing fits it says why in the
//! user's words, and when it runs too long it stops and names the conflict it was stuck on.
//!
//! ```text
//! resolve(source, request, options) -> Resolution | ResolveError
//!   source:  EntrySource (an index checkout, read one package file at a time, each entry's
//!            signature checked before its dependencies are followed)
//!   request: root requirements, the environment's osiris and python, lock preferences
//!   options: allow_prereleases, time_limit
//! ```
//!
//! The rules (see `docs/resolver.md`): Osiris and Python are virtual packages fixed at the
//! environment's versions; yanked versions are chosen only when the lock pins exactly them;
//! pre-releases only with `allow_prereleases` or a root requirement that names one; newest
//! first, the locked version before it while still allowed.
//!
//! A caller may add an [`Admission`] ([`resolve_with`]): a judge outside the index (the
//! project's plugin policy) that refuses versions. A refused version is one pubgrub cannot
//! use, with the judge's reason, so an allowed version is chosen when one fits and the
//! explanation names the rule when none does. The judge sees an entry only after its
//! owner's signature was checked.
//!
//! This module is domain code: it does not print, does not know the CLI, and does not touch
//! the store, the lock file or Python environments.

mod components;
mod provider;
mod report;
mod request;
mod source;
mod words;

use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use pep440_rs::Version;
use pubgrub::{PubGrubError, Ranges};

use provider::{Node, Provider, ProviderError};

pub use request::{RequiredBy, Requirement, RequirementError, Resolution, ResolvedPackage};
pub use source::{EntrySource, IndexDirSource, IndexSource, MemorySource, SourceError};
pub use words::{range_words, version_words};

use crate::index::format::IndexEntry;

/// A judge outside the index that may refuse versions (the project's plugin policy).
pub trait Admission {
    /// Why the version `entry` describes may not be chosen, or `None` when it may. Called
    /// only for entries whose owner's signature was checked.
    fn refuse(&self, entry: &IndexEntry) -> Option<String>;
}

/// Admits every version.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdmitAll;

impl Admission for AdmitAll {
    fn refuse(&self, _entry: &IndexEntry) -> Option<String> {
        None
    }
}

/// What to resolve: the packages asked for and the environment they go into.
#[derive(Debug, Clone)]
pub struct Request {
    /// The root requirements, for example `shopify-osiris>=1.0`.
    pub requirements: Vec<Requirement>,
    /// The Osiris version installed in the target environment.
    pub osiris: Version,
    /// The Python version of the target environment.
    pub python: Version,
    /// Versions a lock file already holds (package name -> version): tried first while
    /// still allowed, and the only way a yanked version is chosen.
    pub preferences: BTreeMap<String, Version>,
}

/// How to resolve; settings rather than part of what is asked for.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Consider pre-releases of every package (`--pre`).
    pub allow_prereleases: bool,
    /// Stop with [`ResolveError::Cancelled`] after this long.
    pub time_limit: Option<Duration>,
}

/// A version outside the request that would resolve in this environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub name: String,
    pub version: String,
}

impl Suggestion {
    /// The command that installs the suggested version.
    pub fn command(&self) -> String {
        format!("ocp install {}=={}", self.name, self.version)
    }
}

/// A package that kept conflicting when the time limit ended a resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflicting {
    pub name: String,
    pub conflicts: u32,
}

/// Why resolution gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No set of versions satisfies the request; `explanation` says why in the user's words.
    #[error("{explanation}")]
    NoSolution {
        explanation: String,
        suggestions: Vec<Suggestion>,
    },
    /// The time limit ended the resolution.
    #[error("{}", cancelled_message(*limit, stuck_on))]
    Cancelled {
        limit: Duration,
        /// The most-conflicting packages, most conflicts first.
        stuck_on: Vec<Conflicting>,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(
        "the index lists {name} with version `{version}`, which is not valid PEP 440: {reason}"
    )]
    InvalidVersion {
        name: String,
        version: String,
        reason: String,
    },
}

impl ResolveError {
    /// What the user can do about it, when the error itself does not say.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            ResolveError::Source(error) => error.help(),
            _ => None,
        }
    }
}

fn cancelled_message(limit: Duration, stuck_on: &[Conflicting]) -> String {
    let head = format!(
        "resolution took longer than {} ms and was stopped",
        limit.as_millis()
    );
    let named: Vec<String> = stuck_on
        .iter()
        .take(2)
        .map(|package| format!("{} ({} conflicts)", package.name, package.conflicts))
        .collect();
    match named.len() {
        0 => format!("{head} before any conflict was found"),
        1 => format!("{head}; it was stuck on {}", named[0]),
        _ => format!("{head}; it was stuck on {} against {}", named[0], named[1]),
    }
}

/// Chooses a version of every package the request needs. A component request is answered
/// by a package that provides the component (see `components`); when more than one does,
/// the preferred one is tried first.
pub fn resolve(
    source: &dyn EntrySource,
    request: &Request,
    options: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    resolve_with(source, request, options, &AdmitAll)
}

/// [`resolve`], choosing only versions that `admission` does not refuse.
pub fn resolve_with(
    source: &dyn EntrySource,
    request: &Request,
    options: &ResolveOptions,
    admission: &dyn Admission,
) -> Result<Resolution, ResolveError> {
    let deadline = options.time_limit.map(|limit| Instant::now() + limit);
    let providers = components::providers(source, request)?;
    let mut first_failure = None;
    for bound in components::bindings(request, &providers) {
        let others = components::others(&bound, &providers);
        match resolve_until(source, &bound, options, deadline, admission, true, &others) {
            Ok(resolution) => return Ok(resolution),
            Err(error @ ResolveError::NoSolution { .. }) => {
                first_failure.get_or_insert(error);
            }
            Err(error) => return Err(error),
        }
    }
    Err(first_failure.unwrap_or_else(|| ResolveError::NoSolution {
        explanation: "no set of versions satisfies the request".to_owned(),
        suggestions: Vec::new(),
    }))
}

/// Resolves a request whose component requests are bound to packages; `others` holds, per
/// requirement, the other packages that provide its component (for the notes).
#[allow(clippy::too_many_arguments)]
fn resolve_until(
    source: &dyn EntrySource,
    request: &Request,
    options: &ResolveOptions,
    deadline: Option<Instant>,
    admission: &dyn Admission,
    suggest: bool,
    others: &[Vec<String>],
) -> Result<Resolution, ResolveError> {
    let prerelease_packages: HashSet<String> = request
        .requirements
        .iter()
        .filter(|requirement| requirement.names_prerelease())
        .map(|requirement| requirement.name().to_owned())
        .collect();
    let mut provider = Provider::new(
        source,
        Vec::new(),
        request.osiris.clone(),
        request.python.clone(),
        &request.preferences,
        options.allow_prereleases,
        prerelease_packages,
        deadline,
    )
    .with_admission(admission);
    // Requirements on one package are merged; a requirement that needs components allows
    // only the versions that provide them.
    let mut root: Vec<(Node, Ranges<Version>)> = Vec::new();
    for requirement in &request.requirements {
        let mut range = requirement.range();
        if !requirement.components().is_empty() {
            let providing = components::providing_range(&provider, requirement)
                .map_err(|error| provider_error(error, options, &provider))?;
            range = range.intersection(&providing);
        }
        match root
            .iter_mut()
            .find(|(node, _)| *node == requirement.node())
        {
            Some((_, existing)) => *existing = existing.intersection(&range),
            None => root.push((requirement.node(), range)),
        }
    }
    provider.root = root;
    match pubgrub::resolve(&provider, Node::Root, Version::new([0])) {
        Ok(selected) => {
            let mut resolution = request::build_resolution(&provider, request, selected)?;
            resolution.notes = components::notes(&provider, request, others, &resolution.packages);
            Ok(resolution)
        }
        Err(PubGrubError::NoSolution(tree)) => {
            let suggestions = if suggest {
                suggestions(
                    source, request, options, deadline, admission, &provider, &tree,
                )
            } else {
                Vec::new()
            };
            let explanation = report::explain(&tree, &provider, request, &suggestions);
            Err(ResolveError::NoSolution {
                explanation,
                suggestions,
            })
        }
        Err(PubGrubError::ErrorChoosingVersion { source, .. })
        | Err(PubGrubError::ErrorRetrievingDependencies { source, .. })
        | Err(PubGrubError::ErrorInShouldCancel(source)) => {
            Err(provider_error(source, options, &provider))
        }
    }
}

fn provider_error(
    error: ProviderError,
    options: &ResolveOptions,
    provider: &Provider,
) -> ResolveError {
    match error {
        ProviderError::Source(error) => ResolveError::Source(error),
        ProviderError::InvalidVersion {
            name,
            version,
            reason,
        } => ResolveError::InvalidVersion {
            name,
            version,
            reason,
        },
        ProviderError::Cancelled => ResolveError::Cancelled {
            limit: options.time_limit.unwrap_or_default(),
            stuck_on: provider
                .most_conflicting()
                .into_iter()
                .map(|(node, conflicts)| Conflicting {
                    name: node.to_string(),
                    conflicts,
                })
                .collect(),
        },
    }
}

/// How many versions of a requested package to try when looking for one that would fit.
const SUGGESTION_ATTEMPTS: usize = 3;

/// When the environment is part of the failure: for each requested package in the failure,
/// the newest version outside the request whose Osiris and Python ranges fit the environment
/// and whose whole resolution succeeds. A version inside the request cannot succeed
/// (pubgrub is complete), so only versions outside it are tried.
fn suggestions(
    source: &dyn EntrySource,
    request: &Request,
    options: &ResolveOptions,
    deadline: Option<Instant>,
    admission: &dyn Admission,
    provider: &Provider,
    tree: &pubgrub::DerivationTree<Node, Ranges<Version>, String>,
) -> Vec<Suggestion> {
    let packages = tree.packages();
    if !packages.contains(&Node::Osiris) && !packages.contains(&Node::Python) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (index, requirement) in request.requirements.iter().enumerate() {
        let name: Rc<str> = Rc::from(requirement.name());
        if !packages.contains(&Node::Package(Rc::clone(&name))) {
            continue;
        }
        let Ok(candidates) = provider.candidates(&name) else {
            continue;
        };
        let range = requirement.range();
        let fitting = candidates.iter().filter(|candidate| {
            !range.contains(&candidate.version)
                && provider.is_eligible(&name, candidate)
                && requirement.is_provided_by(&candidate.entry)
                && report::fits_environment(provider, &candidate.entry)
        });
        for candidate in fitting.take(SUGGESTION_ATTEMPTS) {
            let mut pinned = request.clone();
            pinned.requirements[index] = requirement.pinned(&candidate.version);
            if resolve_until(source, &pinned, options, deadline, admission, false, &[]).is_ok() {
                found.push(Suggestion {
                    name: name.to_string(),
                    version: candidate.entry.version.clone(),
                });
                break;
            }
        }
    }
    found
}
