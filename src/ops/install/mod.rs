//! `ocp install`, `ocp update` and `ocp lock`: a pipeline of stages, each a named type or
//! function in its own module, handing its result to the next (as uv hands a resolution to
//! its install plan and the plan to its installer, and cargo's ops hand a plan to an
//! executor):
//!
//! 1. **request** ([`request::InstallRequest::read`]): the specs, local tarballs (checked
//!    against the trusted keys and the plugin policy), the lock file's versions and what
//!    `ocp update` unlocks, and the Osiris and Python to resolve for;
//! 2. **resolution** ([`resolution::resolve`]): pubgrub over the index, giving the
//!    [`Resolution`] and the new lock file; the plugin policy ([`policy`]) steers it and
//!    judges its result; `--locked` is checked here;
//! 3. **plan** ([`plan::InstallPlan`]): what changes in the environment, which packages
//!    arrive and in which order. `--dry-run` and `ocp lock` stop here;
//! 4. **fetch and verify** ([`verify::fetch_and_verify`]): every tarball downloaded into the
//!    cache, its sha256 and its owner's signature checked;
//! 5. **stage** ([`stage::stage_in_store`]): unpacked into the read-only store;
//! 6. **commit** ([`commit::commit`]): one transaction in the environment, activating every
//!    package, installing their Python requirements ([`python`]) and writing the lock file,
//!    committed once; any failure leaves the environment and the lock file as they were;
//! 7. **report** ([`Installed`]): returned to the CLI, which renders it.
//!
//! The environment lock ([`crate::ops::environment`]) is taken before stage 1 and held to
//! the end: exclusive when the run may change the environment, shared for `--dry-run` and
//! `ocp lock`.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use pep440_rs::Version;

use crate::error::helped;
use crate::index::format::IndexEntry;
use crate::lockfile;
use crate::ops::environment::{self, EnvLock};
use crate::ops::registry::{self, Freshness, IndexLocation};
use crate::progress::Reporter;
use crate::pyenv::PythonEnv;
use crate::resolve::Resolution;
use crate::shell::Shell;
use crate::store::Store;

pub mod checks;
pub mod commit;
pub mod plan;
pub mod policy;
pub mod python;
pub mod request;
pub mod resolution;
pub mod stage;
pub mod verify;

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
    /// Credentials for tarballs in OCI registries, from the user's configuration.
    pub registry_login: crate::oci::Login,
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
    pub trusted_keys: Vec<LocalSigner>,
    /// The project's plugin policy, which every package the run would bring in must pass.
    pub policy: crate::policy::Policy,
}

/// A key that may sign local tarballs, and what makes the user trust it.
#[derive(Debug, Clone)]
pub struct LocalSigner {
    pub key: crate::signing::PublicKey,
    /// The trusted signer's name, or `None` for the user's own key.
    pub name: Option<String>,
    /// The file that trusts it: a trusted keys file, or the user's own public key.
    pub source: PathBuf,
}

impl std::fmt::Display for LocalSigner {
    /// `trusted signer `alice` (key 0123456789ABCDEF, trusted in `...`)`, or
    /// `your own key 0123456789ABCDEF (`.../ocp.pub`)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (key, source) = (self.key.key_id(), self.source.display());
        match &self.name {
            Some(name) => write!(
                f,
                "trusted signer `{name}` (key {key}, trusted in `{source}`)"
            ),
            None => write!(f, "your own key {key} (`{source}`)"),
        }
    }
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

