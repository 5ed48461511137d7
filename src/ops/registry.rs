//! Where an index lives and how ocp reaches it. An index is named on the command line by a
//! name from the user's config (`[registries.NAME] index = "..."` in `OCP_HOME/config.toml`),
//! a git URL (file://, ssh, https, `git@host:path`) or a local path; with none named, the
//! user's `index = "..."` in that file, else the default index. ocp keeps a clone of it
//! under `OCP_HOME/index/checkouts/`, updates it when asked, and works from it with
//! `--offline`. With nothing named, the default index is a local repository under
//! `OCP_HOME/index/default.git`, created on first use, that stores tarballs in itself.
//!
//! An index URL that starts with `sparse+` (`sparse+https://host/path/`) is read over plain
//! HTTP instead, file by file, into a cache under `OCP_HOME/index/sparse/`; such an index
//! must carry a signed checkpoint ([`crate::ops::checkpoints`]), and nothing can be published
//! through it.
//!
//! Updates go through [`crate::ops::history`]: a new head that does not contain the last one
//! ocp saw is refused. When a git index carries signed checkpoints, reading it goes through
//! [`crate::ops::checkpoints`] too: the checkpoint is checked on the fetched head before the
//! clone moves, and the files are read as of the commit it names, each against its manifest.
//! Commands that change an index ([`open_to_change`]) work on the clone's head. Credentials for uploads come from the user's own configuration only
//! (`[registries.NAME] token-env`, `upload-host`, or `OCP_REGISTRY_<NAME>_TOKEN` and
//! `OCP_REGISTRY_<NAME>_UPLOAD_HOST`), never from the index.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::helped;
use crate::index::checkpoint::accept::Accepted as CheckpointAccepted;
use crate::index::format::Storage;
use crate::index::git::Repo;
use crate::index::sparse;
use crate::index::storage::Credential;
use crate::index::{Index, template};
use crate::ops::checkpoints::{self, Notice};
use crate::ops::history;

/// A resolved index: what to call it, its git remote, and where ocp keeps its clone.
#[derive(Debug, Clone)]
pub struct IndexLocation {
    pub name: String,
    pub remote: String,
    pub checkout: PathBuf,
    /// The default local index, which ocp creates when it does not exist yet.
    pub is_default: bool,
    /// What the user's config says about this index, when it was named from there.
    pub registry: Option<RegistrySettings>,
    /// The user's config (`OCP_HOME/config.toml`), where index keys are pinned.
    pub config: PathBuf,
}

impl IndexLocation {
    /// The URL of the folder the index is served from, for an index read over HTTP
    /// (`sparse+https://...`).
    pub fn sparse_base(&self) -> Option<String> {
        sparse::base_url(&self.remote).ok().flatten()
    }
}

/// `[registries.NAME]` in `OCP_HOME/config.toml`, besides `index`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySettings {
    /// The environment variable that holds the upload token (`token-env`).
    pub token_env: Option<String>,
    /// The one host the token may be sent to (`upload-host`).
    pub upload_host: Option<String>,
    /// The user name an OCI registry knows the token by (`username`).
    pub username: Option<String>,
    /// The index key that signs its checkpoints (`index-key`), given by the user or pinned
    /// on first use.
    pub index_key: Option<String>,
}

/// One `[registries.NAME]` table.
#[derive(Debug, Clone)]
struct Configured {
    index: String,
    settings: RegistrySettings,
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
    register_configured_secrets(home);
    // With nothing named, the user's own default (`index = "NAME"` in config.toml) applies.
    let configured_default = match spec {
        Some(_) => None,
        None => default_index(home)?,
    };
    let spec = spec.or(configured_default.as_deref());
    // `default` names the built-in index (as install receipts record it), unless the user
    // configured a registry of that name.
    let builtin = |spec: &str| spec == "default" && !matches!(configured(home, spec), Ok(Some(_)));
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty() && !builtin(s)) else {
        return Ok(IndexLocation {
            name: "default".to_owned(),
            remote: home.join("index").join("default.git").display().to_string(),
            checkout: checkouts.join("default"),
            is_default: true,
            registry: None,
            config: config_path(home),
        });
    };
    if let Some(configured) = configured(home, spec)? {
        return Ok(IndexLocation {
            name: spec.to_owned(),
            checkout: clone_folder(home, spec, &configured.index)?,
            remote: configured.index,
            is_default: false,
            registry: Some(configured.settings),
            config: config_path(home),
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
        checkout: clone_folder(home, spec, &remote)?,
        remote,
        is_default: false,
        registry: None,
        config: config_path(home),
    })
}

