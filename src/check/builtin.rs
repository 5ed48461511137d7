//! The component names Osiris itself ships, one list per release, kept as data in
//! `src/check/builtin/osiris-<version>.txt`. Each list was read from that release's wheel on
//! PyPI (the folders of `components/` that hold a `spec.yaml`; the file header names the
//! wheel and its sha256), and a test compares the 0.5.7 list with the real installed
//! release. A package may provide one of these names only when its Osiris range excludes
//! every release that ships it (a built-in moved out of Osiris, as `ocp migrate` makes):
//! where Osiris has its own copy, that copy would always be the one found, and ocp's install
//! refuses to overwrite it.
//!
//! This module only answers questions about the table; `ocp check`, `ocp publish` and
//! `ocp index verify` decide what to do with the answer.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use crate::model::ComponentName;

/// Every Osiris release ocp knows, oldest first, with the text of its list.
const RELEASES: &[(&str, &str)] = &[
    ("0.5.1", include_str!("builtin/osiris-0.5.1.txt")),
    ("0.5.2", include_str!("builtin/osiris-0.5.2.txt")),
    ("0.5.3", include_str!("builtin/osiris-0.5.3.txt")),
    ("0.5.4", include_str!("builtin/osiris-0.5.4.txt")),
    ("0.5.5", include_str!("builtin/osiris-0.5.5.txt")),
    ("0.5.6", include_str!("builtin/osiris-0.5.6.txt")),
    ("0.5.7", include_str!("builtin/osiris-0.5.7.txt")),
];

/// The Osiris releases ocp has a list for, oldest first.
pub fn releases() -> impl Iterator<Item = &'static str> {
    RELEASES.iter().map(|(version, _)| *version)
}

/// The components Osiris `version` ships, sorted; `None` for a release ocp has no list for.
pub fn components(version: &str) -> Option<Vec<&'static str>> {
    RELEASES
        .iter()
        .find(|(known, _)| *known == version)
        .map(|(_, text)| names(text).collect())
}

fn names(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// The Osiris releases that ship `component`, oldest first; empty when none does.
pub fn shipped_by(component: &str) -> Vec<&'static str> {
    RELEASES
        .iter()
        .filter(|(_, text)| names(text).any(|name| name == component))
        .map(|(version, _)| *version)
        .collect()
}

/// `Osiris 0.5.1 to 0.5.7 ship their own `mysql.extractor`` when Osiris ships `component`.
pub fn shipped_message(component: &str) -> Option<String> {
    let releases = shipped_by(component);
    match releases.len() {
        0 => None,
        1 => Some(format!(
            "{} ships its own `{component}`",
            releases_words(&releases)
        )),
        _ => Some(format!(
            "{} ship their own `{component}`",
            releases_words(&releases)
        )),
    }
}

/// A component name that Osiris itself ships, refused where a package is made unless the
/// package's Osiris range excludes every release that ships it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shipped}, and {reason}")]
pub struct BuiltinName {
    shipped: String,
    /// Why the package's range does not keep it apart from those releases.
    reason: String,
    /// A name in the same family that Osiris does not use (`acme-mysql.extractor`).
    pub suggestion: String,
}

/// The releases that ship `component` and that `range` admits, oldest first.
pub fn shipped_within(component: &str, range: &VersionSpecifiers) -> Vec<&'static str> {
    shipped_by(component)
        .into_iter()
        .filter(|release| Version::from_str(release).is_ok_and(|version| range.contains(&version)))
        .collect()
}

/// Refuses `component` when Osiris ships it, unless `range` (the package's Osiris range)
/// excludes every release that ships it: a package that keeps a built-in's name can only be
/// installed where Osiris no longer has its own copy. `prefix` (the distribution's name
/// without `-osiris`) makes the suggested name the author's own.
pub fn ensure_allowed(
    component: &ComponentName,
    prefix: Option<&str>,
    range: Option<&VersionSpecifiers>,
) -> Result<(), BuiltinName> {
    let Some(shipped) = shipped_message(component.as_str()) else {
        return Ok(());
    };
    let reason = match range.filter(|range| !range.is_empty()) {
        Some(range) => {
            let within = shipped_within(component.as_str(), range);
            if within.is_empty() {
                return Ok(());
            }
            let which = if within.len() == shipped_by(component.as_str()).len() {
                "them".to_owned()
            } else {
                releases_words(&within)
            };
            format!(
                "the Osiris range `{}` includes {which}",
                crate::model::format_specifiers(range)
            )
        }
        None => "no Osiris range keeps the package apart from them".to_owned(),
    };
    let prefix = prefix
        .filter(|prefix| !prefix.is_empty() && *prefix != component.family())
        .unwrap_or("my");
    Err(BuiltinName {
        shipped,
        reason,
        suggestion: format!("{prefix}-{}.{}", component.family(), component.role()),
    })
}

