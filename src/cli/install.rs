//! `ocp install`, `ocp uninstall` and `ocp list`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::Format;
use crate::activate;
use crate::error::{HelpExt, helped};
use crate::home;
use crate::index::storage::Credentials;
use crate::ops::environment;
use crate::ops::install::{self as ops, InstallOpts, PythonDeps, Unlock};
use crate::ops::registry::{self, Freshness};
use crate::ops::uninstall::UninstallOpts;
use crate::pyenv::PythonEnv;
use crate::shell::Shell;

/// Which Python environment to work in.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The virtual environment's directory [default: the active `VIRTUAL_ENV`]
    #[arg(long, value_name = "DIR", conflicts_with = "python")]
    env: Option<PathBuf>,

    /// The environment's Python interpreter (`.venv/bin/python`)
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
}

impl EnvArgs {
    /// The environment named, or the active one; `None` when there is neither.
    fn resolve_optional(self) -> anyhow::Result<Option<PythonEnv>> {
        if self.python.is_none() && self.env.is_none() && std::env::var_os("VIRTUAL_ENV").is_none()
        {
            return Ok(None);
        }
        self.resolve().map(Some)
    }

    pub(super) fn resolve(self) -> anyhow::Result<PythonEnv> {
        let env = match (self.python, self.env, std::env::var_os("VIRTUAL_ENV")) {
            (Some(python), _, _) => PythonEnv::from_python(&python),
            (None, Some(dir), _) => PythonEnv::from_env_dir(&dir),
            (None, None, Some(active)) => PythonEnv::from_env_dir(Path::new(&active)),
            (None, None, None) => {
                return Err(helped(
                    "no Python environment to install into",
                    "activate one (`source .venv/bin/activate`), or pass `--env .venv` or `--python .venv/bin/python`",
                ));
            }
        };
        env.help("create a virtual environment with `python -m venv .venv` (or `uv venv`) and install Osiris into it")
    }
}

/// Where to resolve from and for which environment: shared by install, update and lock.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    env: EnvArgs,

    /// The index: a name from `OCP_HOME/config.toml`, a git URL or a path [default: the local index]
    #[arg(
        long,
        value_name = "NAME|URL|PATH",
        env = "OCP_INDEX",
        hide_env_values = true
    )]
    index: Option<String>,

    /// Resolve for this Osiris version instead of the one installed in the environment
    #[arg(long, value_name = "VERSION")]
    osiris_version: Option<String>,

    /// Allow pre-release versions
    #[arg(long)]
    pre: bool,

    /// Use only the local copy of the index and the download cache
    #[arg(long)]
    offline: bool,

    /// Resolve for this Python version; with `ocp lock` or `--dry-run`, no environment is needed
    /// when `--osiris-version` is given too
    #[arg(long, value_name = "VERSION")]
    python_version: Option<String>,

    /// The Osiris project whose plugin policy applies and whose root holds `ocp.lock`
    /// [default: the one the current folder is in]
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

/// Install components into a Python environment
///
/// Resolves the request against the index with the environment's Osiris and Python versions
/// (read from the environment; nothing is run), checks every tarball's sha256 and its
/// owner's signature before unpacking it into the store under `OCP_HOME`, and installs the
/// packages so that Python, pip and Osiris find them. Their own Python requirements are
/// installed with `uv` when it is on PATH, else with pip, never changing a distribution that
/// is already installed.
///
/// All packages, their Python requirements and the lock file change in one transaction: if
/// any step fails, or ocp is killed at any moment, the environment and `ocp.lock` are exactly
/// as before or exactly as after, and the next ocp command finishes or undoes what a killed
/// one left. The environment is locked while ocp works in it; another ocp waits its turn.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp install shopify.extractor\n  ocp install shopify.extractor@^1.2 postgres-osiris==2.0.0 --env .venv\n  ocp install shopify.extractor --dry-run --format json"
)]
pub struct InstallArgs {
    /// What to install: a component (`shopify.extractor`) or a package (`shopify-osiris`), with an
    /// optional requirement (`shopify.extractor@^1.2`, `shopify-osiris==1.0.0`), or a local
    /// tarball with a `.minisig` by a trusted key. With none, installs what the lock file records.
    #[arg(value_name = "SPEC")]
    specs: Vec<String>,

    #[command(flatten)]
    resolve: ResolveArgs,

