//! Which files belong to a package: everything under its root except VCS folders, caches,
//! build output, virtual environments, `.env` files and whatever `.gitignore` ignores. Both
//! `ocp check` (which scans them) and `ocp build` (which packs them) use this one list.

use std::fs;
use std::path::{Component, Path, PathBuf};

use ignore::WalkBuilder;

/// A file selected for the package, with its path relative to the root (always `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackageFile {
    pub relative: String,
    pub absolute: PathBuf,
    /// True for files that git would mark executable; their archive mode is 0o755.
    pub executable: bool,
}

/// A path that cannot go into the package, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// A symlink whose target is outside the package root (or dangling).
    SymlinkLeaves { relative: String, target: PathBuf },
    /// A symlink to a file or folder inside the package: an OCP contains no links, so the
    /// author replaces it with the file itself.
    Symlink { relative: String, target: PathBuf },
    /// A directory or file ocp could not read.
    Unreadable { relative: String, reason: String },
}

const EXCLUDED_DIRECTORIES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    ".eggs",
    "dist",
    "build",
    "node_modules",
    ".idea",
    ".vscode",
    ".ocp",
];

/// True for names that never go into a package, wherever they are.
fn is_excluded_name(name: &str, is_dir: bool) -> bool {
    if is_dir {
        return EXCLUDED_DIRECTORIES.contains(&name) || name.ends_with(".egg-info");
    }
    name == ".env"
        || name.starts_with(".env.")
        || name.ends_with(".pyc")
        || name.ends_with(".pyo")
        || name == ".DS_Store"
        || name.ends_with(".minisig")
}

/// Lists the package's files, sorted, and the paths that had to be left out with a problem.
pub fn list(root: &Path) -> (Vec<PackageFile>, Vec<FileProblem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(false)
        .git_global(false)
        .require_git(false)
        .parents(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let name = entry.file_name().to_string_lossy();
            if entry.depth() == 0 {
                return true;
            }
            // A directory holding `pyvenv.cfg` is a virtual environment, whatever its name.
            if is_dir && entry.path().join("pyvenv.cfg").exists() {
                return false;
            }
            !is_excluded_name(&name, is_dir)
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let relative = error_path(&error)
                    .map(|p| relative_path(root, &p))
                    .unwrap_or_default();
                problems.push(FileProblem::Unreadable {
                    relative,
                    reason: error
                        .io_error()
                        .map_or_else(|| error.to_string(), |io| io.kind().to_string()),
                });
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            continue;
        }
        let relative = relative_path(root, entry.path());
        if file_type.is_symlink() {
            match fs::canonicalize(entry.path()) {
                Ok(target) if target.starts_with(&canonical_root) => {
                    let target = fs::read_link(entry.path()).unwrap_or(target);
                    problems.push(FileProblem::Symlink { relative, target });
                }
                Ok(target) => problems.push(FileProblem::SymlinkLeaves { relative, target }),
                Err(_) => {
                    let target = fs::read_link(entry.path()).unwrap_or_default();
                    problems.push(FileProblem::SymlinkLeaves { relative, target });
                }
            }
            continue;
        }
        if !file_type.is_file() {
            continue;
        }
        if let Err(error) = fs::File::open(entry.path()) {
            problems.push(FileProblem::Unreadable {
                relative,
                reason: error.to_string(),
            });
            continue;
        }
        files.push(PackageFile {
            executable: crate::fsutil::is_executable(entry.path()),
            relative,
            absolute: entry.path().to_path_buf(),
        });
    }
    files.sort();
    (files, problems)
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}
