//! Where the resolver's packages come from: the [`EntrySource`] trait, read one package at a
//! time and only for the packages the resolver asks about, and its two implementations: an
//! index checkout on disk ([`IndexDirSource`]) and a list held in memory ([`MemorySource`],
//! for tests and for callers that already hold entries). This module reads; it never decides
//! which version to use.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::index::format::{ComponentRecord, IndexEntry, parse_entries, shard};

/// Why the entries of a package could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}:{line}` is not a valid index entry: {reason}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// The published versions of packages, looked up by normalized name.
pub trait EntrySource {
    /// Every entry of package `name`, in any order; empty when there is no such package.
    fn entries(&self, name: &str) -> Result<Vec<IndexEntry>, SourceError>;

    /// The packages that provide `component`, sorted; empty when none does (or the source
    /// cannot say).
    fn component_packages(&self, _component: &str) -> Result<Vec<String>, SourceError> {
        Ok(Vec::new())
    }
}

/// Reads `<root>/packages/<shard(name)>` files of an index checkout, each at most once.
///
/// A missing file means there is no such package. A line that is not a valid entry is an
/// error naming the file and the line, so a broken index is fixed rather than silently read
/// around.
#[derive(Debug)]
pub struct IndexDirSource {
    root: PathBuf,
    cache: Mutex<HashMap<String, Vec<IndexEntry>>>,
}

impl IndexDirSource {
    /// A source over the index checkout at `root` (the folder that holds `config.json`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        IndexDirSource {
            root: root.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The path of package `name`'s file in this checkout.
    pub fn package_path(&self, name: &str) -> PathBuf {
        self.root.join("packages").join(shard(name))
    }

    /// How many package files were looked up so far (each at most once), found or not.
    pub fn files_read(&self) -> usize {
        self.lock_cache().len()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<IndexEntry>>> {
        // A panic while holding the lock leaves the map itself consistent: keep using it.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl EntrySource for IndexDirSource {
    /// The package the index's `components/<shard>` record names: in an ocp index a
    /// component belongs to one package.
    fn component_packages(&self, component: &str) -> Result<Vec<String>, SourceError> {
        if component.is_empty() {
            return Ok(Vec::new());
        }
        let path = self.root.join("components").join(shard(component));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(SourceError::Read { path, source }),
        };
        let record: ComponentRecord =
            serde_json::from_str(&text).map_err(|error| SourceError::Malformed {
                path,
                line: 1,
                reason: error.to_string(),
            })?;
        Ok(vec![record.package])
    }

    fn entries(&self, name: &str) -> Result<Vec<IndexEntry>, SourceError> {
        if let Some(entries) = self.lock_cache().get(name) {
            return Ok(entries.clone());
        }
        let entries = if name.is_empty() {
            Vec::new()
        } else {
            read_package_file(&self.package_path(name))?
        };
        self.lock_cache().insert(name.to_owned(), entries.clone());
        Ok(entries)
    }
}

fn read_package_file(path: &Path) -> Result<Vec<IndexEntry>, SourceError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(SourceError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse_entries(&text).map_err(|error| SourceError::Malformed {
        path: path.to_owned(),
        line: error.line,
        reason: error.reason,
    })
}

/// Entries held in memory, grouped by package name.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    packages: BTreeMap<String, Vec<IndexEntry>>,
}

impl MemorySource {
    pub fn new() -> Self {
        MemorySource::default()
    }

    /// Adds one published version.
    pub fn add(&mut self, entry: IndexEntry) {
        self.packages
            .entry(entry.name.clone())
            .or_default()
            .push(entry);
    }
}

impl FromIterator<IndexEntry> for MemorySource {
    fn from_iter<T: IntoIterator<Item = IndexEntry>>(iter: T) -> Self {
        let mut source = MemorySource::new();
        for entry in iter {
            source.add(entry);
        }
        source
    }
}

impl EntrySource for MemorySource {
    fn entries(&self, name: &str) -> Result<Vec<IndexEntry>, SourceError> {
        Ok(self.packages.get(name).cloned().unwrap_or_default())
    }

    /// Every package with a version that lists `component`.
    fn component_packages(&self, component: &str) -> Result<Vec<String>, SourceError> {
        Ok(self
            .packages
            .iter()
            .filter(|(_, entries)| {
                entries
                    .iter()
                    .any(|entry| entry.components.iter().any(|c| c == component))
            })
            .map(|(name, _)| name.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_no_package_and_a_bad_line_names_file_and_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = IndexDirSource::new(dir.path());
        assert!(source.entries("absent-osiris").expect("missing").is_empty());

        let path = source.package_path("broken-osiris");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "\n{not json\n").expect("write");
        let error = source.entries("broken-osiris").expect_err("malformed");
        let message = error.to_string();
        assert!(message.contains("broken-osiris:2`"), "{message}");
        assert_eq!(source.files_read(), 1);
    }
}
