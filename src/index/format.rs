//! The on-disk format of an ocp index: `config.json` at the root, and one file of JSON lines
//! per package at a sharded path, one line per published version. Described for people in
//! `registry-index/README.md` and for machines in `schemas/index-*.schema.json`. This module
//! only reads and writes the format; git, storage and policy live elsewhere.
//!
//! Reading is bounded before anything is trusted: a line longer than [`MAX_LINE_BYTES`] or a
//! file with more than [`MAX_LINES`] lines is refused, and [`IndexEntry::check`] parses every
//! field that becomes a name, a path or a requirement before anyone acts on it.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{ComponentName, KeyId, PackageName, PackageVersion};
use crate::signing::canonical::borrowed;
use crate::signing::{SignedDependency, SignedFields};

/// The index format this ocp reads and writes. Format 2 signs every field an entry's
/// dependents act on (see [`crate::signing::canonical`]) and keeps credentials out of
/// `config.json`; format 1 indexes are migrated with `ocp index migrate`.
pub const FORMAT_VERSION: u32 = 2;

/// The longest line ocp reads from an index file. Entries are well under 4 KiB.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// The most lines ocp reads from one index file (versions of a package, owner events).
pub const MAX_LINES: usize = 10_000;
/// The largest package file or owner log ocp reads.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The largest `config.json` or component record ocp reads.
pub const MAX_SMALL_FILE_BYTES: u64 = 64 * 1024;

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
    /// With `oci` storage: the digest of the version's OCI manifest (`sha256:…`), which
    /// `ocp install` pulls by. Not signed: it only locates the tarball, whose sha256 is signed
    /// and checked after the pull (and the manifest holds the signature's subject, so the
    /// signature could not cover it). Absent for other storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_manifest: Option<String>,
}

/// `config.json` at the root of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    /// The index format; ocp refuses an index whose format it does not know.
    pub format_version: u32,
    /// Where tarballs are downloaded from: a URL (`https://`, `http://`, `file://`) or a path
    /// relative to the index root, with `{name}`, `{version}`, `{file}` and `{shard}`
    /// replaced (see [`IndexConfig::download_location`]).
    pub download: String,
    /// Where `ocp publish` stores tarballs.
    pub storage: Storage,
    #[serde(default)]
    pub policy: Policy,
}

/// Where `ocp publish` stores tarballs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Storage {
    /// Inside the index repository itself, at the `download` path, committed with the entry:
    /// one git repository is the whole registry.
    Index,
    /// A local or shared directory; `download` is usually a `file://` URL into it.
    Directory {
        /// The directory; `{name}` and `{file}` locate a tarball below it.
        path: String,
    },
    /// An HTTP(S) server that accepts `PUT`. The token for uploads, and the host it may go
    /// to, come from the publisher's own configuration, never from the index.
    Http {
        /// The upload URL template (`https://host/ocp/{name}/{file}`).
        upload: String,
    },
    /// An OCI registry (`ghcr.io/acme/ocp`): each version is an OCI artifact in the
    /// repository `<repository>/<name>`, tagged by its version (see [`crate::oci`]). The
    /// credentials come from the publisher's own configuration (ocp's, Docker's or Helm's).
    Oci {
        /// The registry and repository path below which packages are stored.
        repository: String,
    },
}

/// What the index demands of every entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Every entry must carry a signature by an owner of its package. ocp always signs; this
    /// records the index's promise to readers (`ocp index verify` enforces it).
    #[serde(default = "default_true")]
    pub signatures_required: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            signatures_required: true,
        }
    }
}

fn default_true() -> bool {
    true
}

impl IndexConfig {
    /// The config of a new index with the given storage.
    pub fn new(storage: Storage) -> Self {
        let download = match &storage {
            Storage::Index => "tarballs/{shard}/{file}".to_owned(),
            Storage::Directory { path } => {
                format!("file://{}/{{name}}/{{file}}", path.trim_end_matches('/'))
            }
            Storage::Http { upload } => upload.clone(),
            Storage::Oci { repository } => format!(
                "oci://{}/{{name}}",
                repository
                    .trim_start_matches("oci://")
                    .trim_end_matches('/')
            ),
        };
        IndexConfig {
            format_version: FORMAT_VERSION,
            download,
            storage,
            policy: Policy::default(),
        }
    }