/// Where ocp keeps its copy of the index at `remote`: a clone under `index/checkouts/`, or
/// for an index read over HTTP, its cache under `index/sparse/` (the URL checked first).
fn clone_folder(home: &Path, name: &str, remote: &str) -> anyhow::Result<PathBuf> {
    let folder = if sparse::base_url(remote)
        .map_err(|error| match error.help() {
            Some(help) => crate::error::with_help(error, help),
            None => anyhow::Error::new(error),
        })?
        .is_some()
    {
        "sparse"
    } else {
        "checkouts"
    };
    Ok(home.join("index").join(folder).join(slug(name, remote)))
}

fn config_path(home: &Path) -> PathBuf {
    home.join("config.toml")
}

/// The user's config, `None` when there is none.
fn read_config(home: &Path) -> anyhow::Result<Option<toml_edit::DocumentMut>> {
    read_config_file(&config_path(home))
}

/// The user's config at `path`, `None` when there is none.
pub(crate) fn read_config_file(path: &Path) -> anyhow::Result<Option<toml_edit::DocumentMut>> {
    let path = path.to_path_buf();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("failed to read `{}`", path.display()));
        }
    };
    text.parse()
        .map(Some)
        .map_err(|error: toml_edit::TomlError| {
            helped(
                format!(
                    "`{}` is not valid TOML: {}",
                    path.display(),
                    error.message().trim()
                ),
                "fix the file; ocp reads `[registries.NAME] index = \"...\"` from it",
            )
        })
}

/// The top-level `index = "..."` of the user's config: the index used when none is named.
fn default_index(home: &Path) -> anyhow::Result<Option<String>> {
    let Some(document) = read_config(home)? else {
        return Ok(None);
    };
    Ok(document
        .get("index")
        .and_then(|item| item.as_str())
        .map(str::to_owned))
}

/// Every `token-env` of the user's config holds a secret that no child process may see.
fn register_configured_secrets(home: &Path) {
    let Ok(Some(document)) = read_config(home) else {
        return;
    };
    let Some(registries) = document.get("registries").and_then(|r| r.as_table_like()) else {
        return;
    };
    for (_, registry) in registries.iter() {
        if let Some(variable) = registry.get("token-env").and_then(|v| v.as_str()) {
            crate::childenv::register_secret_variable(variable);
        }
    }
}

/// `[registries.NAME]` from the user's config.
fn configured(home: &Path, name: &str) -> anyhow::Result<Option<Configured>> {
    let path = config_path(home);
    let Some(document) = read_config(home)? else {
        return Ok(None);
    };
    let Some(entry) = document.get("registries").and_then(|r| r.get(name)) else {
        return Ok(None);
    };
    let text = |key: &str| -> anyhow::Result<Option<String>> {
        match entry.get(key) {
            None => Ok(None),
            Some(item) => item.as_str().map(|v| Some(v.to_owned())).ok_or_else(|| {
                helped(
                    format!(
                        "`{key}` under `[registries.{name}]` in `{}` is not a string",
                        path.display()
                    ),
                    format!("write it as `{key} = \"...\"`"),
                )
            }),
        }
    };
    let Some(index) = text("index")? else {
        return Err(helped(
            format!(
                "`[registries.{name}]` in `{}` has no `index`",
                path.display()
            ),
            format!("write `index = \"<git URL or path>\"` under `[registries.{name}]`"),
        ));
    };
    Ok(Some(Configured {
        index,
        settings: RegistrySettings {
            token_env: text("token-env")?,
            upload_host: text("upload-host")?,
            username: text("username")?,
            index_key: text("index-key")?,
        },
    }))
}

