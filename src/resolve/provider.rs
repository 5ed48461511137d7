//! The bridge to pubgrub: what a package is ([`Node`]), which versions exist and in what order
//! they are tried, what each version depends on, and when to give up.
//!
//! The target environment is modelled as two virtual packages, `osiris` and `python`, each
//! with exactly one version (the environment's). A version's `osiris` and `python` ranges are
//! dependencies on them, so pubgrub itself refuses a version that does not fit and can say
//! why. The rules pubgrub's interval arithmetic cannot express live in
//! [`Provider::choose_version`]: yanked versions only when the lock pins them, pre-releases
//! only when asked for, the locked version before the newest.
//!
//! This module does not format messages (see `report`) and does not print.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::rc::Rc;
use std::str::FromStr;
use std::time::Instant;

use pep440_rs::{Version, VersionSpecifiers, release_specifiers_to_ranges};
use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics, Ranges,
};

use super::source::{EntrySource, SourceError};
use super::{Admission, AdmitAll};
use crate::index::format::IndexEntry;

/// A package as pubgrub sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// The request itself; its dependencies are the root requirements.
    Root,
    /// The Osiris of the target environment: one version, the installed one.
    Osiris,
    /// The Python of the target environment: one version, the installed one.
    Python,
    /// An OCP from the index, by normalized name.
    Package(Rc<str>),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Root => f.write_str("your request"),
            Node::Osiris => f.write_str("osiris"),
            Node::Python => f.write_str("python"),
            Node::Package(name) => f.write_str(name),
        }
    }
}

/// Why resolution stopped early, before pubgrub reached an answer.
#[derive(Debug)]
pub enum ProviderError {
    Source(SourceError),
    InvalidVersion {
        name: String,
        version: String,
        reason: String,
    },
    Cancelled,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::Source(error) => fmt::Display::fmt(error, f),
            ProviderError::InvalidVersion { name, version, .. } => {
                write!(f, "{name} has an invalid version `{version}`")
            }
            ProviderError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for ProviderError {}

/// One published version, parsed.
#[derive(Debug)]
pub struct Candidate {
    pub version: Version,
    pub entry: IndexEntry,
}

/// Every published version of a package, newest first.
pub type Candidates = Rc<Vec<Candidate>>;

/// Decide packages in this order: the request and the environment, then packages pinned to a
/// single version, then packages that keep conflicting (most conflicts first), then the rest
/// (pubgrub breaks ties breadth-first). This is uv's heuristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Undecided,
    Conflicting,
    Singleton,
    Environment,
}

/// A package that keeps conflicting, uv's threshold for deciding it earlier.
const CONFLICT_THRESHOLD: u32 = 5;

pub struct Provider<'a> {
    source: &'a dyn EntrySource,
    pub root: Vec<(Node, Ranges<Version>)>,
    pub osiris: Version,
    pub python: Version,
    pub preferences: &'a BTreeMap<String, Version>,
    allow_all_prereleases: bool,
    prerelease_packages: HashSet<String>,
    deadline: Option<Instant>,
    admission: &'a dyn Admission,
    cache: RefCell<HashMap<Rc<str>, Candidates>>,
    conflicts: RefCell<HashMap<Node, u32>>,
}