/// The releases that ship `component` and that an Osiris range written as text (an index
/// entry's `osiris`) admits; every release that ships it when the text is no usable range.
pub fn shipped_within_text(component: &str, range: &str) -> Vec<&'static str> {
    match VersionSpecifiers::from_str(range) {
        Ok(range) if !range.is_empty() => shipped_within(component, &range),
        _ => shipped_by(component),
    }
}

/// The help for a refused built-in name: another name, or a range without the built-in.
pub fn refused_help(refused: &BuiltinName, component: &ComponentName) -> String {
    format!(
        "choose another name, such as `{}`; a package may keep the name `{component}` only if its Osiris range excludes every release that ships it (`ocp migrate {component}` moves the built-in into such a package)",
        refused.suggestion
    )
}

/// The releases in words, runs of consecutive known releases joined:
/// `Osiris 0.5.1 to 0.5.7`, `Osiris 0.5.6 and 0.5.7`, `Osiris 0.5.2, 0.5.4 and 0.5.5`.
pub fn releases_words(versions: &[&str]) -> String {
    let known: Vec<&str> = releases().collect();
    let position = |version: &str| known.iter().position(|known| *known == version);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for index in versions.iter().filter_map(|version| position(version)) {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == index => *end = index,
            _ => runs.push((index, index)),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    for (start, end) in runs {
        match end - start {
            0 => parts.push(known[start].to_owned()),
            1 => parts.extend([known[start].to_owned(), known[end].to_owned()]),
            _ => parts.push(format!("{} to {}", known[start], known[end])),
        }
    }
    format!("Osiris {}", crate::diagnostics::join_words(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_component_names() {
        for version in releases() {
            let list = components(version).expect("a list");
            assert!(!list.is_empty(), "{version}");
            let mut sorted = list.clone();
            sorted.sort_unstable();
            assert_eq!(list, sorted, "{version} is not sorted");
            for name in list {
                assert!(
                    name.parse::<crate::model::ComponentName>().is_ok(),
                    "{version}: {name}"
                );
            }
        }
    }

    #[test]
    fn names_the_releases_that_ship_a_component() {
        assert_eq!(shipped_by("mysql.extractor").len(), 7);
        assert_eq!(shipped_by("posthog.extractor"), vec!["0.5.6", "0.5.7"]);
        assert!(shipped_by("shopify.extractor").is_empty());
        assert_eq!(
            releases_words(&shipped_by("mysql.extractor")),
            "Osiris 0.5.1 to 0.5.7"
        );
        assert_eq!(
            releases_words(&shipped_by("posthog.extractor")),
            "Osiris 0.5.6 and 0.5.7"
        );
        assert_eq!(
            releases_words(&["0.5.2", "0.5.4", "0.5.5"]),
            "Osiris 0.5.2, 0.5.4 and 0.5.5"
        );
        assert_eq!(releases_words(&["0.5.7"]), "Osiris 0.5.7");
    }

    #[test]
    fn a_builtin_name_is_allowed_only_by_a_range_without_its_releases() {
        let name: ComponentName = "mysql.extractor".parse().expect("name");
        let range = |text: &str| VersionSpecifiers::from_str(text).expect("range");
        assert!(ensure_allowed(&name, None, Some(&range(">=0.9.0,<1.0.0"))).is_ok());
        assert!(ensure_allowed(&name, None, Some(&range("<0.5.1"))).is_ok());
        let refused = ensure_allowed(&name, Some("acme"), Some(&range(">=0.5.5")))
            .expect_err("0.5.5 to 0.5.7 ship it");
        assert_eq!(
            refused.to_string(),
            "Osiris 0.5.1 to 0.5.7 ship their own `mysql.extractor`, and the Osiris range `>=0.5.5` includes Osiris 0.5.5 to 0.5.7"
        );
        assert_eq!(refused.suggestion, "acme-mysql.extractor");
        assert!(ensure_allowed(&name, None, None).is_err());
        let other: ComponentName = "shopify.extractor".parse().expect("name");
        assert!(ensure_allowed(&other, None, None).is_ok());
        assert_eq!(
            shipped_within_text("posthog.extractor", "<0.5.6"),
            Vec::<&str>::new()
        );
        assert_eq!(shipped_within_text("posthog.extractor", "bananas").len(), 2);
    }
}
