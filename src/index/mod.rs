//! The git-backed package index. An index is a git repository (`registry-index/README.md`
//! describes it): `config.json`, one JSON-lines file per package under `packages/`, a signed
//! owner log per package under `owners/`, and one record per component under `components/`.
//!
//! - [`format`]: the files and their serde models;
//! - [`git`]: the system `git`;
//! - [`owners`]: replaying and signing owner logs;
//! - [`storage`]: storing and fetching tarballs (in the index, a directory, HTTP);
//! - [`template`]: creating a new index;
//! - [`trust`]: whether an owner vouches for an entry (the check every reader runs);
//! - [`migrate`]: re-signing a format 1 index so it becomes format 2;
//! - [`verify`]: `ocp index verify`.
//!
//! [`Index`] is a checked-out working tree. Every name it is asked about is parsed into a
//! [`PackageName`] or [`ComponentName`] before it becomes a path, so no lookup can open a
//! file outside the checkout, and every file is read with a size limit. This module never
//! prints; the ops layer decides where an index lives, locks it, and reports.

pub mod format;
pub mod git;
pub mod migrate;
pub mod owners;
pub mod storage;
pub mod template;
pub mod trust;
pub mod verify;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use format::{
    ComponentRecord, FORMAT_VERSION, IndexConfig, IndexEntry, MAX_FILE_BYTES, MAX_SMALL_FILE_BYTES,
    OwnerEvent, shard,
};
use git::{GitError, Repo};

use crate::model::{ComponentName, NameError, PackageName};

/// What can be wrong with an index checkout.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("`{path}` is not an ocp index: it has no `config.json`")]
    NotAnIndex { path: PathBuf },
    #[error("`{path}` is not a git repository")]
    NotARepository { path: PathBuf },
    #[error("`{path}` is not a valid index config: {reason}")]
    MalformedConfig { path: PathBuf, reason: String },
    #[error("the index uses format version {found}, but this ocp reads version {supported}")]
    UnknownFormat { found: u32, supported: u32 },
    #[error(
        "the index uses format version 1, whose signatures do not cover dependencies, components and Python requirements; this ocp reads version {supported}"
    )]
    OldFormat { supported: u32 },
    #[error(
        "`{path}` names an upload token variable (`token_env`), but an index does not choose credentials: ocp takes them only from your own configuration"
    )]
    TokenInConfig { path: PathBuf },
    #[error("`{name}` is not a package or component name: {reason}")]
    BadName { name: String, reason: String },
    #[error(
        "`{path}` is {size} bytes long or more; ocp reads index files of at most {limit} bytes"
    )]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("`{path}` is a symbolic link; an index holds only plain files and folders")]
    Symlink { path: PathBuf },
    #[error("`{path}` line {line}: {reason}")]
    MalformedLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("`{path}` is not a valid component record: {reason}")]
    MalformedRecord { path: PathBuf, reason: String },
    #[error("failed to read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
}

/// A checked-out index.
#[derive(Debug)]
pub struct Index {
    root: PathBuf,
    repo: Repo,
    config: IndexConfig,
}

impl Index {
    /// Opens the index checked out at `root`.
    pub fn open(root: &Path) -> Result<Index, IndexError> {
        Self::open_with(root, false)
    }

    /// Opens a format 1 or 2 index to migrate it: `token_env` is dropped from its config and
    /// its entries are read as they are.
    pub fn open_for_migration(root: &Path) -> Result<Index, IndexError> {
        Self::open_with(root, true)
    }

