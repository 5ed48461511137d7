//! Python environments as ocp sees them, read from disk without starting Python: where
//! `site-packages` is, which Python version the environment runs, and which distributions are
//! installed (from their `*.dist-info/METADATA`), Osiris (`osiris-pipeline`) among them.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;

use crate::model::normalize_name;

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("`{path}` is not a Python virtual environment: it has no `pyvenv.cfg`")]
    NotAVenv { path: PathBuf },
    #[error("`{path}` does not exist")]
    Missing { path: PathBuf },
    #[error("`{path}` names no Python version (`version` or `version_info`)")]
    NoVersion { path: PathBuf },
    #[error("the environment at `{path}` has no site-packages directory")]
    NoSitePackages { path: PathBuf },
    #[error("failed to read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A Python virtual environment.
#[derive(Debug, Clone)]
pub struct PythonEnv {
    /// The environment's directory (holding `pyvenv.cfg`).
    pub root: PathBuf,
    /// Its interpreter, `bin/python`.
    pub python: PathBuf,
    pub site_packages: PathBuf,
    pub python_version: Version,
}

/// A distribution installed in an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// As written in METADATA.
    pub name: String,
    pub version: String,
    pub dist_info: PathBuf,
    /// What `INSTALLER` says (`ocp`, `pip`, `uv`), when present.
    pub installer: Option<String>,
}

impl PythonEnv {
    /// The virtual environment at `dir`.
    pub fn from_env_dir(dir: &Path) -> Result<PythonEnv, EnvError> {
        if !dir.exists() {
            return Err(EnvError::Missing {
                path: dir.to_path_buf(),
            });
        }
        let config = dir.join("pyvenv.cfg");
        if !config.is_file() {
            return Err(EnvError::NotAVenv {
                path: dir.to_path_buf(),
            });
        }
        let text = fs::read_to_string(&config).map_err(|source| EnvError::Read {
            path: config.clone(),
            source,
        })?;
        let version = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .find(|(key, _)| matches!(key.trim(), "version" | "version_info"))
            .and_then(|(_, value)| Version::from_str(value.trim()).ok())
            .ok_or_else(|| EnvError::NoVersion {
                path: config.clone(),
            })?;
        let release = version.release();
        let (major, minor) = (
            release.first().copied().unwrap_or(3),
            release.get(1).copied().unwrap_or(0),
        );
        let site_packages = dir
            .join("lib")
            .join(format!("python{major}.{minor}"))
            .join("site-packages");
        if !site_packages.is_dir() {
            return Err(EnvError::NoSitePackages {
                path: dir.to_path_buf(),
            });
        }
        Ok(PythonEnv {
            root: dir.to_path_buf(),
            python: dir.join("bin").join("python"),
            site_packages,
            python_version: version,
        })
    }

    /// The virtual environment an interpreter belongs to (`<env>/bin/python`).
    pub fn from_python(python: &Path) -> Result<PythonEnv, EnvError> {
        if !python.exists() {
            return Err(EnvError::Missing {
                path: python.to_path_buf(),
            });
        }
        // Do not resolve symlinks: a venv's python links to the base interpreter.
        let root = python
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| EnvError::NotAVenv {
                path: python.to_path_buf(),
            })?;
        let mut env = PythonEnv::from_env_dir(root)?;
        env.python = python.to_path_buf();
        Ok(env)
    }

    /// Every distribution installed here.
    pub fn installed(&self) -> Result<Vec<Installed>, EnvError> {
        let entries = fs::read_dir(&self.site_packages).map_err(|source| EnvError::Read {
            path: self.site_packages.clone(),
            source,
        })?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !file_name.ends_with(".dist-info") || !path.is_dir() {
                continue;
            }
            let Ok(metadata) = fs::read_to_string(path.join("METADATA")) else {
                continue;
            };
            let field = |name: &str| {
                metadata
                    .lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            };
            let (Some(name), Some(version)) = (field("Name:"), field("Version:")) else {
                continue;
            };
            let installer = fs::read_to_string(path.join("INSTALLER"))
                .ok()
                .map(|t| t.trim().to_owned());
            out.push(Installed {
                name,
                version,
                dist_info: path,
                installer,
            });
        }
        out.sort_by_key(|a| normalize_name(&a.name));
        Ok(out)
    }

    /// The installed distribution called `name` (any spelling), if there is one.
    pub fn find(&self, name: &str) -> Result<Option<Installed>, EnvError> {
        let wanted = normalize_name(name);
        Ok(self
            .installed()?
            .into_iter()
            .find(|d| normalize_name(&d.name) == wanted))
    }

    /// The installed Osiris version (`osiris-pipeline`), if any. Only a distribution that
    /// ocp did not install counts: an OCP cannot pose as Osiris and change the version ocp
    /// resolves for.
    pub fn osiris_version(&self) -> Result<Option<Version>, EnvError> {
        let wanted = normalize_name("osiris-pipeline");
        Ok(self
            .installed()?
            .into_iter()
            .filter(|d| normalize_name(&d.name) == wanted && d.installer.as_deref() != Some("ocp"))
            .find_map(|d| Version::from_str(&d.version).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_env(version_line: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("pyvenv.cfg"),
            format!("home = /usr/bin\n{version_line}\n"),
        )
        .expect("cfg");
        let site = dir.path().join("lib/python3.11/site-packages");
        fs::create_dir_all(site.join("osiris_pipeline-0.5.7.dist-info")).expect("mkdir");
        fs::write(
            site.join("osiris_pipeline-0.5.7.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: osiris-pipeline\nVersion: 0.5.7\n\nbody\n",
        )
        .expect("metadata");
        dir
    }

    fn osiris(env: &PythonEnv) -> Option<String> {
        env.osiris_version().expect("read").map(|v| v.to_string())
    }

    #[test]
    fn reads_python_and_osiris_versions_without_python() {
        for line in ["version = 3.11.7", "version_info = 3.11.7"] {
            let dir = fake_env(line);
            let env = PythonEnv::from_env_dir(dir.path()).expect("env");
            assert_eq!(env.python_version.to_string(), "3.11.7");
            assert_eq!(osiris(&env).as_deref(), Some("0.5.7"));
            assert!(env.find("Osiris_Pipeline").expect("read").is_some());
        }
    }

    #[test]
    fn an_ocp_installed_dist_info_never_sets_the_osiris_version() {
        let dir = fake_env("version = 3.11.7");
        let site = dir.path().join("lib/python3.11/site-packages");
        fs::write(
            site.join("osiris_pipeline-0.5.7.dist-info/INSTALLER"),
            "pip\n",
        )
        .expect("write");
        let fake = site.join("osiris_pipeline-0.9.9.dist-info");
        fs::create_dir_all(&fake).expect("mkdir");
        fs::write(
            fake.join("METADATA"),
            "Metadata-Version: 2.1\nName: osiris-pipeline\nVersion: 0.9.9\n",
        )
        .expect("metadata");
        fs::write(fake.join("INSTALLER"), "ocp\n").expect("write");
        let env = PythonEnv::from_env_dir(dir.path()).expect("env");
        assert_eq!(osiris(&env).as_deref(), Some("0.5.7"));
        fs::remove_dir_all(site.join("osiris_pipeline-0.5.7.dist-info")).expect("remove");
        assert_eq!(osiris(&env), None);
    }

    #[test]
    fn a_directory_without_pyvenv_cfg_is_not_an_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = PythonEnv::from_env_dir(dir.path()).expect_err("not a venv");
        assert!(error.to_string().contains("has no `pyvenv.cfg`"));
    }
}
