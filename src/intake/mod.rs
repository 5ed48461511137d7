//! Intake: what comes out of an OCP tarball, and what it may do to an environment. This is
//! the one place where a tarball written by someone else crosses into ocp; every command
//! that reads one (the store's unpacker, `ocp sign`, `ocp verify`, `ocp install ./x.tar.gz`,
//! the component directory's package pages) goes through [`read_ocp`], so they all see the same package or refuse it for the same
//! reason.
//!
//! - [`reader`]: the bounded tar reader (sizes, counts, header lengths, no links, paths
//!   confined below one top folder), which hands each file to a [`Sink`];
//! - [`manifest`]: `ocp.json` parsed into newtypes ([`CheckedManifest`]), with the package's
//!   own import packages and the files an install places;
//! - [`spec`]: the `name` and `x-runtime.driver` of each component spec, read by a bounded
//!   scan;
//! - [`entry`]: that a package agrees with the index entry it was installed from;
//! - [`placement`]: what an OCP may do to an environment (never replace a distribution ocp
//!   did not install, never add files to another distribution's import package).
//!
//! [`read_ocp`] checks, in this order: the archive's structure and limits while reading,
//! then that `ocp.json` is the only manifest and parses, that the top folder is
//! `<name>-<version>`, that every file is listed with its sha256 and every listed file is
//! there, that `PKG-INFO` names the same distribution and version, and that each
//! component's spec says its name and driver. This module never prints.

pub mod entry;
pub mod manifest;
pub mod placement;
pub mod reader;
pub mod spec;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

pub use entry::check_entry;
pub use manifest::{CheckedComponent, CheckedDependency, CheckedManifest, ManifestError};
pub use placement::PlacementError;
pub use reader::{ArchiveEntry, ArchiveError, Limits};

use crate::build::Manifest;
use crate::model::{Checksum, PackageVersion, RelativePath, normalize_name, shown_path};

/// The largest `ocp.json` ocp reads.
pub const MAX_MANIFEST_BYTES: u64 = 8 << 20;
/// The largest `PKG-INFO` ocp reads (it holds the README).
const MAX_PKG_INFO_BYTES: u64 = 4 << 20;
/// The largest component spec ocp reads.
pub const MAX_SPEC_BYTES: u64 = 256 << 10;
/// How many files named `spec.yaml` an archive may hold.
pub const MAX_SPEC_FILES: usize = 64;
const PKG_INFO: &str = "PKG-INFO";

/// Why a tarball was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("it has no `ocp.json` in its top folder, so it is not an OCP")]
    NoManifest,
    #[error("its top folder is {found}, but {name} {version} is packed as `{expected}`")]
    TopFolder {
        found: String,
        name: String,
        version: String,
        expected: String,
    },
    #[error("{shown} is in the archive but not listed in its `ocp.json`")]
    Unlisted { shown: String },
    #[error("`{path}` is listed in its `ocp.json` but not in the archive")]
    Missing { path: RelativePath },
    #[error("`{path}` has sha256 {actual}, but its `ocp.json` lists {listed}")]
    Hash {
        path: RelativePath,
        listed: Checksum,
        actual: Checksum,
    },
    #[error("`{path}` is larger than ocp reads for that file ({limit} bytes)")]
    FileTooLarge { path: RelativePath, limit: u64 },
    #[error("it holds more than {MAX_SPEC_FILES} files named `spec.yaml`")]
    TooManySpecs,
    #[error("its `PKG-INFO` {reason}")]
    PkgInfo { reason: String },
    #[error("the spec `{path}` of `{component}` {reason}")]
    Spec {
        path: RelativePath,
        component: String,
        reason: String,
    },
    #[error(
        "the tarball does not match its index entry: the entry says {field} {entry}, the tarball {tarball}"
    )]
    EntryMismatch {
        field: &'static str,
        entry: String,
        tarball: String,
    },
    #[error("failed to write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Where [`read_ocp`] puts what it reads.