impl<'a> Provider<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: &'a dyn EntrySource,
        root: Vec<(Node, Ranges<Version>)>,
        osiris: Version,
        python: Version,
        preferences: &'a BTreeMap<String, Version>,
        allow_all_prereleases: bool,
        prerelease_packages: HashSet<String>,
        deadline: Option<Instant>,
    ) -> Self {
        Provider {
            source,
            root,
            osiris,
            python,
            preferences,
            allow_all_prereleases,
            prerelease_packages,
            deadline,
            admission: &AdmitAll,
            cache: RefCell::new(HashMap::new()),
            conflicts: RefCell::new(HashMap::new()),
        }
    }

    /// The same provider, choosing only versions `admission` does not refuse.
    pub fn with_admission(mut self, admission: &'a dyn Admission) -> Self {
        self.admission = admission;
        self
    }

    /// Checks that the owners of `entry`'s package signed it, before any of its fields is
    /// acted on (the source remembers what it already checked).
    pub fn vouch(&self, entry: &IndexEntry) -> Result<(), ProviderError> {
        self.source.vouch(entry).map_err(ProviderError::Source)
    }

    /// Every version of `name` in the index, newest first, read once.
    pub fn candidates(&self, name: &Rc<str>) -> Result<Candidates, ProviderError> {
        if let Some(candidates) = self.cache.borrow().get(name) {
            return Ok(Rc::clone(candidates));
        }
        let mut candidates = Vec::new();
        for entry in self.source.entries(name).map_err(ProviderError::Source)? {
            let version = Version::from_str(&entry.version).map_err(|error| {
                ProviderError::InvalidVersion {
                    name: name.to_string(),
                    version: entry.version.clone(),
                    reason: error.to_string(),
                }
            })?;
            candidates.push(Candidate { version, entry });
        }
        candidates.sort_by(|left, right| right.version.cmp(&left.version));
        let candidates = Rc::new(candidates);
        self.cache
            .borrow_mut()
            .insert(Rc::clone(name), Rc::clone(&candidates));
        Ok(candidates)
    }

    /// Whether `candidate` may be chosen at all, whatever the ranges: not yanked unless the
    /// lock pins exactly it, not a pre-release unless asked for (or locked).
    pub fn is_eligible(&self, name: &str, candidate: &Candidate) -> bool {
        if self.preferences.get(name) == Some(&candidate.version) {
            return true;
        }
        !candidate.entry.yanked
            && (!candidate.version.any_prerelease() || self.allows_prereleases(name))
    }

    pub fn allows_prereleases(&self, name: &str) -> bool {
        self.allow_all_prereleases || self.prerelease_packages.contains(name)
    }

    /// Packages by how often they conflicted, most first: what a cancelled run was stuck on.
    pub fn most_conflicting(&self) -> Vec<(Node, u32)> {
        let mut counts: Vec<(Node, u32)> = self
            .conflicts
            .borrow()
            .iter()
            .filter(|(node, count)| **node != Node::Root && **count > 0)
            .map(|(node, count)| (node.clone(), *count))
            .collect();
        counts.sort_by(|left, right| right.1.cmp(&left.1).then_with(|| left.0.cmp(&right.0)));
        counts
    }

    fn package_dependencies(
        &self,
        name: &Rc<str>,
        candidate: &Candidate,
    ) -> Dependencies<Node, Ranges<Version>, String> {
        let entry = &candidate.entry;
        let mut merged: Vec<(Node, Ranges<Version>)> = Vec::new();
        let mut add = |node: Node, range: Ranges<Version>| {
            if let Some((_, existing)) = merged.iter_mut().find(|(known, _)| *known == node) {
                *existing = existing.intersection(&range);
            } else {
                merged.push((node, range));
            }
        };
        for dependency in &entry.dependencies {
            let range = match parse_specifiers(&dependency.requirement) {
                Ok(specifiers) => Ranges::from(specifiers),
                Err(reason) => {
                    return Dependencies::Unavailable(format!(
                        "its requirement `{} {}` is not valid PEP 440: {reason}",
                        dependency.name, dependency.requirement
                    ));
                }
            };
            if *dependency.name == **name {
                if range.contains(&candidate.version) {
                    continue;
                }
                return Dependencies::Unavailable(format!(
                    "it requires {} {}, which excludes itself",
                    dependency.name, dependency.requirement
                ));
            }
            add(Node::Package(Rc::from(dependency.name.as_str())), range);
        }
        match parse_specifiers(&entry.osiris) {
            Ok(specifiers) if specifiers.iter().next().is_some() => {
                add(Node::Osiris, Ranges::from(specifiers));
            }
            Ok(_) => {}
            Err(reason) => {
                return Dependencies::Unavailable(format!(
                    "its osiris requirement `{}` is not valid PEP 440: {reason}",
                    entry.osiris
                ));
            }
        }
        match parse_specifiers(&entry.python) {
            Ok(specifiers) if specifiers.iter().next().is_some() => {
                // Release-only semantics, as uv and pip compare `requires-python`.
                add(Node::Python, release_specifiers_to_ranges(specifiers));
            }
            Ok(_) => {}
            Err(reason) => {
                return Dependencies::Unavailable(format!(
                    "its python requirement `{}` is not valid PEP 440: {reason}",
                    entry.python
                ));
            }
        }
        Dependencies::Available(merged.into_iter().collect())
    }
}

