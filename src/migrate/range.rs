//! The honest Osiris range of a migrated package. It keeps the built-ins' component names,
//! so it can only be installed on Osiris releases that no longer ship them: every release
//! that ships one (the source Osiris, and every release in `check::builtin`'s lists that has
//! it) must lie outside the range. Without `--osiris`, the range starts at the first known
//! release after the last one that ships them; when no such release exists yet, the range
//! must be given, and the error says so.

use std::collections::BTreeSet;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use crate::check::builtin;
use crate::model::{ComponentName, format_specifiers};

/// Why a range cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error(
        "no Osiris release without the built-in {components} exists yet: {shipped} {verb} {pronoun}"
    )]
    NoReleaseWithout {
        components: String,
        shipped: String,
        verb: &'static str,
        pronoun: &'static str,
        /// A range to suggest (`>=0.6.0,<1.0.0`).
        suggestion: String,
    },
    #[error("the Osiris range `{range}` includes {inside}, which {verb} {components}")]
    IncludesBuiltin {
        range: String,
        inside: String,
        verb: &'static str,
        components: String,
        suggestion: String,
    },
}

impl RangeError {
    /// A range that excludes every release that ships the components.
    pub fn suggestion(&self) -> &str {
        match self {
            RangeError::NoReleaseWithout { suggestion, .. }
            | RangeError::IncludesBuiltin { suggestion, .. } => suggestion,
        }
    }
}

/// The releases that ship any of `components`: those ocp has lists for, and `source`.
fn shipping(components: &[ComponentName], source: &Version) -> Vec<Version> {
    let mut releases: BTreeSet<Version> = components
        .iter()
        .flat_map(|component| builtin::shipped_by(component.as_str()))
        .filter_map(|release| Version::from_str(release).ok())
        .collect();
    releases.insert(source.clone());
    releases.into_iter().collect()
}

/// The range for a package that provides `components`, migrated from Osiris `source`:
/// `asked` when it excludes every release that ships them, else the default.
pub fn choose(
    components: &[ComponentName],
    source: &Version,
    asked: Option<&VersionSpecifiers>,
) -> Result<VersionSpecifiers, RangeError> {
    let shipping = shipping(components, source);
    let newest = shipping.last().unwrap_or(source).clone();
    let suggestion = format!(
        ">={},<{}.0.0",
        next_minor(&newest),
        major(&newest).saturating_add(1).max(1)
    );
    let quoted: Vec<String> = components.iter().map(|c| format!("`{c}`")).collect();
    let (verb, pronoun) = if shipping.len() == 1 {
        ("ships", if components.len() == 1 { "it" } else { "them" })
    } else {
        ("ship", if components.len() == 1 { "it" } else { "them" })
    };
    let words: Vec<String> = shipping.iter().map(ToString::to_string).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    if let Some(range) = asked {
        let inside: Vec<&str> = words
            .iter()
            .zip(&shipping)
            .filter(|(_, version)| range.contains(version))
            .map(|(word, _)| *word)
            .collect();
        if inside.is_empty() {
            return Ok(range.clone());
        }
        return Err(RangeError::IncludesBuiltin {
            range: format_specifiers(range),
            inside: release_words(&inside),
            verb: if inside.len() == 1 {
                "ships its own"
            } else {
                "ship their own"
            },
            components: crate::diagnostics::join_words(&quoted),
            suggestion,
        });
    }
    // A release ocp knows that comes after the last one shipping them and lacks them all.
    let without = builtin::releases()
        .filter_map(|release| Version::from_str(release).ok())
        .find(|release| *release > newest && !shipping.contains(release));
    match without {
        Some(release) => Ok(VersionSpecifiers::from_str(&format!(
            ">={release},<{}.0.0",
            major(&release).saturating_add(1).max(1)
        ))
        .unwrap_or_else(|_| VersionSpecifiers::empty())),
        None => Err(RangeError::NoReleaseWithout {
            components: crate::diagnostics::join_words(&quoted),
            shipped: release_words(&words),
            verb,
            pronoun,
            suggestion,
        }),
    }
}

/// `Osiris 0.5.1 to 0.5.7` for releases ocp knows, with any others listed after.
fn release_words(releases: &[&str]) -> String {
    let known: Vec<&str> = builtin::releases().collect();
    let (listed, others): (Vec<&str>, Vec<&str>) =
        releases.iter().partition(|release| known.contains(release));
    match (listed.is_empty(), others.is_empty()) {
        (false, true) => builtin::releases_words(&listed),
        (true, _) => format!("Osiris {}", crate::diagnostics::join_words(&others)),
        (false, false) => format!(
            "{} and {}",
            builtin::releases_words(&listed),
            crate::diagnostics::join_words(&others)
        ),
    }
}

fn major(version: &Version) -> u64 {
    version.release().first().copied().unwrap_or(0)
}

/// `0.6.0` after `0.5.7`.
fn next_minor(version: &Version) -> String {
    let release = version.release();
    let minor = release.get(1).copied().unwrap_or(0);
    format!("{}.{}.0", major(version), minor.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<ComponentName> {
        list.iter().map(|n| n.parse().expect("name")).collect()
    }

    fn version(text: &str) -> Version {
        Version::from_str(text).expect("version")
    }

    #[test]
    fn no_release_without_the_builtin_exists_yet() {
        let error = choose(&names(&["mysql.extractor"]), &version("0.5.7"), None)
            .expect_err("every known release ships it");
        assert_eq!(
            error.to_string(),
            "no Osiris release without the built-in `mysql.extractor` exists yet: Osiris 0.5.1 to 0.5.7 ship it"
        );
        assert_eq!(error.suggestion(), ">=0.6.0,<1.0.0");
    }

    #[test]
    fn a_range_must_exclude_every_release_that_ships_them() {
        let components = names(&["mysql.extractor", "mysql.writer"]);
        let asked = VersionSpecifiers::from_str(">=0.5.6").expect("range");
        let error = choose(&components, &version("0.5.7"), Some(&asked)).expect_err("includes");
        assert_eq!(
            error.to_string(),
            "the Osiris range `>=0.5.6` includes Osiris 0.5.6 and 0.5.7, which ship their own `mysql.extractor` and `mysql.writer`"
        );
        let asked = VersionSpecifiers::from_str(">=0.6.0,<1.0.0").expect("range");
        let chosen = choose(&components, &version("0.5.7"), Some(&asked)).expect("fits");
        assert_eq!(format_specifiers(&chosen), ">=0.6.0,<1.0.0");
    }

    #[test]
    fn a_source_release_ocp_does_not_know_counts_as_shipping() {
        let components = names(&["acme.extractor"]);
        let asked = VersionSpecifiers::from_str(">=0.6.0").expect("range");
        let error = choose(&components, &version("0.6.1"), Some(&asked)).expect_err("source");
        assert!(
            error.to_string().contains("includes Osiris 0.6.1"),
            "{error}"
        );
    }
}
