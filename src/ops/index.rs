//! `ocp index init`, `verify`, `migrate` and `accept-rewrite`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::helped;
use crate::index::format::Storage;
use crate::index::git::Repo;
use crate::index::verify::{self, VerifyOptions, VerifyReport};
use crate::index::{Index, migrate as migration, template};
use crate::ops::key::{PasswordSource, SecretKeySource, load_secret_key};
use crate::ops::registry::{self, IndexLocation};
use crate::shell::Shell;

/// Creates a new index at `path` as a git repository.
pub fn init(shell: &mut Shell, path: &Path, storage: Storage) -> anyhow::Result<()> {
    if path.exists()
        && std::fs::read_dir(path)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(helped(
            format!("`{}` already exists and is not empty", path.display()),
            "choose a new directory for the index",
        ));
    }
    let described = match &storage {
        Storage::Index => "tarballs stored in the index".to_owned(),
        Storage::Directory { path } => format!("tarballs stored in `{path}`"),
        Storage::Http { upload } => format!("tarballs uploaded to `{upload}`"),
        Storage::Oci { repository } => {
            format!("tarballs pushed to the OCI registry `{repository}`")
        }
    };
    template::create(path, storage)
        .with_context(|| format!("failed to create an index at `{}`", path.display()))?;
    shell.status(
        "Created",
        format!("index at `{}` ({described})", path.display()),
    )?;
    Ok(())
}

pub struct VerifyIndexOpts {
    pub path: PathBuf,
    pub options: VerifyOptions,
}

/// Checks the index checked out at `opts.path`.
pub fn verify_index(opts: &VerifyIndexOpts) -> anyhow::Result<(Index, VerifyReport)> {
    let index = Index::open(&opts.path)
        .map_err(registry::explain_open_error)
        .with_context(|| format!("failed to open the index at `{}`", opts.path.display()))?;
    let report = verify::verify(&index, &opts.options);
    Ok((index, report))
}

pub struct MigrateOpts {
    /// The index checkout.
    pub path: PathBuf,
    pub key: SecretKeySource,
    pub password: PasswordSource,
    /// Seconds since 1970, for the new signatures' timestamps.
    pub now: u64,
}

/// Re-signs the format 1 versions the key owns and commits the change in the checkout.
pub fn migrate(shell: &mut Shell, mut opts: MigrateOpts) -> anyhow::Result<migration::Migration> {
    let path = &opts.path;
    if !Repo::is_work_tree(path) {
        return Err(helped(
            format!("`{}` is not a git checkout of an index", path.display()),
            "clone the index and run `ocp index migrate` in the clone",
        ));
    }
    let repo = Repo::at(path);
    if repo
        .is_dirty(path)
        .context("failed to read the checkout's git status")?
    {
        return Err(helped(
            format!("`{}` has uncommitted changes", path.display()),
            "commit or stash them first, so the migration is one reviewable commit",
        ));
    }
    let key = load_secret_key(&opts.key, &mut opts.password)?;
    let done = migration::migrate(path, &key, opts.now)
        .with_context(|| format!("failed to migrate the index at `{}`", path.display()))?;
    for line in &done.resigned {
        shell.status("Re-signed", line)?;
    }
    for line in &done.refused {
        shell.warn(format!("not re-signed: {line}"))?;
    }
    for (package, owners) in &done.waiting {
        shell.note(format!(
            "`{package}` needs one of its owners ({}) to run `ocp index migrate`",
            owners.join(", ")
        ))?;
    }
    if !done.changed.is_empty() {
        let message = format!(
            "Migrate the index to format {}\n\nRe-signed {} version(s) with key {}",
            crate::index::format::FORMAT_VERSION,
            done.resigned.len(),
            key.key_id()
        );
        repo.commit(&done.changed, &message)
            .context("failed to commit the migration")?;
    }
    if done.finished {
        shell.status(
            "Migrated",
            format!(
                "`{}` to format {} ({} version(s) re-signed now, {} already); review the commit and push it",
                path.display(),
                crate::index::format::FORMAT_VERSION,
                done.resigned.len(),
                done.already
            ),
        )?;
        Ok(done)
    } else if done.refused.is_empty() {
        shell.status(
            "Re-signed",
            format!(
                "{} version(s); the index stays at format 1 until the other owners have run `ocp index migrate`",
                done.resigned.len()
            ),
        )?;
        Ok(done)
    } else {
        Err(helped(
            format!(
                "{} version(s) could not be re-signed, so the index stays at format 1",
                done.refused.len()
            ),
            "a version whose entry differs from its tarball was edited after it was published: restore the entry as published (its tarball's `ocp.json` says what it was), then run `ocp index migrate` again",
        ))
    }
}

/// Takes the index as it is now, rewritten or not, and remembers its head.
pub fn accept_rewrite(shell: &mut Shell, location: &IndexLocation) -> anyhow::Result<()> {
    let accepted = registry::accept_rewrite(location)?;
    let short = |hash: &str| hash.chars().take(12).collect::<String>();
    match &accepted.previous {
        Some(previous) if *previous != accepted.head => {
            let change = &accepted.change;
            shell.status(
                "Accepted",
                format!(
                    "the history of `{}`: {} -> {} ({} commit(s) gone, {} new, {} file(s) differ)",
                    location.name,
                    short(previous),
                    short(&accepted.head),
                    change.dropped.len(),
                    change.added.len(),
                    change.files.len()
                ),
            )?;
        }
        _ => shell.status(
            "Unchanged",
            format!(
                "`{}` is at {}, which ocp already trusts",
                location.name,
                short(&accepted.head)
            ),
        )?,
    }
    Ok(())
}
