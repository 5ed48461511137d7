//! The Osiris that built-in components are migrated from: a virtual environment, its
//! site-packages, or an Osiris source tree. Read from disk without starting Python: the
//! version, the `components/<name>/spec.yaml` folders, the Python requirements Osiris states,
//! and the module a dotted name refers to under the folder that holds the `osiris` package.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;

use super::MigrateError;
use crate::model::{ComponentName, normalize_name};
use crate::package::pyproject::Pyproject;
use crate::pyenv::PythonEnv;

/// The largest spec, module or metadata file read from an installation.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// What kind of folder the Osiris was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A virtual environment (`pyvenv.cfg`) with `osiris-pipeline` installed.
    Environment,
    /// A site-packages folder with `osiris-pipeline` installed.
    SitePackages,
    /// A checkout of Osiris (`pyproject.toml` of `osiris-pipeline`).
    SourceTree,
}

/// An Osiris installation or source tree.
#[derive(Debug, Clone)]
pub struct OsirisSource {
    pub kind: SourceKind,
    /// The folder the user named.
    pub root: PathBuf,
    /// The folder that holds the `osiris` package and `components/`.
    pub code_root: PathBuf,
    pub version: Version,
    /// The environment's Python version, for an environment.
    pub python: Option<Version>,
    /// Osiris's own requirements without markers: normalized name -> requirement text.
    pub requirements: Vec<(String, String)>,
}

impl OsirisSource {
    /// For an environment, the interpreter it was made from (`home` in its `pyvenv.cfg`,
    /// `python<major>.<minor>` there), so a verification runs on that very Python rather than
    /// whichever of its version comes first on PATH.
    pub fn base_interpreter(&self) -> Option<PathBuf> {
        if self.kind != SourceKind::Environment {
            return None;
        }
        let config = std::fs::read_to_string(self.root.join("pyvenv.cfg")).ok()?;
        let home = config.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "home").then(|| PathBuf::from(value.trim()))
        })?;
        let release = self.python.as_ref()?.release().to_vec();
        let versioned = match release.as_slice() {
            [major, minor, ..] => home.join(format!("python{major}.{minor}")),
            _ => home.join("python3"),
        };
        [versioned, home.join("python3")]
            .into_iter()
            .find(|path| path.is_file())
    }

    /// Reads the Osiris at `path`.
    pub fn open(path: &Path) -> Result<OsirisSource, MigrateError> {
        if !path.exists() {
            return Err(MigrateError::NoSuchSource {
                path: path.to_path_buf(),
            });
        }
        if path.join("pyvenv.cfg").is_file() {
            let env = PythonEnv::from_env_dir(path).map_err(|error| MigrateError::NotOsiris {
                path: path.to_path_buf(),
                reason: error.to_string(),
            })?;
            let mut source = Self::site_packages(path, &env.site_packages)?;
            source.kind = SourceKind::Environment;
            source.python = Some(env.python_version);
            return Ok(source);
        }
        let pyproject = path.join("pyproject.toml");
        if pyproject.is_file() && path.join("osiris").is_dir() {
            return Self::source_tree(path, &pyproject);
        }
        if path.join("osiris").is_dir() && path.join("components").is_dir() {
            return Self::site_packages(path, path);
        }
        Err(MigrateError::NotOsiris {
            path: path.to_path_buf(),
            reason: "it is neither a virtual environment (`pyvenv.cfg`), nor a site-packages folder with `osiris/` and `components/`, nor an Osiris source tree (`pyproject.toml` and `osiris/`)".to_owned(),
        })
    }

    fn site_packages(root: &Path, site: &Path) -> Result<OsirisSource, MigrateError> {
        let not_installed = || MigrateError::NotOsiris {
            path: root.to_path_buf(),
            reason: "`osiris-pipeline` is not installed there".to_owned(),
        };
        let entries = fs::read_dir(site).map_err(|source| MigrateError::Read {
            path: site.to_path_buf(),
            source,
        })?;
        let metadata = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| {
                        name.ends_with(".dist-info")
                            && normalize_name(name.split('-').next().unwrap_or_default())
                                == "osiris-pipeline"
                    })
            })
            .map(|dist_info| dist_info.join("METADATA"))
            .find(|path| path.is_file())
            .ok_or_else(not_installed)?;
        let text = read_text(&metadata)?;
        let headers: Vec<(&str, &str)> = text
            .lines()
            .take_while(|line| !line.is_empty())
            .filter_map(|line| line.split_once(':'))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect();
        let version = headers
            .iter()
            .find(|(key, _)| *key == "Version")
            .and_then(|(_, value)| Version::from_str(value).ok())
            .ok_or_else(|| MigrateError::NotOsiris {
                path: root.to_path_buf(),
                reason: format!("`{}` names no valid `Version`", metadata.display()),
            })?;
        if !site.join("osiris").is_dir() || !site.join("components").is_dir() {
            return Err(not_installed());
        }
        let requirements = headers
            .iter()
            .filter(|(key, _)| *key == "Requires-Dist")
            .filter_map(|(_, value)| plain_requirement(value))
            .collect();
        Ok(OsirisSource {
            kind: SourceKind::SitePackages,
            root: root.to_path_buf(),
            code_root: site.to_path_buf(),
            version,
            python: None,
            requirements,
        })
    }

    fn source_tree(root: &Path, pyproject: &Path) -> Result<OsirisSource, MigrateError> {
        let text = read_text(pyproject)?;
        let parsed = Pyproject::parse(&text).map_err(|error| MigrateError::NotOsiris {
            path: root.to_path_buf(),
            reason: format!(
                "`{}` is not valid TOML: {}",
                pyproject.display(),
                error.message
            ),
        })?;
        let name = parsed.project_string("name").map(|name| name.value);
        if name.as_deref().map(normalize_name).as_deref() != Some("osiris-pipeline") {
            return Err(MigrateError::NotOsiris {
                path: root.to_path_buf(),
                reason: format!(
                    "`{}` is the project `{}`, not `osiris-pipeline`",
                    pyproject.display(),
                    name.unwrap_or_default()
                ),
            });
        }
        let version = parsed
            .project_string("version")
            .and_then(|version| Version::from_str(&version.value).ok())
            .ok_or_else(|| MigrateError::NotOsiris {
                path: root.to_path_buf(),
                reason: format!(
                    "`{}` states no valid `project.version`",
                    pyproject.display()
                ),
            })?;
        if !root.join("components").is_dir() {
            return Err(MigrateError::NotOsiris {
                path: root.to_path_buf(),
                reason: "the source tree has no `components/` folder".to_owned(),
            });
        }
        let requirements = parsed
            .dependencies()
            .iter()
            .filter_map(|requirement| plain_requirement(&requirement.value))
            .collect();
        Ok(OsirisSource {
            kind: SourceKind::SourceTree,
            root: root.to_path_buf(),
            code_root: root.to_path_buf(),
            version,
            python: None,
            requirements,
        })
    }

    /// `Osiris 0.5.7 (the environment `.venv`)`, as messages name the source.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            SourceKind::Environment => "the environment",
            SourceKind::SitePackages => "the site-packages",
            SourceKind::SourceTree => "the source tree",
        };
        format!("Osiris {} ({what} `{}`)", self.version, self.root.display())
    }

    /// The `components/` folder.
    pub fn components_dir(&self) -> PathBuf {
        self.code_root.join("components")
    }

    /// The components this Osiris has: the folders of `components/` that hold a `spec.yaml`
    /// and are valid component names, sorted.
    pub fn components(&self) -> Result<Vec<ComponentName>, MigrateError> {
        let dir = self.components_dir();
        let entries = fs::read_dir(&dir).map_err(|source| MigrateError::Read {
            path: dir.clone(),
            source,
        })?;
        let mut names: Vec<ComponentName> = entries
            .flatten()
            .filter(|entry| entry.path().join("spec.yaml").is_file())
            .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The file of the module `dotted` (`osiris.drivers.x`) under the code root: `x.py`, or
    /// `x/__init__.py` for a package; `None` when there is none or the name is not dotted
    /// identifiers.
    pub fn module_file(&self, dotted: &str) -> Option<PathBuf> {
        module_file(&self.code_root, dotted)
    }

    /// The requirement Osiris itself states for the distribution `name`, if any.
    pub fn requirement_for(&self, name: &str) -> Option<&str> {
        let name = normalize_name(name);
        self.requirements
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, requirement)| requirement.as_str())
    }
}