    /// The download location of a version's tarball: a URL, or a path relative to the index.
    pub fn download_location(&self, name: &str, version: &str) -> String {
        expand(&self.download, name, version)
    }

    /// Where `entry`'s tarball is read from: its [`IndexConfig::download_location`], which
    /// for an `oci://` download names the repository and gets the entry's manifest digest
    /// (`@sha256:…`) or, for an entry that records none, its version's tag.
    pub fn entry_location(&self, entry: &IndexEntry) -> String {
        let location = self.download_location(&entry.name, &entry.version);
        if !location.starts_with("oci://") {
            return location;
        }
        match &entry.oci_manifest {
            Some(digest) => format!("{location}@{digest}"),
            None => format!(
                "{location}:{}",
                crate::oci::Tag::for_version(&entry.version)
                    .map_or_else(|_| entry.version.clone(), |tag| tag.to_string())
            ),
        }
    }
}

/// The tarball file name of a version: `{name with _}-{version}.tar.gz`, as `ocp build` names it.
pub fn tarball_file_name(name: &str, version: &str) -> String {
    format!("{}-{version}.tar.gz", name.replace('-', "_"))
}

/// Replaces `{name}`, `{version}`, `{file}` and `{shard}` in a location template.
pub fn expand(template: &str, name: &str, version: &str) -> String {
    template
        .replace("{name}", name)
        .replace("{version}", version)
        .replace("{file}", &tarball_file_name(name, version))
        .replace(
            "{shard}",
            &shard(name)
                .rsplit_once('/')
                .map_or(String::new(), |(dir, _)| dir.to_owned()),
        )
}

/// One signed event in a package's owner log (`owners/<shard>`): who owns the package and
/// which versions are yanked. The log is append-only; replaying it gives the current owners
/// and yanked versions, and every event is signed by an owner of its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerEvent {
    /// What happened.
    pub action: OwnerAction,
    /// The normalized package name.
    pub package: String,
    /// The key the event is about (`claim`, `add-owner`, `remove-owner`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// That key's public key, minisign text form `RW...` (`claim`, `add-owner`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The version (`yank`, `unyank`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The key id of the owner who signed the event.
    pub by: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// The minisign signature of [`OwnerEvent::signed_bytes`] by `by`.
    #[serde(default)]
    pub signature: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnerAction {
    /// The first publish of a name: its key becomes the first owner (trust on first use).
    Claim,
    AddOwner,
    RemoveOwner,
    Yank,
    Unyank,
}

impl OwnerEvent {
    /// The bytes the signature covers: the event as JSON without its signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let unsigned = OwnerEvent {
            signature: String::new(),
            ..self.clone()
        };
        serde_json::to_vec(&unsigned).unwrap_or_default()
    }
}

/// Reads an owner log: one [`OwnerEvent`] per non-empty line.
pub fn parse_events(text: &str) -> Result<Vec<OwnerEvent>, LineError> {
    parse_lines(text)
}

/// Writes an owner log.
pub fn format_events(events: &[OwnerEvent]) -> String {
    events
        .iter()
        .map(|event| serde_json::to_string(event).unwrap_or_default() + "\n")
        .collect()
}

/// `components/<shard>`: which package a component name belongs to. The first package that
/// publishes a component keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentRecord {
    pub component: String,
    pub package: String,
}