/// The upload token for `location` and the host it may go to, from the user's configuration
/// and environment (`env` looks a variable up): `OCP_REGISTRY_<NAME>_TOKEN` before the
/// variable `token-env` names, `OCP_REGISTRY_<NAME>_UPLOAD_HOST` before `upload-host`.
/// `None` when there is no token; an index named by URL or path never gets one.
pub fn upload_credential(
    location: &IndexLocation,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<Credential>> {
    let Some(settings) = &location.registry else {
        return Ok(None);
    };
    // `acme-corp` -> `ACME_CORP`, as cargo names registry variables.
    let prefix = format!("OCP_REGISTRY_{}_", crate::model::env_name(&location.name));
    let token_variable = format!("{prefix}TOKEN");
    let token = env(&token_variable).or_else(|| {
        settings.token_env.as_deref().and_then(|variable| {
            crate::childenv::register_secret_variable(variable);
            env(variable)
        })
    });
    let Some(token) = token.filter(|token| !token.is_empty()) else {
        return Ok(None);
    };
    let host_variable = format!("{prefix}UPLOAD_HOST");
    let Some(host) = env(&host_variable).or_else(|| settings.upload_host.clone()) else {
        return Err(helped(
            format!(
                "there is an upload token for the index `{}`, but no host to send it to",
                location.name
            ),
            format!(
                "name the upload server with `upload-host = \"files.example.com\"` under `[registries.{}]` in `OCP_HOME/config.toml` (or set `{host_variable}`); ocp sends the token to that host only",
                location.name
            ),
        ));
    };
    let username = env(&format!("{prefix}USERNAME")).or_else(|| settings.username.clone());
    Credential::new(token, &host)
        .map(|credential| Some(credential.with_username(username)))
        .ok_or_else(|| {
        helped(
            format!(
                "`{host}`, the upload host of the index `{}`, is not a host name",
                location.name
            ),
            "write a host with an optional port, for example `files.example.com` or `127.0.0.1:8080`",
        )
    })
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
/// never change one clone (or one cache of an index read over HTTP) at the same time.
#[derive(Debug)]
pub struct OpenIndex {
    pub index: Index,
    pub location: IndexLocation,
    /// What the user should know about the index (a key trusted on first use, an expired
    /// checkpoint used offline); [`OpenIndex::report`] prints them.
    pub notices: Vec<Notice>,
    _lock: File,
}

impl OpenIndex {
    /// Prints the notices through the shell.
    pub fn report(&self, shell: &mut crate::shell::Shell) -> std::io::Result<()> {
        for notice in &self.notices {
            match notice {
                Notice::Status(verb, text) => shell.status(verb, text)?,
                Notice::Warning(text) => shell.warn(text)?,
            }
        }
        Ok(())
    }
}

/// Takes the lock of `location`'s clone (or cache).
fn lock(location: &IndexLocation) -> anyhow::Result<File> {
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
    Ok(lock)
}

/// Locks, clones or updates, and opens the index at `location` to read it. An index read
/// over HTTP, and a git index with signed checkpoints, are read as their accepted
/// checkpoint lists them.
pub fn open(location: &IndexLocation, freshness: Freshness) -> anyhow::Result<OpenIndex> {
    if let Some(base) = location.sparse_base() {
        let lock = lock(location)?;
        let (index, notices) = checkpoints::open_sparse(location, &base, freshness)?;
        return Ok(OpenIndex {
            index,
            location: location.clone(),
            notices,
            _lock: lock,
        });
    }
    open_git(location, freshness, true)
}

/// Locks, clones or updates, and opens the clone of the index at `location` to change it
/// (publish, yank, owners): its head as it is, whatever its checkpoints say.
pub fn open_to_change(location: &IndexLocation) -> anyhow::Result<OpenIndex> {
    if location.sparse_base().is_some() {
        return Err(helped(
            format!(
                "the index `{}` is read over HTTP (`{}`), which cannot change it",
                location.name, location.remote
            ),
            "publish, yank and change owners through the index's git repository: name its git URL with `--index`, or under `[registries.NAME]` in `OCP_HOME/config.toml`",
        ));
    }
    open_git(location, Freshness::Update, false)
}

fn open_git(
    location: &IndexLocation,
    freshness: Freshness,
    checkpointed: bool,
) -> anyhow::Result<OpenIndex> {
    let lock = lock(location)?;
    if location.is_default && !Path::new(&location.remote).exists() {
        create_default(Path::new(&location.remote))?;
    }
    let mut accepted: Option<CheckpointAccepted> = None;
    let mut checked = false;
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
        let repo = Repo::clone_from(&location.remote, &location.checkout).with_context(|| {
            format!(
                "failed to clone the index `{}` from `{}`",
                location.name, location.remote
            )
        })?;
        // A new clone of an index ocp has seen before must still contain what it saw, and
        // its checkpoint must hold up.
        let head = repo.head()?;
        let checks = history::check_fast_forward(location, &repo, &head).and_then(|()| {
            if checkpointed {
                checkpoints::check_git(location, &repo, &head, freshness)
            } else {
                Ok(None)
            }
        });
        match checks {
            Ok(found) => accepted = found,
            Err(error) => {
                let _ = fs::remove_dir_all(&location.checkout);
                return Err(error);
            }
        }
        checked = true;
        history::record(location, &repo.branch()?, &head)?;
    } else if freshness == Freshness::Update {
        accepted = fetch_checked(location, &Repo::at(&location.checkout), checkpointed)?;
        checked = true;
    }
    if checkpointed && !checked {
        let repo = Repo::at(&location.checkout);
        accepted = checkpoints::check_git(location, &repo, &repo.head()?, freshness)?;
    }
    let opened = match &accepted {
        Some(accepted) => checkpoints::snapshot_index(&location.checkout, accepted),
        None => Index::open(&location.checkout),
    };
    let index = match opened {
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
            return Err(explain_open_error(error))
                .with_context(|| format!("failed to open the index `{}`", location.name));
        }
    };
    let notices = match &accepted {
        Some(accepted) => checkpoints::remember(location, accepted)?,
        None => Vec::new(),
    };
    Ok(OpenIndex {
        index,
        location: location.clone(),
        notices,
        _lock: lock,
    })
}