    fn open_with(root: &Path, migrating: bool) -> Result<Index, IndexError> {
        let config_path = root.join("config.json");
        if !config_path.is_file() {
            return Err(IndexError::NotAnIndex {
                path: root.to_path_buf(),
            });
        }
        if !Repo::is_work_tree(root) {
            return Err(IndexError::NotARepository {
                path: root.to_path_buf(),
            });
        }
        let mut value = read_config_value(root)?;
        match format_version(&value) {
            found if found == FORMAT_VERSION => {}
            1 if migrating => {}
            1 => {
                return Err(IndexError::OldFormat {
                    supported: FORMAT_VERSION,
                });
            }
            found => {
                return Err(IndexError::UnknownFormat {
                    found,
                    supported: FORMAT_VERSION,
                });
            }
        }
        if let Some(storage) = value
            .get_mut("storage")
            .and_then(serde_json::Value::as_object_mut)
            && storage.contains_key("token_env")
        {
            if !migrating {
                return Err(IndexError::TokenInConfig { path: config_path });
            }
            storage.remove("token_env");
        }
        let config =
            serde_json::from_value(value).map_err(|error| IndexError::MalformedConfig {
                path: config_path,
                reason: error.to_string(),
            })?;
        Ok(Index {
            root: root.to_path_buf(),
            repo: Repo::at(root),
            config,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    /// `packages/<shard>`, relative to the root.
    pub fn package_file(name: &PackageName) -> String {
        format!("packages/{}", shard(&name.normalized()))
    }

    /// `owners/<shard>`, relative to the root.
    pub fn owner_file(name: &PackageName) -> String {
        format!("owners/{}", shard(&name.normalized()))
    }

    /// `components/<shard>`, relative to the root.
    pub fn component_file(component: &ComponentName) -> String {
        format!("components/{}", shard(component.as_str()))
    }

    /// Every published version of `name`, oldest first; empty for an unknown package.
    pub fn entries(&self, name: &str) -> Result<Vec<IndexEntry>, IndexError> {
        let relative = Self::package_file(&parse_package(name)?);
        let path = self.root.join(&relative);
        let Some(text) = read_in_checkout(&self.root, &relative, MAX_FILE_BYTES)? else {
            return Ok(Vec::new());
        };
        format::parse_entries(&text).map_err(|error| IndexError::MalformedLine {
            path,
            line: error.line,
            reason: error.reason,
        })
    }

    /// The owner log of `name`; empty for an unknown package.
    pub fn events(&self, name: &str) -> Result<Vec<OwnerEvent>, IndexError> {
        let relative = Self::owner_file(&parse_package(name)?);
        let path = self.root.join(&relative);
        let Some(text) = read_in_checkout(&self.root, &relative, MAX_FILE_BYTES)? else {
            return Ok(Vec::new());
        };
        format::parse_events(&text).map_err(|error| IndexError::MalformedLine {
            path,
            line: error.line,
            reason: error.reason,
        })
    }

    /// The package a component belongs to, if any.
    pub fn component_owner(&self, component: &str) -> Result<Option<String>, IndexError> {
        let component = component
            .parse::<ComponentName>()
            .map_err(|error| bad_name(component, &error))?;
        let relative = Self::component_file(&component);
        let path = self.root.join(&relative);
        let Some(text) = read_in_checkout(&self.root, &relative, MAX_SMALL_FILE_BYTES)? else {
            return Ok(None);
        };
        let record: ComponentRecord =
            serde_json::from_str(&text).map_err(|error| IndexError::MalformedRecord {
                path,
                reason: error.to_string(),
            })?;
        Ok(Some(record.package))
    }

    /// The normalized names of every package in the index, sorted.
    pub fn package_names(&self) -> Result<Vec<String>, IndexError> {
        let mut names = Vec::new();
        let mut stack = vec![self.root.join("packages")];
        while let Some(directory) = stack.pop() {
            let entries = match fs::read_dir(&directory) {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(IndexError::Read {
                        path: directory,
                        source,
                    });
                }
            };
            for entry in entries {
                let entry = entry.map_err(|source| IndexError::Read {
                    path: directory.clone(),
                    source,
                })?;
                let path = entry.path();
                let kind = entry.file_type().map_err(|source| IndexError::Read {
                    path: path.clone(),
                    source,
                })?;
                if kind.is_dir() {
                    stack.push(path);
                } else if let Some(name) = path.file_name().and_then(|n| n.to_str())
                    && !name.starts_with('.')
                {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Finds the package meant by `query`: a package name (any spelling) or a component
    /// name. A query that is neither is an error, never a path.
    pub fn find_package(&self, query: &str) -> Result<Option<String>, IndexError> {
        let component = query.parse::<ComponentName>();
        let package = query.parse::<PackageName>();
        if component.is_err()
            && let Err(error) = &package
        {
            return Err(bad_name(query, error));
        }
        if component.is_ok()
            && !query.contains('-')
            && let Some(package) = self.component_owner(query)?
        {
            return Ok(Some(package));
        }
        if let Ok(package) = &package {
            let normalized = package.normalized();
            if !self.entries(&normalized)?.is_empty() {
                return Ok(Some(normalized));
            }
        }
        if component.is_ok() {
            return self.component_owner(query);
        }
        Ok(None)
    }
}

/// Parses a package name before it becomes a path.
pub fn parse_package(name: &str) -> Result<PackageName, IndexError> {
    name.parse::<PackageName>()
        .map_err(|error| bad_name(name, &error))
}

fn bad_name(name: &str, error: &NameError) -> IndexError {
    IndexError::BadName {
        name: name.escape_debug().to_string(),
        reason: error.to_string(),
    }
}

/// `format_version` of a config, 0 when it has none.
fn format_version(value: &serde_json::Value) -> u32 {
    value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .map_or(0, |found| u32::try_from(found).unwrap_or(u32::MAX))
}

/// `config.json` of the checkout at `root` as JSON, read with a size limit.
pub fn read_config_value(root: &Path) -> Result<serde_json::Value, IndexError> {
    let path = root.join("config.json");
    let text = read_in_checkout(root, "config.json", MAX_SMALL_FILE_BYTES)?.ok_or_else(|| {
        IndexError::NotAnIndex {
            path: root.to_path_buf(),
        }
    })?;
    serde_json::from_str(&text).map_err(|error| IndexError::MalformedConfig {
        path,
        reason: error.to_string(),
    })
}

/// The text of `relative` (a `/`-separated path of plain names) below an index checkout at
/// `root`: `None` when it does not exist, an error when any part of it is a symbolic link (so
/// a file outside the checkout is never read) or when it is larger than `limit` bytes.
pub fn read_in_checkout(
    root: &Path,
    relative: &str,
    limit: u64,
) -> Result<Option<String>, IndexError> {
    read_checked(root, relative, limit, None)
}

/// Folders of a checkout already found to be real folders (not links), so that a reader of
/// many files below one folder checks it once.
#[derive(Debug, Default)]
pub struct CheckedFolders(std::sync::Mutex<std::collections::HashSet<PathBuf>>);

impl CheckedFolders {
    fn contains(&self, path: &Path) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(path)
    }

    fn insert(&self, path: &Path) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.to_path_buf());
    }
}

/// [`read_in_checkout`], remembering the folders it checked in `folders`.
pub fn read_checked(
    root: &Path,
    relative: &str,
    limit: u64,
    folders: Option<&CheckedFolders>,
) -> Result<Option<String>, IndexError> {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = relative.split('/').collect();
    for (index, part) in parts.iter().enumerate() {
        if part.is_empty() || *part == "." || *part == ".." {
            return Err(IndexError::Read {
                path: root.join(relative),
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        path.push(part);
        let is_folder = index + 1 < parts.len();
        if is_folder && folders.is_some_and(|folders| folders.contains(&path)) {
            continue;
        }
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(IndexError::Symlink { path });
            }
            Ok(_) => {
                if let Some(folders) = folders.filter(|_| is_folder) {
                    folders.insert(&path);
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(IndexError::Read { path, source }),
        }
    }
    read_limited(&path, limit)
}

/// The text of `path`, `None` when it does not exist, an error when it is larger than
/// `limit` bytes (found while reading, so a huge file is never read whole).
pub fn read_limited(path: &Path, limit: u64) -> Result<Option<String>, IndexError> {
    let read_error = |source| IndexError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(source)),
    };
    // The size the file has now sizes the buffer (one read, as `fs::read` does); `take`
    // still stops a file that grows while it is read.
    let size = file.metadata().map_err(read_error)?.len();
    if size > limit {
        return Err(IndexError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size + 1).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(IndexError::TooLarge {
            path: path.to_path_buf(),
            size: limit + 1,
            limit,
        });
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| read_error(std::io::Error::from(std::io::ErrorKind::InvalidData)))
}
