//! How an index's files are read, whatever carries them: the [`IndexReader`] trait, and its
//! implementation over a checked-out folder ([`CheckoutReader`]). The other readers live
//! beside what they read from: a commit of a git clone, verified against a signed checkpoint
//! ([`super::snapshot::SnapshotReader`]), and an index served over HTTP
//! ([`super::sparse::SparseReader`]). [`super::Index`] and the resolver's source read through
//! this trait only, so every command that reads an index works over each of them.
//!
//! A reader is handed paths that the caller built from parsed names (`packages/<shard>`),
//! and still refuses any path with an empty, `.` or `..` part. Every read has a size limit.

use std::fs;
use std::path::{Path, PathBuf};

use super::{CheckedFolders, IndexError, read_checked};

/// The files of one state of an index.
pub trait IndexReader: Send + Sync + std::fmt::Debug {
    /// The text of `relative` (a `/`-separated path of plain names below the index root),
    /// `None` when the index has no such file, an error when it is larger than `limit`.
    fn read(&self, relative: &str, limit: u64) -> Result<Option<String>, IndexError>;

    /// The names of the files below `folder` (`packages` or `components`), at any depth,
    /// sorted; names that start with `.` are left out.
    fn file_names(&self, folder: &str) -> Result<Vec<String>, IndexError>;

    /// Where `relative` is, for messages: a path on this machine, or a URL.
    fn location(&self, relative: &str) -> PathBuf;

    /// Files that will be read soon. A reader over the network fetches them now, several at
    /// once; the others do nothing. Failures are left for [`IndexReader::read`] to report.
    fn prefetch(&self, _relative: &[String]) {}
}

/// The files of a checked-out folder as they are on disk: no symbolic link anywhere in a
/// path is followed, so nothing outside the folder is read.
#[derive(Debug)]
pub struct CheckoutReader {
    root: PathBuf,
    folders: CheckedFolders,
}

impl CheckoutReader {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        CheckoutReader {
            root: root.into(),
            folders: CheckedFolders::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl IndexReader for CheckoutReader {
    fn read(&self, relative: &str, limit: u64) -> Result<Option<String>, IndexError> {
        read_checked(&self.root, relative, limit, Some(&self.folders))
    }

    fn file_names(&self, folder: &str) -> Result<Vec<String>, IndexError> {
        let mut names = Vec::new();
        let mut stack = vec![self.root.join(folder)];
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

    fn location(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}

/// The last part of every listed path below `folder/`, sorted, for readers that list their
/// files from a manifest.
pub fn names_below<'a>(paths: impl Iterator<Item = &'a str>, folder: &str) -> Vec<String> {
    let prefix = format!("{folder}/");
    let mut names: Vec<String> = paths
        .filter_map(|path| path.strip_prefix(&prefix))
        .filter_map(|rest| rest.rsplit('/').next())
        .filter(|name| !name.is_empty() && !name.starts_with('.'))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

/// Refuses a relative path with an empty, `.` or `..` part, or a `\`.
pub fn check_relative(relative: &str) -> Result<(), IndexError> {
    let bad = relative.is_empty()
        || relative.contains('\\')
        || relative
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(IndexError::BadPath {
            path: relative.escape_debug().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_below_a_folder_are_the_last_parts_sorted() {
        let paths = [
            "config.json",
            "packages/sh/op/shopify-osiris",
            "packages/1/a",
            "owners/1/a",
            "packages/3/a/.hidden",
        ];
        assert_eq!(
            names_below(paths.into_iter(), "packages"),
            vec!["a".to_owned(), "shopify-osiris".to_owned()]
        );
    }

    #[test]
    fn paths_that_could_leave_the_index_are_refused() {
        for bad in ["", "../x", "a//b", "a/./b", "a\\b", "/etc/passwd"] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
        assert!(check_relative("packages/sh/op/shopify-osiris").is_ok());
    }
}
