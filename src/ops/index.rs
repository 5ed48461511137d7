//! `ocp index init`, `verify`, `migrate`, `accept-rewrite` and `checkpoint` (signing a
//! checkpoint of the checkout's head with the index key).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::helped;
use crate::index::checkpoint::keys::{self, KeyHistory};
use crate::index::checkpoint::{self, Checkpoint, SignedCheckpoint};
use crate::index::format::Storage;
use crate::index::git::Repo;
use crate::index::snapshot;
use crate::index::verify::{self, VerifyOptions, VerifyReport};
use crate::index::{Index, migrate as migration, template};
use crate::model::KeyId;
use crate::ops::key::{PasswordSource, SecretKeySource, load_secret_key};
use crate::ops::registry::{self, IndexLocation};
use crate::shell::Shell;
use crate::signing::SecretKey;

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
    refuse_uncommitted(
        &repo,
        path,
        "commit or stash them first, so the migration is one reviewable commit",
    )?;
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

/// What `ocp index checkpoint` was asked for, resolved by the CLI.
pub struct CheckpointOpts {
    /// The index checkout.
    pub path: PathBuf,
    /// The index key.
    pub key: SecretKeySource,
    pub password: PasswordSource,
    /// `--rotate-from`: the index key so far, which signs the new one.
    pub rotate_from: Option<SecretKeySource>,
    /// `--identity`, for the first checkpoint.
    pub identity: Option<String>,
    /// How long the checkpoint is valid, in seconds.
    pub valid_for: u64,
    /// Seconds since 1970.
    pub now: u64,
}

/// What `ocp index checkpoint` signed.
#[derive(Debug)]
pub struct Checkpointed {
    pub checkpoint: Checkpoint,
    pub key_id: KeyId,
    /// How many files the manifest lists.
    pub files: usize,
    /// The commit that holds the new checkpoint.
    pub commit: String,
    /// The key the index moved from, when this checkpoint rotated the key.
    pub rotated_from: Option<KeyId>,
}

/// Signs a new checkpoint of the index checked out at `opts.path` (the files of its head)
/// and commits it there.
pub fn checkpoint(shell: &mut Shell, mut opts: CheckpointOpts) -> anyhow::Result<Checkpointed> {
    let path = &opts.path.clone();
    if !Repo::is_work_tree(path) {
        return Err(helped(
            format!("`{}` is not a git checkout of an index", path.display()),
            "run `ocp index checkpoint` in a clone of the index (its CI does, on every push)",
        ));
    }
    Index::open(path)
        .map_err(registry::explain_open_error)
        .with_context(|| format!("failed to open the index at `{}`", path.display()))?;
    let repo = Repo::at(path);
    refuse_uncommitted(
        &repo,
        path,
        "commit or stash them first: a checkpoint vouches for a commit",
    )?;
    let head = repo.head()?;
    let manifest = snapshot::manifest_of(&repo, &head)
        .with_context(|| format!("failed to list the files of commit {head}"))?;
    let read = |relative: &str, limit: u64| {
        crate::index::read_in_checkout(path, relative, limit)
            .with_context(|| format!("failed to read `{relative}`"))
    };
    let previous = read(checkpoint::SIGNATURE_FILE, checkpoint::MAX_SIGNATURE_BYTES)?
        .map(|text| SignedCheckpoint::parse(&text))
        .transpose()
        .context("the index's current checkpoint cannot be read")?;
    let identity = match (&previous, &opts.identity) {
        (Some(previous), Some(given)) if *given != previous.checkpoint.identity => {
            return Err(helped(
                format!(
                    "the index's checkpoints name it `{}`, not `{given}`",
                    previous.checkpoint.identity
                ),
                "an index keeps its identity: leave `--identity` out",
            ));
        }
        (Some(previous), _) => previous.checkpoint.identity.clone(),
        (None, Some(given)) => given.clone(),
        (None, None) => first_commit(&repo)?,
    };
    checkpoint::check_identity(&identity).map_err(|reason| {
        helped(
            reason,
            "choose a short name such as `acme-ocp-index`, or leave `--identity` out",
        )
    })?;
    let key = load_secret_key(&opts.key, &mut opts.password)?;
    let keys_text = read(checkpoint::KEYS_FILE, checkpoint::MAX_KEYS_BYTES)?;
    let (keys_text, rotated_from) =
        next_keys(keys_text, previous.as_ref(), &key, &identity, &mut opts)?;
    let version = previous.as_ref().map_or(1, |p| p.checkpoint.version + 1);
    let statement = Checkpoint {
        identity,
        version,
        commit: head.clone(),
        manifest: manifest.digest(),
        issued: opts.now,
        expires: opts.now.saturating_add(opts.valid_for.max(1)),
    };
    let signed = SignedCheckpoint::sign(&key, statement, &manifest)?;
    let folder = path.join(checkpoint::FOLDER);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("failed to create `{}`", folder.display()))?;
    for (relative, text) in [
        (checkpoint::MANIFEST_FILE, manifest.text().to_owned()),
        (checkpoint::KEYS_FILE, keys_text),
        (checkpoint::SIGNATURE_FILE, signed.to_text()),
    ] {
        let target = path.join(relative);
        crate::fsutil::write_atomic(&target, text.as_bytes())
            .with_context(|| format!("failed to write `{}`", target.display()))?;
    }
    let short: String = head.chars().take(12).collect();
    let message = format!(
        "Checkpoint {version} of the index at {short}\n\nSigned by the index key {}: {} files, valid until {}",
        key.key_id(),
        manifest.len(),
        crate::ops::publish::rfc3339(signed.checkpoint.expires)
    );
    let paths: Vec<String> = [
        checkpoint::MANIFEST_FILE,
        checkpoint::KEYS_FILE,
        checkpoint::SIGNATURE_FILE,
    ]
    .map(str::to_owned)
    .to_vec();
    let commit = repo
        .commit(&paths, &message)
        .context("failed to commit the checkpoint")?;
    if let Some(from) = rotated_from {
        shell.status(
            "Rotated",
            format!("the index key from {from} to {}", key.key_id()),
        )?;
    }
    Ok(Checkpointed {
        checkpoint: signed.checkpoint,
        key_id: key.key_id(),
        files: manifest.len(),
        commit,
        rotated_from,
    })
}

