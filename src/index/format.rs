//! The on-disk format of an ocp index: `config.json` at the root, and one file of JSON lines
//! per package at a sharded path, one line per published version. Described for people in
//! `registry-index/README.md` and for machines in `schemas/index-*.schema.json`. This module
//! only reads and writes the format; git, storage and policy live elsewhere.

use serde::{Deserialize, Serialize};

/// The index format this ocp reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A dependency of one OCP on another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryDependency {
    /// The normalized distribution name (`base-osiris`).
    pub name: String,
    /// PEP 440 specifiers (`>=1.0,<2`), empty for any version.
    pub requirement: String,
}

/// One published version of a package: one line of its index file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// The normalized distribution name (`shopify-osiris`).
    pub name: String,
    /// The PEP 440 version, normalized (`1.0.0rc1`).
    pub version: String,
    /// The components this version provides (`shopify.extractor`).
    pub components: Vec<String>,
    /// Other OCPs this version needs.
    pub dependencies: Vec<EntryDependency>,
    /// The Osiris versions this version works with (PEP 440 specifiers).
    pub osiris: String,
    /// `requires-python`.
    pub python: String,
    /// Python requirements that are neither Osiris nor OCPs, as written in pyproject.toml.
    #[serde(default)]
    pub python_dependencies: Vec<String>,
    /// sha256 of the tarball, 64 lowercase hex digits.
    pub sha256: String,
    /// The minisign signature of the tarball (the whole `.minisig` text).
    pub signature: String,
    /// The key id that made the signature (16 uppercase hex digits).
    pub key_id: String,
    /// A yanked version stays in the index but is not chosen for new resolutions.
    #[serde(default)]
    pub yanked: bool,
    /// When it was published, RFC 3339 in UTC.
    pub published: String,
}

/// Why a line of an index file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// Reads a package file: one JSON object per non-empty line.
pub fn parse_entries(text: &str) -> Result<Vec<IndexEntry>, LineError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|error| LineError {
                line: index + 1,
                reason: error.to_string(),
            })
        })
        .collect()
}

/// Writes entries back as JSON lines, each ending in a newline.
pub fn format_entries(entries: &[IndexEntry]) -> String {
    entries
        .iter()
        .map(|entry| serde_json::to_string(entry).unwrap_or_default() + "\n")
        .collect()
}

/// The sharded path of a package's file below the `packages/` folder, as cargo shards its
/// index: `1/a`, `2/ab`, `3/a/abc`, `sh/op/shopify-osiris`. `name` must be normalized.
pub fn shard(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", chars[0]),
        _ => format!(
            "{}/{}/{name}",
            chars[0..2].iter().collect::<String>(),
            chars[2..4].iter().collect::<String>()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_like_cargo() {
        assert_eq!(shard("a"), "1/a");
        assert_eq!(shard("ab"), "2/ab");
        assert_eq!(shard("abc"), "3/a/abc");
        assert_eq!(shard("shopify-osiris"), "sh/op/shopify-osiris");
    }

    #[test]
    fn entries_round_trip_and_errors_name_the_line() {
        let entry = IndexEntry {
            name: "shopify-osiris".into(),
            version: "1.0.0".into(),
            components: vec!["shopify.extractor".into()],
            dependencies: vec![EntryDependency {
                name: "base-osiris".into(),
                requirement: ">=1.0".into(),
            }],
            osiris: ">=0.5.0,<1.0.0".into(),
            python: ">=3.11".into(),
            python_dependencies: vec!["requests>=2".into()],
            sha256: "0".repeat(64),
            signature: "untrusted comment: x\nRUQ=\ntrusted comment: t\nAA==\n".into(),
            key_id: "0123456789ABCDEF".into(),
            yanked: false,
            published: "2026-11-26T06:00:00Z".into(),
        };
        let text = format_entries(&[entry.clone(), entry.clone()]);
        assert_eq!(
            parse_entries(&text).expect("parse"),
            vec![entry.clone(), entry]
        );
        let error = parse_entries(&format!("{text}{{not json\n")).expect_err("bad line");
        assert_eq!(error.line, 3);
    }
}
