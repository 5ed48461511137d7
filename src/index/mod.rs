//! The git-backed package index. An index is a git repository (`registry-index/README.md`
//! describes it): `config.json`, one JSON-lines file per package under `packages/`, a signed
//! owner log per package under `owners/`, and one record per component under `components/`.
//!
//! - [`format`]: the files and their serde models;
//! - [`git`]: the system `git`;
//! - [`owners`]: replaying and signing owner logs;
//! - [`storage`]: storing and fetching tarballs (in the index, a directory, HTTP);
//! - [`template`]: creating a new index;
//! - [`verify`]: `ocp index verify`.
//!
//! [`Index`] is a checked-out working tree. This module never prints; the ops layer decides
//! where an index lives, locks it, and reports.

pub mod format;
pub mod git;
pub mod owners;
pub mod storage;
pub mod template;
pub mod verify;

use std::fs;
use std::path::{Path, PathBuf};

use format::{ComponentRecord, FORMAT_VERSION, IndexConfig, IndexEntry, OwnerEvent, shard};
use git::{GitError, Repo};

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
        let text = read(&config_path)?;
        let version: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| IndexError::MalformedConfig {
                path: config_path.clone(),
                reason: error.to_string(),
            })?;
        let found = version
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if found != u64::from(FORMAT_VERSION) {
            return Err(IndexError::UnknownFormat {
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
        let config =
            serde_json::from_value(version).map_err(|error| IndexError::MalformedConfig {
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
    pub fn package_file(name: &str) -> String {
        format!("packages/{}", shard(name))
    }

    /// `owners/<shard>`, relative to the root.
    pub fn owner_file(name: &str) -> String {
        format!("owners/{}", shard(name))
    }

    /// `components/<shard>`, relative to the root.
    pub fn component_file(component: &str) -> String {
        format!("components/{}", shard(component))
    }

    /// Every published version of `name`, oldest first; empty for an unknown package.
    pub fn entries(&self, name: &str) -> Result<Vec<IndexEntry>, IndexError> {
        let path = self.root.join(Self::package_file(name));
        let Some(text) = read_optional(&path)? else {
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
        let path = self.root.join(Self::owner_file(name));
        let Some(text) = read_optional(&path)? else {
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
        let path = self.root.join(Self::component_file(component));
        let Some(text) = read_optional(&path)? else {
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
                if path.is_dir() {
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

    /// Finds the package meant by `query`: a package name (any spelling) or a component name.
    pub fn find_package(&self, query: &str) -> Result<Option<String>, IndexError> {
        if query.contains('.')
            && !query.contains('-')
            && let Some(package) = self.component_owner(query)?
        {
            return Ok(Some(package));
        }
        let normalized = crate::model::normalize_name(query);
        if !self.entries(&normalized)?.is_empty() {
            return Ok(Some(normalized));
        }
        self.component_owner(query)
    }
}

fn read(path: &Path) -> Result<String, IndexError> {
    fs::read_to_string(path).map_err(|source| IndexError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_optional(path: &Path) -> Result<Option<String>, IndexError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(IndexError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}