    /// Show what would be installed, and change nothing
    #[arg(long)]
    dry_run: bool,

    /// Do not install the packages' own Python requirements
    #[arg(long)]
    no_python_deps: bool,

    #[command(flatten)]
    lock: LockArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// The lock file flags shared by install, update and lock.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// The lock file to read and write [default: `ocp.lock` at the Osiris project's root;
    /// outside a project, none]
    #[arg(long, value_name = "PATH")]
    lockfile: Option<PathBuf>,

    /// Fail if the lock file would change
    #[arg(long)]
    locked: bool,

    /// `--locked` and `--offline` together: exactly what the lock file says, from the cache
    #[arg(long)]
    frozen: bool,
}

#[derive(Serialize)]
struct JsonInstalled {
    format_version: u32,
    dry_run: bool,
    environment: Option<String>,
    osiris: String,
    python: String,
    index: String,
    lockfile: Option<String>,
    packages: Vec<JsonPackage>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct JsonPackage {
    name: String,
    version: String,
    previous: Option<String>,
    action: &'static str,
    requested: bool,
    components: Vec<String>,
    sha256: String,
    key_id: String,
}

/// The keys a local tarball may be signed by: the user's trusted signers, the project's
/// (`ocp-trusted-keys.toml`), and the user's own key.
fn trusted_keys(
    home: &Path,
    settings: &crate::settings::Settings,
) -> anyhow::Result<Vec<ops::LocalSigner>> {
    let files = settings.trusted_keys_files(home);
    let mut keys: Vec<ops::LocalSigner> = crate::ops::key::load_trusted_keys(&files)?
        .iter()
        .map(|signer| ops::LocalSigner {
            key: signer.public_key.clone(),
            name: Some(signer.name.clone()),
            source: signer.source.clone(),
        })
        .collect();
    let own = home::default_public_key(home);
    if let Ok(text) = std::fs::read_to_string(&own)
        && let Ok(key) = crate::signing::PublicKey::parse(&text)
    {
        keys.push(ops::LocalSigner {
            key,
            name: None,
            source: own,
        });
    }
    Ok(keys)
}

/// `uv` on PATH, if there is one.
pub(super) fn find_uv() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("uv"))
        .find(|candidate| candidate.is_file())
}

pub fn run_install(args: InstallArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let common = Common {
        resolve: args.resolve,
        dry_run: args.dry_run,
        no_python_deps: args.no_python_deps,
        lock: args.lock,
        format: args.format,
    };
    execute(shell, args.specs, common, Unlock::Nothing, false)
}

/// Flags that install, update and lock share.
struct Common {
    resolve: ResolveArgs,
    dry_run: bool,
    no_python_deps: bool,
    lock: LockArgs,
    format: Format,
}

