//! Where an index lives and how ocp reaches it. An index is named on the command line by a
//! name from the user's config (`[registries.NAME] index = "..."` in `OCP_HOME/config.toml`),
//! a git URL (file://, ssh, https, `git@host:path`) or a local path. ocp keeps a clone of it
//! under `OCP_HOME/index/checkouts/`, updates it when asked, and works from it with
//! `--offline`. With nothing named, the default index is a local repository under
//! `OCP_HOME/index/default.git`, created on first use, that stores tarballs in itself.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::helped;
use crate::index::format::Storage;
use crate::index::git::Repo;
use crate::index::{Index, template};

/// A resolved index: what to call it, its git remote, and where ocp keeps its clone.
#[derive(Debug, Clone)]
pub struct IndexLocation {
    pub name: String,
    pub remote: String,
    pub checkout: PathBuf,
    /// The default local index, which ocp creates when it does not exist yet.
    pub is_default: bool,
}

/// Whether to bring the clone up to date before using it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Update,
    Offline,
}

/// Resolves `--index` (or its absence) to a location. `home` is `OCP_HOME`.
pub fn locate(home: &Path, spec: Option<&str>) -> anyhow::Result<IndexLocation> {
    let checkouts = home.join("index").join("checkouts");
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(IndexLocation {
            name: "default".to_owned(),
            remote: home.join("index").join("default.git").display().to_string(),
            checkout: checkouts.join("default"),
            is_default: true,
        });
    };
    if let Some(url) = configured(home, spec)? {
        return Ok(IndexLocation {
            name: spec.to_owned(),
            checkout: checkouts.join(slug(spec, &url)),
            remote: url,
            is_default: false,
        });
    }
    let looks_like_url = spec.contains("://")
        || (spec.contains('@') && spec.contains(':') && !Path::new(spec).exists());
    let remote = if looks_like_url {
        spec.to_owned()
    } else {
        let path = Path::new(spec);
        if !path.exists() {
            return Err(helped(
                format!(
                    "no index named `{spec}`: it is not in `{}`, not a URL, and not an existing path",
                    config_path(home).display()
                ),
                format!(
                    "add it with `[registries.{spec}] index = \"<git URL>\"` to that file, or pass a git URL or a path"
                ),
            ));
        }
        fs::canonicalize(path)
            .with_context(|| format!("failed to resolve `{spec}`"))?
            .display()
            .to_string()
    };
    Ok(IndexLocation {
        name: spec.to_owned(),
        checkout: checkouts.join(slug(spec, &remote)),
        remote,
        is_default: false,
    })
}

fn config_path(home: &Path) -> PathBuf {
    home.join("config.toml")
}

/// `[registries.NAME] index = "..."` from the user's config.
fn configured(home: &Path, name: &str) -> anyhow::Result<Option<String>> {
    let path = config_path(home);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("failed to read `{}`", path.display()));
        }
    };
    let document: toml_edit::DocumentMut =
        text.parse().map_err(|error: toml_edit::TomlError| {
            helped(
                format!(
                    "`{}` is not valid TOML: {}",
                    path.display(),
                    error.message().trim()
                ),
                "fix the file; ocp reads `[registries.NAME] index = \"...\"` from it",
            )
        })?;
    let Some(entry) = document.get("registries").and_then(|r| r.get(name)) else {
        return Ok(None);
    };
    match entry.get("index").and_then(|i| i.as_str()) {
        Some(index) => Ok(Some(index.to_owned())),
        None => Err(helped(
            format!(
                "`[registries.{name}]` in `{}` has no `index`",
                path.display()
            ),
            format!("write `index = \"<git URL or path>\"` under `[registries.{name}]`"),
        )),
    }
}

/// A readable, unique folder name for a remote's clone.
fn slug(name: &str, remote: &str) -> String {
    let readable: String = name
        .chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let hash = crate::model::Checksum::of_bytes(remote.as_bytes()).to_hex();
    format!("{}-{}", readable.trim_matches('-'), &hash[..12])
}

/// An index checkout held under an exclusive lock, so two ocp processes on this machine
/// never change one clone at the same time.
#[derive(Debug)]
pub struct OpenIndex {
    pub index: Index,
    pub location: IndexLocation,
    _lock: File,
}

/// Locks, clones or updates, and opens the index at `location`.
pub fn open(location: &IndexLocation, freshness: Freshness) -> anyhow::Result<OpenIndex> {
    let parent = location.checkout.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)
        .with_context(|| format!("failed to create `{}`", parent.display()))?;
    let lock_path = location.checkout.with_extension("lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("failed to open the lock file `{}`", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("failed to lock `{}`", lock_path.display()))?;
    if location.is_default && !Path::new(&location.remote).exists() {
        create_default(Path::new(&location.remote))?;
    }
    if !location.checkout.join(".git").exists() {
        if freshness == Freshness::Offline {
            return Err(helped(
                format!(
                    "there is no local copy of the index `{}` to work offline from",
                    location.name
                ),
                "run once without `--offline` so ocp can clone it",
            ));
        }
        let local = Path::new(&location.remote);
        if local.is_absolute()
            && local.exists()
            && Repo::at(local).git(&["rev-parse", "--git-dir"]).is_err()
        {
            return Err(helped(
                format!(
                    "`{}` is not a git repository, so it cannot be an index",
                    location.remote
                ),
                "create an index there with `ocp index init <path>`, or name an existing one",
            ));
        }
        // A half-made clone from an earlier interrupted run is worthless: start over.
        let _ = fs::remove_dir_all(&location.checkout);
        Repo::clone_from(&location.remote, &location.checkout).with_context(|| {
            format!(
                "failed to clone the index `{}` from `{}`",
                location.name, location.remote
            )
        })?;
    } else if freshness == Freshness::Update {
        Repo::at(&location.checkout)
            .sync_to_origin()
            .with_context(|| {
                format!(
                    "failed to update the index `{}` from `{}`",
                    location.name, location.remote
                )
            })?;
    }
    let index = match Index::open(&location.checkout) {
        Ok(index) => index,
        Err(crate::index::IndexError::NotAnIndex { .. }) => {
            return Err(helped(
                format!(
                    "`{}` is a git repository but not an ocp index: it has no `config.json`",
                    location.remote
                ),
                "create an index with `ocp index init <path>`, or name another one",
            ));
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("failed to open the index `{}`", location.name));
        }
    };
    Ok(OpenIndex {
        index,
        location: location.clone(),
        _lock: lock,
    })
}

/// Creates the default local index: a bare repository made from the template, storing
/// tarballs inside itself.
fn create_default(bare: &Path) -> anyhow::Result<()> {
    let parent = bare.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)
        .with_context(|| format!("failed to create `{}`", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".ocp-index-")
        .tempdir_in(parent)
        .with_context(|| {
            format!(
                "failed to create a temporary directory in `{}`",
                parent.display()
            )
        })?;
    let work = staging.path().join("work");
    template::create(&work, Storage::Index).context("failed to create the default index")?;
    let staged_bare = staging.path().join("index.git");
    crate::index::git::Repo::at(&work)
        .git(&[
            "clone",
            "--quiet",
            "--bare",
            &work.to_string_lossy(),
            &staged_bare.to_string_lossy(),
        ])
        .context("failed to create the default index")?;
    fs::rename(&staged_bare, bare)
        .with_context(|| format!("failed to move the default index into `{}`", bare.display()))?;
    Ok(())
}
