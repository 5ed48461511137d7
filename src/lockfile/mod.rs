//! The lock file, `ocp.lock`: what `ocp lock` and `ocp install` resolved, so the next install
//! chooses the same versions and downloads the same bytes. `docs/lockfile.md` describes the
//! format for people and `schemas/lockfile.schema.json` for machines.
//!
//! The file is TOML written with `toml_edit` in a fixed order (packages sorted by name), so
//! writing what was read gives the same bytes and a change shows up as a small diff. Reading
//! checks every field and points at `line:column` when one is wrong; a file from a newer ocp
//! (another `version`) is refused with a message that says so.
//!
//! This module is domain code: it reads and writes the file and compares two locks; whether
//! a changed lock is an error (`--locked`) is the caller's decision. It never prints.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use pep440_rs::Version;

use crate::diagnostics::line_column;
use crate::index::format::IndexEntry;
use crate::model::{Checksum, ComponentName, KeyId};
use crate::resolve::{RequiredBy, Requirement, Resolution};

mod diff;
mod rewritten;
#[cfg(test)]
mod tests;
mod toml;

pub use diff::{Change, diff};
pub use rewritten::{Rewritten, rewritten};
pub use toml::{parse, to_toml};

/// The lock file's name in a project directory.
pub const FILE_NAME: &str = "ocp.lock";

/// The format version this ocp reads and writes.
pub const LOCKFILE_VERSION: i64 = 1;

const HEADER: &str = "\
# This file is written by ocp. Do not edit it by hand: `ocp lock` writes it again.
# It records the exact versions, checksums and signers `ocp install` uses (docs/lockfile.md).
";

/// A whole lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile {
    pub index: LockedIndex,
    pub environment: LockedEnvironment,
    /// One entry per package; written sorted by name, names unique.
    pub packages: Vec<LockedPackage>,
}

/// Which index the packages came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedIndex {
    /// The name the index was used under (`default`, or a name from the user's config).
    pub name: String,
    /// Its git remote.
    pub url: String,
}

/// The environment the resolution was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedEnvironment {
    pub osiris: Version,
    pub python: Version,
}

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    /// The normalized distribution name (`shopify-osiris`).
    pub name: String,
    pub version: Version,
    /// sha256 of the tarball.
    pub sha256: Checksum,
    /// The key that signed the tarball.
    pub key_id: KeyId,
    /// Where the tarball is downloaded from: a URL or a path relative to the index.
    pub download: String,
    /// The components it provides.
    pub components: Vec<ComponentName>,
    /// The OCPs it depends on, written `name requirement` (`base-osiris >=1.0,<2`).
    pub dependencies: Vec<Requirement>,
    /// The user asked for it, rather than it being pulled in by another package.
    pub requested: bool,
}

/// Where in the lock file something is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The byte range in the file's text.
    pub span: Range<usize>,
}

impl Position {
    pub(super) fn at(text: &str, span: Option<Range<usize>>) -> Position {
        let span = span.unwrap_or(0..0);
        let located = line_column(text, span.start);
        Position {
            line: located.line,
            column: located.column,
            span,
        }
    }
}

/// Why a lock file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockfileError {
    /// Not TOML, or a field is missing, of the wrong type or invalid.
    #[error("{}: {message}", place(path.as_deref(), position))]
    Malformed {
        path: Option<PathBuf>,
        position: Position,
        message: String,
    },
    /// Written by an ocp that uses another format version.
    #[error(
        "{}: the lock file has format version {found}, but this ocp reads version {LOCKFILE_VERSION}",
        place(path.as_deref(), position)
    )]
    UnknownVersion {
        path: Option<PathBuf>,
        position: Position,
        found: String,
    },
}

fn place(path: Option<&Path>, position: &Position) -> String {
    match path {
        Some(path) => format!("`{}:{}:{}`", path.display(), position.line, position.column),
        None => format!("line {}, column {}", position.line, position.column),
    }
}

impl LockfileError {
    pub fn position(&self) -> &Position {
        match self {
            LockfileError::Malformed { position, .. }
            | LockfileError::UnknownVersion { position, .. } => position,
        }
    }

    /// What the user can do about it.
    pub fn help(&self) -> &'static str {
        match self {
            LockfileError::Malformed { .. } => {
                "fix the line shown, or delete `ocp.lock` and run `ocp lock` to write it again"
            }
            LockfileError::UnknownVersion { .. } => {
                "use the ocp that wrote this lock file, or delete `ocp.lock` and run `ocp lock` to write it again"
            }
        }
    }

    /// The error rustc-style, with the offending line of `text` (the file it came from) shown.
    pub fn render(&self, text: &str, color: bool) -> String {
        use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
        let message = match self {
            LockfileError::Malformed { message, .. } => message.clone(),
            LockfileError::UnknownVersion { found, .. } => format!(
                "the lock file has format version {found}, but this ocp reads version {LOCKFILE_VERSION}"
            ),
        };
        let path = match self {
            LockfileError::Malformed { path, .. } | LockfileError::UnknownVersion { path, .. } => {
                path.as_ref()
                    .map_or_else(|| FILE_NAME.to_owned(), |p| p.display().to_string())
            }
        };
        let span = &self.position().span;
        let start = span.start.min(text.len());
        let span = start..span.end.clamp(start, text.len());
        let group = Level::ERROR.primary_title(message.as_str()).element(
            Snippet::source(text)
                .path(path.as_str())
                .fold(true)
                .annotation(AnnotationKind::Primary.span(span)),
        );
        let group = group.element(Level::HELP.message(self.help()));
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        renderer.render(&[group])
    }

    fn with_path(self, file: &Path) -> Self {
        match self {
            LockfileError::Malformed {
                position, message, ..
            } => LockfileError::Malformed {
                path: Some(file.to_path_buf()),
                position,
                message,
            },
            LockfileError::UnknownVersion {
                position, found, ..
            } => LockfileError::UnknownVersion {
                path: Some(file.to_path_buf()),
                position,
                found,
            },
        }
    }
}

