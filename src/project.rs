//! The Osiris project a command works in: the folder that holds `osiris.yaml` (what
//! `osiris init` writes) or `.osiris/config.yaml` (where the packaging plan puts the
//! `plugins:` section), found from the current directory upwards, or named with `--project`.
//!
//! The project is where the plugin policy is read and where `ocp.lock` lives. Outside a
//! project there is no project policy and no lock file unless one is named. This module only
//! finds files; reading them is [`crate::settings`]'s job.

use std::path::{Path, PathBuf};

/// The project file `osiris init` writes at the project's root.
pub const OSIRIS_YAML: &str = "osiris.yaml";
/// The project configuration the packaging plan describes, relative to the root.
pub const SEED_CONFIG: &str = ".osiris/config.yaml";
/// The trusted keys file a project may keep at its root.
pub const TRUSTED_KEYS: &str = "ocp-trusted-keys.toml";

/// How many folders discovery climbs before it gives up (a path deeper than this is not a
/// real project layout, and the bound keeps a hostile symlink chain from looping).
const MAX_ANCESTORS: usize = 256;

/// Why a named project folder is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("`{}` does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("`{}` is not an Osiris project: it has neither `{OSIRIS_YAML}` nor `{SEED_CONFIG}`", path.display())]
    NotAProject { path: PathBuf },
}

/// An Osiris project on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The folder that holds `osiris.yaml` or `.osiris/config.yaml`.
    pub root: PathBuf,
}

impl Project {
    /// The nearest project at `start` or above it, if any.
    pub fn discover(start: &Path) -> Option<Project> {
        start
            .ancestors()
            .take(MAX_ANCESTORS)
            .find(|dir| is_project(dir))
            .map(|dir| Project {
                root: dir.to_path_buf(),
            })
    }

    /// The project at `dir` exactly (`--project DIR`).
    pub fn at(dir: &Path) -> Result<Project, ProjectError> {
        if !dir.exists() {
            return Err(ProjectError::Missing {
                path: dir.to_path_buf(),
            });
        }
        if !is_project(dir) {
            return Err(ProjectError::NotAProject {
                path: dir.to_path_buf(),
            });
        }
        Ok(Project {
            root: dir.to_path_buf(),
        })
    }

    /// `osiris.yaml` at the root.
    pub fn osiris_yaml(&self) -> PathBuf {
        self.root.join(OSIRIS_YAML)
    }

    /// `.osiris/config.yaml` below the root.
    pub fn seed_config(&self) -> PathBuf {
        self.root.join(SEED_CONFIG)
    }

    /// The configuration files that exist, in the order they win: `osiris.yaml` (the file
    /// Osiris itself reads) before `.osiris/config.yaml`.
    pub fn config_files(&self) -> Vec<PathBuf> {
        [self.osiris_yaml(), self.seed_config()]
            .into_iter()
            .filter(|path| path.is_file())
            .collect()
    }

    /// Where the project's lock file lives: `ocp.lock` at the root.
    pub fn lockfile(&self) -> PathBuf {
        self.root.join(crate::lockfile::FILE_NAME)
    }

    /// The project's trusted keys file, `ocp-trusted-keys.toml` at the root.
    pub fn trusted_keys(&self) -> PathBuf {
        self.root.join(TRUSTED_KEYS)
    }
}

fn is_project(dir: &Path) -> bool {
    dir.join(OSIRIS_YAML).is_file() || dir.join(SEED_CONFIG).is_file()
}

/// `path` as a person in `cwd` would type it: relative when it lies below `cwd`.
pub fn shown(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .ok()
        .filter(|relative| !relative.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_finds_either_marker_upwards_and_prefers_the_nearest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outer = dir.path().join("outer");
        let inner = outer.join("a/b");
        std::fs::create_dir_all(inner.join(".osiris")).expect("mkdir");
        assert_eq!(Project::discover(&inner), None);
        std::fs::write(outer.join(OSIRIS_YAML), "version: '2.0'\n").expect("write");
        assert_eq!(
            Project::discover(&inner).map(|p| p.root),
            Some(outer.clone())
        );
        std::fs::write(inner.join(SEED_CONFIG), "plugins: {}\n").expect("write");
        let nearest = Project::discover(&inner).expect("found");
        assert_eq!(nearest.root, inner);
        assert_eq!(nearest.config_files(), vec![inner.join(SEED_CONFIG)]);
    }

    #[test]
    fn a_named_folder_must_be_a_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            Project::at(&dir.path().join("absent")),
            Err(ProjectError::Missing { .. })
        ));
        assert!(matches!(
            Project::at(dir.path()),
            Err(ProjectError::NotAProject { .. })
        ));
        std::fs::write(dir.path().join(OSIRIS_YAML), "").expect("write");
        let project = Project::at(dir.path()).expect("a project");
        assert_eq!(project.lockfile(), dir.path().join("ocp.lock"));
    }

    #[test]
    fn paths_below_the_current_folder_are_shown_relative() {
        let cwd = Path::new("/p");
        assert_eq!(
            shown(Path::new("/p/.osiris/config.yaml"), cwd),
            ".osiris/config.yaml"
        );
        assert_eq!(shown(Path::new("/q/osiris.yaml"), cwd), "/q/osiris.yaml");
        assert_eq!(shown(Path::new("/p"), cwd), "/p");
    }
}
