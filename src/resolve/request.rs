//! The nouns at the resolver's edges: a root [`Requirement`] as the user wrote it (a package,
//! or a component whose package the resolver finds), and the [`Resolution`] it produces,
//! which keeps why each package was chosen so `ocp tree` can show it, and notes about
//! choices the user would not expect (an older version, because the newer ones dropped a
//! component that was asked for).

use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pubgrub::{Ranges, SelectedDependencies};

use super::provider::{Node, Provider, parse_specifiers};
use super::{Request, ResolveError};
use crate::index::format::IndexEntry;
use crate::model::{ComponentName, NameError, PackageName, format_specifiers};

/// Why a requirement could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequirementError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("`{requirement}` is not a valid PEP 440 requirement: {reason}")]
    Specifiers { requirement: String, reason: String },
}

/// A package and the versions acceptable for it: `shopify-osiris>=1.0,<2.0`; or a component,
/// `shopify.extractor>=1.0`, which some version of a package that provides it satisfies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The normalized package name; for a component request, the component's name until the
    /// resolver chooses the package that provides it.
    name: String,
    specifiers: VersionSpecifiers,
    /// Components the chosen version must provide (its index entry lists them).
    components: Vec<String>,
    /// Set when the user asked for a component rather than a package.
    component: Option<String>,
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
        Ok(Requirement {
            name,
            specifiers,
            components: Vec::new(),
            component: None,
        })
    }

    /// A request for a component (`shopify.extractor`): a version of whichever package
    /// provides it, with `specifiers` on that package's versions.
    pub fn component(component: &str, specifiers: &str) -> Result<Self, RequirementError> {
        let component = ComponentName::from_str(component)?.to_string();
        let specifiers =
            parse_specifiers(specifiers).map_err(|reason| RequirementError::Specifiers {
                requirement: format!("{component}{specifiers}"),
                reason,
            })?;
        Ok(Requirement {
            name: component.clone(),
            specifiers,
            components: vec![component.clone()],
            component: Some(component),
        })
    }

    /// The same requirement, which only versions that provide `component` satisfy.
    pub fn providing(mut self, component: &str) -> Self {
        if !self.components.iter().any(|known| known == component) {
            self.components.push(component.to_owned());
        }
        self
    }

    /// The normalized package name (the component's name for a component request the
    /// resolver has not bound to a package yet).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The components a chosen version must provide.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The component asked for, when the request named a component rather than a package.
    pub fn asked_component(&self) -> Option<&str> {
        self.component.as_deref()
    }

    /// This component request, answered by `package`.
    pub(super) fn bound_to(&self, package: &str) -> Requirement {
        Requirement {
            name: package.to_owned(),
            ..self.clone()
        }
    }

    /// Whether a version's entry lists every component this requirement needs.
    pub(super) fn is_provided_by(&self, entry: &IndexEntry) -> bool {
        self.components
            .iter()
            .all(|component| entry.components.iter().any(|c| c == component))
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
            specifiers: VersionSpecifiers::from_str(&format!("=={version}"))
                .unwrap_or_else(|_| self.specifiers.clone()),
            ..self.clone()
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
    /// As asked for: `shopify-osiris>=1.0`, or `shopify.extractor>=1.0` for a component.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.component.as_deref().unwrap_or(&self.name);
        write!(f, "{name}{}", self.specifiers())
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
    /// Why a choice is not the obvious one, in the user's words: "acme.extractor is provided
    /// by acme-osiris up to 0.1.0; 0.2.0 no longer provides it".
    pub notes: Vec<String>,
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
    let mut resolution = Resolution {
        packages,
        notes: Vec::new(),
    };
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
