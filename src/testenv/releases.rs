//! Which Osiris releases exist, from a package index's simple API in its JSON form
//! (PEP 691, with PEP 700's `versions`), and which of them a test matrix uses: the newest
//! release inside the package's range, and with `--matrix` the oldest one too. Yanked
//! releases and pre-releases are left out.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use serde::Deserialize;

use super::TestEnvError;

/// The distribution whose releases are listed.
pub const OSIRIS_DISTRIBUTION: &str = "osiris-pipeline";
/// What the simple API is asked for.
pub const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";
/// A bound on the answer, far above the size of any real project page.
pub const MAX_PAGE_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    files: Vec<PageFile>,
}

#[derive(Deserialize)]
struct PageFile {
    filename: String,
    #[serde(default)]
    yanked: serde_json::Value,
}

/// The URL of the distribution's page on the index at `index_url` (`.../simple`).
pub fn page_url(index_url: &str) -> String {
    format!("{}/{OSIRIS_DISTRIBUTION}/", index_url.trim_end_matches('/'))
}

/// The releases on a simple-API JSON page that are not yanked and not pre-releases, oldest
/// first. A version counts as yanked when every one of its files is.
pub fn parse_page(bytes: &[u8]) -> Result<Vec<Version>, TestEnvError> {
    let page: Page =
        serde_json::from_slice(bytes).map_err(|error| TestEnvError::BadReleasePage {
            reason: error.to_string(),
        })?;
    let mut names: Vec<String> = page.versions;
    let file_version = |filename: &str| -> Option<String> {
        let stem = filename
            .strip_suffix(".tar.gz")
            .or_else(|| filename.strip_suffix(".zip"))
            .or_else(|| filename.strip_suffix(".whl"))?;
        let (_, rest) = stem.split_once('-')?;
        Some(rest.split('-').next()?.to_owned())
    };
    let mut live: Vec<String> = Vec::new();
    let mut seen_files: Vec<String> = Vec::new();
    for file in &page.files {
        let Some(version) = file_version(&file.filename) else {
            continue;
        };
        seen_files.push(version.clone());
        let yanked = match &file.yanked {
            serde_json::Value::Bool(yanked) => *yanked,
            serde_json::Value::String(_) => true,
            _ => false,
        };
        if !yanked {
            live.push(version.clone());
        }
        if !names.contains(&version) {
            names.push(version);
        }
    }
    let mut versions: Vec<Version> = names
        .iter()
        // A version with files, all yanked, is left out; one listed without files is kept.
        .filter(|name| live.contains(name) || !seen_files.contains(name))
        .filter_map(|name| Version::from_str(name).ok())
        .filter(|version| !version.any_prerelease())
        .collect();
    versions.sort();
    versions.dedup();
    Ok(versions)
}

/// The versions a test run uses: the newest release inside `range`, and with `matrix` the
/// oldest one too (once, when they are the same).
pub fn choose(releases: &[Version], range: &VersionSpecifiers, matrix: bool) -> Vec<Version> {
    let inside: Vec<&Version> = releases.iter().filter(|v| range.contains(v)).collect();
    let mut chosen = Vec::new();
    if matrix && let Some(oldest) = inside.first() {
        chosen.push((*oldest).clone());
    }
    if let Some(newest) = inside.last()
        && !chosen.contains(newest)
    {
        chosen.push((*newest).clone());
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<Version> {
        list.iter()
            .map(|v| Version::from_str(v).expect("version"))
            .collect()
    }

    #[test]
    fn pages_list_releases_without_yanked_or_pre_releases() {
        let page = br#"{
            "meta": {"api-version": "1.1"},
            "name": "osiris-pipeline",
            "versions": ["0.5.5", "0.5.6", "0.5.7", "0.6.0rc1"],
            "files": [
                {"filename": "osiris_pipeline-0.5.5-py3-none-any.whl", "yanked": false},
                {"filename": "osiris_pipeline-0.5.6-py3-none-any.whl", "yanked": "broken"},
                {"filename": "osiris_pipeline-0.5.6.tar.gz", "yanked": true},
                {"filename": "osiris_pipeline-0.5.7.tar.gz"},
                {"filename": "osiris_pipeline-0.6.0rc1.tar.gz"}
            ]
        }"#;
        assert_eq!(
            parse_page(page).expect("page"),
            versions(&["0.5.5", "0.5.7"])
        );
        assert!(parse_page(b"<html>").is_err());
    }

    #[test]
    fn versions_come_from_file_names_without_pep_700() {
        let page = br#"{"files": [{"filename": "osiris_pipeline-0.5.1.tar.gz"}, {"filename": "osiris_pipeline-0.4.9-py3-none-any.whl"}]}"#;
        assert_eq!(
            parse_page(page).expect("page"),
            versions(&["0.4.9", "0.5.1"])
        );
    }

    #[test]
    fn the_newest_inside_the_range_and_the_oldest_with_matrix() {
        let releases = versions(&["0.4.0", "0.5.1", "0.5.5", "0.5.7", "1.0.0"]);
        let range = VersionSpecifiers::from_str(">=0.5.0,<1.0.0").expect("range");
        assert_eq!(choose(&releases, &range, false), versions(&["0.5.7"]));
        assert_eq!(
            choose(&releases, &range, true),
            versions(&["0.5.1", "0.5.7"])
        );
        let one = VersionSpecifiers::from_str("==0.5.5").expect("range");
        assert_eq!(choose(&releases, &one, true), versions(&["0.5.5"]));
        let none = VersionSpecifiers::from_str(">=2").expect("range");
        assert!(choose(&releases, &none, true).is_empty());
    }
}
