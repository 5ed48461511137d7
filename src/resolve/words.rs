//! Version ranges written back in the PEP 440 words people type: `>=0.6.0`, `>=1.0,<2.0`,
//! `==1.0.0`, `!=1.5`, `==2.1.*`, "any version".
//!
//! pubgrub works on intervals, and `pep440_rs` builds them with markers a person never wrote:
//! `~=2.1` becomes `[2.1, 3.dev0)`, `<1.0` ends at `1.0.min0` and `>1.0` starts after
//! `1.0.max0`. Those markers exist so that pre- and post-releases sort correctly; they must
//! not reach a message, so this module removes them. It formats; it never decides anything.

use std::ops::Bound;

use pep440_rs::Version;
use pubgrub::Ranges;

/// A version as a person would write it: without the `min`/`max` markers of exclusive bounds.
pub fn version_words(version: &Version) -> String {
    plain(version).to_string()
}

/// A range in PEP 440 words, for example `>=1.0,<2.0`; "any version" for the full range and
/// "no version" for the empty one.
pub fn range_words(range: &Ranges<Version>) -> String {
    if range.is_empty() {
        return "no version".to_owned();
    }
    if range == &Ranges::full() {
        return "any version".to_owned();
    }
    if let Some(excluded) = range.complement().as_singleton() {
        return format!("!={}", version_words(excluded));
    }
    range
        .iter()
        .map(|(lower, upper)| segment_words(lower, upper))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn segment_words(lower: &Bound<Version>, upper: &Bound<Version>) -> String {
    if let (Bound::Included(low), Bound::Included(high)) = (lower, upper)
        && low == high
    {
        return format!("=={}", version_words(low));
    }
    if let (Bound::Included(low), Bound::Excluded(high)) = (lower, upper)
        && let Some(prefix) = wildcard_prefix(low, high)
    {
        return format!("=={prefix}.*");
    }
    let lower = match lower {
        Bound::Included(version) => Some(format!(">={}", bound_words(version))),
        Bound::Excluded(version) => Some(format!(">{}", bound_words(version))),
        Bound::Unbounded => None,
    };
    let upper = match upper {
        Bound::Included(version) => Some(format!("<={}", bound_words(version))),
        Bound::Excluded(version) => Some(format!("<{}", bound_words(version))),
        Bound::Unbounded => None,
    };
    match (lower, upper) {
        (Some(lower), Some(upper)) => format!("{lower},{upper}"),
        (Some(bound), None) | (None, Some(bound)) => bound,
        (None, None) => "any version".to_owned(),
    }
}

/// `[2.1.dev0, 2.2.dev0)` is what `==2.1.*` becomes: give back `2.1`.
fn wildcard_prefix(low: &Version, high: &Version) -> Option<String> {
    if !is_dev_zero(low) || !is_dev_zero(high) || low.epoch() != high.epoch() {
        return None;
    }
    let (low_release, high_release) = (low.release(), high.release());
    let (last, rest) = low_release.split_last()?;
    let bumped: Vec<u64> = rest.iter().copied().chain([last + 1]).collect();
    (high_release == bumped.as_slice()).then(|| version_words(&low.clone().with_dev(None)))
}

/// A bound version: `3.dev0` as the end of `~=2.1` reads `3`, which PEP 440's `<3` means too.
fn bound_words(version: &Version) -> String {
    if is_dev_zero(version) {
        version_words(&version.clone().with_dev(None))
    } else {
        version_words(version)
    }
}

fn is_dev_zero(version: &Version) -> bool {
    version.dev() == Some(0) && version.pre().is_none() && version.post().is_none()
}

fn plain(version: &Version) -> Version {
    if version.min().is_some() || version.max().is_some() {
        version.clone().with_min(None).with_max(None)
    } else {
        version.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use pep440_rs::VersionSpecifiers;

    use super::*;

    fn words(specifiers: &str) -> String {
        let specifiers = VersionSpecifiers::from_str(specifiers).expect("specifiers");
        range_words(&Ranges::from(specifiers))
    }

    #[test]
    fn ranges_read_as_pep_440() {
        assert_eq!(words(">=0.6.0"), ">=0.6.0");
        assert_eq!(words(">=1.0,<2.0"), ">=1.0,<2.0");
        assert_eq!(words("==1.0.0"), "==1.0.0");
        assert_eq!(words(""), "any version");
        assert_eq!(words("!=1.5"), "!=1.5");
        assert_eq!(words(">1.0"), ">1.0");
        assert_eq!(words("<=3"), "<=3");
        assert_eq!(words("==2.1.*"), "==2.1.*");
        assert_eq!(words(">=2.0.0rc1"), ">=2.0.0rc1");
    }

    #[test]
    fn compatible_release_does_not_leak_dev0() {
        assert_eq!(words("~=2.1"), ">=2.1,<3");
        assert_eq!(words("~=2.1.3"), ">=2.1.3,<2.2");
        assert!(!words("~=0.5.0,!=0.5.3").contains("dev"));
    }
}
