//! The git-backed package index. An index is a git repository (`registry-index/README.md`
//! describes it): `config.json`, one JSON-lines file per package under `packages/`, a signed
//! owner log per package under `owners/`, and one record per component under `components/`.
//!
//! - [`format`]: the files and their serde models;
//! - [`reader`]: how the files are read, from a checkout, a commit or over HTTP;
//! - [`checkpoint`]: signed checkpoints (the index's own key vouching for one state of every
//!   file), their key history, and the manifest of file hashes they sign;
//! - [`snapshot`]: the files of one commit of a clone, read through `git cat-file`;
//! - [`sparse`]: an index read over plain HTTP, file by file, with a cache;
//! - [`git`]: the system `git`;
//! - [`owners`]: replaying and signing owner logs;
//! - [`storage`]: storing and fetching tarballs (in the index, a directory, HTTP);
//! - [`template`]: creating a new index;
//! - [`trust`]: whether an owner vouches for an entry (the check every reader runs);
//! - [`migrate`]: re-signing a format 1 index so it becomes format 2;
//! - [`verify`]: `ocp index verify`.
//!
//! [`Index`] is one state of an index, read through an [`IndexReader`]: a checked-out working
//! tree (what `publish`, `yank`, `owner` and `verify` change and check), the commit a signed
//! checkpoint names, or the files an HTTP server serves. Every name it is asked about is
//! parsed into a [`PackageName`] or [`ComponentName`] before it becomes a path, so no lookup
//! can open a file outside the index, and every file is read with a size limit. This module
//! never prints; the ops layer decides where an index lives, locks it, and reports.

pub mod checkpoint;
pub mod format;
pub mod git;
pub mod migrate;
pub mod owners;
pub mod reader;
pub mod snapshot;
pub mod sparse;
pub mod storage;
pub mod template;
pub mod trust;
pub mod verify;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use format::{
    ComponentRecord, FORMAT_VERSION, IndexConfig, IndexEntry, MAX_FILE_BYTES, MAX_SMALL_FILE_BYTES,
    OwnerEvent, shard,
};
use git::{GitError, Repo};
use reader::{CheckoutReader, IndexReader};

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
    #[error("`{path}` is not a path inside an index")]
    BadPath { path: String },
    #[error(
        "the index at `{location}` is read over HTTP; changing it needs a clone of its git repository"
    )]
    ReadOnly { location: String },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error(transparent)]
    Sparse(#[from] sparse::SparseError),
}

