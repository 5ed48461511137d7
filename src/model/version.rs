//! Package versions. The Python side (pyproject.toml, `__version__`) speaks PEP 440
//! (`1.0.0rc1`); Osiris specs speak semver (`1.0.0-rc.1`). A [`PackageVersion`] holds the
//! PEP 440 form and converts both ways, so the same release compares equal in either spelling.

use std::fmt;
use std::str::FromStr;

use pep440_rs::{Prerelease, PrereleaseKind, Version};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("`{value}` is not a valid PEP 440 version: {reason}")]
    Pep440 { value: String, reason: String },
    #[error(
        "`{value}` is not a semantic version (`MAJOR.MINOR.PATCH`, for example `1.0.0` or `1.0.0-rc.1`)"
    )]
    Semver { value: String },
    #[error("version `{value}` has no semver spelling: {reason}")]
    NoSemver { value: String, reason: String },
}

/// A package version, held in its PEP 440 form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageVersion(Version);

impl PackageVersion {
    /// The semver spelling an Osiris spec uses: `1.0.0rc1` -> `1.0.0-rc.1`.
    pub fn to_semver(&self) -> Result<String, VersionError> {
        let version = &self.0;
        let no_semver = |reason: &str| VersionError::NoSemver {
            value: version.to_string(),
            reason: reason.to_owned(),
        };
        if version.epoch() != 0 {
            return Err(no_semver("it has an epoch"));
        }
        if version.is_post() {
            return Err(no_semver(
                "semver has no post-releases; publish a new patch version instead",
            ));
        }
        let release = version.release();
        if release.len() > 3 {
            return Err(no_semver("it has more than three release numbers"));
        }
        let part = |index: usize| release.get(index).copied().unwrap_or(0);
        let mut out = format!("{}.{}.{}", part(0), part(1), part(2));
        let mut pre = Vec::new();
        if let Some(Prerelease { kind, number }) = version.pre() {
            let label = match kind {
                PrereleaseKind::Alpha => "alpha",
                PrereleaseKind::Beta => "beta",
                PrereleaseKind::Rc => "rc",
            };
            pre.push(format!("{label}.{number}"));
        }
        if let Some(dev) = version.dev() {
            pre.push(format!("dev.{dev}"));
        }
        if !pre.is_empty() {
            out.push('-');
            out.push_str(&pre.join("."));
        }
        if !version.local().is_empty() {
            let local: Vec<String> = version.local().iter().map(ToString::to_string).collect();
            out.push('+');
            out.push_str(&local.join("."));
        }
        Ok(out)
    }
}

impl FromStr for PackageVersion {
    type Err = VersionError;

    fn from_str(value: &str) -> Result<Self, VersionError> {
        Version::from_str(value)
            .map(PackageVersion)
            .map_err(|error| VersionError::Pep440 {
                value: value.to_owned(),
                reason: error.to_string(),
            })
    }
}

impl fmt::Display for PackageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// PEP 440 specifiers written the way people write them: `>=0.5.0,<1.0.0` (no spaces).
pub fn format_specifiers(specifiers: &pep440_rs::VersionSpecifiers) -> String {
    specifiers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A range as `compatibility.requires` items of an Osiris spec, one bound each
/// (`osiris>=0.5.0`, `osiris<1.0.0`), as the 0.5.7 schema's item pattern allows; `None` when a
/// bound has no such form (`~=`, `!=`, wildcards, pre-releases).
pub fn single_bound_items(name: &str, range: &pep440_rs::VersionSpecifiers) -> Option<Vec<String>> {
    use pep440_rs::Operator;
    range
        .iter()
        .map(|specifier| {
            let operator = match specifier.operator() {
                Operator::GreaterThanEqual => ">=",
                Operator::GreaterThan => ">",
                Operator::LessThanEqual => "<=",
                Operator::LessThan => "<",
                Operator::Equal => "==",
                _ => return None,
            };
            let version = specifier.version().to_string();
            version
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
                .then(|| format!("{name}{operator}{version}"))
        })
        .collect()
}

/// Reads a semver string (as in spec.yaml) as the PEP 440 version it stands for:
/// `1.0.0-rc.1` -> `1.0.0rc1`, `2.0.0-alpha.3` -> `2.0.0a3`.
pub fn semver_to_pep440(value: &str) -> Result<PackageVersion, VersionError> {
    let parsed = semver::Version::parse(value).map_err(|_| VersionError::Semver {
        value: value.to_owned(),
    })?;
    let mut text = format!("{}.{}.{}", parsed.major, parsed.minor, parsed.patch);
    if !parsed.pre.is_empty() {
        // PEP 440 accepts `-rc.1`, `-alpha.1`, `-beta.2`, `-dev.3` and normalizes them.
        text.push('-');
        text.push_str(parsed.pre.as_str());
    }
    if !parsed.build.is_empty() {
        text.push('+');
        text.push_str(parsed.build.as_str());
    }
    text.parse().map_err(|_| VersionError::NoSemver {
        value: value.to_owned(),
        reason:
            "its pre-release label is not one PEP 440 knows (use `alpha`, `beta`, `rc` or `dev`)"
                .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_spellings_agree() {
        let python: PackageVersion = "1.0.0rc1".parse().expect("pep440");
        let spec = semver_to_pep440("1.0.0-rc.1").expect("semver");
        assert_eq!(python, spec);
        assert_eq!(python.to_semver().expect("semver form"), "1.0.0-rc.1");
    }

    #[test]
    fn alpha_beta_dev_round_trip() {
        for (pep, sem) in [
            ("2.1.0a3", "2.1.0-alpha.3"),
            ("0.4.0b2", "0.4.0-beta.2"),
            ("1.2.3", "1.2.3"),
            ("1.0.0.dev4", "1.0.0-dev.4"),
        ] {
            let version: PackageVersion = pep.parse().expect(pep);
            assert_eq!(version.to_semver().expect(pep), sem);
            assert_eq!(semver_to_pep440(sem).expect(sem), version);
        }
    }

    #[test]
    fn short_releases_pad_to_three() {
        let version: PackageVersion = "1.0".parse().expect("pep440");
        assert_eq!(version.to_semver().expect("semver"), "1.0.0");
    }

    #[test]
    fn refuses_what_semver_cannot_say() {
        assert!(
            "1.0.0.post1"
                .parse::<PackageVersion>()
                .expect("pep440")
                .to_semver()
                .is_err()
        );
        assert!(semver_to_pep440("1.0").is_err());
        assert!(semver_to_pep440("1.0.0-banana.1").is_err());
    }
}