fn execute(
    shell: &mut Shell,
    specs: Vec<String>,
    common: Common,
    unlock: Unlock,
    lock_only: bool,
) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let ResolveArgs {
        env,
        index,
        osiris_version,
        pre,
        offline,
        python_version,
        project,
    } = common.resolve;
    let settings = super::settings::resolve(
        shell,
        &home,
        crate::settings::Flags {
            project,
            index,
            offline: offline || common.lock.frozen,
            lockfile: common.lock.lockfile,
        },
    )?;
    let policy = super::settings::policy(shell, &settings, &home)?;
    let lockfile = if lock_only {
        Some(super::settings::required_lockfile(&settings)?)
    } else {
        settings.lockfile.value.clone()
    };
    let env = if lock_only || common.dry_run {
        env.resolve_optional()?
    } else {
        Some(env.resolve()?)
    };
    let environment = env.as_ref().map(|env| env.root.display().to_string());
    let python_version = python_version
        .as_deref()
        .map(ops::parse_version)
        .transpose()?;
    let osiris_version = osiris_version
        .as_deref()
        .map(ops::parse_version)
        .transpose()?;
    let python_deps = if common.no_python_deps {
        PythonDeps::Skip
    } else {
        find_uv().map_or(PythonDeps::Pip, PythonDeps::Uv)
    };
    let offline = settings.offline.value;
    let trusted_keys = trusted_keys(&home, &settings)?;
    let location = registry::locate(&home, settings.index.value.as_deref())?;
    let registry_login = registry_login(&location);
    let opts = InstallOpts {
        specs,
        env,
        python_version,
        location,
        registry_login,
        freshness: if offline {
            Freshness::Offline
        } else {
            Freshness::Update
        },
        osiris_version,
        allow_prereleases: pre,
        dry_run: common.dry_run,
        python_deps,
        home,
        time_limit: Duration::from_secs(30),
        lockfile,
        locked: common.lock.locked || common.lock.frozen,
        unlock,
        lock_only,
        reporter: super::progress::reporter(shell, "Downloading"),
        trusted_keys,
        policy,
    };
    let dry_run = opts.dry_run;
    let installed = ops::install(shell, opts)?;
    let action = |change: &ops::Change| match &change.previous {
        None => "install",
        Some(previous)
            if previous.parse::<crate::model::PackageVersion>().ok()
                < change.version.parse().ok() =>
        {
            "upgrade"
        }
        Some(_) => "downgrade",
    };
    match common.format {
        Format::Json => {
            let mut packages: Vec<JsonPackage> = Vec::new();
            for (change, what) in installed
                .changes
                .iter()
                .map(|c| (c, action(c)))
                .chain(installed.unchanged.iter().map(|c| (c, "keep")))
            {
                packages.push(JsonPackage {
                    name: change.name.clone(),
                    version: change.version.clone(),
                    previous: change.previous.clone(),
                    action: if lock_only && what != "keep" {
                        "lock"
                    } else {
                        what
                    },
                    requested: change.requested,
                    components: change.entry.components.clone(),
                    sha256: change.entry.sha256.clone(),
                    key_id: change.entry.key_id.clone(),
                });
            }
            packages.sort_by(|a, b| a.name.cmp(&b.name));
            shell.data(serde_json::to_string_pretty(&JsonInstalled {
                format_version: 1,
                dry_run,
                environment,
                osiris: installed.osiris.to_string(),
                python: installed.python.to_string(),
                index: installed.index_name.clone(),
                lockfile: installed.lockfile.as_ref().map(|p| settings.shown(p)),
                packages,
                notes: installed.resolution.notes.clone(),
            })?)?;
        }
        Format::Human => {
            if !lock_only {
                let verb = |what: &str| match (what, dry_run) {
                    ("install", true) => "Would install",
                    ("install", false) => "Installed",
                    ("upgrade", true) => "Would upgrade",
                    ("upgrade", false) => "Upgraded",
                    (_, true) => "Would downgrade",
                    (_, false) => "Downgraded",
                };
                for change in &installed.changes {
                    let from = change
                        .previous
                        .as_ref()
                        .map(|p| format!(" (was {p})"))
                        .unwrap_or_default();
                    shell.status(
                        verb(action(change)),
                        format!(
                            "{} v{}{from}: {}",
                            change.name,
                            change.version,
                            change.entry.components.join(", ")
                        ),
                    )?;
                }
                if installed.changes.is_empty() {
                    shell.status("Unchanged", "everything requested is already installed")?;
                }
            }
            // Packages installed from a tarball were not resolved, so the lock has no place
            // for them; say so rather than let the count look like a mistake.
            let locals: Vec<&str> = installed
                .changes
                .iter()
                .chain(&installed.unchanged)
                .filter(|change| !installed.resolution.packages.contains_key(&change.name))
                .map(|change| change.name.as_str())
                .collect();
            let unrecorded = match locals.as_slice() {
                [] => String::new(),
                [one] => format!("; {one} came from a tarball, which a lock file does not record"),
                many => format!(
                    "; {} came from tarballs, which a lock file does not record",
                    many.join(", ")
                ),
            };
            match (&settings.lockfile.value, installed.lock_written) {
                (Some(path), true) => shell.status(
                    "Locked",
                    format!(
                        "{} in `{}`{unrecorded}",
                        crate::ops::install::packages(installed.resolution.packages.len()),
                        settings.shown(path)
                    ),
                )?,
                (Some(path), false) if installed.lockfile.is_some() => shell.status(
                    "Using",
                    format!("the lock file `{}`, unchanged", settings.shown(path)),
                )?,
                (Some(_), false) => {}
                (None, _) => shell.status(
                    "Unlocked",
                    format!(
                        "`{}` is not in an Osiris project, so no lock file was read or written (`--lockfile PATH` names one)",
                        settings.cwd.display()
                    ),
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Update installed components to the newest versions their requirements allow
///
/// With no names, every package in the lock file may move; with names, only those do and the
/// rest keep their locked versions. Writes the new versions to the lock file.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  ocp update\n  ocp update shopify.extractor --dry-run")]
pub struct UpdateArgs {
    /// Packages or components to update [default: all]
    #[arg(value_name = "NAME")]
    names: Vec<String>,

    #[command(flatten)]
    resolve: ResolveArgs,

    /// Show what would change, and change nothing
    #[arg(long)]
    dry_run: bool,

    /// Do not install the packages' own Python requirements
    #[arg(long)]
    no_python_deps: bool,

    /// The lock file to read and write [default: `ocp.lock` at the Osiris project's root;
    /// outside a project, none]
    #[arg(long, value_name = "PATH")]
    lockfile: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run_update(args: UpdateArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let unlock = if args.names.is_empty() {
        Unlock::All
    } else {
        Unlock::Packages(args.names.clone())
    };
    let common = Common {
        resolve: args.resolve,
        dry_run: args.dry_run,
        no_python_deps: args.no_python_deps,
        lock: LockArgs {
            lockfile: args.lockfile,
            locked: false,
            frozen: false,
        },
        format: args.format,
    };
    execute(shell, Vec::new(), common, unlock, false)
}

/// Resolve and write the lock file without installing anything
///
/// Records the exact versions, checksums, signers and download locations that `ocp install`
/// would use, for the environment's Osiris and Python (or `--osiris-version`). Commit
/// `ocp.lock`; `ocp install --locked` then fails rather than change it.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  ocp lock shopify.extractor\n  ocp install --frozen")]
pub struct LockCommandArgs {
    /// Components or packages to add to the lock file
    #[arg(value_name = "SPEC")]
    specs: Vec<String>,

    #[command(flatten)]
    resolve: ResolveArgs,

    #[command(flatten)]
    lock: LockArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run_lock(args: LockCommandArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let common = Common {
        resolve: args.resolve,
        dry_run: false,
        no_python_deps: true,
        lock: args.lock,
        format: args.format,
    };
    execute(shell, args.specs, common, Unlock::Nothing, true)
}

/// Remove installed components
///
/// All the named packages leave the environment, and the lock file, in one transaction:
/// either all of them or, when one cannot be removed, none.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp uninstall shopify.extractor\n  ocp uninstall shopify-osiris --env .venv"
)]
pub struct UninstallArgs {
    /// Packages (`shopify-osiris`) or components (`shopify.extractor`)
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,

    #[command(flatten)]
    env: EnvArgs,

    /// Show what would be removed, and change nothing
    #[arg(long)]
    dry_run: bool,

    /// The lock file to take the package out of, if it exists [default: `ocp.lock` at the
    /// Osiris project's root]
    #[arg(long, value_name = "PATH")]
    lockfile: Option<PathBuf>,

    /// The Osiris project whose `ocp.lock` to update [default: the one the current folder is in]
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

pub fn run_uninstall(args: UninstallArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let home = home::ocp_home()?;
    let settings = super::settings::resolve(
        shell,
        &home,
        crate::settings::Flags {
            project: args.project,
            lockfile: args.lockfile,
            ..Default::default()
        },
    )?;
    let opts = UninstallOpts {
        env: args.env.resolve()?,
        names: args.names,
        dry_run: args.dry_run,
        lockfile: settings.lockfile.value.clone(),
    };
    let uninstalled = crate::ops::uninstall::uninstall(shell, &opts)?;
    let verb = if opts.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    for receipt in &uninstalled.removed {
        shell.status(verb, format!("{} v{}", receipt.name, receipt.version))?;
    }
    if let Some(path) = &opts.lockfile {
        for name in &uninstalled.unlocked {
            shell.status("Unlocked", format!("{name} in `{}`", settings.shown(path)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// List the components ocp installed in an environment
///
/// Reads the environment under a shared lock, so it waits for an install in progress and
/// never shows one half done.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ocp list\n  ocp list --env .venv --format json | jq '.packages[].components'"
)]
pub struct ListArgs {
    #[command(flatten)]
    env: EnvArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Serialize)]
struct JsonList {
    format_version: u32,
    environment: String,
    packages: Vec<activate::Receipt>,
}

pub fn run_list(args: ListArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let env = args.env.resolve()?;
    let receipts = environment::installed(shell, &env)?;
    match args.format {
        Format::Json => shell.data(serde_json::to_string_pretty(&JsonList {
            format_version: 1,
            environment: env.root.display().to_string(),
            packages: receipts,
        })?)?,
        Format::Human => {
            if receipts.is_empty() {
                shell.warn(format!(
                    "ocp has installed nothing in `{}`",
                    env.root.display()
                ))?;
            }
            for receipt in receipts {
                shell.data(format!(
                    "{} {}  {}  signed by {}  from `{}`",
                    receipt.name,
                    receipt.version,
                    receipt.components.join(", "),
                    receipt.key_id,
                    receipt.index
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Show the installed components as a dependency tree
///
/// Each package is shown under the package that needs it, with the requirement that pulled
/// it in; packages you asked for are the roots.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  ocp tree\n  ocp tree --env .venv")]
pub struct TreeArgs {
    #[command(flatten)]
    env: EnvArgs,
}

pub fn run_tree(args: TreeArgs, shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let env = args.env.resolve()?;
    let receipts = environment::installed(shell, &env)?;
    if receipts.is_empty() {
        shell.warn(format!(
            "ocp has installed nothing in `{}`",
            env.root.display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let by_name: std::collections::BTreeMap<String, &activate::Receipt> = receipts
        .iter()
        .map(|r| (crate::model::normalize_name(&r.name), r))
        .collect();
    let mut lines = Vec::new();
    let mut shown = std::collections::BTreeSet::new();
    for root in receipts.iter().filter(|r| r.requested) {
        lines.push(format!(
            "{} v{} ({})",
            root.name,
            root.version,
            root.components.join(", ")
        ));
        shown.insert(crate::model::normalize_name(&root.name));
        tree_children(
            root,
            &by_name,
            "",
            &mut lines,
            &mut vec![crate::model::normalize_name(&root.name)],
            &mut shown,
        );
    }
    // Packages nothing requested any more still show, so nothing installed is hidden.
    for receipt in receipts
        .iter()
        .filter(|r| !shown.contains(&crate::model::normalize_name(&r.name)))
    {
        lines.push(format!(
            "{} v{} (installed as a dependency, no longer required)",
            receipt.name, receipt.version
        ));
    }
    for line in lines {
        shell.data(line)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn tree_children(
    parent: &activate::Receipt,
    by_name: &std::collections::BTreeMap<String, &activate::Receipt>,
    prefix: &str,
    lines: &mut Vec<String>,
    path: &mut Vec<String>,
    shown: &mut std::collections::BTreeSet<String>,
) {
    let count = parent.dependencies.len();
    for (index, dependency) in parent.dependencies.iter().enumerate() {
        let last = index + 1 == count;
        let (branch, next) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let split = dependency
            .find(['<', '>', '=', '!', '~'])
            .unwrap_or(dependency.len());
        let (name, requirement) = dependency.split_at(split);
        let requirement = if requirement.is_empty() {
            "any version"
        } else {
            requirement
        };
        match by_name.get(&crate::model::normalize_name(name)) {
            Some(child) => {
                lines.push(format!(
                    "{prefix}{branch}{} v{} (required by {} {}: {requirement})",
                    child.name, child.version, parent.name, parent.version
                ));
                let key = crate::model::normalize_name(name);
                shown.insert(key.clone());
                if !path.contains(&key) {
                    path.push(key);
                    tree_children(
                        child,
                        by_name,
                        &format!("{prefix}{next}"),
                        lines,
                        path,
                        shown,
                    );
                    path.pop();
                }
            }
            None => lines.push(format!(
                "{prefix}{branch}{name} {requirement} (missing: run `ocp install {}`)",
                parent.name
            )),
        }
    }
}

/// The user's login for pulling tarballs from the OCI registry of `location`: ocp's own
/// `[registries.NAME]` credential, then Docker's and Helm's files. Pulls need no upload
/// host, so an incomplete upload setting is left for `ocp publish` to report.
pub(super) fn registry_login(location: &registry::IndexLocation) -> crate::oci::Login {
    let variables = |name: &str| std::env::var(name).ok();
    let credential = registry::upload_credential(location, &variables).unwrap_or(None);
    Credentials::new(credential, &variables, dirs::home_dir().as_deref()).registry
}