/// One state of an index, read through an [`IndexReader`].
#[derive(Debug)]
pub struct Index {
    root: PathBuf,
    repo: Option<Repo>,
    config: IndexConfig,
    reader: Arc<dyn IndexReader>,
    /// The URL relative download locations are below, for an index read over HTTP.
    download_base: Option<String>,
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
        if !root.join("config.json").is_file() {
            return Err(IndexError::NotAnIndex {
                path: root.to_path_buf(),
            });
        }
        if !Repo::is_work_tree(root) {
            return Err(IndexError::NotARepository {
                path: root.to_path_buf(),
            });
        }
        let reader = Arc::new(CheckoutReader::new(root));
        let config = read_config(reader.as_ref(), root, migrating)?;
        Ok(Index {
            root: root.to_path_buf(),
            repo: Some(Repo::at(root)),
            config,
            reader,
            download_base: None,
        })
    }

    /// The index that `reader` reads. `root` is the folder on this machine that holds its
    /// files (a clone, or the cache of an index read over HTTP), `repo` its git repository
    /// when it has one, and `download_base` the URL that relative download locations are
    /// below when the files come from a server.
    pub fn over(
        root: &Path,
        repo: Option<Repo>,
        reader: Arc<dyn IndexReader>,
        download_base: Option<String>,
    ) -> Result<Index, IndexError> {
        let config = read_config(reader.as_ref(), root, false)?;
        Ok(Index {
            root: root.to_path_buf(),
            repo,
            config,
            reader,
            download_base,
        })
    }

    /// The folder on this machine that holds the index's files: a checkout, or the cache of
    /// an index read over HTTP.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The git repository of a checkout; an index read over HTTP has none, so nothing can
    /// change it.
    pub fn repo(&self) -> Result<&Repo, IndexError> {
        self.repo.as_ref().ok_or_else(|| IndexError::ReadOnly {
            location: self
                .download_base
                .clone()
                .unwrap_or_else(|| self.root.display().to_string()),
        })
    }

    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    /// What reads this index's files (for the resolver's source).
    pub fn reader(&self) -> Arc<dyn IndexReader> {
        Arc::clone(&self.reader)
    }

    /// Where a version's tarball is downloaded from: the config's location, with a relative
    /// one made a URL below the server's index when the index is read over HTTP.
    pub fn download_location(&self, name: &str, version: &str) -> String {
        self.below_base(self.config.download_location(name, version))
    }

    /// Where `entry`'s tarball is read from: [`IndexConfig::entry_location`] (an OCI location
    /// names the entry's manifest), made a URL below the server's index as
    /// [`Index::download_location`] does.
    pub fn entry_location(&self, entry: &IndexEntry) -> String {
        self.below_base(self.config.entry_location(entry))
    }

    fn below_base(&self, location: String) -> String {
        match &self.download_base {
            Some(base) if !location.contains("://") => {
                format!("{}/{}", base.trim_end_matches('/'), location)
            }
            _ => location,
        }
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
        let Some(text) = self.reader.read(&relative, MAX_FILE_BYTES)? else {
            return Ok(Vec::new());
        };
        let path = self.reader.location(&relative);
        format::parse_entries(&text).map_err(|error| IndexError::MalformedLine {
            path,
            line: error.line,
            reason: error.reason,
        })
    }

    /// The owner log of `name`; empty for an unknown package.
    pub fn events(&self, name: &str) -> Result<Vec<OwnerEvent>, IndexError> {
        let relative = Self::owner_file(&parse_package(name)?);
        let Some(text) = self.reader.read(&relative, MAX_FILE_BYTES)? else {
            return Ok(Vec::new());
        };
        let path = self.reader.location(&relative);
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
        let Some(text) = self.reader.read(&relative, MAX_SMALL_FILE_BYTES)? else {
            return Ok(None);
        };
        let path = self.reader.location(&relative);
        let record: ComponentRecord =
            serde_json::from_str(&text).map_err(|error| IndexError::MalformedRecord {
                path,
                reason: error.to_string(),
            })?;
        Ok(Some(record.package))
    }

    /// The normalized names of every package in the index, sorted.
    pub fn package_names(&self) -> Result<Vec<String>, IndexError> {
        self.reader.file_names("packages")
    }

    /// Every component name that has a record, sorted.
    pub fn component_names(&self) -> Result<Vec<String>, IndexError> {
        self.reader.file_names("components")
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

/// `config.json` read through `reader` (with a size limit) and checked: a known format, no
/// credentials. `root` names the index in errors. When `migrating`, a format 1 config is
/// read too, and `token_env` is dropped.
fn read_config(
    reader: &dyn IndexReader,
    root: &Path,
    migrating: bool,
) -> Result<IndexConfig, IndexError> {
    let path = reader.location("config.json");
    let text = reader
        .read("config.json", MAX_SMALL_FILE_BYTES)?
        .ok_or_else(|| IndexError::NotAnIndex {
            path: root.to_path_buf(),
        })?;
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| IndexError::MalformedConfig {
            path: path.clone(),
            reason: error.to_string(),
        })?;
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
            return Err(IndexError::TokenInConfig { path });
        }
        storage.remove("token_env");
    }
    serde_json::from_value(value).map_err(|error| IndexError::MalformedConfig {
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