pub trait Sink {
    fn directory(&mut self, path: &RelativePath) -> Result<(), IntakeError>;
    /// Takes a file's contents; what it leaves unread is read and hashed anyway.
    fn file(
        &mut self,
        path: &RelativePath,
        executable: bool,
        data: &mut dyn Read,
    ) -> Result<(), IntakeError>;
}

/// A sink that keeps nothing: for commands that only check a tarball.
pub struct Discard;

impl Sink for Discard {
    fn directory(&mut self, _path: &RelativePath) -> Result<(), IntakeError> {
        Ok(())
    }

    fn file(&mut self, _: &RelativePath, _: bool, _: &mut dyn Read) -> Result<(), IntakeError> {
        Ok(())
    }
}

/// A tarball that passed every check.
#[derive(Debug, Clone)]
pub struct OcpArchive {
    /// The manifest document as written.
    pub document: Manifest,
    pub manifest: CheckedManifest,
}

/// Reads an OCP tarball through `sink`, checking everything the module header lists.
pub fn read_ocp(
    reader: impl Read,
    limits: &Limits,
    sink: &mut dyn Sink,
) -> Result<OcpArchive, IntakeError> {
    let mut hashes: BTreeMap<RelativePath, Checksum> = BTreeMap::new();
    let mut kept: BTreeMap<RelativePath, Vec<u8>> = BTreeMap::new();
    let mut manifest_bytes: Option<Vec<u8>> = None;
    let mut spec_files = 0;
    let summary = reader::read_entries(reader, limits, |entry, data| match entry {
        ArchiveEntry::Directory(path) => sink.directory(path),
        ArchiveEntry::File {
            path,
            size,
            executable,
        } => {
            let limit = match path.as_str() {
                manifest::MANIFEST_FILE => Some(MAX_MANIFEST_BYTES),
                PKG_INFO => Some(MAX_PKG_INFO_BYTES),
                _ if path.file_name() == manifest::SPEC_FILE => {
                    spec_files += 1;
                    if spec_files > MAX_SPEC_FILES {
                        return Err(IntakeError::TooManySpecs);
                    }
                    Some(MAX_SPEC_BYTES)
                }
                _ => None,
            };
            let mut hashing = Hashing::new(data.take(*size));
            match limit {
                Some(limit) if *size > limit => {
                    if path.as_str() == manifest::MANIFEST_FILE || path.as_str() == PKG_INFO {
                        return Err(IntakeError::FileTooLarge {
                            path: path.clone(),
                            limit,
                        });
                    }
                    // A large spec.yaml that no component names is just a file.
                    sink.file(path, *executable, &mut hashing)?;
                }
                Some(_) => {
                    let mut bytes = Vec::with_capacity(*size as usize);
                    hashing
                        .read_to_end(&mut bytes)
                        .map_err(|error| IntakeError::Archive(ArchiveError::Damaged(error)))?;
                    sink.file(path, *executable, &mut bytes.as_slice())?;
                    if path.as_str() == manifest::MANIFEST_FILE {
                        manifest_bytes = Some(bytes);
                    } else {
                        kept.insert(path.clone(), bytes);
                    }
                }
                None => sink.file(path, *executable, &mut hashing)?,
            }
            io::copy(&mut hashing, &mut io::sink())
                .map_err(|error| IntakeError::Archive(ArchiveError::Damaged(error)))?;
            if hashing.read < *size {
                return Err(IntakeError::Archive(ArchiveError::Damaged(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the archive ends inside a file",
                ))));
            }
            if path.as_str() != manifest::MANIFEST_FILE {
                hashes.insert(path.clone(), hashing.finish());
            }
            Ok(())
        }
    })?;
    let bytes = manifest_bytes.ok_or(IntakeError::NoManifest)?;
    let document: Manifest =
        serde_json::from_slice(&bytes).map_err(|error| ManifestError::Json {
            reason: error.to_string(),
        })?;
    let manifest = CheckedManifest::parse(&document)?;
    let expected = format!("{}-{}", manifest.name.file_stem(), manifest.version);
    if summary.top != expected {
        return Err(IntakeError::TopFolder {
            found: shown_path(&summary.top),
            name: manifest.name.to_string(),
            version: manifest.version.to_string(),
            expected,
        });
    }
    check_files(&manifest, &hashes)?;
    let pkg_info = kept.get(PKG_INFO).ok_or_else(|| IntakeError::PkgInfo {
        reason: "is missing".to_owned(),
    })?;
    check_pkg_info(pkg_info, &manifest)?;
    for component in &manifest.components {
        let spec_error = |reason: String| IntakeError::Spec {
            path: component.spec.clone(),
            component: component.name.to_string(),
            reason,
        };
        let bytes = kept
            .get(&component.spec)
            .ok_or_else(|| spec_error(format!("is larger than {MAX_SPEC_BYTES} bytes")))?;
        let text = std::str::from_utf8(bytes).map_err(|_| spec_error("is not UTF-8".into()))?;
        let facts = spec::scan(text).map_err(spec_error)?;
        if facts.name.as_deref() != Some(component.name.as_str()) {
            return Err(spec_error(format!(
                "says `name: {}`; Osiris would file it under that name",
                facts.name.as_deref().unwrap_or("").escape_debug()
            )));
        }
        let driver = component.driver.as_ref().map(ToString::to_string);
        if facts.driver != driver {
            return Err(spec_error(format!(
                "names the driver `{}`, but its `ocp.json` says `{}`",
                facts.driver.as_deref().unwrap_or("").escape_debug(),
                driver.as_deref().unwrap_or("")
            )));
        }
    }
    Ok(OcpArchive { document, manifest })
}

