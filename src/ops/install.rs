//! `ocp install` (and `ocp update`): resolve the request against the index with the target
//! environment's Osiris and Python, download and check every tarball (sha256 and the owners'
//! signature) before unpacking it into the store, activate the packages in the environment,
//! install their Python requirements, and roll everything back if any step fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use pep440_rs::Version;

use crate::activate::{self, Pending, Receipt};
use crate::error::helped;
use crate::index::format::IndexEntry;
use crate::index::{Index, owners, storage};
use crate::install_spec::InstallSpec;
use crate::model::Checksum;
use crate::ops::registry::{self, Freshness, IndexLocation};
use crate::pyenv::PythonEnv;
use crate::resolve::{self, IndexDirSource, Request, Requirement, Resolution, ResolveOptions};
use crate::shell::Shell;
use crate::signing::{PackageClaim, SignatureFile};
use crate::store::Store;

/// How to install the package's own Python requirements.
#[derive(Debug, Clone)]
pub enum PythonDeps {
    Skip,
    /// `uv pip install --python <env>` with this uv.
    Uv(PathBuf),
    /// `<env python> -m pip install`.
    Pip,
}

pub struct InstallOpts {
    pub specs: Vec<String>,
    pub env: PythonEnv,
    pub location: IndexLocation,
    pub freshness: Freshness,
    /// `--osiris-version`, when the environment has no Osiris or the user overrides it.
    pub osiris_version: Option<Version>,
    pub allow_prereleases: bool,
    pub dry_run: bool,
    pub python_deps: PythonDeps,
    /// `OCP_HOME`: the store and the download cache live under it.
    pub home: PathBuf,
    pub time_limit: Duration,
    /// Locked versions to keep when still allowed (name -> version).
    pub preferences: BTreeMap<String, Version>,
}

/// One package an install changes.
#[derive(Debug, Clone)]
pub struct Change {
    pub name: String,
    pub version: String,
    /// The version installed before, if any.
    pub previous: Option<String>,
    pub requested: bool,
    pub entry: IndexEntry,
}

/// What an install did (or, with `--dry-run`, would do).
#[derive(Debug)]
pub struct Installed {
    pub changes: Vec<Change>,
    pub unchanged: Vec<Change>,
    pub resolution: Resolution,
    pub osiris: Version,
    pub python: Version,
    pub index_name: String,
    pub index_remote: String,
}

