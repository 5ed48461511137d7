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
use crate::fetch::{self, Cache, FetchItem, FetchOptions};
use crate::index::format::IndexEntry;
use crate::index::{Index, owners};
use crate::install_spec::InstallSpec;
use crate::lockfile::{self, LockedEnvironment, LockedIndex, Lockfile};
use crate::ops::registry::{self, Freshness, IndexLocation};
use crate::progress::Reporter;
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
    /// The target environment; only `ocp lock` and `--dry-run` may go without one, given
    /// `osiris_version` and `python_version`.
    pub env: Option<PythonEnv>,
    /// `--python-version`, for resolving without an environment.
    pub python_version: Option<Version>,
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
    /// The lock file to read and write (`ocp.lock`); `None` for neither.
    pub lockfile: Option<PathBuf>,
    /// `--locked`: fail if the lock file would change.
    pub locked: bool,
    /// Which locked versions `ocp update` lets go.
    pub unlock: Unlock,
    /// Resolve and write the lock file, but install nothing (`ocp lock`).
    pub lock_only: bool,
    /// Reports download progress.
    pub reporter: Box<dyn Reporter>,
    /// Signers trusted for local tarballs (the user's and the project's trusted keys, and the
    /// user's own key).
    pub trusted_keys: Vec<crate::signing::PublicKey>,
}

/// A tarball given by path, already checked against the trusted keys.
struct LocalTarball {
    path: PathBuf,
    entry: IndexEntry,
}

/// Reads a local tarball, checks its `.minisig` against the trusted keys, and describes it as
/// an index entry would.
fn local_tarball(
    path: &Path,
    trusted: &[crate::signing::PublicKey],
    osiris: &Version,
) -> anyhow::Result<LocalTarball> {
    let open = || {
        std::fs::File::open(path).with_context(|| format!("failed to open `{}`", path.display()))
    };
    let manifest = crate::signing::package::read_manifest(open()?)
        .with_context(|| format!("failed to read `{}`", path.display()))?
        .ok_or_else(|| {
            helped(
                format!(
                    "`{}` is not an OCP tarball (it has no ocp.json)",
                    path.display()
                ),
                "build one with `ocp build`",
            )
        })?;
    let sha256 = crate::model::Checksum::of_reader(open()?)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    let signature_path = crate::ops::sign::default_signature_path(path);
    let text = std::fs::read_to_string(&signature_path).map_err(|_| {
        helped(format!("`{}` has no signature at `{}`", path.display(), signature_path.display()), "sign it with `ocp sign` (your own key is trusted), or have its author send the `.minisig`")
    })?;
    let signature = SignatureFile::parse(&text)
        .with_context(|| format!("failed to read `{}`", signature_path.display()))?;
    let key = trusted
        .iter()
        .find(|key| key.key_id() == signature.key_id)
        .ok_or_else(|| {
            helped(
                format!(
                    "`{}` is signed by key {}, which you do not trust",
                    path.display(),
                    signature.key_id
                ),
                "trust the signer with `ocp key trust <name> <public key>` if you know them",
            )
        })?;
    signature.verify(key, open()?, false).map_err(|error| {
        helped(
            format!("refusing to install `{}`: {error}", path.display()),
            "nothing was installed",
        )
    })?;
    match PackageClaim::parse(&signature.trusted_comment) {
        Ok(Some(claim)) => claim.check(Some(&manifest), &sha256).map_err(|error| {
            helped(
                format!("refusing to install `{}`: {error}", path.display()),
                "nothing was installed",
            )
        })?,
        _ => {
            return Err(helped(
                format!("the signature of `{}` names no package", path.display()),
                "sign it with `ocp sign`, which binds the package name, version and sha256",
            ));
        }
    }
    let range = pep440_rs::VersionSpecifiers::from_str(&manifest.osiris)
        .unwrap_or_else(|_| pep440_rs::VersionSpecifiers::empty());
    if !range.contains(osiris) {
        return Err(helped(
            format!(
                "{} {} needs osiris {}, but this environment has osiris {osiris}",
                manifest.name, manifest.version, manifest.osiris
            ),
            "install a version built for this Osiris, or pass `--osiris-version`",
        ));
    }
    let entry = IndexEntry::from_manifest(
        &manifest,
        sha256.to_hex(),
        text,
        signature.key_id.to_string(),
        String::new(),
    );
    Ok(LocalTarball {
        path: path.to_path_buf(),
        entry,
    })
}