/// The key history after this checkpoint: started by `key`, kept, or extended with `key`
/// signed by `--rotate-from`.
fn next_keys(
    text: Option<String>,
    previous: Option<&SignedCheckpoint>,
    key: &SecretKey,
    identity: &str,
    opts: &mut CheckpointOpts,
) -> anyhow::Result<(String, Option<KeyId>)> {
    let Some(text) = text else {
        if previous.is_some() {
            return Err(helped(
                format!(
                    "the index has a checkpoint but no `{}`",
                    checkpoint::KEYS_FILE
                ),
                "restore the file from the index's history (`git log -- checkpoint/keys`)",
            ));
        }
        if opts.rotate_from.is_some() {
            return Err(helped(
                "`--rotate-from` moves an index to a new key, but this index has no checkpoint yet",
                "leave `--rotate-from` out: the first checkpoint makes its key the index key",
            ));
        }
        return Ok((keys::first_record(key, identity)?, None));
    };
    let history =
        KeyHistory::parse(&text, identity).context("the index's key history cannot be used")?;
    let current = history.current().clone();
    if let Some(previous) = previous {
        previous
            .verify_statement(&current)
            .context("the index's current checkpoint is not signed by its current key")?;
    }
    let Some(old) = opts.rotate_from.take() else {
        if current == key.public_key() {
            return Ok((text, None));
        }
        return Err(helped(
            format!(
                "the checkpoints of this index are signed by key {}, not by {}",
                current.key_id(),
                key.key_id()
            ),
            format!(
                "sign with the index key, or move the index to this key with `--rotate-from <the key {}>`",
                current.key_id()
            ),
        ));
    };
    if current == key.public_key() {
        return Err(helped(
            format!(
                "key {} already is the index key; there is nothing to rotate",
                key.key_id()
            ),
            "leave `--rotate-from` out",
        ));
    }
    let old = load_secret_key(&old, &mut opts.password)?;
    if old.public_key() != current {
        return Err(helped(
            format!(
                "`--rotate-from` is key {}, but the index key is {}",
                old.key_id(),
                current.key_id()
            ),
            "a new key is accepted only when the current index key signs it: pass that key",
        ));
    }
    let line = keys::rotation_record(&old, &key.public_key(), identity)?;
    let mut text = text;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    Ok((text, Some(old.key_id())))
}

/// Refuses a checkout with uncommitted changes, since what ocp commits there must be exactly
/// its own change; `help` says what to do first.
fn refuse_uncommitted(repo: &Repo, path: &Path, help: &str) -> anyhow::Result<()> {
    if repo
        .is_dirty(path)
        .context("failed to read the checkout's git status")?
    {
        return Err(helped(
            format!("`{}` has uncommitted changes", path.display()),
            help,
        ));
    }
    Ok(())
}

/// The index's first commit, its identity when none is given.
fn first_commit(repo: &Repo) -> anyhow::Result<String> {
    let roots = repo.git(&["rev-list", "--max-parents=0", "HEAD"])?;
    roots
        .lines()
        .last()
        .map(str::to_owned)
        .context("the index has no commit")
}