pub fn install(shell: &mut Shell, opts: InstallOpts) -> anyhow::Result<Installed> {
    let env = &opts.env;
    activate::recover(env).context("failed to finish an earlier interrupted install")?;
    let osiris = match (&opts.osiris_version, env.osiris_version()?) {
        (Some(given), _) => given.clone(),
        (None, Some(found)) => found,
        (None, None) => {
            return Err(helped(
                format!(
                    "Osiris (`osiris-pipeline`) is not installed in `{}`",
                    env.root.display()
                ),
                "install it first (`pip install osiris-pipeline`), or say which version to resolve for with `--osiris-version 0.5.7`",
            ));
        }
    };
    let python = env.python_version.clone();
    let open = registry::open(&opts.location, opts.freshness)?;
    let index = &open.index;

    let mut requirements = Vec::new();
    let mut requested = Vec::new();
    for spec in &opts.specs {
        let parsed = InstallSpec::parse(spec).help_with(spec)?;
        match parsed {
            InstallSpec::Name {
                name, specifiers, ..
            } => {
                let package = index.find_package(&name)?.ok_or_else(|| {
                    helped(
                        format!(
                            "there is no package or component `{name}` in the index `{}`",
                            opts.location.name
                        ),
                        format!(
                            "look for it with `ocp search {}`",
                            name.split(['.', '-']).next().unwrap_or(&name)
                        ),
                    )
                })?;
                requested.push(package.clone());
                requirements.push(
                    Requirement::new(&package, &specifiers)
                        .with_context(|| format!("`{spec}` is not a valid requirement"))?,
                );
            }
            InstallSpec::Tarball(path) => {
                return Err(helped(
                    format!(
                        "`{}` is a tarball; ocp installs tarballs through an index so their signature can be checked",
                        path.display()
                    ),
                    "publish it to an index (`ocp publish --path <package>`, the default local index needs no server), then `ocp install` it by name",
                ));
            }
        }
    }
    let source = IndexDirSource::new(index.root());
    let request = Request {
        requirements,
        osiris: osiris.clone(),
        python: python.clone(),
        preferences: opts.preferences.clone(),
    };
    let resolve_options = ResolveOptions {
        allow_prereleases: opts.allow_prereleases,
        time_limit: Some(opts.time_limit),
    };
    let resolution =
        resolve::resolve(&source, &request, &resolve_options).map_err(|error| match &error {
            resolve::ResolveError::NoSolution { suggestions, .. } if !suggestions.is_empty() => {
                helped(
                    format!("cannot install {}", opts.specs.join(" ")),
                    error.to_string(),
                )
            }
            _ => anyhow::Error::new(error)
                .context(format!("cannot install {}", opts.specs.join(" "))),
        })?;

    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    for (name, package) in &resolution.packages {
        let previous = env.find(name)?.map(|installed| installed.version);
        let change = Change {
            name: name.clone(),
            version: package.entry.version.clone(),
            previous: previous.clone(),
            requested: requested.contains(name),
            entry: package.entry.clone(),
        };
        if previous.as_deref() == Some(package.entry.version.as_str()) {
            unchanged.push(change);
        } else {
            changes.push(change);
        }
    }
    let installed = Installed {
        changes,
        unchanged,
        resolution,
        osiris,
        python,
        index_name: opts.location.name.clone(),
        index_remote: opts.location.remote.clone(),
    };
    if opts.dry_run || installed.changes.is_empty() {
        return Ok(installed);
    }

    // Everything is checked before anything is unpacked or activated.
    let cache = opts.home.join("cache").join("v1").join("sha256");
    let store = Store::new(opts.home.join("store").join("v1"));
    let mut stored = Vec::new();
    for change in &installed.changes {
        let tarball = download(index, &change.entry, &cache, opts.freshness)?;
        verify_signature(index, &change.entry, &tarball)?;
        let package = store
            .ensure(
                &change.name,
                &change.version,
                &change.entry.sha256,
                &tarball,
            )
            .with_context(|| {
                format!(
                    "failed to unpack {} {} into the store",
                    change.name, change.version
                )
            })?;
        stored.push((change, package));
    }

    // Dependencies first, so a package never appears before what it imports.
    let order = install_order(&installed.resolution, &installed.changes);
    let mut pending: Vec<Pending> = Vec::new();
    for name in &order {
        let Some((change, package)) = stored.iter().find(|(c, _)| &c.name == name) else {
            continue;
        };
        let receipt = Receipt {
            name: change.name.clone(),
            version: change.version.clone(),
            sha256: change.entry.sha256.clone(),
            key_id: change.entry.key_id.clone(),
            index: opts.location.name.clone(),
            requested: change.requested
                || env
                    .find(&change.name)?
                    .is_some_and(|i| i.dist_info.join("REQUESTED").exists()),
            components: change.entry.components.clone(),
            dependencies: change
                .entry
                .dependencies
                .iter()
                .map(|d| format!("{}{}", d.name, d.requirement))
                .collect(),
        };
        match activate::activate(env, package, &receipt) {
            Ok(done) => pending.push(done),
            Err(error) => {
                roll_back(pending);
                return Err(anyhow::Error::new(error).context(format!(
                    "failed to install {} {}",
                    change.name, change.version
                )));
            }
        }
    }
    let python_requirements: Vec<String> = installed
        .changes
        .iter()
        .flat_map(|c| c.entry.python_dependencies.clone())
        .collect();
    if let Err(error) =
        install_python_requirements(shell, env, &opts.python_deps, &python_requirements)
    {
        roll_back(pending);
        return Err(error);
    }
    for done in pending {
        done.commit()
            .context("failed to clean up after the install")?;
    }
    Ok(installed)
}

trait SpecContext<T> {
    fn help_with(self, spec: &str) -> anyhow::Result<T>;
}

impl<T> SpecContext<T> for Result<T, crate::install_spec::SpecError> {
    fn help_with(self, spec: &str) -> anyhow::Result<T> {
        self.map_err(|error| helped(error.to_string(), format!("write a component (`shopify.extractor`), a package (`shopify-osiris`), or either with a requirement (`{spec}@^1.2`, `shopify-osiris==1.0.0`)")))
    }
}

fn roll_back(pending: Vec<Pending>) {
    for done in pending.into_iter().rev() {
        let _ = done.rollback();
    }
}