impl IndexEntry {
    /// The fields the owner's signature covers, in the form whose digest the signature's
    /// trusted comment carries.
    pub fn signed_fields(&self) -> SignedFields<'_> {
        SignedFields {
            components: borrowed(&self.components),
            dependencies: self
                .dependencies
                .iter()
                .map(|d| SignedDependency::new(&d.name, &d.requirement))
                .collect(),
            name: self.name.clone(),
            osiris: &self.osiris,
            python: &self.python,
            python_dependencies: borrowed(&self.python_dependencies),
            sha256: &self.sha256,
            version: &self.version,
        }
    }

    /// Parses every field that becomes a name, a path, a version or a requirement: the
    /// package and dependency names are normalized distribution names, the components are
    /// `family.role`, the version is normalized PEP 440, the ranges are PEP 440 specifiers,
    /// the Python requirements are PEP 508 and none starts with `-` (so none can be read as
    /// an option by uv or pip). The reason says which field is wrong and how.
    pub fn check(&self) -> Result<(), String> {
        check_package_name(&self.name, "name")?;
        let version: PackageVersion = self
            .version
            .parse()
            .map_err(|error: crate::model::VersionError| error.to_string())?;
        if version.to_string() != self.version {
            return Err(format!(
                "version `{}` is not in normalized form (`{version}`)",
                self.version
            ));
        }
        if !is_hex_digest(&self.sha256) {
            return Err(format!(
                "sha256 `{}` is not 64 lowercase hex digits",
                self.sha256
            ));
        }
        self.key_id
            .parse::<KeyId>()
            .map_err(|error| format!("key_id: {error}"))?;
        if self.components.is_empty() {
            return Err("it lists no components".to_owned());
        }
        for component in &self.components {
            component
                .parse::<ComponentName>()
                .map_err(|error| error.to_string())?;
        }
        for dependency in &self.dependencies {
            check_package_name(&dependency.name, "dependency")?;
        }
        for specifiers in std::iter::once(&self.osiris)
            .chain(std::iter::once(&self.python))
            .chain(self.dependencies.iter().map(|d| &d.requirement))
        {
            if !specifiers.trim().is_empty() {
                pep440_rs::VersionSpecifiers::from_str(specifiers).map_err(|error| {
                    format!("`{specifiers}` is not a valid version range: {error}")
                })?;
            }
        }
        for requirement in &self.python_dependencies {
            check_python_requirement(requirement)?;
        }
        time::OffsetDateTime::parse(
            &self.published,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| format!("`published` is not an RFC 3339 time: `{}`", self.published))?;
        if let Some(digest) = &self.oci_manifest {
            digest.parse::<crate::oci::Digest>().map_err(|_| {
                format!(
                    "oci_manifest `{}` is not `sha256:` and 64 lowercase hex digits",
                    digest.escape_debug()
                )
            })?;
        }
        Ok(())
    }

    /// The entry for a built package: what its manifest says, with the tarball's checksum,
    /// its signature and the signer's key id.
    pub fn from_manifest(
        manifest: &crate::build::Manifest,
        sha256: String,
        signature: String,
        key_id: String,
        published: String,
    ) -> IndexEntry {
        IndexEntry {
            name: crate::model::normalize_name(&manifest.name),
            version: manifest.version.clone(),
            components: manifest.components.iter().map(|c| c.name.clone()).collect(),
            dependencies: manifest
                .dependencies
                .iter()
                .map(|d| EntryDependency {
                    name: d.name.clone(),
                    requirement: d.requirement.clone(),
                })
                .collect(),
            osiris: manifest.osiris.clone(),
            python: manifest.python.clone(),
            python_dependencies: manifest.python_dependencies.clone(),
            sha256,
            signature,
            key_id,
            yanked: false,
            published,
            oci_manifest: None,
        }
    }
}

/// A normalized distribution name, as every name in an entry must be.
fn check_package_name(name: &str, what: &str) -> Result<(), String> {
    let parsed = name
        .parse::<PackageName>()
        .map_err(|error| format!("{what} `{}`: {error}", name.escape_debug()))?;
    if parsed.normalized() != name {
        return Err(format!(
            "{what} `{name}` is not a normalized distribution name (`{}`)",
            parsed.normalized()
        ));
    }
    Ok(())
}

/// A PEP 508 requirement that no installer can read as an option.
fn check_python_requirement(requirement: &str) -> Result<(), String> {
    if requirement.trim_start().starts_with('-') {
        return Err(format!(
            "the Python requirement `{}` starts with `-`, so uv or pip would read it as an option",
            requirement.escape_debug()
        ));
    }
    if requirement.chars().any(char::is_control) {
        return Err(format!(
            "the Python requirement `{}` holds a control character",
            requirement.escape_debug()
        ));
    }
    pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement).map_err(|error| {
        format!(
            "the Python requirement `{requirement}` is not valid PEP 508: {}",
            error.to_string().lines().next().unwrap_or_default()
        )
    })?;
    Ok(())
}

