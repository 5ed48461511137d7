//! What a user may ask `ocp install` for: a component (`shopify.extractor`), a package
//! (`shopify-osiris`), either with a requirement (`shopify.extractor@^1.2`,
//! `shopify-osiris==1.0.0`, `shopify-osiris>=1,<2`), or a local tarball
//! (`./dist/shopify_osiris-1.0.0.tar.gz`).

use std::path::PathBuf;
use std::str::FromStr;

use pep440_rs::VersionSpecifiers;

use crate::model::{ComponentName, PackageName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallSpec {
    /// A component or package name with PEP 440 specifiers (empty: any version).
    Name {
        name: String,
        component: bool,
        specifiers: String,
    },
    /// A tarball on disk.
    Tarball(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("`{spec}` names no package")]
    Empty { spec: String },
    #[error("`{name}` is neither a component name (`family.role`) nor a package name")]
    BadName { name: String },
    #[error("`{spec}` has an invalid version requirement `{requirement}`: {reason}")]
    BadRequirement {
        spec: String,
        requirement: String,
        reason: String,
    },
}

impl InstallSpec {
    pub fn parse(spec: &str) -> Result<InstallSpec, SpecError> {
        let trimmed = spec.trim();
        if trimmed.ends_with(".tar.gz") || trimmed.starts_with("./") || trimmed.starts_with('/') {
            return Ok(InstallSpec::Tarball(PathBuf::from(trimmed)));
        }
        let (name, requirement) = match trimmed.split_once('@') {
            Some((name, requirement)) => (name.trim(), convert(requirement.trim())),
            None => match trimmed.find(['=', '<', '>', '!', '~']) {
                Some(at) => (trimmed[..at].trim(), trimmed[at..].trim().to_owned()),
                None => (trimmed, String::new()),
            },
        };
        if name.is_empty() {
            return Err(SpecError::Empty {
                spec: spec.to_owned(),
            });
        }
        if !requirement.is_empty() {
            VersionSpecifiers::from_str(&requirement).map_err(|error| {
                SpecError::BadRequirement {
                    spec: spec.to_owned(),
                    requirement: requirement.clone(),
                    reason: error
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                }
            })?;
        }
        let component = name.parse::<ComponentName>().is_ok();
        // Parsed here, so no later lookup can turn it into a path (`../x`).
        if !component && name.parse::<PackageName>().is_err() {
            return Err(SpecError::BadName {
                name: name.escape_debug().to_string(),
            });
        }
        Ok(InstallSpec::Name {
            name: name.to_owned(),
            component,
            specifiers: requirement,
        })
    }
}

/// `@` requirements in cargo's words: `^1.2` -> `>=1.2,<2`, `~1.2` -> `>=1.2,<1.3`,
/// `1.4` -> `==1.4.*`, `1.4.2` -> `==1.4.2`; PEP 440 operators pass through.
fn convert(requirement: &str) -> String {
    let numbers = |text: &str| -> Option<Vec<u64>> {
        text.split('.').map(|part| part.parse().ok()).collect()
    };
    if let Some(rest) = requirement.strip_prefix('^')
        && let Some(parts) = numbers(rest)
    {
        let bump = parts
            .iter()
            .position(|p| *p != 0)
            .unwrap_or(parts.len().saturating_sub(1));
        let mut upper: Vec<u64> = parts[..=bump.min(parts.len() - 1)].to_vec();
        if let Some(last) = upper.last_mut() {
            *last += 1;
        }
        return format!(">={rest},<{}", join(&upper));
    }
    if let Some(rest) = requirement.strip_prefix('~')
        && !rest.starts_with('=')
        && let Some(parts) = numbers(rest)
    {
        let keep = if parts.len() >= 2 { 2 } else { 1 };
        let mut upper: Vec<u64> = parts[..keep].to_vec();
        if let Some(last) = upper.last_mut() {
            *last += 1;
        }
        return format!(">={rest},<{}", join(&upper));
    }
    match numbers(requirement) {
        Some(parts) if parts.len() < 3 => format!("=={requirement}.*"),
        Some(_) => format!("=={requirement}"),
        None => requirement.to_owned(),
    }
}

fn join(parts: &[u64]) -> String {
    parts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(spec: &str) -> (String, bool, String) {
        match InstallSpec::parse(spec).expect(spec) {
            InstallSpec::Name {
                name,
                component,
                specifiers,
            } => (name, component, specifiers),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn components_packages_and_requirements() {
        assert_eq!(
            name("shopify.extractor"),
            ("shopify.extractor".into(), true, String::new())
        );
        assert_eq!(
            name("shopify-osiris==1.0.0"),
            ("shopify-osiris".into(), false, "==1.0.0".into())
        );
        assert_eq!(
            name("shopify.extractor@^1.2"),
            ("shopify.extractor".into(), true, ">=1.2,<2".into())
        );
        assert_eq!(
            name("shopify.extractor@^0.5.1"),
            ("shopify.extractor".into(), true, ">=0.5.1,<0.6".into())
        );
        assert_eq!(
            name("shopify.extractor@~1.2.3"),
            ("shopify.extractor".into(), true, ">=1.2.3,<1.3".into())
        );
        assert_eq!(
            name("shopify.extractor@1.4"),
            ("shopify.extractor".into(), true, "==1.4.*".into())
        );
        assert_eq!(
            name("shopify-osiris@1.4.2"),
            ("shopify-osiris".into(), false, "==1.4.2".into())
        );
        assert_eq!(
            name("shopify-osiris@>=1,<2"),
            ("shopify-osiris".into(), false, ">=1,<2".into())
        );
        assert_eq!(
            InstallSpec::parse("dist/x-1.0.tar.gz").expect("tarball"),
            InstallSpec::Tarball("dist/x-1.0.tar.gz".into())
        );
    }

    #[test]
    fn bad_requirements_are_refused() {
        assert!(InstallSpec::parse("shopify-osiris@banana").is_err());
        assert!(InstallSpec::parse("@1.0").is_err());
    }

    #[test]
    fn names_that_could_become_paths_are_refused() {
        for spec in ["../x", "../../x.extractor", "a/b", "x\\y", ".hidden", "a b"] {
            assert!(
                matches!(InstallSpec::parse(spec), Err(SpecError::BadName { .. })),
                "{spec}"
            );
        }
    }
}