/// The tarball of `entry`, from the cache or downloaded into it after its sha256 checks out.
fn download(
    index: &Index,
    entry: &IndexEntry,
    cache: &Path,
    freshness: Freshness,
) -> anyhow::Result<PathBuf> {
    let path = cache
        .join(&entry.sha256[..2])
        .join(format!("{}.tar.gz", entry.sha256));
    if path.is_file() {
        return Ok(path);
    }
    if freshness == Freshness::Offline {
        return Err(helped(
            format!(
                "{} {} is not in the download cache",
                entry.name, entry.version
            ),
            "run without `--offline` to download it",
        ));
    }
    let location = index
        .config()
        .download_location(&entry.name, &entry.version);
    let bytes = storage::fetch(&location, index.root())
        .with_context(|| format!("failed to download {} {}", entry.name, entry.version))?;
    let actual = Checksum::of_bytes(&bytes).to_hex();
    if actual != entry.sha256 {
        return Err(helped(
            format!(
                "the tarball of {} {} from `{location}` has sha256 {actual}, but the index says {}",
                entry.name, entry.version, entry.sha256
            ),
            "the file was changed after it was published; nothing was installed. Tell the index's maintainers",
        ));
    }
    let parent = path.parent().unwrap_or(cache);
    std::fs::create_dir_all(parent)
        .with_context(|| format!("failed to create `{}`", parent.display()))?;
    crate::fsutil::write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Checks that an owner of the package signed exactly this tarball.
fn verify_signature(index: &Index, entry: &IndexEntry, tarball: &Path) -> anyhow::Result<()> {
    let events = index.events(&entry.name)?;
    let owners = owners::replay(&entry.name, &events)
        .with_context(|| format!("the owner log of `{}` is invalid", entry.name))?;
    let refuse = |reason: String| {
        helped(
            format!(
                "refusing to install {} {}: {reason}",
                entry.name, entry.version
            ),
            "nothing was installed; the index or the tarball was tampered with, or the package was signed by a key that does not own it",
        )
    };
    let key = owners.ever.get(&entry.key_id).ok_or_else(|| {
        refuse(format!(
            "it is signed by key {}, which has never owned `{}`",
            entry.key_id, entry.name
        ))
    })?;
    let signature = SignatureFile::parse(&entry.signature)
        .map_err(|error| refuse(format!("its signature is unreadable: {error}")))?;
    let file = std::fs::File::open(tarball)
        .with_context(|| format!("failed to open `{}`", tarball.display()))?;
    signature
        .verify(key, file, false)
        .map_err(|error| refuse(error.to_string()))?;
    match PackageClaim::parse(&signature.trusted_comment) {
        Ok(Some(claim))
            if crate::model::normalize_name(&claim.name) == entry.name
                && claim.version == entry.version
                && claim.sha256 == entry.sha256 =>
        {
            Ok(())
        }
        Ok(Some(claim)) => Err(refuse(format!(
            "the signature vouches for {} {}, not this package",
            claim.name, claim.version
        ))),
        _ => Err(refuse("its signature names no package".to_owned())),
    }
}

/// Names of the changed packages, each after the packages it depends on.
fn install_order(resolution: &Resolution, changes: &[Change]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    fn visit(name: &str, resolution: &Resolution, order: &mut Vec<String>, seen: &mut Vec<String>) {
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_owned());
        if let Some(package) = resolution.packages.get(name) {
            for dependency in &package.entry.dependencies {
                visit(&dependency.name, resolution, order, seen);
            }
        }
        order.push(name.to_owned());
    }
    let mut seen = Vec::new();
    for change in changes {
        visit(&change.name, resolution, &mut order, &mut seen);
    }
    order.retain(|name| changes.iter().any(|c| &c.name == name));
    order
}

fn install_python_requirements(
    shell: &mut Shell,
    env: &PythonEnv,
    how: &PythonDeps,
    requirements: &[String],
) -> anyhow::Result<()> {
    if requirements.is_empty() {
        return Ok(());
    }
    let mut command = match how {
        PythonDeps::Skip => return Ok(()),
        PythonDeps::Uv(uv) => {
            let mut command = Command::new(uv);
            command
                .args(["pip", "install", "--quiet", "--python"])
                .arg(&env.python);
            command
        }
        PythonDeps::Pip => {
            let mut command = Command::new(&env.python);
            command.args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ]);
            command
        }
    };
    command.args(requirements);
    shell.status(
        "Installing",
        format!("Python requirements: {}", requirements.join(", ")),
    )?;
    let output = command
        .output()
        .with_context(|| format!("failed to run `{:?}`", command.get_program()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(helped(
            format!(
                "installing the Python requirements failed, so the install was rolled back:\n{}",
                stderr.trim()
            ),
            "fix the requirement or the network and try again, or pass `--no-python-deps` to install them yourself",
        ));
    }
    Ok(())
}

/// The environment's Osiris version as the resolver needs it, from text.
pub fn parse_version(text: &str) -> anyhow::Result<Version> {
    Version::from_str(text).map_err(|error| {
        helped(
            format!("`{text}` is not a version: {error}"),
            "write a version such as `0.5.7`",
        )
    })
}