/// PEP 440 specifiers; an empty or blank string means any version.
pub fn parse_specifiers(text: &str) -> Result<VersionSpecifiers, String> {
    if text.trim().is_empty() {
        return Ok(VersionSpecifiers::empty());
    }
    // The parser's message ends with the text and a caret line; keep the sentence.
    VersionSpecifiers::from_str(text).map_err(|error| {
        let message = error.to_string();
        message
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches(':')
            .to_owned()
    })
}

impl DependencyProvider for Provider<'_> {
    type P = Node;
    type V = Version;
    type VS = Ranges<Version>;
    type Priority = (Tier, u32);
    type M = String;
    type Err = ProviderError;

    fn prioritize(
        &self,
        package: &Node,
        range: &Ranges<Version>,
        statistics: &PackageResolutionStatistics,
    ) -> (Tier, u32) {
        let conflicts = statistics.conflict_count();
        // Only remembered to name the conflict if the time limit ends the run; the priority
        // below depends on the arguments alone, as pubgrub's cache requires.
        self.conflicts
            .borrow_mut()
            .insert(package.clone(), conflicts);
        match package {
            Node::Root | Node::Osiris | Node::Python => (Tier::Environment, 0),
            Node::Package(_) if range.as_singleton().is_some() => (Tier::Singleton, 0),
            Node::Package(_) if conflicts >= CONFLICT_THRESHOLD => (Tier::Conflicting, conflicts),
            Node::Package(_) => (Tier::Undecided, 0),
        }
    }

    fn choose_version(
        &self,
        package: &Node,
        range: &Ranges<Version>,
    ) -> Result<Option<Version>, ProviderError> {
        let fixed = |version: &Version| range.contains(version).then(|| version.clone());
        let name = match package {
            Node::Root => return Ok(fixed(&Version::new([0]))),
            Node::Osiris => return Ok(fixed(&self.osiris)),
            Node::Python => return Ok(fixed(&self.python)),
            Node::Package(name) => name,
        };
        let candidates = self.candidates(name)?;
        if let Some(preferred) = self.preferences.get(&**name)
            && range.contains(preferred)
            && candidates.iter().any(|c| c.version == *preferred)
        {
            return Ok(Some(preferred.clone()));
        }
        Ok(candidates
            .iter()
            .find(|c| range.contains(&c.version) && self.is_eligible(name, c))
            .map(|c| c.version.clone()))
    }

    fn get_dependencies(
        &self,
        package: &Node,
        version: &Version,
    ) -> Result<Dependencies<Node, Ranges<Version>, String>, ProviderError> {
        let name = match package {
            Node::Root => {
                return Ok(Dependencies::Available(
                    self.root
                        .iter()
                        .cloned()
                        .collect::<DependencyConstraints<_, _>>(),
                ));
            }
            Node::Osiris | Node::Python => {
                return Ok(Dependencies::Available(DependencyConstraints::default()));
            }
            Node::Package(name) => name,
        };
        let candidates = self.candidates(name)?;
        match candidates.iter().find(|c| c.version == *version) {
            Some(candidate) => {
                // Nothing of an entry is acted on before its owners' signature is checked;
                // only the versions pubgrub actually tries are checked.
                self.vouch(&candidate.entry)?;
                // Only a checked entry is judged: the judge reads its signed fields.
                if let Some(reason) = self.admission.refuse(&candidate.entry) {
                    return Ok(Dependencies::Unavailable(reason));
                }
                Ok(self.package_dependencies(name, candidate))
            }
            // choose_version only returns versions it found, so this is unreachable in
            // practice; report it as unusable rather than panic.
            None => Ok(Dependencies::Unavailable(format!(
                "version {version} is not in the index"
            ))),
        }
    }

    fn should_cancel(&self) -> Result<(), ProviderError> {
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(ProviderError::Cancelled),
            _ => Ok(()),
        }
    }
}