/// The file of a dotted module under `root`, when every part is an identifier.
pub fn module_file(root: &Path, dotted: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = dotted.split('.').collect();
    if parts.iter().any(|part| !is_identifier(part)) {
        return None;
    }
    let base = parts
        .iter()
        .fold(root.to_path_buf(), |path, part| path.join(part));
    let file = base.with_extension("py");
    if file.is_file() {
        return Some(file);
    }
    let init = base.join("__init__.py");
    init.is_file().then_some(init)
}

/// A Python identifier (ASCII, which is all Osiris uses).
pub fn is_identifier(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `(normalized name, requirement)` for a requirement without markers or extras.
fn plain_requirement(text: &str) -> Option<(String, String)> {
    let requirement = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(text).ok()?;
    if !requirement.marker.is_true() || !requirement.extras.is_empty() {
        return None;
    }
    Some((
        normalize_name(requirement.name.as_ref()),
        requirement.to_string(),
    ))
}

/// Reads a text file of the installation, refusing one larger than [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String, MigrateError> {
    let read = |source| MigrateError::Read {
        path: path.to_path_buf(),
        source,
    };
    let length = fs::metadata(path).map_err(read)?.len();
    if length > MAX_FILE_BYTES {
        return Err(MigrateError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_FILE_BYTES,
        });
    }
    let bytes = fs::read(path).map_err(read)?;
    String::from_utf8(bytes).map_err(|_| MigrateError::NotUtf8 {
        path: path.to_path_buf(),
    })
}
