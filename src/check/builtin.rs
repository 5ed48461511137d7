//! The component names Osiris itself ships, one list per release, kept as data in
//! `src/check/builtin/osiris-<version>.txt`. Each list was read from that release's wheel on
//! PyPI (the folders of `components/` that hold a `spec.yaml`; the file header names the
//! wheel and its sha256), and a test compares the 0.5.7 list with the real installed
//! release. A package may not provide one of these names: Osiris's own copy would always be
//! the one found, and ocp's install refuses to overwrite it.
//!
//! This module only answers questions about the table; `ocp check`, `ocp publish` and
//! `ocp index verify` decide what to do with the answer.

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

/// A component name that Osiris itself ships, refused where a package is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shipped}, so no package can provide a component of that name")]
pub struct BuiltinName {
    shipped: String,
    /// A name in the same family that Osiris does not use (`acme-mysql.extractor`).
    pub suggestion: String,
}

/// Refuses `component` when Osiris ships it. `prefix` (the distribution's name without
/// `-osiris`) makes the suggested name the author's own.
pub fn ensure_not_builtin(
    component: &ComponentName,
    prefix: Option<&str>,
) -> Result<(), BuiltinName> {
    let Some(shipped) = shipped_message(component.as_str()) else {
        return Ok(());
    };
    let prefix = prefix
        .filter(|prefix| !prefix.is_empty() && *prefix != component.family())
        .unwrap_or("my");
    Err(BuiltinName {
        shipped,
        suggestion: format!("{prefix}-{}.{}", component.family(), component.role()),
    })
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
}