/// What an install did (or, with `--dry-run`, would do): the report.
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
    let what = if opts.specs.is_empty() {
        "the locked packages".to_owned()
    } else {
        opts.specs.join(" ")
    };
    policy::refuse_if_disabled(&opts.policy, &what)?;
    let changes_env = !opts.dry_run && !opts.lock_only;
    let env_lock = match &opts.env {
        Some(env) if changes_env => EnvLock::Exclusive(environment::lock_exclusive(shell, env)?),
        Some(env) => EnvLock::Shared(environment::lock_shared(shell, env)?),
        None => EnvLock::None,
    };
    let open = registry::open(&opts.location, opts.freshness)?;
    open.report(shell)?;
    let index = &open.index;

    let request = request::InstallRequest::read(shell, &opts, index)?;
    let resolved = resolution::resolve(&request, index, &opts)?;
    report_resolution(shell, &request, &resolved.resolution)?;
    // Why a version is older than the newest: a component asked for was dropped.
    for note in &resolved.resolution.notes {
        shell.warn(note)?;
    }
    let plan = plan::InstallPlan::new(opts.env.as_ref(), &request, &resolved.resolution)?;

    let lock_changes = request.old_lock.as_ref() != Some(&resolved.lock);
    let mut installed = Installed {
        changes: plan.changes.clone(),
        unchanged: plan.unchanged.clone(),
        resolution: resolved.resolution,
        osiris: request.osiris.clone(),
        python: request.python.clone(),
        index_name: opts.location.name.clone(),
        index_remote: opts.location.remote.clone(),
        lockfile: opts.lockfile.clone().filter(|_| request.old_lock.is_some()),
        lock_written: false,
    };
    if opts.dry_run {
        return Ok(installed);
    }
    let new_lock = opts
        .lockfile
        .as_ref()
        .filter(|_| lock_changes)
        .map(|path| (path.clone(), lockfile::to_toml(&resolved.lock).into_bytes()));
    if let Some((path, _)) = &new_lock {
        installed.lockfile = Some(path.clone());
        installed.lock_written = true;
    }
    if opts.lock_only || plan.changes.is_empty() {
        if let Some((path, bytes)) = &new_lock {
            crate::fsutil::write_atomic(path, bytes)
                .with_context(|| format!("failed to write the lock file `{}`", path.display()))?;
        }
        return Ok(installed);
    }

    let (Some(env), EnvLock::Exclusive(lock)) = (&opts.env, &env_lock) else {
        return Err(helped(
            "no Python environment to install into",
            "activate one (`source .venv/bin/activate`), or pass `--env .venv`",
        ));
    };
    // Everything is downloaded and checked before anything is unpacked or activated.
    let verified = verify::fetch_and_verify(index, &plan, &request.locals, &opts)?;
    let store = Store::new(opts.home.join("store").join("v1"));
    let stored = stage::stage_in_store(&store, env, verified)?;
    commit::commit(
        shell,
        &commit::Target { env, lock },
        &plan,
        &stored,
        &opts,
        new_lock
            .as_ref()
            .map(|(path, bytes)| (path.as_path(), bytes.as_slice())),
    )?;
    Ok(installed)
}

/// Says what the resolution chose, and for local tarballs that nothing else was needed.
fn report_resolution(
    shell: &mut Shell,
    request: &request::InstallRequest,
    resolution: &Resolution,
) -> anyhow::Result<()> {
    let target = format!("Osiris {} and Python {}", request.osiris, request.python);
    let message = match (resolution.packages.len(), request.locals.as_slice()) {
        (0, []) => return Ok(()),
        (count, []) => format!("{} for {target}", packages(count)),
        (0, locals) => {
            let names: Vec<String> = locals
                .iter()
                .map(|local| format!("{} v{}", local.entry.name, local.entry.version))
                .collect();
            format!(
                "{} for {target}, needing nothing from the index",
                names.join(", ")
            )
        }
        (count, _) => format!("{} from the index for {target}", packages(count)),
    };
    shell.status("Resolved", message)?;
    Ok(())
}

/// `1 package`, `2 packages`.
pub fn packages(count: usize) -> String {
    match count {
        1 => "1 package".to_owned(),
        n => format!("{n} packages"),
    }
}

/// A version from the command line (`--osiris-version`, `--python-version`).
pub fn parse_version(text: &str) -> anyhow::Result<Version> {
    Version::from_str(text).map_err(|error| {
        helped(
            format!("`{text}` is not a version: {error}"),
            "write a version such as `0.5.7`",
        )
    })
}