/// An index that cannot be opened, with what to do about the errors an index's age or an
/// edit to its config cause.
pub fn explain_open_error(error: crate::index::IndexError) -> anyhow::Error {
    use crate::index::IndexError;
    let help = match &error {
        IndexError::OldFormat { .. } => {
            "the owners of its packages re-sign their versions with `ocp index migrate` in a clone of the index, then push (see the index format's README)"
        }
        IndexError::TokenInConfig { .. } => {
            "remove `token_env` from the index's `config.json`; each publisher names the token and its host under `[registries.NAME]` in their own `OCP_HOME/config.toml`"
        }
        IndexError::Checkpoint(inner) => match inner.help() {
            Some(help) => help,
            None => return anyhow::Error::new(error),
        },
        IndexError::Sparse(inner) => match inner.help() {
            Some(help) => help,
            None => return anyhow::Error::new(error),
        },
        _ => return anyhow::Error::new(error),
    };
    crate::error::with_help(error, help)
}

/// Fetches the index into a quarantine, refuses a history that does not contain the last
/// head ocp saw (and, when `checkpointed`, a checkpoint that does not hold up), then moves
/// the clone to it and remembers the new head. Returns the accepted checkpoint.
fn fetch_checked(
    location: &IndexLocation,
    repo: &Repo,
    checkpointed: bool,
) -> anyhow::Result<Option<CheckpointAccepted>> {
    let failed = || {
        format!(
            "failed to update the index `{}` from `{}`",
            location.name, location.remote
        )
    };
    let branch = repo.branch().with_context(failed)?;
    let scratch = location.checkout.parent().unwrap_or(Path::new("."));
    let fetched = repo
        .fetch_quarantined(&location.remote, &branch, scratch)
        .with_context(failed)?;
    history::check_fetched(location, &fetched)?;
    let accepted = if checkpointed {
        checkpoints::check_git(location, &fetched.repo, &fetched.head, Freshness::Update)?
    } else {
        None
    };
    repo.accept(&fetched).with_context(failed)?;
    history::record(location, &branch, &fetched.head)?;
    Ok(accepted)
}

/// Why an index a reader checks against is not known to be current.
#[derive(Debug)]
pub enum Staleness {
    /// It could not be updated (the remote is unreachable, say); the local copy was used.
    Unreachable(anyhow::Error),
    /// Its history no longer contains the last head ocp saw; the local copy was kept.
    Rewritten(anyhow::Error),
}

