//! A set of file changes inside a package, applied all together or not at all: `ocp version`
//! and `ocp add` plan every new text first, then write. Each file is written atomically; if
//! one write fails, the files already written are put back (edited ones restored, new ones
//! removed), so the package is left as it was.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::helped;
use crate::fsutil;

/// One planned change: a file's new text, and its old text (`None` for a new file).
#[derive(Debug, Clone)]
pub struct FileChange {
    /// Relative to the package root, `/`-separated.
    pub path: String,
    pub old: Option<String>,
    pub new: String,
}

/// The changes to make, in order.
#[derive(Debug, Default)]
pub struct Changes {
    pub root: PathBuf,
    pub files: Vec<FileChange>,
}

impl Changes {
    pub fn new(root: &Path) -> Self {
        Changes {
            root: root.to_path_buf(),
            files: Vec::new(),
        }
    }

    /// The text a file will have: the planned one if any, else what is on disk.
    pub fn current(&self, path: &str) -> anyhow::Result<String> {
        if let Some(change) = self.files.iter().find(|change| change.path == path) {
            return Ok(change.new.clone());
        }
        let absolute = self.root.join(path);
        fs::read_to_string(&absolute)
            .with_context(|| format!("failed to read `{}`", absolute.display()))
    }

    /// Plans `path` to hold `new` (replacing an earlier plan for the same file).
    pub fn edit(&mut self, path: &str, new: String) -> anyhow::Result<()> {
        if let Some(change) = self.files.iter_mut().find(|change| change.path == path) {
            change.new = new;
            return Ok(());
        }
        let old = self.current(path)?;
        if old != new {
            self.files.push(FileChange {
                path: path.to_owned(),
                old: Some(old),
                new,
            });
        }
        Ok(())
    }

    /// Plans a new file; refused if something is already at `path`.
    pub fn create(&mut self, path: &str, new: String) -> anyhow::Result<()> {
        let absolute = self.root.join(path);
        if absolute.symlink_metadata().is_ok() || self.files.iter().any(|c| c.path == path) {
            return Err(helped(
                format!("`{}` already exists", absolute.display()),
                "move it away or choose another name; ocp never overwrites a file it did not plan to edit",
            ));
        }
        self.files.push(FileChange {
            path: path.to_owned(),
            old: None,
            new,
        });
        Ok(())
    }

    /// Writes every change; on failure, undoes the ones already made and returns the error.
    pub fn apply(&self) -> anyhow::Result<()> {
        let mut done: Vec<&FileChange> = Vec::new();
        let mut created_directories: Vec<PathBuf> = Vec::new();
        for change in &self.files {
            if let Err(error) = self.write(change, &mut created_directories) {
                self.undo(&done, &created_directories);
                return Err(error);
            }
            done.push(change);
        }
        Ok(())
    }

    fn write(&self, change: &FileChange, created: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let path = self.root.join(&change.path);
        if let Some(parent) = path.parent() {
            // Remember the directories this makes, outermost first, to remove them on undo.
            let mut missing = Vec::new();
            let mut cursor = parent.to_path_buf();
            while !cursor.exists() {
                missing.push(cursor.clone());
                if !cursor.pop() {
                    break;
                }
            }
            fs::create_dir_all(parent)
                .with_context(|| format!("failed to create `{}`", parent.display()))?;
            created.extend(missing.into_iter().rev());
        }
        if change.old.is_none() && path.symlink_metadata().is_ok() {
            anyhow::bail!("`{}` appeared while ocp was writing", path.display());
        }
        fsutil::write_atomic(&path, change.new.as_bytes())
    }

    fn undo(&self, done: &[&FileChange], created_directories: &[PathBuf]) {
        for change in done.iter().rev() {
            let path = self.root.join(&change.path);
            let _ = match &change.old {
                Some(old) => fsutil::write_atomic(&path, old.as_bytes()),
                None => fs::remove_file(&path).map_err(Into::into),
            };
        }
        for directory in created_directories.iter().rev() {
            let _ = fs::remove_dir(directory);
        }
    }

    /// The paths that change, in order.
    pub fn paths(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|change| change.path.clone())
            .collect()
    }
}