/// An index entry that could not become a lock entry (the index holds an invalid value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the index entry for {name} {version} has an invalid {field}: {reason}")]
pub struct EntryError {
    pub name: String,
    pub version: String,
    pub field: &'static str,
    pub reason: String,
}

impl LockedPackage {
    /// The lock entry for an index entry, downloaded from `download`.
    pub fn from_entry(
        entry: &IndexEntry,
        download: String,
        requested: bool,
    ) -> Result<LockedPackage, EntryError> {
        let invalid = |field: &'static str, reason: String| EntryError {
            name: entry.name.clone(),
            version: entry.version.clone(),
            field,
            reason,
        };
        let version = Version::from_str(&entry.version)
            .map_err(|error| invalid("version", error.to_string()))?;
        let sha256 = Checksum::from_str(&entry.sha256)
            .map_err(|error| invalid("sha256", error.to_string()))?;
        let key_id =
            KeyId::from_str(&entry.key_id).map_err(|error| invalid("key_id", error.to_string()))?;
        let mut components = entry
            .components
            .iter()
            .map(|c| ComponentName::from_str(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| invalid("component", error.to_string()))?;
        components.sort();
        let mut dependencies = entry
            .dependencies
            .iter()
            .map(|d| Requirement::new(&d.name, &d.requirement))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| invalid("dependency", error.to_string()))?;
        dependencies.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(LockedPackage {
            name: crate::model::normalize_name(&entry.name),
            version,
            sha256,
            key_id,
            download,
            components,
            dependencies,
            requested,
        })
    }
}

impl Lockfile {
    /// The lock file for a resolution. `download(name, version)` gives a package's download
    /// location (`IndexConfig::download_location`); a package is `requested` when a root
    /// requirement named it.
    pub fn from_resolution(
        index: LockedIndex,
        environment: LockedEnvironment,
        resolution: &Resolution,
        download: impl Fn(&str, &str) -> String,
    ) -> Result<Lockfile, EntryError> {
        let packages = resolution
            .packages
            .values()
            .map(|package| {
                let requested = package
                    .required_by
                    .iter()
                    .any(|by| matches!(by, RequiredBy::Request { .. }));
                let location = download(&package.entry.name, &package.entry.version);
                LockedPackage::from_entry(&package.entry, location, requested)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut lockfile = Lockfile {
            index,
            environment,
            packages,
        };
        lockfile.packages.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(lockfile)
    }

    /// The locked package called `name` (normalized).
    pub fn package(&self, name: &str) -> Option<&LockedPackage> {
        self.packages.iter().find(|package| package.name == name)
    }

    /// `name -> version` of every locked package, for `resolve::Request::preferences`.
    pub fn preferences(&self) -> BTreeMap<String, Version> {
        self.packages
            .iter()
            .map(|package| (package.name.clone(), package.version.clone()))
            .collect()
    }
}

/// The lock file as JSON: the same keys and values as the TOML, `[[package]]` as the array
/// `package`. Its structure is `schemas/lockfile.schema.json`.
pub fn to_json(lockfile: &Lockfile) -> serde_json::Value {
    let mut packages: Vec<&LockedPackage> = lockfile.packages.iter().collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let packages: Vec<serde_json::Value> = packages
        .into_iter()
        .map(|package| {
            let mut components: Vec<&str> = package
                .components
                .iter()
                .map(ComponentName::as_str)
                .collect();
            components.sort_unstable();
            let mut dependencies: Vec<String> = package
                .dependencies
                .iter()
                .map(toml::dependency_text)
                .collect();
            dependencies.sort();
            serde_json::json!({
                "name": package.name,
                "version": package.version.to_string(),
                "sha256": package.sha256.to_hex(),
                "key_id": package.key_id.to_string(),
                "download": package.download,
                "components": components,
                "dependencies": dependencies,
                "requested": package.requested,
            })
        })
        .collect();
    let mut document = serde_json::json!({
        "version": LOCKFILE_VERSION,
        "index": { "name": lockfile.index.name, "url": lockfile.index.url },
        "environment": {
            "osiris": lockfile.environment.osiris.to_string(),
            "python": lockfile.environment.python.to_string(),
        },
    });
    if !packages.is_empty() {
        document["package"] = serde_json::Value::Array(packages);
    }
    document
}

/// Reads `path`; `None` when there is no lock file. A parse error keeps its
/// [`LockfileError`] (with the path) in the chain.
pub fn read(path: &Path) -> anyhow::Result<Option<Lockfile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("failed to read `{}`", path.display()));
        }
    };
    parse(&text)
        .map(Some)
        .map_err(|error| anyhow::Error::new(error.with_path(path)))
}

/// Writes `lockfile` to `path` atomically (temp file, fsync, rename), so a crash leaves the
/// old lock file or the new one, never half of one.
pub fn write_atomic(path: &Path, lockfile: &Lockfile) -> anyhow::Result<()> {
    crate::fsutil::write_atomic(path, to_toml(lockfile).as_bytes())
        .with_context(|| format!("failed to write the lock file `{}`", path.display()))
}
