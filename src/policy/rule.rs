//! One entry of an allowlist or a denylist: a package name with an optional PEP 440
//! requirement (`shopify-osiris==1.0.0`, `hubspot-osiris>=2.0.0,<3.0.0`, `untrusted-osiris`),
//! or a component name with one (`shopify.extractor`, `shopify.extractor>=1.0`), where the
//! requirement is on the version of the package that provides the component.
//!
//! A name that is a valid component name (`family.role`) is a component; anything else must
//! be a package name. Parsed once, where the entry is read, so a policy cannot hold an entry
//! that does not mean anything.

use std::fmt;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use crate::model::{ComponentName, PackageName};

/// Why an entry is not a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` {reason}")]
pub struct RuleError {
    pub text: String,
    pub reason: String,
}

/// What a rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A distribution, by normalized name.
    Package(String),
    /// A component, which a package version provides.
    Component(ComponentName),
}

/// A parsed allowlist or denylist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    target: Target,
    specifiers: VersionSpecifiers,
    /// As written, for messages.
    text: String,
}

impl Rule {
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Whether package `name` (normalized) at `version` matches a package rule.
    pub fn matches_package(&self, name: &str, version: &Version) -> bool {
        matches!(&self.target, Target::Package(package) if package == name)
            && self.specifiers.contains(version)
    }

    /// Whether a version that provides `component` matches a component rule.
    pub fn matches_component(&self, component: &str, version: &Version) -> bool {
        matches!(&self.target, Target::Component(wanted) if wanted.as_str() == component)
            && self.specifiers.contains(version)
    }

    /// Whether the rule is about package `name` at all, whatever the version.
    pub fn names_package(&self, name: &str) -> bool {
        matches!(&self.target, Target::Package(package) if package == name)
    }
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Rule, RuleError> {
        let error = |reason: String| RuleError {
            text: text.escape_debug().to_string(),
            reason,
        };
        let trimmed = text.trim();
        let split = trimmed
            .find(['=', '<', '>', '!', '~', ' '])
            .unwrap_or(trimmed.len());
        let (name, requirement) = (&trimmed[..split], trimmed[split..].trim());
        if name.is_empty() {
            return Err(error("names no package or component".to_owned()));
        }
        if name.contains(['[', ';', '@']) || requirement.contains(['[', ';', '@']) {
            return Err(error(
                "uses extras, markers or a URL, which a policy entry cannot have".to_owned(),
            ));
        }
        let target = if let Ok(component) = name.parse::<ComponentName>() {
            Target::Component(component)
        } else if let Ok(package) = name.parse::<PackageName>() {
            Target::Package(package.normalized())
        } else {
            return Err(error(format!(
                "is not a package name (`shopify-osiris`) or a component name (`shopify.extractor`): `{}` is not a name",
                name.escape_debug()
            )));
        };
        let specifiers = if requirement.is_empty() {
            VersionSpecifiers::empty()
        } else {
            VersionSpecifiers::from_str(requirement).map_err(|parse| {
                let first = parse.to_string();
                error(format!(
                    "has an invalid PEP 440 requirement `{requirement}`: {}",
                    first
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim_end_matches(':')
                ))
            })?
        };
        Ok(Rule {
            target,
            specifiers,
            text: trimmed.to_owned(),
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        text.parse().expect("version")
    }

    #[test]
    fn package_entries_match_names_and_versions() {
        let pinned: Rule = "shopify-osiris==1.0.0".parse().expect("rule");
        assert!(pinned.matches_package("shopify-osiris", &version("1.0.0")));
        assert!(!pinned.matches_package("shopify-osiris", &version("1.0.1")));
        let range: Rule = "HubSpot_Osiris >=2.0.0, <3.0.0".parse().expect("rule");
        assert!(range.matches_package("hubspot-osiris", &version("2.5")));
        assert!(!range.matches_package("hubspot-osiris", &version("3.0.0")));
        let any: Rule = "untrusted-osiris".parse().expect("rule");
        assert!(any.matches_package("untrusted-osiris", &version("0.0.1")));
        assert!(!any.matches_package("trusted-osiris", &version("0.0.1")));
        assert_eq!(range.to_string(), "HubSpot_Osiris >=2.0.0, <3.0.0");
    }

    #[test]
    fn component_entries_match_what_a_version_provides() {
        let rule: Rule = "shopify.extractor>=1.0".parse().expect("rule");
        assert!(matches!(rule.target(), Target::Component(_)));
        assert!(rule.matches_component("shopify.extractor", &version("1.2")));
        assert!(!rule.matches_component("shopify.extractor", &version("0.9")));
        assert!(!rule.matches_package("shopify-osiris", &version("1.2")));
    }

    #[test]
    fn entries_that_mean_nothing_are_refused_with_the_reason() {
        for (text, reason) in [
            ("", "names no package"),
            ("shopify-osiris=>1.0", "invalid PEP 440 requirement `=>1.0`"),
            ("../etc", "is not a package name"),
            ("shopify-osiris[extra]", "extras, markers or a URL"),
            ("x ; python_version<'3'", "extras, markers or a URL"),
        ] {
            let error = text.parse::<Rule>().expect_err(text);
            assert!(error.to_string().contains(reason), "{text}: {error}");
        }
    }
}
