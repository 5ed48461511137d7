//! The nouns at the resolver's edges: a root [`Requirement`] as the user wrote it, and the
//! [`Resolution`] it produces, which keeps why each package was chosen so `ocp tree` can
//! show it.

use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pubgrub::{Ranges, SelectedDependencies};

use super::provider::{Node, Provider, parse_specifiers};
use super::{Request, ResolveError};
use crate::index::format::IndexEntry;
use crate::model::{NameError, PackageName, format_specifiers};

/// Why a requirement could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequirementError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("`{requirement}` is not a valid PEP 440 requirement: {reason}")]
    Specifiers { requirement: String, reason: String },
}

/// A package and the versions acceptable for it: `shopify-osiris>=1.0,<2.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    name: String,
    specifiers: VersionSpecifiers,
}

impl Requirement {
    /// A requirement on `name` (normalized here) with PEP 440 `specifiers`, empty for any.
    pub fn new(name: &str, specifiers: &str) -> Result<Self, RequirementError> {
        let name = PackageName::from_str(name)?.normalized();
        let specifiers =
            parse_specifiers(specifiers).map_err(|reason| RequirementError::Specifiers {
                requirement: format!("{name}{specifiers}"),
                reason,
            })?;
        Ok(Requirement { name, specifiers })
    }

    /// The normalized package name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The specifiers as written (`>=1.0,<2.0`), empty for any version.
    pub fn specifiers(&self) -> String {
        format_specifiers(&self.specifiers)
    }

    pub(super) fn node(&self) -> Node {
        Node::Package(Rc::from(self.name.as_str()))
    }

    pub(super) fn range(&self) -> Ranges<Version> {
        Ranges::from(self.specifiers.clone())
    }

    /// A requirement that names a pre-release (`>=2.0.0rc1`) asks for pre-releases.
    pub(super) fn names_prerelease(&self) -> bool {
        self.specifiers
            .iter()
            .any(|specifier| specifier.version().any_prerelease())
    }

    /// The same package, pinned to exactly `version`.
    pub(super) fn pinned(&self, version: &Version) -> Requirement {
        Requirement {
            name: self.name.clone(),
            specifiers: VersionSpecifiers::from_str(&format!("=={version}"))
                .unwrap_or_else(|_| self.specifiers.clone()),
        }
    }
}

impl FromStr for Requirement {
    type Err = RequirementError;

    /// `shopify-osiris`, `shopify-osiris>=1.0`, `shopify-osiris ~=2.1`.
    fn from_str(text: &str) -> Result<Self, RequirementError> {
        let text = text.trim();
        let split = text
            .find(['<', '>', '=', '!', '~', ' '])
            .unwrap_or(text.len());
        Requirement::new(&text[..split], text[split..].trim())
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name, self.specifiers())
    }
}

/// What pulled a package into the resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiredBy {
    /// A root requirement, as written (`shopify-osiris>=1.0`).
    Request { requirement: String },
    /// Another selected package's dependency (`requirement` is its specifiers, maybe empty).
    Package {
        name: String,
        version: String,
        requirement: String,
    },
}

/// One chosen package.
#[derive(Debug, Clone)]
pub struct ResolvedPackage {
    pub version: Version,
    /// Its index entry: checksum, signature, components, Python requirements.
    pub entry: IndexEntry,
    /// Every requirement that pulled it in, the request's first.
    pub required_by: Vec<RequiredBy>,
}

/// The chosen version of every package the request needs, by name.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub packages: BTreeMap<String, ResolvedPackage>,
}

impl Resolution {
    /// `name -> version` for every chosen package, sorted by name.
    pub fn versions(&self) -> BTreeMap<&str, &Version> {
        self.packages
            .iter()
            .map(|(name, package)| (name.as_str(), &package.version))
            .collect()
    }
}

pub(super) fn build_resolution(
    provider: &Provider,
    request: &Request,
    selected: SelectedDependencies<Node, Version>,
) -> Result<Resolution, ResolveError> {
    let mut packages = BTreeMap::new();
    for (node, version) in selected {
        let Node::Package(name) = node else {
            continue;
        };
        let candidates = provider.candidates(&name).map_err(|error| match error {
            super::provider::ProviderError::Source(error) => ResolveError::Source(error),
            other => ResolveError::InvalidVersion {
                name: name.to_string(),
                version: version.to_string(),
                reason: other.to_string(),
            },
        })?;
        if let Some(candidate) = candidates.iter().find(|c| c.version == version) {
            packages.insert(
                name.to_string(),
                ResolvedPackage {
                    version,
                    entry: candidate.entry.clone(),
                    required_by: Vec::new(),
                },
            );
        }
    }
    let mut resolution = Resolution { packages };
    for requirement in &request.requirements {
        if let Some(package) = resolution.packages.get_mut(requirement.name()) {
            package.required_by.push(RequiredBy::Request {
                requirement: requirement.to_string(),
            });
        }
    }
    let edges: Vec<(String, RequiredBy)> = resolution
        .packages
        .values()
        .flat_map(|parent| {
            parent
                .entry
                .dependencies
                .iter()
                .filter(|dependency| dependency.name != parent.entry.name)
                .map(|dependency| {
                    (
                        dependency.name.clone(),
                        RequiredBy::Package {
                            name: parent.entry.name.clone(),
                            version: parent.entry.version.clone(),
                            requirement: dependency.requirement.clone(),
                        },
                    )
                })
        })
        .collect();
    for (name, required_by) in edges {
        if let Some(package) = resolution.packages.get_mut(&name) {
            package.required_by.push(required_by);
        }
    }
    Ok(resolution)
}