/// Which locked versions to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlock {
    /// Keep every locked version that is still allowed (`ocp install`, `ocp lock`).
    Nothing,
    /// Let every package move to the newest allowed version (`ocp update`).
    All,
    /// Let these packages move (`ocp update NAME`).
    Packages(Vec<String>),
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
    /// The lock file in use (read, written, or both), if any.
    pub lockfile: Option<PathBuf>,
    /// Whether this run wrote the lock file.
    pub lock_written: bool,
}

pub fn install(shell: &mut Shell, opts: InstallOpts) -> anyhow::Result<Installed> {
    let target = opts.env.as_ref();
    if let Some(env) = target {
        activate::recover(env).context("failed to finish an earlier interrupted install")?;
    }
    let osiris = match (
        &opts.osiris_version,
        target.map(PythonEnv::osiris_version).transpose()?.flatten(),
    ) {
        (Some(given), _) => given.clone(),
        (None, Some(found)) => found,
        (None, None) => {
            let place = target.map_or_else(
                || "no environment was named".to_owned(),
                |env| {
                    format!(
                        "Osiris (`osiris-pipeline`) is not installed in `{}`",
                        env.root.display()
                    )
                },
            );
            return Err(helped(
                place,
                "install Osiris into the environment (`pip install osiris-pipeline`), or say which version to resolve for with `--osiris-version 0.5.7`",
            ));
        }
    };
    let python = match (&opts.python_version, target) {
        (Some(given), _) => given.clone(),
        (None, Some(env)) => env.python_version.clone(),
        (None, None) => {
            return Err(helped(
                "no environment was named, so ocp does not know which Python to resolve for",
                "pass `--python-version 3.11`, or name an environment with `--env`",
            ));
        }
    };
    let installed_version = |name: &str| -> anyhow::Result<Option<String>> {
        Ok(match target {
            Some(env) => env.find(name)?.map(|installed| installed.version),
            None => None,
        })
    };
    let open = registry::open(&opts.location, opts.freshness)?;
    let index = &open.index;

    let old_lock = match &opts.lockfile {
        Some(path) => lockfile::read(path)?,
        None => None,
    };
    // A lock made against another index says nothing about this one.
    let usable_lock = old_lock
        .as_ref()
        .filter(|lock| lock.index.url == opts.location.remote);
    if let (Some(lock), Some(path)) = (&old_lock, &opts.lockfile)
        && usable_lock.is_none()
    {
        shell.warn(format!(
            "`{}` was made for the index `{}`; ignoring its versions",
            path.display(),
            lock.index.url
        ))?;
    }
    let mut preferences: BTreeMap<String, Version> =
        usable_lock.map(Lockfile::preferences).unwrap_or_default();
    match &opts.unlock {
        Unlock::Nothing => {}
        Unlock::All => preferences.clear(),
        Unlock::Packages(names) => {
            for name in names {
                let package = index
                    .find_package(name)?
                    .unwrap_or_else(|| crate::model::normalize_name(name));
                if preferences.remove(&package).is_none() {
                    return Err(helped(
                        format!("`{name}` is not in the lock file"),
                        "update what `ocp tree` lists, or run `ocp update` to update everything",
                    ));
                }
            }
        }
    }

    let mut requirements = Vec::new();
    let mut requested = Vec::new();
    let mut locals: Vec<LocalTarball> = Vec::new();
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
                let local = local_tarball(&path, &opts.trusted_keys, &osiris)?;
                for dependency in &local.entry.dependencies {
                    requirements.push(
                        Requirement::new(&dependency.name, &dependency.requirement).with_context(
                            || {
                                format!(
                                    "`{}` has an invalid dependency `{}`",
                                    path.display(),
                                    dependency.name
                                )
                            },
                        )?,
                    );
                }
                requested.push(local.entry.name.clone());
                locals.push(local);
            }
        }
    }
    // What the lock file says was asked for before stays asked for.
    if let Some(lock) = usable_lock {
        for package in lock.packages.iter().filter(|p| p.requested) {
            if !requested.contains(&package.name) {
                requested.push(package.name.clone());
                requirements.push(
                    Requirement::new(&package.name, "")
                        .with_context(|| format!("the lock file names `{}`", package.name))?,
                );
            }
        }
    }
    if requirements.is_empty() && locals.is_empty() {
        return Err(helped(
            "nothing to install",
            "name a component or package, for example `ocp install shopify.extractor`",
        ));
    }
    let source = IndexDirSource::new(index.root());
    let request = Request {
        requirements,
        osiris: osiris.clone(),
        python: python.clone(),
        preferences,
    };
    let resolve_options = ResolveOptions {
        allow_prereleases: opts.allow_prereleases,
        time_limit: Some(opts.time_limit),
    };
    let what = if opts.specs.is_empty() {
        "the locked packages".to_owned()
    } else {
        opts.specs.join(" ")
    };
    let resolution =
        resolve::resolve(&source, &request, &resolve_options).map_err(|error| match &error {
            resolve::ResolveError::NoSolution { suggestions, .. } if !suggestions.is_empty() => {
                helped(format!("cannot install {what}"), error.to_string())
            }
            _ => match error.help() {
                Some(help) => crate::error::with_help(error, help),
                None => anyhow::Error::new(error),
            }
            .context(format!("cannot install {what}")),
        })?;

    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    for (name, package) in &resolution.packages {
        let previous = installed_version(name)?;
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
    for local in &locals {
        let previous = installed_version(&local.entry.name)?;
        let change = Change {
            name: local.entry.name.clone(),
            version: local.entry.version.clone(),
            previous: previous.clone(),
            requested: true,
            entry: local.entry.clone(),
        };
        if previous.as_deref() == Some(local.entry.version.as_str()) {
            unchanged.push(change);
        } else {
            changes.push(change);
        }
    }
    let new_lock = Lockfile::from_resolution(
        LockedIndex {
            name: opts.location.name.clone(),
            url: opts.location.remote.clone(),
        },
        LockedEnvironment {
            osiris: osiris.clone(),
            python: python.clone(),
        },
        &resolution,
        |name, version| index.config().download_location(name, version),
    )
    .context("the index holds an entry ocp cannot lock")?;
    if opts.locked {
        let path = opts
            .lockfile
            .as_deref()
            .unwrap_or(Path::new(lockfile::FILE_NAME));
        let Some(old) = &old_lock else {
            return Err(helped(
                format!(
                    "`--locked` needs a lock file, and `{}` does not exist",
                    path.display()
                ),
                "run `ocp lock` (or `ocp install` without `--locked`) to write one",
            ));
        };
        let differences = lockfile::diff(old, &new_lock);
        if !differences.is_empty() {
            let list: Vec<String> = differences.iter().map(|d| format!("  {d}")).collect();
            return Err(helped(
                format!(
                    "`{}` would change, and `--locked` forbids it:\n{}",
                    path.display(),
                    list.join("\n")
                ),
                "run without `--locked` to accept the change, or `ocp lock` to write it",
            ));
        }
    }
    let mut installed = Installed {
        changes,
        unchanged,
        resolution,
        osiris,
        python,
        index_name: opts.location.name.clone(),
        index_remote: opts.location.remote.clone(),
        lockfile: opts.lockfile.clone().filter(|_| old_lock.is_some()),
        lock_written: false,
    };
    if opts.dry_run {
        return Ok(installed);
    }
    let write_lock = |installed: &mut Installed| -> anyhow::Result<()> {
        if let Some(path) = &opts.lockfile
            && old_lock.as_ref() != Some(&new_lock)
        {
            lockfile::write_atomic(path, &new_lock)?;
            installed.lockfile = Some(path.clone());
            installed.lock_written = true;
        }
        Ok(())
    };
    if opts.lock_only || installed.changes.is_empty() {
        write_lock(&mut installed)?;
        return Ok(installed);
    }

    let env = target.ok_or_else(|| {
        helped(
            "no Python environment to install into",
            "activate one (`source .venv/bin/activate`), or pass `--env .venv`",
        )
    })?;

    // Everything is downloaded and checked before anything is unpacked or activated.
    let cache = Cache::new(opts.home.join("cache"));
    let mut items = Vec::new();
    for change in installed
        .changes
        .iter()
        .filter(|c| !locals.iter().any(|l| l.entry.name == c.name))
    {
        let sha256 = change.entry.sha256.parse().map_err(|_| {
            helped(
                format!(
                    "the index entry of {} {} has an invalid sha256",
                    change.name, change.version
                ),
                "tell the index's maintainers; `ocp index verify` finds it",
            )
        })?;
        items.push(FetchItem {
            name: change.name.clone(),
            version: change.version.clone(),
            location: index
                .config()
                .download_location(&change.name, &change.version),
            sha256,
        });
    }
    let mut fetch_options = FetchOptions::new(index.root());
    fetch_options.offline = opts.freshness == Freshness::Offline;
    let fetched = fetch::fetch_all(&cache, &items, &fetch_options, opts.reporter.as_ref())
        .map_err(|error| match error.help() {
            Some(help) => helped(error.to_string(), help),
            None => anyhow::Error::new(error),
        })?;
    let store = Store::new(opts.home.join("store").join("v1"));
    let mut stored = Vec::new();
    let mut fetched = fetched.into_iter();
    for change in &installed.changes {
        let path = match locals.iter().find(|l| l.entry.name == change.name) {
            // Checked against the trusted keys when it was read.
            Some(local) => local.path.clone(),
            None => {
                let Some(tarball) = fetched.next() else { break };
                verify_signature(index, &change.entry, &tarball.path)?;
                tarball.path
            }
        };
        let tarball = crate::fetch::Fetched {
            path,
            from_cache: true,
        };
        let package = store
            .ensure(
                &change.name,
                &change.version,
                &change.entry.sha256,
                &tarball.path,
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
    write_lock(&mut installed)?;
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

/// Checks that an owner of the package signed exactly this tarball and every field of its
/// entry.
fn verify_signature(index: &Index, entry: &IndexEntry, tarball: &Path) -> anyhow::Result<()> {
    let events = index.events(&entry.name)?;
    let owners = owners::replay(&entry.name, &events)
        .with_context(|| format!("the owner log of `{}` is invalid", entry.name))?;
    let file = std::fs::File::open(tarball)
        .with_context(|| format!("failed to open `{}`", tarball.display()))?;
    crate::index::trust::check_tarball(entry, &owners, file).map_err(|error| {
        helped(
            format!(
                "refusing to install {} {}: {error}",
                entry.name, entry.version
            ),
            "nothing was installed; the index or the tarball was tampered with, or the package was signed by a key that does not own it",
        )
    })
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
    // After `--`, no requirement can be read as an option; and the build backends that
    // uv or pip run never see ocp's signing key or upload tokens.
    command.arg("--").args(requirements);
    crate::childenv::without_secrets(&mut command);
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

/// Takes a removed package out of the lock file at `path`, with the packages only it needed.
/// Returns whether the lock file changed.
pub fn forget_in_lock(path: &Path, name: &str) -> anyhow::Result<bool> {
    let Some(mut lock) = lockfile::read(path)? else {
        return Ok(false);
    };
    let name = crate::model::normalize_name(name);
    let before = lock.packages.len();
    lock.packages.retain(|package| {
        package.name != name && !package.components.iter().any(|c| c.as_str() == name)
    });
    // Keep what is still reachable from a requested package.
    let mut keep: Vec<String> = lock
        .packages
        .iter()
        .filter(|p| p.requested)
        .map(|p| p.name.clone())
        .collect();
    let mut index = 0;
    while index < keep.len() {
        let current = keep[index].clone();
        if let Some(package) = lock.package(&current) {
            for dependency in &package.dependencies {
                if !keep.iter().any(|k| k == dependency.name()) {
                    keep.push(dependency.name().to_owned());
                }
            }
        }
        index += 1;
    }
    lock.packages.retain(|package| keep.contains(&package.name));
    if lock.packages.len() == before {
        return Ok(false);
    }
    lockfile::write_atomic(path, &lock)?;
    Ok(true)
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
