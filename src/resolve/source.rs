//! Where the resolver's packages come from: the [`EntrySource`] trait, read one package at a
//! time and only for the packages the resolver asks about, and its two implementations: an
//! index read through an [`IndexReader`] ([`IndexSource`]: a checkout on disk, a commit a
//! checkpoint vouches for, or an index over HTTP) and a list held in memory
//! ([`MemorySource`], for tests and for callers that already hold entries). This module reads
//! and checks signatures; it never decides which version to use.
//!
//! When it reads a package file, [`IndexSource`] asks the reader to prefetch the files of
//! every package its versions depend on: over HTTP those arrive several at once while the
//! resolver works, instead of one request per package when the resolver gets to it.
//!
//! An index is written by anyone with push access, so [`IndexSource`] trusts nothing it
//! reads: a name is parsed before it becomes a path, files are read with size and
//! line limits, the `yanked` flags come from the package's signed owner log, and an entry's
//! signature is checked ([`crate::index::trust`]) before the resolver acts on its
//! dependencies. That check is lazy, one entry at a time, for the versions the resolver
//! actually considers, so resolving stays fast on a large index.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::index::format::{
    self, ComponentRecord, IndexEntry, MAX_FILE_BYTES, entry_lines, parse_entries,
};
use crate::index::owners::{self, Owners};
use crate::index::reader::{CheckoutReader, IndexReader};
use crate::index::trust::{self, TrustError};
use crate::index::{Index, IndexError};
use crate::model::{ComponentName, PackageName};

/// Why the entries of a package could not be read or used.
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
    #[error("`{name}` is not a valid package name, so ocp looks for no file of it: {reason}")]
    BadName { name: String, reason: String },
    #[error("the index cannot be read")]
    Index(#[source] IndexError),
    #[error("the owner log `{}` does not hold up: {reason}", path.display())]
    OwnerLog { path: PathBuf, reason: String },
    #[error("`{}:{line}`: refusing {name} {version}: {error}", path.display())]
    Untrusted {
        path: PathBuf,
        line: usize,
        name: String,
        version: String,
        error: Box<TrustError>,
    },
}

impl SourceError {
    /// What the user can do about it.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            SourceError::Untrusted { .. } | SourceError::OwnerLog { .. } => Some(
                "nothing was installed: the index holds a change its package's owners did not sign; tell the index's maintainers (`ocp index verify` lists every such entry)",
            ),
            SourceError::Index(IndexError::Checkpoint(error)) => error.help(),
            SourceError::Index(IndexError::Sparse(error)) => error.help(),
            SourceError::Malformed { .. } | SourceError::Index(_) => {
                Some("tell the index's maintainers; `ocp index verify` finds the problem")
            }
            SourceError::BadName { .. } | SourceError::Read { .. } => None,
        }
    }
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

    /// Checks that the owners of `entry.name` vouch for `entry` (one of
    /// [`EntrySource::entries`]), before the resolver acts on its dependencies.
    fn vouch(&self, entry: &IndexEntry) -> Result<(), SourceError>;
}

/// One package file, read and paired with its replayed owner log.
#[derive(Debug)]
struct PackageFile {
    path: PathBuf,
    entries: Vec<IndexEntry>,
    /// The line of each entry in the file.
    lines: Vec<usize>,
    owners: Owners,
    /// Positions of entries whose signature was checked.
    vouched: Mutex<HashSet<usize>>,
}

/// Reads the `packages/<shard(name)>` files of an index, each at most once, and checks
/// entries against `owners/<shard(name)>`.
///
/// A missing file means there is no such package. A line that is not a valid entry, an owner
/// log that does not verify, or an entry its owners did not sign is an error naming the file
/// and the line, so a broken or tampered index is fixed rather than silently read around.
#[derive(Debug)]
pub struct IndexSource {
    reader: Arc<dyn IndexReader>,
    cache: Mutex<HashMap<String, Arc<PackageFile>>>,
}

/// The source over an index checkout folder, by its earlier name.
pub type IndexDirSource = IndexSource;