/// 64 lowercase hex digits.
fn is_hex_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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
    parse_lines(text)
}

/// Reads one JSON object per non-empty line, refusing lines longer than [`MAX_LINE_BYTES`]
/// and files of more than [`MAX_LINES`] lines before parsing anything.
fn parse_lines<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, LineError> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if index >= MAX_LINES {
            return Err(LineError {
                line: index + 1,
                reason: format!("the file has more than {MAX_LINES} lines"),
            });
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(LineError {
                line: index + 1,
                reason: format!(
                    "the line is {} bytes long; index lines are at most {MAX_LINE_BYTES} bytes",
                    line.len()
                ),
            });
        }
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|error| LineError {
            line: index + 1,
            reason: error.to_string(),
        })?);
    }
    Ok(out)
}

/// The 1-based line numbers of the non-empty lines of `text`, in order: the line of each
/// value [`parse_entries`] returns.
pub fn entry_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, _)| index + 1)
        .take(MAX_LINES)
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

/// A valid entry for tests (unsigned).
#[cfg(test)]
pub(crate) fn example_entry() -> IndexEntry {
    IndexEntry {
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
        signature: String::new(),
        key_id: "0123456789ABCDEF".into(),
        yanked: false,
        published: "2026-11-26T06:00:00Z".into(),
        oci_manifest: None,
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
            signature: "untrusted comment: x\nRUQ=\ntrusted comment: t\nAA==\n".into(),
            ..example_entry()
        };
        let text = format_entries(&[entry.clone(), entry.clone()]);
        assert_eq!(
            parse_entries(&text).expect("parse"),
            vec![entry.clone(), entry]
        );
        let error = parse_entries(&format!("{text}{{not json\n")).expect_err("bad line");
        assert_eq!(error.line, 3);
    }

    fn valid_entry() -> IndexEntry {
        example_entry()
    }

    #[test]
    fn check_parses_every_name_and_requirement() {
        valid_entry().check().expect("valid");
        type Edit = fn(&mut IndexEntry);
        let cases: Vec<(Edit, &str)> = vec![
            (|e| e.name = "../x".into(), "name `../x`"),
            (|e| e.name = "Shopify-Osiris".into(), "normalized"),
            (
                |e| e.dependencies[0].name = "../../outside".into(),
                "dependency `../../outside`",
            ),
            (|e| e.components = vec!["../x".into()], "component name"),
            (|e| e.components.clear(), "no components"),
            (|e| e.version = "1.0/../../x".into(), "1.0/../../x"),
            (
                |e| e.python_dependencies = vec!["--no-build-isolation".into()],
                "starts with `-`",
            ),
            (
                |e| e.python_dependencies = vec!["requests\n[x]".into()],
                "control character",
            ),
            (
                |e| e.python_dependencies = vec!["not a requirement!".into()],
                "not valid PEP 508",
            ),
            (|e| e.osiris = ">>0.5".into(), "not a valid version range"),
            (|e| e.key_id = "x".into(), "key_id"),
            (|e| e.sha256 = "XY".into(), "sha256"),
            (
                |e| e.oci_manifest = Some("sha256:AB".into()),
                "oci_manifest",
            ),
        ];
        for (edit, expected) in cases {
            let mut entry = valid_entry();
            edit(&mut entry);
            let reason = entry.check().expect_err(expected);
            assert!(reason.contains(expected), "{expected}: {reason}");
        }
    }

    #[test]
    fn long_lines_and_long_files_are_refused_before_parsing() {
        let long = format!("{{\"name\": \"{}\"}}\n", "a".repeat(MAX_LINE_BYTES));
        let error = parse_entries(&long).expect_err("too long");
        assert!(error.reason.contains("bytes long"), "{error}");
        let many = "\n".repeat(MAX_LINES + 1);
        let error = parse_entries(&many).expect_err("too many");
        assert!(error.reason.contains("more than"), "{error}");
    }
}