/// Opens the index for a reader that reports rather than stops (`ocp audit`): the local
/// clone, updated through the same quarantine and history check as [`open`] when
/// `freshness` allows, with a failed update or a rewritten history returned beside it. With
/// no clone yet, it is cloned as [`open`] does (and an error is an error).
pub fn open_checked(
    location: &IndexLocation,
    freshness: Freshness,
) -> anyhow::Result<(OpenIndex, Option<Staleness>)> {
    if !location.checkout.join(".git").exists() {
        return Ok((open(location, freshness)?, None));
    }
    let open = open(location, Freshness::Offline)?;
    let repo = open.index.repo()?;
    let problem = if freshness == Freshness::Offline {
        // Nothing is fetched; the clone itself must still contain what ocp last saw.
        let head = repo.head()?;
        history::check_fast_forward(location, repo, &head)
            .err()
            .map(Staleness::Rewritten)
    } else {
        let branch = repo.branch()?;
        let scratch = location.checkout.parent().unwrap_or(Path::new("."));
        match repo.fetch_quarantined(&location.remote, &branch, scratch) {
            Err(error) => Some(Staleness::Unreachable(anyhow::Error::new(error).context(
                format!(
                    "failed to update the index `{}` from `{}`",
                    location.name, location.remote
                ),
            ))),
            Ok(fetched) => match history::check_fetched(location, &fetched) {
                Err(error) => Some(Staleness::Rewritten(error)),
                Ok(()) => {
                    repo.accept(&fetched).with_context(|| {
                        format!("failed to update the index `{}`", location.name)
                    })?;
                    history::record(location, &branch, &fetched.head)?;
                    None
                }
            },
        }
    };
    Ok((open, problem))
}

/// Brings an open index up to date (after a lost push race), with the same history check as
/// [`open`].
pub fn update(open: &OpenIndex) -> anyhow::Result<()> {
    fetch_checked(&open.location, open.index.repo()?, false).map(|_| ())
}

/// Remembers the clone's current head (after a push of ocp's own commit).
pub fn record_head(open: &OpenIndex) -> anyhow::Result<()> {
    let repo = open.index.repo()?;
    history::record(&open.location, &repo.branch()?, &repo.head()?)
}

/// What `ocp index accept-rewrite` accepted.
#[derive(Debug)]
pub struct Accepted {
    /// The head ocp had seen before, if any.
    pub previous: Option<String>,
    pub head: String,
    pub change: crate::index::git::HistoryChange,
}

/// Takes the index's history as it is now, rewritten or not, and remembers its head: the
/// deliberate way past the refusal of a non-fast-forward update. The last checkpoint ocp
/// accepted is forgotten too, so the rewritten index's checkpoint is taken whatever its
/// version (still only when signed by the pinned key).
pub fn accept_rewrite(location: &IndexLocation) -> anyhow::Result<Accepted> {
    if location.sparse_base().is_some() {
        return accept_sparse_rewrite(location);
    }
    let open = if location.checkout.join(".git").exists() {
        open_git(location, Freshness::Offline, false)?
    } else {
        // No clone yet: a fresh clone of the index as it is now is what is accepted.
        let seen = history::seen_path(location);
        if seen.exists() {
            fs::remove_file(&seen)
                .with_context(|| format!("failed to remove `{}`", seen.display()))?;
        }
        open_git(location, Freshness::Update, false)?
    };
    let repo = open.index.repo()?;
    let branch = repo.branch()?;
    let scratch = location.checkout.parent().unwrap_or(Path::new("."));
    let fetched = repo
        .fetch_quarantined(&location.remote, &branch, scratch)
        .with_context(|| format!("failed to fetch the index `{}`", location.name))?;
    let previous = history::read_seen(location)?.map(|seen| seen.head);
    let change = previous
        .as_deref()
        .map(|old| fetched.repo.history_change(old, &fetched.head))
        .unwrap_or_default();
    repo.accept(&fetched)
        .with_context(|| format!("failed to update the index `{}`", location.name))?;
    history::record(location, &branch, &fetched.head)?;
    checkpoints::forget(location)?;
    Ok(Accepted {
        previous,
        head: fetched.head.clone(),
        change,
    })
}

/// For an index read over HTTP, a rewrite is a checkpoint older than the last one accepted:
/// forget that one, and accept the one the server has now.
fn accept_sparse_rewrite(location: &IndexLocation) -> anyhow::Result<Accepted> {
    let previous = history::read_seen(location)?
        .and_then(|seen| seen.checkpoint)
        .map(|checkpoint| checkpoint.commit);
    checkpoints::forget(location)?;
    let open = open(location, Freshness::Update)?;
    drop(open);
    let head = history::read_seen(location)?
        .and_then(|seen| seen.checkpoint)
        .map(|checkpoint| checkpoint.commit)
        .unwrap_or_default();
    Ok(Accepted {
        previous,
        head,
        change: crate::index::git::HistoryChange::default(),
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
