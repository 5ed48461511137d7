//! What would change if one lock file replaced another: the answer `ocp install --locked`
//! gives when it refuses to go on.

use std::collections::BTreeMap;
use std::fmt;

use pep440_rs::Version;

use super::toml::dependency_text;
use super::{LockedEnvironment, LockedIndex, LockedPackage, Lockfile};

/// One difference between two lock files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Another index, or the same one under another name or URL.
    Index {
        from: LockedIndex,
        to: LockedIndex,
    },
    /// Another Osiris or Python version.
    Environment {
        from: LockedEnvironment,
        to: LockedEnvironment,
    },
    Added {
        name: String,
        version: Version,
    },
    Removed {
        name: String,
        version: Version,
    },
    /// The same package with another version or other locked fields (named in `fields`).
    Changed {
        name: String,
        from: Version,
        to: Version,
        fields: Vec<&'static str>,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Index { from, to } => write!(
                f,
                "index `{}` ({}) would become `{}` ({})",
                from.name, from.url, to.name, to.url
            ),
            Change::Environment { from, to } => write!(
                f,
                "environment osiris {} and python {} would become osiris {} and python {}",
                from.osiris, from.python, to.osiris, to.python
            ),
            Change::Added { name, version } => write!(f, "{name} {version} would be added"),
            Change::Removed { name, version } => write!(f, "{name} {version} would be removed"),
            Change::Changed { name, from, to, .. } if from != to => {
                write!(f, "{name} would change from {from} to {to}")
            }
            Change::Changed {
                name, from, fields, ..
            } => write!(f, "{name} {from} would change its {}", fields.join(", ")),
        }
    }
}

/// What would change if `new` replaced `old`: index and environment first, then packages
/// by name. Empty when the two lock the same things.
pub fn diff(old: &Lockfile, new: &Lockfile) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.index != new.index {
        changes.push(Change::Index {
            from: old.index.clone(),
            to: new.index.clone(),
        });
    }
    if old.environment != new.environment {
        changes.push(Change::Environment {
            from: old.environment.clone(),
            to: new.environment.clone(),
        });
    }
    let before: BTreeMap<&str, &LockedPackage> =
        old.packages.iter().map(|p| (p.name.as_str(), p)).collect();
    let after: BTreeMap<&str, &LockedPackage> =
        new.packages.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut names: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        match (before.get(name), after.get(name)) {
            (Some(old), None) => changes.push(Change::Removed {
                name: name.to_owned(),
                version: old.version.clone(),
            }),
            (None, Some(new)) => changes.push(Change::Added {
                name: name.to_owned(),
                version: new.version.clone(),
            }),
            (Some(old), Some(new)) => {
                let fields = changed_fields(old, new);
                if !fields.is_empty() {
                    changes.push(Change::Changed {
                        name: name.to_owned(),
                        from: old.version.clone(),
                        to: new.version.clone(),
                        fields,
                    });
                }
            }
            (None, None) => {}
        }
    }
    changes
}

fn changed_fields(old: &LockedPackage, new: &LockedPackage) -> Vec<&'static str> {
    let sorted_components = |p: &LockedPackage| {
        let mut c: Vec<String> = p.components.iter().map(ToString::to_string).collect();
        c.sort();
        c
    };
    let sorted_dependencies = |p: &LockedPackage| {
        let mut d: Vec<String> = p.dependencies.iter().map(dependency_text).collect();
        d.sort();
        d
    };
    let mut fields = Vec::new();
    if old.version != new.version {
        fields.push("version");
    }
    if old.sha256 != new.sha256 {
        fields.push("sha256");
    }
    if old.key_id != new.key_id {
        fields.push("key_id");
    }
    if old.download != new.download {
        fields.push("download");
    }
    if sorted_components(old) != sorted_components(new) {
        fields.push("components");
    }
    if sorted_dependencies(old) != sorted_dependencies(new) {
        fields.push("dependencies");
    }
    if old.requested != new.requested {
        fields.push("requested");
    }
    fields
}