impl IndexSource {
    /// A source over the index checkout at `root` (the folder that holds `config.json`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::over(Arc::new(CheckoutReader::new(root)))
    }

    /// A source over the index `reader` reads.
    pub fn over(reader: Arc<dyn IndexReader>) -> Self {
        IndexSource {
            reader,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Where package `name`'s file is (a path, or a URL).
    pub fn package_path(&self, name: &PackageName) -> PathBuf {
        self.reader.location(&Index::package_file(name))
    }

    /// How many package files were looked up so far (each at most once), found or not.
    pub fn files_read(&self) -> usize {
        self.lock_cache().len()
    }

    /// How many entries had their signature checked so far (each at most once).
    pub fn entries_vouched(&self) -> usize {
        self.lock_cache()
            .values()
            .map(|package| {
                package
                    .vouched
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<PackageFile>>> {
        // A panic while holding the lock leaves the map itself consistent: keep using it.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn package(&self, name: &str) -> Result<Arc<PackageFile>, SourceError> {
        if let Some(package) = self.lock_cache().get(name) {
            return Ok(Arc::clone(package));
        }
        let package = Arc::new(self.read_package(name)?);
        self.lock_cache()
            .insert(name.to_owned(), Arc::clone(&package));
        Ok(package)
    }

    fn read_package(&self, name: &str) -> Result<PackageFile, SourceError> {
        let parsed = name
            .parse::<PackageName>()
            .map_err(|error| SourceError::BadName {
                name: name.escape_debug().to_string(),
                reason: error.to_string(),
            })?;
        let relative = Index::package_file(&parsed);
        let path = self.reader.location(&relative);
        self.reader
            .prefetch(&[relative.clone(), Index::owner_file(&parsed)]);
        let Some(text) = self.read(&relative)? else {
            return Ok(PackageFile {
                path,
                entries: Vec::new(),
                lines: Vec::new(),
                owners: Owners::default(),
                vouched: Mutex::new(HashSet::new()),
            });
        };
        let mut entries = parse_entries(&text).map_err(|error| SourceError::Malformed {
            path: path.clone(),
            line: error.line,
            reason: error.reason,
        })?;
        let owners = self.owners(&parsed)?;
        self.prefetch_dependencies(&entries);
        // The signed owner log decides what is yanked, not the unsigned flag in the entry.
        for entry in &mut entries {
            entry.yanked = owners.yanked.contains(&entry.version);
        }
        Ok(PackageFile {
            path,
            lines: entry_lines(&text),
            entries,
            owners,
            vouched: Mutex::new(HashSet::new()),
        })
    }

    fn owners(&self, name: &PackageName) -> Result<Owners, SourceError> {
        let relative = Index::owner_file(name);
        let path = self.reader.location(&relative);
        let Some(text) = self.read(&relative)? else {
            return Ok(Owners::default());
        };
        let events = format::parse_events(&text).map_err(|error| SourceError::OwnerLog {
            path: path.clone(),
            reason: error.to_string(),
        })?;
        owners::replay_with(&name.normalized(), &events, owners::Claim::TrustHistory).map_err(
            |error| SourceError::OwnerLog {
                path,
                reason: error.to_string(),
            },
        )
    }
}

impl IndexSource {
    fn read(&self, relative: &str) -> Result<Option<String>, SourceError> {
        self.reader
            .read(relative, MAX_FILE_BYTES)
            .map_err(|error| match error {
                IndexError::Read { path, source } => SourceError::Read { path, source },
                other => SourceError::Index(other),
            })
    }

    /// Asks the reader for the files of every package these entries depend on that was not
    /// read yet, so that over HTTP they arrive together, ahead of the resolver.
    fn prefetch_dependencies(&self, entries: &[IndexEntry]) {
        let names: BTreeSet<&str> = entries
            .iter()
            .flat_map(|entry| entry.dependencies.iter().map(|d| d.name.as_str()))
            .collect();
        let files: Vec<String> = {
            let cache = self.lock_cache();
            names
                .into_iter()
                .filter(|name| !cache.contains_key(*name))
                .filter_map(|name| name.parse::<PackageName>().ok())
                .flat_map(|name| [Index::package_file(&name), Index::owner_file(&name)])
                .collect()
        };
        if !files.is_empty() {
            self.reader.prefetch(&files);
        }
    }
}

impl EntrySource for IndexSource {
    /// The package the index's `components/<shard>` record names: in an ocp index a
    /// component belongs to one package. A name that is not a component name has none.
    fn component_packages(&self, component: &str) -> Result<Vec<String>, SourceError> {
        let Ok(name) = component.parse::<ComponentName>() else {
            return Ok(Vec::new());
        };
        let relative = Index::component_file(&name);
        let Some(text) = self.read(&relative)? else {
            return Ok(Vec::new());
        };
        let record: ComponentRecord =
            serde_json::from_str(&text).map_err(|error| SourceError::Malformed {
                path: self.reader.location(&relative),
                line: 1,
                reason: error.to_string(),
            })?;
        Ok(vec![record.package])
    }

    fn entries(&self, name: &str) -> Result<Vec<IndexEntry>, SourceError> {
        if name.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.package(name)?.entries.clone())
    }

    fn vouch(&self, entry: &IndexEntry) -> Result<(), SourceError> {
        let package = self.package(&entry.name)?;
        let position = package
            .entries
            .iter()
            .position(|known| known == entry)
            .ok_or_else(|| SourceError::BadName {
                name: entry.name.clone(),
                reason: format!("version {} is not in the index", entry.version),
            })?;
        let mut vouched = package
            .vouched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if vouched.contains(&position) {
            return Ok(());
        }
        trust::check_entry(entry, &package.owners).map_err(|error| SourceError::Untrusted {
            path: package.path.clone(),
            line: package.lines.get(position).copied().unwrap_or(position + 1),
            name: entry.name.clone(),
            version: entry.version.clone(),
            error: Box::new(error),
        })?;
        vouched.insert(position);
        Ok(())
    }
}

/// Entries held in memory, grouped by package name. The caller vouches for them: nothing is
/// checked against an owner log, so this is for tests and for entries already checked.
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

    fn vouch(&self, _entry: &IndexEntry) -> Result<(), SourceError> {
        Ok(())
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

        let name: PackageName = "broken-osiris".parse().expect("name");
        let path = source.package_path(&name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "\n{not json\n").expect("write");
        let error = source.entries("broken-osiris").expect_err("malformed");
        let message = error.to_string();
        assert!(message.contains("broken-osiris:2`"), "{message}");
        assert_eq!(source.files_read(), 1);
    }

    #[test]
    fn a_name_that_is_not_a_package_name_never_becomes_a_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "{not json\n").expect("write");
        let root = dir.path().join("index");
        std::fs::create_dir_all(root.join("packages")).expect("mkdir");
        let source = IndexDirSource::new(&root);
        for name in ["../outside", "../../outside", "a/../../b", "/etc/passwd"] {
            let error = source.entries(name).expect_err(name);
            assert!(
                matches!(error, SourceError::BadName { .. }),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn a_symlinked_package_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "{}\n").expect("write");
        let root = dir.path().join("index");
        let source = IndexDirSource::new(&root);
        let name: PackageName = "leak-osiris".parse().expect("name");
        let path = source.package_path(&name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(&secret, &path).expect("symlink");
        let error = source.entries("leak-osiris").expect_err("symlink");
        assert!(
            error.to_string().contains("index cannot be read"),
            "{error}"
        );
    }
}