/// Every file in the archive is listed with its sha256, and every listed file is there.
fn check_files(
    manifest: &CheckedManifest,
    hashes: &BTreeMap<RelativePath, Checksum>,
) -> Result<(), IntakeError> {
    for (path, actual) in hashes {
        match manifest.files.get(path) {
            None => {
                return Err(IntakeError::Unlisted {
                    shown: shown_path(path.as_str()),
                });
            }
            Some(listed) if listed != actual => {
                return Err(IntakeError::Hash {
                    path: path.clone(),
                    listed: listed.clone(),
                    actual: actual.clone(),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(path) = manifest
        .files
        .keys()
        .find(|path| !hashes.contains_key(*path))
    {
        return Err(IntakeError::Missing { path: path.clone() });
    }
    Ok(())
}

/// `PKG-INFO` (which becomes the installed `METADATA`) names the manifest's distribution
/// and version, once each.
pub fn check_pkg_info(bytes: &[u8], manifest: &CheckedManifest) -> Result<(), IntakeError> {
    let refuse = |reason: String| IntakeError::PkgInfo { reason };
    let text = std::str::from_utf8(bytes).map_err(|_| refuse("is not UTF-8".to_owned()))?;
    let header = |field: &str| -> Result<String, IntakeError> {
        let prefix = format!("{field}:");
        let mut found = text
            .lines()
            .take_while(|line| !line.is_empty())
            .filter_map(|line| line.strip_prefix(&prefix).map(str::trim));
        let value = found
            .next()
            .ok_or_else(|| refuse(format!("has no `{field}`")))?;
        if found.next().is_some() {
            return Err(refuse(format!("has `{field}` twice")));
        }
        Ok(value.to_owned())
    };
    let name = header("Name")?;
    let version = header("Version")?;
    let same_version = version
        .parse::<PackageVersion>()
        .is_ok_and(|v| v == manifest.version);
    if normalize_name(&name) != manifest.name.normalized() || !same_version {
        return Err(refuse(format!(
            "names {} {}, but its `ocp.json` names {} {}",
            name.escape_debug(),
            version.escape_debug(),
            manifest.name,
            manifest.version
        )));
    }
    Ok(())
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            read: 0,
        }
    }

    fn finish(self) -> Checksum {
        let digest: [u8; 32] = self.hasher.finalize().into();
        Checksum::from(digest)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.read += read as u64;
        Ok(read)
    }
}
